//! The sweep's directory: `sweep.json`, one saved row per finished run in
//! `runs/<id>.csv`, and the final `runs.csv` and `comparison.csv`.
//!
//! Every file is written under a hidden temporary name and renamed into
//! place, so an interrupted sweep leaves only whole files (and perhaps
//! temporary ones, which [`SweepDir::prepare`] removes). A directory whose
//! `sweep.json` carries the same experiment hash is resumed; one holding
//! another sweep is refused before anything in it changes.

use crate::error::{Error, Result};
use crate::results::OutputDir;
use std::fs;
use std::path::{Path, PathBuf};

/// The file describing the sweep; written first, so that a directory with
/// saved runs always has it.
pub const SWEEP_JSON: &str = "sweep.json";
/// Sub-directory of the saved runs.
pub const RUNS_DIR: &str = "runs";

/// An opened sweep directory.
pub struct SweepDir {
    dir: PathBuf,
    /// The directory already holds this sweep.
    resuming: bool,
}

fn refuse(path: PathBuf, why: String) -> Error {
    let how = "choose another --out directory, or delete this one to start the sweep over";
    Error::io(path, "cannot run the sweep here", std::io::Error::other(format!("{why}; {how}")))
}

/// `.<name>.tmp-<pid>-<n>`, how [`OutputDir`] names files being written.
fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

fn remove_temporaries(dir: &Path) -> Result<()> {
    let Ok(entries) = fs::read_dir(dir) else { return Ok(()) };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if is_temporary(&name.to_string_lossy()) && entry.file_type().is_ok_and(|t| t.is_file()) {
            fs::remove_file(entry.path()).map_err(|e| Error::io(entry.path(), "cannot remove a temporary file", e))?;
        }
    }
    Ok(())
}

impl SweepDir {
    /// Looks at `dir` without changing anything: free (missing, or without
    /// `sweep.json` and `runs/`), or holding the sweep whose hash is
    /// `experiment_sha256` (resumed); anything else is refused.
    pub fn open(dir: &Path, experiment_sha256: &str) -> Result<Self> {
        let json = dir.join(SWEEP_JSON);
        if !json.exists() {
            if dir.join(RUNS_DIR).exists() {
                return Err(refuse(dir.to_path_buf(), format!("it holds {RUNS_DIR}/ but no {SWEEP_JSON}")));
            }
            return Ok(Self { dir: dir.to_path_buf(), resuming: false });
        }
        let text = fs::read_to_string(&json).map_err(|e| Error::io(&json, "cannot read", e))?;
        let found = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("experiment_sha256").and_then(|h| h.as_str()).map(str::to_string));
        match found {
            Some(h) if h == experiment_sha256 => Ok(Self { dir: dir.to_path_buf(), resuming: true }),
            Some(_) => Err(refuse(
                json,
                "it describes a different sweep (another scenario, grid, policy list, replication count, seed, \
                 --tasks setting or offsim version)"
                    .into(),
            )),
            None => Err(refuse(json, "it is not a sweep description offsim can read".into())),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Whether the directory already held this sweep.
    pub fn resuming(&self) -> bool {
        self.resuming
    }

    /// Creates the directory and `runs/`, removes temporary files left by
    /// an interrupted sweep, and writes `sweep.json` if it is new.
    pub fn prepare(&self, sweep_json: &str) -> Result<()> {
        if !self.resuming {
            let mut out = OutputDir::open(&self.dir)?;
            let f = out.write(SWEEP_JSON, sweep_json.as_bytes())?;
            out.commit(vec![f], &[])?;
        }
        let runs = self.dir.join(RUNS_DIR);
        fs::create_dir_all(&runs).map_err(|e| Error::io(&runs, "cannot create the directory", e))?;
        remove_temporaries(&self.dir)?;
        remove_temporaries(&runs)?;
        if let Ok(entries) = fs::read_dir(&runs) {
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    remove_temporaries(&entry.path())?;
                }
            }
        }
        Ok(())
    }

    /// Where run `id` writes its own result files (with `--tasks`).
    pub fn run_dir(&self, id: usize) -> PathBuf {
        self.dir.join(RUNS_DIR).join(id.to_string())
    }

    /// Saves run `id`'s row (a header line and a row line of CSV).
    pub fn save_run(&self, id: usize, csv: &[u8]) -> Result<()> {
        let mut out = OutputDir::open(&self.dir.join(RUNS_DIR))?;
        let f = out.write(&format!("{id}.csv"), csv)?;
        out.commit(vec![f], &[])
    }

    /// The saved row of run `id`, if there is one whose header is `header`
    /// and whose row `is_expected`; anything else is run again.
    pub fn load_run(
        &self,
        id: usize,
        header: &[String],
        is_expected: impl Fn(&[String]) -> bool,
    ) -> Option<Vec<String>> {
        let text = fs::read(self.dir.join(RUNS_DIR).join(format!("{id}.csv"))).ok()?;
        let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_slice());
        let records: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.map(|r| r.iter().map(str::to_string).collect()))
            .collect::<std::result::Result<_, _>>()
            .ok()?;
        match records.as_slice() {
            [h, row] if h == header && row.len() == header.len() && is_expected(row) => Some(row.clone()),
            _ => None,
        }
    }

    /// Writes the final files: `sweep.json` (replaced by rename, so the
    /// directory never lacks it), then the others.
    pub fn finish(&self, files: &[(&str, &[u8])]) -> Result<()> {
        let mut out = OutputDir::open(&self.dir)?;
        let finished = files.iter().map(|(name, bytes)| out.write(name, bytes)).collect::<Result<Vec<_>>>()?;
        out.commit(finished, &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("offsim-sweep-store-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn a_directory_is_resumed_only_for_the_same_sweep() {
        let dir = temp_dir("resume");
        let d = SweepDir::open(&dir, "aaa").unwrap();
        assert!(!d.resuming() && !dir.exists(), "opening changes nothing");
        d.prepare(r#"{ "experiment_sha256": "aaa" }"#).unwrap();
        let header = vec!["run_id".to_string(), "x".to_string()];
        d.save_run(0, b"run_id,x\n0,1.5\n").unwrap();
        d.save_run(1, b"run_id,y\n1,1.5\n").unwrap();
        fs::write(dir.join(RUNS_DIR).join(".2.csv.tmp-1"), "half").unwrap();
        fs::write(dir.join(".runs.csv.tmp-1"), "half").unwrap();

        let d = SweepDir::open(&dir, "aaa").unwrap();
        assert!(d.resuming());
        d.prepare("ignored when resuming").unwrap();
        assert!(!dir.join(RUNS_DIR).join(".2.csv.tmp-1").exists() && !dir.join(".runs.csv.tmp-1").exists());
        assert!(fs::read_to_string(dir.join(SWEEP_JSON)).unwrap().contains("aaa"));
        assert_eq!(d.load_run(0, &header, |r| r[0] == "0"), Some(vec!["0".to_string(), "1.5".to_string()]));
        assert_eq!(d.load_run(0, &header, |r| r[0] == "7"), None, "not the expected run");
        assert_eq!(d.load_run(1, &header, |_| true), None, "another header");
        assert_eq!(d.load_run(2, &header, |_| true), None, "missing");

        let e = SweepDir::open(&dir, "bbb").err().unwrap().to_string();
        assert!(e.contains("different sweep") && e.contains("another --out") && e.contains("delete"), "{e}");
        fs::remove_file(dir.join(SWEEP_JSON)).unwrap();
        let e = SweepDir::open(&dir, "aaa").err().unwrap().to_string();
        assert!(e.contains("no sweep.json"), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
