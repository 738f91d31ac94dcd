//! Expanding an experiment into runs.
//!
//! The experiment comes from the scenario's `[experiment]` section, with the
//! command-line flags on top. [`Experiment::new`] checks it whole before anything
//! runs: every grid value on its own, every combination of grid point and
//! policy as a scenario, and every policy built from the registry. Runs are
//! numbered point-major, then policy, then replication; replication `r` uses
//! seed `base + r` at every point and for every policy (common random
//! numbers).

use crate::error::{Error, Result};
use crate::policy::PolicyRegistry;
use crate::run::build_policy;
use crate::scenario::{ExperimentPolicy, LoadedScenario, PolicySpec};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Experiment settings given on the command line; each replaces what the
/// scenario's `[experiment]` says.
#[derive(Clone, Debug, Default)]
pub struct ExperimentFlags {
    /// `--policy`: a policy name, or an inline table such as
    /// `{ name = "threshold", cpu_threshold = 0.5, label = "t50" }`.
    /// Given at all, these replace the experiment's policy list.
    pub policies: Vec<String>,
    /// `--grid PATH=V1,V2,...`: adds or replaces a grid axis.
    pub grid: Vec<String>,
    /// `--replications`: replications per policy and grid point.
    pub replications: Option<u32>,
    /// `--baseline`: label of the policy the others are compared with.
    pub baseline: Option<String>,
    /// Base seed (default: `simulation.seed`).
    pub seed: Option<u64>,
}

/// One varied scenario field and its values, in the order given.
#[derive(Clone, Debug)]
pub struct Axis {
    /// The scenario field varied, as `--set` names it.
    pub path: String,
    /// Its values, in the order given.
    pub values: Vec<toml::Value>,
}

/// A policy of the experiment.
#[derive(Clone, Debug)]
pub struct LabelledPolicy {
    /// Names it in results.
    pub label: String,
    /// The `[policy]` table each of its runs uses.
    pub spec: PolicySpec,
}

/// Where one run sits in the experiment.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RunSpec {
    /// The run's id: its position in the experiment, point-major, then policy, then replication.
    pub id: usize,
    /// Index of the grid point.
    pub point: usize,
    /// Index of the policy.
    pub policy: usize,
    /// Replication number, from 0.
    pub replication: u32,
    /// The run's seed: the base seed plus the replication number.
    pub seed: u64,
}

/// The scenario of one grid point under one policy.
#[derive(Clone, Debug)]
pub struct Cell {
    /// The scenario at the point, with the policy's table.
    pub scenario: LoadedScenario,
    /// Canonical hash with the policy's parameters resolved.
    pub scenario_sha256: String,
    /// SHA-256 of the trace the cell replays, if any.
    pub trace_sha256: Option<String>,
}

/// An experiment expanded into runs.
#[derive(Clone, Debug)]
pub struct Experiment {
    /// The scenario after `--set`, without its `[experiment]` section.
    pub base: LoadedScenario,
    /// Grid axes in sorted path order.
    pub axes: Vec<Axis>,
    /// Each point gives one value per axis (indices into the axis' values);
    /// the last axis varies fastest. One empty point when there is no grid.
    pub points: Vec<Vec<usize>>,
    /// The policies compared.
    pub policies: Vec<LabelledPolicy>,
    /// Index into `policies`.
    pub baseline: usize,
    /// Replications per policy and grid point.
    pub replications: u32,
    /// Seed of each replication.
    pub seeds: Vec<u64>,
    /// Point-major, then policy.
    pub cells: Vec<Cell>,
}

/// Parses a value as `--set` does: TOML if it parses, a string otherwise.
pub fn parse_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

/// A value as it appears in CSV cells: strings bare, anything else as TOML.
pub fn display_value(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Splits `a,b,{ x = 1, y = 2 },[1, 2],"c,d"` at the commas outside
/// brackets, braces and quotes.
fn split_top_level(raw: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quote, mut escaped, mut start) = (0i32, None::<char>, false, 0);
    for (i, c) in raw.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                '[' | '{' => depth += 1,
                ']' | '}' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(&raw[start..i]);
                    start = i + 1;
                }
                _ => {}
            },
        }
    }
    parts.push(&raw[start..]);
    parts
}

/// Labels appear in file names and CSV cells: the scenario's name rule.
fn check_label(label: &str) -> Result<(), String> {
    let mut chars = label.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        Ok(())
    } else {
        Err(format!("`{label}` is not a valid label: start with a letter, then use letters, digits, `-` or `_`"))
    }
}

/// Parses a `--policy` argument: a name, or an inline table such as
/// `{ name = "threshold", cpu_threshold = 0.5, label = "t50" }`.
pub fn parse_policy_flag(arg: &str) -> Result<ExperimentPolicy, String> {
    let arg = arg.trim();
    if !arg.starts_with('{') {
        return Ok(ExperimentPolicy {
            label: None,
            policy: PolicySpec { name: arg.to_string(), params: toml::Table::new() },
        });
    }
    let table = toml::from_str::<toml::Table>(&format!("v = {arg}"))
        .map_err(|e| format!("not an inline TOML table: {}", e.message()))?
        .remove("v")
        .expect("parsed key");
    serde::Deserialize::deserialize(table).map_err(|e: toml::de::Error| e.message().to_string())
}

/// Grid paths that a sweep sets itself, or that would be silently ignored.
fn check_grid_path(path: &str) -> Result<(), String> {
    let first = path.split('.').next().unwrap_or_default();
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err("the field path has an empty segment".into());
    }
    match first {
        "policy" => Err("the policy is set by the experiment's policies; list one policy per parameter value \
                         instead, e.g. --policy '{ name = \"threshold\", cpu_threshold = 0.5, label = \"t50\" }'"
            .into()),
        "experiment" => Err("an experiment cannot vary its own settings".into()),
        _ if path == "simulation.seed" => {
            Err("seeds come from the replications (seed, seed + 1, ...); use --seed or --replications".into())
        }
        _ => Ok(()),
    }
}

fn sha256_file(path: &std::path::Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "cannot read trace", e))?;
    Ok(Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect())
}

impl Experiment {
    /// Expands the experiment of `scenario` (after `--set`) with `flags`,
    /// and checks every grid value, grid point and policy.
    pub fn new(scenario: &LoadedScenario, flags: &ExperimentFlags, registry: &PolicyRegistry) -> Result<Self> {
        let origin = scenario.origin.clone();
        let fail = |message: String| Error::Scenario { file: origin.clone(), message };
        let experiment = scenario.spec.experiment.clone().unwrap_or_default();
        let mut base = scenario.clone();
        base.spec.experiment = None;

        // Policies: flags, else the experiment's, else the scenario's own.
        let from_flags = !flags.policies.is_empty();
        let listed: Vec<ExperimentPolicy> = if from_flags {
            flags
                .policies
                .iter()
                .map(|p| parse_policy_flag(p).map_err(|m| fail(format!("--policy {p}: {m}"))))
                .collect::<Result<_>>()?
        } else if !experiment.policies.is_empty() {
            experiment.policies.clone()
        } else {
            vec![ExperimentPolicy { label: None, policy: base.spec.policy.clone() }]
        };
        let policies: Vec<LabelledPolicy> =
            listed.iter().map(|p| LabelledPolicy { label: p.label().to_string(), spec: p.policy.clone() }).collect();
        for (i, p) in policies.iter().enumerate() {
            check_label(&p.label).map_err(|m| fail(format!("experiment policy `{}`: {m}", p.label)))?;
            if policies[..i].iter().any(|q| q.label == p.label) {
                return Err(fail(format!(
                    "experiment policy `{}` is listed twice; give the entries different labels",
                    p.label
                )));
            }
        }
        let labels: Vec<&str> = policies.iter().map(|p| p.label.as_str()).collect();
        let baseline = match (&flags.baseline, &experiment.baseline) {
            (Some(b), _) => Some((b, "--baseline")),
            // A file's baseline names a policy of the file's list; flags
            // that replace the list make it void unless it names a new one.
            (None, Some(b)) if !from_flags || labels.contains(&b.as_str()) => Some((b, "experiment.baseline")),
            _ => None,
        };
        let baseline = match baseline {
            None => 0,
            Some((b, what)) => labels.iter().position(|l| l == b).ok_or_else(|| {
                fail(format!("{what}: unknown policy label `{b}`; expected one of: {}", labels.join(", ")))
            })?,
        };

        let replications = flags.replications.unwrap_or(experiment.replications);
        if replications == 0 {
            return Err(fail("replications: expected at least 1".into()));
        }
        let seed = flags.seed.unwrap_or(base.spec.simulation.seed);
        let seeds: Vec<u64> = (0..u64::from(replications))
            .map(|r| seed.checked_add(r))
            .collect::<Option<_>>()
            .ok_or_else(|| fail(format!("seed {seed} + {replications} replications overflows a 64-bit seed")))?;

        // Grid: the file's axes, then the flags' (which replace by path).
        let mut grid: BTreeMap<String, (Vec<toml::Value>, String)> = experiment
            .grid
            .iter()
            .map(|(path, values)| (path.clone(), (values.clone(), "experiment.grid".to_string())))
            .collect();
        for arg in &flags.grid {
            let what = format!("--grid {arg}");
            let (path, raw) =
                arg.split_once('=').ok_or_else(|| fail(format!("{what}: expected `path.to.field=v1,v2,...`")))?;
            let mut values = Vec::new();
            for v in split_top_level(raw) {
                let v = v.trim();
                if v.is_empty() {
                    return Err(fail(format!("{what}: empty value in `{}`", path.trim())));
                }
                values.push(parse_value(v));
            }
            grid.insert(path.trim().to_string(), (values, what));
        }
        let mut axes = Vec::new();
        for (path, (values, what)) in grid {
            check_grid_path(&path).map_err(|m| fail(format!("{what}: grid path `{path}`: {m}")))?;
            if values.is_empty() {
                return Err(fail(format!("{what}: grid path `{path}` needs at least one value")));
            }
            // Each value on its own, so that an error names it.
            for v in &values {
                base.with_overrides(&[format!("{path}={v}")]).map_err(|e| {
                    let m = match e {
                        Error::Override { message, .. } => message,
                        other => other.to_string(),
                    };
                    fail(format!("{what}: grid path `{path}`, value {v}: {m}"))
                })?;
            }
            axes.push(Axis { path, values });
        }

        let mut points: Vec<Vec<usize>> = vec![Vec::new()];
        for axis in &axes {
            points = points
                .into_iter()
                .flat_map(|p| {
                    (0..axis.values.len()).map(move |i| {
                        let mut q = p.clone();
                        q.push(i);
                        q
                    })
                })
                .collect();
        }

        let mut experiment =
            Experiment { base, axes, points, policies, baseline, replications, seeds, cells: Vec::new() };
        let mut traces: BTreeMap<std::path::PathBuf, String> = BTreeMap::new();
        for point in 0..experiment.points.len() {
            for policy in &experiment.policies {
                let inline = toml::Value::try_from(&policy.spec).map_err(|e| {
                    fail(format!("experiment policy `{}`: cannot write it as a table: {e}", policy.label))
                })?;
                let mut overrides = experiment.assignments(point);
                overrides.push(format!("policy={inline}"));
                let scenario = experiment.base.with_overrides(&overrides).map_err(|e| {
                    let m = match e {
                        Error::Override { message, .. } => message,
                        other => other.to_string(),
                    };
                    fail(format!(
                        "grid point {point} ({}), policy `{}`: {m}",
                        experiment.describe_point(point),
                        policy.label
                    ))
                })?;
                let (_, resolved) = build_policy(&scenario, registry).map_err(|e| {
                    let m = match e {
                        Error::Scenario { message, .. } => message,
                        other => other.to_string(),
                    };
                    let at = if experiment.axes.is_empty() {
                        String::new()
                    } else {
                        format!(" at grid point {point} ({})", experiment.describe_point(point))
                    };
                    fail(format!("experiment policy `{}`{at}: {m}", policy.label))
                })?;
                let trace_sha256 = match &scenario.spec.workload.trace {
                    None => None,
                    Some(t) => {
                        let path = scenario.base_dir.join(t);
                        if !traces.contains_key(&path) {
                            let h = sha256_file(&path)?;
                            traces.insert(path.clone(), h);
                        }
                        Some(traces[&path].clone())
                    }
                };
                let scenario_sha256 = scenario.canonical_hash(&resolved);
                experiment.cells.push(Cell { scenario, scenario_sha256, trace_sha256 });
            }
        }
        Ok(experiment)
    }

    /// Number of runs.
    pub fn runs(&self) -> usize {
        self.points.len() * self.policies.len() * self.replications as usize
    }

    /// Run `id` (`id < runs()`).
    pub fn run(&self, id: usize) -> RunSpec {
        let reps = self.replications as usize;
        let replication = (id % reps) as u32;
        let cell = id / reps;
        RunSpec {
            id,
            point: cell / self.policies.len(),
            policy: cell % self.policies.len(),
            replication,
            seed: self.seeds[replication as usize],
        }
    }

    /// The scenario of `point` under `policy`.
    pub fn cell(&self, point: usize, policy: usize) -> &Cell {
        &self.cells[point * self.policies.len() + policy]
    }

    /// The value of each axis at `point`.
    pub fn values(&self, point: usize) -> Vec<&toml::Value> {
        self.axes.iter().zip(&self.points[point]).map(|(a, &i)| &a.values[i]).collect()
    }

    /// `path=value` overrides of `point`.
    pub fn assignments(&self, point: usize) -> Vec<String> {
        self.axes.iter().zip(self.values(point)).map(|(a, v)| format!("{}={v}", a.path)).collect()
    }

    /// `path=value, path=value` (or `no grid`).
    pub fn describe_point(&self, point: usize) -> String {
        if self.axes.is_empty() { "no grid".into() } else { self.assignments(point).join(", ") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> String {
        format!(
            "{}{}",
            r#"policy = { name = "local" }
workload = { max_tasks = 5 }
[simulation]
seed = 10
[experiment]
replications = 2
policies = [{ name = "local" }, { name = "threshold", cpu_threshold = 0.5, label = "t50" }]
grid = { "devices.d.speed_ghz" = [1.0, 2.0], "devices.d.count" = [1, 2, 3] }"#,
            crate::scenario::testing::ONE_DEVICE
        )
    }

    fn experiment(flags: ExperimentFlags) -> Result<Experiment> {
        let s = LoadedScenario::from_toml(&small(), "t.toml", "t", ".".as_ref(), &[]).unwrap();
        Experiment::new(&s, &flags, &PolicyRegistry::new())
    }

    fn err(flags: ExperimentFlags) -> String {
        experiment(flags).unwrap_err().to_string()
    }

    #[test]
    fn runs_are_point_major_then_policy_then_replication() {
        let p = experiment(ExperimentFlags::default()).unwrap();
        assert_eq!(
            p.axes.iter().map(|a| a.path.as_str()).collect::<Vec<_>>(),
            ["devices.d.count", "devices.d.speed_ghz"]
        );
        assert_eq!(p.points.len(), 6);
        assert_eq!(p.points[1], [0, 1], "the last axis varies fastest");
        assert_eq!(p.runs(), 24);
        assert_eq!(p.run(0), RunSpec { id: 0, point: 0, policy: 0, replication: 0, seed: 10 });
        assert_eq!(p.run(3), RunSpec { id: 3, point: 0, policy: 1, replication: 1, seed: 11 });
        assert_eq!(p.run(5), RunSpec { id: 5, point: 1, policy: 0, replication: 1, seed: 11 });
        let c = &p.cell(5, 1).scenario.spec;
        assert_eq!((c.devices[0].count, c.devices[0].speed_ghz), (3, 2.0));
        assert_eq!(c.policy.name, "threshold");
        assert_eq!(c.policy.params["cpu_threshold"].as_float(), Some(0.5));
        assert!(c.experiment.is_none());
        assert_eq!(p.assignments(5), ["devices.d.count=3", "devices.d.speed_ghz=2.0"]);
        assert_eq!(p.policies[1].label, "t50");
        assert_eq!(p.baseline, 0);
    }

    #[test]
    fn flags_replace_the_experiment() {
        let p = experiment(ExperimentFlags {
            policies: vec!["offload".into(), "{ name = \"local\", label = \"here\" }".into()],
            grid: vec!["devices.d.count=4,5".into(), "workload.max_tasks=3".into()],
            replications: Some(3),
            baseline: Some("here".into()),
            seed: Some(100),
        });
        // No node: `offload` cannot be built, and the error says which policy.
        let e = p.unwrap_err().to_string();
        assert!(e.contains("experiment policy `offload`") && e.contains("at least one [[nodes]]"), "{e}");
        let p = experiment(ExperimentFlags {
            policies: vec!["threshold".into(), "{ name = \"local\", label = \"here\" }".into()],
            grid: vec!["devices.d.count=4,5".into(), "workload.max_tasks=3".into()],
            replications: Some(3),
            baseline: Some("here".into()),
            seed: Some(100),
        })
        .unwrap();
        assert_eq!(p.axes.len(), 3);
        assert_eq!(p.axes[0].values, [toml::Value::Integer(4), toml::Value::Integer(5)]);
        assert_eq!(p.seeds, [100, 101, 102]);
        assert_eq!((p.baseline, p.runs()), (1, 2 * 2 * 2 * 3));
    }

    #[test]
    fn without_policies_the_scenarios_own_runs_alone() {
        let s = LoadedScenario::from_toml(&small(), "t.toml", "t", ".".as_ref(), &["experiment.policies=[]".into()])
            .unwrap();
        let p = Experiment::new(&s, &ExperimentFlags::default(), &PolicyRegistry::new()).unwrap();
        assert_eq!(p.policies.len(), 1);
        assert_eq!(p.policies[0].label, "local");
    }

    #[test]
    fn bad_grids_and_policies_name_the_problem() {
        let grid = |g: &str| err(ExperimentFlags { grid: vec![g.into()], ..Default::default() });
        let e = grid("devices.d.speed_ghz=1,-2");
        assert!(e.contains("grid path `devices.d.speed_ghz`, value -2") && e.contains("> 0"), "{e}");
        let e = grid("devices.zz.count=1");
        assert!(e.contains("`devices.zz.count`") && e.contains("no entry named `zz`"), "{e}");
        let e = grid("devices.d.bogus=1");
        assert!(e.contains("`devices.d.bogus`") && e.contains("unknown field `bogus`"), "{e}");
        let e = grid("policy.cpu_threshold=0.5,0.7");
        assert!(e.contains("`policy.cpu_threshold`") && e.contains("label"), "{e}");
        let e = grid("simulation.seed=1,2");
        assert!(e.contains("replications"), "{e}");
        let e = grid("devices.d.count=1,,2");
        assert!(e.contains("empty value"), "{e}");
        let e = err(ExperimentFlags { baseline: Some("nope".into()), ..Default::default() });
        assert!(e.contains("unknown policy label `nope`; expected one of: local, t50"), "{e}");
        let e = err(ExperimentFlags { policies: vec!["local".into(), "local".into()], ..Default::default() });
        assert!(e.contains("listed twice"), "{e}");
        let e = err(ExperimentFlags { policies: vec!["nope".into()], ..Default::default() });
        assert!(e.contains("experiment policy `nope`") && e.contains("unknown policy `nope`"), "{e}");
        let e = err(ExperimentFlags { seed: Some(u64::MAX), ..Default::default() });
        assert!(e.contains("overflows"), "{e}");
    }

    #[test]
    fn grid_values_split_outside_brackets_and_quotes() {
        assert_eq!(split_top_level("1,2.5,x"), ["1", "2.5", "x"]);
        assert_eq!(
            split_top_level(r#"{ kind = "a", mean = 1 },[1, 2],"c,d",'e,f'"#),
            [r#"{ kind = "a", mean = 1 }"#, "[1, 2]", r#""c,d""#, "'e,f'"]
        );
        assert_eq!(parse_value("fifo"), toml::Value::String("fifo".into()));
        assert_eq!(display_value(&parse_value("\"fifo\"")), "fifo");
        assert_eq!(display_value(&parse_value("2.50")), "2.5");
    }
}
