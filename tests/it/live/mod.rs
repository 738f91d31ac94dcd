//! The live backend against the real Docker Engine (no mocks): live runs
//! end to end ([`run`]), the Docker layer ([`docker`]), one live run
//! spread over two engines ([`engines`]), and who may talk to a run
//! ([`hardening`]).
//!
//! A test that finds no engine says `SKIPPED` on stderr and passes, unless
//! `OFFSIM_REQUIRE_DOCKER` is set (as `.ci/run` does), in which case it
//! fails. Every test that creates anything on an engine holds
//! [`one_at_a_time`]: live runs need the host's cores, and the checks for
//! leftovers and the clean-ups look at every offsim object on an engine, so
//! no other test may have any there meanwhile. Tests remove what they
//! create, even when they fail.

mod docker;
mod docker_api;
mod engines;
mod hardening;
mod run;

use crate::helpers::{TIMEOUT, wait_with_timeout};
use offsim::live::engine::engines::Engines;
use offsim::live::engine::image::WorkerImage;
use offsim::scenario::LoadedScenario;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::{Mutex, MutexGuard};

/// Held by every test that creates containers, networks or images.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// The worker image of the offsim binary under test.
fn worker_image() -> WorkerImage {
    WorkerImage::from_executable(Path::new(env!("CARGO_BIN_EXE_offsim"))).unwrap()
}

/// A name for what `test` creates (image tag, run id), unique to this process.
fn unique(test: &str) -> String {
    format!("test-{}-{}", std::process::id(), test.replace('_', "-"))
}

/// A scenario's engines, each holding a worker image tagged for one test;
/// dropping it removes the image from all of them.
struct TestImage(Engines);

impl TestImage {
    fn connect(test: &str, scenario: &LoadedScenario) -> TestImage {
        let image = worker_image().with_tag(format!("offsim-worker:{}", unique(test)));
        TestImage(Engines::connect(&scenario.spec, scenario.spec.live.as_ref().unwrap(), &image).unwrap())
    }
}

impl Drop for TestImage {
    fn drop(&mut self) {
        if let Err(e) = self.0.remove_image() {
            eprintln!("could not remove test image {}: {e}", self.0.image());
        }
    }
}

/// Worker containers (of live runs) and offsim networks on the engine at `host`.
fn leftovers(host: &str) -> usize {
    ["device", "node"]
        .iter()
        .map(|r| docker_api::listed_at(host, "containers", &format!("io.offsim.role={r}")).len())
        .sum::<usize>()
        + docker_api::listed_at(host, "networks", "io.offsim.managed=true").len()
}

/// Whether the engine at `host` has the image `tag`.
fn has_image(host: &str, tag: &str) -> bool {
    docker_api::request_at(host, "GET", &format!("/images/{tag}/json")).0 == 200
}

/// What `offsim live` runs leave, removed from each engine when dropped:
/// containers, networks, and the image the command builds (tagged by the
/// binary's hash) where it was not there before.
struct CommandGuard {
    engines: Vec<String>,
    tag: String,
    existed: Vec<bool>,
}

impl CommandGuard {
    fn new(engines: &[String]) -> CommandGuard {
        let tag = worker_image().tag;
        let existed = engines.iter().map(|host| has_image(host, &tag)).collect();
        CommandGuard { engines: engines.to_vec(), tag, existed }
    }
}

impl Drop for CommandGuard {
    /// Force-removes every offsim container and network, and the image
    /// unless it was there before, through each engine's own API.
    fn drop(&mut self) {
        for (host, existed) in self.engines.iter().zip(&self.existed) {
            for c in docker_api::listed_at(host, "containers", "io.offsim.managed=true") {
                let id = c["Id"].as_str().unwrap();
                docker_api::request_at(host, "DELETE", &format!("/containers/{id}?force=1&v=1"));
            }
            for n in docker_api::listed_at(host, "networks", "io.offsim.managed=true") {
                docker_api::request_at(host, "DELETE", &format!("/networks/{}", n["Id"].as_str().unwrap()));
            }
            if !existed {
                docker_api::request_at(host, "DELETE", &format!("/images/{}?force=1", self.tag));
            }
        }
    }
}

/// Sends `signal` (`INT` for Ctrl-C, `TERM`, `HUP`) to `child`, an
/// `offsim live` run with stderr piped, and waits for it to end; returns
/// its exit code (`None` if it had to be killed) and its stderr.
fn interrupt(mut child: Child, signal: &str) -> (Option<i32>, String) {
    let status = Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let code = wait_with_timeout(&mut child, TIMEOUT);
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    (code, stderr)
}

/// The start of a live test scenario: `random` placement (tasks run
/// locally and on every node) for four seconds, with heartbeats and
/// utilisation samples every 500 ms.
fn scenario_head(name: &str) -> String {
    format!(
        r#"
name = "{name}"
policy = {{ name = "random" }}
simulation = {{ seed = 3 }}
workload = {{ duration_s = 4 }}
outputs = {{ utilisation_interval_ms = 500 }}
dispatcher = {{ heartbeat_ms = 500 }}
[live]
host_core_ghz = 3.0
"#
    )
}

/// A device class on the network `wifi`: 0.6 GHz, 4 tasks a second of 30
/// Mcycles on average, 20 kB in and 1 kB out each.
fn device(name: &str) -> String {
    format!(
        r#"[[devices]]
name = "{name}"
network = "wifi"
speed_ghz = 0.6
power = {{ idle_w = 1, busy_w = 3, tx_w = 1.5, rx_w = 1 }}
protocol = {{ kind = "raw" }}
workload = {{ rate_per_s = 4, work_mcycles = {{ kind = "exponential", mean = 30 }}, input_kb = {{ kind = "constant", value = 20 }}, output_kb = {{ kind = "constant", value = 1 }} }}
"#
    )
}

/// The edge node: 2 cores at 1.2 GHz, 2 ms and 100 Mbit/s from the network.
const EDGE: &str = r#"[[nodes]]
name = "edge"
tier = "edge"
cores = 2
speed_ghz = 1.2
up = { bandwidth_mbps = 100, latency_ms = 2 }
down = { bandwidth_mbps = 100, latency_ms = 2 }
power = { idle_w = 20, busy_w = 60 }
"#;
