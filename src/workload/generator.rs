//! Per-device task generators: Poisson (or renewal) arrivals with task sizes
//! drawn from the distributions declared on the device class.
//!
//! Each device draws from its own stream, always in the same order (the
//! task's work, input, output, memory, then the gap to the next arrival), so
//! every policy run with the same seed sees exactly the same tasks.

use crate::dist::{DistSpec, Sampler};
use crate::engine::{SimRng, SimTime, nanos_from_millis, nanos_from_secs, round_to_u64};
use crate::model::{Constraints, Purpose, TaskAttrs, stream};
use crate::scenario::{GeneratorSpec, Scenario};

struct ClassGenerator {
    /// Gap between arrivals, in milliseconds.
    interarrival_ms: Sampler,
    start: SimTime,
    work_mcycles: Sampler,
    input_bytes: Bytes,
    output_bytes: Bytes,
    memory_bytes: Bytes,
    image: Option<u16>,
    priority: u8,
    deadline_ns: Option<u64>,
    constraint: u16,
}

/// A task size in bytes: drawn (in kB or MB) and rounded, or, for a
/// constant distribution, fixed once (a constant draws nothing).
enum Bytes {
    Fixed(u64),
    Drawn { sampler: Sampler, unit: f64 },
}

impl Bytes {
    fn new(spec: &DistSpec, unit: f64) -> Self {
        match spec.sampler() {
            Sampler::Constant(v) => Bytes::Fixed(round_to_u64(v * unit)),
            sampler => Bytes::Drawn { sampler, unit },
        }
    }

    #[inline]
    fn draw(&self, rng: &mut SimRng) -> u64 {
        match self {
            Bytes::Fixed(bytes) => *bytes,
            Bytes::Drawn { sampler, unit } => round_to_u64(sampler.sample(rng) * unit),
        }
    }
}

impl ClassGenerator {
    fn new(g: &GeneratorSpec, spec: &Scenario, constraints: &mut Constraints) -> Self {
        let interarrival = match (&g.rate_per_s, &g.interarrival_ms) {
            (Some(rate), _) => DistSpec::Exponential { mean: 1e3 / rate },
            (None, Some(d)) => d.clone(),
            (None, None) => unreachable!("validated: one of rate_per_s and interarrival_ms"),
        };
        ClassGenerator {
            interarrival_ms: interarrival.sampler(),
            start: SimTime(nanos_from_secs(g.start_s)),
            work_mcycles: g.work_mcycles.sampler(),
            input_bytes: Bytes::new(&g.input_kb, 1e3),
            output_bytes: Bytes::new(&g.output_kb, 1e3),
            memory_bytes: Bytes::new(&g.memory_mb, 1e6),
            image: g.image.as_ref().map(|n| spec.images.iter().position(|i| &i.name == n).expect("validated") as u16),
            priority: g.priority,
            deadline_ns: g.deadline_ms.map(nanos_from_millis),
            constraint: constraints
                .intern(&g.node_selector, &g.tolerations)
                .expect("one set per device class, and classes are at most 65,535"),
        }
    }
}

/// A device's own stream and its class.
struct DeviceStream {
    rng: SimRng,
    class: u16,
}

/// The generators of every device.
pub struct Generators {
    /// Per device class (`None`: the class generates nothing).
    classes: Vec<Option<ClassGenerator>>,
    /// Per device, its stream and class (side by side: an arrival reads
    /// both).
    devices: Vec<DeviceStream>,
    end: SimTime,
    max_tasks: u64,
    made: u64,
}

impl Generators {
    /// Generators for `spec`'s devices under `seed`; arrivals stop after
    /// `workload.duration_s` and `workload.max_tasks` (whichever first).
    pub fn new(spec: &Scenario, seed: u64, constraints: &mut Constraints) -> Self {
        let classes: Vec<Option<ClassGenerator>> = spec
            .devices
            .iter()
            .map(|d| d.workload.as_ref().map(|g| ClassGenerator::new(g, spec, constraints)))
            .collect();
        let devices = spec
            .devices
            .iter()
            .enumerate()
            .flat_map(|(class, d)| std::iter::repeat_n(class as u16, d.count as usize))
            .enumerate()
            .map(|(i, class)| DeviceStream { rng: stream(seed, Purpose::Workload, i as u64), class })
            .collect();
        Generators {
            classes,
            devices,
            end: spec.workload.duration_s.map_or(SimTime::MAX, |d| SimTime(nanos_from_secs(d))),
            max_tasks: spec.workload.max_tasks.unwrap_or(u64::MAX),
            made: 0,
        }
    }

    fn gap(&mut self, device: u32) -> Option<(&ClassGenerator, u64)> {
        let d = &mut self.devices[device as usize];
        let class_gen = self.classes[d.class as usize].as_ref()?;
        let gap = nanos_from_millis(class_gen.interarrival_ms.sample(&mut d.rng));
        Some((class_gen, gap))
    }

    /// The first arrival of `device`, if it generates any.
    pub fn first_arrival(&mut self, device: u32) -> Option<SimTime> {
        let end = self.end;
        let (class_gen, gap) = self.gap(device)?;
        let t = class_gen.start.after(gap);
        (t <= end).then_some(t)
    }

    /// A task of `device` arriving now, and the device's next arrival time.
    /// `None` once the task limit is reached.
    pub fn arrive(&mut self, device: u32, now: SimTime) -> Option<(TaskAttrs, Option<SimTime>)> {
        if self.made >= self.max_tasks {
            return None;
        }
        self.made += 1;
        let d = &mut self.devices[device as usize];
        let class_gen = self.classes[d.class as usize].as_ref().expect("arrivals only for generators");
        let rng = &mut d.rng;
        let attrs = TaskAttrs {
            work_cycles: class_gen.work_mcycles.sample(rng) * 1e6,
            input_bytes: class_gen.input_bytes.draw(rng),
            output_bytes: class_gen.output_bytes.draw(rng),
            memory_bytes: class_gen.memory_bytes.draw(rng),
            image: class_gen.image,
            priority: class_gen.priority,
            deadline_ns: class_gen.deadline_ns,
            constraint: class_gen.constraint,
        };
        let end = self.end;
        let next = self.gap(device).map(|(_, gap)| now.after(gap)).filter(|&t| t <= end && self.made < self.max_tasks);
        Some((attrs, next))
    }

    /// Starts loading `device`'s stream and class into the cache (see
    /// [`crate::engine::prefetch`]).
    #[inline]
    pub fn prefetch(&self, device: u32) {
        if let Some(d) = self.devices.get(device as usize) {
            crate::engine::prefetch(d);
        }
    }

    /// True once the task limit is reached: no device makes another task.
    pub fn exhausted(&self) -> bool {
        self.made >= self.max_tasks
    }
}
