//! Interruption: one handler of SIGINT, SIGTERM and SIGHUP for the whole
//! process, shared by the result files and the live backend.
//!
//! [`install`] starts it (the `offsim` binary does so first thing). The
//! signal handler itself only writes the signal's number to a pipe; a
//! thread reads it and acts:
//! - by default, it removes every path registered with [`Scratch`] (the
//!   temporary files of result directories, their lock files and the
//!   directories a run created) and exits with [`exit_code`]: 128 plus the
//!   signal's number, as a shell reports a process killed by it (130 for
//!   SIGINT, 143 for SIGTERM, 129 for SIGHUP);
//! - while a [`Deferred`] guard lives (a live run, whose containers must be
//!   removed first), it only records the signal: the run polls
//!   [`received`], stops, cleans up and returns an error, and the binary
//!   then exits with the same code.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, Once};

/// The signals handled.
const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// The first signal received, 0 before any.
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// Live [`Deferred`] guards.
static DEFERRED: AtomicUsize = AtomicUsize::new(0);
/// Write end of the pipe from the signal handler to the reading thread.
static WAKE: AtomicI32 = AtomicI32::new(-1);
/// Paths to remove on a signal, in the order registered.
static SCRATCH: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Installs the handler (once; later calls do nothing). Without it the
/// signals keep their default action: the process dies at once.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` has room for the two descriptors pipe() writes.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            return;
        }
        let [read, write] = fds;
        // SAFETY: fcntl on descriptors this function just opened. A full
        // pipe must not block the handler; neither end goes to children.
        unsafe {
            libc::fcntl(write, libc::F_SETFL, libc::O_NONBLOCK);
            libc::fcntl(read, libc::F_SETFD, libc::FD_CLOEXEC);
            libc::fcntl(write, libc::F_SETFD, libc::FD_CLOEXEC);
        }
        WAKE.store(write, Ordering::SeqCst);
        let reader = std::thread::Builder::new().name("signals".into()).spawn(move || wait_for_signals(read));
        if reader.is_err() {
            return;
        }
        for sig in SIGNALS {
            // SAFETY: a zeroed sigaction is valid; `on_signal` only stores an
            // atomic and calls write(2), both async-signal-safe.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(sig, &action, std::ptr::null_mut());
            }
        }
    });
}

extern "C" fn on_signal(sig: libc::c_int) {
    // SAFETY: errno is thread-local; it is restored so that the interrupted
    // code never sees this handler's write fail in its place.
    let errno = unsafe { *libc::__errno_location() };
    let byte = sig as u8;
    // SAFETY: one byte from a live local to the pipe opened by `install`.
    unsafe { libc::write(WAKE.load(Ordering::SeqCst), (&byte as *const u8).cast(), 1) };
    unsafe { *libc::__errno_location() = errno };
}

fn wait_for_signals(read: libc::c_int) {
    loop {
        let mut byte = 0u8;
        // SAFETY: reads one byte into a live local.
        let n = unsafe { libc::read(read, (&mut byte as *mut u8).cast(), 1) };
        if n == 1 {
            on_received(libc::c_int::from(byte));
        } else if n == 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return;
        }
    }
}

fn on_received(sig: libc::c_int) {
    let _ = RECEIVED.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
    if DEFERRED.load(Ordering::SeqCst) > 0 {
        return;
    }
    // Held until the process ends: no new temporary file appears after the
    // ones registered are gone.
    let paths = scratch();
    for p in paths.iter().rev() {
        if std::fs::remove_file(p).is_err() {
            // Directories are removed only when empty.
            let _ = std::fs::remove_dir(p);
        }
    }
    eprintln!("offsim: interrupted by {}; temporary files removed", name(sig));
    std::process::exit(exit_code(sig));
}

/// The signal received so far (its number), if any.
pub fn received() -> Option<i32> {
    Some(RECEIVED.load(Ordering::SeqCst)).filter(|&s| s != 0)
}

/// The exit code for a run stopped by `sig`: 128 + its number.
pub fn exit_code(sig: i32) -> i32 {
    128 + sig
}

/// The signal's name, for messages.
pub fn name(sig: i32) -> &'static str {
    match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

/// While it lives, a signal is only recorded ([`received`]); the code
/// running polls for it and stops cleanly.
pub struct Deferred(());

impl Deferred {
    /// Defers signals until the guard is dropped.
    pub fn new() -> Self {
        DEFERRED.fetch_add(1, Ordering::SeqCst);
        Deferred(())
    }
}

impl Default for Deferred {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Deferred {
    fn drop(&mut self) {
        DEFERRED.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The paths removed on a signal, locked: while a caller holds it, the
/// handler waits, so creating a file and registering it (or renaming it and
/// forgetting it) is one step for the handler.
pub struct Scratch(MutexGuard<'static, Vec<PathBuf>>);

/// Locks the registry of paths removed on a signal.
pub fn scratch() -> Scratch {
    Scratch(SCRATCH.lock().unwrap_or_else(|e| e.into_inner()))
}

impl Scratch {
    /// Removes `path` on a signal (files and, if empty, directories;
    /// the last registered first).
    pub fn add(&mut self, path: &Path) {
        self.0.push(path.to_path_buf());
    }

    /// No longer removes `path` on a signal.
    pub fn forget(&mut self, path: &Path) {
        if let Some(i) = self.0.iter().rposition(|p| p == path) {
            self.0.remove(i);
        }
    }

    fn iter(&self) -> impl DoubleEndedIterator<Item = &PathBuf> {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(exit_code(libc::SIGINT), 130);
        assert_eq!(exit_code(libc::SIGTERM), 143);
        assert_eq!(exit_code(libc::SIGHUP), 129);
        assert_eq!(name(libc::SIGTERM), "SIGTERM");
    }

    #[test]
    fn forgotten_paths_are_not_removed() {
        let a = Path::new("/nonexistent/offsim-scratch-a");
        let mut s = scratch();
        s.add(a);
        assert!(s.iter().any(|p| p == a));
        s.forget(a);
        assert!(!s.iter().any(|p| p == a));
    }
}
