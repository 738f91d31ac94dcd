//! The `offsim` binary: parse the command line, run, map errors to exit
//! code 2 (bad input or unusable environment). Commands choose their own
//! exit code on success (`check` exits 3 on a regression). SIGINT, SIGTERM
//! and SIGHUP end any command with 128 + the signal's number, its temporary
//! files removed (see `offsim::interrupt`).

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // The worker inside a live container keeps the default actions.
    if !matches!(cli.command, cli::Command::Worker { .. }) {
        offsim::interrupt::install();
    }
    let outcome = cli::execute(cli);
    if let Some(sig) = offsim::interrupt::received() {
        // A live run stopped by a signal, its containers removed.
        if let Err(e) = &outcome {
            eprintln!("error: {e}");
        }
        eprintln!("offsim: interrupted by {}", offsim::interrupt::name(sig));
        return ExitCode::from(offsim::interrupt::exit_code(sig) as u8);
    }
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
