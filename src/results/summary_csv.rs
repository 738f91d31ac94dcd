//! `summary.csv`: one header line and one row per run, with the run's
//! scenario, policy and seed first.

use crate::metrics::Summary;

/// The CSV text of a summary.
pub fn write_summary(scenario: &str, policy: &str, seed: u64, s: &Summary) -> String {
    let mut columns = vec![
        ("scenario".to_string(), scenario.to_string()),
        ("policy".to_string(), policy.to_string()),
        ("seed".to_string(), seed.to_string()),
    ];
    columns.extend(s.columns());
    let header: Vec<&str> = columns.iter().map(|(k, _)| k.as_str()).collect();
    let row: Vec<&str> = columns.iter().map(|(_, v)| v.as_str()).collect();
    format!("{}\n{}\n", header.join(","), row.join(","))
}
