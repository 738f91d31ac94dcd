//! One simulated run of a scenario: build the policy, simulate, write the
//! result directory ([`crate::results`]).

use crate::error::{Error, Result};
use crate::metrics::NullSink;
use crate::metrics::Summary;
use crate::model::World;
use crate::policy::{AnyPolicy, ImageInfo, Policy, PolicyContext, PolicyRegistry};
use crate::results::{OutputDir, Provenance, open_row_files, trace_sha256, write_results};
use crate::scenario::LoadedScenario;
use crate::sim::Simulation;
use crate::workload::TraceReader;
use std::path::{Path, PathBuf};

pub mod estimate;

/// How to run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Overrides `simulation.seed`.
    pub seed: Option<u64>,
    /// Defaults to `results/<scenario name>/`.
    pub out_dir: Option<PathBuf>,
    /// Recorded in the manifest.
    pub command_line: Vec<String>,
    /// Skip the estimate of memory, output and events ([`estimate`]).
    pub no_limits: bool,
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// The run's `summary.csv` figures.
    pub summary: Summary,
    /// Master seed used.
    pub seed: u64,
    /// The policy's name.
    pub policy: String,
    /// The result directory.
    pub out_dir: PathBuf,
    /// Result files written, in the order the manifest lists them.
    pub files: Vec<String>,
}

/// What policies may know of `scenario` when they are built.
pub fn policy_context(scenario: &LoadedScenario) -> PolicyContext {
    let spec = &scenario.spec;
    PolicyContext {
        nodes: World::node_infos(spec),
        images: spec.images.iter().map(|i| ImageInfo { name: i.name.clone(), bytes: i.bytes() }).collect(),
    }
}

/// Builds the scenario's policy from `registry`, returned with its resolved
/// parameters; errors point at the `policy` table.
pub fn build_policy(scenario: &LoadedScenario, registry: &PolicyRegistry) -> Result<(AnyPolicy, toml::Table)> {
    registry
        .build(&scenario.spec.policy, &policy_context(scenario))
        .map_err(|m| Error::Scenario { file: scenario.origin.clone(), message: format!("policy: {m}") })
}

/// What a run checks before it opens its result directory: the policy,
/// the estimate of what the run needs (unless `no_limits`) and whether the
/// trace is text. Returns the built policy.
fn preflight(
    scenario: &LoadedScenario,
    registry: &PolicyRegistry,
    no_limits: bool,
) -> Result<((AnyPolicy, toml::Table), Option<String>)> {
    let policy = build_policy(scenario, registry)?;
    if !no_limits {
        estimate::check(scenario)?;
    }
    Ok((policy, trace_sha256(scenario)?))
}

/// Checks everything a run would check before simulating: what
/// [`run_with`] checks before it starts and, if there is one, every row of
/// the trace.
pub fn dry_run(scenario: &LoadedScenario, registry: &PolicyRegistry, no_limits: bool) -> Result<u64> {
    preflight(scenario, registry, no_limits)?;
    let Some(trace) = &scenario.spec.workload.trace else { return Ok(0) };
    let mut world = World::build(&scenario.spec, scenario.spec.simulation.seed);
    let mut reader = TraceReader::open(&scenario.base_dir.join(trace))?;
    let mut rows = 0;
    while reader.next_row(&mut world)?.is_some() {
        rows += 1;
    }
    Ok(rows)
}

/// Simulates with the scenario's (built-in) policy, writing no file.
pub fn simulate(scenario: &LoadedScenario, seed: u64) -> Result<Summary> {
    simulate_with(scenario, seed, build_policy(scenario, &PolicyRegistry::new())?.0).map(|(s, _)| s)
}

/// Simulates with any policy, writing no file; returns the policy too.
pub fn simulate_with<P: Policy>(scenario: &LoadedScenario, seed: u64, policy: P) -> Result<(Summary, P)> {
    let (summary, _, policy) = Simulation::new(scenario, seed, policy, NullSink)?.run()?;
    Ok((summary, policy))
}

/// Where a run writes without `out_dir`: `results/<scenario name>/`.
pub fn default_out_dir(scenario: &LoadedScenario) -> PathBuf {
    Path::new("results").join(scenario.name())
}

/// Runs the scenario with its (built-in) policy; see [`run_with`].
pub fn run(scenario: &LoadedScenario, opts: &RunOptions) -> Result<RunReport> {
    run_with(scenario, opts, &PolicyRegistry::new())
}

/// Runs the scenario with a policy from `registry` and writes `tasks.csv`,
/// `utilisation.csv` (as the scenario's outputs ask), `summary.csv` and
/// `manifest.json`. On any error no result file is left behind.
pub fn run_with(scenario: &LoadedScenario, opts: &RunOptions, registry: &PolicyRegistry) -> Result<RunReport> {
    let spec = &scenario.spec;
    let seed = opts.seed.unwrap_or(spec.simulation.seed);
    let ((policy, resolved_params), trace_sha256) = preflight(scenario, registry, opts.no_limits)?;
    let out_dir = opts.out_dir.clone().unwrap_or_else(|| default_out_dir(scenario));
    let mut out = OutputDir::open(&out_dir)?;
    let sink = open_row_files(scenario, &mut out)?;
    let (summary, sink, _) = Simulation::new(scenario, seed, policy, sink)?.run()?;
    let provenance = Provenance { seed, resolved_params, trace_sha256, command_line: &opts.command_line, live: None };
    let files = write_results(scenario, out, sink, &summary, provenance)?;
    Ok(RunReport { summary, seed, policy: spec.policy.name.clone(), out_dir, files })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(policy: &str) -> LoadedScenario {
        let text = format!(
            r#"policy = {policy}
workload = {{ max_tasks = 1 }}
[[networks]]
name = "n"
up = {{ bandwidth_mbps = 1 }}
down = {{ bandwidth_mbps = 1 }}
[[devices]]
name = "d"
network = "n"
speed_ghz = 1
power = {{ idle_w = 1, busy_w = 2 }}
workload = {{ rate_per_s = 1, work_mcycles = {{ kind = "constant", value = 1 }} }}
"#
        );
        LoadedScenario::from_toml(&text, "t", "t", ".".as_ref(), &[]).unwrap()
    }

    fn hash(policy: &str) -> String {
        let s = scenario(policy);
        let (_, resolved) = build_policy(&s, &PolicyRegistry::new()).unwrap();
        s.canonical_hash(&resolved)
    }

    #[test]
    fn the_hash_sees_policy_defaults_not_how_they_were_written() {
        let written = hash(r#"{ name = "threshold", cpu_threshold = 0.8 }"#);
        assert_eq!(hash(r#"{ name = "threshold" }"#), written);
        assert_ne!(hash(r#"{ name = "threshold", cpu_threshold = 0.7 }"#), written);
        assert_eq!(written.len(), 64);
    }
}
