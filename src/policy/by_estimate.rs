//! Three policies that rank placements with the shared estimator
//! ([`super::estimate`]: `local(task, view)` and `offload(task, view, node)`,
//! each giving an estimated latency `L` in seconds and device energy `E` in
//! joules; see that module for the formulas). An option is the device
//! ("local") or one node of the view (the nodes the task may use).
//! `remaining = deadline - now` in seconds (negative once the deadline has
//! passed); an option *meets the deadline* when `L <= remaining`, i.e.
//! `now + L <= deadline`.
//!
//! **`earliest-finish`** (no parameters): the option with the lowest `L`;
//! ties go to local, then to the lowest node id.
//!
//! **`min-energy`** (no parameters): among the options that meet the task's
//! deadline (every option when the task has no deadline), the lowest `E`;
//! ties by lower `L`, then local, then the lowest node id. When no option
//! meets the deadline, the earliest-finish choice.
//!
//! **`deadline-aware`** (`safety`, default 1.0, finite and > 0): locally when
//! the task has no deadline or `L_local <= safety * remaining`; otherwise the
//! node with the lowest `L` (ties to the lowest id), or locally when the view
//! has no node. `safety < 1` keeps a margin against estimation errors;
//! `safety > 1` tolerates local estimates beyond the deadline.

use super::estimate::{self, Estimate};
use super::{Placement, Policy, SystemView, TaskView};
use crate::engine::{NANOS_PER_SEC, SimRng};
use std::cmp::Ordering;

/// Seconds from now to the task's deadline (negative once it has passed),
/// `None` without a deadline.
pub(crate) fn remaining_s(task: &TaskView, view: &SystemView<'_>) -> Option<f64> {
    task.deadline.map(|d| (i128::from(d.as_nanos()) - i128::from(view.now.as_nanos())) as f64 / NANOS_PER_SEC as f64)
}

/// Order of options with equal keys: local first, then by node id.
fn tie(a: Placement, b: Placement) -> Ordering {
    a.cmp(&b) // `Local` sorts before every `Offload`, offloads by id
}

/// Every option of the view with its estimate: local first (if `with_local`),
/// then the nodes in view order; allocation-free.
fn options<'a>(
    task: &'a TaskView,
    view: &'a SystemView<'a>,
    with_local: bool,
) -> impl Iterator<Item = (Placement, Estimate)> + 'a {
    let local = with_local.then(|| (Placement::Local, estimate::local(task, view)));
    local.into_iter().chain(view.nodes.iter().map(|n| (Placement::Offload(n.id), estimate::offload(task, view, n))))
}

/// The option with the earliest estimated finish (ties: local, then lowest
/// id); `None` when there is no option.
pub(crate) fn earliest(task: &TaskView, view: &SystemView<'_>, with_local: bool) -> Option<(Placement, Estimate)> {
    options(task, view, with_local).min_by(|a, b| a.1.latency_s.total_cmp(&b.1.latency_s).then(tie(a.0, b.0)))
}

/// Earliest estimated finish over local and every node.
#[derive(Clone, Debug, Default)]
pub struct EarliestFinish;

impl Policy for EarliestFinish {
    fn observes(&self) -> bool {
        false
    }

    fn decide(&mut self, task: &TaskView, view: &SystemView<'_>, _: &mut SimRng) -> Placement {
        earliest(task, view, true).map_or(Placement::Local, |(p, _)| p)
    }
}

/// Lowest device energy among the options meeting the deadline.
#[derive(Clone, Debug, Default)]
pub struct MinEnergy;

impl Policy for MinEnergy {
    fn observes(&self) -> bool {
        false
    }

    fn decide(&mut self, task: &TaskView, view: &SystemView<'_>, _: &mut SimRng) -> Placement {
        let remaining = remaining_s(task, view);
        let meets = |e: &Estimate| remaining.is_none_or(|r| e.latency_s <= r);
        options(task, view, true)
            .filter(|(_, e)| meets(e))
            .min_by(|a, b| {
                a.1.device_energy_j
                    .total_cmp(&b.1.device_energy_j)
                    .then(a.1.latency_s.total_cmp(&b.1.latency_s))
                    .then(tie(a.0, b.0))
            })
            .map(|(p, _)| p)
            .unwrap_or_else(|| earliest(task, view, true).map_or(Placement::Local, |(p, _)| p))
    }
}

/// Local while the local estimate meets the deadline, else the
/// earliest-finishing node.
#[derive(Clone, Debug)]
pub struct DeadlineAware {
    /// Local while the local latency estimate is at most this multiple of the time left to the deadline.
    pub safety: f64,
}

impl Policy for DeadlineAware {
    fn observes(&self) -> bool {
        false
    }

    fn decide(&mut self, task: &TaskView, view: &SystemView<'_>, _: &mut SimRng) -> Placement {
        let Some(remaining) = remaining_s(task, view) else { return Placement::Local };
        if estimate::local(task, view).latency_s <= self.safety * remaining {
            return Placement::Local;
        }
        earliest(task, view, false).map_or(Placement::Local, |(p, _)| p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimTime;
    use crate::policy::NodeId;
    use crate::policy::testing::{device, link, node, rng, task, view};

    fn secs(s: f64) -> SimTime {
        SimTime((s * 1e9).round() as u64)
    }

    #[test]
    fn earliest_finish_takes_the_fastest_option() {
        // Local: 1 s. Node 0 at 2 GHz: 0.5 s + 20 ms of access latency.
        let mut slow = node(1);
        slow.speed_hz = 1e9; // 1 s + 20 ms
        let nodes = [slow, node(0)];
        let mut r = rng();
        let v = view(device(0.0), &nodes);
        assert_eq!(EarliestFinish.decide(&task(), &v, &mut r), Placement::Offload(NodeId(0)));
        // A busy node loses to the device.
        let mut busy = node(0);
        busy.busy_cores = 4;
        busy.queue_len = 7; // wait 8 * 0.5 / 4 = 1 s
        let nodes = [busy];
        assert_eq!(EarliestFinish.decide(&task(), &view(device(0.0), &nodes), &mut r), Placement::Local);
        assert_eq!(EarliestFinish.decide(&task(), &view(device(0.0), &[]), &mut r), Placement::Local);
    }

    #[test]
    fn earliest_finish_ties_go_to_local_then_the_lowest_id() {
        let mut d = device(0.0);
        d.speed_hz = 2e9; // local 0.5 s
        let mut v = view(d, &[]);
        v.uplink = link(1e7, 0.0);
        v.downlink = link(1e7, 0.0);
        let nodes = [node(3), node(1)]; // both 0.5 s, as local
        v.nodes = &nodes;
        let mut r = rng();
        assert_eq!(EarliestFinish.decide(&task(), &v, &mut r), Placement::Local);
        assert_eq!(earliest(&task(), &v, false).map(|(p, _)| p), Some(Placement::Offload(NodeId(1))));
    }

    #[test]
    fn min_energy_offloads_when_the_radio_is_cheaper_than_the_cpu() {
        // Local costs 1 J (1 W above idle for 1 s). Offloading 1 Mbit at
        // 10 Mb/s with a 1 W radio costs 0.1 J.
        let mut t = task();
        t.input_bytes = 125_000;
        let nodes = [node(0)];
        let v = view(device(0.0), &nodes);
        let mut r = rng();
        assert_eq!(MinEnergy.decide(&t, &v, &mut r), Placement::Offload(NodeId(0)));
        // 100 Mbit to send: 10 J, local wins.
        t.input_bytes = 12_500_000;
        assert_eq!(MinEnergy.decide(&t, &v, &mut r), Placement::Local);
    }

    #[test]
    fn min_energy_respects_the_deadline_and_falls_back_to_earliest_finish() {
        // Local: 1 s and 1 J. Node 0 (2 GHz, busy, no data): 1.02 s and 0 J;
        // node 1 (0.5 GHz): 2.02 s and 0 J.
        let mut slow = node(1);
        slow.speed_hz = 5e8;
        let mut fast = node(0);
        fast.busy_cores = 4;
        fast.queue_len = 3; // wait 4 * 0.5 / 4 = 0.5 s: 1.02 s in all
        let nodes = [fast, slow];
        let mut v = view(device(0.0), &nodes);
        v.now = secs(10.0);
        let mut r = rng();
        let mut t = task();
        // No deadline: both nodes cost 0 J; the earlier finish (node 0) wins.
        assert_eq!(MinEnergy.decide(&t, &v, &mut r), Placement::Offload(NodeId(0)));
        // 1.5 s left: only local and node 0 meet it; node 0 costs less.
        t.deadline = Some(secs(11.5));
        assert_eq!(MinEnergy.decide(&t, &v, &mut r), Placement::Offload(NodeId(0)));
        // 1.01 s left: only local meets it.
        t.deadline = Some(secs(11.01));
        assert_eq!(MinEnergy.decide(&t, &v, &mut r), Placement::Local);
        // 0.5 s left: nothing meets it; local finishes first.
        t.deadline = Some(secs(10.5));
        assert_eq!(MinEnergy.decide(&t, &v, &mut r), Placement::Local);
        // Past deadline: still the earliest finish.
        t.deadline = Some(secs(9.0));
        assert_eq!(MinEnergy.decide(&t, &v, &mut r), Placement::Local);
    }

    #[test]
    fn deadline_aware_offloads_only_when_local_would_miss() {
        let mut slow = node(0);
        slow.speed_hz = 5e8; // 2.02 s
        let nodes = [slow, node(1)]; // node 1: 0.52 s
        let mut v = view(device(0.0), &nodes);
        v.now = secs(1.0);
        let mut p = DeadlineAware { safety: 1.0 };
        let mut r = rng();
        let mut t = task(); // local: 1 s
        assert_eq!(p.decide(&t, &v, &mut r), Placement::Local, "no deadline");
        t.deadline = Some(secs(2.0)); // exactly 1 s left: met
        assert_eq!(p.decide(&t, &v, &mut r), Placement::Local);
        t.deadline = Some(secs(1.9));
        assert_eq!(p.decide(&t, &v, &mut r), Placement::Offload(NodeId(1)));
        // A safety margin of 0.8 asks for 1 s <= 0.8 * remaining.
        let mut p = DeadlineAware { safety: 0.8 };
        t.deadline = Some(secs(2.2));
        assert_eq!(p.decide(&t, &v, &mut r), Placement::Offload(NodeId(1)));
        t.deadline = Some(secs(2.3));
        assert_eq!(p.decide(&t, &v, &mut r), Placement::Local);
        // No node: local even when it misses.
        t.deadline = Some(secs(1.1));
        assert_eq!(p.decide(&t, &view(device(0.0), &[]), &mut r), Placement::Local);
    }
}
