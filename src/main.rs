//! The `offsim` binary: parse the command line, run, map errors to exit
//! code 2 (bad input or unusable environment). Commands choose their own
//! exit code on success (`check` exits 3 on a regression).

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli::execute(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
