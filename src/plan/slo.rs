//! Service-level objectives (`--slo 'p95_latency_ms<=200'`) and the metrics
//! they name.
//!
//! A metric is a column of `summary.csv` / `runs.csv` (`latency_p95_ms`,
//! `latency_mean_ms`, `wait_mean_ms`, `deadline_met_fraction`,
//! `offload_fraction`, `device_energy_j`, ...) or a derived one:
//! - `drop_rate`: tasks that ended without completing (timeout, queue full,
//!   battery depleted, insufficient memory, invalid placement, horizon)
//!   divided by `tasks` (measured tasks, after warm-up); undefined without
//!   tasks;
//! - `deadline_miss_fraction`: `1 - deadline_met_fraction`.
//!
//! Aliases put the statistic first: `p95_latency_ms` is `latency_p95_ms`,
//! `mean_wait_ms` is `wait_mean_ms` (any `<stat>_<quantity>_ms` for which
//! `<quantity>_<stat>_ms` is a column).

use std::fmt;

/// Derived metrics, with their definitions (for messages and docs).
pub const DERIVED: [(&str, &str); 2] =
    [("drop_rate", "(tasks - ended_completed) / tasks"), ("deadline_miss_fraction", "1 - deadline_met_fraction")];

/// A comparison operator.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// `<=`: at most the threshold.
    Le,
    /// `<`: below the threshold.
    Lt,
    /// `>=`: at least the threshold.
    Ge,
    /// `>`: above the threshold.
    Gt,
}

impl Op {
    /// The operator as written: `<=`, `<`, `>=` or `>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Le => "<=",
            Op::Lt => "<",
            Op::Ge => ">=",
            Op::Gt => ">",
        }
    }

    /// Whether the objective is an upper limit (`<=`, `<`): then the
    /// metric's upper confidence bound is what must satisfy it.
    pub fn is_upper_limit(self) -> bool {
        matches!(self, Op::Le | Op::Lt)
    }

    /// Whether `x op threshold` holds.
    pub fn holds(self, x: f64, threshold: f64) -> bool {
        match self {
            Op::Le => x <= threshold,
            Op::Lt => x < threshold,
            Op::Ge => x >= threshold,
            Op::Gt => x > threshold,
        }
    }
}

/// One objective: `metric op threshold`.
#[derive(Clone, Debug, PartialEq)]
pub struct Slo {
    /// As the user wrote it.
    pub text: String,
    /// The canonical metric name (a column or a derived metric).
    pub metric: String,
    /// How the metric must compare with the threshold.
    pub op: Op,
    /// The limit, in the metric's unit.
    pub threshold: f64,
}

impl fmt::Display for Slo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.metric, self.op.as_str(), self.threshold)
    }
}

/// The canonical name of `name` among `columns` and the derived metrics.
pub fn resolve_metric(name: &str, columns: &[String]) -> Result<String, String> {
    let known = |n: &str| columns.iter().any(|c| c == n) || DERIVED.iter().any(|(d, _)| *d == n);
    if known(name) {
        return Ok(name.to_string());
    }
    if let Some(rest) = name.strip_suffix("_ms")
        && let Some((stat, quantity)) = rest.split_once('_')
    {
        let alias = format!("{quantity}_{stat}_ms");
        if known(&alias) {
            return Ok(alias);
        }
    }
    let mut all: Vec<&str> = columns.iter().map(String::as_str).collect();
    all.extend(DERIVED.iter().map(|(d, _)| *d));
    Err(format!("unknown metric `{name}`; expected one of: {}", all.join(", ")))
}

impl Slo {
    /// Parses `metric<=value` (also `<`, `>=`, `>`), resolving the metric
    /// against `columns`.
    pub fn parse(text: &str, columns: &[String]) -> Result<Self, String> {
        let what = |m: String| format!("--slo {text}: {m}");
        let (at, op, len) = ["<=", ">=", "<", ">"]
            .iter()
            .find_map(|o| text.find(o).map(|i| (i, *o, o.len())))
            .ok_or_else(|| what("expected METRIC<=VALUE (or <, >=, >)".into()))?;
        let op = match op {
            "<=" => Op::Le,
            ">=" => Op::Ge,
            "<" => Op::Lt,
            _ => Op::Gt,
        };
        let metric = resolve_metric(text[..at].trim(), columns).map_err(what)?;
        let raw = text[at + len..].trim();
        let threshold = raw
            .parse::<f64>()
            .ok()
            .filter(|t| t.is_finite())
            .ok_or_else(|| what(format!("`{raw}` is not a number")))?;
        Ok(Slo { text: text.to_string(), metric, op, threshold })
    }
}

/// The value of `metric` (canonical name) in a row of `columns`/`cells`
/// (as in `runs.csv`): `None` where it is undefined (an empty cell, or a
/// derived metric without tasks).
pub fn metric_value(columns: &[String], cells: &[String], metric: &str) -> Option<f64> {
    let get = |name: &str| {
        columns.iter().position(|c| c == name).and_then(|i| cells.get(i)).and_then(|v| v.parse::<f64>().ok())
    };
    match metric {
        "drop_rate" => {
            let tasks = get("tasks")?;
            (tasks > 0.0).then(|| (tasks - get("ended_completed").unwrap_or(0.0)) / tasks)
        }
        "deadline_miss_fraction" => get("deadline_met_fraction").map(|f| 1.0 - f),
        other => get(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns() -> Vec<String> {
        ["tasks", "ended_completed", "latency_p95_ms", "wait_mean_ms", "deadline_met_fraction"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn objectives_parse_with_aliases() {
        let c = columns();
        let s = Slo::parse("p95_latency_ms<=200", &c).unwrap();
        assert_eq!((s.metric.as_str(), s.op, s.threshold), ("latency_p95_ms", Op::Le, 200.0));
        assert_eq!(Slo::parse("mean_wait_ms < 5", &c).unwrap().metric, "wait_mean_ms");
        let s = Slo::parse("deadline_met_fraction>=0.99", &c).unwrap();
        assert_eq!((s.op, s.threshold), (Op::Ge, 0.99));
        assert_eq!(Slo::parse("drop_rate>0", &c).unwrap().op, Op::Gt);
        assert!(Slo::parse("bogus<=1", &c).unwrap_err().contains("unknown metric `bogus`"));
        assert!(Slo::parse("drop_rate<=x", &c).unwrap_err().contains("not a number"));
        assert!(Slo::parse("drop_rate=1", &c).unwrap_err().contains("expected"));
    }

    #[test]
    fn derived_metrics() {
        let c = columns();
        let row: Vec<String> = ["200", "190", "", "3.5", "0.75"].map(String::from).to_vec();
        assert_eq!(metric_value(&c, &row, "drop_rate"), Some(0.05));
        assert_eq!(metric_value(&c, &row, "deadline_miss_fraction"), Some(0.25));
        assert_eq!(metric_value(&c, &row, "latency_p95_ms"), None);
        let none: Vec<String> = ["0", "0", "", "", ""].map(String::from).to_vec();
        assert_eq!(metric_value(&c, &none, "drop_rate"), None);
    }
}
