//! Plots end to end: `offsim run` and `offsim sweep` draw their plots, and
//! every image is decoded and checked to show something (several colours
//! and many non-white pixels for PNG; drawn shapes and text for SVG), not
//! only to exist. `--no-plots` draws none; `offsim report` redraws. Values
//! no axis can show (infinite, or finite ones whose sum overflows) neither
//! hang the plots nor pass unremarked.

use crate::helpers::{Png, TempDir, offsim, png_content, repo, run, run_in, succeeded};
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

fn root(p: &str) -> String {
    repo(p).display().to_string()
}

/// Checks one plot's PNG and SVG.
fn check_plot(dir: &Path, name: &str) {
    let png = dir.join(format!("{name}.png"));
    let Png { size, colours, inked } = png_content(&png);
    assert_eq!(size, offsim::plot::style::SIZE, "{}", png.display());
    assert!(colours >= 5, "{}: only {colours} colours", png.display());
    assert!(inked > 0.02, "{}: only {:.1} % of pixels drawn", png.display(), 100.0 * inked);
    let svg = fs::read_to_string(dir.join(format!("{name}.svg"))).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{name}.svg is not an SVG document");
    let shapes =
        ["<polyline", "<path", "<rect", "<circle", "<polygon"].iter().map(|t| svg.matches(t).count()).sum::<usize>();
    let texts = svg.matches("<text").count();
    assert!(shapes >= 10, "{name}.svg draws only {shapes} shapes");
    assert!(texts >= 8, "{name}.svg has only {texts} text elements (title, axes, legend)");
    // Colours from the palette appear (not only black and grey).
    assert!(svg.contains("#0072B2") || svg.contains("#E69F00"), "{name}.svg uses no palette colour");
}

fn names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect()
}

#[test]
fn a_run_draws_cdf_breakdown_utilisation_and_energy() {
    let t = TempDir::new("plots", "run");
    let out = t.join("run");
    let o = out.display().to_string();
    let text =
        succeeded(&run(&["run", &root("scenarios/quickstart.toml"), "--set", "workload.duration_s=60", "--out", &o]));
    assert!(text.contains("plots"), "{text}");
    let plots = out.join("plots");
    for name in ["latency_cdf", "latency_breakdown", "utilisation", "energy"] {
        check_plot(&plots, name);
    }
    assert_eq!(names(&plots).len(), 8, "{:?}", names(&plots));

    // --no-plots: a new run into a fresh directory draws nothing.
    let bare = t.join("run-bare");
    let b = bare.display().to_string();
    succeeded(&run(&[
        "run",
        &root("scenarios/quickstart.toml"),
        "--set",
        "workload.duration_s=30",
        "--out",
        &b,
        "--no-plots",
    ]));
    assert!(!bare.join("plots").exists());
    // offsim report draws them afterwards, identical to what run draws.
    succeeded(&run(&["report", &b]));
    check_plot(&bare.join("plots"), "latency_cdf");
    let again = t.join("run-again");
    let a = again.display().to_string();
    succeeded(&run(&["run", &root("scenarios/quickstart.toml"), "--set", "workload.duration_s=30", "--out", &a]));
    for n in names(&bare.join("plots")) {
        assert_eq!(
            fs::read(bare.join("plots").join(&n)).unwrap(),
            fs::read(again.join("plots").join(&n)).unwrap(),
            "{n}"
        );
    }
}

#[test]
fn a_sweep_draws_comparisons_and_metric_vs_parameter() {
    let t = TempDir::new("plots", "sweep");
    let out = t.join("sweep");
    let o = out.display().to_string();
    let text =
        succeeded(&run(&["sweep", &root("tests/fixtures/sweep/small.toml"), "--out", &o, "--jobs", "2", "--tasks"]));
    let plots = out.join("plots");
    let got = names(&plots);
    for name in
        ["latency_cdf", "latency_breakdown", "energy", "comparison_latency_p95_ms", "comparison_latency_mean_ms"]
    {
        check_plot(&plots, name);
    }
    let vs: Vec<&String> = got.iter().filter(|n| n.starts_with("latency_p95_ms_vs_") && n.ends_with(".png")).collect();
    assert_eq!(vs.len(), 1, "one grid axis, one p95 plot: {got:?}\n{text}");
    check_plot(&plots, vs[0].trim_end_matches(".png"));
    assert!(!got.contains("utilisation.png"), "sweeps have no utilisation plot");

    // Without --tasks there are no per-task latencies: the CDF is skipped with a note.
    let plain = t.join("sweep-plain");
    let p = plain.display().to_string();
    let text = succeeded(&run(&["sweep", &root("tests/fixtures/sweep/small.toml"), "--out", &p, "--jobs", "2"]));
    assert!(text.contains("latency_cdf: skipped"), "{text}");
    assert!(!plain.join("plots/latency_cdf.png").exists());
    check_plot(&plain.join("plots"), "comparison_latency_p95_ms");
}

#[test]
fn report_refuses_a_directory_that_is_not_a_result() {
    let dir = TempDir::new("plots", "not-a-result");
    let out = offsim().arg("report").arg(&dir.0).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a result directory"));
}

#[test]
fn infinite_or_overflowing_values_are_plotted_in_finite_time_with_a_warning() {
    let t = TempDir::new("plots", "infinite");
    // A node drawing 1e306 W: its energy is infinite.
    let args: Vec<std::ffi::OsString> = [
        "run",
        &root("scenarios/quickstart.toml"),
        "--set",
        "workload.duration_s=30",
        "--set",
        "simulation.warmup_s=0",
        "--set",
        "nodes.cloud-gateway.power.busy_w=1e306",
        "--out",
        "out",
    ]
    .iter()
    .map(Into::into)
    .collect();
    let o = run_in(&t, &args);
    assert_eq!(o.code, Some(0), "{}", o.describe());
    assert!(o.stdout.contains("warning: summary.csv: node_energy_j = inf is not a finite number"), "{}", o.describe());
    let plots = t.join("out/plots");
    check_plot(&plots, "energy");
    assert_eq!(names(&plots).len(), 8, "{:?}", names(&plots));

    // Finite energies whose sum overflows: `report` finishes too.
    let summary = t.join("out/summary.csv");
    let text = fs::read_to_string(&summary).unwrap();
    let (head, row) = text.split_once('\n').unwrap();
    let cols: Vec<&str> = head.split(',').collect();
    let mut cells: Vec<String> = row.trim_end().split(',').map(String::from).collect();
    for c in ["device_energy_j", "node_energy_j", "network_energy_j"] {
        cells[cols.iter().position(|h| *h == c).unwrap()] = "1.7e308".into();
    }
    fs::write(&summary, format!("{head}\n{}\n", cells.join(","))).unwrap();
    let o = run_in(&t, &["report".into(), "out".into()]);
    assert_eq!(o.code, Some(0), "{}", o.describe());
    check_plot(&plots, "energy");
}
