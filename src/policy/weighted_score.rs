//! `weighted-score`: the source document's weighted-score offload decision
//! (section 3.1).
//!
//! ```text
//! faithful:  score = w_cpu * cpu_load + w_bandwidth * (1 - bandwidth_mbps / bandwidth_norm_mbps)
//!                    + w_energy * energy_ratio
//! corrected: score = w_cpu * cpu_load + w_bandwidth * (bandwidth_mbps / bandwidth_norm_mbps)
//!                    + w_energy * energy_ratio
//! ```
//!
//! The task is offloaded when `score > threshold`, otherwise it runs locally.
//!
//! Inputs:
//! - `cpu_load` = `view.device.cpu_utilisation`, the device's recent CPU
//!   utilisation in [0, 1];
//! - `bandwidth_mbps` = `view.uplink.bandwidth_bps / 1e6`, the device's
//!   access uplink, not clamped (faithful to the document: above
//!   `bandwidth_norm_mbps` the faithful bandwidth term turns negative);
//! - `energy_ratio` = `E_local / (E_local + E_offload)`, from the shared
//!   estimator's device energy ([`super::estimate`]) of running locally and
//!   of offloading to the target; 0.5 when both are 0 (and when both are
//!   infinite); in [0, 1], high when offloading saves device energy.
//!
//! Target: `target_node` when it is given and the task may use it (it is in
//! the view), else the least-loaded node of the view ((busy + queued) /
//! cores, ties to the lowest id). With no node available the task runs
//! locally.
//!
//! Defaults (the document's numbers): `w_cpu = 0.4`, `w_bandwidth = 0.3`,
//! `w_energy = 0.3`, `bandwidth_norm_mbps = 100`, `threshold = 0.6`,
//! `variant = "faithful"`, no `target_node`. Weights must be finite and
//! non-negative, `bandwidth_norm_mbps` finite and positive, `threshold`
//! finite.
//!
//! Variants: as written, the document's bandwidth term
//! `1 - bandwidth/100` grows as bandwidth *falls*, so a slow uplink pushes
//! tasks off the device; its prose says the opposite (offload when bandwidth
//! is plentiful). `"faithful"` implements the formula as written, so the
//! simulator can show the consequence; `"corrected"` uses
//! `bandwidth_mbps / bandwidth_norm_mbps`, so more bandwidth favours
//! offloading. Worked example (faithful, defaults): cpu 0.9, 50 Mb/s,
//! energy ratio 0.7 gives 0.36 + 0.15 + 0.21 = 0.72 > 0.6: offload.

use super::builtin::target_or_least_loaded;
use super::estimate;
use super::{NodeId, Placement, Policy, SystemView, TaskView};
use crate::engine::SimRng;
use serde::{Deserialize, Serialize};

/// Which form of a source-document formula a policy uses.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    /// The formula exactly as the document writes it.
    #[default]
    Faithful,
    /// The sign fixed to agree with the document's prose.
    Corrected,
}

/// The document's weighted-score offload rule (section 3.1).
#[derive(Clone, Debug)]
pub struct WeightedScore {
    /// Weight of the device CPU load term.
    pub w_cpu: f64,
    /// Weight of the bandwidth term.
    pub w_bandwidth: f64,
    /// Weight of the energy ratio term.
    pub w_energy: f64,
    /// Bandwidth that normalises the bandwidth term, in Mbps.
    pub bandwidth_norm_mbps: f64,
    /// Offload when the score exceeds this.
    pub threshold: f64,
    /// Whether the bandwidth term is as the document writes it or corrected.
    pub variant: Variant,
    /// The node to offload to; `None` (or a node the task may not use) picks the least-loaded node.
    pub target: Option<NodeId>,
}

impl Default for WeightedScore {
    /// The document's numbers.
    fn default() -> Self {
        WeightedScore {
            w_cpu: 0.4,
            w_bandwidth: 0.3,
            w_energy: 0.3,
            bandwidth_norm_mbps: 100.0,
            threshold: 0.6,
            variant: Variant::Faithful,
            target: None,
        }
    }
}

/// `e_local / (e_local + e_offload)`; 0.5 when the two are equal (both 0 or
/// both infinite).
pub fn energy_ratio(e_local: f64, e_offload: f64) -> f64 {
    if e_local == e_offload {
        0.5
    } else if e_local.is_infinite() {
        1.0
    } else {
        e_local / (e_local + e_offload)
    }
}

impl WeightedScore {
    /// The score of the module documentation.
    pub fn score(&self, cpu_load: f64, bandwidth_mbps: f64, energy_ratio: f64) -> f64 {
        let bw = bandwidth_mbps / self.bandwidth_norm_mbps;
        let bw_term = match self.variant {
            Variant::Faithful => 1.0 - bw,
            Variant::Corrected => bw,
        };
        self.w_cpu * cpu_load + self.w_bandwidth * bw_term + self.w_energy * energy_ratio
    }
}

impl Policy for WeightedScore {
    fn observes(&self) -> bool {
        false
    }

    fn decide(&mut self, task: &TaskView, view: &SystemView<'_>, _: &mut SimRng) -> Placement {
        let Some(target) = target_or_least_loaded(self.target, view) else { return Placement::Local };
        let Some(node) = view.nodes.iter().find(|n| n.id == target) else { return Placement::Local };
        let ratio = energy_ratio(
            estimate::local(task, view).device_energy_j,
            estimate::offload(task, view, node).device_energy_j,
        );
        let score = self.score(view.device.cpu_utilisation, view.uplink.bandwidth_bps / 1e6, ratio);
        if score > self.threshold { Placement::Offload(target) } else { Placement::Local }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::{device, link, node, rng, task, view};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn the_documents_worked_example_offloads() {
        // cpu 0.9, 50 Mb/s, energy ratio 0.7: 0.36 + 0.15 + 0.21 = 0.72 > 0.6.
        let p = WeightedScore::default();
        assert!(close(p.score(0.9, 50.0, 0.7), 0.72), "{}", p.score(0.9, 50.0, 0.7));

        // The same numbers through a crafted view. Local: 0.7 G cycles at
        // 1 GHz, 1 W above idle: 0.7 J. Offload: 15 Mbit at 50 Mb/s with a
        // 1 W radio: 0.3 J. Ratio 0.7 / (0.7 + 0.3) = 0.7.
        let mut t = task();
        t.work_cycles = 0.7e9;
        t.input_bytes = 1_875_000;
        let nodes = [node(0), node(1)];
        let mut v = view(device(0.9), &nodes);
        v.uplink = link(50e6, 0.01);
        let e_local = estimate::local(&t, &v).device_energy_j;
        let e_off = estimate::offload(&t, &v, &nodes[1]).device_energy_j;
        assert!(close(energy_ratio(e_local, e_off), 0.7), "{e_local} {e_off}");
        let mut p = WeightedScore { target: Some(NodeId(1)), ..WeightedScore::default() };
        let mut r = rng();
        assert_eq!(p.decide(&t, &v, &mut r), Placement::Offload(NodeId(1)));
        // At cpu 0.5 the score is 0.2 + 0.15 + 0.21 = 0.56: local.
        v.device.cpu_utilisation = 0.5;
        assert_eq!(p.decide(&t, &v, &mut r), Placement::Local);
    }

    #[test]
    fn faithful_and_corrected_disagree_on_a_fast_uplink() {
        // cpu 0.9, 200 Mb/s, ratio 0.5. Faithful: 0.36 + 0.3 * (1 - 2) + 0.15
        // = 0.21: local. Corrected: 0.36 + 0.3 * 2 + 0.15 = 1.11: offload.
        let faithful = WeightedScore::default();
        let corrected = WeightedScore { variant: Variant::Corrected, ..WeightedScore::default() };
        assert!(close(faithful.score(0.9, 200.0, 0.5), 0.21));
        assert!(close(corrected.score(0.9, 200.0, 0.5), 1.11));

        let nodes = [node(0)];
        let mut v = view(device(0.9), &nodes);
        v.uplink = link(200e6, 0.01);
        let mut t = task();
        t.work_cycles = 0.0; // no energy either way: ratio 0.5
        let mut r = rng();
        assert_eq!(faithful.clone().decide(&t, &v, &mut r), Placement::Local);
        assert_eq!(corrected.clone().decide(&t, &v, &mut r), Placement::Offload(NodeId(0)));
        // And on a slow uplink the faithful formula offloads more readily.
        v.uplink = link(1e6, 0.01);
        v.device.cpu_utilisation = 0.5;
        // Faithful: 0.2 + 0.297 + 0.15 = 0.647; corrected: 0.2 + 0.003 + 0.15.
        assert_eq!(faithful.clone().decide(&t, &v, &mut r), Placement::Offload(NodeId(0)));
        assert_eq!(corrected.clone().decide(&t, &v, &mut r), Placement::Local);
    }

    #[test]
    fn energy_ratio_edges() {
        assert_eq!(energy_ratio(0.0, 0.0), 0.5);
        assert_eq!(energy_ratio(f64::INFINITY, f64::INFINITY), 0.5);
        assert_eq!(energy_ratio(f64::INFINITY, 1.0), 1.0);
        assert_eq!(energy_ratio(1.0, f64::INFINITY), 0.0);
        assert!(close(energy_ratio(3.0, 1.0), 0.75));
    }

    #[test]
    fn target_outside_the_view_and_no_nodes() {
        let mut p = WeightedScore { target: Some(NodeId(5)), ..WeightedScore::default() };
        let mut r = rng();
        let mut busy = node(0);
        busy.busy_cores = 4;
        let nodes = [busy, node(1)];
        let mut v = view(device(1.0), &nodes);
        v.uplink = link(1e6, 0.01);
        assert_eq!(p.decide(&task(), &v, &mut r), Placement::Offload(NodeId(1)), "least-loaded instead");
        assert_eq!(p.decide(&task(), &view(device(1.0), &[]), &mut r), Placement::Local);
    }
}
