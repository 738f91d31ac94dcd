//! Bad input makes `offsim run` fail cleanly: exit code 2; a message on
//! stderr that names the file (scenario, trace or output path), the line or
//! the field, and what was expected; and no result left behind: the `--out`
//! directory gets no `tasks.csv`, `summary.csv`, `utilisation.csv`,
//! `manifest.json` nor temporary `.*.tmp-*` file, and is not created if it
//! did not exist. `--dry-run` rejects the same input, and on valid input
//! exits 0 and writes nothing.
//!
//! Every case runs the binary three times: into a `--out` directory that
//! does not exist, into an existing empty one, and with `--dry-run`.

use crate::helpers::{Outcome, TempDir, repo, run_in, snapshot};
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

/// Files a successful run writes.
const RESULT_FILES: [&str; 4] = ["tasks.csv", "summary.csv", "utilisation.csv", "manifest.json"];

fn fixture(name: &str) -> PathBuf {
    repo("tests/fixtures/bad_input").join(name)
}

/// `<fixture>:<line>:`, how a trace error starts.
fn at_line(trace: &str, line: u32) -> String {
    format!("{}:{line}:", fixture(trace).display())
}

/// `run scenario extra... [--out out] [--dry-run]` as arguments.
fn args(scenario: &Path, extra: &[&str], out: Option<&Path>, dry_run: bool) -> Vec<OsString> {
    let mut v: Vec<OsString> = vec!["run".into(), scenario.into()];
    v.extend(extra.iter().map(OsString::from));
    if let Some(out) = out {
        v.extend([OsString::from("--out"), out.into()]);
    }
    if dry_run {
        v.push("--dry-run".into());
    }
    v
}

/// Problems with a run that should have been rejected.
fn rejection_problems(o: &Outcome, expected: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    if o.code != Some(2) {
        problems.push(format!("exit code {:?}, expected exactly 2", o.code));
    }
    if o.stderr.contains("panicked") {
        problems.push("it panicked".into());
    }
    for e in expected {
        if !o.stderr.contains(e.as_str()) {
            problems.push(format!("stderr does not say `{e}`"));
        }
    }
    problems
}

/// Entries of `dir` (all of them are leftovers: it was empty before).
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn leftover_problems(dir: &Path) -> Vec<String> {
    entries(dir)
        .into_iter()
        .map(|name| {
            let kind = if RESULT_FILES.contains(&name.as_str()) {
                "a result file"
            } else if name.starts_with('.') && name.contains(".tmp-") {
                "a temporary file"
            } else {
                "an unexpected entry"
            };
            format!("{} holds {kind} `{name}` afterwards", dir.display())
        })
        .collect()
}

fn fail_case(case: &str, mode: &str, problems: &[String], o: &Outcome) {
    if !problems.is_empty() {
        panic!("case `{case}` ({mode}):\n  - {}\n{}", problems.join("\n  - "), o.describe());
    }
}

/// Checks that `offsim run <scenario> <extra>` is rejected with a message
/// holding every `expected` string and leaves nothing behind: into a fresh
/// `--out` directory, into an existing empty one, and with `--dry-run`.
fn assert_rejected(case: &str, scenario: &Path, extra: &[&str], expected: &[String]) {
    let tmp = TempDir::new("bad-input", case);

    let fresh = tmp.join("fresh-out");
    let o = run_in(&tmp, &args(scenario, extra, Some(&fresh), false));
    let mut problems = rejection_problems(&o, expected);
    if fresh.exists() {
        problems.push(format!("{} did not exist before the run but does afterwards", fresh.display()));
        if fresh.is_dir() {
            problems.extend(leftover_problems(&fresh));
        }
    }
    fail_case(case, "--out names a new directory", &problems, &o);

    let existing = tmp.join("existing-out");
    fs::create_dir(&existing).expect("create the existing output directory");
    let o = run_in(&tmp, &args(scenario, extra, Some(&existing), false));
    let mut problems = rejection_problems(&o, expected);
    if existing.is_dir() {
        problems.extend(leftover_problems(&existing));
    } else {
        problems.push(format!("the existing directory {} was removed", existing.display()));
    }
    fail_case(case, "--out names an existing empty directory", &problems, &o);

    let o = run_in(&tmp, &args(scenario, extra, None, true));
    let mut problems = rejection_problems(&o, expected);
    if tmp.join("results").exists() {
        problems.push("a `results` directory was created".into());
    }
    fail_case(case, "--dry-run", &problems, &o);
}

/// The operating system's words for why `attempt` failed, as offsim quotes
/// them (`Not a directory (os error 20)`).
fn os_error<T>(attempt: std::io::Result<T>) -> String {
    match attempt {
        Ok(_) => panic!("the operation was expected to fail"),
        Err(e) => e.to_string(),
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The scenario's path plus `what` as expected message parts.
fn scenario_case(file: &str, what: &[&str]) {
    let path = fixture(file);
    let mut expected = vec![path.display().to_string()];
    expected.extend(strings(what));
    assert_rejected(file, &path, &[], &expected);
}

/// The trace's `path:line:` plus `what` as expected message parts.
fn trace_case(scenario: &str, trace: &str, line: u32, what: &[&str]) {
    let mut expected = vec![at_line(trace, line)];
    expected.extend(strings(what));
    assert_rejected(scenario, &fixture(scenario), &[], &expected);
}

// ---- the scenario file -------------------------------------------------

#[test]
fn malformed_toml_reports_the_line() {
    scenario_case("malformed.toml", &["line 15", "expected `,`"]);
}

#[test]
fn unknown_field() {
    scenario_case("unknown_field.toml", &["line 21", "unknown field `colour`", "expected one of `name`"]);
}

#[test]
fn missing_required_field() {
    scenario_case("missing_speed.toml", &["line 17", "missing field `speed_ghz`"]);
}

#[test]
fn zero_arrival_rate() {
    scenario_case("zero_rate.toml", &["devices[cam].workload.rate_per_s", "expected a number > 0, got 0"]);
}

#[test]
fn negative_arrival_rate() {
    scenario_case("negative_rate.toml", &["devices[cam].workload.rate_per_s", "expected a number > 0, got -2.5"]);
}

#[test]
fn nan_in_a_numeric_field() {
    scenario_case("nan_speed.toml", &["nodes[cloud].speed_ghz", "expected a finite number, got NaN"]);
}

#[test]
fn zero_bandwidth() {
    scenario_case("zero_bandwidth.toml", &["networks[wifi].up.bandwidth_mbps", "expected a number > 0, got 0"]);
}

#[test]
fn device_on_an_unknown_network() {
    scenario_case("unknown_network.toml", &["devices[cam].network", "unknown network `lte`; expected one of: wifi"]);
}

#[test]
fn unknown_policy() {
    scenario_case(
        "unknown_policy.toml",
        &["policy", "unknown policy `fastest`; expected one of: local, offload, threshold"],
    );
}

#[test]
fn bad_policy_parameter() {
    scenario_case("bad_policy_param.toml", &["policy: cpu_threshold", "expected a fraction in [0, 1], got 80"]);
}

#[test]
fn missing_scenario_file() {
    let path = fixture("no_such_scenario.toml");
    let expected = [path.display().to_string(), "cannot read scenario".into(), os_error(fs::read(&path))];
    assert_rejected("missing_scenario", &path, &[], &expected);
}

// ---- --set overrides ---------------------------------------------------

#[test]
fn set_naming_no_entry_of_a_list() {
    assert_rejected(
        "set_no_entry",
        &fixture("valid.toml"),
        &["--set", "nodes.zz.cores=16"],
        &strings(&["--set nodes.zz.cores=16", "no entry named `zz`", "expected one of: cloud"]),
    );
}

#[test]
fn set_naming_no_field() {
    // The message must say which override is wrong: with several `--set`s,
    // the leaf name alone does not tell.
    assert_rejected(
        "set_no_field",
        &fixture("valid.toml"),
        &["--set", "nodes.cloud.cores=16", "--set", "simulation.colour=1"],
        &strings(&["simulation.colour", "unknown field `colour`", "expected one of `seed`"]),
    );
}

#[test]
fn set_value_of_the_wrong_type() {
    assert_rejected(
        "set_wrong_type",
        &fixture("valid.toml"),
        &["--set", "nodes.cloud.speed_ghz=fast"],
        &strings(&["nodes.cloud.speed_ghz", "expected f64"]),
    );
}

// ---- the trace -----------------------------------------------------------

#[test]
fn trace_with_an_unknown_device() {
    trace_case(
        "trace_unknown_device.toml",
        "trace_unknown_device.csv",
        3,
        &["unknown device `cam-7`", "expected one of: cam-0..cam-1"],
    );
}

#[test]
fn trace_rows_unsorted_by_arrival() {
    trace_case(
        "trace_unsorted.toml",
        "trace_unsorted.csv",
        4,
        &["rows are not sorted: arrival_ms 20 comes after 30", "sort the trace by arrival_ms"],
    );
}

#[test]
fn trace_with_duplicate_rows() {
    trace_case(
        "trace_duplicate.toml",
        "trace_duplicate.csv",
        4,
        &["task_id 2 is not greater than the previous row's 2", "ids must be unique and increasing"],
    );
}

#[test]
fn trace_with_an_unknown_column() {
    trace_case(
        "trace_unknown_column.toml",
        "trace_unknown_column.csv",
        1,
        &["unknown column `colour`", "expected columns: task_id, arrival_ms, device, work_mcycles"],
    );
}

#[test]
fn trace_with_a_non_numeric_field() {
    trace_case(
        "trace_non_numeric.toml",
        "trace_non_numeric.csv",
        3,
        &["`work_mcycles` is `lots`", "expected a number from 0 to 1e12"],
    );
}

#[test]
fn trace_error_on_a_late_row() {
    // Row 500 (line 501) of 600: the run has simulated 499 tasks when it
    // reads it.
    trace_case(
        "trace_late_error.toml",
        "trace_late_error.csv",
        501,
        &["`work_mcycles` is `abc`", "expected a number from 0 to 1e12"],
    );
}

#[test]
fn trace_error_after_results_reached_the_disk() {
    // 15,000 good rows first: well over a megabyte of tasks.csv rows has
    // been flushed to the temporary file when row 15,001 fails.
    let input = TempDir::new("bad-input", "big_trace_input");
    let scenario = fs::read_to_string(fixture("trace_late_error.toml"))
        .expect("read the fixture")
        .replace("trace_late_error.csv", "big.csv");
    fs::write(input.join("big.toml"), scenario).expect("write the scenario");
    let mut trace = String::from("task_id,arrival_ms,device,work_mcycles,input_kb,output_kb,memory_mb\n");
    for i in 1..=20_000u32 {
        let work = if i == 15_001 { "-5".to_string() } else { "5".to_string() };
        trace.push_str(&format!("{i},{},cam-{},{work},20,1,16\n", i * 10, i % 2));
    }
    fs::write(input.join("big.csv"), trace).expect("write the trace");
    let expected = [format!("{}:15002:", input.join("big.csv").display()), "`work_mcycles` is `-5`".into()];
    assert_rejected("big_trace", &input.join("big.toml"), &[], &expected);
}

#[test]
fn missing_trace_file() {
    let path = fixture("no_such_trace.csv");
    let expected = [path.display().to_string(), "cannot open trace".into(), os_error(fs::read(&path))];
    assert_rejected("trace_missing", &fixture("trace_missing.toml"), &[], &expected);
}

#[test]
fn trace_arrival_beyond_the_simulated_clock() {
    // 10^15 ms is past 2^64 ns (about 1.8 * 10^13 ms), the last instant the
    // clock can represent. Accepting it silently clamps the arrival; with
    // the default 1 s utilisation sampling such a run writes rows for 584
    // simulated years (the fixture turns sampling off to end quickly).
    trace_case("trace_huge_arrival.toml", "trace_huge_arrival.csv", 3, &["arrival_ms"]);
}

#[test]
fn trace_input_larger_than_a_byte_counter() {
    // 10^17 kB = 10^20 bytes, more than a u64 holds.
    trace_case("trace_huge_input.toml", "trace_huge_input.csv", 2, &["input_kb"]);
}

// ---- the output directory ----------------------------------------------

#[test]
fn unwritable_output_directory_under_a_regular_file() {
    // Tests run as root, so permission bits would not stop a write: a
    // directory cannot be created under a regular file whoever you are.
    let tmp = TempDir::new("bad-input", "out_under_file");
    let afile = tmp.join("afile");
    fs::write(&afile, "not a directory\n").expect("write afile");
    let out = afile.join("out");
    let reason = os_error(fs::create_dir_all(&out));
    let o = run_in(&tmp, &args(&fixture("valid.toml"), &[], Some(&out), false));
    let mut problems =
        rejection_problems(&o, &[out.display().to_string(), "cannot create the output directory".into(), reason]);
    if fs::read_to_string(&afile).ok().as_deref() != Some("not a directory\n") {
        problems.push(format!("{} was changed", afile.display()));
    }
    fail_case("out_under_file", "--out under a regular file", &problems, &o);
}

#[test]
fn output_path_is_a_regular_file() {
    let tmp = TempDir::new("bad-input", "out_is_file");
    let afile = tmp.join("afile");
    fs::write(&afile, "not a directory\n").expect("write afile");
    let o = run_in(&tmp, &args(&fixture("trace_ok.toml"), &[], Some(&afile), false));
    let reason = os_error(fs::create_dir(&afile));
    let mut problems = rejection_problems(&o, &[afile.display().to_string(), "output directory".into(), reason]);
    if fs::read_to_string(&afile).ok().as_deref() != Some("not a directory\n") {
        problems.push(format!("{} was changed", afile.display()));
    }
    let others: Vec<String> = entries(&tmp.0).into_iter().filter(|n| n != "afile").collect();
    if !others.is_empty() {
        problems.push(format!("{} holds {others:?} afterwards", tmp.0.display()));
    }
    fail_case("out_is_file", "--out is a regular file", &problems, &o);
}

#[test]
fn failed_run_leaves_an_earlier_runs_results_untouched() {
    let tmp = TempDir::new("bad-input", "keep_earlier");
    let out = tmp.join("out");
    let ok = run_in(&tmp, &args(&fixture("trace_ok.toml"), &[], Some(&out), false));
    assert_eq!(ok.code, Some(0), "the first run should succeed\n{}", ok.describe());
    let before = snapshot(&out);
    let names: Vec<&Path> = before.keys().map(PathBuf::as_path).collect();
    assert!(RESULT_FILES.iter().all(|f| names.contains(&Path::new(f))), "{names:?}");
    let o = run_in(&tmp, &args(&fixture("trace_late_error.toml"), &[], Some(&out), false));
    let mut problems = rejection_problems(&o, &[at_line("trace_late_error.csv", 501)]);
    let after = snapshot(&out);
    if after != before {
        let names: Vec<&Path> = after.keys().map(PathBuf::as_path).collect();
        problems.push(format!("the earlier results changed: the directory now holds {names:?}"));
    }
    fail_case("keep_earlier", "a failing run into a directory of results", &problems, &o);
}

#[test]
fn failed_run_removes_the_directories_it_created() {
    // `--out a/b/c` where none exists: the failed run must not leave `a` or
    // `a/b` behind either.
    let tmp = TempDir::new("bad-input", "nested_out");
    let out = tmp.join("new/deeper/out");
    let o = run_in(&tmp, &args(&fixture("trace_late_error.toml"), &[], Some(&out), false));
    let mut problems = rejection_problems(&o, &[at_line("trace_late_error.csv", 501)]);
    for dir in [tmp.join("new/deeper/out"), tmp.join("new/deeper"), tmp.join("new")] {
        if dir.exists() {
            problems.push(format!("{} did not exist before the run but does afterwards", dir.display()));
        }
    }
    fail_case("nested_out", "--out names nested new directories", &problems, &o);
}

// ---- --dry-run -----------------------------------------------------------

#[test]
fn dry_run_of_valid_scenarios_exits_0_and_writes_nothing() {
    for (scenario, says) in [
        ("valid.toml", "valid (scenario valid)".to_string()),
        ("trace_ok.toml", "valid (scenario trace_ok, trace of 4 tasks)".to_string()),
    ] {
        let tmp = TempDir::new("bad-input", "dry_run_ok");
        let out = tmp.join("out");
        let existing = tmp.join("existing");
        fs::create_dir(&existing).expect("create a directory");
        for target in [Some(out.as_path()), Some(existing.as_path()), None] {
            let o = run_in(&tmp, &args(&fixture(scenario), &[], target, true));
            let mut problems = Vec::new();
            if o.code != Some(0) {
                problems.push(format!("exit code {:?}, expected 0", o.code));
            }
            if !o.stdout.contains(&says) {
                problems.push(format!("stdout does not say `{says}`"));
            }
            if out.exists() {
                problems.push(format!("{} was created", out.display()));
            }
            problems.extend(leftover_problems(&existing));
            let others: Vec<String> = entries(&tmp.0)
                .into_iter()
                .filter(|n| n != "existing" && !n.ends_with(".stdout") && !n.ends_with(".stderr"))
                .collect();
            if !others.is_empty() {
                problems.push(format!("the working directory holds {others:?} afterwards"));
            }
            fail_case(scenario, "--dry-run of a valid scenario", &problems, &o);
        }
    }
}

#[test]
fn dry_run_of_a_bad_trace_exits_2() {
    let tmp = TempDir::new("bad-input", "dry_run_bad");
    let out = tmp.join("out");
    let o = run_in(&tmp, &args(&fixture("trace_late_error.toml"), &[], Some(&out), true));
    let mut problems =
        rejection_problems(&o, &[at_line("trace_late_error.csv", 501), "`work_mcycles` is `abc`".into()]);
    if out.exists() {
        problems.push(format!("{} was created", out.display()));
    }
    fail_case("dry_run_bad", "--dry-run of a bad trace", &problems, &o);
}

// ---- bounds on scalars, traces that are not text, long quotes --------------

/// The cases of `limits.cases`: scalars past their bounds, each rejected
/// with the field, the value and the allowed range, and runs too large for
/// the machine or the budgets, rejected with the numbers.
#[test]
fn inputs_past_their_limits() {
    let cases = fs::read_to_string(fixture("limits.cases")).expect("read limits.cases");
    let mut ran = 0;
    for line in cases.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        let [case, scenario, sets, expected] = cols[..] else { panic!("limits.cases: a case has 4 columns: {line}") };
        let mut extra = Vec::new();
        for set in sets.split(';').map(str::trim) {
            extra.extend(["--set", set]);
        }
        let mut want = vec![fixture(scenario).display().to_string()];
        want.extend(expected.split(';').map(|e| e.trim().to_string()));
        assert_rejected(case, &fixture(scenario), &extra, &want);
        ran += 1;
    }
    assert!(ran >= 23, "limits.cases holds {ran} cases");
}

#[test]
fn trace_row_working_longer_than_a_year() {
    trace_case(
        "trace_slow_work.toml",
        "trace_slow_work.csv",
        3,
        &["`work_mcycles` takes 1.000e9 s on the slowest processor (1 GHz)", "at most 3.15576e7 s (one year)"],
    );
}

#[test]
fn trace_row_sending_longer_than_a_year() {
    trace_case(
        "trace_slow_input.toml",
        "trace_slow_input.csv",
        3,
        &["`input_kb` takes 1.600e8 s on the slowest link (50 Mbps)", "at most 3.15576e7 s (one year)"],
    );
}

#[test]
fn trace_with_binary_bytes() {
    trace_case("trace_binary.toml", "trace_binary.csv", 3, &["a NUL byte: this is not a text CSV file"]);
}

#[test]
fn trace_of_dev_zero_fails_at_once() {
    let expected = strings(&["/dev/zero:1:", "a NUL byte: this is not a text CSV file"]);
    assert_rejected("trace_dev_zero", &fixture("trace_dev_zero.toml"), &[], &expected);
}

/// A copy of `trace_ok.toml` replaying `trace` (written into `dir`).
fn with_trace(dir: &TempDir, trace: &str) -> PathBuf {
    let scenario = fs::read_to_string(fixture("trace_ok.toml")).expect("read the fixture");
    fs::write(dir.join("t.toml"), scenario.replace("trace_ok.csv", "t.csv")).expect("write the scenario");
    fs::write(dir.join("t.csv"), trace).expect("write the trace");
    dir.join("t.toml")
}

#[test]
fn trace_line_longer_than_the_limit() {
    let dir = TempDir::new("bad-input", "long_line_input");
    let trace = format!("task_id,arrival_ms,device,work_mcycles\n1,0,cam-0,100\n2,1,cam-{}\n", "9".repeat(70_000));
    let scenario = with_trace(&dir, &trace);
    let expected = [format!("{}:3:", dir.join("t.csv").display()), "the line is longer than 65536 bytes".into()];
    assert_rejected("long_line", &scenario, &[], &expected);
}

/// A message quotes at most 80 characters of a bad field, then `…`.
fn assert_quoted_short(case: &str, scenario: &Path, extra: &[&str], expected: &[String], long: &str) {
    assert_rejected(case, scenario, extra, expected);
    let tmp = TempDir::new("bad-input", case);
    let o = run_in(&tmp, &args(scenario, extra, None, true));
    assert!(o.stderr.contains(&format!("{}…", &long[..80])), "no 80-character excerpt\n{}", o.describe());
    assert!(!o.stderr.contains(&long[..81]), "more than 80 characters quoted\n{}", o.describe());
    assert!(o.stderr.len() < 1000, "a {}-byte message\n{}", o.stderr.len(), o.describe());
}

#[test]
fn long_trace_cell_is_quoted_short() {
    let dir = TempDir::new("bad-input", "long_cell_input");
    let long = format!("cam-{}", "7".repeat(5000));
    let scenario = with_trace(&dir, &format!("task_id,arrival_ms,device,work_mcycles\n1,0,{long},100\n"));
    let expected = [format!("{}:2:", dir.join("t.csv").display()), "unknown device `cam-777".into()];
    assert_quoted_short("long_cell", &scenario, &[], &expected, &long);
}

#[test]
fn long_scenario_field_is_quoted_short() {
    let long = format!("a{}", "b".repeat(5000));
    let set = format!("devices.cam.network={long}");
    let expected = strings(&["devices[cam].network", "unknown network `abbb", "expected one of: wifi"]);
    assert_quoted_short("long_field", &fixture("valid.toml"), &["--set", &set], &expected, &long);
}

#[test]
fn long_line_in_a_malformed_scenario_is_quoted_short() {
    let dir = TempDir::new("bad-input", "long_toml_input");
    let long = format!("name = \"{}\" junk", "x".repeat(5000));
    let text = fs::read_to_string(fixture("valid.toml")).expect("read the fixture").replace("name = \"valid\"", &long);
    fs::write(dir.join("long.toml"), text).expect("write the scenario");
    let o = run_in(&dir, &args(&dir.join("long.toml"), &[], None, true));
    let mut problems = rejection_problems(&o, &["invalid scenario".to_string()]);
    if o.stderr.len() > 1000 {
        problems.push(format!("a {}-byte message", o.stderr.len()));
    }
    fail_case("long_toml", "--dry-run", &problems, &o);
}

#[test]
fn no_limits_skips_the_estimate() {
    let tmp = TempDir::new("bad-input", "no_limits");
    let huge = ["--set", "devices.cam.count=1000000000"];
    let o = run_in(&tmp, &args(&fixture("valid.toml"), &[&huge[..], &["--no-limits"]].concat(), None, true));
    assert_eq!(o.code, Some(0), "--no-limits should let the dry run pass\n{}", o.describe());
}

#[test]
fn lognormal_whose_log_variance_overflows() {
    scenario_case(
        "lognormal_tiny_mean.toml",
        &[
            "devices[cam].workload.work_mcycles",
            "`std` (1.0) is too large for `mean` (1e-200)",
            "std/mean must be at most 1.3408e154",
        ],
    );
}

#[test]
fn lognormal_link_jitter_whose_log_variance_overflows() {
    scenario_case(
        "lognormal_jitter.toml",
        &["networks[wifi].up.jitter_ms", "`std` (1.0) is too large for `mean` (1e-300)"],
    );
}

#[test]
fn set_a_lognormal_whose_log_variance_overflows() {
    let path = fixture("valid.toml");
    assert_rejected(
        "set_lognormal",
        &path,
        &["--set", "devices.cam.workload.work_mcycles={ kind = \"lognormal\", mean = 1e-300, std = 1 }"],
        &[
            path.display().to_string(),
            "devices[cam].workload.work_mcycles".into(),
            "`std` (1.0) is too large for `mean` (1e-300)".into(),
        ],
    );
}

#[test]
fn preloaded_images_larger_than_the_cache_once_rounded_to_bytes() {
    scenario_case(
        "preloaded_rounding.toml",
        &["nodes[cloud].preloaded_images", "the preloaded images take 2 bytes", "holds (1 bytes)"],
    );
}
