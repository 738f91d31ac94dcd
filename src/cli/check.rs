//! `offsim check`: a CI regression gate against a committed baseline.
//! Exit code 0 = pass, 3 = regression, 2 = bad input.

use offsim::check::{self, CheckOptions, output};
use offsim::{Error, Result};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code of a regression.
pub const REGRESSION: u8 = 3;

/// Arguments of `offsim check`.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// A sweep directory (runs.csv) or run directory (summary.csv).
    pub results: PathBuf,
    /// The baseline file (TOML; see docs/plan-and-check.md).
    #[arg(long, value_name = "FILE")]
    pub baseline: PathBuf,
    /// Write the baseline from the results (keeping its alpha and metric
    /// rules if it exists) instead of checking.
    #[arg(long)]
    pub update_baseline: bool,
    /// Also write the verdict as JUnit XML.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Significance level of the one-sided Welch test [default: the baseline's alpha, 0.05].
    #[arg(long)]
    pub alpha: Option<f64>,
}

pub fn execute(args: CheckArgs) -> Result<ExitCode> {
    let opts = CheckOptions {
        results: args.results,
        baseline: args.baseline,
        update_baseline: args.update_baseline,
        alpha: args.alpha,
    };
    let r = check::check(&opts)?;
    if let Some(n) = r.updated {
        println!(
            "offsim check: wrote {} ({n} case{}) from {}",
            r.baseline_file.display(),
            if n == 1 { "" } else { "s" },
            r.results_file.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", output::markdown(&r));
    if let Some(path) = &args.junit {
        std::fs::write(path, output::junit(&r)).map_err(|e| Error::io(path, "cannot write the JUnit report", e))?;
    }
    Ok(if r.regressions() > 0 { ExitCode::from(REGRESSION) } else { ExitCode::SUCCESS })
}
