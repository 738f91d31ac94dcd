//! One live run end to end: build (or reuse) the worker image on every
//! engine, check the scenario fits each engine's host, start the cluster,
//! replay the workload, write the same result files as a simulated run, and
//! remove every container.

pub mod cluster;
pub mod controller;
pub mod tasks;
pub mod view;

use self::cluster::{Cluster, WorkerSettings};
use self::controller::Controller;
use crate::error::{Error, Result};
use crate::live::engine::engines::Engines;
use crate::live::engine::image::WorkerImage;
use crate::live::engine::sizing;
use crate::live::worker::work;
use crate::model::World;
use crate::policy::{Policy, PolicyRegistry};
use crate::results::{LiveManifest, OutputDir, Provenance, open_row_files, trace_sha256, write_results};
use crate::run::{RunOptions, RunReport, build_policy};
use crate::scenario::{LiveSpec, LoadedScenario};
use std::path::Path;

/// The scenario's `[live]` section, or an error saying it is needed.
pub fn live_spec(scenario: &LoadedScenario) -> Result<&LiveSpec> {
    scenario.spec.live.as_ref().ok_or_else(|| Error::Scenario {
        file: scenario.origin.clone(),
        message: "live: no [live] section; live runs need at least `live.host_core_ghz` (see docs/live.md)".into(),
    })
}

/// Connects to every engine the scenario runs on (the local one by
/// default), each holding the worker image of this executable.
pub fn connect(scenario: &LoadedScenario) -> Result<Engines> {
    let live = live_spec(scenario)?;
    Engines::connect(&scenario.spec, live, &worker_image()?)
}

/// The worker image of this executable (built once per engine and reused).
pub fn worker_image() -> Result<WorkerImage> {
    let exe = std::env::current_exe().map_err(|e| Error::Live(format!("cannot locate offsim's executable: {e}")))?;
    WorkerImage::from_executable(&exe)
}

/// Where a live run of `scenario` writes without `--out`:
/// `results/<scenario name>/live/`.
pub fn default_out_dir(scenario: &LoadedScenario) -> std::path::PathBuf {
    Path::new("results").join(scenario.name()).join("live")
}

/// Runs the scenario live with its (built-in) policy; see [`run_live_with`].
pub fn run_live(scenario: &LoadedScenario, opts: &RunOptions) -> Result<RunReport> {
    let engines = connect(scenario)?;
    run_live_with(scenario, opts, &PolicyRegistry::new(), &engines)
}

/// Runs the scenario on `engines` (see [`Engines::connect`]) with a policy
/// from `registry`; writes `tasks.csv`, `utilisation.csv`, `summary.csv`
/// and `manifest.json` like a simulated run. On any error no result file is
/// left behind, and the run's containers are removed from every engine in
/// every case.
pub fn run_live_with(
    scenario: &LoadedScenario,
    opts: &RunOptions,
    registry: &PolicyRegistry,
    engines: &Engines,
) -> Result<RunReport> {
    // SIGINT, SIGTERM or SIGHUP stops the run, which removes its containers.
    let _deferred = crate::interrupt::Deferred::new();
    let spec = &scenario.spec;
    let live = live_spec(scenario)?;
    let seed = opts.seed.unwrap_or(spec.simulation.seed);
    let (policy, resolved_params) = build_policy(scenario, registry)?;
    let entities = sizing::entities(spec, live);
    engines.check_fits(&entities, live)?;
    let trace_sha256 = trace_sha256(scenario)?;
    let mut world = World::build(spec, seed);
    world.preload(&policy.preload());
    let workload = tasks::workload(scenario, seed, &mut world)?;
    let preloads = preloads(scenario, &policy);
    let loop_rate = work::measure_loop_rate();

    let out_dir = opts.out_dir.clone().unwrap_or_else(|| default_out_dir(scenario));
    let mut out = OutputDir::open(&out_dir)?;
    let sink = open_row_files(scenario, &mut out)?;

    let (tx, rx) = std::sync::mpsc::channel();
    let limits = tasks::limits(&world, &workload);
    let settings = WorkerSettings { seed, loop_rate, preloads, limits };
    let mut cluster = Cluster::start(engines, &world, spec, live, entities, &settings, &tx)?;
    drop(tx);
    let outcome = Controller::new(&world, &mut cluster, policy, seed, sink).run(&workload, &rx);
    drop(cluster);
    let (summary, sink, _) = outcome?;
    let live_info = LiveManifest {
        engine: engines.describe(),
        image: engines.image().to_string(),
        host_core_ghz: live.host_core_ghz,
        cpu_period_us: live.cpu_period_us,
        loop_rate_per_s: loop_rate,
        energy: "modelled: the scenario's power models applied to CPU utilisation measured from each \
                 container's cgroup CPU time, plus radio power over each message's time on the access network",
    };
    let provenance =
        Provenance { seed, resolved_params, trace_sha256, command_line: &opts.command_line, live: Some(live_info) };
    let files = write_results(scenario, out, sink, &summary, provenance)?;
    Ok(RunReport { summary, seed, policy: spec.policy.name.clone(), out_dir, files })
}

/// Per node, the images to hold from the start: the scenario's pre-loads
/// and the policy's.
fn preloads<P: Policy>(scenario: &LoadedScenario, policy: &P) -> Vec<Vec<u16>> {
    let spec = &scenario.spec;
    let mut out: Vec<Vec<u16>> = spec
        .nodes
        .iter()
        .map(|n| {
            n.preloaded_images
                .iter()
                .filter_map(|p| spec.images.iter().position(|i| &i.name == p))
                .map(|i| i as u16)
                .collect()
        })
        .collect();
    for (node, image) in policy.preload() {
        if let Some(list) = out.get_mut(node.0 as usize)
            && usize::from(image) < spec.images.len()
            && !list.contains(&image)
        {
            list.push(image);
        }
    }
    out
}
