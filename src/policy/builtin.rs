//! Built-in policies of the core: `local`, `offload` and `threshold`.

use super::{NodeId, NodeView, Placement, Policy, SystemView, TaskOutcome, TaskView};
use crate::engine::SimRng;

/// Runs every task on its device.
#[derive(Clone, Debug, Default)]
pub struct Local;

impl Policy for Local {
    fn decide(&mut self, _: &TaskView, _: &SystemView<'_>, _: &mut SimRng) -> Placement {
        Placement::Local
    }
}

/// Load of a node as the fraction of its cores asked for: (running +
/// waiting) / cores.
fn load(n: &NodeView) -> f64 {
    f64::from(n.busy_cores + n.queue_len) / f64::from(n.cores)
}

/// Picks the node with the lowest (running + waiting) / cores; ties go to
/// the lowest index. `None` when there is no node.
#[derive(Clone, Debug, Default)]
pub struct LeastLoaded;

impl LeastLoaded {
    /// The least-loaded node of the view.
    pub fn pick(view: &SystemView<'_>) -> Option<NodeId> {
        view.nodes.iter().min_by(|a, b| load(a).total_cmp(&load(b)).then(a.id.cmp(&b.id))).map(|n| n.id)
    }
}

/// `target` if the task may use it (it is in the view), else the
/// least-loaded node the task may use.
fn target_or_least_loaded(target: Option<NodeId>, view: &SystemView<'_>) -> Option<NodeId> {
    target.filter(|t| view.nodes.iter().any(|n| n.id == *t)).or_else(|| LeastLoaded::pick(view))
}

/// Offloads every task, to a fixed node or to the least-loaded one.
#[derive(Clone, Debug)]
pub struct Offload {
    pub target: Option<NodeId>,
}

impl Policy for Offload {
    fn decide(&mut self, _: &TaskView, view: &SystemView<'_>, _: &mut SimRng) -> Placement {
        match target_or_least_loaded(self.target, view) {
            Some(n) => Placement::Offload(n),
            None => Placement::Local,
        }
    }
}

/// The source document's rule (ch. 2): offload when the device's recent CPU
/// utilisation exceeds `cpu_threshold` (default 0.8), to `target` or else the
/// least-loaded node; otherwise run locally.
#[derive(Clone, Debug)]
pub struct Threshold {
    pub cpu_threshold: f64,
    pub target: Option<NodeId>,
}

impl Policy for Threshold {
    fn decide(&mut self, _: &TaskView, view: &SystemView<'_>, _: &mut SimRng) -> Placement {
        if view.device.cpu_utilisation <= self.cpu_threshold {
            return Placement::Local;
        }
        match target_or_least_loaded(self.target, view) {
            Some(n) => Placement::Offload(n),
            None => Placement::Local,
        }
    }
}

/// The built-in policies as one enum: static dispatch in the hot path.
#[derive(Clone, Debug)]
pub enum BuiltinPolicy {
    Local(Local),
    Offload(Offload),
    Threshold(Threshold),
}

impl Policy for BuiltinPolicy {
    fn decide(&mut self, task: &TaskView, view: &SystemView<'_>, rng: &mut SimRng) -> Placement {
        match self {
            BuiltinPolicy::Local(p) => p.decide(task, view, rng),
            BuiltinPolicy::Offload(p) => p.decide(task, view, rng),
            BuiltinPolicy::Threshold(p) => p.decide(task, view, rng),
        }
    }

    fn observe(&mut self, outcome: &TaskOutcome) {
        match self {
            BuiltinPolicy::Local(p) => p.observe(outcome),
            BuiltinPolicy::Offload(p) => p.observe(outcome),
            BuiltinPolicy::Threshold(p) => p.observe(outcome),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{SimTime, stream};
    use crate::policy::{DeviceView, LinkView};

    fn device(util: f64) -> DeviceView {
        DeviceView {
            cores: 1,
            speed_hz: 1e9,
            queue_len: 0,
            busy_cores: 0,
            cpu_utilisation: util,
            battery_fraction: None,
            idle_w: 1.0,
            busy_w: 2.0,
            tx_w: 0.5,
            rx_w: 0.5,
            offload_overhead_cycles: 0.0,
            setup_rtts: 0.0,
            header_bytes: 0,
        }
    }

    fn node(id: u32, cores: u32, busy: u32, queue: u32) -> NodeView {
        let link = LinkView { bandwidth_bps: 1e6, latency_s: 0.01 };
        NodeView {
            id: NodeId(id),
            cores,
            speed_hz: 2e9,
            memory_bytes: 1 << 30,
            free_memory_bytes: 1 << 30,
            queue_len: queue,
            busy_cores: busy,
            cpu_utilisation: 0.0,
            image_cached: true,
            container_warm: true,
            cold_start_s: 0.5,
            pull_bandwidth_bps: 1e8,
            pull_latency_s: 0.01,
            uplink: link,
            downlink: link,
            report_age_s: 0.0,
        }
    }

    fn task() -> TaskView {
        TaskView {
            id: 0,
            device: 0,
            arrival: SimTime::ZERO,
            work_cycles: 1e9,
            input_bytes: 0,
            output_bytes: 0,
            memory_bytes: 0,
            image: None,
            image_bytes: 0,
            priority: 0,
            deadline: None,
        }
    }

    fn view<'a>(util: f64, nodes: &'a [NodeView]) -> SystemView<'a> {
        let link = LinkView { bandwidth_bps: 1e6, latency_s: 0.01 };
        SystemView { now: SimTime::ZERO, device: device(util), uplink: link, downlink: link, nodes }
    }

    #[test]
    fn threshold_offloads_only_above_the_threshold() {
        // The source document's example: offload when CPU exceeds 80 %.
        let nodes = [node(0, 4, 0, 0), node(1, 4, 0, 0)];
        let mut p = Threshold { cpu_threshold: 0.8, target: Some(NodeId(1)) };
        let mut rng = stream(1, "policy", 0);
        assert_eq!(p.decide(&task(), &view(0.79, &nodes), &mut rng), Placement::Local);
        assert_eq!(p.decide(&task(), &view(0.80, &nodes), &mut rng), Placement::Local);
        assert_eq!(p.decide(&task(), &view(0.92, &nodes), &mut rng), Placement::Offload(NodeId(1)));
    }

    #[test]
    fn threshold_without_target_uses_least_loaded() {
        let nodes = [node(0, 4, 4, 2), node(1, 8, 2, 0)];
        let mut p = Threshold { cpu_threshold: 0.8, target: None };
        let mut rng = stream(1, "policy", 0);
        assert_eq!(p.decide(&task(), &view(0.95, &nodes), &mut rng), Placement::Offload(NodeId(1)));
    }

    #[test]
    fn least_loaded_normalises_by_cores_and_breaks_ties_by_index() {
        let nodes = [node(0, 2, 1, 0), node(1, 4, 2, 0), node(2, 4, 1, 0)];
        assert_eq!(LeastLoaded::pick(&view(0.0, &nodes)), Some(NodeId(2)));
        let tied = [node(0, 2, 1, 0), node(1, 4, 2, 0)];
        assert_eq!(LeastLoaded::pick(&view(0.0, &tied)), Some(NodeId(0)));
        assert_eq!(LeastLoaded::pick(&view(0.0, &[])), None);
    }

    #[test]
    fn a_target_the_task_may_not_use_is_replaced_by_the_least_loaded_node() {
        // Node 1 is the target but the task's constraints leave only nodes 0 and 2.
        let nodes = [node(0, 4, 4, 0), node(2, 4, 1, 0)];
        let mut p = Offload { target: Some(NodeId(1)) };
        let mut rng = stream(1, "policy", 0);
        assert_eq!(p.decide(&task(), &view(0.0, &nodes), &mut rng), Placement::Offload(NodeId(2)));
    }

    #[test]
    fn offload_without_nodes_falls_back_to_local() {
        let mut p = Offload { target: None };
        let mut rng = stream(1, "policy", 0);
        assert_eq!(p.decide(&task(), &view(1.0, &[]), &mut rng), Placement::Local);
        let mut local = Local;
        assert_eq!(local.decide(&task(), &view(1.0, &[node(0, 1, 0, 0)]), &mut rng), Placement::Local);
    }
}
