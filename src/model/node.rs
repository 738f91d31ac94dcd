//! Edge and cloud nodes: cores and a run queue, memory, an LRU image cache,
//! containers with cold start and keep-alive.
//!
//! Per image a node has at most one container, serving any number of tasks.
//! Its life:
//!
//! ```text
//!  Cold ──(image cached)──► Starting(until) ──► Up ──(idle > keep-alive)──► Cold
//!    └──(not cached)──► Pulling ──(pulled)──┘
//! ```
//! A task needing the image waits in the `Startup` phase until the container
//! is up. Images in use cannot be evicted; an idle image's container is
//! stopped when its image is evicted.

use super::queue::TaskQueue;
use super::task::TaskRef;
use crate::dist::Sampler;
use crate::energy::{CpuPower, Meter};
use crate::engine::{SimRng, SimTime};

/// The container for one image on one node.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ContainerState {
    /// No container; the image may or may not be cached.
    Cold,
    /// The image is being pulled from the registry.
    Pulling,
    /// The container is starting and will be up at this time.
    Starting(SimTime),
    /// The container is up.
    Up {
        /// When it came up or its last task left; with no task in flight it goes cold `keep_alive_ns`
        /// after this.
        idle_since: SimTime,
    },
}

/// A node's knowledge of one image.
#[derive(Clone, Debug)]
pub struct ImageSlot {
    /// Size of the image, in bytes.
    pub bytes: u64,
    /// The image is in the node's cache.
    pub cached: bool,
    /// When a task last used the image; orders evictions (least recently used first).
    pub last_used: SimTime,
    /// Where the image's container is in its life.
    pub state: ContainerState,
    /// Tasks at the node (starting, queued or running) that use the image.
    pub in_flight: u32,
    /// Tasks waiting for the pull to finish.
    pub waiters: Vec<TaskRef>,
}

impl ImageSlot {
    /// An image of `bytes` not in the cache, with no container.
    pub fn absent(bytes: u64) -> ImageSlot {
        ImageSlot {
            bytes,
            cached: false,
            last_used: SimTime::ZERO,
            state: ContainerState::Cold,
            in_flight: 0,
            waiters: Vec::new(),
        }
    }
}

/// What a task arriving at a node must wait for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// The container is up: queue for a core now.
    Now,
    /// The container will be up at this time.
    At(SimTime),
    /// Wait for the image pull in progress (join its waiters).
    AwaitPull,
    /// Start pulling the image (and join its waiters).
    StartPull,
}

/// One node.
#[derive(Debug)]
pub struct Node {
    /// CPU cores.
    pub cores: u32,
    /// Clock speed of each core, in cycles per second.
    pub speed_hz: f64,
    /// `1e9 / speed_hz`: run times are a multiplication.
    pub ns_per_cycle: f64,
    /// Memory, in bytes.
    pub memory_bytes: u64,
    /// Memory not held by running tasks, in bytes.
    pub free_memory_bytes: u64,
    /// Tasks waiting for a core.
    pub queue: TaskQueue,
    /// Live entries in `queue`.
    pub queued: u32,
    /// Cores running a task.
    pub busy: u32,
    /// Most tasks that may wait for a core; `None` is unbounded.
    pub queue_limit: Option<u32>,
    /// Index of the node's uplink (gateway -> node) in [`crate::model::World::links`].
    pub up_link: u32,
    /// Index of the node's downlink (node -> gateway) in [`crate::model::World::links`].
    pub down_link: u32,
    /// Index of the registry -> node link; `None` if the node has no registry.
    pub registry_link: Option<u32>,
    /// The node's state for every image of the scenario, by image index.
    pub images: Vec<ImageSlot>,
    /// Space for cached images, in bytes.
    pub cache_capacity: u64,
    /// Bytes of cached images.
    pub cache_used: u64,
    /// Container start-up time once the image is present, drawn in milliseconds.
    pub cold_start: Sampler,
    /// How long an idle container stays warm, in nanoseconds.
    pub keep_alive_ns: u64,
    /// The node's own random stream, for its cold-start draws.
    pub rng: SimRng,
    /// CPU power model.
    pub cpu: CpuPower,
    /// CPU energy and busy core-time of the node.
    pub meter: Meter,
}

impl Node {
    fn refresh(&mut self, now: SimTime, image: usize) {
        let keep_alive = self.keep_alive_ns;
        let slot = &mut self.images[image];
        if let ContainerState::Starting(t) = slot.state
            && t <= now
        {
            slot.state = ContainerState::Up { idle_since: t };
        }
        if let ContainerState::Up { idle_since } = slot.state
            && slot.in_flight == 0
            && now.since(idle_since) > keep_alive
        {
            slot.state = ContainerState::Cold;
        }
    }

    /// Whether the node holds `image` and whether its container is warm, as
    /// of `now` (without changing anything).
    pub fn image_status(&self, now: SimTime, image: usize) -> (bool, bool) {
        let slot = &self.images[image];
        let idle_since = match slot.state {
            ContainerState::Cold | ContainerState::Pulling => return (slot.cached, false),
            ContainerState::Starting(t) if t > now => return (slot.cached, false),
            ContainerState::Starting(t) => t,
            ContainerState::Up { idle_since } => idle_since,
        };
        let warm = slot.in_flight > 0 || now.since(idle_since) <= self.keep_alive_ns;
        (slot.cached, warm)
    }

    /// A task needing `image` arrives at `now`: counts it in and says what it
    /// must wait for. A cold start, if needed, is drawn here.
    pub fn arrive(&mut self, now: SimTime, image: usize) -> Readiness {
        self.refresh(now, image);
        let slot = &mut self.images[image];
        slot.in_flight += 1;
        slot.last_used = now;
        match slot.state {
            ContainerState::Up { .. } => Readiness::Now,
            ContainerState::Starting(t) => Readiness::At(t),
            ContainerState::Pulling => Readiness::AwaitPull,
            ContainerState::Cold if slot.cached => {
                let t = now.after(crate::engine::nanos_from_millis(self.cold_start.sample(&mut self.rng)));
                self.images[image].state = ContainerState::Starting(t);
                if t <= now { Readiness::Now } else { Readiness::At(t) }
            }
            ContainerState::Cold => {
                slot.state = ContainerState::Pulling;
                Readiness::StartPull
            }
        }
    }

    /// The pull of `image` finished at `now`: caches it if it fits (evicting
    /// idle images, least recently used first) and starts its container.
    /// Returns when the container will be up.
    pub fn pulled(&mut self, now: SimTime, image: usize) -> SimTime {
        self.insert_into_cache(image);
        let t = now.after(crate::engine::nanos_from_millis(self.cold_start.sample(&mut self.rng)));
        self.images[image].state = ContainerState::Starting(t);
        t
    }

    /// Puts `image` in the cache, evicting idle images (LRU) to make room.
    /// An image larger than the whole cache is used without being kept.
    pub fn insert_into_cache(&mut self, image: usize) {
        let bytes = self.images[image].bytes;
        if self.images[image].cached {
            return;
        }
        while self.cache_used + bytes > self.cache_capacity {
            let victim = (0..self.images.len())
                .filter(|&i| {
                    let s = &self.images[i];
                    i != image && s.cached && s.in_flight == 0
                })
                .min_by_key(|&i| (self.images[i].last_used, i));
            let Some(v) = victim else { return };
            let s = &mut self.images[v];
            s.cached = false;
            s.state = ContainerState::Cold;
            self.cache_used -= s.bytes;
        }
        self.images[image].cached = true;
        self.cache_used += bytes;
    }

    /// A task using `image` left the node (finished or ended) at `now`.
    pub fn depart(&mut self, now: SimTime, image: usize) {
        self.refresh(now, image);
        let slot = &mut self.images[image];
        slot.in_flight -= 1;
        slot.last_used = now;
        if slot.in_flight == 0
            && let ContainerState::Up { .. } = slot.state
        {
            slot.state = ContainerState::Up { idle_since: now };
        }
    }

    /// Power drawn in the current state.
    #[inline]
    pub fn power_w(&self) -> f64 {
        self.cpu.at(self.busy, self.cores)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;
    use crate::scenario::QueueDiscipline;

    fn node(capacity: u64, images: &[u64]) -> Node {
        Node {
            cores: 1,
            speed_hz: 1e9,
            ns_per_cycle: 1.0,
            memory_bytes: 1 << 30,
            free_memory_bytes: 1 << 30,
            queue: TaskQueue::new(QueueDiscipline::Fifo),
            queued: 0,
            busy: 0,
            queue_limit: None,
            up_link: 0,
            down_link: 1,
            registry_link: Some(2),
            images: images.iter().map(|&bytes| ImageSlot::absent(bytes)).collect(),
            cache_capacity: capacity,
            cache_used: 0,
            cold_start: Sampler::Constant(100.0),
            keep_alive_ns: 1_000,
            rng: stream(1, "node-test", 0),
            cpu: CpuPower { idle_w: 1.0, busy_w: 2.0 },
            meter: Meter::new(1.0),
        }
    }

    #[test]
    fn container_lifecycle_pull_start_up_expire() {
        let mut n = node(100, &[60]);
        assert_eq!(n.arrive(SimTime(0), 0), Readiness::StartPull);
        assert_eq!(n.arrive(SimTime(5), 0), Readiness::AwaitPull);
        let up = n.pulled(SimTime(10), 0);
        assert_eq!(up, SimTime(10 + 100_000_000));
        assert_eq!(n.image_status(SimTime(11), 0), (true, false));
        assert_eq!(n.arrive(SimTime(20), 0), Readiness::At(up));
        // All three leave after the container is up; it stays warm for 1 us.
        for _ in 0..3 {
            n.depart(up.after(50), 0);
        }
        assert_eq!(n.image_status(up.after(1_050), 0), (true, true));
        assert_eq!(n.image_status(up.after(1_051), 0), (true, false));
        // Cached but cold: a new arrival gets a cold start, no pull.
        assert_eq!(n.arrive(up.after(2_000), 0), Readiness::At(up.after(2_000 + 100_000_000)));
    }

    #[test]
    fn lru_eviction_spares_images_in_use() {
        let mut n = node(100, &[50, 50, 50]);
        n.insert_into_cache(0);
        n.insert_into_cache(1);
        n.images[0].last_used = SimTime(5);
        n.images[1].last_used = SimTime(1);
        n.images[1].in_flight = 1;
        n.insert_into_cache(2);
        // Image 1 is older but in use, so image 0 goes.
        assert!(!n.images[0].cached && n.images[1].cached && n.images[2].cached);
        assert_eq!(n.cache_used, 100);
        // Nothing evictable: the image is used without being cached.
        n.images[2].in_flight = 1;
        n.insert_into_cache(0);
        assert!(!n.images[0].cached);
        assert_eq!(n.cache_used, 100);
    }
}
