//! `offsim report DIR`: plots (and, with the `tables` feature, Parquet and
//! aggregate tables) of a run or sweep result directory.

use offsim::Result;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `offsim report`.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// A result directory of `offsim run` or `offsim sweep`.
    pub dir: PathBuf,
}

pub fn execute(args: ReportArgs) -> Result<ExitCode> {
    let _lock = offsim::results::DirLock::acquire(&args.dir)?;
    render(&args.dir, true)?;
    Ok(ExitCode::SUCCESS)
}

/// Renders `dir`'s plots (unless `plots` is false) and tables (with the
/// `tables` feature) and prints where they are; called after `run` and
/// `sweep` too.
pub fn render(dir: &Path, plots: bool) -> Result<()> {
    if plots {
        let plots = offsim::plot::render(dir)?;
        println!("  plots       {}/ ({} files)", plots.dir.display(), plots.files.len());
        for n in &plots.notes {
            println!("              {n}");
        }
    }
    tables(dir)
}

#[cfg(feature = "tables")]
fn tables(dir: &Path) -> Result<()> {
    let t = offsim::tables::write(dir)?;
    if t.files.is_empty() {
        println!("  tables      none: no tasks.csv (for a sweep, run it with --tasks)");
    } else {
        println!("  tables      {}", t.files.join(", "));
    }
    Ok(())
}

#[cfg(not(feature = "tables"))]
fn tables(_dir: &Path) -> Result<()> {
    Ok(())
}
