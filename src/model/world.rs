//! The world of one run, assembled from a validated scenario: device classes
//! and devices, access networks, nodes, links and images, with every random
//! stream derived from the run's seed.

use super::constraints::Constraints;
use super::device::{Device, DeviceClass};
use super::node::{ImageSlot, Node};
use super::queue::TaskQueue;
use super::settings::Settings;
use super::streams::{Purpose, stream};
use super::task::TaskRef;
use crate::energy::{CpuPower, Meter};
use crate::engine::{nanos_from_millis, nanos_from_secs};
use crate::network::{Link, LinkParams, Protocol};
use crate::policy::{LinkView, NodeId, NodeInfo, NodeView};
use crate::scenario::{LinkSpec, NodeSpec, Scenario};

/// A container image.
#[derive(Clone, Debug)]
pub struct Image {
    /// The image's name from the scenario.
    pub name: String,
    /// Size of the image, in bytes.
    pub bytes: u64,
}

/// What a link carries: a task's message or an image being pulled.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Flow {
    /// A task's upload or result; `device` is the task's device, kept so
    /// radio accounting works even after the task has ended.
    Task {
        /// The task the message belongs to.
        task: TaskRef,
        /// Index of the task's device.
        device: u32,
    },
    /// An image being pulled from the registry to a node.
    Pull {
        /// Index of the node pulling the image.
        node: u32,
        /// Index of the image.
        image: u16,
    },
}

/// Every entity of a run.
pub struct World {
    /// Device classes, in scenario order.
    pub classes: Vec<DeviceClass>,
    /// Every device, class by class; a class's devices are contiguous.
    pub devices: Vec<Device>,
    /// Nodes, in scenario order.
    pub nodes: Vec<Node>,
    /// Per node: its name, tier and labels, as policies see them.
    pub node_info: Vec<NodeInfo>,
    /// Every link direction: access networks' first, then each node's up, down and registry links.
    pub links: Vec<Link<Flow>>,
    /// Per access network: (uplink, downlink) link indices.
    pub networks: Vec<(u32, u32)>,
    /// Container images, in scenario order.
    pub images: Vec<Image>,
    /// Which nodes each placement constraint set allows.
    pub constraints: Constraints,
    /// Run-wide settings from the scenario.
    pub settings: Settings,
    /// Per access network: (uplink, downlink) as policies see them.
    pub access_views: Vec<(LinkView, LinkView)>,
    /// Per node: its static facts as policies see them (cores, speed,
    /// memory, start-up, links); the load fields are those of an idle node.
    pub node_views: Vec<NodeView>,
}

fn link_params(l: &LinkSpec) -> LinkParams {
    LinkParams {
        bandwidth_bps: l.bandwidth_mbps * 1e6,
        latency_ns: nanos_from_millis(l.latency_ms),
        jitter: l.jitter_ms.as_ref().map(|j| j.sampler()),
        loss: l.loss,
        retransmit_ns: nanos_from_millis(l.retransmit_ms),
        sharing: l.sharing,
        energy_j_per_bit: l.energy_nj_per_bit * 1e-9,
    }
}

/// Nominal estimate of a link as policies see it: bandwidth and latency plus
/// mean jitter.
fn link_view(l: &LinkSpec) -> LinkView {
    let jitter_ms = l.jitter_ms.as_ref().map_or(0.0, |j| j.mean());
    LinkView { bandwidth_bps: l.bandwidth_mbps * 1e6, latency_s: (l.latency_ms + jitter_ms) / 1e3 }
}

/// Node `n` as policies see it before any report: idle, every byte of
/// memory free; start-up as its mean cold start and its registry link (no
/// registry: pull bandwidth 0).
fn node_view(id: usize, n: &NodeSpec, memory_bytes: u64) -> NodeView {
    let (pull_bandwidth_bps, pull_latency_s) =
        n.registry.as_ref().map_or((0.0, 0.0), |r| (r.bandwidth_mbps * 1e6, r.latency_ms / 1e3));
    NodeView {
        id: NodeId(id as u32),
        cores: n.cores,
        speed_hz: n.speed_ghz * 1e9,
        memory_bytes,
        free_memory_bytes: memory_bytes,
        queue_len: 0,
        busy_cores: 0,
        cpu_utilisation: 0.0,
        image_cached: false,
        container_warm: false,
        cold_start_s: n.cold_start_ms.mean() / 1e3,
        pull_bandwidth_bps,
        pull_latency_s,
        uplink: link_view(&n.up),
        downlink: link_view(&n.down),
        report_age_s: 0.0,
    }
}

impl World {
    /// Builds the world of `spec` for `seed`. The scenario must be valid.
    pub fn build(spec: &Scenario, seed: u64) -> World {
        let images: Vec<Image> = spec.images.iter().map(|i| Image { name: i.name.clone(), bytes: i.bytes() }).collect();
        let image_index = |name: &str| spec.images.iter().position(|i| i.name == name).expect("validated image");

        let mut links = Vec::new();
        let mut add_link = |l: &LinkSpec| {
            let id = links.len() as u32;
            links.push(Link::new(link_params(l), stream(seed, Purpose::Link, u64::from(id))));
            id
        };
        let networks: Vec<(u32, u32)> = spec.networks.iter().map(|n| (add_link(&n.up), add_link(&n.down))).collect();

        let mut classes = Vec::with_capacity(spec.devices.len());
        let mut devices = Vec::new();
        for (ci, d) in spec.devices.iter().enumerate() {
            let class = DeviceClass {
                name: d.name.clone(),
                cores: d.cores,
                speed_hz: d.speed_ghz * 1e9,
                ns_per_cycle: 1.0 / d.speed_ghz,
                queue: d.queue,
                queue_limit: d.queue_limit,
                cpu: CpuPower { idle_w: d.power.idle_w, busy_w: d.power.busy_w },
                tx_w: d.power.tx_w,
                rx_w: d.power.rx_w,
                battery_j: d.battery_j,
                offload_overhead_cycles: d.offload_overhead_mcycles * 1e6,
                protocol: Protocol::from_spec(&d.protocol),
                network: spec.networks.iter().position(|n| n.name == d.network).expect("validated network") as u16,
                first_device: devices.len() as u32,
                count: d.count,
            };
            devices.extend((0..d.count).map(|_| Device::new(ci as u16, &class)));
            classes.push(class);
        }

        let mut nodes = Vec::with_capacity(spec.nodes.len());
        let mut node_views = Vec::with_capacity(spec.nodes.len());
        for (ni, n) in spec.nodes.iter().enumerate() {
            let up_link = add_link(&n.up);
            let down_link = add_link(&n.down);
            let registry_link = n.registry.as_ref().map(|r| add_link(&r.link()));
            let cpu = CpuPower { idle_w: n.power.idle_w, busy_w: n.power.busy_w };
            let memory_bytes = (n.memory_gb * 1e9).round() as u64;
            node_views.push(node_view(ni, n, memory_bytes));
            let mut node = Node {
                cores: n.cores,
                speed_hz: n.speed_ghz * 1e9,
                ns_per_cycle: 1.0 / n.speed_ghz,
                memory_bytes,
                free_memory_bytes: memory_bytes,
                queue: TaskQueue::new(n.queue),
                queued: 0,
                busy: 0,
                queue_limit: n.queue_limit,
                up_link,
                down_link,
                registry_link,
                images: images.iter().map(|img| ImageSlot::absent(img.bytes)).collect(),
                cache_capacity: n.image_cache_bytes(),
                cache_used: 0,
                cold_start: n.cold_start_ms.sampler(),
                keep_alive_ns: nanos_from_secs(n.keep_alive_s),
                rng: stream(seed, Purpose::Node, ni as u64),
                cpu,
                meter: Meter::new(cpu.at(0, n.cores)),
            };
            for img in &n.preloaded_images {
                node.insert_into_cache(image_index(img));
            }
            nodes.push(node);
        }
        let node_info = World::node_infos(spec);

        World {
            classes,
            devices,
            nodes,
            node_info,
            links,
            networks,
            images,
            constraints: Constraints::new(spec),
            settings: Settings::of(spec),
            access_views: spec.networks.iter().map(|n| (link_view(&n.up), link_view(&n.down))).collect(),
            node_views,
        }
    }

    /// Places images on nodes before the first task (a policy's
    /// [`crate::policy::Policy::preload`]); pairs naming no node or image
    /// are ignored.
    pub fn preload(&mut self, pairs: &[(NodeId, u16)]) {
        for &(node, image) in pairs {
            if let Some(n) = self.nodes.get_mut(node.0 as usize)
                && usize::from(image) < n.images.len()
            {
                n.insert_into_cache(usize::from(image));
            }
        }
    }

    /// Static facts about the scenario's nodes, for building policies.
    pub fn node_infos(spec: &Scenario) -> Vec<NodeInfo> {
        spec.nodes
            .iter()
            .map(|n| NodeInfo { name: n.name.clone(), tier: n.tier.clone(), labels: n.labels.clone() })
            .collect()
    }

    /// The class of device `device`.
    #[inline]
    pub fn class_of(&self, device: u32) -> &DeviceClass {
        &self.classes[self.devices[device as usize].class as usize]
    }

    /// Index of the device called `name` (`<class>-<i>`), if any.
    pub fn device_by_name(&self, name: &str) -> Option<u32> {
        let (class, digits) = name.rsplit_once('-')?;
        let index: u32 = digits.parse().ok()?;
        if index.to_string() != digits {
            return None; // only the canonical form, e.g. `camera-1`, not `camera-01`
        }
        let c = self.classes.iter().find(|c| c.name == class)?;
        (index < c.count).then_some(c.first_device + index)
    }

    /// Writes the name of device `device` (`<class>-<i>`).
    pub fn device_name(&self, device: u32) -> (&str, u32) {
        let c = self.class_of(device);
        (&c.name, device - c.first_device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_are_class_dash_index_in_canonical_form() {
        let text = r#"policy = { name = "local" }
workload = { max_tasks = 1 }
[[networks]]
name = "n"
up = { bandwidth_mbps = 1 }
down = { bandwidth_mbps = 1 }
[[devices]]
name = "cam-a"
count = 3
network = "n"
speed_ghz = 1
power = { idle_w = 1, busy_w = 2 }
workload = { rate_per_s = 1, work_mcycles = { kind = "constant", value = 1 } }
"#;
        let spec: Scenario = toml::from_str(text).unwrap();
        let w = World::build(&spec, 1);
        assert_eq!(w.device_by_name("cam-a-2"), Some(2));
        assert_eq!(w.device_name(2), ("cam-a", 2));
        for bad in ["cam-a-3", "cam-a-02", "cam-a-+1", "cam-a", "cam-2", "cam-a--1"] {
            assert_eq!(w.device_by_name(bad), None, "{bad}");
        }
    }
}
