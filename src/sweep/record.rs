//! `sweep.json`: what a sweep is (scenario, expanded experiment, seeds) and
//! the hash that decides whether a directory holds the same sweep.
//!
//! The experiment hash covers everything that determines the runs and
//! their rows: the offsim version, the scenario's canonical hash, the grid,
//! the policies with their labels, the seeds, the effective scenario of
//! every grid point and policy (policy defaults filled in), the traces'
//! contents, and whether per-run files are written. It leaves out the
//! baseline (it only shapes `comparison.csv`, which is rebuilt), the
//! command line and the shard (every shard of a sweep has the same hash,
//! which is how `offsim merge` knows they belong together).

use super::experiment::Experiment;
use super::shard::Shard;
use crate::scenario::PolicySpec;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

#[derive(Serialize)]
struct AxisRecord<'a> {
    path: &'a str,
    values: &'a [toml::Value],
}

#[derive(Serialize)]
struct PointRecord<'a> {
    point: usize,
    parameters: BTreeMap<&'a str, &'a toml::Value>,
}

#[derive(Serialize)]
struct PolicyRecord<'a> {
    label: &'a str,
    policy: &'a PolicySpec,
}

#[derive(Serialize)]
struct CellRecord<'a> {
    point: usize,
    policy: &'a str,
    scenario_sha256: &'a str,
    trace_sha256: Option<&'a str>,
}

/// What determines the runs; its hash identifies the sweep.
#[derive(Serialize)]
struct Identity<'a> {
    offsim_version: &'a str,
    scenario_sha256: &'a str,
    grid: &'a [AxisRecord<'a>],
    policies: &'a [PolicyRecord<'a>],
    replications: u32,
    seeds: &'a [u64],
    write_tasks: bool,
    cells: &'a [CellRecord<'a>],
}

#[derive(Serialize)]
struct ExperimentRecord<'a> {
    /// How run ids are assigned.
    run_order: &'static str,
    grid: &'a [AxisRecord<'a>],
    points: Vec<PointRecord<'a>>,
    policies: &'a [PolicyRecord<'a>],
    baseline: &'a str,
    replications: u32,
    seeds: &'a [u64],
    write_tasks: bool,
    cells: &'a [CellRecord<'a>],
}

#[derive(Serialize)]
struct SweepRecord<'a> {
    offsim_version: &'a str,
    scenario: &'a str,
    scenario_file: &'a str,
    /// Canonical hash of the scenario after `--set`, without `[experiment]`.
    scenario_sha256: &'a str,
    experiment_sha256: &'a str,
    experiment: ExperimentRecord<'a>,
    command_line: &'a [String],
    /// `K/N` in the directory of one shard of a sharded sweep.
    #[serde(skip_serializing_if = "Option::is_none")]
    shard: Option<String>,
    runs: usize,
    files: [&'static str; 4],
}

/// The identity hash and the text of `sweep.json`.
pub fn describe(
    experiment: &Experiment,
    write_tasks: bool,
    command_line: &[String],
    shard: Option<Shard>,
) -> (String, String) {
    let version = env!("CARGO_PKG_VERSION");
    let scenario_sha256 = experiment.base.canonical_hash(&experiment.base.spec.policy.params);
    let grid: Vec<AxisRecord> =
        experiment.axes.iter().map(|a| AxisRecord { path: &a.path, values: &a.values }).collect();
    let policies: Vec<PolicyRecord> =
        experiment.policies.iter().map(|p| PolicyRecord { label: &p.label, policy: &p.spec }).collect();
    let cells: Vec<CellRecord> = experiment
        .cells
        .iter()
        .enumerate()
        .map(|(i, c)| CellRecord {
            point: i / experiment.policies.len(),
            policy: &experiment.policies[i % experiment.policies.len()].label,
            scenario_sha256: &c.scenario_sha256,
            trace_sha256: c.trace_sha256.as_deref(),
        })
        .collect();
    let identity = Identity {
        offsim_version: version,
        scenario_sha256: &scenario_sha256,
        grid: &grid,
        policies: &policies,
        replications: experiment.replications,
        seeds: &experiment.seeds,
        write_tasks,
        cells: &cells,
    };
    let json = serde_json::to_vec(&identity).expect("identity serialises");
    let hash: String = Sha256::digest(&json).iter().map(|b| format!("{b:02x}")).collect();
    let points = (0..experiment.points.len())
        .map(|point| PointRecord {
            point,
            parameters: experiment.axes.iter().map(|a| a.path.as_str()).zip(experiment.values(point)).collect(),
        })
        .collect();
    let record = SweepRecord {
        offsim_version: version,
        scenario: experiment.base.name(),
        scenario_file: &experiment.base.origin,
        scenario_sha256: &scenario_sha256,
        experiment_sha256: &hash,
        experiment: ExperimentRecord {
            run_order: "point, then policy, then replication",
            grid: &grid,
            points,
            policies: &policies,
            baseline: &experiment.policies[experiment.baseline].label,
            replications: experiment.replications,
            seeds: &experiment.seeds,
            write_tasks,
            cells: &cells,
        },
        command_line,
        shard: shard.filter(|s| !s.is_whole()).map(|s| s.to_string()),
        runs: experiment.runs(),
        files: ["sweep.json", "runs.csv", "comparison.csv", "runs/<run_id>.csv"],
    };
    let text = serde_json::to_string_pretty(&record).expect("sweep record serialises") + "\n";
    (hash, text)
}
