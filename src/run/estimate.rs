//! Before a run: an estimate of the memory it needs, the bytes it writes
//! and the events it handles, refused (an [`Error::Scenario`] naming the
//! numbers) when it cannot fit, instead of aborting on a failed allocation,
//! filling the disk or running for weeks. `--no-limits` skips the check.
//!
//! The estimate is deliberately rough and generous: memory is counted per
//! device and node (tasks in flight are not), output per task and
//! utilisation row, events per task, heartbeat and sample. Its constants
//! come from measured runs (a million devices need about 270 MB).

use crate::error::{Error, Result};
use crate::scenario::{LoadedScenario, Scenario};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Memory per device, its pending arrival and its place in views.
pub const BYTES_PER_DEVICE: f64 = 400.0;
/// Memory per node and per process.
const BYTES_PER_NODE: f64 = 4096.0;
const BASE_BYTES: f64 = 64e6;
/// Memory assumed when `/proc/meminfo` cannot be read.
pub const FALLBACK_MEMORY_BYTES: f64 = 8.0 * (1u64 << 30) as f64;
/// A `tasks.csv` row, generously.
pub const BYTES_PER_TASK_ROW: f64 = 200.0;
/// A `utilisation.csv` row, generously.
pub const BYTES_PER_UTILISATION_ROW: f64 = 100.0;
/// Most bytes of result rows one run may write: 100 GB.
pub const OUTPUT_BUDGET_BYTES: f64 = 1e11;
/// Events one task causes, generously (arrival, decision, transfers, runs).
pub const EVENTS_PER_TASK: f64 = 20.0;
/// Most events one run may handle: 10^11, about a day of computing.
pub const EVENT_BUDGET: f64 = 1e11;
/// Shortest trace row (`1,0,d-0,1` and a line end): bounds a trace's tasks.
const MIN_TRACE_ROW_BYTES: f64 = 10.0;

/// What a run would need.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// Devices in all classes.
    pub devices: f64,
    /// Memory the run needs, in bytes.
    pub memory_bytes: f64,
    /// Simulated seconds the run lasts: the horizon, else until the last
    /// arrival (the time tasks take after it is not counted).
    pub seconds: f64,
    /// Tasks expected (for a trace, at most its size over the shortest row).
    pub tasks: f64,
    /// Rows of `utilisation.csv`: devices and nodes times samples.
    pub utilisation_rows: f64,
    /// Node heartbeats over the run.
    pub heartbeats: f64,
    /// Utilisation samples over the run.
    pub samples: f64,
}

impl Estimate {
    /// Bytes of `tasks.csv` and `utilisation.csv` rows.
    pub fn output_bytes(&self, s: &Scenario) -> f64 {
        let tasks = if s.outputs.tasks { self.tasks * BYTES_PER_TASK_ROW } else { 0.0 };
        tasks + self.utilisation_rows * BYTES_PER_UTILISATION_ROW
    }

    /// Events the run handles, generously: per task, heartbeat and sample.
    pub fn events(&self) -> f64 {
        self.tasks * EVENTS_PER_TASK + self.heartbeats + self.samples
    }
}

/// Estimates what running `scenario` needs.
pub fn estimate(scenario: &LoadedScenario) -> Estimate {
    let s = &scenario.spec;
    let devices: f64 = s.devices.iter().map(|d| f64::from(d.count)).sum();
    let nodes = s.nodes.len() as f64;
    let horizon = s.simulation.horizon_s.unwrap_or(f64::INFINITY);
    let (last_arrival, tasks) = match &s.workload.trace {
        Some(t) => {
            let path = scenario.base_dir.join(t);
            let size = std::fs::metadata(&path).map_or(0.0, |m| if m.is_file() { m.len() as f64 } else { 0.0 });
            (last_arrival_s(&path).unwrap_or(0.0).min(horizon), size / MIN_TRACE_ROW_BYTES)
        }
        None => generated(s, horizon),
    };
    // Heartbeats and samples go on until the horizon, if there is one.
    let seconds = if horizon.is_finite() { horizon } else { last_arrival };
    let per_interval = |ms: f64| if ms > 0.0 { seconds * 1e3 / ms } else { 0.0 };
    let samples = per_interval(s.outputs.utilisation_interval_ms);
    Estimate {
        devices,
        memory_bytes: BASE_BYTES + devices * BYTES_PER_DEVICE + nodes * BYTES_PER_NODE,
        seconds,
        tasks,
        utilisation_rows: samples * (devices + nodes),
        heartbeats: per_interval(s.dispatcher.heartbeat_ms) * nodes,
        samples,
    }
}

/// (seconds until the generators stop, tasks they create).
fn generated(s: &Scenario, horizon: f64) -> (f64, f64) {
    let classes: Vec<(f64, f64, f64)> = s
        .devices
        .iter()
        .filter_map(|d| {
            let g = d.workload.as_ref()?;
            let rate = g.rate_per_s.unwrap_or_else(|| g.interarrival_ms.as_ref().map_or(0.0, |ia| 1e3 / ia.mean()));
            Some((f64::from(d.count), rate, g.start_s))
        })
        .collect();
    let end = s.workload.duration_s.unwrap_or(f64::INFINITY).min(horizon);
    let made_by = |t: f64| classes.iter().map(|(n, rate, start)| n * rate * (t - start).max(0.0)).sum::<f64>();
    let Some(max) = s.workload.max_tasks.map(|m| m as f64) else { return (end, made_by(end)) };
    if end.is_finite() && made_by(end) <= max {
        return (end, made_by(end));
    }
    // The time the generators reach max_tasks: made_by is increasing, so
    // bisect between the first start and a time surely past it.
    let total: f64 = classes.iter().map(|(n, rate, _)| n * rate).sum();
    let first = classes.iter().map(|c| c.2).fold(f64::INFINITY, f64::min);
    let (mut lo, mut hi) = (first, classes.iter().map(|c| c.2).fold(first, f64::max) + max / total);
    hi = hi.min(end);
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        if made_by(mid) < max { lo = mid } else { hi = mid }
    }
    (hi, max)
}

/// The `arrival_ms` of a trace's last row, in seconds, read from the ends
/// of the file (the reader checks every row later).
fn last_arrival_s(path: &Path) -> Option<f64> {
    const TAIL: u64 = 64 * 1024;
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok().filter(|m| m.is_file())?.len();
    let mut head = vec![0; TAIL.min(len) as usize];
    f.read_exact(&mut head).ok()?;
    let header = String::from_utf8_lossy(&head);
    let column =
        header.lines().next()?.split(',').position(|c| c.trim().trim_start_matches('\u{feff}') == "arrival_ms")?;
    f.seek(SeekFrom::Start(len.saturating_sub(TAIL))).ok()?;
    let mut tail = Vec::new();
    f.read_to_end(&mut tail).ok()?;
    let tail = String::from_utf8_lossy(&tail);
    let last = tail.lines().rev().find(|l| !l.trim().is_empty())?;
    last.split(',').nth(column)?.trim().parse::<f64>().ok().map(|ms| ms / 1e3).filter(|s| s.is_finite())
}

/// Memory this machine can give a run: `MemAvailable` of `/proc/meminfo`.
pub fn available_memory() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}

fn gb(bytes: f64) -> String {
    format!("{:.3} GB", bytes / 1e9)
}

/// Refuses `scenario` if its estimate does not fit.
pub fn check(scenario: &LoadedScenario) -> Result<()> {
    let e = estimate(scenario);
    let s = &scenario.spec;
    let fail = |message: String| {
        Err(Error::Scenario {
            file: scenario.origin.clone(),
            message: format!("{message}; --no-limits runs it anyway"),
        })
    };
    let (memory, source) = match available_memory() {
        Some(m) => (m, "available (MemAvailable in /proc/meminfo)"),
        None => (FALLBACK_MEMORY_BYTES, "assumed available"),
    };
    if e.memory_bytes > memory {
        return fail(format!(
            "devices: the run needs about {} of memory ({} devices × {BYTES_PER_DEVICE} bytes), more than the {} {source}",
            gb(e.memory_bytes),
            e.devices,
            gb(memory)
        ));
    }
    let output = e.output_bytes(s);
    if output > OUTPUT_BUDGET_BYTES {
        return fail(format!(
            "outputs: the run would write about {} ({:.3e} task rows, {:.3e} utilisation rows over {:.3e} s), more than the budget of {}; \
             set outputs.tasks = false, a longer outputs.utilisation_interval_ms or fewer tasks",
            gb(output),
            if s.outputs.tasks { e.tasks } else { 0.0 },
            e.utilisation_rows,
            e.seconds,
            gb(OUTPUT_BUDGET_BYTES)
        ));
    }
    if e.events() > EVENT_BUDGET {
        return fail(format!(
            "the run would handle about {:.3e} events ({:.3e} tasks, {:.3e} heartbeats, {:.3e} samples over {:.3e} s), more than {EVENT_BUDGET:e} (about a day); \
             use fewer tasks, a longer dispatcher.heartbeat_ms or outputs.utilisation_interval_ms",
            e.events(),
            e.tasks,
            e.heartbeats,
            e.samples,
            e.seconds
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(extra: &[&str]) -> LoadedScenario {
        let text = r#"policy = { name = "local" }
workload = { max_tasks = 1000 }
[[networks]]
name = "n"
up = { bandwidth_mbps = 1 }
down = { bandwidth_mbps = 1 }
[[devices]]
name = "d"
count = 10
network = "n"
speed_ghz = 1
power = { idle_w = 1, busy_w = 2 }
workload = { rate_per_s = 5, work_mcycles = { kind = "constant", value = 1 } }
[[nodes]]
name = "c"
tier = "cloud"
cores = 1
speed_ghz = 1
up = { bandwidth_mbps = 1 }
down = { bandwidth_mbps = 1 }
power = { idle_w = 1, busy_w = 2 }
"#;
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        LoadedScenario::from_toml(text, "t", "t", ".".as_ref(), &extra).unwrap()
    }

    #[test]
    fn max_tasks_ends_the_generators() {
        // 10 devices at 5/s: 1000 tasks after 20 s.
        let e = estimate(&scenario(&[]));
        assert_eq!(e.tasks, 1000.0);
        assert!((e.seconds - 20.0).abs() < 1e-6, "{}", e.seconds);
        // Default sampling every second over 11 entities, heartbeats every 5 s.
        assert!((e.utilisation_rows - 220.0).abs() < 1e-3, "{}", e.utilisation_rows);
        assert!((e.heartbeats - 4.0).abs() < 1e-6, "{}", e.heartbeats);
    }

    #[test]
    fn duration_and_horizon_end_them_earlier() {
        let e = estimate(&scenario(&["workload.duration_s=10", "devices.d.workload.start_s=2"]));
        assert_eq!((e.seconds, e.tasks), (10.0, 400.0));
        let e = estimate(&scenario(&["simulation.horizon_s=4"]));
        assert_eq!((e.seconds, e.tasks), (4.0, 200.0));
    }

    #[test]
    fn storms_and_huge_counts_are_refused() {
        assert!(check(&scenario(&[])).is_ok());
        let s = scenario(&["devices.d.count=4294967295"]);
        assert!(check(&s).unwrap_err().to_string().contains("of memory (4294967295 devices"));
        let s = scenario(&["workload.max_tasks=100000000000", "devices.d.workload.rate_per_s=1e9"]);
        assert!(check(&s).unwrap_err().to_string().contains("task rows"));
        let s =
            scenario(&["workload.max_tasks=100000000000", "outputs.tasks=false", "outputs.utilisation_interval_ms=0"]);
        assert!(check(&s).unwrap_err().to_string().contains("events"));
    }
}
