//! CPU utilisation over time: one line per device class (mean over its
//! devices) and one per node, from `utilisation.csv`.

use super::canvas::{DrawResult, Figure};
use super::legend::{self, Entry, Key};
use super::style;
use plotters::coord::Shift;
use plotters::prelude::*;

/// A labelled series of (time s, utilisation) points.
pub type Series = (String, Vec<(f64, f64)>);

/// Time series of utilisation in [0, 1].
pub struct UtilisationOverTime {
    /// Line under the title, naming the scenario and the runs shown.
    pub subtitle: String,
    /// (label, points (time s, utilisation)).
    pub series: Vec<Series>,
}

impl Figure for UtilisationOverTime {
    fn name(&self) -> String {
        "utilisation".into()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let root = root.titled("CPU utilisation over time", style::title())?;
        let (plot, side) = root.split_horizontally(root.dim_in_pixel().0 - 280);
        let t_max = self.series.iter().flat_map(|(_, p)| p.iter().map(|x| x.0)).fold(1.0, f64::max);
        let mut chart = ChartBuilder::on(&plot)
            .margin(15)
            .caption(&self.subtitle, style::note())
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(style::axis(0.0, t_max), 0.0..105.0)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .bold_line_style(style::GRID)
            .x_desc("Simulated time (s)")
            .y_desc("CPU utilisation (%)")
            .axis_desc_style(style::axis_desc())
            .label_style(style::label())
            .x_label_formatter(&|v| style::tick(*v))
            .y_label_formatter(&|v| style::tick(*v))
            .draw()?;
        let mut entries = Vec::new();
        for (i, (label, pts)) in self.series.iter().enumerate() {
            let c = style::colour(i);
            let pts: Vec<(f64, f64)> = pts.iter().map(|&(t, u)| (t, 100.0 * u)).collect();
            if style::dashed(i) {
                chart.draw_series(DashedLineSeries::new(pts, 8, 5, c.stroke_width(2)))?;
            } else {
                chart.draw_series(LineSeries::new(pts, c.stroke_width(2)))?;
            }
            entries.push(Entry { label: label.clone(), colour: c, key: Key::Line { dashed: style::dashed(i) } });
        }
        let notes = ["Device classes: mean over the", "class's devices. Nodes: each", "node on its own."]
            .map(String::from)
            .to_vec();
        legend::draw(&side, "Device class / node", &entries, &notes)
    }
}
