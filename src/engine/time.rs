//! Simulated time: integer nanoseconds since the start of a run.
//!
//! Floating-point seconds appear only at the edges (scenario parsing and
//! reports); inside the engine every instant is a `SimTime` and every span a
//! `u64` number of nanoseconds, so runs are exactly reproducible.

use std::fmt;

/// Nanoseconds per second.
pub const NANOS_PER_SEC: u64 = 1_000_000_000;

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
    let ns = (secs * NANOS_PER_SEC as f64).round();
    if ns >= u64::MAX as f64 { u64::MAX } else { ns.max(0.0) as u64 }
}

/// Converts non-negative finite milliseconds to nanoseconds.
pub fn nanos_from_millis(ms: f64) -> u64 {
    nanos_from_secs(ms / 1e3)
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
    fn arithmetic_saturates() {
        assert_eq!(SimTime(5).since(SimTime(7)), 0);
        assert_eq!(SimTime::MAX.after(1), SimTime::MAX);
        assert_eq!(SimTime(2).after(3), SimTime(5));
    }
}
