//! One command at a time per result directory.
//!
//! A [`DirLock`] holds an advisory `flock` on `.offsim.lock` inside the
//! directory for as long as a command writes there. A second command
//! asking for the same directory is refused at once (nothing written); the
//! operating system releases the lock when a process dies, even by
//! SIGKILL, so a lock is never stale. Holding it, the command removes the
//! temporary files a killed run left behind ([`remove_stale_temporaries`]).

use super::atomic::create_output_dir;
use crate::error::{Error, Result};
use crate::interrupt;
use std::fs::{self, File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The lock file's name inside a locked directory.
pub const LOCK_FILE: &str = ".offsim.lock";

/// How deep below a locked directory stale temporary files are looked for:
/// the directory, `plots/` and `runs/`, and `runs/<id>/`.
const STALE_DEPTH: usize = 2;

/// A result directory locked for this process.
pub struct DirLock {
    file: Option<File>,
    path: PathBuf,
    /// Directories created to hold the lock, deepest first.
    created: Vec<PathBuf>,
}

impl DirLock {
    /// Creates `dir` if needed and locks it; an error names the directory
    /// if another process holds it. Then removes stale temporary files.
    pub fn acquire(dir: &Path) -> Result<Self> {
        let created = create_output_dir(dir)?;
        let mut lock = DirLock { file: None, path: dir.join(LOCK_FILE), created };
        lock.take()?;
        remove_stale_temporaries(dir, STALE_DEPTH)?;
        Ok(lock)
    }

    /// Opens the lock file and locks it, until the file locked is the one
    /// the path names (a process releasing its lock removes the file).
    fn take(&mut self) -> Result<()> {
        loop {
            let file = {
                let mut scratch = interrupt::scratch();
                let file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&self.path)
                    .map_err(|e| Error::io(&self.path, "cannot create the lock file", e))?;
                // SAFETY: flock on a descriptor `file` owns.
                if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
                    let e = std::io::Error::last_os_error();
                    return Err(if e.kind() == std::io::ErrorKind::WouldBlock {
                        busy(self.path.parent().unwrap_or(&self.path))
                    } else {
                        Error::io(&self.path, "cannot lock", e)
                    });
                }
                scratch.add(&self.path);
                file
            };
            let held = file.metadata().map_err(|e| Error::io(&self.path, "cannot read", e))?;
            let named = fs::metadata(&self.path).ok();
            if named.is_some_and(|n| n.dev() == held.dev() && n.ino() == held.ino()) {
                self.file = Some(file);
                return Ok(());
            }
            interrupt::scratch().forget(&self.path);
        }
    }
}

fn busy(dir: &Path) -> Error {
    Error::io(
        dir,
        "cannot write results here",
        std::io::Error::other(
            "another offsim command is writing in this directory; wait for it to end, or choose another --out",
        ),
    )
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let mut scratch = interrupt::scratch();
        if let Some(file) = self.file.take() {
            // Removed while still locked: a process that opened it meanwhile
            // finds the path no longer names what it locked, and retries.
            let _ = fs::remove_file(&self.path);
            scratch.forget(&self.path);
            drop(file);
        }
        for d in &self.created {
            // Only succeeds if the directory is empty.
            let _ = fs::remove_dir(d);
            scratch.forget(d);
        }
    }
}

/// `.<name>.tmp-<pid>-<n>`, how [`super::OutputDir`] names files being
/// written: the writer's process id, if `name` is one.
pub fn temporary_writer(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?;
    let (_, tail) = rest.rsplit_once(".tmp-")?;
    let pid =
        tail.split_once('-').map_or(tail, |(pid, n)| if n.bytes().all(|b| b.is_ascii_digit()) { pid } else { "" });
    pid.parse().ok()
}

/// Whether process `pid` is running (on this host).
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // SAFETY: signal 0 only checks that the process exists.
    let exists = unsafe { libc::kill(pid, 0) } == 0;
    exists || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Removes, in `dir` and its subdirectories down to `depth` levels, the
/// temporary files whose writer is no longer running.
pub fn remove_stale_temporaries(dir: &Path, depth: usize) -> Result<()> {
    let Ok(entries) = fs::read_dir(dir) else { return Ok(()) };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else { continue };
        let name = entry.file_name();
        if kind.is_dir() && depth > 0 {
            remove_stale_temporaries(&entry.path(), depth - 1)?;
        } else if kind.is_file() && temporary_writer(&name.to_string_lossy()).is_some_and(|pid| !alive(pid)) {
            fs::remove_file(entry.path())
                .map_err(|e| Error::io(entry.path(), "cannot remove a stale temporary file", e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("offsim-lock-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn temporary_names_carry_their_writer() {
        assert_eq!(temporary_writer(".tasks.csv.tmp-4242-7"), Some(4242));
        assert_eq!(temporary_writer(".runs.csv.tmp-99999"), Some(99999));
        assert_eq!(temporary_writer("tasks.csv"), None);
        assert_eq!(temporary_writer(".tasks.csv.tmp-x-1"), None);
        assert_eq!(temporary_writer(".a.tmp-12-x"), None);
    }

    #[test]
    fn a_locked_directory_is_refused_and_freed_on_drop() {
        let dir = temp_dir("busy").join("new");
        let first = DirLock::acquire(&dir).unwrap();
        assert!(dir.join(LOCK_FILE).is_file());
        let e = DirLock::acquire(&dir).err().expect("the second lock is refused").to_string();
        assert!(e.contains(&dir.display().to_string()) && e.contains("another offsim command"), "{e}");
        assert!(dir.join(LOCK_FILE).is_file(), "the refused lock leaves the holder's file");
        drop(first);
        assert!(!dir.exists(), "the directory the lock created is removed when empty");
        drop(DirLock::acquire(&dir).unwrap());
        assert!(!dir.parent().unwrap().exists(), "so is its parent, created too");
    }

    #[test]
    fn stale_temporaries_go_live_ones_stay() {
        let dir = temp_dir("stale");
        fs::create_dir_all(dir.join("plots")).unwrap();
        // Beyond any pid_max: no such process.
        let dead = format!(".tasks.csv.tmp-{}-0", i32::MAX);
        let live = format!(".tasks.csv.tmp-{}-1", std::process::id());
        for f in [dead.clone(), live.clone(), format!("plots/{dead}"), "keep.csv".into()] {
            fs::write(dir.join(f), "x").unwrap();
        }
        let lock = DirLock::acquire(&dir).unwrap();
        assert!(!dir.join(&dead).exists() && !dir.join("plots").join(&dead).exists());
        assert!(dir.join(&live).exists() && dir.join("keep.csv").exists());
        drop(lock);
        fs::remove_dir_all(&dir).unwrap();
    }
}
