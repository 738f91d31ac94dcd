//! A radix heap of radix 256 with a short sorted array in front: the
//! engine's default pending-event set.
//!
//! A radix heap is a monotone priority queue: every key pushed is at least
//! the last key popped, which holds in a discrete-event simulation (nothing
//! is scheduled in the past). The key is the event's time in nanoseconds,
//! read as eight bytes. An entry lives at the *level* of the highest byte in
//! which its time differs from `last` (a lower bound of every time filed),
//! in the *slot* given by that byte of its time: 8 levels of 256 slots, like
//! a hierarchical timing wheel with a one-nanosecond tick.
//!
//! The earliest events wait in the *front*, a short array sorted by time,
//! which holds every pending event up to `front_max`. When it runs empty,
//! the lowest occupied slot of the lowest occupied level is opened: `last`
//! moves to the start of the slot's time range and its entries either
//! become the front (a slot of at most `FRONT_LIMIT` entries, sorted; or
//! of level 0, whose entries share one time), which then covers the slot's
//! range, or move, in order, to lower levels (empty at that moment), and the
//! next slot is opened. A front shorter than `FRONT_MIN` takes the next
//! slots of its level as well, so the engine can see a few events ahead
//! (to prefetch for them). A push within the front's range that is
//! earlier than all of it takes the place the last pop freed; any other
//! is inserted after the front's entries of the same time (its place
//! counted in a short front, bisected in a long one), moving the entries
//! on the shorter side: those before it move into the place the last pop
//! freed.
//!
//! Equal times always share a slot, every move is an in-order append, the
//! front's sort is stable, and a slot becomes the front before any later
//! push of the same time: events of equal time come out first in, first
//! out. An entry moves a level down only out of a crowded slot, so it moves
//! once or twice, by sequential appends, before its turn in a short array:
//! the cost per event hardly grows with the number of pending events.
//! Bitmaps find occupied slots in a few instructions.
//!
//! Memory: a slot that empties hands its buffer to a pool of spares, kept
//! by size class (the power of two below the capacity), from which a slot
//! outgrowing its buffer, or without one, takes one of the smallest class
//! that is surely large enough: about twice its old capacity, as a `Vec`
//! would grow. The front keeps a buffer of its own (slots are copied in).
//! Buffers circulate instead of being allocated, so the steady state
//! allocates nothing, and the memory held is bounded by the slots'
//! simultaneous demand, not by every slot's peak.

use super::queue::PendingEvents;
use super::time::SimTime;

/// Slots per level (one byte of the time).
const SLOTS: usize = 256;
/// Levels: one per byte of a 64-bit time.
const LEVELS: usize = 8;
/// Largest slot that enters the front whole rather than being spread over
/// the levels below.
const FRONT_LIMIT: usize = 48;
/// A front shorter than this takes the next slots of its level as well
/// (up to `FRONT_LIMIT` entries).
const FRONT_MIN: usize = 32;
/// Size classes of spare buffers: one per power of two of a capacity.
const CLASSES: usize = 64;

#[derive(Copy, Clone)]
struct Entry<E> {
    time: u64,
    event: E,
}

/// A radix heap of radix 256 keyed by time, first in first out among equal
/// times.
pub struct RadixEvents<E> {
    /// Every pending event up to `front_max`, by time (stable), from `head`.
    front: Vec<Entry<E>>,
    head: usize,
    front_max: u64,
    /// `slots[level * SLOTS + slot]`: events after `front_max`.
    slots: Vec<Vec<Entry<E>>>,
    /// Per level, a bit per occupied slot.
    occupied: [[u64; SLOTS / 64]; LEVELS],
    /// Bit `l` set when level `l` has an occupied slot.
    levels: u8,
    /// No time in the slots is below it.
    last: u64,
    spares: Spares<E>,
    len: usize,
}

/// Buffers of emptied slots, by size class: class `k` holds capacities in
/// `[2^k, 2^(k+1))`.
struct Spares<E> {
    classes: [Vec<Vec<Entry<E>>>; CLASSES],
    /// Bit `k` set when class `k` holds a spare.
    held: u64,
}

impl<E: Copy> Spares<E> {
    /// Makes room in `buffer` for one more entry than its capacity, if a
    /// spare of the smallest class whose every buffer is large enough
    /// exists: moves the entries there and keeps the old buffer as a spare.
    /// (Otherwise a push grows `buffer` as usual.)
    #[cold]
    fn regrow(&mut self, buffer: &mut Vec<Entry<E>>) {
        let need = buffer.capacity() + 1;
        // Class `k` holds at least 2^k: the first class at or above
        // ceil(log2(need)) fits.
        let least = usize::BITS - (need - 1).leading_zeros();
        let fitting = self.held.checked_shr(least).unwrap_or(0);
        if fitting == 0 {
            return;
        }
        let class = least as usize + fitting.trailing_zeros() as usize;
        let mut bigger = self.classes[class].pop().expect("a spare of a marked class");
        if self.classes[class].is_empty() {
            self.held &= !(1 << class);
        }
        bigger.extend_from_slice(buffer);
        let old = std::mem::replace(buffer, bigger);
        self.keep(old);
    }

    /// Keeps an emptied buffer, if it has any capacity, in its class.
    fn keep(&mut self, mut buffer: Vec<Entry<E>>) {
        if buffer.capacity() == 0 {
            return;
        }
        buffer.clear();
        let class = (usize::BITS - 1 - buffer.capacity().leading_zeros()) as usize;
        self.classes[class].push(buffer);
        self.held |= 1 << class;
    }
}

impl<E> Default for RadixEvents<E> {
    fn default() -> Self {
        Self {
            front: Vec::with_capacity(FRONT_LIMIT),
            head: 0,
            front_max: 0,
            slots: (0..LEVELS * SLOTS).map(|_| Vec::new()).collect(),
            occupied: [[0; SLOTS / 64]; LEVELS],
            levels: 0,
            last: 0,
            spares: Spares { classes: std::array::from_fn(|_| Vec::new()), held: 0 },
            len: 0,
        }
    }
}

impl<E: Copy> RadixEvents<E> {
    /// Files an entry after the front in its slot.
    #[inline]
    fn file(&mut self, entry: Entry<E>) {
        let diff = entry.time ^ self.last;
        let level = if diff == 0 { 0 } else { (63 - diff.leading_zeros()) as usize / 8 };
        let s = ((entry.time >> (8 * level)) & 0xff) as usize;
        let index = level * SLOTS + s;
        let slot = &mut self.slots[index];
        if slot.len() == slot.capacity() && self.spares.held != 0 {
            self.spares.regrow(slot);
        }
        slot.push(entry);
        self.occupied[level][s / 64] |= 1 << (s % 64);
        self.levels |= 1 << level;
    }

    /// The lowest occupied slot of an occupied level.
    #[inline]
    fn lowest_slot(&self, level: usize) -> usize {
        let bits = &self.occupied[level];
        let w = bits.iter().position(|&w| w != 0).expect("an occupied level");
        w * 64 + bits[w].trailing_zeros() as usize
    }

    /// Refills an empty front from the slots; false when nothing is pending.
    #[inline]
    fn settle(&mut self) -> bool {
        while self.front.is_empty() {
            if self.levels == 0 {
                return false;
            }
            self.open_lowest();
        }
        true
    }

    /// Opens the lowest occupied slot of the lowest occupied level: into the
    /// front, or spread over the levels below. A short front takes the next
    /// slots of the same level too (their entries are the next earliest),
    /// so that it holds enough upcoming events to prefetch for.
    fn open_lowest(&mut self) {
        let level = self.levels.trailing_zeros() as usize;
        let mut entries = self.take_slot(level, self.lowest_slot(level));
        if level == 0 || entries.len() <= FRONT_LIMIT {
            // The front's own buffer (it keeps its capacity) takes the slot's
            // entries: a level-0 slot holds one time, in order; a small slot
            // is sorted stably, keeping equal times in order.
            self.front.clear();
            self.head = 0;
            loop {
                if level == 0 {
                    self.front.extend_from_slice(&entries);
                } else {
                    append_sorted(&mut self.front, &entries, self.last, level);
                }
                self.spares.keep(entries);
                if self.front.len() >= FRONT_MIN || self.levels & (1 << level) == 0 {
                    break;
                }
                let next = self.lowest_slot(level);
                if self.front.len() + self.slots[level * SLOTS + next].len() > FRONT_LIMIT {
                    break;
                }
                entries = self.take_slot(level, next);
            }
            self.front_max = self.last | ((1u64 << (8 * level)) - 1);
        } else {
            for &e in &entries {
                self.file(e);
            }
            self.spares.keep(entries);
        }
    }

    /// Empties slot `s`, the lowest occupied one of `level`, and moves
    /// `last` to the start of its range: bytes above `level` as in `last`,
    /// byte `level` the slot's. Every entry of the slot differs from that
    /// start below byte `level` only, and every other entry keeps its place.
    fn take_slot(&mut self, level: usize, s: usize) -> Vec<Entry<E>> {
        let shift = 8 * level;
        let keep = if level == LEVELS - 1 { 0 } else { !0u64 << (shift + 8) };
        self.last = (self.last & keep) | ((s as u64) << shift);
        let bits = &mut self.occupied[level];
        bits[s / 64] &= !(1 << (s % 64));
        if bits.iter().all(|&w| w == 0) {
            self.levels &= !(1 << level);
        }
        std::mem::take(&mut self.slots[level * SLOTS + s])
    }
}

/// Appends the entries of a slot of `level` (1 or more; at most
/// `FRONT_LIMIT` entries, times from `start`, the slot's start, on) to
/// `front`, sorted by time, equal times in their order: by keys (offset
/// from `start`, then position), which are distinct. A lone entry is
/// appended as it is (sparse fronts are made of such slots); up to
/// `RANK_LEVEL`, each entry goes to its rank among 32-bit keys; above it,
/// 64-bit keys are sorted.
fn append_sorted<E: Copy>(front: &mut Vec<Entry<E>>, entries: &[Entry<E>], start: u64, level: usize) {
    if entries.len() == 1 {
        front.push(entries[0]);
    } else if level <= RANK_LEVEL {
        let base = front.len();
        front.extend_from_slice(entries);
        let out = &mut front[base..];
        let keys = rank_keys(entries, start);
        let blocks = entries.len().div_ceil(RANK_BLOCK);
        for (key, e) in keys.iter().zip(entries) {
            out[rank(&keys[..blocks * RANK_BLOCK], *key)] = *e;
        }
    } else {
        let mut keys = [0u64; FRONT_LIMIT];
        let keys = &mut keys[..entries.len()];
        for (i, (key, e)) in keys.iter_mut().zip(entries).enumerate() {
            debug_assert!(e.time - start < 1 << 56);
            *key = ((e.time - start) << 8) | i as u64;
        }
        keys.sort_unstable();
        front.extend(keys.iter().map(|&key| entries[(key & 0xff) as usize]));
    }
}

/// Highest level whose slots are ranked: their offsets take at most 24
/// bits, which with a 6-bit position make an `i32` key.
const RANK_LEVEL: usize = 3;
const _: () = assert!(FRONT_LIMIT <= 64, "positions take 6 bits in a rank key");
/// Keys are compared in blocks of this many (padded with `i32::MAX`).
const RANK_BLOCK: usize = 8;

/// The `i32` keys of `entries` (offset from `start`, then position), padded
/// to whole blocks with a key above them all.
fn rank_keys<E>(entries: &[Entry<E>], start: u64) -> [i32; FRONT_LIMIT + RANK_BLOCK] {
    let mut keys = [i32::MAX; FRONT_LIMIT + RANK_BLOCK];
    for (i, (key, e)) in keys.iter_mut().zip(entries).enumerate() {
        debug_assert!(e.time - start < 1 << (8 * RANK_LEVEL));
        *key = (((e.time - start) << 6) | i as u64) as i32;
    }
    keys
}

/// The place of `key` in sorted order: how many of `keys` (whole blocks)
/// are below it. Counting per lane over fixed blocks compiles to vector
/// compares without a branch per key, cheaper for a slot's few dozen
/// entries than a sort's mispredicted branches.
#[inline]
fn rank(keys: &[i32], key: i32) -> usize {
    let mut below = [0i32; RANK_BLOCK];
    for block in keys.chunks_exact(RANK_BLOCK) {
        for (count, &k) in below.iter_mut().zip(block) {
            *count += i32::from(k < key);
        }
    }
    below.iter().sum::<i32>() as usize
}

/// Longest front searched by counting rather than by bisection.
const FRONT_SCAN: usize = 64;

/// How many of `front`'s entries (sorted by time) are at or before `time`.
/// A short front is counted, entry by entry without a branch: the
/// comparisons are independent, where a bisection's loads form a chain, each
/// waiting for the one before (measured: 2 % faster runs at 100 and 10,000
/// devices). A long one (many events at nearly one time) is bisected.
#[inline]
fn place_in<E>(front: &[Entry<E>], time: u64) -> usize {
    if front.len() <= FRONT_SCAN {
        front.iter().map(|e| usize::from(e.time <= time)).sum()
    } else {
        front.partition_point(|e| e.time <= time)
    }
}

impl<E: Copy> PendingEvents<E> for RadixEvents<E> {
    #[inline]
    fn push(&mut self, time: SimTime, event: E) {
        let time = time.as_nanos();
        self.len += 1;
        // The front holds every time up to `front_max`, the slots the later
        // ones (and none below `last`, which is at most `front_max`).
        if time <= self.front_max {
            // Earlier than every entry left: first, into the place the last
            // pop freed, with nothing to count or move. Such short delays (a
            // transmission's end, a delivery) are about half the pushes into
            // the front at 100 devices and nine in ten at 10,000.
            if self.head > 0 && time < self.front[self.head].time {
                self.head -= 1;
                self.front[self.head] = Entry { time, event };
                return;
            }
            // After every entry of the same time or earlier. The entries on
            // the shorter side move: those before it into the place freed by
            // the last pop, if there is one (short delays land near the head).
            let at = self.head + place_in(&self.front[self.head..], time);
            if self.head > 0 && at - self.head < self.front.len() - at {
                self.front.copy_within(self.head..at, self.head - 1);
                self.head -= 1;
                self.front[at - 1] = Entry { time, event };
            } else {
                self.front.insert(at, Entry { time, event });
            }
        } else {
            self.file(Entry { time, event });
        }
    }

    #[inline]
    fn pop(&mut self) -> Option<(SimTime, E)> {
        if !self.settle() {
            return None;
        }
        self.len -= 1;
        let e = self.front[self.head];
        self.head += 1;
        if self.head == self.front.len() {
            self.front.clear();
            self.head = 0;
        }
        Some((SimTime(e.time), e.event))
    }

    #[inline]
    fn peek_time(&mut self) -> Option<SimTime> {
        if !self.settle() {
            return None;
        }
        Some(SimTime(self.front[self.head].time))
    }

    #[inline]
    fn peek_event(&self, ahead: usize) -> Option<&E> {
        self.front.get(self.head + ahead).map(|e| &e.event)
    }

    fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::BinaryHeapEvents;
    use rand::{RngExt, SeedableRng};

    #[test]
    fn a_slot_is_appended_in_stable_time_order() {
        // Every slot size, offsets that fit the 32-bit keys and offsets that
        // need the 64-bit sort, many ties: as a stable sort by time.
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(5);
        for (level, span) in [(1, 1u64 << 4), (3, 1 << 24), (5, 1 << 40)] {
            for n in 1..=FRONT_LIMIT {
                let start = rng.random_range(0..1u64 << 50);
                let entries: Vec<Entry<usize>> =
                    (0..n).map(|i| Entry { time: start + rng.random_range(0..span), event: i }).collect();
                let mut front = vec![Entry { time: 0, event: usize::MAX }];
                append_sorted(&mut front, &entries, start, level);
                let mut expected = entries.clone();
                expected.sort_by_key(|e| e.time);
                let got: Vec<(u64, usize)> = front[1..].iter().map(|e| (e.time, e.event)).collect();
                let want: Vec<(u64, usize)> = expected.iter().map(|e| (e.time, e.event)).collect();
                assert_eq!(got, want, "level {level}, {n} entries");
                assert_eq!(front[0].event, usize::MAX, "what was in front stays");
            }
        }
    }

    #[test]
    fn pops_in_time_order_and_fifo_among_ties() {
        let mut q = RadixEvents::default();
        for (t, c) in [(5, 'a'), (1, 'b'), (5, 'c'), (1, 'd'), (3, 'e')] {
            q.push(SimTime(t), c);
        }
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['b', 'd', 'e', 'a', 'c']);
        assert!(q.is_empty());
    }

    #[test]
    fn an_event_at_time_zero_is_first() {
        let mut q = RadixEvents::default();
        q.push(SimTime(0), 'a');
        q.push(SimTime(0), 'b');
        assert_eq!(q.pop(), Some((SimTime(0), 'a')));
        assert_eq!(q.pop(), Some((SimTime(0), 'b')));
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn a_push_below_a_peeked_front_comes_first() {
        let mut q = RadixEvents::default();
        q.push(SimTime(10), 'a');
        q.push(SimTime(20), 'b');
        assert_eq!(q.peek_time(), Some(SimTime(10)));
        q.push(SimTime(7), 'c');
        q.push(SimTime(10), 'd');
        let order: Vec<(SimTime, char)> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, vec![(SimTime(7), 'c'), (SimTime(10), 'a'), (SimTime(10), 'd'), (SimTime(20), 'b')]);
    }

    #[test]
    fn a_short_front_takes_the_next_slots_of_its_level() {
        // Ten times in ten level-0 slots, and one far later: the front
        // takes all ten slots (it stays below FRONT_MIN), so the next pops
        // are known ahead; pushes into and after the merged range still
        // come out in order.
        let mut q = RadixEvents::default();
        for t in 1..=10u64 {
            q.push(SimTime(t * 3), t);
        }
        q.push(SimTime(1 << 20), 99);
        assert_eq!(q.pop(), Some((SimTime(3), 1)));
        assert_eq!(q.peek_event(0), Some(&2));
        assert_eq!(q.peek_event(8), Some(&10));
        assert_eq!(q.peek_event(9), None);
        q.push(SimTime(16), 50); // inside the merged range, after t = 15
        q.push(SimTime(31), 51); // just after it
        let order: Vec<u64> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec![2, 3, 4, 5, 50, 6, 7, 8, 9, 10, 51, 99]);
    }

    /// Pops `steps` times, pushing after each pop as `next` says, and
    /// checks every pop against the binary heap.
    fn agree_with_heap(
        radix: &mut RadixEvents<u64>,
        heap: &mut BinaryHeapEvents<u64>,
        steps: u64,
        mut next: impl FnMut(u64) -> Vec<u64>,
    ) {
        for step in 0..steps {
            assert_eq!(radix.len(), heap.len());
            let Some(got) = radix.pop() else { break };
            assert_eq!(Some(got), heap.pop(), "pop {step}");
            for dt in next(got.0.as_nanos()) {
                let t = SimTime(got.0.as_nanos() + dt);
                radix.push(t, step);
                heap.push(t, step);
            }
        }
    }

    #[test]
    fn crowded_slots_spread_down_in_order() {
        // 100,000 pending events over a wide range with many equal times:
        // slots far above the front limit at several levels, buffers larger
        // than a slot keeps, and ties that must stay first in, first out.
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(11);
        let (mut radix, mut heap) = (RadixEvents::default(), BinaryHeapEvents::default());
        for id in 0..100_000u64 {
            let t = SimTime(rng.random_range(0..1u64 << 24) * 64);
            radix.push(t, id);
            heap.push(t, id);
        }
        agree_with_heap(&mut radix, &mut heap, 400_000, |_| {
            let dt = match rng.random_range(0..3u32) {
                0 => rng.random_range(0..4) * 1_000,
                1 => rng.random_range(0..1u64 << 24) * 64,
                _ => rng.random_range(0..1u64 << 34),
            };
            vec![dt]
        });
        assert!(radix.spares.held != 0, "large buffers went back to the pool");
    }

    #[test]
    fn memory_follows_the_pending_events_not_every_slot_peak() {
        // 50,000 events pending, each re-scheduled 0.9 to 1.1 s ahead, for a
        // hundred seconds: a dozen slots of level 3 (16.8 ms each) hold them
        // at any time, and every one of its 256 slots takes its turn at
        // holding thousands. Were each slot to keep its peak buffer, some
        // 35 times the pending events would be held; with the pool, under 3
        // (buffers round up to powers of two).
        let pending = 50_000u64;
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(5);
        let mut q = RadixEvents::default();
        for id in 0..pending {
            q.push(SimTime(rng.random_range(0..1_000_000_000)), id);
        }
        for _ in 0..100 * pending {
            let (t, id) = q.pop().expect("pending");
            q.push(SimTime(t.as_nanos() + rng.random_range(900_000_000..1_100_000_000)), id);
        }
        let held: usize = q.slots.iter().chain(q.spares.classes.iter().flatten()).map(Vec::capacity).sum::<usize>()
            + q.front.capacity();
        assert!(held <= 4 * pending as usize, "{held} entries held for {pending} pending");
    }

    #[test]
    fn a_long_front_keeps_ties_in_order() {
        // 300 events at one time make a front too long to count. Pushes at
        // that time, between pops, go into it after their equals; pushes
        // at a later time are filed behind it. Both as in the binary heap.
        let mut radix = RadixEvents::default();
        let mut heap = BinaryHeapEvents::default();
        for id in 0..300u32 {
            radix.push(SimTime(5_000), id);
            heap.push(SimTime(5_000), id);
        }
        radix.push(SimTime(5_100), 300);
        heap.push(SimTime(5_100), 300);
        let mut id = 301;
        while let Some(got) = radix.pop() {
            assert_eq!(Some(got), heap.pop());
            if id < 700 {
                let t = if id % 3 == 0 { SimTime(5_099) } else { got.0 };
                radix.push(t, id);
                heap.push(t, id);
                id += 1;
            }
        }
        assert!(heap.pop().is_none());
        assert_eq!(id, 700);
    }

    #[test]
    fn matches_the_binary_heap_on_a_random_simulation() {
        // Pops and pushes as a simulation does (never before the current
        // time, many ties, bursts); both sets must agree on every pop.
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(3);
        let mut radix = RadixEvents::default();
        let mut heap = BinaryHeapEvents::default();
        let mut now = 0u64;
        let mut hints = 0u32;
        for id in 0..2_000u32 {
            let t = SimTime(rng.random_range(0..1_000)); // includes time zero
            radix.push(t, id);
            heap.push(t, id);
        }
        for step in 0..200_000u32 {
            assert_eq!(radix.len(), heap.len());
            if step % 7 == 0 {
                assert_eq!(radix.peek_time(), heap.peek_time());
            }
            let hint = radix.peek_event(0).copied();
            let Some(got) = radix.pop() else { break };
            assert_eq!(Some(got), heap.pop());
            // The hint, when given, is the event popped.
            assert!(hint.is_none_or(|e| e == got.1), "peek_event(0) {hint:?}, popped {got:?}");
            hints += u32::from(hint.is_some());
            now = got.0.as_nanos();
            for _ in 0..rng.random_range(0..3u32) {
                let dt = match rng.random_range(0..4u32) {
                    0 => 0,
                    1 => rng.random_range(0..16),
                    2 => rng.random_range(0..1 << 20),
                    _ => rng.random_range(0..1 << 40),
                };
                radix.push(SimTime(now + dt), step);
                heap.push(SimTime(now + dt), step);
            }
        }
        assert!(now > 0);
        assert!(hints > 100_000, "peek_event(0) hinted only {hints} of 200,000 pops");
    }
}
