//! The policy view of a live run, built from the workers' reports: devices
//! report whenever their run queue or busy cores change (so a device knows
//! itself as it is), nodes every `dispatcher.heartbeat_ms` (so node figures
//! are as old as the last report, as in the simulator). The views
//! themselves are assembled by the task core ([`crate::dispatch`]), as the
//! simulator's are; this module only turns reports into its measurements.

use crate::dispatch::{Knowledge, NodeReport, device_view};
use crate::energy::Meter;
use crate::engine::{SimRng, SimTime};
use crate::live::protocol::Report;
use crate::model::World;
use crate::policy::{Placement, Policy, TaskView};

/// A device as the dispatcher knows it.
struct DeviceState {
    meter: Meter,
    queue_len: u32,
}

/// A node's CPU time at its last report, for its utilisation average.
#[derive(Copy, Clone, Default)]
struct NodeCpu {
    received: SimTime,
    busy_core_ns: u64,
    ewma: f64,
}

/// Reports in, views out.
pub struct LiveView {
    devices: Vec<DeviceState>,
    nodes: Vec<NodeCpu>,
    knowledge: Knowledge,
}

impl LiveView {
    /// The view of `world` before any report: every queue empty, each node
    /// holding the images its cache holds in `world`.
    pub fn new(world: &World) -> LiveView {
        let devices = (0..world.devices.len() as u32)
            .map(|d| DeviceState { meter: Meter::new(world.class_of(d).cpu.idle_w), queue_len: 0 })
            .collect();
        LiveView { devices, nodes: vec![NodeCpu::default(); world.nodes.len()], knowledge: Knowledge::new(world) }
    }

    /// Device `d` reported at `now`.
    pub fn device_report(&mut self, world: &World, now: SimTime, d: u32, r: &Report) {
        let class = world.class_of(d);
        let state = &mut self.devices[d as usize];
        state.meter.advance(now, class.cores, world.settings.decay_per_ns);
        state.meter.set(r.busy_cores, class.cpu.at(r.busy_cores.min(class.cores), class.cores));
        state.queue_len = r.queue_len;
    }

    /// Node `n` reported at `now`: its utilisation since its previous
    /// report (from the CPU time it reports) joins its average.
    pub fn node_report(&mut self, world: &World, now: SimTime, n: u32, r: &Report) {
        let state = &mut self.nodes[n as usize];
        let dt = now.since(state.received);
        if dt > 0 {
            let cores = f64::from(world.nodes[n as usize].cores);
            let busy = r.busy_core_ns.saturating_sub(state.busy_core_ns) as f64;
            let u = (busy / (dt as f64 * cores)).clamp(0.0, 1.0);
            state.ewma = u + (state.ewma - u) * (-(dt as f64) * world.settings.decay_per_ns).exp();
        }
        state.received = now;
        state.busy_core_ns = r.busy_core_ns;
        let report = NodeReport {
            queue_len: r.queue_len,
            busy_cores: r.busy_cores,
            free_memory_bytes: r.free_memory_bytes,
            cpu_utilisation: state.ewma,
        };
        let status = (0..world.images.len() as u16).map(|i| (r.cached_images.contains(&i), r.warm_images.contains(&i)));
        self.knowledge.report(n as usize, now, report, status);
    }

    /// Modelled energy of device `d` so far (its power model applied to its
    /// reported busy cores), for its battery.
    pub fn device_energy_j(&self, d: u32, now: SimTime) -> f64 {
        self.devices[d as usize].meter.energy_at(now)
    }

    /// Asks `policy` where `task` (of placement constraint set
    /// `constraint`) runs.
    pub fn decide<P: Policy>(
        &mut self,
        world: &World,
        now: SimTime,
        task: &TaskView,
        constraint: u16,
        policy: &mut P,
        rng: &mut SimRng,
    ) -> Placement {
        let class = world.class_of(task.device);
        let state = &self.devices[task.device as usize];
        let device =
            device_view(class, state.queue_len, state.meter.busy(), &state.meter, now, world.settings.decay_per_ns);
        self.knowledge.decide(world, now, task, constraint, device, policy, rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::task_view;
    use crate::engine::NANOS_PER_SEC;
    use crate::model::{Purpose, stream};
    use crate::policy::{LinkView, NodeId, NodeView, SystemView};
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
labels = ["gpu"]
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
        let mut world = World::build(&s.spec, 1);
        let gpu_only = world.constraints.intern(&["gpu".to_string()], &[]).unwrap();
        let mut view = LiveView::new(&world);
        let ctx = PolicyContext { nodes: World::node_infos(&s.spec), images: Vec::new() };
        let mut policy: crate::policy::AnyPolicy = PolicyRegistry::new().build(&s.spec.policy, &ctx).unwrap().0;
        let mut rng = stream(1, Purpose::Policy, 0);
        let task = crate::policy::testing::task();
        let s1 = SimTime(NANOS_PER_SEC);
        view.node_report(&world, s1, 0, &report(5, 2, 2 * NANOS_PER_SEC));
        view.node_report(&world, s1, 1, &report(0, 0, 0));
        let p = view.decide(&world, SimTime(3 * NANOS_PER_SEC / 2), &task, 0, &mut policy, &mut rng);
        assert_eq!(p, Placement::Offload(NodeId(1)), "the busy node is avoided");
        assert!((view.nodes[0].ewma - (1.0 - (-1.0f64).exp())).abs() < 1e-9);
        let p = view.decide(&world, SimTime(3 * NANOS_PER_SEC / 2), &task, gpu_only, &mut policy, &mut rng);
        assert_eq!(p, Placement::Offload(NodeId(0)), "constraints filter the nodes shown");
        view.device_report(&world, SimTime(0), 0, &report(0, 1, 0));
        assert!((view.device_energy_j(0, s1) - 3.0).abs() < 1e-9, "one busy core for 1 s at 3 W");
    }

    /// One decision as the policy saw it: task, device, nodes, access links.
    type Seen = (TaskView, crate::policy::DeviceView, Vec<NodeView>, (LinkView, LinkView));

    /// Records every view it is shown, and runs every task locally.
    #[derive(Default)]
    struct Recorder(Vec<Seen>);

    impl Policy for Recorder {
        fn decide(&mut self, task: &TaskView, view: &SystemView<'_>, _: &mut SimRng) -> Placement {
            self.0.push((*task, view.device, view.nodes.to_vec(), (view.uplink, view.downlink)));
            Placement::Local
        }
    }

    #[test]
    fn the_live_view_equals_the_simulators_for_the_same_state() {
        // Three tasks, 1.25 s apart, with images and memory, each run on
        // the device for 1 ms; nodes report every second (node `a`'s memory
        // is rounded to bytes, not truncated; node `b` pulls from a
        // registry). Fed the measurements the simulator's model holds, the
        // live view must show the policy exactly what the simulator shows.
        let text = SCENARIO
            .replace("max_tasks = 1", "max_tasks = 3")
            .replace(
                "workload = { rate_per_s = 1, work_mcycles = { kind = \"constant\", value = 1 } }",
                "workload = { interarrival_ms = { kind = \"constant\", value = 1250 }, memory_mb = { kind = \"constant\", value = 100 }, image = \"img\", work_mcycles = { kind = \"constant\", value = 1 } }",
            )
            .replace("name = \"a\"\n", "name = \"a\"\nmemory_gb = 1.9999999996\npreloaded_images = [\"img\"]\n")
            .replace("name = \"b\"\n", "name = \"b\"\nregistry = { bandwidth_mbps = 100, latency_ms = 30 }\ncold_start_ms = { kind = \"uniform\", low = 100, high = 300 }\n")
            + "[dispatcher]\nheartbeat_ms = 1000\n[outputs]\nutilisation_interval_ms = 0\n[[images]]\nname = \"img\"\nsize_mb = 50\n";
        let s = LoadedScenario::from_toml(&text, "t", "t", ".".as_ref(), &[]).unwrap();
        let (_, simulated) = crate::run::simulate_with(&s, 3, Recorder::default()).unwrap();
        assert_eq!(simulated.0.len(), 3);

        let mut world = World::build(&s.spec, 3);
        let tasks = crate::live::run::tasks::workload(&s, 3, &mut world).unwrap();
        assert_eq!(world.nodes[0].memory_bytes, 2_000_000_000, "rounded, not truncated");
        let mut view = LiveView::new(&world);
        let mut live = Recorder::default();
        let mut rng = stream(3, Purpose::Policy, 0);
        let heartbeat = world.settings.heartbeat_ns;
        let mut reported = 0;
        for t in &tasks {
            // The idle nodes' reports of every heartbeat up to the arrival.
            while (reported + 1) * heartbeat <= t.arrival.0 {
                reported += 1;
                for n in 0..world.nodes.len() {
                    let idle = Report {
                        free_memory_bytes: world.nodes[n].memory_bytes,
                        cached_images: if n == 0 { vec![0] } else { Vec::new() },
                        ..report(0, 0, 0)
                    };
                    view.node_report(&world, SimTime(reported * heartbeat), n as u32, &idle);
                }
            }
            let task = task_view(&world, t.id, t.device, t.arrival, &t.attrs);
            view.decide(&world, t.arrival, &task, t.attrs.constraint, &mut live, &mut rng);
            // The device runs it: one core busy for 1 ms.
            view.device_report(&world, t.arrival, t.device, &report(0, 1, 0));
            view.device_report(&world, t.arrival.after(1_000_000), t.device, &report(0, 0, 0));
        }
        assert_eq!(live.0, simulated.0);
        let (task, device, nodes, _) = &simulated.0[2];
        assert_eq!(task.arrival, SimTime(3_750_000_000));
        assert!(device.cpu_utilisation > 0.0, "the earlier tasks' work shows");
        assert_eq!((nodes[0].memory_bytes, nodes[0].image_cached, nodes[1].image_cached), (2_000_000_000, true, false));
        assert_eq!((nodes[1].pull_bandwidth_bps, nodes[1].cold_start_s), (1e8, 0.2));
        assert_eq!(nodes[0].report_age_s, 0.75);
    }
}
