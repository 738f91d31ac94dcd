//! Command-line interface: one file per command, each turning its
//! arguments into a library call and printing what a person needs to see.

mod calibrate;
mod check;
mod live;
mod merge;
mod plan;
mod report;
mod run;
mod sweep;
mod validate;

use clap::{Parser, Subcommand};
use offsim::Result;
use std::process::ExitCode;

/// offsim: a deterministic simulator for edge-to-cloud task offload policies.
#[derive(Parser, Debug)]
#[command(name = "offsim", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run one scenario and write its result directory.
    Run(run::RunArgs),
    /// Run a scenario's experiment (policies x replications x grid) in
    /// parallel and compare the policies (see docs/sweeps.md).
    Sweep(sweep::SweepArgs),
    /// Draw the plots of a run or sweep result directory into DIR/plots/
    /// (see docs/plots.md).
    Report(report::ReportArgs),
    /// Find, per policy, the smallest value of an integer scenario field that
    /// meets every SLO with 95 % confidence (see docs/plan-and-check.md).
    Plan(plan::PlanArgs),
    /// Compare a run or sweep with a baseline: exit 0 pass, 3 regression,
    /// 2 bad input (see docs/plan-and-check.md).
    Check(check::CheckArgs),
    /// Combine the directories of a sharded sweep (offsim sweep --shard K/N).
    Merge(merge::MergeArgs),
    /// Run a scenario on real Docker containers with the same policy code
    /// and write the same tables as `run` (see docs/live.md).
    Live(live::LiveArgs),
    /// Run a scenario simulated and live on the same trace, per policy, and
    /// report how far the predictions are from reality (see docs/live.md).
    Validate(validate::ValidateArgs),
    /// Measure this host for the live backend (container start-up, speed
    /// under a CPU quota, link emulation) and write a scenario fragment.
    Calibrate(calibrate::CalibrateArgs),
    /// The program inside live containers (started by `offsim live`).
    #[command(hide = true)]
    Worker {
        /// The worker's configuration (JSON).
        config: String,
    },
}

/// Executes a parsed command; the exit code for success (some commands,
/// such as a failed check, succeed with a non-zero code).
pub fn execute(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run::execute(args),
        Command::Sweep(args) => sweep::execute(args),
        Command::Report(args) => report::execute(args),
        Command::Plan(args) => plan::execute(args),
        Command::Check(args) => check::execute(args),
        Command::Merge(args) => merge::execute(args),
        Command::Live(args) => live::execute(args),
        Command::Validate(args) => validate::execute(args),
        Command::Calibrate(args) => calibrate::execute(args),
        Command::Worker { config } => offsim::live::worker::serve(&config).map(|()| ExitCode::SUCCESS),
    }
}
