//! # offsim: a deterministic simulator for edge-to-cloud task offload policies
//!
//! Edge devices produce tasks. For each task a **policy** decides: run it on
//! the device, or offload it over the network to an edge or cloud **node**
//! (which may first have to pull the task's container image and start a
//! container). offsim replays a task trace, or generates a workload,
//! through a policy and reports latency, CPU utilisation and energy.
//!
//! ```text
//!  scenario.toml ──► LoadedScenario ──► World + workload + policy ──► engine loop
//!        (--set overrides,                                               │
//!         validation, hash)                       rows streamed ◄────────┘
//!                                                       │
//!                   tasks.csv  utilisation.csv  summary.csv  manifest.json
//! ```
//!
//! ## Concepts
//! - [`engine`]: integer nanosecond time, a pending-event set ordered by
//!   `(time, sequence)`, per-purpose random streams. Knows nothing of
//!   devices.
//! - [`model`]: devices, nodes (image cache, containers), tasks and their
//!   lifecycle; [`network`]: links with fair or FIFO bandwidth sharing,
//!   latency, jitter and loss; [`energy`]: power models.
//! - [`policy`]: the [`policy::Policy`] trait and the read-only
//!   [`policy::SystemView`] it decides from. The view holds measurements
//!   only, so the same policy code can run against real hosts.
//! - [`dispatch`]: the task core both backends share: a task and what is
//!   known of the system into the policy's views, placement checks, an
//!   ended task into its row, summary share and outcome.
//! - [`sim`] and [`live`]: the two backends, the event-driven model and
//!   real Docker containers.
//! - [`run`]: one simulated run end to end, writing its result directory
//!   ([`results`]) atomically.
//!
//! `docs/architecture.md` maps the layers and where to add what.
//!
//! ## Example
//! ```
//! use offsim::scenario::LoadedScenario;
//! let text = r#"
//!     policy = { name = "threshold", cpu_threshold = 0.8 }
//!     workload = { max_tasks = 200 }
//!     [[networks]]
//!     name = "wifi"
//!     up = { bandwidth_mbps = 50, latency_ms = 5 }
//!     down = { bandwidth_mbps = 50, latency_ms = 5 }
//!     [[devices]]
//!     name = "cam"
//!     count = 4
//!     network = "wifi"
//!     speed_ghz = 1.0
//!     power = { idle_w = 1.0, busy_w = 3.0, tx_w = 1.0, rx_w = 0.5 }
//!     workload = { rate_per_s = 5, work_mcycles = { kind = "exponential", mean = 150 }, input_kb = { kind = "constant", value = 100 } }
//!     [[nodes]]
//!     name = "cloud"
//!     tier = "cloud"
//!     cores = 8
//!     speed_ghz = 3.0
//!     up = { bandwidth_mbps = 1000, latency_ms = 20 }
//!     down = { bandwidth_mbps = 1000, latency_ms = 20 }
//!     power = { idle_w = 50, busy_w = 200 }
//! "#;
//! let scenario = LoadedScenario::from_toml(text, "example", "example", ".".as_ref(), &[]).unwrap();
//! let summary = offsim::run::simulate(&scenario, 7).unwrap();
//! assert_eq!(summary.tasks, 200);
//! assert!(summary.offload_fraction.unwrap() > 0.0);
//! ```
//!
//! ## Determinism
//! Same scenario and seed give byte-identical outputs: time is integer, every
//! component draws from its own stream derived from the seed, no hash-map
//! iteration decides anything, and one run is single-threaded.

#![warn(missing_docs)]

pub mod check;
pub mod dispatch;
pub mod dist;
pub mod energy;
pub mod engine;
pub mod error;
pub mod interrupt;
pub mod live;
pub mod metrics;
pub mod model;
pub mod network;
pub mod plan;
pub mod plot;
pub mod policy;
pub mod results;
pub mod run;
pub mod scenario;
pub mod sim;
pub mod stats;
pub mod sweep;
#[cfg(feature = "tables")]
pub mod tables;
pub mod workload;

pub use error::{Error, Result};
