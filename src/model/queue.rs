//! Run queues of devices and nodes: FIFO or by priority (FIFO among equal
//! priorities). Entries of tasks that ended while queued are skipped when
//! they reach the front (lazy deletion); the owner counts live entries.
//!
//! A FIFO keeps its first few entries inline, in its owner: most queues are
//! short, and with a million devices a separate buffer per queue would be
//! one more cache miss per task.

use super::task::TaskRef;
use crate::scenario::QueueDiscipline;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// A queue of tasks waiting for a core.
#[derive(Debug)]
pub enum TaskQueue {
    /// Arrival order.
    Fifo(Fifo),
    /// Highest priority first, arrival order among equals.
    Priority {
        /// Entries by priority, then by order of arrival.
        heap: BinaryHeap<(u8, Reverse<u64>, TaskRef)>,
        /// Arrival number of the next entry.
        next_seq: u64,
    },
}

impl TaskQueue {
    /// An empty queue with the given discipline.
    pub fn new(discipline: QueueDiscipline) -> Self {
        match discipline {
            QueueDiscipline::Fifo => TaskQueue::Fifo(Fifo::default()),
            QueueDiscipline::Priority => TaskQueue::Priority { heap: BinaryHeap::new(), next_seq: 0 },
        }
    }

    /// Adds a task.
    #[inline]
    pub fn push(&mut self, task: TaskRef, priority: u8) {
        match self {
            TaskQueue::Fifo(q) => q.push_back(task),
            TaskQueue::Priority { heap, next_seq } => {
                heap.push((priority, Reverse(*next_seq), task));
                *next_seq += 1;
            }
        }
    }

    /// The next entry to serve, without removing it (may be stale).
    #[inline]
    pub fn peek(&self) -> Option<TaskRef> {
        match self {
            TaskQueue::Fifo(q) => q.front(),
            TaskQueue::Priority { heap, .. } => heap.peek().map(|e| e.2),
        }
    }

    /// Removes the next entry (may be stale).
    #[inline]
    pub fn pop(&mut self) -> Option<TaskRef> {
        match self {
            TaskQueue::Fifo(q) => q.pop_front(),
            TaskQueue::Priority { heap, .. } => heap.pop().map(|e| e.2),
        }
    }
}

/// Entries a FIFO holds inline.
const INLINE: usize = 4;

/// First in, first out; the oldest entries inline, the rest behind them in
/// a buffer (only ever used while the inline places are full).
#[derive(Debug)]
pub struct Fifo {
    /// A ring of `len` entries from `head`.
    near: [TaskRef; INLINE],
    head: u8,
    len: u8,
    /// Entries after the inline ones, oldest first.
    far: VecDeque<TaskRef>,
}

impl Default for Fifo {
    fn default() -> Self {
        Fifo { near: [TaskRef::FILLER; INLINE], head: 0, len: 0, far: VecDeque::new() }
    }
}

impl Fifo {
    #[inline]
    fn push_back(&mut self, task: TaskRef) {
        if self.far.is_empty() && usize::from(self.len) < INLINE {
            self.near[(usize::from(self.head) + usize::from(self.len)) % INLINE] = task;
            self.len += 1;
        } else {
            self.far.push_back(task);
        }
    }

    #[inline]
    fn front(&self) -> Option<TaskRef> {
        (self.len > 0).then(|| self.near[usize::from(self.head)])
    }

    #[inline]
    fn pop_front(&mut self) -> Option<TaskRef> {
        // `far` holds entries only while `near` is full.
        let task = self.front()?;
        self.head = ((usize::from(self.head) + 1) % INLINE) as u8;
        self.len -= 1;
        if let Some(next) = self.far.pop_front() {
            self.near[(usize::from(self.head) + usize::from(self.len)) % INLINE] = next;
            self.len += 1;
        }
        Some(task)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimTime;
    use crate::model::{Task, TaskAttrs, TaskSlab};

    #[test]
    fn priority_queue_serves_high_priority_first_then_fifo() {
        let mut slab = TaskSlab::default();
        let refs: Vec<TaskRef> =
            (0..4).map(|i| slab.insert(Task::new(i, 0, SimTime::ZERO, &TaskAttrs::default(), false))).collect();
        let mut q = TaskQueue::new(QueueDiscipline::Priority);
        q.push(refs[0], 1);
        q.push(refs[1], 5);
        q.push(refs[2], 1);
        q.push(refs[3], 5);
        let order: Vec<TaskRef> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, vec![refs[1], refs[3], refs[0], refs[2]]);
        let mut f = TaskQueue::new(QueueDiscipline::Fifo);
        f.push(refs[2], 9);
        f.push(refs[0], 0);
        assert_eq!(f.peek(), Some(refs[2]));
    }

    #[test]
    fn fifo_keeps_order_across_inline_and_buffered_entries() {
        use rand::{RngExt, SeedableRng};
        let mut slab = TaskSlab::default();
        let refs: Vec<TaskRef> =
            (0..64).map(|i| slab.insert(Task::new(i, 0, SimTime::ZERO, &TaskAttrs::default(), false))).collect();
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(2);
        let mut q = TaskQueue::new(QueueDiscipline::Fifo);
        let mut reference = VecDeque::new();
        let mut longest = 0;
        // Random runs of pushes and pops, through empty and up to ~20 long.
        for step in 0..20_000 {
            if rng.random_range(0..10) < 5 + (reference.len() < 3) as u32 * 2 - (reference.len() > 15) as u32 * 4 {
                let t = refs[step % refs.len()];
                q.push(t, 0);
                reference.push_back(t);
            } else {
                assert_eq!(q.pop(), reference.pop_front(), "step {step}");
            }
            assert_eq!(q.peek(), reference.front().copied(), "step {step}");
            longest = longest.max(reference.len());
        }
        assert!(longest > 2 * INLINE, "queues up to {longest} long");
    }
}
