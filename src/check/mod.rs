//! `offsim check`: compare a run or a sweep with a committed baseline, as a
//! regression gate for CI.
//!
//! For each case of the baseline (a policy, at a grid point for sweeps) and
//! each metric of its `[metrics]` rules, the current replication values are
//! compared with the baseline's: a **regression** is a worsening beyond the
//! metric's tolerance that is statistically significant by Welch's
//! one-sided t-test at level `alpha` (see [`crate::stats::welch`]). Noise therefore does
//! not fail a build, and a real worsening larger than the tolerance does.
//! The `offsim` binary exits 0 on pass, 3 on a regression, 2 on bad input
//! (including a baseline case missing from the results).
//!
//! - [`baseline`]: the TOML file; [`results`]: `runs.csv` / `summary.csv`;
//! - [`output`]: the Markdown table and JUnit XML.

pub mod baseline;
pub mod output;
pub mod results;

use crate::error::{Error, Result};
use crate::plan::slo::resolve_metric;
use crate::stats::welch::{self, Sample};
use baseline::{Baseline, Better, Case, MetricRule, Values};
use results::{Results, case_name};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How to check.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    /// The results: a sweep directory (`runs.csv`), a run directory (`summary.csv`) or one of those files.
    pub results: PathBuf,
    /// The baseline TOML file.
    pub baseline: PathBuf,
    /// Write the baseline from the results instead of checking.
    pub update_baseline: bool,
    /// Overrides the baseline's `alpha`.
    pub alpha: Option<f64>,
}

/// The verdict on one metric of one case.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within tolerance, or worse but not significantly.
    Pass,
    /// Worse than the tolerance allows, but not significantly.
    NotSignificant,
    /// Better than the baseline by more than the tolerance.
    Better,
    /// Worse beyond tolerance and significant.
    Regression,
    /// The results have no value of the metric (e.g. no completed task).
    Missing,
}

impl Verdict {
    /// Whether the verdict fails the check.
    pub fn fails(self) -> bool {
        matches!(self, Verdict::Regression | Verdict::Missing)
    }
}

/// One line of the comparison.
#[derive(Clone, Debug)]
pub struct Line {
    /// The case's name: the policy, and the grid point for sweeps.
    pub case: String,
    /// The metric's name as the baseline writes it.
    pub metric: String,
    /// Which way the metric improves.
    pub better: Better,
    /// The baseline's replications, summarised.
    pub baseline: Sample,
    /// The current replications, summarised; `None` if the results have no value of the metric.
    pub current: Option<Sample>,
    /// Allowed worsening (in the metric's unit).
    pub allowed: f64,
    /// One-sided p-value of the Welch test; `None` without current values.
    pub p_value: Option<f64>,
    /// The verdict on this metric of this case.
    pub verdict: Verdict,
}

/// What `offsim check` found.
#[derive(Clone, Debug)]
pub struct CheckReport {
    /// The results file compared.
    pub results_file: PathBuf,
    /// The baseline file compared against.
    pub baseline_file: PathBuf,
    /// One-sided level of the Welch test used.
    pub alpha: f64,
    /// One line per case and metric of the baseline.
    pub lines: Vec<Line>,
    /// Result cases the baseline does not know (not checked).
    pub new_cases: Vec<String>,
    /// `--update-baseline`: cases written.
    pub updated: Option<usize>,
}

impl CheckReport {
    /// Number of lines that fail the check: regressions and missing metrics.
    pub fn regressions(&self) -> usize {
        self.lines.iter().filter(|l| l.verdict.fails()).count()
    }
}

fn fail(path: &Path, message: String) -> Error {
    Error::Scenario { file: path.display().to_string(), message }
}

/// Canonical metric names of the rules (aliases resolved).
fn rules(b: &Baseline, columns: &[String], file: &Path) -> Result<Vec<(String, String, MetricRule)>> {
    b.metrics
        .iter()
        .map(|(name, rule)| {
            let canonical = resolve_metric(name, columns).map_err(|m| fail(file, format!("metrics.{name}: {m}")))?;
            Ok((name.clone(), canonical, rule.clone()))
        })
        .collect()
}

fn update(opts: &CheckOptions, results: &Results) -> Result<CheckReport> {
    let path = &opts.baseline;
    let mut b = if path.exists() {
        Baseline::load(path)?
    } else {
        Baseline { alpha: 0.05, metrics: baseline::default_rules(), cases: Vec::new() }
    };
    if let Some(a) = opts.alpha {
        b.alpha = a;
    }
    let rules = rules(&b, &results.columns, path)?;
    b.cases = results
        .cases
        .iter()
        .map(|c| {
            let values = rules
                .iter()
                .filter_map(|(name, canonical, _)| {
                    let xs = results.values(c, canonical);
                    (!xs.is_empty()).then(|| {
                        let s = Sample::of(&xs);
                        (name.clone(), Values { n: Some(s.n), mean: Some(s.mean), std: Some(s.std), values: None })
                    })
                })
                .collect();
            Case { policy: c.policy.clone(), parameters: c.parameters.clone(), values }
        })
        .collect();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "cannot create the directory", e))?;
    }
    std::fs::write(path, b.to_toml()).map_err(|e| Error::io(path, "cannot write the baseline", e))?;
    Ok(CheckReport {
        results_file: results.file.clone(),
        baseline_file: path.clone(),
        alpha: b.alpha,
        lines: Vec::new(),
        new_cases: Vec::new(),
        updated: Some(b.cases.len()),
    })
}

/// Checks (or, with `update_baseline`, writes) the baseline.
pub fn check(opts: &CheckOptions) -> Result<CheckReport> {
    let results = Results::load(&opts.results)?;
    if opts.update_baseline {
        return update(opts, &results);
    }
    let path = &opts.baseline;
    let b = Baseline::load(path)?;
    let alpha = opts.alpha.unwrap_or(b.alpha);
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(fail(path, format!("--alpha {alpha}: expected 0 < alpha < 1")));
    }
    let rules = rules(&b, &results.columns, path)?;
    let mut lines = Vec::new();
    for case in &b.cases {
        let name = case_name(&case.policy, &case.parameters);
        let current =
            results.cases.iter().find(|c| c.policy == case.policy && c.parameters == case.parameters).ok_or_else(
                || {
                    let have: Vec<String> = results.cases.iter().map(|c| c.name()).collect();
                    fail(
                        path,
                        format!(
                            "baseline case `{name}` is not in {} (it has: {}); run the same policies and grid, or \
                         regenerate the baseline with --update-baseline",
                            results.file.display(),
                            have.join("; ")
                        ),
                    )
                },
            )?;
        for (metric, canonical, rule) in &rules {
            let Some(v) = case.values.get(metric) else { continue };
            let (n, mean, std) = v.summary().map_err(|m| fail(path, format!("case `{name}`, {metric}: {m}")))?;
            let base = Sample { n, mean, std };
            let allowed = rule.allowed(mean);
            let xs = results.values(current, canonical);
            let mut line = Line {
                case: name.clone(),
                metric: metric.clone(),
                better: rule.better,
                baseline: base,
                current: None,
                allowed,
                p_value: None,
                verdict: Verdict::Missing,
            };
            if !xs.is_empty() {
                let cur = Sample::of(&xs);
                let worse = match rule.better {
                    Better::Lower => cur.mean - base.mean,
                    Better::Higher => base.mean - cur.mean,
                };
                let w = welch::test(&cur, &base, worse, allowed);
                line.current = Some(cur);
                line.p_value = Some(w.p_value);
                line.verdict = if worse > allowed {
                    if w.p_value < alpha { Verdict::Regression } else { Verdict::NotSignificant }
                } else if -worse > allowed {
                    Verdict::Better
                } else {
                    Verdict::Pass
                };
            }
            lines.push(line);
        }
    }
    let known: BTreeMap<String, ()> = b.cases.iter().map(|c| (case_name(&c.policy, &c.parameters), ())).collect();
    let new_cases = results.cases.iter().map(|c| c.name()).filter(|n| !known.contains_key(n)).collect();
    Ok(CheckReport { results_file: results.file, baseline_file: path.clone(), alpha, lines, new_cases, updated: None })
}
