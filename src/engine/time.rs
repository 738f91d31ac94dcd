//! Simulated time: integer nanoseconds since the start of a run.
//!
//! Floating-point seconds appear only at the edges (scenario parsing and
//! reports); inside the engine every instant is a `SimTime` and every span a
//! `u64` number of nanoseconds, so runs are exactly reproducible.

use std::fmt;

/// Nanoseconds per second.
pub const NANOS_PER_SEC: u64 = 1_000_000_000;

/// Seconds per nanosecond: spans become seconds by a multiplication, which
/// on the hot path is several times quicker than dividing by
/// [`NANOS_PER_SEC`] (and differs from it by at most a unit in the last
/// place).
pub const SECS_PER_NANO: f64 = 1e-9;

/// An instant of simulated time, in nanoseconds since the start of the run.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// Later than any event a run can schedule.
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// Nanoseconds since the start.
    pub fn as_nanos(self) -> u64 {
        self.0
    }

    /// Seconds since the start (for reports only).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }

    /// This instant plus `span` nanoseconds, saturating at [`SimTime::MAX`].
    pub fn after(self, span: u64) -> SimTime {
        SimTime(self.0.saturating_add(span))
    }

    /// Nanoseconds from `earlier` to `self` (zero if `earlier` is later).
    pub fn since(self, earlier: SimTime) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.6} s", self.as_secs_f64())
    }
}

/// Converts non-negative finite seconds to nanoseconds, rounding to nearest
/// and saturating at `u64::MAX`.
pub fn nanos_from_secs(secs: f64) -> u64 {
    debug_assert!(secs >= 0.0, "negative span {secs}");
    round_to_u64(secs * NANOS_PER_SEC as f64)
}

/// Rounds to the nearest integer, halves away from zero, exactly as
/// `f64::round` then `as u64` (saturating at `u64::MAX`; negative values and
/// NaN give 0), without the library call `round` is on baseline x86-64.
#[inline]
pub fn round_to_u64(x: f64) -> u64 {
    // From 2^52 up every f64 is an integer; `as` saturates (NaN gives 0).
    if x.is_nan() || x >= 4_503_599_627_370_496.0 {
        return x as u64;
    }
    let whole = x as u64; // truncates; 0 for negative values
    // Exact: both are below 2^52 and `whole` is `x` without its fraction.
    // Added rather than branched on: the fraction of a drawn time is as
    // likely above a half as below, so a branch here mispredicts half the time.
    whole + u64::from(x - whole as f64 >= 0.5)
}

/// Converts non-negative finite milliseconds to nanoseconds, rounding to
/// nearest and saturating at `u64::MAX` (one multiplication, one rounding).
#[inline]
pub fn nanos_from_millis(ms: f64) -> u64 {
    debug_assert!(ms >= 0.0, "negative span {ms}");
    round_to_u64(ms * 1e6)
}

/// Rounds up to an integer exactly as `f64::ceil` then `as u64`
/// (saturating; negative values and NaN give 0), without the library call.
#[inline]
pub fn ceil_to_u64(x: f64) -> u64 {
    if x.is_nan() || x >= 4_503_599_627_370_496.0 {
        return x as u64;
    }
    let whole = x as u64;
    if (whole as f64) < x { whole + 1 } else { whole }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_to_nearest_nanosecond() {
        assert_eq!(nanos_from_secs(1.5), 1_500_000_000);
        assert_eq!(nanos_from_millis(0.0000004), 0);
        assert_eq!(nanos_from_millis(0.0000006), 1);
        assert_eq!(nanos_from_secs(1e30), u64::MAX);
    }

    #[test]
    fn rounding_matches_the_library_round_and_ceil() {
        use rand::{RngExt, SeedableRng};
        let edges = [
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            0.49999999999999994,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            9_007_199_254_740_993.0,
            -0.4,
            -3.7,
            1e300,
            f64::INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
        ];
        let reference = |x: f64| x.round() as u64;
        for x in edges {
            assert_eq!(round_to_u64(x), reference(x), "{x:e}");
            assert_eq!(ceil_to_u64(x), x.ceil() as u64, "{x:e}");
        }
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(9);
        for _ in 0..200_000 {
            // Spread over every binary exponent from 2^-10 to 2^64.
            let x = rng.random::<f64>() * 2f64.powi(rng.random_range(-10..65));
            assert_eq!(round_to_u64(x), reference(x), "{x:e}");
            assert_eq!(ceil_to_u64(x), x.ceil() as u64, "{x:e}");
            assert_eq!(ceil_to_u64(x.floor()), x.floor() as u64, "{x:e}");
            let half = (x as u64 / 2) as f64 + 0.5;
            assert_eq!(round_to_u64(half), reference(half), "{half:e}");
        }
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(SimTime(5).since(SimTime(7)), 0);
        assert_eq!(SimTime::MAX.after(1), SimTime::MAX);
        assert_eq!(SimTime(2).after(3), SimTime(5));
    }
}
