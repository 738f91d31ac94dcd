//! Real CPU work, calibrated to the host and paced to an entity's speed.
//!
//! A task of `c` scenario cycles stands for `c / host_core_hz` seconds of
//! one host core's CPU time. The executor burns exactly that much CPU time
//! (its own thread's CPU clock, as the kernel accounts it) in a spin kernel
//! whose cost per iteration is stable (a serial chain of integer mixing in
//! registers, no memory traffic). An entity of speed `speed_hz` must take
//! `c / speed_hz` wall seconds for it, so the executor spins in chunks of
//! about half a millisecond and, after each, sleeps until the instant the
//! CPU time used so far is due at that speed: a duty cycle of
//! `speed_hz / host_core_hz`. Counting CPU time rather than iterations keeps
//! the work's cost the same when a sibling hardware thread or cache
//! pressure slows the kernel down; a host that cannot grant the time
//! (contention, a CPU quota) makes the work late, as it would be.

use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

/// Wall time of one spin chunk between pacing checks.
const CHUNK_S: f64 = 0.5e-3;
/// Sleep only when ahead of schedule by more than this.
const MIN_SLEEP: Duration = Duration::from_micros(200);
/// Calibration: the shortest warm-up trial, the length of a measuring
/// trial, and how many measuring trials. The fastest trial counts; trials
/// are short so that some run undisturbed even on a busy host.
const WARM_UP_S: f64 = 2e-3;
const TRIAL_S: f64 = 2e-3;
const TRIALS: u32 = 120;

/// Runs `iterations` of the spin kernel: a SplitMix-style mixing chain,
/// each step depending on the last, its inputs and result hidden from the
/// optimiser.
fn spin(iterations: u64) {
    let mut x = black_box(0x9e37_79b9_7f4a_7c15_u64);
    let m = black_box(0xbf58_476d_1ce4_e5b9_u64);
    for i in 0..black_box(iterations) {
        x = (x ^ (x >> 31)).wrapping_mul(m).wrapping_add(i);
    }
    black_box(x);
}

/// Seconds `iterations` of the kernel take now.
fn time_spin(iterations: u64) -> f64 {
    let start = Instant::now();
    spin(iterations);
    start.elapsed().as_secs_f64().max(1e-9)
}

/// Spin-loop iterations per second of one unthrottled host core: the fastest
/// of many short trials (about a quarter of a second in all).
pub fn measure_loop_rate() -> f64 {
    let mut n: u64 = 1 << 14;
    let estimate = loop {
        let t = time_spin(n);
        if t >= WARM_UP_S {
            break n as f64 / t;
        }
        n *= 2;
    };
    let trial = ((estimate * TRIAL_S) as u64).max(1);
    (0..TRIALS).map(|_| trial as f64 / time_spin(trial)).fold(estimate, f64::max)
}

/// CPU time of the calling thread, in nanoseconds (`None` if the clock is
/// unavailable).
fn thread_cpu_ns() -> Option<u64> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant
    // every Linux kernel supports.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64))
}

/// Executes scenario cycles as real work at an entity's speed.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Pacer {
    /// Host-core CPU nanoseconds per scenario cycle.
    cpu_ns_per_cycle: f64,
    /// Wall time per unit of CPU time at the entity's speed (>= 1 when the
    /// entity is slower than a host core).
    slowdown: f64,
    /// Kernel iterations per CPU nanosecond (to size chunks).
    iterations_per_ns: f64,
}

impl Pacer {
    /// A pacer for an entity of `speed_hz` on a host whose core runs
    /// `loop_rate` iterations per second and counts as `host_core_hz`
    /// scenario cycles per second. `None` unless all three are positive and
    /// finite.
    pub fn new(loop_rate: f64, host_core_hz: f64, speed_hz: f64) -> Option<Pacer> {
        let valid = |v: f64| v.is_finite() && v > 0.0;
        if !(valid(loop_rate) && valid(host_core_hz) && valid(speed_hz)) {
            return None;
        }
        Some(Pacer {
            cpu_ns_per_cycle: 1e9 / host_core_hz,
            slowdown: host_core_hz / speed_hz,
            iterations_per_ns: loop_rate / 1e9,
        })
    }

    /// Executes `cycles` (negative or NaN counts as none): burns
    /// `cycles / host_core_hz` of CPU time, taking at least
    /// `cycles / speed_hz` wall seconds; returns the wall time taken.
    pub fn run(&self, cycles: f64) -> Duration {
        let start = Instant::now();
        let target = (cycles * self.cpu_ns_per_cycle).max(0.0);
        let cpu0 = thread_cpu_ns();
        let mut used = 0.0;
        while used < target {
            let chunk_ns = (target - used).min(CHUNK_S * 1e9);
            spin(((chunk_ns * self.iterations_per_ns) as u64).max(1));
            // Without a thread clock, count the chunk as calibrated.
            used = match (cpu0, thread_cpu_ns()) {
                (Some(a), Some(b)) => b.saturating_sub(a) as f64,
                _ => used + chunk_ns,
            };
            self.sleep_until_due(start, used);
        }
        start.elapsed()
    }

    /// Sleeps until `cpu_ns` of CPU time is due after `start`, if that is
    /// more than [`MIN_SLEEP`] away.
    fn sleep_until_due(&self, start: Instant, cpu_ns: f64) {
        let due = Duration::try_from_secs_f64(cpu_ns * self.slowdown / 1e9).ok();
        let Some(due) = due.and_then(|d| start.checked_add(d)) else { return };
        let ahead = due.saturating_duration_since(Instant::now());
        if ahead > MIN_SLEEP {
            thread::sleep(ahead);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::{Mutex, MutexGuard, PoisonError};

    /// Held by every test that times real work, so that such tests do not
    /// compete with each other for the host's cores.
    pub(crate) fn timing_lock() -> MutexGuard<'static, ()> {
        static TIMING: Mutex<()> = Mutex::new(());
        TIMING.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[test]
    fn loop_rate_is_positive_and_consistent() {
        let _serial = timing_lock();
        let a = measure_loop_rate();
        let b = measure_loop_rate();
        assert!(a > 1e6 && b > 1e6, "implausible loop rates {a}, {b}");
        let ratio = a / b;
        assert!((0.7..1.43).contains(&ratio), "loop rate {a} then {b}");
    }

    #[test]
    fn paced_work_takes_cycles_over_speed() {
        let _serial = timing_lock();
        let rate = measure_loop_rate();
        // 25 Mcycles at 0.5 GHz on a 2 GHz host core: 50 ms at duty 0.25
        // (12.5 ms of one core: a busy 2-core host still grants that).
        let pacer = Pacer::new(rate, 2e9, 0.5e9).unwrap();
        // Never early. Other processes can only make it late, so it must be
        // within 20 % in one of a few tries.
        let mut tries = Vec::new();
        while tries.len() < 10 {
            let ms = pacer.run(25e6).as_secs_f64() * 1e3;
            assert!(ms >= 49.0, "early: {ms} ms");
            tries.push(ms);
            if ms <= 60.0 {
                return;
            }
        }
        panic!("never within 20 % of 50 ms: {tries:?}");
    }

    #[test]
    fn nothing_to_do_returns_at_once_and_bad_rates_are_refused() {
        let pacer = Pacer::new(1e8, 1e9, 1e9).unwrap();
        assert!(pacer.run(0.0) < Duration::from_millis(5));
        assert!(pacer.run(f64::NAN) < Duration::from_millis(5));
        assert!(Pacer::new(0.0, 1e9, 1e9).is_none());
        assert!(Pacer::new(1e8, f64::INFINITY, 1e9).is_none());
        assert!(Pacer::new(1e8, 1e9, -1.0).is_none());
    }
}
