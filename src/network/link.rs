//! One direction of a network link.
//!
//! A message first *transmits* (its bits cross the link at the link's rate,
//! shared with other messages), then *propagates* (latency plus a jitter
//! draw), unless it is lost, in which case it is sent again after the
//! retransmission timeout.
//!
//! Fair sharing is egalitarian processor sharing, implemented with virtual
//! time: `V` grows at `bandwidth / n` bits per second while `n` messages are
//! active; a message entering at `V0` with `b` bits finishes when `V = V0 + b`.
//! Only the earliest finish is scheduled; when the set of active messages
//! changes the link bumps its generation and the stale completion is ignored.
//! Steady state allocates nothing: the heap keeps its capacity.

use crate::dist::Sampler;
use crate::energy::split;
use crate::engine::{NANOS_PER_SEC, SimRng, SimTime, ceil_to_u64, nanos_from_millis};
use crate::scenario::Sharing;
use rand::RngExt;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// Fixed properties of a link direction.
#[derive(Clone, Debug)]
pub struct LinkParams {
    /// Transmission rate, in bits per second.
    pub bandwidth_bps: f64,
    /// One-way propagation latency, in nanoseconds.
    pub latency_ns: u64,
    /// Extra one-way delay per message, drawn in milliseconds.
    pub jitter: Option<Sampler>,
    /// Probability that a transmitted message is lost and must be sent again.
    pub loss: f64,
    /// Delay between the end of a lost transmission and its retransmission, in nanoseconds.
    pub retransmit_ns: u64,
    /// How concurrent messages share the bandwidth.
    pub sharing: Sharing,
    /// Network energy per bit carried, in joules.
    pub energy_j_per_bit: f64,
}

/// A message in the fair-share set, ordered by finish tag then arrival.
struct Active<F> {
    finish: f64,
    seq: u64,
    flow: F,
    bits: f64,
}

impl<F> PartialEq for Active<F> {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl<F> Eq for Active<F> {}
impl<F> PartialOrd for Active<F> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<F> Ord for Active<F> {
    // Reversed for a min-heap.
    fn cmp(&self, o: &Self) -> Ordering {
        o.finish.total_cmp(&self.finish).then(o.seq.cmp(&self.seq))
    }
}

/// What the caller must do after admitting a message.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Admit {
    /// The message is transmitting now (false: it waits in the FIFO).
    pub transmitting: bool,
    /// Schedule a completion check at this time with this generation.
    pub schedule: Option<(SimTime, u32)>,
}

/// What a completion check produced.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Completion<F> {
    /// Schedule the next completion check.
    pub schedule: Option<(SimTime, u32)>,
    /// A FIFO message that started transmitting.
    pub started: Option<F>,
}

/// One link direction carrying messages tagged with `F`.
pub struct Link<F> {
    params: LinkParams,
    /// The rate both ways round, so the hot path multiplies.
    ns_per_bit: f64,
    bits_per_ns: f64,
    rng: SimRng,
    active: BinaryHeap<Active<F>>,
    fifo: VecDeque<(F, f64)>,
    vtime: f64,
    vtime_at: SimTime,
    generation: u32,
    next_seq: u64,
    bits_carried: f64,
}

impl<F: Copy> Link<F> {
    /// A link with its own random stream (jitter and loss draws).
    pub fn new(params: LinkParams, rng: SimRng) -> Self {
        Self {
            ns_per_bit: NANOS_PER_SEC as f64 / params.bandwidth_bps,
            bits_per_ns: params.bandwidth_bps / NANOS_PER_SEC as f64,
            params,
            rng,
            active: BinaryHeap::new(),
            fifo: VecDeque::new(),
            vtime: 0.0,
            vtime_at: SimTime::ZERO,
            generation: 0,
            next_seq: 0,
            bits_carried: 0.0,
        }
    }

    /// The link's fixed properties.
    pub fn params(&self) -> &LinkParams {
        &self.params
    }

    /// Messages transmitting or waiting to.
    pub fn in_flight(&self) -> usize {
        self.active.len() + self.fifo.len()
    }

    /// Bits that completed transmission (each retransmission counts again).
    pub fn bits_carried(&self) -> f64 {
        self.bits_carried
    }

    /// Network energy so far.
    pub fn energy_j(&self) -> f64 {
        self.bits_carried * self.params.energy_j_per_bit
    }

    fn transmit_ns(&self, bits: f64) -> u64 {
        ceil_to_u64(bits * self.ns_per_bit)
    }

    fn advance(&mut self, now: SimTime) {
        let n = self.active.len();
        if n > 0 {
            self.vtime += split(now.since(self.vtime_at) as f64 * self.bits_per_ns, n as u32);
        }
        self.vtime_at = now;
    }

    fn next_fair_completion(&mut self) -> Option<(SimTime, u32)> {
        let head = self.active.peek()?;
        let n = self.active.len() as f64;
        let remaining = (head.finish - self.vtime).max(0.0);
        let ns = ceil_to_u64(remaining * n * self.ns_per_bit);
        self.generation = self.generation.wrapping_add(1);
        Some((self.vtime_at.after(ns), self.generation))
    }

    /// Starts sending `bits` for `flow` at `now`.
    pub fn admit(&mut self, now: SimTime, flow: F, bits: f64) -> Admit {
        match self.params.sharing {
            Sharing::Fair => {
                self.advance(now);
                let seq = self.next_seq;
                self.next_seq += 1;
                self.active.push(Active { finish: self.vtime + bits, seq, flow, bits });
                Admit { transmitting: true, schedule: self.next_fair_completion() }
            }
            Sharing::Fifo => {
                self.fifo.push_back((flow, bits));
                if self.fifo.len() == 1 {
                    Admit { transmitting: true, schedule: Some((now.after(self.transmit_ns(bits)), self.generation)) }
                } else {
                    Admit { transmitting: false, schedule: None }
                }
            }
        }
    }

    /// Handles a scheduled completion check. Messages whose transmission
    /// finished are appended to `done`; a stale check (older generation) does
    /// nothing.
    pub fn complete(&mut self, now: SimTime, generation: u32, done: &mut Vec<F>) -> Completion<F> {
        if generation != self.generation {
            return Completion { schedule: None, started: None };
        }
        match self.params.sharing {
            Sharing::Fair => {
                self.advance(now);
                // The head is the message this check was scheduled for; any
                // other message with the same finish tag ends with it.
                if let Some(head) = self.active.pop() {
                    let limit = self.vtime.max(head.finish) * (1.0 + 1e-12) + 1e-9;
                    self.bits_carried += head.bits;
                    done.push(head.flow);
                    while self.active.peek().is_some_and(|a| a.finish <= limit) {
                        let a = self.active.pop().expect("peeked");
                        self.bits_carried += a.bits;
                        done.push(a.flow);
                    }
                }
                if self.active.is_empty() {
                    // Reset virtual time so it never loses precision.
                    self.vtime = 0.0;
                }
                Completion { schedule: self.next_fair_completion(), started: None }
            }
            Sharing::Fifo => {
                let (flow, bits) = self.fifo.pop_front().expect("a scheduled FIFO completion has a head");
                self.bits_carried += bits;
                done.push(flow);
                match self.fifo.front() {
                    Some(&(next, bits)) => Completion {
                        schedule: Some((now.after(self.transmit_ns(bits)), self.generation)),
                        started: Some(next),
                    },
                    None => Completion { schedule: None, started: None },
                }
            }
        }
    }

    /// Decides the fate of a message whose transmission finished:
    /// `Some(delay)` to arrive after propagation, `None` if it was lost.
    pub fn propagate(&mut self) -> Option<u64> {
        if self.params.loss > 0.0 && self.rng.random::<f64>() < self.params.loss {
            return None;
        }
        let jitter = match &self.params.jitter {
            Some(j) => nanos_from_millis(j.sample(&mut self.rng)),
            None => 0,
        };
        Some(self.params.latency_ns.saturating_add(jitter))
    }

    /// Delay before a lost message is sent again.
    pub fn retransmit_ns(&self) -> u64 {
        self.params.retransmit_ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;

    fn link(sharing: Sharing, bw: f64) -> Link<u32> {
        let p = LinkParams {
            bandwidth_bps: bw,
            latency_ns: 0,
            jitter: None,
            loss: 0.0,
            retransmit_ns: 0,
            sharing,
            energy_j_per_bit: 0.0,
        };
        Link::new(p, stream(1, "link-test", 0))
    }

    /// Drives a link to completion; returns (flow, finish time) pairs.
    fn drain(l: &mut Link<u32>, mut pending: Vec<(SimTime, u32)>) -> Vec<(u32, SimTime)> {
        let mut out = vec![];
        let mut done = vec![];
        while let Some(i) = (0..pending.len()).min_by_key(|&i| pending[i].0) {
            let (t, g) = pending.swap_remove(i);
            let c = l.complete(t, g, &mut done);
            out.extend(done.drain(..).map(|f| (f, t)));
            pending.extend(c.schedule);
        }
        out
    }

    #[test]
    fn fair_sharing_halves_the_rate_for_two_messages() {
        // 1000 bit/s; A (1000 bits) at t=0, B (500 bits) at t=0.
        // Both at 500 bit/s: B ends at 1 s, then A alone: 500 bits left -> 1.5 s.
        let mut l = link(Sharing::Fair, 1000.0);
        let a = l.admit(SimTime(0), 1, 1000.0);
        let b = l.admit(SimTime(0), 2, 500.0);
        assert!(a.transmitting && b.transmitting);
        let stale = a.schedule.unwrap();
        let mut done = vec![];
        assert_eq!(l.complete(stale.0, stale.1, &mut done).schedule, None, "old generation is ignored");
        assert!(done.is_empty());
        let out = drain(&mut l, vec![b.schedule.unwrap()]);
        assert_eq!(out, vec![(2, SimTime(1_000_000_000)), (1, SimTime(1_500_000_000))]);
    }

    #[test]
    fn fair_sharing_with_a_late_arrival() {
        // A: 1000 bits at 0. B: 1000 bits at 0.5 s. A has 500 bits left at
        // 0.5 s, then both at 500 bit/s: A ends at 1.5 s, B has 500 left and
        // ends at 2.0 s.
        let mut l = link(Sharing::Fair, 1000.0);
        l.admit(SimTime(0), 1, 1000.0);
        let b = l.admit(SimTime(500_000_000), 2, 1000.0);
        let out = drain(&mut l, vec![b.schedule.unwrap()]);
        assert_eq!(out, vec![(1, SimTime(1_500_000_000)), (2, SimTime(2_000_000_000))]);
    }

    #[test]
    fn fifo_serialises_in_arrival_order() {
        let mut l = link(Sharing::Fifo, 1000.0);
        let a = l.admit(SimTime(0), 1, 1000.0);
        let b = l.admit(SimTime(0), 2, 500.0);
        assert!(a.transmitting && !b.transmitting && b.schedule.is_none());
        let mut done = vec![];
        let (t, g) = a.schedule.unwrap();
        let c = l.complete(t, g, &mut done);
        assert_eq!((done[0], t), (1, SimTime(1_000_000_000)));
        assert_eq!(l.bits_carried(), 1000.0);
        assert_eq!(c.started, Some(2));
        assert_eq!(c.schedule.unwrap().0, SimTime(1_500_000_000));
    }

    #[test]
    fn loss_rate_matches_probability() {
        let mut l = link(Sharing::Fair, 1.0);
        l.params.loss = 0.25;
        let n = 40_000;
        let lost = (0..n).filter(|_| l.propagate().is_none()).count() as f64 / n as f64;
        // 4 standard errors of a binomial proportion.
        assert!((lost - 0.25).abs() < 4.0 * (0.25f64 * 0.75 / n as f64).sqrt(), "loss {lost}");
    }
}
