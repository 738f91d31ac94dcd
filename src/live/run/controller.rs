//! The live run's dispatcher: replays the workload tasks in real time, asks
//! the policy for each through the live view, commands the workers, and
//! turns their events and the engine's CPU measurements into the same rows
//! and summary the simulator produces. Views, placement checks and task
//! ends go through the task core ([`crate::dispatch`]), as in the
//! simulator; settings and units come from the resolved [`World`].
//!
//! Times are nanoseconds since the run's start on this process's monotonic
//! clock. A task's latency is measured here, from its arrival to the
//! worker's report of its end; its phases are the workers' measurements.

use crate::dispatch::{Ending, Outcomes, check_placement, task_view};
use crate::engine::{NANOS_PER_SEC, SimRng, SimTime};
use crate::error::{Error, Result};
use crate::live::protocol::{Command, Event, OffloadRequest, Role, Status};
use crate::live::run::cluster::{Cluster, Msg};
use crate::live::run::tasks::WorkloadTask;
use crate::live::run::view::LiveView;
use crate::metrics::{SampleRow, Sink, Summary, Totals};
use crate::model::{Purpose, World, stream};
use crate::policy::{EndReason, NodeId, Placement, Policy, TaskView};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::io::Write;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long a worker may stay silent before it counts as lost.
const SILENCE: Duration = Duration::from_secs(5);

/// How long the run waits for any news before ending what is in flight.
const STALL: Duration = Duration::from_secs(60);

/// A task between its arrival and its end.
struct InFlight {
    view: TaskView,
    placement: Placement,
    dispatched: SimTime,
    in_warmup: bool,
}

/// Per-entity energy and CPU accounting from the engine's measurements.
struct Ledger {
    last: Option<Vec<Option<(Instant, u64)>>>,
    /// Busy core-seconds per entity (entity cores, not host cores).
    busy_core_s: Vec<f64>,
    energy_j: Vec<f64>,
}

/// The dispatcher of one live run.
pub struct Controller<'a, P: Policy, S: Sink> {
    world: &'a World,
    cluster: &'a mut Cluster,
    policy: P,
    rng: SimRng,
    view: LiveView,
    outcomes: Outcomes<S>,
    start: Instant,
    pending: BTreeMap<u64, InFlight>,
    deadlines: BinaryHeap<Reverse<(SimTime, u64)>>,
    ledger: Ledger,
    warmup: SimTime,
    /// Per entity: wall-clock host cores it may use (its CPU quota).
    host_cpus: Vec<f64>,
    /// Per entity: when it was last heard from, and whether it is lost.
    last_heard: Vec<Instant>,
    lost: Vec<bool>,
    /// Per entity: its latest cumulative CPU time and when it arrived.
    cpu: Vec<Option<(Instant, u64)>>,
    /// Per node: when the view last took its report.
    node_heard: Vec<Option<SimTime>>,
    heartbeat_ns: u64,
    /// Write utilisation rows (every `sample_every_ns`).
    sample_ns: u64,
    sample_every_ns: u64,
    next_sample: SimTime,
    radio_j: f64,
    network_j: f64,
    events: u64,
    last_end: SimTime,
}

impl<'a, P: Policy, S: Sink> Controller<'a, P, S> {
    /// The dispatcher of a run of `world` (its images placed as the
    /// policy asked) on `cluster`.
    pub fn new(world: &'a World, cluster: &'a mut Cluster, policy: P, seed: u64, sink: S) -> Self {
        let n = cluster.entities.len();
        let host_cpus = cluster.entities.iter().map(|e| e.host_cpus).collect();
        let settings = &world.settings;
        Controller {
            world,
            view: LiveView::new(world),
            cluster,
            outcomes: Outcomes::new(sink, &policy),
            policy,
            rng: stream(seed, Purpose::Policy, 0),
            start: Instant::now(),
            pending: BTreeMap::new(),
            deadlines: BinaryHeap::new(),
            ledger: Ledger { last: None, busy_core_s: vec![0.0; n], energy_j: vec![0.0; n] },
            warmup: settings.warmup,
            host_cpus,
            last_heard: vec![Instant::now(); n],
            lost: vec![false; n],
            cpu: vec![None; n],
            node_heard: vec![None; world.nodes.len()],
            heartbeat_ns: settings.heartbeat_ns,
            sample_ns: settings.sample_ns,
            sample_every_ns: if settings.sample_ns > 0 { settings.sample_ns } else { NANOS_PER_SEC },
            next_sample: SimTime::ZERO,
            radio_j: 0.0,
            network_j: 0.0,
            events: 0,
            last_end: SimTime::ZERO,
        }
    }

    fn now(&self) -> SimTime {
        SimTime(self.start.elapsed().as_nanos() as u64)
    }

    /// Replays `tasks` (in arrival order) and waits for the last to end.
    /// Returns the summary, the sink and the policy.
    pub fn run(mut self, tasks: &[WorkloadTask], rx: &Receiver<Msg>) -> Result<(Summary, S, P)> {
        // The first CPU reading is the baseline; the clock (and what the
        // view heard on the old one) starts afresh after it.
        self.await_baseline(rx)?;
        self.start = Instant::now();
        self.view = LiveView::new(self.world);
        self.node_heard.fill(None);
        self.next_sample = SimTime(self.sample_every_ns);
        let horizon = self.world.settings.horizon;
        for task in tasks {
            self.serve_until(task.arrival, rx)?;
            self.dispatch(task)?;
        }
        let mut quiet = Instant::now();
        while !self.pending.is_empty() {
            if let Some(h) = horizon
                && self.now() >= h
            {
                self.end_all(h, EndReason::Horizon)?;
                break;
            }
            let before = self.events;
            let step = self.now().after(100_000_000);
            self.serve_until(horizon.map_or(step, |h| step.min(h)), rx)?;
            if self.events != before {
                quiet = Instant::now();
            } else if quiet.elapsed() > STALL {
                self.end_all_failed(&format!("no news from any worker for {} s", STALL.as_secs()))?;
            }
        }
        let end = match horizon {
            Some(h) if self.now() >= h => h,
            _ => self.last_end,
        };
        // A last reading so the totals cover the whole run.
        self.final_reading(rx)?;
        let totals = self.totals(end);
        Ok((self.outcomes.summary(totals), self.outcomes.into_sink(), self.policy))
    }

    /// Waits for every worker's first CPU reading: the baseline.
    fn await_baseline(&mut self, rx: &Receiver<Msg>) -> Result<()> {
        let give_up = Instant::now() + STALL;
        while self.cpu.iter().any(Option::is_none) {
            match rx.recv_timeout(give_up.saturating_duration_since(Instant::now())) {
                Ok(m) => self.on_worker(m)?,
                Err(_) => {
                    let missing: Vec<&str> = (self.cluster.entities.iter().zip(&self.cpu))
                        .filter(|(_, c)| c.is_none())
                        .map(|(e, _)| e.name.as_str())
                        .collect();
                    return Err(Error::Live(format!(
                        "no CPU time reported within {} s by: {} (can the workers read their cgroup?)",
                        STALL.as_secs(),
                        missing.join(", ")
                    )));
                }
            }
        }
        self.ledger.last = Some(self.cpu.clone());
        Ok(())
    }

    /// Waits (briefly) for a reading of every worker taken after the end, so
    /// the totals cover the whole run.
    fn final_reading(&mut self, rx: &Receiver<Msg>) -> Result<()> {
        let wanted = Instant::now();
        let give_up = wanted + Duration::from_secs(2);
        while self.cpu.iter().flatten().any(|(at, _)| *at < wanted) {
            match rx.recv_timeout(give_up.saturating_duration_since(Instant::now())) {
                Ok(Msg::Event(i, ev)) => self.on_event(i, ev)?,
                Ok(Msg::Lost(..)) => {}
                Err(_) => break,
            }
        }
        self.on_cpu(self.cpu.clone())
    }

    /// Handles messages and deadlines until `until`.
    fn serve_until(&mut self, until: SimTime, rx: &Receiver<Msg>) -> Result<()> {
        loop {
            if crate::interrupt::received().is_some() {
                return Err(Error::Live("interrupted; the run's containers are being removed".into()));
            }
            let now = self.now();
            self.expire_deadlines(now)?;
            self.check_silence()?;
            if now >= until {
                return Ok(());
            }
            if now >= self.next_sample {
                self.on_cpu(self.cpu.clone())?;
                self.next_sample = self.next_sample.after(self.sample_every_ns);
            }
            let next = self.deadlines.peek().map_or(until, |Reverse((d, _))| (*d).min(until)).min(self.next_sample);
            let wait = Duration::from_nanos(next.since(now)).min(Duration::from_millis(100));
            match rx.recv_timeout(wait) {
                Ok(m) => self.on_worker(m)?,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Err(Error::Live("every worker is gone".into())),
            }
        }
    }

    fn on_worker(&mut self, m: Msg) -> Result<()> {
        match m {
            Msg::Event(i, ev) => self.on_event(i, ev),
            Msg::Lost(i, why) => self.worker_lost(i, &why),
        }
    }

    /// Worker `i` is gone: its tasks, and any sent to it later, fail.
    fn worker_lost(&mut self, i: usize, why: &str) -> Result<()> {
        if std::mem::replace(&mut self.lost[i], true) {
            return Ok(());
        }
        let e = &self.cluster.entities[i];
        let logs = self.cluster.logs_tail(i, 5).unwrap_or_default();
        let logs = if logs.trim().is_empty() { String::new() } else { format!("; its log ends:\n{}", logs.trim_end()) };
        eprintln!("warning: worker `{}` lost: {why}{logs}", e.name);
        let (role, index) = (e.role, e.index);
        let ids: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, f)| match role {
                Role::Device => f.view.device == index,
                Role::Node => f.placement == Placement::Offload(NodeId(index)),
            })
            .map(|(id, _)| *id)
            .collect();
        let now = self.now();
        for id in ids {
            self.end(id, now, EndReason::Failed, [0; 5], None)?;
        }
        Ok(())
    }

    /// Declares lost every worker silent for longer than [`SILENCE`]
    /// (workers report every few hundred milliseconds at most).
    fn check_silence(&mut self) -> Result<()> {
        for i in 0..self.lost.len() {
            if !self.lost[i] && self.last_heard[i].elapsed() > SILENCE {
                self.worker_lost(i, &format!("no report for {} s", SILENCE.as_secs()))?;
            }
        }
        Ok(())
    }

    fn on_event(&mut self, i: usize, ev: Event) -> Result<()> {
        self.events += 1;
        self.last_heard[i] = Instant::now();
        let now = self.now();
        let e = &self.cluster.entities[i];
        match ev {
            Event::Hello { .. } => {}
            Event::Report(r) => {
                if let Some(ns) = r.cgroup_cpu_ns {
                    self.cpu[i] = Some((Instant::now(), ns));
                }
                match e.role {
                    Role::Device => self.view.device_report(self.world, now, e.index, &r),
                    // The dispatcher hears from nodes once per heartbeat.
                    Role::Node
                        if self.node_heard[e.index as usize].is_none_or(|t| now.since(t) >= self.heartbeat_ns) =>
                    {
                        self.node_heard[e.index as usize] = Some(now);
                        self.view.node_report(self.world, now, e.index, &r);
                    }
                    Role::Node => {}
                }
            }
            Event::Finished { id, status, phases, exec_start_ns } => {
                let Some(f) = self.pending.get(&id) else { return Ok(()) }; // ended already (deadline)
                let exec_start = exec_start_ns.map(|ns| f.dispatched.after(ns));
                let reason = match status {
                    Status::Completed => EndReason::Completed,
                    Status::QueueFull => EndReason::QueueFull,
                    Status::InsufficientMemory => EndReason::InsufficientMemory,
                    Status::Failed { error } => {
                        eprintln!("warning: task {id} failed: {error}");
                        EndReason::Failed
                    }
                };
                self.end(id, now, reason, phases, exec_start)?;
            }
        }
        Ok(())
    }

    fn expire_deadlines(&mut self, now: SimTime) -> Result<()> {
        while let Some(&Reverse((d, id))) = self.deadlines.peek() {
            if d > now {
                break;
            }
            self.deadlines.pop();
            if self.pending.contains_key(&id) {
                self.end(id, d, EndReason::Timeout, [0; 5], None)?;
            }
        }
        Ok(())
    }

    /// Decides `task` and sends it on its way.
    fn dispatch(&mut self, task: &WorkloadTask) -> Result<()> {
        let now = self.now();
        let a = &task.attrs;
        let view = task_view(self.world, task.id, task.device, task.arrival, a);
        let in_warmup = task.arrival < self.warmup;
        let dead = self
            .world
            .class_of(task.device)
            .battery_j
            .is_some_and(|cap| self.view.device_energy_j(task.device, now) >= cap);
        let placement = if dead {
            Placement::Local
        } else {
            self.view.decide(self.world, now, &view, a.constraint, &mut self.policy, &mut self.rng)
        };
        self.pending.insert(task.id, InFlight { view, placement, dispatched: now, in_warmup });
        if dead {
            return self.end(task.id, task.arrival, EndReason::BatteryDepleted, [0; 5], None);
        }
        if self.world.settings.abort_on_deadline
            && let Some(d) = view.deadline
        {
            self.deadlines.push(Reverse((d, task.id)));
        }
        if let Err(reason) = check_placement(self.world, placement, a.constraint, a.memory_bytes) {
            return self.end(task.id, now, reason, [0; 5], None);
        }
        let device = task.device as usize;
        if self.lost[device] {
            return self.end(task.id, now, EndReason::Failed, [0; 5], None);
        }
        let command = match placement {
            Placement::Local => Command::Run { id: task.id, cycles: a.work_cycles, priority: a.priority },
            Placement::Offload(NodeId(n)) => {
                if self.lost[self.world.devices.len() + n as usize] {
                    return self.end(task.id, now, EndReason::Failed, [0; 5], None);
                }
                let class = self.world.class_of(task.device);
                Command::Offload(OffloadRequest {
                    id: task.id,
                    priority: a.priority,
                    overhead_cycles: class.offload_overhead_cycles,
                    proxy: self.cluster.proxy_for(device, n as usize),
                    route: task.device,
                    cycles: a.work_cycles,
                    input_bytes: a.input_bytes,
                    output_bytes: a.output_bytes,
                    memory_bytes: a.memory_bytes,
                    image: a.image,
                    setup_rtts: class.protocol.setup_rtts.round() as u32,
                    header_bytes: class.protocol.header_bytes,
                })
            }
        };
        let mut line = serde_json::to_string(&command).expect("commands serialise");
        line.push('\n');
        if let Err(e) = self.cluster.control[device].write_all(line.as_bytes()) {
            eprintln!("warning: cannot reach device worker `{}`: {e}", self.cluster.entities[device].name);
            return self.end(task.id, now, EndReason::Failed, [0; 5], None);
        }
        Ok(())
    }

    /// Ends task `id` at `at`: writes its row, tells the policy. Device
    /// energy is modelled: its CPU power over the task's execution on the
    /// device, and its radio power over the time the task's messages take
    /// on the access network at its nominal bandwidth (the simulator's
    /// definition; the live upload and download phases also hold latency).
    fn end(
        &mut self,
        id: u64,
        at: SimTime,
        reason: EndReason,
        phases: [u64; 5],
        exec_start: Option<SimTime>,
    ) -> Result<()> {
        let Some(f) = self.pending.remove(&id) else { return Ok(()) };
        let at = at.max(f.view.arrival);
        self.last_end = self.last_end.max(at);
        let class = self.world.class_of(f.view.device);
        let (up, down) = self.world.networks[class.network as usize];
        let header = class.protocol.header_bytes as f64;
        let on_air = |bytes: u64, link: u32, happened: bool| {
            let bandwidth_bps = self.world.links[link as usize].params().bandwidth_bps;
            if happened { (bytes as f64 + header) * 8.0 / bandwidth_bps } else { 0.0 }
        };
        let (cpu_j, radio_j) = match f.placement {
            Placement::Local => (class.cpu.core_energy_j(class.cores, phases[3]), 0.0),
            Placement::Offload(_) => {
                let sent = phases[1] > 0;
                let prep_ns = if sent { (class.offload_overhead_cycles / class.speed_hz * 1e9) as u64 } else { 0 };
                let tx_s = on_air(f.view.input_bytes, up, sent);
                let rx_s = on_air(f.view.output_bytes, down, phases[4] > 0);
                (class.cpu.core_energy_j(class.cores, prep_ns), class.tx_w * tx_s + class.rx_w * rx_s)
            }
        };
        if !f.in_warmup {
            self.radio_j += radio_j;
            self.network_j += self.network_energy_j(&f, reason);
        }
        let ending = Ending {
            id,
            device: f.view.device,
            priority: f.view.priority,
            arrival: f.view.arrival,
            deadline: f.view.deadline,
            placement: f.placement,
            reason,
            end: at,
            exec_start,
            phases,
            energy_j: cpu_j + radio_j,
            in_warmup: f.in_warmup,
        };
        self.outcomes.record(self.world, &ending, &mut self.policy, || f.view)
    }

    /// Energy of the bits a task moved across links (counted when the task
    /// got as far as sending them).
    fn network_energy_j(&self, f: &InFlight, reason: EndReason) -> f64 {
        let Placement::Offload(NodeId(n)) = f.placement else { return 0.0 };
        if reason != EndReason::Completed {
            return 0.0;
        }
        let class = self.world.class_of(f.view.device);
        let (access_up, access_down) = self.world.networks[class.network as usize];
        let Some(node) = self.world.nodes.get(n as usize) else { return 0.0 };
        let j_per_bit = |link: u32| self.world.links[link as usize].params().energy_j_per_bit;
        let header = class.protocol.header_bytes as f64;
        let up = (f.view.input_bytes as f64 + header) * 8.0 * (j_per_bit(access_up) + j_per_bit(node.up_link));
        let down = (f.view.output_bytes as f64 + header) * 8.0 * (j_per_bit(node.down_link) + j_per_bit(access_down));
        up + down
    }

    fn end_all(&mut self, at: SimTime, reason: EndReason) -> Result<()> {
        let ids: Vec<u64> = self.pending.keys().copied().collect();
        for id in ids {
            self.end(id, at, reason, [0; 5], None)?;
        }
        Ok(())
    }

    fn end_all_failed(&mut self, why: &str) -> Result<()> {
        eprintln!("warning: {} task(s) still in flight end as failed: {why}", self.pending.len());
        self.end_all(self.now(), EndReason::Failed)
    }

    /// CPU readings: utilisation rows and energy since the previous ones.
    fn on_cpu(&mut self, readings: Vec<Option<(Instant, u64)>>) -> Result<()> {
        let Some(mut last) = self.ledger.last.take() else {
            self.ledger.last = Some(readings);
            return Ok(());
        };
        let latest = readings.iter().flatten().map(|(at, _)| *at).max();
        let t = SimTime(latest.map_or(0, |at| at.saturating_duration_since(self.start).as_nanos() as u64));
        let counted = t > self.warmup;
        for (i, e) in self.cluster.entities.iter().enumerate() {
            let (Some((at, cpu)), Some((before_at, before))) = (readings[i], last[i]) else { continue };
            let dt_ns = at.saturating_duration_since(before_at).as_nanos() as u64;
            if dt_ns == 0 {
                continue;
            }
            last[i] = Some((at, cpu));
            // A busy core of the entity burns `host_cpus / cores` of a host core.
            let busy_core_ns = cpu.saturating_sub(before) as f64 * f64::from(e.cores) / self.host_cpus[i];
            let u = (busy_core_ns / (dt_ns as f64 * f64::from(e.cores))).clamp(0.0, 1.0);
            let (power, kind, group, name, index) = match e.role {
                Role::Device => {
                    let class = self.world.class_of(e.index);
                    let (_, idx) = self.world.device_name(e.index);
                    let power = class.cpu.idle_w + (class.cpu.busy_w - class.cpu.idle_w) * u;
                    (power, "device", class.name.as_str(), class.name.as_str(), Some(idx))
                }
                Role::Node => {
                    let cpu = &self.world.nodes[e.index as usize].cpu;
                    let info = &self.world.node_info[e.index as usize];
                    let power = cpu.idle_w + (cpu.busy_w - cpu.idle_w) * u;
                    (power, "node", info.tier.as_str(), info.name.as_str(), None)
                }
            };
            if counted {
                self.ledger.busy_core_s[i] += busy_core_ns / 1e9;
                self.ledger.energy_j[i] += power * dt_ns as f64 / 1e9;
            }
            if self.sample_ns > 0 {
                self.outcomes.sink().sample(&SampleRow {
                    time: t,
                    kind,
                    group,
                    name,
                    index,
                    utilisation: u,
                    power_w: power,
                })?;
            }
        }
        self.ledger.last = Some(last);
        Ok(())
    }

    fn totals(&self, end: SimTime) -> Totals {
        let mut t = Totals {
            measured_s: (end.since(self.warmup)) as f64 / 1e9,
            end_s: end.0 as f64 / 1e9,
            events: self.events,
            network_energy_j: self.network_j,
            ..Totals::default()
        };
        for (i, e) in self.cluster.entities.iter().enumerate() {
            match e.role {
                Role::Device => {
                    t.device_busy_core_s += self.ledger.busy_core_s[i];
                    t.device_cores += u64::from(e.cores);
                    t.device_energy_j += self.ledger.energy_j[i];
                }
                Role::Node => {
                    t.node_busy_core_s += self.ledger.busy_core_s[i];
                    t.node_cores += u64::from(e.cores);
                    t.node_energy_j += self.ledger.energy_j[i];
                }
            }
        }
        t.device_energy_j += self.radio_j;
        t
    }
}
