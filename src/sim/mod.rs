//! The offload simulation: the model the engine drives.
//!
//! ```text
//!  workload ──► arrival ──► policy.decide(task, view) ──► local: device queue ─► core ─────────────► end
//!                                                   └──► offload: [prep] ─► set-up ─► uplinks ─►
//!                    node: [pull, cold start] ─► queue ─► core ─► downlinks ─► end ──► sink, summary
//! ```
//! One run is single-threaded and deterministic: events are handled in
//! `(time, sequence)` order and every random draw comes from a stream owned
//! by one component.

mod event;
mod lifecycle;
mod periodic;
mod transfer;

pub use event::Event;
use periodic::Marks;

use crate::dispatch::{Knowledge, Outcomes};
use crate::dist::Sampler;
use crate::engine::{self, PendingEvents, RadixEvents, Scheduler, SimRng, SimTime, Stop};
use crate::error::{Error, Result};
use crate::metrics::{Sink, Summary};
use crate::model::{Flow, Purpose, Settings, TaskRef, TaskSlab, World, stream};
use crate::policy::Policy;
use crate::scenario::LoadedScenario;
use crate::workload::{Generators, TraceReader, TraceRow};

enum Source {
    Generated(Generators),
    Trace { reader: Box<TraceReader>, next: Option<TraceRow> },
}

/// One simulation run of a policy `P`, writing rows to a sink `S`.
pub struct Simulation<P: Policy, S: Sink> {
    world: World,
    tasks: TaskSlab,
    policy: P,
    policy_rng: SimRng,
    source: Source,
    /// The world's settings, kept beside the hot state.
    cfg: Settings,
    /// What the dispatcher knows of the nodes.
    knowledge: Knowledge,
    /// Time to decide each task, if not instantaneous.
    decision: Option<Sampler>,
    decision_rng: SimRng,
    /// Ended tasks: summary, rows, the policy's outcomes.
    outcomes: Outcomes<S>,
    /// Scratch buffers reused across events.
    finished_flows: Vec<Flow>,
    scratch_tasks: Vec<TaskRef>,
    /// Arrivals still to come (devices with a scheduled arrival, or a trace row).
    pending_arrivals: u64,
    next_task_id: u64,
    /// Time of the last task arrival or end: where the run ends when the
    /// workload runs out (stale bookkeeping events after it do not count).
    last_activity: SimTime,
    last_sample: SimTime,
    link_energy_at_warmup: f64,
    /// Meter totals at the end of the warm-up and at the last sample.
    warmup_marks: Marks,
    sample_marks: Marks,
    failure: Option<Error>,
    /// Whether the devices' state outgrows the caches enough for
    /// prefetching to pay (see [`PREFETCH_ABOVE_BYTES`]).
    prefetch: bool,
}

/// Device state above which the simulation prefetches for upcoming events:
/// the second-level cache of the benchmark machine (1 MiB per core). Below
/// it the state stays cached and prefetching costs more than it saves;
/// above it an event's device and task come from the shared last level,
/// and waiting for them costs more. Measured on that machine (alternating
/// runs, 192 bytes per device): 100 devices took 19 % longer with it, 1,000
/// (192 KB) 8 % longer, 3,000 (576 KB) the same within the noise, 6,000
/// (1.15 MB) 13 % less time and 10,000 (1.9 MB) 20 % less; 1,000,000
/// (192 MB) took about 30 % less on an earlier machine.
const PREFETCH_ABOVE_BYTES: usize = 1 << 20;

impl<P: Policy, S: Sink> Simulation<P, S> {
    /// Prepares a run of `scenario` with master seed `seed`.
    pub fn new(scenario: &LoadedScenario, seed: u64, policy: P, sink: S) -> Result<Self> {
        let spec = &scenario.spec;
        let mut world = World::build(spec, seed);
        world.preload(&policy.preload());
        let source = match &spec.workload.trace {
            Some(path) => {
                let path = scenario.base_dir.join(path);
                Source::Trace { reader: Box::new(TraceReader::open(&path)?), next: None }
            }
            None => Source::Generated(Generators::new(spec, seed, &mut world.constraints)),
        };
        let device_bytes = world.devices.len() * size_of::<crate::model::Device>();
        Ok(Simulation {
            cfg: world.settings,
            knowledge: Knowledge::new(&world),
            world,
            tasks: TaskSlab::default(),
            outcomes: Outcomes::new(sink, &policy),
            policy,
            policy_rng: stream(seed, Purpose::Policy, 0),
            source,
            decision: spec.dispatcher.decision_ms.as_ref().map(|d| d.sampler()).filter(|d| !d.is_zero()),
            decision_rng: stream(seed, Purpose::Dispatcher, 0),
            finished_flows: Vec::new(),
            scratch_tasks: Vec::new(),
            pending_arrivals: 0,
            next_task_id: 0,
            last_activity: SimTime::ZERO,
            last_sample: SimTime::ZERO,
            link_energy_at_warmup: 0.0,
            warmup_marks: Marks::default(),
            sample_marks: Marks::default(),
            failure: None,
            prefetch: device_bytes > PREFETCH_ABOVE_BYTES,
        })
    }

    /// Runs to the end; returns the summary, the sink and the policy (which
    /// may have learnt something).
    pub fn run(mut self) -> Result<(Summary, S, P)> {
        let mut sched = Scheduler::new(RadixEvents::default());
        self.start(&mut sched)?;
        let horizon = self.cfg.horizon.unwrap_or(SimTime::MAX);
        let stop = engine::run(&mut self, &mut sched, horizon);
        if let Some(e) = self.failure.take() {
            return Err(e);
        }
        let end = if stop == Stop::Horizon { horizon } else { self.last_activity };
        let summary = self.finish(end, sched.delivered())?;
        Ok((summary, self.outcomes.into_sink(), self.policy))
    }

    /// Schedules the first arrivals and the periodic events.
    fn start<Q: PendingEvents<Event>>(&mut self, s: &mut Scheduler<Event, Q>) -> Result<()> {
        match &mut self.source {
            Source::Generated(g) => {
                for d in 0..self.world.devices.len() as u32 {
                    if let Some(t) = g.first_arrival(d) {
                        self.pending_arrivals += 1;
                        s.at(t, Event::Arrival { device: d });
                    }
                }
            }
            Source::Trace { reader, next } => {
                *next = reader.next_row(&mut self.world)?;
                if let Some(row) = next {
                    self.pending_arrivals = 1;
                    s.at(row.arrival, Event::TraceArrival);
                }
            }
        }
        for d in 0..self.world.devices.len() as u32 {
            if self.world.class_of(d).battery_j.is_some() {
                self.device_settle(SimTime::ZERO, d, s);
            }
        }
        if self.cfg.heartbeat_ns > 0 {
            s.after(self.cfg.heartbeat_ns, Event::Heartbeat);
        }
        if self.cfg.sample_ns > 0 {
            s.after(self.cfg.sample_ns, Event::Sample);
        }
        if self.cfg.warmup > SimTime::ZERO {
            s.at(self.cfg.warmup, Event::WarmupEnd);
        }
        Ok(())
    }

    /// True while tasks may still arrive or are in flight.
    fn active(&self) -> bool {
        self.pending_arrivals > 0 || !self.tasks.is_empty()
    }

    /// Records a failure; the engine stops before the next event.
    fn fail(&mut self, e: Error) {
        if self.failure.is_none() {
            self.failure = Some(e);
        }
    }
}

impl<P: Policy, S: Sink> engine::Model for Simulation<P, S> {
    type Event = Event;

    fn handle<Q: PendingEvents<Event>>(&mut self, now: SimTime, event: Event, s: &mut Scheduler<Event, Q>) {
        match event {
            Event::Arrival { device } => self.on_generated_arrival(now, device, s),
            Event::TraceArrival => self.on_trace_arrival(now, s),
            Event::DeviceDone { device, task } => self.on_device_done(now, device, task, s),
            Event::Decided { task } => self.dispatch(now, task, s),
            Event::SetupDone { task } => self.send_upload(now, task, s),
            Event::TxDone { link, generation } => self.on_tx_done(now, link, generation, s),
            Event::Delivered { flow } => self.on_delivered(now, flow, s),
            Event::Retransmit { link, flow } => self.transmit(now, link, flow, s),
            Event::Ready { task, node } => self.on_ready(now, task, node, s),
            Event::NodeDone { node, task } => self.on_node_done(now, node, task, s),
            Event::Deadline { task } => self.on_deadline(now, task, s),
            Event::BatteryEmpty { device, generation } => self.on_battery_empty(now, device, generation, s),
            Event::BatteryCheck { device } => self.on_battery_check(now, device, s),
            Event::Sample => self.on_sample(now, s),
            Event::Heartbeat => self.on_heartbeat(now, s),
            Event::WarmupEnd => self.on_warmup_end(now),
        }
    }

    fn finished(&self) -> bool {
        self.failure.is_some() || !self.active()
    }

    /// Loads the device and task the next event needs while this one is
    /// handled: with many devices they are rarely in the cache.
    #[inline(always)]
    fn prefetch(&self, event: &Event, ahead: usize) {
        // Only the switch is inlined into the event loop.
        if self.prefetch {
            self.prefetch_for(event, ahead);
        }
    }
}

impl<P: Policy, S: Sink> Simulation<P, S> {
    /// [`engine::Model::prefetch`] when it is switched on.
    #[inline(never)]
    fn prefetch_for(&self, event: &Event, ahead: usize) {
        let device = |d: u32| {
            if let Some(dev) = self.world.devices.get(d as usize) {
                engine::prefetch(dev);
            }
        };
        match *event {
            Event::Arrival { device: d } => {
                if let Source::Generated(g) = &self.source {
                    g.prefetch(d);
                }
                device(d);
            }
            Event::DeviceDone { device: d, task } => {
                device(d);
                self.tasks.prefetch(task);
                // The task that starts next on the device, once the device
                // itself is likely cached.
                if ahead == 0
                    && let Some(next) = self.world.devices.get(d as usize).and_then(|dev| dev.queue.peek())
                {
                    self.tasks.prefetch(next);
                }
            }
            Event::Delivered { flow: Flow::Task { task, device: d } } => {
                device(d);
                self.tasks.prefetch(task);
            }
            Event::Decided { task }
            | Event::SetupDone { task }
            | Event::Ready { task, .. }
            | Event::NodeDone { task, .. }
            | Event::Deadline { task } => self.tasks.prefetch(task),
            _ => {}
        }
    }
}
