//! `comparison.csv`: one row per grid point, policy and metric, with the
//! mean, its 95 % confidence interval and the paired difference against
//! the baseline policy, computed from the `runs.csv` rows (so a resumed or
//! merged sweep gives the same bytes as one that ran straight through).

use super::experiment::{Experiment, display_value};
use super::runs::{RUN_KEYS, metric_names, parameter_columns, to_csv};
use crate::stats::Estimate;

/// Statistics of one metric for one policy at one grid point.
#[derive(Clone, Debug)]
pub struct MetricStats {
    /// Index of the grid point.
    pub point: usize,
    /// Index of the policy.
    pub policy: usize,
    /// Index into [`metric_names`].
    pub metric: usize,
    /// Mean, spread and 95 % interval of the metric over the replications.
    pub estimate: Estimate,
    /// Paired difference policy - baseline; `None` for the baseline itself.
    pub diff: Option<Estimate>,
}

/// What `comparison.csv` needs to know of a sweep's shape: grid paths, each
/// point's values as written in CSV cells, the policy labels, the baseline
/// and the replication count. Built from an [`Experiment`], or by `offsim merge`
/// from `sweep.json` and the saved rows.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Scenario paths of the grid axes.
    pub axis_paths: Vec<String>,
    /// Per point, the value of each axis as written in `runs.csv`.
    pub point_values: Vec<Vec<String>>,
    /// Policy labels, in experiment order.
    pub labels: Vec<String>,
    /// Index into `labels`.
    pub baseline: usize,
    /// Replications per policy and grid point.
    pub replications: u32,
}

impl Layout {
    /// The layout of `experiment`.
    pub fn of(experiment: &Experiment) -> Self {
        Layout {
            axis_paths: experiment.axes.iter().map(|a| a.path.clone()).collect(),
            point_values: (0..experiment.points.len())
                .map(|p| experiment.values(p).into_iter().map(display_value).collect())
                .collect(),
            labels: experiment.policies.iter().map(|p| p.label.clone()).collect(),
            baseline: experiment.baseline,
            replications: experiment.replications,
        }
    }
}

/// Every (point, policy, metric) of a sweep, point-major, then policy, then
/// metric in `summary.csv` order.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// Metric names, in `summary.csv` order.
    pub metrics: Vec<String>,
    /// Statistics of every point, policy and metric, point-major, then policy, then metric.
    pub stats: Vec<MetricStats>,
}

impl Comparison {
    /// Computes the statistics from the `runs.csv` rows of every run, in
    /// run-id order.
    pub fn new(layout: &Layout, rows: &[Vec<String>]) -> Self {
        let metrics = metric_names();
        let first_metric = RUN_KEYS.len() + layout.axis_paths.len();
        let reps = layout.replications as usize;
        let np = layout.labels.len();
        // values[(point * np + policy) * reps + r][metric], parsed.
        let value = |id: usize, m: usize| rows[id].get(first_metric + m).and_then(|c| c.parse::<f64>().ok());
        let series = |point: usize, policy: usize, m: usize| -> Vec<Option<f64>> {
            (0..reps).map(|r| value((point * np + policy) * reps + r, m)).collect()
        };
        let mut stats = Vec::new();
        for point in 0..layout.point_values.len() {
            for policy in 0..np {
                for metric in 0..metrics.len() {
                    let xs = series(point, policy, metric);
                    let diff = (policy != layout.baseline)
                        .then(|| Estimate::paired(&xs, &series(point, layout.baseline, metric)));
                    stats.push(MetricStats { point, policy, metric, estimate: Estimate::of_present(&xs), diff });
                }
            }
        }
        Self { metrics, stats }
    }

    /// The statistics of `metric` for `policy` at `point`.
    pub fn get(&self, point: usize, policy: usize, metric: &str) -> Option<&MetricStats> {
        let m = self.metrics.iter().position(|x| x == metric)?;
        self.stats.iter().find(|s| s.point == point && s.policy == policy && s.metric == m)
    }

    /// The header of `comparison.csv`.
    pub fn header(layout: &Layout) -> Vec<String> {
        let mut h = vec!["point".to_string()];
        h.extend(parameter_columns(&layout.axis_paths));
        h.extend(
            [
                "policy",
                "metric",
                "n",
                "mean",
                "std",
                "ci95_half_width",
                "baseline",
                "diff_mean",
                "diff_ci95_half_width",
                "diff_significant",
            ]
            .map(String::from),
        );
        h
    }

    /// The CSV text of `comparison.csv`.
    pub fn to_csv(&self, layout: &Layout) -> Vec<u8> {
        let num = |v: Option<f64>| v.map_or_else(String::new, |x| format!("{x:.6}"));
        let baseline = &layout.labels[layout.baseline];
        let rows: Vec<Vec<String>> = self
            .stats
            .iter()
            .map(|s| {
                let mut row = vec![s.point.to_string()];
                row.extend(layout.point_values[s.point].iter().cloned());
                let e = &s.estimate;
                let d = s.diff.unwrap_or_default();
                row.extend([
                    layout.labels[s.policy].clone(),
                    self.metrics[s.metric].clone(),
                    e.n.to_string(),
                    num(e.mean),
                    num(e.std),
                    num(e.ci95_half_width),
                    baseline.clone(),
                    num(d.mean),
                    num(d.ci95_half_width),
                    d.excludes_zero().map_or_else(String::new, |b| b.to_string()),
                ]);
                row
            })
            .collect();
        to_csv(&Self::header(layout), &rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyRegistry;
    use crate::scenario::LoadedScenario;
    use crate::sweep::ExperimentFlags;
    use crate::sweep::runs::run_keys;

    fn small() -> String {
        format!(
            "{}{}",
            r#"policy = { name = "local" }
workload = { max_tasks = 5 }
[experiment]
replications = 3
policies = [{ name = "local" }, { name = "threshold", label = "thr" }]"#,
            crate::scenario::testing::ONE_DEVICE
        )
    }

    #[test]
    fn missing_values_are_left_out_and_empty_cells_mark_the_undefined() {
        let s = LoadedScenario::from_toml(&small(), "t", "t", ".".as_ref(), &[]).unwrap();
        let experiment = Experiment::new(&s, &ExperimentFlags::default(), &PolicyRegistry::new()).unwrap();
        let metrics = metric_names();
        let lat = metrics.iter().position(|m| m == "latency_mean_ms").unwrap();
        // latency_mean_ms: local 10, 20, (none); thr 7, 15, 30.
        let lat_values = [Some("10"), Some("20"), None, Some("7"), Some("15"), Some("30")];
        let rows: Vec<Vec<String>> =
            (0..experiment.runs())
                .map(|id| {
                    let mut row = run_keys(&experiment, &experiment.run(id));
                    row.extend((0..metrics.len()).map(|m| {
                        if m == lat { lat_values[id].unwrap_or_default().to_string() } else { "1".to_string() }
                    }));
                    row
                })
                .collect();
        let layout = Layout::of(&experiment);
        let c = Comparison::new(&layout, &rows);
        let local = c.get(0, 0, "latency_mean_ms").unwrap();
        assert_eq!((local.estimate.n, local.estimate.mean), (2, Some(15.0)));
        assert!(local.diff.is_none(), "the baseline has no difference");
        let thr = c.get(0, 1, "latency_mean_ms").unwrap();
        assert_eq!(thr.estimate.n, 3);
        // Paired over replications 0 and 1 only: -3 and -5.
        let d = thr.diff.unwrap();
        assert_eq!((d.n, d.mean), (2, Some(-4.0)));
        let text = String::from_utf8(c.to_csv(&layout)).unwrap();
        assert!(text.starts_with("point,policy,metric,n,mean,std,ci95_half_width,baseline,diff_mean,"), "{text}");
        let line = |policy: &str, metric: &str| {
            text.lines().find(|l| l.starts_with(&format!("0,{policy},{metric},"))).unwrap().to_string()
        };
        // s = sqrt(50), half-width = 12.706205 * sqrt(50) / sqrt(2) = 63.531025.
        assert_eq!(line("local", "latency_mean_ms"), "0,local,latency_mean_ms,2,15.000000,7.071068,63.531025,local,,,");
        // 7, 15, 30: mean 17.333333, s = 11.676187, half-width = 4.302653 *
        // 11.676187 / sqrt(3) = 29.005257. Differences -3, -5: s = sqrt(2),
        // half-width = 12.706205 * sqrt(2) / sqrt(2).
        assert_eq!(
            line("thr", "latency_mean_ms"),
            "0,thr,latency_mean_ms,3,17.333333,11.676187,29.005257,local,-4.000000,12.706205,false"
        );
        // Constant metrics: zero width, a zero difference is not significant.
        assert_eq!(line("thr", "tasks"), "0,thr,tasks,3,1.000000,0.000000,0.000000,local,0.000000,0.000000,false");
    }
}
