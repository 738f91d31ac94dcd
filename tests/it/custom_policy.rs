//! The custom-policy example, exercised: a policy defined outside offsim is
//! registered by name, built from a scenario's `[policy]` table (with its
//! own parameter checks) and decides every task of a run.

#[path = "../../examples/custom_policy.rs"]
mod example;

use crate::helpers::repo;
use offsim::policy::PolicyRegistry;
use offsim::run::{build_policy, simulate_with};
use offsim::scenario::LoadedScenario;

fn quickstart(policy: &str) -> LoadedScenario {
    let overrides =
        [format!("policy={policy}"), "workload.duration_s=120".to_string(), "devices.camera.battery_j=600".to_string()];
    LoadedScenario::from_file(&repo("scenarios/quickstart.toml"), &overrides).unwrap()
}

#[test]
fn a_registered_policy_runs_from_a_scenario() {
    let scenario = quickstart(r#"{ name = "battery-saver", min_battery = 0.6 }"#);
    let registry = example::registry();
    let (policy, resolved) = build_policy(&scenario, &registry).unwrap();
    assert_eq!(resolved["min_battery"].as_float(), Some(0.6));
    let (summary, _) = simulate_with(&scenario, 1, policy).unwrap();
    // Batteries of 600 J drain within the run: early tasks stay local,
    // later ones are offloaded.
    let offloaded = summary.offload_fraction.unwrap();
    assert!(offloaded > 0.05 && offloaded < 0.95, "offload fraction {offloaded}");
    // The same policy, run directly, hears of every task exactly once.
    let direct = example::BatterySaver { min_battery: 0.6, completed: 0, failed: 0 };
    let (again, learnt) = simulate_with(&scenario, 1, direct).unwrap();
    assert_eq!(again, summary, "registry-built and directly built policies behave the same");
    assert_eq!(learnt.completed + learnt.failed, summary.tasks + summary.warmup_tasks);
    assert_eq!(learnt.completed, summary.completed() + warmup_completed(&scenario));
}

/// Completed tasks among the warm-up ones (observed too, but not in the summary).
fn warmup_completed(scenario: &LoadedScenario) -> u64 {
    let mut no_warmup = scenario.clone();
    no_warmup.spec.simulation.warmup_s = 0.0;
    let direct = example::BatterySaver { min_battery: 0.6, completed: 0, failed: 0 };
    let (all, _) = simulate_with(&no_warmup, 1, direct).unwrap();
    let (with_warmup, _) =
        simulate_with(scenario, 1, example::BatterySaver { min_battery: 0.6, completed: 0, failed: 0 }).unwrap();
    all.completed() - with_warmup.completed()
}

#[test]
fn the_policy_checks_its_own_parameters_and_the_plain_registry_does_not_know_it() {
    let bad = quickstart(r#"{ name = "battery-saver", min_battery = 2 }"#);
    let e = build_policy(&bad, &example::registry()).err().unwrap().to_string();
    assert!(e.contains("policy: min_battery: expected a fraction in [0, 1], got 2"), "{e}");
    let typo = quickstart(r#"{ name = "battery-saver", min_batery = 0.5 }"#);
    let e = build_policy(&typo, &example::registry()).err().unwrap().to_string();
    assert!(e.contains("unknown field `min_batery`"), "{e}");
    let e =
        build_policy(&quickstart(r#"{ name = "battery-saver" }"#), &PolicyRegistry::new()).err().unwrap().to_string();
    assert!(e.contains("unknown policy `battery-saver`"), "{e}");
}
