//! Decision cost of every built-in policy, built through the registry with
//! default parameters, on a view of a device and four nodes.
//! Run: `cargo bench --bench policies`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use offsim::engine::SimTime;
use offsim::model::{Purpose, stream};
use offsim::policy::{
    DeviceView, ImageInfo, LinkView, NodeId, NodeInfo, NodeView, Policy, PolicyContext, PolicyRegistry, SystemView,
    TaskView,
};
use offsim::scenario::PolicySpec;
use std::hint::black_box;

const NODES: u32 = 4;

fn context() -> PolicyContext {
    PolicyContext {
        nodes: (0..NODES)
            .map(|i| NodeInfo {
                name: format!("node-{i}"),
                tier: if i == 0 { "edge".into() } else { "cloud".into() },
                labels: Vec::new(),
            })
            .collect(),
        images: vec![ImageInfo { name: "img".into(), bytes: 150_000_000 }],
    }
}

fn link(mbps: f64, ms: f64) -> LinkView {
    LinkView { bandwidth_bps: mbps * 1e6, latency_s: ms / 1e3 }
}

fn nodes() -> Vec<NodeView> {
    (0..NODES)
        .map(|i| NodeView {
            id: NodeId(i),
            cores: 4 << i,
            speed_hz: 2.4e9,
            memory_bytes: 8_000_000_000,
            free_memory_bytes: 6_000_000_000,
            queue_len: i,
            busy_cores: 2 + i,
            cpu_utilisation: 0.2 * f64::from(i),
            image_cached: i % 2 == 0,
            container_warm: i == 0,
            cold_start_s: 0.5,
            pull_bandwidth_bps: 1e8,
            pull_latency_s: 0.03,
            uplink: link(1000.0, 1.0 + 5.0 * f64::from(i)),
            downlink: link(1000.0, 1.0 + 5.0 * f64::from(i)),
            report_age_s: 0.5,
        })
        .collect()
}

fn device() -> DeviceView {
    DeviceView {
        cores: 1,
        speed_hz: 1.2e9,
        queue_len: 2,
        busy_cores: 1,
        cpu_utilisation: 0.85,
        battery_fraction: Some(0.6),
        idle_w: 1.2,
        busy_w: 3.5,
        tx_w: 1.4,
        rx_w: 0.9,
        offload_overhead_cycles: 5e6,
        setup_rtts: 0.0,
        header_bytes: 20,
    }
}

fn task() -> TaskView {
    TaskView {
        id: 1,
        device: 0,
        arrival: SimTime(1_000_000_000),
        work_cycles: 9e8,
        input_bytes: 200_000,
        output_bytes: 4_000,
        memory_bytes: 256_000_000,
        image: Some(0),
        image_bytes: 150_000_000,
        priority: 0,
        deadline: Some(SimTime(6_000_000_000)),
    }
}

fn decisions(c: &mut Criterion) {
    let registry = PolicyRegistry::new();
    let ctx = context();
    let nodes = nodes();
    let view = SystemView {
        now: SimTime(1_000_000_000),
        device: device(),
        uplink: link(40.0, 4.0),
        downlink: link(80.0, 4.0),
        nodes: &nodes,
    };
    let task = task();
    let mut group = c.benchmark_group("decide");
    // Every policy the registry knows, so a new built-in is benchmarked too.
    for name in registry.names() {
        let spec = PolicySpec { name: name.into(), params: toml::Table::new() };
        let (mut policy, _) = registry.build(&spec, &ctx).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut rng = stream(1, Purpose::Policy, 0);
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| policy.decide(black_box(&task), black_box(&view), &mut rng))
        });
    }
    group.finish();
}

criterion_group!(benches, decisions);
criterion_main!(benches);
