//! `offsim merge`: combine the directories of a sharded sweep.

use offsim::Result;
use offsim::sweep::merge;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `offsim merge`.
#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// Directory to write the merged sweep to (may be one of DIR).
    pub out: PathBuf,
    /// Shard directories written by `offsim sweep --shard K/N`.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
}

pub fn execute(args: MergeArgs) -> Result<ExitCode> {
    let r = merge::merge(&args.out, &args.dirs, &std::env::args().collect::<Vec<_>>())?;
    println!(
        "offsim {} merge: scenario {}, {} runs from {} director{}",
        env!("CARGO_PKG_VERSION"),
        r.scenario,
        r.runs,
        r.dirs,
        if r.dirs == 1 { "y" } else { "ies" }
    );
    println!("  results     {}/ (runs.csv, comparison.csv, sweep.json, runs/)", r.out_dir.display());
    Ok(ExitCode::SUCCESS)
}
