//! `offsim calibrate`: measure this host for the live backend and write a
//! scenario fragment of overrides (see docs/live.md).

use offsim::live::fidelity::calibrate::{calibrate, fragment};
use offsim::live::run::connect;
use offsim::results::OutputDir;
use offsim::scenario::LoadedScenario;
use offsim::{Error, Result};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `offsim calibrate`.
#[derive(clap::Args, Debug)]
pub struct CalibrateArgs {
    /// Scenario file (TOML) with a [live] section: its devices and nodes are
    /// started and measured.
    pub scenario: PathBuf,
    /// Where to write the fragment [default: calibration.toml beside the scenario].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override a scenario field (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<String>,
}

pub fn execute(args: CalibrateArgs) -> Result<ExitCode> {
    let scenario = LoadedScenario::from_file(&args.scenario, &args.overrides)?;
    let engines = connect(&scenario)?;
    let c = calibrate(&scenario, &engines)?;
    let text = fragment(&c, &scenario);
    let out = args.out.unwrap_or_else(|| scenario.base_dir.join("calibration.toml"));
    let name = out
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::Live(format!("--out {}: not a file name", out.display())))?;
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), PathBuf::from);
    let mut files = OutputDir::open(&dir)?;
    let written = files.write(name, text.as_bytes())?;
    files.commit(vec![written], &[])?;
    print!("{text}");
    println!("written: {}", out.display());
    Ok(ExitCode::SUCCESS)
}
