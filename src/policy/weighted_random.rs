//! `weighted-random`: the source document's load-aware weighted random
//! choice among nodes (section 3.2).
//!
//! Each node `n` of the view (the nodes the task may use) gets the weight
//!
//! ```text
//! weight(n) = 100 * ( w_cpu     * (1 - n.cpu_utilisation)
//!                   + w_memory  * n.free_memory_bytes / n.memory_bytes
//!                   + w_latency * (1 - min(latency_ms / latency_norm_ms, 1)) )
//! latency_ms = 1000 * (view.uplink.latency_s + n.uplink.latency_s)
//! ```
//!
//! where `n.cpu_utilisation` is the node's recent CPU utilisation in [0, 1]
//! and its memory figures are as of its last report, and `latency_ms` is the
//! one-way device -> node path latency (access uplink plus the gateway ->
//! node link, mean jitter included). The free-memory fraction is 0 for a node
//! reporting no memory; a negative weight counts as 0. The task goes to node
//! `n` with probability `weight(n) / sum of weights`, drawn with the policy's
//! random stream (one `f64` in [0, 1) per decision); when every weight is 0
//! the choice is uniform (one draw from `0..nodes`). With no node the task
//! runs locally and nothing is drawn. The weights are recomputed from the
//! current view at every decision, so they follow the periodic node reports.
//!
//! Defaults: `w_cpu = 0.5`, `w_memory = 0.3`, `w_latency = 0.2`,
//! `latency_norm_ms = 100`. Weights must be finite and non-negative,
//! `latency_norm_ms` finite and positive. The document gives no formula,
//! only that the weight comes from CPU use, free memory and latency, with
//! example weights 70 and 90; these defaults produce numbers on that scale.

use super::{NodeView, Placement, Policy, SystemView, TaskView};
use crate::engine::SimRng;
use rand::RngExt;

/// Load-aware weighted random choice among nodes.
#[derive(Clone, Debug)]
pub struct WeightedRandom {
    /// Weight of a node's idle CPU fraction.
    pub w_cpu: f64,
    /// Weight of a node's free memory fraction.
    pub w_memory: f64,
    /// Weight of the device -> node latency term.
    pub w_latency: f64,
    /// Latency at which the latency term falls to 0, in milliseconds.
    pub latency_norm_ms: f64,
}

impl Default for WeightedRandom {
    fn default() -> Self {
        WeightedRandom { w_cpu: 0.5, w_memory: 0.3, w_latency: 0.2, latency_norm_ms: 100.0 }
    }
}

impl WeightedRandom {
    /// The weight of `node` in `view` (module documentation).
    pub fn weight(&self, view: &SystemView<'_>, node: &NodeView) -> f64 {
        let memory =
            if node.memory_bytes == 0 { 0.0 } else { node.free_memory_bytes as f64 / node.memory_bytes as f64 };
        let latency_ms = 1000.0 * (view.uplink.latency_s + node.uplink.latency_s);
        let latency = (latency_ms / self.latency_norm_ms).min(1.0);
        let w = 100.0
            * (self.w_cpu * (1.0 - node.cpu_utilisation) + self.w_memory * memory + self.w_latency * (1.0 - latency));
        if w > 0.0 { w } else { 0.0 }
    }
}

impl Policy for WeightedRandom {
    fn observes(&self) -> bool {
        false
    }

    fn decide(&mut self, _: &TaskView, view: &SystemView<'_>, rng: &mut SimRng) -> Placement {
        if view.nodes.is_empty() {
            return Placement::Local;
        }
        let total: f64 = view.nodes.iter().map(|n| self.weight(view, n)).sum();
        if !(total > 0.0 && total.is_finite()) {
            return Placement::Offload(view.nodes[rng.random_range(0..view.nodes.len())].id);
        }
        let u = rng.random::<f64>() * total;
        let mut cumulative = 0.0;
        let mut last = view.nodes[0].id;
        for n in view.nodes {
            let w = self.weight(view, n);
            if w > 0.0 {
                cumulative += w;
                last = n.id;
                if u < cumulative {
                    return Placement::Offload(n.id);
                }
            }
        }
        // Rounding left `u` at the very top: the last node with weight.
        Placement::Offload(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::NodeId;
    use crate::policy::testing::{device, link, node, rng, task, view};

    /// Two nodes whose weights are the document's example, 70 and 90.
    fn example() -> [NodeView; 2] {
        let mut a = node(0);
        a.cpu_utilisation = 0.4; // 0.5 * 0.6 = 0.30
        a.uplink = link(1e9, 0.05); // 50 ms of 100: 0.2 * 0.5 = 0.10
        let mut b = node(1);
        b.cpu_utilisation = 0.2; // 0.5 * 0.8 = 0.40
        b.uplink = link(1e9, 0.0); // 0.2 * 1 = 0.20
        // Both with all memory free: 0.3 * 1 = 0.30.
        [a, b]
    }

    #[test]
    fn weights_follow_cpu_memory_and_latency() {
        let nodes = example();
        let mut v = view(device(0.0), &nodes);
        v.uplink = link(1e7, 0.0);
        let p = WeightedRandom::default();
        assert!((p.weight(&v, &nodes[0]) - 70.0).abs() < 1e-9, "{}", p.weight(&v, &nodes[0]));
        assert!((p.weight(&v, &nodes[1]) - 90.0).abs() < 1e-9, "{}", p.weight(&v, &nodes[1]));
        // Half the memory used, a 300 ms path (capped at the norm), a busy CPU.
        let mut c = node(2);
        c.free_memory_bytes = c.memory_bytes / 2;
        c.uplink = link(1e9, 0.3);
        c.cpu_utilisation = 1.0;
        assert!((p.weight(&v, &c) - 15.0).abs() < 1e-9, "{}", p.weight(&v, &c));
        c.memory_bytes = 0;
        c.free_memory_bytes = 0;
        assert_eq!(p.weight(&v, &c), 0.0);
    }

    #[test]
    fn choices_are_proportional_to_the_documents_example_weights() {
        let nodes = example();
        let mut v = view(device(0.0), &nodes);
        v.uplink = link(1e7, 0.0);
        let mut p = WeightedRandom::default();
        let mut r = rng();
        let n = 20_000;
        let first = (0..n).filter(|_| p.decide(&task(), &v, &mut r) == Placement::Offload(NodeId(0))).count();
        let expected = 70.0 / 160.0;
        let se = (expected * (1.0 - expected) / n as f64).sqrt();
        let share = first as f64 / n as f64;
        assert!((share - expected).abs() < 4.0 * se, "share {share}, expected {expected} +- {}", 4.0 * se);
    }

    #[test]
    fn zero_weights_are_uniform_and_no_nodes_is_local() {
        let mut nodes = example();
        for n in &mut nodes {
            n.cpu_utilisation = 1.0;
            n.free_memory_bytes = 0;
            n.uplink = link(1e9, 1.0);
        }
        let v = view(device(0.0), &nodes);
        let mut p = WeightedRandom::default();
        let mut r = rng();
        let n = 10_000;
        let first = (0..n).filter(|_| p.decide(&task(), &v, &mut r) == Placement::Offload(NodeId(0))).count();
        let se = (0.25 / n as f64).sqrt();
        assert!((first as f64 / n as f64 - 0.5).abs() < 4.0 * se, "{first}");
        assert_eq!(p.decide(&task(), &view(device(0.0), &[]), &mut r), Placement::Local);
        // A node with weight 0 is never chosen while another has weight.
        let mut mixed = example();
        mixed[0].cpu_utilisation = 1.0;
        mixed[0].free_memory_bytes = 0;
        mixed[0].uplink = link(1e9, 1.0);
        let v = view(device(0.0), &mixed);
        assert!((0..1000).all(|_| p.decide(&task(), &v, &mut r) == Placement::Offload(NodeId(1))));
    }
}
