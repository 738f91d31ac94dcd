//! The validation plot: how far the simulator's predictions are from the
//! live measurements, from the `validation.csv` that `offsim validate`
//! writes.
//!
//! Left, one panel per latency percentile (p50, p95): one row per policy,
//! the simulated value (diamond) below the live median (circle) with the
//! 95 % interval of the live mean as a bar. Right, the error of every
//! metric: one bar per policy from 0 to live median minus simulated, in
//! % of the simulated value, or in percentage points for fractions and
//! utilisations. Colours follow the policy in every panel; missing values
//! are left out.

use super::canvas::{self, DrawError, DrawResult, Figure};
use super::legend::{self, Entry, Key};
use super::style;
use crate::error::{Error, Result};
use crate::results::OutputDir;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::path::Path;

/// The columns `validation.csv` must have.
const COLUMNS: [&str; 8] =
    ["policy", "metric", "simulated", "live_median", "live_ci95_lo", "live_ci95_hi", "error", "error_unit"];

/// The latency metrics drawn as values, with their panel captions.
const LATENCY_PANELS: [(&str, &str); 2] =
    [("latency_p50_ms", "p50 latency per policy"), ("latency_p95_ms", "p95 latency per policy")];

/// Vertical distance, in rows, of the live and the simulated marker from
/// the middle of their policy's row.
const DODGE: f64 = 0.17;

/// Width of the side panel (legend and notes).
const SIDE: u32 = 270;

/// A chart whose y axis counts rows.
type RowChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// One line of `validation.csv`: a metric of one policy, simulated and live.
struct Comparison {
    policy: String,
    metric: String,
    simulated: Option<f64>,
    live_median: Option<f64>,
    /// The 95 % interval of the live mean, when both ends are known.
    live_interval: Option<(f64, f64)>,
    /// The error in % (relative metrics) or percentage points.
    error: Option<f64>,
}

/// The validation figure.
pub struct ValidationPlot {
    /// Policies in the order of the file.
    policies: Vec<String>,
    /// Metrics in the order of the file, each with whether its error is in
    /// percentage points.
    metrics: Vec<(String, bool)>,
    rows: Vec<Comparison>,
}

/// Reads `dir/validation.csv` and writes `dir/plots/validation.png` and
/// `.svg` atomically; returns the names of the files written.
pub fn render(dir: &Path) -> Result<Vec<String>> {
    let fig = ValidationPlot::read(&dir.join("validation.csv"))?;
    let plots = dir.join("plots");
    let names = ["png", "svg"].map(|ext| format!("{}.{ext}", fig.name()));
    let failed = |e: DrawError| Error::io(plots.join(&names[0]), "cannot draw the plot", std::io::Error::other(e.0));
    let png = canvas::png(&fig).map_err(failed)?;
    let svg = canvas::svg(&fig).map_err(failed)?;
    let mut out = OutputDir::open(&plots)?;
    let files = vec![out.write(&names[0], &png)?, out.write(&names[1], svg.as_bytes())?];
    out.commit(files, &[])?;
    Ok(names.to_vec())
}

impl ValidationPlot {
    /// Reads and checks `path`; errors name the file, the line and what was
    /// expected there.
    pub fn read(path: &Path) -> Result<Self> {
        const ACTION: &str = "cannot read the validation table";
        let bad =
            |line: u64, what: String| Error::io(path, ACTION, std::io::Error::other(format!("line {line}: {what}")));
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, ACTION, e))?;
        let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(file);
        let not_csv = |e: csv::Error| match e.position() {
            Some(p) => bad(p.line(), format!("expected CSV text: {e}")),
            None => Error::io(path, ACTION, std::io::Error::other(e.to_string())),
        };
        let header = reader.headers().map_err(not_csv)?.clone();
        let mut at = [0; COLUMNS.len()];
        for (slot, name) in at.iter_mut().zip(COLUMNS) {
            *slot = header.iter().position(|h| h == name).ok_or_else(|| {
                bad(1, format!("expected a header with the columns {}; `{name}` is missing", COLUMNS.join(",")))
            })?;
        }
        let mut plot = ValidationPlot { policies: Vec::new(), metrics: Vec::new(), rows: Vec::new() };
        let mut first_line = Vec::new();
        for record in reader.records() {
            let record = record.map_err(not_csv)?;
            let line = record.position().map_or(0, |p| p.line());
            if record.len() != header.len() {
                return Err(bad(line, format!("expected {} fields, found {}", header.len(), record.len())));
            }
            let cell = |k: usize| record.get(at[k]).unwrap_or("");
            let number = |k: usize| match cell(k) {
                "" => Ok(None),
                text => match text.parse::<f64>() {
                    Ok(v) if v.is_finite() => Ok(Some(v)),
                    _ => Err(bad(
                        line,
                        format!("column `{}`: expected a finite number or an empty cell, found `{text}`", COLUMNS[k]),
                    )),
                },
            };
            let (policy, metric) = (cell(0).to_string(), cell(1).to_string());
            for (k, text) in [(0, &policy), (1, &metric)] {
                if text.is_empty() {
                    return Err(bad(line, format!("column `{}`: expected a name, found an empty cell", COLUMNS[k])));
                }
            }
            let points = match cell(7) {
                "points" => true,
                "relative" => false,
                other => {
                    return Err(bad(
                        line,
                        format!("column `error_unit`: expected `relative` or `points`, found `{other}`"),
                    ));
                }
            };
            if let Some(k) = plot.rows.iter().position(|r| r.policy == policy && r.metric == metric) {
                let first = first_line[k];
                return Err(bad(line, format!("policy `{policy}`, metric `{metric}` again (first on line {first})")));
            }
            match plot.metrics.iter().find(|(m, _)| *m == metric) {
                Some(&(_, p)) if p != points => {
                    return Err(bad(
                        line,
                        format!("metric `{metric}`: expected the same error_unit as on its earlier lines"),
                    ));
                }
                Some(_) => {}
                None => plot.metrics.push((metric.clone(), points)),
            }
            if !plot.policies.contains(&policy) {
                plot.policies.push(policy.clone());
            }
            let live_interval = match (number(4)?, number(5)?) {
                (Some(lo), Some(hi)) => Some((lo.min(hi), lo.max(hi))),
                _ => None,
            };
            let error = number(6)?.map(|e| if points { e } else { 100.0 * e });
            let comparison =
                Comparison { policy, metric, simulated: number(2)?, live_median: number(3)?, live_interval, error };
            plot.rows.push(comparison);
            first_line.push(line);
        }
        if plot.rows.is_empty() {
            return Err(bad(2, "expected one row per policy and metric, found none".into()));
        }
        Ok(plot)
    }

    /// The row of `policy` and `metric`, if the file has it.
    fn find(&self, policy: &str, metric: &str) -> Option<&Comparison> {
        self.rows.iter().find(|r| r.policy == policy && r.metric == metric)
    }

    /// Simulated and live values of one latency metric, one row per policy.
    fn latency_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        metric: &str,
        caption: &str,
    ) -> DrawResult {
        let n = self.policies.len();
        let found: Vec<(usize, &Comparison)> =
            self.policies.iter().enumerate().filter_map(|(i, p)| Some((i, self.find(p, metric)?))).collect();
        let values = found.iter().flat_map(|(_, r)| {
            let (lo, hi) = r.live_interval.unzip();
            [r.simulated, r.live_median, lo, hi]
        });
        let chart = row_chart(area, caption, "latency (ms)", &self.policies, padded(values.flatten(), 1.0))?;
        for (i, r) in found {
            let y = (n - 1 - i) as f64;
            let c = style::colour(i);
            if let Some((lo, hi)) = r.live_interval {
                let st = c.stroke_width(2);
                let y = y + DODGE;
                chart.plotting_area().draw(&PathElement::new(vec![(lo, y), (hi, y)], st))?;
                for x in [lo, hi] {
                    chart.plotting_area().draw(&PathElement::new(vec![(x, y - 0.1), (x, y + 0.1)], st))?;
                }
            }
            if let Some(v) = r.live_median {
                mark(area, &chart, 0, (v, y + DODGE), c)?;
            }
            if let Some(v) = r.simulated {
                mark(area, &chart, 3, (v, y - DODGE), c)?;
            }
        }
        Ok(())
    }

    /// The error of every metric, one bar per policy grouped by metric.
    fn error_panel<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult {
        let m = self.metrics.len();
        let names: Vec<String> = self
            .metrics
            .iter()
            .map(|(metric, points)| format!("{} ({})", short_name(metric), if *points { "pt" } else { "%" }))
            .collect();
        let errors: Vec<(usize, usize, f64)> = self
            .metrics
            .iter()
            .enumerate()
            .flat_map(|(k, (metric, _))| {
                self.policies.iter().enumerate().filter_map(move |(i, p)| Some((k, i, self.find(p, metric)?.error?)))
            })
            .collect();
        let x = padded(errors.iter().map(|e| e.2), 1.0);
        let chart = row_chart(
            area,
            "Error of the simulation: live median - simulated",
            "% of simulated, or percentage points (pt)",
            &names,
            x.clone(),
        )?;
        let pa = chart.plotting_area();
        for k in 1..m {
            let y = k as f64 - 0.5;
            pa.draw(&PathElement::new(vec![(x.start, y), (x.end, y)], style::GRID.stroke_width(1)))?;
        }
        let p = self.policies.len() as f64;
        let thick = 0.7 / p;
        pa.draw(&PathElement::new(vec![(0.0, -0.5), (0.0, m as f64 - 0.5)], style::INK.stroke_width(1)))?;
        for (k, i, e) in errors {
            let y = (m - 1 - k) as f64 + 0.35 - thick * (i as f64 + 0.5);
            let (lo, hi) = (y - 0.42 * thick, y + 0.42 * thick);
            let c = style::colour(i);
            pa.draw(&Rectangle::new([(0.0, lo), (e, hi)], c.filled()))?;
            // The end of the bar, so that an error of 0 shows (and is not
            // taken for a missing value).
            pa.draw(&PathElement::new(vec![(e, lo), (e, hi)], c.stroke_width(3)))?;
        }
        Ok(())
    }
}

impl Figure for ValidationPlot {
    fn name(&self) -> String {
        "validation".into()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let root = root.titled("Validation: simulated against live runs", style::title())?;
        let (w, h) = root.dim_in_pixel();
        let (charts, side) = root.split_horizontally(w - SIDE);
        let (latency, errors) = charts.split_horizontally((w - SIDE) * 12 / 25);
        let (p50, p95) = latency.split_vertically(h / 2);
        for (area, (metric, caption)) in [&p50, &p95].into_iter().zip(LATENCY_PANELS) {
            self.latency_panel(area, metric, caption)?;
        }
        self.error_panel(&errors)?;
        let mut entries: Vec<Entry> = self
            .policies
            .iter()
            .enumerate()
            .map(|(i, p)| Entry { label: p.clone(), colour: style::colour(i), key: Key::Box })
            .collect();
        entries.push(Entry { label: "simulated (mean)".into(), colour: style::INK, key: Key::Marker(3) });
        entries.push(Entry { label: "live median".into(), colour: style::INK, key: Key::Marker(0) });
        let notes = [
            "Diamond: simulated, mean of the",
            "simulated replications.",
            "Circle: median of the live runs;",
            "its bar: 95 % confidence interval",
            "of their mean (Student t).",
            "Right: live median - simulated,",
            "in % of simulated, or in",
            "percentage points (pt) for",
            "fractions and utilisations;",
            "bars in policy order.",
            "Missing values are left out.",
        ]
        .map(String::from)
        .to_vec();
        legend::draw(&side, "Policy", &entries, &notes)
    }
}

/// A chart with one row per name down the y axis (first name on top, row
/// `i` at y = n - 1 - i) and as many x ticks as fit the panel's width.
fn row_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    x_desc: &str,
    names: &[String],
    x: std::ops::Range<f64>,
) -> Result<RowChart<'a, DB>, DrawError> {
    let widest = names.iter().map(|s| s.chars().count()).max().unwrap_or(0) as u32;
    let label_area = (9 * widest + 20).max(60);
    // About one tick label per 45 pixels of the x axis.
    let x_labels = (area.dim_in_pixel().0.saturating_sub(label_area + 30) / 45).clamp(2, 8) as usize;
    let mut chart = ChartBuilder::on(area)
        .margin(15)
        .caption(caption, style::note())
        .x_label_area_size(50)
        .y_label_area_size(label_area)
        .build_cartesian_2d(style::axis(x.start, x.end), -0.5..names.len() as f64 - 0.5)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(WHITE)
        .bold_line_style(style::GRID)
        .x_labels(x_labels)
        .y_labels(0)
        .x_desc(x_desc)
        .axis_desc_style(style::axis_desc())
        .label_style(style::label())
        .x_label_formatter(&|v| style::tick(*v))
        .draw()?;
    legend::category_labels(area, &chart, names)?;
    Ok(chart)
}

/// Draws a legend marker at chart coordinates `at`.
fn mark<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &RowChart<'_, DB>,
    shape: u8,
    at: (f64, f64),
    colour: RGBColor,
) -> DrawResult {
    let (px, py) = chart.backend_coord(&at);
    let (bx, by) = area.get_base_pixel();
    legend::marker(area, shape, px - bx, py - by, colour)
}

/// An axis range holding `values` and 0, at least `min_span` wide, with a
/// margin; it starts at 0 when nothing is negative.
fn padded(values: impl Iterator<Item = f64>, min_span: f64) -> std::ops::Range<f64> {
    let (mut lo, mut hi) = values.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if hi - lo < min_span {
        if hi > 0.0 || lo == 0.0 {
            hi = lo + min_span;
        } else {
            lo = hi - min_span;
        }
    }
    let pad = (hi - lo) * 0.08;
    (if lo < 0.0 { lo - pad } else { 0.0 })..hi + pad
}

/// A short name for a metric of the error panel.
fn short_name(metric: &str) -> &str {
    match metric {
        "latency_p50_ms" => "p50 latency",
        "latency_p95_ms" => "p95 latency",
        "offload_fraction" => "offloaded",
        "device_cpu_utilisation" => "device CPU",
        "node_cpu_utilisation" => "node CPU",
        "device_energy_j" => "device energy",
        "node_energy_j" => "node energy",
        other => other,
    }
}
