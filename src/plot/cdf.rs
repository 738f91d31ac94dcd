//! Latency CDF per policy on a log time axis, with p50, p95 and p99 marked.

use super::canvas::{DrawResult, Figure};
use super::legend::{self, Entry, Key};
use super::style;
use crate::stats::quantile::nearest_rank;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Sorted completed-task latencies (ms) per policy.
pub struct LatencyCdf {
    /// Line under the title, naming the scenario and the runs shown.
    pub subtitle: String,
    /// (policy label, sorted latencies in ms) per policy.
    pub series: Vec<(String, Vec<f64>)>,
}

const MARKS: [(f64, &str); 3] = [(0.5, "p50"), (0.95, "p95"), (0.99, "p99")];

impl Figure for LatencyCdf {
    fn name(&self) -> String {
        "latency_cdf".into()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let root = root.titled("Latency distribution of completed tasks", style::title())?;
        let (plot, side) = root.split_horizontally(root.dim_in_pixel().0 - 280);
        let all = self.series.iter().flat_map(|(_, v)| v.iter().copied()).filter(|&x| x > 0.0);
        let (lo, hi) = all.fold((f64::INFINITY, 0.0f64), |(a, b), x| (a.min(x), b.max(x)));
        let (lo, hi) = if lo.is_finite() { (lo / 1.5, hi * 1.5) } else { (1.0, 10.0) };
        let mut chart = ChartBuilder::on(&plot)
            .margin(15)
            .caption(&self.subtitle, style::note())
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(style::axis(lo, hi).log_scale(), 0.0..1.0)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .bold_line_style(style::GRID)
            .x_desc("Latency (ms, log scale)")
            .y_desc("Fraction of completed tasks")
            .axis_desc_style(style::axis_desc())
            .label_style(style::label())
            .x_labels(0)
            .x_label_formatter(&|_| String::new())
            .disable_x_mesh()
            .y_label_formatter(&|v| format!("{v:.2}"))
            .draw()?;
        // Ticks at 1, 2, 5 x 10^k ms: plotters' own log ticks skip decades.
        let (bx, by) = root.get_base_pixel();
        for v in ticks_125(lo, hi) {
            chart.draw_series(LineSeries::new(vec![(v, 0.0), (v, 1.0)], style::GRID.stroke_width(1)))?;
            let (px, py) = chart.backend_coord(&(v, 0.0));
            let st = style::label().pos(Pos::new(HPos::Center, VPos::Top));
            root.draw(&Text::new(fmt_ms(v), (px - bx, py - by + 8), st))?;
        }
        for (q, _) in MARKS {
            chart.draw_series(LineSeries::new(vec![(lo, q), (hi, q)], style::GRID.stroke_width(1)))?;
        }
        let mut entries = Vec::new();
        for (i, (label, v)) in self.series.iter().enumerate() {
            let c = style::colour(i);
            let pts = steps(v);
            if style::dashed(i) {
                chart.draw_series(DashedLineSeries::new(pts, 8, 5, c.stroke_width(2)))?;
            } else {
                chart.draw_series(LineSeries::new(pts, c.stroke_width(2)))?;
            }
            for (k, (q, _)) in MARKS.iter().enumerate() {
                if let Some(x) = nearest_rank(v, *q) {
                    let (px, py) = chart.backend_coord(&(x, *q));
                    legend::marker(&root, k as u8, px - root.get_base_pixel().0, py - root.get_base_pixel().1, c)?;
                }
            }
            entries.push(Entry { label: label.clone(), colour: c, key: Key::Line { dashed: style::dashed(i) } });
        }
        for (k, (_, name)) in MARKS.iter().enumerate() {
            entries.push(Entry {
                label: format!("{name} of each policy"),
                colour: style::INK,
                key: Key::Marker(k as u8),
            });
        }
        let notes = vec!["Grey lines: fractions 0.50, 0.95, 0.99.".to_string()];
        legend::draw(&side, "Policy", &entries, &notes)
    }
}

/// At most ~1500 points of the empirical CDF (ECDF value at each kept x).
fn steps(sorted: &[f64]) -> Vec<(f64, f64)> {
    let n = sorted.len();
    if n == 0 {
        return Vec::new();
    }
    let stride = n.div_ceil(1500).max(1);
    let mut pts: Vec<(f64, f64)> =
        (0..n).step_by(stride).map(|i| (sorted[i].max(1e-9), (i + 1) as f64 / n as f64)).collect();
    pts.push((sorted[n - 1].max(1e-9), 1.0));
    pts
}

/// `950 ms`, `1.5 s`-style tick labels for a millisecond axis.
pub fn fmt_ms(v: f64) -> String {
    if v >= 1000.0 { format!("{} s", trim(v / 1000.0)) } else { format!("{} ms", trim(v)) }
}

fn trim(v: f64) -> String {
    let s = if v >= 10.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// 1, 2, 5 x 10^k within [lo, hi].
fn ticks_125(lo: f64, hi: f64) -> Vec<f64> {
    let mut v = Vec::new();
    let mut decade = 10f64.powf(lo.log10().floor());
    while decade <= hi {
        for m in [1.0, 2.0, 5.0] {
            let x = m * decade;
            if x >= lo && x <= hi {
                v.push(x);
            }
        }
        decade *= 10.0;
    }
    v
}
