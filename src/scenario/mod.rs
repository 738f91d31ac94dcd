//! Scenario files: parsing, `--set` overrides, the rules a scenario must
//! follow and the canonical hash recorded in manifests.

pub mod bounds;
mod load;
mod rules;
mod spec;
#[cfg(test)]
pub(crate) mod testing;

pub use load::{LoadedScenario, apply_override, fragment_overrides};
pub use spec::*;
