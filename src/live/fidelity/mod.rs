//! How well the simulator predicts a real host: `offsim validate` runs the
//! same trace and policies simulated and live and compares them
//! ([`validate`]); `offsim calibrate` measures the host as the live backend
//! uses it and writes a scenario fragment ([`calibrate`]).

pub mod calibrate;
pub mod validate;
