//! The built-in policies by name: one table entry per policy, naming the
//! function that checks its parameters (filling in defaults) and builds it.

use super::adaptive::Adaptive;
use super::baseline::{Random, RoundRobin};
use super::builtin::{BuiltinPolicy, LeastLoaded, Local, Offload, Threshold};
use super::by_estimate::{DeadlineAware, EarliestFinish, MinEnergy};
use super::image_aware::ImageAware;
use super::registry::{PolicyContext, parse_params};
use super::ucb::Ucb;
use super::weighted_random::WeightedRandom;
use super::weighted_score::{Variant, WeightedScore};
use crate::engine::nanos_from_secs;
use crate::scenario::PolicySpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A built-in policy with its resolved parameters, or a message for the
/// `policy` table.
type Built = Result<(BuiltinPolicy, toml::Table), String>;

/// A built-in policy: the name a scenario gives it and its builder.
pub(super) struct Builtin {
    pub name: &'static str,
    pub build: fn(&PolicySpec, &PolicyContext) -> Built,
}

/// Every built-in policy, in the order error messages list them.
pub(super) const BUILTINS: &[Builtin] = &[
    Builtin { name: "local", build: local },
    Builtin { name: "offload", build: offload },
    Builtin { name: "threshold", build: threshold },
    Builtin { name: "weighted-score", build: weighted_score },
    Builtin { name: "weighted-random", build: weighted_random },
    Builtin { name: "adaptive", build: adaptive },
    Builtin { name: "image-aware", build: image_aware },
    Builtin { name: "random", build: random },
    Builtin { name: "round-robin", build: round_robin },
    Builtin { name: "least-loaded", build: least_loaded },
    Builtin { name: "earliest-finish", build: earliest_finish },
    Builtin { name: "min-energy", build: min_energy },
    Builtin { name: "deadline-aware", build: deadline_aware },
    Builtin { name: "ucb", build: ucb },
];

/// The built-in policy called `name`.
pub(super) fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// Policies without parameters.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NoParams {}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct OffloadParams {
    #[serde(default)]
    node: Option<String>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ThresholdParams {
    #[serde(default = "default_threshold")]
    cpu_threshold: f64,
    #[serde(default)]
    target_node: Option<String>,
}

fn default_threshold() -> f64 {
    0.8
}

/// `weighted-score` (source document 3.1); defaults are the document's.
#[derive(Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct WeightedScoreParams {
    w_cpu: f64,
    w_bandwidth: f64,
    w_energy: f64,
    bandwidth_norm_mbps: f64,
    threshold: f64,
    variant: Variant,
    target_node: Option<String>,
}

impl Default for WeightedScoreParams {
    fn default() -> Self {
        let d = WeightedScore::default();
        WeightedScoreParams {
            w_cpu: d.w_cpu,
            w_bandwidth: d.w_bandwidth,
            w_energy: d.w_energy,
            bandwidth_norm_mbps: d.bandwidth_norm_mbps,
            threshold: d.threshold,
            variant: d.variant,
            target_node: None,
        }
    }
}

/// `weighted-random` (source document 3.2).
#[derive(Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct WeightedRandomParams {
    w_cpu: f64,
    w_memory: f64,
    w_latency: f64,
    latency_norm_ms: f64,
}

impl Default for WeightedRandomParams {
    fn default() -> Self {
        let d = WeightedRandom::default();
        WeightedRandomParams {
            w_cpu: d.w_cpu,
            w_memory: d.w_memory,
            w_latency: d.w_latency,
            latency_norm_ms: d.latency_norm_ms,
        }
    }
}

/// `adaptive` (source document 4.2).
#[derive(Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct AdaptiveParams {
    w_bandwidth: f64,
    w_latency: f64,
    w_cpu: f64,
    max_bandwidth_mbps: f64,
    max_latency_ms: f64,
    window_s: f64,
    alpha: f64,
    beta: f64,
    variant: Variant,
    target_node: Option<String>,
}

impl Default for AdaptiveParams {
    fn default() -> Self {
        AdaptiveParams {
            w_bandwidth: 0.4,
            w_latency: 0.3,
            w_cpu: 0.3,
            max_bandwidth_mbps: 100.0,
            max_latency_ms: 100.0,
            window_s: 5.0,
            alpha: 0.5,
            beta: 0.3,
            variant: Variant::Faithful,
            target_node: None,
        }
    }
}

/// `image-aware` (source document 3.3): node name -> image names.
#[derive(Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct ImageAwareParams {
    preload: BTreeMap<String, Vec<String>>,
}

/// `random`, `round-robin` and `least-loaded`.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct IncludeLocalParams<const DEFAULT: bool> {
    #[serde(default = "bool_default::<DEFAULT>")]
    include_local: bool,
}

fn bool_default<const B: bool>() -> bool {
    B
}

/// `deadline-aware`.
#[derive(Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct DeadlineAwareParams {
    safety: f64,
}

impl Default for DeadlineAwareParams {
    fn default() -> Self {
        DeadlineAwareParams { safety: 1.0 }
    }
}

/// `ucb`.
#[derive(Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct UcbParams {
    latency_scale_ms: f64,
    exploration: f64,
}

impl Default for UcbParams {
    fn default() -> Self {
        UcbParams { latency_scale_ms: 1000.0, exploration: std::f64::consts::SQRT_2 }
    }
}

/// `name` must be a finite number.
fn finite(name: &str, v: f64) -> Result<(), String> {
    if v.is_finite() { Ok(()) } else { Err(format!("{name}: expected a finite number, got {v}")) }
}

/// `name` must be a finite number >= 0 (a weight).
fn non_negative(name: &str, v: f64) -> Result<(), String> {
    if v.is_finite() && v >= 0.0 { Ok(()) } else { Err(format!("{name}: expected a finite number >= 0, got {v}")) }
}

/// `name` must be a finite number > 0 (a scale).
fn positive(name: &str, v: f64) -> Result<(), String> {
    if v.is_finite() && v > 0.0 { Ok(()) } else { Err(format!("{name}: expected a finite number > 0, got {v}")) }
}

/// Builds `local` from its parameters.
fn local(spec: &PolicySpec, _ctx: &PolicyContext) -> Built {
    let (_, resolved) = parse_params::<NoParams>(spec)?;
    Ok((BuiltinPolicy::Local(Local), resolved))
}

/// Builds `offload` from its parameters.
fn offload(spec: &PolicySpec, ctx: &PolicyContext) -> Built {
    let (p, resolved): (OffloadParams, _) = parse_params(spec)?;
    let target = p.node.map(|n| ctx.node(&n)).transpose()?;
    if ctx.nodes.is_empty() {
        return Err("`offload` needs at least one [[nodes]] entry".into());
    }
    Ok((BuiltinPolicy::Offload(Offload { target }), resolved))
}

/// Builds `threshold` from its parameters.
fn threshold(spec: &PolicySpec, ctx: &PolicyContext) -> Built {
    let (p, resolved): (ThresholdParams, _) = parse_params(spec)?;
    if !(p.cpu_threshold.is_finite() && (0.0..=1.0).contains(&p.cpu_threshold)) {
        return Err(format!("cpu_threshold: expected a fraction in [0, 1], got {}", p.cpu_threshold));
    }
    let target = p.target_node.map(|n| ctx.node(&n)).transpose()?;
    Ok((BuiltinPolicy::Threshold(Threshold { cpu_threshold: p.cpu_threshold, target }), resolved))
}

/// Builds `weighted-score` from its parameters.
fn weighted_score(spec: &PolicySpec, ctx: &PolicyContext) -> Built {
    let (p, resolved): (WeightedScoreParams, _) = parse_params(spec)?;
    non_negative("w_cpu", p.w_cpu)?;
    non_negative("w_bandwidth", p.w_bandwidth)?;
    non_negative("w_energy", p.w_energy)?;
    positive("bandwidth_norm_mbps", p.bandwidth_norm_mbps)?;
    finite("threshold", p.threshold)?;
    let target = p.target_node.map(|n| ctx.node(&n)).transpose()?;
    let policy = WeightedScore {
        w_cpu: p.w_cpu,
        w_bandwidth: p.w_bandwidth,
        w_energy: p.w_energy,
        bandwidth_norm_mbps: p.bandwidth_norm_mbps,
        threshold: p.threshold,
        variant: p.variant,
        target,
    };
    Ok((BuiltinPolicy::WeightedScore(policy), resolved))
}

/// Builds `weighted-random` from its parameters.
fn weighted_random(spec: &PolicySpec, _ctx: &PolicyContext) -> Built {
    let (p, resolved): (WeightedRandomParams, _) = parse_params(spec)?;
    non_negative("w_cpu", p.w_cpu)?;
    non_negative("w_memory", p.w_memory)?;
    non_negative("w_latency", p.w_latency)?;
    positive("latency_norm_ms", p.latency_norm_ms)?;
    let policy = WeightedRandom {
        w_cpu: p.w_cpu,
        w_memory: p.w_memory,
        w_latency: p.w_latency,
        latency_norm_ms: p.latency_norm_ms,
    };
    Ok((BuiltinPolicy::WeightedRandom(policy), resolved))
}

/// Builds `adaptive` from its parameters.
fn adaptive(spec: &PolicySpec, ctx: &PolicyContext) -> Built {
    let (p, resolved): (AdaptiveParams, _) = parse_params(spec)?;
    non_negative("w_bandwidth", p.w_bandwidth)?;
    non_negative("w_latency", p.w_latency)?;
    non_negative("w_cpu", p.w_cpu)?;
    positive("max_bandwidth_mbps", p.max_bandwidth_mbps)?;
    positive("max_latency_ms", p.max_latency_ms)?;
    positive("window_s", p.window_s)?;
    if !(p.alpha.is_finite() && p.alpha > 0.0 && p.alpha <= 1.0) {
        return Err(format!("alpha: expected a smoothing factor in (0, 1], got {}", p.alpha));
    }
    if !(p.beta.is_finite() && (0.0..=1.0).contains(&p.beta)) {
        return Err(format!("beta: expected a smoothing factor in [0, 1], got {}", p.beta));
    }
    let target = p.target_node.map(|n| ctx.node(&n)).transpose()?;
    let mut policy = Adaptive::new(nanos_from_secs(p.window_s), p.alpha, p.beta);
    policy.w_bandwidth = p.w_bandwidth;
    policy.w_latency = p.w_latency;
    policy.w_cpu = p.w_cpu;
    policy.max_bandwidth_mbps = p.max_bandwidth_mbps;
    policy.max_latency_ms = p.max_latency_ms;
    policy.variant = p.variant;
    policy.target = target;
    Ok((BuiltinPolicy::Adaptive(policy), resolved))
}

/// Builds `image-aware` from its parameters.
fn image_aware(spec: &PolicySpec, ctx: &PolicyContext) -> Built {
    let (p, resolved): (ImageAwareParams, _) = parse_params(spec)?;
    let mut preload = Vec::new();
    for (node, images) in &p.preload {
        let id = ctx.node(node).map_err(|e| format!("preload: {e}"))?;
        for image in images {
            let index = ctx.image(image).map_err(|e| format!("preload.{node}: {e}"))?;
            if !preload.contains(&(id, index)) {
                preload.push((id, index));
            }
        }
    }
    Ok((BuiltinPolicy::ImageAware(ImageAware { preload }), resolved))
}

/// Builds `random` from its parameters.
fn random(spec: &PolicySpec, _ctx: &PolicyContext) -> Built {
    let (p, resolved): (IncludeLocalParams<true>, _) = parse_params(spec)?;
    Ok((BuiltinPolicy::Random(Random { include_local: p.include_local }), resolved))
}

/// Builds `round-robin` from its parameters.
fn round_robin(spec: &PolicySpec, _ctx: &PolicyContext) -> Built {
    let (p, resolved): (IncludeLocalParams<false>, _) = parse_params(spec)?;
    Ok((BuiltinPolicy::RoundRobin(RoundRobin { include_local: p.include_local, counter: 0 }), resolved))
}

/// Builds `least-loaded` from its parameters.
fn least_loaded(spec: &PolicySpec, _ctx: &PolicyContext) -> Built {
    let (p, resolved): (IncludeLocalParams<false>, _) = parse_params(spec)?;
    Ok((BuiltinPolicy::LeastLoaded(LeastLoaded { include_local: p.include_local }), resolved))
}

/// Builds `earliest-finish` from its parameters.
fn earliest_finish(spec: &PolicySpec, _ctx: &PolicyContext) -> Built {
    let (_, resolved) = parse_params::<NoParams>(spec)?;
    Ok((BuiltinPolicy::EarliestFinish(EarliestFinish), resolved))
}

/// Builds `min-energy` from its parameters.
fn min_energy(spec: &PolicySpec, _ctx: &PolicyContext) -> Built {
    let (_, resolved) = parse_params::<NoParams>(spec)?;
    Ok((BuiltinPolicy::MinEnergy(MinEnergy), resolved))
}

/// Builds `deadline-aware` from its parameters.
fn deadline_aware(spec: &PolicySpec, _ctx: &PolicyContext) -> Built {
    let (p, resolved): (DeadlineAwareParams, _) = parse_params(spec)?;
    positive("safety", p.safety)?;
    Ok((BuiltinPolicy::DeadlineAware(DeadlineAware { safety: p.safety }), resolved))
}

/// Builds `ucb` from its parameters.
fn ucb(spec: &PolicySpec, ctx: &PolicyContext) -> Built {
    let (p, resolved): (UcbParams, _) = parse_params(spec)?;
    positive("latency_scale_ms", p.latency_scale_ms)?;
    non_negative("exploration", p.exploration)?;
    Ok((BuiltinPolicy::Ucb(Ucb::new(ctx.nodes.len(), p.latency_scale_ms / 1e3, p.exploration)), resolved))
}
