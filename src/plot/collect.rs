//! Which plots a result directory gets, and their data: a run directory
//! (`summary.csv`) or a sweep directory (`comparison.csv`).

use super::AnyFigure;
use super::bars::StackedBars;
use super::cdf::LatencyCdf;
use super::ci::{Estimate, PolicyComparison};
use super::data::{PolicyRow, Table, completed_latencies};
use super::sweep_param::MetricVsParameter;
use super::utilisation::UtilisationOverTime;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// The figures to draw and notes on the ones skipped.
#[derive(Default)]
pub struct Figures {
    /// The figures to draw.
    pub list: Vec<AnyFigure>,
    /// One line per figure skipped, saying why.
    pub notes: Vec<String>,
}

const PHASES: [&str; 5] = ["wait_mean_ms", "upload_mean_ms", "startup_mean_ms", "exec_mean_ms", "download_mean_ms"];
const ENERGY: [&str; 3] = ["device_energy_j", "node_energy_j", "network_energy_j"];
/// Metrics compared across policies in a sweep, when present.
pub const COMPARED: [&str; 5] =
    ["latency_mean_ms", "latency_p95_ms", "deadline_met_fraction", "device_energy_j", "offload_fraction"];

/// A reader's name for a metric column, with its unit.
pub fn describe(metric: &str) -> String {
    match metric {
        "latency_mean_ms" => "mean latency (ms)".into(),
        "latency_p50_ms" => "p50 latency (ms)".into(),
        "latency_p95_ms" => "p95 latency (ms)".into(),
        "latency_p99_ms" => "p99 latency (ms)".into(),
        "deadline_met_fraction" => "deadlines met (fraction)".into(),
        "device_energy_j" => "device energy (J)".into(),
        "node_energy_j" => "node energy (J)".into(),
        "network_energy_j" => "network energy (J)".into(),
        "offload_fraction" => "offloaded tasks (fraction)".into(),
        "throughput_per_s" => "throughput (tasks/s)".into(),
        "device_cpu_utilisation" => "device CPU utilisation (fraction)".into(),
        "node_cpu_utilisation" => "node CPU utilisation (fraction)".into(),
        other => other.to_string(),
    }
}

/// The figures for `dir`.
pub fn figures(dir: &Path) -> Result<Figures> {
    if dir.join("comparison.csv").is_file() {
        sweep(dir)
    } else if dir.join("summary.csv").is_file() {
        run(dir)
    } else {
        Err(Error::io(
            dir,
            "cannot plot",
            std::io::Error::other(
                "not a result directory: it has neither summary.csv (a run) nor comparison.csv (a sweep)",
            ),
        ))
    }
}

fn run(dir: &Path) -> Result<Figures> {
    let summary = Table::read(&dir.join("summary.csv"))?;
    let row = summary.rows.first().cloned().unwrap_or_default();
    let policy = summary.text(&row, "policy").to_string();
    let subtitle =
        format!("scenario {}, policy {}, seed {}", summary.text(&row, "scenario"), policy, summary.text(&row, "seed"));
    let mut f = Figures::default();
    let tasks = dir.join("tasks.csv");
    if tasks.is_file() {
        let lat = completed_latencies(&tasks)?;
        f.list.push(AnyFigure::Cdf(LatencyCdf { subtitle: subtitle.clone(), series: vec![(policy.clone(), lat)] }));
    } else {
        f.notes.push("latency_cdf: skipped, no tasks.csv (outputs.tasks = false)".into());
    }
    let values = |cols: &[&str]| cols.iter().map(|c| summary.num(&row, c).unwrap_or(0.0)).collect::<Vec<f64>>();
    f.list.push(AnyFigure::Bars(StackedBars::latency_breakdown(
        subtitle.clone(),
        vec![PolicyRow { policy: policy.clone(), values: values(&PHASES) }],
    )));
    let util = dir.join("utilisation.csv");
    if util.is_file() {
        f.list.push(AnyFigure::Utilisation(UtilisationOverTime {
            subtitle: subtitle.clone(),
            series: utilisation(&util)?,
        }));
    } else {
        f.notes.push("utilisation: skipped, no utilisation.csv (outputs.utilisation_interval_ms = 0)".into());
    }
    f.list.push(AnyFigure::Bars(StackedBars::energy(subtitle, vec![PolicyRow { policy, values: values(&ENERGY) }])));
    f.notes.push("comparison_*, *_vs_*: sweeps only (offsim sweep)".into());
    warn_non_finite(&mut f, "summary.csv", &summary);
    Ok(f)
}

/// Notes the numbers of `table` (the file `name`) left out of the plots
/// because they are not finite.
fn warn_non_finite(f: &mut Figures, name: &str, table: &Table) {
    for cell in table.non_finite() {
        f.notes.push(format!("warning: {name}: {cell} is not a finite number; drawn as 0 or left out"));
    }
}

/// Mean utilisation per device class and per node over time.
fn utilisation(path: &Path) -> Result<Vec<super::utilisation::Series>> {
    let t = Table::read(path)?;
    // label -> time (as bits, in order) -> (sum, count)
    let mut order: Vec<String> = Vec::new();
    let mut series: BTreeMap<String, Vec<(f64, f64, u32)>> = BTreeMap::new();
    for r in &t.rows {
        let label = match t.text(r, "kind") {
            "device" => format!("{} (devices)", t.text(r, "group")),
            _ => format!("{} ({})", t.text(r, "name"), t.text(r, "group")),
        };
        let (Some(time), Some(u)) = (t.num(r, "time_s"), t.num(r, "utilisation")) else { continue };
        let s = series.entry(label.clone()).or_insert_with(|| {
            order.push(label.clone());
            Vec::new()
        });
        match s.last_mut() {
            Some(last) if last.0 == time => {
                last.1 += u;
                last.2 += 1;
            }
            _ => s.push((time, u, 1)),
        }
    }
    Ok(order
        .into_iter()
        .map(|l| {
            let pts = series[&l].iter().map(|&(t, s, n)| (t, s / n as f64)).collect();
            (l, pts)
        })
        .collect())
}

fn sweep(dir: &Path) -> Result<Figures> {
    let cmp = Table::read(&dir.join("comparison.csv"))?;
    let params: Vec<String> = cmp.header.iter().filter(|h| h.starts_with("parameter_")).cloned().collect();
    let mut policies: Vec<String> = Vec::new();
    for r in &cmp.rows {
        let p = cmp.text(r, "policy").to_string();
        if !policies.contains(&p) {
            policies.push(p);
        }
    }
    let baseline = cmp.rows.first().map(|r| cmp.text(r, "baseline").to_string()).unwrap_or_default();
    let first_point: Vec<&Vec<String>> = cmp.rows.iter().filter(|r| cmp.text(r, "point") == "0").collect();
    let reps = first_point.iter().find_map(|r| cmp.num(r, "n")).unwrap_or(0.0);
    let mut subtitle = format!(
        "sweep {}, mean of {reps} replications",
        dir.file_name().map_or("".into(), |n| n.to_string_lossy().into_owned())
    );
    if let Some(r) = first_point.first() {
        let at: Vec<String> =
            params.iter().map(|p| format!("{}={}", &p["parameter_".len()..], cmp.text(r, p))).collect();
        if !at.is_empty() {
            subtitle.push_str(&format!(", grid point 0 ({})", at.join(", ")));
        }
    }
    let mean = |policy: &str, metric: &str| {
        first_point
            .iter()
            .find(|r| cmp.text(r, "policy") == policy && cmp.text(r, "metric") == metric)
            .and_then(|r| cmp.num(r, "mean"))
    };
    let mut f = Figures::default();

    // Latency CDF: replication 0 of each policy at point 0, if its tasks were saved.
    let runs_csv = dir.join("runs.csv");
    let mut cdf = Vec::new();
    if runs_csv.is_file() {
        let runs = Table::read(&runs_csv)?;
        for r in runs.rows.iter().filter(|r| runs.text(r, "point") == "0" && runs.text(r, "replication") == "0") {
            let tasks = dir.join("runs").join(runs.text(r, "run_id")).join("tasks.csv");
            if tasks.is_file() {
                cdf.push((runs.text(r, "policy").to_string(), completed_latencies(&tasks)?));
            }
        }
    }
    if cdf.is_empty() {
        f.notes.push("latency_cdf: skipped, the sweep saved no tasks.csv (run it with --tasks)".into());
    } else {
        let sub = subtitle.replace(&format!("mean of {reps} replications"), "replication 0 of each policy");
        f.list.push(AnyFigure::Cdf(LatencyCdf { subtitle: sub, series: cdf }));
    }
    let rows = |cols: &[&str]| -> Vec<PolicyRow> {
        policies
            .iter()
            .map(|p| PolicyRow { policy: p.clone(), values: cols.iter().map(|c| mean(p, c).unwrap_or(0.0)).collect() })
            .collect()
    };
    f.list.push(AnyFigure::Bars(StackedBars::latency_breakdown(subtitle.clone(), rows(&PHASES))));
    f.notes.push("utilisation: runs only (offsim run, or offsim report on runs/<id>/ of a sweep with --tasks)".into());
    f.list.push(AnyFigure::Bars(StackedBars::energy(subtitle.clone(), rows(&ENERGY))));
    for metric in COMPARED {
        let est: Vec<Estimate> = first_point
            .iter()
            .filter(|r| cmp.text(r, "metric") == metric)
            .filter_map(|r| {
                Some(Estimate {
                    policy: cmp.text(r, "policy").to_string(),
                    mean: cmp.num(r, "mean")?,
                    half_width: cmp.num(r, "ci95_half_width"),
                    significant: match cmp.text(r, "diff_significant") {
                        "true" => Some(true),
                        "false" => Some(false),
                        _ => None,
                    },
                })
            })
            .collect();
        if !est.is_empty() {
            f.list.push(AnyFigure::Comparison(PolicyComparison {
                metric: metric.into(),
                metric_desc: describe(metric),
                subtitle: subtitle.clone(),
                baseline: baseline.clone(),
                rows: est,
            }));
        }
    }
    // Metric against each numeric grid axis, the other axes at their first value.
    for p in &params {
        let others: Vec<&String> = params.iter().filter(|q| *q != p).collect();
        let fixed: Vec<(usize, String)> = match first_point.first() {
            Some(r) => others.iter().map(|q| (cmp.col(q).unwrap_or(0), cmp.text(r, q).to_string())).collect(),
            None => continue,
        };
        let on_line = |r: &Vec<String>| fixed.iter().all(|(i, v)| r.get(*i) == Some(v));
        let mut distinct: Vec<String> = Vec::new();
        for r in cmp.rows.iter().filter(|r| on_line(r)) {
            let v = cmp.text(r, p).to_string();
            if !distinct.contains(&v) {
                distinct.push(v);
            }
        }
        if distinct.len() < 2 || distinct.iter().any(|v| v.parse::<f64>().is_err()) {
            f.notes.push(format!("metric vs {}: skipped, needs 2 or more numeric values", &p["parameter_".len()..]));
            continue;
        }
        for metric in ["latency_p95_ms", "latency_mean_ms"] {
            let series: Vec<super::sweep_param::Line> = policies
                .iter()
                .map(|pol| {
                    let pts = cmp
                        .rows
                        .iter()
                        .filter(|r| on_line(r) && cmp.text(r, "policy") == pol && cmp.text(r, "metric") == metric)
                        .filter_map(|r| Some((cmp.num(r, p)?, cmp.num(r, "mean")?, cmp.num(r, "ci95_half_width"))))
                        .collect();
                    (pol.clone(), pts)
                })
                .collect();
            let mut sub = format!("mean of {reps} replications per point");
            if !fixed.is_empty() {
                let at: Vec<String> =
                    others.iter().zip(&fixed).map(|(q, (_, v))| format!("{}={v}", &q["parameter_".len()..])).collect();
                sub.push_str(&format!(", at {}", at.join(", ")));
            }
            f.list.push(AnyFigure::Parameter(MetricVsParameter {
                metric: metric.into(),
                metric_desc: describe(metric),
                parameter: p["parameter_".len()..].to_string(),
                subtitle: sub,
                series,
            }));
        }
    }
    if params.is_empty() {
        f.notes.push("metric vs parameter: skipped, the sweep has no grid".into());
    }
    warn_non_finite(&mut f, "comparison.csv", &cmp);
    Ok(f)
}
