//! `offsim plan` against queueing theory: the smallest number of cores of an
//! M/M/c node whose mean wait meets an objective, compared with Erlang C.

use crate::helpers::{TempDir, erlang_c, repo, rows, run};
use std::fs;
use std::path::Path;
use std::process::Output;

fn plan(out: &Path, args: &[&str]) -> Output {
    let f = repo("tests/fixtures/plan/mmc.toml");
    let mut a = vec!["plan", f.to_str().unwrap(), "--out", out.to_str().unwrap(), "--jobs", "2"];
    a.extend_from_slice(args);
    run(&a)
}

/// Mean wait in ms of M/M/c (infinite when unstable).
fn wq_ms(c: u32, lambda: f64, mu: f64) -> f64 {
    if f64::from(c) * mu <= lambda {
        f64::INFINITY
    } else {
        1e3 * erlang_c(c, lambda / mu) / (f64::from(c) * mu - lambda)
    }
}

#[test]
fn mmc_sizing_matches_erlang_c() {
    // The fixture: lambda = 500/s, mu = 100/s. Objective: mean wait <= 1 ms.
    let (lambda, mu, slo) = (500.0, 100.0, 1.0);
    let theory = (1..=64).find(|&c| wq_ms(c, lambda, mu) <= slo).unwrap();
    // Far from the boundary on both sides, so the confidence margin cannot
    // move the answer: Wq(7) = 1.77 ms, Wq(8) = 0.66 ms.
    assert_eq!(theory, 8);
    assert!(wq_ms(theory - 1, lambda, mu) > 1.5 * slo && wq_ms(theory, lambda, mu) < 0.75 * slo);

    let t = TempDir::new("plan", "mmc");
    let out = plan(
        &t.0,
        &[
            "--slo",
            "mean_wait_ms<=1",
            "--slo",
            "drop_rate<=0.01",
            "--vary",
            "nodes.server.cores=1..64",
            "--replications",
            "5",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("offload: nodes.server.cores = 8"), "{text}");
    for slo in ["slo1_wait_mean_ms", "slo2_drop_rate"] {
        for ext in ["png", "svg"] {
            let plot = t.join(&format!("plots/{slo}_vs_nodes_server_cores.{ext}"));
            let size = fs::metadata(&plot).map(|m| m.len()).unwrap_or(0);
            assert!(size > 2000, "{} missing or nearly empty ({size} bytes)", plot.display());
        }
    }
    let sizing = rows(&t.join("sizing.csv"));
    assert_eq!(sizing.len(), 1);
    let row = &sizing[0];
    assert_eq!((&row[0], &row[4], &row[5]), ("offload", "8", "met"));
    let probes: usize = row[8].parse().unwrap();
    assert!(probes <= 8, "galloping and bisection, not a scan of 64 values: {probes} probes");
    assert_eq!(&row[11], "wait_mean_ms<=1", "just below the answer the wait objective fails");
    // The curve: two objectives at every probed value, with the bound
    // above the mean for an upper limit.
    let curve = rows(&t.join("curve.csv"));
    assert_eq!(curve.len(), 2 * probes);
    for r in curve.iter().filter(|r| &r[4] == "wait_mean_ms") {
        let (c, mean, bound): (u32, f64, f64) = (r[2].parse().unwrap(), r[9].parse().unwrap(), r[14].parse().unwrap());
        assert!(bound >= mean);
        assert_eq!(&r[15] == "true", c >= 8, "{r:?}");
        let theory = wq_ms(c, lambda, mu);
        if theory.is_finite() && c >= 6 {
            assert!((mean - theory).abs() < 0.3 * theory, "c = {c}: {mean} ms against Erlang C's {theory} ms");
        }
    }
}

#[test]
fn an_objective_no_value_meets_is_reported() {
    let t = TempDir::new("plan", "unmet");
    let out = plan(&t.0, &["--slo", "p95_latency_ms<=1", "--vary", "nodes.server.cores=5..7", "--replications", "3"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("offload: no value in 5..=7 meets every SLO") && text.contains("latency_p95_ms<=1 not met"),
        "{text}"
    );
    let sizing = rows(&t.join("sizing.csv"));
    assert_eq!((&sizing[0][4], &sizing[0][5]), ("", "not_met_in_range"));
}

#[test]
fn bad_objectives_and_ranges_are_usage_errors() {
    let t = TempDir::new("plan", "bad");
    for (args, want) in [
        (["--slo", "bogus<=1", "--vary", "nodes.server.cores=1..4"], "unknown metric `bogus`"),
        (["--slo", "drop_rate<=0.1", "--vary", "nodes.server.cores=4..1"], "empty"),
        (["--slo", "drop_rate<=0.1", "--vary", "nodes.nope.cores=1..4"], "nope"),
    ] {
        let out = plan(&t.0, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    assert!(!fs::exists(t.join("sizing.csv")).unwrap());
}
