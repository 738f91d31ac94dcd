//! `ucb`: a learning policy, UCB1 over the arms {local, node 0, node 1, ...}.
//!
//! Rewards. When a task ends ([`Policy::observe`]), the arm it was placed on
//! receives
//!
//! ```text
//! reward = 1 - min(latency_s / latency_scale_s, 1)   if the task completed
//!        = 0                                          for any other end reason
//! ```
//!
//! (`latency_s` = end minus arrival; `latency_scale_s = latency_scale_ms /
//! 1000`), so rewards lie in [0, 1]. For every arm `a` the policy keeps
//! `picks(a)` (decisions that chose it), `n(a)` (rewards received) and the
//! mean reward `mean(a)`; `total` is the number of rewards received over all
//! arms.
//!
//! Decision, among the arms available in the current view (local, and the
//! nodes the task may use):
//!
//! 1. an arm never picked, if any: local first, then the lowest node id;
//! 2. else, among arms with at least one reward, the highest
//!    `mean(a) + c * sqrt(ln(total) / n(a))`, ties to local, then the lowest
//!    id;
//! 3. else (every available arm was picked but none has reported yet) the
//!    arm with the fewest picks, ties to local, then the lowest id.
//!
//! Rewards arrive when tasks end, later than the decisions: step 3 spreads
//! the tasks decided before the first results return, and arms picked but
//! not yet rewarded are left out of step 2 until their first reward.
//!
//! Defaults: `latency_scale_ms = 1000`, `exploration` (`c`) = sqrt(2).
//! `latency_scale_ms` must be finite and positive, `exploration` finite and
//! non-negative.

use super::{EndReason, Placement, Policy, SystemView, TaskOutcome, TaskView};
use crate::engine::SimRng;

/// What the policy knows of one arm.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct Arm {
    /// Decisions that chose the arm.
    pub picks: u64,
    /// Rewards received.
    pub observations: u64,
    /// Sum of the rewards received.
    pub reward_sum: f64,
}

impl Arm {
    /// Mean reward (NaN before the first reward).
    pub fn mean(&self) -> f64 {
        self.reward_sum / self.observations as f64
    }
}

/// UCB1 over local and the nodes.
#[derive(Clone, Debug)]
pub struct Ucb {
    /// Latency at which a completed task's reward falls to 0, in seconds.
    pub latency_scale_s: f64,
    /// Weight of the exploration bonus (`c` in UCB1).
    pub exploration: f64,
    /// Arm 0 is local, arm `i + 1` node `i`.
    arms: Vec<Arm>,
    total: u64,
}

/// The arm of a placement.
fn arm_of(p: Placement) -> usize {
    match p {
        Placement::Local => 0,
        Placement::Offload(n) => n.0 as usize + 1,
    }
}

impl Ucb {
    /// With room for `nodes` nodes (more are added when seen).
    pub fn new(nodes: usize, latency_scale_s: f64, exploration: f64) -> Self {
        Ucb { latency_scale_s, exploration, arms: vec![Arm::default(); nodes + 1], total: 0 }
    }

    /// What the policy knows of `placement`'s arm.
    pub fn arm(&self, placement: Placement) -> Arm {
        self.arms.get(arm_of(placement)).copied().unwrap_or_default()
    }

    /// The reward of an outcome (module documentation).
    pub fn reward(&self, outcome: &TaskOutcome) -> f64 {
        match outcome.reason {
            EndReason::Completed => 1.0 - (outcome.latency_s / self.latency_scale_s).min(1.0),
            _ => 0.0,
        }
    }

    fn arm_mut(&mut self, arm: usize) -> &mut Arm {
        if arm >= self.arms.len() {
            self.arms.resize(arm + 1, Arm::default());
        }
        &mut self.arms[arm]
    }

    fn index(&self, a: &Arm) -> f64 {
        a.mean() + self.exploration * ((self.total as f64).ln() / a.observations as f64).sqrt()
    }

    fn choose(&self, view: &SystemView<'_>) -> Placement {
        let options = || std::iter::once(Placement::Local).chain(view.nodes.iter().map(|n| Placement::Offload(n.id)));
        if let Some(p) = options().filter(|&p| self.arm(p).picks == 0).min() {
            return p;
        }
        let best = options()
            .filter(|&p| self.arm(p).observations > 0)
            .map(|p| (p, self.index(&self.arm(p))))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        if let Some((p, _)) = best {
            return p;
        }
        options().min_by_key(|&p| (self.arm(p).picks, p)).unwrap_or(Placement::Local)
    }
}

impl Policy for Ucb {
    fn decide(&mut self, _: &TaskView, view: &SystemView<'_>, _: &mut SimRng) -> Placement {
        let p = self.choose(view);
        self.arm_mut(arm_of(p)).picks += 1;
        p
    }

    fn observe(&mut self, outcome: &TaskOutcome) {
        let reward = self.reward(outcome);
        let arm = self.arm_mut(arm_of(outcome.placement));
        arm.observations += 1;
        arm.reward_sum += reward;
        self.total += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimTime;
    use crate::policy::NodeId;
    use crate::policy::testing::{device, node, rng, task, view};

    fn outcome(placement: Placement, reason: EndReason, latency_s: f64) -> TaskOutcome {
        TaskOutcome {
            task: task(),
            placement,
            reason,
            end: SimTime::ZERO,
            latency_s,
            energy_j: 0.0,
            deadline_met: None,
        }
    }

    #[test]
    fn rewards_scale_latency_and_zero_other_endings() {
        let p = Ucb::new(1, 1.0, 2f64.sqrt());
        assert!((p.reward(&outcome(Placement::Local, EndReason::Completed, 0.25)) - 0.75).abs() < 1e-12);
        assert_eq!(p.reward(&outcome(Placement::Local, EndReason::Completed, 3.0)), 0.0);
        assert_eq!(p.reward(&outcome(Placement::Local, EndReason::Timeout, 0.1)), 0.0);
        assert_eq!(p.reward(&outcome(Placement::Local, EndReason::QueueFull, 0.0)), 0.0);
    }

    #[test]
    fn untried_arms_first_then_pending_arms_by_fewest_picks() {
        let nodes = [node(0), node(2)];
        let v = view(device(0.0), &nodes);
        let mut p = Ucb::new(3, 1.0, 2f64.sqrt());
        let mut r = rng();
        let picks: Vec<Placement> = (0..6).map(|_| p.decide(&task(), &v, &mut r)).collect();
        let o = |i| Placement::Offload(NodeId(i));
        // Node 1 is not in the view (placement constraints): never chosen.
        assert_eq!(picks, [Placement::Local, o(0), o(2), Placement::Local, o(0), o(2)]);
        // Once node 2 reports, only it has a reward: UCB picks it.
        p.observe(&outcome(o(2), EndReason::Completed, 0.5));
        assert_eq!(p.decide(&task(), &v, &mut r), o(2));
    }

    #[test]
    fn learns_to_prefer_a_clearly_better_arm() {
        // Local completes in 0.9 s (reward 0.1), node 0 in 0.1 s (0.9), node 1
        // in 0.5 s (0.5), node 2 always times out (0).
        let nodes = [node(0), node(1), node(2)];
        let v = view(device(0.0), &nodes);
        let mut p = Ucb::new(3, 1.0, 2f64.sqrt());
        let mut r = rng();
        let mut late_best = 0;
        for i in 0..2000 {
            let placement = p.decide(&task(), &v, &mut r);
            let (reason, latency) = match placement {
                Placement::Local => (EndReason::Completed, 0.9),
                Placement::Offload(NodeId(0)) => (EndReason::Completed, 0.1),
                Placement::Offload(NodeId(1)) => (EndReason::Completed, 0.5),
                _ => (EndReason::Timeout, 0.2),
            };
            p.observe(&outcome(placement, reason, latency));
            if i >= 1000 && placement == Placement::Offload(NodeId(0)) {
                late_best += 1;
            }
        }
        assert!(late_best > 950, "node 0 chosen {late_best} times of the last 1000");
        let best = p.arm(Placement::Offload(NodeId(0)));
        assert!((best.mean() - 0.9).abs() < 1e-9);
        assert!(best.picks > p.arm(Placement::Local).picks * 10, "{:?}", p.arm(Placement::Local));
    }

    #[test]
    fn learns_from_delayed_rewards() {
        // Outcomes come back 20 decisions late.
        let nodes = [node(0)];
        let v = view(device(0.0), &nodes);
        let mut p = Ucb::new(1, 1.0, 2f64.sqrt());
        let mut r = rng();
        let mut pending = std::collections::VecDeque::new();
        let mut late_best = 0;
        for i in 0..1000 {
            let placement = p.decide(&task(), &v, &mut r);
            pending.push_back(placement);
            if pending.len() > 20 {
                let done = pending.pop_front().unwrap();
                let latency = if done == Placement::Local { 0.8 } else { 0.2 };
                p.observe(&outcome(done, EndReason::Completed, latency));
            }
            if i >= 500 && placement == Placement::Offload(NodeId(0)) {
                late_best += 1;
            }
        }
        assert!(late_best > 450, "{late_best}");
    }
}
