//! Rows handed to the output sinks: one per ended task, one per entity and
//! utilisation sample.

use crate::engine::SimTime;
use crate::policy::{EndReason, Placement};

/// Everything `tasks.csv` says about one task.
#[derive(Copy, Clone, Debug)]
pub struct TaskRecord<'a> {
    pub id: u64,
    pub device_class: &'a str,
    /// Index within the class: the device is `<class>-<index>`.
    pub device_index: u32,
    pub priority: u8,
    pub placement: Placement,
    pub node: Option<&'a str>,
    pub arrival: SimTime,
    pub exec_start: Option<SimTime>,
    pub end: SimTime,
    /// Nanoseconds in wait, upload, start-up, execution, download.
    pub phases: [u64; 5],
    pub deadline: Option<SimTime>,
    pub deadline_met: Option<bool>,
    pub reason: EndReason,
    pub energy_j: f64,
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
    pub name: &'a str,
    /// Index within the class for devices (`<group>-<index>`); `None` for nodes.
    pub index: Option<u32>,
    /// Busy core-time over available core-time in the interval.
    pub utilisation: f64,
    /// Mean power over the interval.
    pub power_w: f64,
}
