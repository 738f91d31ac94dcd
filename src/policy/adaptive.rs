//! `adaptive`: the source document's adaptive offload under network jitter
//! and bursts (section 4.2).
//!
//! ```text
//! faithful:  score = w_bandwidth * bandwidth_mbps / max_bandwidth_mbps
//!                    - w_latency * latency_norm + w_cpu * (1 - cpu_load)
//! corrected: score = w_bandwidth * bandwidth_mbps / max_bandwidth_mbps
//!                    - w_latency * latency_norm + w_cpu * cpu_load
//! ```
//!
//! A positive score offloads the task to the target, zero or negative runs it
//! locally.
//!
//! Inputs:
//! - `bandwidth_mbps` = `view.uplink.bandwidth_bps / 1e6` (the device's
//!   access uplink); not clamped;
//! - `latency_norm` = `1000 * (view.uplink.latency_s + target.uplink.latency_s)
//!   / max_latency_ms`: the one-way device -> target latency (mean jitter
//!   included) over its normalisation; not clamped;
//! - `cpu_load`: the device's recent CPU utilisation `u` =
//!   `view.device.cpu_utilisation`, scaled by the predicted change of the
//!   request rate (burst smoothing, below).
//!
//! Target: `target_node` when given and in the view (the task may use it),
//! else the least-loaded node of the view ((busy + queued) / cores, ties to
//! the lowest id); with no node available the task runs locally.
//!
//! Burst smoothing. Every decision (for any device; the policy sees the
//! whole system's request stream) is counted at `view.now`. Time is cut into
//! consecutive windows of `window_s` seconds, `[k W, (k+1) W)`; when a
//! decision falls in a later window than the last, the rate (decisions /
//! `window_s`) of every completed window, empty ones included, is fed in
//! order to Holt's linear method (at most 1000 consecutive empty windows
//! are fed; after a longer silence the state is that of 1000 empty ones):
//!
//! ```text
//! first window:  level = y1, trend = 0
//! second window: trend = y2 - level, level = y2
//! afterwards:    level' = alpha * y + (1 - alpha) * (level + trend)
//!                trend' = beta * (level' - level) + (1 - beta) * trend
//! predicted_rate = max(level + trend, 0)
//! ```
//!
//! The current rate is the number of decisions, this one included, in the
//! sliding window `(now - window_s, now]`, divided by `window_s`. Then
//!
//! ```text
//! cpu_load = clamp(u * predicted_rate / current_rate, 0, 1)   once a window has completed
//! cpu_load = u                                                 before that
//! ```
//!
//! so a device's load is expected to rise when the request rate is
//! predicted to rise, and to fall in the lull after a burst.
//!
//! Defaults (the document's numbers where it has them): `w_bandwidth = 0.4`,
//! `w_latency = 0.3`, `w_cpu = 0.3`, `max_bandwidth_mbps = 100`,
//! `max_latency_ms = 100`, `window_s = 5`, `alpha = 0.5`, `beta = 0.3`,
//! `variant = "faithful"`, no `target_node`. Weights must be finite and
//! non-negative, the maxima and `window_s` finite and positive, `alpha` in
//! (0, 1], `beta` in [0, 1].
//!
//! Variants: the document's term `+ w_cpu * (1 - cpu_load)` makes an *idle*
//! device offload and a *busy* one keep its work, contradicting its own prose
//! (offload to relieve a loaded device). `"faithful"` implements the formula
//! as written; `"corrected"` uses `+ w_cpu * cpu_load`.

use super::builtin::target_or_least_loaded;
use super::weighted_score::Variant;
use super::{NodeId, Placement, Policy, SystemView, TaskView};
use crate::engine::{SimRng, SimTime};
use std::collections::VecDeque;

/// Most consecutive empty windows fed to the predictor one by one.
const MAX_EMPTY_WINDOWS: u64 = 1000;

/// Holt's linear (double exponential) smoothing.
#[derive(Clone, Debug)]
pub struct Holt {
    /// Smoothing factor of the level, in (0, 1].
    pub alpha: f64,
    /// Smoothing factor of the trend, in [0, 1].
    pub beta: f64,
    level: f64,
    trend: f64,
    observations: u64,
}

impl Holt {
    /// A smoother with no observation yet.
    pub fn new(alpha: f64, beta: f64) -> Self {
        Holt { alpha, beta, level: 0.0, trend: 0.0, observations: 0 }
    }

    /// Takes the next value of the series.
    pub fn observe(&mut self, y: f64) {
        match self.observations {
            0 => self.level = y,
            1 => {
                self.trend = y - self.level;
                self.level = y;
            }
            _ => {
                let level = self.alpha * y + (1.0 - self.alpha) * (self.level + self.trend);
                self.trend = self.beta * (level - self.level) + (1.0 - self.beta) * self.trend;
                self.level = level;
            }
        }
        self.observations += 1;
    }

    /// The one-step-ahead forecast, never negative; `None` before the first
    /// value.
    pub fn forecast(&self) -> Option<f64> {
        (self.observations > 0).then(|| (self.level + self.trend).max(0.0))
    }
}

/// The document's adaptive offload rule with burst smoothing (section 4.2).
#[derive(Clone, Debug)]
pub struct Adaptive {
    /// Weight of the device's uplink bandwidth term.
    pub w_bandwidth: f64,
    /// Weight of the device -> target latency term.
    pub w_latency: f64,
    /// Weight of the (burst-smoothed) device CPU load term.
    pub w_cpu: f64,
    /// Bandwidth that normalises the bandwidth term, in Mbps.
    pub max_bandwidth_mbps: f64,
    /// Latency that normalises the latency term, in milliseconds.
    pub max_latency_ms: f64,
    /// Whether the CPU term is as the document writes it or corrected.
    pub variant: Variant,
    /// The node to offload to; `None` (or a node the task may not use) picks the least-loaded node.
    pub target: Option<NodeId>,
    /// Window length in nanoseconds (at least 1) and in seconds.
    window_ns: u64,
    window_s: f64,
    holt: Holt,
    /// Index of the window of the last decision, and decisions in it.
    window: u64,
    count: u64,
    /// Times (ns) of the decisions in the sliding window, oldest first.
    recent: VecDeque<u64>,
}

impl Adaptive {
    /// With the document's weights and normalisations.
    pub fn new(window_ns: u64, alpha: f64, beta: f64) -> Self {
        let window_ns = window_ns.max(1);
        Adaptive {
            w_bandwidth: 0.4,
            w_latency: 0.3,
            w_cpu: 0.3,
            max_bandwidth_mbps: 100.0,
            max_latency_ms: 100.0,
            variant: Variant::Faithful,
            target: None,
            window_ns,
            window_s: window_ns as f64 / 1e9,
            holt: Holt::new(alpha, beta),
            window: 0,
            count: 0,
            recent: VecDeque::new(),
        }
    }

    /// The score of the module documentation.
    pub fn score(&self, bandwidth_mbps: f64, latency_norm: f64, cpu_load: f64) -> f64 {
        let cpu_term = match self.variant {
            Variant::Faithful => 1.0 - cpu_load,
            Variant::Corrected => cpu_load,
        };
        self.w_bandwidth * bandwidth_mbps / self.max_bandwidth_mbps - self.w_latency * latency_norm
            + self.w_cpu * cpu_term
    }

    /// Counts a decision at `now`, closing the windows it leaves behind.
    pub fn record(&mut self, now: SimTime) {
        let now = now.as_nanos();
        let window = now / self.window_ns;
        if window > self.window {
            self.holt.observe(self.count as f64 / self.window_s);
            for _ in 0..(window - self.window - 1).min(MAX_EMPTY_WINDOWS) {
                self.holt.observe(0.0);
            }
            self.window = window;
            self.count = 0;
        }
        self.count += 1;
        while self.recent.front().is_some_and(|&t| now.saturating_sub(t) >= self.window_ns) {
            self.recent.pop_front();
        }
        self.recent.push_back(now);
    }

    /// Decisions per second over the sliding window.
    pub fn current_rate(&self) -> f64 {
        self.recent.len() as f64 / self.window_s
    }

    /// The predicted rate of the next window, once a window has completed.
    pub fn predicted_rate(&self) -> Option<f64> {
        self.holt.forecast()
    }

    /// The burst-smoothed CPU load for a device at utilisation `u`.
    pub fn cpu_load(&self, u: f64) -> f64 {
        let current = self.current_rate();
        match self.predicted_rate() {
            Some(predicted) if current > 0.0 => (u * predicted / current).clamp(0.0, 1.0),
            _ => u,
        }
    }
}

impl Policy for Adaptive {
    fn observes(&self) -> bool {
        false
    }

    fn decide(&mut self, _: &TaskView, view: &SystemView<'_>, _: &mut SimRng) -> Placement {
        self.record(view.now);
        let Some(target) = target_or_least_loaded(self.target, view) else { return Placement::Local };
        let Some(node) = view.nodes.iter().find(|n| n.id == target) else { return Placement::Local };
        let latency_norm = 1000.0 * (view.uplink.latency_s + node.uplink.latency_s) / self.max_latency_ms;
        let cpu_load = self.cpu_load(view.device.cpu_utilisation);
        if self.score(view.uplink.bandwidth_bps / 1e6, latency_norm, cpu_load) > 0.0 {
            Placement::Offload(target)
        } else {
            Placement::Local
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::nanos_from_secs;
    use crate::policy::testing::{device, link, node, rng, task, view};

    fn at(s: f64) -> SimTime {
        SimTime(nanos_from_secs(s))
    }

    fn default() -> Adaptive {
        Adaptive::new(nanos_from_secs(5.0), 0.5, 0.3)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn the_formula_on_crafted_views() {
        let mut p = default();
        // Pure formula: 0.4 * 0.5 - 0.3 * 0.2 + 0.3 * (1 - 0.9) = 0.17.
        assert!(close(p.score(50.0, 0.2, 0.9), 0.17));
        p.variant = Variant::Corrected; // 0.2 - 0.06 + 0.27
        assert!(close(p.score(50.0, 0.2, 0.9), 0.41));

        let mut r = rng();
        let mut far = node(0);
        far.uplink = link(1e9, 0.04);
        let nodes = [far];
        // Busy device, 10 Mb/s, 10 + 40 = 50 ms: 0.04 - 0.15 + 0.3 * (1 - 1) < 0.
        let mut v = view(device(1.0), &nodes);
        let mut faithful = default();
        let mut corrected = Adaptive { variant: Variant::Corrected, ..default() };
        assert_eq!(faithful.decide(&task(), &v, &mut r), Placement::Local);
        assert_eq!(corrected.decide(&task(), &v, &mut r), Placement::Offload(NodeId(0)), "0.04 - 0.15 + 0.3");
        // Idle device: the faithful formula offloads, the corrected one does not.
        v.device.cpu_utilisation = 0.0;
        assert_eq!(faithful.decide(&task(), &v, &mut r), Placement::Offload(NodeId(0)));
        assert_eq!(corrected.decide(&task(), &v, &mut r), Placement::Local);
        // A fast, near network offloads even a busy device in the faithful form:
        // 100 Mb/s, 10 ms: 0.4 - 0.03 + 0 > 0.
        v.device.cpu_utilisation = 1.0;
        v.uplink = link(100e6, 0.01);
        let near = [node(0)];
        v.nodes = &near;
        assert_eq!(faithful.decide(&task(), &v, &mut r), Placement::Offload(NodeId(0)));
        assert_eq!(faithful.decide(&task(), &view(device(1.0), &[]), &mut r), Placement::Local);
    }

    #[test]
    fn holt_follows_a_rising_sequence() {
        let mut h = Holt::new(0.5, 0.3);
        assert_eq!(h.forecast(), None);
        for y in [10.0, 20.0, 30.0, 40.0] {
            h.observe(y);
        }
        assert!(close(h.forecast().unwrap(), 50.0), "a straight line is followed exactly");
        // A noisy rising sequence: the forecast is above the last level.
        let mut h = Holt::new(0.5, 0.3);
        for y in [1.0, 3.0, 2.0, 5.0, 4.0, 7.0, 6.0, 9.0] {
            h.observe(y);
        }
        let f = h.forecast().unwrap();
        assert!(f > 8.0 && f < 11.0, "{f}");
        // A falling sequence is never forecast below zero.
        let mut h = Holt::new(0.5, 0.3);
        for y in [30.0, 20.0, 10.0, 0.0] {
            h.observe(y);
        }
        assert_eq!(h.forecast(), Some(0.0));
    }

    /// Window 0: 5 decisions (1/s), window 1: 10 (2/s), window 2: 15 (3/s).
    fn rising(p: &mut Adaptive, v: &SystemView<'_>) {
        let mut r = rng();
        let times = (0..5)
            .map(f64::from)
            .chain((0..10).map(|i| 5.0 + f64::from(i) * 0.5))
            .chain((0..15).map(|i| 10.0 + f64::from(i) / 3.0));
        for t in times {
            let v = SystemView { now: at(t), ..*v };
            p.decide(&task(), &v, &mut r);
        }
    }

    #[test]
    fn burst_smoothing_scales_the_load_by_the_predicted_rate() {
        let mut p = default();
        let nodes = [node(0)];
        let v = view(device(0.0), &nodes);
        rising(&mut p, &v);
        assert!(close(p.predicted_rate().unwrap(), 3.0), "windows 0 and 1 closed: 1, 2 -> 3");
        p.record(at(15.0)); // closes window 2; (10, 15] holds 14 + this one
        assert!(close(p.predicted_rate().unwrap(), 4.0));
        assert!(close(p.current_rate(), 3.0), "{}", p.current_rate());
        assert!(close(p.cpu_load(0.6), 0.8));
        assert_eq!(p.cpu_load(0.9), 1.0, "clamped");
        // Before any window completes the utilisation is used as it is.
        let mut fresh = default();
        fresh.record(at(1.0));
        assert_eq!(fresh.cpu_load(0.6), 0.6);
    }

    #[test]
    fn a_predicted_rise_tips_the_decision() {
        // Corrected, 10 Mb/s, 50 ms: -0.11 + 0.3 * cpu_load. At u = 0.3 the raw
        // score is -0.02 (local); scaled by 4/3 it is +0.01 (offload).
        let mut far = node(0);
        far.uplink = link(1e9, 0.04);
        let nodes = [far];
        let mut v = view(device(0.3), &nodes);
        let mut p = Adaptive { variant: Variant::Corrected, ..default() };
        rising(&mut p, &v);
        v.now = at(15.0);
        let mut r = rng();
        let mut fresh = Adaptive { variant: Variant::Corrected, ..default() };
        assert_eq!(fresh.decide(&task(), &SystemView { now: at(0.0), ..v }, &mut r), Placement::Local);
        assert_eq!(p.decide(&task(), &v, &mut r), Placement::Offload(NodeId(0)));
    }

    #[test]
    fn silence_drives_the_prediction_to_zero() {
        let mut p = default();
        for i in 0..50 {
            p.record(at(f64::from(i) * 0.1));
        }
        p.record(at(1e6)); // far beyond the empty-window cap
        assert!(p.predicted_rate().unwrap() < 1e-6, "{:?}", p.predicted_rate());
        assert!(close(p.current_rate(), 0.2), "only this decision in the window");
        assert_eq!(p.cpu_load(0.5), 0.0);
    }
}
