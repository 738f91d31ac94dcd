//! Aggregates of the per-task table with polars' eager group-by.
//!
//! Measured tasks only (`warmup = 0`). Per group: `tasks` (all end
//! reasons), `completed`, `latency_mean_ms` and `latency_p95_ms` over
//! completed tasks (p95 linearly interpolated), `deadline_met_fraction`
//! among tasks with a deadline, `energy_j` (sum of device energy
//! attributed to the tasks) and `energy_mean_j`. Groups are sorted by their
//! keys; a local task's empty `node` is its own group.

use polars::prelude::*;

/// The key sets aggregated: `policy` alone and with each of
/// `device_class`, `priority`, `placement`, `node`; for a sweep with a
/// grid, `point` comes first in every key set.
pub fn groupings(tasks: &DataFrame) -> Vec<Vec<&'static str>> {
    let sweep_grid =
        tasks.column("point").ok().and_then(|c| c.as_materialized_series().n_unique().ok()).is_some_and(|n| n > 1);
    let lead: Vec<&'static str> = if sweep_grid { vec!["point", "policy"] } else { vec!["policy"] };
    let mut out = vec![lead.clone()];
    for k in ["device_class", "priority", "placement", "node"] {
        let mut keys = lead.clone();
        keys.push(k);
        out.push(keys);
    }
    out
}

/// The aggregate table of `tasks` grouped by `keys`.
#[allow(deprecated)] // The eager GroupBy aggregations are deprecated in favour of `lazy`, which costs minutes of build.
pub fn by(tasks: &DataFrame, keys: &[&str]) -> PolarsResult<DataFrame> {
    let warmup = tasks.column("warmup")?.i64()?;
    let measured = warmup.equal(0);
    let df = tasks.filter(&measured)?;
    let n = df.height();
    let reason = df.column("end_reason")?.str()?;
    let completed: Vec<bool> = reason.iter().map(|r| r == Some("completed")).collect();
    let latency = df.column("latency_ms")?.f64()?;
    let lat_done: Vec<Option<f64>> = latency.iter().zip(&completed).map(|(l, &c)| if c { l } else { None }).collect();
    let met: Vec<Option<f64>> =
        df.column("deadline_met")?.bool()?.iter().map(|m| m.map(|b| if b { 1.0 } else { 0.0 })).collect();
    let mut work = df.select(keys.iter().copied().chain(["energy_j"]))?;
    work.with_column(Column::new("completed".into(), completed.iter().map(|&c| c as u32).collect::<Vec<u32>>()))?;
    work.with_column(Column::new("latency".into(), lat_done))?;
    work.with_column(Column::new("deadline_met".into(), met))?;
    debug_assert_eq!(work.height(), n);

    let gb = work.group_by_stable(keys.iter().copied())?;
    let count = gb.clone().select(["completed"]).count()?;
    let mut out = count.select(keys.iter().copied())?;
    let mut add = |frame: DataFrame, from: &str, to: &str| -> PolarsResult<()> {
        let mut c = frame.column(from)?.clone();
        c.rename(to.into());
        out.with_column(c)?;
        Ok(())
    };
    add(count.clone(), "completed_count", "tasks")?;
    add(gb.clone().select(["completed"]).sum()?, "completed_sum", "completed")?;
    add(gb.clone().select(["latency"]).mean()?, "latency_mean", "latency_mean_ms")?;
    add(
        gb.clone().select(["latency"]).quantile(0.95, QuantileMethod::Linear)?,
        "latency_quantile_0.95",
        "latency_p95_ms",
    )?;
    add(gb.clone().select(["deadline_met"]).mean()?, "deadline_met_mean", "deadline_met_fraction")?;
    add(gb.clone().select(["energy_j"]).sum()?, "energy_j_sum", "energy_j")?;
    add(gb.select(["energy_j"]).mean()?, "energy_j_mean", "energy_mean_j")?;
    out.sort(keys.iter().map(|k| k.to_string()).collect::<Vec<_>>(), SortMultipleOptions::default())
}
