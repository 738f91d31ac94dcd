//! Policy comparison of one summary metric: the mean over replications
//! with its 95 % confidence interval (from a sweep's `comparison.csv`).

use super::canvas::{DrawResult, Figure};
use super::legend::{self, Entry, Key};
use super::style;
use plotters::coord::Shift;
use plotters::prelude::*;

/// One policy's estimate.
#[derive(Clone, Debug)]
pub struct Estimate {
    /// The policy's label.
    pub policy: String,
    /// Mean over the replications, in the metric's unit.
    pub mean: f64,
    /// Half-width of the 95 % interval; `None` with fewer than 2 replications.
    pub half_width: Option<f64>,
    /// Paired difference to the baseline excludes 0.
    pub significant: Option<bool>,
}

/// Means with error bars, one row per policy.
pub struct PolicyComparison {
    /// The metric's column name in `summary.csv`.
    pub metric: String,
    /// The metric as the axis describes it, with its unit.
    pub metric_desc: String,
    /// Line under the title, naming the scenario and the runs shown.
    pub subtitle: String,
    /// Label of the baseline policy.
    pub baseline: String,
    /// One estimate per policy.
    pub rows: Vec<Estimate>,
}

impl Figure for PolicyComparison {
    fn name(&self) -> String {
        format!("comparison_{}", self.metric)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let root = root.titled(&format!("Policy comparison: {}", self.metric_desc), style::title())?;
        let (plot, side) = root.split_horizontally(root.dim_in_pixel().0 - 280);
        let n = self.rows.len().max(4);
        let names = pad_top(&self.rows.iter().map(|r| r.policy.clone()).collect::<Vec<_>>(), n);
        let lo = self.rows.iter().map(|r| r.mean - r.half_width.unwrap_or(0.0)).fold(f64::INFINITY, f64::min);
        let hi = self.rows.iter().map(|r| r.mean + r.half_width.unwrap_or(0.0)).fold(f64::NEG_INFINITY, f64::max);
        let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
        let pad = ((hi - lo) * 0.08).max(hi.abs() * 0.01).max(1e-9);
        let lo = if lo >= 0.0 && lo - pad < 0.0 { 0.0 } else { lo - pad };
        let mut chart = super::canvas::category_chart(&plot, &self.subtitle, &self.metric_desc, &names, lo..hi + pad)?;
        if let Some(b) = self.rows.iter().find(|r| r.policy == self.baseline) {
            chart.draw_series(DashedLineSeries::new(
                vec![(b.mean, -0.5), (b.mean, n as f64 - 0.5)],
                6,
                4,
                style::INK.mix(0.5).stroke_width(1),
            ))?;
        }
        for (i, r) in self.rows.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            let c = if r.policy == self.baseline {
                style::PALETTE[7]
            } else if r.significant == Some(true) {
                style::PALETTE[5]
            } else {
                style::PALETTE[0]
            };
            if let Some(h) = r.half_width {
                let st = c.stroke_width(2);
                chart.draw_series(std::iter::once(PathElement::new(vec![(r.mean - h, y), (r.mean + h, y)], st)))?;
                for x in [r.mean - h, r.mean + h] {
                    chart.draw_series(std::iter::once(PathElement::new(vec![(x, y - 0.25), (x, y + 0.25)], st)))?;
                }
            }
            chart.draw_series(std::iter::once(Circle::new((r.mean, y), 6, c.filled())))?;
        }
        let entries = vec![
            Entry { label: format!("baseline ({})", self.baseline), colour: style::PALETTE[7], key: Key::Marker(0) },
            Entry { label: "differs from baseline".into(), colour: style::PALETTE[5], key: Key::Marker(0) },
            Entry { label: "no significant diff.".into(), colour: style::PALETTE[0], key: Key::Marker(0) },
        ];
        let notes = [
            "Dot: mean over replications.",
            "Bars: 95 % confidence interval",
            "(Student t). Significance: paired",
            "difference to the baseline,",
            "95 % interval excludes 0.",
            "Dashed line: baseline mean.",
        ]
        .map(String::from)
        .to_vec();
        legend::draw(&side, "Markers", &entries, &notes)
    }
}

/// `names` followed by blanks up to `n` rows, so few bars stay thin.
fn pad_top(names: &[String], n: usize) -> Vec<String> {
    let mut v = names.to_vec();
    v.resize(n.max(names.len()), String::new());
    v
}
