//! Bookkeeping that is not part of any task: device power and battery,
//! utilisation samples, node heartbeats, the warm-up boundary, and the end
//! of the run.

use super::lifecycle::current_report;
use super::{Event, Simulation};
use crate::energy::Mark;
use crate::engine::{NANOS_PER_SEC, PendingEvents, Scheduler, SimTime};
use crate::error::Result;
use crate::metrics::{SampleRow, Sink, Summary, Totals};
use crate::policy::{EndReason, Policy};

/// How close to empty (in nanoseconds at maximum power) a battery must be
/// before its exact empty time is tracked on every state change.
const EXACT_WINDOW_NS: f64 = 1e7;

/// A meter mark per device and per node; none recorded yet means time zero.
#[derive(Default)]
pub(super) struct Marks {
    devices: Vec<Mark>,
    nodes: Vec<Mark>,
}

impl Marks {
    fn device(&self, d: usize) -> Mark {
        self.devices.get(d).copied().unwrap_or_default()
    }

    fn node(&self, n: usize) -> Mark {
        self.nodes.get(n).copied().unwrap_or_default()
    }
}

impl<P: Policy, S: Sink> Simulation<P, S> {
    /// Brings device `d`'s meter to `now`; call before changing its state.
    #[inline]
    pub(super) fn device_touch(&mut self, now: SimTime, d: u32) {
        let dev = &mut self.world.devices[d as usize];
        let class = &self.world.classes[dev.class as usize];
        dev.meter.advance(now, class.cores, self.cfg.decay_per_ns);
        dev.advance_radio(now, class);
    }

    /// Sets device `d`'s power after a state change and, for a battery
    /// device, keeps track of when the battery could run out.
    ///
    /// Far from empty, one conservative check is pending per device, at the
    /// earliest time the battery could be empty (remaining energy over the
    /// class's maximum power), so state changes add no events. Within
    /// [`EXACT_WINDOW_NS`] of maximum-power drain, every change predicts the
    /// exact empty time (older predictions go stale by generation).
    #[inline]
    pub(super) fn device_settle<Q: PendingEvents<Event>>(&mut self, now: SimTime, d: u32, s: &mut Scheduler<Event, Q>) {
        let class = &self.world.classes[self.world.devices[d as usize].class as usize];
        let dev = &mut self.world.devices[d as usize];
        let power = if dev.dead { 0.0 } else { dev.power_w(class) };
        dev.meter.set(dev.busy, power);
        let Some(capacity) = class.battery_j else { return };
        if dev.dead {
            return;
        }
        let left = (capacity - dev.meter.energy_j()).max(0.0);
        let earliest_ns = left / class.max_power_w() * NANOS_PER_SEC as f64;
        if earliest_ns <= EXACT_WINDOW_NS {
            dev.battery_generation = dev.battery_generation.wrapping_add(1);
            if power > 0.0 {
                let ns = (left / power * NANOS_PER_SEC as f64).ceil();
                if ns < (u64::MAX - now.as_nanos()) as f64 {
                    s.at(now.after(ns as u64), Event::BatteryEmpty { device: d, generation: dev.battery_generation });
                }
            }
        } else if !dev.battery_check_pending && earliest_ns < (u64::MAX - now.as_nanos()) as f64 {
            dev.battery_check_pending = true;
            s.at(now.after(earliest_ns as u64), Event::BatteryCheck { device: d });
        }
    }

    pub(super) fn on_battery_check<Q: PendingEvents<Event>>(
        &mut self,
        now: SimTime,
        d: u32,
        s: &mut Scheduler<Event, Q>,
    ) {
        self.world.devices[d as usize].battery_check_pending = false;
        self.device_touch(now, d);
        self.device_settle(now, d, s);
    }

    pub(super) fn on_battery_empty<Q: PendingEvents<Event>>(
        &mut self,
        now: SimTime,
        d: u32,
        generation: u32,
        s: &mut Scheduler<Event, Q>,
    ) {
        let dev = &self.world.devices[d as usize];
        if dev.dead || dev.battery_generation != generation {
            return;
        }
        self.device_touch(now, d);
        self.world.devices[d as usize].dead = true;
        self.device_settle(now, d, s);
        let mut victims = std::mem::take(&mut self.scratch_tasks);
        victims
            .extend(self.tasks.live_refs().into_iter().filter(|&t| self.tasks.get(t).is_some_and(|x| x.device == d)));
        for t in victims.drain(..) {
            self.kill(now, t, EndReason::BatteryDepleted, s);
        }
        self.scratch_tasks = victims;
    }

    /// Every node reports its state to the dispatcher, which sees it so
    /// until the next heartbeat.
    pub(super) fn on_heartbeat<Q: PendingEvents<Event>>(&mut self, now: SimTime, s: &mut Scheduler<Event, Q>) {
        for (n, node) in self.world.nodes.iter().enumerate() {
            let status = (0..node.images.len()).map(|i| node.image_status(now, i));
            self.knowledge.report(n, now, current_report(node, now, self.cfg.decay_per_ns), status);
        }
        s.after(self.cfg.heartbeat_ns, Event::Heartbeat);
    }

    pub(super) fn on_warmup_end(&mut self, now: SimTime) {
        self.advance_all(now);
        self.warmup_marks = Marks {
            devices: self.world.devices.iter().map(|d| d.meter.mark()).collect(),
            nodes: self.world.nodes.iter().map(|n| n.meter.mark()).collect(),
        };
        self.link_energy_at_warmup = self.world.links.iter().map(|l| l.energy_j()).sum();
    }

    fn advance_all(&mut self, now: SimTime) {
        let decay = self.cfg.decay_per_ns;
        for d in 0..self.world.devices.len() as u32 {
            let cores = self.world.class_of(d).cores;
            self.world.devices[d as usize].meter.advance(now, cores, decay);
        }
        for n in &mut self.world.nodes {
            n.meter.advance(now, n.cores, decay);
        }
    }

    pub(super) fn on_sample<Q: PendingEvents<Event>>(&mut self, now: SimTime, s: &mut Scheduler<Event, Q>) {
        self.write_samples(now);
        s.after(self.cfg.sample_ns, Event::Sample);
    }

    /// Writes one `utilisation.csv` row per device and node for the interval
    /// since the previous sample.
    fn write_samples(&mut self, now: SimTime) {
        let interval = now.since(self.last_sample) as f64 / NANOS_PER_SEC as f64;
        if interval <= 0.0 {
            return;
        }
        self.advance_all(now);
        self.last_sample = now;
        let marks = &mut self.sample_marks;
        marks.devices.resize(self.world.devices.len(), Mark::default());
        marks.nodes.resize(self.world.nodes.len(), Mark::default());
        let mut result = Ok(());
        for ((d, dev), mark) in self.world.devices.iter().enumerate().zip(&mut marks.devices) {
            let class = &self.world.classes[dev.class as usize];
            let (energy, busy) = dev.meter.take_sample(mark);
            let row = SampleRow {
                time: now,
                kind: "device",
                group: &class.name,
                name: &class.name,
                index: Some(d as u32 - class.first_device),
                utilisation: busy / (f64::from(class.cores) * interval),
                power_w: energy / interval,
            };
            result = result.and_then(|()| self.outcomes.sink().sample(&row));
        }
        for ((node, info), mark) in self.world.nodes.iter().zip(&self.world.node_info).zip(&mut marks.nodes) {
            let (energy, busy) = node.meter.take_sample(mark);
            let row = SampleRow {
                time: now,
                kind: "node",
                group: &info.tier,
                name: &info.name,
                index: None,
                utilisation: busy / (f64::from(node.cores) * interval),
                power_w: energy / interval,
            };
            result = result.and_then(|()| self.outcomes.sink().sample(&row));
        }
        if let Err(e) = result {
            self.fail(e);
        }
    }

    /// Ends the run at `end`: tasks still in flight end with reason
    /// `horizon`, meters close, the last partial sample is written.
    pub(super) fn finish(&mut self, end: SimTime, events: u64) -> Result<Summary> {
        for t in self.tasks.live_refs() {
            self.credit_energy_in_progress(end, t);
            self.end(end, t, EndReason::Horizon);
        }
        if self.cfg.sample_ns > 0 {
            self.write_samples(end);
        }
        self.advance_all(end);
        if let Some(e) = self.failure.take() {
            return Err(e);
        }
        let measured_ns = end.since(self.cfg.warmup);
        let mut totals = Totals {
            measured_s: measured_ns as f64 / NANOS_PER_SEC as f64,
            end_s: end.as_secs_f64(),
            events,
            network_energy_j: self.world.links.iter().map(|l| l.energy_j()).sum::<f64>() - self.link_energy_at_warmup,
            ..Totals::default()
        };
        if measured_ns > 0 {
            for (i, d) in self.world.devices.iter().enumerate() {
                let (e, busy) = d.meter.since(&self.warmup_marks.device(i));
                totals.device_energy_j += e;
                totals.device_busy_core_s += busy;
                totals.device_cores += u64::from(self.world.classes[d.class as usize].cores);
            }
            for (i, n) in self.world.nodes.iter().enumerate() {
                let (e, busy) = n.meter.since(&self.warmup_marks.node(i));
                totals.node_energy_j += e;
                totals.node_busy_core_s += busy;
                totals.node_cores += u64::from(n.cores);
            }
        }
        Ok(self.outcomes.summary(totals))
    }
}
