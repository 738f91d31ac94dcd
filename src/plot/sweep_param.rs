//! A summary metric against a swept parameter, one line per policy, with
//! 95 % confidence error bars (from a sweep's `comparison.csv`).

use super::canvas::{DrawResult, Figure};
use super::legend::{self, Entry, Key};
use super::style;
use plotters::coord::Shift;
use plotters::prelude::*;

/// One policy's line: (parameter value, mean, CI half-width) points.
pub type Line = (String, Vec<(f64, f64, Option<f64>)>);

/// Lines of (parameter value, mean, CI half-width) per policy.
pub struct MetricVsParameter {
    /// The metric's column name in `summary.csv`.
    pub metric: String,
    /// The metric as the axis describes it, with its unit.
    pub metric_desc: String,
    /// The swept scenario field.
    pub parameter: String,
    /// Line under the title, naming the scenario and the runs shown.
    pub subtitle: String,
    /// One line per policy.
    pub series: Vec<Line>,
}

impl Figure for MetricVsParameter {
    fn name(&self) -> String {
        let p: String = self.parameter.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        format!("{}_vs_{p}", self.metric)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let root = root.titled(&format!("{} vs {}", self.metric_desc, self.parameter), style::title())?;
        let (plot, side) = root.split_horizontally(root.dim_in_pixel().0 - 280);
        let pts = || self.series.iter().flat_map(|(_, p)| p.iter());
        let (x0, x1) = pts().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.0), b.max(p.0)));
        let (y0, y1) = pts().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            let h = p.2.unwrap_or(0.0);
            (a.min(p.1 - h), b.max(p.1 + h))
        });
        let (x0, x1) = if x0.is_finite() { (x0, x1) } else { (0.0, 1.0) };
        let xpad = ((x1 - x0) * 0.05).max(x1.abs() * 0.05).max(1e-9);
        let (y0, y1) = if y0.is_finite() { (y0, y1) } else { (0.0, 1.0) };
        let ypad = ((y1 - y0) * 0.08).max(y1.abs() * 0.02).max(1e-9);
        let y0 = if y0 >= 0.0 && y0 - ypad < 0.0 { 0.0 } else { y0 - ypad };
        let mut chart = ChartBuilder::on(&plot)
            .margin(15)
            .caption(&self.subtitle, style::note())
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(style::axis(x0 - xpad, x1 + xpad), style::axis(y0, y1 + ypad))?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .bold_line_style(style::GRID)
            .x_desc(&self.parameter)
            .y_desc(&self.metric_desc)
            .axis_desc_style(style::axis_desc())
            .label_style(style::label())
            .x_label_formatter(&|v| style::tick(*v))
            .y_label_formatter(&|v| style::tick(*v))
            .draw()?;
        let mut entries = Vec::new();
        let cap = (x1 - x0 + 2.0 * xpad) * 0.006;
        for (i, (label, p)) in self.series.iter().enumerate() {
            let c = style::colour(i);
            let line: Vec<(f64, f64)> = p.iter().map(|q| (q.0, q.1)).collect();
            if style::dashed(i) {
                chart.draw_series(DashedLineSeries::new(line.clone(), 8, 5, c.stroke_width(2)))?;
            } else {
                chart.draw_series(LineSeries::new(line.clone(), c.stroke_width(2)))?;
            }
            for &(x, y, h) in p {
                if let Some(h) = h {
                    let st = c.stroke_width(1);
                    chart.draw_series(std::iter::once(PathElement::new(vec![(x, y - h), (x, y + h)], st)))?;
                    for yy in [y - h, y + h] {
                        chart.draw_series(std::iter::once(PathElement::new(vec![(x - cap, yy), (x + cap, yy)], st)))?;
                    }
                }
                chart.draw_series(std::iter::once(Circle::new((x, y), 4, c.filled())))?;
            }
            entries.push(Entry { label: label.clone(), colour: c, key: Key::Line { dashed: style::dashed(i) } });
        }
        let notes = ["Dots: mean over replications;", "bars: 95 % confidence interval."].map(String::from).to_vec();
        legend::draw(&side, "Policy", &entries, &notes)
    }
}
