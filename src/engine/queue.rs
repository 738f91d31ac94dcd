//! The pending-event set: events ordered by `(time, sequence number)`.
//!
//! Two events scheduled for the same instant are delivered in the order they
//! were scheduled (first in, first out). The set sits behind the
//! [`PendingEvents`] trait: the engine uses the radix heap of
//! [`super::radix`]; the binary heap here is the simple reference it is
//! tested and benchmarked against.

use super::time::SimTime;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A set of future events, popped in `(time, insertion order)` order.
pub trait PendingEvents<E> {
    /// Adds `event` to be delivered at `time`.
    fn push(&mut self, time: SimTime, event: E);
    /// Removes and returns the earliest event (FIFO among equal times).
    fn pop(&mut self) -> Option<(SimTime, E)>;
    /// The time of the earliest event, if any. (`&mut`: a set may need to
    /// reorganise itself to find it.)
    fn peek_time(&mut self) -> Option<SimTime>;
    /// The event `ahead` places after the one `pop` would return next (0:
    /// that one), if the set knows it without reorganising itself (a hint:
    /// `None` says nothing).
    fn peek_event(&self, ahead: usize) -> Option<&E>;
    /// Number of pending events.
    fn len(&self) -> usize;
    /// True when no event is pending.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

struct Entry<E> {
    time: SimTime,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    // Reversed: `BinaryHeap` is a max-heap and we want the earliest first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// A binary min-heap keyed by `(time, sequence number)`.
pub struct BinaryHeapEvents<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
}

impl<E> Default for BinaryHeapEvents<E> {
    fn default() -> Self {
        Self { heap: BinaryHeap::new(), next_seq: 0 }
    }
}

impl<E> BinaryHeapEvents<E> {
    /// An empty set with room for `capacity` events before it reallocates.
    pub fn with_capacity(capacity: usize) -> Self {
        Self { heap: BinaryHeap::with_capacity(capacity), next_seq: 0 }
    }
}

impl<E> PendingEvents<E> for BinaryHeapEvents<E> {
    fn push(&mut self, time: SimTime, event: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { time, seq, event });
    }

    fn pop(&mut self) -> Option<(SimTime, E)> {
        self.heap.pop().map(|e| (e.time, e.event))
    }

    fn peek_time(&mut self) -> Option<SimTime> {
        self.heap.peek().map(|e| e.time)
    }

    fn peek_event(&self, ahead: usize) -> Option<&E> {
        if ahead == 0 { self.heap.peek().map(|e| &e.event) } else { None }
    }

    fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_order_and_fifo_among_ties() {
        let mut q = BinaryHeapEvents::default();
        q.push(SimTime(5), 'a');
        q.push(SimTime(1), 'b');
        q.push(SimTime(5), 'c');
        q.push(SimTime(1), 'd');
        q.push(SimTime(3), 'e');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['b', 'd', 'e', 'a', 'c']);
        assert!(q.is_empty());
    }

    #[test]
    fn peek_reports_earliest_time() {
        let mut q = BinaryHeapEvents::default();
        assert_eq!(q.peek_time(), None);
        q.push(SimTime(9), ());
        q.push(SimTime(4), ());
        assert_eq!(q.peek_time(), Some(SimTime(4)));
        assert_eq!(q.len(), 2);
    }
}
