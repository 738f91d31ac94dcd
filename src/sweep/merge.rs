//! `offsim merge OUT DIR...`: combines the directories of a sharded sweep
//! (`offsim sweep --shard K/N`) into one sweep directory.
//!
//! Every DIR must hold a `sweep.json` with the same experiment hash (the
//! same scenario, grid, policies, seeds, `--tasks` and offsim version). The
//! saved rows `runs/<id>.csv` of all of them are collected; every run of
//! the sweep must be present exactly once (a run saved in two directories
//! must have the same row). OUT then receives `sweep.json` (the shards'
//! description without `shard`, with this command line), every
//! `runs/<id>.csv` (and `runs/<id>/` with `--tasks`), `runs.csv` and
//! `comparison.csv`, built by the same code as an unsharded sweep, so they
//! are byte-identical to its files. OUT is an ordinary sweep directory: it
//! may be one of the DIRs, and `offsim sweep` into it finds every run done.

use super::comparison::{Comparison, Layout};
use super::runs::{runs_header_for, to_csv};
use super::store::{RUNS_DIR, SWEEP_JSON, SweepDir};
use crate::error::{Error, Result};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

/// What a merge did.
#[derive(Clone, Debug)]
pub struct MergeReport {
    /// The merged sweep directory.
    pub out_dir: PathBuf,
    /// Runs merged.
    pub runs: usize,
    /// Sweep directories merged.
    pub dirs: usize,
    /// The scenario's name.
    pub scenario: String,
}

fn fail(path: &Path, message: String) -> Error {
    Error::Scenario { file: path.display().to_string(), message }
}

/// One shard directory's description.
struct Described {
    json: Value,
    hash: String,
}

fn describe(dir: &Path) -> Result<Described> {
    let path = dir.join(SWEEP_JSON);
    let text = fs::read_to_string(&path).map_err(|e| Error::io(&path, "cannot read the sweep description", e))?;
    let json: Value = serde_json::from_str(&text).map_err(|e| fail(&path, format!("not a sweep description: {e}")))?;
    let hash = json["experiment_sha256"]
        .as_str()
        .ok_or_else(|| fail(&path, "no experiment_sha256: not a sweep description offsim can read".into()))?
        .to_string();
    Ok(Described { json, hash })
}

/// The layout and run count a `sweep.json` describes, with the seeds.
fn layout(path: &Path, json: &Value) -> Result<(Layout, usize, Vec<u64>)> {
    let bad = |what: &str| fail(path, format!("sweep description without a valid `{what}`"));
    let e = &json["experiment"];
    let strings = |v: &Value, key: &str, what: &str| -> Result<Vec<String>> {
        v.as_array()
            .ok_or_else(|| bad(what))?
            .iter()
            .map(|x| x[key].as_str().map(str::to_string).ok_or_else(|| bad(what)))
            .collect()
    };
    let labels = strings(&e["policies"], "label", "experiment.policies")?;
    let axis_paths = strings(&e["grid"], "path", "experiment.grid")?;
    let baseline_label = e["baseline"].as_str().ok_or_else(|| bad("experiment.baseline"))?;
    let baseline = labels.iter().position(|l| l == baseline_label).ok_or_else(|| bad("experiment.baseline"))?;
    let replications =
        e["replications"].as_u64().and_then(|r| u32::try_from(r).ok()).ok_or_else(|| bad("replications"))?;
    let points = e["points"].as_array().ok_or_else(|| bad("experiment.points"))?.len();
    let seeds: Vec<u64> = e["seeds"]
        .as_array()
        .ok_or_else(|| bad("seeds"))?
        .iter()
        .map(|s| s.as_u64().ok_or_else(|| bad("seeds")))
        .collect::<Result<_>>()?;
    let runs = json["runs"].as_u64().ok_or_else(|| bad("runs"))? as usize;
    if runs != points * labels.len() * replications as usize || seeds.len() != replications as usize {
        return Err(fail(path, "the sweep description's run count does not match its experiment".into()));
    }
    let layout = Layout { axis_paths, point_values: vec![Vec::new(); points], labels, baseline, replications };
    Ok((layout, runs, seeds))
}

/// A saved run: its id, the header and the row of its file.
type SavedRow = (usize, Vec<String>, Vec<String>);

/// The saved rows `runs/<id>.csv` of `dir`, by id.
fn saved_rows(dir: &Path) -> Result<Vec<SavedRow>> {
    let runs = dir.join(RUNS_DIR);
    let entries = fs::read_dir(&runs).map_err(|e| Error::io(&runs, "cannot list the saved runs", e))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(&runs, "cannot list the saved runs", e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(id) = name.strip_suffix(".csv").and_then(|n| n.parse::<usize>().ok()) else { continue };
        let path = entry.path();
        let bytes = fs::read(&path).map_err(|e| Error::io(&path, "cannot read a saved run", e))?;
        let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(bytes.as_slice());
        let records: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.map(|r| r.iter().map(str::to_string).collect()))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| fail(&path, format!("not a saved run: {e}")))?;
        match <[Vec<String>; 2]>::try_from(records) {
            Ok([h, row]) => out.push((id, h, row)),
            Err(_) => return Err(fail(&path, "not a saved run: expected a header and one row".into())),
        }
    }
    out.sort_by_key(|(id, _, _)| *id);
    Ok(out)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).map_err(|e| Error::io(to, "cannot create the directory", e))?;
    for entry in fs::read_dir(from).map_err(|e| Error::io(from, "cannot list", e))?.flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target).map_err(|e| Error::io(entry.path(), "cannot copy", e))?;
        }
    }
    Ok(())
}

/// Merges the sweep directories `dirs` into `out`.
pub fn merge(out: &Path, dirs: &[PathBuf], command_line: &[String]) -> Result<MergeReport> {
    let first = dirs.first().ok_or_else(|| fail(out, "merge needs at least one sweep directory".into()))?;
    let described: Vec<Described> = dirs.iter().map(|d| describe(d)).collect::<Result<_>>()?;
    for (d, x) in dirs.iter().zip(&described).skip(1) {
        if x.hash != described[0].hash {
            return Err(fail(
                &d.join(SWEEP_JSON),
                format!(
                    "holds another sweep than {} (another experiment_sha256: scenario, grid, policies, seeds, \
                     --tasks or offsim version differ)",
                    first.display()
                ),
            ));
        }
    }
    let (mut layout, runs, seeds) = layout(&first.join(SWEEP_JSON), &described[0].json)?;
    let header = runs_header_for(&layout.axis_paths);
    let (np, reps) = (layout.labels.len(), layout.replications as usize);
    let mut rows: Vec<Option<(Vec<String>, usize)>> = vec![None; runs];
    for (k, dir) in dirs.iter().enumerate() {
        for (id, h, row) in saved_rows(dir)? {
            let file = dir.join(RUNS_DIR).join(format!("{id}.csv"));
            if id >= runs {
                return Err(fail(&file, format!("run {id} is not part of this sweep of {runs} runs")));
            }
            if h != header {
                return Err(fail(&file, "its columns are not those of this sweep's runs.csv".into()));
            }
            let (point, policy, r) = (id / (np * reps), id / reps % np, id % reps);
            let keys =
                [id.to_string(), point.to_string(), layout.labels[policy].clone(), r.to_string(), seeds[r].to_string()];
            if row.len() != header.len() || row[..keys.len()] != keys {
                return Err(fail(&file, format!("its row is not run {id} of this sweep")));
            }
            match &rows[id] {
                Some((other, j)) if *other != row => {
                    return Err(fail(&file, format!("run {id} differs from the same run in {}", dirs[*j].display())));
                }
                Some(_) => {}
                None => rows[id] = Some((row, k)),
            }
        }
    }
    let missing: Vec<usize> = (0..runs).filter(|&id| rows[id].is_none()).collect();
    if !missing.is_empty() {
        let shown: Vec<String> = missing.iter().take(10).map(usize::to_string).collect();
        return Err(fail(
            out,
            format!(
                "{} of {runs} runs are in none of the directories (run ids {}{}); run the missing shards (or resume \
                 them) first",
                missing.len(),
                shown.join(", "),
                if missing.len() > 10 { ", ..." } else { "" }
            ),
        ));
    }
    let rows: Vec<(Vec<String>, usize)> = rows.into_iter().map(|r| r.expect("checked")).collect();
    let first_value = 5;
    for (point, values) in layout.point_values.iter_mut().enumerate() {
        *values = rows[point * np * reps].0[first_value..first_value + layout.axis_paths.len()].to_vec();
    }

    let mut json = described[0].json.clone();
    if let Some(map) = json.as_object_mut() {
        map.remove("shard");
        map.insert("command_line".into(), Value::from(command_line.to_vec()));
    }
    let sweep_json = serde_json::to_string_pretty(&json).expect("JSON serialises") + "\n";
    let store = SweepDir::open(out, &described[0].hash)?;
    store.prepare(&sweep_json)?;
    for (id, (row, k)) in rows.iter().enumerate() {
        store.save_run(id, &to_csv(&header, [row]))?;
        let from = dirs[*k].join(RUNS_DIR).join(id.to_string());
        let to = store.run_dir(id);
        let same = fs::canonicalize(&from).ok().zip(fs::canonicalize(&to).ok()).is_some_and(|(a, b)| a == b);
        if from.is_dir() && !same {
            copy_dir(&from, &to)?;
        }
    }
    let rows: Vec<Vec<String>> = rows.into_iter().map(|(r, _)| r).collect();
    let comparison = Comparison::new(&layout, &rows);
    store.finish(&[
        (SWEEP_JSON, sweep_json.as_bytes()),
        ("runs.csv", &to_csv(&header, &rows)),
        ("comparison.csv", &comparison.to_csv(&layout)),
    ])?;
    let scenario = described[0].json["scenario"].as_str().unwrap_or("scenario").to_string();
    Ok(MergeReport { out_dir: out.to_path_buf(), runs, dirs: dirs.len(), scenario })
}
