//! offsim against a hand-written, single-purpose simulation of the simple
//! offload model of `scenarios/bench-100.toml` and `bench-10k.toml`, measured
//! in the same run so that the host's speed (which varies between sessions)
//! cancels out.
//!
//! The reference model: single-core 1 GHz devices with Poisson arrivals
//! (10 tasks/s each) and exponential work (mean 70 Mcycles); a threshold
//! policy that offloads a task when the device's CPU utilisation (an
//! exponentially weighted average with a 1 s time constant) exceeds 0.8;
//! one cloud node (3 GHz cores, one FIFO queue); each way, an access link
//! (2 ms + U[0, 2] ms) and a cloud link (10 ms + U[0, 5] ms), bandwidth
//! ignored (1 kB at 100 Gbit/s). A trip up or down is one event.
//!
//! offsim models each link hop's transmission and propagation as separate
//! events (and has heartbeats), so it counts more events per offloaded task:
//! tasks/s is the like-for-like figure, events/s is the figure the
//! performance issue states. Both are printed; throughput is in events.
//! Run: `cargo bench --bench reference`. With `OFFSIM_BENCH_1M=1` it also
//! compares them at 1,000,000 devices (10M tasks, `bench-1m.toml`): by
//! hand only, about ten minutes.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use offsim::metrics::NullSink;
use offsim::policy::PolicyRegistry;
use offsim::run::build_policy;
use offsim::scenario::LoadedScenario;
use offsim::sim::Simulation;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Exp};
use rand_pcg::Pcg64Mcg;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::hint::black_box;
use std::path::Path;

const MEAN_GAP_NS: f64 = 1e8;
const MEAN_WORK_CYCLES: f64 = 70e6;
const TAU_NS: f64 = 1e9;
const THRESHOLD: f64 = 0.8;

/// A task waiting or running: when it arrived and its work (cycles).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Task {
    arrived: u64,
    cycles: u64,
}

/// Ordered only so that heap entries are; the sequence number always decides first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Arrival { dev: u32 },
    LocalDone { dev: u32 },
    AtCloud { task: Task },
    CloudDone { arrived: u64 },
    Back { arrived: u64 },
}

struct Device {
    busy: bool,
    /// Utilisation as of `since`, the last change of `busy`.
    util: f64,
    since: u64,
    running: Task,
    queue: VecDeque<Task>,
}

impl Device {
    fn util_at(&self, now: u64) -> f64 {
        let b = if self.busy { 1.0 } else { 0.0 };
        b + (self.util - b) * (-((now - self.since) as f64) / TAU_NS).exp()
    }

    fn set_busy(&mut self, now: u64, busy: bool) {
        self.util = self.util_at(now);
        self.since = now;
        self.busy = busy;
    }
}

#[derive(Clone, Copy, Debug)]
struct Outcome {
    events: u64,
    tasks: u64,
    offloaded: u64,
    latency_mean_ms: f64,
}

/// Pending events, earliest first, ties in insertion order.
struct Pending {
    heap: BinaryHeap<Reverse<(u64, u64, Event)>>,
    seq: u64,
}

impl Pending {
    fn push(&mut self, at: u64, e: Event) {
        self.heap.push(Reverse((at, self.seq, e)));
        self.seq += 1;
    }
}

/// One trip over both links (access and cloud, either way): fixed latency plus two jitter draws.
fn trip_ns(rng: &mut Pcg64Mcg) -> u64 {
    (12e6 + rng.random::<f64>() * 2e6 + rng.random::<f64>() * 5e6) as u64
}

/// Runs `tasks` arrivals over `devices` devices and a cloud of `cloud_cores`, then drains.
/// One generator for everything, as a single-purpose loop would have it.
fn reference(devices: u32, cloud_cores: u32, tasks: u64, seed: u64) -> Outcome {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let gap = Exp::new(1.0 / MEAN_GAP_NS).expect("positive rate");
    let work = Exp::new(1.0 / MEAN_WORK_CYCLES).expect("positive rate");
    let idle = Task { arrived: 0, cycles: 0 };
    let mut devs: Vec<Device> = (0..devices)
        .map(|_| Device { busy: false, util: 0.0, since: 0, running: idle, queue: VecDeque::with_capacity(64) })
        .collect();
    let mut cloud_free = cloud_cores;
    let mut cloud_queue: VecDeque<Task> = VecDeque::with_capacity(4096);
    let mut pending = Pending { heap: BinaryHeap::with_capacity(2 * devices as usize + 4096), seq: 0 };
    let mut scheduled = 0;
    for dev in 0..devices.min(tasks.try_into().unwrap_or(u32::MAX)) {
        pending.push(gap.sample(&mut rng) as u64, Event::Arrival { dev });
        scheduled += 1;
    }
    let (mut events, mut done, mut offloaded, mut latency_ns) = (0u64, 0u64, 0u64, 0u128);

    while let Some(Reverse((now, _, event))) = pending.heap.pop() {
        events += 1;
        match event {
            Event::Arrival { dev } => {
                let task = Task { arrived: now, cycles: work.sample(&mut rng).ceil() as u64 };
                let d = &mut devs[dev as usize];
                if d.util_at(now) > THRESHOLD {
                    offloaded += 1;
                    pending.push(now + trip_ns(&mut rng), Event::AtCloud { task });
                } else if d.busy {
                    d.queue.push_back(task);
                } else {
                    d.set_busy(now, true);
                    d.running = task;
                    pending.push(now + task.cycles, Event::LocalDone { dev });
                }
                if scheduled < tasks {
                    scheduled += 1;
                    pending.push(now + gap.sample(&mut rng) as u64, Event::Arrival { dev });
                }
            }
            Event::LocalDone { dev } => {
                let d = &mut devs[dev as usize];
                done += 1;
                latency_ns += u128::from(now - d.running.arrived);
                if let Some(next) = d.queue.pop_front() {
                    d.running = next;
                    pending.push(now + next.cycles, Event::LocalDone { dev });
                } else {
                    d.set_busy(now, false);
                }
            }
            Event::AtCloud { task } => {
                if cloud_free > 0 {
                    cloud_free -= 1;
                    pending.push(now + task.cycles.div_ceil(3), Event::CloudDone { arrived: task.arrived });
                } else {
                    cloud_queue.push_back(task);
                }
            }
            Event::CloudDone { arrived } => {
                pending.push(now + trip_ns(&mut rng), Event::Back { arrived });
                if let Some(next) = cloud_queue.pop_front() {
                    pending.push(now + next.cycles.div_ceil(3), Event::CloudDone { arrived: next.arrived });
                } else {
                    cloud_free += 1;
                }
            }
            Event::Back { arrived } => {
                done += 1;
                latency_ns += u128::from(now - arrived);
            }
        }
    }
    Outcome { events, tasks: done, offloaded, latency_mean_ms: latency_ns as f64 / done.max(1) as f64 / 1e6 }
}

fn scenario(file: &str, tasks: u64) -> LoadedScenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(file);
    let base = LoadedScenario::from_file(&path, &[]).expect("benchmark scenario loads");
    base.with_overrides(&[format!("workload.max_tasks={tasks}")]).expect("override applies")
}

fn offsim_run(s: &LoadedScenario) -> Outcome {
    let (policy, _) = build_policy(s, &PolicyRegistry::new()).expect("policy builds");
    let (summary, _, _) =
        Simulation::new(s, s.spec.simulation.seed, policy, NullSink).expect("run starts").run().expect("run ends");
    Outcome {
        events: summary.totals.events,
        tasks: summary.tasks,
        offloaded: (summary.offload_fraction.unwrap_or(0.0) * summary.tasks as f64).round() as u64,
        latency_mean_ms: summary.latency_mean_ms.unwrap_or(f64::NAN),
    }
}

fn report(side: &str, devices: u32, o: &Outcome) {
    eprintln!(
        "reference {side}/{devices}: {} events, {:.3} events/task, {:.2} % offloaded, mean latency {:.1} ms",
        o.events,
        o.events as f64 / o.tasks as f64,
        100.0 * o.offloaded as f64 / o.tasks as f64,
        o.latency_mean_ms
    );
}

fn compare(c: &mut Criterion) {
    let mut group = c.benchmark_group("reference");
    group.sample_size(10);
    // Task counts as in benches/runs.rs; devices, cloud cores and seed from each scenario file.
    let mut cases = vec![("bench-100.toml", 200_000u64), ("bench-10k.toml", 500_000)];
    if std::env::var_os("OFFSIM_BENCH_1M").is_some() {
        cases.push(("bench-1m.toml", 10_000_000));
    }
    for (file, tasks) in cases {
        let s = scenario(file, tasks);
        let devices: u32 = s.spec.devices.iter().map(|d| d.count).sum();
        let cloud_cores = s.spec.nodes[0].cores;
        let seed = s.spec.simulation.seed;
        let o = reference(devices, cloud_cores, tasks, seed);
        report("hand-written", devices, &o);
        group.throughput(Throughput::Elements(o.events));
        group.bench_function(BenchmarkId::new("hand-written", devices), |b| {
            b.iter(|| reference(black_box(devices), cloud_cores, tasks, seed))
        });

        let o = offsim_run(&s);
        report("offsim", devices, &o);
        group.throughput(Throughput::Elements(o.events));
        group.bench_function(BenchmarkId::new("offsim", devices), |b| b.iter(|| offsim_run(&s)));
    }
    group.finish();
}

criterion_group!(benches, compare);
criterion_main!(benches);
