//! `offsim live`: run a scenario on real Docker containers (see
//! docs/live.md), or remove what interrupted live runs left behind.

use offsim::live::engine::engines::{cleanup, used_hosts};
use offsim::live::engine::hosts::hosts;
use offsim::live::run::{default_out_dir, run_live};
use offsim::results::DirLock;
use offsim::run::RunOptions;
use offsim::scenario::{LiveSpec, LoadedScenario};
use offsim::{Error, Result};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `offsim live`.
#[derive(clap::Args, Debug)]
pub struct LiveArgs {
    /// Scenario file (TOML) with a [live] section.
    #[arg(required_unless_present = "cleanup")]
    pub scenario: Option<PathBuf>,
    /// Master seed (overrides simulation.seed): the workload, link jitter
    /// and cold-start draws.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Result directory [default: results/<scenario name>/live/].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override a scenario field, e.g. --set live.host_core_ghz=4 (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<String>,
    /// Do not draw plots into the result directory's plots/.
    #[arg(long)]
    pub no_plots: bool,
    /// Remove what offsim left on every engine the scenario runs on
    /// (without a scenario: the local engine), then exit: the containers
    /// and networks of runs no longer alive (a run is alive while any of
    /// its containers runs; workers stop within seconds of losing their
    /// controller) and the worker images no live run uses.
    #[arg(long)]
    pub cleanup: bool,
    /// With --cleanup: remove this run's containers and network only,
    /// whatever its state (the run id is in their names, offsim-<run>-...).
    #[arg(long, value_name = "RUN_ID", requires = "cleanup")]
    pub run: Option<String>,
}

pub fn execute(args: LiveArgs) -> Result<ExitCode> {
    let scenario = args.scenario.as_ref().map(|p| LoadedScenario::from_file(p, &args.overrides)).transpose()?;
    if args.cleanup {
        let engines = match scenario.as_ref().and_then(|s| Some((&s.spec, s.spec.live.as_ref()?))) {
            Some((spec, live)) => used_hosts(spec, live).into_iter().map(|(_, host)| host).collect(),
            None => {
                let local: LiveSpec = toml::from_str("host_core_ghz = 1").expect("a valid [live] table");
                hosts(&local)
            }
        };
        cleanup(&engines, args.run.as_deref(), |removed| println!("{removed}"))?;
        return Ok(ExitCode::SUCCESS);
    }
    let scenario = scenario.ok_or_else(|| Error::Live("a scenario file is needed".into()))?;
    let out_dir = args.out.unwrap_or_else(|| default_out_dir(&scenario));
    // Taken before any engine is touched; held until the plots are drawn.
    let _lock = DirLock::acquire(&out_dir)?;
    let opts = RunOptions {
        seed: args.seed,
        out_dir: Some(out_dir),
        command_line: std::env::args().collect(),
        no_limits: false,
    };
    let report = run_live(&scenario, &opts)?;
    super::run::print_report(scenario.name(), &report);
    super::report::render(&report.out_dir, !args.no_plots)?;
    Ok(ExitCode::SUCCESS)
}
