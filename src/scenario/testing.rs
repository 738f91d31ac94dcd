//! A minimal scenario for unit tests: one network `n` and one device class
//! `d` with a Poisson generator, to be appended after top-level keys.

/// `[[networks]]` `n` and `[[devices]]` `d` (1 GHz, 1 task/s, 1 Mcycle).
pub const ONE_DEVICE: &str = r#"
[[networks]]
name = "n"
up = { bandwidth_mbps = 1 }
down = { bandwidth_mbps = 1 }
[[devices]]
name = "d"
network = "n"
speed_ghz = 1
power = { idle_w = 1, busy_w = 2 }
workload = { rate_per_s = 1, work_mcycles = { kind = "exponential", mean = 1 } }
"#;
