//! Reads the result files the plots need (with the `csv` crate, so plots
//! work without the `tables` feature).

use crate::error::{Error, Result};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;

/// A CSV file: header and rows of text cells.
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Rows of cells, as text.
    pub rows: Vec<Vec<String>>,
    /// `column = text` of every non-finite number [`Table::num`] met.
    non_finite: RefCell<BTreeSet<String>>,
}

impl Table {
    /// Reads `path`.
    pub fn read(path: &Path) -> Result<Table> {
        let bad = |e: csv::Error| Error::io(path, "cannot read", std::io::Error::other(e.to_string()));
        let mut r = csv::Reader::from_path(path).map_err(bad)?;
        let header = r.headers().map_err(bad)?.iter().map(str::to_string).collect();
        let mut rows = Vec::new();
        for rec in r.records() {
            rows.push(rec.map_err(bad)?.iter().map(str::to_string).collect());
        }
        Ok(Table { header, rows, non_finite: RefCell::default() })
    }

    /// Index of column `name`.
    pub fn col(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// Text of `row`'s column `name` ("" if absent).
    pub fn text<'a>(&'a self, row: &'a [String], name: &str) -> &'a str {
        self.col(name).and_then(|i| row.get(i)).map_or("", String::as_str)
    }

    /// Finite number in `row`'s column `name`; `None` if empty, absent or
    /// not finite (`inf`, `NaN`: no axis can show it), the last noted in
    /// [`Table::non_finite`].
    pub fn num(&self, row: &[String], name: &str) -> Option<f64> {
        let text = self.text(row, name);
        let v: f64 = text.parse().ok()?;
        if v.is_finite() {
            return Some(v);
        }
        self.non_finite.borrow_mut().insert(format!("{name} = {text}"));
        None
    }

    /// `column = text` of the non-finite numbers met so far, in order.
    pub fn non_finite(&self) -> Vec<String> {
        self.non_finite.borrow().iter().cloned().collect()
    }
}

/// Latencies (ms, sorted) of the completed measured tasks of `tasks.csv`.
pub fn completed_latencies(tasks: &Path) -> Result<Vec<f64>> {
    let t = Table::read(tasks)?;
    let mut v: Vec<f64> = t
        .rows
        .iter()
        .filter(|r| t.text(r, "end_reason") == "completed" && t.text(r, "warmup") != "1")
        .filter_map(|r| t.num(r, "latency_ms"))
        .collect();
    v.sort_by(f64::total_cmp);
    Ok(v)
}

/// Per-policy figures for the bar plots: a label and named values.
#[derive(Clone, Debug)]
pub struct PolicyRow {
    /// The policy's label.
    pub policy: String,
    /// One value per segment, in the bar's stacking order.
    pub values: Vec<f64>,
}
