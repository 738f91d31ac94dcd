//! The live backend end to end against the real Docker Engine (no mocks):
//! a short live run writes the simulator's tables from real containers; a
//! worker killed mid-run ends its tasks as `failed` without hanging the
//! run; Ctrl-C (SIGINT), SIGTERM and SIGHUP stop a run and remove its
//! containers; a missing engine is a clear error.
//!
//! A test that finds no engine says `SKIPPED` on stderr and passes, unless
//! `OFFSIM_REQUIRE_DOCKER` is set (as `.ci/run` does), in which case it
//! fails. The tests run one at a time, with the other live tests, and
//! remove every image they build, even when they fail.

use super::{
    CommandGuard, EDGE, TestImage, device, docker_api, has_image, interrupt, leftovers, one_at_a_time, scenario_head,
};
use crate::helpers::{TempDir, offsim, rows, run};
use offsim::live::run::run_live_with;
use offsim::policy::{EndReason, PolicyRegistry};
use offsim::run::RunOptions;
use offsim::scenario::LoadedScenario;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Two sensors and an edge node for four seconds; `random` places tasks
/// both locally and on the node.
fn tiny_text() -> String {
    let wifi = r#"[[networks]]
name = "wifi"
up = { bandwidth_mbps = 20, latency_ms = 5, jitter_ms = { kind = "uniform", low = 0, high = 2 } }
down = { bandwidth_mbps = 40, latency_ms = 5 }
"#;
    format!("{}{wifi}{}count = 2\n{EDGE}", scenario_head("live-tiny"), device("sensor"))
}

fn tiny(dir: &TempDir) -> LoadedScenario {
    let path = dir.join("tiny.toml");
    std::fs::write(&path, tiny_text()).unwrap();
    LoadedScenario::from_file(&path, &[]).unwrap()
}

/// The engine holding a worker image with this test's own tag, or `None`
/// (the test is skipped) when no engine is reachable.
fn live(test: &str, scenario: &LoadedScenario) -> Option<TestImage> {
    docker_api::engine_or_skip(test)?;
    Some(TestImage::connect(test, scenario))
}

/// Leftovers on the local engine.
fn local_leftovers() -> usize {
    leftovers(&docker_api::local())
}

#[test]
fn a_live_run_writes_the_simulators_tables_from_real_containers() {
    let _one = one_at_a_time();
    let dir = TempDir::new("live", "tables");
    let scenario = tiny(&dir);
    let Some(live) = live("a_live_run_writes_the_simulators_tables", &scenario) else { return };
    let out = dir.join("out");
    let opts =
        RunOptions { seed: None, out_dir: Some(out.clone()), command_line: vec!["test".into()], no_limits: false };
    let report = run_live_with(&scenario, &opts, &PolicyRegistry::new(), &live.0).unwrap();
    assert_eq!(local_leftovers(), 0, "the run's containers and network are removed");

    let simulated = offsim::run::simulate(&scenario, 3).unwrap();
    let s = &report.summary;
    assert_eq!(s.tasks, simulated.tasks, "the live run replays the simulated workload");
    assert_eq!(s.completed(), s.tasks, "every task completes: {s:?}");
    let tasks = rows(&out.join("tasks.csv"));
    assert_eq!(tasks.len() as u64, s.tasks);
    let num = |r: &csv::StringRecord, i: usize| r[i].parse::<f64>().unwrap();
    let (mut local, mut offloaded) = (0, 0);
    for r in &tasks {
        let (upload, exec, download, latency) = (num(r, 10), num(r, 12), num(r, 13), num(r, 14));
        assert!(latency >= exec && exec > 0.0, "{r:?}");
        match &r[4] {
            "local" => local += 1,
            "offload" => {
                offloaded += 1;
                assert_eq!(&r[5], "edge");
                // One way: 5 ms + 2 ms of latency and 20 kB over 20 then 100 Mbit/s.
                assert!(upload >= 7.0 + 8.0 + 1.6 - 0.5, "upload {upload} ms: {r:?}");
                assert!(download >= 7.0, "download {download} ms: {r:?}");
            }
            other => panic!("placement {other}"),
        }
    }
    assert!(local > 0 && offloaded > 0, "random places tasks both ways ({local} local, {offloaded} offloaded)");
    let utilisation = rows(&out.join("utilisation.csv"));
    for name in ["sensor", "edge"] {
        assert!(utilisation.iter().any(|r| r[3].starts_with(name)), "utilisation rows for {name}");
    }
    assert!(utilisation.iter().all(|r| (0.0..=1.0).contains(&num(r, 4))));
    let device = s.device_cpu_utilisation.unwrap();
    assert!(device > 0.01 && device < 1.0, "device utilisation {device}");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert!(manifest["live"]["engine"].as_str().unwrap().contains("Docker"), "{manifest}");
    assert!(manifest["live"]["energy"].as_str().unwrap().starts_with("modelled"));
}

#[test]
fn a_worker_killed_mid_run_ends_its_tasks_as_failed_and_nothing_hangs() {
    let _one = one_at_a_time();
    let dir = TempDir::new("live", "crash");
    let scenario = tiny(&dir);
    let Some(live) = live("a_worker_killed_mid_run", &scenario) else { return };
    let killer = std::thread::spawn(|| {
        let give_up = Instant::now() + Duration::from_secs(60);
        while Instant::now() < give_up {
            let devices = docker_api::listed("containers", "io.offsim.role=device");
            if let Some(c) = devices.iter().find(|c| c["Names"][0].as_str().unwrap_or("").ends_with("sensor-1")) {
                std::thread::sleep(Duration::from_millis(1500));
                let (status, body) =
                    docker_api::request("POST", &format!("/containers/{}/kill", c["Id"].as_str().unwrap()));
                assert_eq!(status, 204, "{body}");
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("no sensor-1 container appeared");
    });
    let opts =
        RunOptions { seed: None, out_dir: Some(dir.join("out")), command_line: vec!["test".into()], no_limits: false };
    let started = Instant::now();
    let report = run_live_with(&scenario, &opts, &PolicyRegistry::new(), &live.0).unwrap();
    killer.join().unwrap();
    assert!(started.elapsed() < Duration::from_secs(60), "the run ended in {:?}", started.elapsed());
    let s = &report.summary;
    assert!(s.ended_by(EndReason::Failed) > 0, "sensor-1's tasks after the kill failed: {s:?}");
    assert_eq!(s.completed() + s.ended_by(EndReason::Failed), s.tasks, "{s:?}");
    let failed: Vec<_> = rows(&dir.join("out").join("tasks.csv")).into_iter().filter(|r| &r[17] == "failed").collect();
    assert!(failed.iter().all(|r| &r[1] == "sensor-1"), "only the killed device's tasks fail: {failed:?}");
    assert_eq!(local_leftovers(), 0);
}

#[test]
fn ctrl_c_stops_a_live_run_and_removes_its_containers() {
    signal_stops_a_live_run("ctrl_c_stops_a_live_run", "INT", 130);
}

#[test]
fn sigterm_and_sighup_stop_a_live_run_like_ctrl_c() {
    signal_stops_a_live_run("sigterm_stops_a_live_run", "TERM", 143);
    signal_stops_a_live_run("sighup_stops_a_live_run", "HUP", 129);
}

/// Waits until a live run has started its node containers.
fn await_node_containers() {
    let give_up = Instant::now() + Duration::from_secs(90);
    while docker_api::listed("containers", "io.offsim.role=node").is_empty() {
        assert!(Instant::now() < give_up, "the run never started its containers");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `offsim live` on the tiny scenario for a minute (stderr piped), once
/// its containers have been up for two seconds.
fn start_live_command(dir: &TempDir) -> std::process::Child {
    let scenario = dir.join("tiny.toml");
    std::fs::write(&scenario, tiny_text().replace("duration_s = 4", "duration_s = 60")).unwrap();
    let child = offsim()
        .args(["live", scenario.to_str().unwrap(), "--out", dir.join("out").to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    await_node_containers();
    std::thread::sleep(Duration::from_secs(2));
    child
}

/// Starts a minute-long live run, sends it `signal` once its containers
/// run, and checks that it exits with `code` (128 + the signal's number),
/// its containers and network removed and no result file written.
fn signal_stops_a_live_run(test: &str, signal: &str, code: i32) {
    let _one = one_at_a_time();
    if docker_api::engine_or_skip(test).is_none() {
        return;
    }
    // The command builds its own image (tagged by the binary's hash):
    // removed afterwards unless it was already there.
    let _guard = CommandGuard::new(&[docker_api::local()]);
    let dir = TempDir::new("live", "interrupt");
    let child = start_live_command(&dir);
    let (got, stderr) = interrupt(child, signal);
    assert_eq!(got, Some(code), "SIG{signal}: {stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(local_leftovers(), 0, "containers and network removed after SIG{signal}");
    assert!(!dir.join("out").join("summary.csv").exists(), "no result files from an interrupted run");
}

#[test]
fn a_missing_engine_is_a_clear_error() {
    let dir = TempDir::new("live", "no-engine");
    let scenario = dir.join("tiny.toml");
    std::fs::write(&scenario, tiny_text()).unwrap();
    let output = run(&[
        "live",
        scenario.to_str().unwrap(),
        "--out",
        dir.join("out").to_str().unwrap(),
        "--set",
        r#"live.engine={ url = "unix:///nonexistent/docker.sock" }"#,
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unix:///nonexistent/docker.sock") && stderr.contains("Docker Engine"), "{stderr}");
    assert!(!dir.join("out").exists(), "nothing written");
}

#[test]
fn a_killed_controllers_workers_stop_within_their_lease_and_cleanup_removes_them() {
    let _one = one_at_a_time();
    if docker_api::engine_or_skip("a_killed_controllers_workers_stop").is_none() {
        return;
    }
    let _guard = CommandGuard::new(&[docker_api::local()]);
    let dir = TempDir::new("live", "sigkill");
    let mut child = start_live_command(&dir);
    child.kill().unwrap(); // SIGKILL: the controller cleans up nothing itself
    child.wait().unwrap();
    let running = || {
        ["device", "node"]
            .iter()
            .flat_map(|r| docker_api::listed("containers", &format!("io.offsim.role={r}")))
            .filter(|c| c["State"] == "running")
            .count()
    };
    assert!(running() > 0, "the workers outlive their controller at first");
    let lease = offsim::live::worker::LEASE;
    let deadline = Instant::now() + lease + Duration::from_secs(15);
    while running() > 0 {
        assert!(Instant::now() < deadline, "{} workers still run {lease:?} after their controller died", running());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(local_leftovers() > 0, "the stopped containers and the network are still there");
    let cleanup = run(&["live", "--cleanup"]);
    assert!(cleanup.status.success(), "{}", String::from_utf8_lossy(&cleanup.stderr));
    assert_eq!(local_leftovers(), 0, "a dead run's containers and network are removed");
}

#[test]
fn cleanup_during_a_live_run_removes_only_runs_no_longer_alive() {
    let _one = one_at_a_time();
    let dir = TempDir::new("live", "two-runs");
    let scenario = tiny(&dir);
    let Some(live) = live("cleanup_during_a_live_run", &scenario) else { return };
    let engine = offsim::live::engine::docker::Engine::connect(&Default::default()).unwrap();
    // A dead run: its network, and a worker container that has exited.
    let dead = format!("{}-dead", super::unique("cleanup_during_a_live_run"));
    let network = engine.create_network(&dead, true).unwrap();
    let spec = offsim::live::engine::docker::ContainerSpec {
        name: format!("offsim-{dead}-device-0"),
        run_id: dead.clone(),
        image: live.0.image().to_string(),
        network: network.name.clone(),
        args: vec!["--version".into()],
        cpus: 1.0,
        cpu_period_us: 100_000,
        memory_bytes: 64 << 20,
        pids_limit: 64,
        role: "device".into(),
        publish: Vec::new(),
        publish_on: None,
    };
    let exited = engine.start_container(&spec).unwrap();
    let give_up = Instant::now() + Duration::from_secs(20);
    while engine.inspect(&exited.id).unwrap().exit_code.is_none() {
        assert!(Instant::now() < give_up, "`offsim --version` never exited");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The live run, and a clean-up while it runs.
    let opts =
        RunOptions { seed: None, out_dir: Some(dir.join("out")), command_line: vec!["test".into()], no_limits: false };
    let removed = std::thread::scope(|s| {
        let running = s.spawn(|| run_live_with(&scenario, &opts, &PolicyRegistry::new(), &live.0));
        await_node_containers();
        // Its workers have no route beyond the run's own network.
        let networks = docker_api::listed("networks", "io.offsim.managed=true");
        let own: Vec<_> = networks.iter().filter(|n| n["Labels"]["io.offsim.run"] != dead.as_str()).collect();
        assert_eq!(own.len(), 1, "{networks:?}");
        assert_eq!(own[0]["Internal"], true, "the live run's network is internal: {:?}", own[0]);
        let removed = engine.cleanup(true);
        let report = running.join().unwrap().unwrap();
        assert_eq!(report.summary.completed(), report.summary.tasks, "the live run ran to the end");
        removed.unwrap()
    });
    assert_eq!((removed.containers, removed.networks), (1, 1), "the dead run only: {removed:?}");
    assert_eq!(removed.alive.len(), 1, "the live run is left alone: {removed:?}");
    assert!(has_image(&docker_api::local(), live.0.image()), "the live run's image is kept");
    assert_eq!(local_leftovers(), 0);
}
