//! `manifest.json`: what is needed to reproduce a result directory.

use serde::Serialize;
use std::collections::BTreeMap;

/// Versions of the crates that determine random draws, from Cargo.toml's
/// exact pins (checked against Cargo.lock by a test).
pub const RNG_CRATES: [(&str, &str); 3] = [("rand", "0.10.4"), ("rand_distr", "0.6.0"), ("rand_pcg", "0.10.3")];

/// The manifest of one run.
#[derive(Debug, Serialize)]
pub struct Manifest {
    /// Version of offsim that made the run.
    pub offsim_version: &'static str,
    /// The scenario's name.
    pub scenario: String,
    /// The scenario's free-text description, if it has one.
    pub description: Option<String>,
    /// The scenario's path as given on the command line.
    pub scenario_file: String,
    /// SHA-256 of the effective scenario (after `--set` overrides, policy
    /// defaults filled in).
    pub scenario_sha256: String,
    /// SHA-256 of the trace file, when the scenario replays one.
    pub trace_sha256: Option<String>,
    /// Master seed used: `--seed` if given, else `simulation.seed`.
    pub seed: u64,
    /// The policy's name.
    pub policy: String,
    /// The command's arguments, program name first.
    pub command_line: Vec<String>,
    /// Random number generator of every stream.
    pub rng_algorithm: &'static str,
    /// Versions of the crates that determine random draws, as `<crate> <version>`.
    pub rng_crates: Vec<String>,
    /// Result files written by the run.
    pub files: Vec<String>,
    /// SHA-256 of every file in `files` but the manifest, by name.
    pub sha256: BTreeMap<String, String>,
    /// Simulation events processed, as in `summary.csv`.
    pub events: u64,
    /// Time the run ended, in seconds.
    pub sim_end_s: f64,
    /// Present for live runs only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveManifest>,
}

/// How a live run was made.
#[derive(Debug, Serialize)]
pub struct LiveManifest {
    /// The Docker Engine, with its version.
    pub engine: String,
    /// The worker image tag.
    pub image: String,
    /// Scenario speed one host core stands for, in GHz (`live.host_core_ghz`).
    pub host_core_ghz: f64,
    /// CFS period of the workers' CPU quotas, in microseconds.
    pub cpu_period_us: u32,
    /// Spin-loop iterations per second of one host core, as measured.
    pub loop_rate_per_s: f64,
    /// How energy figures were obtained.
    pub energy: &'static str,
}

impl Manifest {
    /// Pretty JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("manifest serialises") + "\n"
    }
}

/// `name version` strings for [`RNG_CRATES`].
pub fn rng_crates() -> Vec<String> {
    RNG_CRATES.iter().map(|(n, v)| format!("{n} {v}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_rng_versions_match_the_lock_file() {
        let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).unwrap();
        for (name, version) in RNG_CRATES {
            let entry = format!("name = \"{name}\"\nversion = \"{version}\"");
            assert!(lock.contains(&entry), "Cargo.lock does not pin {name} {version}");
        }
    }
}
