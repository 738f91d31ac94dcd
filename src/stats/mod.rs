//! Statistics of replications, shared by `sweep`, `plan`, `check`, `live`
//! and the plots; this module depends on no other part of offsim.
//!
//! - [`estimate`]: mean, sample standard deviation, the 95 % Student-t
//!   confidence interval and paired differences (`offsim sweep`);
//! - [`student`]: Student's t for any level and degrees of freedom
//!   (one-sided bounds of `offsim plan`);
//! - [`welch`]: Welch's one-sided test (`offsim check`);
//! - [`quantile`]: the nearest-rank quantile of sorted values (plots);
//! - [`special`]: the log-gamma and complementary error functions (also
//!   used by the distributions' means).

pub mod estimate;
pub mod quantile;
pub mod special;
pub mod student;
pub mod welch;

pub use estimate::Estimate;
