//! Who may talk to a live run, against real worker containers and a real
//! link proxy (no mocks): a peer without the run's secret is dropped before
//! anything it sends is read or allocated; an authenticated one may ask for
//! nothing beyond the run's own limits; idle connections are timed out and
//! open ones bounded; ports are published only where the run needs them.
//!
//! Probes go over loopback or to the test run's own network only. A test
//! that finds no engine says `SKIPPED` on stderr and passes, unless
//! `OFFSIM_REQUIRE_DOCKER` is set, in which case it fails. Every test uses
//! its own image tag and run id, runs alone among the live tests, and
//! removes what it created, even when it fails.

use super::{docker_api, one_at_a_time, unique, worker_image};
use offsim::dist::DistSpec;
use offsim::live::auth::{self, Channel, SECRET_LEN, Secret};
use offsim::live::engine::docker::{ContainerSpec, Engine, NetworkInfo};
use offsim::live::link::{Access, LinkProxy, Route, Router};
use offsim::live::protocol::{
    CONTROL_PORT, Command, DATA_PORT, Event, FrameKind, Limits, OffloadRequest, Report, ResultHeader, Role, Status,
    TaskHeader, WorkerConfig, expect_frame, read_head, write_frame,
};
use offsim::live::run::cluster::proxy_addresses;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// The test runs' secret.
fn secret() -> Secret {
    Secret::from_bytes([3; SECRET_LEN])
}

/// Frames of up to 1 MB, work of up to 1 Gcycles, 2 set-up round trips.
fn limits() -> Limits {
    Limits::new(1_000_000, 1e9, 2)
}

/// This process's resident memory, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).unwrap();
    kb.trim().trim_end_matches("kB").trim().parse::<u64>().unwrap() * 1024
}

/// Whether the other side closes `s` within `within` (a read that times
/// out means it is still open). Whatever it sent first is read and ignored.
fn closed_within(s: &TcpStream, within: Duration) -> bool {
    let give_up = Instant::now() + within;
    let mut buf = [0u8; 4096];
    loop {
        let left = give_up.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        s.set_read_timeout(Some(left)).unwrap();
        match (&*s).read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return false,
            Err(_) => return true,
        }
    }
}

/// A task frame's payload (kind and header, no filler).
fn task(id: u64, cycles: f64) -> Vec<u8> {
    let mut head = vec![FrameKind::Task as u8];
    TaskHeader { id, cycles, output_bytes: 0, memory_bytes: 0, header_bytes: 0, image: u16::MAX, priority: 0 }
        .encode(&mut head);
    head
}

#[test]
fn the_link_proxy_reads_nothing_from_a_peer_without_the_secret() {
    // A route to a target that accepts the proxy, and counts the routes asked for.
    let target = TcpListener::bind("127.0.0.1:0").unwrap();
    let target_addr = target.local_addr().unwrap();
    thread::spawn(move || {
        for s in target.incoming().flatten() {
            thread::spawn(move || {
                if auth::accept(&s, &secret(), Channel::Data).is_ok() {
                    let _ = (&s).read_to_end(&mut Vec::new());
                }
            });
        }
    });
    let routed = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&routed);
    let router: Router = Arc::new(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        Some(Route { target: target_addr, up: vec![], down: vec![] })
    });
    let access = Access { secret: secret(), max_frame: limits().max_frame };
    let proxy = LinkProxy::start("127.0.0.1:0".parse().unwrap(), router, access).unwrap();
    let before = rss();
    // Route 0, then a 1 GiB frame length, on two connections.
    let mut opening = 0u32.to_le_bytes().to_vec();
    opening.extend_from_slice(&(1u32 << 30).to_le_bytes());
    let peers: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = TcpStream::connect(proxy.local_addr()).unwrap();
            s.write_all(&opening).unwrap();
            s
        })
        .collect();
    for s in &peers {
        assert!(closed_within(s, Duration::from_secs(4)), "an unauthenticated peer is dropped");
    }
    assert_eq!(routed.load(Ordering::SeqCst), 0, "nothing was read from them, not even the route");
    // With the secret, a frame longer than the run's largest is refused
    // before its payload is read.
    let s = TcpStream::connect(proxy.local_addr()).unwrap();
    auth::connect(&s, &secret(), Channel::Link).unwrap();
    (&s).write_all(&opening).unwrap();
    assert!(closed_within(&s, Duration::from_secs(4)), "an over-long frame ends the connection");
    assert_eq!(routed.load(Ordering::SeqCst), 1);
    let grown = rss().saturating_sub(before);
    assert!(grown < 256 << 20, "the proxy's memory grew by {grown} bytes");
}

/// One test's engine, network, image tag and run id, held with the lock of
/// the live tests; dropping it removes the run's containers and network,
/// then the image tag.
struct Run {
    engine: Engine,
    network: NetworkInfo,
    tag: String,
    run_id: String,
    _one: MutexGuard<'static, ()>,
}

impl Run {
    /// `None` (the test is skipped) when no engine is reachable.
    fn new(test: &str) -> Option<Run> {
        let one = one_at_a_time();
        let engine = docker_api::engine_or_skip(test)?;
        let run_id = unique(test);
        let tag = format!("offsim-worker:{run_id}");
        // Created first, so that a failure below still removes them.
        let network = engine.create_network(&run_id, false).unwrap();
        let run = Run { engine, network, tag, run_id, _one: one };
        let image = worker_image().with_tag(run.tag.clone());
        run.engine.ensure_image(&image.tag, &image.context).unwrap();
        Some(run)
    }

    /// A worker container of the run; returns its id and address.
    fn worker(&self, config: &WorkerConfig, publish: Vec<u16>, publish_on: Option<IpAddr>) -> (String, IpAddr) {
        let spec = ContainerSpec {
            name: format!("offsim-{}-{}", self.run_id, config.name),
            run_id: self.run_id.clone(),
            image: self.tag.clone(),
            network: self.network.name.clone(),
            args: vec!["worker".into(), serde_json::to_string(config).unwrap()],
            cpus: 1.0,
            cpu_period_us: 100_000,
            memory_bytes: 64 << 20,
            pids_limit: 256,
            role: "test".into(),
            publish,
            publish_on,
        };
        let info = self.engine.start_container(&spec).unwrap();
        (info.id, info.ip.expect("a running container has an address"))
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Err(e) = self.engine.remove_run(&self.run_id) {
            eprintln!("cleaning up run {}: {e}", self.run_id);
        }
        if let Err(e) = self.engine.remove_image(&self.tag) {
            eprintln!("cleaning up image {}: {e}", self.tag);
        }
    }
}

/// A worker of the test run: two cores at 1 GHz on a 4 GHz host core.
fn config(name: &str, role: Role) -> WorkerConfig {
    WorkerConfig {
        name: name.into(),
        role,
        index: 0,
        cores: 2,
        speed_hz: 1e9,
        host_core_hz: 4e9,
        loop_rate: 1e9,
        priority_queue: false,
        queue_limit: None,
        memory_bytes: 1 << 30,
        report_ms: 100.0,
        seed: 1,
        image_bytes: vec![],
        image_cache_bytes: 0,
        preloaded_images: vec![],
        cold_start_ms: DistSpec::constant(0.0),
        keep_alive_s: 1.0,
        registry: None,
        proxies: vec![],
        secret: secret(),
        limits: limits(),
    }
}

/// Connects to `addr`, retrying while the worker starts (bounded).
fn reach(addr: SocketAddr) -> TcpStream {
    let give_up = Instant::now() + Duration::from_secs(20);
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(s) => return s,
            Err(e) => assert!(Instant::now() < give_up, "{addr}: {e}"),
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// The controller's side of a worker's control connection.
struct Control {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Control {
    /// Connects with the run's secret and reads the greeting, within `within`.
    fn connect(ip: IpAddr, within: Duration) -> Control {
        let writer = reach(SocketAddr::new(ip, CONTROL_PORT));
        auth::connect(&writer, &secret(), Channel::Control).unwrap();
        writer.set_read_timeout(Some(within)).unwrap();
        let mut c = Control { reader: BufReader::new(writer.try_clone().unwrap()), writer };
        assert!(matches!(c.event(), Event::Hello { .. }));
        c.writer.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c
    }

    fn send(&mut self, command: &Command) {
        let mut line = serde_json::to_vec(command).unwrap();
        line.push(b'\n');
        self.writer.write_all(&line).unwrap();
    }

    fn event(&mut self) -> Event {
        let mut line = String::new();
        assert!(self.reader.read_line(&mut line).unwrap() > 0, "the worker closed the connection");
        serde_json::from_str(&line).unwrap()
    }

    /// How task `id` ended (other events are skipped), within 15 s.
    fn finished(&mut self, id: u64) -> Status {
        let give_up = Instant::now() + Duration::from_secs(15);
        while Instant::now() < give_up {
            if let Event::Finished { id: got, status, .. } = self.event()
                && got == id
            {
                return status;
            }
        }
        panic!("task {id} did not end within 15 s");
    }

    /// A report taken at least `after` from now (within 15 s).
    fn report_after(&mut self, after: Duration) -> Report {
        let from = Instant::now() + after;
        while Instant::now() < from + Duration::from_secs(15) {
            if let Event::Report(r) = self.event()
                && Instant::now() >= from
            {
                return r;
            }
        }
        panic!("no report within 15 s");
    }
}

/// Sends task `id` of `cycles` on a data connection to the node at `ip`
/// (with the secret) and returns its result's status.
fn run_on_node(ip: IpAddr, id: u64, cycles: f64) -> u8 {
    let mut s = reach(SocketAddr::new(ip, DATA_PORT));
    auth::connect(&s, &secret(), Channel::Data).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write_frame(&mut s, &task(id, cycles)).unwrap();
    let max = limits().max_frame;
    let rest = expect_frame(&mut s, FrameKind::Result, max).unwrap();
    ResultHeader::decode(&read_head(&mut s, ResultHeader::LEN, rest).unwrap()).unwrap().status
}

#[test]
fn a_node_runs_no_unbounded_work_from_its_data_port() {
    let Some(run) = Run::new("a_node_runs_no_unbounded_work") else { return };
    let (_, ip) = run.worker(&config("node", Role::Node), vec![], None);
    // Without the secret: two tasks of infinite work, sent as the proxy would.
    let mut s = reach(SocketAddr::new(ip, DATA_PORT));
    for id in [1, 2] {
        // The node may close the connection at any point.
        let _ = write_frame(&mut s, &task(id, f64::INFINITY));
    }
    assert!(closed_within(&s, Duration::from_secs(4)), "the node drops a peer without the secret");
    // With the secret: refused (status 3), not run.
    assert_eq!(run_on_node(ip, 3, f64::INFINITY), 3);
    assert_eq!(run_on_node(ip, 4, 2e9), 3, "more than the run's largest task");
    let mut control = Control::connect(ip, Duration::from_secs(5));
    let r = control.report_after(Duration::from_millis(300));
    assert_eq!((r.busy_cores, r.queue_len), (0, 0), "no core is busy: {r:?}");
    assert_eq!(run_on_node(ip, 5, 1e6), 0, "a task within the run's limits completes");
}

#[test]
fn a_device_refuses_unbounded_work_and_foreign_proxies() {
    let Some(run) = Run::new("a_device_refuses_unbounded_work") else { return };
    // A listener on the run's own gateway, which is not one of its proxies.
    let foreign = TcpListener::bind(SocketAddr::new(run.network.gateway, 0)).unwrap();
    foreign.set_nonblocking(true).unwrap();
    let proxy = SocketAddr::new(run.network.gateway, 9).to_string();
    let device = WorkerConfig { proxies: vec![proxy.clone()], ..config("device", Role::Device) };
    let (_, ip) = run.worker(&device, vec![], None);
    let mut c = Control::connect(ip, Duration::from_secs(5));
    // JSON has no infinity: 1e300 is the largest a command can ask for.
    for (id, cycles) in [(1, 1e300), (2, 1e10), (3, -1.0)] {
        c.send(&Command::Run { id, cycles, priority: 0 });
        let status = c.finished(id);
        assert!(
            matches!(&status, Status::Failed { error } if error.contains("refused: run: expected a finite number")),
            "{status:?}"
        );
    }
    let offload = OffloadRequest {
        id: 4,
        priority: 0,
        overhead_cycles: 0.0,
        proxy: foreign.local_addr().unwrap().to_string(),
        route: 0,
        cycles: 1e6,
        input_bytes: 1 << 29,
        output_bytes: 0,
        memory_bytes: 0,
        image: None,
        setup_rtts: 0,
        header_bytes: 0,
    };
    c.send(&Command::Offload(offload.clone()));
    assert!(matches!(c.finished(4), Status::Failed { error } if error.contains("refused: offload input")));
    c.send(&Command::Offload(OffloadRequest { id: 5, input_bytes: 10, ..offload }));
    let status = c.finished(5);
    let expected = format!("expected one of the run's link proxies ({proxy})");
    assert!(matches!(&status, Status::Failed { error } if error.contains(&expected)), "{status:?}");
    thread::sleep(Duration::from_millis(500));
    assert!(foreign.accept().is_err(), "the device connected to an address that is not the run's proxy");
    let r = c.report_after(Duration::from_millis(200));
    assert_eq!((r.busy_cores, r.queue_len), (0, 0), "no core is busy: {r:?}");
}

#[test]
fn a_device_survives_endless_lines_and_unauthenticated_connections() {
    let Some(run) = Run::new("a_device_survives_endless_lines") else { return };
    let (id, ip) = run.worker(&config("device", Role::Device), vec![], None);
    let addr = SocketAddr::new(ip, CONTROL_PORT);
    // An early connection that never authenticates holds nothing: the
    // controller is served while it stays open.
    let squatter = reach(addr);
    let mut c = Control::connect(ip, Duration::from_secs(4));
    drop(c);
    // Without the secret: 138 MiB without a newline, 1 MiB at a time.
    let mut flood = reach(addr);
    flood.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let chunk = vec![b'x'; 1 << 20];
    let sent = (0..138).take_while(|_| flood.write_all(&chunk).is_ok()).count();
    assert!(sent < 138, "the worker read all of an unauthenticated flood");
    // With the secret: a line longer than 64 KiB ends the connection.
    c = Control::connect(ip, Duration::from_secs(4));
    c.writer.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = (0..138).take_while(|_| c.writer.write_all(&chunk).is_ok()).count();
    assert!(closed_within(&c.writer, Duration::from_secs(4)), "an endless line ends the connection");
    let state = run.engine.inspect(&id).unwrap();
    assert!(state.running && !state.oom_killed, "{state:?}");
    c = Control::connect(ip, Duration::from_secs(4));
    c.send(&Command::Run { id: 1, cycles: 1e6, priority: 0 });
    assert_eq!(c.finished(1), Status::Completed);
    drop(squatter);
}

#[test]
fn idle_data_connections_are_dropped_and_bounded() {
    let Some(run) = Run::new("idle_data_connections_are_dropped") else { return };
    let (_, ip) = run.worker(&config("node", Role::Node), vec![], None);
    let addr = SocketAddr::new(ip, DATA_PORT);
    reach(addr);
    let started = Instant::now();
    let idle: Vec<TcpStream> =
        (0..300).filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()).collect();
    assert!(idle.len() > 128, "only {} connections opened", idle.len());
    // Each is closed once the handshake's two seconds are out (or at once,
    // beyond the node's limit on open data connections).
    for s in &idle {
        let left = Duration::from_secs(8).saturating_sub(started.elapsed());
        assert!(closed_within(s, left), "an idle connection is still open after {:?}", started.elapsed());
    }
    assert_eq!(run_on_node(ip, 1, 1e6), 0, "the node still serves the run");
}

#[test]
fn ports_are_published_and_proxies_listen_only_where_the_run_needs_them() {
    // Proxies listen on the addresses containers reach this process at,
    // never on every interface unless told to.
    let (a, b): (IpAddr, IpAddr) = ("172.30.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
    assert_eq!(proxy_addresses(None, &[a, b, a]).unwrap(), [a, b]);
    assert_eq!(proxy_addresses(Some("0.0.0.0"), &[a]).unwrap(), ["0.0.0.0".parse::<IpAddr>().unwrap()]);
    assert!(proxy_addresses(Some("everywhere"), &[a]).is_err());

    let Some(run) = Run::new("ports_are_published_only_where_needed") else { return };
    let loopback: IpAddr = "127.0.0.1".parse().unwrap();
    let (id, _) = run.worker(&config("node", Role::Node), vec![CONTROL_PORT, DATA_PORT], Some(loopback));
    let containers = docker_api::listed("containers", &format!("io.offsim.run={}", run.run_id));
    let ours = containers.iter().find(|c| c["Id"] == id.as_str()).unwrap();
    let published: Vec<&serde_json::Value> =
        ours["Ports"].as_array().unwrap().iter().filter(|p| p["PublicPort"].is_u64()).collect();
    assert!(!published.is_empty(), "{ours}");
    for p in published {
        assert_eq!(p["IP"], "127.0.0.1", "published beyond the host's address: {p}");
    }
}

#[test]
fn an_image_pull_answers_only_the_run() {
    // The registry proxy and its image source check the secret like any
    // other proxy; a count beyond the run's largest image is refused.
    let access = Access { secret: secret(), max_frame: limits().max_frame };
    let source = offsim::live::link::ByteSource::start("127.0.0.1:0".parse().unwrap(), access).unwrap();
    let unauthenticated = TcpStream::connect(source.local_addr()).unwrap();
    let mut pull = vec![FrameKind::Pull as u8];
    pull.extend_from_slice(&(1u64 << 29).to_le_bytes());
    let _ = write_frame(&mut &unauthenticated, &pull);
    assert!(closed_within(&unauthenticated, Duration::from_secs(4)));
    let mut s = TcpStream::connect(source.local_addr()).unwrap();
    auth::connect(&s, &secret(), Channel::Data).unwrap();
    write_frame(&mut s, &pull).unwrap();
    assert!(closed_within(&s, Duration::from_secs(4)), "a pull beyond the run's largest image is refused");
    let mut s = TcpStream::connect(source.local_addr()).unwrap();
    auth::connect(&s, &secret(), Channel::Data).unwrap();
    let mut small = vec![FrameKind::Pull as u8];
    small.extend_from_slice(&1000u64.to_le_bytes());
    write_frame(&mut s, &small).unwrap();
    assert_eq!(expect_frame(&mut s, FrameKind::Image, limits().max_frame).unwrap(), 1000);
}
