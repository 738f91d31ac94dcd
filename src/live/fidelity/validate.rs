//! `offsim validate`: the simulator against the live backend on the same
//! trace and policies. For each policy the scenario is simulated (several
//! seeds; the mean is the prediction) and run live N times; the table gives,
//! per metric, the prediction, the live median with the 95 % interval of
//! the live mean, and the error; and whether the policies rank the same way.

use crate::error::{Error, Result};
use crate::live::engine::engines::Engines;
use crate::live::run::tasks;
use crate::live::run::{live_spec, run_live_with};
use crate::metrics::Summary;
use crate::model::World;
use crate::policy::PolicyRegistry;
use crate::results::OutputDir;
use crate::run::{RunOptions, run_with, simulate_with};
use crate::scenario::{ExperimentPolicy, LoadedScenario, fragment_overrides};
use crate::stats::Estimate;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Simulated replications behind each prediction.
pub const SIM_REPLICATIONS: u64 = 10;

/// How to validate.
#[derive(Clone, Debug)]
pub struct ValidateOptions {
    /// Seed of the fixed trace and first seed of the simulated and live replications; default
    /// `simulation.seed`.
    pub seed: Option<u64>,
    /// Defaults to `results/<scenario name>/validate/`.
    pub out_dir: Option<PathBuf>,
    /// Live runs per policy (default: `live.repetitions`).
    pub repetitions: Option<u32>,
    /// Policies to compare (default: the experiment's, else the scenario's).
    pub policies: Vec<ExperimentPolicy>,
    /// A fragment of overrides (what `offsim calibrate` writes) applied to
    /// the simulated side only: the live runs keep the scenario as written.
    pub calibration: Option<PathBuf>,
    /// The command's arguments, program name first; recorded in each run's manifest.
    pub command_line: Vec<String>,
}

/// A compared quantity.
#[derive(Copy, Clone, Debug)]
pub struct Metric {
    /// The metric's column name in `summary.csv`.
    pub name: &'static str,
    /// Compared as a difference in percentage points (utilisations and
    /// fractions) rather than a relative error.
    pub points: bool,
    get: fn(&Summary) -> Option<f64>,
}

/// The metrics of the validation table.
pub const METRICS: [Metric; 7] = [
    Metric { name: "latency_p50_ms", points: false, get: |s| s.latency_p50_ms },
    Metric { name: "latency_p95_ms", points: false, get: |s| s.latency_p95_ms },
    Metric { name: "offload_fraction", points: true, get: |s| s.offload_fraction },
    Metric { name: "device_cpu_utilisation", points: true, get: |s| s.device_cpu_utilisation },
    Metric { name: "node_cpu_utilisation", points: true, get: |s| s.node_cpu_utilisation },
    Metric { name: "device_energy_j", points: false, get: |s| Some(s.totals.device_energy_j) },
    Metric { name: "node_energy_j", points: false, get: |s| Some(s.totals.node_energy_j) },
];

/// One row of the table.
#[derive(Clone, Debug)]
pub struct Row {
    /// The policy's label.
    pub policy: String,
    /// The metric's column name in `summary.csv`.
    pub metric: &'static str,
    /// Compared in percentage points rather than as a relative error.
    pub points: bool,
    /// The prediction: the mean over the simulated replications.
    pub sim: Option<f64>,
    /// Median over the live runs.
    pub live_median: Option<f64>,
    /// 95 % Student-t interval of the live mean.
    pub live_lo: Option<f64>,
    /// Upper end of the 95 % Student-t interval of the live mean.
    pub live_hi: Option<f64>,
    /// Relative error of the live median against the prediction, or the
    /// difference in percentage points.
    pub error: Option<f64>,
}

/// What validation found.
#[derive(Clone, Debug)]
pub struct Validation {
    /// One row per policy and metric.
    pub rows: Vec<Row>,
    /// Policies from best to worst by median latency.
    pub sim_ranking: Vec<String>,
    /// Policies from best to worst by median latency, live.
    pub live_ranking: Vec<String>,
    /// Where the validation's files were written.
    pub out_dir: PathBuf,
}

impl Validation {
    /// The simulator and the live runs agree on the best policy.
    pub fn same_best(&self) -> bool {
        self.sim_ranking.first() == self.live_ranking.first()
    }
    /// The simulator and the live runs rank the policies in the same order.
    pub fn same_ranking(&self) -> bool {
        self.sim_ranking == self.live_ranking
    }
}

fn median(xs: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 { v[m] } else { (v[m - 1] + v[m]) / 2.0 })
}

/// Where a validation of `scenario` writes without `--out`:
/// `results/<scenario name>/validate/`.
pub fn default_out_dir(scenario: &LoadedScenario) -> PathBuf {
    Path::new("results").join(scenario.name()).join("validate")
}

/// Runs the validation and writes `validation.csv`, `validation.md`, the
/// trace, and under `<policy>/` the first simulated replication (`sim/`)
/// and every live run (`live-<k>/`).
pub fn validate(
    scenario: &LoadedScenario,
    opts: &ValidateOptions,
    registry: &PolicyRegistry,
    engines: &Engines,
) -> Result<Validation> {
    let live = live_spec(scenario)?;
    let seed = opts.seed.unwrap_or(scenario.spec.simulation.seed);
    let repetitions = opts.repetitions.unwrap_or(live.repetitions);
    if repetitions == 0 {
        return Err(Error::Live("--repetitions: expected at least 1".into()));
    }
    let out_dir = opts.out_dir.clone().unwrap_or_else(|| default_out_dir(scenario));
    std::fs::create_dir_all(&out_dir).map_err(|e| Error::io(&out_dir, "cannot create", e))?;
    let replay = fixed_trace(scenario, seed, &out_dir)?;
    let policies = if opts.policies.is_empty() {
        match &scenario.spec.experiment {
            Some(e) if !e.policies.is_empty() => e.policies.clone(),
            _ => vec![ExperimentPolicy { label: None, policy: scenario.spec.policy.clone() }],
        }
    } else {
        opts.policies.clone()
    };

    let mut rows = Vec::new();
    let mut sim_p50 = Vec::new();
    let mut live_p50 = Vec::new();
    for p in &policies {
        let label = p.label().to_string();
        let mut cell = replay.clone();
        cell.spec.policy = p.policy.clone();
        // The first simulated replication keeps its files, for per-task
        // comparisons with the live runs (same trace, same task ids).
        let sim_opts = RunOptions {
            seed: Some(seed),
            out_dir: Some(out_dir.join(&label).join("sim")),
            command_line: opts.command_line.clone(),
            no_limits: false,
        };
        let sim_cell = match &opts.calibration {
            Some(path) => cell.with_overrides(&fragment_overrides(path)?)?,
            None => cell.clone(),
        };
        let mut sims = vec![run_with(&sim_cell, &sim_opts, registry)?.summary];
        for r in 1..SIM_REPLICATIONS {
            let (policy, _) = crate::run::build_policy(&sim_cell, registry)?;
            sims.push(simulate_with(&sim_cell, seed + r, policy)?.0);
        }
        let mut lives = Vec::new();
        for r in 0..repetitions {
            let dir = out_dir.join(&label).join(format!("live-{}", r + 1));
            eprintln!("validate: {label}: live run {} of {repetitions} -> {}", r + 1, dir.display());
            let run_opts = RunOptions {
                seed: Some(seed + u64::from(r)),
                out_dir: Some(dir),
                command_line: opts.command_line.clone(),
                no_limits: false,
            };
            lives.push(run_live_with(&cell, &run_opts, registry, engines)?.summary);
        }
        for m in METRICS {
            let sim_values: Vec<f64> = sims.iter().filter_map(m.get).collect();
            let live_values: Vec<f64> = lives.iter().filter_map(m.get).collect();
            let sim = Estimate::of(&sim_values).mean;
            let est = Estimate::of(&live_values);
            let live_median = median(&live_values);
            let error = match (sim, live_median) {
                (Some(s), Some(l)) if m.points => Some(100.0 * (l - s)),
                (Some(s), Some(l)) if s != 0.0 => Some((l - s) / s),
                _ => None,
            };
            let (live_lo, live_hi) = match (est.mean, est.ci95_half_width) {
                (Some(mean), Some(h)) => (Some(mean - h), Some(mean + h)),
                _ => (None, None),
            };
            if m.name == "latency_p50_ms" {
                sim_p50.push((label.clone(), sim.unwrap_or(f64::INFINITY)));
                live_p50.push((label.clone(), live_median.unwrap_or(f64::INFINITY)));
            }
            rows.push(Row {
                policy: label.clone(),
                metric: m.name,
                points: m.points,
                sim,
                live_median,
                live_lo,
                live_hi,
                error,
            });
        }
    }
    let rank = |mut v: Vec<(String, f64)>| {
        v.sort_by(|a, b| a.1.total_cmp(&b.1));
        v.into_iter().map(|(l, _)| l).collect::<Vec<_>>()
    };
    let validation = Validation { rows, sim_ranking: rank(sim_p50), live_ranking: rank(live_p50), out_dir };
    write_tables(&validation, repetitions)?;
    Ok(validation)
}

/// The scenario replaying one fixed trace: the scenario's own, or its
/// generated workload written to `<out>/trace.csv`.
fn fixed_trace(scenario: &LoadedScenario, seed: u64, out_dir: &Path) -> Result<LoadedScenario> {
    if scenario.spec.workload.trace.is_some() {
        return Ok(scenario.clone());
    }
    let mut world = World::build(&scenario.spec, seed);
    let workload = tasks::workload(scenario, seed, &mut world)?;
    let path = out_dir.join("trace.csv");
    tasks::write_trace(scenario, &world, &workload, &path)?;
    let mut replay = scenario.clone();
    let absolute = std::fs::canonicalize(&path).map_err(|e| Error::io(&path, "cannot resolve", e))?;
    replay.spec.workload.trace = Some(absolute.display().to_string());
    // The trace holds exactly the generated tasks; its limits are spent.
    replay.spec.workload.duration_s = None;
    replay.spec.workload.max_tasks = None;
    for d in &mut replay.spec.devices {
        d.workload = None;
    }
    Ok(replay)
}

fn fmt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.4}"))
}

/// The error column as people read it.
pub fn fmt_error(r: &Row) -> String {
    match r.error {
        None => "-".into(),
        Some(e) if r.points => format!("{e:+.1} pt"),
        Some(e) => format!("{:+.1} %", 100.0 * e),
    }
}

/// The Markdown table printed by the command and written to `validation.md`.
pub fn markdown(v: &Validation, repetitions: u32) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| policy | metric | simulated (mean of {SIM_REPLICATIONS}) | live median (n={repetitions}) | live 95 % interval | error |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|");
    for r in &v.rows {
        let interval = match (r.live_lo, r.live_hi) {
            (Some(lo), Some(hi)) => format!("[{lo:.4}, {hi:.4}]"),
            _ => "-".into(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {interval} | {} |",
            r.policy,
            r.metric,
            fmt(r.sim),
            fmt(r.live_median),
            fmt_error(r)
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Ranking by median latency, best first: simulated {}; live {}.",
        v.sim_ranking.join(" < "),
        v.live_ranking.join(" < ")
    );
    let _ = writeln!(
        s,
        "Same best policy: {}. Same ranking: {}.",
        if v.same_best() { "yes" } else { "no" },
        if v.same_ranking() { "yes" } else { "no" }
    );
    s
}

fn write_tables(v: &Validation, repetitions: u32) -> Result<()> {
    let mut csv = String::from("policy,metric,simulated,live_median,live_ci95_lo,live_ci95_hi,error,error_unit\n");
    let cell = |x: Option<f64>| x.map_or(String::new(), |x| format!("{x}"));
    for r in &v.rows {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{}",
            r.policy,
            r.metric,
            cell(r.sim),
            cell(r.live_median),
            cell(r.live_lo),
            cell(r.live_hi),
            cell(r.error),
            if r.points { "points" } else { "relative" }
        );
    }
    let mut out = OutputDir::open(&v.out_dir)?;
    let files = vec![
        out.write("validation.csv", csv.as_bytes())?,
        out.write("validation.md", markdown(v, repetitions).as_bytes())?,
    ];
    out.commit(files, &[])
}
