//! Command-line interface: one file per command, each turning its
//! arguments into a library call and printing what a person needs to see.

mod check;
mod merge;
mod plan;
mod report;
mod run;
mod sweep;

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
    }
}
