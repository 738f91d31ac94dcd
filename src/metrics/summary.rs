//! The run summary: counts by end reason, latency statistics and phase
//! means of completed tasks, utilisation and energy, all over the measured
//! period (after warm-up).

use super::histogram::Histogram;
use super::record::TaskRecord;
use crate::policy::{EndReason, Placement};

/// Accumulates task statistics as tasks end; memory is fixed.
#[derive(Clone, Default)]
pub struct SummaryAccumulator {
    tasks: u64,
    warmup_tasks: u64,
    by_reason: [u64; 8],
    offloaded: u64,
    latency: Histogram,
    phase_sums: [u128; 5],
    with_deadline: u64,
    deadline_met: u64,
}

impl SummaryAccumulator {
    /// Counts one ended task (warm-up tasks only in `warmup_tasks`).
    pub fn add(&mut self, r: &TaskRecord<'_>) {
        if r.in_warmup {
            self.warmup_tasks += 1;
            return;
        }
        self.tasks += 1;
        let reason = EndReason::ALL.iter().position(|x| *x == r.reason).expect("listed");
        self.by_reason[reason] += 1;
        if matches!(r.placement, Placement::Offload(_)) {
            self.offloaded += 1;
        }
        if let Some(met) = r.deadline_met {
            self.with_deadline += 1;
            self.deadline_met += u64::from(met);
        }
        if r.reason == EndReason::Completed {
            self.latency.record(r.end.since(r.arrival));
            for (s, p) in self.phase_sums.iter_mut().zip(r.phases) {
                *s += u128::from(p);
            }
        }
    }
}

/// Run-wide totals measured outside the task stream.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct Totals {
    /// Length of the measured period (end minus warm-up).
    pub measured_s: f64,
    /// Time the run ended, in seconds (`sim_end_s`).
    pub end_s: f64,
    /// Simulation events processed, internal bookkeeping included.
    pub events: u64,
    /// Busy core-seconds of all devices during the measured period.
    pub device_busy_core_s: f64,
    /// Cores of all devices together.
    pub device_cores: u64,
    /// Busy core-seconds of all nodes during the measured period.
    pub node_busy_core_s: f64,
    /// Cores of all nodes together.
    pub node_cores: u64,
    /// Energy of all devices during the measured period (idle, CPU and radio), in joules.
    pub device_energy_j: f64,
    /// Energy of all nodes during the measured period, idle included, in joules.
    pub node_energy_j: f64,
    /// Energy of the bits carried on access and node links in the measured period, in joules.
    pub network_energy_j: f64,
}

/// The figures of `summary.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Measured tasks (not warm-up), whatever their end.
    pub tasks: u64,
    /// Tasks that arrived during the warm-up period.
    pub warmup_tasks: u64,
    /// Per [`EndReason::ALL`].
    pub ended: [u64; 8],
    /// Mean latency of completed tasks, in milliseconds.
    pub latency_mean_ms: Option<f64>,
    /// Median latency of completed tasks, in milliseconds (from the histogram).
    pub latency_p50_ms: Option<f64>,
    /// 95th percentile latency of completed tasks, in milliseconds (from the histogram).
    pub latency_p95_ms: Option<f64>,
    /// 99th percentile latency of completed tasks, in milliseconds (from the histogram).
    pub latency_p99_ms: Option<f64>,
    /// Largest latency of a completed task, in milliseconds.
    pub latency_max_ms: Option<f64>,
    /// Mean of each phase over completed tasks: wait, upload, start-up,
    /// execution, download.
    pub phase_mean_ms: Option<[f64; 5]>,
    /// Among measured tasks with a deadline, the fraction that completed by it; `None` if none has one.
    pub deadline_met_fraction: Option<f64>,
    /// Completed tasks per second of the measured period.
    pub throughput_per_s: f64,
    /// Fraction of measured tasks that were offloaded; `None` with no measured task.
    pub offload_fraction: Option<f64>,
    /// Busy core-time of all devices over their core-time in the measured period, in [0, 1]; `None` if the
    /// period is empty.
    pub device_cpu_utilisation: Option<f64>,
    /// The same for all nodes; `None` without nodes or if the measured period is empty.
    pub node_cpu_utilisation: Option<f64>,
    /// Run-wide totals the figures were computed from.
    pub totals: Totals,
}

fn ms(ns: f64) -> f64 {
    ns / 1e6
}

impl Summary {
    /// Combines the accumulated task statistics with run totals.
    pub fn new(acc: &SummaryAccumulator, totals: Totals) -> Self {
        let completed = acc.by_reason[0];
        let q = |p: f64| acc.latency.quantile(p).map(ms);
        let ratio = |num: f64, den: f64| (den > 0.0).then(|| num / den);
        Summary {
            tasks: acc.tasks,
            warmup_tasks: acc.warmup_tasks,
            ended: acc.by_reason,
            latency_mean_ms: acc.latency.mean().map(ms),
            latency_p50_ms: q(0.5),
            latency_p95_ms: q(0.95),
            latency_p99_ms: q(0.99),
            latency_max_ms: acc.latency.max().map(|m| ms(m as f64)),
            phase_mean_ms: (completed > 0).then(|| acc.phase_sums.map(|s| ms(s as f64 / completed as f64))),
            deadline_met_fraction: ratio(acc.deadline_met as f64, acc.with_deadline as f64),
            throughput_per_s: ratio(completed as f64, totals.measured_s).unwrap_or(0.0),
            offload_fraction: ratio(acc.offloaded as f64, acc.tasks as f64),
            device_cpu_utilisation: ratio(totals.device_busy_core_s, totals.device_cores as f64 * totals.measured_s),
            node_cpu_utilisation: ratio(totals.node_busy_core_s, totals.node_cores as f64 * totals.measured_s),
            totals,
        }
    }

    /// Tasks that completed.
    pub fn completed(&self) -> u64 {
        self.ended[0]
    }

    /// Tasks ended for `reason`.
    pub fn ended_by(&self, reason: EndReason) -> u64 {
        self.ended[EndReason::ALL.iter().position(|r| *r == reason).expect("listed")]
    }

    /// The summary as (column, value) pairs, in `summary.csv` order. Absent
    /// values (no completed task, no deadline) are empty cells.
    pub fn columns(&self) -> Vec<(String, String)> {
        fn opt(v: Option<f64>) -> String {
            v.map_or_else(String::new, |x| format!("{x:.6}"))
        }
        let mut c: Vec<(String, String)> =
            vec![("tasks".into(), self.tasks.to_string()), ("warmup_tasks".into(), self.warmup_tasks.to_string())];
        for (r, n) in EndReason::ALL.iter().zip(self.ended) {
            c.push((format!("ended_{}", r.as_str()), n.to_string()));
        }
        let phases = self.phase_mean_ms;
        let phase = |i: usize| opt(phases.map(|p| p[i]));
        c.extend([
            ("latency_mean_ms".into(), opt(self.latency_mean_ms)),
            ("latency_p50_ms".into(), opt(self.latency_p50_ms)),
            ("latency_p95_ms".into(), opt(self.latency_p95_ms)),
            ("latency_p99_ms".into(), opt(self.latency_p99_ms)),
            ("latency_max_ms".into(), opt(self.latency_max_ms)),
            ("wait_mean_ms".into(), phase(0)),
            ("upload_mean_ms".into(), phase(1)),
            ("startup_mean_ms".into(), phase(2)),
            ("exec_mean_ms".into(), phase(3)),
            ("download_mean_ms".into(), phase(4)),
            ("deadline_met_fraction".into(), opt(self.deadline_met_fraction)),
            ("throughput_per_s".into(), format!("{:.6}", self.throughput_per_s)),
            ("offload_fraction".into(), opt(self.offload_fraction)),
            ("device_cpu_utilisation".into(), opt(self.device_cpu_utilisation)),
            ("node_cpu_utilisation".into(), opt(self.node_cpu_utilisation)),
            ("device_energy_j".into(), format!("{:.6}", self.totals.device_energy_j)),
            ("node_energy_j".into(), format!("{:.6}", self.totals.node_energy_j)),
            ("network_energy_j".into(), format!("{:.6}", self.totals.network_energy_j)),
            ("measured_s".into(), format!("{:.6}", self.totals.measured_s)),
            ("sim_end_s".into(), format!("{:.6}", self.totals.end_s)),
            ("events".into(), self.totals.events.to_string()),
        ]);
        c
    }
}
