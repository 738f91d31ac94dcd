//! Running the pending runs in parallel: one rayon task per run on a pool
//! of `--jobs` threads. Each run builds its own policy, simulates, and saves
//! its row at once; results come back in run-id order whatever the thread
//! count, and a run's outcome depends only on its scenario and seed.

use super::experiment::Experiment;
use super::progress::Progress;
use super::runs::{run_row, to_csv};
use super::store::SweepDir;
use crate::error::{Error, Result};
use crate::metrics::Summary;
use crate::policy::PolicyRegistry;
use crate::run::{RunOptions, build_policy, run_with, simulate_with};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How to run the pending runs.
pub struct Execution<'a> {
    /// The expanded experiment.
    pub experiment: &'a Experiment,
    /// The policies that may be named: built-in and registered.
    pub registry: &'a PolicyRegistry,
    /// The sweep directory runs are saved in.
    pub store: &'a SweepDir,
    /// Columns of `runs.csv`.
    pub header: &'a [String],
    /// Worker threads.
    pub jobs: usize,
    /// Write each run's own result files in `runs/<id>/`.
    pub write_tasks: bool,
    /// Recorded in per-run manifests.
    pub command_line: &'a [String],
}

impl Execution<'_> {
    /// Runs `pending` (run ids, ascending) and returns their rows in the
    /// same order. The first failing run stops the sweep; runs already
    /// saved stay saved.
    pub fn run(&self, pending: &[usize], progress: &Progress) -> Result<Vec<Vec<String>>> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.jobs)
            .thread_name(|i| format!("offsim-sweep-{i}"))
            .build()
            .map_err(|e| {
                Error::io(self.store.path(), "cannot start the worker threads", std::io::Error::other(e.to_string()))
            })?;
        let stop = AtomicBool::new(false);
        std::thread::scope(|scope| {
            if progress.enabled() {
                scope.spawn(|| {
                    let mut ticks = 0u32;
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(100));
                        ticks += 1;
                        if ticks.is_multiple_of(10) {
                            progress.draw();
                        }
                    }
                });
            }
            let rows = pool.install(|| {
                pending
                    .par_iter()
                    .with_max_len(1)
                    .map(|&id| {
                        let row = self.one(id)?;
                        progress.finished_one();
                        Ok(row)
                    })
                    .collect::<Result<Vec<_>>>()
            });
            stop.store(true, Ordering::Relaxed);
            rows
        })
    }

    /// Runs `id`, saves its row and returns it.
    fn one(&self, id: usize) -> Result<Vec<String>> {
        let experiment = self.experiment;
        let spec = experiment.run(id);
        let scenario = &experiment.cell(spec.point, spec.policy).scenario;
        let summary = if self.write_tasks {
            let opts = RunOptions {
                seed: Some(spec.seed),
                out_dir: Some(self.store.run_dir(id)),
                command_line: self.command_line.to_vec(),
                no_limits: false,
            };
            run_with(scenario, &opts, self.registry)?.summary
        } else {
            simulate_run(experiment, self.registry, id)?
        };
        let row = run_row(experiment, &spec, &summary);
        self.store.save_run(id, &to_csv(self.header, [&row]))?;
        Ok(row)
    }
}

/// Simulates run `id` of `experiment`, writing no file.
fn simulate_run(experiment: &Experiment, registry: &PolicyRegistry, id: usize) -> Result<Summary> {
    let spec = experiment.run(id);
    let scenario = &experiment.cell(spec.point, spec.policy).scenario;
    let (policy, _) = build_policy(scenario, registry)?;
    Ok(simulate_with(scenario, spec.seed, policy)?.0)
}

/// Simulates the runs `ids` of `experiment` in parallel on `jobs` threads, saving
/// nothing, and returns their summaries in the order of `ids` (used by
/// `offsim plan`, which probes a few grid points at a time).
pub fn summaries(
    experiment: &Experiment,
    registry: &PolicyRegistry,
    ids: &[usize],
    jobs: usize,
) -> Result<Vec<Summary>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .thread_name(|i| format!("offsim-run-{i}"))
        .build()
        .map_err(|e| Error::io(".", "cannot start the worker threads", std::io::Error::other(e.to_string())))?;
    pool.install(|| ids.par_iter().with_max_len(1).map(|&id| simulate_run(experiment, registry, id)).collect())
}
