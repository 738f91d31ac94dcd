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

/// Longest text quoted from the input in a message, in characters.
pub const EXCERPT_CHARS: usize = 80;

/// Longest line of a message, in characters: room for a field path, an
/// excerpt and what was expected.
pub const MESSAGE_LINE_CHARS: usize = 400;

/// `text` as a message quotes it: at most [`EXCERPT_CHARS`] characters of
/// its first line, and `…` when anything was left out, so a message never
/// echoes a whole file or an endless field.
pub fn excerpt(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    let mut out: String = line.chars().take(EXCERPT_CHARS).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// `message` with each of its lines cut to [`MESSAGE_LINE_CHARS`]
/// characters (messages of other libraries may quote the input).
pub fn clip_lines(message: &str) -> String {
    message
        .lines()
        .map(|l| {
            let mut out: String = l.chars().take(MESSAGE_LINE_CHARS).collect();
            if out.len() < l.len() {
                out.push('…');
            }
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_short_and_say_when_cut() {
        assert_eq!(excerpt("cam-7"), "cam-7");
        assert_eq!(excerpt(&"x".repeat(81)), format!("{}…", "x".repeat(80)));
        assert_eq!(excerpt("a\nb"), "a…");
        assert_eq!(excerpt(&"é".repeat(80)), "é".repeat(80));
        assert_eq!(clip_lines(&format!("a\n{}", "y".repeat(401))), format!("a\n{}…", "y".repeat(400)));
    }
}
