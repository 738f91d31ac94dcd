//! `offsim check` as the repository's own regression gate: a small sweep of
//! `scenarios/quickstart.toml` is checked against the committed
//! `baselines/quickstart.toml` (so `cargo test` runs the gate in CI), a
//! deliberately worse policy fails with exit code 3, and the same
//! configuration under other seeds (noise) passes.
//!
//! When a change to the simulator legitimately moves these figures,
//! regenerate the baseline (see docs/plan-and-check.md):
//! `offsim sweep scenarios/quickstart.toml --set workload.duration_s=120 --policy local --policy offload
//!  --policy threshold --replications 6 --out OUT && offsim check OUT --baseline baselines/quickstart.toml --update-baseline`.

use crate::helpers::{TempDir, repo, run, text};
use std::fs;
use std::path::Path;
use std::process::Output;

/// The repository's CI sweep (as the baseline was made), with `policies`
/// and `extra` flags.
fn ci_sweep(out: &Path, policies: &[&str], extra: &[&str]) {
    let scenario = repo("scenarios/quickstart.toml");
    let mut args = vec![
        "sweep",
        scenario.to_str().unwrap(),
        "--set",
        "workload.duration_s=120",
        "--replications",
        "6",
        "--no-progress",
        "--out",
        out.to_str().unwrap(),
    ];
    for p in policies {
        args.extend(["--policy", p]);
    }
    args.extend_from_slice(extra);
    let o = run(&args);
    assert!(o.status.success(), "{}", text(&o));
}

const POLICIES: [&str; 3] = ["local", "offload", "threshold"];

fn check(results: &Path, baseline: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["check", results.to_str().unwrap(), "--baseline", baseline.to_str().unwrap()];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn the_repository_baseline_passes() {
    let t = TempDir::new("check", "repo");
    ci_sweep(&t.join("sweep"), &POLICIES, &[]);
    let junit = t.join("junit.xml");
    let o = check(&t.join("sweep"), &repo("baselines/quickstart.toml"), &["--junit", junit.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("| case | metric |") && out.contains("Result: PASS"), "{out}");
    let xml = fs::read_to_string(junit).unwrap();
    assert!(xml.contains("tests=\"15\" failures=\"0\"") && !xml.contains("<failure"), "{xml}");
}

#[test]
fn a_worse_policy_fails_with_exit_code_3() {
    let t = TempDir::new("check", "worse");
    // "threshold" is really `local`: every task stays on the cameras.
    ci_sweep(&t.join("sweep"), &["local", "offload", "{ name = \"local\", label = \"threshold\" }"], &[]);
    let junit = t.join("junit.xml");
    let o = check(&t.join("sweep"), &repo("baselines/quickstart.toml"), &["--junit", junit.to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}");
    assert!(out.contains("| threshold | latency_mean_ms |") && out.contains("**REGRESSION**"), "{out}");
    assert!(out.contains("Result: FAIL"), "{out}");
    let regressed: Vec<&str> = out.lines().filter(|l| l.contains("**REGRESSION**")).collect();
    assert!(regressed.iter().all(|l| l.starts_with("| threshold |")), "only the changed policy: {regressed:?}");
    let xml = fs::read_to_string(junit).unwrap();
    assert!(xml.contains("<failure message=\"latency_mean_ms regressed"), "{xml}");
}

#[test]
fn noise_does_not_fail() {
    // The same configuration under other seeds: different numbers, no
    // regression.
    let t = TempDir::new("check", "noise");
    for seed in ["1000", "2000"] {
        let dir = t.join(seed);
        ci_sweep(&dir, &POLICIES, &["--seed", seed]);
        let o = check(&dir, &repo("baselines/quickstart.toml"), &[]);
        assert_eq!(o.status.code(), Some(0), "seed {seed}: {}", text(&o));
    }
}

#[test]
fn update_baseline_then_check_a_run_directory() {
    let t = TempDir::new("check", "run");
    let o = run(&[
        "run",
        repo("scenarios/quickstart.toml").to_str().unwrap(),
        "--set",
        "workload.duration_s=60",
        "--out",
        t.join("run").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let baseline = t.join("b/run.toml");
    let o = check(&t.join("run"), &baseline, &["--update-baseline"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let written = fs::read_to_string(&baseline).unwrap();
    assert!(written.contains("[metrics.latency_mean_ms]") && written.contains("policy = \"threshold\""), "{written}");
    let o = check(&t.join("run"), &baseline, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Single runs have no variance: any worsening beyond tolerance fails.
    let at = written.find("[cases.values.latency_mean_ms]").unwrap();
    let line = at + written[at..].find("mean = ").unwrap();
    let end = line + written[line..].find('\n').unwrap();
    fs::write(&baseline, format!("{}mean = 1.0{}", &written[..line], &written[end..])).unwrap();
    let o = check(&t.join("run"), &baseline, &[]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("| threshold | latency_mean_ms |"), "{}", text(&o));
}

#[test]
fn bad_baselines_are_usage_errors() {
    let t = TempDir::new("check", "bad");
    ci_sweep(&t.join("sweep"), &["local", "offload"], &[]);
    let cases = [
        ("alpha = 2\n[metrics]\n", "alpha"),
        ("[metrics.bogus]\nbetter = \"lower\"\n", "unknown metric `bogus`"),
        ("[metrics.latency_mean_ms]\nbetter = \"sideways\"\n", "invalid baseline"),
        (
            "[metrics.latency_mean_ms]\nbetter = \"lower\"\n[[cases]]\npolicy = \"threshold\"\nvalues = { latency_mean_ms = { mean = 1 } }\n",
            "baseline case `threshold` is not in",
        ),
    ];
    for (i, (body, want)) in cases.iter().enumerate() {
        let b = t.join(&format!("b{i}.toml"));
        fs::write(&b, body).unwrap();
        let o = check(&t.join("sweep"), &b, &[]);
        assert_eq!(o.status.code(), Some(2), "{body}: {}", text(&o));
        assert!(text(&o).contains(want), "{body}: {}", text(&o));
    }
    let o = check(&t.join("nothing-here"), &repo("baselines/quickstart.toml"), &[]);
    assert_eq!(o.status.code(), Some(2));
}
