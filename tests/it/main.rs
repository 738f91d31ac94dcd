//! The integration tests, one module per area, in one binary: the helpers
//! compile once, and one lock orders every test that uses the Docker
//! Engine (see [`live`]).
//!
//! `tests/allocation.rs` stays a binary of its own: it installs a counting
//! global allocator, which would otherwise wrap every test here.

mod helpers;

mod bad_input;
mod check;
mod custom_policy;
mod fuzz;
mod interrupt;
mod invariants;
mod layers;
mod lifecycle;
mod link_emulation;
mod live;
mod plan;
mod plots;
mod queueing;
mod shard;
mod sweep;
#[cfg(feature = "tables")]
mod tables;
mod validation_plot;
