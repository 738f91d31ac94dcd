//! Built-in policies of the core: `local`, `offload`, `threshold` and
//! `least-loaded`, and the [`BuiltinPolicy`] enum through which every
//! built-in policy is dispatched statically.
//!
//! `least-loaded`: a node's load is `(busy_cores + queue_len) / cores` (the
//! fraction of its cores asked for, as of its last report); the task goes to
//! the node with the lowest load, ties to the lowest id. With
//! `include_local` (default false) the device's own load, computed the same
//! way from its current `busy_cores`, `queue_len` and `cores`, competes too
//! and wins ties. With no node available the task runs locally.

use super::adaptive::Adaptive;
use super::baseline::{Random, RoundRobin};
use super::by_estimate::{DeadlineAware, EarliestFinish, MinEnergy};
use super::image_aware::ImageAware;
use super::ucb::Ucb;
use super::weighted_random::WeightedRandom;
use super::weighted_score::WeightedScore;
use super::{DeviceView, NodeId, NodeView, Placement, Policy, SystemView, TaskOutcome, TaskView};
use crate::engine::SimRng;

/// Runs every task on its device.
#[derive(Clone, Debug, Default)]
pub struct Local;

impl Policy for Local {
    fn observes(&self) -> bool {
        false
    }

    fn decide(&mut self, _: &TaskView, _: &SystemView<'_>, _: &mut SimRng) -> Placement {
        Placement::Local
    }
}

/// Load of a node as the fraction of its cores asked for: (running +
/// waiting) / cores.
pub(crate) fn load(n: &NodeView) -> f64 {
    f64::from(n.busy_cores + n.queue_len) / f64::from(n.cores)
}

/// Load of the device, the same way: (running + waiting) / cores.
fn device_load(d: &DeviceView) -> f64 {
    f64::from(d.busy_cores + d.queue_len) / f64::from(d.cores)
}

/// The `least-loaded` policy: the node with the lowest (running + waiting) /
/// cores, ties to the lowest index; with `include_local` the device competes
/// the same way and wins ties. Locally when there is no node.
#[derive(Clone, Debug, Default)]
pub struct LeastLoaded {
    /// The device competes with the nodes on load, and wins ties.
    pub include_local: bool,
}

impl LeastLoaded {
    /// The least-loaded node of the view.
    pub fn pick(view: &SystemView<'_>) -> Option<NodeId> {
        view.nodes.iter().min_by(|a, b| load(a).total_cmp(&load(b)).then(a.id.cmp(&b.id))).map(|n| n.id)
    }
}

/// `target` if the task may use it (it is in the view), else the
/// least-loaded node the task may use.
pub(crate) fn target_or_least_loaded(target: Option<NodeId>, view: &SystemView<'_>) -> Option<NodeId> {
    target.filter(|t| view.nodes.iter().any(|n| n.id == *t)).or_else(|| LeastLoaded::pick(view))
}

impl Policy for LeastLoaded {
    fn observes(&self) -> bool {
        false
    }

    fn decide(&mut self, _: &TaskView, view: &SystemView<'_>, _: &mut SimRng) -> Placement {
        let Some(best) = view.nodes.iter().min_by(|a, b| load(a).total_cmp(&load(b)).then(a.id.cmp(&b.id))) else {
            return Placement::Local;
        };
        if self.include_local && device_load(&view.device) <= load(best) {
            Placement::Local
        } else {
            Placement::Offload(best.id)
        }
    }
}

/// Offloads every task, to a fixed node or to the least-loaded one.
#[derive(Clone, Debug)]
pub struct Offload {
    /// The node to offload to; `None` (or a node the task may not use) picks the least-loaded node.
    pub target: Option<NodeId>,
}

impl Policy for Offload {
    fn observes(&self) -> bool {
        false
    }

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
    /// Device CPU utilisation above which tasks are offloaded, in [0, 1].
    pub cpu_threshold: f64,
    /// The node to offload to; `None` (or a node the task may not use) picks the least-loaded node.
    pub target: Option<NodeId>,
}

impl Policy for Threshold {
    fn observes(&self) -> bool {
        false
    }

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

/// Declares [`BuiltinPolicy`] with one variant per built-in policy and its
/// `Policy` implementation as a `match` over them (static dispatch).
macro_rules! builtin_policies {
    ($($variant:ident),* $(,)?) => {
        /// The built-in policies as one enum: static dispatch in the hot path.
        #[derive(Clone, Debug)]
        pub enum BuiltinPolicy {
            $(
                #[doc = concat!("The [`", stringify!($variant), "`] policy.")]
                $variant($variant),
            )*
        }

        impl Policy for BuiltinPolicy {
            #[inline]
            fn decide(&mut self, task: &TaskView, view: &SystemView<'_>, rng: &mut SimRng) -> Placement {
                match self {
                    $(BuiltinPolicy::$variant(p) => p.decide(task, view, rng),)*
                }
            }

            fn observe(&mut self, outcome: &TaskOutcome) {
                match self {
                    $(BuiltinPolicy::$variant(p) => p.observe(outcome),)*
                }
            }

            fn observes(&self) -> bool {
                match self {
                    $(BuiltinPolicy::$variant(p) => p.observes(),)*
                }
            }

            fn preload(&self) -> Vec<(NodeId, u16)> {
                match self {
                    $(BuiltinPolicy::$variant(p) => p.preload(),)*
                }
            }
        }
    };
}

builtin_policies!(
    Local,
    Offload,
    Threshold,
    WeightedScore,
    WeightedRandom,
    Adaptive,
    ImageAware,
    Random,
    RoundRobin,
    LeastLoaded,
    EarliestFinish,
    MinEnergy,
    DeadlineAware,
    Ucb,
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::{self, rng, task};

    /// A node with `cores`, `busy` of them busy and `queue` tasks waiting.
    fn node(id: u32, cores: u32, busy: u32, queue: u32) -> NodeView {
        NodeView { cores, busy_cores: busy, queue_len: queue, ..testing::node(id) }
    }

    fn view(util: f64, nodes: &[NodeView]) -> SystemView<'_> {
        testing::view(testing::device(util), nodes)
    }

    #[test]
    fn threshold_offloads_only_above_the_threshold() {
        // The source document's example: offload when CPU exceeds 80 %.
        let nodes = [node(0, 4, 0, 0), node(1, 4, 0, 0)];
        let mut p = Threshold { cpu_threshold: 0.8, target: Some(NodeId(1)) };
        let mut rng = rng();
        assert_eq!(p.decide(&task(), &view(0.79, &nodes), &mut rng), Placement::Local);
        assert_eq!(p.decide(&task(), &view(0.80, &nodes), &mut rng), Placement::Local);
        assert_eq!(p.decide(&task(), &view(0.92, &nodes), &mut rng), Placement::Offload(NodeId(1)));
    }

    #[test]
    fn threshold_without_target_uses_least_loaded() {
        let nodes = [node(0, 4, 4, 2), node(1, 8, 2, 0)];
        let mut p = Threshold { cpu_threshold: 0.8, target: None };
        let mut rng = rng();
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
        let mut rng = rng();
        assert_eq!(p.decide(&task(), &view(0.0, &nodes), &mut rng), Placement::Offload(NodeId(2)));
    }

    #[test]
    fn least_loaded_policy_compares_the_device_only_when_asked() {
        let nodes = [node(0, 2, 2, 1), node(1, 4, 2, 0)]; // loads 1.5 and 0.5
        let mut rng = rng();
        let mut v = view(0.0, &nodes);
        v.device.busy_cores = 1; // device load 1.0
        let mut p = LeastLoaded { include_local: false };
        assert_eq!(p.decide(&task(), &v, &mut rng), Placement::Offload(NodeId(1)));
        let mut p = LeastLoaded { include_local: true };
        assert_eq!(p.decide(&task(), &v, &mut rng), Placement::Offload(NodeId(1)), "1.0 > 0.5");
        v.device.cores = 2; // 0.5: a tie goes to the device
        assert_eq!(p.decide(&task(), &v, &mut rng), Placement::Local);
        assert_eq!(p.decide(&task(), &view(1.0, &[]), &mut rng), Placement::Local);
        assert_eq!(LeastLoaded::default().decide(&task(), &view(1.0, &[]), &mut rng), Placement::Local);
    }

    #[test]
    fn offload_without_nodes_falls_back_to_local() {
        let mut p = Offload { target: None };
        let mut rng = rng();
        assert_eq!(p.decide(&task(), &view(1.0, &[]), &mut rng), Placement::Local);
        let mut local = Local;
        assert_eq!(local.decide(&task(), &view(1.0, &[node(0, 1, 0, 0)]), &mut rng), Placement::Local);
    }
}
