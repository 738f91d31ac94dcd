//! The simulation's events. Small and `Copy`: the event loop never allocates.

use crate::model::{Flow, TaskRef};

/// Something that happens at an instant.
#[derive(Copy, Clone, Debug)]
pub enum Event {
    /// A generated task of this device arrives.
    Arrival { device: u32 },
    /// The next trace row arrives.
    TraceArrival,
    /// The dispatcher's decision time is over: the task goes where the
    /// policy placed it.
    Decided { task: TaskRef },
    /// A device core finished the task's work or its offload preparation.
    DeviceDone { device: u32, task: TaskRef },
    /// Protocol set-up round trips are over; the upload starts.
    SetupDone { task: TaskRef },
    /// A link's scheduled transmission check.
    TxDone { link: u32, generation: u32 },
    /// A message reached the far end of a link.
    Delivered { flow: Flow },
    /// A lost message is sent again on this link.
    Retransmit { link: u32, flow: Flow },
    /// The task's container is up; it may queue for a node core.
    Ready { task: TaskRef, node: u32 },
    /// A node core finished the task.
    NodeDone { node: u32, task: TaskRef },
    /// The task's deadline (with `on_deadline = "abort"`).
    Deadline { task: TaskRef },
    /// Write a `utilisation.csv` sample.
    Sample,
    /// Nodes report their state to the dispatcher.
    Heartbeat,
    /// The warm-up period ends.
    WarmupEnd,
    /// The device's battery is predicted to be empty (if still current).
    BatteryEmpty { device: u32, generation: u32 },
    /// The earliest time the device's battery could be empty: look again.
    BatteryCheck { device: u32 },
}
