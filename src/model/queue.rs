//! Run queues of devices and nodes: FIFO or by priority (FIFO among equal
//! priorities). Entries of tasks that ended while queued are skipped when
//! they reach the front (lazy deletion); the owner counts live entries.

use super::task::TaskRef;
use crate::scenario::QueueDiscipline;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// A queue of tasks waiting for a core.
#[derive(Debug)]
pub enum TaskQueue {
    Fifo(VecDeque<TaskRef>),
    Priority { heap: BinaryHeap<(u8, Reverse<u64>, TaskRef)>, next_seq: u64 },
}

impl TaskQueue {
    /// An empty queue with the given discipline.
    pub fn new(discipline: QueueDiscipline) -> Self {
        match discipline {
            QueueDiscipline::Fifo => TaskQueue::Fifo(VecDeque::new()),
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
            TaskQueue::Fifo(q) => q.front().copied(),
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
}
