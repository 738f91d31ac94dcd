//! Run settings resolved once from the scenario, in the units the run uses:
//! integer nanoseconds for times, a rate per nanosecond for the utilisation
//! average. Both backends read these, never the raw scenario fields, so a
//! conversion is written (and rounded) in one place.

use crate::engine::{SimTime, nanos_from_millis, nanos_from_secs};
use crate::scenario::{DeadlineAction, Scenario};

/// How a run is paced and measured.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Settings {
    /// Decay per nanosecond of the utilisation average policies see: one
    /// over its time constant (`dispatcher.utilisation_window_ms`, at least
    /// one nanosecond).
    pub decay_per_ns: f64,
    /// Period of node reports to the dispatcher; 0: it knows node state as
    /// it is.
    pub heartbeat_ns: u64,
    /// Period of utilisation rows; 0: none.
    pub sample_ns: u64,
    /// End of the warm-up period: tasks arriving before it are not counted.
    pub warmup: SimTime,
    /// Where the run stops, if it has a horizon.
    pub horizon: Option<SimTime>,
    /// A task whose deadline passes ends then (`on_deadline = "abort"`).
    pub abort_on_deadline: bool,
}

impl Settings {
    /// The settings of `spec`.
    pub fn of(spec: &Scenario) -> Settings {
        Settings {
            decay_per_ns: 1.0 / nanos_from_millis(spec.dispatcher.utilisation_window_ms).max(1) as f64,
            heartbeat_ns: nanos_from_millis(spec.dispatcher.heartbeat_ms),
            sample_ns: nanos_from_millis(spec.outputs.utilisation_interval_ms),
            warmup: SimTime(nanos_from_secs(spec.simulation.warmup_s)),
            horizon: spec.simulation.horizon_s.map(|h| SimTime(nanos_from_secs(h))),
            abort_on_deadline: spec.simulation.on_deadline == DeadlineAction::Abort,
        }
    }
}
