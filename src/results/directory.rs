//! A run's result directory, the same for both backends: the streamed
//! per-task and utilisation files, then `summary.csv` and `manifest.json`
//! with what the run came from, committed together.

use super::{CsvSink, LiveManifest, Manifest, OutputDir, write_summary};
use crate::error::{Error, Result};
use crate::metrics::Summary;
use crate::scenario::LoadedScenario;
use crate::workload::TextGuard;
use sha2::{Digest, Sha256};
use std::path::Path;

/// Every file a run may write.
pub const RESULT_FILES: [&str; 4] = ["tasks.csv", "utilisation.csv", "summary.csv", "manifest.json"];

/// Checksum of the trace `scenario` replays, if it replays one.
pub fn trace_sha256(scenario: &LoadedScenario) -> Result<Option<String>> {
    scenario.spec.workload.trace.as_ref().map(|t| sha256_file(&scenario.base_dir.join(t))).transpose()
}

fn sha256_file(path: &Path) -> Result<String> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, "cannot open trace", e))?;
    // Through the trace reader's guard: a file that is not text (or never
    // ends, like /dev/zero) fails here as it would when replayed.
    let mut f = TextGuard::new(f);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => {
                Error::Trace { file: path.display().to_string(), line: f.line(), message: e.to_string() }
            }
            _ => Error::io(path, "cannot read trace", e),
        })?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// What a run's manifest records beyond its summary.
pub struct Provenance<'a> {
    /// Master seed used.
    pub seed: u64,
    /// The policy's parameters with defaults filled in (hashed with the
    /// scenario).
    pub resolved_params: toml::Table,
    /// Checksum of the trace replayed, if any.
    pub trace_sha256: Option<String>,
    /// The command's arguments, program name first.
    pub command_line: &'a [String],
    /// What a live run ran on; `None` for a simulated run.
    pub live: Option<LiveManifest>,
}

/// The tables `scenario` writes in `out`: the streamed per-task and
/// utilisation files (as its outputs ask), `summary.csv` and
/// `manifest.json`.
pub fn open_row_files(scenario: &LoadedScenario, out: &mut OutputDir) -> Result<CsvSink> {
    let spec = &scenario.spec;
    let tasks = if spec.outputs.tasks { Some(out.create("tasks.csv")?) } else { None };
    let utilisation =
        if spec.outputs.utilisation_interval_ms > 0.0 { Some(out.create("utilisation.csv")?) } else { None };
    CsvSink::new(tasks, utilisation)
}

/// Finishes a run's result directory: closes the streamed tables, writes
/// `summary.csv` and `manifest.json` (last), removes stale result files and
/// commits. Returns the names of the files written.
pub fn write_results(
    scenario: &LoadedScenario,
    mut out: OutputDir,
    sink: CsvSink,
    summary: &Summary,
    p: Provenance<'_>,
) -> Result<Vec<String>> {
    let spec = &scenario.spec;
    let mut finished = Vec::new();
    let (tasks, utilisation) = sink.into_files();
    for f in [tasks, utilisation].into_iter().flatten() {
        finished.push(f.finish()?);
    }
    finished
        .push(out.write("summary.csv", write_summary(scenario.name(), &spec.policy.name, p.seed, summary).as_bytes())?);
    let mut files: Vec<String> = Vec::new();
    if spec.outputs.tasks {
        files.push("tasks.csv".into());
    }
    if spec.outputs.utilisation_interval_ms > 0.0 {
        files.push("utilisation.csv".into());
    }
    files.extend(["summary.csv".to_string(), "manifest.json".to_string()]);
    let manifest = Manifest {
        offsim_version: env!("CARGO_PKG_VERSION"),
        scenario: scenario.name().to_string(),
        description: spec.description.clone(),
        scenario_file: scenario.origin.clone(),
        scenario_sha256: scenario.canonical_hash(&p.resolved_params),
        trace_sha256: p.trace_sha256,
        seed: p.seed,
        policy: spec.policy.name.clone(),
        command_line: p.command_line.to_vec(),
        rng_algorithm: crate::engine::rng::RNG_ALGORITHM,
        rng_crates: crate::results::rng_crates(),
        files: files.clone(),
        sha256: finished.iter().map(|f| (f.name(), f.sha256().to_string())).collect(),
        events: summary.totals.events,
        sim_end_s: summary.totals.end_s,
        live: p.live,
    };
    finished.push(out.write("manifest.json", manifest.to_json().as_bytes())?);
    let stale: Vec<&str> = RESULT_FILES.iter().copied().filter(|f| !files.iter().any(|w| w == f)).collect();
    out.commit(finished, &stale)?;
    Ok(files)
}
