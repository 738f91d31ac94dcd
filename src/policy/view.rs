//! What a policy sees: the task, and measurements of the system as the
//! dispatcher knows them. Node figures are as of the node's last report
//! (`report_age_s` says how old); the device's own figures are current.

use crate::engine::SimTime;

/// Index of a node, dense from 0 in scenario order.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

/// Static facts about a node, given to policies when they are built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// The node's name from the scenario.
    pub name: String,
    /// The node's tier, such as `edge` or `cloud`.
    pub tier: String,
    /// Extra labels, matched by tasks' node selectors (the tier is a label too).
    pub labels: Vec<String>,
}

/// A container image, as policies know it (its index is its position).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageInfo {
    /// The image's name from the scenario.
    pub name: String,
    /// Size of the image, in bytes.
    pub bytes: u64,
}

/// The task being placed.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct TaskView {
    /// The task's id: the trace's `task_id`, or its arrival order for a generated workload.
    pub id: u64,
    /// Index of the producing device, dense from 0.
    pub device: u32,
    /// When the task arrived at its device.
    pub arrival: SimTime,
    /// CPU work, in cycles.
    pub work_cycles: f64,
    /// Input sent to the node when offloaded, in bytes.
    pub input_bytes: u64,
    /// Result sent back to the device when offloaded, in bytes.
    pub output_bytes: u64,
    /// Node memory held while the task runs on a node, in bytes.
    pub memory_bytes: u64,
    /// Index of the task's image, if it needs one.
    pub image: Option<u16>,
    /// Size of the task's image, in bytes; 0 without an image.
    pub image_bytes: u64,
    /// Priority, 0–255: higher runs first in priority queues.
    pub priority: u8,
    /// Absolute deadline, if any.
    pub deadline: Option<SimTime>,
}

/// Estimates for one link direction.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct LinkView {
    /// Transmission rate, in bits per second.
    pub bandwidth_bps: f64,
    /// One-way latency including mean jitter.
    pub latency_s: f64,
}

/// The deciding device, as it knows itself.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct DeviceView {
    /// CPU cores.
    pub cores: u32,
    /// Clock speed of each core, in cycles per second.
    pub speed_hz: f64,
    /// Tasks waiting for a core (not running).
    pub queue_len: u32,
    /// Cores running a task or an offload preparation.
    pub busy_cores: u32,
    /// Recent CPU utilisation in [0, 1] (exponentially weighted).
    pub cpu_utilisation: f64,
    /// Remaining battery in [0, 1]; `None` for mains-powered devices.
    pub battery_fraction: Option<f64>,
    /// CPU power with every core idle, in watts.
    pub idle_w: f64,
    /// CPU power with every core busy, in watts.
    pub busy_w: f64,
    /// Radio power while transmitting, in watts.
    pub tx_w: f64,
    /// Radio power while receiving, in watts.
    pub rx_w: f64,
    /// Device cycles spent preparing an offloaded task.
    pub offload_overhead_cycles: f64,
    /// Protocol set-up round trips per offloaded request.
    pub setup_rtts: f64,
    /// Protocol header bytes per message.
    pub header_bytes: u64,
}

/// A node as of its last report.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct NodeView {
    /// The node's id.
    pub id: NodeId,
    /// CPU cores.
    pub cores: u32,
    /// Clock speed of each core, in cycles per second.
    pub speed_hz: f64,
    /// Memory, in bytes.
    pub memory_bytes: u64,
    /// Memory not held by running tasks, in bytes.
    pub free_memory_bytes: u64,
    /// Tasks waiting for a core (not running).
    pub queue_len: u32,
    /// Cores running a task.
    pub busy_cores: u32,
    /// Recent CPU utilisation in [0, 1].
    pub cpu_utilisation: f64,
    /// The node holds the task's image (always true for image-less tasks).
    pub image_cached: bool,
    /// A container for the task's image is running or warm.
    pub container_warm: bool,
    /// Mean container cold start.
    pub cold_start_s: f64,
    /// Registry -> node bandwidth for image pulls (0: the node cannot pull).
    pub pull_bandwidth_bps: f64,
    /// Registry -> node one-way latency for image pulls, in seconds.
    pub pull_latency_s: f64,
    /// Gateway -> node.
    pub uplink: LinkView,
    /// Node -> gateway.
    pub downlink: LinkView,
    /// Age of the report these figures come from.
    pub report_age_s: f64,
}

/// The system as the dispatcher sees it when deciding one task. `nodes`
/// holds only the nodes the task may use (its placement constraints).
#[derive(Copy, Clone, Debug)]
pub struct SystemView<'a> {
    /// The time of the decision.
    pub now: SimTime,
    /// The deciding device.
    pub device: DeviceView,
    /// Device -> gateway.
    pub uplink: LinkView,
    /// Gateway -> device.
    pub downlink: LinkView,
    /// The nodes the task may use, by increasing id.
    pub nodes: &'a [NodeView],
}

/// Why a task ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EndReason {
    /// Ran to completion and its result reached the device.
    Completed,
    /// Its deadline passed (with `on_deadline = "abort"`).
    Timeout,
    /// The device's or node's queue was full.
    QueueFull,
    /// The device's battery ran out.
    BatteryDepleted,
    /// It needs more memory than the chosen node has.
    InsufficientMemory,
    /// The policy chose a node that does not exist or that the task's
    /// placement constraints exclude.
    InvalidPlacement,
    /// The run stopped at its horizon first.
    Horizon,
    /// Live backend only: the worker running it crashed or could not be
    /// reached.
    Failed,
}

impl EndReason {
    /// All reasons, in report column order.
    pub const ALL: [EndReason; 8] = [
        EndReason::Completed,
        EndReason::Timeout,
        EndReason::QueueFull,
        EndReason::BatteryDepleted,
        EndReason::InsufficientMemory,
        EndReason::InvalidPlacement,
        EndReason::Horizon,
        EndReason::Failed,
    ];

    /// The name used in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Completed => "completed",
            EndReason::Timeout => "timeout",
            EndReason::QueueFull => "queue_full",
            EndReason::BatteryDepleted => "battery_depleted",
            EndReason::InsufficientMemory => "insufficient_memory",
            EndReason::InvalidPlacement => "invalid_placement",
            EndReason::Horizon => "horizon",
            EndReason::Failed => "failed",
        }
    }
}

/// What a policy learns when a task ends.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct TaskOutcome {
    /// The task that ended.
    pub task: TaskView,
    /// Where the policy placed it.
    pub placement: super::Placement,
    /// Why it ended.
    pub reason: EndReason,
    /// When it ended.
    pub end: SimTime,
    /// End minus arrival.
    pub latency_s: f64,
    /// Device energy attributed to the task.
    pub energy_j: f64,
    /// `None` when the task has no deadline.
    pub deadline_met: Option<bool>,
}
