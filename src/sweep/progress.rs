//! A one-line progress bar on stderr: runs done of all, elapsed time and an
//! estimate of the time left, redrawn in place. Shown only on a terminal,
//! outside CI, and unless `--no-progress` is given; otherwise every call is
//! a no-op.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Whether a progress bar belongs on stderr: it is a terminal, `CI` is not
/// set, and the user did not turn it off.
pub fn wanted(no_progress: bool) -> bool {
    !no_progress && std::env::var_os("CI").is_none() && std::io::stderr().is_terminal()
}

struct State {
    total: usize,
    /// Runs already done when the sweep started (resumed).
    resumed: usize,
    /// Runs finished in this sweep.
    finished: usize,
    started: Instant,
}

/// The progress bar; cheap to update from any thread.
pub struct Progress {
    state: Option<Mutex<State>>,
}

const WIDTH: usize = 30;

/// `m:ss` or `h:mm:ss`.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// The bar's text for the given state.
fn line(total: usize, resumed: usize, finished: usize, elapsed: Duration) -> String {
    let done = resumed + finished;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH);
    let mut bar = "=".repeat(filled);
    if filled < WIDTH {
        bar.push('>');
        bar.push_str(&" ".repeat(WIDTH - filled - 1));
    }
    let left = total - done;
    let eta = if finished == 0 { "--:--".to_string() } else { clock(elapsed.mul_f64(left as f64 / finished as f64)) };
    format!("sweep [{bar}] {done}/{total} runs  elapsed {}  ETA {eta}", clock(elapsed))
}

impl Progress {
    /// A bar for `total` runs of which `resumed` are done; drawn only if
    /// `enabled`.
    pub fn new(enabled: bool, total: usize, resumed: usize) -> Self {
        let state = enabled.then(|| Mutex::new(State { total, resumed, finished: 0, started: Instant::now() }));
        let p = Self { state };
        p.draw();
        p
    }

    /// Whether anything is drawn.
    pub fn enabled(&self) -> bool {
        self.state.is_some()
    }

    /// Counts one finished run and redraws.
    pub fn finished_one(&self) {
        if let Some(s) = &self.state {
            s.lock().expect("progress lock").finished += 1;
            self.draw();
        }
    }

    /// Redraws the line (for the elapsed time).
    pub fn draw(&self) {
        if let Some(s) = &self.state {
            let s = s.lock().expect("progress lock");
            let text = line(s.total, s.resumed, s.finished, s.started.elapsed());
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{text}\x1b[K");
            let _ = err.flush();
        }
    }

    /// Erases the line.
    pub fn clear(&self) {
        if let Some(s) = &self.state {
            let _s = s.lock().expect("progress lock");
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_done_total_and_eta() {
        let l = line(12, 2, 4, Duration::from_secs(20));
        // 6 of 12 done; 4 runs took 20 s, so 6 left take 30 s.
        assert!(l.contains("6/12 runs") && l.contains("elapsed 0:20") && l.contains("ETA 0:30"), "{l}");
        assert!(l.contains(&format!("[{}>{}]", "=".repeat(15), " ".repeat(14))), "{l}");
        assert!(line(3, 0, 0, Duration::ZERO).contains("ETA --:--"));
        assert!(line(3, 0, 3, Duration::from_secs(9)).contains(&format!("[{}]", "=".repeat(WIDTH))));
        assert_eq!(clock(Duration::from_secs(3725)), "1:02:05");
    }
}
