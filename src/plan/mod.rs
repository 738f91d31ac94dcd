//! `offsim plan`: capacity planning. For each policy, the smallest value of
//! an integer scenario field (`--vary nodes.cloud.cores=1..64`) at which
//! every objective (`--slo 'p95_latency_ms<=200'`) is met with 95 %
//! confidence.
//!
//! Each probed value runs `--replications` replications per policy through
//! the sweep machinery ([`probe`]); [`bound`] judges each objective by the
//! one-sided Student-t bound of the replication mean; [`search`] gallops
//! then bisects, assuming that meeting the objectives is monotone in the
//! value (more of the resource never hurts), and [`mod@self`] reports
//! evidence against that assumption when the probes show it. [`output`]
//! writes `sizing.csv` and `curve.csv` and the console lines.
//! `docs/plan-and-check.md` describes the command and its files.

pub mod bound;
pub mod output;
pub mod probe;
pub mod search;
pub mod slo;

use crate::error::{Error, Result};
use crate::policy::PolicyRegistry;
use crate::scenario::LoadedScenario;
use crate::sweep::ExperimentFlags;
use crate::sweep::runs::metric_names;
use bound::Judged;
use search::{Search, Step};
use slo::Slo;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Replications per probed value when neither `--replications` nor the
/// scenario's `experiment.replications` (if at least 2) says.
pub const DEFAULT_REPLICATIONS: u32 = 10;

/// How to plan.
#[derive(Clone, Debug)]
pub struct PlanOptions {
    /// Policies (`--policy`), replications and base seed; `grid` is unused.
    pub flags: ExperimentFlags,
    /// `path=lo..hi` (inclusive; `lo..=hi` also accepted).
    pub vary: String,
    /// `metric<=value` and the like.
    pub slos: Vec<String>,
    /// Worker threads; default: the machine's available parallelism.
    pub jobs: Option<usize>,
    /// Defaults to `results/<scenario name>-plan/`.
    pub out_dir: Option<PathBuf>,
    /// One-sided confidence level of the bounds; 0.95.
    pub confidence: f64,
}

/// The answer for one policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The smallest value meeting every objective.
    Found(i64),
    /// The largest value of the range fails.
    NotMet,
}

/// One policy's search.
#[derive(Clone, Debug)]
pub struct PolicyPlan {
    /// The policy's label.
    pub label: String,
    /// The answer found.
    pub outcome: Outcome,
    /// Every probed value (ascending) and each objective's judgement there.
    pub probes: BTreeMap<i64, Vec<Judged>>,
    /// Order in which values were probed.
    pub order: Vec<i64>,
    /// Evidence that the objectives are not monotone in the value.
    pub warnings: Vec<String>,
}

/// What `offsim plan` found.
#[derive(Clone, Debug)]
pub struct PlanReport {
    /// The scenario's name.
    pub scenario: String,
    /// The varied scenario field.
    pub path: String,
    /// Lowest value of the range.
    pub lo: i64,
    /// Highest value of the range.
    pub hi: i64,
    /// The objectives every value is judged by.
    pub slos: Vec<Slo>,
    /// Replications per policy at each probed value.
    pub replications: u32,
    /// One-sided confidence level of the bounds.
    pub confidence: f64,
    /// One search per policy.
    pub policies: Vec<PolicyPlan>,
    /// Simulation runs made.
    pub runs: usize,
    /// Worker threads used.
    pub jobs: usize,
    /// Wall-clock time of the whole plan.
    pub wall: Duration,
    /// Where the plan's files were written.
    pub out_dir: PathBuf,
}

/// Parses `path=lo..hi` (or `lo..=hi`), both inclusive.
pub fn parse_vary(raw: &str) -> Result<(String, i64, i64), String> {
    let what = |m: &str| format!("--vary {raw}: {m}");
    let (path, range) =
        raw.split_once('=').ok_or_else(|| what("expected PATH=LO..HI, e.g. nodes.cloud.cores=1..64"))?;
    let (lo, hi) = range.split_once("..").ok_or_else(|| what("expected a range LO..HI"))?;
    let hi = hi.strip_prefix('=').unwrap_or(hi);
    let int = |s: &str| s.trim().parse::<i64>().map_err(|_| what(&format!("`{}` is not an integer", s.trim())));
    let (lo, hi) = (int(lo)?, int(hi)?);
    if lo > hi {
        return Err(what("the range is empty (LO > HI)"));
    }
    let path = path.trim();
    if path.is_empty() {
        return Err(what("empty field path"));
    }
    Ok((path.to_string(), lo, hi))
}

/// Objectives met at least once and later confidently violated at a larger
/// value: the monotonicity the search assumes does not hold.
fn monotone_warnings(path: &str, slos: &[Slo], probes: &BTreeMap<i64, Vec<Judged>>) -> Vec<String> {
    let mut out = Vec::new();
    for (i, slo) in slos.iter().enumerate() {
        let met = probes.iter().find(|(_, j)| j[i].met).map(|(v, _)| *v);
        if let Some(m) = met
            && let Some((v, _)) = probes.range(m + 1..).find(|(_, j)| j[i].violated)
        {
            out.push(format!(
                "{slo} is met at {path}={m} but violated at {path}={v}: it is not monotone in {path}, so the search \
                 (which assumes it is) may have missed smaller values"
            ));
        }
    }
    out
}

/// The default output directory of a plan of `scenario`:
/// `results/<scenario name>-plan/`.
pub fn default_out_dir(scenario: &LoadedScenario) -> PathBuf {
    Path::new("results").join(format!("{}-plan", scenario.name()))
}

/// Runs the search for every policy.
pub fn plan(scenario: &LoadedScenario, registry: &PolicyRegistry, opts: &PlanOptions) -> Result<PlanReport> {
    let started = Instant::now();
    let fail = |message: String| Error::Scenario { file: scenario.origin.clone(), message };
    let (path, lo, hi) = parse_vary(&opts.vary).map_err(fail)?;
    let columns = metric_names();
    let slos: Vec<Slo> = opts.slos.iter().map(|s| Slo::parse(s, &columns)).collect::<Result<_, _>>().map_err(fail)?;
    if slos.is_empty() {
        return Err(fail("give at least one --slo, e.g. --slo 'p95_latency_ms<=200'".into()));
    }
    if !(opts.confidence > 0.5 && opts.confidence < 1.0) {
        return Err(fail(format!("confidence {}: expected a level between 0.5 and 1", opts.confidence)));
    }
    // The experiment's grid is not planned over; its policies, seed and
    // replications (from 2) are used unless flags say otherwise.
    let mut base = scenario.clone();
    let experiment_reps = base.spec.experiment.as_ref().map(|e| e.replications).filter(|&r| r >= 2);
    if let Some(e) = base.spec.experiment.as_mut() {
        e.grid.clear();
    }
    let mut flags = opts.flags.clone();
    flags.grid.clear();
    let replications = flags.replications.or(experiment_reps).unwrap_or(DEFAULT_REPLICATIONS);
    if replications < 2 {
        return Err(fail("--replications: a confidence bound needs at least 2 replications".into()));
    }
    flags.replications = Some(replications);
    let jobs =
        opts.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)).max(1);
    let prober = probe::Prober { scenario: &base, registry, flags: &flags, path: &path, jobs };
    // Both ends of the range are checked before anything runs.
    let experiment = prober.experiment(&[lo, hi])?;
    let labels: Vec<String> = experiment.policies.iter().map(|p| p.label.clone()).collect();

    let mut searches: Vec<Search> = labels.iter().map(|_| Search::new(lo, hi)).collect();
    let mut probes: Vec<BTreeMap<i64, Vec<Judged>>> = vec![BTreeMap::new(); labels.len()];
    let mut order: Vec<Vec<i64>> = vec![Vec::new(); labels.len()];
    let mut runs = 0;
    loop {
        let wanted: Vec<(usize, i64)> = searches
            .iter()
            .enumerate()
            .filter_map(|(p, s)| if let Step::Probe(v) = s.next() { Some((p, v)) } else { None })
            .collect();
        if wanted.is_empty() {
            break;
        }
        let results = prober.run(&wanted)?;
        runs += wanted.len() * replications as usize;
        for (&(p, v), rows) in wanted.iter().zip(results) {
            let judged: Vec<Judged> = slos
                .iter()
                .map(|slo| {
                    let values: Vec<Option<f64>> =
                        rows.iter().map(|cells| slo::metric_value(&columns, cells, &slo.metric)).collect();
                    bound::judge(slo, &values, opts.confidence)
                })
                .collect();
            searches[p].record(v, judged.iter().all(|j| j.met));
            probes[p].insert(v, judged);
            order[p].push(v);
        }
    }
    let policies = labels
        .into_iter()
        .enumerate()
        .map(|(p, label)| {
            let outcome = match searches[p].next() {
                Step::Found(v) => Outcome::Found(v),
                _ => Outcome::NotMet,
            };
            let warnings = monotone_warnings(&path, &slos, &probes[p]);
            PolicyPlan {
                label,
                outcome,
                probes: std::mem::take(&mut probes[p]),
                order: std::mem::take(&mut order[p]),
                warnings,
            }
        })
        .collect();
    let out_dir = opts.out_dir.clone().unwrap_or_else(|| default_out_dir(scenario));
    let report = PlanReport {
        scenario: scenario.name().to_string(),
        path,
        lo,
        hi,
        slos,
        replications,
        confidence: opts.confidence,
        policies,
        runs,
        jobs,
        wall: started.elapsed(),
        out_dir,
    };
    output::write(&report)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse() {
        assert_eq!(parse_vary("nodes.cloud.cores=1..64").unwrap(), ("nodes.cloud.cores".into(), 1, 64));
        assert_eq!(parse_vary("a.b=3..=3").unwrap(), ("a.b".into(), 3, 3));
        assert!(parse_vary("a.b=4..3").unwrap_err().contains("empty"));
        assert!(parse_vary("a.b=1..x").unwrap_err().contains("not an integer"));
        assert!(parse_vary("a.b").is_err());
    }
}
