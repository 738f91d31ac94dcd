//! The library's error type. Every variant is a problem with the user's input
//! or environment; the message names the file, the line or field, and what
//! was expected. The binary maps every error to exit code 2.

use std::path::PathBuf;

/// Result alias used throughout offsim.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, and where.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The scenario file cannot be parsed or fails validation.
    #[error("{file}: {message}")]
    Scenario {
        /// The scenario file, as given.
        file: String,
        /// What is wrong, and where in the file.
        message: String,
    },
    /// A `--set path=value` override is malformed or names nothing.
    #[error("--set {arg}: {message}")]
    Override {
        /// The override as given, `path=value`.
        arg: String,
        /// What is wrong with it.
        message: String,
    },
    /// A trace row is malformed or out of order.
    #[error("{file}:{line}: {message}")]
    Trace {
        /// The trace file, as given.
        file: String,
        /// The row's line number in the file, from 1.
        line: u64,
        /// What is wrong with the row.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{}: {action}: {source}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What failed, such as "cannot read" or "cannot create the directory".
        action: &'static str,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The live backend cannot do what was asked (engine unreachable, a
    /// workload too large for the host, a worker lost).
    #[error("live: {0}")]
    Live(String),
}

impl Error {
    /// Shorthand for an I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, action: &'static str, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), action, source }
    }
}
