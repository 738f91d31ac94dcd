//! The random streams of a run, by purpose. Every component that draws
//! owns a stream derived from the master seed, its [`Purpose`] and an index
//! ([`crate::engine::stream`]); naming purposes by this enum rather than by
//! strings means a misspelt purpose cannot silently make a new stream.

use crate::engine::{SimRng, stream as derive};

/// What a stream is for. The names are fixed: changing one changes every
/// result drawn from its streams.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A device's workload generator (index: device).
    Workload,
    /// A link's jitter and loss (index: link).
    Link,
    /// A node's cold starts (index: node).
    Node,
    /// The dispatcher's decision times.
    Dispatcher,
    /// The policy's own draws.
    Policy,
    /// A live run's emulated link (index: emulated link).
    LiveLink,
    /// A live node worker's cold starts (index: node).
    LiveColdStart,
}

impl Purpose {
    /// Every purpose.
    pub const ALL: [Purpose; 7] = [
        Purpose::Workload,
        Purpose::Link,
        Purpose::Node,
        Purpose::Dispatcher,
        Purpose::Policy,
        Purpose::LiveLink,
        Purpose::LiveColdStart,
    ];

    /// The name hashed into the stream's seed.
    pub fn name(self) -> &'static str {
        match self {
            Purpose::Workload => "workload",
            Purpose::Link => "link",
            Purpose::Node => "node",
            Purpose::Dispatcher => "dispatcher",
            Purpose::Policy => "policy",
            Purpose::LiveLink => "live-link",
            Purpose::LiveColdStart => "live-cold-start",
        }
    }
}

/// The stream for `purpose` number `index` under `master_seed`.
pub fn stream(master_seed: u64, purpose: Purpose, index: u64) -> SimRng {
    derive(master_seed, purpose.name(), index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn every_purpose_has_its_own_name_and_stream() {
        for (i, a) in Purpose::ALL.iter().enumerate() {
            for b in &Purpose::ALL[i + 1..] {
                assert_ne!(a.name(), b.name(), "{a:?} and {b:?}");
                let (x, y): (u64, u64) = (stream(1, *a, 0).random(), stream(1, *b, 0).random());
                assert_ne!(x, y, "{a:?} and {b:?}");
            }
        }
    }

    #[test]
    fn a_purpose_draws_what_its_name_draws() {
        let (x, y): (u64, u64) = (stream(42, Purpose::Policy, 3).random(), derive(42, "policy", 3).random());
        assert_eq!(x, y);
    }
}
