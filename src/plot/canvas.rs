//! Renders a [`Figure`] to PNG (bitmap backend, bundled font, encoded with
//! the `png` crate) and to SVG (text as `<text>` elements, no font needed),
//! in memory; the caller writes the bytes atomically.

use super::style::{self, SIZE};
use plotters::coord::Shift;
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
