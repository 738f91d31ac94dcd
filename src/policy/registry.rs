//! Building a policy from its name and parameters in the scenario.
//!
//! The [`PolicyRegistry`] knows the built-in policies (one table,
//! `catalog.rs`) and any number of user policies registered by name, so a
//! scenario can name a policy written outside offsim (see
//! `examples/custom_policy.rs`).

use super::builtin::BuiltinPolicy;
use super::catalog::{BUILTINS, builtin};
use super::{ImageInfo, NodeId, NodeInfo, Placement, Policy, SystemView, TaskOutcome, TaskView};
use crate::engine::SimRng;
use crate::scenario::PolicySpec;
use serde::Serialize;

/// What a policy may know when it is built: the nodes and images by name.
#[derive(Clone, Debug)]
pub struct PolicyContext {
    /// The scenario's nodes, by id.
    pub nodes: Vec<NodeInfo>,
    /// The scenario's images, by index.
    pub images: Vec<ImageInfo>,
}

impl PolicyContext {
    /// The id of the node called `name`, or a message listing the names.
    pub fn node(&self, name: &str) -> Result<NodeId, String> {
        match self.nodes.iter().position(|n| n.name == name) {
            Some(i) => Ok(NodeId(i as u32)),
            None => {
                let names: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
                Err(format!("unknown node `{name}`; expected one of: {}", names.join(", ")))
            }
        }
    }

    /// The index of the image called `name`, or a message listing the names.
    pub fn image(&self, name: &str) -> Result<u16, String> {
        match self.images.iter().position(|i| i.name == name) {
            Some(i) => u16::try_from(i).map_err(|_| format!("image `{name}`: more than {} images", u16::MAX)),
            None => {
                let names: Vec<&str> = self.images.iter().map(|i| i.name.as_str()).collect();
                Err(format!("unknown image `{name}`; expected one of: {}", names.join(", ")))
            }
        }
    }
}

/// Parses a policy's parameters (the `[policy]` table without `name`) into
/// `T` (unknown keys rejected when `T` denies them), returning them with
/// defaults filled in, for the scenario's canonical hash.
pub fn parse_params<T: serde::de::DeserializeOwned + Serialize>(spec: &PolicySpec) -> Result<(T, toml::Table), String> {
    let p = T::deserialize(toml::Value::Table(spec.params.clone())).map_err(|e| e.message().to_string())?;
    let resolved = toml::Table::try_from(&p).map_err(|e| e.to_string())?;
    Ok((p, resolved))
}

/// Builds a user policy from its parameters; returns it with its resolved
/// parameters, or a message for the `policy` table.
pub type PolicyFactory =
    Box<dyn Fn(&PolicySpec, &PolicyContext) -> Result<(Box<dyn Policy>, toml::Table), String> + Send + Sync>;

/// A built-in policy (static dispatch) or a registered one.
pub enum AnyPolicy {
    /// A built-in policy.
    Builtin(BuiltinPolicy),
    /// A policy from the registry, called through a trait object.
    Custom(Box<dyn Policy>),
}

impl Policy for AnyPolicy {
    #[inline]
    fn decide(&mut self, task: &TaskView, view: &SystemView<'_>, rng: &mut SimRng) -> Placement {
        match self {
            AnyPolicy::Builtin(p) => p.decide(task, view, rng),
            AnyPolicy::Custom(p) => p.decide(task, view, rng),
        }
    }
    fn observe(&mut self, outcome: &TaskOutcome) {
        match self {
            AnyPolicy::Builtin(p) => p.observe(outcome),
            AnyPolicy::Custom(p) => p.observe(outcome),
        }
    }
    fn observes(&self) -> bool {
        match self {
            AnyPolicy::Builtin(p) => p.observes(),
            AnyPolicy::Custom(p) => p.observes(),
        }
    }
    fn preload(&self) -> Vec<(NodeId, u16)> {
        match self {
            AnyPolicy::Builtin(p) => p.preload(),
            AnyPolicy::Custom(p) => p.preload(),
        }
    }
}

/// Policies by name: the built-ins and registered user policies.
#[derive(Default)]
pub struct PolicyRegistry {
    custom: Vec<(String, PolicyFactory)>,
}

impl PolicyRegistry {
    /// A registry with the built-in policies only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a user policy under `name` (which must not be a built-in's).
    pub fn register(
        &mut self,
        name: &str,
        factory: impl Fn(&PolicySpec, &PolicyContext) -> Result<(Box<dyn Policy>, toml::Table), String>
        + Send
        + Sync
        + 'static,
    ) -> Result<(), String> {
        if builtin(name).is_some() || self.custom.iter().any(|(n, _)| n == name) {
            return Err(format!("a policy named `{name}` is already registered"));
        }
        self.custom.push((name.to_string(), Box::new(factory)));
        Ok(())
    }

    /// Every policy name, built-ins first.
    pub fn names(&self) -> Vec<&str> {
        BUILTINS.iter().map(|b| b.name).chain(self.custom.iter().map(|(n, _)| n.as_str())).collect()
    }

    /// Builds the policy `spec` names; returns it with its resolved
    /// parameters, or a message for the `policy` table.
    pub fn build(&self, spec: &PolicySpec, ctx: &PolicyContext) -> Result<(AnyPolicy, toml::Table), String> {
        if let Some((_, factory)) = self.custom.iter().find(|(n, _)| *n == spec.name) {
            let (p, resolved) = factory(spec, ctx)?;
            return Ok((AnyPolicy::Custom(p), resolved));
        }
        match builtin(&spec.name) {
            Some(b) => {
                let (p, resolved) = (b.build)(spec, ctx)?;
                Ok((AnyPolicy::Builtin(p), resolved))
            }
            None => Err(format!("unknown policy `{}`; expected one of: {}", spec.name, self.names().join(", "))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Variant;
    use crate::policy::builtin::Local;
    use crate::policy::catalog::NoParams;

    fn ctx() -> PolicyContext {
        let info = |n: &str| NodeInfo { name: n.into(), tier: "cloud".into(), labels: vec![] };
        let image = |n: &str| ImageInfo { name: n.into(), bytes: 1_000_000 };
        PolicyContext {
            nodes: vec![info("edge-1"), info("cloud-gateway")],
            images: vec![image("resize"), image("detect")],
        }
    }

    fn spec(text: &str) -> PolicySpec {
        toml::from_str(text).unwrap()
    }

    fn build(text: &str) -> Result<(AnyPolicy, toml::Table), String> {
        PolicyRegistry::new().build(&spec(text), &ctx())
    }

    #[test]
    fn threshold_defaults_to_the_documents_80_percent() {
        let (policy, resolved) = build("name = \"threshold\"\ntarget_node = \"cloud-gateway\"").unwrap();
        assert_eq!(resolved["cpu_threshold"].as_float(), Some(0.8), "defaults are filled in");
        match policy {
            AnyPolicy::Builtin(BuiltinPolicy::Threshold(t)) => {
                assert_eq!(t.cpu_threshold, 0.8);
                assert_eq!(t.target, Some(NodeId(1)));
            }
            _ => panic!("built something else"),
        }
    }

    #[test]
    fn errors_name_what_is_expected() {
        let e = build("name = \"threshold\"\ntarget_node = \"nope\"").err().unwrap();
        assert!(e.contains("unknown node `nope`; expected one of: edge-1, cloud-gateway"), "{e}");
        let e = build("name = \"threshold\"\ncpu_threshold = 80").err().unwrap();
        assert!(e.contains("fraction in [0, 1]"), "{e}");
        let e = build("name = \"local\"\nfoo = 1").err().unwrap();
        assert!(e.contains("unknown field `foo`"), "{e}");
        let e = build("name = \"nope\"").err().unwrap();
        assert!(e.contains("expected one of: local, offload, threshold"), "{e}");
    }

    #[test]
    fn every_builtin_builds_with_its_defaults() {
        for name in BUILTINS.iter().map(|b| b.name) {
            let text = format!("name = \"{name}\"");
            if let Err(e) = build(&text) {
                panic!("{name}: {e}");
            }
        }
    }

    #[test]
    fn only_ucb_asks_for_outcomes() {
        // The simulator skips building outcomes for the others: a built-in
        // that starts learning from them must say so.
        for name in BUILTINS.iter().map(|b| b.name) {
            let (policy, _) = build(&format!("name = \"{name}\"")).unwrap();
            assert_eq!(policy.observes(), name == "ucb", "{name}");
        }
    }

    #[test]
    fn defaults_are_the_documents_numbers() {
        let resolved = |text: &str| build(text).unwrap().1;
        let ws = resolved("name = \"weighted-score\"");
        assert_eq!(ws["w_cpu"].as_float(), Some(0.4));
        assert_eq!(ws["w_bandwidth"].as_float(), Some(0.3));
        assert_eq!(ws["w_energy"].as_float(), Some(0.3));
        assert_eq!(ws["bandwidth_norm_mbps"].as_float(), Some(100.0));
        assert_eq!(ws["threshold"].as_float(), Some(0.6));
        assert_eq!(ws["variant"].as_str(), Some("faithful"));
        let wr = resolved("name = \"weighted-random\"");
        assert_eq!(wr["w_cpu"].as_float(), Some(0.5));
        assert_eq!(wr["w_memory"].as_float(), Some(0.3));
        assert_eq!(wr["w_latency"].as_float(), Some(0.2));
        assert_eq!(wr["latency_norm_ms"].as_float(), Some(100.0));
        let ad = resolved("name = \"adaptive\"");
        for (k, v) in [
            ("w_bandwidth", 0.4),
            ("w_latency", 0.3),
            ("w_cpu", 0.3),
            ("max_bandwidth_mbps", 100.0),
            ("max_latency_ms", 100.0),
            ("window_s", 5.0),
            ("alpha", 0.5),
            ("beta", 0.3),
        ] {
            assert_eq!(ad[k].as_float(), Some(v), "{k}");
        }
        assert_eq!(ad["variant"].as_str(), Some("faithful"));
        assert_eq!(resolved("name = \"random\"")["include_local"].as_bool(), Some(true));
        assert_eq!(resolved("name = \"round-robin\"")["include_local"].as_bool(), Some(false));
        assert_eq!(resolved("name = \"least-loaded\"")["include_local"].as_bool(), Some(false));
        assert_eq!(resolved("name = \"deadline-aware\"")["safety"].as_float(), Some(1.0));
        let ucb = resolved("name = \"ucb\"");
        assert_eq!(ucb["latency_scale_ms"].as_float(), Some(1000.0));
        assert_eq!(ucb["exploration"].as_float(), Some(std::f64::consts::SQRT_2));
    }

    #[test]
    fn parameters_reach_the_policies() {
        let text = "name = \"weighted-score\"\nvariant = \"corrected\"\nthreshold = 1\ntarget_node = \"edge-1\"";
        match build(text).unwrap().0 {
            AnyPolicy::Builtin(BuiltinPolicy::WeightedScore(p)) => {
                assert_eq!(p.variant, Variant::Corrected);
                assert_eq!(p.threshold, 1.0);
                assert_eq!(p.target, Some(NodeId(0)));
            }
            _ => panic!("built something else"),
        }
        let text = "name = \"adaptive\"\nwindow_s = 2\nalpha = 0.2\ntarget_node = \"cloud-gateway\"";
        match build(text).unwrap().0 {
            AnyPolicy::Builtin(BuiltinPolicy::Adaptive(p)) => {
                assert_eq!(p.target, Some(NodeId(1)));
                assert_eq!(p.variant, Variant::Faithful);
            }
            _ => panic!("built something else"),
        }
        let text =
            "name = \"image-aware\"\npreload = { cloud-gateway = [\"detect\", \"resize\"], edge-1 = [\"detect\"] }";
        let (policy, resolved) = build(text).unwrap();
        assert_eq!(policy.preload(), vec![(NodeId(1), 1), (NodeId(1), 0), (NodeId(0), 1)]);
        assert!(resolved["preload"].as_table().is_some());
        assert!(build("name = \"image-aware\"").unwrap().0.preload().is_empty());
        match build("name = \"round-robin\"\ninclude_local = true").unwrap().0 {
            AnyPolicy::Builtin(BuiltinPolicy::RoundRobin(p)) => assert!(p.include_local),
            _ => panic!("built something else"),
        }
    }

    #[test]
    fn bad_parameters_are_explained() {
        let err = |text: &str| build(text).err().unwrap_or_else(|| panic!("accepted: {text}"));
        let e = err("name = \"weighted-score\"\nvariant = \"sideways\"");
        assert!(e.contains("unknown variant `sideways`") && e.contains("faithful") && e.contains("corrected"), "{e}");
        let e = err("name = \"weighted-score\"\nw_cpu = -0.1");
        assert!(e.contains("w_cpu: expected a finite number >= 0, got -0.1"), "{e}");
        let e = err("name = \"weighted-score\"\nbandwidth_norm_mbps = 0");
        assert!(e.contains("bandwidth_norm_mbps: expected a finite number > 0"), "{e}");
        let e = err("name = \"weighted-score\"\nthreshold = nan");
        assert!(e.contains("threshold: expected a finite number"), "{e}");
        let e = err("name = \"weighted-score\"\ntarget_node = \"mars\"");
        assert!(e.contains("unknown node `mars`"), "{e}");
        let e = err("name = \"weighted-random\"\nlatency_norm_ms = inf");
        assert!(e.contains("latency_norm_ms: expected a finite number > 0"), "{e}");
        let e = err("name = \"weighted-random\"\nw_disk = 1");
        assert!(e.contains("unknown field `w_disk`"), "{e}");
        let e = err("name = \"adaptive\"\nalpha = 0");
        assert!(e.contains("alpha: expected a smoothing factor in (0, 1], got 0"), "{e}");
        let e = err("name = \"adaptive\"\nbeta = 1.5");
        assert!(e.contains("beta: expected a smoothing factor in [0, 1], got 1.5"), "{e}");
        let e = err("name = \"adaptive\"\nwindow_s = -5");
        assert!(e.contains("window_s: expected a finite number > 0"), "{e}");
        let e = err("name = \"image-aware\"\npreload = { mars = [\"detect\"] }");
        assert!(e.contains("preload: unknown node `mars`; expected one of: edge-1, cloud-gateway"), "{e}");
        let e = err("name = \"image-aware\"\npreload = { edge-1 = [\"ocr\"] }");
        assert!(e.contains("preload.edge-1: unknown image `ocr`; expected one of: resize, detect"), "{e}");
        let e = err("name = \"deadline-aware\"\nsafety = 0");
        assert!(e.contains("safety: expected a finite number > 0"), "{e}");
        let e = err("name = \"ucb\"\nlatency_scale_ms = 0");
        assert!(e.contains("latency_scale_ms: expected a finite number > 0"), "{e}");
        let e = err("name = \"ucb\"\nexploration = -1");
        assert!(e.contains("exploration: expected a finite number >= 0"), "{e}");
        let e = err("name = \"random\"\ninclude_local = 1");
        assert!(e.contains("include_local") || e.contains("bool"), "{e}");
        let e = err("name = \"min-energy\"\nsafety = 1");
        assert!(e.contains("unknown field `safety`"), "{e}");
    }

    #[test]
    fn registered_policies_are_built_by_name() {
        let mut r = PolicyRegistry::new();
        r.register("always-local", |spec, _| {
            let (_, resolved) = parse_params::<NoParams>(spec)?;
            Ok((Box::new(Local) as Box<dyn Policy>, resolved))
        })
        .unwrap();
        assert!(r.register("local", |_, _| Err("unused".into())).is_err(), "built-in names are taken");
        assert!(matches!(r.build(&spec("name = \"always-local\""), &ctx()), Ok((AnyPolicy::Custom(_), _))));
        assert!(r.names().contains(&"always-local"));
    }
}
