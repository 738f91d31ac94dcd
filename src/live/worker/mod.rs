//! The program inside every live container: `offsim worker '<json>'`.
//!
//! A worker is one device or one node of the scenario. Every connection to
//! it must first prove the run's secret ([`super::auth`]); a peer that does
//! not within two seconds is dropped, having made the worker read and
//! allocate nothing. It serves one authenticated control connection at a
//! time (see [`super::protocol`]): it greets the controller with
//! [`Event::Hello`], takes [`Command`]s (lines of bounded length) and answers
//! with [`Event`]s, sending a [`Report`] every `report_ms` (a device also
//! whenever its queue length or busy cores change). A command or task asking
//! for more than the run's [`Limits`] (unbounded work, a message larger than
//! any of the run's, a proxy that is not one of the run's) is refused with an
//! error, never executed.
//!
//! Its `cores` executor threads serve one run queue (FIFO, or by priority
//! with FIFO among equals) and execute real work paced to the entity's speed
//! ([`work::Pacer`]). As in the simulator, `queue_limit` counts
//! waiting tasks only, and a node starts the task at the head of its queue
//! only when a core is free and its memory fits (head-of-line).
//!
//! - A **device** runs `Run` tasks itself. For `Offload` it first executes
//!   the offload preparation on one of its cores, then, on a thread of the
//!   task's own, connects to the link proxy, makes the protocol's set-up
//!   round trips, sends the task frame and waits for the result frame.
//! - A **node** takes tasks on its data listener. It refuses at once a task
//!   needing more memory than it has; it then starts the task's container as
//!   the simulator's node model does (pulling the image from the registry,
//!   real bytes, if it is not cached; a cold start, emulated in time, if no
//!   container is warm; tasks of one image share one start), queues it (or
//!   refuses it if the queue is full), executes it and sends the result.
//!
//! Phase times combine both sides' measurements: the device's wait and
//! preparation, the node's wait, start-up and execution, and the transfers
//! from the wall clocks at connect, task arrival, result send and result
//! arrival.

mod containers;
mod pool;
pub mod work;

use super::auth::{self, Channel, Secret};
use super::protocol::{
    CONTROL_PORT, Command, DATA_PORT, Event, FrameKind, Limits, MAX_COMMAND_LINE, OffloadRequest, Phases, Report,
    ResultHeader, Role, Status, TaskHeader, WorkerConfig, expect_frame, read_frame_start, read_head, read_line, skip,
    unix_ns, write_frame, write_padded_frame, write_route,
};
use containers::Containers;
use pool::{Job, Pool, Ran};
use std::io::{self, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, mpsc};
use std::thread;
use std::time::{Duration, Instant};
use work::Pacer;

/// Read and write timeout of authenticated data connections: nothing waits
/// forever (a device waits this long for a task's result at most).
const DATA_TIMEOUT: Duration = Duration::from_secs(600);
/// Most data connections a node serves at once (each holds a thread, under
/// the container's process limit); more are closed at once.
const MAX_DATA_CONNECTIONS: usize = 128;
/// Most control connections authenticating at once; more are closed at once.
const MAX_PENDING_CONTROL: usize = 8;
/// How long to try to open a data connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// A controller that takes longer than this to read an event is dropped.
const CONTROL_WRITE_TIMEOUT: Duration = Duration::from_secs(60);
/// Pause after a failed `accept` before trying again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);
/// `TaskHeader::image` of a task without an image.
const NO_IMAGE: u16 = u16::MAX;
/// How long a started worker waits for its first control connection
/// before it stops: twice the time its controller gives it to accept one
/// (the controller connects right after starting each container).
pub const FIRST_CONTACT: Duration = Duration::from_secs(60);
/// How long a worker outlives its controller: once its control connection
/// has closed (as it does when the controller exits, is killed or is
/// dropped), a worker that gets no new one within this lease stops, so no
/// run's containers keep running for long without their controller.
pub const LEASE: Duration = Duration::from_secs(10);
/// `ResultHeader::status` of a task the node refused (beyond the run's limits).
const REFUSED: u8 = 3;

/// A bound worker, ready to [`Worker::run`].
pub struct Worker {
    shared: Arc<Shared>,
    control: TcpListener,
    control_addr: SocketAddr,
    data: Option<(TcpListener, SocketAddr)>,
}

impl Worker {
    /// Checks `config` and binds the control listener at `control` and, for
    /// a node, the data listener at `data` (a device has none).
    pub fn bind(config: WorkerConfig, control: SocketAddr, data: SocketAddr) -> io::Result<Worker> {
        let role = config.role;
        let shared = Arc::new(Shared::new(config)?);
        let control = TcpListener::bind(control)?;
        let control_addr = control.local_addr()?;
        let data = match role {
            Role::Node => {
                let listener = TcpListener::bind(data)?;
                let addr = listener.local_addr()?;
                Some((listener, addr))
            }
            Role::Device => None,
        };
        Ok(Worker { shared, control, control_addr, data })
    }

    /// Where the control listener is bound.
    pub fn control_addr(&self) -> SocketAddr {
        self.control_addr
    }

    /// Where the data listener is bound (nodes only).
    pub fn data_addr(&self) -> Option<SocketAddr> {
        self.data.as_ref().map(|d| d.1)
    }

    /// Starts the executors, the periodic reports and (for a node) the data
    /// listener, then serves authenticated control connections one at a
    /// time until the process is killed (connections authenticate on
    /// threads of their own, so one that never does holds nothing). Fails
    /// only if a thread cannot be started.
    pub fn run(self) -> io::Result<()> {
        let Worker { shared, control, data, .. } = self;
        for core in 0..shared.config.cores {
            let s = Arc::clone(&shared);
            spawn(format!("core-{core}"), move || s.execute())?;
        }
        if let Some(period) = report_period(shared.config.report_ms) {
            let s = Arc::clone(&shared);
            spawn("reports".into(), move || {
                loop {
                    thread::sleep(period);
                    s.report(false);
                }
            })?;
        }
        if let Some((listener, _)) = data {
            let s = Arc::clone(&shared);
            spawn("data".into(), move || s.accept_data(&listener))?;
        }
        let (authenticated, controllers) = mpsc::channel();
        let s = Arc::clone(&shared);
        spawn("control".into(), move || s.accept_control(&control, &authenticated))?;
        for stream in controllers {
            if let Err(e) = shared.serve_control(stream) {
                shared.log(format_args!("control connection: {e}"));
            }
            *lock(&shared.control) = None;
        }
        Ok(())
    }
}

/// Counts a connection as open until dropped.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    /// A slot among at most `max` open at once; `None` if all are taken.
    fn take(open: &Arc<AtomicUsize>, max: usize) -> Option<Slot> {
        open.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n < max).then_some(n + 1)).ok()?;
        Some(Slot(Arc::clone(open)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Entry of `offsim worker '<json>'`: parses the configuration, binds
/// `0.0.0.0:`[`CONTROL_PORT`] (and, for a node, `0.0.0.0:`[`DATA_PORT`]) and
/// serves until killed.
pub fn serve(config_json: &str) -> crate::Result<()> {
    let config: WorkerConfig = serde_json::from_str(config_json)
        .map_err(|e| crate::Error::Live(format!("worker: bad configuration JSON: {e}")))?;
    let any = |port| SocketAddr::from(([0, 0, 0, 0], port));
    let name = config.name.clone();
    let worker = Worker::bind(config, any(CONTROL_PORT), any(DATA_PORT))
        .map_err(|e| crate::Error::Live(format!("worker {name}: {e}")))?;
    let shared = Arc::clone(&worker.shared);
    spawn("lease".into(), move || keep_lease(&shared, FIRST_CONTACT, LEASE))
        .map_err(|e| crate::Error::Live(format!("worker {name}: {e}")))?;
    worker.run().map_err(|e| crate::Error::Live(format!("worker {name}: {e}")))
}

/// Stops the process once no controller has been connected for `first`
/// since the start, or for `lease` since the last one left.
fn keep_lease(shared: &Shared, first: Duration, lease: Duration) {
    let (mut alone_since, mut limit) = (Instant::now(), first);
    loop {
        thread::sleep(Duration::from_millis(200));
        if lock(&shared.control).is_some() {
            (alone_since, limit) = (Instant::now(), lease);
        } else if alone_since.elapsed() > limit {
            shared.log(format_args!("no controller for {} s: stopping", limit.as_secs()));
            std::process::exit(0);
        }
    }
}

/// Locks `m`, even if a thread panicked while holding it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Waits on `cv`, even if a thread panicked while holding its mutex.
fn wait<'a, T>(cv: &Condvar, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    cv.wait(guard).unwrap_or_else(PoisonError::into_inner)
}

/// Starts a named thread.
fn spawn(name: String, f: impl FnOnce() + Send + 'static) -> io::Result<()> {
    thread::Builder::new().name(name).spawn(f).map(drop)
}

/// Whole nanoseconds in `d` (saturating).
fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

fn bad_data(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// The period of unprompted reports; `None` if `report_ms` is not positive.
fn report_period(report_ms: f64) -> Option<Duration> {
    if report_ms > 0.0 { Duration::try_from_secs_f64(report_ms / 1e3).ok() } else { None }
}

// ---------------------------------------------------------------------------
// The worker's shared state, control side.

/// The current control connection.
struct Control {
    stream: TcpStream,
    /// Queue length and busy cores in the last report sent on it.
    last_load: Option<(u32, u32)>,
}

/// Everything the worker's threads share.
struct Shared {
    config: WorkerConfig,
    pacer: Pacer,
    pool: Pool,
    /// Lock order: `control` before the pool's and the containers' locks.
    control: Mutex<Option<Control>>,
    containers: Option<Arc<Containers>>,
    /// Data connections open now.
    data_open: Arc<AtomicUsize>,
    /// Control connections authenticating now.
    control_pending: Arc<AtomicUsize>,
}

/// When a command arrived, by both clocks.
#[derive(Copy, Clone, Debug)]
struct Arrival {
    at: Instant,
    unix_ns: u64,
}

/// A device's share of an offloaded task: queueing for, and executing, the
/// offload preparation.
#[derive(Copy, Clone, Debug, Default)]
struct Prep {
    wait_ns: u64,
    exec_ns: u64,
}

impl Shared {
    fn new(config: WorkerConfig) -> io::Result<Shared> {
        if config.cores == 0 {
            return Err(invalid("a worker needs at least one core".into()));
        }
        let pacer = Pacer::new(config.loop_rate, config.host_core_hz, config.speed_hz).ok_or_else(|| {
            invalid(format!(
                "loop_rate ({}), host_core_hz ({}) and speed_hz ({}) must be positive",
                config.loop_rate, config.host_core_hz, config.speed_hz
            ))
        })?;
        let containers = match config.role {
            Role::Node => Some(Arc::new(Containers::new(&config)?)),
            Role::Device => None,
        };
        Ok(Shared {
            pool: Pool::new(&config),
            pacer,
            control: Mutex::new(None),
            containers,
            config,
            data_open: Arc::default(),
            control_pending: Arc::default(),
        })
    }

    fn log(&self, message: std::fmt::Arguments) {
        eprintln!("worker {}: {message}", self.config.name);
    }

    /// An executor: runs the jobs given a core, forever.
    fn execute(&self) {
        loop {
            let job = self.pool.take();
            let started = Instant::now();
            let exec = self.pacer.run(job.cycles);
            self.pool.finish(job.memory, exec);
            (job.done)(Ran { wait: started.saturating_duration_since(job.queued_at), exec, started });
            self.load_changed();
        }
    }

    /// Sends `event` on the control connection, if there is one; drops the
    /// connection if it cannot be written.
    fn send(&self, event: &Event) {
        self.write(&mut lock(&self.control), event);
    }

    fn write(&self, control: &mut Option<Control>, event: &Event) {
        let Some(c) = control.as_mut() else { return };
        let mut line = match serde_json::to_vec(event) {
            Ok(line) => line,
            Err(e) => return self.log(format_args!("cannot encode an event: {e}")),
        };
        line.push(b'\n');
        if let Err(e) = c.stream.write_all(&line) {
            self.log(format_args!("control connection lost: {e}"));
            // Unblocks the command reader, which then waits for the next controller.
            let _ = c.stream.shutdown(Shutdown::Both);
            *control = None;
        }
    }

    /// Sends a report (if `only_on_change`, only when the queue length or
    /// busy cores differ from the last report's).
    fn report(&self, only_on_change: bool) {
        let mut control = lock(&self.control);
        let Some(c) = control.as_mut() else { return };
        let report = self.snapshot();
        let load = (report.queue_len, report.busy_cores);
        if only_on_change && c.last_load == Some(load) {
            return;
        }
        c.last_load = Some(load);
        self.write(&mut control, &Event::Report(report));
    }

    /// The queue or cores may have changed: a device tells the controller.
    fn load_changed(&self) {
        if self.config.role == Role::Device {
            self.report(true);
        }
    }

    fn snapshot(&self) -> Report {
        let load = self.pool.load();
        let (cached_images, warm_images) = self.containers.as_ref().map(|c| c.images()).unwrap_or_default();
        Report {
            queue_len: load.queue_len,
            busy_cores: load.busy,
            busy_core_ns: load.busy_core_ns,
            free_memory_bytes: load.free_memory,
            cached_images,
            warm_images,
            cgroup_cpu_ns: crate::live::protocol::cgroup_cpu_ns(),
        }
    }

    /// Accepts control connections; each authenticates on a thread of its
    /// own and, once it has, is handed to `authenticated`.
    fn accept_control(self: &Arc<Self>, listener: &TcpListener, authenticated: &mpsc::Sender<TcpStream>) {
        loop {
            let stream = match listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) => {
                    self.log(format_args!("accepting a control connection: {e}"));
                    thread::sleep(ACCEPT_RETRY);
                    continue;
                }
            };
            let Some(slot) = Slot::take(&self.control_pending, MAX_PENDING_CONTROL) else {
                continue; // dropped: closed
            };
            let (me, to) = (Arc::clone(self), authenticated.clone());
            let spawned = spawn("control-auth".into(), move || {
                let _slot = slot;
                match auth::accept(&stream, &me.config.secret, Channel::Control) {
                    Ok(()) => {
                        let _ = to.send(stream);
                    }
                    Err(e) => me.log(format_args!("control connection refused: {e}")),
                }
            });
            if let Err(e) = spawned {
                self.log(format_args!("cannot authenticate a control connection: {e}"));
            }
        }
    }

    /// Serves one authenticated control connection until it closes.
    fn serve_control(self: &Arc<Self>, stream: TcpStream) -> io::Result<()> {
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(CONTROL_WRITE_TIMEOUT))?;
        let mut commands = BufReader::new(stream.try_clone()?);
        {
            let mut control = lock(&self.control);
            *control = Some(Control { stream, last_load: None });
            let hello = Event::Hello { name: self.config.name.clone(), role: self.config.role };
            self.write(&mut control, &hello);
        }
        self.report(false);
        let mut line = Vec::new();
        while read_line(&mut commands, &mut line, MAX_COMMAND_LINE)? {
            if line.trim_ascii().is_empty() {
                continue;
            }
            match serde_json::from_slice::<Command>(&line) {
                Ok(command) => self.command(command),
                Err(e) => self.log(format_args!("ignoring a bad command ({e})")),
            }
        }
        Ok(())
    }

    fn command(self: &Arc<Self>, command: Command) {
        let arrival = Arrival { at: Instant::now(), unix_ns: unix_ns() };
        match (command, &self.containers) {
            (Command::Preload { image }, Some(containers)) => self.preload(containers, image),
            (Command::Preload { image }, None) => self.log(format_args!("a device cannot preload (image {image})")),
            (Command::Run { id, .. } | Command::Offload(OffloadRequest { id, .. }), Some(_)) => {
                self.send(&ended(id, failed("a node takes tasks on its data port, not by command")));
            }
            (Command::Run { id, cycles, priority }, None) => match self.config.limits.check_cycles("run", cycles) {
                Ok(()) => self.run_locally(arrival, id, cycles, priority),
                Err(e) => self.refuse(id, &e),
            },
            (Command::Offload(request), None) => match check_offload(&self.config, &request) {
                Ok(()) => self.offload(arrival, request),
                Err(e) => self.refuse(request.id, &e),
            },
        }
    }

    /// Ends task `id` without running it: it asked for what the run does not allow.
    fn refuse(&self, id: u64, why: &str) {
        self.log(format_args!("refusing task {id}: {why}"));
        self.send(&ended(id, failed(&format!("refused: {why}"))));
    }

    /// Node: pulls `image` into the cache in the background.
    fn preload(self: &Arc<Self>, containers: &Arc<Containers>, image: u16) {
        let bytes = match containers.preload(image) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return,
            Err(e) => return self.log(format_args!("preloading: {e}")),
        };
        let (me, c) = (Arc::clone(self), Arc::clone(containers));
        let spawned = spawn(format!("preload-{image}"), move || {
            let pulled = c.pull(bytes);
            if let Err(e) = &pulled {
                me.log(format_args!("preloading image {image}: {e}"));
            }
            c.preloaded(image, pulled.is_ok());
        });
        if let Err(e) = spawned {
            self.log(format_args!("preloading image {image}: {e}"));
            containers.preloaded(image, false);
        }
    }

    /// Queues `job` for task `id` on the device; a refusal ends the task.
    fn submit_on_device(&self, id: u64, job: Job) {
        if !self.pool.submit(job) {
            self.send(&ended(id, Status::QueueFull));
        }
        self.load_changed();
    }

    fn run_locally(self: &Arc<Self>, arrival: Arrival, id: u64, cycles: f64, priority: u8) {
        let me = Arc::clone(self);
        let job = Job::new(priority, cycles, 0, move |ran| {
            me.send(&Event::Finished {
                id,
                status: Status::Completed,
                phases: [ns(ran.wait), 0, 0, ns(ran.exec), 0],
                exec_start_ns: Some(ns(ran.started.saturating_duration_since(arrival.at))),
            });
        });
        self.submit_on_device(id, job);
    }

    /// Prepares the offload on a device core (if it costs anything), then
    /// sends the task.
    fn offload(self: &Arc<Self>, arrival: Arrival, request: OffloadRequest) {
        if request.overhead_cycles > 0.0 {
            let (id, priority, cycles) = (request.id, request.priority, request.overhead_cycles);
            let me = Arc::clone(self);
            let job = Job::new(priority, cycles, 0, move |ran| {
                me.send_task(arrival, request, Prep { wait_ns: ns(ran.wait), exec_ns: ns(ran.exec) });
            });
            self.submit_on_device(id, job);
        } else {
            self.send_task(arrival, request, Prep::default());
        }
    }

    /// Sends the task to its node on a thread of its own and reports how it
    /// ended.
    fn send_task(self: &Arc<Self>, arrival: Arrival, request: OffloadRequest, prep: Prep) {
        let id = request.id;
        let me = Arc::clone(self);
        let spawned = spawn(format!("offload-{id}"), move || {
            let exchanged = exchange(&request, &me.config.secret, &me.config.limits);
            me.send(&offload_ended(id, arrival, prep, exchanged));
        });
        if let Err(e) = spawned {
            self.send(&offload_ended(id, arrival, prep, Err(e)));
        }
    }

    /// Node: accepts data connections, one thread each, at most
    /// [`MAX_DATA_CONNECTIONS`] at once.
    fn accept_data(self: &Arc<Self>, listener: &TcpListener) {
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    let Some(slot) = Slot::take(&self.data_open, MAX_DATA_CONNECTIONS) else {
                        continue; // dropped: closed
                    };
                    let me = Arc::clone(self);
                    let spawned = spawn("task".into(), move || {
                        let _slot = slot;
                        if let Err(e) = me.serve_data(stream) {
                            me.log(format_args!("data connection: {e}"));
                        }
                    });
                    if let Err(e) = spawned {
                        self.log(format_args!("cannot serve a data connection: {e}"));
                    }
                }
                Err(e) => {
                    self.log(format_args!("accepting a data connection: {e}"));
                    thread::sleep(ACCEPT_RETRY);
                }
            }
        }
    }

    /// Node: once the peer has authenticated, answers pings and runs tasks
    /// on one data connection. A task beyond the run's limits is answered as
    /// refused, and the connection closed.
    fn serve_data(&self, mut s: TcpStream) -> io::Result<()> {
        configure(&s)?;
        auth::accept(&s, &self.config.secret, Channel::Data)?;
        let max = self.config.limits.max_frame;
        while let Some((kind, rest)) = read_frame_start(&mut s, max)? {
            match kind {
                FrameKind::Ping => {
                    skip(&mut s, rest)?;
                    write_frame(&mut s, &[FrameKind::Pong as u8])?;
                }
                FrameKind::Task => {
                    let task = TaskHeader::decode(&read_head(&mut s, TaskHeader::LEN, rest)?)?;
                    if let Err(why) = task.check(&self.config.limits) {
                        let refused = ResultHeader { status: REFUSED, ..ResultHeader::default() };
                        let mut head = vec![FrameKind::Result as u8];
                        refused.encode(&mut head);
                        write_padded_frame(&mut s, &head, 0, max)?;
                        return Err(invalid(format!("task {} refused: {why}", task.id)));
                    }
                    let mut result = self.run_task(&task, unix_ns())?;
                    let mut head = vec![FrameKind::Result as u8];
                    result.sent_unix_ns = unix_ns();
                    result.encode(&mut head);
                    write_padded_frame(&mut s, &head, filler(task.output_bytes, task.header_bytes)?, max)?;
                }
                other => return Err(bad_data(format!("unexpected {other:?} frame"))),
            }
        }
        Ok(())
    }

    /// Node: admits, starts up, queues and executes one task that arrived
    /// at `received_unix_ns`; the result lacks only its send time.
    fn run_task(&self, task: &TaskHeader, received_unix_ns: u64) -> io::Result<ResultHeader> {
        let mut result =
            ResultHeader { status: 0, wait_ns: 0, startup_ns: 0, exec_ns: 0, received_unix_ns, sent_unix_ns: 0 };
        if task.memory_bytes > self.config.memory_bytes {
            result.status = 2;
            return Ok(result);
        }
        let containers = self.containers.as_ref().ok_or_else(|| io::Error::other("not a node"))?;
        let image = (task.image != NO_IMAGE).then_some(task.image);
        if let Some(i) = image {
            let begin = Instant::now();
            containers.start_up(i)?;
            result.startup_ns = ns(begin.elapsed());
        }
        let (tx, rx) = mpsc::channel();
        let job = Job::new(task.priority, task.cycles, task.memory_bytes, move |ran| {
            // The receiver waits below, so the send cannot fail.
            let _ = tx.send(ran);
        });
        let ran = self.pool.submit(job).then(|| rx.recv());
        if let Some(i) = image {
            containers.depart(i);
        }
        match ran {
            None => result.status = 1,
            Some(Ok(ran)) => (result.wait_ns, result.exec_ns) = (ns(ran.wait), ns(ran.exec)),
            Some(Err(_)) => return Err(io::Error::other("the task was lost by its executor")),
        }
        Ok(result)
    }
}

// ---------------------------------------------------------------------------
// Device side of an offload.

/// What a device measured around one exchange with a node.
#[derive(Copy, Clone, Debug)]
struct Exchange {
    result: ResultHeader,
    /// Wall clock just before connecting, and at the result's last byte.
    connecting_unix_ns: u64,
    done_unix_ns: u64,
}

/// Checks an offload asks only for what the run allows, and only of the
/// run's own link proxies.
fn check_offload(config: &WorkerConfig, r: &OffloadRequest) -> Result<(), String> {
    let limits = &config.limits;
    limits.check_cycles("offload cycles", r.cycles)?;
    limits.check_cycles("offload preparation", r.overhead_cycles)?;
    limits.check_message("offload input", r.input_bytes, r.header_bytes)?;
    limits.check_message("offload output", r.output_bytes, r.header_bytes)?;
    if r.setup_rtts > limits.max_setup_rtts {
        return Err(format!(
            "offload: expected at most {} set-up round trips, got {}",
            limits.max_setup_rtts, r.setup_rtts
        ));
    }
    if !config.proxies.contains(&r.proxy) {
        return Err(format!(
            "offload: expected one of the run's link proxies ({}), got `{}`",
            config.proxies.join(", "),
            r.proxy
        ));
    }
    Ok(())
}

/// Connects to the proxy, proves the run's secret, makes the set-up round
/// trips, sends the task and reads its result.
fn exchange(request: &OffloadRequest, secret: &Secret, limits: &Limits) -> io::Result<Exchange> {
    let connecting_unix_ns = unix_ns();
    let max = limits.max_frame;
    let mut s = connect(&request.proxy)?;
    auth::connect(&s, secret, Channel::Link)?;
    write_route(&mut s, request.route)?;
    for _ in 0..request.setup_rtts {
        write_frame(&mut s, &[FrameKind::Ping as u8])?;
        let rest = expect_frame(&mut s, FrameKind::Pong, max)?;
        skip(&mut s, rest)?;
    }
    let header = TaskHeader {
        id: request.id,
        cycles: request.cycles,
        output_bytes: request.output_bytes,
        memory_bytes: request.memory_bytes,
        header_bytes: request.header_bytes,
        image: request.image.unwrap_or(NO_IMAGE),
        priority: request.priority,
    };
    let mut head = vec![FrameKind::Task as u8];
    header.encode(&mut head);
    write_padded_frame(&mut s, &head, filler(request.input_bytes, request.header_bytes)?, max)?;
    let rest = expect_frame(&mut s, FrameKind::Result, max)?;
    let result = ResultHeader::decode(&read_head(&mut s, ResultHeader::LEN, rest)?)?;
    Ok(Exchange { result, connecting_unix_ns, done_unix_ns: unix_ns() })
}

/// The event ending offloaded task `id`.
fn offload_ended(id: u64, arrival: Arrival, prep: Prep, exchanged: io::Result<Exchange>) -> Event {
    let x = match exchanged {
        Ok(x) => x,
        Err(e) => {
            return Event::Finished {
                id,
                status: failed(&e.to_string()),
                phases: [prep.wait_ns, 0, 0, prep.exec_ns, 0],
                exec_start_ns: None,
            };
        }
    };
    let r = x.result;
    let status = match r.status {
        0 => Status::Completed,
        1 => Status::QueueFull,
        2 => Status::InsufficientMemory,
        REFUSED => failed("the node refused the task: it asks for more than the run allows"),
        other => failed(&format!("unknown result status {other}")),
    };
    let upload = r.received_unix_ns.saturating_sub(x.connecting_unix_ns);
    let download = x.done_unix_ns.saturating_sub(r.sent_unix_ns);
    // The node sends the result as soon as the work ends.
    let exec_start_ns =
        (status == Status::Completed).then(|| r.sent_unix_ns.saturating_sub(r.exec_ns).saturating_sub(arrival.unix_ns));
    let phases: Phases = [
        prep.wait_ns.saturating_add(r.wait_ns),
        upload,
        r.startup_ns,
        prep.exec_ns.saturating_add(r.exec_ns),
        download,
    ];
    Event::Finished { id, status, phases, exec_start_ns }
}

/// A task that ended without running.
fn ended(id: u64, status: Status) -> Event {
    Event::Finished { id, status, phases: [0; 5], exec_start_ns: None }
}

fn failed(error: &str) -> Status {
    Status::Failed { error: error.to_string() }
}

// ---------------------------------------------------------------------------
// Data connections and frames.

/// Opens a data connection to `addr` (`host:port`).
fn connect(addr: &str) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{addr}: no address"));
    for a in addr.to_socket_addrs().map_err(|e| io::Error::new(e.kind(), format!("{addr}: {e}")))? {
        match TcpStream::connect_timeout(&a, CONNECT_TIMEOUT) {
            Ok(s) => {
                configure(&s)?;
                return Ok(s);
            }
            Err(e) => last = io::Error::new(e.kind(), format!("connecting to {addr}: {e}")),
        }
    }
    Err(last)
}

/// No Nagle delay, and time-outs instead of hanging.
fn configure(s: &TcpStream) -> io::Result<()> {
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(DATA_TIMEOUT))?;
    s.set_write_timeout(Some(DATA_TIMEOUT))
}

/// Filler bytes of a message: its payload plus protocol headers.
fn filler(payload: u64, header_bytes: u64) -> io::Result<u64> {
    payload.checked_add(header_bytes).ok_or_else(|| invalid("message size overflows".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::DistSpec;
    use crate::live::auth::SECRET_LEN;
    use crate::live::protocol::{read_frame, read_route};
    use crate::live::worker::work::measure_loop_rate;
    use crate::live::worker::work::tests::timing_lock;
    use std::io::BufRead;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU32, Ordering};

    const LOCAL: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

    fn loop_rate() -> f64 {
        static RATE: OnceLock<f64> = OnceLock::new();
        *RATE.get_or_init(measure_loop_rate)
    }

    fn secret() -> Secret {
        Secret::from_bytes([5; SECRET_LEN])
    }

    /// Frames up to 10 MB, work up to 1 Gcycles, 4 set-up round trips.
    fn limits() -> Limits {
        Limits::new(10_000_000, 1e9, 4)
    }

    /// One core at 1 GHz on an 8 GHz host core (duty 1/8), no queue or
    /// memory limits; a device may offload through `proxies`.
    fn config(role: Role) -> WorkerConfig {
        WorkerConfig {
            name: format!("{role:?}"),
            role,
            index: 0,
            cores: 1,
            speed_hz: 1e9,
            host_core_hz: 8e9,
            loop_rate: loop_rate(),
            priority_queue: false,
            queue_limit: None,
            memory_bytes: 1 << 30,
            report_ms: 20.0,
            seed: 1,
            image_bytes: vec![],
            image_cache_bytes: 0,
            preloaded_images: vec![],
            cold_start_ms: DistSpec::constant(0.0),
            keep_alive_s: 10.0,
            registry: None,
            proxies: vec![],
            secret: secret(),
            limits: limits(),
        }
    }

    /// A device that may offload through `proxies`.
    fn device(proxies: &[SocketAddr]) -> WorkerConfig {
        WorkerConfig { proxies: proxies.iter().map(SocketAddr::to_string).collect(), ..config(Role::Device) }
    }

    /// Starts a worker; returns its control and data addresses.
    fn start(config: WorkerConfig) -> (SocketAddr, Option<SocketAddr>) {
        let w = Worker::bind(config, LOCAL, LOCAL).unwrap();
        let addrs = (w.control_addr(), w.data_addr());
        thread::spawn(move || w.run());
        addrs
    }

    /// A stand-in for the link proxy: authenticates both ways, strips the
    /// route and pipes both ways.
    fn forwarder(target: SocketAddr) -> SocketAddr {
        let listener = TcpListener::bind(LOCAL).unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            for inbound in listener.incoming() {
                let mut inbound = inbound.unwrap();
                thread::spawn(move || {
                    auth::accept(&inbound, &secret(), Channel::Link).unwrap();
                    read_route(&mut inbound).unwrap();
                    let outbound = TcpStream::connect(target).unwrap();
                    auth::connect(&outbound, &secret(), Channel::Data).unwrap();
                    inbound.set_nodelay(true).unwrap();
                    outbound.set_nodelay(true).unwrap();
                    let (mut a, mut b) = (inbound.try_clone().unwrap(), outbound.try_clone().unwrap());
                    thread::spawn(move || {
                        let _ = io::copy(&mut a, &mut b);
                        let _ = b.shutdown(Shutdown::Write);
                    });
                    let (mut b, mut a) = (outbound, inbound);
                    let _ = io::copy(&mut b, &mut a);
                    let _ = a.shutdown(Shutdown::Write);
                });
            }
        });
        addr
    }

    /// A registry answering pulls with the bytes asked for; counts pulls.
    fn registry() -> (SocketAddr, Arc<AtomicU32>) {
        let listener = TcpListener::bind(LOCAL).unwrap();
        let addr = listener.local_addr().unwrap();
        let pulls = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&pulls);
        thread::spawn(move || {
            for s in listener.incoming() {
                let mut s = s.unwrap();
                auth::accept(&s, &secret(), Channel::Link).unwrap();
                read_route(&mut s).unwrap();
                let mut frame = Vec::new();
                assert!(read_frame(&mut s, &mut frame, 9).unwrap());
                assert_eq!(frame[0], FrameKind::Pull as u8);
                let bytes = u64::from_le_bytes(frame[1..9].try_into().unwrap());
                counter.fetch_add(1, Ordering::SeqCst);
                write_padded_frame(&mut s, &[FrameKind::Image as u8], bytes, limits().max_frame).unwrap();
            }
        });
        (addr, pulls)
    }

    /// A finished task as the controller sees it.
    #[derive(Debug)]
    struct Done {
        id: u64,
        status: Status,
        phases: Phases,
        exec_start_ns: Option<u64>,
    }

    /// A controller's connection to one worker.
    struct Client {
        reader: BufReader<TcpStream>,
        writer: TcpStream,
        reports: Vec<Report>,
    }

    impl Client {
        fn connect(addr: SocketAddr) -> Client {
            let writer = TcpStream::connect(addr).unwrap();
            auth::connect(&writer, &secret(), Channel::Control).unwrap();
            writer.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut c = Client { reader: BufReader::new(writer.try_clone().unwrap()), writer, reports: vec![] };
            assert!(matches!(c.event(), Event::Hello { .. }));
            c
        }

        fn send(&mut self, command: &Command) {
            let mut line = serde_json::to_vec(command).unwrap();
            line.push(b'\n');
            self.writer.write_all(&line).unwrap();
        }

        fn event(&mut self) -> Event {
            let mut line = String::new();
            assert!(self.reader.read_line(&mut line).unwrap() > 0, "worker closed the connection");
            serde_json::from_str(&line).unwrap()
        }

        /// The next `n` tasks to finish, in order (reports are kept aside).
        fn finished(&mut self, n: usize) -> Vec<Done> {
            let mut done = Vec::new();
            while done.len() < n {
                match self.event() {
                    Event::Finished { id, status, phases, exec_start_ns } => {
                        done.push(Done { id, status, phases, exec_start_ns })
                    }
                    Event::Report(r) => self.reports.push(r),
                    Event::Hello { .. } => panic!("a second hello"),
                }
            }
            done
        }

        /// The first report from now on that satisfies `f`.
        fn report_where(&mut self, f: impl Fn(&Report) -> bool) -> Report {
            loop {
                if let Event::Report(r) = self.event()
                    && f(&r)
                {
                    return r;
                }
            }
        }
    }

    fn ms(ns: u64) -> f64 {
        ns as f64 / 1e6
    }

    /// Slack for a busy 2-core host, which may not run a thread for a while.
    fn late_by_at_most(expected_ms: f64) -> f64 {
        expected_ms * 2.0 + 40.0
    }

    /// Paced work takes its expected time: never less, and not much more.
    fn assert_exec(ns: u64, expected_ms: f64) {
        let got = ms(ns);
        assert!(got >= expected_ms * 0.98 && got <= late_by_at_most(expected_ms), "{got} ms, expected {expected_ms}");
    }

    /// A wait behind paced work: about as long, less the time it took to
    /// queue behind it.
    fn assert_wait(ns: u64, expected_ms: f64) {
        let got = ms(ns);
        assert!(got >= expected_ms - 5.0 && got <= late_by_at_most(expected_ms), "{got} ms, expected {expected_ms}");
    }

    fn offload(id: u64, proxy: SocketAddr) -> OffloadRequest {
        OffloadRequest {
            id,
            priority: 0,
            overhead_cycles: 0.0,
            proxy: proxy.to_string(),
            route: 3,
            cycles: 20e6,
            input_bytes: 200_000,
            output_bytes: 100_000,
            memory_bytes: 10,
            image: None,
            setup_rtts: 0,
            header_bytes: 0,
        }
    }

    #[test]
    fn device_runs_paced_by_priority_and_refuses_beyond_its_queue_limit() {
        let _serial = timing_lock();
        let (control, _) = start(WorkerConfig { priority_queue: true, queue_limit: Some(2), ..device(&[]) });
        let mut c = Client::connect(control);
        for (id, mcycles, priority) in [(1, 30.0, 0), (2, 10.0, 0), (3, 10.0, 7), (4, 10.0, 9)] {
            c.send(&Command::Run { id, cycles: mcycles * 1e6, priority });
        }
        let done = c.finished(4);
        let order: Vec<u64> = done.iter().map(|d| d.id).collect();
        assert_eq!(order, [4, 1, 3, 2], "{done:?}");
        assert_eq!(done[0].status, Status::QueueFull);
        assert_eq!(done[0].exec_start_ns, None);
        let [first, high, low] = [&done[1], &done[2], &done[3]];
        assert!(done[1..].iter().all(|d| d.status == Status::Completed && d.phases[1] == 0 && d.phases[4] == 0));
        assert_exec(first.phases[3], 30.0);
        assert!(ms(first.phases[0]) < late_by_at_most(0.0), "{first:?}");
        assert_wait(high.phases[0], 30.0);
        assert_exec(high.phases[3], 10.0);
        assert_wait(low.phases[0], 40.0);
        assert_eq!(low.phases[1..3], [0, 0]);
        assert!(low.exec_start_ns.unwrap() >= low.phases[0]);
        assert!(c.reports.iter().any(|r| r.queue_len == 2 && r.busy_cores == 1), "{:?}", c.reports);
        let idle = c.report_where(|r| r.busy_cores == 0);
        assert_eq!(idle.queue_len, 0);
        assert!(ms(idle.busy_core_ns) >= 49.0, "{idle:?}");
    }

    #[test]
    fn offload_pulls_once_starts_once_and_runs_on_the_node() {
        let _serial = timing_lock();
        let (registry, pulls) = registry();
        let node = WorkerConfig {
            cores: 2,
            speed_hz: 2e9,
            image_bytes: vec![1_000_000, 2_000_000],
            image_cache_bytes: 10_000_000,
            cold_start_ms: DistSpec::constant(50.0),
            registry: Some(registry.to_string()),
            ..config(Role::Node)
        };
        let (node_control, node_data) = start(node);
        let proxy = forwarder(node_data.unwrap());
        let (device_control, _) = start(device(&[proxy]));
        let mut dev = Client::connect(device_control);
        let mut node = Client::connect(node_control);
        // Preparation: 10 ms on the device; work: 20 ms on the node.
        let task = |id| OffloadRequest {
            overhead_cycles: 10e6,
            cycles: 40e6,
            image: Some(0),
            setup_rtts: 2,
            header_bytes: 100,
            ..offload(id, proxy)
        };
        dev.send(&Command::Offload(task(1)));
        dev.send(&Command::Offload(task(2)));
        let done = dev.finished(2);
        assert_eq!(pulls.load(Ordering::SeqCst), 1);
        for d in &done {
            assert_eq!(d.status, Status::Completed, "{d:?}");
            assert_exec(d.phases[3], 30.0);
            assert!(d.phases[1] > 0 && d.phases[4] > 0, "{d:?}");
            assert!(d.exec_start_ns.unwrap() > d.phases[2]);
        }
        // The second waited for the first's preparation. The first to reach
        // the node pulled and cold-started; the other joined that start-up.
        let two = done.iter().find(|d| d.id == 2).unwrap();
        assert_wait(two.phases[0], 10.0);
        let mut startups: Vec<f64> = done.iter().map(|d| ms(d.phases[2])).collect();
        startups.sort_by(f64::total_cmp);
        assert!(startups[1] >= 50.0 && startups[1] < 250.0, "{done:?}");
        assert!(startups[0] < startups[1], "{done:?}");
        // Warm now: no start-up.
        dev.send(&Command::Offload(task(3)));
        let warm = &dev.finished(1)[0];
        assert_eq!(warm.status, Status::Completed);
        assert!(ms(warm.phases[2]) < 20.0, "{warm:?}");
        node.send(&Command::Preload { image: 1 });
        let r = node.report_where(|r| r.cached_images == [0, 1]);
        assert_eq!(r.warm_images, [0]);
        assert_eq!(pulls.load(Ordering::SeqCst), 2);
        assert!(ms(r.busy_core_ns) >= 59.0, "{r:?}");
        assert_eq!((r.busy_cores, r.queue_len, r.free_memory_bytes), (0, 0, 1 << 30));
    }

    #[test]
    fn node_refuses_by_memory_and_queue_limit_and_blocks_on_memory() {
        let _serial = timing_lock();
        let node =
            WorkerConfig { cores: 2, memory_bytes: 100, queue_limit: Some(1), report_ms: 5.0, ..config(Role::Node) };
        let (node_control, node_data) = start(node);
        let proxy = forwarder(node_data.unwrap());
        let (device_control, _) = start(WorkerConfig { cores: 4, ..device(&[proxy]) });
        let mut dev = Client::connect(device_control);
        let mut node = Client::connect(node_control);
        let task = |id, memory_bytes, mcycles: f64| {
            Command::Offload(OffloadRequest { memory_bytes, cycles: mcycles * 1e6, ..offload(id, proxy) })
        };
        // 1 holds 70 bytes for 200 ms; 2 needs 50, so it waits with a core
        // free; 3 finds the queue full; 4 needs more than the node has.
        dev.send(&task(1, 70, 200.0));
        node.report_where(|r| r.busy_cores == 1);
        dev.send(&task(2, 50, 10.0));
        let blocked = node.report_where(|r| r.queue_len == 1);
        assert_eq!((blocked.busy_cores, blocked.free_memory_bytes), (1, 30));
        dev.send(&task(3, 10, 10.0));
        dev.send(&task(4, 101, 10.0));
        let mut done = dev.finished(4);
        done.sort_by_key(|d| d.id);
        let statuses: Vec<&Status> = done.iter().map(|d| &d.status).collect();
        assert_eq!(
            statuses,
            [&Status::Completed, &Status::Completed, &Status::QueueFull, &Status::InsufficientMemory],
            "{done:?}"
        );
        assert_exec(done[0].phases[3], 200.0);
        assert!(ms(done[1].phases[0]) >= 20.0, "{:?}", done[1]);
        assert_exec(done[1].phases[3], 10.0);
        for refused in &done[2..] {
            assert_eq!([refused.phases[0], refused.phases[2], refused.phases[3]], [0, 0, 0]);
            assert_eq!(refused.exec_start_ns, None);
        }
    }

    #[test]
    fn unreachable_proxy_or_misdirected_commands_fail_the_task() {
        let _serial = timing_lock();
        let closed = TcpListener::bind(LOCAL).unwrap().local_addr().unwrap();
        let (device_control, _) = start(device(&[closed]));
        let mut dev = Client::connect(device_control);
        dev.send(&Command::Offload(OffloadRequest { overhead_cycles: 5e6, ..offload(1, closed) }));
        let done = &dev.finished(1)[0];
        assert!(matches!(&done.status, Status::Failed { error } if error.contains(&closed.to_string())), "{done:?}");
        assert_exec(done.phases[3], 5.0);
        assert_eq!(done.exec_start_ns, None);
        let (node_control, _) = start(config(Role::Node));
        let mut node = Client::connect(node_control);
        node.send(&Command::Run { id: 9, cycles: 1.0, priority: 0 });
        assert!(matches!(node.finished(1)[0].status, Status::Failed { .. }));
    }

    #[test]
    fn work_and_proxies_beyond_the_run_are_refused_not_run() {
        let _serial = timing_lock();
        let (node_control, node_data) = start(config(Role::Node));
        let proxy = forwarder(node_data.unwrap());
        let elsewhere = forwarder(node_data.unwrap());
        let (device_control, _) = start(device(&[proxy]));
        let mut dev = Client::connect(device_control);
        // (JSON has no infinity: 1e300 is the largest a command can ask for.)
        dev.send(&Command::Run { id: 1, cycles: 1e300, priority: 0 });
        dev.send(&Command::Offload(offload(2, elsewhere)));
        dev.send(&Command::Offload(OffloadRequest { setup_rtts: 5, ..offload(3, proxy) }));
        let mut done = dev.finished(3);
        done.sort_by_key(|d| d.id);
        let errors: Vec<String> = done
            .iter()
            .map(|d| match &d.status {
                Status::Failed { error } => error.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(errors[0].contains("refused: run: expected a finite number of cycles"), "{errors:?}");
        assert!(errors[1].contains(&format!("expected one of the run's link proxies ({proxy}), got `{elsewhere}`")));
        assert!(errors[2].contains("expected at most 4 set-up round trips, got 5"), "{errors:?}");
        // A node refuses such a task from its data port too.
        let mut to_node = TcpStream::connect(proxy).unwrap();
        auth::connect(&to_node, &secret(), Channel::Link).unwrap();
        write_route(&mut to_node, 0).unwrap();
        let mut head = vec![FrameKind::Task as u8];
        let task = TaskHeader {
            id: 4,
            cycles: 1e300,
            output_bytes: 0,
            memory_bytes: 0,
            header_bytes: 0,
            image: NO_IMAGE,
            priority: 0,
        };
        task.encode(&mut head);
        write_frame(&mut to_node, &head).unwrap();
        let rest = expect_frame(&mut to_node, FrameKind::Result, limits().max_frame).unwrap();
        let result = ResultHeader::decode(&read_head(&mut to_node, ResultHeader::LEN, rest).unwrap()).unwrap();
        assert_eq!(result.status, REFUSED);
        let mut node = Client::connect(node_control);
        let idle = node.report_where(|_| true);
        assert_eq!((idle.busy_cores, idle.queue_len), (0, 0));
    }

    #[test]
    fn bad_configurations_are_refused() {
        let _serial = timing_lock();
        let e = serve("{not json").unwrap_err().to_string();
        assert!(e.contains("worker") && e.contains("JSON"), "{e}");
        for bad in [
            WorkerConfig { cores: 0, ..config(Role::Device) },
            WorkerConfig { speed_hz: 0.0, ..config(Role::Device) },
            WorkerConfig { preloaded_images: vec![0], ..config(Role::Node) },
            WorkerConfig { cold_start_ms: DistSpec::Exponential { mean: -1.0 }, ..config(Role::Node) },
        ] {
            assert!(Worker::bind(bad, LOCAL, LOCAL).is_err());
        }
    }
}
