//! The rules a parsed scenario must follow beyond what its types express
//! (ranges, references between sections, unique names). Errors name the field by its
//! path (`devices[camera].network`) and say what was expected.

use super::spec::*;
use crate::dist::DistSpec;
use crate::error::excerpt;
use std::collections::BTreeSet;

/// A broken rule: (field path, message).
pub type Invalid = (String, String);

type Checked = Result<(), Invalid>;

fn err(field: impl Into<String>, message: impl Into<String>) -> Checked {
    Err((field.into(), message.into()))
}

fn finite(field: &str, v: f64) -> Checked {
    if v.is_finite() { Ok(()) } else { err(field, format!("expected a finite number, got {v}")) }
}

fn non_negative(field: &str, v: f64) -> Checked {
    finite(field, v)?;
    if v >= 0.0 { Ok(()) } else { err(field, format!("expected a number >= 0, got {v}")) }
}

fn positive(field: &str, v: f64) -> Checked {
    finite(field, v)?;
    if v > 0.0 { Ok(()) } else { err(field, format!("expected a number > 0, got {v}")) }
}

fn dist(field: &str, d: &DistSpec) -> Checked {
    d.validate().map_err(|m| (field.to_string(), m))
}

/// Names appear in file names, CSV cells and `--set` paths: a letter, then
/// letters, digits, `-` or `_` (no `.`, which separates path segments).
fn name(field: &str, n: &str) -> Checked {
    let mut chars = n.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        Ok(())
    } else {
        let n = excerpt(n);
        err(field, format!("`{n}` is not a valid name: start with a letter, then use letters, digits, `-` or `_`"))
    }
}

/// A Docker Engine's url and TLS files (`field` names its table).
fn engine(field: &str, url: &str, tls: [&Option<String>; 3]) -> Checked {
    let shown = excerpt(url);
    if !(url.starts_with("unix://") || url.starts_with("tcp://")) {
        return err(format!("{field}.url"), format!("expected unix://PATH or tcp://HOST:PORT, got `{shown}`"));
    }
    match tls.iter().filter(|f| f.is_some()).count() {
        0 => Ok(()),
        3 if url.starts_with("tcp://") => Ok(()),
        3 => err(format!("{field}.url"), format!("TLS needs a tcp://HOST:PORT url, got `{shown}`")),
        _ => err(field, "give all of tls_ca, tls_cert and tls_key, or none"),
    }
}

/// Containers have no name resolution: they are given IP addresses only.
fn ip_address(field: &str, a: &str) -> Checked {
    match a.parse::<std::net::IpAddr>() {
        Ok(_) => Ok(()),
        Err(_) => err(field, format!("expected an IP address (containers cannot resolve names), got `{}`", excerpt(a))),
    }
}

/// `[[live.hosts]]`: each a distinct engine with something to run, and
/// every node and device class placed at most once.
fn live_hosts(s: &Scenario, l: &LiveSpec) -> Checked {
    for h in &l.hosts {
        name(&format!("live.hosts[{}].name", h.name), &h.name)?;
    }
    unique("live.hosts", l.hosts.iter().map(|h| h.name.as_str()))?;
    let nodes: Vec<&str> = s.nodes.iter().map(|n| n.name.as_str()).collect();
    let classes: Vec<&str> = s.devices.iter().map(|d| d.name.as_str()).collect();
    let mut engines: Vec<(&str, String)> = l.engine.iter().map(|e| (e.url.as_str(), "live.engine".into())).collect();
    let mut placed: Vec<(&str, &str)> = Vec::new();
    for h in &l.hosts {
        let f = |field: &str| format!("live.hosts[{}].{field}", h.name);
        engine(&format!("live.hosts[{}]", h.name), &h.url, [&h.tls_ca, &h.tls_cert, &h.tls_key])?;
        if let Some((_, other)) = engines.iter().find(|(url, _)| *url == h.url) {
            return err(f("url"), format!("the engine `{}` is already {other}: give each engine once", h.url));
        }
        engines.push((&h.url, format!("live.hosts[{}]", h.name)));
        if let Some(g) = h.host_core_ghz {
            positive(&f("host_core_ghz"), g)?;
        }
        match (&h.address, h.published_address()) {
            (Some(a), _) if a.trim().is_empty() => return err(f("address"), "expected a host name or IP address"),
            (_, None) => return err(f("address"), format!("required: the url `{}` names no host", h.url)),
            _ => {}
        }
        if let Some(a) = &h.controller_address {
            ip_address(&f("controller_address"), a)?;
        }
        if h.place.is_empty() {
            return err(f("place"), "expected at least one node or device class name");
        }
        for p in &h.place {
            let (node, class) = (nodes.contains(&p.as_str()), classes.contains(&p.as_str()));
            if node && class {
                return err(f("place"), format!("`{p}` names both a node and a device class; rename one"));
            }
            if !node && !class {
                return err(
                    f("place"),
                    format!(
                        "unknown node or device class `{p}`; expected one of: {}",
                        nodes.iter().chain(&classes).copied().collect::<Vec<_>>().join(", ")
                    ),
                );
            }
            if let Some((_, other)) = placed.iter().find(|(q, _)| q == p) {
                let on = if *other == h.name { "this host already".to_string() } else { format!("host `{other}`") };
                return err(f("place"), format!("`{p}` is placed twice: {on} runs it"));
            }
            placed.push((p, &h.name));
        }
    }
    Ok(())
}

/// Entities indexed with 16 bits internally.
fn at_most_u16(field: &str, count: usize) -> Checked {
    if count <= usize::from(u16::MAX) {
        Ok(())
    } else {
        err(field, format!("{count} entries; at most {} are supported", u16::MAX))
    }
}

fn unique<'a>(kind: &str, names: impl Iterator<Item = &'a str>) -> Checked {
    let mut seen = BTreeSet::new();
    for n in names {
        if !seen.insert(n) {
            return err(format!("{kind}[{n}]"), format!("the name `{n}` is used twice"));
        }
    }
    Ok(())
}

fn known(field: &str, what: &str, wanted: &str, names: &[&str]) -> Checked {
    if names.contains(&wanted) {
        Ok(())
    } else {
        err(field, format!("unknown {what} `{}`; expected one of: {}", excerpt(wanted), names.join(", ")))
    }
}

fn link(field: &str, l: &LinkSpec) -> Checked {
    positive(&format!("{field}.bandwidth_mbps"), l.bandwidth_mbps)?;
    non_negative(&format!("{field}.latency_ms"), l.latency_ms)?;
    if let Some(j) = &l.jitter_ms {
        dist(&format!("{field}.jitter_ms"), j)?;
    }
    finite(&format!("{field}.loss"), l.loss)?;
    if !(0.0..1.0).contains(&l.loss) {
        return err(format!("{field}.loss"), format!("expected a probability in [0, 1), got {}", l.loss));
    }
    non_negative(&format!("{field}.retransmit_ms"), l.retransmit_ms)?;
    non_negative(&format!("{field}.energy_nj_per_bit"), l.energy_nj_per_bit)
}

/// Checks everything the types cannot express.
pub fn check(s: &Scenario) -> Checked {
    if let Some(n) = &s.name {
        name("name", n)?;
    }
    let sim = &s.simulation;
    if let Some(h) = sim.horizon_s {
        positive("simulation.horizon_s", h)?;
    }
    non_negative("simulation.warmup_s", sim.warmup_s)?;
    if let Some(h) = sim.horizon_s
        && sim.warmup_s >= h
    {
        return err("simulation.warmup_s", format!("must be less than simulation.horizon_s ({h})"));
    }
    non_negative("dispatcher.heartbeat_ms", s.dispatcher.heartbeat_ms)?;
    positive("dispatcher.utilisation_window_ms", s.dispatcher.utilisation_window_ms)?;
    if let Some(d) = &s.dispatcher.decision_ms {
        dist("dispatcher.decision_ms", d)?;
    }
    non_negative("outputs.utilisation_interval_ms", s.outputs.utilisation_interval_ms)?;
    if s.outputs.utilisation_interval_ms > 0.0 && s.outputs.utilisation_interval_ms < 0.001 {
        return err("outputs.utilisation_interval_ms", "expected 0 (off) or at least 0.001 ms");
    }
    name("policy.name", &s.policy.name)?;

    for (i, img) in s.images.iter().enumerate() {
        name(&format!("images[{i}].name"), &img.name)?;
        positive(&format!("images[{}].size_mb", img.name), img.size_mb)?;
    }
    unique("images", s.images.iter().map(|i| i.name.as_str()))?;
    at_most_u16("images", s.images.len())?;
    let images: Vec<&str> = s.images.iter().map(|i| i.name.as_str()).collect();

    if s.networks.is_empty() {
        return err("networks", "at least one [[networks]] entry is required");
    }
    for (i, n) in s.networks.iter().enumerate() {
        name(&format!("networks[{i}].name"), &n.name)?;
        link(&format!("networks[{}].up", n.name), &n.up)?;
        link(&format!("networks[{}].down", n.name), &n.down)?;
    }
    unique("networks", s.networks.iter().map(|n| n.name.as_str()))?;
    at_most_u16("networks", s.networks.len())?;
    let networks: Vec<&str> = s.networks.iter().map(|n| n.name.as_str()).collect();

    if s.devices.is_empty() {
        return err("devices", "at least one [[devices]] class is required");
    }
    let mut total_devices: u64 = 0;
    let mut any_generator = false;
    for (i, d) in s.devices.iter().enumerate() {
        name(&format!("devices[{i}].name"), &d.name)?;
        let f = |k: &str| format!("devices[{}].{k}", d.name);
        if d.count == 0 {
            return err(f("count"), "expected at least 1 device");
        }
        total_devices += u64::from(d.count);
        known(&f("network"), "network", &d.network, &networks)?;
        if d.cores == 0 {
            return err(f("cores"), "expected at least 1 core");
        }
        positive(&f("speed_ghz"), d.speed_ghz)?;
        if d.queue_limit == Some(0) {
            return err(f("queue_limit"), "expected at least 1 (omit the field for no limit)");
        }
        non_negative(&f("power.idle_w"), d.power.idle_w)?;
        non_negative(&f("power.busy_w"), d.power.busy_w)?;
        if d.power.busy_w < d.power.idle_w {
            return err(f("power.busy_w"), format!("must be >= power.idle_w ({})", d.power.idle_w));
        }
        non_negative(&f("power.tx_w"), d.power.tx_w)?;
        non_negative(&f("power.rx_w"), d.power.rx_w)?;
        if let Some(b) = d.battery_j {
            positive(&f("battery_j"), b)?;
        }
        non_negative(&f("offload_overhead_mcycles"), d.offload_overhead_mcycles)?;
        if let Some(r) = d.protocol.setup_rtts {
            non_negative(&f("protocol.setup_rtts"), r)?;
        }
        if let Some(g) = &d.workload {
            any_generator = true;
            let w = |k: &str| format!("devices[{}].workload.{k}", d.name);
            match (&g.rate_per_s, &g.interarrival_ms) {
                (Some(r), None) => positive(&w("rate_per_s"), *r)?,
                (None, Some(ia)) => {
                    dist(&w("interarrival_ms"), ia)?;
                    if ia.mean() <= 0.0 {
                        return err(w("interarrival_ms"), "expected a distribution with a positive mean");
                    }
                }
                _ => return err(w("rate_per_s"), "give exactly one of `rate_per_s` and `interarrival_ms`"),
            }
            non_negative(&w("start_s"), g.start_s)?;
            dist(&w("work_mcycles"), &g.work_mcycles)?;
            dist(&w("input_kb"), &g.input_kb)?;
            dist(&w("output_kb"), &g.output_kb)?;
            dist(&w("memory_mb"), &g.memory_mb)?;
            if let Some(img) = &g.image {
                known(&w("image"), "image", img, &images)?;
            }
            if let Some(dl) = g.deadline_ms {
                positive(&w("deadline_ms"), dl)?;
            }
            for l in g.node_selector.iter().chain(&g.tolerations) {
                name(&w("node_selector"), l)?;
            }
        }
    }
    unique("devices", s.devices.iter().map(|d| d.name.as_str()))?;
    at_most_u16("devices", s.devices.len())?;
    if total_devices > u64::from(u32::MAX) {
        return err("devices", format!("{total_devices} devices in total; at most {} are supported", u32::MAX));
    }

    match (&s.workload.trace, any_generator) {
        (Some(_), true) => {
            return err("workload.trace", "a trace replaces the generators: remove [devices.workload] or the trace");
        }
        (None, false) => {
            return err("workload", "no tasks: set workload.trace or give a device class a [devices.workload]");
        }
        (None, true) => {
            if let Some(d) = s.workload.duration_s {
                positive("workload.duration_s", d)?;
            }
            if s.workload.max_tasks == Some(0) {
                return err("workload.max_tasks", "expected at least 1 task");
            }
            if s.workload.duration_s.is_none() && s.workload.max_tasks.is_none() && sim.horizon_s.is_none() {
                return err(
                    "workload",
                    "the generated workload never ends: set workload.duration_s, workload.max_tasks or simulation.horizon_s",
                );
            }
        }
        (Some(t), false) => {
            if t.trim().is_empty() {
                return err("workload.trace", "expected a file path");
            }
            if s.workload.duration_s.is_some() || s.workload.max_tasks.is_some() {
                return err(
                    "workload.trace",
                    "a trace is replayed whole: remove workload.duration_s and workload.max_tasks (use simulation.horizon_s to stop early)",
                );
            }
        }
    }

    for (i, n) in s.nodes.iter().enumerate() {
        name(&format!("nodes[{i}].name"), &n.name)?;
        let f = |k: &str| format!("nodes[{}].{k}", n.name);
        name(&f("tier"), &n.tier)?;
        for l in &n.labels {
            name(&f("labels"), l)?;
        }
        for t in &n.taints {
            name(&f("taints"), t)?;
        }
        if n.cores == 0 {
            return err(f("cores"), "expected at least 1 core");
        }
        positive(&f("speed_ghz"), n.speed_ghz)?;
        positive(&f("memory_gb"), n.memory_gb)?;
        if n.queue_limit == Some(0) {
            return err(f("queue_limit"), "expected at least 1 (omit the field for no limit)");
        }
        link(&f("up"), &n.up)?;
        link(&f("down"), &n.down)?;
        if let Some(r) = &n.registry {
            positive(&f("registry.bandwidth_mbps"), r.bandwidth_mbps)?;
            non_negative(&f("registry.latency_ms"), r.latency_ms)?;
        }
        non_negative(&f("image_cache_gb"), n.image_cache_gb)?;
        // Counted in whole bytes, as the cache counts them: if the rounded
        // sizes overflowed the rounded capacity, a preloaded image would be
        // evicted at time 0 and a node without a registry could not get it.
        let mut preloaded: Vec<&ImageSpec> = Vec::new();
        for img in &n.preloaded_images {
            known(&f("preloaded_images"), "image", img, &images)?;
            if let Some(i) = s.images.iter().find(|i| &i.name == img)
                && !preloaded.iter().any(|p| p.name == i.name)
            {
                preloaded.push(i);
            }
        }
        let preloaded_bytes = preloaded.iter().fold(0u64, |sum, i| sum.saturating_add(i.bytes()));
        if preloaded_bytes > n.image_cache_bytes() {
            return err(
                f("preloaded_images"),
                format!(
                    "the preloaded images take {preloaded_bytes} bytes, more than image_cache_gb = {} holds \
                     ({} bytes): raise image_cache_gb or preload fewer images",
                    n.image_cache_gb,
                    n.image_cache_bytes()
                ),
            );
        }
        dist(&f("cold_start_ms"), &n.cold_start_ms)?;
        non_negative(&f("keep_alive_s"), n.keep_alive_s)?;
        non_negative(&f("power.idle_w"), n.power.idle_w)?;
        non_negative(&f("power.busy_w"), n.power.busy_w)?;
        if n.power.busy_w < n.power.idle_w {
            return err(f("power.busy_w"), format!("must be >= power.idle_w ({})", n.power.idle_w));
        }
    }
    unique("nodes", s.nodes.iter().map(|n| n.name.as_str()))?;
    for n in &s.nodes {
        if n.registry.is_none()
            && let Some(img) = s.images.iter().find(|i| !n.preloaded_images.contains(&i.name))
        {
            return err(
                format!("nodes[{}].registry", n.name),
                format!("required: image `{}` is not preloaded on this node, so it may have to be pulled", img.name),
            );
        }
    }
    if let Some(l) = &s.live {
        positive("live.host_core_ghz", l.host_core_ghz)?;
        if !(1000..=1_000_000).contains(&l.cpu_period_us) {
            return err("live.cpu_period_us", "expected 1000 to 1000000 (the kernel's CFS period range)");
        }
        if !(l.usable_cpu_fraction > 0.0 && l.usable_cpu_fraction <= 1.0) {
            return err("live.usable_cpu_fraction", "expected a fraction in (0, 1]");
        }
        if l.container_memory_mb.is_nan() || l.container_memory_mb < 16.0 {
            return err("live.container_memory_mb", "expected at least 16 (MB)");
        }
        if l.repetitions == 0 {
            return err("live.repetitions", "expected at least 1");
        }
        if let Some(e) = &l.engine {
            engine("live.engine", &e.url, [&e.tls_ca, &e.tls_cert, &e.tls_key])?;
        }
        if let Some(a) = &l.listen_address {
            ip_address("live.listen_address", a)?;
        }
        live_hosts(s, l)?;
    }
    if let Some(e) = &s.experiment {
        if e.replications == 0 {
            return err("experiment.replications", "expected at least 1");
        }
        for (i, p) in e.policies.iter().enumerate() {
            name(&format!("experiment.policies[{i}].name"), &p.policy.name)?;
            name(&format!("experiment.policies[{i}].label"), p.label())?;
        }
        unique("experiment.policies", e.policies.iter().map(ExperimentPolicy::label))?;
        if let Some(b) = &e.baseline {
            let labels: Vec<&str> = e.policies.iter().map(ExperimentPolicy::label).collect();
            if !labels.is_empty() {
                known("experiment.baseline", "policy label", b, &labels)?;
            }
        }
        for (path, values) in &e.grid {
            if values.is_empty() {
                return err(format!("experiment.grid.\"{path}\""), "expected at least one value");
            }
        }
    }
    super::bounds::check(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid scenario with an image `img`, a node `edge` and the device
    /// class `d` of [`crate::scenario::testing::ONE_DEVICE`], with `extra`
    /// lines appended to the node.
    fn scenario(extra: &str) -> Scenario {
        let text = format!(
            r#"policy = {{ name = "local" }}
workload = {{ max_tasks = 1 }}
[[images]]
name = "img"
size_mb = 1
{}
[[nodes]]
name = "edge"
tier = "edge"
cores = 1
speed_ghz = 1
up = {{ bandwidth_mbps = 1 }}
down = {{ bandwidth_mbps = 1 }}
power = {{ idle_w = 1, busy_w = 2 }}
{extra}
"#,
            crate::scenario::testing::ONE_DEVICE
        );
        toml::from_str(&text).unwrap()
    }

    fn rejected(s: &Scenario) -> String {
        let (field, message) = check(s).unwrap_err();
        format!("{field}: {message}")
    }

    #[test]
    fn a_lognormal_with_an_infinite_log_variance_names_its_field() {
        // ONE_DEVICE with `from` replaced by `to`.
        let with = |from: &str, to: &str| -> Scenario {
            let device = crate::scenario::testing::ONE_DEVICE.replace(from, to);
            toml::from_str(&format!("policy = {{ name = \"local\" }}\nworkload = {{ max_tasks = 1 }}\n{device}"))
                .unwrap()
        };
        let s = with(
            r#"work_mcycles = { kind = "exponential", mean = 1 }"#,
            r#"work_mcycles = { kind = "lognormal", mean = 1e-200, std = 1 }"#,
        );
        let e = rejected(&s);
        assert!(e.starts_with("devices[d].workload.work_mcycles: `std` (1.0) is too large for `mean` (1e-200)"), "{e}");
        let s = with(
            "up = { bandwidth_mbps = 1 }",
            r#"up = { bandwidth_mbps = 1, jitter_ms = { kind = "lognormal", mean = 1e-300, std = 1 } }"#,
        );
        let e = rejected(&s);
        assert!(e.starts_with("networks[n].up.jitter_ms: `std` (1.0) is too large for `mean` (1e-300)"), "{e}");
    }

    #[test]
    fn preloaded_images_must_fit_the_cache_in_whole_bytes() {
        let s = scenario("image_cache_gb = 0.001\npreloaded_images = [\"img\"]");
        assert_eq!(check(&s), Ok(()), "1 MB fits in 0.001 GB exactly");
        let s = scenario("image_cache_gb = 0.000999999\npreloaded_images = [\"img\"]");
        assert_eq!(
            rejected(&s),
            "nodes[edge].preloaded_images: the preloaded images take 1000000 bytes, more than \
             image_cache_gb = 0.000999999 holds (999999 bytes): raise image_cache_gb or preload fewer images"
        );
        // Two images of half a byte each take a byte each in the cache; the
        // sizes in MB add up to 1e-6, which is not above 1e-9 GB (in floating
        // point, 1e-9 * 1000 is a little more than 1e-6), but 2 bytes do not fit in 1.
        let mut s = scenario("image_cache_gb = 1e-9\npreloaded_images = [\"img\", \"img2\"]");
        s.images[0].size_mb = 5e-7;
        s.images.push(ImageSpec { name: "img2".into(), size_mb: 5e-7 });
        assert!(rejected(&s).contains("take 2 bytes, more than image_cache_gb = 0.000000001 holds (1 bytes)"));
        s.images[1].size_mb = 4e-7;
        assert_eq!(check(&s), Ok(()), "0.4 bytes round to none");
        let s = scenario("image_cache_gb = 0.001\npreloaded_images = [\"img\", \"img\"]");
        assert_eq!(check(&s), Ok(()), "an image preloaded twice is cached once");
    }
}
