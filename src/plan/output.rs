//! What `offsim plan` writes and prints.
//!
//! - `sizing.csv`: one row per policy: the answer, how it was found, and
//!   which objectives fail just below it (or at the top of the range).
//! - `curve.csv`: one row per policy, probed value and objective: the
//!   metric's mean, standard deviation, two-sided 95 % interval and the
//!   one-sided bound the objective is judged by. Only probed values appear
//!   (the search does not scan the range); for a full curve, sweep the field
//!   with `offsim sweep --grid`.

use super::bound::Judged;
use super::{Outcome, PlanReport, PolicyPlan};
use crate::error::{Error, Result};
use crate::plot::canvas::{self, Figure};
use crate::plot::sweep_param::MetricVsParameter;
use crate::results::OutputDir;
use crate::sweep::runs::to_csv;

fn num(v: Option<f64>) -> String {
    v.map_or_else(String::new, |x| format!("{x:.6}"))
}

/// The objectives not met at `value` (empty if it was not probed).
fn unmet(r: &PlanReport, p: &PolicyPlan, value: i64) -> Vec<String> {
    let Some(judged) = p.probes.get(&value) else { return Vec::new() };
    r.slos.iter().zip(judged).filter(|(_, j)| !j.met).map(|(s, _)| s.to_string()).collect()
}

/// Where the answer's limiting objectives are read: just below the answer,
/// or at the top of the range when nothing meets them.
fn limiting_value(r: &PlanReport, p: &PolicyPlan) -> Option<i64> {
    match p.outcome {
        Outcome::Found(v) if v > r.lo => Some(v - 1),
        Outcome::Found(_) => None,
        Outcome::NotMet => Some(r.hi),
    }
}

/// `sizing.csv`.
pub fn sizing_csv(r: &PlanReport) -> Vec<u8> {
    let header: Vec<String> = [
        "policy",
        "parameter",
        "range_min",
        "range_max",
        "smallest_value",
        "status",
        "replications",
        "confidence",
        "probes",
        "probed_values",
        "unmet_slos_at",
        "unmet_slos",
        "warnings",
    ]
    .map(String::from)
    .to_vec();
    let rows: Vec<Vec<String>> = r
        .policies
        .iter()
        .map(|p| {
            let (value, status) = match p.outcome {
                Outcome::Found(v) => (v.to_string(), "met"),
                Outcome::NotMet => (String::new(), "not_met_in_range"),
            };
            let at = limiting_value(r, p);
            vec![
                p.label.clone(),
                r.path.clone(),
                r.lo.to_string(),
                r.hi.to_string(),
                value,
                status.to_string(),
                r.replications.to_string(),
                r.confidence.to_string(),
                p.order.len().to_string(),
                p.order.iter().map(i64::to_string).collect::<Vec<_>>().join(" "),
                at.map_or_else(String::new, |v| v.to_string()),
                at.map(|v| unmet(r, p, v).join(" ")).unwrap_or_default(),
                p.warnings.join(" | "),
            ]
        })
        .collect();
    to_csv(&header, &rows)
}

/// `curve.csv`.
pub fn curve_csv(r: &PlanReport) -> Vec<u8> {
    let header: Vec<String> = [
        "policy",
        "parameter",
        "value",
        "slo",
        "metric",
        "op",
        "threshold",
        "n",
        "missing",
        "mean",
        "std",
        "ci95_low",
        "ci95_high",
        "bound_side",
        "bound",
        "met",
    ]
    .map(String::from)
    .to_vec();
    let mut rows = Vec::new();
    for p in &r.policies {
        for (value, judged) in &p.probes {
            for (slo, j) in r.slos.iter().zip(judged) {
                let j: &Judged = j;
                rows.push(vec![
                    p.label.clone(),
                    r.path.clone(),
                    value.to_string(),
                    slo.to_string(),
                    slo.metric.clone(),
                    slo.op.as_str().to_string(),
                    slo.threshold.to_string(),
                    j.n.to_string(),
                    j.missing.to_string(),
                    num(j.mean),
                    num(j.std),
                    num(j.ci95.map(|c| c.0)),
                    num(j.ci95.map(|c| c.1)),
                    if slo.op.is_upper_limit() { "upper" } else { "lower" }.to_string(),
                    num(j.bound),
                    j.met.to_string(),
                ]);
            }
        }
    }
    to_csv(&header, &rows)
}

/// Writes `sizing.csv` and `curve.csv` into the report's directory, and
/// one plot per objective into `plots/`.
pub fn write(r: &PlanReport) -> Result<()> {
    let mut out = OutputDir::open(&r.out_dir)?;
    let files = vec![out.write("sizing.csv", &sizing_csv(r))?, out.write("curve.csv", &curve_csv(r))?];
    out.commit(files, &[])?;
    write_plots(r)
}

/// Each objective's metric against the varied field, one line per policy,
/// with 95 % intervals: the curve of `curve.csv` as PNG and SVG.
fn write_plots(r: &PlanReport) -> Result<()> {
    let plots_dir = r.out_dir.join("plots");
    let mut out = OutputDir::open(&plots_dir)?;
    let mut files = Vec::new();
    for (k, slo) in r.slos.iter().enumerate() {
        let series = r
            .policies
            .iter()
            .map(|p| {
                let points = p
                    .probes
                    .iter()
                    .filter_map(|(&value, judged)| {
                        let j = &judged[k];
                        let half = j.ci95.map(|(lo, hi)| (hi - lo) / 2.0);
                        j.mean.map(|m| (value as f64, m, half))
                    })
                    .collect();
                (p.label.clone(), points)
            })
            .collect();
        let fig = MetricVsParameter {
            metric: format!("slo{}_{}", k + 1, slo.metric),
            metric_desc: slo.metric.clone(),
            parameter: r.path.clone(),
            subtitle: format!(
                "scenario {}, objective {}, 95 % intervals over {} replications",
                r.scenario, slo.text, r.replications
            ),
            series,
        };
        let name = fig.name();
        let fail =
            |e: canvas::DrawError| Error::io(plots_dir.join(&name), "cannot draw the plot", std::io::Error::other(e.0));
        files.push(out.write(&format!("{name}.png"), &canvas::png(&fig).map_err(fail)?)?);
        files.push(out.write(&format!("{name}.svg"), canvas::svg(&fig).map_err(fail)?.as_bytes())?);
    }
    out.commit(files, &[])
}

/// One line per policy.
pub fn policy_line(r: &PlanReport, p: &PolicyPlan) -> String {
    let probes = format!("{} probe{}", p.order.len(), if p.order.len() == 1 { "" } else { "s" });
    let why = |v: i64| {
        let j = &p.probes[&v];
        r.slos
            .iter()
            .zip(j)
            .filter(|(_, j)| !j.met)
            .map(|(s, j)| {
                let side = if s.op.is_upper_limit() { "upper" } else { "lower" };
                match j.bound {
                    Some(b) if j.missing == 0 => format!("{s} not met ({side} bound {b:.4})"),
                    _ => format!("{s} not met (undefined in {} of {} runs)", j.missing, j.missing + j.n),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut line = match p.outcome {
        Outcome::Found(v) => {
            let below = limiting_value(r, p)
                .filter(|b| p.probes.contains_key(b))
                .map(|b| format!("; at {b}: {}", why(b)))
                .unwrap_or_default();
            format!("  {}: {} = {v}  ({probes}{below})", p.label, r.path)
        }
        Outcome::NotMet => {
            format!(
                "  {}: no value in {}..={} meets every SLO ({probes}; at {}: {})",
                p.label,
                r.lo,
                r.hi,
                r.hi,
                why(r.hi)
            )
        }
    };
    for w in &p.warnings {
        line += &format!("\n    warning: {w}");
    }
    line
}

/// The console text.
pub fn summary(r: &PlanReport) -> String {
    let slos: Vec<String> = r.slos.iter().map(ToString::to_string).collect();
    let mut out = format!(
        "offsim {} plan: scenario {}, smallest {} in {}..={} meeting {} with {} % confidence, {} replications\n",
        env!("CARGO_PKG_VERSION"),
        r.scenario,
        r.path,
        r.lo,
        r.hi,
        slos.join(" and "),
        r.confidence * 100.0,
        r.replications
    );
    for p in &r.policies {
        out += &policy_line(r, p);
        out.push('\n');
    }
    out += &format!(
        "  runs        {} in {:.2} s with {} thread{}\n",
        r.runs,
        r.wall.as_secs_f64(),
        r.jobs,
        if r.jobs == 1 { "" } else { "s" }
    );
    out += &format!("  results     {}/ (sizing.csv, curve.csv, plots/)\n", r.out_dir.display());
    out
}
