//! One live run spread over two Docker Engines, against real engines (no
//! mocks): the local one and a second engine on TCP with mutual TLS, which
//! `.ci/second-engine.sh start` runs on this machine and describes in
//! `OFFSIM_SECOND_ENGINE_URL`, `OFFSIM_SECOND_ENGINE_CERTS` (a directory of
//! `ca.pem`, `cert.pem`, `key.pem`) and `OFFSIM_SECOND_ENGINE_SOCKET` (its
//! unix socket, through which the tests check the engine independently of
//! the code under test).
//!
//! A test that finds either engine missing says `SKIPPED` on stderr and
//! passes, unless `OFFSIM_REQUIRE_DOCKER` is set, in which case it fails.
//! The live tests run one at a time, with the other live tests, and remove
//! what they create on both engines, even when they fail. The test of `--cleanup` removes every
//! offsim object on both engines, as that command does. Bad host fields
//! need no engine.

use super::{
    CommandGuard, EDGE, TestImage, device, docker_api, has_image, interrupt, leftovers, one_at_a_time, scenario_head,
};
use crate::helpers::{TempDir, offsim, rows, run};
use offsim::live::run::run_live_with;
use offsim::policy::{EndReason, PolicyRegistry};
use offsim::run::RunOptions;
use offsim::scenario::LoadedScenario;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A sensor and the cloud node on the local engine; a camera and the edge
/// node on host `second`. `random` places tasks locally and on both nodes,
/// so tasks cross between the engines both ways.
fn spread() -> String {
    let hosts = r#"[[live.hosts]]
name = "second"
url = "URL"
tls_ca = "CERTS/ca.pem"
tls_cert = "CERTS/cert.pem"
tls_key = "CERTS/key.pem"
place = ["edge", "camera"]
"#;
    let wifi = r#"[[networks]]
name = "wifi"
up = { bandwidth_mbps = 20, latency_ms = 5 }
down = { bandwidth_mbps = 40, latency_ms = 5 }
"#;
    let cloud = r#"[[nodes]]
name = "cloud"
tier = "cloud"
cores = 1
speed_ghz = 1.2
up = { bandwidth_mbps = 100, latency_ms = 10 }
down = { bandwidth_mbps = 100, latency_ms = 10 }
power = { idle_w = 20, busy_w = 60 }
"#;
    format!("{}{hosts}{wifi}{}{}{EDGE}{cloud}", scenario_head("live-spread"), device("sensor"), device("camera"))
}

/// The second engine, as `.ci/second-engine.sh` describes it.
struct Second {
    url: String,
    certs: PathBuf,
    /// Its unix socket, for checks independent of the code under test.
    socket: String,
}

impl Second {
    /// `None` (the test is skipped) when the local engine or the second
    /// engine is missing.
    fn or_skip(test: &str) -> Option<Second> {
        docker_api::engine_or_skip(test)?;
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        match (var("OFFSIM_SECOND_ENGINE_URL"), var("OFFSIM_SECOND_ENGINE_CERTS"), var("OFFSIM_SECOND_ENGINE_SOCKET")) {
            (Some(url), Some(certs), Some(socket)) => Some(Second { url, certs: certs.into(), socket }),
            _ if std::env::var_os("OFFSIM_REQUIRE_DOCKER").is_some() => panic!(
                "{test}: OFFSIM_REQUIRE_DOCKER is set, but OFFSIM_SECOND_ENGINE_URL, OFFSIM_SECOND_ENGINE_CERTS and \
                 OFFSIM_SECOND_ENGINE_SOCKET do not all name a second engine (`.ci/second-engine.sh start` prints them)"
            ),
            _ => {
                eprintln!(
                    "SKIPPED {test}: no second Docker Engine (set OFFSIM_SECOND_ENGINE_URL, OFFSIM_SECOND_ENGINE_CERTS \
                     and OFFSIM_SECOND_ENGINE_SOCKET, e.g. with `eval \"$(.ci/second-engine.sh start)\"`)"
                );
                None
            }
        }
    }

    /// The spread scenario, on this engine, written to `dir`.
    fn scenario(&self, dir: &TempDir, duration_s: u32) -> PathBuf {
        let text = spread()
            .replace("URL", &self.url)
            .replace("CERTS", self.certs.to_str().unwrap())
            .replace("duration_s = 4", &format!("duration_s = {duration_s}"));
        let path = dir.join("spread.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Both engines' addresses, local first, for [`docker_api`].
    fn engines(&self) -> [String; 2] {
        [docker_api::local(), self.socket.clone()]
    }
}

/// The worker containers on the engine at `host`, by entity name (their
/// names are `offsim-<pid>-<time>-<entity>`), with the container ports each
/// publishes.
fn workers(host: &str) -> BTreeMap<String, Vec<u64>> {
    let listed = ["device", "node"]
        .iter()
        .flat_map(|r| docker_api::listed_at(host, "containers", &format!("io.offsim.role={r}")));
    listed
        .map(|c| {
            let name = c["Names"][0].as_str().unwrap_or("").splitn(4, '-').nth(3).unwrap_or("").to_string();
            let mut published: Vec<u64> = (c["Ports"].as_array().into_iter().flatten())
                .filter(|p| p["PublicPort"].is_u64())
                .filter_map(|p| p["PrivatePort"].as_u64())
                .collect();
            published.sort_unstable();
            published.dedup();
            (name, published)
        })
        .collect()
}

/// Starts `offsim live SCENARIO` and waits until it has worker containers
/// on both engines (a node on each).
fn start_spread_run(second: &Second, scenario: &Path, out: &Path) -> Child {
    let mut child = offsim()
        .args(["live", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "--no-plots"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let give_up = Instant::now() + Duration::from_secs(120);
    let [local, remote] = second.engines();
    // Nodes start after devices, the cloud node last.
    while !(workers(&local).contains_key("cloud") && workers(&remote).contains_key("edge")) {
        if Instant::now() > give_up || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!("the run never had containers on both engines: {}", String::from_utf8_lossy(&output.stderr));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

/// The spread scenario with `hosts` in place of its `[[live.hosts]]`.
fn with_hosts(hosts: &str) -> String {
    let spread = spread();
    let section = &spread[spread.find("[[live.hosts]]").unwrap()..spread.find("[[networks]]").unwrap()];
    spread.replace(section, &format!("{hosts}\n"))
}

#[test]
fn a_run_spread_over_two_engines_runs_tasks_on_both_and_removes_everything() {
    let _one = one_at_a_time();
    let test = "a_run_spread_over_two_engines";
    let Some(second) = Second::or_skip(test) else { return };
    let dir = TempDir::new("live-engines", "spread");
    let scenario = LoadedScenario::from_file(&second.scenario(&dir, 4), &[]).unwrap();
    let test_image = TestImage::connect(test, &scenario);
    let engines = &test_image.0;
    let [local, remote] = second.engines();
    assert!(has_image(&local, engines.image()) && has_image(&remote, engines.image()), "built on both");

    // What each engine runs, seen through its own API while the run lasts.
    let running = AtomicBool::new(true);
    let seen = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            let mut seen = [BTreeMap::new(), BTreeMap::new()];
            while running.load(Ordering::Relaxed) {
                for (host, seen) in [&local, &remote].into_iter().zip(&mut seen) {
                    // A container lists its published ports only while it runs.
                    for (name, ports) in workers(host) {
                        let known: &mut Vec<u64> = seen.entry(name).or_default();
                        known.extend(ports);
                        known.sort_unstable();
                        known.dedup();
                    }
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            seen
        });
        let out = dir.join("out");
        let opts = RunOptions { seed: None, out_dir: Some(out), command_line: vec!["test".into()], no_limits: false };
        let report = run_live_with(&scenario, &opts, &PolicyRegistry::new(), engines);
        running.store(false, Ordering::Relaxed);
        (report, watcher.join().unwrap())
    });
    let (report, [on_local, on_remote]) = seen;
    let report = report.unwrap();
    // Local workers are reached on the run's network; the second engine's
    // publish their control port (7070) and, for a node, data port (7071).
    let expected = |workers: &[(&str, &[u64])]| -> BTreeMap<String, Vec<u64>> {
        workers.iter().map(|(name, ports)| (name.to_string(), ports.to_vec())).collect()
    };
    assert_eq!(on_local, expected(&[("sensor-0", &[]), ("cloud", &[])]));
    assert_eq!(on_remote, expected(&[("camera-0", &[7070]), ("edge", &[7070, 7071])]));
    assert_eq!((leftovers(&local), leftovers(&remote)), (0, 0), "containers and networks removed from both engines");

    let s = &report.summary;
    let simulated = offsim::run::simulate(&scenario, 3).unwrap();
    assert_eq!(s.tasks, simulated.tasks, "the live run replays the simulated workload");
    assert_eq!(s.completed(), s.tasks, "every task completes: {s:?}");
    assert_eq!(s.ended_by(EndReason::Failed), 0);
    let tasks = rows(&dir.join("out").join("tasks.csv"));
    assert_eq!(tasks.len() as u64, s.tasks);
    let mut paths: BTreeMap<(String, String), usize> = BTreeMap::new();
    for r in &tasks {
        assert_eq!(&r[17], "completed", "{r:?}");
        let upload: f64 = r[10].parse().unwrap();
        // One way: the access network's 5 ms and the node link's latency.
        match &r[5] {
            "edge" => assert!(upload >= 7.0, "upload {upload} ms to edge: {r:?}"),
            "cloud" => assert!(upload >= 15.0, "upload {upload} ms to cloud: {r:?}"),
            _ => assert_eq!(&r[4], "local", "{r:?}"),
        }
        *paths.entry((r[1].to_string(), r[5].to_string())).or_default() += 1;
    }
    // Every device ran tasks itself and on each node: across the engines
    // both ways (sensor -> edge, camera -> cloud) and within each.
    for device in ["sensor-0", "camera-0"] {
        for node in ["", "edge", "cloud"] {
            let key = (device.to_string(), node.to_string());
            assert!(paths.get(&key).is_some_and(|&n| n > 0), "no task of {device} ran at `{node}`: {paths:?}");
        }
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out").join("manifest.json")).unwrap()).unwrap();
    let engine = manifest["live"]["engine"].as_str().unwrap();
    assert!(engine.contains(&format!("second: {} (Docker ", second.url)), "{engine}");
}

#[test]
fn an_interrupted_spread_run_leaves_nothing_on_either_engine() {
    let _one = one_at_a_time();
    let Some(second) = Second::or_skip("an_interrupted_spread_run") else { return };
    let _guard = CommandGuard::new(&second.engines());
    let dir = TempDir::new("live-engines", "interrupt");
    let scenario = second.scenario(&dir, 60);
    let child = start_spread_run(&second, &scenario, &dir.join("out"));
    std::thread::sleep(Duration::from_secs(2));
    let (code, stderr) = interrupt(child, "INT");
    assert_eq!(code, Some(130), "128 + SIGINT: {stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let [local, remote] = second.engines();
    assert_eq!((leftovers(&local), leftovers(&remote)), (0, 0), "both engines cleaned after Ctrl-C: {stderr}");
    assert!(!dir.join("out").join("summary.csv").exists(), "no result files from an interrupted run");
}

#[test]
fn cleanup_with_the_scenario_cleans_both_engines() {
    let _one = one_at_a_time();
    let Some(second) = Second::or_skip("cleanup_with_the_scenario") else { return };
    let guard = CommandGuard::new(&second.engines());
    let dir = TempDir::new("live-engines", "cleanup");
    let scenario = second.scenario(&dir, 60);
    // A run killed outright cannot remove anything: its containers and
    // networks stay on both engines.
    let mut child = start_spread_run(&second, &scenario, &dir.join("out"));
    child.kill().unwrap();
    child.wait().unwrap();
    let [local, remote] = second.engines();
    assert_eq!((workers(&local).len(), workers(&remote).len()), (2, 2), "the killed run's containers stay");
    assert!(leftovers(&local) > 2 && leftovers(&remote) > 2, "and its networks");
    // Until its workers' lease runs out, the run is alive: a clean-up
    // leaves it alone on both engines.
    let early = run(&["live", "--cleanup", scenario.to_str().unwrap()]);
    let early_out = String::from_utf8_lossy(&early.stdout);
    assert_eq!(early.status.code(), Some(0), "{early_out}{}", String::from_utf8_lossy(&early.stderr));
    assert_eq!(early_out.matches("left 1 run in progress alone").count(), 2, "{early_out}");
    assert_eq!((workers(&local).len(), workers(&remote).len()), (2, 2), "nothing of the live run removed");
    // Then its workers stop by themselves (those the controller had not
    // reached yet after their first-contact time), a container it had
    // created but not started ages past the start-up grace, and the run is
    // dead.
    let alive = |host: &str| {
        let grace = offsim::live::engine::docker::START_GRACE.as_secs();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        ["device", "node"]
            .iter()
            .flat_map(|r| docker_api::listed_at(host, "containers", &format!("io.offsim.role={r}")))
            .filter(|c| {
                c["State"] == "running"
                    || c["State"] == "created" && now.saturating_sub(c["Created"].as_u64().unwrap_or(0)) < grace
            })
            .count()
    };
    let most = offsim::live::worker::FIRST_CONTACT.max(offsim::live::engine::docker::START_GRACE);
    let deadline = Instant::now() + most + Duration::from_secs(15);
    while alive(&local) + alive(&remote) > 0 {
        assert!(Instant::now() < deadline, "the killed run is still alive after its workers' lease");
        std::thread::sleep(Duration::from_millis(200));
    }

    let output = run(&["live", "--cleanup", scenario.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "one line per engine: {stdout}");
    assert!(lines[0].contains("removed 2 containers, 1 network, "), "{stdout}");
    assert!(lines[1].starts_with(&format!("second: {} (Docker ", second.url)), "{stdout}");
    assert!(lines[1].contains("removed 2 containers, 1 network, "), "{stdout}");
    assert_eq!((leftovers(&local), leftovers(&remote)), (0, 0), "both engines cleaned");
    for host in [&local, &remote] {
        assert!(!has_image(host, &guard.tag), "the worker image is removed from {host}");
    }
}

#[test]
fn bad_host_fields_are_refused_naming_the_field() {
    let dir = TempDir::new("live-engines", "bad");
    let host = |fields: &str| format!("[[live.hosts]]\nname = \"far\"\nurl = \"tcp://127.0.0.1:1\"\n{fields}\n");
    let cases = [
        (host("place = [\"edge\", \"ghost\"]"), "live.hosts[far].place: unknown node or device class `ghost`"),
        (
            host("place = [\"edge\", \"edge\"]"),
            "live.hosts[far].place: `edge` is placed twice: this host already runs it",
        ),
        (
            host("place = [\"edge\"]")
                + "[[live.hosts]]\nname = \"near\"\nurl = \"tcp://127.0.0.1:2\"\nplace = [\"edge\"]",
            "live.hosts[near].place: `edge` is placed twice: host `far` runs it",
        ),
        (host("place = [\"edge\"]") + &host("place = [\"camera\"]"), "live.hosts[far]: the name `far` is used twice"),
        (host("place = []"), "live.hosts[far].place: expected at least one node or device class name"),
        (host("place = [\"edge\"]\ntls_ca = \"ca.pem\""), "live.hosts[far]: give all of tls_ca, tls_cert and tls_key"),
        (
            host("place = [\"edge\"]\ncontroller_address = \"controller.example\""),
            "live.hosts[far].controller_address: expected an IP address",
        ),
        (host("place = [\"edge\"]\nhost_core_ghz = 0"), "live.hosts[far].host_core_ghz: expected a number > 0"),
        (host("place = [\"edge\"]\nplcae = [\"edge\"]"), "unknown field `plcae`"),
        (
            host("place = [\"edge\"]").replace("tcp://127.0.0.1:1", "ssh://far"),
            "live.hosts[far].url: expected unix://PATH or tcp://HOST:PORT, got `ssh://far`",
        ),
        (
            host("place = [\"edge\"]\ntls_ca = \"a\"\ntls_cert = \"b\"\ntls_key = \"c\"")
                .replace("tcp://127.0.0.1:1", "unix:///x.sock"),
            "live.hosts[far].url: TLS needs a tcp://HOST:PORT url",
        ),
        (host("place = [\"edge\"]").replace("tcp://127.0.0.1:1", "tcp://:2376"), "live.hosts[far].address: required"),
        (
            host("place = [\"edge\"]")
                + "[[live.hosts]]\nname = \"again\"\nurl = \"tcp://127.0.0.1:1\"\nplace = [\"cloud\"]",
            "live.hosts[again].url: the engine `tcp://127.0.0.1:1` is already live.hosts[far]",
        ),
        (
            host("place = [\"edge\"]").replace("[[live.hosts]]", "listen_address = \"everywhere\"\n[[live.hosts]]"),
            "live.listen_address: expected an IP address",
        ),
    ];
    for (hosts, expected) in cases {
        let text = with_hosts(&hosts);
        let path = dir.join("bad.toml");
        std::fs::write(&path, text).unwrap();
        let output = run(&["live", path.to_str().unwrap(), "--out", dir.join("out").to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{hosts}: {stderr}");
        assert!(stderr.contains(expected), "{hosts}: expected `{expected}` in: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!dir.join("out").exists(), "nothing written");
    }
}

#[test]
fn an_unreadable_tls_file_or_an_unreachable_host_is_a_clear_error() {
    let dir = TempDir::new("live-engines", "unreachable");
    let everything = "place = [\"edge\", \"cloud\", \"sensor\", \"camera\"]";
    let scenario = |file: &str, url: &str, tls: &str| {
        let path = dir.join(file);
        let hosts = format!("[[live.hosts]]\nname = \"far\"\nurl = \"{url}\"\n{tls}\n{everything}\n");
        std::fs::write(&path, with_hosts(&hosts)).unwrap();
        path
    };
    let missing = dir.join("missing.pem");
    let tls = format!("tls_ca = \"{0}\"\ntls_cert = \"{0}\"\ntls_key = \"{0}\"", missing.display());
    let started = Instant::now();
    for (path, expected) in [
        (
            scenario("tls.toml", "tcp://127.0.0.1:1", &tls),
            format!("host `far`: live.hosts[far].tls_ca: cannot read the TLS file {}", missing.display()),
        ),
        (
            scenario("unreachable.toml", "tcp://127.0.0.1:1", ""),
            "host `far`: cannot reach the Docker Engine at tcp://127.0.0.1:1".into(),
        ),
    ] {
        for command in [vec!["live", path.to_str().unwrap()], vec!["live", "--cleanup", path.to_str().unwrap()]] {
            let output = run(&command);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{command:?}: {stderr}");
            assert!(stderr.contains(&expected), "{command:?}: expected `{expected}` in: {stderr}");
        }
    }
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
}
