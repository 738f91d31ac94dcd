//! Power models and the energy ledger.
//!
//! Power is piecewise constant between state changes. A [`Meter`] integrates
//! power into energy and busy cores into busy core-time whenever its owner's
//! state changes, and keeps the exponentially weighted CPU utilisation that
//! policies see. A [`Mark`] records a meter's totals at one moment (the end
//! of the warm-up, the last sample) to measure from; it is kept apart from
//! the meter, which is read on every state change and stays small.
//!
//! Linear power model: `P = idle + (busy - idle) * u` with `u` the fraction
//! of busy cores, plus radio power while transmitting or receiving (devices
//! only).

use crate::engine::{SECS_PER_NANO, SimTime};

/// A linear CPU power model.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct CpuPower {
    /// Power with every core idle, in watts.
    pub idle_w: f64,
    /// Power with every core busy, in watts.
    pub busy_w: f64,
}

impl CpuPower {
    /// Power with `busy` of `cores` cores busy.
    #[inline]
    pub fn at(&self, busy: u32, cores: u32) -> f64 {
        self.idle_w + split((self.busy_w - self.idle_w) * f64::from(busy), cores)
    }

    /// Extra energy of one core busy for `ns` nanoseconds.
    #[inline]
    pub fn core_energy_j(&self, cores: u32, ns: u64) -> f64 {
        split(self.busy_w - self.idle_w, cores) * ns as f64 * SECS_PER_NANO
    }
}

/// `x` split `n` ways: `x / n`, without the division when `n` is 1 (the
/// same result, sooner: most devices have one core and most radios send one
/// message at a time).
#[inline]
pub fn split(x: f64, n: u32) -> f64 {
    if n == 1 { x } else { x / f64::from(n) }
}

/// Cumulative energy and busy core-time, and the utilisation average.
#[derive(Clone, Debug)]
pub struct Meter {
    last: SimTime,
    power_w: f64,
    busy: u32,
    energy_j: f64,
    busy_core_ns: u128,
    ewma: f64,
}

/// A meter's energy and busy core-time at one moment; the default is time
/// zero.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct Mark {
    energy_j: f64,
    busy_core_ns: u128,
}

impl Meter {
    /// A meter at time zero drawing `power_w` with no core busy.
    pub fn new(power_w: f64) -> Self {
        Self { last: SimTime::ZERO, power_w, busy: 0, energy_j: 0.0, busy_core_ns: 0, ewma: 0.0 }
    }

    /// Integrates up to `now`, updating the utilisation average over
    /// `cores` cores, which decays by `decay_per_ns` (one over its time
    /// constant).
    #[inline]
    pub fn advance(&mut self, now: SimTime, cores: u32, decay_per_ns: f64) {
        let dt = now.since(self.last);
        if dt == 0 {
            return;
        }
        self.energy_j += self.power_w * dt as f64 * SECS_PER_NANO;
        self.busy_core_ns += u128::from(self.busy) * u128::from(dt);
        let inst = split(f64::from(self.busy), cores);
        self.ewma = inst + (self.ewma - inst) * (-(dt as f64) * decay_per_ns).exp();
        self.last = now;
    }

    /// Records a state change at `now` (call after [`Meter::advance`]).
    #[inline]
    pub fn set(&mut self, busy: u32, power_w: f64) {
        self.busy = busy;
        self.power_w = power_w;
    }

    /// Busy cores now.
    pub fn busy(&self) -> u32 {
        self.busy
    }

    /// Power drawn now.
    pub fn power_w(&self) -> f64 {
        self.power_w
    }

    /// Energy since time zero, up to the last advance.
    pub fn energy_j(&self) -> f64 {
        self.energy_j
    }

    /// Energy since time zero as of `now`, without mutating.
    pub fn energy_at(&self, now: SimTime) -> f64 {
        self.energy_j + self.power_w * now.since(self.last) as f64 * SECS_PER_NANO
    }

    /// Exponentially weighted utilisation as of `now`, without mutating
    /// (arguments as for [`Meter::advance`]).
    pub fn utilisation_at(&self, now: SimTime, cores: u32, decay_per_ns: f64) -> f64 {
        let inst = split(f64::from(self.busy), cores);
        let dt = now.since(self.last) as f64;
        inst + (self.ewma - inst) * (-dt * decay_per_ns).exp()
    }

    /// The totals up to the last advance, to measure from later.
    pub fn mark(&self) -> Mark {
        Mark { energy_j: self.energy_j, busy_core_ns: self.busy_core_ns }
    }

    /// Energy and busy core-seconds since `mark` (up to the last advance).
    pub fn since(&self, mark: &Mark) -> (f64, f64) {
        (self.energy_j - mark.energy_j, (self.busy_core_ns - mark.busy_core_ns) as f64 * SECS_PER_NANO)
    }

    /// Energy and busy core-seconds since `mark`, which moves to now: one
    /// interval of periodic samples.
    pub fn take_sample(&self, mark: &mut Mark) -> (f64, f64) {
        let out = self.since(mark);
        *mark = self.mark();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::NANOS_PER_SEC;

    #[test]
    fn integrates_piecewise_constant_power() {
        let cpu = CpuPower { idle_w: 1.0, busy_w: 3.0 };
        let mut m = Meter::new(cpu.at(0, 2));
        m.advance(SimTime(NANOS_PER_SEC), 2, 1e-9);
        m.set(1, cpu.at(1, 2));
        m.advance(SimTime(3 * NANOS_PER_SEC), 2, 1e-9);
        // 1 W for 1 s, then 2 W for 2 s.
        assert!((m.energy_j() - 5.0).abs() < 1e-12);
        assert_eq!(m.since(&Mark::default()).1, 2.0);
        assert!((cpu.core_energy_j(2, NANOS_PER_SEC) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn utilisation_average_approaches_the_busy_fraction() {
        let mut m = Meter::new(0.0);
        m.set(1, 0.0);
        // After 5 time constants the average is within e^-5 of 1.
        let u = m.utilisation_at(SimTime(5_000), 1, 1e-3);
        assert!((u - (1.0 - (-5.0f64).exp())).abs() < 1e-12);
        m.advance(SimTime(5_000), 1, 1e-3);
        assert!((m.utilisation_at(SimTime(5_000), 1, 1e-3) - u).abs() < 1e-12);
    }

    #[test]
    fn a_share_of_one_is_the_whole() {
        assert_eq!(split(2.5, 1), 2.5);
        assert_eq!(split(3.0, 4), 0.75);
        assert_eq!(CpuPower { idle_w: 1.0, busy_w: 3.0 }.at(3, 3), 3.0);
    }

    #[test]
    fn samples_and_warmup_are_differences() {
        let mut m = Meter::new(2.0);
        m.advance(SimTime(NANOS_PER_SEC), 1, 1e-9);
        let warm = m.mark();
        let mut sample = Mark::default();
        assert_eq!(m.take_sample(&mut sample), (2.0, 0.0));
        m.advance(SimTime(2 * NANOS_PER_SEC), 1, 1e-9);
        assert_eq!(m.take_sample(&mut sample), (2.0, 0.0));
        assert_eq!(m.since(&warm), (2.0, 0.0));
    }
}
