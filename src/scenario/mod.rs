//! Scenario files: parsing, `--set` overrides, validation and the canonical
//! hash recorded in manifests.

mod load;
mod spec;
#[cfg(test)]
pub(crate) mod testing;
mod validate;

pub use load::{LoadedScenario, apply_override, fragment_overrides};
pub use spec::*;
