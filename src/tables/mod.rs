//! Tables with polars (feature `tables`): Parquet copies of the per-task
//! and utilisation tables, and aggregates of the per-task table.
//!
//! [`write`] reads a run directory (`tasks.csv`, `utilisation.csv`,
//! `summary.csv`) or a sweep directory (`runs.csv` and the
//! `runs/<id>/tasks.csv` a sweep with `--tasks` saves) and writes,
//! atomically:
//! - `tasks.parquet`, `utilisation.parquet` next to their CSV (for a sweep,
//!   `tasks.parquet` holds every saved run's tasks with `run_id`, `point`,
//!   `policy` and `replication` columns first);
//! - `aggregates/tasks_by_<keys>.csv` and `.parquet` (see [`aggregate`]).
//!
//! Only polars' eager API is used (features `csv` and `parquet`).
//! - [`load`]: reading the CSV files with explicit schemas;
//! - [`aggregate`]: the group-by aggregations;
//! - [`save`]: CSV and Parquet encoding into atomic files.

pub mod aggregate;
pub mod load;
pub mod save;

use crate::error::{Error, Result};
use crate::results::OutputDir;
use std::path::Path;

/// What [`write`] wrote, relative to the result directory.
#[derive(Clone, Debug, Default)]
pub struct TablesReport {
    /// Paths of the files written, relative to the result directory.
    pub files: Vec<String>,
}

/// Turns a polars error on `path` into the crate's error.
pub(crate) fn polars_err<'a>(
    path: &'a Path,
    action: &'static str,
) -> impl Fn(polars::error::PolarsError) -> Error + 'a {
    move |e| Error::io(path, action, std::io::Error::other(e.to_string()))
}

/// Writes the Parquet copies and aggregate tables of the result directory
/// `dir`. Writes nothing (and says so with an empty report) when there is no
/// per-task table.
pub fn write(dir: &Path) -> Result<TablesReport> {
    let mut report = TablesReport::default();
    let (tasks, util) = if dir.join("comparison.csv").is_file() {
        (load::sweep_tasks(dir)?, None)
    } else {
        let util = dir.join("utilisation.csv");
        (load::run_tasks(dir)?, if util.is_file() { Some(load::utilisation(&util)?) } else { None })
    };
    let mut out = OutputDir::open(dir)?;
    let mut finished = Vec::new();
    let mut stale = Vec::new();
    match util {
        Some(mut u) => {
            finished.push(save::parquet(out.create("utilisation.parquet")?, &mut u)?.finish()?);
            report.files.push("utilisation.parquet".into());
        }
        None => stale.push("utilisation.parquet"),
    }
    let Some(mut tasks) = tasks else {
        stale.push("tasks.parquet");
        out.commit(finished, &stale)?;
        return Ok(report);
    };
    finished.push(save::parquet(out.create("tasks.parquet")?, &mut tasks)?.finish()?);
    report.files.push("tasks.parquet".into());
    out.commit(finished, &stale)?;

    let agg_dir = dir.join("aggregates");
    let mut agg_out = OutputDir::open(&agg_dir)?;
    let mut finished = Vec::new();
    for keys in aggregate::groupings(&tasks) {
        let mut table = aggregate::by(&tasks, &keys).map_err(polars_err(&agg_dir, "cannot aggregate tasks"))?;
        let name = format!("tasks_by_{}", keys.join("_"));
        finished.push(save::csv(agg_out.create(&format!("{name}.csv"))?, &mut table)?.finish()?);
        finished.push(save::parquet(agg_out.create(&format!("{name}.parquet"))?, &mut table)?.finish()?);
        report.files.push(format!("aggregates/{name}.csv"));
        report.files.push(format!("aggregates/{name}.parquet"));
    }
    agg_out.commit(finished, &[])?;
    Ok(report)
}
