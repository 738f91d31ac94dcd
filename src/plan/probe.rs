//! Running the replications of a few (policy, value) points with the sweep
//! machinery: each round becomes a sweep [`Experiment`] whose one grid axis holds
//! the values probed, its runs execute in parallel (rayon, `--jobs`
//! threads), and replication `r` uses seed `base + r` at every value and for
//! every policy (common random numbers).

use crate::error::Result;
use crate::policy::PolicyRegistry;
use crate::scenario::LoadedScenario;
use crate::sweep::{Experiment, ExperimentFlags, execute};

/// What a probe needs to know.
pub struct Prober<'a> {
    /// The scenario, without an `[experiment]` grid.
    pub scenario: &'a LoadedScenario,
    /// The policies that may be named: built-in and registered.
    pub registry: &'a PolicyRegistry,
    /// Policies, replications and seed (no grid).
    pub flags: &'a ExperimentFlags,
    /// The varied field.
    pub path: &'a str,
    /// Worker threads.
    pub jobs: usize,
}

impl Prober<'_> {
    /// The expanded experiment at `values` (a grid of one axis).
    pub fn experiment(&self, values: &[i64]) -> Result<Experiment> {
        let list: Vec<String> = values.iter().map(i64::to_string).collect();
        let flags = ExperimentFlags { grid: vec![format!("{}={}", self.path, list.join(","))], ..self.flags.clone() };
        Experiment::new(self.scenario, &flags, self.registry)
    }

    /// Runs every replication of each `(policy, value)` and returns, per
    /// pair, the `summary.csv` cells of each replication.
    pub fn run(&self, wanted: &[(usize, i64)]) -> Result<Vec<Vec<Vec<String>>>> {
        let mut values: Vec<i64> = wanted.iter().map(|&(_, v)| v).collect();
        values.sort_unstable();
        values.dedup();
        let experiment = self.experiment(&values)?;
        let (np, reps) = (experiment.policies.len(), experiment.replications as usize);
        let ids: Vec<usize> = wanted
            .iter()
            .flat_map(|&(policy, v)| {
                let point = values.binary_search(&v).expect("listed");
                (0..reps).map(move |r| (point * np + policy) * reps + r)
            })
            .collect();
        let summaries = execute::summaries(&experiment, self.registry, &ids, self.jobs)?;
        let cells: Vec<Vec<String>> =
            summaries.iter().map(|s| s.columns().into_iter().map(|(_, v)| v).collect()).collect();
        Ok(cells.chunks(reps).map(<[Vec<String>]>::to_vec).collect())
    }
}
