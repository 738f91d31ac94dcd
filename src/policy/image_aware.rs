//! `image-aware`: image pre-loading and cache-aware placement (source
//! document, section 3.3).
//!
//! Every task is offloaded to the node of the view (the nodes the task may
//! use) with the lowest estimated offload latency `L(n)` of the shared
//! estimator ([`super::estimate::offload`]); ties go to the lowest node id.
//! `L(n)` includes the container start-up on `n`:
//!
//! ```text
//! start-up(n) = 0                                                    task without image, or n.container_warm
//!             = n.cold_start_s                                       n.image_cached
//!             = image_bytes * 8 / n.pull_bandwidth_bps + n.pull_latency_s + n.cold_start_s   otherwise
//! ```
//!
//! (infinite when the node cannot pull), besides the transfers, the node's
//! queue and its execution time, so a node already holding the image (or a
//! warm container for it) is preferred unless another is faster by more than
//! the pull and cold start. With no node available the task runs locally.
//!
//! Parameter `preload` (default empty): a table from node name to a list of
//! image names, placed in those nodes' caches before the first task
//! (returned by [`Policy::preload`] as `(node id, image index)` pairs, in
//! node-name then list order). Unknown node or image names are errors.

use super::estimate;
use super::{NodeId, Placement, Policy, SystemView, TaskView};
use crate::engine::SimRng;

/// Lowest estimated offload latency, with optional image pre-loading.
#[derive(Clone, Debug, Default)]
pub struct ImageAware {
    /// Images to place on nodes before the first task.
    pub preload: Vec<(NodeId, u16)>,
}

impl Policy for ImageAware {
    fn observes(&self) -> bool {
        false
    }

    fn decide(&mut self, task: &TaskView, view: &SystemView<'_>, _: &mut SimRng) -> Placement {
        view.nodes
            .iter()
            .map(|n| (n.id, estimate::offload(task, view, n).latency_s))
            .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
            .map_or(Placement::Local, |(id, _)| Placement::Offload(id))
    }

    fn preload(&self) -> Vec<(NodeId, u16)> {
        self.preload.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::{device, node, rng, task, view};

    fn image_task() -> TaskView {
        let mut t = task();
        t.image = Some(0);
        t.image_bytes = 500_000_000; // 4 Gbit: 40 s at 100 Mb/s
        t
    }

    #[test]
    fn a_warm_node_beats_a_faster_node_that_would_pull() {
        let mut warm = node(1);
        warm.speed_hz = 1e9; // 1 s of execution
        let mut fast = node(0);
        fast.speed_hz = 4e9; // 0.25 s, but 40 s of pull + 0.5 s cold start
        fast.image_cached = false;
        fast.container_warm = false;
        let nodes = [fast, warm];
        let mut r = rng();
        let mut p = ImageAware::default();
        assert_eq!(p.decide(&image_task(), &view(device(0.0), &nodes), &mut r), Placement::Offload(NodeId(1)));
        // Without an image the faster node wins.
        assert_eq!(p.decide(&task(), &view(device(0.0), &nodes), &mut r), Placement::Offload(NodeId(0)));
    }

    #[test]
    fn a_cached_image_costs_only_the_cold_start() {
        let mut cached = node(0);
        cached.speed_hz = 4e9; // 0.25 + 0.5 cold start = 0.75 s
        cached.container_warm = false;
        let mut warm = node(1);
        warm.speed_hz = 1e9; // 1 s
        let nodes = [cached, warm];
        let mut r = rng();
        let mut p = ImageAware::default();
        assert_eq!(p.decide(&image_task(), &view(device(0.0), &nodes), &mut r), Placement::Offload(NodeId(0)));
        let mut nodes = nodes;
        nodes[0].cold_start_s = 1.0; // 1.25 s
        assert_eq!(p.decide(&image_task(), &view(device(0.0), &nodes), &mut r), Placement::Offload(NodeId(1)));
    }

    #[test]
    fn ties_go_to_the_lower_id_and_no_node_is_local() {
        let nodes = [node(4), node(2)];
        let mut r = rng();
        let mut p = ImageAware { preload: vec![(NodeId(2), 0)] };
        assert_eq!(p.decide(&image_task(), &view(device(0.0), &nodes), &mut r), Placement::Offload(NodeId(2)));
        assert_eq!(p.decide(&image_task(), &view(device(0.0), &[]), &mut r), Placement::Local);
        assert_eq!(p.preload(), vec![(NodeId(2), 0)]);
    }
}
