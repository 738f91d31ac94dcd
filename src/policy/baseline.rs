//! Two load-blind baselines.
//!
//! **`random`**: the options are the device (if `include_local`, default
//! true) and every node in the view (the nodes the task may use); one is
//! drawn uniformly with the policy's random stream: with `k` options, index
//! `i` is drawn from `0..k`, index 0 being the device when it is included,
//! the nodes following in view order. With no option at all the task runs
//! locally (and nothing is drawn).
//!
//! **`round-robin`**: the options are the nodes in view order, preceded by
//! the device if `include_local` (default false). An internal counter `c`,
//! starting at 0 and incremented after every decision that had an option,
//! chooses option `c mod k`, `k` being the number of options in the current
//! view (which may differ from task to task under placement constraints).
//! With no option the task runs locally.

use super::{Placement, Policy, SystemView, TaskView};
use crate::engine::SimRng;
use rand::RngExt;

/// Uniform choice among the device (optionally) and the nodes.
#[derive(Clone, Debug)]
pub struct Random {
    /// The device is one of the options.
    pub include_local: bool,
}

impl Policy for Random {
    fn observes(&self) -> bool {
        false
    }

    fn decide(&mut self, _: &TaskView, view: &SystemView<'_>, rng: &mut SimRng) -> Placement {
        let local = usize::from(self.include_local);
        let options = view.nodes.len() + local;
        if options == 0 {
            return Placement::Local;
        }
        match rng.random_range(0..options) {
            i if i < local => Placement::Local,
            i => Placement::Offload(view.nodes[i - local].id),
        }
    }
}

/// Cycles through the nodes (and optionally the device) in view order.
#[derive(Clone, Debug)]
pub struct RoundRobin {
    /// The device takes its turn in the cycle, before the nodes.
    pub include_local: bool,
    /// Decisions made so far.
    pub counter: u64,
}

impl Policy for RoundRobin {
    fn observes(&self) -> bool {
        false
    }

    fn decide(&mut self, _: &TaskView, view: &SystemView<'_>, _: &mut SimRng) -> Placement {
        let local = usize::from(self.include_local);
        let options = view.nodes.len() + local;
        if options == 0 {
            return Placement::Local;
        }
        let i = (self.counter % options as u64) as usize;
        self.counter = self.counter.wrapping_add(1);
        if i < local { Placement::Local } else { Placement::Offload(view.nodes[i - local].id) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::NodeId;
    use crate::policy::testing::{device, node, rng, task, view};

    #[test]
    fn random_is_uniform_over_local_and_the_nodes() {
        let nodes = [node(0), node(3)];
        let v = view(device(0.0), &nodes);
        let mut p = Random { include_local: true };
        let mut r = rng();
        let n = 30_000;
        let mut counts = [0usize; 3];
        for _ in 0..n {
            match p.decide(&task(), &v, &mut r) {
                Placement::Local => counts[0] += 1,
                Placement::Offload(NodeId(0)) => counts[1] += 1,
                Placement::Offload(NodeId(3)) => counts[2] += 1,
                other => panic!("not an option: {other:?}"),
            }
        }
        // Each share within 4 standard errors of 1/3.
        let se = (1.0 / 3.0 * 2.0 / 3.0 / n as f64).sqrt();
        for c in counts {
            assert!((c as f64 / n as f64 - 1.0 / 3.0).abs() < 4.0 * se, "{counts:?}");
        }
    }

    #[test]
    fn random_without_local_offloads_and_without_options_stays_local() {
        let nodes = [node(2)];
        let mut p = Random { include_local: false };
        let mut r = rng();
        for _ in 0..10 {
            assert_eq!(p.decide(&task(), &view(device(0.0), &nodes), &mut r), Placement::Offload(NodeId(2)));
        }
        assert_eq!(p.decide(&task(), &view(device(0.0), &[]), &mut r), Placement::Local);
    }

    #[test]
    fn round_robin_cycles_in_view_order() {
        let nodes = [node(0), node(1), node(2)];
        let v = view(device(0.0), &nodes);
        let mut p = RoundRobin { include_local: false, counter: 0 };
        let mut r = rng();
        let picks: Vec<Placement> = (0..4).map(|_| p.decide(&task(), &v, &mut r)).collect();
        let o = |i| Placement::Offload(NodeId(i));
        assert_eq!(picks, [o(0), o(1), o(2), o(0)]);
        let mut p = RoundRobin { include_local: true, counter: 0 };
        let picks: Vec<Placement> = (0..5).map(|_| p.decide(&task(), &v, &mut r)).collect();
        assert_eq!(picks, [Placement::Local, o(0), o(1), o(2), Placement::Local]);
        let mut p = RoundRobin { include_local: false, counter: 0 };
        assert_eq!(p.decide(&task(), &view(device(0.0), &[]), &mut r), Placement::Local);
    }
}
