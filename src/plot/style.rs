//! One look for every plot: sizes, fonts, the Okabe-Ito colour-blind-safe
//! palette and line dashes for series beyond its eight colours.

use plotters::style::{Color, FontDesc, FontFamily, FontStyle, RGBColor, TextStyle};
use std::sync::Once;

/// Pixel size of every plot (PNG and SVG alike).
pub const SIZE: (u32, u32) = (1100, 640);

/// Okabe & Ito (2008), in their order, black last (it is used for markers).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(230, 159, 0),   // orange
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(240, 228, 66),  // yellow
    RGBColor(0, 0, 0),       // black
];

/// Light grey for grids and reference lines.
pub const GRID: RGBColor = RGBColor(225, 225, 225);
/// Dark grey for axis text and notes.
pub const INK: RGBColor = RGBColor(40, 40, 40);

/// Colour of series `i`: the palette without black, cycling.
pub fn colour(i: usize) -> RGBColor {
    PALETTE[i % 7]
}

/// Whether series `i` is drawn dashed (the second time round the colours).
pub fn dashed(i: usize) -> bool {
    (i / 7) % 2 == 1
}

static FONT_REGULAR: &[u8] = include_bytes!("fonts/DejaVuSans-subset.ttf");
static FONT_BOLD: &[u8] = include_bytes!("fonts/DejaVuSans-Bold-subset.ttf");

/// Registers the bundled font as `sans-serif`, so PNG text needs no font
/// installed on the machine. Idempotent.
pub fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT_REGULAR);
        let _ = plotters::style::register_font("sans-serif", FontStyle::Bold, FONT_BOLD);
    });
}

fn text(size: f64, style: FontStyle, colour: RGBColor) -> TextStyle<'static> {
    let mut t = TextStyle::from(FontDesc::new(FontFamily::SansSerif, size, style));
    t.color = colour.to_backend_color();
    t
}

/// Title text.
pub fn title() -> TextStyle<'static> {
    text(26.0, FontStyle::Bold, INK)
}

/// Axis descriptions.
pub fn axis_desc() -> TextStyle<'static> {
    text(18.0, FontStyle::Normal, INK)
}

/// Tick labels and legend entries.
pub fn label() -> TextStyle<'static> {
    text(15.0, FontStyle::Normal, INK)
}

/// Small notes (the legend's explanations, subtitles).
pub fn note() -> TextStyle<'static> {
    text(13.0, FontStyle::Normal, RGBColor(90, 90, 90))
}

/// The largest magnitude an axis reaches. Plotters finds no ticks for an
/// infinite range (it loops for ever) and a sum or a margin of finite values
/// can overflow, so every axis range goes through [`axis`].
pub const AXIS_LIMIT: f64 = 1e300;

/// `lo..hi` with both ends finite: each clamped to ±[`AXIS_LIMIT`], NaN
/// taken as 0.
pub fn axis(lo: f64, hi: f64) -> std::ops::Range<f64> {
    let c = |v: f64| if v.is_nan() { 0.0 } else { v.clamp(-AXIS_LIMIT, AXIS_LIMIT) };
    c(lo)..c(hi)
}

/// A tick label without needless decimals: `1200`, `2.5`, `0.05`.
pub fn tick(v: f64) -> String {
    let a = v.abs();
    let s = if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}
