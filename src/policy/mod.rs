//! The policy interface shared by the simulator and the live backend.
//!
//! For each task a policy receives the task, a read-only [`SystemView`] and
//! its own random stream, and returns a [`Placement`]. The view holds plain
//! measurements (queue lengths, utilisation, link estimates, node state,
//! battery); it exposes nothing of the simulator, so the same policy code can
//! run against real hosts. Policies may learn from outcomes through
//! [`Policy::observe`].

mod adaptive;
mod baseline;
mod builtin;
mod by_estimate;
mod catalog;
pub mod estimate;
mod image_aware;
mod registry;
#[cfg(test)]
pub(crate) mod testing;
mod ucb;
mod view;
mod weighted_random;
mod weighted_score;

pub use adaptive::{Adaptive, Holt};
pub use baseline::{Random, RoundRobin};
pub use builtin::{BuiltinPolicy, LeastLoaded, Local, Offload, Threshold};
pub use by_estimate::{DeadlineAware, EarliestFinish, MinEnergy};
pub use estimate::Estimate;
pub use image_aware::ImageAware;
pub use registry::{AnyPolicy, PolicyContext, PolicyFactory, PolicyRegistry, parse_params};
pub use ucb::{Arm, Ucb};
pub use view::{
    DeviceView, EndReason, ImageInfo, LinkView, NodeId, NodeInfo, NodeView, SystemView, TaskOutcome, TaskView,
};
pub use weighted_random::WeightedRandom;
pub use weighted_score::{Variant, WeightedScore};

use crate::engine::SimRng;

/// Where a task runs.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Placement {
    /// On the device that produced it.
    Local,
    /// Offloaded to a node.
    Offload(NodeId),
}

/// An offload policy.
pub trait Policy {
    /// Chooses where `task` runs, given what the dispatcher knows now.
    fn decide(&mut self, task: &TaskView, view: &SystemView<'_>, rng: &mut SimRng) -> Placement;

    /// Called once when a task ends, whatever the reason (the simulator
    /// skips the call when [`Policy::observes`] is `false`).
    fn observe(&mut self, _outcome: &TaskOutcome) {}

    /// Whether the policy learns from [`Policy::observe`]. A policy that
    /// does not may return `false`: the simulator then skips building its
    /// outcomes (about 2 % of the instructions of a run).
    fn observes(&self) -> bool {
        true
    }

    /// Images (by index) to place on nodes before the first task, e.g. to
    /// pre-load them where the policy will send their tasks.
    fn preload(&self) -> Vec<(NodeId, u16)> {
        Vec::new()
    }
}

impl<P: Policy + ?Sized> Policy for Box<P> {
    fn decide(&mut self, task: &TaskView, view: &SystemView<'_>, rng: &mut SimRng) -> Placement {
        (**self).decide(task, view, rng)
    }
    fn observe(&mut self, outcome: &TaskOutcome) {
        (**self).observe(outcome)
    }
    fn observes(&self) -> bool {
        (**self).observes()
    }
    fn preload(&self) -> Vec<(NodeId, u16)> {
        (**self).preload()
    }
}
