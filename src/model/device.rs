//! Edge devices: a class holds what identical devices share, a device holds
//! its own queue, cores, radio state, energy meter and battery.

use super::queue::TaskQueue;
use crate::energy::{CpuPower, Meter, split};
use crate::engine::{SECS_PER_NANO, SimTime};
use crate::network::Protocol;
use crate::policy::DeviceView;
use crate::scenario::QueueDiscipline;

/// What every device of a class shares.
#[derive(Clone, Debug)]
pub struct DeviceClass {
    /// The class's name from the scenario; its devices are named `<class>-<index>`.
    pub name: String,
    /// CPU cores of each device.
    pub cores: u32,
    /// Clock speed of each core, in cycles per second.
    pub speed_hz: f64,
    /// `1e9 / speed_hz`: run times are a multiplication.
    pub ns_per_cycle: f64,
    /// Order of each device's run queue.
    pub queue: QueueDiscipline,
    /// Most tasks that may wait for a core on one device; `None` is unbounded.
    pub queue_limit: Option<u32>,
    /// CPU power model of each device.
    pub cpu: CpuPower,
    /// Radio power while transmitting, in watts.
    pub tx_w: f64,
    /// Radio power while receiving, in watts.
    pub rx_w: f64,
    /// Battery capacity of each device, in joules; `None` for mains power.
    pub battery_j: Option<f64>,
    /// Device CPU work to prepare each offloaded task, in cycles.
    pub offload_overhead_cycles: f64,
    /// Protocol set-up and header costs of each offloaded task.
    pub protocol: Protocol,
    /// Index of the access network.
    pub network: u16,
    /// Index of the class's first device; its devices are contiguous.
    pub first_device: u32,
    /// Number of devices in the class.
    pub count: u32,
}

impl DeviceClass {
    /// The most a device of this class can draw: every core busy, radio
    /// sending and receiving.
    pub fn max_power_w(&self) -> f64 {
        self.cpu.busy_w + self.tx_w + self.rx_w
    }

    /// A device of this class as a policy sees it, given its load, its
    /// recent utilisation and the energy it has used.
    pub fn view(&self, queue_len: u32, busy_cores: u32, cpu_utilisation: f64, energy_j: f64) -> DeviceView {
        DeviceView {
            cores: self.cores,
            speed_hz: self.speed_hz,
            queue_len,
            busy_cores,
            cpu_utilisation,
            battery_fraction: self.battery_j.map(|cap| ((cap - energy_j) / cap).clamp(0.0, 1.0)),
            idle_w: self.cpu.idle_w,
            busy_w: self.cpu.busy_w,
            tx_w: self.tx_w,
            rx_w: self.rx_w,
            offload_overhead_cycles: self.offload_overhead_cycles,
            setup_rtts: self.protocol.setup_rtts,
            header_bytes: self.protocol.header_bytes,
        }
    }
}

/// One device.
#[derive(Debug)]
pub struct Device {
    /// Index of the device's class in [`crate::model::World::classes`].
    pub class: u16,
    /// Tasks waiting for a core, to run locally or to prepare an offload.
    pub queue: TaskQueue,
    /// Live entries in `queue`.
    pub queued: u32,
    /// Cores running a task or an offload preparation.
    pub busy: u32,
    /// Messages the radio is transmitting / receiving.
    pub tx: u32,
    /// Messages the radio is receiving.
    pub rx: u32,
    /// CPU and radio energy and busy core-time of the device.
    pub meter: Meter,
    /// Radio energy per concurrent transmission (reception) since time zero:
    /// grows at `tx_w / tx` (`rx_w / rx`) while the radio is on, so tasks
    /// sending at the same time share its power.
    pub tx_share_j: f64,
    /// Radio energy per concurrent reception since time zero, in joules (see `tx_share_j`).
    pub rx_share_j: f64,
    radio_at: SimTime,
    /// Bumped whenever the exact battery-empty prediction changes.
    pub battery_generation: u32,
    /// A conservative battery check is scheduled.
    pub battery_check_pending: bool,
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
            tx_share_j: 0.0,
            rx_share_j: 0.0,
            radio_at: SimTime::ZERO,
            battery_generation: 0,
            battery_check_pending: false,
            dead: false,
        }
    }

    /// Brings the per-transmission radio energy up to `now`.
    #[inline]
    pub fn advance_radio(&mut self, now: SimTime, class: &DeviceClass) {
        if self.tx == 0 && self.rx == 0 {
            self.radio_at = now;
            return;
        }
        let dt = now.since(self.radio_at) as f64 * SECS_PER_NANO;
        if self.tx > 0 {
            self.tx_share_j += split(class.tx_w * dt, self.tx);
        }
        if self.rx > 0 {
            self.rx_share_j += split(class.rx_w * dt, self.rx);
        }
        self.radio_at = now;
    }

    /// Power drawn in the current state.
    #[inline]
    pub fn power_w(&self, class: &DeviceClass) -> f64 {
        let radio = if self.tx > 0 { class.tx_w } else { 0.0 } + if self.rx > 0 { class.rx_w } else { 0.0 };
        class.cpu.at(self.busy, class.cores) + radio
    }
}
