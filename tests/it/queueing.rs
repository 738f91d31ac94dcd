//! Queueing-theory checks of the engine, driven through the TOML scenario
//! format: M/M/1 (on a device), M/M/c (Erlang C), M/D/1 and M/G/1
//! (Pollaczek-Khinchine) on a node, and an upload link -> node -> download
//! link tandem checked as a Jackson network.
//!
//! Each check runs independent replications (different seeds), builds a
//! Student-t 99 % confidence interval of the replication means, and asserts
//! that the theoretical value lies inside it and that the interval is tight
//! (its half-width a few percent of the theoretical value), so a check cannot
//! pass merely by being noisy. Seeds are fixed, so the outcome is
//! deterministic.

use crate::helpers::{erlang_c, mean_se};
use offsim::metrics::Summary;
use offsim::scenario::LoadedScenario;
use std::path::Path;
use std::time::Instant;

/// Student-t 0.995 quantiles (two-sided 99 %) for 1 to 30 degrees of freedom.
const T_995: [f64; 30] = [
    63.657, 9.925, 5.841, 4.604, 4.032, 3.707, 3.499, 3.355, 3.250, 3.169, 3.106, 3.055, 3.012, 2.977, 2.947, 2.921,
    2.898, 2.878, 2.861, 2.845, 2.831, 2.819, 2.807, 2.797, 2.787, 2.779, 2.771, 2.763, 2.756, 2.750,
];

/// Largest accepted 99 % half-width, relative to the theoretical value.
const MAX_REL_HALF_WIDTH: f64 = 0.03;

/// Mean and 99 % half-width of replication means.
struct Interval {
    mean: f64,
    half: f64,
}

fn interval(xs: &[f64]) -> Interval {
    let n = xs.len();
    assert!((2..=T_995.len() + 1).contains(&n), "{n} replications: the t table covers 2 to 31");
    let (mean, se) = mean_se(xs);
    Interval { mean, half: T_995[n - 2] * se }
}

/// Runs `reps` replications of the scenario with seeds `first_seed..`
/// (each test its own block, so tests do not share random numbers); every
/// measured task must complete.
fn replicate(label: &str, text: &str, first_seed: u64, reps: u64) -> Vec<Summary> {
    let name: String = label.chars().filter(char::is_ascii_alphanumeric).collect();
    let scenario = LoadedScenario::from_toml(text, label, &name, Path::new("."), &[]).expect("valid scenario");
    let start = Instant::now();
    let runs: Vec<Summary> = (first_seed..first_seed + reps)
        .map(|seed| {
            let s = offsim::run::simulate(&scenario, seed).expect("run");
            assert_eq!(s.completed(), s.tasks, "{label} seed {seed}: every measured task completes");
            s
        })
        .collect();
    let tasks = scenario.spec.workload.max_tasks.expect("runs are bounded by max_tasks");
    let measured = runs.iter().map(|s| s.tasks).sum::<u64>() / reps;
    eprintln!(
        "{label}: {reps} replications x {tasks} tasks ({measured} after warm-up) in {:.2} s",
        start.elapsed().as_secs_f64()
    );
    runs
}

/// Asserts that `theory` lies in the 99 % interval of `values` and that the
/// interval is tight.
fn check(label: &str, theory: f64, values: &[f64]) {
    let ci = interval(values);
    let rel = ci.half / theory;
    eprintln!(
        "{label}: theory {theory:.4} ms, estimate {:.4} ms, 99% half-width {:.4} ms ({:.2} %), error {:+.2} %",
        ci.mean,
        ci.half,
        100.0 * rel,
        100.0 * (ci.mean - theory) / theory
    );
    assert!(
        (ci.mean - theory).abs() <= ci.half,
        "{label}: theory {theory} outside the 99% interval {} +- {}",
        ci.mean,
        ci.half
    );
    assert!(rel <= MAX_REL_HALF_WIDTH, "{label}: interval too wide ({:.2} % of theory)", 100.0 * rel);
}

fn column(runs: &[Summary], f: impl Fn(&Summary) -> f64) -> Vec<f64> {
    runs.iter().map(f).collect()
}

fn wait_ms(s: &Summary) -> f64 {
    s.phase_mean_ms.expect("completed tasks")[0]
}

fn sojourn_ms(s: &Summary) -> f64 {
    s.latency_mean_ms.expect("completed tasks")
}

/// A link no one waits for: 10^15 bit/s and no latency, so a message of the
/// sizes used here crosses in a nanosecond or less.
const INSTANT_LINK: &str = "{ bandwidth_mbps = 1e9, latency_ms = 0 }";

/// A FIFO link of 100 Mbps without latency: a message of `k` kB takes
/// `k / 12.5` ms to transmit.
const FIFO_100_MBPS: &str = "{ bandwidth_mbps = 100, latency_ms = 0, sharing = \"fifo\" }";

/// Always zero (kB).
const ZERO: &str = "{ kind = \"constant\", value = 0 }";

/// `devices` devices, each a Poisson source of `rate_per_s`, offloading every
/// task to the node `server` (`cores` cores at 1 GHz, so `work_mcycles` is
/// milliseconds of service). Messages cross the devices' access links
/// (instantaneous), then the node's own `node_up` / `node_down` links.
struct Offload {
    devices: u32,
    rate_per_s: f64,
    work_mcycles: &'static str,
    input_kb: &'static str,
    output_kb: &'static str,
    cores: u32,
    node_up: &'static str,
    node_down: &'static str,
    max_tasks: u64,
}

impl Offload {
    /// Only the node is a queue: no input or output bytes, instantaneous links.
    fn node_only(devices: u32, rate_per_s: f64, work_mcycles: &'static str, cores: u32, max_tasks: u64) -> Self {
        Offload {
            devices,
            rate_per_s,
            work_mcycles,
            input_kb: ZERO,
            output_kb: ZERO,
            cores,
            node_up: INSTANT_LINK,
            node_down: INSTANT_LINK,
            max_tasks,
        }
    }

    fn toml(&self) -> String {
        let Offload { devices, rate_per_s, work_mcycles, input_kb, output_kb, cores, node_up, node_down, max_tasks } =
            self;
        format!(
            r#"
            policy = {{ name = "offload", node = "server" }}
            [simulation]
            warmup_s = {WARMUP_S}
            [dispatcher]
            heartbeat_ms = 0
            [outputs]
            tasks = false
            utilisation_interval_ms = 0
            [workload]
            max_tasks = {max_tasks}
            [[networks]]
            name = "lan"
            up = {INSTANT_LINK}
            down = {INSTANT_LINK}
            [[devices]]
            name = "source"
            count = {devices}
            network = "lan"
            speed_ghz = 1.0
            power = {{ idle_w = 0, busy_w = 0 }}
            protocol = {{ kind = "raw" }}
            [devices.workload]
            rate_per_s = {rate_per_s}
            work_mcycles = {work_mcycles}
            input_kb = {input_kb}
            output_kb = {output_kb}
            [[nodes]]
            name = "server"
            tier = "edge"
            cores = {cores}
            speed_ghz = 1.0
            up = {node_up}
            down = {node_down}
            power = {{ idle_w = 0, busy_w = 0 }}
            "#
        )
    }
}

/// Warm-up dropped from every run. The slowest queue here (rho = 0.75)
/// relaxes in well under a second; 20 s is over a thousand arrivals.
const WARMUP_S: f64 = 20.0;

#[test]
fn mm1_on_a_device() {
    // One 1-core device running its own tasks (FIFO device queue):
    // lambda = 70/s, exponential service of mean 10 ms (mu = 100/s), rho = 0.7.
    let (lambda, mu) = (70.0, 100.0);
    let text = format!(
        r#"
        policy = {{ name = "local" }}
        [simulation]
        warmup_s = {WARMUP_S}
        [dispatcher]
        heartbeat_ms = 0
        [outputs]
        tasks = false
        utilisation_interval_ms = 0
        [workload]
        max_tasks = 200000
        [[networks]]
        name = "lan"
        up = {INSTANT_LINK}
        down = {INSTANT_LINK}
        [[devices]]
        name = "cpu"
        network = "lan"
        cores = 1
        speed_ghz = 1.0
        power = {{ idle_w = 0, busy_w = 0 }}
        [devices.workload]
        rate_per_s = {lambda}
        work_mcycles = {{ kind = "exponential", mean = 10 }}
        "#
    );
    let runs = replicate("M/M/1", &text, 100, 20);
    let rho = lambda / mu;
    check("M/M/1 Wq", 1e3 * rho / (mu - lambda), &column(&runs, wait_ms));
    check("M/M/1 W", 1e3 / (mu - lambda), &column(&runs, sojourn_ms));
}

#[test]
fn mmc_erlang_c() {
    // Three devices at 100/s each (superposed Poisson: 300/s) to a 4-core
    // node, exponential service of mean 10 ms: a = 3, rho = 0.75.
    let (c, lambda, mu) = (4, 300.0, 100.0);
    let text = Offload::node_only(3, lambda / 3.0, "{ kind = \"exponential\", mean = 10 }", c, 300_000).toml();
    let runs = replicate("M/M/4", &text, 200, 20);
    let wq = erlang_c(c, lambda / mu) / (f64::from(c) * mu - lambda);
    check("M/M/4 Wq", 1e3 * wq, &column(&runs, wait_ms));
    check("M/M/4 W", 1e3 * (wq + 1.0 / mu), &column(&runs, sojourn_ms));
}

#[test]
fn md1_pollaczek_khinchine() {
    // Deterministic 10 ms service at a 1-core node, lambda = 70/s: rho = 0.7.
    let (lambda, mu) = (70.0, 100.0);
    let text = Offload::node_only(1, lambda, "{ kind = \"constant\", value = 10 }", 1, 150_000).toml();
    let runs = replicate("M/D/1", &text, 300, 20);
    let rho = lambda / mu;
    let wq = rho / (2.0 * mu * (1.0 - rho));
    check("M/D/1 Wq", 1e3 * wq, &column(&runs, wait_ms));
    check("M/D/1 W", 1e3 * (wq + 1.0 / mu), &column(&runs, sojourn_ms));
}

#[test]
fn mg1_pollaczek_khinchine() {
    // Log-normal service at a 1-core node, mean 10 ms, std 15 ms (CV 1.5, so
    // E[S^2] = 3.25 mean^2, unlike M/M/1's 2 and M/D/1's 1); lambda = 60/s,
    // rho = 0.6.
    let (lambda, mean, std) = (60.0, 0.010, 0.015);
    let text = Offload::node_only(1, lambda, "{ kind = \"lognormal\", mean = 10, std = 15 }", 1, 250_000).toml();
    let runs = replicate("M/G/1", &text, 400, 20);
    let rho = lambda * mean;
    let wq = lambda * (std * std + mean * mean) / (2.0 * (1.0 - rho));
    check("M/G/1 Wq", 1e3 * wq, &column(&runs, wait_ms));
    check("M/G/1 W", 1e3 * (wq + mean), &column(&runs, sojourn_ms));
}

#[test]
fn tandem_jackson() {
    // lambda = 50/s through three FIFO single servers in series (the access
    // links either side are instantaneous):
    //   node uplink:   input 125 kB mean (1 Mbit) at 100 Mbps -> 10 ms, rho = 0.5;
    //   node:          14 Mcycles mean at 1 GHz                -> 14 ms, rho = 0.7;
    //   node downlink: output 150 kB mean (1.2 Mbit) at 100 Mbps -> 12 ms, rho = 0.6.
    // Input, work and output are exponential and drawn independently, so each
    // station is M/M/1 with sojourn 1/(mu_i - lambda) (Burke, Jackson).
    let lambda = 50.0;
    let service_s = [0.010, 0.014, 0.012];
    let text = Offload {
        devices: 1,
        rate_per_s: lambda,
        work_mcycles: "{ kind = \"exponential\", mean = 14 }",
        input_kb: "{ kind = \"exponential\", mean = 125 }",
        output_kb: "{ kind = \"exponential\", mean = 150 }",
        cores: 1,
        node_up: FIFO_100_MBPS,
        node_down: FIFO_100_MBPS,
        max_tasks: 150_000,
    }
    .toml();
    let runs = replicate("tandem", &text, 500, 20);
    let station_ms = service_s.map(|s| 1e3 / (1.0 / s - lambda));
    let phase = |f: fn(&[f64; 5]) -> f64| column(&runs, |s| f(&s.phase_mean_ms.expect("completed tasks")));
    // Phases: [wait, upload, startup, exec, download]; there is no start-up.
    check("tandem upload", station_ms[0], &phase(|p| p[1]));
    check("tandem node (wait+exec)", station_ms[1], &phase(|p| p[0] + p[3]));
    check("tandem download", station_ms[2], &phase(|p| p[4]));
    check("tandem W", station_ms.iter().sum(), &column(&runs, sojourn_ms));
}
