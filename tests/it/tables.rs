//! Tables with polars (feature `tables`): `offsim run` writes Parquet copies
//! of tasks.csv and utilisation.csv that read back with the same rows, and
//! aggregate tables whose counts and means agree with summary.csv.

use crate::helpers::{TempDir, offsim, repo, rows, table};
use polars::prelude::*;
use std::fs;
use std::path::Path;

fn summary_value(dir: &Path, col: &str) -> f64 {
    table(&dir.join("summary.csv"))[0][col].parse().unwrap()
}

#[test]
fn a_run_writes_parquet_copies_and_aggregates_that_agree_with_the_summary() {
    let t = TempDir::new("tables", "run");
    let out = t.join("out");
    let scenario = repo("scenarios/quickstart.toml");
    let st = offsim()
        .args(["run", scenario.to_str().unwrap(), "--set", "workload.duration_s=60", "--no-plots", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    for name in ["tasks", "utilisation"] {
        let df = ParquetReader::new(fs::File::open(out.join(format!("{name}.parquet"))).unwrap()).finish().unwrap();
        assert_eq!(df.height(), rows(&out.join(format!("{name}.csv"))).len(), "{name}.parquet rows");
    }
    let by_policy = CsvReadOptions::default()
        .try_into_reader_with_file_path(Some(out.join("aggregates/tasks_by_policy.csv")))
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(by_policy.height(), 1);
    let get = |c: &str| by_policy.column(c).unwrap().cast(&DataType::Float64).unwrap().f64().unwrap().get(0).unwrap();
    assert_eq!(get("tasks"), summary_value(&out, "tasks"));
    assert_eq!(get("completed"), summary_value(&out, "ended_completed"));
    assert!((get("latency_mean_ms") - summary_value(&out, "latency_mean_ms")).abs() < 1e-3);
    for keys in ["policy_device_class", "policy_priority", "policy_placement", "policy_node"] {
        let p = out.join(format!("aggregates/tasks_by_{keys}.parquet"));
        let df = ParquetReader::new(fs::File::open(&p).unwrap()).finish().unwrap();
        let total: f64 = df.column("tasks").unwrap().cast(&DataType::Float64).unwrap().f64().unwrap().sum().unwrap();
        assert_eq!(total, summary_value(&out, "tasks"), "{keys}: groups add up to all measured tasks");
    }
}
