//! The event loop does not allocate in the steady state.
//!
//! A counting global allocator counts the allocations of the current thread.
//! A scenario is run to `n` and to `2n` tasks, rows going to a sink that
//! discards them: the second run handles about twice as many events, yet may
//! allocate only a bounded number of times more (capacity growth of a few
//! buffers when a rare peak of pending events or live tasks is reached).
//!
//! A binary of its own, outside `tests/it/`: a global allocator is one per
//! binary, and in the shared one it would sit under every other test's
//! allocations too.

use offsim::metrics::NullSink;
use offsim::policy::PolicyRegistry;
use offsim::run::build_policy;
use offsim::scenario::LoadedScenario;
use offsim::sim::Simulation;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// Allocations and events of one run of `file` with `overrides`.
fn run(file: &str, overrides: &[String]) -> (u64, u64) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(file);
    let scenario = LoadedScenario::from_file(&path, overrides).expect("scenario loads");
    let (policy, _) = build_policy(&scenario, &PolicyRegistry::new()).expect("policy builds");
    let seed = scenario.spec.simulation.seed;
    let before = allocations();
    let (summary, _, _) = Simulation::new(&scenario, seed, policy, NullSink).expect("starts").run().expect("runs");
    (allocations() - before, summary.totals.events)
}

/// Extra allocations allowed for doubling the run.
const SLACK: u64 = 200;

fn assert_steady(file: &str, field: &str, n: u64) {
    let (small, small_events) = run(file, &[format!("{field}={n}")]);
    let (large, large_events) = run(file, &[format!("{field}={}", 2 * n)]);
    let extra_events = large_events - small_events;
    println!("{file}: {small} allocations for {small_events} events, {large} for {large_events}");
    assert!(extra_events > 50_000, "{file}: the longer run must handle many more events ({extra_events})");
    assert!(
        large <= small + SLACK,
        "{file}: {small} allocations for {small_events} events, {large} for {large_events}: \
         {} allocations for {extra_events} extra events",
        large - small
    );
}

#[test]
fn generated_workload_allocates_nothing_per_event() {
    assert_steady("bench-100.toml", "workload.max_tasks", 25_000);
}

#[test]
fn full_model_allocates_nothing_per_event() {
    // Batteries, images and cold starts, heartbeats, utilisation samples,
    // deadlines, offload preparation, jittery shared links.
    assert_steady("quickstart.toml", "workload.duration_s", 2_000);
}
