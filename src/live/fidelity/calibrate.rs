//! `offsim calibrate`: measures this host as the live backend uses it (real
//! container start-up, the speed a worker reaches under its CPU quota, the
//! accuracy of the link emulation) and writes a scenario fragment of
//! overrides, so the simulator predicts for the host it is validated
//! against: `offsim validate --calibration FILE` applies it to the simulated
//! side only; a simulation-only scenario can `include` it.

use crate::error::{Error, Result};
use crate::live::engine::engines::Engines;
use crate::live::engine::sizing;
use crate::live::link;
use crate::live::protocol::{Command, Event, Limits, OffloadRequest, Role, Status};
use crate::live::run::cluster::{Cluster, Msg, WorkerSettings};
use crate::live::run::live_spec;
use crate::live::worker::work;
use crate::scenario::{LinkSpec, LoadedScenario};
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// Seconds of work per CPU probe task.
const PROBE_S: f64 = 0.2;
/// Probe tasks per entity and path.
const PROBES: u32 = 3;
/// Bytes of the throughput probe.
const BULK_BYTES: u64 = 250_000;

/// The effective speed of one entity under its quota.
#[derive(Clone, Debug)]
pub struct SpeedProbe {
    /// The entity probed: `<class>-<index>` for a device, the node name for a node.
    pub entity: String,
    /// Whether the entity is a device or a node.
    pub role: Role,
    /// The scenario field it calibrates (`devices.<class>.speed_ghz` or
    /// `nodes.<name>.speed_ghz`).
    pub field: String,
    /// Speed in the scenario, in GHz.
    pub nominal_ghz: f64,
    /// Speed measured under the entity's CPU quota: cycles over measured execution time, in GHz.
    pub measured_ghz: f64,
}

/// Round trip and bulk upload through one device -> node path.
#[derive(Clone, Debug)]
pub struct LinkProbe {
    /// The node at the path's end.
    pub node: String,
    /// The access network of the probing device.
    pub network: String,
    /// Round trip of an empty message in the scenario (latency plus mean jitter of the four links), in
    /// milliseconds.
    pub configured_rtt_ms: f64,
    /// Measured round trip of an empty message (upload plus download phases), in milliseconds.
    pub measured_rtt_ms: f64,
    /// Extra upload time of `BULK_BYTES` over an empty message.
    pub configured_bulk_ms: f64,
    /// Measured extra upload time of `BULK_BYTES` over an empty message, in milliseconds.
    pub measured_bulk_ms: f64,
}

/// Everything measured.
#[derive(Clone, Debug)]
pub struct Calibration {
    /// The engines, each with its host's cores.
    pub engine: String,
    /// Spin-loop iterations per second of one host core, as measured.
    pub loop_rate: f64,
    /// Container start to worker ready, per container.
    pub cold_start_ms: Vec<f64>,
    /// Effective speed of every device class and node.
    pub speeds: Vec<SpeedProbe>,
    /// Round trip and bulk upload from the first device to each node.
    pub links: Vec<LinkProbe>,
    /// The kernel offers the `netem` queueing discipline; reported only, as the link proxy emulates links in
    /// user space.
    pub netem: bool,
}

/// Starts the scenario's containers and measures.
pub fn calibrate(scenario: &LoadedScenario, engines: &Engines) -> Result<Calibration> {
    // SIGINT, SIGTERM or SIGHUP stops the probes, which removes the containers.
    let _deferred = crate::interrupt::Deferred::new();
    let spec = &scenario.spec;
    let live = live_spec(scenario)?;
    let entities = sizing::entities(spec, live);
    engines.check_fits(&entities, live)?;
    let mut engine = Vec::new();
    for site in engines.sites() {
        let prefix = site.host.name.as_ref().map_or(String::new(), |name| format!("{name}: "));
        engine.push(format!("{prefix}{} ({} cores)", site.engine.describe(), site.engine.host_info()?.ncpu));
    }
    let loop_rate = work::measure_loop_rate();
    let (tx, rx) = std::sync::mpsc::channel();
    // The probes: PROBE_S of work at the fastest entity's speed, BULK_BYTES uploads.
    let max_cycles = entities.iter().map(|e| e.speed_hz * PROBE_S).fold(0.0, f64::max);
    let settings = WorkerSettings {
        seed: spec.simulation.seed,
        loop_rate,
        preloads: vec![Vec::new(); spec.nodes.len()],
        limits: Limits::new(BULK_BYTES, max_cycles, 0),
    };
    let world = crate::model::World::build(spec, spec.simulation.seed);
    let mut cluster = Cluster::start(engines, &world, spec, live, entities, &settings, &tx)?;
    drop(tx);
    let mut probe = Prober { cluster: &mut cluster, rx: &rx, next_id: 0 };
    let speeds = probe.speeds(scenario)?;
    let links = probe.links(scenario)?;
    let cold_start_ms = cluster.startup.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    Ok(Calibration {
        engine: engine.join("; "),
        loop_rate,
        cold_start_ms,
        speeds,
        links,
        netem: link::netem_available(),
    })
}

struct Prober<'a> {
    cluster: &'a mut Cluster,
    rx: &'a Receiver<Msg>,
    next_id: u64,
}

impl Prober<'_> {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Sends task `id` to device worker `device` and waits for its phases.
    fn ask(&mut self, device: usize, id: u64, command: Command) -> Result<[u64; 5]> {
        let mut line = serde_json::to_string(&command).expect("commands serialise");
        line.push('\n');
        let name = self.cluster.entities[device].name.clone();
        self.cluster.control[device]
            .write_all(line.as_bytes())
            .map_err(|e| Error::Live(format!("cannot reach worker `{name}`: {e}")))?;
        let give_up = Instant::now() + Duration::from_secs(60);
        loop {
            if crate::interrupt::received().is_some() {
                return Err(Error::Live("interrupted".into()));
            }
            match self.rx.recv_timeout(give_up.saturating_duration_since(Instant::now())) {
                Ok(Msg::Event(_, Event::Finished { id: got, status, phases, .. })) if got == id => {
                    return match status {
                        Status::Completed => Ok(phases),
                        other => Err(Error::Live(format!("calibration task on `{name}` ended {other:?}"))),
                    };
                }
                Ok(Msg::Lost(i, why)) => {
                    return Err(Error::Live(format!("worker `{}` lost: {why}", self.cluster.entities[i].name)));
                }
                Ok(_) => {}
                Err(_) => return Err(Error::Live(format!("no answer from worker `{name}` within 60 s"))),
            }
        }
    }

    fn offload(&mut self, device: usize, node: usize, cycles: f64, input_bytes: u64) -> Result<[u64; 5]> {
        let id = self.id();
        let request = OffloadRequest {
            id,
            priority: 0,
            overhead_cycles: 0.0,
            proxy: self.cluster.proxy_for(device, node),
            route: self.cluster.entities[device].index,
            cycles,
            input_bytes,
            output_bytes: 0,
            memory_bytes: 0,
            image: None,
            setup_rtts: 0,
            header_bytes: 0,
        };
        self.ask(device, id, Command::Offload(request))
    }

    /// Effective speed of the first device of each class and of each node.
    fn speeds(&mut self, scenario: &LoadedScenario) -> Result<Vec<SpeedProbe>> {
        let spec = &scenario.spec;
        let mut out = Vec::new();
        let mut first = 0usize;
        for class in &spec.devices {
            let e = self.cluster.entities[first].clone();
            let cycles = e.speed_hz * PROBE_S;
            let mut exec_ns = 0u64;
            for _ in 0..PROBES {
                let id = self.id();
                exec_ns += self.ask(first, id, Command::Run { id, cycles, priority: 0 })?[3];
            }
            out.push(SpeedProbe {
                entity: e.name,
                role: Role::Device,
                field: format!("devices.{}.speed_ghz", class.name),
                nominal_ghz: class.speed_ghz,
                measured_ghz: cycles * f64::from(PROBES) / exec_ns.max(1) as f64,
            });
            first += class.count as usize;
        }
        let devices = first;
        for (n, node) in spec.nodes.iter().enumerate() {
            let cycles = node.speed_ghz * 1e9 * PROBE_S;
            let mut exec_ns = 0u64;
            for _ in 0..PROBES {
                exec_ns += self.offload(0, n, cycles, 0)?[3];
            }
            out.push(SpeedProbe {
                entity: self.cluster.entities[devices + n].name.clone(),
                role: Role::Node,
                field: format!("nodes.{}.speed_ghz", node.name),
                nominal_ghz: node.speed_ghz,
                measured_ghz: cycles * f64::from(PROBES) / exec_ns.max(1) as f64,
            });
        }
        Ok(out)
    }

    /// Round trip and bulk upload from the first device to each node.
    fn links(&mut self, scenario: &LoadedScenario) -> Result<Vec<LinkProbe>> {
        let spec = &scenario.spec;
        let Some(class) = spec.devices.first() else { return Ok(Vec::new()) };
        let net = spec.networks.iter().find(|n| n.name == class.network).expect("validated network");
        let delay = |l: &LinkSpec| l.latency_ms + l.jitter_ms.as_ref().map_or(0.0, |j| j.mean());
        let mut out = Vec::new();
        for (n, node) in spec.nodes.iter().enumerate() {
            let mut rtt = 0.0;
            let mut bulk = 0.0;
            for _ in 0..PROBES {
                let empty = self.offload(0, n, 0.0, 0)?;
                let full = self.offload(0, n, 0.0, BULK_BYTES)?;
                rtt += (empty[1] + empty[4]) as f64 / 1e6;
                bulk += full[1].saturating_sub(empty[1]) as f64 / 1e6;
            }
            let bits = BULK_BYTES as f64 * 8.0;
            out.push(LinkProbe {
                node: node.name.clone(),
                network: net.name.clone(),
                configured_rtt_ms: delay(&net.up) + delay(&node.up) + delay(&node.down) + delay(&net.down),
                measured_rtt_ms: rtt / f64::from(PROBES),
                configured_bulk_ms: 1e3
                    * (bits / (net.up.bandwidth_mbps * 1e6) + bits / (node.up.bandwidth_mbps * 1e6)),
                measured_bulk_ms: bulk / f64::from(PROBES),
            });
        }
        Ok(out)
    }
}

/// The fragment: overrides (`"path" = value`, as `--set` takes them) with
/// the measurements as comments.
pub fn fragment(c: &Calibration, scenario: &LoadedScenario) -> String {
    let mut s = String::new();
    let host_core_ghz = scenario.spec.live.as_ref().map_or(0.0, |l| l.host_core_ghz);
    let _ = writeln!(s, "# offsim calibrate {}: {}", env!("CARGO_PKG_VERSION"), c.engine);
    let _ = writeln!(s, "# Use: offsim validate SCENARIO --calibration <this file> (the simulated side only), or");
    let _ = writeln!(s, "# include = [\"<this file>\"] in a scenario that is only simulated (--set flags still win).");
    let _ = writeln!(s, "# Worker spin loop: {:.4e} iterations/s per host core.", c.loop_rate);
    let _ = writeln!(s, "#");
    let _ = writeln!(s, "# Effective speed of a worker under its CPU quota (live.host_core_ghz = {host_core_ghz}):");
    for p in &c.speeds {
        let _ = writeln!(
            s,
            "\"{}\" = {:.4}  # {}: nominal {} GHz, {:+.1} %",
            p.field,
            p.measured_ghz,
            p.entity,
            p.nominal_ghz,
            100.0 * (p.measured_ghz / p.nominal_ghz - 1.0)
        );
    }
    let est = crate::stats::Estimate::of(&c.cold_start_ms);
    let (mean, std) = (est.mean.unwrap_or(0.0), est.std.unwrap_or(0.0));
    let _ = writeln!(s, "#");
    let _ = writeln!(
        s,
        "# Container cold start (create, start, worker ready) over {} containers: mean {mean:.1} ms, sd {std:.1} ms.",
        c.cold_start_ms.len()
    );
    for node in &scenario.spec.nodes {
        let _ = writeln!(
            s,
            "\"nodes.{}.cold_start_ms\" = {{ kind = \"normal\", mean = {mean:.1}, std = {std:.1} }}",
            node.name
        );
    }
    let _ = writeln!(s, "#");
    let netem = if c.netem { "available" } else { "not available" };
    let _ = writeln!(s, "# Link emulation (user-space proxy; kernel netem {netem}), first device to each node:");
    for l in &c.links {
        let _ = writeln!(
            s,
            "#   {} -> {}: round trip configured {:.2} ms, measured {:.2} ms ({:+.2} ms); \
             {} kB upload configured {:.2} ms, measured {:.2} ms ({:+.1} %)",
            l.network,
            l.node,
            l.configured_rtt_ms,
            l.measured_rtt_ms,
            l.measured_rtt_ms - l.configured_rtt_ms,
            BULK_BYTES / 1000,
            l.configured_bulk_ms,
            l.measured_bulk_ms,
            100.0 * (l.measured_bulk_ms / l.configured_bulk_ms - 1.0)
        );
    }
    // What a message loses crossing the proxy's sockets, beyond the
    // configured hops: half of the round trip's excess on each of the
    // node's directions.
    let _ = writeln!(s, "# The proxy's own delay, added to each node link (one message each way):");
    for l in &c.links {
        let Some(node) = scenario.spec.nodes.iter().find(|n| n.name == l.node) else { continue };
        let extra = ((l.measured_rtt_ms - l.configured_rtt_ms) / 2.0).max(0.0);
        for (dir, link) in [("up", &node.up), ("down", &node.down)] {
            let _ = writeln!(
                s,
                "\"nodes.{}.{dir}.latency_ms\" = {:.3}  # configured {}, +{extra:.3}",
                node.name,
                link.latency_ms + extra,
                link.latency_ms
            );
        }
    }
    s
}
