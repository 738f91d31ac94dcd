//! Reads a scenario from TOML, applies `--set` overrides, checks its rules
//! and computes its canonical hash.

use super::rules;
use super::spec::Scenario;
use crate::error::{Error, Result, clip_lines, excerpt};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A parsed scenario that follows the rules, and where it came from.
#[derive(Clone, Debug)]
pub struct LoadedScenario {
    /// The scenario, after overrides, with defaults filled in.
    pub spec: Scenario,
    /// How the scenario is named in messages (usually its path).
    pub origin: String,
    /// Directory that relative paths in the scenario (the trace) resolve from.
    pub base_dir: PathBuf,
}

impl LoadedScenario {
    /// Loads `path`, applies `overrides` (`path.to.field=value`) in order and
    /// checks the result's rules.
    pub fn from_file(path: &Path, overrides: &[String]) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "cannot read scenario", e))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("scenario");
        Self::from_toml(&text, &path.display().to_string(), stem, &base, overrides)
    }

    /// Parses scenario text. `origin` names it in messages, `default_name`
    /// is used when the scenario has no `name`, and a relative trace path
    /// resolves from `base_dir`.
    pub fn from_toml(
        text: &str,
        origin: &str,
        default_name: &str,
        base_dir: &Path,
        overrides: &[String],
    ) -> Result<Self> {
        Self::parse(text, origin, default_name, base_dir, overrides).map_err(clipped)
    }

    fn parse(text: &str, origin: &str, default_name: &str, base_dir: &Path, overrides: &[String]) -> Result<Self> {
        let fail = |message: String| Error::Scenario { file: origin.to_string(), message };
        let included = included_overrides(text, base_dir)?;
        let all: Vec<String> = included.iter().map(|(_, a)| a.clone()).chain(overrides.iter().cloned()).collect();
        let mut spec: Scenario = if all.is_empty() {
            toml::from_str(text).map_err(|e| fail(describe_toml_error(&e)))?
        } else {
            apply_overrides(text, &all).map_err(|e| match e {
                OverrideFailure::Text(e) => fail(describe_toml_error(&e)),
                OverrideFailure::Arg(Error::Override { arg, message }) => {
                    match included.iter().find(|(_, a)| *a == arg) {
                        Some((file, _)) => Error::Scenario { file: file.clone(), message: format!("{arg}: {message}") },
                        None => Error::Override { arg, message },
                    }
                }
                OverrideFailure::Arg(e) => e,
            })?
        };
        if spec.name.is_none() {
            spec.name = Some(default_name.to_string());
        }
        rules::check(&spec).map_err(|(field, message)| {
            let mut files: Vec<&str> = included.iter().map(|(f, _)| f.as_str()).collect();
            files.dedup();
            let after = if files.is_empty() { String::new() } else { format!(" (with {} included)", files.join(", ")) };
            fail(format!("{field}: {message}{after}"))
        })?;
        Ok(Self { spec, origin: origin.to_string(), base_dir: base_dir.to_path_buf() })
    }

    /// SHA-256 (hex) of the scenario's canonical JSON form, with the
    /// policy's parameters as resolved by the policy (defaults filled in):
    /// two files that mean the same run hash the same. Field order is fixed
    /// by the types; tables are kept in sorted order.
    pub fn canonical_hash(&self, resolved_policy_params: &toml::Table) -> String {
        let mut spec = self.spec.clone();
        spec.policy.params = resolved_policy_params.clone();
        let json = serde_json::to_vec(&spec).expect("scenario serialises");
        Sha256::digest(&json).iter().map(|b| format!("{b:02x}")).collect()
    }

    /// This scenario with more overrides applied one at a time, each
    /// checked against the rules: an error names the override that broke it.
    pub fn with_overrides(&self, overrides: &[String]) -> Result<Self> {
        self.overridden(overrides).map_err(clipped)
    }

    fn overridden(&self, overrides: &[String]) -> Result<Self> {
        let mut table = toml::Table::try_from(&self.spec).map_err(|e| Error::Scenario {
            file: self.origin.clone(),
            message: format!("cannot re-serialise the scenario: {e}"),
        })?;
        let mut spec = self.spec.clone();
        for arg in overrides {
            let fail = |message: String| Error::Override { arg: arg.clone(), message };
            apply_override(&mut table, arg)?;
            spec =
                Scenario::deserialize(toml::Value::Table(table.clone())).map_err(|e| fail(e.message().to_string()))?;
            rules::check(&spec).map_err(|(field, message)| fail(format!("{field}: {message}")))?;
        }
        Ok(Self { spec, origin: self.origin.clone(), base_dir: self.base_dir.clone() })
    }

    /// The scenario's name.
    pub fn name(&self) -> &str {
        self.spec.name.as_deref().unwrap_or("scenario")
    }
}

/// `e` quoting at most an excerpt of the input: a `--set` argument is cut
/// to an excerpt, every line of a message to a short one (parsers quote the
/// offending line of the file, which may be any length).
fn clipped(e: Error) -> Error {
    match e {
        Error::Scenario { file, message } => Error::Scenario { file, message: clip_lines(&message) },
        Error::Override { arg, message } => Error::Override { arg: excerpt(&arg), message: clip_lines(&message) },
        other => other,
    }
}

enum OverrideFailure {
    /// The scenario text itself is wrong (message with line and column).
    Text(toml::de::Error),
    /// An override is wrong.
    Arg(Error),
}

/// Applies overrides one at a time. An override after which the scenario
/// stops deserialising is named in the error; if the scenario was already
/// wrong without overrides and they do not mend it, the error points into
/// the file.
fn apply_overrides(text: &str, overrides: &[String]) -> Result<Scenario, OverrideFailure> {
    let mut table: toml::Table = toml::from_str(text).map_err(OverrideFailure::Text)?;
    let deserialise = |t: &toml::Table| Scenario::deserialize(toml::Value::Table(t.clone()));
    let mut valid = deserialise(&table).is_ok();
    for arg in overrides {
        apply_override(&mut table, arg).map_err(OverrideFailure::Arg)?;
        match deserialise(&table) {
            Ok(_) => valid = true,
            Err(e) if valid => {
                return Err(OverrideFailure::Arg(Error::Override {
                    arg: arg.clone(),
                    message: e.message().to_string(),
                }));
            }
            Err(_) => {}
        }
    }
    match deserialise(&table) {
        Ok(spec) => Ok(spec),
        Err(after) => match toml::from_str::<Scenario>(text) {
            Err(e) => Err(OverrideFailure::Text(e)),
            Ok(_) => Err(OverrideFailure::Arg(Error::Override {
                arg: overrides.join(" "),
                message: after.message().to_string(),
            })),
        },
    }
}

/// The overrides of the files `text` includes (its top-level `include`),
/// in order, each with the file it comes from. A scenario that does not
/// parse yields none here; its own parse reports the error.
fn included_overrides(text: &str, base_dir: &Path) -> Result<Vec<(String, String)>> {
    let Ok(table) = toml::from_str::<toml::Table>(text) else { return Ok(Vec::new()) };
    let Some(include) = table.get("include") else { return Ok(Vec::new()) };
    let Some(files) = include.as_array().filter(|a| a.iter().all(toml::Value::is_str)) else {
        return Ok(Vec::new()); // the scenario's own parse names the type error
    };
    let mut out = Vec::new();
    for f in files.iter().filter_map(toml::Value::as_str) {
        let path = base_dir.join(f);
        let name = path.display().to_string();
        out.extend(fragment_overrides(&path)?.into_iter().map(|o| (name.clone(), o)));
    }
    Ok(out)
}

/// The overrides of a fragment file (`"path.to.field" = value` lines, as
/// `offsim calibrate` writes them), each as `--set` takes it.
pub fn fragment_overrides(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "cannot read included file", e))?;
    let fragment: toml::Table = toml::from_str(&text)
        .map_err(|e| Error::Scenario { file: path.display().to_string(), message: describe_toml_error(&e) })?;
    Ok(fragment.into_iter().map(|(key, value)| format!("{key}={value}")).collect())
}

/// toml's messages carry line and column; keep them on one readable block.
fn describe_toml_error(e: &toml::de::Error) -> String {
    e.to_string().trim_end().replace("TOML parse error", "invalid scenario")
}

/// Applies one `path.to.field=value` override to a TOML table.
///
/// Path segments walk tables; on an array of tables a segment selects the
/// entry whose `name` equals it (or, if numeric, the entry at that index).
/// The value is parsed as a TOML value (`32`, `0.5`, `true`, `"x"`,
/// `{ kind = "exponential", mean = 3 }`); anything that does not parse is
/// taken as a string.
pub fn apply_override(table: &mut toml::Table, arg: &str) -> Result<()> {
    let fail = |message: String| Error::Override { arg: arg.to_string(), message };
    let (path, raw) = arg.split_once('=').ok_or_else(|| fail("expected `path.to.field=value`".into()))?;
    let segments: Vec<&str> = path.trim().split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(fail("the field path has an empty segment".into()));
    }
    let value = parse_value(raw.trim());
    let (last, parents) = segments.split_last().expect("split yields at least one segment");
    let mut current = table;
    let mut i = 0;
    while i < parents.len() {
        let seg = parents[i];
        let entry = current.entry(seg.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = match entry {
            toml::Value::Table(t) => t,
            toml::Value::Array(items) => {
                i += 1;
                let key = parents.get(i).ok_or_else(|| {
                    fail(format!("`{seg}.{last}` names a whole entry of a list; name one of its fields, e.g. `{seg}.{last}.<field>`"))
                })?;
                select_named(items, key).map_err(|m| fail(format!("`{seg}`: {m}")))?
            }
            other => return Err(fail(format!("`{seg}` is a {}, not a table", other.type_str()))),
        };
        i += 1;
    }
    current.insert(last.to_string(), value);
    Ok(())
}

/// The entry of an array of tables whose `name` is `key`, or at index `key`.
fn select_named<'a>(items: &'a mut [toml::Value], key: &str) -> Result<&'a mut toml::Table, String> {
    let names: Vec<String> =
        items.iter().filter_map(|v| v.get("name").and_then(|n| n.as_str()).map(str::to_string)).collect();
    let index = match names.iter().position(|n| n == key) {
        Some(i) => i,
        None => match key.parse::<usize>() {
            Ok(i) if i < items.len() => i,
            _ => {
                return Err(format!("no entry named `{key}`; expected one of: {}", names.join(", ")));
            }
        },
    };
    match &mut items[index] {
        toml::Value::Table(t) => Ok(t),
        other => Err(format!("entry `{key}` is a {}, not a table", other.type_str())),
    }
}

fn parse_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        toml::from_str(text).unwrap()
    }

    fn small() -> String {
        format!(
            "{}{}",
            r#"policy = { name = "local" }
workload = { max_tasks = 1 }"#,
            crate::scenario::testing::ONE_DEVICE
        )
    }

    #[test]
    fn with_overrides_rechecks_the_rules() {
        let s = LoadedScenario::from_toml(&small(), "t", "t", ".".as_ref(), &[]).unwrap();
        let t = s.with_overrides(&["devices.d.speed_ghz=2.5".into(), "policy={ name = \"offload\" }".into()]).unwrap();
        assert_eq!(t.spec.devices[0].speed_ghz, 2.5);
        assert_eq!(t.spec.policy.name, "offload");
        let e =
            s.with_overrides(&["devices.d.cores=2".into(), "devices.d.speed_ghz=-1".into()]).unwrap_err().to_string();
        assert!(e.starts_with("--set devices.d.speed_ghz=-1:"), "only the breaking override is named: {e}");
        assert!(e.contains("devices[d].speed_ghz") && e.contains("> 0"), "{e}");
    }

    #[test]
    fn included_fragments_apply_before_set_flags_and_name_their_file() {
        let dir = std::env::temp_dir().join(format!("offsim-include-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("cal.toml"), "# measured\n\"devices.d.speed_ghz\" = 0.9\n\"devices.d.cores\" = 2\n")
            .unwrap();
        std::fs::write(dir.join("bad.toml"), "\"devices.d.speed_ghz\" = -1\n").unwrap();
        let text = format!("include = [\"cal.toml\"]\n{}", small());
        let s = LoadedScenario::from_toml(&text, "t", "t", &dir, &[]).unwrap();
        assert_eq!((s.spec.devices[0].speed_ghz, s.spec.devices[0].cores), (0.9, 2));
        let s = LoadedScenario::from_toml(&text, "t", "t", &dir, &["devices.d.speed_ghz=1.5".into()]).unwrap();
        assert_eq!(s.spec.devices[0].speed_ghz, 1.5, "--set wins over the fragment");
        let bad = format!("include = [\"cal.toml\", \"bad.toml\"]\n{}", small());
        let e = LoadedScenario::from_toml(&bad, "t", "t", &dir, &[]).unwrap_err().to_string();
        let missing = format!("include = [\"nope.toml\"]\n{}", small());
        let m = LoadedScenario::from_toml(&missing, "t", "t", &dir, &[]).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(e.contains("bad.toml included") && e.contains("devices[d].speed_ghz"), "{e}");
        assert!(m.contains("nope.toml") && m.contains("cannot read included file"), "{m}");
    }

    #[test]
    fn override_walks_named_array_entries() {
        let mut t = table("[[nodes]]\nname = \"a\"\ncores = 1\n[[nodes]]\nname = \"b\"\ncores = 2\n");
        apply_override(&mut t, "nodes.b.cores=32").unwrap();
        assert_eq!(t["nodes"][1]["cores"].as_integer(), Some(32));
        apply_override(&mut t, "nodes.0.cores=7").unwrap();
        assert_eq!(t["nodes"][0]["cores"].as_integer(), Some(7));
    }

    #[test]
    fn override_creates_missing_tables_and_parses_values() {
        let mut t = table("");
        apply_override(&mut t, "simulation.seed=9").unwrap();
        apply_override(&mut t, "policy.name=threshold").unwrap();
        apply_override(&mut t, "x.d={ kind = \"exponential\", mean = 2 }").unwrap();
        assert_eq!(t["simulation"]["seed"].as_integer(), Some(9));
        assert_eq!(t["policy"]["name"].as_str(), Some("threshold"));
        assert_eq!(t["x"]["d"]["mean"].as_integer(), Some(2));
    }

    #[test]
    fn override_errors_say_what_is_wrong() {
        let mut t = table("[[nodes]]\nname = \"a\"\n");
        let e = apply_override(&mut t, "nodes.zz.cores=1").unwrap_err().to_string();
        assert!(e.contains("no entry named `zz`; expected one of: a"), "{e}");
        let e = apply_override(&mut t, "nodes.a.cores").unwrap_err().to_string();
        assert!(e.contains("path.to.field=value"), "{e}");
        let e = apply_override(&mut t, "nodes..x=1").unwrap_err().to_string();
        assert!(e.contains("empty segment"), "{e}");
    }
}
