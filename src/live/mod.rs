//! The live backend: the same scenario and policy code, run against real
//! Docker containers.
//!
//! Devices and nodes run as containers of one worker image (offsim's own
//! binary, `offsim worker`), CPU- and memory-limited as the scenario says,
//! on one or more Docker Engines.
//! The controller (this process) replays the workload in real time, asks the
//! policy through a live [`crate::policy::SystemView`] built from the
//! workers' reports, and relays offloaded tasks' bytes through user-space
//! link emulators with the scenario's bandwidth, latency, jitter and loss.
//!
//! - [`protocol`]: control and data wire formats.
//! - [`work`]: calibrated CPU work paced to an entity's speed.
//! - [`worker`]: the program inside every container.
//! - [`link`]: seeded link emulation and the proxy that applies it.
//! - [`docker`], [`image`]: the Docker Engine: connection, worker image,
//!   hardened containers, networks, clean-up.
//! - [`hosts`], [`engines`]: the engines a run spreads over (the default one
//!   and `[[live.hosts]]`), what runs where, and their clean-up.
//! - [`sizing`]: host cores per container; refusing what does not fit.
//! - [`tasks`]: the workload, fixed before the run (same as simulated).
//! - [`cluster`]: containers, proxies and control connections of one run.
//! - [`view`], [`controller`]: the live policy view and the dispatcher.
//! - [`run`]: one live run, written like a simulated one.
//! - [`validate`]: simulated against live, per policy and metric.
//! - [`calibrate`]: host measurements as a scenario fragment.

pub mod calibrate;
pub mod cluster;
pub mod controller;
pub mod docker;
pub mod engines;
pub mod hosts;
pub mod image;
pub mod link;
pub mod protocol;
pub mod run;
pub mod sizing;
pub mod tasks;
pub mod validate;
pub mod view;
pub mod work;
pub mod worker;
