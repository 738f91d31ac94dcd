//! Brings a scenario's containers and emulated links up, connects to every
//! worker, and takes it all down again when dropped (success, error or
//! panic alike), on every engine the run uses.
//!
//! Topology: on each engine, one labelled bridge network for the run and one
//! worker container per device and node placed there; in this process, one
//! link proxy per node (devices connect to it, it carries their frames
//! across the device's access network and the node's link) and, when a node
//! has a registry, an image source behind a proxy applying the registry
//! link.
//!
//! Addresses: workers on the default engine are reached at their addresses
//! on the run's network; workers on a `[[live.hosts]]` engine publish their
//! control (and, for nodes, data) ports on the host's address only, where
//! this process reaches them. Containers reach the proxies at their
//! engine's controller address (by default the gateway of the run's network
//! there); the proxies listen on exactly those addresses (one listener per
//! address), or on `live.listen_address` if it is set.
//!
//! Every connection proves the run's secret ([`crate::live::auth`]), drawn
//! here for each run; the workers get it, and the run's [`Limits`], in
//! their configuration.

use crate::error::{Error, Result};
use crate::live::auth::{self, Channel, Secret};
use crate::live::engine::docker::{ContainerInfo, ContainerSpec, NetworkInfo};
use crate::live::engine::engines::{Engines, Site};
use crate::live::engine::hosts::Host;
use crate::live::engine::sizing::Entity;
use crate::live::link::{Access, ByteSource, EmulatedLink, LinkProxy, LinkShape, Route, Router};
use crate::live::protocol::{CONTROL_PORT, DATA_PORT, Event, Limits, MAX_EVENT_LINE, Role, WorkerConfig, read_line};
use crate::model::{Purpose, World, stream};
use crate::scenario::{LinkSpec, LiveSpec, QueueDiscipline, Scenario};
use std::io::{BufReader, Read};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, ToSocketAddrs};
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

/// How long a worker may take to greet a control connection it accepted.
const GREETING_TIMEOUT: Duration = Duration::from_secs(2);

/// Longest greeting line read.
const MAX_GREETING: usize = 4096;

/// A message to the dispatcher from a worker's reader thread (workers are
/// numbered as the cluster's entities).
#[derive(Debug)]
pub enum Msg {
    /// An event from a worker: the entity's index and the event.
    Event(usize, Event),
    /// The control connection closed or broke: the worker is gone.
    Lost(usize, String),
}

/// A running live cluster.
pub struct Cluster {
    /// The run's id, set as a label on its containers and networks.
    pub run_id: String,
    /// The run's devices and nodes, one container each.
    pub entities: Vec<Entity>,
    /// Per entity: its container.
    pub containers: Vec<ContainerInfo>,
    /// Per node: the proxy its tasks go through, one listener per address
    /// it listens on.
    pub proxies: Vec<Vec<LinkProxy>>,
    /// Control connections (for commands), by entity.
    pub control: Vec<TcpStream>,
    /// Per node: the images it held from the start.
    pub preloads: Vec<Vec<u16>>,
    /// Per entity: from asking the engine for the container to the worker
    /// accepting its control connection (a real container cold start).
    pub startup: Vec<Duration>,
    /// Every engine of the run; dropping the cluster removes the run from each.
    sites: Vec<Site>,
    /// Per site, once its network exists: the run's part there.
    parts: Vec<Part>,
    /// Per entity: its site.
    site_of: Vec<usize>,
    /// The image source and the registry proxy in front of it (one listener
    /// per address).
    registry: Option<(ByteSource, Vec<LinkProxy>)>,
}

/// The run on one engine.
struct Part {
    network: NetworkInfo,
    /// Where its containers reach this process.
    controller: IpAddr,
    /// Where this process reaches its workers' published ports; `None`: at
    /// their addresses on the network.
    published_at: Option<IpAddr>,
}

/// What every worker shares.
pub struct WorkerSettings {
    /// Seed of the emulated links' and the workers' random streams.
    pub seed: u64,
    /// Spin-loop iterations per second of one host core, as measured.
    pub loop_rate: f64,
    /// Per node: images to hold from the start (scenario and policy pre-loads).
    pub preloads: Vec<Vec<u16>>,
    /// What the run will ask of its workers at most: anything beyond is refused.
    pub limits: Limits,
}

fn link(l: &LinkSpec, seed: u64, index: u64) -> Arc<EmulatedLink> {
    Arc::new(EmulatedLink::new(LinkShape::from_spec(l), stream(seed, Purpose::LiveLink, index)))
}

impl Cluster {
    /// Starts everything on `engines`; on any error, what was started is
    /// removed.
    pub fn start(
        engines: &Engines,
        world: &World,
        spec: &Scenario,
        live: &LiveSpec,
        entities: Vec<Entity>,
        settings: &WorkerSettings,
        events: &Sender<Msg>,
    ) -> Result<Cluster> {
        let run_id = format!("{}-{}", std::process::id(), crate::live::protocol::unix_ns() / 1_000_000 % 1_000_000_000);
        let sites = engines.sites().to_vec();
        let site_of = entities.iter().map(|e| engines.position(e.host)).collect::<Result<Vec<_>>>()?;
        let mut cluster = Cluster {
            run_id,
            entities,
            containers: Vec::new(),
            proxies: Vec::new(),
            control: Vec::new(),
            startup: Vec::new(),
            preloads: settings.preloads.clone(),
            sites,
            parts: Vec::new(),
            site_of,
            registry: None,
        };
        let secret = Secret::generate().map_err(|e| Error::Live(format!("cannot draw the run's secret: {e}")))?;
        for site in &cluster.sites {
            let published_at = site.host.published_at.as_deref().map(|a| resolve(&site.host, a)).transpose()?;
            // Workers need no route beyond their network; one whose ports
            // are published must be routable, for the engine to publish them.
            let network = site.engine.create_network(&cluster.run_id, published_at.is_none())?;
            let controller = site.host.controller.unwrap_or(network.gateway);
            cluster.parts.push(Part { network, controller, published_at });
        }
        let controllers: Vec<IpAddr> = cluster.parts.iter().map(|p| p.controller).collect();
        let listen = proxy_addresses(live.listen_address.as_deref(), &controllers)?;
        let access = Access { secret: secret.clone(), max_frame: settings.limits.max_frame };
        let node_targets = cluster.start_links(spec, settings.seed, &listen, &access)?;
        let image = engines.image();
        for (i, e) in cluster.entities.clone().into_iter().enumerate() {
            let (site, part) = (&cluster.sites[cluster.site_of[i]], &cluster.parts[cluster.site_of[i]]);
            let asked = Instant::now();
            let registry = cluster.registry.as_ref().map(|(_, p)| reached_at(p, part.controller).to_string());
            let proxies = match e.role {
                Role::Device => (0..cluster.proxies.len()).map(|n| cluster.proxy_for(i, n)).collect(),
                Role::Node => Vec::new(),
            };
            let config = worker_config(world, spec, &e, settings, registry, proxies, &secret);
            let json = serde_json::to_string(&config).expect("configs serialise");
            let ports = match e.role {
                Role::Device => vec![CONTROL_PORT],
                Role::Node => vec![CONTROL_PORT, DATA_PORT],
            };
            let info = site.engine.start_container(&ContainerSpec {
                name: format!("offsim-{}-{}", cluster.run_id, e.name),
                run_id: cluster.run_id.clone(),
                image: image.to_string(),
                network: part.network.name.clone(),
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
                publish: if part.published_at.is_some() { ports } else { Vec::new() },
                publish_on: part.published_at,
            })?;
            let control = part.worker_address(&info, CONTROL_PORT)?;
            if e.role == Role::Node {
                let _ = node_targets[e.index as usize].set(part.worker_address(&info, DATA_PORT)?);
            }
            cluster.containers.push(info);
            let stream = cluster.connect(i, control, &secret)?;
            cluster.startup.push(asked.elapsed());
            let reader = stream.try_clone().map_err(|e| Error::Live(format!("control connection: {e}")))?;
            let tx = events.clone();
            std::thread::spawn(move || read_events(i, reader, &tx));
            cluster.control.push(stream);
        }
        Ok(cluster)
    }

    /// The link proxy in front of node `node`, as device entity `device`
    /// reaches it.
    pub fn proxy_for(&self, device: usize, node: usize) -> String {
        reached_at(&self.proxies[node], self.parts[self.site_of[device]].controller).to_string()
    }

    /// The last `lines` lines of entity `i`'s container output.
    pub fn logs_tail(&self, i: usize, lines: usize) -> Result<String> {
        self.sites[self.site_of[i]].engine.logs_tail(&self.containers[i].id, lines)
    }

    /// Starts the emulated links, in the simulator's order: access networks
    /// (up, down), then per node (up, down) and its registry link, with the
    /// proxies listening on each of `listen`. Returns per node the cell its
    /// worker's data address goes into once known.
    fn start_links(
        &mut self,
        spec: &Scenario,
        seed: u64,
        listen: &[IpAddr],
        rules: &Access,
    ) -> Result<Vec<Arc<OnceLock<SocketAddr>>>> {
        let start = |router: &Router| -> Result<Vec<LinkProxy>> {
            listen
                .iter()
                .map(|&ip| {
                    LinkProxy::start(SocketAddr::new(ip, 0), router.clone(), rules.clone()).map_err(|e| {
                        Error::Live(format!(
                            "cannot start a link proxy on {ip}: {e} (the containers of an engine on another machine \
                             reach this process at its host's `controller_address`, which must be an address of this \
                             machine)"
                        ))
                    })
                })
                .collect()
        };
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
        let targets: Vec<Arc<OnceLock<SocketAddr>>> = spec.nodes.iter().map(|_| Arc::default()).collect();
        for (node, target) in spec.nodes.iter().zip(&targets) {
            let (up, down) = (make(&node.up), make(&node.down));
            registry_links.push(node.registry.as_ref().map(|r| make(&r.link())));
            let (target, access, device_network) = (target.clone(), access.clone(), device_network.clone());
            let router: Router = Arc::new(move |device: u32| {
                let net = *device_network.get(device as usize)?;
                let (net_up, net_down) = &access[net];
                Some(Route {
                    target: *target.get()?,
                    up: vec![net_up.clone(), up.clone()],
                    down: vec![down.clone(), net_down.clone()],
                })
            });
            self.proxies.push(start(&router)?);
        }
        if registry_links.iter().any(Option::is_some) {
            // Only the registry proxy, in this process, reaches the source.
            let source = ByteSource::start(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0), rules.clone())
                .map_err(|e| Error::Live(format!("cannot start the image source: {e}")))?;
            let target = source.local_addr();
            let registry_links = Arc::new(registry_links);
            let router: Router = Arc::new(move |node: u32| {
                let l = registry_links.get(node as usize)?.clone()?;
                Some(Route { target, up: Vec::new(), down: vec![l] })
            });
            self.registry = Some((source, start(&router)?));
        }
        Ok(targets)
    }

    /// Connects to worker `i`'s control port at `addr`, retrying until it
    /// proves the run's secret and greets the connection as itself (a
    /// published port accepts connections before the worker listens behind
    /// it).
    fn connect(&self, i: usize, addr: SocketAddr, secret: &Secret) -> Result<TcpStream> {
        let name = &self.entities[i].name;
        let started = Instant::now();
        loop {
            let greeted = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
                .and_then(|s| auth::connect(&s, secret, Channel::Control).map(|()| s))
                .and_then(|s| greeting(&s).map(|greeter| (s, greeter)));
            match greeted {
                Ok((s, greeter)) if greeter == *name => {
                    s.set_nodelay(true).map_err(|e| Error::Live(format!("{addr}: {e}")))?;
                    // A worker that stops reading must not block the dispatcher.
                    s.set_write_timeout(Some(Duration::from_secs(2)))
                        .map_err(|e| Error::Live(format!("{addr}: {e}")))?;
                    return Ok(s);
                }
                Ok((_, greeter)) => {
                    return Err(Error::Live(format!(
                        "worker `{name}` was expected at {addr}, but `{greeter}` answered: does the address of \
                         {} lead to its engine?",
                        self.sites[self.site_of[i]].host.label()
                    )));
                }
                Err(e) if started.elapsed() > CONNECT_TIMEOUT => {
                    let logs = self.logs_tail(i, 20).unwrap_or_default();
                    return Err(Error::Live(format!(
                        "worker `{name}` did not accept its control connection at {addr} within {}s ({e}); its log:\n{logs}",
                        CONNECT_TIMEOUT.as_secs()
                    )));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

impl Part {
    /// Where this process reaches `port` of the worker in `container`.
    fn worker_address(&self, container: &ContainerInfo, port: u16) -> Result<SocketAddr> {
        let address = match self.published_at {
            None => container.ip.map(|ip| SocketAddr::new(ip, port)),
            Some(at) => container.host_port(port).map(|host_port| SocketAddr::new(at, host_port)),
        };
        address.ok_or_else(|| {
            Error::Live(format!(
                "container `{}` has no address for port {port} on network `{}` (has it exited already?)",
                container.name, self.network.name
            ))
        })
    }
}

/// Where the link proxies listen: `live.listen_address` if it is set (an IP
/// address); else each distinct address the engines' containers reach this
/// process at (`controllers`), and nowhere else.
pub fn proxy_addresses(listen_address: Option<&str>, controllers: &[IpAddr]) -> Result<Vec<IpAddr>> {
    if let Some(a) = listen_address {
        let ip =
            a.parse().map_err(|_| Error::Live(format!("live.listen_address: expected an IP address, got `{a}`")))?;
        return Ok(vec![ip]);
    }
    let mut out: Vec<IpAddr> = Vec::new();
    for &c in controllers {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    Ok(out)
}

/// The address of the listener among `proxy`'s that containers reaching
/// this process at `controller` use (its own address, or every interface).
fn reached_at(proxy: &[LinkProxy], controller: IpAddr) -> SocketAddr {
    let on = |p: &&LinkProxy| p.local_addr().ip() == controller;
    let any = |p: &&LinkProxy| p.local_addr().ip().is_unspecified();
    // `proxy_addresses` gives every controller a listener, so one is found.
    let port = proxy.iter().find(on).or_else(|| proxy.iter().find(any)).map_or(0, |p| p.local_addr().port());
    SocketAddr::new(controller, port)
}

/// The IP address `host`'s published ports are reached at, from `address`.
fn resolve(host: &Host, address: &str) -> Result<IpAddr> {
    let fail = |why: String| Error::Live(format!("{}.address: cannot resolve `{address}`: {why}", host.field));
    let mut found = (address, 0).to_socket_addrs().map_err(|e| fail(e.to_string()))?;
    found.next().map(|a| a.ip()).ok_or_else(|| fail("no address".into()))
}

/// Reads a worker's greeting ([`Event::Hello`], its first line) one byte
/// at a time, leaving what follows for the event reader; returns the
/// worker's name.
fn greeting(s: &TcpStream) -> std::io::Result<String> {
    let invalid = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    s.set_read_timeout(Some(GREETING_TIMEOUT))?;
    let mut line = Vec::new();
    let mut byte = [0u8];
    while byte != [b'\n'] {
        if (&*s).read(&mut byte)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        line.push(byte[0]);
        if line.len() > MAX_GREETING {
            return Err(invalid("a greeting longer than a line"));
        }
    }
    s.set_read_timeout(None)?;
    match serde_json::from_slice(&line) {
        Ok(Event::Hello { name, .. }) => Ok(name),
        _ => Err(invalid("the first line is not a worker's greeting")),
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for s in &self.control {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        for site in &self.sites {
            if let Err(e) = site.engine.remove_run(&self.run_id) {
                eprintln!(
                    "warning: could not remove live run {} from {}: {e} (run `offsim live --cleanup`)",
                    self.run_id,
                    site.host.label()
                );
            }
        }
    }
}

/// Reads worker `i`'s events (lines of at most [`MAX_EVENT_LINE`] bytes)
/// until its connection ends.
fn read_events(i: usize, stream: TcpStream, tx: &Sender<Msg>) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    let why = loop {
        match read_line(&mut reader, &mut line, MAX_EVENT_LINE) {
            Ok(false) => break "the worker closed its control connection".to_string(),
            Err(e) => break format!("control connection broke: {e}"),
            Ok(true) => match serde_json::from_slice::<Event>(&line) {
                Ok(ev) => {
                    if tx.send(Msg::Event(i, ev)).is_err() {
                        return;
                    }
                }
                Err(e) => break format!("unreadable event `{}`: {e}", String::from_utf8_lossy(&line)),
            },
        }
    };
    let _ = tx.send(Msg::Lost(i, why));
}

/// The configuration of entity `e`'s worker: sizes and limits as `world`
/// resolved them for the simulator; the distributions it draws from and
/// the queue discipline as `spec` gives them; the registry (for a node) and
/// link `proxies` (for a device) it may connect to, and the run's secret.
fn worker_config(
    world: &World,
    spec: &Scenario,
    e: &Entity,
    settings: &WorkerSettings,
    registry: Option<String>,
    proxies: Vec<String>,
    secret: &Secret,
) -> WorkerConfig {
    let base = WorkerConfig {
        name: e.name.clone(),
        role: e.role,
        index: e.index,
        cores: e.cores,
        speed_hz: e.speed_hz,
        host_core_hz: e.host_core_hz,
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
        proxies,
        secret: secret.clone(),
        limits: settings.limits.clone(),
    };
    match e.role {
        Role::Device => {
            let class = world.class_of(e.index);
            WorkerConfig {
                priority_queue: class.queue == QueueDiscipline::Priority,
                queue_limit: class.queue_limit,
                ..base
            }
        }
        Role::Node => {
            let node = &spec.nodes[e.index as usize];
            let resolved = &world.nodes[e.index as usize];
            WorkerConfig {
                priority_queue: node.queue == QueueDiscipline::Priority,
                queue_limit: resolved.queue_limit,
                memory_bytes: resolved.memory_bytes,
                image_bytes: world.images.iter().map(|i| i.bytes).collect(),
                image_cache_bytes: resolved.cache_capacity,
                preloaded_images: settings.preloads[e.index as usize].clone(),
                cold_start_ms: node.cold_start_ms.clone(),
                keep_alive_s: node.keep_alive_s,
                registry: node.registry.as_ref().and(registry),
                ..base
            }
        }
    }
}
