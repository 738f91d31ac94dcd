//! `offsim run`: one scenario, one result directory, a short summary.

use offsim::Result;
use offsim::metrics::Summary;
use offsim::policy::{EndReason, PolicyRegistry};
use offsim::results::DirLock;
use offsim::run::{self, RunOptions, RunReport};
use offsim::scenario::LoadedScenario;
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// Run even if the estimate of memory, output or events exceeds what
    /// the machine and the budgets allow (see docs/scenario-format.md#limits).
    #[arg(long)]
    pub no_limits: bool,
    /// Do not draw plots into the result directory's plots/ (tables are still written).
    #[arg(long)]
    pub no_plots: bool,
}

pub fn execute(args: RunArgs) -> Result<ExitCode> {
    let scenario = LoadedScenario::from_file(&args.scenario, &args.overrides)?;
    if args.dry_run {
        let rows = run::dry_run(&scenario, &PolicyRegistry::new(), args.no_limits)?;
        let trace =
            if scenario.spec.workload.trace.is_some() { format!(", trace of {rows} tasks") } else { String::new() };
        println!("{}: valid (scenario {}{trace})", scenario.origin, scenario.name());
        return Ok(ExitCode::SUCCESS);
    }
    let out_dir = args.out.unwrap_or_else(|| run::default_out_dir(&scenario));
    // Held until the plots are drawn too.
    let _lock = DirLock::acquire(&out_dir)?;
    let opts = RunOptions {
        seed: args.seed,
        out_dir: Some(out_dir),
        command_line: std::env::args().collect(),
        no_limits: args.no_limits,
    };
    let report = run::run(&scenario, &opts)?;
    print_report(scenario.name(), &report);
    super::report::render(&report.out_dir, !args.no_plots)?;
    Ok(ExitCode::SUCCESS)
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{:.1} %", 100.0 * x))
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.1}"))
}

pub(super) fn print_report(name: &str, r: &RunReport) {
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
