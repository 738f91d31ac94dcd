//! Tasks, their lifecycle stages, and the slab that stores live tasks.
//!
//! ```text
//! local:    arrive ─► decide ─► device queue ─► execute ───────────────────────────────► done
//! offload:  arrive ─► decide ─► [device prep] ─► set-up ─► upload (access, node link)
//!             ─► [image pull, cold start] ─► node queue ─► execute ─► download ─► done
//! ```
//! Any stage may end early: deadline (`timeout`), full queue, empty battery,
//! horizon. A task's time is split into five phases (wait, upload, start-up,
//! execution, download) that add up to its latency.

use crate::engine::SimTime;
use crate::policy::Placement;

/// A handle to a live task: slot index plus the slot's generation, so a
/// stale handle (to a task that has ended) is recognised.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskRef {
    slot: u32,
    generation: u32,
}

impl TaskRef {
    /// Fills storage that holds no handle yet (such as a queue's unused
    /// places); never looked up.
    pub(crate) const FILLER: TaskRef = TaskRef { slot: u32::MAX, generation: u32::MAX };
}

/// Where a live task is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Decided on arrival; the placement takes effect after the
    /// dispatcher's decision time.
    Deciding,
    /// Waiting for a device core to run locally.
    LocalQueued,
    /// Running locally on a device core.
    LocalRunning,
    /// Waiting for a device core to prepare the offload.
    PrepQueued,
    /// Preparing the offload on a device core.
    PrepRunning,
    /// Protocol set-up round trips before the upload.
    Setup,
    /// Crossing the access network's uplink.
    UpAccess,
    /// Crossing the node's uplink.
    UpNode,
    /// At the node, waiting for the image pull and/or container start.
    Startup,
    /// Waiting for a node core.
    NodeQueued,
    /// Running on a node core.
    NodeRunning,
    /// Result crossing the node's downlink.
    DownNode,
    /// Result crossing the access network's downlink.
    DownAccess,
}

/// Phases whose durations make up a task's latency.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for a core, on the device or at the node.
    Wait = 0,
    /// Protocol set-up and transfer of the input to the node.
    Upload = 1,
    /// At the node, waiting for the image pull and/or the container start.
    Startup = 2,
    /// On a core: local execution, or offload preparation plus node execution.
    Exec = 3,
    /// Transfer of the result from the node to the device.
    Download = 4,
}

/// A task's attributes, whatever produced it.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct TaskAttrs {
    /// CPU work, in cycles.
    pub work_cycles: f64,
    /// Input sent to the node when offloaded, in bytes.
    pub input_bytes: u64,
    /// Result sent back to the device when offloaded, in bytes.
    pub output_bytes: u64,
    /// Node memory held while the task runs on a node, in bytes.
    pub memory_bytes: u64,
    /// Index of the container image the task needs on a node; `None` needs none.
    pub image: Option<u16>,
    /// Priority, 0–255: higher runs first in priority queues.
    pub priority: u8,
    /// Relative to arrival.
    pub deadline_ns: Option<u64>,
    /// Placement constraint set (see [`super::Constraints`]).
    pub constraint: u16,
}

/// A live task.
#[derive(Clone, Debug)]
pub struct Task {
    /// The task's id: the trace's `task_id`, or its arrival order for a generated workload.
    pub id: u64,
    /// Index of the device that produced the task.
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
    /// Index of the container image the task needs on a node; `None` needs none.
    pub image: Option<u16>,
    /// Priority, 0–255: higher runs first in priority queues.
    pub priority: u8,
    /// Absolute deadline (arrival plus the relative deadline), if any.
    pub deadline: Option<SimTime>,
    /// Placement constraint set.
    pub constraint: u16,
    /// Arrived before the end of the warm-up period.
    pub in_warmup: bool,
    /// The policy's decision: local or a node.
    pub placement: Placement,
    /// Where the task is now.
    pub stage: Stage,
    /// Start of execution of the task's own work (device or node).
    pub exec_start: Option<SimTime>,
    /// Device energy attributed so far (dynamic CPU and radio).
    pub energy_j: f64,
    /// When its current core job started.
    pub stage_since: SimTime,
    /// A message of the task is on the device's radio now.
    pub on_air: bool,
    /// The device's per-transmission radio energy when that message went on
    /// air.
    pub radio_mark_j: f64,
    phase: Phase,
    phase_since: SimTime,
    phase_ns: [u64; 5],
}

impl Task {
    /// The attributes the task was created with.
    pub fn attrs(&self) -> TaskAttrs {
        TaskAttrs {
            work_cycles: self.work_cycles,
            input_bytes: self.input_bytes,
            output_bytes: self.output_bytes,
            memory_bytes: self.memory_bytes,
            image: self.image,
            priority: self.priority,
            deadline_ns: self.deadline.map(|d| d.since(self.arrival)),
            constraint: self.constraint,
        }
    }

    /// A task that has just arrived at `arrival` and waits for its decision.
    pub fn new(id: u64, device: u32, arrival: SimTime, a: &TaskAttrs, in_warmup: bool) -> Self {
        Task {
            id,
            device,
            arrival,
            work_cycles: a.work_cycles,
            input_bytes: a.input_bytes,
            output_bytes: a.output_bytes,
            memory_bytes: a.memory_bytes,
            image: a.image,
            priority: a.priority,
            deadline: a.deadline_ns.map(|d| arrival.after(d)),
            constraint: a.constraint,
            in_warmup,
            placement: Placement::Local,
            stage: Stage::Deciding,
            exec_start: None,
            energy_j: 0.0,
            stage_since: arrival,
            on_air: false,
            radio_mark_j: 0.0,
            phase: Phase::Wait,
            phase_since: arrival,
            phase_ns: [0; 5],
        }
    }

    /// Closes the current phase at `now` and opens `next`.
    #[inline]
    pub fn enter(&mut self, now: SimTime, next: Phase) {
        self.phase_ns[self.phase as usize] += now.since(self.phase_since);
        self.phase = next;
        self.phase_since = now;
    }

    /// Closes the current phase at `now`; returns nanoseconds per phase.
    pub fn close(&mut self, now: SimTime) -> [u64; 5] {
        self.enter(now, self.phase);
        self.phase_ns
    }
}

/// Storage for live tasks; slots are reused, so steady state allocates
/// nothing.
#[derive(Default)]
pub struct TaskSlab {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
}

/// A task and the generation that makes handles to its slot current: side
/// by side, so a lookup touches one place in memory.
struct Slot {
    generation: u32,
    task: Option<Task>,
}

impl TaskSlab {
    /// Stores `task` and returns its handle.
    #[inline]
    pub fn insert(&mut self, task: Task) -> TaskRef {
        self.live += 1;
        match self.free.pop() {
            Some(slot) => {
                let s = &mut self.slots[slot as usize];
                s.task = Some(task);
                TaskRef { slot, generation: s.generation }
            }
            None => {
                let slot = u32::try_from(self.slots.len()).expect("fewer than 2^32 live tasks");
                self.slots.push(Slot { generation: 0, task: Some(task) });
                TaskRef { slot, generation: 0 }
            }
        }
    }

    /// The task, if the handle is still current.
    #[inline]
    pub fn get(&self, r: TaskRef) -> Option<&Task> {
        let s = &self.slots[r.slot as usize];
        if s.generation == r.generation { s.task.as_ref() } else { None }
    }

    /// Starts loading the task's slot into the cache (see
    /// [`crate::engine::prefetch`]).
    #[inline]
    pub fn prefetch(&self, r: TaskRef) {
        if let Some(s) = self.slots.get(r.slot as usize) {
            crate::engine::prefetch(s);
        }
    }

    /// The task, mutably, if the handle is still current.
    #[inline]
    pub fn get_mut(&mut self, r: TaskRef) -> Option<&mut Task> {
        let s = &mut self.slots[r.slot as usize];
        if s.generation == r.generation { s.task.as_mut() } else { None }
    }

    /// Removes the task in place (nothing is moved out of its slot); the
    /// handle (and every copy of it) becomes stale. Returns whether it was
    /// live.
    pub fn remove(&mut self, r: TaskRef) -> bool {
        let s = &mut self.slots[r.slot as usize];
        if s.generation != r.generation || s.task.is_none() {
            return false;
        }
        s.task = None;
        s.generation = r.generation.wrapping_add(1);
        self.free.push(r.slot);
        self.live -= 1;
        true
    }

    /// Number of live tasks.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when no task is live.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Handles of every live task, in slot order.
    pub fn live_refs(&self) -> Vec<TaskRef> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.task.is_some())
            .map(|(i, s)| TaskRef { slot: i as u32, generation: s.generation })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: u64) -> Task {
        Task::new(id, 0, SimTime(10), &TaskAttrs::default(), false)
    }

    #[test]
    fn removed_handles_go_stale_and_slots_are_reused() {
        let mut slab = TaskSlab::default();
        let a = slab.insert(task(1));
        assert_eq!(slab.get(a).map(|t| t.id), Some(1));
        assert!(slab.remove(a), "a live task is removed");
        assert!(slab.get(a).is_none() && !slab.remove(a), "its handle is stale");
        let b = slab.insert(task(2));
        assert_ne!(a, b);
        assert!(slab.get(a).is_none());
        assert_eq!(slab.get(b).map(|t| t.id), Some(2));
        assert_eq!(slab.len(), 1);
        assert_eq!(slab.live_refs(), vec![b]);
    }

    #[test]
    fn phases_add_up_to_latency() {
        let mut t = task(1);
        t.enter(SimTime(15), Phase::Upload);
        t.enter(SimTime(40), Phase::Exec);
        t.enter(SimTime(45), Phase::Download);
        let p = t.close(SimTime(50));
        assert_eq!(p, [5, 25, 0, 5, 5]);
        assert_eq!(p.iter().sum::<u64>(), 40);
    }
}
