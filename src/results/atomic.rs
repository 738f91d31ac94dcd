//! All-or-nothing output files.
//!
//! An [`OutputDir`] hands out [`PendingFile`]s written under hidden
//! temporary names in the target directory. [`OutputDir::commit`] renames
//! them all into place; dropping the directory without committing removes
//! the temporary files (and the directory, if this run created it and it is
//! empty). Every temporary file and created directory is also registered
//! with [`crate::interrupt`], so a signal removes them before the process
//! exits. Each file's SHA-256 is computed as it is written, for the
//! manifest.

use crate::error::{Error, Result};
use crate::interrupt;
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A file that hashes the bytes written to it.
pub struct HashedFile {
    file: File,
    hash: Sha256,
}

impl Write for HashedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// A file being written under a temporary name.
pub struct PendingFile {
    writer: BufWriter<HashedFile>,
    temp: PathBuf,
    target: PathBuf,
}

impl PendingFile {
    /// The buffered writer.
    pub fn writer(&mut self) -> &mut BufWriter<HashedFile> {
        &mut self.writer
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes and closes the file, keeping the temporary name.
    pub fn finish(self) -> Result<FinishedFile> {
        let file = self.writer.into_inner().map_err(|e| Error::io(&self.target, "cannot write", e.into_error()))?;
        let sha256 = file.hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Ok(FinishedFile { temp: self.temp, target: self.target, sha256 })
    }
}

/// A file fully written under its temporary name.
pub struct FinishedFile {
    temp: PathBuf,
    target: PathBuf,
    sha256: String,
}

impl FinishedFile {
    /// The final name, without the directory.
    pub fn name(&self) -> String {
        self.target.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    }

    /// SHA-256 of the contents, in hexadecimal.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

/// The output directory of one run.
pub struct OutputDir {
    dir: PathBuf,
    /// Directories this run created, deepest first.
    created: Vec<PathBuf>,
    temps: Vec<PathBuf>,
    committed: bool,
}

impl OutputDir {
    /// Creates `dir` if needed and checks that it can be written.
    pub fn open(dir: &Path) -> Result<Self> {
        let created = create_output_dir(dir)?;
        Ok(Self { dir: dir.to_path_buf(), created, temps: Vec::new(), committed: false })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Starts writing `name` in the directory, under a temporary name.
    pub fn create(&mut self, name: &str) -> Result<PendingFile> {
        let target = self.dir.join(name);
        // Unique per process and per file, so threads writing the same name
        // in one directory cannot collide.
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let temp = self.dir.join(format!(".{name}.tmp-{}-{n}", std::process::id()));
        let file = {
            let mut scratch = interrupt::scratch();
            let file = File::create(&temp).map_err(|e| Error::io(&target, "cannot create", e))?;
            scratch.add(&temp);
            file
        };
        self.temps.push(temp.clone());
        let file = HashedFile { file, hash: Sha256::new() };
        Ok(PendingFile { writer: BufWriter::with_capacity(1 << 20, file), temp, target })
    }

    /// Writes `name` whole, under a temporary name.
    pub fn write(&mut self, name: &str, contents: &[u8]) -> Result<FinishedFile> {
        let mut f = self.create(name)?;
        f.writer().write_all(contents).map_err(|e| Error::io(self.dir.join(name), "cannot write", e))?;
        f.finish()
    }

    /// Moves every finished file into place, in the order given; the last
    /// one should be the manifest, so that a directory holding a manifest is
    /// complete. First removes the manifest of an earlier run and its files
    /// named in `stale` that this run does not write, so old and new results
    /// never mix.
    pub fn commit(mut self, files: Vec<FinishedFile>, stale: &[&str]) -> Result<()> {
        // A signal waits until every file is in place.
        let scratch = interrupt::scratch();
        if let Some(last) = files.last() {
            remove_if_present(&last.target)?;
        }
        for name in stale {
            remove_if_present(&self.dir.join(name))?;
        }
        for f in &files {
            fs::rename(&f.temp, &f.target).map_err(|e| Error::io(&f.target, "cannot move into place", e))?;
        }
        self.committed = true;
        drop(scratch);
        Ok(())
    }
}

fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(path, "cannot remove the old file", e)),
        _ => Ok(()),
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        let mut scratch = interrupt::scratch();
        for t in &self.temps {
            if !self.committed {
                let _ = fs::remove_file(t);
            }
            scratch.forget(t);
        }
        for d in &self.created {
            if !self.committed {
                // Only succeeds if the directory is empty.
                let _ = fs::remove_dir(d);
            }
            scratch.forget(d);
        }
    }
}

/// Creates `dir` if needed, registering each directory it creates with the
/// interrupt handler (removed, if still empty, on a signal); returns them,
/// deepest first. An error if `dir` cannot be created or is no directory.
pub(super) fn create_output_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let created: Vec<PathBuf> =
        dir.ancestors().take_while(|a| !a.as_os_str().is_empty() && !a.exists()).map(Path::to_path_buf).collect();
    {
        let mut scratch = interrupt::scratch();
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, "cannot create the output directory", e))?;
        for d in created.iter().rev() {
            scratch.add(d);
        }
    }
    if !dir.is_dir() {
        return Err(Error::io(dir, "cannot use as the output directory", std::io::Error::other("not a directory")));
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        std::env::temp_dir().join(format!("offsim-atomic-{tag}-{}", std::process::id()))
    }

    #[test]
    fn uncommitted_files_vanish_with_the_directories_this_run_created() {
        let top = temp_dir("drop");
        let _ = fs::remove_dir_all(&top);
        let dir = top.join("a").join("b");
        {
            let mut out = OutputDir::open(&dir).unwrap();
            out.write("a.csv", b"x").unwrap();
            assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "a temporary file exists while writing");
        }
        assert!(!top.exists());
    }

    #[test]
    fn commit_replaces_old_results_and_removes_stale_ones() {
        let dir = temp_dir("commit");
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("old.csv"), "stale").unwrap();
        fs::write(dir.join("manifest.json"), "old").unwrap();
        fs::write(dir.join("keep.txt"), "not a result").unwrap();
        let mut out = OutputDir::open(&dir).unwrap();
        let files = vec![out.write("a.csv", b"new").unwrap(), out.write("manifest.json", b"{}").unwrap()];
        assert_eq!(files[0].name(), "a.csv");
        // SHA-256 of `new`.
        assert_eq!(files[0].sha256(), "11507a0e2f5e69d5dfa40a62a1bd7b6ee57e6bcd85c67c9b8431b36fff21c437");
        out.commit(files, &["old.csv"]).unwrap();
        let mut names: Vec<String> =
            fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        assert_eq!(names, vec!["a.csv", "keep.txt", "manifest.json"]);
        assert_eq!(fs::read_to_string(dir.join("manifest.json")).unwrap(), "{}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
