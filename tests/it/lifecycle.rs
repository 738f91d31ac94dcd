//! Task lifecycle paths checked against hand-computed, exact figures:
//! deterministic scenarios (constant sizes, no jitter) where every latency
//! component follows from the parameters.

use offsim::engine::SimRng;
use offsim::metrics::Summary;
use offsim::policy::{EndReason, NodeId, Placement, Policy, SystemView, TaskOutcome, TaskView};
use offsim::scenario::LoadedScenario;

/// One device on a 10 Mbps / 5 ms access network, one 2-core 2 GHz node
/// behind a 100 Mbps / 20 ms link; `extra` is appended (it may add tables
/// or override nothing already set).
fn scenario(policy: &str, device: &str, workload: &str, node: &str, extra: &str) -> LoadedScenario {
    let text = format!(
        r#"
policy = {policy}
dispatcher = {{ heartbeat_ms = 0 }}
outputs = {{ tasks = false, utilisation_interval_ms = 0 }}
{extra}
[[images]]
name = "img"
size_mb = 50

[[networks]]
name = "net"
up = {{ bandwidth_mbps = 10, latency_ms = 5 }}
down = {{ bandwidth_mbps = 10, latency_ms = 5 }}

[[devices]]
name = "d"
network = "net"
speed_ghz = 1.0
power = {{ idle_w = 1.0, busy_w = 3.0, tx_w = 2.0, rx_w = 1.0 }}
protocol = {{ kind = "raw" }}
{device}

[devices.workload]
{workload}

[[nodes]]
name = "n"
tier = "edge"
cores = 2
speed_ghz = 2.0
up = {{ bandwidth_mbps = 100, latency_ms = 20 }}
down = {{ bandwidth_mbps = 100, latency_ms = 20 }}
registry = {{ bandwidth_mbps = 80, latency_ms = 10 }}
power = {{ idle_w = 10, busy_w = 30 }}
{node}
"#
    );
    LoadedScenario::from_toml(&text, "lifecycle-test", "lifecycle", ".".as_ref(), &[]).expect("valid scenario")
}

fn run(s: &LoadedScenario) -> Summary {
    offsim::run::simulate(s, 1).expect("runs")
}

/// Periodic tasks, far enough apart not to interact.
const ONE_TASK: &str = r#"interarrival_ms = { kind = "constant", value = 10000 }
work_mcycles = { kind = "constant", value = 100 }
input_kb = { kind = "constant", value = 125 }
output_kb = { kind = "constant", value = 12.5 }"#;

fn close(got: Option<f64>, want: f64) {
    let got = got.expect("a value");
    assert!((got - want).abs() < 1e-6, "got {got} ms, want {want} ms");
}

#[test]
fn local_task_takes_work_over_speed() {
    let s = scenario(r#"{ name = "local" }"#, "", ONE_TASK, "", "workload = { max_tasks = 3 }");
    let r = run(&s);
    assert_eq!(r.completed(), 3);
    // 100 Mcycles at 1 GHz.
    close(r.latency_mean_ms, 100.0);
    close(r.phase_mean_ms.map(|p| p[3]), 100.0);
    close(r.phase_mean_ms.map(|p| p[1] + p[4]), 0.0);
    assert_eq!(r.offload_fraction, Some(0.0));
}

#[test]
fn offloaded_task_adds_transfers_latencies_and_execution() {
    let s = scenario(r#"{ name = "offload", node = "n" }"#, "", ONE_TASK, "", "workload = { max_tasks = 3 }");
    let r = run(&s);
    // Upload: 1 Mbit at 10 Mbps = 100 ms + 5 ms, then 1 Mbit at 100 Mbps = 10 ms + 20 ms.
    // Execution: 100 Mcycles at 2 GHz = 50 ms.
    // Download: 0.1 Mbit at 100 Mbps = 1 ms + 20 ms, then at 10 Mbps = 10 ms + 5 ms.
    let p = r.phase_mean_ms.expect("completed tasks");
    close(Some(p[1]), 135.0);
    close(Some(p[3]), 50.0);
    close(Some(p[4]), 36.0);
    close(r.latency_mean_ms, 221.0);
    assert_eq!(r.offload_fraction, Some(1.0));
}

#[test]
fn protocol_setup_costs_round_trips_before_the_upload() {
    let s = scenario(r#"{ name = "offload", node = "n" }"#, "", ONE_TASK, "", "workload = { max_tasks = 1 }");
    let base = run(&s).latency_mean_ms.unwrap();
    let spec = {
        let mut sp = s.spec.clone();
        sp.devices[0].protocol.kind = offsim::scenario::ProtocolKind::Http;
        sp.devices[0].protocol.setup_rtts = Some(2.0);
        sp.devices[0].protocol.header_bytes = Some(0);
        sp
    };
    let with_setup = LoadedScenario { spec, ..s };
    // Round trip of the path: 5 + 20 + 20 + 5 = 50 ms; two of them.
    close(run(&with_setup).latency_mean_ms, base + 100.0);
}

#[test]
fn first_task_pulls_the_image_and_cold_starts_then_the_container_is_warm() {
    let workload = format!("{ONE_TASK}\nimage = \"img\"");
    let node = r#"cold_start_ms = { kind = "constant", value = 300 }
keep_alive_s = 60"#;
    let s = scenario(r#"{ name = "offload", node = "n" }"#, "", &workload, node, "workload = { max_tasks = 2 }");
    let r = run(&s);
    // First task: pull 400 Mbit at 80 Mbps = 5000 ms + 10 ms, cold start 300 ms.
    // Second task (10 s later, within keep-alive): no start-up.
    close(r.phase_mean_ms.map(|p| p[2]), (5310.0 + 0.0) / 2.0);
    close(r.latency_mean_ms, 221.0 + 5310.0 / 2.0);
}

#[test]
fn an_expired_container_cold_starts_again_without_a_pull() {
    let workload = format!("{ONE_TASK}\nimage = \"img\"");
    let node = r#"cold_start_ms = { kind = "constant", value = 300 }
keep_alive_s = 5
preloaded_images = ["img"]"#;
    let s = scenario(r#"{ name = "offload", node = "n" }"#, "", &workload, node, "workload = { max_tasks = 2 }");
    let r = run(&s);
    // Both tasks cold start (keep-alive 5 s < 10 s gap); none pulls.
    close(r.phase_mean_ms.map(|p| p[2]), 300.0);
}

#[test]
fn deadline_aborts_a_task_exactly_at_its_deadline() {
    let workload = r#"interarrival_ms = { kind = "constant", value = 10000 }
work_mcycles = { kind = "constant", value = 500 }
deadline_ms = 200"#;
    let s = scenario(r#"{ name = "local" }"#, "", workload, "", "workload = { max_tasks = 2 }");
    let r = run(&s);
    assert_eq!(r.ended_by(EndReason::Timeout), 2);
    assert_eq!(r.completed(), 0);
    assert_eq!(r.deadline_met_fraction, Some(0.0));
    // The core was freed at each abort: busy 2 x 200 ms, not 2 x 500 ms.
    assert!((r.totals.device_busy_core_s - 0.4).abs() < 1e-9, "busy {} s", r.totals.device_busy_core_s);
    let continued = {
        let mut sp = s.spec.clone();
        sp.simulation.on_deadline = offsim::scenario::DeadlineAction::Continue;
        LoadedScenario { spec: sp, ..s.clone() }
    };
    let c = run(&continued);
    assert_eq!(c.completed(), 2);
    close(c.latency_mean_ms, 500.0);
    assert_eq!(c.deadline_met_fraction, Some(0.0));
}

#[test]
fn a_full_queue_drops_tasks() {
    // Three tasks at once on one core with room for one waiting task.
    let workload = r#"interarrival_ms = { kind = "constant", value = 0.001 }
work_mcycles = { kind = "constant", value = 100 }"#;
    let s = scenario(r#"{ name = "local" }"#, "queue_limit = 1", workload, "", "workload = { max_tasks = 3 }");
    let r = run(&s);
    assert_eq!(r.completed(), 2);
    assert_eq!(r.ended_by(EndReason::QueueFull), 1);
}

#[test]
fn an_empty_battery_stops_the_device() {
    // Busy power 3 W; 1 J lasts 333.3 ms: the first task (100 ms) completes,
    // the battery runs out during a later one.
    let workload = r#"interarrival_ms = { kind = "constant", value = 50 }
work_mcycles = { kind = "constant", value = 100 }"#;
    let s = scenario(r#"{ name = "local" }"#, "battery_j = 1.0", workload, "", "workload = { max_tasks = 20 }");
    let r = run(&s);
    assert!(r.completed() >= 1 && r.completed() < 20, "{r:?}");
    assert_eq!(r.completed() + r.ended_by(EndReason::BatteryDepleted), 20);
    assert!(r.totals.device_energy_j <= 1.0 + 1e-6, "energy {} J beyond the battery", r.totals.device_energy_j);
}

#[test]
fn two_simultaneous_uploads_share_the_link_fairly() {
    // Two devices' tasks travel together. Each gets half of every link:
    // upload 1 Mbit at 5 Mbps = 200 ms + 5 ms, then at 50 Mbps = 20 ms + 20 ms;
    // download 0.1 Mbit at 50 Mbps = 2 ms + 20 ms, then at 5 Mbps = 20 ms + 5 ms.
    let s = scenario(r#"{ name = "offload", node = "n" }"#, "count = 2", ONE_TASK, "", "workload = { max_tasks = 2 }");
    let r = run(&s);
    close(r.phase_mean_ms.map(|p| p[1]), 245.0);
    close(r.phase_mean_ms.map(|p| p[4]), 47.0);
}

/// Records what it is shown and offloads everything to node 0.
#[derive(Default)]
struct Spy {
    ages: Vec<f64>,
    busy_seen: Vec<u32>,
    outcomes: Vec<EndReason>,
}

impl Policy for Spy {
    fn decide(&mut self, _: &TaskView, view: &SystemView<'_>, _: &mut SimRng) -> Placement {
        self.ages.push(view.nodes[0].report_age_s);
        self.busy_seen.push(view.nodes[0].busy_cores);
        Placement::Offload(NodeId(0))
    }
    fn observe(&mut self, outcome: &TaskOutcome) {
        self.outcomes.push(outcome.reason);
    }
}

#[test]
fn policies_see_node_state_as_of_the_last_heartbeat() {
    // Tasks every 300 ms, each busy on the node for 1 s; heartbeats every 1 s.
    let workload = r#"interarrival_ms = { kind = "constant", value = 300 }
work_mcycles = { kind = "constant", value = 2000 }"#;
    let s = scenario(r#"{ name = "local" }"#, "", workload, "", "workload = { max_tasks = 6 }");
    let mut spec = s.spec.clone();
    spec.nodes[0].cores = 8;
    spec.dispatcher.heartbeat_ms = 1000.0;
    spec.nodes[0].up.latency_ms = 0.0;
    spec.networks[0].up.latency_ms = 0.0;
    let stale = LoadedScenario { spec, ..s };
    let (summary, spy) = offsim::run::simulate_with(&stale, 1, Spy::default()).unwrap();
    assert_eq!(summary.completed(), 6);
    // Arrivals at 0.3, 0.6, 0.9 s see the report of time 0 (age 0.3, 0.6,
    // 0.9 s, nothing busy yet); 1.2, 1.5, 1.8 s see the report of 1 s.
    let ages: Vec<f64> = spy.ages.iter().map(|a| (a * 1e3).round() / 1e3).collect();
    assert_eq!(ages, vec![0.3, 0.6, 0.9, 0.2, 0.5, 0.8]);
    assert_eq!(&spy.busy_seen[..3], &[0, 0, 0]);
    assert!(spy.busy_seen[3] > 0, "the 1 s report shows busy cores: {:?}", spy.busy_seen);
    assert_eq!(spy.outcomes, vec![EndReason::Completed; 6]);
}

/// Records each task's attributed energy.
#[derive(Default)]
struct EnergySpy(Vec<f64>);

impl Policy for EnergySpy {
    fn decide(&mut self, _: &TaskView, _: &SystemView<'_>, _: &mut SimRng) -> Placement {
        Placement::Offload(NodeId(0))
    }
    fn observe(&mut self, outcome: &TaskOutcome) {
        self.0.push(outcome.energy_j);
    }
}

#[test]
fn concurrent_transmissions_share_the_radio_power() {
    // One device sends two tasks at once: the radio draws tx_w = 2 W once,
    // for 200 ms (1 Mbit each at 5 Mbps); each task is charged half:
    // 2 W x 0.2 s / 2 = 0.2 J. Results: 1 W x 20 ms / 2 = 0.01 J each.
    let workload = r#"interarrival_ms = { kind = "constant", value = 0.000001 }
work_mcycles = { kind = "constant", value = 100 }
input_kb = { kind = "constant", value = 125 }
output_kb = { kind = "constant", value = 12.5 }"#;
    let s = scenario(r#"{ name = "local" }"#, "", workload, "", "workload = { max_tasks = 2 }");
    let (_, spy) = offsim::run::simulate_with(&s, 1, EnergySpy::default()).unwrap();
    assert_eq!(spy.0.len(), 2);
    for e in &spy.0 {
        assert!((e - 0.21).abs() < 1e-6, "task energy {e} J, want 0.21 J");
    }
}

#[test]
fn a_run_ends_with_its_last_task_not_at_a_later_horizon() {
    // Arrivals at 10, 20, 30 s; the last task ends at 30.1 s. Neither the
    // horizon at 1000 s nor the battery's far-off empty time extends it.
    let s = scenario(
        r#"{ name = "local" }"#,
        "battery_j = 100000",
        ONE_TASK,
        "",
        "workload = { max_tasks = 3 }\nsimulation = { horizon_s = 1000 }",
    );
    let r = run(&s);
    assert_eq!(r.completed(), 3);
    assert!((r.totals.end_s - 30.1).abs() < 1e-9, "run ended at {} s", r.totals.end_s);
}

/// Records the node ids each decision was offered.
#[derive(Default)]
struct Offered(Vec<Vec<u32>>);

impl Policy for Offered {
    fn decide(&mut self, _: &TaskView, view: &SystemView<'_>, _: &mut SimRng) -> Placement {
        self.0.push(view.nodes.iter().map(|n| n.id.0).collect());
        Placement::Local
    }
}

#[test]
fn placement_constraints_decide_which_nodes_a_policy_sees() {
    let s = scenario(r#"{ name = "local" }"#, "", ONE_TASK, "", "workload = { max_tasks = 1 }");
    let offered = |selector: &[&str], tolerations: &[&str]| {
        let mut spec = s.spec.clone();
        let mut gpu = spec.nodes[0].clone();
        gpu.name = "gpu".into();
        gpu.tier = "cloud".into();
        gpu.labels = vec!["gpu".into()];
        gpu.taints = vec!["gpu-only".into()];
        let mut cloud = spec.nodes[0].clone();
        cloud.name = "cloud".into();
        cloud.tier = "cloud".into();
        spec.nodes.extend([gpu, cloud]);
        let g = spec.devices[0].workload.as_mut().unwrap();
        g.node_selector = selector.iter().map(|x| x.to_string()).collect();
        g.tolerations = tolerations.iter().map(|x| x.to_string()).collect();
        let sc = LoadedScenario { spec, ..s.clone() };
        offsim::run::simulate_with(&sc, 1, Offered::default()).unwrap().1.0.remove(0)
    };
    // Nodes: 0 "n" (edge), 1 "gpu" (cloud, gpu, tainted gpu-only), 2 "cloud".
    assert_eq!(offered(&[], &[]), vec![0, 2], "a taint keeps untolerating tasks away");
    assert_eq!(offered(&["cloud"], &[]), vec![2], "the tier is a label");
    assert_eq!(offered(&["cloud"], &["gpu-only"]), vec![1, 2]);
    assert_eq!(offered(&["gpu"], &["gpu-only"]), vec![1]);
    assert_eq!(offered(&["gpu"], &[]), Vec::<u32>::new());
}

#[test]
fn a_policy_choosing_a_forbidden_node_ends_the_task_as_invalid_placement() {
    let mut s = scenario(r#"{ name = "offload", node = "n" }"#, "", ONE_TASK, "", "workload = { max_tasks = 2 }");
    s.spec.nodes[0].taints = vec!["private".into()];
    let (r, _) = offsim::run::simulate_with(&s, 1, EnergySpy::default()).unwrap();
    assert_eq!(r.ended_by(EndReason::InvalidPlacement), 2);
}

#[test]
fn decision_time_delays_the_task_and_counts_as_waiting() {
    let mut s = scenario(r#"{ name = "local" }"#, "", ONE_TASK, "", "workload = { max_tasks = 3 }");
    s.spec.dispatcher.decision_ms = Some(offsim::dist::DistSpec::constant(50.0));
    let r = run(&s);
    close(r.latency_mean_ms, 150.0);
    close(r.phase_mean_ms.map(|p| p[0]), 50.0);
}

#[test]
fn an_idle_device_still_drains_its_battery() {
    // "d" runs ten 100 ms tasks, one every 10 s (the run ends at 100.1 s);
    // "idle" has no work and a 2 J battery at 1 W idle power: it must stop
    // at 2 s, having used exactly 2 J.
    let mut s = scenario(r#"{ name = "local" }"#, "", ONE_TASK, "", "workload = { max_tasks = 10 }");
    let mut idle = s.spec.devices[0].clone();
    idle.name = "idle".into();
    idle.workload = None;
    idle.battery_j = Some(2.0);
    s.spec.devices.push(idle);
    let r = run(&s);
    assert!((r.totals.end_s - 100.1).abs() < 1e-9);
    // d: 1 W idle for 100.1 s plus (3 - 1) W for 10 x 0.1 s; idle: 2 J.
    let expected = 100.1 + 2.0 * 1.0 + 2.0;
    assert!((r.totals.device_energy_j - expected).abs() < 1e-6, "{} J", r.totals.device_energy_j);
}
