//! The tasks a live run replays, fixed before it starts: the scenario's
//! trace, or its generators drawn exactly as the simulator draws them (same
//! seed, same per-device streams, same ids), so a live run and a simulation
//! see the same workload.

use crate::engine::SimTime;
use crate::error::{Error, Result};
use crate::live::protocol::Limits;
use crate::model::{TaskAttrs, World};
use crate::scenario::LoadedScenario;
use crate::workload::{Generators, TraceReader};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write;
use std::path::Path;

/// One task of the workload.
#[derive(Clone, Debug)]
pub struct WorkloadTask {
    /// The task's id: the trace's `task_id`, or its arrival order for a generated workload.
    pub id: u64,
    /// Index of the device that produces the task.
    pub device: u32,
    /// When the task arrives at its device.
    pub arrival: SimTime,
    /// The task's work, sizes, image, priority, deadline and constraint set.
    pub attrs: TaskAttrs,
}

/// What the run's workers must accept at most, from the run itself: its
/// largest message (a task's input or output plus its class's protocol
/// headers, or an image), its most work (a task's, or an offload
/// preparation) and its most protocol set-up round trips.
pub fn limits(world: &World, tasks: &[WorkloadTask]) -> Limits {
    let mut largest = world.images.iter().map(|i| i.bytes).max().unwrap_or(0);
    let mut cycles = world.classes.iter().map(|c| c.offload_overhead_cycles).fold(0.0, f64::max);
    let rtts = world.classes.iter().map(|c| c.protocol.setup_rtts.round() as u32).max().unwrap_or(0);
    for t in tasks {
        let header = world.class_of(t.device).protocol.header_bytes;
        largest = largest.max(t.attrs.input_bytes.max(t.attrs.output_bytes).saturating_add(header));
        cycles = f64::max(cycles, t.attrs.work_cycles);
    }
    Limits::new(largest, cycles, rtts)
}

/// Every task of `scenario` under `seed`, in arrival order (arrivals after
/// `simulation.horizon_s` are left out, as the simulator never reaches them).
pub fn workload(scenario: &LoadedScenario, seed: u64, world: &mut World) -> Result<Vec<WorkloadTask>> {
    let spec = &scenario.spec;
    let horizon = spec.simulation.horizon_s.map_or(SimTime::MAX, |h| SimTime(crate::engine::nanos_from_secs(h)));
    let mut tasks = Vec::new();
    if let Some(trace) = &spec.workload.trace {
        let mut reader = TraceReader::open(&scenario.base_dir.join(trace))?;
        while let Some(row) = reader.next_row(world)? {
            if row.arrival > horizon {
                break;
            }
            tasks.push(WorkloadTask { id: row.id, device: row.device, arrival: row.arrival, attrs: row.attrs });
        }
        return Ok(tasks);
    }
    let mut generators = Generators::new(spec, seed, &mut world.constraints);
    // Arrivals in (time, scheduling order), as the simulator's event set
    // orders them.
    let mut next: BinaryHeap<Reverse<(SimTime, u64, u32)>> = BinaryHeap::new();
    let mut seq = 0u64;
    for d in 0..world.devices.len() as u32 {
        if let Some(t) = generators.first_arrival(d) {
            next.push(Reverse((t, seq, d)));
            seq += 1;
        }
    }
    while let Some(Reverse((now, _, device))) = next.pop() {
        if now > horizon {
            break;
        }
        let Some((attrs, following)) = generators.arrive(device, now) else { break };
        if let Some(t) = following {
            next.push(Reverse((t, seq, device)));
            seq += 1;
        }
        tasks.push(WorkloadTask { id: tasks.len() as u64, device, arrival: now, attrs });
    }
    Ok(tasks)
}

/// Writes generated `tasks` as a trace file (see docs/trace-format.md) that
/// replays them exactly: times in whole nanoseconds, sizes in bytes.
pub fn write_trace(scenario: &LoadedScenario, world: &World, tasks: &[WorkloadTask], path: &Path) -> Result<()> {
    let spec = &scenario.spec;
    let fail = |e| Error::io(path, "cannot write the trace", e);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(fail)?);
    writeln!(
        out,
        "task_id,arrival_ms,device,work_mcycles,input_kb,output_kb,memory_mb,image,priority,deadline_ms,node_selector,tolerations"
    )
    .map_err(fail)?;
    for t in tasks {
        let (class, index) = world.device_name(t.device);
        let class_spec = spec.devices.iter().find(|c| c.name == class).expect("device classes come from the spec");
        let (selector, tolerations) = class_spec
            .workload
            .as_ref()
            .map_or((String::new(), String::new()), |g| (g.node_selector.join(";"), g.tolerations.join(";")));
        let a = &t.attrs;
        let image = a.image.map_or("", |i| spec.images[usize::from(i)].name.as_str());
        let deadline = a.deadline_ns.map_or(String::new(), |d| format!("{}.{:06}", d / 1_000_000, d % 1_000_000));
        writeln!(
            out,
            "{},{}.{:06},{class}-{index},{},{},{},{},{image},{},{deadline},{selector},{tolerations}",
            t.id,
            t.arrival.0 / 1_000_000,
            t.arrival.0 % 1_000_000,
            a.work_cycles / 1e6,
            a.input_bytes as f64 / 1e3,
            a.output_bytes as f64 / 1e3,
            a.memory_bytes as f64 / 1e6,
            a.priority,
        )
        .map_err(fail)?;
    }
    out.flush().map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::testing::ONE_DEVICE;

    fn scenario() -> LoadedScenario {
        let text = format!("policy = {{ name = \"local\" }}\nworkload = {{ max_tasks = 50 }}\n{ONE_DEVICE}");
        LoadedScenario::from_toml(&text, "t", "t", ".".as_ref(), &[]).unwrap()
    }

    #[test]
    fn generated_tasks_match_the_simulated_ones() {
        let s = scenario();
        let mut world = World::build(&s.spec, 5);
        let tasks = workload(&s, 5, &mut world).unwrap();
        let summary = crate::run::simulate(&s, 5).unwrap();
        assert_eq!(tasks.len() as u64, summary.tasks + summary.warmup_tasks);
        assert!(tasks.windows(2).all(|w| w[0].arrival <= w[1].arrival && w[0].id < w[1].id));
    }

    #[test]
    fn a_written_trace_replays_the_same_tasks() {
        let s = scenario();
        let mut world = World::build(&s.spec, 9);
        let tasks = workload(&s, 9, &mut world).unwrap();
        let dir = std::env::temp_dir().join(format!("offsim-trace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("trace.csv");
        write_trace(&s, &world, &tasks, &path).unwrap();
        let mut replay = s.clone();
        replay.spec.workload.trace = Some(path.display().to_string());
        for d in &mut replay.spec.devices {
            d.workload = None;
        }
        let mut world2 = World::build(&replay.spec, 9);
        let again = workload(&replay, 9, &mut world2).unwrap();
        let replayed = crate::run::simulate(&replay, 9).unwrap().tasks;
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(again.len(), tasks.len());
        for (a, b) in tasks.iter().zip(&again) {
            assert_eq!((a.id, a.device, a.arrival), (b.id, b.device, b.arrival));
            assert!((a.attrs.work_cycles - b.attrs.work_cycles).abs() <= 1e-6 * a.attrs.work_cycles);
            assert_eq!(a.attrs.input_bytes, b.attrs.input_bytes);
            assert_eq!(a.attrs.deadline_ns, b.attrs.deadline_ns);
        }
        assert_eq!(replayed, crate::run::simulate(&s, 9).unwrap().tasks, "the replay simulates as many tasks");
    }
}
