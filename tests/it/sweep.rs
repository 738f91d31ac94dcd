//! `offsim sweep` end to end: the same files whatever the thread count,
//! common random numbers across policies and grid points, resume after an
//! interruption, refusal of a directory holding another sweep, grid
//! parameter columns, the comparison's statistics recomputed from
//! `runs.csv`, and user policies through the library.
//!
//! The fixture `tests/fixtures/sweep/small.toml` runs 18 runs of about 240
//! tasks each (2 grid points x 3 policies x 3 replications).

use crate::helpers::{TempDir, header, offsim, repo, snapshot, table};
use offsim::policy::{Local, Policy, PolicyRegistry, parse_params};
use offsim::scenario::LoadedScenario;
use offsim::sweep::{ExperimentFlags, SweepOptions};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

fn fixture() -> PathBuf {
    repo("tests/fixtures/sweep/small.toml")
}

/// Runs `offsim sweep <fixture> --out <out> <args>` with stderr a pipe (so
/// no progress bar).
fn sweep(out: &Path, args: &[&str]) -> Output {
    offsim().arg("sweep").arg(fixture()).arg("--out").arg(out).args(args).output().expect("offsim runs")
}

fn ok(out: &Path, args: &[&str]) -> String {
    let o = sweep(out, args);
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "offsim sweep {args:?} failed: {stderr}");
    assert!(stderr.is_empty(), "nothing on stderr without a terminal: {stderr}");
    stdout.into_owned()
}

#[test]
fn one_thread_or_two_give_the_same_bytes() {
    let t = TempDir::new("sweep", "jobs");
    ok(&t.join("one"), &["--jobs", "1"]);
    ok(&t.join("two"), &["--jobs", "2"]);
    for f in ["runs.csv", "comparison.csv"] {
        let (a, b) = (fs::read(t.join("one").join(f)).unwrap(), fs::read(t.join("two").join(f)).unwrap());
        assert!(a == b, "{f} differs between --jobs 1 and --jobs 2");
    }
    assert_eq!(table(&t.join("one/runs.csv")).len(), 18);
    // Per-run result files do not change the figures either.
    ok(&t.join("files"), &["--jobs", "2", "--tasks"]);
    assert_eq!(fs::read(t.join("files/runs.csv")).unwrap(), fs::read(t.join("one/runs.csv")).unwrap());
    for id in 0..18 {
        for f in ["tasks.csv", "utilisation.csv", "summary.csv", "manifest.json"] {
            assert!(t.join(&format!("files/runs/{id}/{f}")).is_file(), "runs/{id}/{f}");
        }
    }
}

#[test]
fn policies_and_points_see_the_same_workload_per_replication() {
    let t = TempDir::new("sweep", "crn");
    ok(&t.0, &["--tasks"]);
    let runs = table(&t.join("runs.csv"));
    let by_rep =
        |r: &str| -> Vec<&BTreeMap<String, String>> { runs.iter().filter(|x| x["replication"] == r).collect() };
    let mut counts = Vec::new();
    for r in ["0", "1", "2"] {
        let rows = by_rep(r);
        assert_eq!(rows.len(), 6, "2 points x 3 policies");
        for x in &rows {
            assert_eq!(x["seed"], (5 + r.parse::<u64>().unwrap()).to_string());
            assert_eq!((&x["tasks"], &x["warmup_tasks"]), (&rows[0]["tasks"], &rows[0]["warmup_tasks"]), "{x:?}");
        }
        counts.push(rows[0]["tasks"].clone());
        // The very same arrivals, task by task (rows are in order of
        // ending): `here` at point 0 against `thr` at point 1.
        let ids: Vec<&String> = rows.iter().map(|x| &x["run_id"]).collect();
        let arrivals = |id: &str| -> Vec<(String, String, String)> {
            let mut a: Vec<_> = table(&t.join(&format!("runs/{id}/tasks.csv")))
                .into_iter()
                .map(|row| (row["task_id"].clone(), row["device"].clone(), row["arrival_ms"].clone()))
                .collect();
            a.sort();
            a
        };
        assert_eq!(arrivals(ids[0]), arrivals(ids[5]));
    }
    assert!(counts[0] != counts[1] || counts[1] != counts[2], "replications differ: {counts:?}");
}

#[test]
fn an_interrupted_sweep_resumes_with_the_same_result() {
    let t = TempDir::new("sweep", "resume");
    let first = ok(&t.0, &["--jobs", "2"]);
    assert!(first.contains("ran 18") && !first.contains("resumed"), "{first}");
    let runs = fs::read(t.join("runs.csv")).unwrap();
    let comparison = fs::read(t.join("comparison.csv")).unwrap();
    for f in ["runs.csv", "comparison.csv", "runs/0.csv", "runs/7.csv", "runs/17.csv"] {
        fs::remove_file(t.join(f)).unwrap();
    }
    // What a run interrupted while writing leaves behind.
    fs::write(t.join("runs/.7.csv.tmp-99999"), "run_id,tas").unwrap();
    fs::write(t.join(".runs.csv.tmp-99999"), "run_id").unwrap();

    let second = ok(&t.0, &["--jobs", "2"]);
    assert!(second.contains("resumed: 15 already done") && second.contains("ran 3"), "{second}");
    assert!(fs::read(t.join("runs.csv")).unwrap() == runs, "runs.csv differs after resuming");
    assert!(fs::read(t.join("comparison.csv")).unwrap() == comparison, "comparison.csv differs after resuming");
    assert!(!t.join("runs/.7.csv.tmp-99999").exists() && !t.join(".runs.csv.tmp-99999").exists());

    // Nothing left to run: the tables are rebuilt from the saved rows.
    let third = ok(&t.0, &["--jobs", "1", "--no-progress"]);
    assert!(third.contains("resumed: 18 already done") && third.contains("ran 0"), "{third}");
    assert!(fs::read(t.join("runs.csv")).unwrap() == runs);
}

#[test]
fn a_directory_holding_another_sweep_is_left_alone() {
    let t = TempDir::new("sweep", "other");
    ok(&t.0, &[]);
    let before = snapshot(&t.0);
    for args in [
        &["--replications", "2"][..],
        &["--grid", "nodes.edge.cores=1,2"],
        &["--seed", "6"],
        &["--policy", "local"],
        &["--set", "devices.cam.speed_ghz=1.5"],
        &["--tasks"],
    ] {
        let o = sweep(&t.0, args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("different sweep") && stderr.contains("another --out") && stderr.contains("delete"),
            "{args:?}: {stderr}"
        );
        assert!(snapshot(&t.0) == before, "{args:?} changed the directory");
    }
    // Another baseline is the same sweep: only the comparison changes.
    let out = ok(&t.0, &["--baseline", "edge"]);
    assert!(out.contains("resumed: 18 already done"), "{out}");
    assert!(table(&t.join("comparison.csv")).iter().all(|r| r["baseline"] == "edge"));
}

#[test]
fn grid_axes_become_parameter_columns() {
    let t = TempDir::new("sweep", "grid");
    // `thr` is a label of the file's list, not a policy name.
    let o = sweep(&t.join("x"), &["--policy", "local", "--policy", "thr"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.code() == Some(2) && stderr.contains("unknown policy `thr`"), "{stderr}");
    let e = t.join("y");
    let o = sweep(&e, &["--grid", "devices.cam.speed_ghz=1,-3"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("devices.cam.speed_ghz") && stderr.contains("-3"), "{stderr}");
    assert!(!e.exists(), "a bad grid creates nothing");
    let o = sweep(&e, &["--grid", "nodes.edge.nonsense=1"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.code() == Some(2) && stderr.contains("nodes.edge.nonsense"), "{stderr}");

    let t = TempDir::new("sweep", "grid-ok");
    ok(&t.0, &["--grid", "devices.cam.speed_ghz=1.0,2", "--replications", "2"]);
    let h = header(&t.join("runs.csv"));
    assert_eq!(
        h[..8],
        [
            "run_id",
            "point",
            "policy",
            "replication",
            "seed",
            "parameter_devices.cam.speed_ghz",
            "parameter_nodes.edge.cores",
            "tasks"
        ]
    );
    assert!(h.ends_with(&["measured_s".to_string(), "sim_end_s".to_string(), "events".to_string()]));
    let runs = table(&t.join("runs.csv"));
    // 2 speeds x 2 core counts x 3 policies x 2 replications.
    assert_eq!(runs.len(), 24);
    let expected = [("1.0", "1"), ("1.0", "4"), ("2", "1"), ("2", "4")];
    for r in &runs {
        let point: usize = r["point"].parse().unwrap();
        let (speed, cores) = expected[point];
        assert_eq!(
            (r["parameter_devices.cam.speed_ghz"].as_str(), r["parameter_nodes.edge.cores"].as_str()),
            (speed, cores)
        );
        assert_eq!(r["run_id"].parse::<usize>().unwrap() / 6, point, "point-major run ids");
    }
    // Faster cameras run local tasks faster.
    let mean = |point: &str| -> f64 {
        let v: Vec<f64> = runs
            .iter()
            .filter(|r| r["point"] == point && r["policy"] == "here")
            .map(|r| r["exec_mean_ms"].parse().unwrap())
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    assert!(mean("2") < 0.6 * mean("0"), "{} vs {}", mean("2"), mean("0"));
    let c = header(&t.join("comparison.csv"));
    assert_eq!(c[..4], ["point", "parameter_devices.cam.speed_ghz", "parameter_nodes.edge.cores", "policy"]);
}

/// The comparison recomputed by hand from runs.csv for one metric.
#[test]
fn comparison_matches_runs_csv() {
    let t = TempDir::new("sweep", "cmp");
    ok(&t.0, &[]);
    let runs = table(&t.join("runs.csv"));
    let cmp = table(&t.join("comparison.csv"));
    let metrics = header(&t.join("runs.csv")).len() - 6;
    assert_eq!(cmp.len(), 2 * 3 * metrics, "one row per point, policy and metric");
    let values = |point: &str, policy: &str, metric: &str| -> Vec<f64> {
        runs.iter()
            .filter(|r| r["point"] == point && r["policy"] == policy)
            .map(|r| r[metric].parse().unwrap())
            .collect()
    };
    let t2 = 4.302653; // t_{0.975, 2}
    let num = |s: &str| s.parse::<f64>().unwrap();
    for point in ["0", "1"] {
        for policy in ["here", "edge", "thr"] {
            let x = values(point, policy, "latency_mean_ms");
            let row = cmp
                .iter()
                .find(|r| r["point"] == point && r["policy"] == policy && r["metric"] == "latency_mean_ms")
                .unwrap();
            let mean = x.iter().sum::<f64>() / 3.0;
            let sd = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
            assert_eq!(row["n"], "3");
            assert!((num(&row["mean"]) - mean).abs() < 1e-5, "{row:?}");
            assert!((num(&row["std"]) - sd).abs() < 1e-5, "{row:?}");
            assert!((num(&row["ci95_half_width"]) - t2 * sd / 3f64.sqrt()).abs() < 1e-5, "{row:?}");
            assert_eq!(row["baseline"], "here");
            if policy == "here" {
                assert_eq!((row["diff_mean"].as_str(), row["diff_significant"].as_str()), ("", ""));
                continue;
            }
            let base = values(point, "here", "latency_mean_ms");
            let d: Vec<f64> = x.iter().zip(&base).map(|(a, b)| a - b).collect();
            let dm = d.iter().sum::<f64>() / 3.0;
            let dsd = (d.iter().map(|v| (v - dm).powi(2)).sum::<f64>() / 2.0).sqrt();
            let half = t2 * dsd / 3f64.sqrt();
            assert!((num(&row["diff_mean"]) - dm).abs() < 1e-5, "{row:?}");
            assert!((num(&row["diff_ci95_half_width"]) - half).abs() < 1e-5, "{row:?}");
            assert_eq!(row["diff_significant"], (dm.abs() > half).to_string(), "{row:?}");
        }
    }
    // Offloading to a 4-core node beats running on the cameras.
    let row =
        cmp.iter().find(|r| r["point"] == "1" && r["policy"] == "edge" && r["metric"] == "latency_mean_ms").unwrap();
    assert!(num(&row["diff_mean"]) < 0.0 && row["diff_significant"] == "true", "{row:?}");
    // One replication: means only, no interval, no significance.
    let single = TempDir::new("sweep", "cmp-one");
    ok(&single.0, &["--replications", "1"]);
    let one = table(&single.join("comparison.csv"));
    assert!(one.iter().all(|r| r["n"] == "1" && r["std"].is_empty() && r["ci95_half_width"].is_empty()));
    assert!(one.iter().all(|r| r["diff_ci95_half_width"].is_empty() && r["diff_significant"].is_empty()));
}

/// A user policy registered with the library takes part in a sweep.
#[test]
fn user_policies_sweep_through_the_registry() {
    let t = TempDir::new("sweep", "lib");
    let mut registry = PolicyRegistry::new();
    registry
        .register("stay-home", |spec, _| {
            #[derive(serde::Deserialize, serde::Serialize)]
            #[serde(deny_unknown_fields)]
            struct NoParams {}
            let (_, resolved) = parse_params::<NoParams>(spec)?;
            Ok((Box::new(Local) as Box<dyn Policy>, resolved))
        })
        .unwrap();
    let scenario = LoadedScenario::from_file(&fixture(), &[]).unwrap();
    let opts = SweepOptions {
        flags: ExperimentFlags {
            policies: vec!["local".into(), "stay-home".into()],
            replications: Some(2),
            ..Default::default()
        },
        out_dir: Some(t.0.clone()),
        jobs: Some(2),
        ..Default::default()
    };
    let report = offsim::sweep::sweep(&scenario, &registry, &opts).unwrap();
    assert_eq!((report.ran, report.resumed, report.experiment.runs()), (8, 0, 8));
    // The same decisions as `local`: every figure equal, so the paired
    // difference is exactly zero and not significant.
    let cmp = table(&t.join("comparison.csv"));
    for r in cmp.iter().filter(|r| r["policy"] == "stay-home" && !r["diff_mean"].is_empty()) {
        assert_eq!(r["diff_mean"].parse::<f64>().unwrap(), 0.0, "{r:?}");
        assert_eq!(r["diff_significant"], "false", "{r:?}");
    }
    // Without the registration the policy is unknown, before anything runs.
    let other = t.join("unknown");
    let e =
        offsim::sweep::sweep(&scenario, &PolicyRegistry::new(), &SweepOptions { out_dir: Some(other.clone()), ..opts })
            .unwrap_err()
            .to_string();
    assert!(e.contains("unknown policy `stay-home`"), "{e}");
    assert!(!other.exists());
}
