//! Building a policy from its name and parameters in the scenario.
//!
//! The [`PolicyRegistry`] knows the built-in policies and any number of
//! user policies registered by name, so a scenario can name a policy written
//! outside offsim (see `examples/custom_policy.rs`).

use super::builtin::{BuiltinPolicy, Local, Offload, Threshold};
use super::{ImageInfo, NodeId, NodeInfo, Placement, Policy, SystemView, TaskOutcome, TaskView};
use crate::engine::SimRng;
use crate::scenario::PolicySpec;
use serde::{Deserialize, Serialize};

/// What a policy may know when it is built: the nodes and images by name.
#[derive(Clone, Debug)]
pub struct PolicyContext {
    pub nodes: Vec<NodeInfo>,
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
    Builtin(BuiltinPolicy),
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

/// Names of the built-in policies.
pub const BUILTIN_NAMES: &[&str] = &["local", "offload", "threshold"];

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
        if BUILTIN_NAMES.contains(&name) || self.custom.iter().any(|(n, _)| n == name) {
            return Err(format!("a policy named `{name}` is already registered"));
        }
        self.custom.push((name.to_string(), Box::new(factory)));
        Ok(())
    }

    /// Every policy name, built-ins first.
    pub fn names(&self) -> Vec<&str> {
        BUILTIN_NAMES.iter().copied().chain(self.custom.iter().map(|(n, _)| n.as_str())).collect()
    }

    /// Builds the policy `spec` names; returns it with its resolved
    /// parameters, or a message for the `policy` table.
    pub fn build(&self, spec: &PolicySpec, ctx: &PolicyContext) -> Result<(AnyPolicy, toml::Table), String> {
        if let Some((_, factory)) = self.custom.iter().find(|(n, _)| *n == spec.name) {
            let (p, resolved) = factory(spec, ctx)?;
            return Ok((AnyPolicy::Custom(p), resolved));
        }
        match build_builtin(spec, ctx)? {
            Some((p, resolved)) => Ok((AnyPolicy::Builtin(p), resolved)),
            None => Err(format!("unknown policy `{}`; expected one of: {}", spec.name, self.names().join(", "))),
        }
    }
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct NoParams {}

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

/// Builds a built-in policy; `None` if no built-in has that name.
fn build_builtin(spec: &PolicySpec, ctx: &PolicyContext) -> Result<Option<(BuiltinPolicy, toml::Table)>, String> {
    let built = match spec.name.as_str() {
        "local" => {
            let (_, resolved) = parse_params::<NoParams>(spec)?;
            (BuiltinPolicy::Local(Local), resolved)
        }
        "offload" => {
            let (p, resolved): (OffloadParams, _) = parse_params(spec)?;
            let target = p.node.map(|n| ctx.node(&n)).transpose()?;
            if ctx.nodes.is_empty() {
                return Err("`offload` needs at least one [[nodes]] entry".into());
            }
            (BuiltinPolicy::Offload(Offload { target }), resolved)
        }
        "threshold" => {
            let (p, resolved): (ThresholdParams, _) = parse_params(spec)?;
            if !(p.cpu_threshold.is_finite() && (0.0..=1.0).contains(&p.cpu_threshold)) {
                return Err(format!("cpu_threshold: expected a fraction in [0, 1], got {}", p.cpu_threshold));
            }
            let target = p.target_node.map(|n| ctx.node(&n)).transpose()?;
            (BuiltinPolicy::Threshold(Threshold { cpu_threshold: p.cpu_threshold, target }), resolved)
        }
        _ => return Ok(None),
    };
    Ok(Some(built))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> PolicyContext {
        let info = |n: &str| NodeInfo { name: n.into(), tier: "cloud".into(), labels: vec![] };
        PolicyContext { nodes: vec![info("edge-1"), info("cloud-gateway")], images: vec![] }
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
