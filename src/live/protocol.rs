//! The live backend's wire formats, and the bounds every peer is held to.
//!
//! Every connection first passes the run's challenge-response
//! ([`super::auth`]); only then is anything below read.
//!
//! **Control** (controller <-> worker, TCP to the worker's [`CONTROL_PORT`]):
//! one JSON object per line, a command at most [`MAX_COMMAND_LINE`] bytes,
//! an event at most [`MAX_EVENT_LINE`]. The controller sends [`Command`]s;
//! the worker sends [`Event`]s. A worker serves one authenticated control
//! connection at a time.
//!
//! **Data** (device worker -> link proxy -> node worker, and node worker ->
//! proxy -> registry): right after the handshake with the proxy, the client
//! sends its source index as a raw little-endian `u32` (the proxy routes on
//! it and does not forward it; it authenticates to the route's target
//! itself); after that both directions carry *frames*: a little-endian
//! `u32` payload length, then the payload. The first payload byte is its
//! [`FrameKind`]. Every frame is a message as the simulator models one: the
//! proxy receives it whole, then carries it across each emulated hop in
//! turn (store and forward). No frame may be longer than the run's
//! [`Limits::max_frame`], checked before its payload is read.

use crate::dist::DistSpec;
use crate::live::auth::Secret;
use serde::{Deserialize, Serialize};
use std::io::{self, BufRead, Read, Write};

/// Port of a worker's control listener.
pub const CONTROL_PORT: u16 = 7070;
/// Port of a node worker's data listener (tasks arrive here from the proxy).
pub const DATA_PORT: u16 = 7071;
/// Largest frame payload any run may use (1 GiB); a run's own bound,
/// [`Limits::max_frame`], is usually far smaller.
pub const MAX_FRAME: u32 = 1 << 30;
/// Longest command line a worker reads (a command is a few hundred bytes).
pub const MAX_COMMAND_LINE: u64 = 64 * 1024;
/// Longest event line the controller reads (a report lists the node's
/// images, at most 65535 of them).
pub const MAX_EVENT_LINE: u64 = 1024 * 1024;
/// Bytes a frame may carry besides a message's payload and protocol
/// headers: the kind byte and the task or result header.
const FRAME_HEAD_ROOM: u64 = 64;

/// What a run's peers may ask of each other, derived from the run itself:
/// anything beyond is refused before it is read, allocated or executed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// Longest frame payload: the run's largest message (task input or
    /// output plus protocol headers, or image) plus the frame's own header.
    pub max_frame: u32,
    /// Most cycles one command or task may ask for (its work, or an offload
    /// preparation).
    pub max_cycles: f64,
    /// Most protocol set-up round trips of one offload.
    pub max_setup_rtts: u32,
}

impl Limits {
    /// Limits admitting messages of up to `largest_message` bytes (payload
    /// plus protocol headers, or an image), work of up to `max_cycles` and
    /// up to `max_setup_rtts` set-up round trips.
    pub fn new(largest_message: u64, max_cycles: f64, max_setup_rtts: u32) -> Limits {
        let frame = largest_message.saturating_add(FRAME_HEAD_ROOM).min(u64::from(MAX_FRAME));
        Limits {
            max_frame: u32::try_from(frame).unwrap_or(MAX_FRAME),
            max_cycles: if max_cycles.is_finite() { max_cycles.max(0.0) } else { 0.0 },
            max_setup_rtts,
        }
    }

    /// Checks an amount of work: finite, not negative, within the run's.
    pub fn check_cycles(&self, what: &str, cycles: f64) -> Result<(), String> {
        if cycles.is_finite() && (0.0..=self.max_cycles).contains(&cycles) {
            Ok(())
        } else {
            Err(format!("{what}: expected a finite number of cycles from 0 to {}, got {cycles}", self.max_cycles))
        }
    }

    /// Checks a message of `payload` bytes plus `header` protocol bytes
    /// fits in one of the run's frames.
    pub fn check_message(&self, what: &str, payload: u64, header: u64) -> Result<(), String> {
        match payload.checked_add(header).and_then(|b| b.checked_add(FRAME_HEAD_ROOM)) {
            Some(bytes) if bytes <= u64::from(self.max_frame) => Ok(()),
            _ => Err(format!(
                "{what}: expected at most {} bytes with headers, got {payload} + {header}",
                u64::from(self.max_frame).saturating_sub(FRAME_HEAD_ROOM)
            )),
        }
    }
}

/// What a worker is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// An edge device: runs tasks locally and offloads them.
    Device,
    /// An edge or cloud node: runs offloaded tasks.
    Node,
}

/// A worker's configuration, passed as one JSON argument on its command line
/// (`offsim worker '<json>'`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerConfig {
    /// Entity name, e.g. `camera-3` or `edge`.
    pub name: String,
    /// Whether the worker is a device or a node.
    pub role: Role,
    /// Device index (dense over all devices) or node index; a node sends it
    /// as its source index when pulling images.
    pub index: u32,
    /// Executor threads (the entity's cores).
    pub cores: u32,
    /// Entity speed in cycles per second.
    pub speed_hz: f64,
    /// Scenario cycles one host core executes per second (`live.host_core_ghz`).
    pub host_core_hz: f64,
    /// Spin-loop iterations one unthrottled host core runs per second
    /// (measured by the controller on the same host).
    pub loop_rate: f64,
    /// Serve the run queue by priority (highest first, FIFO among equals)
    /// rather than FIFO.
    pub priority_queue: bool,
    /// Tasks waiting (not running) beyond which new ones are refused.
    pub queue_limit: Option<u32>,
    /// Node only: memory available to tasks (admission accounting).
    pub memory_bytes: u64,
    /// How often to send an [`Event::Report`] unprompted.
    pub report_ms: f64,
    /// Seed of the worker's own random stream (container cold starts).
    pub seed: u64,
    /// Node only: image sizes by index.
    pub image_bytes: Vec<u64>,
    /// Node only: image cache capacity.
    pub image_cache_bytes: u64,
    /// Node only: images held from the start.
    pub preloaded_images: Vec<u16>,
    /// Node only: container cold start in milliseconds.
    pub cold_start_ms: DistSpec,
    /// Node only: how long an idle container stays warm.
    pub keep_alive_s: f64,
    /// Node only: proxy address to pull images through (`None`: no registry).
    pub registry: Option<String>,
    /// Device only: the link proxies it may send tasks to (`host:port`, as
    /// offloads name them); an offload naming any other is refused.
    pub proxies: Vec<String>,
    /// The run's secret: every connection to or from the worker proves it.
    pub secret: Secret,
    /// What the worker accepts from its peers.
    pub limits: Limits,
}

/// Controller -> worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Command {
    /// Device: run a task's work on the device.
    Run {
        /// The task's id in the workload (its `task_id` in `tasks.csv`).
        id: u64,
        /// CPU work, in cycles.
        cycles: f64,
        /// The task's priority, 0–255.
        priority: u8,
    },
    /// Device: prepare (`overhead_cycles` on a device core), then send the
    /// task to a node through the proxy at `proxy` (connecting with source
    /// index `route`), and wait for its result.
    Offload(OffloadRequest),
    /// Node: pull an image now (policy pre-loading).
    Preload {
        /// Index of the image.
        image: u16,
    },
}

/// Everything a device needs to offload one task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OffloadRequest {
    /// The task's id in the workload (its `task_id` in `tasks.csv`).
    pub id: u64,
    /// The task's priority, 0–255.
    pub priority: u8,
    /// Device CPU work to prepare the offload, in cycles.
    pub overhead_cycles: f64,
    /// The link proxy in front of the chosen node.
    pub proxy: String,
    /// Source index sent to the proxy (the device's index).
    pub route: u32,
    /// CPU work of the task itself, in cycles.
    pub cycles: f64,
    /// Input sent to the node, in bytes.
    pub input_bytes: u64,
    /// Result sent back to the device, in bytes.
    pub output_bytes: u64,
    /// Node memory held while the task runs, in bytes.
    pub memory_bytes: u64,
    /// Index of the container image the task needs; `None` needs none.
    pub image: Option<u16>,
    /// Protocol set-up round trips before the request.
    pub setup_rtts: u32,
    /// Protocol header bytes added to each message.
    pub header_bytes: u64,
}

/// How a task ended, as the device saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The task ran and its result reached the device.
    Completed,
    /// The device's or the node's queue was full.
    QueueFull,
    /// The task needs more memory than the node has.
    InsufficientMemory,
    /// Something broke (connection refused or reset, bad frame).
    Failed {
        /// What broke.
        error: String,
    },
}

/// Where a task's time went, in nanoseconds, as the simulator splits it:
/// wait, upload (incl. protocol set-up), start-up (image pull and container
/// cold start), execution (incl. offload preparation), download.
pub type Phases = [u64; 5];

/// Worker -> controller.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "ev", rename_all = "kebab-case")]
pub enum Event {
    /// Sent once on connect.
    Hello {
        /// The worker's entity name.
        name: String,
        /// Whether the worker is a device or a node.
        role: Role,
    },
    /// Device: a task ended.
    Finished {
        /// The task's id in the workload (its `task_id` in `tasks.csv`).
        id: u64,
        /// How it ended.
        status: Status,
        /// Where its time went.
        phases: Phases,
        /// Nanoseconds after the command arrived when the task's own work
        /// started (`None` if it never did).
        exec_start_ns: Option<u64>,
    },
    /// Periodic (every `report_ms`) and, on devices, whenever the run queue
    /// or the number of busy cores changes.
    Report(Report),
}

/// A worker's state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Tasks waiting for a core (not running).
    pub queue_len: u32,
    /// Cores running a task.
    pub busy_cores: u32,
    /// Cumulative core-nanoseconds spent executing tasks since the worker
    /// started.
    pub busy_core_ns: u64,
    /// Node only: memory not reserved by admitted tasks.
    pub free_memory_bytes: u64,
    /// Node only: image indices in the cache.
    pub cached_images: Vec<u16>,
    /// Node only: image indices with a running or warm container.
    pub warm_images: Vec<u16>,
    /// The container's CPU time as the kernel accounts it (its cgroup),
    /// in ns; `None` where the worker cannot read it.
    pub cgroup_cpu_ns: Option<u64>,
}

/// CPU time of the cgroup this process runs in (a container's own cgroup
/// as Docker mounts it), from cgroup v2's `cpu.stat` or v1's `cpuacct`.
pub fn cgroup_cpu_ns() -> Option<u64> {
    if let Ok(stat) = std::fs::read_to_string("/sys/fs/cgroup/cpu.stat") {
        let usec = stat.lines().find_map(|l| l.strip_prefix("usage_usec "))?;
        return usec.trim().parse::<u64>().ok().map(|us| us * 1000);
    }
    ["/sys/fs/cgroup/cpuacct/cpuacct.usage", "/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .and_then(|s| s.trim().parse().ok())
}

/// First byte of every frame payload.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FrameKind {
    /// Protocol set-up round trip (device -> node); answered by `Pong`.
    Ping = 0,
    /// A task: [`TaskHeader`] then `input_bytes + header_bytes` filler.
    Task = 1,
    /// A task's result: [`ResultHeader`] then `output_bytes + header_bytes` filler.
    Result = 2,
    /// Answer to a `Ping`.
    Pong = 3,
    /// Node -> registry: a little-endian `u64` byte count to send back.
    Pull = 4,
    /// Registry -> node: the image's bytes.
    Image = 5,
}

impl FrameKind {
    /// The kind whose byte is `b`; `None` for an unknown byte.
    pub fn from_byte(b: u8) -> Option<FrameKind> {
        Some(match b {
            0 => FrameKind::Ping,
            1 => FrameKind::Task,
            2 => FrameKind::Result,
            3 => FrameKind::Pong,
            4 => FrameKind::Pull,
            5 => FrameKind::Image,
            _ => return None,
        })
    }
}

/// Fixed-size header of a `Task` frame (after the kind byte).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct TaskHeader {
    /// The task's id in the workload (its `task_id` in `tasks.csv`).
    pub id: u64,
    /// CPU work, in cycles.
    pub cycles: f64,
    /// Result to send back, in bytes.
    pub output_bytes: u64,
    /// Node memory held while the task runs, in bytes.
    pub memory_bytes: u64,
    /// Protocol header bytes added to each message.
    pub header_bytes: u64,
    /// `u16::MAX`: no image.
    pub image: u16,
    /// The task's priority, 0–255.
    pub priority: u8,
}

impl TaskHeader {
    /// Encoded length, in bytes.
    pub const LEN: usize = 8 * 5 + 2 + 1;

    /// Appends the encoded header to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_le_bytes());
        out.extend_from_slice(&self.cycles.to_le_bytes());
        out.extend_from_slice(&self.output_bytes.to_le_bytes());
        out.extend_from_slice(&self.memory_bytes.to_le_bytes());
        out.extend_from_slice(&self.header_bytes.to_le_bytes());
        out.extend_from_slice(&self.image.to_le_bytes());
        out.push(self.priority);
    }

    /// The header at the start of `b`; an error if `b` is too short.
    pub fn decode(b: &[u8]) -> io::Result<TaskHeader> {
        if b.len() < Self::LEN {
            return Err(bad("short task header"));
        }
        Ok(TaskHeader {
            id: u64_at(b, 0),
            cycles: f64::from_bits(u64_at(b, 8)),
            output_bytes: u64_at(b, 16),
            memory_bytes: u64_at(b, 24),
            header_bytes: u64_at(b, 32),
            image: u16::from_le_bytes([b[40], b[41]]),
            priority: b[42],
        })
    }
}

impl TaskHeader {
    /// Checks the task asks for no more than the run allows.
    pub fn check(&self, limits: &Limits) -> Result<(), String> {
        limits.check_cycles("task cycles", self.cycles)?;
        limits.check_message("task output", self.output_bytes, self.header_bytes)
    }
}

/// Outcome on the node, first in a `Result` frame (after the kind byte).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ResultHeader {
    /// 0 completed, 1 queue full, 2 insufficient memory, 3 refused (the
    /// task asked for more than the run allows).
    pub status: u8,
    /// Time waiting for a node core, in nanoseconds.
    pub wait_ns: u64,
    /// Image pull plus container cold start.
    pub startup_ns: u64,
    /// Time on a node core, in nanoseconds.
    pub exec_ns: u64,
    /// Wall clock (ns since the Unix epoch) when the task frame had fully
    /// arrived.
    pub received_unix_ns: u64,
    /// Wall clock (ns since the Unix epoch) when the result frame was handed to the socket.
    pub sent_unix_ns: u64,
}

impl ResultHeader {
    /// Encoded length, in bytes.
    pub const LEN: usize = 1 + 8 * 5;

    /// Appends the encoded header to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.status);
        for v in [self.wait_ns, self.startup_ns, self.exec_ns, self.received_unix_ns, self.sent_unix_ns] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// The header at the start of `b`; an error if `b` is too short.
    pub fn decode(b: &[u8]) -> io::Result<ResultHeader> {
        if b.len() < Self::LEN {
            return Err(bad("short result header"));
        }
        Ok(ResultHeader {
            status: b[0],
            wait_ns: u64_at(b, 1),
            startup_ns: u64_at(b, 9),
            exec_ns: u64_at(b, 17),
            received_unix_ns: u64_at(b, 25),
            sent_unix_ns: u64_at(b, 33),
        })
    }
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("eight bytes"))
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// Writes one frame: length, then `payload`.
pub fn write_frame(w: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len()).map_err(|_| bad("frame too large"))?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(payload)
}

/// Reads one frame of at most `max` bytes into `buf` (replacing its
/// contents). `Ok(false)` on a clean end of stream before the frame started.
/// A longer frame is an error before any of its payload is read, and the
/// buffer grows only as the payload arrives.
pub fn read_frame(r: &mut impl Read, buf: &mut Vec<u8>, max: u32) -> io::Result<bool> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes(len);
    if len > max {
        return Err(bad(&format!("expected a frame of at most {max} bytes, got a length of {len}")));
    }
    buf.clear();
    let got = r.take(u64::from(len)).read_to_end(buf)?;
    if got < len as usize {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed inside a frame"));
    }
    Ok(true)
}

/// Reads one line of at most `max` bytes (its newline included) into `buf`
/// (replacing its contents, without the newline). `Ok(false)` on a clean
/// end of stream; a longer line is an error once `max` bytes were read.
pub fn read_line(r: &mut impl BufRead, buf: &mut Vec<u8>, max: u64) -> io::Result<bool> {
    buf.clear();
    let got = r.take(max).read_until(b'\n', buf)?;
    match buf.last() {
        _ if got == 0 => Ok(false),
        Some(b'\n') => {
            buf.pop();
            Ok(true)
        }
        _ if got as u64 >= max => Err(bad(&format!("expected a line of at most {max} bytes"))),
        _ => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed inside a line")),
    }
}

/// Filler bytes are written from this many zeros at a time.
const FILLER_CHUNK: usize = 64 * 1024;
static ZEROS: [u8; FILLER_CHUNK] = [0; FILLER_CHUNK];

/// Writes a frame whose payload is `head` then `filler` zero bytes,
/// streaming the filler; the payload may be at most `max` bytes.
pub fn write_padded_frame(w: &mut impl Write, head: &[u8], filler: u64, max: u32) -> io::Result<()> {
    let len = (head.len() as u64).saturating_add(filler);
    let len = u32::try_from(len)
        .ok()
        .filter(|&l| l <= max)
        .ok_or_else(|| bad(&format!("a {len}-byte message exceeds the {max}-byte frame limit")))?;
    let mut start = Vec::with_capacity(4 + head.len());
    start.extend_from_slice(&len.to_le_bytes());
    start.extend_from_slice(head);
    w.write_all(&start)?;
    let mut left = filler;
    while left > 0 {
        let n = left.min(FILLER_CHUNK as u64) as usize;
        w.write_all(&ZEROS[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// Reads the length (at most `max`) and kind of the next frame; returns the
/// kind and the bytes of payload after it, or `None` on a clean end of stream.
pub fn read_frame_start(r: &mut impl Read, max: u32) -> io::Result<Option<(FrameKind, u64)>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes(len);
    if len == 0 || len > max {
        return Err(bad(&format!("expected a frame length from 1 to {max}, got {len}")));
    }
    let mut kind = [0u8; 1];
    r.read_exact(&mut kind)?;
    let kind = FrameKind::from_byte(kind[0]).ok_or_else(|| bad(&format!("unknown frame kind {}", kind[0])))?;
    Ok(Some((kind, u64::from(len) - 1)))
}

/// Reads the next frame (at most `max` bytes), which must be a `kind`
/// frame; returns the bytes of payload after the kind.
pub fn expect_frame(r: &mut impl Read, kind: FrameKind, max: u32) -> io::Result<u64> {
    match read_frame_start(r, max)? {
        Some((k, rest)) if k == kind => Ok(rest),
        Some((k, _)) => Err(bad(&format!("expected a {kind:?} frame, got {k:?}"))),
        None => Err(io::Error::new(io::ErrorKind::UnexpectedEof, format!("connection closed before a {kind:?} frame"))),
    }
}

/// Reads the first `len` of the `rest` bytes of a frame, skipping the others.
pub fn read_head(r: &mut impl Read, len: usize, rest: u64) -> io::Result<Vec<u8>> {
    if rest < len as u64 {
        return Err(bad(&format!("frame of {rest} bytes is shorter than its {len}-byte header")));
    }
    let mut head = vec![0; len];
    r.read_exact(&mut head)?;
    skip(r, rest - len as u64)?;
    Ok(head)
}

/// Reads and discards `n` bytes.
pub fn skip(r: &mut impl Read, n: u64) -> io::Result<()> {
    let got = io::copy(&mut r.take(n), &mut io::sink())?;
    if got < n {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed inside a frame"));
    }
    Ok(())
}

/// Sends the source index that opens a data connection.
pub fn write_route(w: &mut impl Write, source: u32) -> io::Result<()> {
    w.write_all(&source.to_le_bytes())
}

/// Reads the source index that opens a data connection.
pub fn read_route(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

/// Nanoseconds since the Unix epoch, for phase boundaries measured on two
/// workers (the same host's clock, or synchronised clocks across hosts).
pub fn unix_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip() {
        let t = TaskHeader {
            id: 7,
            cycles: 1.5e9,
            output_bytes: 10,
            memory_bytes: 1 << 20,
            header_bytes: 4,
            image: u16::MAX,
            priority: 3,
        };
        let mut b = Vec::new();
        t.encode(&mut b);
        assert_eq!(b.len(), TaskHeader::LEN);
        assert_eq!(TaskHeader::decode(&b).unwrap(), t);
        let r = ResultHeader { status: 1, wait_ns: 2, startup_ns: 3, exec_ns: 4, received_unix_ns: 5, sent_unix_ns: 6 };
        b.clear();
        r.encode(&mut b);
        assert_eq!(b.len(), ResultHeader::LEN);
        assert_eq!(ResultHeader::decode(&b).unwrap(), r);
        assert!(TaskHeader::decode(&b[..10]).is_err());
    }

    #[test]
    fn frames_round_trip_and_reject_garbage_lengths() {
        let mut wire = Vec::new();
        write_route(&mut wire, 9).unwrap();
        write_frame(&mut wire, b"abc").unwrap();
        write_frame(&mut wire, b"").unwrap();
        let mut r = &wire[..];
        assert_eq!(read_route(&mut r).unwrap(), 9);
        let mut buf = Vec::new();
        assert!(read_frame(&mut r, &mut buf, 3).unwrap());
        assert_eq!(buf, b"abc");
        assert!(read_frame(&mut r, &mut buf, 3).unwrap());
        assert!(buf.is_empty());
        assert!(!read_frame(&mut r, &mut buf, 3).unwrap());
        // Over the bound: refused before any payload is read or allocated.
        let e = read_frame(&mut &4u32.to_le_bytes()[..], &mut buf, 3).unwrap_err();
        assert!(e.to_string().contains("at most 3 bytes"), "{e}");
        // A length promising more than arrives allocates only what arrived.
        let mut short = (1u32 << 30).to_le_bytes().to_vec();
        short.extend_from_slice(b"xy");
        let mut fresh = Vec::new();
        assert!(read_frame(&mut &short[..], &mut fresh, MAX_FRAME).is_err());
        assert!(fresh.capacity() < 1 << 20);
        assert!(read_frame_start(&mut &0u32.to_le_bytes()[..], 3).is_err());
        assert!(write_padded_frame(&mut Vec::new(), b"ab", 2, 3).is_err());
    }

    #[test]
    fn lines_are_bounded() {
        let mut buf = Vec::new();
        let mut r = &b"{\"a\":1}\nsecond\n"[..];
        assert!(read_line(&mut r, &mut buf, 16).unwrap());
        assert_eq!(buf, b"{\"a\":1}");
        assert!(read_line(&mut r, &mut buf, 16).unwrap());
        assert_eq!(buf, b"second");
        assert!(!read_line(&mut r, &mut buf, 16).unwrap());
        let long = [b'x'; 100];
        let e = read_line(&mut &long[..], &mut buf, 16).unwrap_err();
        assert!(e.to_string().contains("at most 16 bytes"), "{e}");
        assert_eq!(buf.len(), 16);
        assert!(read_line(&mut &b"cut"[..], &mut buf, 16).is_err());
    }

    #[test]
    fn limits_refuse_work_and_messages_beyond_the_run() {
        let l = Limits::new(1000, 5e9, 2);
        assert_eq!(l.max_frame, 1064);
        assert!(l.check_cycles("c", 5e9).is_ok() && l.check_cycles("c", 0.0).is_ok());
        for bad in [f64::INFINITY, f64::NAN, -1.0, 1e300] {
            let e = l.check_cycles("task cycles", bad).unwrap_err();
            assert!(e.contains("task cycles: expected a finite number of cycles from 0 to"), "{e}");
        }
        assert!(l.check_message("m", 900, 100).is_ok());
        assert!(l.check_message("m", 901, 100).unwrap_err().contains("at most 1000 bytes"));
        assert!(l.check_message("m", u64::MAX, 1).is_err());
        assert_eq!(Limits::new(u64::MAX, f64::INFINITY, 0).max_frame, MAX_FRAME);
        assert_eq!(Limits::new(0, f64::NAN, 0).max_cycles, 0.0);
        let t = TaskHeader {
            id: 1,
            cycles: f64::INFINITY,
            output_bytes: 0,
            memory_bytes: 0,
            header_bytes: 0,
            image: 0,
            priority: 0,
        };
        assert!(t.check(&l).is_err());
        assert!(TaskHeader { cycles: 1.0, ..t }.check(&l).is_ok());
        assert!(TaskHeader { cycles: 1.0, output_bytes: 2000, ..t }.check(&l).is_err());
    }

    #[test]
    fn commands_and_events_are_one_json_line_each() {
        let c = Command::Run { id: 1, cycles: 2.0, priority: 0 };
        let line = serde_json::to_string(&c).unwrap();
        assert!(!line.contains('\n'));
        assert_eq!(serde_json::from_str::<Command>(&line).unwrap(), c);
        let e = Event::Finished {
            id: 1,
            status: Status::Failed { error: "reset".into() },
            phases: [1, 2, 3, 4, 5],
            exec_start_ns: None,
        };
        let line = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<Event>(&line).unwrap(), e);
    }
}
