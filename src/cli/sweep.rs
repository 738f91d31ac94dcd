//! `offsim sweep`: an experiment of many runs, compared with confidence
//! intervals.

use offsim::Result;
use offsim::policy::PolicyRegistry;
use offsim::results::DirLock;
use offsim::scenario::LoadedScenario;
use offsim::sweep::{self, ExperimentFlags, SweepOptions};
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// Do not draw plots into DIR/plots/ at the end (tables are still written).
    #[arg(long)]
    pub no_plots: bool,
    /// Base seed: replication r uses seed + r [default: simulation.seed].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override a scenario field, e.g. --set nodes.cloud.cores=32 (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<String>,
    /// Run only shard K of N: the runs with run_id % N == K - 1 (1-based K);
    /// combine the shards with `offsim merge` [default: from a Slurm array
    /// task's SLURM_ARRAY_TASK_ID, _MIN and _COUNT, else the whole sweep].
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
}

pub fn execute(args: SweepArgs) -> Result<ExitCode> {
    let scenario = LoadedScenario::from_file(&args.scenario, &args.overrides)?;
    let shard = sweep::Shard::resolve(args.shard.as_deref())
        .map_err(|message| offsim::Error::Scenario { file: args.scenario.display().to_string(), message })?;
    if let Some((s, from)) = &shard {
        eprintln!("offsim sweep: shard {s} (from {from})");
    }
    let out_dir = args.out.unwrap_or_else(|| sweep::default_out_dir(&scenario));
    // Held until the plots are drawn too.
    let _lock = DirLock::acquire(&out_dir)?;
    let opts = SweepOptions {
        flags: ExperimentFlags {
            policies: args.policies,
            grid: args.grid,
            replications: args.replications,
            baseline: args.baseline,
            seed: args.seed,
        },
        out_dir: Some(out_dir),
        jobs: args.jobs.map(|j| j as usize),
        write_tasks: args.tasks,
        progress: sweep::progress::wanted(args.no_progress),
        command_line: std::env::args().collect(),
        shard: shard.map(|(s, _)| s),
    };
    let report = sweep::sweep(&scenario, &PolicyRegistry::new(), &opts)?;
    print!("{}", sweep::console::summary(&report));
    if report.out_dir.join("comparison.csv").is_file() {
        super::report::render(&report.out_dir, !args.no_plots)?;
    }
    Ok(ExitCode::SUCCESS)
}
