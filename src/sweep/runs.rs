//! `runs.csv`: one row per run, its keys (id, point, policy, replication,
//! seed, grid values) then the metrics of `summary.csv`; and the CSV text
//! every sweep file is written with.
//!
//! Rows are kept as saved in `runs/<id>.csv` (metrics with six decimals),
//! so a resumed sweep produces the same bytes as one that ran straight
//! through.

use super::experiment::{Experiment, RunSpec, display_value};
use crate::metrics::{Summary, SummaryAccumulator, Totals};

/// Columns before the parameters.
pub(super) const RUN_KEYS: [&str; 5] = ["run_id", "point", "policy", "replication", "seed"];

/// The metric columns of `summary.csv`, in order.
pub fn metric_names() -> Vec<String> {
    Summary::new(&SummaryAccumulator::default(), Totals::default()).columns().into_iter().map(|(k, _)| k).collect()
}

/// `parameter_<path>` per grid axis.
pub(super) fn parameter_columns(paths: &[String]) -> Vec<String> {
    paths.iter().map(|p| format!("parameter_{p}")).collect()
}

/// The header of `runs.csv`.
pub fn runs_header(experiment: &Experiment) -> Vec<String> {
    runs_header_for(&experiment.axes.iter().map(|a| a.path.clone()).collect::<Vec<_>>())
}

/// The header of `runs.csv` for a sweep whose grid paths are `axis_paths`.
pub fn runs_header_for(axis_paths: &[String]) -> Vec<String> {
    let mut h: Vec<String> = RUN_KEYS.iter().map(|s| s.to_string()).collect();
    h.extend(parameter_columns(axis_paths));
    h.extend(metric_names());
    h
}

/// The cells identifying run `r` (everything before the metrics).
pub fn run_keys(experiment: &Experiment, r: &RunSpec) -> Vec<String> {
    let mut row = vec![
        r.id.to_string(),
        r.point.to_string(),
        experiment.policies[r.policy].label.clone(),
        r.replication.to_string(),
        r.seed.to_string(),
    ];
    row.extend(experiment.values(r.point).into_iter().map(display_value));
    row
}

/// The `runs.csv` row of run `r`.
pub fn run_row(experiment: &Experiment, r: &RunSpec, summary: &Summary) -> Vec<String> {
    let mut row = run_keys(experiment, r);
    row.extend(summary.columns().into_iter().map(|(_, v)| v));
    row
}

/// CSV text of a header and rows.
pub fn to_csv<'a>(header: &[String], rows: impl IntoIterator<Item = &'a Vec<String>>) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    w.write_record(header).expect("writing to memory");
    for r in rows {
        w.write_record(r).expect("writing to memory");
    }
    w.into_inner().expect("writing to memory")
}
