//! The Docker Engines a live run uses: the engine API driven synchronously
//! ([`docker`]), the worker image built from offsim's own executable
//! ([`image`]), the hosts a scenario names ([`hosts`]), host cores per
//! container ([`sizing`]), and every engine of one run together
//! ([`engines`]).

pub mod docker;
pub mod engines;
pub mod hosts;
pub mod image;
pub mod sizing;
