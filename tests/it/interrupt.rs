//! Interrupted and concurrent commands: SIGINT, SIGTERM and SIGHUP remove a
//! command's temporary files and exit with 128 + the signal's number; the
//! temporary files of a killed run are removed by the next run into the
//! directory; a second command into a directory another one is writing in
//! is refused with exit code 2 and writes nothing.

use crate::helpers::{TIMEOUT, TempDir, offsim, repo, wait_with_timeout};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

/// Settings that make the quick-start scenario run for minutes while its
/// `tasks.csv` grows by a few MB a second (heartbeats make most events).
const LONG: [&str; 6] = [
    "--set",
    "workload.duration_s=1000000",
    "--set",
    "dispatcher.heartbeat_ms=0.1",
    "--set",
    "outputs.utilisation_interval_ms=0",
];

fn quickstart() -> String {
    repo("scenarios/quickstart.toml").display().to_string()
}

fn start(args: &[&str]) -> Child {
    offsim()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("offsim starts")
}

/// Hidden temporary files (`.<name>.tmp-...`) anywhere under `dir`.
fn temporaries(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else { return found };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            found.extend(temporaries(&p));
        } else if name.starts_with('.') && name.contains(".tmp-") {
            found.push(p);
        }
    }
    found
}

/// Waits until `dir` holds a temporary file, that is until the command
/// writing there is well under way.
fn wait_for_temporaries(dir: &Path, child: &mut Child) {
    let start = Instant::now();
    while temporaries(dir).is_empty() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("offsim ended ({status}) before writing anything in {}", dir.display());
        }
        assert!(start.elapsed() < TIMEOUT, "no temporary file in {} after {TIMEOUT:?}", dir.display());
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn signal(child: &Child, sig: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: sends a signal to a child this test started and has not reaped.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "cannot signal offsim");
}

/// Waits for `child` (killed after [`TIMEOUT`]): its exit code and output.
fn finish(mut child: Child) -> (Option<i32>, String) {
    let code = wait_with_timeout(&mut child, TIMEOUT);
    let Output { stdout, stderr, .. } = child.wait_with_output().expect("collect offsim's output");
    (code, format!("{}\n{}", String::from_utf8_lossy(&stdout), String::from_utf8_lossy(&stderr)))
}

/// Files under `dir` that are neither hidden nor directories.
fn visible_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else { return found };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            found.extend(visible_files(&p));
        } else if !e.file_name().to_string_lossy().starts_with('.') {
            found.push(p);
        }
    }
    found
}

#[test]
fn a_signalled_run_removes_its_temporaries_and_exits_128_plus_the_signal() {
    for (sig, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143), (libc::SIGHUP, 129)] {
        let t = TempDir::new("interrupt", "run");
        let out = t.join("new/out");
        let o = out.display().to_string();
        let q = quickstart();
        let mut child = start(&[&["run", q.as_str(), "--out", &o][..], &LONG].concat());
        wait_for_temporaries(&out, &mut child);
        signal(&child, sig);
        let (got, text) = finish(child);
        assert_eq!(got, Some(code), "signal {sig}: {text}");
        assert!(text.contains("interrupted by"), "signal {sig}: {text}");
        assert!(temporaries(&t.0).is_empty(), "signal {sig} left {:?}", temporaries(&t.0));
        assert!(!t.join("new").exists(), "signal {sig}: the directories the run created remain");
    }
}

#[test]
fn a_signalled_sweep_plan_or_report_writes_no_result() {
    let q = quickstart();
    // A sweep saving its runs' tasks: SIGTERM while runs/0/tasks.csv is written.
    let t = TempDir::new("interrupt", "sweep");
    let out = t.join("sweep");
    let o = out.display().to_string();
    let sweep = ["sweep", q.as_str(), "--out", &o, "--policy", "local", "--replications", "1", "--tasks"];
    let mut child = start(&[&sweep[..], &["--jobs", "1", "--no-progress", "--no-plots"], &LONG].concat());
    wait_for_temporaries(&out, &mut child);
    signal(&child, libc::SIGTERM);
    let (code, text) = finish(child);
    assert_eq!(code, Some(143), "{text}");
    assert!(temporaries(&out).is_empty(), "{:?}", temporaries(&out));
    for f in ["runs.csv", "comparison.csv", "runs/0/tasks.csv", "runs/0/manifest.json"] {
        assert!(!out.join(f).exists(), "{f} was written");
    }

    // A plan writes only at the end: SIGHUP while it searches.
    let out = t.join("plan");
    let o = out.display().to_string();
    let plan = ["plan", q.as_str(), "--out", &o, "--slo", "p95_latency_ms<=100", "--vary", "nodes.edge-1.cores=1..64"];
    let child = start(&[&plan[..], &["--jobs", "1", "--set", "workload.duration_s=100000"]].concat());
    std::thread::sleep(Duration::from_millis(500));
    signal(&child, libc::SIGHUP);
    let (code, text) = finish(child);
    assert_eq!(code, Some(129), "{text}");
    assert!(!out.exists(), "the plan's directory remains: {:?}", fs::read_dir(&out).map(|d| d.count()));

    // A report of a large run: SIGINT while it reads tasks.csv.
    let out = t.join("run");
    let o = out.display().to_string();
    let (code, text) = finish(start(&[
        "run",
        q.as_str(),
        "--out",
        &o,
        "--no-plots",
        "--set",
        "workload.duration_s=50000",
        "--set",
        "outputs.utilisation_interval_ms=0",
    ]));
    assert_eq!(code, Some(0), "{text}");
    let before = visible_files(&out);
    let child = start(&["report", &o]);
    std::thread::sleep(Duration::from_millis(200));
    signal(&child, libc::SIGINT);
    let (code, text) = finish(child);
    assert_eq!(code, Some(130), "{text}");
    assert!(temporaries(&out).is_empty(), "{:?}", temporaries(&out));
    assert_eq!(visible_files(&out), before, "the report added files");
    assert!(!out.join("plots").exists());
}

#[test]
fn the_next_run_removes_what_a_killed_run_left() {
    let t = TempDir::new("interrupt", "killed");
    let out = t.join("out");
    let o = out.display().to_string();
    let q = quickstart();
    let mut child = start(&[&["run", q.as_str(), "--out", &o][..], &LONG].concat());
    wait_for_temporaries(&out, &mut child);
    signal(&child, libc::SIGKILL);
    let (code, _) = finish(child);
    assert_eq!(code, None, "killed");
    let left = temporaries(&out);
    assert!(!left.is_empty(), "SIGKILL cannot be handled: the temporary files remain");
    fs::create_dir_all(out.join("plots")).unwrap();
    fs::write(out.join(format!("plots/.energy.png.tmp-{}-3", i32::MAX)), "half").unwrap();

    let (code, text) = finish(start(&["run", q.as_str(), "--out", &o, "--set", "workload.duration_s=30"]));
    assert_eq!(code, Some(0), "the lock died with the killed run: {text}");
    assert!(temporaries(&out).is_empty(), "stale temporaries remain: {:?}", temporaries(&out));
    assert!(out.join("manifest.json").is_file() && out.join("plots/energy.png").is_file());
}

#[test]
fn a_second_command_into_a_busy_directory_is_refused() {
    let t = TempDir::new("interrupt", "lock");
    let out = t.join("out");
    let o = out.display().to_string();
    let q = quickstart();
    let live = repo("scenarios/live-validation.toml").display().to_string();
    // Long enough to still be running when the second command starts.
    let first = ["run", q.as_str(), "--out", &o, "--no-plots", "--set", "workload.duration_s=5000"];
    let mut child = start(&[&first[..], &LONG[2..]].concat());
    wait_for_temporaries(&out, &mut child);
    let names = |d: &Path| {
        let mut v: Vec<String> =
            fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        v.sort();
        v
    };
    let before = names(&out);
    for second in [
        vec!["run", q.as_str(), "--out", &o, "--set", "workload.duration_s=10"],
        vec!["report", &o],
        vec!["sweep", q.as_str(), "--out", &o, "--no-progress"],
        vec!["plan", q.as_str(), "--out", &o, "--slo", "p95_latency_ms<=100", "--vary", "nodes.edge-1.cores=1..4"],
        // Refused before any Docker Engine is touched.
        vec!["live", live.as_str(), "--out", &o],
        vec!["validate", live.as_str(), "--out", &o],
    ] {
        let (code, text) = finish(start(&second));
        assert_eq!(code, Some(2), "{second:?}: {text}");
        assert!(text.contains(&o) && text.contains("another offsim command is writing"), "{second:?}: {text}");
        assert_eq!(names(&out), before, "{second:?} changed the directory");
    }
    let (code, text) = finish(child);
    assert_eq!(code, Some(0), "the first run: {text}");
    let mut files = names(&out);
    files.retain(|n| !n.starts_with('.'));
    assert_eq!(files, ["manifest.json", "summary.csv", "tasks.csv"], "only the first run's results");
    assert!(!out.join(offsim::results::LOCK_FILE).exists(), "the lock file goes with its run");
}
