//! `offsim plan`: the smallest value of a scenario field meeting every SLO
//! with 95 % confidence, per policy.

use offsim::Result;
use offsim::plan::{self, PlanOptions};
use offsim::policy::PolicyRegistry;
use offsim::results::DirLock;
use offsim::scenario::LoadedScenario;
use offsim::sweep::ExperimentFlags;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `offsim plan`.
#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// An objective, METRIC<=VALUE (also <, >=, >), e.g. 'p95_latency_ms<=200'
    /// or 'drop_rate<=0.01' (repeatable; all must hold).
    #[arg(long = "slo", value_name = "METRIC<=VALUE", required = true)]
    pub slos: Vec<String>,
    /// The integer scenario field to size and its inclusive range, e.g.
    /// nodes.cloud.cores=1..64.
    #[arg(long, value_name = "PATH=LO..HI")]
    pub vary: String,
    /// Replications per probed value (seeds seed, seed + 1, ...) [default:
    /// experiment.replications if at least 2, else 10].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(2..))]
    pub replications: Option<u32>,
    /// A policy to size for: a name or an inline table with a label
    /// (repeatable) [default: the experiment's policies, else the scenario's].
    #[arg(long = "policy", value_name = "NAME")]
    pub policies: Vec<String>,
    /// Worker threads [default: the available parallelism].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// Result directory [default: results/<scenario name>-plan/].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// One-sided confidence level of the bounds.
    #[arg(long, default_value_t = 0.95)]
    pub confidence: f64,
    /// Base seed: replication r uses seed + r [default: simulation.seed].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override a scenario field, e.g. --set workload.duration_s=60 (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<String>,
}

pub fn execute(args: PlanArgs) -> Result<ExitCode> {
    let scenario = LoadedScenario::from_file(&args.scenario, &args.overrides)?;
    let out_dir = args.out.unwrap_or_else(|| plan::default_out_dir(&scenario));
    let _lock = DirLock::acquire(&out_dir)?;
    let opts = PlanOptions {
        flags: ExperimentFlags {
            policies: args.policies,
            replications: args.replications,
            seed: args.seed,
            ..Default::default()
        },
        vary: args.vary,
        slos: args.slos,
        jobs: args.jobs.map(|j| j as usize),
        out_dir: Some(out_dir),
        confidence: args.confidence,
    };
    let report = plan::plan(&scenario, &PolicyRegistry::new(), &opts)?;
    print!("{}", plan::output::summary(&report));
    Ok(ExitCode::SUCCESS)
}
