//! The discrete-event engine: a clock, a pending-event set and a run loop.
//!
//! It knows nothing about devices, links or clouds. A model implements
//! [`Model`]; the engine pops events in `(time, sequence)` order, advances the
//! clock and hands each event to the model, which may schedule more through
//! the [`Scheduler`].
//!
//! ```text
//!   Scheduler::at(t, e) ──► PendingEvents ──pop──► Model::handle(now, e, &mut Scheduler)
//!                                ▲                                   │
//!                                └───────────── schedules ◄──────────┘
//! ```
//!
//! Ordering guarantee: events are delivered in non-decreasing time; events
//! with equal times are delivered in the order they were scheduled.

pub mod queue;
pub mod radix;
pub mod rng;
pub mod time;

pub use queue::{BinaryHeapEvents, PendingEvents};
pub use radix::RadixEvents;
pub use rng::{SimRng, stream};
pub use time::{NANOS_PER_SEC, SECS_PER_NANO, SimTime, ceil_to_u64, nanos_from_millis, nanos_from_secs, round_to_u64};

/// The clock and the pending events, as seen by a model while it handles an
/// event.
pub struct Scheduler<E, Q: PendingEvents<E> = RadixEvents<E>> {
    now: SimTime,
    pending: Q,
    delivered: u64,
    _event: std::marker::PhantomData<E>,
}

impl<E, Q: PendingEvents<E>> Scheduler<E, Q> {
    /// A scheduler at time zero over the given (usually empty) set.
    pub fn new(pending: Q) -> Self {
        Self { now: SimTime::ZERO, pending, delivered: 0, _event: std::marker::PhantomData }
    }

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at absolute time `time` (never in the past).
    pub fn at(&mut self, time: SimTime, event: E) {
        debug_assert!(time >= self.now, "event scheduled in the past");
        self.pending.push(time.max(self.now), event);
    }

    /// Schedules `event` `delay` nanoseconds from now.
    pub fn after(&mut self, delay: u64, event: E) {
        self.pending.push(self.now.after(delay), event);
    }

    /// Number of events delivered so far.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Number of events still pending.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

/// A simulation model driven by the engine.
pub trait Model {
    /// The model's event type; small and `Copy` so the hot loop never
    /// allocates.
    type Event: Copy;

    /// Handles one event at time `now`.
    fn handle<Q: PendingEvents<Self::Event>>(
        &mut self,
        now: SimTime,
        event: Self::Event,
        scheduler: &mut Scheduler<Self::Event, Q>,
    );

    /// Called, before the current event is handled, with the next pending
    /// event (`ahead` 0) and the one a few places behind it, when the
    /// pending set knows them: a model with state too large for the caches
    /// may start loading what `event` will touch (see [`prefetch`]). An
    /// event is seen first from afar, then as the next one, when what was
    /// prefetched for it is likely cached and can lead to more. Must not
    /// change anything.
    #[inline]
    fn prefetch(&self, _event: &Self::Event, _ahead: usize) {}

    /// True when the model has nothing left to do (or has failed): the run
    /// stops at once, even if bookkeeping events are still pending.
    fn finished(&self) -> bool {
        false
    }
}

/// Why a run stopped.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// No event was left.
    Exhausted,
    /// The next event lay beyond the horizon; the clock stands at the horizon.
    Horizon,
    /// The model had nothing left to do (see [`Model::finished`]).
    Finished,
}

/// How many events ahead the model is shown an event to prefetch for
/// (besides the next one): a few microseconds of work at bench rates,
/// more than a memory access takes.
const PREFETCH_AHEAD: usize = 4;

/// Asks the processor to start loading the cache lines of `value`; no
/// effect on results (a no-op off x86-64).
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // As many lines as `value` can span wherever it starts within a
        // line: a count fixed by the type, so the loop unrolls with no
        // branch. A count that followed the address made the loop's exit
        // mispredict (1.3 M times at bench-10k, 500k tasks), as objects
        // whose size is not a multiple of 64 bytes start at varying offsets.
        let first = value as *const T as usize & !63;
        for i in 0..(63 + size_of::<T>()).div_ceil(64) {
            // SAFETY: a prefetch is only a hint to the cache: it never
            // faults, even on an invalid address, and reads or writes
            // nothing the program can observe. SSE is part of every x86-64
            // target.
            unsafe { _mm_prefetch::<_MM_HINT_T0>((first + 64 * i) as *const i8) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// Runs `model` until no event is pending, the next one lies beyond
/// `horizon`, or the model is finished. Events exactly at the horizon are still
/// delivered.
pub fn run<M: Model, Q: PendingEvents<M::Event>>(
    model: &mut M,
    scheduler: &mut Scheduler<M::Event, Q>,
    horizon: SimTime,
) -> Stop {
    loop {
        if model.finished() {
            return Stop::Finished;
        }
        match scheduler.pending.peek_time() {
            None => return Stop::Exhausted,
            Some(t) if t > horizon => {
                scheduler.now = horizon;
                return Stop::Horizon;
            }
            Some(_) => {}
        }
        let Some((time, event)) = scheduler.pending.pop() else { return Stop::Exhausted };
        scheduler.now = time;
        scheduler.delivered += 1;
        if let Some(next) = scheduler.pending.peek_event(0) {
            model.prefetch(next, 0);
        }
        if let Some(later) = scheduler.pending.peek_event(PREFETCH_AHEAD) {
            model.prefetch(later, PREFETCH_AHEAD);
        }
        model.handle(time, event, scheduler);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A counter that re-schedules itself every 10 ns, recording times.
    struct Ticker {
        seen: Vec<(SimTime, u32)>,
        remaining: u32,
    }

    impl Model for Ticker {
        type Event = u32;
        fn handle<Q: PendingEvents<u32>>(&mut self, now: SimTime, e: u32, s: &mut Scheduler<u32, Q>) {
            self.seen.push((now, e));
            if self.remaining > 0 {
                self.remaining -= 1;
                s.after(10, e + 1);
            }
        }
    }

    #[test]
    fn runs_until_exhausted() {
        let mut m = Ticker { seen: vec![], remaining: 3 };
        let mut s = Scheduler::new(BinaryHeapEvents::default());
        s.at(SimTime(5), 0);
        assert_eq!(run(&mut m, &mut s, SimTime::MAX), Stop::Exhausted);
        assert_eq!(m.seen, vec![(SimTime(5), 0), (SimTime(15), 1), (SimTime(25), 2), (SimTime(35), 3)]);
        assert_eq!(s.delivered(), 4);
    }

    #[test]
    fn stops_at_horizon_inclusive() {
        let mut m = Ticker { seen: vec![], remaining: 100 };
        let mut s = Scheduler::new(BinaryHeapEvents::default());
        s.at(SimTime(0), 0);
        assert_eq!(run(&mut m, &mut s, SimTime(20)), Stop::Horizon);
        assert_eq!(m.seen.len(), 3);
        assert_eq!(s.now(), SimTime(20));
        assert_eq!(s.pending(), 1);
    }
}
