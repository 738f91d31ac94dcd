//! A node worker's images and containers, driven by the simulator's own
//! node model on a real clock: image pulls move real bytes through the
//! registry link, container cold starts are drawn from the scenario and
//! waited out.

use super::{NO_IMAGE, connect, invalid, lock, ns, wait};
use crate::energy::{CpuPower, Meter};
use crate::engine::{NANOS_PER_SEC, SimTime, nanos_from_secs};
use crate::live::auth::{self, Channel, Secret};
use crate::live::protocol::{FrameKind, WorkerConfig, expect_frame, skip, write_frame, write_route};
use crate::model::{ContainerState, ImageSlot, Node, Purpose, Readiness, TaskQueue, stream};
use crate::scenario::QueueDiscipline;
use std::io;
use std::sync::{Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A node's images and containers. The life cycle is the simulator's own
/// ([`Node::arrive`], [`Node::pulled`], [`Node::depart`], LRU eviction in
/// [`Node::insert_into_cache`]) on a clock of nanoseconds since the worker
/// started; only the model's image and container fields are used (the
/// [`super::pool::Pool`] keeps cores, queue and memory).
pub(super) struct Containers {
    pub(super) model: Mutex<Node>,
    /// Signalled when a pull ends (done or failed).
    pub(super) pull_ended: Condvar,
    pub(super) epoch: Instant,
    pub(super) registry: Option<String>,
    /// Source index sent to the registry proxy.
    pub(super) source: u32,
    /// The run's secret, proved to the registry proxy.
    pub(super) secret: Secret,
    /// Longest frame accepted from the registry.
    pub(super) max_frame: u32,
}

impl Containers {
    pub(super) fn new(config: &WorkerConfig) -> io::Result<Containers> {
        config.cold_start_ms.validate().map_err(|e| invalid(format!("cold_start_ms: {e}")))?;
        if !(config.keep_alive_s.is_finite() && config.keep_alive_s >= 0.0) {
            return Err(invalid(format!("keep_alive_s must be >= 0, got {}", config.keep_alive_s)));
        }
        if config.image_bytes.len() >= usize::from(NO_IMAGE) {
            return Err(invalid(format!("at most {} images", NO_IMAGE)));
        }
        let images = config.image_bytes.iter().map(|&bytes| ImageSlot::absent(bytes)).collect();
        let mut model = Node {
            cores: config.cores,
            speed_hz: config.speed_hz,
            ns_per_cycle: NANOS_PER_SEC as f64 / config.speed_hz,
            memory_bytes: config.memory_bytes,
            free_memory_bytes: config.memory_bytes,
            queue: TaskQueue::new(QueueDiscipline::Fifo),
            queued: 0,
            busy: 0,
            queue_limit: config.queue_limit,
            up_link: 0,
            down_link: 0,
            registry_link: None,
            images,
            cache_capacity: config.image_cache_bytes,
            cache_used: 0,
            cold_start: config.cold_start_ms.sampler(),
            keep_alive_ns: nanos_from_secs(config.keep_alive_s),
            rng: stream(config.seed, Purpose::LiveColdStart, u64::from(config.index)),
            cpu: CpuPower { idle_w: 0.0, busy_w: 0.0 },
            meter: Meter::new(0.0),
        };
        let known = model.images.len();
        for &image in &config.preloaded_images {
            if usize::from(image) >= known {
                return Err(invalid(format!("preloaded image {image} is not one of the {known} images")));
            }
            model.insert_into_cache(usize::from(image));
        }
        Ok(Containers {
            model: Mutex::new(model),
            pull_ended: Condvar::new(),
            epoch: Instant::now(),
            registry: config.registry.clone(),
            source: config.index,
            secret: config.secret.clone(),
            max_frame: config.limits.max_frame,
        })
    }

    fn now(&self) -> SimTime {
        SimTime(ns(self.epoch.elapsed()))
    }

    /// Sleeps until model time `t`.
    fn sleep_until(&self, t: SimTime) {
        if let Some(at) = self.epoch.checked_add(Duration::from_nanos(t.0)) {
            thread::sleep(at.saturating_duration_since(Instant::now()));
        }
    }

    /// Brings up the container of `image` for one task (pulling the image
    /// and cold-starting the container as needed); returns when it is up.
    /// On success the task counts as using the image until [`Self::depart`].
    pub(super) fn start_up(&self, image: u16) -> io::Result<()> {
        let i = usize::from(image);
        let mut node = lock(&self.model);
        if i >= node.images.len() {
            return Err(invalid(format!("task needs image {image}, but the node knows {}", node.images.len())));
        }
        let mut ready = node.arrive(self.now(), i);
        loop {
            match ready {
                Readiness::Now => return Ok(()),
                Readiness::At(t) => {
                    drop(node);
                    self.sleep_until(t);
                    return Ok(());
                }
                Readiness::AwaitPull => {
                    while node.images[i].state == ContainerState::Pulling {
                        node = wait(&self.pull_ended, node);
                    }
                    // Arrive again now the pull has ended (it may have failed).
                    node.images[i].in_flight -= 1;
                    ready = node.arrive(self.now(), i);
                }
                Readiness::StartPull => {
                    let bytes = node.images[i].bytes;
                    drop(node);
                    let pulled = self.pull(bytes);
                    node = lock(&self.model);
                    self.pull_ended.notify_all();
                    if let Err(e) = pulled {
                        node.images[i].state = ContainerState::Cold;
                        node.depart(self.now(), i);
                        return Err(e);
                    }
                    ready = Readiness::At(node.pulled(self.now(), i));
                }
            }
        }
    }

    /// A task that started `image`'s container left the node.
    pub(super) fn depart(&self, image: u16) {
        lock(&self.model).depart(self.now(), usize::from(image));
    }

    /// Puts `image` in the cache without starting its container. Returns
    /// the bytes to pull if it is not on the node (the caller pulls them and
    /// calls [`Self::preloaded`]; tasks needing it meanwhile wait for that).
    pub(super) fn preload(&self, image: u16) -> io::Result<Option<u64>> {
        let i = usize::from(image);
        let mut node = lock(&self.model);
        let known = node.images.len();
        let slot = node.images.get_mut(i).ok_or_else(|| invalid(format!("no image {image} of {known}")))?;
        if slot.cached {
            return Ok(None);
        }
        match slot.state {
            ContainerState::Pulling => Ok(None),
            ContainerState::Cold => {
                slot.state = ContainerState::Pulling;
                Ok(Some(slot.bytes))
            }
            // A running container holds the image's bytes already.
            ContainerState::Starting(_) | ContainerState::Up { .. } => {
                node.insert_into_cache(i);
                Ok(None)
            }
        }
    }

    /// The pull [`Self::preload`] asked for ended (`pulled`: successfully).
    pub(super) fn preloaded(&self, image: u16, pulled: bool) {
        let i = usize::from(image);
        let mut node = lock(&self.model);
        node.images[i].state = ContainerState::Cold;
        if pulled {
            node.insert_into_cache(i);
        }
        self.pull_ended.notify_all();
    }

    /// Pulls `bytes` of image from the registry through its proxy.
    pub(super) fn pull(&self, bytes: u64) -> io::Result<()> {
        let registry = self.registry.as_deref().ok_or_else(|| io::Error::other("no registry to pull images from"))?;
        let mut s = connect(registry)?;
        auth::connect(&s, &self.secret, Channel::Link)?;
        write_route(&mut s, self.source)?;
        let mut frame = vec![FrameKind::Pull as u8];
        frame.extend_from_slice(&bytes.to_le_bytes());
        write_frame(&mut s, &frame)?;
        let rest = expect_frame(&mut s, FrameKind::Image, self.max_frame)?;
        skip(&mut s, rest)
    }

    /// Image indices cached, and with a warm container.
    pub(super) fn images(&self) -> (Vec<u16>, Vec<u16>) {
        let node = lock(&self.model);
        let now = self.now();
        let (mut cached, mut warm) = (Vec::new(), Vec::new());
        for i in 0..node.images.len() {
            let (c, w) = node.image_status(now, i);
            if c {
                cached.push(i as u16);
            }
            if w {
                warm.push(i as u16);
            }
        }
        (cached, warm)
    }
}
