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
    /// Per node: its view as of its last report (the image fields and the
    /// age are set per decision).
    reports: Vec<NodeView>,
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
            reports: world.node_views.clone(),
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
        self.reports[n] = node_view(&self.cards[n], &r, (false, false), 0.0);
        self.received[n] = at;
        let row = &mut self.image_status[n * self.images..(n + 1) * self.images];
        for (slot, s) in row.iter_mut().zip(status) {
            *slot = s;
        }
    }

    /// Asks `policy` where `task` runs, showing it the deciding `device`,
    /// its access network and the nodes its constraint set allows, each as
    /// of its last report.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
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
        let mut nodes = std::mem::take(&mut self.buffer);
        nodes.clear();
        for n in (0..self.cards.len()).filter(|&n| world.constraints.allows(constraint, n)) {
            let status = task.image.map_or((true, true), |i| self.image_status[n * self.images + usize::from(i)]);
            let (image_cached, container_warm) = status;
            let report_age_s = now.since(self.received[n]) as f64 * SECS_PER_NANO;
            nodes.push(NodeView { image_cached, container_warm, report_age_s, ..self.reports[n] });
        }
        self.ask(world, now, task, device, nodes, policy, rng)
    }

    /// As [`Knowledge::decide`], but showing each node as it is now:
    /// `current(n, image)` gives node `n`'s load and its status for the
    /// task's image (`None`: the task needs none).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
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
        let mut nodes = std::mem::take(&mut self.buffer);
        nodes.clear();
        for n in (0..self.cards.len()).filter(|&n| world.constraints.allows(constraint, n)) {
            let (report, status) = current(n, task.image);
            nodes.push(node_view(&self.cards[n], &report, status, 0.0));
        }
        self.ask(world, now, task, device, nodes, policy, rng)
    }

    /// Shows `policy` the view of `task` with `nodes` and takes its
    /// placement. Inlined, like the two above, into each backend's caller
    /// so the views are built in place: out of line, building them cost the
    /// simulator 3 % more instructions (callgrind, bench-100).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn ask<P: Policy>(
        &mut self,
        world: &World,
        now: SimTime,
        task: &TaskView,
        device: DeviceView,
        nodes: Vec<NodeView>,
        policy: &mut P,
        rng: &mut SimRng,
    ) -> Placement {
        let (uplink, downlink) = world.access_views[world.class_of(task.device).network as usize];
        let view = SystemView { now, device, uplink, downlink, nodes: &nodes };
        let placement = policy.decide(task, &view, rng);
        self.buffer = nodes;
        placement
    }
}
