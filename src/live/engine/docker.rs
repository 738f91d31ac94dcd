//! The Docker Engine, driven synchronously.
//!
//! [`Engine`] wraps the engine's HTTP API in blocking calls (its own
//! single-threaded async runtime; do not call it from inside another async
//! runtime). Every call is bounded: [`CALL_TIMEOUT`], or [`BUILD_TIMEOUT`]
//! for an image build; running out of time is an error, never a hang.
//!
//! Everything offsim creates carries [`MANAGED_LABEL`]; containers and
//! networks also carry [`RUN_LABEL`], so one run's leftovers
//! ([`Engine::remove_run`]) or those of every run no longer alive
//! ([`Engine::cleanup`]) can be found and removed even after a crash.
//!
//! A run is alive while any of its containers is running, paused or
//! restarting: a worker stops by itself within its lease once its
//! controller is gone (see [`crate::live::worker`]), so a run whose
//! controller was killed is dead soon after. A container created but not
//! started yet, and a network none of whose containers exist yet, belong
//! to a run still starting for [`START_GRACE`] after their creation (the
//! controller starts each container right after creating it, and its
//! first one right after its network; a network's creation time is its
//! [`CREATED_LABEL`]).
//!
//! Containers are hardened: a non-root user ([`WORKER_USER`]), a read-only
//! root filesystem, every capability dropped, `no-new-privileges`, and
//! process, memory (no swap) and CPU (CFS quota) limits.

use crate::error::{Error, Result};
use bollard::errors::Error as EngineError;
use bollard::models::{
    ContainerCreateBody, ContainerStateStatusEnum, ContainerSummaryStateEnum, HostConfig, NetworkCreateRequest,
    PortBinding, PortMap, RestartPolicy, RestartPolicyNameEnum, SystemInfoCgroupVersionEnum,
};
use bollard::query_parameters::{
    BuildImageOptionsBuilder, CreateContainerOptionsBuilder, InspectContainerOptions, InspectNetworkOptions,
    ListContainersOptionsBuilder, ListImagesOptionsBuilder, ListNetworksOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder, StartContainerOptions,
};
use bollard::{API_DEFAULT_VERSION, ClientVersion, Docker};
use futures_util::TryStreamExt;
use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::net::IpAddr;
use std::path::PathBuf;
use std::pin::pin;
use std::time::Duration;

/// Label set to `"true"` on every container, network and image offsim creates.
pub const MANAGED_LABEL: &str = "io.offsim.managed";
/// Label holding the run id, on every container and network of a run.
pub const RUN_LABEL: &str = "io.offsim.run";
/// Label holding a container's role (see [`ContainerSpec::role`]).
pub const ROLE_LABEL: &str = "io.offsim.role";
/// Label holding a network's creation time, in Unix seconds.
pub const CREATED_LABEL: &str = "io.offsim.created";
/// How long a container created but not started, or a run's network with
/// none of its containers yet, counts as part of a run still starting.
pub const START_GRACE: Duration = Duration::from_secs(60);
/// User and group every worker runs as (`nobody:nogroup`, not root).
pub const WORKER_USER: &str = "65534:65534";
/// Bound on every engine call but image builds.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on an image build.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(300);

/// Container states of a run that is alive.
const ALIVE_STATES: [ContainerSummaryStateEnum; 3] =
    [ContainerSummaryStateEnum::RUNNING, ContainerSummaryStateEnum::PAUSED, ContainerSummaryStateEnum::RESTARTING];

/// Counts a removal (`Some`: removed, `None`: already gone) or keeps its
/// error for the report.
fn tally(outcome: Result<Option<()>>, count: &mut usize, failures: &mut Vec<String>) {
    match outcome {
        Ok(Some(())) => *count += 1,
        Ok(None) => {}
        Err(e) => failures.push(e.to_string()),
    }
}

/// Seconds since the Unix epoch on this machine's clock.
fn unix_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The engine used when neither an address nor `DOCKER_HOST` is given.
const LOCAL_ENGINE: &str = "unix:///var/run/docker.sock";
/// Smallest CFS quota the kernel accepts, in microseconds.
const MIN_CPU_QUOTA_US: i64 = 1000;

/// Where the engine listens.
#[derive(Clone, Debug, Default)]
pub struct EngineAddress {
    /// `unix:///path/to.sock`, or `tcp://host:port` (plain HTTP unless
    /// [`EngineAddress::tls`] is given). `None`: `DOCKER_HOST` if set, else
    /// the local socket `unix:///var/run/docker.sock`.
    pub url: Option<String>,
    /// Client certificate and CA for a TLS engine (`tcp://` only). With no
    /// url and no files, `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH` are
    /// honoured as the Docker CLI does (`ca.pem`, `cert.pem`, `key.pem`).
    pub tls: Option<TlsFiles>,
}

/// PEM files for a TLS connection to the engine.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// Certificate authority that signed the engine's certificate.
    pub ca: PathBuf,
    /// Client certificate.
    pub cert: PathBuf,
    /// Client private key.
    pub key: PathBuf,
}

/// The engine host's resources, as the engine reports them.
#[derive(Clone, Debug, PartialEq)]
pub struct HostInfo {
    /// CPUs available to containers.
    pub ncpu: u32,
    /// Memory of the host, in bytes.
    pub mem_total: u64,
    /// Engine version, e.g. `20.10.24`.
    pub server_version: String,
    /// Control group version (1 or 2), if the engine says.
    pub cgroup_version: Option<u8>,
}

/// A network created for one run.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkInfo {
    /// The engine's id of the network.
    pub id: String,
    /// The network's name.
    pub name: String,
    /// The bridge's address on the host: containers reach processes on the
    /// host (the controller, link proxies) at this address.
    pub gateway: IpAddr,
}

/// What to run in one container.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerSpec {
    /// Container name (unique on the engine).
    pub name: String,
    /// Run id, set as [`RUN_LABEL`].
    pub run_id: String,
    /// Image reference.
    pub image: String,
    /// Network name or id (see [`Engine::create_network`]).
    pub network: String,
    /// Arguments after the image's entry point.
    pub args: Vec<String>,
    /// CPU limit in host cores (0.5: half a core).
    pub cpus: f64,
    /// CFS period in microseconds (1000 to 1000000). The quota is
    /// `cpus` × period, at least 1000 µs; a short period spreads the
    /// allowance finely, so throttling comes in short bursts.
    pub cpu_period_us: u32,
    /// Memory limit in bytes (swap is not allowed on top of it).
    pub memory_bytes: u64,
    /// Largest number of processes and threads.
    pub pids_limit: i64,
    /// What the container is (e.g. `device`, `node`), set as [`ROLE_LABEL`].
    pub role: String,
    /// TCP ports to publish, each on a host port the engine picks.
    pub publish: Vec<u16>,
    /// The engine host's address the ports are published on; `None`: every
    /// interface.
    pub publish_on: Option<IpAddr>,
}

/// A started container.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerInfo {
    /// The engine's id of the container.
    pub id: String,
    /// The container's name.
    pub name: String,
    /// Its address on its network; `None` if it has already exited.
    pub ip: Option<IpAddr>,
    /// Per port of [`ContainerSpec::publish`]: (port, the host port the
    /// engine picked for it).
    pub published: Vec<(u16, u16)>,
}

impl ContainerInfo {
    /// The host port `port` is published on.
    pub fn host_port(&self, port: u16) -> Option<u16> {
        self.published.iter().find(|(p, _)| *p == port).map(|(_, host)| *host)
    }
}

/// A container's state and the limits and hardening the engine applied.
/// Limits are as the engine reports them: 0 means none.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerState {
    /// The container is running.
    pub running: bool,
    /// Exit code, once it has exited.
    pub exit_code: Option<i64>,
    /// Whether the kernel killed it for exceeding its memory limit.
    pub oom_killed: bool,
    /// CFS period of the CPU limit, in microseconds.
    pub cpu_period_us: i64,
    /// CPU time the container may use per period, in microseconds.
    pub cpu_quota_us: i64,
    /// CPU limit in billionths of a core (an alternative to period and
    /// quota; offsim does not set it).
    pub nano_cpus: i64,
    /// Memory limit, in bytes.
    pub memory_bytes: i64,
    /// Limit on memory plus swap, in bytes.
    pub memory_swap_bytes: i64,
    /// Largest number of processes and threads.
    pub pids_limit: i64,
    /// The root filesystem is read-only.
    pub readonly_rootfs: bool,
    /// Linux capabilities dropped.
    pub cap_drop: Vec<String>,
    /// Security options, such as `no-new-privileges`.
    pub security_opt: Vec<String>,
    /// The user the container's processes run as.
    pub user: String,
}

/// How many objects a removal removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Removed {
    /// Containers removed.
    pub containers: usize,
    /// Networks removed.
    pub networks: usize,
    /// Images removed.
    pub images: usize,
    /// Runs still alive, left alone (by run id).
    pub alive: Vec<String>,
}

impl std::fmt::Display for Removed {
    /// E.g. `2 containers, 1 network, 0 images`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        let Removed { containers, networks, images, .. } = *self;
        write!(
            f,
            "{containers} container{}, {networks} network{}, {images} image{}",
            plural(containers),
            plural(networks),
            plural(images)
        )?;
        match self.alive.len() {
            0 => Ok(()),
            n => write!(f, "; left {n} run{} in progress alone: {}", plural(n), self.alive.join(", ")),
        }
    }
}

/// A connection to a Docker Engine.
pub struct Engine {
    docker: Docker,
    runtime: tokio::runtime::Runtime,
    /// The address as given or defaulted, for messages.
    address: String,
    /// Engine version and the API version in use, for [`Engine::describe`].
    version: String,
    api_version: String,
}

impl Engine {
    /// Connects to the engine at `addr` and agrees on an API version.
    ///
    /// The client speaks the newest API version it knows; an older engine
    /// refuses that, naming the newest it supports, which is then used.
    pub fn connect(addr: &EngineAddress) -> Result<Engine> {
        let address = addr.url.clone().or_else(|| std::env::var("DOCKER_HOST").ok()).unwrap_or(LOCAL_ENGINE.into());
        let tls = match (&addr.url, &addr.tls) {
            (None, None) => tls_from_env(),
            (_, tls) => tls.clone(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Live(format!("cannot start the runtime for Docker Engine calls: {e}")))?;
        let mut version = *API_DEFAULT_VERSION;
        let docker = loop {
            let client = client(&address, tls.as_ref(), &version)?;
            match runtime.block_on(async { tokio::time::timeout(CALL_TIMEOUT, client.negotiate_version()).await }) {
                Ok(Ok(docker)) => break docker,
                Ok(Err(e)) => match newest_supported(&e) {
                    Some(older) if older < version => version = older,
                    _ => return Err(unreachable(&address, tls.as_ref(), &e)),
                },
                Err(_) => {
                    let why = format!("no answer within {} s", CALL_TIMEOUT.as_secs());
                    return Err(unreachable(&address, tls.as_ref(), &why));
                }
            }
        };
        let mut engine = Engine { docker, runtime, address, version: String::new(), api_version: String::new() };
        let reported = engine.call("asking for its version", engine.docker.version())?;
        engine.version = reported.version.unwrap_or_else(|| "unknown".into());
        engine.api_version = reported.api_version.unwrap_or_else(|| "unknown".into());
        Ok(engine)
    }

    /// The engine, for messages: e.g.
    /// `unix:///var/run/docker.sock (Docker 20.10.24, API 1.41)`.
    pub fn describe(&self) -> String {
        format!("{} (Docker {}, API {})", self.address, self.version, self.api_version)
    }

    /// The engine host's CPUs, memory, version and control group version.
    pub fn host_info(&self) -> Result<HostInfo> {
        let info = self.call("asking for host information", self.docker.info())?;
        let missing = |what: &str| Error::Live(format!("the Docker Engine at {} did not report {what}", self.address));
        Ok(HostInfo {
            ncpu: info.ncpu.and_then(|n| u32::try_from(n).ok()).ok_or_else(|| missing("its CPU count"))?,
            mem_total: info.mem_total.and_then(|n| u64::try_from(n).ok()).ok_or_else(|| missing("its memory size"))?,
            server_version: info.server_version.unwrap_or_else(|| "unknown".into()),
            cgroup_version: match info.cgroup_version {
                Some(SystemInfoCgroupVersionEnum::_1) => Some(1),
                Some(SystemInfoCgroupVersionEnum::_2) => Some(2),
                _ => None,
            },
        })
    }

    /// Makes sure an image tagged `tag` exists: reuses it (returns
    /// `false`), or builds it from the build context `context`, an
    /// uncompressed tar archive with a `Dockerfile` (returns `true`).
    pub fn ensure_image(&self, tag: &str, context: &[u8]) -> Result<bool> {
        let what = format!("looking up image {tag}");
        if self.call_found(&what, self.docker.inspect_image(tag))?.is_some() {
            return Ok(false);
        }
        // No build cache: the tag names the content, so a build only happens
        // for new content, and reusing cached steps would tie this image to
        // others' intermediate images, which may be removed mid-build.
        let options = BuildImageOptionsBuilder::new().t(tag).nocache(true).rm(true).forcerm(true).build();
        let build = async {
            let context = bollard::body_full(context.to_vec().into());
            let mut output = pin!(self.docker.build_image(options, None, Some(context)));
            // The output is progress text; a failed step arrives as an error.
            while output.try_next().await?.is_some() {}
            Ok(())
        };
        let what = format!("building image {tag}");
        self.wait(BUILD_TIMEOUT, &what, build)?.map_err(|e| self.failed(&what, &e))?;
        match self.call_found(&what, self.docker.inspect_image(tag))? {
            Some(_) => Ok(true),
            None => Err(Error::Live(format!(
                "the Docker Engine at {} ended the build of {} without an error, but has no such image",
                self.address, tag
            ))),
        }
    }

    /// Removes the image reference `tag` (the image itself once no other
    /// tag names it). An image already gone is not an error.
    pub fn remove_image(&self, tag: &str) -> Result<()> {
        let options = RemoveImageOptionsBuilder::new().build();
        self.call_found(&format!("removing image {tag}"), self.docker.remove_image(tag, Some(options), None))?;
        Ok(())
    }

    /// Creates the bridge network `offsim-<run_id>`, labelled with the run.
    /// An `internal` network gives its containers no route beyond it: they
    /// reach each other and this machine's address on the bridge (where the
    /// controller's proxies listen), nothing else; the engine cannot
    /// publish ports from it.
    pub fn create_network(&self, run_id: &str, internal: bool) -> Result<NetworkInfo> {
        let name = format!("offsim-{run_id}");
        let request = NetworkCreateRequest {
            name: name.clone(),
            driver: Some("bridge".into()),
            internal: Some(internal),
            labels: Some(HashMap::from([
                (MANAGED_LABEL.into(), "true".into()),
                (RUN_LABEL.into(), run_id.into()),
                (CREATED_LABEL.into(), unix_s().to_string()),
            ])),
            ..Default::default()
        };
        let created = self.call(&format!("creating network {name}"), self.docker.create_network(request))?;
        let what = format!("inspecting network {name}");
        let network = self.call(&what, self.docker.inspect_network(&created.id, None::<InspectNetworkOptions>))?;
        let gateway = network
            .ipam
            .and_then(|ipam| ipam.config)
            .into_iter()
            .flatten()
            .find_map(|config| config.gateway?.parse::<IpAddr>().ok())
            .ok_or_else(|| {
                Error::Live(format!(
                    "the Docker Engine at {} gave network {name} no gateway address: check its IP address pools \
                     (`default-address-pools` in daemon.json), then remove it with `offsim live --cleanup`",
                    self.address
                ))
            })?;
        Ok(NetworkInfo { id: created.id, name, gateway })
    }

    /// Creates and starts a hardened, limited container (see the module
    /// documentation). A container that was created but failed to start
    /// keeps its labels, so [`Engine::remove_run`] removes it.
    pub fn start_container(&self, spec: &ContainerSpec) -> Result<ContainerInfo> {
        let options = CreateContainerOptionsBuilder::new().name(&spec.name).build();
        let what = format!("creating container {}", spec.name);
        let created = self.call(&what, self.docker.create_container(Some(options), create_body(spec)))?;
        let what = format!("starting container {}", spec.name);
        self.call(&what, self.docker.start_container(&created.id, None::<StartContainerOptions>))?;
        let what = format!("inspecting container {}", spec.name);
        let inspected =
            self.call(&what, self.docker.inspect_container(&created.id, None::<InspectContainerOptions>))?;
        let settings = inspected.network_settings.unwrap_or_default();
        let ip = settings
            .networks
            .into_iter()
            .flat_map(HashMap::into_values)
            .find_map(|endpoint| endpoint.ip_address?.parse().ok());
        let ports = settings.ports.unwrap_or_default();
        let published = spec
            .publish
            .iter()
            .map(|&port| {
                let host_port = ports
                    .get(&tcp_port(port))
                    .into_iter()
                    .flatten()
                    .flatten()
                    .find_map(|binding| binding.host_port.as_deref()?.parse().ok());
                host_port.map(|host| (port, host)).ok_or_else(|| {
                    Error::Live(format!(
                        "the Docker Engine at {} published no host port for port {port} of container {} (is its \
                         userland proxy or port mapping disabled?)",
                        self.address, spec.name
                    ))
                })
            })
            .collect::<Result<_>>()?;
        Ok(ContainerInfo { id: created.id, name: spec.name.clone(), ip, published })
    }

    /// A container's state and the limits it runs under.
    pub fn inspect(&self, id: &str) -> Result<ContainerState> {
        let what = format!("inspecting container {id}");
        let inspected = self.call(&what, self.docker.inspect_container(id, None::<InspectContainerOptions>))?;
        let state = inspected.state.unwrap_or_default();
        let host = inspected.host_config.unwrap_or_default();
        let exited = matches!(state.status, Some(ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD));
        Ok(ContainerState {
            running: state.running.unwrap_or(false),
            exit_code: state.exit_code.filter(|_| exited),
            oom_killed: state.oom_killed.unwrap_or(false),
            cpu_period_us: host.cpu_period.unwrap_or(0),
            cpu_quota_us: host.cpu_quota.unwrap_or(0),
            nano_cpus: host.nano_cpus.unwrap_or(0),
            memory_bytes: host.memory.unwrap_or(0),
            memory_swap_bytes: host.memory_swap.unwrap_or(0),
            pids_limit: host.pids_limit.unwrap_or(0),
            readonly_rootfs: host.readonly_rootfs.unwrap_or(false),
            cap_drop: host.cap_drop.unwrap_or_default(),
            security_opt: host.security_opt.unwrap_or_default(),
            user: inspected.config.and_then(|config| config.user).unwrap_or_default(),
        })
    }

    /// The last `lines` lines of a container's output (stdout and stderr).
    pub fn logs_tail(&self, id: &str, lines: usize) -> Result<String> {
        let options = LogsOptionsBuilder::new().stdout(true).stderr(true).tail(&lines.to_string()).build();
        let collect = async {
            let mut output = pin!(self.docker.logs(id, Some(options)));
            let mut bytes = Vec::new();
            while let Some(chunk) = output.try_next().await? {
                bytes.extend_from_slice(chunk.as_ref());
            }
            Ok(bytes)
        };
        let bytes = self.call(&format!("reading the output of container {id}"), collect)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Force-removes every container, then every network, labelled with
    /// run `run_id`. Tries them all before reporting any failure.
    pub fn remove_run(&self, run_id: &str) -> Result<Removed> {
        self.remove_labelled(&format!("{RUN_LABEL}={run_id}"), false)
    }

    /// Force-removes every container and network offsim created on this
    /// engine for runs that are no longer alive (see the module
    /// documentation), and with `images` every worker image none of the
    /// live runs' containers uses. Runs still alive are left alone and
    /// listed in the result.
    pub fn cleanup(&self, images: bool) -> Result<Removed> {
        let label = format!("{MANAGED_LABEL}=true");
        let filters = HashMap::from([("label", vec![label.as_str()])]);
        let options = ListContainersOptionsBuilder::new().all(true).filters(&filters).build();
        let containers =
            self.call(&format!("listing containers labelled {label}"), self.docker.list_containers(Some(options)))?;
        let run_of = |labels: &Option<HashMap<String, String>>| {
            labels.as_ref().and_then(|l| l.get(RUN_LABEL)).cloned().unwrap_or_default()
        };
        let mut alive = BTreeSet::new();
        let mut seen = BTreeSet::new();
        let mut used_images = BTreeSet::new();
        let now = unix_s();
        let recent = |created: Option<u64>| created.is_some_and(|t| now.saturating_sub(t) < START_GRACE.as_secs());
        for c in &containers {
            let run = run_of(&c.labels);
            seen.insert(run.clone());
            let starting = c.state == Some(ContainerSummaryStateEnum::CREATED)
                && recent(c.created.and_then(|t| u64::try_from(t).ok()));
            if starting || c.state.is_some_and(|s| ALIVE_STATES.contains(&s)) {
                alive.insert(run);
                used_images.extend(c.image_id.clone());
            }
        }
        let options = ListNetworksOptionsBuilder::new().filters(&filters).build();
        let networks =
            self.call(&format!("listing networks labelled {label}"), self.docker.list_networks(Some(options)))?;
        for n in &networks {
            let run = run_of(&n.labels);
            let created = n.labels.as_ref().and_then(|l| l.get(CREATED_LABEL)?.parse::<u64>().ok());
            if !seen.contains(&run) && recent(created) {
                alive.insert(run);
            }
        }
        let mut removed = Removed { alive: alive.iter().cloned().collect(), ..Removed::default() };
        let mut failures = Vec::new();
        for c in containers.into_iter().filter(|c| !alive.contains(&run_of(&c.labels))) {
            let Some(id) = c.id else { continue };
            let options = RemoveContainerOptionsBuilder::new().force(true).v(true).build();
            let outcome =
                self.call_found(&format!("removing container {id}"), self.docker.remove_container(&id, Some(options)));
            tally(outcome, &mut removed.containers, &mut failures);
        }
        for n in networks.into_iter().filter(|n| !alive.contains(&run_of(&n.labels))) {
            let Some(id) = n.id else { continue };
            let outcome = self.call_found(&format!("removing network {id}"), self.docker.remove_network(&id));
            tally(outcome, &mut removed.networks, &mut failures);
        }
        if images {
            let options = ListImagesOptionsBuilder::new().filters(&filters).build();
            let listed =
                self.call(&format!("listing images labelled {label}"), self.docker.list_images(Some(options)))?;
            for image in listed.into_iter().filter(|i| !used_images.contains(&i.id)) {
                let options = RemoveImageOptionsBuilder::new().force(true).build();
                let what = format!("removing image {}", image.id);
                let outcome = self.call_found(&what, self.docker.remove_image(&image.id, Some(options), None));
                tally(outcome.map(|found| found.map(drop)), &mut removed.images, &mut failures);
            }
        }
        self.removal_result(&label, removed, failures)
    }

    fn remove_labelled(&self, label: &str, images: bool) -> Result<Removed> {
        let filters = HashMap::from([("label", vec![label])]);
        let mut removed = Removed::default();
        let mut failures = Vec::new();
        let mut tally = |outcome: Result<Option<()>>, count: &mut usize| tally(outcome, count, &mut failures);
        let options = ListContainersOptionsBuilder::new().all(true).filters(&filters).build();
        let containers =
            self.call(&format!("listing containers labelled {label}"), self.docker.list_containers(Some(options)))?;
        for id in containers.into_iter().filter_map(|c| c.id) {
            let options = RemoveContainerOptionsBuilder::new().force(true).v(true).build();
            let what = format!("removing container {id}");
            tally(self.call_found(&what, self.docker.remove_container(&id, Some(options))), &mut removed.containers);
        }
        let options = ListNetworksOptionsBuilder::new().filters(&filters).build();
        let networks =
            self.call(&format!("listing networks labelled {label}"), self.docker.list_networks(Some(options)))?;
        for id in networks.into_iter().filter_map(|n| n.id) {
            let what = format!("removing network {id}");
            tally(self.call_found(&what, self.docker.remove_network(&id)), &mut removed.networks);
        }
        if images {
            let options = ListImagesOptionsBuilder::new().filters(&filters).build();
            let images =
                self.call(&format!("listing images labelled {label}"), self.docker.list_images(Some(options)))?;
            for image in images {
                let options = RemoveImageOptionsBuilder::new().force(true).build();
                let what = format!("removing image {}", image.id);
                let outcome = self.call_found(&what, self.docker.remove_image(&image.id, Some(options), None));
                tally(outcome.map(|found| found.map(drop)), &mut removed.images);
            }
        }
        self.removal_result(label, removed, failures)
    }

    fn removal_result(&self, label: &str, removed: Removed, failures: Vec<String>) -> Result<Removed> {
        if failures.is_empty() {
            Ok(removed)
        } else {
            Err(Error::Live(format!(
                "could not remove everything labelled {label}: {}; retry with `offsim live --cleanup`, or remove \
                 them with `docker rm -f`, `docker network rm` and `docker rmi`",
                failures.join("; ")
            )))
        }
    }

    /// Runs `call` to completion within `limit`; the outer error is the
    /// timeout, the inner one the engine's.
    fn wait<T>(
        &self,
        limit: Duration,
        what: &str,
        call: impl Future<Output = Result<T, EngineError>>,
    ) -> Result<Result<T, EngineError>> {
        // The timer needs the runtime: create it inside.
        self.runtime.block_on(async { tokio::time::timeout(limit, call).await }).map_err(|_| {
            Error::Live(format!(
                "the Docker Engine at {} did not finish {what} within {} s: is it overloaded or hung? (`docker info` \
                 shows whether it answers)",
                self.address,
                limit.as_secs()
            ))
        })
    }

    /// Runs `call` within [`CALL_TIMEOUT`].
    fn call<T>(&self, what: &str, call: impl Future<Output = Result<T, EngineError>>) -> Result<T> {
        self.wait(CALL_TIMEOUT, what, call)?.map_err(|e| self.failed(what, &e))
    }

    /// Like [`Engine::call`], with "no such object" as `None`.
    fn call_found<T>(&self, what: &str, call: impl Future<Output = Result<T, EngineError>>) -> Result<Option<T>> {
        match self.wait(CALL_TIMEOUT, what, call)? {
            Ok(value) => Ok(Some(value)),
            Err(EngineError::DockerResponseServerError { status_code: 404, .. }) => Ok(None),
            Err(e) => Err(self.failed(what, &e)),
        }
    }

    fn failed(&self, what: &str, e: &EngineError) -> Error {
        Error::Live(format!("{what} failed on the Docker Engine at {}: {e}", self.address))
    }
}

/// A client for `address`, speaking API `version`.
fn client(address: &str, tls: Option<&TlsFiles>, version: &ClientVersion) -> Result<Docker> {
    // Calls are bounded by `Engine::wait`; the client's own limit (on
    // receiving a response's headers) must not cut a build short.
    let limit = BUILD_TIMEOUT.as_secs();
    let scheme = address.split_once("://").map_or("", |(scheme, _)| scheme);
    let client = match (scheme, tls) {
        ("tcp" | "https", Some(files)) => {
            Docker::connect_with_ssl(address, &files.key, &files.cert, &files.ca, limit, version)
        }
        (_, Some(_)) => {
            return Err(Error::Live(format!(
                "TLS files are given for the Docker Engine at {address}, but TLS needs a tcp://host:port address"
            )));
        }
        ("unix", None) => Docker::connect_with_unix(address, limit, version),
        ("tcp" | "http", None) => Docker::connect_with_http(address, limit, version),
        _ => {
            return Err(Error::Live(format!(
                "unsupported Docker Engine address {address}: use unix:///path/to/docker.sock or tcp://host:port"
            )));
        }
    };
    client.map_err(|e| unreachable(address, tls, &e))
}

fn unreachable(address: &str, tls: Option<&TlsFiles>, why: &dyn std::fmt::Display) -> Error {
    let files = tls.map_or(String::new(), |f| {
        format!(
            " The connection uses TLS with the CA {}, the certificate {} and the key {}: do they belong to this \
             engine?",
            f.ca.display(),
            f.cert.display(),
            f.key.display()
        )
    });
    Error::Live(format!(
        "cannot reach the Docker Engine at {address} ({why}): is the daemon running and may this user use it?{files}"
    ))
}

/// TLS files named by `DOCKER_TLS_VERIFY` (set, not empty) and
/// `DOCKER_CERT_PATH`, as the Docker CLI reads them.
fn tls_from_env() -> Option<TlsFiles> {
    std::env::var_os("DOCKER_TLS_VERIFY").filter(|v| !v.is_empty())?;
    let dir = PathBuf::from(std::env::var_os("DOCKER_CERT_PATH")?);
    Some(TlsFiles { ca: dir.join("ca.pem"), cert: dir.join("cert.pem"), key: dir.join("key.pem") })
}

/// The newest API version an engine says it supports when refusing a newer
/// one ("client version 1.53 is too new. Maximum supported API version is
/// 1.41").
fn newest_supported(e: &EngineError) -> Option<ClientVersion> {
    let EngineError::DockerResponseServerError { status_code: 400, message } = e else {
        return None;
    };
    let (_, newest) = message.split_once("Maximum supported API version is ")?;
    let (major, minor) = newest.split_once('.')?;
    let minor: String = minor.chars().take_while(char::is_ascii_digit).collect();
    Some(ClientVersion { major_version: major.trim().parse().ok()?, minor_version: minor.parse().ok()? })
}

/// The engine's name of TCP port `port`.
fn tcp_port(port: u16) -> String {
    format!("{port}/tcp")
}

/// The engine's description of the container `spec` asks for.
fn create_body(spec: &ContainerSpec) -> ContainerCreateBody {
    let period = i64::from(spec.cpu_period_us);
    // `as` saturates (and maps NaN to 0); the clamp keeps the kernel's minimum.
    let quota = ((spec.cpus * period as f64).round() as i64).max(MIN_CPU_QUOTA_US);
    let memory = i64::try_from(spec.memory_bytes).unwrap_or(i64::MAX);
    let labels = HashMap::from([
        (MANAGED_LABEL.to_string(), "true".to_string()),
        (RUN_LABEL.to_string(), spec.run_id.clone()),
        (ROLE_LABEL.to_string(), spec.role.clone()),
    ]);
    // No host port: any free one, on `publish_on` (else every interface).
    let binding = PortBinding { host_ip: spec.publish_on.map(|ip| ip.to_string()), host_port: None };
    let bindings: PortMap = spec.publish.iter().map(|&p| (tcp_port(p), Some(vec![binding.clone()]))).collect();
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: Some(spec.args.clone()),
        user: Some(WORKER_USER.into()),
        labels: Some(labels),
        exposed_ports: (!spec.publish.is_empty()).then(|| spec.publish.iter().map(|&p| tcp_port(p)).collect()),
        host_config: Some(HostConfig {
            network_mode: Some(spec.network.clone()),
            port_bindings: (!bindings.is_empty()).then_some(bindings),
            cpu_period: Some(period),
            cpu_quota: Some(quota),
            memory: Some(memory),
            memory_swap: Some(memory),
            pids_limit: Some(spec.pids_limit),
            readonly_rootfs: Some(true),
            cap_drop: Some(vec!["ALL".into()]),
            security_opt: Some(vec!["no-new-privileges".into()]),
            restart_policy: Some(RestartPolicy { name: Some(RestartPolicyNameEnum::NO), maximum_retry_count: None }),
            auto_remove: Some(false),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(cpus: f64, period: u32) -> ContainerSpec {
        ContainerSpec {
            name: "c".into(),
            run_id: "r1".into(),
            image: "offsim-worker:x".into(),
            network: "offsim-r1".into(),
            args: vec!["worker".into()],
            cpus,
            cpu_period_us: period,
            memory_bytes: 64 << 20,
            pids_limit: 64,
            role: "node".into(),
            publish: Vec::new(),
            publish_on: None,
        }
    }

    #[test]
    fn containers_are_hardened_and_limited() {
        let body = create_body(&spec(0.5, 10_000));
        let host = body.host_config.unwrap();
        assert_eq!((host.cpu_period, host.cpu_quota), (Some(10_000), Some(5_000)));
        assert_eq!((host.memory, host.memory_swap), (Some(64 << 20), Some(64 << 20)));
        assert_eq!(host.pids_limit, Some(64));
        assert_eq!(host.readonly_rootfs, Some(true));
        assert_eq!(host.cap_drop, Some(vec!["ALL".to_string()]));
        assert_eq!(host.security_opt, Some(vec!["no-new-privileges".to_string()]));
        assert_eq!(host.auto_remove, Some(false));
        assert_eq!(host.nano_cpus, None);
        assert_eq!(body.user.as_deref(), Some(WORKER_USER));
        let labels = body.labels.unwrap();
        assert_eq!(labels[MANAGED_LABEL], "true");
        assert_eq!(labels[RUN_LABEL], "r1");
        assert_eq!(labels[ROLE_LABEL], "node");
        assert_eq!(body.cmd, Some(vec!["worker".to_string()]));
        assert_eq!((body.exposed_ports, host.port_bindings), (None, None), "nothing published unless asked");
    }

    #[test]
    fn published_ports_get_host_ports_the_engine_picks() {
        let body = create_body(&ContainerSpec { publish: vec![7070, 7071], ..spec(0.5, 10_000) });
        assert_eq!(body.exposed_ports, Some(vec!["7070/tcp".to_string(), "7071/tcp".to_string()]));
        let bindings = body.host_config.unwrap().port_bindings.unwrap();
        assert_eq!(bindings.len(), 2);
        for port in ["7070/tcp", "7071/tcp"] {
            assert_eq!(bindings[port], Some(vec![PortBinding { host_ip: None, host_port: None }]), "{port}");
        }
        let on = create_body(&ContainerSpec {
            publish: vec![7070],
            publish_on: Some("10.0.0.5".parse().unwrap()),
            ..spec(0.5, 10_000)
        });
        let binding = PortBinding { host_ip: Some("10.0.0.5".into()), host_port: None };
        assert_eq!(on.host_config.unwrap().port_bindings.unwrap()["7070/tcp"], Some(vec![binding]));
        let info =
            ContainerInfo { id: "c".into(), name: "c".into(), ip: None, published: vec![(7070, 49153), (7071, 49154)] };
        assert_eq!((info.host_port(7071), info.host_port(7072)), (Some(49154), None));
    }

    #[test]
    fn the_cpu_quota_keeps_the_kernel_minimum() {
        let quota = |cpus: f64, period: u32| create_body(&spec(cpus, period)).host_config.unwrap().cpu_quota;
        assert_eq!(quota(0.01, 10_000), Some(1000));
        assert_eq!(quota(f64::NAN, 10_000), Some(1000));
        assert_eq!(quota(2.0, 100_000), Some(200_000));
    }

    #[test]
    fn an_older_engine_names_the_version_to_use() {
        let refusal = EngineError::DockerResponseServerError {
            status_code: 400,
            message: "client version 1.53 is too new. Maximum supported API version is 1.41".into(),
        };
        let version = newest_supported(&refusal).unwrap();
        assert_eq!((version.major_version, version.minor_version), (1, 41));
        let other = EngineError::DockerResponseServerError { status_code: 500, message: "boom".into() };
        assert!(newest_supported(&other).is_none());
    }

    #[test]
    fn addresses_are_checked_before_connecting() {
        let message =
            |url: &str, tls: Option<TlsFiles>| match Engine::connect(&EngineAddress { url: Some(url.into()), tls }) {
                Ok(_) => panic!("{url} connected"),
                Err(e) => e.to_string(),
            };
        assert!(message("ftp://host", None).contains("unsupported Docker Engine address ftp://host"));
        let files = TlsFiles { ca: "ca.pem".into(), cert: "cert.pem".into(), key: "key.pem".into() };
        assert!(message("unix:///x.sock", Some(files)).contains("TLS needs a tcp://host:port address"));
        let missing = message("unix:///nonexistent/docker.sock", None);
        assert!(missing.contains("cannot reach the Docker Engine at unix:///nonexistent/docker.sock"), "{missing}");
    }
}
