//! A user-defined offload policy, registered by name and run from a
//! scenario without changing offsim itself.
//!
//! `battery-saver` keeps tasks on the device while its battery is above
//! `min_battery` (a fraction), and offloads to the node with the shortest
//! queue once the battery runs low; mains-powered devices always run
//! locally. It also counts the outcomes it is told about.
//!
//! ```sh
//! cargo run --release --example custom_policy -- scenarios/quickstart.toml
//! ```
//! runs the quick-start scenario with this policy and writes
//! `results/quickstart-battery-saver/`.

use offsim::engine::SimRng;
use offsim::policy::{
    EndReason, Placement, Policy, PolicyContext, PolicyRegistry, SystemView, TaskOutcome, TaskView, parse_params,
};
use offsim::run::{RunOptions, run_with};
use offsim::scenario::{LoadedScenario, PolicySpec};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The policy's parameters, as written in the scenario's `[policy]` table.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BatterySaverParams {
    #[serde(default = "half")]
    pub min_battery: f64,
}

fn half() -> f64 {
    0.5
}

/// Offloads only when the device's battery is low.
pub struct BatterySaver {
    pub min_battery: f64,
    pub completed: u64,
    pub failed: u64,
}

impl Policy for BatterySaver {
    fn decide(&mut self, _task: &TaskView, view: &SystemView<'_>, _rng: &mut SimRng) -> Placement {
        match view.device.battery_fraction {
            Some(b) if b < self.min_battery => view
                .nodes
                .iter()
                .min_by_key(|n| (n.queue_len, n.id))
                .map_or(Placement::Local, |n| Placement::Offload(n.id)),
            _ => Placement::Local,
        }
    }

    fn observe(&mut self, outcome: &TaskOutcome) {
        if outcome.reason == EndReason::Completed {
            self.completed += 1;
        } else {
            self.failed += 1;
        }
    }
}

/// Builds the policy from its `[policy]` table.
pub fn build(spec: &PolicySpec, _ctx: &PolicyContext) -> Result<(Box<dyn Policy>, toml::Table), String> {
    let (p, resolved): (BatterySaverParams, _) = parse_params(spec)?;
    if !(0.0..=1.0).contains(&p.min_battery) {
        return Err(format!("min_battery: expected a fraction in [0, 1], got {}", p.min_battery));
    }
    Ok((Box::new(BatterySaver { min_battery: p.min_battery, completed: 0, failed: 0 }), resolved))
}

/// A registry with the built-in policies and `battery-saver`.
pub fn registry() -> PolicyRegistry {
    let mut r = PolicyRegistry::new();
    r.register("battery-saver", build).expect("the name is free");
    r
}

#[cfg_attr(test, allow(dead_code))]
fn main() {
    let path = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "scenarios/quickstart.toml".into()));
    let result = LoadedScenario::from_file(&path, &["policy={ name = \"battery-saver\", min_battery = 0.6 }".into()])
        .and_then(|scenario| {
            let out = PathBuf::from("results").join(format!("{}-battery-saver", scenario.name()));
            let opts =
                RunOptions { out_dir: Some(out), command_line: std::env::args().collect(), ..Default::default() };
            run_with(&scenario, &opts, &registry())
        });
    match result {
        Ok(report) => {
            let s = &report.summary;
            println!(
                "battery-saver: {} of {} tasks completed, {:.1} % offloaded, mean latency {:.1} ms; results in {}",
                s.completed(),
                s.tasks,
                100.0 * s.offload_fraction.unwrap_or(0.0),
                s.latency_mean_ms.unwrap_or(f64::NAN),
                report.out_dir.display()
            );
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
