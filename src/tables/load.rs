//! Reads `tasks.csv` and `utilisation.csv` into polars frames with explicit
//! schemas (so an empty `node` or `start_ms` column keeps its type).

use super::polars_err;
use crate::error::Result;
use crate::plot::data::Table;
use polars::prelude::*;
use std::path::Path;

fn tasks_schema() -> Schema {
    use DataType::*;
    let cols: [(&str, DataType); 20] = [
        ("task_id", UInt64),
        ("device", String),
        ("device_class", String),
        ("priority", Int64),
        ("placement", String),
        ("node", String),
        ("arrival_ms", Float64),
        ("start_ms", Float64),
        ("finish_ms", Float64),
        ("wait_ms", Float64),
        ("upload_ms", Float64),
        ("startup_ms", Float64),
        ("exec_ms", Float64),
        ("download_ms", Float64),
        ("latency_ms", Float64),
        ("deadline_ms", Float64),
        ("deadline_met", Boolean),
        ("end_reason", String),
        ("energy_j", Float64),
        ("warmup", Int64),
    ];
    cols.into_iter().map(|(n, t)| Field::new(n.into(), t)).collect()
}

fn utilisation_schema() -> Schema {
    use DataType::*;
    [
        ("time_s", Float64),
        ("kind", String),
        ("group", String),
        ("name", String),
        ("utilisation", Float64),
        ("power_w", Float64),
    ]
    .into_iter()
    .map(|(n, t)| Field::new(n.into(), t))
    .collect()
}

fn read(path: &Path, schema: Schema) -> Result<DataFrame> {
    CsvReadOptions::default()
        .with_has_header(true)
        .with_schema(Some(Arc::new(schema)))
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .and_then(|r| r.finish())
        .map_err(polars_err(path, "cannot read"))
}

/// `utilisation.csv` as a frame.
pub fn utilisation(path: &Path) -> Result<DataFrame> {
    read(path, utilisation_schema())
}

/// `tasks.csv` of the run directory `dir` with a `policy` column first
/// (from `summary.csv`); `None` without `tasks.csv`.
pub fn run_tasks(dir: &Path) -> Result<Option<DataFrame>> {
    let path = dir.join("tasks.csv");
    if !path.is_file() {
        return Ok(None);
    }
    let summary = Table::read(&dir.join("summary.csv"))?;
    let policy = summary.rows.first().map(|r| summary.text(r, "policy").to_string()).unwrap_or_default();
    let df = read(&path, tasks_schema())?;
    let n = df.height();
    let mut cols = vec![Column::new("policy".into(), vec![policy; n])];
    cols.extend(df.columns().iter().cloned());
    DataFrame::new_infer_height(cols).map(Some).map_err(polars_err(&path, "cannot read"))
}

/// Every `runs/<id>/tasks.csv` of the sweep directory `dir`, stacked, with
/// `run_id`, `point`, `policy`, `replication` first; `None` if no run saved
/// its tasks.
pub fn sweep_tasks(dir: &Path) -> Result<Option<DataFrame>> {
    let runs_path = dir.join("runs.csv");
    if !runs_path.is_file() {
        return Ok(None);
    }
    let runs = Table::read(&runs_path)?;
    let mut all: Option<DataFrame> = None;
    for r in &runs.rows {
        let id = runs.text(r, "run_id");
        let path = dir.join("runs").join(id).join("tasks.csv");
        if !path.is_file() {
            continue;
        }
        let df = read(&path, tasks_schema())?;
        let n = df.height();
        let num = |c: &str| runs.text(r, c).parse::<u64>().unwrap_or(0);
        let mut cols = vec![
            Column::new("run_id".into(), vec![num("run_id"); n]),
            Column::new("point".into(), vec![num("point"); n]),
            Column::new("policy".into(), vec![runs.text(r, "policy").to_string(); n]),
            Column::new("replication".into(), vec![num("replication"); n]),
        ];
        cols.extend(df.columns().iter().cloned());
        let df = DataFrame::new_infer_height(cols).map_err(polars_err(&path, "cannot read"))?;
        all = Some(match all {
            None => df,
            Some(mut a) => {
                a.vstack_mut(&df).map_err(polars_err(&path, "cannot stack"))?;
                a
            }
        });
    }
    Ok(all)
}
