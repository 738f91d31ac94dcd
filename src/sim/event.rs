//! The simulation's events. Small and `Copy`: the event loop never allocates.

use crate::model::{Flow, TaskRef};

/// Something that happens at an instant.
#[derive(Copy, Clone, Debug)]
pub enum Event {
    /// A generated task of this device arrives.
    Arrival {
        /// Index of the device.
        device: u32,
    },
    /// The next trace row arrives.
    TraceArrival,
    /// The dispatcher's decision time is over: the task goes where the
    /// policy placed it.
    Decided {
        /// The task decided.
        task: TaskRef,
    },
    /// A device core finished the task's work or its offload preparation.
    DeviceDone {
        /// Index of the device.
        device: u32,
        /// The task whose core job finished.
        task: TaskRef,
    },
    /// Protocol set-up round trips are over; the upload starts.
    SetupDone {
        /// The task about to upload.
        task: TaskRef,
    },
    /// A link's scheduled transmission check.
    TxDone {
        /// Index of the link.
        link: u32,
        /// The link's generation when the check was scheduled; a changed generation makes the check stale.
        generation: u32,
    },
    /// A message reached the far end of a link.
    Delivered {
        /// The task message or image pull that arrived.
        flow: Flow,
    },
    /// A lost message is sent again on this link.
    Retransmit {
        /// Index of the link.
        link: u32,
        /// The task message or image pull sent again.
        flow: Flow,
    },
    /// The task's container is up; it may queue for a node core.
    Ready {
        /// The task whose container is up.
        task: TaskRef,
        /// Index of the node it is at.
        node: u32,
    },
    /// A node core finished the task.
    NodeDone {
        /// Index of the node.
        node: u32,
        /// The task that finished.
        task: TaskRef,
    },
    /// The task's deadline (with `on_deadline = "abort"`).
    Deadline {
        /// The task whose deadline it is.
        task: TaskRef,
    },
    /// Write a `utilisation.csv` sample.
    Sample,
    /// Nodes report their state to the dispatcher.
    Heartbeat,
    /// The warm-up period ends.
    WarmupEnd,
    /// The device's battery is predicted to be empty (if still current).
    BatteryEmpty {
        /// Index of the device.
        device: u32,
        /// The device's battery generation when the prediction was made; a changed generation makes it stale.
        generation: u32,
    },
    /// The earliest time the device's battery could be empty: look again.
    BatteryCheck {
        /// Index of the device.
        device: u32,
    },
}
