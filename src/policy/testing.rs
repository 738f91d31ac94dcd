//! View-building helpers shared by the policies' unit tests.

use super::{DeviceView, LinkView, NodeId, NodeView, SystemView, TaskView};
use crate::engine::{SimRng, SimTime, stream};

/// A link of `bandwidth_bps` and `latency_s`.
pub fn link(bandwidth_bps: f64, latency_s: f64) -> LinkView {
    LinkView { bandwidth_bps, latency_s }
}

/// An idle one-core 1 GHz device at utilisation `util`, 1 W above idle when
/// busy, 1 W radio, no offload overhead and no protocol cost.
pub fn device(util: f64) -> DeviceView {
    DeviceView {
        cores: 1,
        speed_hz: 1e9,
        queue_len: 0,
        busy_cores: 0,
        cpu_utilisation: util,
        battery_fraction: None,
        idle_w: 1.0,
        busy_w: 2.0,
        tx_w: 1.0,
        rx_w: 1.0,
        offload_overhead_cycles: 0.0,
        setup_rtts: 0.0,
        header_bytes: 0,
    }
}

/// An idle four-core 2 GHz node with 1 GiB free, the image warm, 1 Gb/s
/// zero-latency links.
pub fn node(id: u32) -> NodeView {
    NodeView {
        id: NodeId(id),
        cores: 4,
        speed_hz: 2e9,
        memory_bytes: 1 << 30,
        free_memory_bytes: 1 << 30,
        queue_len: 0,
        busy_cores: 0,
        cpu_utilisation: 0.0,
        image_cached: true,
        container_warm: true,
        cold_start_s: 0.5,
        pull_bandwidth_bps: 1e8,
        pull_latency_s: 0.01,
        uplink: link(1e9, 0.0),
        downlink: link(1e9, 0.0),
        report_age_s: 0.0,
    }
}

/// A task of 1 G cycles, no data, no image, no deadline, arrived at 0.
pub fn task() -> TaskView {
    TaskView {
        id: 0,
        device: 0,
        arrival: SimTime::ZERO,
        work_cycles: 1e9,
        input_bytes: 0,
        output_bytes: 0,
        memory_bytes: 0,
        image: None,
        image_bytes: 0,
        priority: 0,
        deadline: None,
    }
}

/// A view at time 0 of `device` on 10 Mb/s / 10 ms access links.
pub fn view(device: DeviceView, nodes: &[NodeView]) -> SystemView<'_> {
    SystemView { now: SimTime::ZERO, device, uplink: link(1e7, 0.01), downlink: link(1e7, 0.01), nodes }
}

/// The policy stream of seed 1.
pub fn rng() -> SimRng {
    stream(1, "policy", 0)
}
