//! Edge devices: a class holds what identical devices share, a device holds
//! its own queue, cores, radio state, energy meter and battery.

use super::queue::TaskQueue;
use crate::energy::{CpuPower, Meter};
use crate::network::Protocol;
use crate::scenario::QueueDiscipline;

/// What every device of a class shares.
#[derive(Clone, Debug)]
pub struct DeviceClass {
    pub name: String,
    pub cores: u32,
    pub speed_hz: f64,
    pub queue: QueueDiscipline,
    pub queue_limit: Option<u32>,
    pub cpu: CpuPower,
    pub tx_w: f64,
    pub rx_w: f64,
    pub battery_j: Option<f64>,
    pub offload_overhead_cycles: f64,
    pub protocol: Protocol,
    /// Index of the access network.
    pub network: u16,
    /// Index of the class's first device; its devices are contiguous.
    pub first_device: u32,
    pub count: u32,
}

/// One device.
#[derive(Debug)]
pub struct Device {
    pub class: u16,
    pub queue: TaskQueue,
    /// Live entries in `queue`.
    pub queued: u32,
    /// Cores running a task or an offload preparation.
    pub busy: u32,
    /// Messages the radio is transmitting / receiving.
    pub tx: u32,
    pub rx: u32,
    pub meter: Meter,
    /// Bumped whenever the predicted battery-empty time changes.
    pub battery_generation: u32,
    /// The battery ran out; the device does nothing more.
    pub dead: bool,
}

impl Device {
    /// A fresh device of `class`.
    pub fn new(class_index: u16, class: &DeviceClass) -> Self {
        Device {
            class: class_index,
            queue: TaskQueue::new(class.queue),
            queued: 0,
            busy: 0,
            tx: 0,
            rx: 0,
            meter: Meter::new(class.cpu.at(0, class.cores)),
            battery_generation: 0,
            dead: false,
        }
    }

    /// Power drawn in the current state.
    #[inline]
    pub fn power_w(&self, class: &DeviceClass) -> f64 {
        let radio = if self.tx > 0 { class.tx_w } else { 0.0 } + if self.rx > 0 { class.rx_w } else { 0.0 };
        class.cpu.at(self.busy, class.cores) + radio
    }

    /// Remaining battery fraction (after the meter's last advance).
    pub fn battery_fraction(&self, class: &DeviceClass) -> Option<f64> {
        class.battery_j.map(|cap| ((cap - self.meter.energy_j()) / cap).clamp(0.0, 1.0))
    }
}
