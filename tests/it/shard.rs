//! `offsim sweep --shard K/N` and `offsim merge`: the shards of a sweep,
//! merged, give byte for byte the unsharded sweep's `runs.csv` and
//! `comparison.csv`; a Slurm array task finds its shard in the environment.

use crate::helpers::{TempDir, offsim, repo, succeeded};
use std::fs;
use std::path::Path;
use std::process::Output;

/// `offsim ARGS` with the given Slurm variables.
fn run_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    offsim().args(args).envs(env.iter().copied()).output().expect("offsim runs")
}

fn sweep(out: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let f = repo("tests/fixtures/sweep/small.toml");
    let mut args = vec!["sweep", f.to_str().unwrap(), "--no-progress", "--jobs", "2", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    run_with(&args, env)
}

/// Run ids saved in `dir/runs/`.
fn saved(dir: &Path) -> Vec<usize> {
    let mut ids: Vec<usize> = fs::read_dir(dir.join("runs"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".csv")?.parse().ok())
        .collect();
    ids.sort_unstable();
    ids
}

#[test]
fn merged_shards_are_byte_identical_to_the_whole_sweep() {
    let t = TempDir::new("shard", "merge");
    succeeded(&sweep(&t.join("whole"), &[], &[]));
    for k in 1..=3 {
        let text = succeeded(&sweep(&t.join(&format!("s{k}")), &["--shard", &format!("{k}/3")], &[]));
        assert!(text.contains(&format!("shard       {k}/3: the 6 runs")), "{text}");
        assert!(!t.join(&format!("s{k}/runs.csv")).exists(), "a partial shard writes no tables");
        assert_eq!(saved(&t.join(&format!("s{k}"))), (0..18).filter(|id| id % 3 == k - 1).collect::<Vec<_>>());
    }
    // Shards in any order; the output may be a new directory.
    let merged = t.join("merged");
    let text = succeeded(&run_with(
        &[
            "merge",
            merged.to_str().unwrap(),
            t.join("s3").to_str().unwrap(),
            t.join("s1").to_str().unwrap(),
            t.join("s2").to_str().unwrap(),
        ],
        &[],
    ));
    assert!(text.contains("18 runs from 3 directories"), "{text}");
    for f in ["runs.csv", "comparison.csv"] {
        assert_eq!(fs::read(t.join("whole").join(f)).unwrap(), fs::read(merged.join(f)).unwrap(), "{f} differs");
    }
    let json = fs::read_to_string(merged.join("sweep.json")).unwrap();
    assert!(!json.contains("\"shard\""), "{json}");
    // The merged directory is a finished sweep: sweeping into it runs nothing.
    let text = succeeded(&sweep(&merged, &[], &[]));
    assert!(text.contains("resumed: 18 already done") && text.contains("ran 0"), "{text}");
    assert_eq!(fs::read(t.join("whole/runs.csv")).unwrap(), fs::read(merged.join("runs.csv")).unwrap());
}

#[test]
fn merge_refuses_missing_runs_and_other_sweeps() {
    let t = TempDir::new("shard", "refuse");
    succeeded(&sweep(&t.join("s1"), &["--shard", "1/2"], &[]));
    let out = run_with(&["merge", t.join("m").to_str().unwrap(), t.join("s1").to_str().unwrap()], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("9 of 18 runs are in none of the directories (run ids 1, 3, 5"), "{err}");
    assert!(!t.join("m").exists(), "nothing is written");
    succeeded(&sweep(&t.join("other"), &["--shard", "2/2", "--seed", "99"], &[]));
    let out = run_with(
        &["merge", t.join("m").to_str().unwrap(), t.join("s1").to_str().unwrap(), t.join("other").to_str().unwrap()],
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("holds another sweep"), "{err}");
    let out = sweep(&t.join("bad"), &["--shard", "3/2"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 <= K <= N"));
}

#[test]
fn a_slurm_array_task_runs_its_shard() {
    let t = TempDir::new("shard", "slurm");
    // Array --array=0-2: task 1 is shard 2/3.
    let env = [("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_COUNT", "3"), ("SLURM_ARRAY_TASK_MIN", "0")];
    let out = sweep(&t.join("a1"), &[], &env);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    let text = succeeded(&out);
    assert!(err.contains("shard 2/3 (from SLURM_ARRAY_TASK_ID=1"), "{err}");
    assert!(text.contains("shard       2/3"), "{text}");
    assert_eq!(saved(&t.join("a1")), [1, 4, 7, 10, 13, 16]);
    assert!(fs::read_to_string(t.join("a1/sweep.json")).unwrap().contains("\"shard\": \"2/3\""));
    // Arrays need not start at 0: --array=5-7, task 7 is shard 3/3.
    let env = [("SLURM_ARRAY_TASK_ID", "7"), ("SLURM_ARRAY_TASK_COUNT", "3"), ("SLURM_ARRAY_TASK_MIN", "5")];
    succeeded(&sweep(&t.join("a2"), &[], &env));
    assert_eq!(saved(&t.join("a2")), [2, 5, 8, 11, 14, 17]);
    // --shard wins over the environment.
    succeeded(&sweep(&t.join("a3"), &["--shard", "1/6"], &env));
    assert_eq!(saved(&t.join("a3")), [0, 6, 12]);
    // A one-task array is the whole sweep, tables included.
    succeeded(&sweep(&t.join("a4"), &[], &[("SLURM_ARRAY_TASK_ID", "0"), ("SLURM_ARRAY_TASK_COUNT", "1")]));
    assert!(t.join("a4/runs.csv").exists() && t.join("a4/comparison.csv").exists());
    // An array task without a count is an error, before anything runs.
    let out = sweep(&t.join("a5"), &[], &[("SLURM_ARRAY_TASK_ID", "0")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SLURM_ARRAY_TASK_COUNT"));
    assert!(!t.join("a5").exists());
}
