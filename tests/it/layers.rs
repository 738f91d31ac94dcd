//! The layers of `docs/architecture.md`, checked from the source: every
//! module of `src/` uses only modules below it in [`ORDER`] (its own
//! submodules aside), so the dependency order stays acyclic and the map in
//! the docs stays true. A module is a top-level folder or file of `src/`,
//! or a room of `src/live/` (`live::run`, `live::engine`, ...). Unit tests
//! (`#[cfg(test)] mod tests`) and comments are not counted.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Lowest first: each module may use only the modules before it.
const ORDER: &[&str] = &[
    "engine",
    "error",
    "interrupt",
    "stats",
    "dist",
    "scenario",
    "energy",
    "network",
    "policy",
    "model",
    "workload",
    "metrics",
    "dispatch",
    "sim",
    "live::auth",
    "live::protocol",
    "live::link",
    "live::worker",
    "live::engine",
    "results",
    "run",
    "live::run",
    "sweep",
    "plot",
    "tables",
    "plan",
    "check",
    "live::fidelity",
    "cli",
];

/// Modules that only declare others (the crate root, `live/mod.rs`) or
/// start the program.
const ROOTS: &[&str] = &["lib", "main", "live"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module `path` (relative to `src/`) belongs to.
fn module_of(rel: &str) -> String {
    let parts: Vec<&str> = rel.trim_end_matches(".rs").split('/').collect();
    match parts.as_slice() {
        ["live", room, ..] if *room != "mod" => format!("live::{room}"),
        [first, ..] => first.to_string(),
        [] => unreachable!("a file has a name"),
    }
}

/// The source without its unit tests and comments.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// The modules `code` names through `crate::` or `offsim::` paths.
fn uses(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for prefix in ["crate::", "offsim::"] {
        for (i, _) in code.match_indices(prefix) {
            let rest = &code[i + prefix.len()..];
            let ident = |s: &str| s.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect::<String>();
            let first = ident(rest);
            if first == "live" {
                let room = rest.strip_prefix("live::").map(ident).unwrap_or_default();
                found.insert(if room.is_empty() { first } else { format!("live::{room}") });
            } else if !first.is_empty() {
                found.insert(first);
            }
        }
    }
    found
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let rank = |m: &str| ORDER.iter().position(|o| *o == m);
    let mut wrong = Vec::new();
    let mut seen = BTreeSet::new();
    for path in &files {
        let rel = path.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
        let module = module_of(&rel);
        seen.insert(module.clone());
        if ROOTS.contains(&module.as_str()) {
            continue;
        }
        let Some(own) = rank(&module) else {
            wrong.push(format!("{rel}: module `{module}` is not in the layer order"));
            continue;
        };
        for used in uses(&code(&fs::read_to_string(path).unwrap())) {
            if used == module {
                continue;
            }
            match rank(&used) {
                Some(r) if r < own => {}
                _ => wrong.push(format!("{rel}: `{module}` uses `{used}`, which is not below it")),
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken (see docs/architecture.md):\n{}", wrong.join("\n"));
    for m in ORDER {
        assert!(seen.contains(*m), "`{m}` is in the layer order but not in src/");
    }
}

#[test]
fn the_checker_sees_a_use_from_above() {
    // The checks above must be able to fail: a lower module naming a
    // higher one is found, with live rooms told apart.
    let found = uses(&code("use crate::sim::Simulation;\nfn f() { crate::live::run::x(); }\n// crate::plot\n"));
    assert_eq!(found, BTreeSet::from(["sim".to_string(), "live::run".to_string()]));
    assert_eq!(module_of("live/run/view.rs"), "live::run");
    assert_eq!(module_of("live/mod.rs"), "live");
    assert_eq!(module_of("sim/lifecycle.rs"), "sim");
}
