//! Transfer timing: bandwidth sharing, propagation latency, jitter, loss and
//! per-request protocol overhead.

mod link;
mod protocol;

pub use link::{Admit, Completion, Link, LinkParams};
pub use protocol::Protocol;
