//! A shared, deliberately simple estimator of a placement's latency and of
//! the device energy it costs, computed from the view alone (no simulator
//! state). Several built-in policies rank their options with it.
//!
//! Inputs: the task's `work_cycles`, `input_bytes`, `output_bytes`, `image`
//! and `image_bytes`; the device's `cores`, `speed_hz`, `busy_cores`,
//! `queue_len`, `idle_w`, `busy_w`, `tx_w`, `rx_w`,
//! `offload_overhead_cycles`, `setup_rtts` and `header_bytes`; the access
//! links `view.uplink` (device -> gateway) and `view.downlink` (gateway ->
//! device); and, for an offload, the node's `cores`, `speed_hz`,
//! `busy_cores`, `queue_len`, `container_warm`, `image_cached`,
//! `cold_start_s`, `pull_bandwidth_bps`, `pull_latency_s`, `uplink`
//! (gateway -> node) and `downlink` (node -> gateway). Times are seconds,
//! bandwidths bits per second, energies joules.
//!
//! **Waiting.** A processor with `cores` cores, `busy` of them running and
//! `queue` tasks waiting, serving tasks of `exec` seconds each:
//!
//! ```text
//! wait(busy, queue, cores, exec) = 0                              if busy < cores and queue == 0
//!                                = (queue + 1) * exec / cores     otherwise
//! ```
//!
//! (assumes the queued and running tasks are like this one: `queue + 1`
//! tasks must drain through `cores` cores before it starts).
//!
//! **Local.**
//!
//! ```text
//! exec_local = work_cycles / device.speed_hz
//! latency    = wait(device.busy_cores, device.queue_len, device.cores, exec_local) + exec_local
//! energy     = (busy_w - idle_w) / device.cores * exec_local
//! ```
//!
//! **Offload to node n.** The latency is the sum of
//!
//! ```text
//! prep     = prep_exec + prep_wait, prep_exec = offload_overhead_cycles / device.speed_hz,
//!            prep_wait = wait(device.busy_cores, device.queue_len, device.cores, exec_local)
//!            when offload_overhead_cycles > 0, else 0 (the simulator sends such a task
//!            without queueing it on the device)
//! set-up   = setup_rtts * (uplink.latency_s + n.uplink.latency_s + n.downlink.latency_s
//!                          + downlink.latency_s)
//! upload   = up_bits / uplink.bandwidth_bps + uplink.latency_s
//!            + up_bits / n.uplink.bandwidth_bps + n.uplink.latency_s,
//!            up_bits = (input_bytes + header_bytes) * 8
//! start-up = 0                                          task without image, or container_warm
//!          = cold_start_s                               image_cached
//!          = image_bytes * 8 / pull_bandwidth_bps + pull_latency_s + cold_start_s   otherwise
//!          = infinity                                   if it needs a pull and pull_bandwidth_bps == 0
//! node wait = wait(n.busy_cores, n.queue_len, n.cores, exec_node)
//! exec_node = work_cycles / n.speed_hz
//! download = down_bits / n.downlink.bandwidth_bps + n.downlink.latency_s
//!            + down_bits / downlink.bandwidth_bps + downlink.latency_s,
//!            down_bits = (output_bytes + header_bytes) * 8
//! ```
//!
//! and the device energy is
//!
//! ```text
//! energy = (busy_w - idle_w) / device.cores * prep_exec
//!          + tx_w * up_bits / uplink.bandwidth_bps + rx_w * down_bits / downlink.bandwidth_bps
//! ```
//!
//! (idle power is paid whatever the placement, so only the increments
//! count). Not modelled: link sharing with other transfers, jitter beyond
//! its mean (already in the view's latencies), loss, node memory waits and
//! the staleness of node reports. A zero-bit transfer takes no time even on a
//! zero-bandwidth link; a zero power times an infinite time is zero.

use super::{NodeView, SystemView, TaskView};

/// Estimated latency of one placement and the device energy it costs.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Estimate {
    /// Decision to result back on the device, seconds.
    pub latency_s: f64,
    /// Device energy above idle, joules.
    pub device_energy_j: f64,
}

/// Time to wait for a core: see the module documentation.
#[inline]
pub fn wait(busy: u32, queue: u32, cores: u32, exec_s: f64) -> f64 {
    if busy < cores && queue == 0 { 0.0 } else { f64::from(queue + 1) * exec_s / f64::from(cores) }
}

/// Seconds to send `bits` at `bandwidth_bps` (0 for an empty message).
#[inline]
fn send(bits: f64, bandwidth_bps: f64) -> f64 {
    if bits == 0.0 { 0.0 } else { bits / bandwidth_bps }
}

/// `power_w * time_s`, zero when the power is zero (even for an infinite
/// time).
#[inline]
fn energy(power_w: f64, time_s: f64) -> f64 {
    if power_w == 0.0 { 0.0 } else { power_w * time_s }
}

/// Running `task` on its device.
#[inline]
pub fn local(task: &TaskView, view: &SystemView<'_>) -> Estimate {
    let d = &view.device;
    let exec = task.work_cycles / d.speed_hz;
    let latency_s = wait(d.busy_cores, d.queue_len, d.cores, exec) + exec;
    let device_energy_j = energy((d.busy_w - d.idle_w) / f64::from(d.cores), exec);
    Estimate { latency_s, device_energy_j }
}

/// Offloading `task` to `node`.
#[inline]
pub fn offload(task: &TaskView, view: &SystemView<'_>, node: &NodeView) -> Estimate {
    let d = &view.device;
    let (up, down) = (&view.uplink, &view.downlink);
    let prep_exec = d.offload_overhead_cycles / d.speed_hz;
    let prep_wait = if d.offload_overhead_cycles > 0.0 {
        wait(d.busy_cores, d.queue_len, d.cores, task.work_cycles / d.speed_hz)
    } else {
        0.0
    };
    let rtt = up.latency_s + node.uplink.latency_s + node.downlink.latency_s + down.latency_s;
    let setup = d.setup_rtts * rtt;
    let header = d.header_bytes as f64;
    let up_bits = (task.input_bytes as f64 + header) * 8.0;
    let down_bits = (task.output_bytes as f64 + header) * 8.0;
    let up_access = send(up_bits, up.bandwidth_bps);
    let down_access = send(down_bits, down.bandwidth_bps);
    let upload = up_access + up.latency_s + send(up_bits, node.uplink.bandwidth_bps) + node.uplink.latency_s;
    let startup = startup(task, node);
    let exec_node = task.work_cycles / node.speed_hz;
    let node_wait = wait(node.busy_cores, node.queue_len, node.cores, exec_node);
    let download =
        send(down_bits, node.downlink.bandwidth_bps) + node.downlink.latency_s + down_access + down.latency_s;
    let latency_s = prep_exec + prep_wait + setup + upload + startup + node_wait + exec_node + download;
    let device_energy_j = energy((d.busy_w - d.idle_w) / f64::from(d.cores), prep_exec)
        + energy(d.tx_w, up_access)
        + energy(d.rx_w, down_access);
    Estimate { latency_s, device_energy_j }
}

/// Container start-up on `node`: see the module documentation.
#[inline]
pub fn startup(task: &TaskView, node: &NodeView) -> f64 {
    if task.image.is_none() || node.container_warm {
        0.0
    } else if node.image_cached {
        node.cold_start_s
    } else if node.pull_bandwidth_bps <= 0.0 {
        f64::INFINITY
    } else {
        task.image_bytes as f64 * 8.0 / node.pull_bandwidth_bps + node.pull_latency_s + node.cold_start_s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::{device, link, node, task, view};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn local_estimate_on_an_idle_and_a_busy_device() {
        let mut d = device(0.0);
        d.cores = 2;
        let t = task(); // 1e9 cycles at 1 GHz: 1 s
        let e = local(&t, &view(d, &[]));
        assert!(close(e.latency_s, 1.0), "{e:?}");
        assert!(close(e.device_energy_j, 0.5), "1 W above idle over 2 cores for 1 s: {e:?}");
        d.busy_cores = 1; // a free core, nobody waiting
        assert!(close(local(&t, &view(d, &[])).latency_s, 1.0));
        d.busy_cores = 2;
        d.queue_len = 3; // (3 + 1) * 1 s / 2 cores of waiting
        assert!(close(local(&t, &view(d, &[])).latency_s, 3.0));
        d.busy_cores = 1; // a waiting task also means a wait
        d.queue_len = 1;
        assert!(close(local(&t, &view(d, &[])).latency_s, 2.0));
    }

    #[test]
    fn offload_estimate_adds_every_phase() {
        let mut d = device(0.0);
        d.offload_overhead_cycles = 1e8; // 0.1 s of preparation
        d.busy_cores = 1; // device busy: wait (0 + 1) * 1 s / 1 core
        d.setup_rtts = 2.0;
        d.header_bytes = 250;
        d.tx_w = 2.0;
        d.rx_w = 0.5;
        let mut v = view(d, &[]);
        v.uplink = link(1e6, 0.01);
        v.downlink = link(2e6, 0.02);
        let mut n = node(0);
        n.uplink = link(1e7, 0.005);
        n.downlink = link(1e7, 0.005);
        n.cores = 2;
        n.busy_cores = 2;
        n.queue_len = 1; // wait (1 + 1) * 0.5 s / 2 cores = 0.5 s
        n.container_warm = false; // cached: cold start 0.5 s
        let mut t = task();
        t.input_bytes = 124_750; // + 250 header = 1e6 bits
        t.output_bytes = 249_750; // + 250 header = 2e6 bits
        t.image = Some(0);
        t.image_bytes = 1_000_000;
        let e = offload(&t, &v, &n);
        let prep = 0.1 + 1.0;
        let setup = 2.0 * (0.01 + 0.005 + 0.005 + 0.02);
        let upload = 1.0 + 0.01 + 0.1 + 0.005;
        let download = 0.2 + 0.005 + 1.0 + 0.02;
        let expected = prep + setup + upload + 0.5 + 0.5 + 0.5 + download;
        assert!(close(e.latency_s, expected), "{} vs {expected}", e.latency_s);
        assert!(close(e.device_energy_j, 1.0 * 0.1 + 2.0 * 1.0 + 0.5 * 1.0), "{e:?}");
    }

    #[test]
    fn start_up_depends_on_warm_cached_or_pulled_images() {
        let mut t = task();
        let mut n = node(0);
        n.container_warm = false;
        n.image_cached = false;
        assert_eq!(startup(&t, &n), 0.0, "no image, no start-up");
        t.image = Some(0);
        t.image_bytes = 100_000_000; // 8e8 bits at 1e8 b/s
        assert!(close(startup(&t, &n), 8.0 + 0.01 + 0.5));
        n.image_cached = true;
        assert_eq!(startup(&t, &n), 0.5);
        n.container_warm = true;
        assert_eq!(startup(&t, &n), 0.0);
        n.container_warm = false;
        n.image_cached = false;
        n.pull_bandwidth_bps = 0.0;
        assert_eq!(startup(&t, &n), f64::INFINITY);
    }

    #[test]
    fn no_preparation_means_no_device_wait_or_cpu_energy() {
        let mut d = device(1.0);
        d.busy_cores = 1;
        d.queue_len = 5;
        d.tx_w = 0.0;
        let mut v = view(d, &[]);
        v.uplink = link(0.0, 0.0); // nothing to send: no time, and no NaN
        v.downlink = link(0.0, 0.0);
        let mut n = node(0);
        n.uplink = link(1e9, 0.0);
        n.downlink = link(1e9, 0.0);
        let e = offload(&task(), &v, &n);
        assert!(close(e.latency_s, 0.5), "only the 0.5 s execution on the node: {e:?}");
        assert_eq!(e.device_energy_j, 0.0);
    }
}
