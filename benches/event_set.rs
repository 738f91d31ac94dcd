//! Hold benchmark of the pending-event sets: with `n` events pending, each
//! iteration pops the earliest event and pushes one at its time plus a
//! random increment (exponential, mean 1 ms), so the set size stays `n`.
//! Run: `cargo bench --bench event_set`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use offsim::engine::{BinaryHeapEvents, PendingEvents, RadixEvents, SimTime};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use std::hint::black_box;

/// Event payload of the simulator's size (24 bytes).
type Payload = [u64; 3];

/// Mean increment in nanoseconds.
const MEAN_NS: f64 = 1e6;

/// Pre-drawn increments, so the benchmark times the set, not the generator.
fn increments(count: usize) -> Vec<u64> {
    let mut rng = Pcg64Mcg::seed_from_u64(7);
    (0..count).map(|_| (-MEAN_NS * (1.0 - rng.random::<f64>()).ln()) as u64).collect()
}

fn filled<Q: PendingEvents<Payload> + Default>(n: usize, incs: &[u64]) -> Q {
    let mut q = Q::default();
    for i in 0..n {
        q.push(SimTime(incs[i % incs.len()] * 4), [i as u64; 3]);
    }
    // Warm up: reach the steady-state spread of times.
    hold(&mut q, 2 * n, incs, 0);
    q
}

/// `ops` pops and pushes; returns the position in `incs` to resume from.
fn hold<Q: PendingEvents<Payload>>(q: &mut Q, ops: usize, incs: &[u64], mut at: usize) -> usize {
    for _ in 0..ops {
        let (t, e) = q.pop().expect("the set never empties");
        at = if at + 1 == incs.len() { 0 } else { at + 1 };
        q.push(t.after(incs[at]), black_box(e));
    }
    at
}

fn bench_set<Q: PendingEvents<Payload> + Default>(c: &mut Criterion, name: &str) {
    let incs = increments(1 << 16);
    let mut group = c.benchmark_group(format!("hold/{name}"));
    group.throughput(Throughput::Elements(1));
    for n in [1_000usize, 100_000, 1_000_000] {
        let mut q: Q = filled(n, &incs);
        let mut at = 0;
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| at = hold(&mut q, 1, &incs, at));
        });
    }
    group.finish();
}

fn event_sets(c: &mut Criterion) {
    bench_set::<RadixEvents<Payload>>(c, "radix");
    bench_set::<BinaryHeapEvents<Payload>>(c, "binary-heap");
}

criterion_group!(benches, event_sets);
criterion_main!(benches);
