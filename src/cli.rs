//! Command-line interface: parses arguments and prints a run's or a
//! sweep's summary.

use clap::{Parser, Subcommand};
use offsim::metrics::Summary;
use offsim::policy::{EndReason, PolicyRegistry};
use offsim::run::{RunOptions, RunReport};
use offsim::scenario::LoadedScenario;
use offsim::sweep::{self, ExperimentFlags, SweepOptions};
use offsim::{Result, run};
use std::path::PathBuf;

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
    Run(RunArgs),
    /// Run a scenario's experiment (policies x replications x grid) in
    /// parallel and compare the policies (see docs/sweeps.md).
    Sweep(SweepArgs),
}

/// Arguments of `offsim run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Master seed (overrides simulation.seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Result directory [default: results/<scenario name>/].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override a scenario field, e.g. --set nodes.cloud.cores=32 (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<String>,
    /// Validate the scenario (and trace) without running.
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `offsim sweep`.
#[derive(clap::Args, Debug)]
pub struct SweepArgs {
    /// Scenario file (TOML); its [experiment] section describes the sweep.
    pub scenario: PathBuf,
    /// Result directory [default: results/<scenario name>-sweep/]; a directory
    /// holding the same sweep is resumed.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads [default: the available parallelism].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// Replications per policy and grid point (seeds seed, seed + 1, ...).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub replications: Option<u32>,
    /// A policy to compare: a name, or an inline table such as
    /// '{ name = "threshold", cpu_threshold = 0.5, label = "t50" }'
    /// (repeatable; replaces the experiment's policy list).
    #[arg(long = "policy", value_name = "NAME")]
    pub policies: Vec<String>,
    /// Vary a scenario field over values, e.g. --grid devices.camera.count=5,10,20
    /// (repeatable; adds or replaces a grid axis).
    #[arg(long = "grid", value_name = "PATH=V1,V2,...")]
    pub grid: Vec<String>,
    /// Label of the policy the others are compared with [default: the first].
    #[arg(long, value_name = "LABEL")]
    pub baseline: Option<String>,
    /// Also write each run's tasks.csv, utilisation.csv, summary.csv and
    /// manifest.json in runs/<run_id>/.
    #[arg(long)]
    pub tasks: bool,
    /// Do not draw the progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Base seed: replication r uses seed + r [default: simulation.seed].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override a scenario field, e.g. --set nodes.cloud.cores=32 (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<String>,
}

/// Executes a parsed command.
pub fn execute(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run(args) => run_command(args),
        Command::Sweep(args) => sweep_command(args),
    }
}

fn sweep_command(args: SweepArgs) -> Result<()> {
    let scenario = LoadedScenario::from_file(&args.scenario, &args.overrides)?;
    let opts = SweepOptions {
        flags: ExperimentFlags {
            policies: args.policies,
            grid: args.grid,
            replications: args.replications,
            baseline: args.baseline,
            seed: args.seed,
        },
        out_dir: args.out,
        jobs: args.jobs.map(|j| j as usize),
        write_tasks: args.tasks,
        progress: sweep::progress::wanted(args.no_progress),
        command_line: std::env::args().collect(),
    };
    let report = sweep::sweep(&scenario, &PolicyRegistry::new(), &opts)?;
    print!("{}", sweep::console::summary(&report));
    Ok(())
}

fn run_command(args: RunArgs) -> Result<()> {
    let scenario = LoadedScenario::from_file(&args.scenario, &args.overrides)?;
    if args.dry_run {
        let rows = run::dry_run(&scenario, &PolicyRegistry::new())?;
        let trace =
            if scenario.spec.workload.trace.is_some() { format!(", trace of {rows} tasks") } else { String::new() };
        println!("{}: valid (scenario {}{trace})", scenario.origin, scenario.name());
        return Ok(());
    }
    let opts = RunOptions { seed: args.seed, out_dir: args.out, command_line: std::env::args().collect() };
    let report = run::run(&scenario, &opts)?;
    print_report(scenario.name(), &report);
    Ok(())
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{:.1} %", 100.0 * x))
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.1}"))
}

fn print_report(name: &str, r: &RunReport) {
    let s: &Summary = &r.summary;
    println!("offsim {}: scenario {name}, policy {}, seed {}", env!("CARGO_PKG_VERSION"), r.policy, r.seed);
    let ended: Vec<String> = EndReason::ALL
        .iter()
        .filter(|&&reason| reason != EndReason::Completed && s.ended_by(reason) > 0)
        .map(|&reason| format!("{} {}", reason.as_str(), s.ended_by(reason)))
        .collect();
    let ended = if ended.is_empty() { String::new() } else { format!(", {}", ended.join(", ")) };
    let warmup =
        if s.warmup_tasks > 0 { format!(" (+{} in warm-up, not counted)", s.warmup_tasks) } else { String::new() };
    println!("  tasks       {} completed of {}{ended}{warmup}", s.completed(), s.tasks);
    println!(
        "  latency ms  mean {}  p50 {}  p95 {}  p99 {}  max {}",
        num(s.latency_mean_ms),
        num(s.latency_p50_ms),
        num(s.latency_p95_ms),
        num(s.latency_p99_ms),
        num(s.latency_max_ms)
    );
    println!(
        "  offloaded   {}   device CPU {}   node CPU {}",
        pct(s.offload_fraction),
        pct(s.device_cpu_utilisation),
        pct(s.node_cpu_utilisation)
    );
    println!(
        "  energy J    device {:.1}  node {:.1}  network {:.1}",
        s.totals.device_energy_j, s.totals.node_energy_j, s.totals.network_energy_j
    );
    println!("  results     {}/ ({})", r.out_dir.display(), r.files.join(", "));
}
