//! All-or-nothing output files.
//!
//! An [`OutputDir`] hands out [`PendingFile`]s written under hidden
//! temporary names in the target directory. [`OutputDir::commit`] renames
//! them all into place; dropping the directory without committing removes
//! the temporary files (and the directory, if this run created it and it is
//! empty).

use crate::error::{Error, Result};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// A file being written under a temporary name.
pub struct PendingFile {
    writer: BufWriter<File>,
    temp: PathBuf,
    target: PathBuf,
}

impl PendingFile {
    /// The buffered writer.
    pub fn writer(&mut self) -> &mut BufWriter<File> {
        &mut self.writer
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes and closes the file, keeping the temporary name.
    pub fn finish(mut self) -> Result<FinishedFile> {
        self.writer.flush().map_err(|e| Error::io(&self.target, "cannot write", e))?;
        Ok(FinishedFile { temp: self.temp.clone(), target: self.target.clone() })
    }
}

/// A file fully written under its temporary name.
pub struct FinishedFile {
    temp: PathBuf,
    target: PathBuf,
}

/// The output directory of one run.
pub struct OutputDir {
    dir: PathBuf,
    created: bool,
    temps: Vec<PathBuf>,
    committed: bool,
}

impl OutputDir {
    /// Creates `dir` if needed and checks that it can be written.
    pub fn open(dir: &Path) -> Result<Self> {
        let created = !dir.exists();
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, "cannot create the output directory", e))?;
        if !dir.is_dir() {
            return Err(Error::io(dir, "cannot use as the output directory", std::io::Error::other("not a directory")));
        }
        Ok(Self { dir: dir.to_path_buf(), created, temps: Vec::new(), committed: false })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Starts writing `name` in the directory, under a temporary name.
    pub fn create(&mut self, name: &str) -> Result<PendingFile> {
        let target = self.dir.join(name);
        let temp = self.dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let file = File::create(&temp).map_err(|e| Error::io(&target, "cannot create", e))?;
        self.temps.push(temp.clone());
        Ok(PendingFile { writer: BufWriter::with_capacity(1 << 20, file), temp, target })
    }

    /// Writes `name` whole, under a temporary name.
    pub fn write(&mut self, name: &str, contents: &[u8]) -> Result<FinishedFile> {
        let mut f = self.create(name)?;
        f.writer().write_all(contents).map_err(|e| Error::io(self.dir.join(name), "cannot write", e))?;
        f.finish()
    }

    /// Renames every finished file into place.
    pub fn commit(mut self, files: Vec<FinishedFile>) -> Result<()> {
        for f in &files {
            fs::rename(&f.temp, &f.target).map_err(|e| Error::io(&f.target, "cannot move into place", e))?;
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        for t in &self.temps {
            let _ = fs::remove_file(t);
        }
        if self.created {
            // Only succeeds if the directory is empty.
            let _ = fs::remove_dir(&self.dir);
        }
    }
}
