//! Measurements into the policy's views: the task, the deciding device and
//! a node, each assembled in this one place whichever backend measured it.

use crate::energy::Meter;
use crate::engine::SimTime;
use crate::model::{DeviceClass, TaskAttrs, World};
use crate::policy::{DeviceView, NodeView, TaskView};

/// A node's load as one report gives it.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct NodeReport {
    /// Tasks waiting for a core.
    pub queue_len: u32,
    /// Cores running a task.
    pub busy_cores: u32,
    /// Memory not held by running tasks, in bytes.
    pub free_memory_bytes: u64,
    /// Recent CPU utilisation in [0, 1].
    pub cpu_utilisation: f64,
}

/// Task `id` of `device`, arrived at `arrival` with attributes `a`, as a
/// policy sees it.
#[inline]
pub fn task_view(world: &World, id: u64, device: u32, arrival: SimTime, a: &TaskAttrs) -> TaskView {
    TaskView {
        id,
        device,
        arrival,
        work_cycles: a.work_cycles,
        input_bytes: a.input_bytes,
        output_bytes: a.output_bytes,
        memory_bytes: a.memory_bytes,
        image: a.image,
        image_bytes: a.image.map_or(0, |i| world.images[usize::from(i)].bytes),
        priority: a.priority,
        deadline: a.deadline_ns.map(|d| arrival.after(d)),
    }
}

/// A device of `class` as it knows itself at `now`: `queue_len` tasks
/// waiting, `busy` cores busy, and its utilisation and energy from its
/// `meter` (averaged with decay `decay_per_ns`).
#[inline]
pub fn device_view(
    class: &DeviceClass,
    queue_len: u32,
    busy: u32,
    meter: &Meter,
    now: SimTime,
    decay_per_ns: f64,
) -> DeviceView {
    class.view(queue_len, busy, meter.utilisation_at(now, class.cores, decay_per_ns), meter.energy_at(now))
}

/// A node as a policy sees it: its static facts (`card`, from
/// [`World::node_views`]), the load of report `r` that is `age_s` old, and
/// whether it holds the task's image (`cached`) and has a container of it
/// running or warm (`warm`).
#[inline]
pub fn node_view(card: &NodeView, r: &NodeReport, (cached, warm): (bool, bool), age_s: f64) -> NodeView {
    NodeView {
        free_memory_bytes: r.free_memory_bytes,
        queue_len: r.queue_len,
        busy_cores: r.busy_cores,
        cpu_utilisation: r.cpu_utilisation,
        image_cached: cached,
        container_warm: warm,
        report_age_s: age_s,
        ..*card
    }
}
