//! Whole simulation runs of the benchmark scenarios, per-task rows going to
//! a sink that discards them, at reduced task counts (the full sizes are
//! measured by hand with the release binary: see BENCHMARKS.md).
//! Throughput is reported in tasks.
//! Run: `cargo bench --bench runs`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use offsim::metrics::NullSink;
use offsim::policy::PolicyRegistry;
use offsim::run::build_policy;
use offsim::scenario::LoadedScenario;
use offsim::sim::Simulation;
use std::path::Path;

fn scenario(file: &str, tasks: u64) -> LoadedScenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(file);
    let base = LoadedScenario::from_file(&path, &[]).expect("benchmark scenario loads");
    base.with_overrides(&[format!("workload.max_tasks={tasks}")]).expect("override applies")
}

fn runs(c: &mut Criterion) {
    let mut group = c.benchmark_group("run");
    group.sample_size(10);
    for (file, tasks) in [("bench-100.toml", 200_000u64), ("bench-10k.toml", 500_000)] {
        let s = scenario(file, tasks);
        let seed = s.spec.simulation.seed;
        group.throughput(Throughput::Elements(tasks));
        group.bench_function(BenchmarkId::new(file.trim_end_matches(".toml"), tasks), |b| {
            b.iter(|| {
                let (policy, _) = build_policy(&s, &PolicyRegistry::new()).expect("policy builds");
                let (summary, _, _) =
                    Simulation::new(&s, seed, policy, NullSink).expect("run starts").run().expect("run ends");
                summary
            })
        });
    }
    group.finish();
}

criterion_group!(benches, runs);
criterion_main!(benches);
