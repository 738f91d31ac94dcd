//! Upper bounds on a scenario's scalars, so every simulated time stays
//! representable on the nanosecond clock (`u64`, about 584 years) instead of
//! silently saturating.
//!
//! The bounds are derived from two spans:
//! - an *instant* (`horizon_s`, `warmup_s`, `duration_s`, `start_s`, a
//!   deadline, a trace's `arrival_ms`) is at most [`MAX_INSTANT_S`], 100
//!   years;
//! - one *stage* of a task or one period (a latency, a retransmission, a
//!   decision, a cold start, a heartbeat, a run on a processor, a transfer
//!   on a link, a set-up) is at most [`MAX_STAGE_S`], one year.
//!
//! An arrival plus the dozen stages of an offloaded task stays below 120
//! years, a fifth of what the clock holds. Rates and sizes are bounded
//! through the stages they make: work over the slowest processor, bytes
//! over the slowest link. Distributions are bounded by their mean (single
//! draws of a long tail may still be larger). Errors name the field, the
//! value and the allowed range.

use super::rules::Invalid;
use super::spec::*;
use crate::dist::DistSpec;

type Checked = Result<(), Invalid>;

/// Seconds in a (Julian) year.
pub const YEAR_S: f64 = 365.25 * 86_400.0;
/// Largest instant: 100 years of simulated time.
pub const MAX_INSTANT_S: f64 = 100.0 * YEAR_S;
/// Longest single stage or period: one year.
pub const MAX_STAGE_S: f64 = YEAR_S;
/// Largest size of one message, image or memory demand: a petabyte.
pub const MAX_BYTES: f64 = 1e15;
/// Largest memory or image cache of a node: an exabyte (its bytes fit a
/// 64-bit counter).
pub const MAX_MEMORY_GB: f64 = 1e9;
/// Fastest processor: a million GHz.
pub const MAX_SPEED_GHZ: f64 = 1e6;
/// Fastest link: a petabit per second.
pub const MAX_BANDWIDTH_MBPS: f64 = 1e9;
/// Most arrivals per second and device: one a nanosecond, the clock's tick.
pub const MAX_RATE_PER_S: f64 = 1e9;
/// Shortest heartbeat or utilisation interval (when not 0): a microsecond.
pub const MIN_PERIOD_MS: f64 = 0.001;
/// Most connection set-up round trips per request.
pub const MAX_SETUP_RTTS: f64 = 1000.0;

fn err(field: impl Into<String>, message: impl Into<String>) -> Checked {
    Err((field.into(), message.into()))
}

/// `v` (already known finite and >= 0) is at most `max`; `what` says why.
fn at_most(field: &str, v: f64, max: f64, what: &str) -> Checked {
    if v <= max { Ok(()) } else { err(field, format!("expected at most {max:e} ({what}), got {v:e}")) }
}

fn instant_s(field: &str, v: f64) -> Checked {
    at_most(field, v, MAX_INSTANT_S, "100 years of simulated time")
}

fn stage_ms(field: &str, v: f64) -> Checked {
    at_most(field, v, MAX_STAGE_S * 1e3, "one year")
}

fn mean_stage_ms(field: &str, d: &DistSpec) -> Checked {
    let m = d.mean();
    if m <= MAX_STAGE_S * 1e3 {
        Ok(())
    } else {
        err(field, format!("expected a mean of at most {:e} (one year), got {m:e}", MAX_STAGE_S * 1e3))
    }
}

/// `seconds` of a stage `what` (e.g. "a mean task runs ... on devices[a]")
/// fits in one year.
fn stage_time(field: &str, seconds: f64, what: String) -> Checked {
    if seconds <= MAX_STAGE_S {
        Ok(())
    } else {
        err(field, format!("{what} takes {seconds:.3e} s; at most {MAX_STAGE_S:.5e} s (one year) is supported"))
    }
}

fn link(field: &str, l: &LinkSpec) -> Checked {
    at_most(&format!("{field}.bandwidth_mbps"), l.bandwidth_mbps, MAX_BANDWIDTH_MBPS, "a petabit per second")?;
    stage_ms(&format!("{field}.latency_ms"), l.latency_ms)?;
    stage_ms(&format!("{field}.retransmit_ms"), l.retransmit_ms)?;
    if let Some(j) = &l.jitter_ms {
        mean_stage_ms(&format!("{field}.jitter_ms"), j)?;
    }
    Ok(())
}

/// The slowest link a task's message may cross from a device of `network`:
/// (bits per second, its field path).
fn slowest_link(s: &Scenario, network: &NetworkSpec) -> (f64, String) {
    let mut links = vec![
        (network.up.bandwidth_mbps, format!("networks[{}].up", network.name)),
        (network.down.bandwidth_mbps, format!("networks[{}].down", network.name)),
    ];
    for n in &s.nodes {
        links.push((n.up.bandwidth_mbps, format!("nodes[{}].up", n.name)));
        links.push((n.down.bandwidth_mbps, format!("nodes[{}].down", n.name)));
    }
    let (mbps, path) = links.into_iter().min_by(|a, b| a.0.total_cmp(&b.0)).expect("a network has two links");
    (mbps * 1e6, path)
}

/// The longest round trip of a set-up from a device of `network`, in ms.
fn longest_round_trip_ms(s: &Scenario, network: &NetworkSpec) -> f64 {
    let node = s.nodes.iter().map(|n| n.up.latency_ms + n.down.latency_ms).fold(0.0, f64::max);
    network.up.latency_ms + network.down.latency_ms + node
}

/// Bytes (a size in `unit_bytes`) at most [`MAX_BYTES`].
fn size(field: &str, v: f64, unit_bytes: f64) -> Checked {
    at_most(field, v, MAX_BYTES / unit_bytes, "a petabyte")
}

fn device(s: &Scenario, d: &DeviceClassSpec) -> Checked {
    let f = |k: &str| format!("devices[{}].{k}", d.name);
    at_most(&f("speed_ghz"), d.speed_ghz, MAX_SPEED_GHZ, "a million GHz")?;
    let speed_hz = d.speed_ghz * 1e9;
    stage_time(
        &f("offload_overhead_mcycles"),
        d.offload_overhead_mcycles * 1e6 / speed_hz,
        format!("the offload preparation on a {} GHz device", d.speed_ghz),
    )?;
    let Some(network) = s.networks.iter().find(|n| n.name == d.network) else { return Ok(()) };
    let (slowest_bps, slowest) = slowest_link(s, network);
    if let Some(r) = d.protocol.setup_rtts {
        at_most(&f("protocol.setup_rtts"), r, MAX_SETUP_RTTS, "round trips per request")?;
        let rtt = longest_round_trip_ms(s, network);
        stage_time(&f("protocol.setup_rtts"), r * rtt / 1e3, format!("{r} round trips of up to {rtt} ms"))?;
    }
    if let Some(h) = d.protocol.header_bytes {
        let h = h as f64;
        size(&f("protocol.header_bytes"), h, 1.0)?;
        stage_time(&f("protocol.header_bytes"), h * 8.0 / slowest_bps, format!("a {h:e}-byte header on {slowest}"))?;
    }
    let Some(g) = &d.workload else { return Ok(()) };
    let w = |k: &str| format!("devices[{}].workload.{k}", d.name);
    if let Some(r) = g.rate_per_s {
        at_most(&w("rate_per_s"), r, MAX_RATE_PER_S, "one arrival a nanosecond")?;
    }
    if let Some(ia) = &g.interarrival_ms {
        let m = ia.mean();
        if m < 1e3 / MAX_RATE_PER_S {
            return err(w("interarrival_ms"), format!("expected a mean of at least 1e-6 (one nanosecond), got {m:e}"));
        }
    }
    instant_s(&w("start_s"), g.start_s)?;
    let slowest_cpu = s
        .nodes
        .iter()
        .map(|n| (n.speed_ghz, format!("nodes[{}]", n.name)))
        .fold((d.speed_ghz, format!("devices[{}]", d.name)), |a, b| if b.0 < a.0 { b } else { a });
    let work = g.work_mcycles.mean();
    stage_time(
        &w("work_mcycles"),
        work * 1e6 / (slowest_cpu.0 * 1e9),
        format!("a mean task of {work:e} Mcycles on the slowest processor ({}, {} GHz)", slowest_cpu.1, slowest_cpu.0),
    )?;
    for (k, d) in [("input_kb", &g.input_kb), ("output_kb", &g.output_kb)] {
        let bytes = d.mean() * 1e3;
        size(&w(k), d.mean(), 1e3)?;
        stage_time(&w(k), bytes * 8.0 / slowest_bps, format!("a mean message of {bytes:e} bytes on {slowest}"))?;
    }
    size(&w("memory_mb"), g.memory_mb.mean(), 1e6)?;
    if let Some(dl) = g.deadline_ms {
        at_most(&w("deadline_ms"), dl, MAX_INSTANT_S * 1e3, "100 years")?;
    }
    Ok(())
}

fn node(s: &Scenario, n: &NodeSpec) -> Checked {
    let f = |k: &str| format!("nodes[{}].{k}", n.name);
    at_most(&f("speed_ghz"), n.speed_ghz, MAX_SPEED_GHZ, "a million GHz")?;
    at_most(&f("memory_gb"), n.memory_gb, MAX_MEMORY_GB, "an exabyte")?;
    at_most(&f("image_cache_gb"), n.image_cache_gb, MAX_MEMORY_GB, "an exabyte")?;
    link(&f("up"), &n.up)?;
    link(&f("down"), &n.down)?;
    mean_stage_ms(&f("cold_start_ms"), &n.cold_start_ms)?;
    instant_s(&f("keep_alive_s"), n.keep_alive_s)?;
    if let Some(r) = &n.registry {
        at_most(&f("registry.bandwidth_mbps"), r.bandwidth_mbps, MAX_BANDWIDTH_MBPS, "a petabit per second")?;
        stage_ms(&f("registry.latency_ms"), r.latency_ms)?;
        if let Some(img) = s.images.iter().max_by(|a, b| a.size_mb.total_cmp(&b.size_mb)) {
            let seconds = img.size_mb * 8.0 / r.bandwidth_mbps;
            stage_time(
                &f("registry.bandwidth_mbps"),
                seconds,
                format!("pulling image `{}` at this bandwidth", img.name),
            )?;
        }
    }
    Ok(())
}

/// Checks every bound; run after `rules::check`'s other rules, so
/// every number is finite and within its sign.
pub fn check(s: &Scenario) -> Checked {
    let sim = &s.simulation;
    if let Some(h) = sim.horizon_s {
        instant_s("simulation.horizon_s", h)?;
    }
    instant_s("simulation.warmup_s", sim.warmup_s)?;
    if let Some(d) = s.workload.duration_s {
        instant_s("workload.duration_s", d)?;
    }
    let heartbeat = s.dispatcher.heartbeat_ms;
    if heartbeat > 0.0 && heartbeat < MIN_PERIOD_MS {
        return err(
            "dispatcher.heartbeat_ms",
            format!("expected 0 (perfect information) or at least 0.001, got {heartbeat:e}"),
        );
    }
    stage_ms("dispatcher.heartbeat_ms", heartbeat)?;
    stage_ms("dispatcher.utilisation_window_ms", s.dispatcher.utilisation_window_ms)?;
    if let Some(d) = &s.dispatcher.decision_ms {
        mean_stage_ms("dispatcher.decision_ms", d)?;
    }
    stage_ms("outputs.utilisation_interval_ms", s.outputs.utilisation_interval_ms)?;
    for img in &s.images {
        size(&format!("images[{}].size_mb", img.name), img.size_mb, 1e6)?;
    }
    for n in &s.networks {
        link(&format!("networks[{}].up", n.name), &n.up)?;
        link(&format!("networks[{}].down", n.name), &n.down)?;
    }
    for d in &s.devices {
        device(s, d)?;
    }
    for n in &s.nodes {
        node(s, n)?;
    }
    Ok(())
}
