//! Rows handed to the output sinks: one per ended task, one per entity and
//! utilisation sample.

use crate::engine::SimTime;
use crate::policy::{EndReason, Placement};

/// Everything `tasks.csv` says about one task.
#[derive(Copy, Clone, Debug)]
pub struct TaskRecord<'a> {
    /// The task's id (see [`crate::model::Task::id`]).
    pub id: u64,
    /// Class name of the task's device.
    pub device_class: &'a str,
    /// Index within the class: the device is `<class>-<index>`.
    pub device_index: u32,
    /// The task's priority, 0–255.
    pub priority: u8,
    /// The policy's decision: local or a node.
    pub placement: Placement,
    /// Name of the node the task was offloaded to; `None` for local tasks.
    pub node: Option<&'a str>,
    /// When the task arrived at its device.
    pub arrival: SimTime,
    /// When the task's own work started on a core; `None` if it never started.
    pub exec_start: Option<SimTime>,
    /// When the task ended, for whatever reason.
    pub end: SimTime,
    /// Nanoseconds in wait, upload, start-up, execution, download.
    pub phases: [u64; 5],
    /// Absolute deadline, if any.
    pub deadline: Option<SimTime>,
    /// Whether the task completed by its deadline; `None` without a deadline.
    pub deadline_met: Option<bool>,
    /// Why the task ended.
    pub reason: EndReason,
    /// Device energy attributed to the task, in joules.
    pub energy_j: f64,
    /// The task arrived before the end of the warm-up period.
    pub in_warmup: bool,
}

/// One row of `utilisation.csv`.
#[derive(Copy, Clone, Debug)]
pub struct SampleRow<'a> {
    /// End of the interval.
    pub time: SimTime,
    /// `device` or `node`.
    pub kind: &'static str,
    /// Device class or node tier.
    pub group: &'a str,
    /// Device class name (the row's device is `<name>-<index>`), or node name.
    pub name: &'a str,
    /// Index within the class for devices (`<group>-<index>`); `None` for nodes.
    pub index: Option<u32>,
    /// Busy core-time over available core-time in the interval.
    pub utilisation: f64,
    /// Mean power over the interval.
    pub power_w: f64,
}
