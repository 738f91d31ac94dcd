//! The short text summary printed at the end of a sweep: what ran, how
//! long it took, where the results are, and per grid point and policy the
//! mean and 95th-percentile latency with their confidence half-widths.

use super::SweepReport;
use super::comparison::MetricStats;
use super::experiment::display_value;
use super::progress::clock;

fn cell(s: Option<&MetricStats>) -> String {
    let Some(e) = s.map(|s| s.estimate) else { return "-".into() };
    match (e.mean, e.ci95_half_width) {
        (Some(m), Some(h)) => format!("{m:.1} ± {h:.1}"),
        (Some(m), None) => format!("{m:.1}"),
        _ => "-".into(),
    }
}

/// Left-aligned columns, two spaces apart, after a two-space indent.
fn table(rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> =
        (0..rows[0].len()).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for r in rows {
        let cells: Vec<String> = r.iter().zip(&widths).map(|(v, w)| format!("{v:<w$}")).collect();
        out.push_str("  ");
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The summary text.
pub fn summary(r: &SweepReport) -> String {
    let experiment = &r.experiment;
    let total = experiment.runs();
    let seeds = match (experiment.seeds.first(), experiment.seeds.last()) {
        (Some(a), Some(b)) if a != b => format!("seeds {a}..={b}"),
        (Some(a), _) => format!("seed {a}"),
        _ => String::new(),
    };
    let mut out = format!(
        "offsim {} sweep: scenario {}, {} point{} x {} polic{} x {} replication{} = {total} runs, {seeds}\n",
        env!("CARGO_PKG_VERSION"),
        experiment.base.name(),
        experiment.points.len(),
        if experiment.points.len() == 1 { "" } else { "s" },
        experiment.policies.len(),
        if experiment.policies.len() == 1 { "y" } else { "ies" },
        experiment.replications,
        if experiment.replications == 1 { "" } else { "s" },
    );
    if r.resumed > 0 {
        out +=
            &format!("  runs        resumed: {} already done in {}, ran {}\n", r.resumed, r.out_dir.display(), r.ran);
    } else {
        out += &format!("  runs        ran {}\n", r.ran);
    }
    out += &format!(
        "  wall time   {:.2} s ({}) with {} thread{}\n",
        r.wall.as_secs_f64(),
        clock(r.wall),
        r.jobs,
        if r.jobs == 1 { "" } else { "s" }
    );
    if let Some(shard) = r.shard {
        out += &format!(
            "  shard       {shard}: the {} runs with run_id % {} == {} of {total}\n",
            r.shard_runs,
            shard.count,
            shard.index - 1
        );
        out += &format!("  results     {}/ (sweep.json, runs/)\n", r.out_dir.display());
        out += "  combine the shards' directories with: offsim merge OUT DIR...\n";
        return out;
    }
    out += &format!("  results     {}/ (runs.csv, comparison.csv, sweep.json, runs/)\n\n", r.out_dir.display());

    let mut rows = Vec::new();
    let grid = !experiment.axes.is_empty();
    let mut head = Vec::new();
    if grid {
        head.push("point".to_string());
        head.extend(experiment.axes.iter().map(|a| a.path.clone()));
    }
    head.extend(["policy", "latency mean ms (95 % CI)", "latency p95 ms (95 % CI)"].map(String::from));
    rows.push(head);
    for point in 0..experiment.points.len() {
        for (i, p) in experiment.policies.iter().enumerate() {
            let mut row = Vec::new();
            if grid {
                row.push(point.to_string());
                row.extend(experiment.values(point).into_iter().map(display_value));
            }
            let label = if i == experiment.baseline && experiment.policies.len() > 1 {
                format!("{} (baseline)", p.label)
            } else {
                p.label.clone()
            };
            row.push(label);
            row.push(cell(r.comparison.get(point, i, "latency_mean_ms")));
            row.push(cell(r.comparison.get(point, i, "latency_p95_ms")));
            rows.push(row);
        }
    }
    out += &table(&rows);
    if experiment.policies.len() > 1 {
        out += "  paired differences against the baseline, for every metric: comparison.csv\n";
    }
    out
}
