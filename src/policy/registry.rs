//! Building a policy from its name and parameters in the scenario.

use super::builtin::{BuiltinPolicy, Local, Offload, Threshold};
use super::{NodeId, NodeInfo};
use crate::scenario::PolicySpec;
use serde::{Deserialize, Serialize};

/// What a policy may know when it is built: the nodes by name.
#[derive(Clone, Debug)]
pub struct PolicyContext {
    pub nodes: Vec<NodeInfo>,
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

/// Names of the built-in policies.
pub const BUILTIN_NAMES: &[&str] = &["local", "offload", "threshold"];

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

/// Parses a policy's parameters and returns them with defaults filled in.
fn params<T: serde::de::DeserializeOwned + Serialize>(spec: &PolicySpec) -> Result<(T, toml::Table), String> {
    let p = T::deserialize(toml::Value::Table(spec.params.clone())).map_err(|e| e.message().to_string())?;
    let resolved = toml::Table::try_from(&p).map_err(|e| e.to_string())?;
    Ok((p, resolved))
}

/// Builds a built-in policy and returns it with its parameters, defaults
/// filled in (for the scenario's canonical hash); the error is a message for
/// the `policy` field.
pub fn build_builtin(spec: &PolicySpec, ctx: &PolicyContext) -> Result<(BuiltinPolicy, toml::Table), String> {
    match spec.name.as_str() {
        "local" => {
            let (_, resolved) = params::<NoParams>(spec)?;
            Ok((BuiltinPolicy::Local(Local), resolved))
        }
        "offload" => {
            let (p, resolved): (OffloadParams, _) = params(spec)?;
            let target = p.node.map(|n| ctx.node(&n)).transpose()?;
            if ctx.nodes.is_empty() {
                return Err("`offload` needs at least one [[nodes]] entry".into());
            }
            Ok((BuiltinPolicy::Offload(Offload { target }), resolved))
        }
        "threshold" => {
            let (p, resolved): (ThresholdParams, _) = params(spec)?;
            if !(p.cpu_threshold.is_finite() && (0.0..=1.0).contains(&p.cpu_threshold)) {
                return Err(format!("cpu_threshold: expected a fraction in [0, 1], got {}", p.cpu_threshold));
            }
            let target = p.target_node.map(|n| ctx.node(&n)).transpose()?;
            Ok((BuiltinPolicy::Threshold(Threshold { cpu_threshold: p.cpu_threshold, target }), resolved))
        }
        other => Err(format!("unknown policy `{other}`; expected one of: {}", BUILTIN_NAMES.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> PolicyContext {
        let info = |n: &str| NodeInfo { name: n.into(), tier: "cloud".into(), labels: vec![] };
        PolicyContext { nodes: vec![info("edge-1"), info("cloud-gateway")] }
    }

    fn spec(text: &str) -> PolicySpec {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn threshold_defaults_to_the_documents_80_percent() {
        let (policy, resolved) =
            build_builtin(&spec("name = \"threshold\"\ntarget_node = \"cloud-gateway\""), &ctx()).unwrap();
        assert_eq!(resolved["cpu_threshold"].as_float(), Some(0.8), "defaults are filled in");
        match policy {
            BuiltinPolicy::Threshold(t) => {
                assert_eq!(t.cpu_threshold, 0.8);
                assert_eq!(t.target, Some(NodeId(1)));
            }
            other => panic!("built {other:?}"),
        }
    }

    #[test]
    fn errors_name_what_is_expected() {
        let e = build_builtin(&spec("name = \"threshold\"\ntarget_node = \"nope\""), &ctx()).unwrap_err();
        assert!(e.contains("unknown node `nope`; expected one of: edge-1, cloud-gateway"), "{e}");
        let e = build_builtin(&spec("name = \"threshold\"\ncpu_threshold = 80"), &ctx()).unwrap_err();
        assert!(e.contains("fraction in [0, 1]"), "{e}");
        let e = build_builtin(&spec("name = \"local\"\nfoo = 1"), &ctx()).unwrap_err();
        assert!(e.contains("unknown field `foo`"), "{e}");
        let e = build_builtin(&spec("name = \"nope\""), &ctx()).unwrap_err();
        assert!(e.contains("expected one of: local, offload, threshold"), "{e}");
    }
}
