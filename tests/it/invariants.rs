//! Invariants of `offsim run` results, checked on the CSV files of small,
//! fast scenarios (tests/fixtures/invariants/) that exercise warm-up,
//! deadlines, queue limits, a battery that runs out, image pulls and cold
//! starts, jitter and loss, a horizon, and mixed local/offload placement:
//! every task ends exactly once and the summary counts agree with
//! `tasks.csv`; times are ordered and the phases add up to the latency;
//! utilisation lies in [0, 1] and power never drops below idle (except on a
//! dead battery); energy totals agree with `utilisation.csv` and are at
//! least idle power times the measured period; a replayed trace keeps every
//! task and its attributes; and runs are deterministic, with the seed,
//! scenario hash and every result file's SHA-256 recorded in
//! `manifest.json`.

use crate::helpers::{TempDir, header, repo, rows, run_in};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    repo("tests/fixtures/invariants").join(name)
}

// ---- running the binary ------------------------------------------------

/// Runs `offsim run <scenario> <extra> --out <tmp>/<out>` and requires
/// success; returns the result directory.
fn run_ok(tmp: &TempDir, scenario: &Path, extra: &[&str], out: &str) -> PathBuf {
    let dir = tmp.join(out);
    let mut args: Vec<OsString> = vec!["run".into(), scenario.into()];
    args.extend(extra.iter().map(OsString::from));
    args.extend(["--out".into(), dir.clone().into()]);
    let o = run_in(tmp, &args);
    assert_eq!(o.code, Some(0), "{}", o.describe());
    dir
}

// ---- reading the results -------------------------------------------------

/// A CSV file, its columns by name.
struct Csv {
    file: String,
    columns: HashMap<String, usize>,
    rows: Vec<Vec<String>>,
}

impl Csv {
    fn read(path: &Path) -> Self {
        let columns = header(path).into_iter().enumerate().map(|(i, h)| (h, i)).collect();
        let rows = rows(path).iter().map(|r| r.iter().map(str::to_string).collect()).collect();
        Csv { file: path.display().to_string(), columns, rows }
    }

    fn col(&self, name: &str) -> usize {
        *self.columns.get(name).unwrap_or_else(|| panic!("{}: no column `{name}`", self.file))
    }

    /// Accessor for one column by name.
    fn get<'a>(&self, name: &str) -> impl Fn(&'a [String]) -> &'a str + use<'a> {
        let c = self.col(name);
        move |row: &'a [String]| row[c].as_str()
    }
}

/// The single data row of `summary.csv`, by column.
struct Summary(HashMap<String, String>);

impl Summary {
    fn read(dir: &Path) -> Self {
        let csv = Csv::read(&dir.join("summary.csv"));
        assert_eq!(csv.rows.len(), 1, "summary.csv has one data row");
        Summary(csv.columns.iter().map(|(k, &i)| (k.clone(), csv.rows[0][i].clone())).collect())
    }

    fn text(&self, k: &str) -> &str {
        self.0.get(k).unwrap_or_else(|| panic!("summary.csv: no column `{k}`"))
    }

    fn u64(&self, k: &str) -> u64 {
        self.text(k).parse().unwrap_or_else(|e| panic!("summary.csv: `{k}` = `{}`: {e}", self.text(k)))
    }

    fn f64(&self, k: &str) -> f64 {
        self.text(k).parse().unwrap_or_else(|e| panic!("summary.csv: `{k}` = `{}`: {e}", self.text(k)))
    }
}

/// Exact decimal milliseconds (`123.456789`, at most six decimals) as
/// integer nanoseconds.
fn ns(ms: &str) -> u64 {
    let (int, frac) = ms.split_once('.').unwrap_or((ms, ""));
    assert!(frac.len() <= 6 && frac.bytes().all(|b| b.is_ascii_digit()), "`{ms}` is not decimal milliseconds");
    let int: u64 = int.parse().unwrap_or_else(|e| panic!("`{ms}`: {e}"));
    let frac: u64 = format!("{frac:0<6}").parse().expect("six digits");
    int * 1_000_000 + frac
}

fn opt_ns(ms: &str) -> Option<u64> {
    (!ms.is_empty()).then(|| ns(ms))
}

fn num(s: &str, what: &str) -> f64 {
    s.parse().unwrap_or_else(|e| panic!("{what} = `{s}`: {e}"))
}

/// Collects problems; panics with (the first of) them at the end.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.0.push(what());
        }
    }

    fn assert_none(self, context: &str) {
        if !self.0.is_empty() {
            let shown: Vec<&str> = self.0.iter().take(25).map(String::as_str).collect();
            panic!("{context}: {} problem(s):\n  - {}", self.0.len(), shown.join("\n  - "));
        }
    }
}

// ---- what the fixtures declare -----------------------------------------

/// What the checks need to know of a fixture scenario.
struct Fixture {
    file: &'static str,
    warmup_ns: u64,
    horizon_ns: Option<u64>,
    /// `on_deadline = "abort"`.
    abort_on_deadline: bool,
    /// Idle power by (`device`, class) and (`node`, tier).
    idle_w: &'static [(&'static str, &'static str, f64)],
    /// Battery capacity by device class.
    battery_j: &'static [(&'static str, f64)],
    /// (busy_w - idle_w) / cores by device class: a local task's energy per
    /// second of execution.
    dynamic_w_per_core: &'static [(&'static str, f64)],
    /// Seeds to run with (`--seed`); the invariants hold for every seed.
    seeds: &'static [u64],
}

impl Fixture {
    fn idle(&self, kind: &str, group: &str) -> f64 {
        self.idle_w
            .iter()
            .find(|(k, g, _)| *k == kind && *g == group)
            .unwrap_or_else(|| panic!("{}: no idle power for {kind} {group}", self.file))
            .2
    }

    fn battery(&self, class: &str) -> Option<f64> {
        self.battery_j.iter().find(|(c, _)| *c == class).map(|b| b.1)
    }

    fn dynamic_w(&self, class: &str) -> f64 {
        self.dynamic_w_per_core
            .iter()
            .find(|(c, _)| *c == class)
            .unwrap_or_else(|| panic!("{}: no dynamic power for class {class}", self.file))
            .1
    }
}

const MIXED: Fixture = Fixture {
    file: "mixed.toml",
    warmup_ns: 2_000_000_000,
    horizon_ns: None,
    abort_on_deadline: true,
    idle_w: &[("device", "cam", 1.5), ("device", "sensor", 0.4), ("node", "edge", 20.0), ("node", "cloud", 100.0)],
    battery_j: &[("cam", 110.0)],
    dynamic_w_per_core: &[("cam", 2.5), ("sensor", 0.6)],
    seeds: &[7, 1, 2, 3, 4],
};

const HORIZON: Fixture = Fixture {
    file: "horizon.toml",
    warmup_ns: 1_000_000_000,
    horizon_ns: Some(4_000_000_000),
    abort_on_deadline: false,
    idle_w: &[("device", "phone", 0.8), ("node", "edge", 15.0)],
    battery_j: &[],
    dynamic_w_per_core: &[("phone", 1.0)],
    seeds: &[3, 1, 2],
};

const TRACE: Fixture = Fixture {
    file: "trace.toml",
    warmup_ns: 500_000_000,
    horizon_ns: None,
    abort_on_deadline: true,
    idle_w: &[("device", "cam", 1.0), ("device", "gw", 5.0), ("node", "edge", 25.0)],
    battery_j: &[],
    dynamic_w_per_core: &[("cam", 2.0), ("gw", 3.5)],
    seeds: &[1, 2],
};

const END_REASONS: [&str; 8] = [
    "completed",
    "timeout",
    "queue_full",
    "battery_depleted",
    "insufficient_memory",
    "invalid_placement",
    "horizon",
    "failed",
];

// ---- the checks ----------------------------------------------------------

/// Checks `tasks.csv` row by row and against the summary; returns the count
/// of rows by (placement, end reason) among measured tasks, and how many
/// tasks spent time starting a container.
fn check_tasks(fx: &Fixture, dir: &Path, summary: &Summary, context: &str) -> (BTreeMap<(String, String), u64>, u64) {
    let tasks = Csv::read(&dir.join("tasks.csv"));
    let mut p = Problems::default();
    let id = tasks.get("task_id");
    let device = tasks.get("device");
    let class = tasks.get("device_class");
    let placement = tasks.get("placement");
    let node = tasks.get("node");
    let arrival = tasks.get("arrival_ms");
    let start = tasks.get("start_ms");
    let finish = tasks.get("finish_ms");
    let phases: Vec<_> =
        ["wait_ms", "upload_ms", "startup_ms", "exec_ms", "download_ms"].iter().map(|c| tasks.get(c)).collect();
    let latency = tasks.get("latency_ms");
    let deadline = tasks.get("deadline_ms");
    let met = tasks.get("deadline_met");
    let reason = tasks.get("end_reason");
    let energy = tasks.get("energy_j");
    let warmup = tasks.get("warmup");

    let mut seen = HashSet::new();
    let mut by_kind: BTreeMap<(String, String), u64> = BTreeMap::new();
    let (mut measured, mut in_warmup, mut offloaded, mut with_startup) = (0u64, 0u64, 0u64, 0u64);
    let mut completed_latencies: Vec<u64> = Vec::new();
    let mut completed_phases = [0u128; 5];
    let (mut with_deadline, mut deadline_met) = (0u64, 0u64);
    for row in &tasks.rows {
        let row = row.as_slice();
        let tid: u64 = id(row).parse().unwrap_or_else(|e| panic!("task_id `{}`: {e}", id(row)));
        let at = |what: &str| format!("task {tid}: {what}");
        p.check(seen.insert(tid), || at("task_id appears more than once"));
        let (a, f) = (ns(arrival(row)), ns(finish(row)));
        let s = opt_ns(start(row));
        let r = reason(row);
        p.check(END_REASONS.contains(&r), || at(&format!("unknown end reason `{r}`")));
        p.check(device(row).starts_with(&format!("{}-", class(row))), || at("device not of its class"));
        p.check(a <= f, || at(&format!("finishes at {f} ns before it arrives at {a} ns")));
        if let Some(s) = s {
            p.check(a <= s, || at(&format!("starts at {s} ns before it arrives at {a} ns")));
            p.check(s <= f, || at(&format!("starts at {s} ns after it finishes at {f} ns")));
        }
        p.check(r != "completed" || s.is_some(), || at("completed without a start_ms"));
        let ph: Vec<u64> = phases.iter().map(|g| ns(g(row))).collect();
        let lat = ns(latency(row));
        let sum: u64 = ph.iter().sum();
        p.check(sum.abs_diff(lat) <= 1, || at(&format!("phases {ph:?} add up to {sum} ns, latency is {lat} ns")));
        let span = f.saturating_sub(a);
        p.check(lat.abs_diff(span) <= 1, || at(&format!("latency {lat} ns but finish - arrival = {span} ns")));
        match placement(row) {
            "local" => {
                p.check(ph[1] == 0 && ph[2] == 0 && ph[4] == 0, || at(&format!("local with phases {ph:?}")));
                p.check(node(row).is_empty(), || at("local but names a node"));
                // Waits in the device queue until it starts, then executes.
                let (wait, exec) = match s {
                    Some(s) => (s.saturating_sub(a), f.saturating_sub(s)),
                    None => (lat, 0),
                };
                p.check(ph[0] == wait && ph[3] == exec, || {
                    at(&format!("local: wait {} ns, exec {} ns; start says {wait} and {exec}", ph[0], ph[3]))
                });
                let e = num(energy(row), "energy_j");
                let expected = fx.dynamic_w(class(row)) * exec as f64 / 1e9;
                p.check((e - expected).abs() <= 2e-9 + 1e-9 * expected, || {
                    at(&format!("local: energy_j {e}, but {exec} ns of one core is {expected} J"))
                });
            }
            "offload" => {
                offloaded += u64::from(warmup(row) == "0");
                p.check(!node(row).is_empty(), || at("offloaded to no node"));
                if let Some(s) = s {
                    // Upload and start-up come before execution at the node,
                    // the download after it.
                    p.check(a + ph[1] + ph[2] <= s, || at(&format!("starts at {s} ns, before its upload ends")));
                    p.check(s + ph[4] <= f, || at(&format!("starts at {s} ns, too late for its download")));
                }
                if r == "completed" {
                    // Every link of the fixtures has a latency.
                    p.check(ph[1] > 0 && ph[4] > 0, || at(&format!("offloaded and completed with phases {ph:?}")));
                }
            }
            other => p.check(false, || at(&format!("placement `{other}`"))),
        }
        with_startup += u64::from(ph[2] > 0);
        match opt_ns(deadline(row)) {
            Some(d) => {
                let expected = if r == "completed" && f <= d { "true" } else { "false" };
                p.check(met(row) == expected, || at(&format!("deadline_met `{}`, expected {expected}", met(row))));
                if fx.abort_on_deadline {
                    p.check(f <= d, || at(&format!("ends at {f} ns after its deadline {d} ns (abort)")));
                    p.check(r != "timeout" || f == d, || at(&format!("timed out at {f} ns, deadline {d} ns")));
                } else {
                    p.check(r != "timeout", || at("timed out although on_deadline = continue"));
                }
            }
            None => {
                p.check(met(row).is_empty(), || at("deadline_met without a deadline"));
                p.check(r != "timeout", || at("timed out without a deadline"));
            }
        }
        if let Some(h) = fx.horizon_ns {
            p.check(f <= h, || at(&format!("finishes at {f} ns, after the horizon")));
            p.check(r != "horizon" || f == h, || at(&format!("ended by the horizon at {f} ns")));
        } else {
            p.check(r != "horizon", || at("ended by a horizon the scenario does not have"));
        }
        p.check(r != "battery_depleted" || fx.battery(class(row)).is_some(), || at("battery_depleted without battery"));
        let e = num(energy(row), "energy_j");
        p.check(e.is_finite() && e >= 0.0, || at(&format!("energy_j {e}")));
        let w = warmup(row);
        p.check(w == if a < fx.warmup_ns { "1" } else { "0" }, || at(&format!("warmup `{w}` for arrival {a} ns")));
        if w == "1" {
            in_warmup += 1;
        } else {
            measured += 1;
            *by_kind.entry((placement(row).to_string(), r.to_string())).or_default() += 1;
            if r == "completed" {
                completed_latencies.push(lat);
                for (sum, v) in completed_phases.iter_mut().zip(&ph) {
                    *sum += u128::from(*v);
                }
            }
            if !met(row).is_empty() {
                with_deadline += 1;
                deadline_met += u64::from(met(row) == "true");
            }
        }
    }

    let tasks_n = summary.u64("tasks");
    let warmup_n = summary.u64("warmup_tasks");
    let rows = tasks.rows.len() as u64;
    p.check(rows == tasks_n + warmup_n, || format!("{rows} rows, summary says {tasks_n} + {warmup_n} in warm-up"));
    p.check(measured == tasks_n, || format!("{measured} measured rows, summary tasks = {tasks_n}"));
    p.check(in_warmup == warmup_n, || format!("{in_warmup} warm-up rows, summary warmup_tasks = {warmup_n}"));
    let ended: u64 = END_REASONS.iter().map(|r| summary.u64(&format!("ended_{r}"))).sum();
    p.check(ended == tasks_n, || format!("ended_* add up to {ended}, tasks = {tasks_n}"));
    for r in END_REASONS {
        let rows_r: u64 = by_kind.iter().filter(|((_, k), _)| k == r).map(|(_, n)| n).sum();
        let s = summary.u64(&format!("ended_{r}"));
        p.check(rows_r == s, || format!("{rows_r} measured rows end `{r}`, summary ended_{r} = {s}"));
    }
    if tasks_n > 0 {
        let fraction = summary.f64("offload_fraction");
        let expected = offloaded as f64 / tasks_n as f64;
        p.check((fraction - expected).abs() < 2e-6, || format!("offload_fraction {fraction}, rows say {expected}"));
    }
    completed_latencies.sort_unstable();
    let n = completed_latencies.len();
    let close = |got: f64, want: f64, rel: f64| (got - want).abs() <= 2e-6 + rel * want.abs();
    if n > 0 {
        let mean = |sum: u128| sum as f64 / n as f64 / 1e6;
        let latency_sum: u128 = completed_latencies.iter().map(|&v| u128::from(v)).sum();
        let exact = [
            ("latency_mean_ms", mean(latency_sum)),
            ("latency_max_ms", completed_latencies[n - 1] as f64 / 1e6),
            ("wait_mean_ms", mean(completed_phases[0])),
            ("upload_mean_ms", mean(completed_phases[1])),
            ("startup_mean_ms", mean(completed_phases[2])),
            ("exec_mean_ms", mean(completed_phases[3])),
            ("download_mean_ms", mean(completed_phases[4])),
        ];
        for (column, want) in exact {
            let got = summary.f64(column);
            p.check(close(got, want, 1e-12), || format!("{column} = {got}, the rows give {want}"));
        }
        // Percentiles come from a histogram: nearest rank, within 0.1 %.
        for (column, q) in [("latency_p50_ms", 0.5), ("latency_p95_ms", 0.95), ("latency_p99_ms", 0.99)] {
            let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
            let want = completed_latencies[rank - 1] as f64 / 1e6;
            let got = summary.f64(column);
            p.check(close(got, want, 1e-3), || format!("{column} = {got}, the rows give {want} (rank {rank} of {n})"));
        }
    }
    let completed = summary.u64("ended_completed");
    let throughput = summary.f64("throughput_per_s");
    let want = completed as f64 / summary.f64("measured_s");
    p.check(close(throughput, want, 1e-6), || format!("throughput_per_s = {throughput}, expected {want}"));
    if with_deadline > 0 {
        let got = summary.f64("deadline_met_fraction");
        let want = deadline_met as f64 / with_deadline as f64;
        p.check(close(got, want, 0.0), || format!("deadline_met_fraction = {got}, the rows give {want}"));
    }
    p.assert_none(&format!("{context}: tasks.csv"));
    (by_kind, with_startup)
}

/// Checks `utilisation.csv` and the summary's energy totals.
fn check_utilisation_and_energy(fx: &Fixture, dir: &Path, summary: &Summary, context: &str) {
    let util = Csv::read(&dir.join("utilisation.csv"));
    let mut p = Problems::default();
    let time = util.get("time_s");
    let kind = util.get("kind");
    let group = util.get("group");
    let name = util.get("name");
    let utilisation = util.get("utilisation");
    let power = util.get("power_w");

    /// Per entity: kind, group, last sample time, energy so far and after
    /// warm-up, when it died.
    struct Entity {
        kind: String,
        group: String,
        last_us: u64,
        energy_j: f64,
        measured_energy_j: f64,
        dead_at_us: Option<u64>,
    }
    let mut entities: BTreeMap<String, Entity> = BTreeMap::new();
    let warmup_us = fx.warmup_ns / 1000;
    for row in &util.rows {
        let row = row.as_slice();
        let n = name(row).to_string();
        // time_s has six decimals: microseconds. `ns` reads it as "ms".
        let t_us = ns(time(row));
        let at = |what: &str| format!("{n} at {} s: {what}", time(row));
        let e = entities.entry(n.clone()).or_insert_with(|| Entity {
            kind: kind(row).to_string(),
            group: group(row).to_string(),
            last_us: 0,
            energy_j: 0.0,
            measured_energy_j: 0.0,
            dead_at_us: None,
        });
        p.check(t_us > e.last_us, || at(&format!("sample time not after the previous one ({} us)", e.last_us)));
        let u = num(utilisation(row), "utilisation");
        let w = num(power(row), "power_w");
        p.check((-1e-9..=1.0 + 1e-9).contains(&u), || at(&format!("utilisation {u} outside [0, 1]")));
        let idle = fx.idle(&e.kind, &e.group);
        let battery = if e.kind == "device" { fx.battery(&e.group) } else { None };
        if let Some(dead) = e.dead_at_us {
            p.check(u == 0.0 && w == 0.0, || {
                at(&format!("draws {w} W at {u} busy after its battery died at {dead} us"))
            });
        } else if w < idle - 1e-6 {
            p.check(battery.is_some(), || at(&format!("power {w} W below idle {idle} W")));
            e.dead_at_us = Some(t_us);
        }
        let dt = (t_us - e.last_us.min(t_us)) as f64 / 1e6;
        e.energy_j += w * dt;
        if e.last_us >= warmup_us {
            e.measured_energy_j += w * dt;
        } else {
            p.check(t_us <= warmup_us, || at("a sample interval straddles the end of the warm-up"));
        }
        e.last_us = t_us;
        if let Some(b) = battery {
            p.check(e.energy_j <= b + 1e-3, || at(&format!("has drawn {} J from a {b} J battery", e.energy_j)));
        }
    }

    let measured_s = summary.f64("measured_s");
    let end_us = (summary.f64("sim_end_s") * 1e6).round() as u64;
    for (n, e) in &entities {
        p.check(e.last_us.abs_diff(end_us) <= 1, || {
            format!("{n}: last sample at {} us, run ends at {end_us} us", e.last_us)
        });
    }
    for (kind, column) in [("device", "device_energy_j"), ("node", "node_energy_j")] {
        let total = summary.f64(column);
        let sampled: f64 = entities.values().filter(|e| e.kind == kind).map(|e| e.measured_energy_j).sum();
        p.check((total - sampled).abs() <= 1e-3 + 1e-6 * total.abs(), || {
            format!("{column} = {total} J, utilisation.csv after warm-up adds up to {sampled} J")
        });
        let floor: f64 = entities
            .values()
            .filter(|e| e.kind == kind && e.dead_at_us.is_none())
            .map(|e| fx.idle(&e.kind, &e.group) * measured_s)
            .sum();
        p.check(total >= floor - 1e-6, || format!("{column} = {total} J, below idle x measured = {floor} J"));
    }
    p.assert_none(&format!("{context}: utilisation.csv and energy"));
}

/// What a fixture's run under one seed did.
struct Checked {
    seed: u64,
    /// Measured tasks by (placement, end reason).
    kinds: BTreeMap<(String, String), u64>,
    /// Tasks that waited for an image pull or a container start.
    with_startup: u64,
    summary: Summary,
}

/// Runs a fixture under each of its seeds and checks every invariant.
fn run_and_check(fx: &Fixture) -> Vec<Checked> {
    let tmp = TempDir::new("invariants", fx.file);
    fx.seeds
        .iter()
        .map(|&seed| {
            let dir = run_ok(&tmp, &fixture(fx.file), &["--seed", &seed.to_string()], &format!("seed-{seed}"));
            let summary = Summary::read(&dir);
            let context = format!("{} --seed {seed}", fx.file);
            let (kinds, with_startup) = check_tasks(fx, &dir, &summary, &context);
            check_utilisation_and_energy(fx, &dir, &summary, &context);
            Checked { seed, kinds, with_startup, summary }
        })
        .collect()
}

fn count(kinds: &BTreeMap<(String, String), u64>, placement: &str, reason: &str) -> u64 {
    kinds.iter().filter(|((p, r), _)| (placement.is_empty() || p == placement) && r == reason).map(|(_, n)| n).sum()
}

// ---- the tests -------------------------------------------------------------

/// Measured tasks by (placement, end reason), over every seed.
fn all_kinds(runs: &[Checked]) -> BTreeMap<(String, String), u64> {
    let mut all = BTreeMap::new();
    for r in runs {
        for (k, n) in &r.kinds {
            *all.entry(k.clone()).or_default() += n;
        }
    }
    all
}

#[test]
fn mixed_scenario_keeps_its_invariants() {
    let runs = run_and_check(&MIXED);
    // The fixture must keep exercising what it was written for.
    for r in &runs {
        let tasks = r.summary.u64("tasks") + r.summary.u64("warmup_tasks");
        assert_eq!(tasks, 3000, "seed {}: workload.max_tasks is 3000", r.seed);
        assert!(r.summary.u64("warmup_tasks") > 0, "seed {}: no warm-up task", r.seed);
    }
    let kinds = all_kinds(&runs);
    for (placement, reason) in [
        ("local", "completed"),
        ("offload", "completed"),
        ("", "timeout"),
        ("offload", "queue_full"),
        ("", "battery_depleted"),
        ("offload", "insufficient_memory"),
    ] {
        assert!(count(&kinds, placement, reason) > 0, "no {placement} task ended `{reason}`: {kinds:?}");
    }
    assert!(runs.iter().all(|r| r.with_startup > 0), "no task waited for an image pull or a cold start");
}

#[test]
fn horizon_scenario_keeps_its_invariants() {
    let runs = run_and_check(&HORIZON);
    let kinds = all_kinds(&runs);
    assert!(count(&kinds, "", "horizon") > 0, "no task ended at the horizon: {kinds:?}");
    assert!(count(&kinds, "offload", "completed") > 0, "no offloaded task completed: {kinds:?}");
    for r in &runs {
        assert_eq!(r.summary.text("sim_end_s"), "4.000000", "seed {}: the run should stop at its horizon", r.seed);
        assert_eq!(r.summary.text("measured_s"), "3.000000", "seed {}", r.seed);
    }
}

#[test]
fn trace_replay_keeps_every_task_once() {
    let kinds = all_kinds(&run_and_check(&TRACE));
    assert!(count(&kinds, "offload", "completed") > 0 && count(&kinds, "local", "completed") > 0, "{kinds:?}");

    let tmp = TempDir::new("invariants", "trace_rows");
    let dir = run_ok(&tmp, &fixture("trace.toml"), &[], "out");
    let trace = Csv::read(&fixture("trace.csv"));
    let tasks = Csv::read(&dir.join("tasks.csv"));
    let mut by_id: HashMap<&str, Vec<&[String]>> = HashMap::new();
    let tid = tasks.get("task_id");
    for row in &tasks.rows {
        by_id.entry(tid(row)).or_default().push(row);
    }
    let (t_id, t_arrival, t_device) = (trace.get("task_id"), trace.get("arrival_ms"), trace.get("device"));
    let (t_priority, t_deadline) = (trace.get("priority"), trace.get("deadline_ms"));
    let (arrival, device) = (tasks.get("arrival_ms"), tasks.get("device"));
    let (priority, deadline) = (tasks.get("priority"), tasks.get("deadline_ms"));
    let mut p = Problems::default();
    p.check(tasks.rows.len() == trace.rows.len(), || {
        format!("{} trace rows but {} tasks.csv rows", trace.rows.len(), tasks.rows.len())
    });
    for row in &trace.rows {
        let id = t_id(row);
        let Some(found) = by_id.get(id) else {
            p.check(false, || format!("trace task {id} is missing from tasks.csv"));
            continue;
        };
        p.check(found.len() == 1, || format!("trace task {id} appears {} times", found.len()));
        let t = found[0];
        let a = ns(t_arrival(row));
        p.check(ns(arrival(t)) == a, || format!("task {id}: arrival {} ms, trace says {}", arrival(t), t_arrival(row)));
        p.check(device(t) == t_device(row), || {
            format!("task {id}: device {}, trace says {}", device(t), t_device(row))
        });
        let want_priority = if t_priority(row).is_empty() { "0" } else { t_priority(row) };
        p.check(priority(t) == want_priority, || format!("task {id}: priority {}", priority(t)));
        let want_deadline = opt_ns(t_deadline(row)).map(|d| a + d);
        p.check(opt_ns(deadline(t)) == want_deadline, || {
            format!("task {id}: deadline_ms {}, trace says {} ms after arrival", deadline(t), t_deadline(row))
        });
    }
    p.assert_none("trace.csv replayed into tasks.csv");
}

/// `"key": value` of a pretty-printed JSON object, as written.
fn json_field<'a>(json: &'a str, key: &str) -> &'a str {
    let start = json.find(&format!("\"{key}\": ")).unwrap_or_else(|| panic!("manifest has no `{key}`:\n{json}"));
    let rest = &json[start + key.len() + 4..];
    rest[..rest.find([',', '\n']).unwrap_or(rest.len())].trim()
}

fn is_sha256(v: &str) -> bool {
    let hex = v.trim_matches('"');
    v.len() == 66 && hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[test]
fn same_seed_same_bytes_other_seed_other_tasks() {
    let tmp = TempDir::new("invariants", "determinism");
    let scenario = fixture(MIXED.file);
    let a = run_ok(&tmp, &scenario, &["--seed", "11"], "a");
    let b = run_ok(&tmp, &scenario, &["--seed", "11"], "b");
    let read = |dir: &Path, f: &str| fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{}/{f}: {e}", dir.display()));
    for f in ["tasks.csv", "summary.csv", "utilisation.csv"] {
        assert!(read(&a, f) == read(&b, f), "{f} differs between two runs with seed 11");
    }
    // The seed in the scenario, set with --set, gives the same tasks as --seed.
    let set = run_ok(&tmp, &scenario, &["--set", "simulation.seed=11"], "set");
    assert!(read(&a, "tasks.csv") == read(&set, "tasks.csv"), "--seed 11 and --set simulation.seed=11 differ");
    let other = run_ok(&tmp, &scenario, &["--seed", "12"], "other");
    assert!(read(&a, "tasks.csv") != read(&other, "tasks.csv"), "seeds 11 and 12 give the same tasks.csv");
    let default = run_ok(&tmp, &scenario, &[], "default");

    let manifest = |dir: &Path| String::from_utf8(read(dir, "manifest.json")).expect("UTF-8 manifest");
    let (ma, mb, mset, mother, mdefault) =
        (manifest(&a), manifest(&b), manifest(&set), manifest(&other), manifest(&default));
    for (m, seed) in [(&ma, "11"), (&mb, "11"), (&mset, "11"), (&mother, "12"), (&mdefault, "7")] {
        assert_eq!(json_field(m, "seed"), seed, "manifest seed\n{m}");
        assert!(is_sha256(json_field(m, "scenario_sha256")), "scenario_sha256 is not 64 hex digits\n{m}");
    }
    for (dir, seed) in [(&a, "11"), (&other, "12"), (&default, "7")] {
        assert_eq!(Summary::read(dir).text("seed"), seed, "summary.csv seed in {}", dir.display());
    }
    let sha = |m: &str| json_field(m, "scenario_sha256").to_string();
    assert_eq!(sha(&ma), sha(&mb), "same scenario, different hashes");
    assert_eq!(sha(&ma), sha(&mother), "--seed is not part of the scenario, but changed its hash");
    assert_eq!(sha(&ma), sha(&mdefault), "--seed is not part of the scenario, but changed its hash");
    assert_ne!(sha(&ma), sha(&mset), "--set simulation.seed changes the effective scenario, but not its hash");
}

#[test]
fn the_manifest_holds_the_checksum_of_every_file_it_commits() {
    use sha2::{Digest, Sha256};
    let tmp = TempDir::new("invariants", "checksums");
    let dir = run_ok(&tmp, &fixture(MIXED.file), &[], "out");
    let text = fs::read_to_string(dir.join("manifest.json")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
    let files: Vec<&str> = manifest["files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    let sums = manifest["sha256"].as_object().unwrap_or_else(|| panic!("no `sha256` object:\n{text}"));
    let want: Vec<&str> = files.iter().copied().filter(|f| *f != "manifest.json").collect();
    let mut have: Vec<&str> = sums.keys().map(String::as_str).collect();
    let mut sorted = want.clone();
    sorted.sort();
    have.sort();
    assert_eq!(have, sorted, "checksums for exactly the result files but the manifest\n{text}");
    for f in want {
        let bytes = fs::read(dir.join(f)).unwrap();
        let actual: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(sums[f].as_str(), Some(actual.as_str()), "{f}: the recorded SHA-256 is not the file's");
    }
}
