//! The policy view of a live run, built from the workers' reports: devices
//! report whenever their run queue or busy cores change (so a device knows
//! itself as it is), nodes every `dispatcher.heartbeat_ms` (so node figures
//! are as old as the last report, as in the simulator). Link figures are
//! the scenario's nominal estimates, as the simulator gives them.

use crate::energy::Meter;
use crate::engine::{NANOS_PER_SEC, SimRng, SimTime};
use crate::live::protocol::Report;
use crate::model::{World, link_view, node_startup};
use crate::policy::{LinkView, NodeId, NodeView, Placement, Policy, SystemView, TaskView};
use crate::scenario::Scenario;

/// A device as the dispatcher knows it.
struct DeviceState {
    meter: Meter,
    queue_len: u32,
}

/// A node as of its last report.
struct NodeState {
    /// Everything but the image fields, which depend on the task.
    view: NodeView,
    cached: Vec<u16>,
    warm: Vec<u16>,
    received: SimTime,
    busy_core_ns: u64,
    ewma: f64,
}

/// Reports in, views out.
pub struct LiveView {
    devices: Vec<DeviceState>,
    nodes: Vec<NodeState>,
    /// Per access network: (uplink, downlink) estimates.
    access: Vec<(LinkView, LinkView)>,
    /// One over the utilisation average's time constant.
    decay_per_ns: f64,
    buffer: Vec<NodeView>,
}

impl LiveView {
    /// The view of `world` before any report: every queue empty, each node
    /// holding the images in `preloads` (per node).
    pub fn new(spec: &Scenario, world: &World, preloads: &[Vec<u16>]) -> LiveView {
        let devices = world
            .devices
            .iter()
            .enumerate()
            .map(|(d, _)| DeviceState { meter: Meter::new(world.class_of(d as u32).cpu.idle_w), queue_len: 0 })
            .collect();
        let nodes = spec
            .nodes
            .iter()
            .enumerate()
            .map(|(n, s)| {
                let (cold_start_s, pull_bandwidth_bps, pull_latency_s) = node_startup(s);
                let memory_bytes = (s.memory_gb * 1e9) as u64;
                NodeState {
                    view: NodeView {
                        id: NodeId(n as u32),
                        cores: s.cores,
                        speed_hz: s.speed_ghz * 1e9,
                        memory_bytes,
                        free_memory_bytes: memory_bytes,
                        queue_len: 0,
                        busy_cores: 0,
                        cpu_utilisation: 0.0,
                        image_cached: false,
                        container_warm: false,
                        cold_start_s,
                        pull_bandwidth_bps,
                        pull_latency_s,
                        uplink: link_view(&s.up),
                        downlink: link_view(&s.down),
                        report_age_s: 0.0,
                    },
                    cached: preloads.get(n).cloned().unwrap_or_default(),
                    warm: Vec::new(),
                    received: SimTime::ZERO,
                    busy_core_ns: 0,
                    ewma: 0.0,
                }
            })
            .collect();
        LiveView {
            devices,
            nodes,
            access: spec.networks.iter().map(|n| (link_view(&n.up), link_view(&n.down))).collect(),
            decay_per_ns: 1.0 / (spec.dispatcher.utilisation_window_ms * 1e6),
            buffer: Vec::new(),
        }
    }

    /// Device `d` reported at `now`.
    pub fn device_report(&mut self, world: &World, now: SimTime, d: u32, r: &Report) {
        let class = world.class_of(d);
        let state = &mut self.devices[d as usize];
        state.meter.advance(now, class.cores, self.decay_per_ns);
        state.meter.set(r.busy_cores, class.cpu.at(r.busy_cores.min(class.cores), class.cores));
        state.queue_len = r.queue_len;
    }

    /// Node `n` reported at `now`.
    pub fn node_report(&mut self, now: SimTime, n: u32, r: &Report) {
        let state = &mut self.nodes[n as usize];
        let dt = now.since(state.received);
        if dt > 0 {
            let busy = r.busy_core_ns.saturating_sub(state.busy_core_ns) as f64;
            let u = (busy / (dt as f64 * f64::from(state.view.cores))).clamp(0.0, 1.0);
            state.ewma = u + (state.ewma - u) * (-(dt as f64) * self.decay_per_ns).exp();
        }
        state.received = now;
        state.busy_core_ns = r.busy_core_ns;
        state.view.queue_len = r.queue_len;
        state.view.busy_cores = r.busy_cores;
        state.view.free_memory_bytes = r.free_memory_bytes;
        state.view.cpu_utilisation = state.ewma;
        state.cached.clone_from(&r.cached_images);
        state.warm.clone_from(&r.warm_images);
    }

    /// Modelled energy of device `d` so far (its power model applied to its
    /// reported busy cores), for its battery.
    pub fn device_energy_j(&self, d: u32, now: SimTime) -> f64 {
        self.devices[d as usize].meter.energy_at(now)
    }

    /// Asks `policy` where `task` runs, showing it the nodes `allowed`.
    pub fn decide<P: Policy>(
        &mut self,
        world: &World,
        now: SimTime,
        task: &TaskView,
        allowed: impl Fn(usize) -> bool,
        policy: &mut P,
        rng: &mut SimRng,
    ) -> Placement {
        let class = world.class_of(task.device);
        let state = &self.devices[task.device as usize];
        let device = class.view(
            state.queue_len,
            state.meter.busy(),
            state.meter.utilisation_at(now, class.cores, self.decay_per_ns),
            state.meter.energy_at(now),
        );
        let (uplink, downlink) = self.access[class.network as usize];
        let mut buffer = std::mem::take(&mut self.buffer);
        buffer.clear();
        buffer.extend(self.nodes.iter().enumerate().filter(|(n, _)| allowed(*n)).map(|(_, s)| {
            let (cached, warm) = task.image.map_or((true, true), |i| (s.cached.contains(&i), s.warm.contains(&i)));
            NodeView {
                image_cached: cached,
                container_warm: warm,
                report_age_s: now.since(s.received) as f64 / NANOS_PER_SEC as f64,
                ..s.view
            }
        }));
        let view = SystemView { now, device, uplink, downlink, nodes: &buffer };
        let placement = policy.decide(task, &view, rng);
        self.buffer = buffer;
        placement
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;
    use crate::policy::{PolicyContext, PolicyRegistry};
    use crate::scenario::LoadedScenario;

    const SCENARIO: &str = r#"
policy = { name = "least-loaded" }
workload = { max_tasks = 1 }
[[networks]]
name = "n"
up = { bandwidth_mbps = 10, latency_ms = 5 }
down = { bandwidth_mbps = 10, latency_ms = 5 }
[[devices]]
name = "d"
network = "n"
speed_ghz = 1
power = { idle_w = 1, busy_w = 3 }
workload = { rate_per_s = 1, work_mcycles = { kind = "constant", value = 1 } }
[[nodes]]
name = "a"
tier = "edge"
cores = 2
speed_ghz = 2
up = { bandwidth_mbps = 10 }
down = { bandwidth_mbps = 10 }
power = { idle_w = 1, busy_w = 2 }
[[nodes]]
name = "b"
tier = "edge"
cores = 2
speed_ghz = 2
up = { bandwidth_mbps = 10 }
down = { bandwidth_mbps = 10 }
power = { idle_w = 1, busy_w = 2 }
"#;

    fn report(queue_len: u32, busy_cores: u32, busy_core_ns: u64) -> Report {
        Report {
            queue_len,
            busy_cores,
            busy_core_ns,
            free_memory_bytes: 0,
            cached_images: Vec::new(),
            warm_images: Vec::new(),
            cgroup_cpu_ns: None,
        }
    }

    #[test]
    fn policies_see_reported_load_and_its_age() {
        let s = LoadedScenario::from_toml(SCENARIO, "t", "t", ".".as_ref(), &[]).unwrap();
        let world = World::build(&s.spec, 1);
        let mut view = LiveView::new(&s.spec, &world, &[]);
        let ctx = PolicyContext { nodes: World::node_infos(&s.spec), images: Vec::new() };
        let mut policy: crate::policy::AnyPolicy = PolicyRegistry::new().build(&s.spec.policy, &ctx).unwrap().0;
        let mut rng = stream(1, "policy", 0);
        let task = crate::policy::testing::task();
        let s1 = SimTime(NANOS_PER_SEC);
        view.node_report(s1, 0, &report(5, 2, 2 * NANOS_PER_SEC));
        view.node_report(s1, 1, &report(0, 0, 0));
        let p = view.decide(&world, SimTime(3 * NANOS_PER_SEC / 2), &task, |_| true, &mut policy, &mut rng);
        assert_eq!(p, Placement::Offload(NodeId(1)), "the busy node is avoided");
        assert!((view.nodes[0].view.cpu_utilisation - (1.0 - (-1.0f64).exp())).abs() < 1e-9);
        let p = view.decide(&world, SimTime(3 * NANOS_PER_SEC / 2), &task, |n| n == 0, &mut policy, &mut rng);
        assert_eq!(p, Placement::Offload(NodeId(0)), "constraints filter the nodes shown");
        view.device_report(&world, SimTime(0), 0, &report(0, 1, 0));
        assert!((view.device_energy_j(0, s1) - 3.0).abs() < 1e-9, "one busy core for 1 s at 3 W");
    }
}
