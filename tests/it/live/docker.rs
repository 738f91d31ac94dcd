//! The live backend's Docker layer against the real Docker Engine (no
//! mocks): the worker image built from offsim's own binary, the limits and
//! hardening of its containers, and clean-up after a failed run.
//!
//! A test that finds no engine says `SKIPPED` on stderr and passes, unless
//! `OFFSIM_REQUIRE_DOCKER` is set, in which case it fails. Every test uses
//! its own image tag and run id, runs alone among the live tests, and
//! removes what it created, even when it fails.

use super::{docker_api, one_at_a_time, unique, worker_image};
use offsim::Error;
use offsim::live::engine::docker::{ContainerSpec, ContainerState, Engine, EngineAddress, Removed};
use offsim::live::engine::image::WorkerImage;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::MutexGuard;
use std::time::{Duration, Instant};

/// One test's engine, image tag and run id, held with the lock of the live
/// tests; dropping it removes the run's containers and network, then the
/// image tag.
struct Scratch {
    engine: Engine,
    tag: String,
    run_id: String,
    _one: MutexGuard<'static, ()>,
}

impl Scratch {
    /// `None` (the test is skipped) when no engine is reachable.
    fn new(test: &str) -> Option<Scratch> {
        let one = one_at_a_time();
        let engine = docker_api::engine_or_skip(test)?;
        let unique = unique(test);
        Some(Scratch { engine, tag: format!("offsim-worker:{unique}"), run_id: unique, _one: one })
    }

    /// The worker image of the offsim binary under test, with this test's tag.
    fn image(&self) -> WorkerImage {
        worker_image().with_tag(self.tag.clone())
    }

    /// A container of this test's image and run.
    fn spec(&self, name: &str, network: &str, args: &[&str]) -> ContainerSpec {
        ContainerSpec {
            name: format!("offsim-{}-{name}", self.run_id),
            run_id: self.run_id.clone(),
            image: self.tag.clone(),
            network: network.to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
            cpus: 1.0,
            cpu_period_us: 100_000,
            memory_bytes: 64 << 20,
            pids_limit: 64,
            role: "test".into(),
            publish: Vec::new(),
            publish_on: None,
        }
    }

    /// The state of container `id` once it has exited.
    fn exited(&self, id: &str) -> ContainerState {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let state = self.engine.inspect(id).unwrap();
            if state.exit_code.is_some() {
                return state;
            }
            assert!(Instant::now() < deadline, "container {id} still runs: {state:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = self.engine.remove_run(&self.run_id) {
            eprintln!("cleaning up run {}: {e}", self.run_id);
        }
        if let Err(e) = self.engine.remove_image(&self.tag) {
            eprintln!("cleaning up image {}: {e}", self.tag);
        }
    }
}

#[test]
fn the_worker_image_builds_from_scratch_and_runs_the_binary() {
    let Some(scratch) = Scratch::new("the_worker_image_builds_from_scratch_and_runs_the_binary") else { return };
    let engine = &scratch.engine;
    assert!(engine.describe().contains("(Docker "), "{}", engine.describe());
    let host = engine.host_info().unwrap();
    assert!(host.ncpu >= 1 && host.mem_total > 0, "{host:?}");

    let image = scratch.image();
    assert!(engine.ensure_image(&image.tag, &image.context).unwrap(), "a new tag is built");
    assert!(!engine.ensure_image(&image.tag, &image.context).unwrap(), "an existing tag is reused");

    // The image holds nothing but the binary and what the loader needs:
    // if anything were missing, the binary could not print its version.
    let network = engine.create_network(&scratch.run_id, true).unwrap();
    let container = engine.start_container(&scratch.spec("version", &network.name, &["--version"])).unwrap();
    let state = scratch.exited(&container.id);
    let logs = engine.logs_tail(&container.id, 10).unwrap();
    assert_eq!(state.exit_code, Some(0), "{state:?}, output: {logs}");
    assert!(logs.contains(concat!("offsim ", env!("CARGO_PKG_VERSION"))), "output: {logs}");
    assert!(!state.oom_killed);
}

#[test]
fn containers_get_their_limits_and_hardening() {
    let Some(scratch) = Scratch::new("containers_get_their_limits_and_hardening") else { return };
    let engine = &scratch.engine;
    let image = scratch.image();
    engine.ensure_image(&image.tag, &image.context).unwrap();
    let network = engine.create_network(&scratch.run_id, true).unwrap();
    let spec = ContainerSpec {
        cpus: 0.5,
        cpu_period_us: 10_000,
        memory_bytes: 64 << 20,
        pids_limit: 64,
        ..scratch.spec("limits", &network.name, &["--version"])
    };
    let container = engine.start_container(&spec).unwrap();
    let state = engine.inspect(&container.id).unwrap();
    assert_eq!((state.cpu_period_us, state.cpu_quota_us, state.nano_cpus), (10_000, 5_000, 0), "{state:?}");
    assert_eq!((state.memory_bytes, state.memory_swap_bytes), (64 << 20, 64 << 20), "{state:?}");
    assert_eq!(state.pids_limit, 64);
    assert!(state.readonly_rootfs);
    assert_eq!(state.cap_drop, ["ALL"]);
    assert_eq!(state.security_opt, ["no-new-privileges"]);
    assert_eq!(state.user, "65534:65534");
    // Hardened as it is, the binary still runs.
    let state = scratch.exited(&container.id);
    assert_eq!(state.exit_code, Some(0), "output: {}", engine.logs_tail(&container.id, 10).unwrap());
}

#[test]
fn a_failed_run_leaves_nothing_behind() {
    let Some(scratch) = Scratch::new("a_failed_run_leaves_nothing_behind") else { return };
    let engine = &scratch.engine;
    let image = scratch.image();
    engine.ensure_image(&image.tag, &image.context).unwrap();
    let failed = catch_unwind(AssertUnwindSafe(|| {
        let network = engine.create_network(&scratch.run_id, true).unwrap();
        for name in ["device-0", "node-0"] {
            engine.start_container(&scratch.spec(name, &network.name, &["--version"])).unwrap();
        }
        panic!("a failure in the middle of a run (expected by this test)");
    }));
    assert!(failed.is_err());
    assert_eq!(listed("containers", &scratch.run_id), 2, "before clean-up");
    assert_eq!(listed("networks", &scratch.run_id), 1, "before clean-up");

    let removed = engine.remove_run(&scratch.run_id).unwrap();
    assert_eq!(removed, Removed { containers: 2, networks: 1, images: 0, alive: Vec::new() });
    assert_eq!(listed("containers", &scratch.run_id), 0, "after clean-up");
    assert_eq!(listed("networks", &scratch.run_id), 0, "after clean-up");
    assert_eq!(engine.remove_run(&scratch.run_id).unwrap(), Removed::default(), "nothing left to remove");
}

#[test]
fn an_unreachable_engine_is_a_clear_error_at_once() {
    let start = Instant::now();
    for url in ["unix:///nonexistent.sock", "tcp://127.0.0.1:1"] {
        let address = EngineAddress { url: Some(url.into()), tls: None };
        let message = match Engine::connect(&address) {
            Ok(engine) => panic!("{url}: connected to {}", engine.describe()),
            Err(e @ Error::Live(_)) => e.to_string(),
            Err(e) => panic!("{url}: not a live error: {e}"),
        };
        assert!(message.contains(&format!("cannot reach the Docker Engine at {url}")), "{message}");
        assert!(message.contains("is the daemon running"), "{message}");
    }
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
}

/// How many objects of `kind` carry run `run_id`'s label, as the engine lists them.
fn listed(kind: &str, run_id: &str) -> usize {
    docker_api::listed(kind, &format!("io.offsim.run={run_id}")).len()
}
