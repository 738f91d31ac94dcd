//! A worker's executors' run queue: FIFO or by priority (FIFO among
//! equals), a limit on waiting jobs, and cores given to the head of the
//! queue only while its memory fits (head-of-line, as the simulator does).

use super::{lock, ns, wait};
use crate::live::protocol::WorkerConfig;
use std::cmp::Reverse;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// How a job went on its core.
#[derive(Copy, Clone, Debug)]
pub(super) struct Ran {
    pub(super) wait: Duration,
    pub(super) exec: Duration,
    pub(super) started: Instant,
}

/// Work for an executor, and what to do when it is done.
pub(super) struct Job {
    pub(super) priority: u8,
    pub(super) cycles: f64,
    pub(super) memory: u64,
    pub(super) queued_at: Instant,
    pub(super) done: Box<dyn FnOnce(Ran) + Send>,
}

impl Job {
    pub(super) fn new(priority: u8, cycles: f64, memory: u64, done: impl FnOnce(Ran) + Send + 'static) -> Job {
        Job { priority, cycles, memory, queued_at: Instant::now(), done: Box::new(done) }
    }
}

/// The run queue and cores of one worker.
pub(super) struct Pool {
    pub(super) state: Mutex<PoolState>,
    /// Signalled when a job is assigned a core.
    pub(super) assigned: Condvar,
    pub(super) cores: u32,
    pub(super) limit: Option<u32>,
    pub(super) by_priority: bool,
}

pub(super) struct PoolState {
    /// Jobs waiting for a core, by (highest priority, earliest arrival).
    pub(super) waiting: BTreeMap<(Reverse<u8>, u64), Job>,
    pub(super) next_seq: u64,
    /// Jobs holding a core, not yet picked up by an executor.
    pub(super) assigned: VecDeque<Job>,
    pub(super) busy: u32,
    pub(super) free_memory: u64,
    pub(super) busy_core_ns: u64,
}

/// A pool's counters.
#[derive(Copy, Clone, Debug)]
pub(super) struct Load {
    pub(super) queue_len: u32,
    pub(super) busy: u32,
    pub(super) busy_core_ns: u64,
    pub(super) free_memory: u64,
}

impl Pool {
    pub(super) fn new(config: &WorkerConfig) -> Pool {
        Pool {
            state: Mutex::new(PoolState {
                waiting: BTreeMap::new(),
                next_seq: 0,
                assigned: VecDeque::new(),
                busy: 0,
                free_memory: config.memory_bytes,
                busy_core_ns: 0,
            }),
            assigned: Condvar::new(),
            cores: config.cores,
            limit: config.queue_limit,
            by_priority: config.priority_queue,
        }
    }

    /// Queues `job`, or refuses it (`false`) when `limit` tasks already wait.
    pub(super) fn submit(&self, job: Job) -> bool {
        let mut s = lock(&self.state);
        if self.limit.is_some_and(|l| s.waiting.len() >= l as usize) {
            return false;
        }
        let priority = if self.by_priority { job.priority } else { 0 };
        let key = (Reverse(priority), s.next_seq);
        s.next_seq += 1;
        s.waiting.insert(key, job);
        self.settle(&mut s);
        true
    }

    /// Gives cores to waiting jobs while cores are free and the head's
    /// memory fits.
    fn settle(&self, s: &mut PoolState) {
        while s.busy < self.cores {
            let Some(head) = s.waiting.first_entry() else { return };
            if head.get().memory > s.free_memory {
                return;
            }
            let job = head.remove();
            s.busy += 1;
            s.free_memory -= job.memory;
            s.assigned.push_back(job);
            self.assigned.notify_one();
        }
    }

    /// The next job given a core (blocks until there is one).
    pub(super) fn take(&self) -> Job {
        let mut s = lock(&self.state);
        loop {
            if let Some(job) = s.assigned.pop_front() {
                return job;
            }
            s = wait(&self.assigned, s);
        }
    }

    /// A job that held `memory` left its core after executing for `exec`.
    pub(super) fn finish(&self, memory: u64, exec: Duration) {
        let mut s = lock(&self.state);
        s.busy -= 1;
        s.free_memory += memory;
        s.busy_core_ns = s.busy_core_ns.saturating_add(ns(exec));
        self.settle(&mut s);
    }

    pub(super) fn load(&self) -> Load {
        let s = lock(&self.state);
        Load {
            queue_len: s.waiting.len() as u32,
            busy: s.busy,
            busy_core_ns: s.busy_core_ns,
            free_memory: s.free_memory,
        }
    }
}
