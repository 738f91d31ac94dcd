//! An ended task into its row, its share of the summary, and the policy's
//! outcome.

use crate::engine::{NANOS_PER_SEC, SimTime};
use crate::error::Result;
use crate::metrics::{Sink, Summary, SummaryAccumulator, TaskRecord, Totals};
use crate::model::World;
use crate::policy::{EndReason, NodeId, Placement, Policy, TaskOutcome, TaskView};

/// How a task ended, as its backend measured it.
#[derive(Copy, Clone, Debug)]
pub struct Ending {
    /// The task's id (see [`crate::model::Task::id`]).
    pub id: u64,
    /// Index of the device that produced the task.
    pub device: u32,
    /// The task's priority, 0–255.
    pub priority: u8,
    /// When the task arrived at its device.
    pub arrival: SimTime,
    /// Absolute deadline, if any.
    pub deadline: Option<SimTime>,
    /// The policy's decision: local or a node.
    pub placement: Placement,
    /// Why the task ended.
    pub reason: EndReason,
    /// When the task ended, for whatever reason.
    pub end: SimTime,
    /// Start of the task's own execution, if it got that far.
    pub exec_start: Option<SimTime>,
    /// Nanoseconds in wait, upload, start-up, execution, download.
    pub phases: [u64; 5],
    /// Device energy attributed to the task.
    pub energy_j: f64,
    /// The task arrived before the end of the warm-up period.
    pub in_warmup: bool,
}

/// Where ended tasks go: the summary, the sink's rows and, for a policy
/// that learns, its outcomes.
pub struct Outcomes<S: Sink> {
    acc: SummaryAccumulator,
    sink: S,
    /// Whether the policy is told of each end ([`Policy::observes`]).
    observes: bool,
}

impl<S: Sink> Outcomes<S> {
    /// Ended tasks of a run writing rows to `sink`, for `policy`.
    pub fn new<P: Policy>(sink: S, policy: &P) -> Self {
        Outcomes { acc: SummaryAccumulator::default(), sink, observes: policy.observes() }
    }

    /// Records ended task `e`: its row, its share of the summary and, if the
    /// policy observes, its outcome, with the task as `view()` gives it. A
    /// sink error is returned after the policy has been told.
    #[inline]
    pub fn record<P: Policy>(
        &mut self,
        world: &World,
        e: &Ending,
        policy: &mut P,
        view: impl FnOnce() -> TaskView,
    ) -> Result<()> {
        let (class, index) = world.device_name(e.device);
        let node = match e.placement {
            Placement::Offload(NodeId(n)) => world.node_info.get(n as usize).map(|i| i.name.as_str()),
            Placement::Local => None,
        };
        let deadline_met = e.deadline.map(|d| e.reason == EndReason::Completed && e.end <= d);
        let record = TaskRecord {
            id: e.id,
            device_class: class,
            device_index: index,
            priority: e.priority,
            placement: e.placement,
            node,
            arrival: e.arrival,
            exec_start: e.exec_start,
            end: e.end,
            phases: e.phases,
            deadline: e.deadline,
            deadline_met,
            reason: e.reason,
            energy_j: e.energy_j,
            in_warmup: e.in_warmup,
        };
        self.acc.add(&record);
        let written = self.sink.task(&record);
        if self.observes {
            policy.observe(&TaskOutcome {
                task: view(),
                placement: e.placement,
                reason: e.reason,
                end: e.end,
                latency_s: e.end.since(e.arrival) as f64 / NANOS_PER_SEC as f64,
                energy_j: e.energy_j,
                deadline_met,
            });
        }
        written
    }

    /// The sink, for rows that are not tasks' (utilisation samples).
    pub fn sink(&mut self) -> &mut S {
        &mut self.sink
    }

    /// The run's summary, given its totals.
    pub fn summary(&self, totals: Totals) -> Summary {
        Summary::new(&self.acc, totals)
    }

    /// The sink, once the run is over.
    pub fn into_sink(self) -> S {
        self.sink
    }
}
