//! `offsim sweep`: many runs of one scenario, compared with confidence
//! intervals.
//!
//! An experiment (the scenario's `[experiment]` section and the command
//! line's flags) names policies, a number of replications and a grid of
//! scenario fields to vary. [`sweep`] expands it into runs (every grid point
//! x every policy x every replication), runs them in parallel, saves each
//! run's summary row as soon as it finishes (so an interrupted sweep
//! resumes where it stopped), and writes `runs.csv`, `comparison.csv` and
//! `sweep.json`. Replication `r` uses seed `base + r` for every policy and
//! point, so policies are compared on the same workload (common random
//! numbers) and differences are paired. Outputs are byte-identical whatever
//! the number of threads. `docs/sweeps.md` describes every file and column.
//!
//! - [`experiment`]: expanding and checking the experiment;
//! - [`execute`]: the parallel runs;
//! - [`store`]: the directory, saved runs and resume;
//! - [`record`]: `sweep.json` and the sweep's identity hash;
//! - [`runs`]: `runs.csv`; [`comparison`]: `comparison.csv`, with
//!   [`crate::stats`];
//! - [`shard`]: `--shard K/N` and Slurm array tasks; [`merge`]: combining
//!   the shards' directories;
//! - [`progress`], [`console`]: what the user sees.

pub mod comparison;
pub mod console;
pub mod execute;
pub mod experiment;
pub mod merge;
pub mod progress;
pub mod record;
pub mod runs;
pub mod shard;
pub mod store;

pub use comparison::{Comparison, Layout};
pub use experiment::{Experiment, ExperimentFlags};
pub use shard::Shard;

use crate::error::Result;
use crate::policy::PolicyRegistry;
use crate::scenario::LoadedScenario;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How to sweep.
#[derive(Clone, Debug, Default)]
pub struct SweepOptions {
    /// Command-line experiment settings (replace the scenario's).
    pub flags: ExperimentFlags,
    /// Defaults to `results/<scenario name>-sweep/`.
    pub out_dir: Option<PathBuf>,
    /// Worker threads; defaults to the available parallelism.
    pub jobs: Option<usize>,
    /// Write each run's `tasks.csv` and other result files in `runs/<id>/`.
    pub write_tasks: bool,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// Recorded in `sweep.json` (and per-run manifests).
    pub command_line: Vec<String>,
    /// Run only this shard's runs (`--shard K/N`); `runs.csv` and
    /// `comparison.csv` are then left to `offsim merge`.
    pub shard: Option<Shard>,
}

/// What a sweep did.
#[derive(Clone, Debug)]
pub struct SweepReport {
    /// The experiment, expanded into runs.
    pub experiment: Experiment,
    /// The sweep directory.
    pub out_dir: PathBuf,
    /// Runs found already done in the directory.
    pub resumed: usize,
    /// Runs done by this call.
    pub ran: usize,
    /// Worker threads used.
    pub jobs: usize,
    /// Wall-clock time of the sweep.
    pub wall: Duration,
    /// Empty for a partial shard.
    pub comparison: Comparison,
    /// The shard run, when it is not the whole sweep.
    pub shard: Option<Shard>,
    /// Runs of this shard (all runs without one).
    pub shard_runs: usize,
}

/// The default output directory of a sweep of `scenario`.
pub fn default_out_dir(scenario: &LoadedScenario) -> PathBuf {
    Path::new("results").join(format!("{}-sweep", scenario.name()))
}

/// Runs the sweep of `scenario` (after `--set`), building policies from
/// `registry`; resumes a directory holding the same sweep, refuses one
/// holding another (before changing anything).
pub fn sweep(scenario: &LoadedScenario, registry: &PolicyRegistry, opts: &SweepOptions) -> Result<SweepReport> {
    let started = Instant::now();
    let experiment = Experiment::new(scenario, &opts.flags, registry)?;
    let shard = opts.shard.filter(|s| !s.is_whole());
    let (hash, sweep_json) = record::describe(&experiment, opts.write_tasks, &opts.command_line, shard);
    let out_dir = opts.out_dir.clone().unwrap_or_else(|| default_out_dir(scenario));
    let store = store::SweepDir::open(&out_dir, &hash)?;
    store.prepare(&sweep_json)?;

    let header = runs::runs_header(&experiment);
    let mine: Vec<usize> = (0..experiment.runs()).filter(|&id| shard.is_none_or(|s| s.contains(id))).collect();
    let mut rows: Vec<Option<Vec<String>>> = vec![None; experiment.runs()];
    for &id in &mine {
        let keys = runs::run_keys(&experiment, &experiment.run(id));
        rows[id] = store.load_run(id, &header, |row| row.starts_with(&keys));
    }
    let resumed = rows.iter().filter(|r| r.is_some()).count();
    let pending: Vec<usize> = mine.iter().copied().filter(|&id| rows[id].is_none()).collect();
    let jobs =
        opts.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)).max(1);

    let progress = progress::Progress::new(opts.progress, mine.len(), resumed);
    let execution = execute::Execution {
        experiment: &experiment,
        registry,
        store: &store,
        header: &header,
        jobs,
        write_tasks: opts.write_tasks,
        command_line: &opts.command_line,
    };
    let done = execution.run(&pending, &progress);
    progress.clear();
    for (&id, row) in pending.iter().zip(done?) {
        rows[id] = Some(row);
    }
    let report = |comparison| SweepReport {
        out_dir: out_dir.clone(),
        resumed,
        ran: pending.len(),
        jobs,
        wall: started.elapsed(),
        comparison,
        shard,
        shard_runs: mine.len(),
        experiment: experiment.clone(),
    };
    if shard.is_some() {
        store.finish(&[(store::SWEEP_JSON, sweep_json.as_bytes())])?;
        return Ok(report(Comparison { metrics: runs::metric_names(), stats: Vec::new() }));
    }
    let rows: Vec<Vec<String>> = rows.into_iter().map(|r| r.expect("every run is done")).collect();

    let layout = Layout::of(&experiment);
    let comparison = Comparison::new(&layout, &rows);
    let runs_csv = runs::to_csv(&header, &rows);
    let comparison_csv = comparison.to_csv(&layout);
    store.finish(&[
        (store::SWEEP_JSON, sweep_json.as_bytes()),
        ("runs.csv", &runs_csv),
        ("comparison.csv", &comparison_csv),
    ])?;
    Ok(report(comparison))
}
