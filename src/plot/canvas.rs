//! Renders a [`Figure`] to PNG (bitmap backend, bundled font, encoded with
//! the `png` crate) and to SVG (text as `<text>` elements, no font needed),
//! in memory; the caller writes the bytes atomically.

use super::style::{self, SIZE};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// A drawing error, as text.
#[derive(Debug)]
pub struct DrawError(pub String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        DrawError(e.to_string())
    }
}

/// Result of drawing.
pub type DrawResult = Result<(), DrawError>;

/// Something that can draw itself on any plotters backend.
pub trait Figure {
    /// File name without extension, e.g. `latency_cdf`.
    fn name(&self) -> String;
    /// Draws the whole figure on `root` (already filled white).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult;
}

/// A chart with one row per category name down the y axis (first name on
/// top) and `x` across, its grid, axis description and category labels
/// drawn: the common frame of the horizontal bar charts.
pub fn category_chart<'a, DB: DrawingBackend>(
    plot: &'a DrawingArea<DB, Shift>,
    subtitle: &str,
    x_desc: &str,
    names: &[String],
    x: std::ops::Range<f64>,
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>, DrawError> {
    let n = names.len();
    let label_width = names.iter().map(|s| s.len()).max().unwrap_or(4) as u32 * 9 + 20;
    let mut chart = ChartBuilder::on(plot)
        .margin(15)
        .caption(subtitle, style::note())
        .x_label_area_size(50)
        .y_label_area_size(label_width.max(60))
        .build_cartesian_2d(style::axis(x.start, x.end), -0.5..n as f64 - 0.5)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(WHITE)
        .bold_line_style(style::GRID)
        .x_desc(x_desc)
        .axis_desc_style(style::axis_desc())
        .label_style(style::label())
        .x_label_formatter(&|v| style::tick(*v))
        .y_label_formatter(&|v| style::tick(*v))
        .y_labels(0)
        .draw()?;
    super::legend::category_labels(plot, &chart, names)?;
    Ok(chart)
}

/// The figure as PNG bytes.
pub fn png<F: Figure>(fig: &F) -> Result<Vec<u8>, DrawError> {
    style::register_fonts();
    let (w, h) = SIZE;
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        fig.draw(&root)?;
        root.present()?;
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| DrawError(e.to_string()))?;
        writer.write_image_data(&rgb).map_err(|e| DrawError(e.to_string()))?;
    }
    Ok(out)
}

/// The figure as SVG text.
pub fn svg<F: Figure>(fig: &F) -> Result<String, DrawError> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        fig.draw(&root)?;
        root.present()?;
    }
    Ok(text)
}
