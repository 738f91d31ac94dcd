//! Brings a scenario's containers and emulated links up, connects to every
//! worker, and takes it all down again when dropped (success, error or
//! panic alike).
//!
//! Topology: one labelled bridge network per run; one worker container per
//! device and node; in this process, one link proxy per node (devices
//! connect to it, it carries their frames across the device's access
//! network and the node's link) and, when a node has a registry, an image
//! source behind a proxy applying the registry link. Proxies listen on the
//! network's gateway address, which only the run's containers reach.

use crate::engine::stream;
use crate::error::{Error, Result};
use crate::live::docker::{ContainerInfo, ContainerSpec, Engine, NetworkInfo};
use crate::live::link::{ByteSource, EmulatedLink, LinkProxy, LinkShape, Route, Router};
use crate::live::protocol::{CONTROL_PORT, DATA_PORT, Event, Role, WorkerConfig};
use crate::live::sizing::Entity;
use crate::scenario::{LinkSpec, LiveSpec, QueueDiscipline, Scenario};
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::mpsc::Sender;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How often workers report (their CPU time feeds utilisation; the view
/// takes node reports once per `dispatcher.heartbeat_ms`).
const REPORT_MS: f64 = 100.0;

/// CPU quota of a container over its entity's paced work.
const QUOTA_HEADROOM: f64 = 1.1;

/// How long a worker may take to accept its control connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// A message to the dispatcher from a worker's reader thread (workers are
/// numbered as the cluster's entities).
#[derive(Debug)]
pub enum Msg {
    Event(usize, Event),
    /// The control connection closed or broke: the worker is gone.
    Lost(usize, String),
}

/// A running live cluster.
pub struct Cluster {
    pub engine: Arc<Engine>,
    pub run_id: String,
    pub entities: Vec<Entity>,
    pub containers: Vec<ContainerInfo>,
    /// Per node: the proxy its tasks go through.
    pub proxies: Vec<LinkProxy>,
    /// Control connections (for commands), by entity.
    pub control: Vec<TcpStream>,
    /// Per node: the images it held from the start.
    pub preloads: Vec<Vec<u16>>,
    /// Per entity: from asking the engine for the container to the worker
    /// accepting its control connection (a real container cold start).
    pub startup: Vec<Duration>,
    _registry: Option<(ByteSource, LinkProxy)>,
    _network: NetworkInfo,
}

/// What every worker shares.
pub struct WorkerSettings {
    pub seed: u64,
    pub loop_rate: f64,
    /// Per node: images to hold from the start (scenario and policy pre-loads).
    pub preloads: Vec<Vec<u16>>,
}

fn link(l: &LinkSpec, seed: u64, index: u64) -> Arc<EmulatedLink> {
    Arc::new(EmulatedLink::new(LinkShape::from_spec(l), stream(seed, "live-link", index)))
}

impl Cluster {
    /// Starts everything; on any error, what was started is removed.
    pub fn start(
        engine: Arc<Engine>,
        image: &str,
        spec: &Scenario,
        live: &LiveSpec,
        entities: Vec<Entity>,
        settings: &WorkerSettings,
        events: &Sender<Msg>,
    ) -> Result<Cluster> {
        let run_id = format!("{}-{}", std::process::id(), crate::live::protocol::unix_ns() / 1_000_000 % 1_000_000_000);
        let network = engine.create_network(&run_id)?;
        let mut cluster = Cluster {
            engine,
            run_id,
            entities,
            containers: Vec::new(),
            proxies: Vec::new(),
            control: Vec::new(),
            startup: Vec::new(),
            preloads: settings.preloads.clone(),
            _registry: None,
            _network: network.clone(),
        };
        let node_ips = cluster.start_links(spec, settings.seed, network.gateway)?;
        let registry = cluster._registry.as_ref().map(|(_, p)| p.local_addr().to_string());
        for (i, e) in cluster.entities.clone().into_iter().enumerate() {
            let asked = Instant::now();
            let config = worker_config(spec, live, &e, settings, registry.clone());
            let json = serde_json::to_string(&config).expect("configs serialise");
            let info = cluster.engine.start_container(&ContainerSpec {
                name: format!("offsim-{}-{}", cluster.run_id, e.name),
                run_id: cluster.run_id.clone(),
                image: image.to_string(),
                network: network.name.clone(),
                args: vec!["worker".into(), json],
                // Headroom over the paced work, so the worker's own threads
                // (events, sockets) are not throttled behind it.
                cpus: e.host_cpus * QUOTA_HEADROOM + 0.02,
                cpu_period_us: live.cpu_period_us,
                memory_bytes: (live.container_memory_mb * 1e6) as u64,
                pids_limit: 256,
                role: match e.role {
                    Role::Device => "device".into(),
                    Role::Node => "node".into(),
                },
                publish: Vec::new(),
            })?;
            let ip = info.ip.ok_or_else(|| {
                Error::Live(format!("container `{}` has no address on network `{}`", info.name, network.name))
            })?;
            if e.role == Role::Node {
                let _ = node_ips[e.index as usize].set(ip);
            }
            cluster.containers.push(info);
            let stream = cluster.connect(i)?;
            cluster.startup.push(asked.elapsed());
            let reader = stream.try_clone().map_err(|e| Error::Live(format!("control connection: {e}")))?;
            let tx = events.clone();
            std::thread::spawn(move || read_events(i, reader, &tx));
            cluster.control.push(stream);
        }
        Ok(cluster)
    }

    /// Starts the emulated links, in the simulator's order: access networks
    /// (up, down), then per node (up, down) and its registry link. Returns
    /// per node the cell its container's address goes into once known.
    fn start_links(&mut self, spec: &Scenario, seed: u64, gateway: IpAddr) -> Result<Vec<Arc<OnceLock<IpAddr>>>> {
        let fail = |e: std::io::Error| Error::Live(format!("cannot start a link proxy on {gateway}: {e}"));
        let mut next = 0u64;
        let mut make = |l: &LinkSpec| {
            next += 1;
            link(l, seed, next - 1)
        };
        let access: Vec<(Arc<EmulatedLink>, Arc<EmulatedLink>)> =
            spec.networks.iter().map(|n| (make(&n.up), make(&n.down))).collect();
        let device_network: Vec<usize> = spec
            .devices
            .iter()
            .flat_map(|c| {
                let net = spec.networks.iter().position(|n| n.name == c.network).expect("validated network");
                std::iter::repeat_n(net, c.count as usize)
            })
            .collect();
        let device_network = Arc::new(device_network);
        let access = Arc::new(access);
        let mut registry_links = Vec::new();
        let node_ips: Vec<Arc<OnceLock<IpAddr>>> = spec.nodes.iter().map(|_| Arc::default()).collect();
        for (node, ip) in spec.nodes.iter().zip(&node_ips) {
            let (up, down) = (make(&node.up), make(&node.down));
            registry_links.push(node.registry.as_ref().map(|r| make(&r.link())));
            let (ip, access, device_network) = (ip.clone(), access.clone(), device_network.clone());
            let router: Router = Arc::new(move |device: u32| {
                let net = *device_network.get(device as usize)?;
                let (net_up, net_down) = &access[net];
                Some(Route {
                    target: SocketAddr::new(*ip.get()?, DATA_PORT),
                    up: vec![net_up.clone(), up.clone()],
                    down: vec![down.clone(), net_down.clone()],
                })
            });
            self.proxies.push(LinkProxy::start(SocketAddr::new(gateway, 0), router).map_err(fail)?);
        }
        if registry_links.iter().any(Option::is_some) {
            let source = ByteSource::start(SocketAddr::new(gateway, 0)).map_err(fail)?;
            let target = source.local_addr();
            let registry_links = Arc::new(registry_links);
            let router: Router = Arc::new(move |node: u32| {
                let l = registry_links.get(node as usize)?.clone()?;
                Some(Route { target, up: Vec::new(), down: vec![l] })
            });
            let proxy = LinkProxy::start(SocketAddr::new(gateway, 0), router).map_err(fail)?;
            self._registry = Some((source, proxy));
        }
        Ok(node_ips)
    }

    /// Connects to worker `i`'s control port, retrying while it starts, and
    /// checks its greeting.
    fn connect(&self, i: usize) -> Result<TcpStream> {
        let ip = self.containers[i].ip.ok_or_else(|| Error::Live("a container without an address".into()))?;
        let addr = SocketAddr::new(ip, CONTROL_PORT);
        let started = Instant::now();
        loop {
            match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
                Ok(s) => {
                    s.set_nodelay(true).map_err(|e| Error::Live(format!("{addr}: {e}")))?;
                    // A worker that stops reading must not block the dispatcher.
                    s.set_write_timeout(Some(Duration::from_secs(2)))
                        .map_err(|e| Error::Live(format!("{addr}: {e}")))?;
                    return Ok(s);
                }
                Err(e) if started.elapsed() > CONNECT_TIMEOUT => {
                    let logs = self.engine.logs_tail(&self.containers[i].id, 20).unwrap_or_default();
                    return Err(Error::Live(format!(
                        "worker `{}` did not accept its control connection at {addr} within {}s ({e}); its log:\n{logs}",
                        self.entities[i].name,
                        CONNECT_TIMEOUT.as_secs()
                    )));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for s in &self.control {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        if let Err(e) = self.engine.remove_run(&self.run_id) {
            eprintln!("warning: could not remove live run {}: {e} (run `offsim live --cleanup`)", self.run_id);
        }
    }
}

/// Reads worker `i`'s events until its connection ends.
fn read_events(i: usize, stream: TcpStream, tx: &Sender<Msg>) {
    let mut lines = BufReader::new(stream).lines();
    let why = loop {
        match lines.next() {
            None => break "the worker closed its control connection".to_string(),
            Some(Err(e)) => break format!("control connection broke: {e}"),
            Some(Ok(line)) => match serde_json::from_str::<Event>(&line) {
                Ok(ev) => {
                    if tx.send(Msg::Event(i, ev)).is_err() {
                        return;
                    }
                }
                Err(e) => break format!("unreadable event `{line}`: {e}"),
            },
        }
    };
    let _ = tx.send(Msg::Lost(i, why));
}

/// The configuration of entity `e`'s worker.
fn worker_config(
    spec: &Scenario,
    live: &LiveSpec,
    e: &Entity,
    settings: &WorkerSettings,
    registry: Option<String>,
) -> WorkerConfig {
    let image_bytes: Vec<u64> = spec.images.iter().map(|i| (i.size_mb * 1e6).round() as u64).collect();
    let base = WorkerConfig {
        name: e.name.clone(),
        role: e.role,
        index: e.index,
        cores: e.cores,
        speed_hz: e.speed_hz,
        host_core_hz: live.host_core_ghz * 1e9,
        loop_rate: settings.loop_rate,
        priority_queue: false,
        queue_limit: None,
        memory_bytes: 0,
        report_ms: REPORT_MS,
        seed: settings.seed,
        image_bytes: Vec::new(),
        image_cache_bytes: 0,
        preloaded_images: Vec::new(),
        cold_start_ms: crate::dist::DistSpec::constant(0.0),
        keep_alive_s: 0.0,
        registry: None,
    };
    match e.role {
        Role::Device => {
            let class = device_class(spec, e.index);
            WorkerConfig {
                priority_queue: class.queue == QueueDiscipline::Priority,
                queue_limit: class.queue_limit,
                ..base
            }
        }
        Role::Node => {
            let node = &spec.nodes[e.index as usize];
            WorkerConfig {
                priority_queue: node.queue == QueueDiscipline::Priority,
                queue_limit: node.queue_limit,
                memory_bytes: (node.memory_gb * 1e9) as u64,
                image_bytes,
                image_cache_bytes: (node.image_cache_gb * 1e9) as u64,
                preloaded_images: settings.preloads[e.index as usize].clone(),
                cold_start_ms: node.cold_start_ms.clone(),
                keep_alive_s: node.keep_alive_s,
                registry: node.registry.as_ref().and(registry),
                ..base
            }
        }
    }
}

/// The spec of the class of device `index` (dense over all devices).
fn device_class(spec: &Scenario, index: u32) -> &crate::scenario::DeviceClassSpec {
    let mut first = 0;
    for c in &spec.devices {
        if index < first + c.count {
            return c;
        }
        first += c.count;
    }
    unreachable!("device {index} out of range")
}
