//! `offsim validate`: simulated against live, per policy and metric (see
//! docs/live.md).

use offsim::live::fidelity::validate::default_out_dir;
use offsim::live::fidelity::validate::{ValidateOptions, markdown, validate};
use offsim::live::run::{connect, live_spec};
use offsim::policy::PolicyRegistry;
use offsim::results::DirLock;
use offsim::scenario::LoadedScenario;
use offsim::sweep::experiment::parse_policy_flag;
use offsim::{Error, Result};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `offsim validate`.
#[derive(clap::Args, Debug)]
pub struct ValidateArgs {
    /// Scenario file (TOML) with a [live] section.
    pub scenario: PathBuf,
    /// Master seed (overrides simulation.seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Result directory [default: results/<scenario name>/validate/].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Live runs per policy [default: live.repetitions].
    #[arg(long)]
    pub repetitions: Option<u32>,
    /// A policy to validate: a name or an inline table (repeatable; replaces
    /// the experiment's policy list).
    #[arg(long = "policy", value_name = "NAME")]
    pub policies: Vec<String>,
    /// A fragment written by `offsim calibrate`, applied to the simulated
    /// side only (the live runs keep the scenario as written).
    #[arg(long, value_name = "FILE")]
    pub calibration: Option<PathBuf>,
    /// Override a scenario field (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<String>,
    /// Do not draw the validation plot.
    #[arg(long)]
    pub no_plots: bool,
}

pub fn execute(args: ValidateArgs) -> Result<ExitCode> {
    let scenario = LoadedScenario::from_file(&args.scenario, &args.overrides)?;
    let policies = args
        .policies
        .iter()
        .map(|p| {
            parse_policy_flag(p)
                .map_err(|m| Error::Scenario { file: scenario.origin.clone(), message: format!("--policy {p}: {m}") })
        })
        .collect::<Result<Vec<_>>>()?;
    let live = live_spec(&scenario)?;
    let out_dir = args.out.unwrap_or_else(|| default_out_dir(&scenario));
    // Taken before any engine is touched; held until the plot is drawn.
    let _lock = DirLock::acquire(&out_dir)?;
    let engines = connect(&scenario)?;
    let opts = ValidateOptions {
        seed: args.seed,
        out_dir: Some(out_dir),
        repetitions: args.repetitions,
        policies,
        calibration: args.calibration,
        command_line: std::env::args().collect(),
    };
    let v = validate(&scenario, &opts, &PolicyRegistry::new(), &engines)?;
    println!("{}", markdown(&v, args.repetitions.unwrap_or(live.repetitions)));
    if !args.no_plots {
        let written = offsim::plot::render_validation(&v.out_dir)?;
        println!("plots: {}", written.join(", "));
    }
    println!("results: {}/ (validation.csv, validation.md, one directory per policy and run)", v.out_dir.display());
    Ok(ExitCode::SUCCESS)
}
