//! Horizontal stacked bars, one per policy: the latency breakdown (wait,
//! upload, start-up, execution, download) and the energy split (device,
//! node, network) are both drawn with this.

use super::canvas::{DrawResult, Figure};
use super::data::PolicyRow;
use super::legend::{self, Entry, Key};
use super::style;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Stacked horizontal bars.
pub struct StackedBars {
    /// File name of the plot, without extension.
    pub file: String,
    /// Title above the plot.
    pub title: String,
    /// Line under the title, naming the scenario and the runs shown.
    pub subtitle: String,
    /// Label of the value axis.
    pub x_desc: String,
    /// Title of the legend of segments.
    pub legend_title: String,
    /// Segment names, in stacking order (`values` of every row match).
    pub segments: Vec<String>,
    /// One bar per policy.
    pub rows: Vec<PolicyRow>,
    /// Divides values for display (e.g. 1000 for J -> kJ).
    pub scale: f64,
}

impl StackedBars {
    /// The latency breakdown of mean phase times (ms) per policy.
    pub fn latency_breakdown(subtitle: String, rows: Vec<PolicyRow>) -> Self {
        StackedBars {
            file: "latency_breakdown".into(),
            title: "Where the time goes: mean latency by phase".into(),
            subtitle,
            x_desc: "Mean latency of completed tasks (ms)".into(),
            legend_title: "Phase".into(),
            segments: ["wait", "upload", "image pull + cold start", "execution", "download"].map(String::from).to_vec(),
            rows,
            scale: 1.0,
        }
    }

    /// Energy in the measured period (J) per policy, split by where it is used.
    pub fn energy(subtitle: String, rows: Vec<PolicyRow>) -> Self {
        let max = rows.iter().map(|r| r.values.iter().sum::<f64>()).fold(0.0, f64::max);
        let (scale, unit) = if max >= 1e4 { (1000.0, "kJ") } else { (1.0, "J") };
        StackedBars {
            file: "energy".into(),
            title: "Energy by policy: devices, nodes, network".into(),
            subtitle,
            x_desc: format!("Energy in the measured period ({unit})"),
            legend_title: "Used by".into(),
            segments: ["devices", "nodes", "network"].map(String::from).to_vec(),
            rows,
            scale,
        }
    }
}

impl Figure for StackedBars {
    fn name(&self) -> String {
        self.file.clone()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let root = root.titled(&self.title, style::title())?;
        let (plot, side) = root.split_horizontally(root.dim_in_pixel().0 - 250);
        let n = self.rows.len().max(4);
        let names = pad_top(&self.rows.iter().map(|r| r.policy.clone()).collect::<Vec<_>>(), n);
        let total = |r: &PolicyRow| r.values.iter().map(|v| v.max(0.0)).sum::<f64>() / self.scale;
        let max = self.rows.iter().map(total).fold(0.0, f64::max).max(1e-9) * 1.15;
        let mut chart = super::canvas::category_chart(&plot, &self.subtitle, &self.x_desc, &names, 0.0..max)?;
        for (row_i, r) in self.rows.iter().enumerate() {
            let y = (n - 1 - row_i) as f64;
            let mut x0 = 0.0;
            for (k, v) in r.values.iter().enumerate() {
                let w = v.max(0.0) / self.scale;
                if w > 0.0 {
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(x0, y - 0.36), (x0 + w, y + 0.36)],
                        style::PALETTE[k % 8].filled(),
                    )))?;
                }
                x0 += w;
            }
            let st = style::label().pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Left,
                plotters::style::text_anchor::VPos::Center,
            ));
            chart.draw_series(std::iter::once(Text::new(format!("  {}", style::tick(x0)), (x0, y), st)))?;
        }
        let entries: Vec<Entry> = self
            .segments
            .iter()
            .enumerate()
            .map(|(k, s)| Entry { label: s.clone(), colour: style::PALETTE[k % 8], key: Key::Box })
            .collect();
        legend::draw(&side, &self.legend_title, &entries, &[])
    }
}

/// `names` followed by blanks up to `n` rows, so few bars stay thin.
fn pad_top(names: &[String], n: usize) -> Vec<String> {
    let mut v = names.to_vec();
    v.resize(n.max(names.len()), String::new());
    v
}
