//! The scenario file's types, exactly as written in TOML.
//!
//! Units are carried in field names (`_ms`, `_s`, `_mbps`, `_ghz`, `_kb`,
//! `_mb`, `_gb`, `_w`, `_j`, `_mcycles`). Sizes are SI: 1 kB = 1000 bytes,
//! 1 MB = 10^6 bytes, 1 Mbps = 10^6 bit/s, 1 GHz = 10^9 cycles/s.
//! Unknown fields are rejected. `docs/scenario-format.md` documents every
//! field with its default.

use crate::dist::DistSpec;
use serde::{Deserialize, Serialize};

/// A whole scenario file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Fragments of overrides applied before `--set` flags, e.g. what
    /// `offsim calibrate` writes: each file holds `"path.to.field" = value`
    /// lines. Paths are relative to the scenario file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Short name; defaults to the file's stem. Used for the default
    /// output directory `results/<name>/`.
    #[serde(default)]
    pub name: Option<String>,
    /// Free text, recorded in each run's manifest.
    #[serde(default)]
    pub description: Option<String>,
    /// `[simulation]`: seed, horizon, warm-up and deadline handling.
    #[serde(default)]
    pub simulation: SimulationSpec,
    /// `[policy]`: the policy that decides where tasks run.
    pub policy: PolicySpec,
    /// `[dispatcher]`: what policies know about nodes, and when.
    #[serde(default)]
    pub dispatcher: DispatcherSpec,
    /// `[outputs]`: which result files are written.
    #[serde(default)]
    pub outputs: OutputSpec,
    /// `[workload]`: a trace to replay, or limits for the generators.
    #[serde(default)]
    pub workload: WorkloadSpec,
    /// `[[images]]`: container images tasks may need.
    #[serde(default)]
    pub images: Vec<ImageSpec>,
    /// `[[networks]]`: access networks; at least one.
    pub networks: Vec<NetworkSpec>,
    /// `[[devices]]`: device classes; at least one.
    pub devices: Vec<DeviceClassSpec>,
    /// `[[nodes]]`: edge and cloud nodes.
    #[serde(default)]
    pub nodes: Vec<NodeSpec>,
    /// Used by `offsim sweep`; ignored by `offsim run`.
    #[serde(default)]
    pub experiment: Option<ExperimentSpec>,
    /// How `offsim live`, `validate` and `calibrate` map the scenario onto
    /// real containers (ignored by the simulator).
    #[serde(default)]
    pub live: Option<LiveSpec>,
}

/// `[live]`: the live backend's settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveSpec {
    /// Scenario speed one host core stands for: an entity of `speed_ghz`
    /// and `cores` gets `cores * speed_ghz / host_core_ghz` host cores.
    /// Raising it scales the whole workload down on the host without
    /// changing any time in the results.
    pub host_core_ghz: f64,
    /// CFS period of the containers' CPU quota (shorter: smaller bursts).
    #[serde(default = "default_cpu_period_us")]
    pub cpu_period_us: u32,
    /// Share of the host's cores the containers may reserve together; the
    /// rest is left to the controller and its link emulation.
    #[serde(default = "default_usable_cpu_fraction")]
    pub usable_cpu_fraction: f64,
    /// Memory limit of each worker container.
    #[serde(default = "default_container_memory_mb")]
    pub container_memory_mb: f64,
    /// The Docker Engine (default: the local socket, `DOCKER_HOST` honoured).
    /// Devices and nodes no host places run here.
    #[serde(default)]
    pub engine: Option<EngineSpec>,
    /// Further Docker Engines and the devices and nodes each runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<HostSpec>,
    /// IP address the link proxies listen on (default: each address the
    /// engines' containers reach this process at, and no other; `0.0.0.0`
    /// listens on every interface).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen_address: Option<String>,
    /// Live repetitions per policy in `offsim validate`.
    #[serde(default = "default_repetitions")]
    pub repetitions: u32,
}

/// A Docker Engine to run on.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSpec {
    /// `unix:///path/docker.sock` or `tcp://host:port`.
    pub url: String,
    /// TLS client files for `tcp://` engines (all three, or none).
    #[serde(default)]
    pub tls_ca: Option<String>,
    /// TLS client certificate.
    #[serde(default)]
    pub tls_cert: Option<String>,
    /// TLS client key.
    #[serde(default)]
    pub tls_key: Option<String>,
}

/// `[[live.hosts]]`: a further Docker Engine, the devices and nodes that
/// run on it, and how this process and its containers reach each other.
/// Workers on a host publish their ports on ports the engine picks.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    /// Names the host in messages and `--set` paths.
    pub name: String,
    /// `tcp://host:port` (TLS when the three files are given) or
    /// `unix:///path/docker.sock`.
    pub url: String,
    /// TLS client files (all three, or none), relative to the working
    /// directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca: Option<String>,
    /// TLS client certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<String>,
    /// TLS client key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<String>,
    /// Scenario speed one of this host's cores stands for (default:
    /// `live.host_core_ghz`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_core_ghz: Option<f64>,
    /// Host name or IP address at which this process reaches the ports the
    /// host publishes (default: the host of `url`; `127.0.0.1` for `unix://`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// IP address at which the host's containers reach this process
    /// (default: `live.listen_address` if it is one address, else the
    /// gateway of the run's network on that engine, right only when the
    /// engine runs on this machine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_address: Option<String>,
    /// Names of the nodes and device classes (every device of the class)
    /// that run on this host.
    pub place: Vec<String>,
}

impl HostSpec {
    /// Where this process reaches the ports the host publishes: `address`,
    /// else the host of a `tcp://` url, else (`unix://`, an engine on this
    /// machine) `127.0.0.1`. `None` if a `tcp://` url names no host.
    pub fn published_address(&self) -> Option<String> {
        if let Some(a) = &self.address {
            return Some(a.clone());
        }
        if self.url.starts_with("unix://") {
            return Some("127.0.0.1".into());
        }
        let authority = self.url.strip_prefix("tcp://")?.split('/').next()?;
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split_once(']')?.0,
            None => authority.rsplit_once(':').map_or(authority, |(host, _)| host),
        };
        (!host.is_empty()).then(|| host.to_string())
    }
}

fn default_cpu_period_us() -> u32 {
    10_000
}
fn default_usable_cpu_fraction() -> f64 {
    0.75
}
fn default_container_memory_mb() -> f64 {
    128.0
}
fn default_repetitions() -> u32 {
    3
}

/// `[experiment]`: what `offsim sweep` varies.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSpec {
    /// Policies to compare; empty means the scenario's `[policy]` only.
    #[serde(default)]
    pub policies: Vec<ExperimentPolicy>,
    /// Replications per policy and grid point (seeds `seed`, `seed + 1`, ...).
    #[serde(default = "one_u32")]
    pub replications: u32,
    /// Label of the policy the others are compared with (default: the first).
    #[serde(default)]
    pub baseline: Option<String>,
    /// Scenario fields to vary: `"path.to.field" = [value, value, ...]`; the
    /// sweep runs every combination.
    #[serde(default)]
    pub grid: std::collections::BTreeMap<String, Vec<toml::Value>>,
}

fn one_u32() -> u32 {
    1
}

/// A policy in an experiment: a `[policy]` table plus an optional label
/// (default: its name) naming it in results.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExperimentPolicy {
    /// Names the policy in results; default: its name.
    #[serde(default)]
    pub label: Option<String>,
    /// The policy's `[policy]` table: its name and parameters.
    #[serde(flatten)]
    pub policy: PolicySpec,
}

impl ExperimentPolicy {
    /// The label naming this policy in results.
    pub fn label(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.policy.name)
    }
}

/// `[simulation]`: seed, horizon, warm-up, deadline handling.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulationSpec {
    /// Master seed; every random stream derives from it. `--seed` overrides.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Hard stop. Tasks still in flight then end with reason `horizon`.
    #[serde(default)]
    pub horizon_s: Option<f64>,
    /// Tasks arriving before this time, and utilisation and energy before it,
    /// are left out of `summary.csv`.
    #[serde(default)]
    pub warmup_s: f64,
    /// What happens when a task's deadline passes before it is done.
    #[serde(default)]
    pub on_deadline: DeadlineAction,
}

impl Default for SimulationSpec {
    fn default() -> Self {
        Self { seed: default_seed(), horizon_s: None, warmup_s: 0.0, on_deadline: DeadlineAction::default() }
    }
}

fn default_seed() -> u64 {
    1
}

/// What happens to a task whose deadline passes.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeadlineAction {
    /// The task is ended at its deadline with reason `timeout`, wherever it
    /// is (the source document's task timeout); queues and cores are freed.
    #[default]
    Abort,
    /// The task runs to completion; `deadline_met` records the miss.
    Continue,
}

/// `[policy]`: the policy's registered name and its parameters.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PolicySpec {
    /// A built-in or registered policy name.
    pub name: String,
    /// Every other key of the table: the policy's own parameters, checked by
    /// the policy (unknown keys are rejected there).
    #[serde(flatten)]
    pub params: toml::Table,
}

/// `[dispatcher]`: what the deciding agent knows and when.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatcherSpec {
    /// Nodes report their state this often; policies see the last report.
    /// 0 means perfect, instantaneous information. The source document's
    /// heartbeat is 5 s.
    #[serde(default = "default_heartbeat_ms")]
    pub heartbeat_ms: f64,
    /// Time constant of the exponentially weighted CPU utilisation that
    /// policies see for devices and nodes.
    #[serde(default = "default_utilisation_window_ms")]
    pub utilisation_window_ms: f64,
    /// Time the dispatcher takes to decide each task: the policy decides on
    /// the view at arrival and the placement takes effect this much later.
    #[serde(default)]
    pub decision_ms: Option<DistSpec>,
}

impl Default for DispatcherSpec {
    fn default() -> Self {
        Self {
            heartbeat_ms: default_heartbeat_ms(),
            utilisation_window_ms: default_utilisation_window_ms(),
            decision_ms: None,
        }
    }
}

fn default_heartbeat_ms() -> f64 {
    5000.0
}
fn default_utilisation_window_ms() -> f64 {
    1000.0
}

/// `[outputs]`: which tables a run writes.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Write `tasks.csv` (one row per task).
    #[serde(default = "yes")]
    pub tasks: bool,
    /// Interval of `utilisation.csv` rows; 0 turns the table off.
    #[serde(default = "default_sample_ms")]
    pub utilisation_interval_ms: f64,
}

impl Default for OutputSpec {
    fn default() -> Self {
        Self { tasks: true, utilisation_interval_ms: default_sample_ms() }
    }
}

fn yes() -> bool {
    true
}
fn default_sample_ms() -> f64 {
    1000.0
}

/// `[workload]`: a trace to replay, or limits for the generators declared on
/// device classes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// CSV trace, relative to the scenario file (see docs/trace-format.md).
    /// When set, device classes must not declare generators.
    #[serde(default)]
    pub trace: Option<String>,
    /// Generators stop creating tasks at this time.
    #[serde(default)]
    pub duration_s: Option<f64>,
    /// Generators stop after this many tasks in total.
    #[serde(default)]
    pub max_tasks: Option<u64>,
}

/// `[[images]]`: a container image tasks may need.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageSpec {
    /// Referenced by `[devices.workload].image`, trace rows and `preloaded_images`; unique among images.
    pub name: String,
    /// Bytes pulled from the registry and space taken in a node's image cache, in MB.
    pub size_mb: f64,
}

impl ImageSpec {
    /// The image's size in whole bytes, as a node's cache counts it.
    pub fn bytes(&self) -> u64 {
        (self.size_mb * 1e6).round() as u64
    }
}

/// One direction of a link.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    /// Transmission rate, shared by concurrent messages, in Mbps.
    pub bandwidth_mbps: f64,
    /// One-way propagation latency.
    #[serde(default)]
    pub latency_ms: f64,
    /// Extra one-way delay drawn per message (non-negative).
    #[serde(default)]
    pub jitter_ms: Option<DistSpec>,
    /// Probability that a message is lost and must be sent again.
    #[serde(default)]
    pub loss: f64,
    /// Delay before a lost message is sent again (retransmission timeout).
    #[serde(default = "default_retransmit_ms")]
    pub retransmit_ms: f64,
    /// How concurrent transfers share the bandwidth.
    #[serde(default)]
    pub sharing: Sharing,
    /// Network energy per bit carried (J per bit, times 10^-9).
    #[serde(default)]
    pub energy_nj_per_bit: f64,
}

fn default_retransmit_ms() -> f64 {
    200.0
}

/// Bandwidth sharing among concurrent transfers on one link direction.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sharing {
    /// Every active transfer gets an equal share (processor sharing).
    #[default]
    Fair,
    /// One transfer at a time, in arrival order.
    Fifo,
}

/// `[[networks]]`: an access network shared by the devices attached to it,
/// up to its gateway.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Referenced by `devices.network`; unique among networks.
    pub name: String,
    /// Device -> gateway.
    pub up: LinkSpec,
    /// Gateway -> device.
    pub down: LinkSpec,
}

/// Per-request protocol cost of offloading.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolSpec {
    /// The preset.
    #[serde(default)]
    pub kind: ProtocolKind,
    /// Overrides the preset's connection set-up round trips per request.
    #[serde(default)]
    pub setup_rtts: Option<f64>,
    /// Overrides the preset's header bytes added to each message.
    #[serde(default)]
    pub header_bytes: Option<u64>,
}

/// Protocol presets (see docs/scenario-format.md for their values).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProtocolKind {
    /// Persistent connection, small fixed header (MQTT-like).
    #[default]
    Mqtt,
    /// New connection per request: TCP and TLS handshakes, larger headers.
    Http,
    /// No overhead at all (for analytical checks).
    Raw,
}

/// Device queue discipline.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QueueDiscipline {
    /// Arrival order.
    #[default]
    Fifo,
    /// Highest `priority` first; FIFO among equal priorities.
    Priority,
}

/// Power of an edge device.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevicePowerSpec {
    /// Power with no core busy, in watts.
    pub idle_w: f64,
    /// At full utilisation of all cores; linear in between.
    pub busy_w: f64,
    /// Extra power while the radio transmits.
    #[serde(default)]
    pub tx_w: f64,
    /// Extra power while the radio receives.
    #[serde(default)]
    pub rx_w: f64,
}

/// `[[devices]]`: a class of identical edge devices.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceClassSpec {
    /// Class name; unique among device classes.
    pub name: String,
    /// Devices of this class, named `<name>-0` ... `<name>-<count-1>`.
    #[serde(default = "one")]
    pub count: u32,
    /// The access network the devices attach to.
    pub network: String,
    /// Cores per device; each runs one task (or offload preparation) at a time.
    #[serde(default = "one")]
    pub cores: u32,
    /// Speed of each core, in GHz.
    pub speed_ghz: f64,
    /// Order of each device's run queue.
    #[serde(default)]
    pub queue: QueueDiscipline,
    /// Tasks waiting (not running) beyond this are dropped (`queue_full`).
    #[serde(default)]
    pub queue_limit: Option<u32>,
    /// CPU and radio power of each device.
    pub power: DevicePowerSpec,
    /// Battery capacity; the device stops when it is empty.
    #[serde(default)]
    pub battery_j: Option<f64>,
    /// Device CPU work to prepare an offloaded task (serialisation, TLS),
    /// run on the device's cores before the upload.
    #[serde(default)]
    pub offload_overhead_mcycles: f64,
    /// Protocol cost of each offloaded request.
    #[serde(default)]
    pub protocol: ProtocolSpec,
    /// Task generator for each device of the class.
    #[serde(default)]
    pub workload: Option<GeneratorSpec>,
}

fn one() -> u32 {
    1
}

/// `[devices.workload]`: Poisson (or renewal) task arrivals per device.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorSpec {
    /// Poisson arrival rate per device. Give this or `interarrival_ms`.
    #[serde(default)]
    pub rate_per_s: Option<f64>,
    /// Renewal arrivals: the gap between a device's tasks.
    #[serde(default)]
    pub interarrival_ms: Option<DistSpec>,
    /// First possible arrival.
    #[serde(default)]
    pub start_s: f64,
    /// CPU work of each task, in Mcycles.
    pub work_mcycles: DistSpec,
    /// Input sent to the node when offloaded, in kB.
    #[serde(default = "zero_dist")]
    pub input_kb: DistSpec,
    /// Result sent back to the device when offloaded, in kB.
    #[serde(default = "zero_dist")]
    pub output_kb: DistSpec,
    /// Node memory held while the task runs on a node, in MB.
    #[serde(default = "zero_dist")]
    pub memory_mb: DistSpec,
    /// Image the task runs in when offloaded.
    #[serde(default)]
    pub image: Option<String>,
    /// Priority, 0–255: higher runs first in `priority` queues.
    #[serde(default)]
    pub priority: u8,
    /// Relative to arrival.
    #[serde(default)]
    pub deadline_ms: Option<f64>,
    /// Labels a node must all carry to run these tasks (its tier counts).
    #[serde(default)]
    pub node_selector: Vec<String>,
    /// Taints these tasks tolerate.
    #[serde(default)]
    pub tolerations: Vec<String>,
}

fn zero_dist() -> DistSpec {
    DistSpec::constant(0.0)
}

/// Power of a node.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodePowerSpec {
    /// Power with no core busy, in watts.
    pub idle_w: f64,
    /// Power with all cores busy, in watts; linear in between.
    pub busy_w: f64,
}

/// Where a node pulls images from.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrySpec {
    /// Rate of the registry -> node link, fair-shared by concurrent pulls to this node, in Mbps.
    pub bandwidth_mbps: f64,
    /// One-way latency of the registry -> node link, in milliseconds.
    #[serde(default)]
    pub latency_ms: f64,
}

impl RegistrySpec {
    /// The registry -> node link: the registry's bandwidth and latency, no
    /// jitter, loss or energy.
    pub fn link(&self) -> LinkSpec {
        LinkSpec {
            bandwidth_mbps: self.bandwidth_mbps,
            latency_ms: self.latency_ms,
            jitter_ms: None,
            loss: 0.0,
            retransmit_ms: 0.0,
            sharing: Sharing::Fair,
            energy_nj_per_bit: 0.0,
        }
    }
}

/// `[[nodes]]`: an edge server or cloud host.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// Node name, used by policies and outputs; unique among nodes.
    pub name: String,
    /// Tier label, usually `edge` or `cloud`.
    pub tier: String,
    /// Extra labels for placement constraints (the tier counts as a label).
    #[serde(default)]
    pub labels: Vec<String>,
    /// Only tasks tolerating every one of these taints may run here.
    #[serde(default)]
    pub taints: Vec<String>,
    /// Cores; each runs one task at a time.
    pub cores: u32,
    /// Speed of each core, in GHz.
    pub speed_ghz: f64,
    /// Memory shared by the tasks running on the node, in GB.
    #[serde(default = "default_memory_gb")]
    pub memory_gb: f64,
    /// Order of the node's run queue.
    #[serde(default)]
    pub queue: QueueDiscipline,
    /// Most tasks waiting for a core at the node; `None` is unbounded.
    #[serde(default)]
    pub queue_limit: Option<u32>,
    /// Gateway -> node.
    pub up: LinkSpec,
    /// Node -> gateway.
    pub down: LinkSpec,
    /// Where the node pulls images from; `None`: it cannot pull.
    #[serde(default)]
    pub registry: Option<RegistrySpec>,
    /// Space for cached images, in GB.
    #[serde(default = "default_cache_gb")]
    pub image_cache_gb: f64,
    /// Images cached at time 0.
    #[serde(default)]
    pub preloaded_images: Vec<String>,
    /// Container start-up once the image is present.
    #[serde(default = "zero_dist")]
    pub cold_start_ms: DistSpec,
    /// An idle container stays warm this long.
    #[serde(default = "default_keep_alive_s")]
    pub keep_alive_s: f64,
    /// CPU power of the node.
    pub power: NodePowerSpec,
}

impl NodeSpec {
    /// The image cache's capacity in whole bytes.
    pub fn image_cache_bytes(&self) -> u64 {
        (self.image_cache_gb * 1e9).round() as u64
    }
}

fn default_memory_gb() -> f64 {
    1024.0
}
fn default_cache_gb() -> f64 {
    10.0
}
fn default_keep_alive_s() -> f64 {
    600.0
}
