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
//! Rooms, by job (each knows only the rooms above it in this list):
//! - [`auth`]: the run's secret and the challenge-response every
//!   connection opens with.
//! - [`protocol`]: control and data wire formats, and the bounds every
//!   peer is held to.
//! - [`link`]: seeded link emulation and the proxy that applies it.
//! - [`worker`]: the program inside every container, with its calibrated
//!   CPU work.
//! - [`engine`]: Docker Engines: connection, worker image, hardened
//!   containers and networks, the hosts a run spreads over, sizing,
//!   clean-up.
//! - [`run`]: one live run: the workload, the cluster of containers and
//!   proxies, the live view and the dispatcher (on the task core,
//!   [`crate::dispatch`], shared with the simulator), the result files.
//! - [`fidelity`]: `offsim validate` (simulated against live) and
//!   `offsim calibrate` (host measurements as a scenario fragment).

pub mod auth;
pub mod engine;
pub mod fidelity;
pub mod link;
pub mod protocol;
pub mod run;
pub mod worker;
