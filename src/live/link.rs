//! Seeded link emulation in user space, and the TCP proxy that applies it.
//!
//! An [`EmulatedLink`] is one direction of a scenario link. Carrying a
//! message blocks the calling thread for as long as the simulator would keep
//! the message on that link: its transmission at the link rate, shared with
//! the other messages crossing the link at the same time (fairly or FIFO),
//! then its propagation (latency plus a jitter draw), a lost message being
//! transmitted again after the retransmission timeout. The timing is the
//! simulator's own link model ([`crate::network::Link`]) driven by the real
//! clock: message completions are computed, not observed, so they do not
//! depend on when the carrying threads happen to wake, and every wait ends
//! at an absolute deadline.
//!
//! A [`LinkProxy`] accepts data connections, routes each on the source
//! index it opens with, and relays frames in both directions, carrying each
//! frame whole across every hop of its direction in turn (store and
//! forward). A [`ByteSource`] is the image registry at the end of such a
//! route. Both hold every peer to the run's [`Access`]: the run's secret
//! proved before anything else is read, frames no longer than the run's
//! largest, a bounded number of connections at once, and idle connections
//! closed.

use crate::dist::DistSpec;
use crate::engine::{SimRng, SimTime};
use crate::live::auth::{self, Channel, Secret};
use crate::live::protocol::{FrameKind, read_frame, read_route, write_frame, write_padded_frame};
use crate::network::{Link, LinkParams};
use crate::scenario::{LinkSpec, Sharing};
use std::collections::HashMap;
use std::fs;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Bytes a frame occupies on the wire besides its payload (the length prefix).
pub const FRAME_OVERHEAD_BYTES: u64 = 4;
/// Slowest and fastest rates a link runs at, in bits per second.
const RATE_RANGE: (f64, f64) = (1.0, 1e18);
/// Longest single delay; longer ones are clamped (keeps instants in range).
const MAX_DELAY: Duration = Duration::from_secs(1 << 30);
/// How often a waiting relay checks whether its connection was shut down.
const STOP_POLL: Duration = Duration::from_millis(20);
/// How long the proxy waits for a route's target to accept.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause after a failed `accept` (e.g. out of descriptors) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);
/// Socket buffer size on the relays and the byte source.
const IO_BUFFER: usize = 64 * 1024;
/// Most connections a proxy or byte source serves at once (each holds one
/// or two threads); more are closed at once.
const MAX_CONNECTIONS: usize = 1024;
/// Read and write timeout of an authenticated connection's sockets: a
/// device waits this long for a task's result at most.
const IDLE_TIMEOUT: Duration = Duration::from_secs(600);
/// Longest `Pull` frame: the kind byte and a `u64` count.
const PULL_FRAME: u32 = 9;

/// What a proxy or byte source asks of its peers, and proves to them.
#[derive(Clone, Debug)]
pub struct Access {
    /// The run's secret: clients prove it before anything else is read,
    /// and the proxy proves it to its targets.
    pub secret: Secret,
    /// Longest frame payload relayed or served (the run's largest message).
    pub max_frame: u32,
}

/// One direction of an emulated link.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkShape {
    /// Transmission rate in bits per second: positive and finite, as in a
    /// validated scenario (other values are clamped to 1 bit/s .. 10^18 bit/s).
    pub bandwidth_bps: f64,
    /// One-way propagation latency.
    pub latency: Duration,
    /// Extra one-way delay drawn per message, in milliseconds. An invalid
    /// distribution (never present in a validated scenario) adds nothing.
    pub jitter_ms: Option<DistSpec>,
    /// Probability that a message is lost and sent again.
    pub loss: f64,
    /// Delay before a lost message is sent again.
    pub retransmit: Duration,
    /// How concurrent messages share the bandwidth.
    pub sharing: Sharing,
}

impl LinkShape {
    /// The shape of a scenario link direction.
    pub fn from_spec(spec: &LinkSpec) -> LinkShape {
        LinkShape {
            bandwidth_bps: spec.bandwidth_mbps * 1e6,
            latency: span_secs(spec.latency_ms / 1e3),
            jitter_ms: spec.jitter_ms.clone(),
            loss: spec.loss,
            retransmit: span_secs(spec.retransmit_ms / 1e3),
            sharing: spec.sharing,
        }
    }

    /// The simulator's parameters for this shape.
    fn params(&self) -> LinkParams {
        let (slowest, fastest) = RATE_RANGE;
        LinkParams {
            bandwidth_bps: if self.bandwidth_bps >= slowest { self.bandwidth_bps.min(fastest) } else { slowest },
            latency_ns: nanos(self.latency),
            jitter: self.jitter_ms.as_ref().filter(|j| j.validate().is_ok()).map(DistSpec::sampler),
            loss: self.loss,
            retransmit_ns: nanos(self.retransmit),
            sharing: self.sharing,
            energy_j_per_bit: 0.0,
        }
    }
}

/// A span of `secs` seconds: zero when not positive (or NaN), at most [`MAX_DELAY`].
fn span_secs(secs: f64) -> Duration {
    if secs > 0.0 { Duration::try_from_secs_f64(secs).map_or(MAX_DELAY, |d| d.min(MAX_DELAY)) } else { Duration::ZERO }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A link's model and the messages on it, in simulated time counted from
/// `epoch` on the real clock.
struct LinkState {
    link: Link<u64>,
    epoch: Instant,
    /// Time of the latest event given to `link` (its time never goes back).
    clock: SimTime,
    /// The link's next transmission completion, as it last scheduled it.
    next: Option<(SimTime, u32)>,
    /// Messages whose carriers wait for them, and, once their transmission
    /// ended, when.
    waiting: HashMap<u64, Option<SimTime>>,
    next_id: u64,
    /// Completions of one step (kept to reuse its allocation).
    done: Vec<u64>,
}

impl LinkState {
    fn new(params: LinkParams, rng: SimRng, epoch: Instant) -> LinkState {
        LinkState {
            link: Link::new(params, rng),
            epoch,
            clock: SimTime::ZERO,
            next: None,
            waiting: HashMap::new(),
            next_id: 0,
            done: Vec::new(),
        }
    }

    fn sim_time(&self, t: Instant) -> SimTime {
        SimTime(nanos(t.saturating_duration_since(self.epoch)))
    }

    fn instant(&self, t: SimTime) -> Instant {
        later(self.epoch, Duration::from_nanos(t.as_nanos()))
    }

    /// Processes every transmission completion up to `now`, at the times the
    /// model scheduled them (however late this is called).
    fn advance(&mut self, now: Instant) {
        let now = self.sim_time(now);
        while let Some((t, generation)) = self.next.filter(|&(t, _)| t <= now) {
            self.clock = self.clock.max(t);
            self.next = self.link.complete(t, generation, &mut self.done).schedule;
            for id in self.done.drain(..) {
                if let Some(end) = self.waiting.get_mut(&id) {
                    *end = Some(t);
                }
            }
        }
    }

    /// Starts transmitting `bytes` that reached the link at `arrival` (not
    /// before the latest event already processed); returns the message's id.
    fn admit(&mut self, arrival: Instant, bytes: u64) -> u64 {
        self.advance(arrival);
        let at = self.sim_time(arrival).max(self.clock);
        self.clock = at;
        let id = self.next_id;
        self.next_id += 1;
        self.waiting.insert(id, None);
        if let Some(next) = self.link.admit(at, id, bytes as f64 * 8.0).schedule {
            self.next = Some(next);
        }
        id
    }

    /// When message `id`'s transmission ended, once it has (forgetting it).
    fn transmitted(&mut self, id: u64) -> Option<Instant> {
        let end = self.waiting.get(&id).copied().flatten()?;
        self.waiting.remove(&id);
        Some(self.instant(end))
    }

    /// When the link's next transmission completes.
    fn next_completion(&self) -> Option<Instant> {
        self.next.map(|(t, _)| self.instant(t))
    }

    /// Forgets a message nobody waits for any more. It still occupies the
    /// link until its transmission ends, as an abandoned message does in the
    /// simulator.
    fn abandon(&mut self, id: u64) {
        self.waiting.remove(&id);
    }
}

/// `t + d`, clamping `d` where the sum would not be representable.
fn later(t: Instant, d: Duration) -> Instant {
    t.checked_add(d).unwrap_or_else(|| t + MAX_DELAY)
}

/// One link direction, shared by every connection crossing it (`Send + Sync`).
pub struct EmulatedLink {
    shape: LinkShape,
    state: Mutex<LinkState>,
}

impl EmulatedLink {
    /// A link drawing jitter and losses from `rng` (one stream per link
    /// direction), in the simulator's order: a loss draw when `loss > 0`,
    /// then a jitter draw, per transmission.
    pub fn new(shape: LinkShape, rng: SimRng) -> EmulatedLink {
        let state = LinkState::new(shape.params(), rng, Instant::now());
        EmulatedLink { shape, state: Mutex::new(state) }
    }

    /// The link's properties.
    pub fn shape(&self) -> &LinkShape {
        &self.shape
    }

    /// Carries one message of `bytes` across the link: blocks the calling
    /// thread for its transmission (the bandwidth shared with every other
    /// message on the link at the same time, fairly or FIFO as the link
    /// says), then for its propagation (latency plus a jitter draw from the
    /// link's stream). With probability `loss` the message is lost instead
    /// and transmitted again after `retransmit`, as in the simulator.
    /// Returns the time it took.
    pub fn carry(&self, bytes: u64) -> Duration {
        let arrival = Instant::now();
        // Nothing sets this flag, so the carry always runs to the end.
        let _ = self.carry_from(arrival, bytes, &AtomicBool::new(false));
        arrival.elapsed()
    }

    /// Carries a message that reached the link at `arrival` (possibly a
    /// little in the past); sleeps until it is delivered and returns the
    /// delivery deadline, or `None` soon after `stop` is set.
    fn carry_from(&self, arrival: Instant, bytes: u64, stop: &AtomicBool) -> Option<Instant> {
        let mut attempt_at = arrival;
        loop {
            let id = self.lock().admit(attempt_at, bytes);
            // Wake at each of the link's completions until this one's.
            let sent = loop {
                let now = Instant::now();
                let wake = {
                    let mut state = self.lock();
                    state.advance(now);
                    if let Some(end) = state.transmitted(id) {
                        break end;
                    }
                    state.next_completion().unwrap_or(now + STOP_POLL)
                };
                if sleep_until(wake, stop).is_none() {
                    self.lock().abandon(id);
                    return None;
                }
            };
            let (fate, retransmit_ns) = {
                let mut state = self.lock();
                (state.link.propagate(), state.link.retransmit_ns())
            };
            match fate {
                Some(delay_ns) => {
                    let delivered = later(sent, Duration::from_nanos(delay_ns));
                    sleep_until(delivered, stop)?;
                    return Some(delivered);
                }
                None => {
                    attempt_at = later(sent, Duration::from_nanos(retransmit_ns));
                    sleep_until(attempt_at, stop)?;
                }
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, LinkState> {
        // A holder cannot panic half-way through an update of its own; the
        // state stays usable either way.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Sleeps until `deadline`, waking every [`STOP_POLL`] to check `stop`.
/// `None` if `stop` was set.
fn sleep_until(deadline: Instant, stop: &AtomicBool) -> Option<()> {
    loop {
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Some(());
        }
        thread::sleep(left.min(STOP_POLL));
    }
}

/// Where a connection goes, and the link directions its frames cross.
#[derive(Clone)]
pub struct Route {
    /// The address the proxy connects to.
    pub target: SocketAddr,
    /// Hops crossed, in order, by frames from the client to the target.
    pub up: Vec<Arc<EmulatedLink>>,
    /// Hops crossed, in order, by frames from the target to the client.
    pub down: Vec<Arc<EmulatedLink>>,
}

/// Maps a connection's source index to its route (`None`: refuse the connection).
pub type Router = Arc<dyn Fn(u32) -> Option<Route> + Send + Sync>;

/// A TCP proxy applying routes.
///
/// For each accepted connection it checks the client proves the run's
/// secret ([`Channel::Link`]; a client that does not is dropped within the
/// handshake's two seconds, before its source index is read), reads the
/// source index, connects to the route's target and proves the secret to it
/// ([`Channel::Data`]), then relays frames in both directions on two threads:
/// frames from the client cross the route's `up` hops in order, frames from
/// the target its `down` hops. Each frame is received whole, carried hop by
/// hop (store and forward; a frame counts its payload plus
/// [`FRAME_OVERHEAD_BYTES`]; at most [`Access::max_frame`] bytes, checked
/// before the payload is read), then written. Its first hop's transmission is
/// timed from the arrival of its first byte, so the sender's real transfer to
/// the proxy overlaps it, and each further hop starts at the previous hop's
/// delivery deadline. A clean end of stream on one side
/// is passed on as a half close; an error on either side shuts the whole
/// connection down. Every socket has `TCP_NODELAY` set.
///
/// Dropping the proxy stops accepting, shuts down every open connection and
/// joins the threads (an abandoned carry ends within 20 ms; a connection
/// still connecting to its target, within the 5 s connect timeout).
pub struct LinkProxy {
    server: Server,
}

impl LinkProxy {
    /// Listens on `bind` (port 0 picks a free port).
    pub fn start(bind: SocketAddr, router: Router, access: Access) -> io::Result<LinkProxy> {
        let server = Server::start(bind, "offsim-link", move |client, conn| {
            // Whatever ended the relay, nothing more crosses this connection.
            let _ = relay(client, conn, &router, &access);
            conn.halt();
        })?;
        Ok(LinkProxy { server })
    }

    /// The address the proxy listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.addr
    }
}

/// Relays one connection until both directions end.
fn relay(client: TcpStream, conn: &Arc<Conn>, router: &Router, access: &Access) -> io::Result<()> {
    auth::accept(&client, &access.secret, Channel::Link)?;
    idle_timeout(&client)?;
    let mut from_client = BufReader::with_capacity(IO_BUFFER, client.try_clone()?);
    let source = read_route(&mut from_client)?;
    let Some(Route { target, up, down }) = router(source) else {
        return Ok(());
    };
    let target = TcpStream::connect_timeout(&target, CONNECT_TIMEOUT)?;
    target.set_nodelay(true)?;
    conn.attach(target.try_clone()?)?;
    auth::connect(&target, &access.secret, Channel::Data)?;
    idle_timeout(&target)?;
    let from_target = BufReader::with_capacity(IO_BUFFER, target.try_clone()?);
    let to_client = BufWriter::with_capacity(IO_BUFFER, client);
    let to_target = BufWriter::with_capacity(IO_BUFFER, target);
    let down_conn = Arc::clone(conn);
    let max = access.max_frame;
    let downstream = thread::Builder::new()
        .name("offsim-link-down".into())
        .spawn(move || pump(from_target, to_client, &down, &down_conn, max))?;
    pump(from_client, to_target, &up, conn, max);
    // A panic cannot happen in `pump`; the join only waits.
    let _ = downstream.join();
    Ok(())
}

/// Sets `s`'s read and write timeouts to [`IDLE_TIMEOUT`].
fn idle_timeout(s: &TcpStream) -> io::Result<()> {
    s.set_read_timeout(Some(IDLE_TIMEOUT))?;
    s.set_write_timeout(Some(IDLE_TIMEOUT))
}

/// Moves frames of at most `max` bytes from `from` to `to` across `hops`
/// until the stream ends (then half-closes `to`) or fails (then halts the
/// connection).
fn pump(
    mut from: BufReader<TcpStream>,
    mut to: BufWriter<TcpStream>,
    hops: &[Arc<EmulatedLink>],
    conn: &Conn,
    max: u32,
) {
    match forward_frames(&mut from, &mut to, hops, conn, max) {
        Ok(()) => {
            let _ = to.get_ref().shutdown(Shutdown::Write);
        }
        Err(_) => conn.halt(),
    }
}

/// Forwards frames until the stream ends. A frame reaches its first hop when
/// its first byte arrives (its sender's real transfer overlaps the emulated
/// transmission) and each further hop at the previous hop's delivery
/// deadline, so neither socket copies nor late wake-ups add up along a route.
fn forward_frames(
    from: &mut impl BufRead,
    to: &mut BufWriter<TcpStream>,
    hops: &[Arc<EmulatedLink>],
    conn: &Conn,
    max: u32,
) -> io::Result<()> {
    let mut frame = Vec::new();
    loop {
        // Wait for the next frame's first byte (or the end of the stream).
        match from.fill_buf() {
            Ok([]) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        let arrival = Instant::now();
        if !read_frame(from, &mut frame, max)? {
            return Ok(());
        }
        let bytes = frame.len() as u64 + FRAME_OVERHEAD_BYTES;
        let mut at = arrival;
        for hop in hops {
            at = hop
                .carry_from(at, bytes, &conn.halted)
                .ok_or_else(|| io::Error::new(io::ErrorKind::ConnectionAborted, "connection shut down"))?;
        }
        write_frame(to, &frame)?;
        to.flush()?;
    }
}

/// The image registry's side of a pull.
///
/// Answers each `Pull` frame (payload: the kind byte, then a little-endian
/// `u64` byte count) with an `Image` frame of that many bytes (the kind byte,
/// then zero filler streamed in chunks). Connections arrive through a
/// [`LinkProxy`], which has already consumed the source index and proves the
/// run's secret ([`Channel::Data`]) before anything is read. A malformed
/// frame, or a count too large for one frame (over [`Access::max_frame`]
/// minus the kind byte), closes the connection. Dropping it stops accepting
/// and shuts down open connections.
pub struct ByteSource {
    server: Server,
}

impl ByteSource {
    /// Listens on `bind` (port 0 picks a free port).
    pub fn start(bind: SocketAddr, access: Access) -> io::Result<ByteSource> {
        let server = Server::start(bind, "offsim-registry", move |stream, conn| {
            // A failed pull only ends its own connection.
            let _ = serve_pulls(stream, &access);
            conn.halt();
        })?;
        Ok(ByteSource { server })
    }

    /// The address the registry listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.addr
    }
}

fn serve_pulls(stream: TcpStream, access: &Access) -> io::Result<()> {
    auth::accept(&stream, &access.secret, Channel::Data)?;
    idle_timeout(&stream)?;
    let mut from = BufReader::with_capacity(IO_BUFFER, stream.try_clone()?);
    let mut to = BufWriter::with_capacity(IO_BUFFER, stream);
    let mut request = Vec::new();
    while read_frame(&mut from, &mut request, PULL_FRAME)? {
        let count = pull_count(&request)?;
        write_padded_frame(&mut to, &[FrameKind::Image as u8], count, access.max_frame)?;
        to.flush()?;
    }
    Ok(())
}

/// The byte count of a `Pull` frame's payload.
fn pull_count(payload: &[u8]) -> io::Result<u64> {
    match payload {
        [kind, count @ ..] if FrameKind::from_byte(*kind) == Some(FrameKind::Pull) => {
            let count: [u8; 8] = count.try_into().map_err(|_| invalid("pull frame needs an 8-byte count"))?;
            Ok(u64::from_le_bytes(count))
        }
        _ => Err(invalid("expected a pull frame")),
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// An accepted connection's sockets, so that another thread can shut them down.
struct Conn {
    halted: AtomicBool,
    sockets: Mutex<Vec<TcpStream>>,
}

impl Conn {
    fn sockets(&self) -> MutexGuard<'_, Vec<TcpStream>> {
        self.sockets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a socket to shut down with the connection; fails (shutting it
    /// down) if the connection was already halted.
    fn attach(&self, socket: TcpStream) -> io::Result<()> {
        let mut sockets = self.sockets();
        if self.halted.load(Ordering::Relaxed) {
            let _ = socket.shutdown(Shutdown::Both);
            return Err(io::Error::new(io::ErrorKind::ConnectionAborted, "connection shut down"));
        }
        sockets.push(socket);
        Ok(())
    }

    /// Shuts every socket down; blocked reads and writes return, and carries
    /// in progress are abandoned.
    fn halt(&self) {
        let sockets = self.sockets();
        self.halted.store(true, Ordering::Relaxed);
        for s in sockets.iter() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

/// State shared by a listener's acceptor thread, its connections and its owner.
#[derive(Default)]
struct Registry {
    stopping: AtomicBool,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Conn>>>,
}

impl Registry {
    fn open(&self) -> MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn halt_all(&self) {
        for conn in self.open().values() {
            conn.halt();
        }
    }
}

/// Removes a connection from the registry when its thread ends (or never starts).
struct Registered {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.registry.open().remove(&self.id);
    }
}

type Handler = Arc<dyn Fn(TcpStream, &Arc<Conn>) + Send + Sync>;

/// A listener serving each connection on its own thread; dropping it stops
/// accepting, shuts open connections down and joins every thread.
struct Server {
    addr: SocketAddr,
    registry: Arc<Registry>,
    acceptor: Option<JoinHandle<()>>,
}

impl Server {
    fn start(
        bind: SocketAddr,
        name: &str,
        handler: impl Fn(TcpStream, &Arc<Conn>) + Send + Sync + 'static,
    ) -> io::Result<Server> {
        let listener = TcpListener::bind(bind)?;
        let addr = listener.local_addr()?;
        let registry = Arc::new(Registry::default());
        let shared = Arc::clone(&registry);
        let handler: Handler = Arc::new(handler);
        let thread_name = name.to_string();
        let acceptor = thread::Builder::new()
            .name(format!("{name}-accept"))
            .spawn(move || accept_loop(&listener, &shared, &handler, &thread_name))?;
        Ok(Server { addr, registry, acceptor: Some(acceptor) })
    }
}

fn accept_loop(listener: &TcpListener, registry: &Arc<Registry>, handler: &Handler, name: &str) {
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    for incoming in listener.incoming() {
        if registry.stopping.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = incoming else {
            thread::sleep(ACCEPT_BACKOFF);
            continue;
        };
        workers.retain(|w| !w.is_finished());
        if registry.open().len() >= MAX_CONNECTIONS {
            continue; // dropped: closed
        }
        // A connection whose socket cannot be set up is dropped (closed).
        let Ok(watch) = stream.set_nodelay(true).and_then(|()| stream.try_clone()) else {
            continue;
        };
        let conn = Arc::new(Conn { halted: AtomicBool::new(false), sockets: Mutex::new(vec![watch]) });
        let id = registry.next_id.fetch_add(1, Ordering::Relaxed);
        registry.open().insert(id, Arc::clone(&conn));
        let entry = Registered { registry: Arc::clone(registry), id };
        let handler = Arc::clone(handler);
        let spawned = thread::Builder::new().name(name.to_string()).spawn(move || {
            let _entry = entry;
            handler(stream, &conn);
        });
        // Spawning fails only when the system is out of threads: the
        // connection (and its registry entry) is dropped.
        if let Ok(w) = spawned {
            workers.push(w);
        }
    }
    registry.halt_all();
    for w in workers {
        let _ = w.join();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.registry.stopping.store(true, Ordering::SeqCst);
        self.registry.halt_all();
        // The acceptor blocks in `accept`: a connection of our own wakes it.
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        if TcpStream::connect_timeout(&SocketAddr::new(ip, self.addr.port()), CONNECT_TIMEOUT).is_ok()
            && let Some(acceptor) = self.acceptor.take()
        {
            let _ = acceptor.join();
        }
    }
}

/// Whether this kernel offers the netem queueing discipline: loaded
/// (`/sys/module/sch_netem`, `/proc/modules`) or built in (`modules.builtin`
/// of the running kernel). A probe only: nothing is loaded or configured.
pub fn netem_available() -> bool {
    if Path::new("/sys/module/sch_netem").exists() {
        return true;
    }
    if fs::read_to_string("/proc/modules").is_ok_and(|m| loaded_lists_netem(&m)) {
        return true;
    }
    let Ok(release) = fs::read_to_string("/proc/sys/kernel/osrelease") else {
        return false;
    };
    ["/lib/modules", "/usr/lib/modules"].iter().any(|dir| {
        fs::read_to_string(Path::new(dir).join(release.trim()).join("modules.builtin"))
            .is_ok_and(|b| builtin_lists_netem(&b))
    })
}

/// Whether `/proc/modules` text lists `sch_netem` (first field of a line).
fn loaded_lists_netem(proc_modules: &str) -> bool {
    proc_modules.lines().any(|l| l.split_whitespace().next() == Some("sch_netem"))
}

/// Whether `modules.builtin` text lists `sch_netem.ko` (by path).
fn builtin_lists_netem(builtin: &str) -> bool {
    builtin.lines().any(|l| l.trim().rsplit('/').next() == Some("sch_netem.ko"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;

    fn shape(bandwidth_bps: f64, sharing: Sharing) -> LinkShape {
        LinkShape {
            bandwidth_bps,
            latency: Duration::ZERO,
            jitter_ms: None,
            loss: 0.0,
            retransmit: Duration::ZERO,
            sharing,
        }
    }

    fn state(bandwidth_bps: f64, sharing: Sharing, t0: Instant) -> LinkState {
        LinkState::new(shape(bandwidth_bps, sharing).params(), stream(1, "link-test", 0), t0)
    }

    fn at(t0: Instant, secs: f64) -> Instant {
        t0 + Duration::from_secs_f64(secs)
    }

    #[test]
    fn shape_converts_scenario_units() {
        let spec: LinkSpec = toml::from_str(
            r#"bandwidth_mbps = 25
               latency_ms = 12.5
               jitter_ms = { kind = "uniform", low = 1, high = 3 }
               loss = 0.01
               sharing = "fifo""#,
        )
        .unwrap();
        let s = LinkShape::from_spec(&spec);
        assert_eq!(s.bandwidth_bps, 25e6);
        assert_eq!(s.latency, Duration::from_micros(12_500));
        assert_eq!(s.jitter_ms, Some(DistSpec::Uniform { low: 1.0, high: 3.0 }));
        assert_eq!(s.loss, 0.01);
        assert_eq!(s.retransmit, Duration::from_millis(200), "the scenario default");
        assert_eq!(s.sharing, Sharing::Fifo);
        let p = s.params();
        assert_eq!((p.latency_ns, p.retransmit_ns, p.bandwidth_bps), (12_500_000, 200_000_000, 25e6));
    }

    #[test]
    fn spans_and_rates_are_clamped_not_panicking() {
        assert_eq!(span_secs(-1.0), Duration::ZERO);
        assert_eq!(span_secs(f64::NAN), Duration::ZERO);
        assert_eq!(span_secs(f64::INFINITY), MAX_DELAY);
        assert_eq!(span_secs(1e300), MAX_DELAY);
        assert_eq!(span_secs(0.25), Duration::from_millis(250));
        assert_eq!(shape(0.0, Sharing::Fair).params().bandwidth_bps, 1.0);
        assert_eq!(shape(f64::NAN, Sharing::Fair).params().bandwidth_bps, 1.0);
        assert_eq!(shape(f64::INFINITY, Sharing::Fair).params().bandwidth_bps, 1e18);
        let mut s = shape(1e6, Sharing::Fair);
        s.jitter_ms = Some(DistSpec::Exponential { mean: -1.0 });
        assert!(s.params().jitter.is_none(), "an invalid jitter adds nothing");
    }

    /// Admits `messages` (bytes, arrival in seconds), advances to `until`
    /// seconds in one step, and returns each message's transmission end in
    /// seconds.
    fn ends(sharing: Sharing, messages: &[(u64, f64)], until: f64) -> Vec<f64> {
        let t0 = Instant::now();
        // 8 Mbit/s: one byte per microsecond.
        let mut s = state(8e6, sharing, t0);
        let ids: Vec<u64> = messages.iter().map(|&(bytes, arrival)| s.admit(at(t0, arrival), bytes)).collect();
        s.advance(at(t0, until));
        ids.iter().map(|&id| (s.transmitted(id).expect("transmitted") - t0).as_secs_f64()).collect()
    }

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6)
    }

    #[test]
    fn fair_sharing_splits_the_rate_exactly() {
        let both = ends(Sharing::Fair, &[(500_000, 0.0), (500_000, 0.0)], 5.0);
        assert!(close(&both, &[1.0, 1.0]), "{both:?}");
        // 1 MB at 0, 250 kB at 0.5 s: they share from 0.5 s; the second ends
        // at 1 s, the first (250 kB left) at 1.25 s.
        let late = ends(Sharing::Fair, &[(1_000_000, 0.0), (250_000, 0.5)], 5.0);
        assert!(close(&late, &[1.25, 1.0]), "{late:?}");
    }

    #[test]
    fn fifo_transmits_in_arrival_order() {
        let e = ends(Sharing::Fifo, &[(500_000, 0.0), (500_000, 0.001)], 5.0);
        assert!(close(&e, &[0.5, 1.0]), "{e:?}");
    }

    /// Whether `t` is `secs` after `t0`, to the model's nanosecond rounding.
    fn near(t: Option<Instant>, t0: Instant, secs: f64) -> bool {
        t.is_some_and(|t| ((t - t0).as_secs_f64() - secs).abs() < 1e-6)
    }

    #[test]
    fn completions_do_not_depend_on_when_they_are_observed() {
        // Observed step by step, the completions are those found in one late step.
        let t0 = Instant::now();
        let mut s = state(8e6, Sharing::Fair, t0);
        let a = s.admit(t0, 500_000);
        let b = s.admit(t0, 300_000);
        assert!(near(s.next_completion(), t0, 0.6), "b ends first");
        s.advance(at(t0, 0.3));
        assert_eq!(s.transmitted(b), None);
        s.advance(at(t0, 0.7));
        assert!(near(s.transmitted(b), t0, 0.6));
        assert!(near(s.next_completion(), t0, 0.8));
        assert_eq!(s.transmitted(a), None);
        s.advance(at(t0, 3.0));
        assert!(near(s.transmitted(a), t0, 0.8));
        assert_eq!(s.transmitted(a), None, "reported once");
        assert!(s.waiting.is_empty() && s.next_completion().is_none());
    }

    #[test]
    fn arrivals_before_processed_events_start_at_the_clock() {
        let t0 = Instant::now();
        let mut s = state(8e6, Sharing::Fair, t0);
        let a = s.admit(t0, 100_000);
        s.advance(at(t0, 0.2));
        assert!(near(s.transmitted(a), t0, 0.1));
        // Claims to have arrived at 0.05 s, after the model processed 0.1 s.
        let b = s.admit(at(t0, 0.05), 100_000);
        s.advance(at(t0, 1.0));
        assert!(near(s.transmitted(b), t0, 0.2));
    }

    #[test]
    fn an_abandoned_message_still_occupies_the_link() {
        let t0 = Instant::now();
        let mut s = state(8e6, Sharing::Fair, t0);
        let a = s.admit(t0, 500_000);
        let b = s.admit(t0, 500_000);
        s.abandon(a);
        s.advance(at(t0, 5.0));
        assert!(near(s.transmitted(b), t0, 1.0));
        assert!(s.waiting.is_empty());
    }

    #[test]
    fn no_loss_never_retransmits_and_delay_is_latency_plus_jitter() {
        let mut sh = shape(1e6, Sharing::Fair);
        sh.latency = Duration::from_millis(10);
        sh.jitter_ms = Some(DistSpec::Uniform { low: 1.0, high: 3.0 });
        let link = EmulatedLink::new(sh, stream(3, "link-test", 0));
        let mut s = link.lock();
        for _ in 0..20_000 {
            let d = s.link.propagate().expect("never lost with loss = 0");
            assert!((11_000_000..=13_000_000).contains(&d), "{d}");
        }
    }

    #[test]
    fn loss_rate_matches_probability() {
        let mut sh = shape(1e6, Sharing::Fair);
        sh.loss = 0.25;
        let link = EmulatedLink::new(sh, stream(4, "link-test", 0));
        let mut s = link.lock();
        let n = 40_000;
        let lost = (0..n).filter(|_| s.link.propagate().is_none()).count() as f64 / n as f64;
        // 4 standard errors of a binomial proportion.
        assert!((lost - 0.25).abs() < 4.0 * (0.25f64 * 0.75 / n as f64).sqrt(), "loss {lost}");
    }

    #[test]
    fn carry_waits_transmission_plus_latency() {
        // 80 kbit/s: 100 bytes take 10 ms; plus 5 ms latency.
        let mut s = shape(80e3, Sharing::Fair);
        s.latency = Duration::from_millis(5);
        let took = EmulatedLink::new(s, stream(6, "link-test", 0)).carry(100);
        assert!(took >= Duration::from_millis(15), "{took:?}");
        assert!(took < Duration::from_millis(25), "{took:?}");
    }

    #[test]
    fn a_stopped_carry_returns_early() {
        let mut s = shape(1e6, Sharing::Fair);
        s.latency = Duration::from_secs(10);
        let link = EmulatedLink::new(s, stream(7, "link-test", 0));
        let stop = AtomicBool::new(true);
        let t = Instant::now();
        assert_eq!(link.carry_from(t, 10, &stop), None);
        assert!(t.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn pull_frames_are_parsed_strictly() {
        let mut p = vec![FrameKind::Pull as u8];
        p.extend_from_slice(&1234u64.to_le_bytes());
        assert_eq!(pull_count(&p).unwrap(), 1234);
        assert!(pull_count(&p[..5]).is_err());
        p[0] = FrameKind::Ping as u8;
        assert!(pull_count(&p).is_err());
        assert!(pull_count(&[]).is_err());
    }

    #[test]
    fn netem_module_lists_are_recognised() {
        let modules = "sch_fq_codel 20480 2 - Live 0x0\nsch_netem 20480 0 - Live 0x0\n";
        assert!(loaded_lists_netem(modules));
        assert!(!loaded_lists_netem("sch_netem_extra 1 0 - Live 0x0\nxt_nat 16384 1\n"));
        assert!(builtin_lists_netem("kernel/net/sched/sch_htb.ko\nkernel/net/sched/sch_netem.ko\n"));
        assert!(!builtin_lists_netem("kernel/net/sched/sch_htb.ko\n"));
        // The probe itself only reads files: it must not fail either way.
        let _ = netem_available();
    }
}
