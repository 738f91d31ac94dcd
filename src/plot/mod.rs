//! Plots of a result directory, as PNG and SVG, drawn with plotters.
//!
//! [`render`] reads a run directory (`summary.csv`, `tasks.csv`,
//! `utilisation.csv`) or a sweep directory (`comparison.csv`, `runs.csv`,
//! `sweep.json`, and `runs/<id>/tasks.csv` with `--tasks`) and writes
//! `plots/*.png` and `plots/*.svg` atomically. One file per job:
//! - [`style`]: sizes, fonts, the Okabe-Ito palette;
//! - [`canvas`]: a [`canvas::Figure`] to PNG or SVG bytes;
//! - [`legend`]: legends in a panel beside the chart;
//! - [`data`]: reading the CSV files;
//! - [`cdf`], [`bars`], [`utilisation`], [`ci`], [`sweep_param`]: the plots;
//! - [`collect`]: which plots a directory gets, from which data.
//!
//! See docs/plots.md for the list of plots and the commands that make them.

pub mod bars;
pub mod canvas;
pub mod cdf;
pub mod ci;
pub mod collect;
pub mod data;
pub mod legend;
pub mod style;
pub mod sweep_param;
pub mod utilisation;
mod validation;

use crate::error::{Error, Result};
use crate::results::OutputDir;
use canvas::Figure;
use std::path::{Path, PathBuf};

/// What [`render`] wrote.
#[derive(Clone, Debug, Default)]
pub struct PlotReport {
    /// The plots directory.
    pub dir: PathBuf,
    /// File names written, PNG and SVG.
    pub files: Vec<String>,
    /// Plots skipped, and why.
    pub notes: Vec<String>,
}

/// Renders every plot the result directory `dir` (a run or a sweep) has
/// data for into `dir/plots/`; old plot files not drawn again are removed.
pub fn render(dir: &Path) -> Result<PlotReport> {
    let figures = collect::figures(dir)?;
    let out_dir = dir.join("plots");
    let mut out = OutputDir::open(&out_dir)?;
    let mut finished = Vec::new();
    let mut files = Vec::new();
    for fig in &figures.list {
        let name = fig.name();
        let draw_err =
            |e: canvas::DrawError| Error::io(out_dir.join(&name), "cannot draw the plot", std::io::Error::other(e.0));
        let png = canvas::png(fig).map_err(draw_err)?;
        finished.push(out.write(&format!("{name}.png"), &png)?);
        let svg = canvas::svg(fig).map_err(draw_err)?;
        finished.push(out.write(&format!("{name}.svg"), svg.as_bytes())?);
        files.push(format!("{name}.png"));
        files.push(format!("{name}.svg"));
    }
    let stale: Vec<String> = std::fs::read_dir(&out_dir)
        .map_err(|e| Error::io(&out_dir, "cannot list", e))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.') && (n.ends_with(".png") || n.ends_with(".svg")) && !files.contains(n))
        .collect();
    let stale: Vec<&str> = stale.iter().map(String::as_str).collect();
    out.commit(finished, &stale)?;
    Ok(PlotReport { dir: out_dir, files, notes: figures.notes })
}

/// Draws `dir/validation.csv` (written by `offsim validate`) as
/// `dir/plots/validation.png` and `.svg`: per policy, the simulated and the
/// live p50 and p95 latency, and the error of every metric. Returns the
/// names of the files written. A missing or malformed table is an error
/// naming the file and the line.
pub fn render_validation(dir: &Path) -> Result<Vec<String>> {
    validation::render(dir)
}

/// Any of the plots.
pub enum AnyFigure {
    /// The latency distribution of completed tasks per policy.
    Cdf(cdf::LatencyCdf),
    /// Stacked bars per policy (latency by phase, energy by consumer).
    Bars(bars::StackedBars),
    /// Utilisation over time.
    Utilisation(utilisation::UtilisationOverTime),
    /// Means with error bars against a baseline.
    Comparison(ci::PolicyComparison),
    /// A metric against a swept parameter.
    Parameter(sweep_param::MetricVsParameter),
}

impl Figure for AnyFigure {
    fn name(&self) -> String {
        match self {
            AnyFigure::Cdf(f) => f.name(),
            AnyFigure::Bars(f) => f.name(),
            AnyFigure::Utilisation(f) => f.name(),
            AnyFigure::Comparison(f) => f.name(),
            AnyFigure::Parameter(f) => f.name(),
        }
    }

    fn draw<DB: plotters::prelude::DrawingBackend>(
        &self,
        root: &plotters::prelude::DrawingArea<DB, plotters::coord::Shift>,
    ) -> canvas::DrawResult {
        match self {
            AnyFigure::Cdf(f) => f.draw(root),
            AnyFigure::Bars(f) => f.draw(root),
            AnyFigure::Utilisation(f) => f.draw(root),
            AnyFigure::Comparison(f) => f.draw(root),
            AnyFigure::Parameter(f) => f.draw(root),
        }
    }
}
