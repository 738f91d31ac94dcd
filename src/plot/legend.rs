//! A legend drawn in its own panel beside the chart, so it never covers
//! data.

use super::canvas::DrawResult;
use super::style;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// How an entry's key looks.
#[derive(Clone, Copy, Debug)]
pub enum Key {
    /// A line, solid or dashed.
    Line {
        /// Dashed rather than solid.
        dashed: bool,
    },
    /// A filled box (bars).
    Box,
    /// A marker: 0 circle, 1 triangle, 2 square, 3 diamond.
    Marker(u8),
}

/// One legend line.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Text of the entry.
    pub label: String,
    /// Colour of its key.
    pub colour: RGBColor,
    /// What its key looks like.
    pub key: Key,
}

/// Draws a marker of `shape` centred at `(x, y)` in pixels.
pub fn marker<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, shape: u8, x: i32, y: i32, c: RGBColor) -> DrawResult {
    let s = ShapeStyle::from(&c).filled();
    match shape {
        0 => area.draw(&Circle::new((x, y), 5, s))?,
        1 => area.draw(&TriangleMarker::new((x, y), 7, s))?,
        2 => area.draw(&Rectangle::new([(x - 5, y - 5), (x + 5, y + 5)], s))?,
        _ => area.draw(&Polygon::new(vec![(x, y - 6), (x + 6, y), (x, y + 6), (x - 6, y)], s))?,
    }
    Ok(())
}

/// Draws `title` and the entries top-down in `area`, then `notes`.
pub fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    entries: &[Entry],
    notes: &[String],
) -> DrawResult {
    let mut y = 20;
    area.draw(&Text::new(title.to_string(), (10, y), style::axis_desc()))?;
    y += 32;
    // Shrink rows when there are many entries.
    let row = if entries.len() > 14 { 22 } else { 26 };
    for e in entries {
        let mid = y + 8;
        match e.key {
            Key::Line { dashed } => {
                let st = ShapeStyle::from(&e.colour).stroke_width(3);
                if dashed {
                    area.draw(&PathElement::new(vec![(10, mid), (20, mid)], st))?;
                    area.draw(&PathElement::new(vec![(28, mid), (38, mid)], st))?;
                } else {
                    area.draw(&PathElement::new(vec![(10, mid), (38, mid)], st))?;
                }
            }
            Key::Box => area.draw(&Rectangle::new([(12, mid - 7), (36, mid + 7)], e.colour.filled()))?,
            Key::Marker(shape) => marker(area, shape, 24, mid, e.colour)?,
        }
        area.draw(&Text::new(e.label.clone(), (46, y), style::label()))?;
        y += row;
    }
    y += 10;
    for n in notes {
        area.draw(&Text::new(n.clone(), (10, y), style::note()))?;
        y += 18;
    }
    Ok(())
}

/// Writes category names left of a chart whose y axis runs from -0.5 to
/// n - 0.5, the first name at the top (row i at y = n - 1 - i).
pub fn category_labels<DB: DrawingBackend, X: Ranged<ValueType = f64>>(
    area: &DrawingArea<DB, Shift>,
    chart: &ChartContext<'_, DB, Cartesian2d<X, plotters::coord::types::RangedCoordf64>>,
    names: &[String],
) -> DrawResult {
    let n = names.len();
    let x0 = chart.x_range().start;
    let (bx, by) = area.get_base_pixel();
    for (i, name) in names.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(x0, (n - 1 - i) as f64));
        let st = style::label().pos(Pos::new(HPos::Right, VPos::Center));
        area.draw(&Text::new(name.clone(), (px - bx - 8, py - by), st))?;
    }
    Ok(())
}
