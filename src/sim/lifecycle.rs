//! A task's life: arrival, decision, the device and node paths, and its end
//! (completion, or an early end such as a timeout).

use super::{Event, Simulation, Source};
use crate::dispatch::{Ending, NodeReport, check_placement, device_view, task_view};
use crate::engine::{PendingEvents, Scheduler, SimTime, ceil_to_u64, round_to_u64};
use crate::metrics::Sink;
use crate::model::{Flow, Node, Phase, Readiness, Stage, Task, TaskAttrs, TaskRef};
use crate::policy::{EndReason, NodeId, Placement, Policy};

/// Node `node`'s load as it is at `now`, its utilisation averaged with decay
/// `decay_per_ns`: what it would report.
#[inline]
pub(super) fn current_report(node: &Node, now: SimTime, decay_per_ns: f64) -> NodeReport {
    NodeReport {
        queue_len: node.queued,
        busy_cores: node.busy,
        free_memory_bytes: node.free_memory_bytes,
        cpu_utilisation: node.meter.utilisation_at(now, node.cores, decay_per_ns),
    }
}

/// Nanoseconds to run `cycles` taking `ns_per_cycle` each (rounded up).
fn run_ns(cycles: f64, ns_per_cycle: f64) -> u64 {
    ceil_to_u64(cycles * ns_per_cycle)
}

impl<P: Policy, S: Sink> Simulation<P, S> {
    pub(super) fn on_generated_arrival<Q: PendingEvents<Event>>(
        &mut self,
        now: SimTime,
        device: u32,
        s: &mut Scheduler<Event, Q>,
    ) {
        let Source::Generated(g) = &mut self.source else { unreachable!("generated arrival without generators") };
        // After the task limit, the arrivals still scheduled are void (the
        // limit already set `pending_arrivals` to zero).
        let Some((attrs, next)) = g.arrive(device, now) else { return };
        if g.exhausted() {
            self.pending_arrivals = 0;
        } else {
            match next {
                Some(t) => s.at(t, Event::Arrival { device }),
                None => self.pending_arrivals -= 1,
            }
        }
        let id = self.next_task_id;
        self.next_task_id += 1;
        self.admit(now, id, device, attrs, s);
    }

    pub(super) fn on_trace_arrival<Q: PendingEvents<Event>>(&mut self, now: SimTime, s: &mut Scheduler<Event, Q>) {
        let Source::Trace { reader, next } = &mut self.source else { unreachable!("trace arrival without a trace") };
        let row = next.take().expect("a trace arrival is scheduled with its row");
        match reader.next_row(&mut self.world) {
            Ok(Some(n)) => {
                s.at(n.arrival, Event::TraceArrival);
                *next = Some(n);
            }
            Ok(None) => self.pending_arrivals = 0,
            Err(e) => return self.fail(e),
        }
        self.admit(now, row.id, row.device, row.attrs, s);
    }

    /// A new task: decide its placement and send it on its way.
    fn admit<Q: PendingEvents<Event>>(
        &mut self,
        now: SimTime,
        id: u64,
        device: u32,
        a: TaskAttrs,
        s: &mut Scheduler<Event, Q>,
    ) {
        let mut task = Task::new(id, device, now, &a, now < self.cfg.warmup);
        let deadline = task.deadline;
        self.last_activity = now;
        if self.world.devices[device as usize].dead {
            let t = self.tasks.insert(task);
            return self.end(now, t, EndReason::BatteryDepleted);
        }
        // Decided before it is stored: the view is read from the new task
        // as built, not back from its slot just written.
        task.placement = self.decide(now, id, device, &a);
        let t = self.tasks.insert(task);
        if self.cfg.abort_on_deadline
            && let Some(d) = deadline
        {
            s.at(d, Event::Deadline { task: t });
        }
        let delay = match &self.decision {
            Some(d) => crate::engine::nanos_from_millis(d.sample(&mut self.decision_rng)),
            None => 0,
        };
        if delay > 0 {
            s.after(delay, Event::Decided { task: t });
        } else {
            self.dispatch(now, t, s);
        }
    }

    /// Sends task `t` where the policy placed it.
    pub(super) fn dispatch<Q: PendingEvents<Event>>(&mut self, now: SimTime, t: TaskRef, s: &mut Scheduler<Event, Q>) {
        let Some(task) = self.tasks.get(t) else { return }; // timed out while being decided
        let (device, placement) = (task.device, task.placement);
        if let Err(reason) = check_placement(&self.world, placement, task.constraint, task.memory_bytes) {
            return self.end(now, t, reason);
        }
        match placement {
            Placement::Local => self.enqueue_on_device(now, device, t, Stage::LocalQueued, s),
            Placement::Offload(_) if self.world.class_of(device).offload_overhead_cycles > 0.0 => {
                self.enqueue_on_device(now, device, t, Stage::PrepQueued, s)
            }
            Placement::Offload(_) => self.start_setup(now, t, s),
        }
    }

    /// Asks the policy where task `id`, just arrived at `device` with
    /// attributes `a`, runs.
    fn decide(&mut self, now: SimTime, id: u64, device: u32, a: &TaskAttrs) -> Placement {
        let tv = task_view(&self.world, id, device, now, a);
        let dev = &self.world.devices[device as usize];
        let dv = device_view(self.world.class_of(device), dev.queued, dev.busy, &dev.meter, now, self.cfg.decay_per_ns);
        let (world, policy, rng) = (&self.world, &mut self.policy, &mut self.policy_rng);
        if self.cfg.heartbeat_ns > 0 {
            return self.knowledge.decide(world, now, &tv, a.constraint, dv, policy, rng);
        }
        let decay = self.cfg.decay_per_ns;
        self.knowledge.decide_on_current(world, now, &tv, a.constraint, dv, policy, rng, |n, image| {
            let node = &world.nodes[n];
            (current_report(node, now, decay), image.map_or((true, true), |i| node.image_status(now, usize::from(i))))
        })
    }

    /// Puts task `t` on device `d`'s cores or queue.
    fn enqueue_on_device<Q: PendingEvents<Event>>(
        &mut self,
        now: SimTime,
        d: u32,
        t: TaskRef,
        stage: Stage,
        s: &mut Scheduler<Event, Q>,
    ) {
        let class = &self.world.classes[self.world.devices[d as usize].class as usize];
        let (cores, limit) = (class.cores, class.queue_limit);
        let task = self.tasks.get_mut(t).expect("live");
        task.stage = stage;
        let priority = task.priority;
        let dev = &mut self.world.devices[d as usize];
        if dev.busy < cores {
            return self.start_on_device(now, d, t, s);
        }
        if limit.is_some_and(|l| dev.queued >= l) {
            return self.end(now, t, EndReason::QueueFull);
        }
        dev.queue.push(t, priority);
        dev.queued += 1;
    }

    fn start_on_device<Q: PendingEvents<Event>>(
        &mut self,
        now: SimTime,
        d: u32,
        t: TaskRef,
        s: &mut Scheduler<Event, Q>,
    ) {
        let class = self.world.class_of(d);
        let (ns_per_cycle, overhead) = (class.ns_per_cycle, class.offload_overhead_cycles);
        let task = self.tasks.get_mut(t).expect("live");
        let cycles = match task.stage {
            Stage::LocalQueued => {
                task.stage = Stage::LocalRunning;
                task.exec_start = Some(now);
                task.work_cycles
            }
            Stage::PrepQueued => {
                task.stage = Stage::PrepRunning;
                overhead
            }
            other => unreachable!("device start in stage {other:?}"),
        };
        task.enter(now, Phase::Exec);
        task.stage_since = now;
        self.device_touch(now, d);
        self.world.devices[d as usize].busy += 1;
        self.device_settle(now, d, s);
        s.after(run_ns(cycles, ns_per_cycle), Event::DeviceDone { device: d, task: t });
    }

    pub(super) fn on_device_done<Q: PendingEvents<Event>>(
        &mut self,
        now: SimTime,
        d: u32,
        t: TaskRef,
        s: &mut Scheduler<Event, Q>,
    ) {
        // A task that ended while running freed its core then.
        let Some(task) = self.tasks.get_mut(t) else { return };
        let class = &self.world.classes[self.world.devices[d as usize].class as usize];
        task.energy_j += class.cpu.core_energy_j(class.cores, now.since(task.stage_since));
        let stage = task.stage;
        self.device_touch(now, d);
        self.world.devices[d as usize].busy -= 1;
        self.device_settle(now, d, s);
        match stage {
            Stage::LocalRunning => self.end(now, t, EndReason::Completed),
            Stage::PrepRunning => self.start_setup(now, t, s),
            other => unreachable!("device done in stage {other:?}"),
        }
        self.start_next_on_device(now, d, s);
    }

    fn start_next_on_device<Q: PendingEvents<Event>>(&mut self, now: SimTime, d: u32, s: &mut Scheduler<Event, Q>) {
        let cores = self.world.class_of(d).cores;
        loop {
            let dev = &mut self.world.devices[d as usize];
            if dev.dead || dev.busy >= cores {
                return;
            }
            let Some(next) = dev.queue.pop() else { return };
            if self.tasks.get(next).is_none() {
                continue; // ended while queued
            }
            dev.queued -= 1;
            self.start_on_device(now, d, next, s);
        }
    }

    /// Protocol set-up before the upload: `setup_rtts` round trips of the
    /// device-node path (base latencies).
    fn start_setup<Q: PendingEvents<Event>>(&mut self, now: SimTime, t: TaskRef, s: &mut Scheduler<Event, Q>) {
        let task = self.tasks.get_mut(t).expect("live");
        task.enter(now, Phase::Upload);
        task.stage = Stage::Setup;
        let Placement::Offload(NodeId(n)) = task.placement else { unreachable!("set-up of a local task") };
        let class = self.world.class_of(task.device);
        let (up, down) = self.world.networks[class.network as usize];
        let node = &self.world.nodes[n as usize];
        let rtt: u64 = [up, node.up_link, node.down_link, down]
            .iter()
            .map(|&l| self.world.links[l as usize].params().latency_ns)
            .sum();
        let setup = round_to_u64(class.protocol.setup_rtts * rtt as f64);
        if setup == 0 {
            self.send_upload(now, t, s);
        } else {
            s.after(setup, Event::SetupDone { task: t });
        }
    }

    pub(super) fn send_upload<Q: PendingEvents<Event>>(
        &mut self,
        now: SimTime,
        t: TaskRef,
        s: &mut Scheduler<Event, Q>,
    ) {
        let Some(task) = self.tasks.get_mut(t) else { return };
        task.stage = Stage::UpAccess;
        let device = task.device;
        let link = self.world.networks[self.world.class_of(device).network as usize].0;
        self.transmit(now, link, Flow::Task { task: t, device }, s);
    }

    /// The upload reached node `n`.
    pub(super) fn arrive_at_node<Q: PendingEvents<Event>>(
        &mut self,
        now: SimTime,
        t: TaskRef,
        n: u32,
        s: &mut Scheduler<Event, Q>,
    ) {
        let task = self.tasks.get_mut(t).expect("live");
        let Some(image) = task.image else {
            self.enqueue_on_node(now, n, t);
            return self.start_next_on_node(now, n, s);
        };
        task.enter(now, Phase::Startup);
        task.stage = Stage::Startup;
        let node = &mut self.world.nodes[n as usize];
        match node.arrive(now, image as usize) {
            Readiness::Now => {
                self.enqueue_on_node(now, n, t);
                self.start_next_on_node(now, n, s);
            }
            Readiness::At(ready) => s.at(ready, Event::Ready { task: t, node: n }),
            Readiness::AwaitPull => node.images[image as usize].waiters.push(t),
            Readiness::StartPull => {
                node.images[image as usize].waiters.push(t);
                let link = node.registry_link.expect("validated: a node that may pull has a registry");
                self.transmit(now, link, Flow::Pull { node: n, image }, s);
            }
        }
    }

    pub(super) fn on_ready<Q: PendingEvents<Event>>(
        &mut self,
        now: SimTime,
        t: TaskRef,
        n: u32,
        s: &mut Scheduler<Event, Q>,
    ) {
        if self.tasks.get(t).is_some() {
            self.enqueue_on_node(now, n, t);
            self.start_next_on_node(now, n, s);
        }
    }

    /// Queues task `t` at node `n`; [`Self::start_next_on_node`] starts it
    /// if a core and memory are free.
    fn enqueue_on_node(&mut self, now: SimTime, n: u32, t: TaskRef) {
        let task = self.tasks.get_mut(t).expect("live");
        task.enter(now, Phase::Wait);
        task.stage = Stage::NodeQueued;
        let (priority, image) = (task.priority, task.image);
        let node = &mut self.world.nodes[n as usize];
        if node.queue_limit.is_some_and(|l| node.queued >= l) {
            if let Some(i) = image {
                node.depart(now, i as usize);
            }
            return self.end(now, t, EndReason::QueueFull);
        }
        node.queue.push(t, priority);
        node.queued += 1;
    }

    /// Starts queued tasks at node `n` while cores and memory allow
    /// (head-of-line: a task that does not fit in memory blocks the queue).
    fn start_next_on_node<Q: PendingEvents<Event>>(&mut self, now: SimTime, n: u32, s: &mut Scheduler<Event, Q>) {
        loop {
            let node = &mut self.world.nodes[n as usize];
            let Some(next) = node.queue.peek() else { return };
            let Some(task) = self.tasks.get_mut(next) else {
                node.queue.pop(); // ended while queued
                continue;
            };
            if node.busy >= node.cores || node.free_memory_bytes < task.memory_bytes {
                return;
            }
            node.queue.pop();
            node.queued -= 1;
            task.stage = Stage::NodeRunning;
            task.enter(now, Phase::Exec);
            task.exec_start = Some(now);
            let run = run_ns(task.work_cycles, node.ns_per_cycle);
            node.meter.advance(now, node.cores, self.cfg.decay_per_ns);
            node.busy += 1;
            node.free_memory_bytes -= task.memory_bytes;
            node.meter.set(node.busy, node.power_w());
            s.after(run, Event::NodeDone { node: n, task: next });
        }
    }

    pub(super) fn on_node_done<Q: PendingEvents<Event>>(
        &mut self,
        now: SimTime,
        n: u32,
        t: TaskRef,
        s: &mut Scheduler<Event, Q>,
    ) {
        // A task that ended while running freed its core then.
        let Some(task) = self.tasks.get(t) else { return };
        self.release_node_core(now, n, task.memory_bytes, task.image);
        let task = self.tasks.get_mut(t).expect("live");
        task.enter(now, Phase::Download);
        task.stage = Stage::DownNode;
        let device = task.device;
        let link = self.world.nodes[n as usize].down_link;
        self.transmit(now, link, Flow::Task { task: t, device }, s);
        self.start_next_on_node(now, n, s);
    }

    fn release_node_core(&mut self, now: SimTime, n: u32, memory: u64, image: Option<u16>) {
        let node = &mut self.world.nodes[n as usize];
        node.meter.advance(now, node.cores, self.cfg.decay_per_ns);
        node.busy -= 1;
        node.free_memory_bytes += memory;
        node.meter.set(node.busy, node.power_w());
        if let Some(i) = image {
            node.depart(now, i as usize);
        }
    }

    pub(super) fn on_deadline<Q: PendingEvents<Event>>(
        &mut self,
        now: SimTime,
        t: TaskRef,
        s: &mut Scheduler<Event, Q>,
    ) {
        self.kill(now, t, EndReason::Timeout, s);
    }

    /// Ends task `t` early, wherever it is, releasing what it holds. A
    /// message it has on a link finishes crossing and is then discarded.
    pub(super) fn kill<Q: PendingEvents<Event>>(
        &mut self,
        now: SimTime,
        t: TaskRef,
        reason: EndReason,
        s: &mut Scheduler<Event, Q>,
    ) {
        let Some(task) = self.tasks.get_mut(t) else { return };
        let d = task.device;
        let node = match task.placement {
            Placement::Offload(NodeId(n)) => n,
            Placement::Local => u32::MAX,
        };
        let (stage, memory, image) = (task.stage, task.memory_bytes, task.image);
        self.credit_energy_in_progress(now, t);
        match stage {
            Stage::LocalQueued | Stage::PrepQueued => self.world.devices[d as usize].queued -= 1,
            Stage::LocalRunning | Stage::PrepRunning => {
                self.device_touch(now, d);
                self.world.devices[d as usize].busy -= 1;
                self.device_settle(now, d, s);
            }
            Stage::Startup => self.world.nodes[node as usize]
                .depart(now, image.expect("start-up only for tasks with an image") as usize),
            Stage::NodeQueued => {
                let n = &mut self.world.nodes[node as usize];
                n.queued -= 1;
                if let Some(i) = image {
                    n.depart(now, i as usize);
                }
            }
            Stage::NodeRunning => self.release_node_core(now, node, memory, image),
            Stage::Deciding | Stage::Setup | Stage::UpAccess | Stage::UpNode | Stage::DownNode | Stage::DownAccess => {}
        }
        self.end(now, t, reason);
        match stage {
            Stage::LocalRunning | Stage::PrepRunning => self.start_next_on_device(now, d, s),
            Stage::NodeRunning | Stage::NodeQueued => self.start_next_on_node(now, node, s),
            _ => {}
        }
    }

    /// Charges task `t` for device work and radio time in progress at `now`,
    /// for a task that ends before they do.
    pub(super) fn credit_energy_in_progress(&mut self, now: SimTime, t: TaskRef) {
        let Some(task) = self.tasks.get(t) else { return };
        let (d, stage, since, on_air) = (task.device, task.stage, task.stage_since, task.on_air);
        let mut extra = 0.0;
        if matches!(stage, Stage::LocalRunning | Stage::PrepRunning) {
            let class = self.world.class_of(d);
            extra += class.cpu.core_energy_j(class.cores, now.since(since));
        }
        if on_air {
            self.device_touch(now, d);
            let dev = &self.world.devices[d as usize];
            let share = if stage == Stage::DownAccess { dev.rx_share_j } else { dev.tx_share_j };
            extra += share - self.tasks.get(t).expect("live").radio_mark_j;
        }
        self.tasks.get_mut(t).expect("live").energy_j += extra;
    }

    /// Removes task `t`, records it and tells the policy.
    pub(super) fn end(&mut self, now: SimTime, t: TaskRef, reason: EndReason) {
        let task = self.tasks.get_mut(t).expect("ending a live task");
        self.last_activity = now;
        let ending = Ending {
            id: task.id,
            device: task.device,
            priority: task.priority,
            arrival: task.arrival,
            deadline: task.deadline,
            placement: task.placement,
            reason,
            end: now,
            exec_start: task.exec_start,
            phases: task.close(now),
            energy_j: task.energy_j,
            in_warmup: task.in_warmup,
        };
        let world = &self.world;
        let view = || task_view(world, task.id, task.device, task.arrival, &task.attrs());
        let recorded = self.outcomes.record(world, &ending, &mut self.policy, view);
        self.tasks.remove(t);
        if let Err(e) = recorded {
            self.fail(e);
        }
    }
}
