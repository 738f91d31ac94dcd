//! The baseline file of `offsim check` (TOML).
//!
//! ```toml
//! alpha = 0.05                        # one-sided significance level (default 0.05)
//!
//! [metrics.latency_mean_ms]           # each metric checked
//! better = "lower"                    # "lower" or "higher"
//! tolerance = 0.05                    # relative: 5 % of the baseline mean; or
//! # tolerance_abs = 20.0              # absolute, in the metric's unit
//!
//! [[cases]]                           # one per policy (and grid point)
//! policy = "offload"
//! parameters = { "nodes.edge.cores" = "4" }   # grid point, as in runs.csv (omit for none)
//! [cases.values]
//! latency_mean_ms = { n = 5, mean = 612.3, std = 14.2 }   # or values = [..]
//! ```

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Which way is better.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    /// Lower values are better (latency, energy).
    Lower,
    /// Higher values are better (throughput, deadlines met).
    Higher,
}

/// How one metric is checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricRule {
    /// Which way the metric improves.
    pub better: Better,
    /// Relative tolerance, a fraction of |baseline mean|.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    /// Absolute tolerance, in the metric's unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance_abs: Option<f64>,
}

impl MetricRule {
    /// The allowed worsening against a baseline mean.
    pub fn allowed(&self, baseline_mean: f64) -> f64 {
        self.tolerance_abs.unwrap_or(0.0) + self.tolerance.unwrap_or(0.0) * baseline_mean.abs()
    }
}

/// Baseline figures of one metric: the replication values, or their
/// summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Values {
    /// Number of replications, with `mean` and `std`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<usize>,
    /// Mean over the replications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    /// Sample standard deviation over the replications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std: Option<f64>,
    /// Every replication's value, instead of `n`, `mean` and `std`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<f64>>,
}

/// One policy (and grid point).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// The policy's label.
    pub policy: String,
    /// The grid point: path -> value as written in `runs.csv`; empty for a single run.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    /// Baseline figures by metric name.
    #[serde(default)]
    pub values: BTreeMap<String, Values>,
}

/// The whole file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// One-sided level of the Welch test.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// How each metric is checked, by metric name.
    pub metrics: BTreeMap<String, MetricRule>,
    /// Every case the results must hold.
    #[serde(default)]
    pub cases: Vec<Case>,
}

fn default_alpha() -> f64 {
    0.05
}

/// The rules written by `--update-baseline` into a new file.
pub fn default_rules() -> BTreeMap<String, MetricRule> {
    let rule = |better, tolerance, tolerance_abs| MetricRule { better, tolerance, tolerance_abs };
    BTreeMap::from([
        ("latency_mean_ms".to_string(), rule(Better::Lower, Some(0.05), None)),
        ("latency_p95_ms".to_string(), rule(Better::Lower, Some(0.10), None)),
        ("deadline_met_fraction".to_string(), rule(Better::Higher, None, Some(0.02))),
        ("drop_rate".to_string(), rule(Better::Lower, None, Some(0.01))),
        ("device_energy_j".to_string(), rule(Better::Lower, Some(0.05), None)),
    ])
}

fn fail(path: &Path, message: String) -> Error {
    Error::Scenario { file: path.display().to_string(), message }
}

impl Values {
    /// `(n, mean, std)`, from `values` if given, else from `n`, `mean`, `std`
    /// (`n` defaults to 1, `std` to 0).
    pub fn summary(&self) -> Result<(usize, f64, f64), String> {
        if let Some(xs) = &self.values {
            if xs.is_empty() {
                return Err("`values` is empty".into());
            }
            let s = crate::stats::welch::Sample::of(xs);
            return Ok((s.n, s.mean, s.std));
        }
        let mean = self.mean.ok_or("give `values = [...]` or `mean` (with `n` and `std`)")?;
        Ok((self.n.unwrap_or(1).max(1), mean, self.std.unwrap_or(0.0)))
    }
}

impl Baseline {
    /// Reads and checks a baseline file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "cannot read the baseline", e))?;
        let b: Baseline = toml::from_str(&text)
            .map_err(|e| fail(path, e.to_string().trim_end().replace("TOML parse error", "invalid baseline")))?;
        if !(b.alpha > 0.0 && b.alpha < 1.0) {
            return Err(fail(path, format!("alpha = {}: expected 0 < alpha < 1", b.alpha)));
        }
        for (name, rule) in &b.metrics {
            let ok = |t: Option<f64>| t.is_none_or(|t| t.is_finite() && t >= 0.0);
            if !ok(rule.tolerance) || !ok(rule.tolerance_abs) {
                return Err(fail(path, format!("metrics.{name}: a tolerance must be a number >= 0")));
            }
        }
        for c in &b.cases {
            for (m, v) in &c.values {
                v.summary().map_err(|e| fail(path, format!("case `{}`, metric {m}: {e}", c.policy)))?;
            }
        }
        Ok(b)
    }

    /// The TOML text of the baseline, with a header comment.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string(self).expect("the baseline serialises");
        format!(
            "# offsim check baseline (docs/plan-and-check.md). Regenerate the [[cases]] with\n\
             # `offsim check RESULTS --baseline THIS_FILE --update-baseline`; alpha and [metrics] are kept.\n{body}"
        )
    }
}
