//! What the dispatcher knows of the nodes when it decides a task, and the
//! decision itself.
//!
//! Each node's figures are those of its last report (`report_age_s` says
//! how old): the simulator reports every node at each heartbeat from its
//! model, the live backend takes each worker's reports as they come. With
//! no heartbeat the simulator shows nodes as they are
//! ([`Knowledge::decide_on_current`]). Link figures are the scenario's
//! nominal estimates in both.

use super::view::{NodeReport, node_view};
use crate::engine::{SECS_PER_NANO, SimRng, SimTime};
use crate::model::World;
use crate::policy::{DeviceView, NodeView, Placement, Policy, SystemView, TaskView};

/// Every node as of its last report.
pub struct Knowledge {
    /// Per node: its static facts.
    cards: Vec<NodeView>,
    reports: Vec<NodeReport>,
    received: Vec<SimTime>,
    /// Images in the scenario.
    images: usize,
    /// Per node, then image: (cached, warm) as of its last report.
    image_status: Vec<(bool, bool)>,
    /// The nodes shown to the policy; reused for every decision.
    buffer: Vec<NodeView>,
}

impl Knowledge {
    /// What is known before any report: every node idle, holding the
    /// images its cache holds in `world` now, reported at time zero.
    pub fn new(world: &World) -> Knowledge {
        let nodes = world.nodes.len();
        Knowledge {
            cards: world.node_views.clone(),
            reports: world
                .node_views
                .iter()
                .map(|v| NodeReport { free_memory_bytes: v.memory_bytes, ..NodeReport::default() })
                .collect(),
            received: vec![SimTime::ZERO; nodes],
            images: world.images.len(),
            image_status: world
                .nodes
                .iter()
                .flat_map(|n| (0..n.images.len()).map(|i| n.image_status(SimTime::ZERO, i)))
                .collect(),
            buffer: Vec::with_capacity(nodes),
        }
    }

    /// Node `n` reported load `r` and, per image, whether it holds it and
    /// has a container of it running or warm (`status`, in image order).
    pub fn report(&mut self, n: usize, at: SimTime, r: NodeReport, status: impl IntoIterator<Item = (bool, bool)>) {
        self.reports[n] = r;
        self.received[n] = at;
        let row = &mut self.image_status[n * self.images..(n + 1) * self.images];
        for (slot, s) in row.iter_mut().zip(status) {
            *slot = s;
        }
    }

    /// The last report of node `n`.
    pub fn last_report(&self, n: usize) -> &NodeReport {
        &self.reports[n]
    }

    /// Asks `policy` where `task` runs, showing it the deciding `device`,
    /// its access network and the nodes its constraint set allows, each as
    /// of its last report.
    #[allow(clippy::too_many_arguments)]
    pub fn decide<P: Policy>(
        &mut self,
        world: &World,
        now: SimTime,
        task: &TaskView,
        constraint: u16,
        device: DeviceView,
        policy: &mut P,
        rng: &mut SimRng,
    ) -> Placement {
        self.decide_with(world, now, task, constraint, device, policy, rng, |k, n| {
            let status = task.image.map_or((true, true), |i| k.image_status[n * k.images + usize::from(i)]);
            node_view(&k.cards[n], &k.reports[n], status, now.since(k.received[n]) as f64 * SECS_PER_NANO)
        })
    }

    /// As [`Knowledge::decide`], but showing each node as it is now:
    /// `current(n, image)` gives node `n`'s load and its status for the
    /// task's image (`None`: the task needs none).
    #[allow(clippy::too_many_arguments)]
    pub fn decide_on_current<P: Policy>(
        &mut self,
        world: &World,
        now: SimTime,
        task: &TaskView,
        constraint: u16,
        device: DeviceView,
        policy: &mut P,
        rng: &mut SimRng,
        current: impl Fn(usize, Option<u16>) -> (NodeReport, (bool, bool)),
    ) -> Placement {
        self.decide_with(world, now, task, constraint, device, policy, rng, |k, n| {
            let (report, status) = current(n, task.image);
            node_view(&k.cards[n], &report, status, 0.0)
        })
    }

    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn decide_with<P: Policy>(
        &mut self,
        world: &World,
        now: SimTime,
        task: &TaskView,
        constraint: u16,
        device: DeviceView,
        policy: &mut P,
        rng: &mut SimRng,
        node: impl Fn(&Knowledge, usize) -> NodeView,
    ) -> Placement {
        let (uplink, downlink) = world.access_views[world.class_of(task.device).network as usize];
        let mut buffer = std::mem::take(&mut self.buffer);
        buffer.clear();
        for n in (0..self.cards.len()).filter(|&n| world.constraints.allows(constraint, n)) {
            buffer.push(node(self, n));
        }
        let view = SystemView { now, device, uplink, downlink, nodes: &buffer };
        let placement = policy.decide(task, &view, rng);
        self.buffer = buffer;
        placement
    }
}
