//! The Docker Engines one live run uses: connected, each holding the worker
//! image, each sized against its own host; and removing what offsim left on
//! every engine of a scenario.

use crate::error::{Error, Result};
use crate::live::engine::docker::Engine;
use crate::live::engine::hosts::{Host, hosts};
use crate::live::engine::image::WorkerImage;
use crate::live::engine::sizing::{self, Entity};
use crate::scenario::{LiveSpec, Scenario};
use std::sync::Arc;

/// One engine in use.
#[derive(Clone)]
pub struct Site {
    /// Its host's index in [`hosts`] (what [`Entity::host`] refers to).
    pub index: usize,
    /// The host, as the scenario describes it.
    pub host: Host,
    /// The connection to the host's engine.
    pub engine: Arc<Engine>,
}

/// The engines a scenario's devices and nodes run on, each holding the
/// worker image.
pub struct Engines {
    sites: Vec<Site>,
    image: String,
}

impl Engines {
    /// Connects to every engine that runs one of `spec`'s devices or nodes,
    /// then makes sure each holds `image` (building it where it is missing):
    /// an engine that cannot be reached fails the run before any build.
    pub fn connect(spec: &Scenario, live: &LiveSpec, image: &WorkerImage) -> Result<Engines> {
        let mut sites = Vec::new();
        for (index, host) in used_hosts(spec, live) {
            let engine = Arc::new(connect(&host).map_err(|e| on_host(&host, e))?);
            sites.push(Site { index, host, engine });
        }
        for site in &sites {
            site.engine.ensure_image(&image.tag, &image.context).map_err(|e| on_host(&site.host, e))?;
        }
        Ok(Engines { sites, image: image.tag.clone() })
    }

    /// The worker image's reference (the same on every engine).
    pub fn image(&self) -> &str {
        &self.image
    }

    /// Every engine in use, each with its host.
    pub fn sites(&self) -> &[Site] {
        &self.sites
    }

    /// The position in [`Engines::sites`] of host `index`'s engine (see
    /// [`Entity::host`]).
    pub fn position(&self, index: usize) -> Result<usize> {
        self.sites.iter().position(|s| s.index == index).ok_or_else(|| {
            Error::Live(format!(
                "no engine is connected for host {index}: the engines were connected for a scenario with other \
                 [[live.hosts]]"
            ))
        })
    }

    /// Checks that every engine's host can hold the entities placed on it.
    pub fn check_fits(&self, entities: &[Entity], live: &LiveSpec) -> Result<()> {
        for e in entities {
            self.position(e.host)?;
        }
        for site in &self.sites {
            let info = site.engine.host_info().map_err(|e| on_host(&site.host, e))?;
            let placed: Vec<Entity> = entities.iter().filter(|e| e.host == site.index).cloned().collect();
            sizing::check_fits(&placed, live, &site.host, info.ncpu, info.mem_total)?;
        }
        Ok(())
    }

    /// The engines, for messages and manifests: the default engine's
    /// description, and each host's as `<name>: <description>`.
    pub fn describe(&self) -> String {
        let each = self.sites.iter().map(|s| match &s.host.name {
            None => s.engine.describe(),
            Some(name) => format!("{name}: {}", s.engine.describe()),
        });
        each.collect::<Vec<_>>().join("; ")
    }

    /// Removes the worker image's reference from every engine, trying them
    /// all before reporting a failure.
    pub fn remove_image(&self) -> Result<()> {
        let failures: Vec<String> = (self.sites.iter())
            .filter_map(|s| s.engine.remove_image(&self.image).err().map(|e| message(&s.host, e)))
            .collect();
        if failures.is_empty() { Ok(()) } else { Err(Error::Live(failures.join("; "))) }
    }
}

/// The hosts (with their index in [`hosts`]) that run a device or node of
/// `spec`, in order.
pub fn used_hosts(spec: &Scenario, live: &LiveSpec) -> Vec<(usize, Host)> {
    let mut used: Vec<usize> = sizing::entities(spec, live).iter().map(|e| e.host).collect();
    used.sort_unstable();
    used.dedup();
    let all = hosts(live);
    used.into_iter().map(|i| (i, all[i].clone())).collect()
}

/// Removes from each of `hosts`' engines what offsim left there: with
/// `run`, the containers and network of that run, whatever its state;
/// without, the containers and networks of every run no longer alive and
/// the worker images no live run uses (see [`Engine::cleanup`]). Reports
/// each engine's tally through `done`; tries every engine before reporting
/// a failure.
pub fn cleanup(hosts: &[Host], run: Option<&str>, mut done: impl FnMut(String)) -> Result<()> {
    let mut failures = Vec::new();
    let remove = |engine: &Engine| match run {
        Some(id) => engine.remove_run(id),
        None => engine.cleanup(true),
    };
    for host in hosts {
        match connect(host).and_then(|engine| Ok((remove(&engine)?, engine.describe()))) {
            Ok((removed, engine)) => {
                let prefix = host.name.as_ref().map_or(String::new(), |name| format!("{name}: "));
                done(format!("{prefix}{engine}: removed {removed}"));
            }
            Err(e) => failures.push(message(host, e)),
        }
    }
    if failures.is_empty() { Ok(()) } else { Err(Error::Live(failures.join("; "))) }
}

/// Connects to `host`'s engine; an unreadable TLS file is named by its
/// scenario field.
fn connect(host: &Host) -> Result<Engine> {
    if let Some(tls) = &host.address.tls {
        for (field, path) in [("tls_ca", &tls.ca), ("tls_cert", &tls.cert), ("tls_key", &tls.key)] {
            std::fs::File::open(path).map_err(|e| {
                Error::Live(format!("{}.{field}: cannot read the TLS file {} ({e})", host.field, path.display()))
            })?;
        }
    }
    Engine::connect(&host.address)
}

/// What `e` says, naming the host it happened on, to be joined with others.
fn message(host: &Host, e: Error) -> String {
    match on_host(host, e) {
        Error::Live(m) => m,
        other => other.to_string(),
    }
}

/// `e`, saying which host it happened on (the default engine's errors stay
/// as they are).
fn on_host(host: &Host, e: Error) -> Error {
    match (&host.name, e) {
        (Some(name), Error::Live(m)) => Error::Live(format!("host `{name}`: {m}")),
        (_, e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::LoadedScenario;
    use crate::scenario::testing::ONE_DEVICE;

    /// Device class `d` and node `edge`, with `place` as host `far`'s list.
    fn used(place: &str) -> Vec<(usize, Option<String>)> {
        let text = format!(
            "policy = {{ name = \"local\" }}\nworkload = {{ max_tasks = 1 }}\n[live]\nhost_core_ghz = 3\n\
             [[live.hosts]]\nname = \"far\"\nurl = \"tcp://far:2376\"\nplace = {place}\n{ONE_DEVICE}\n\
             [[nodes]]\nname = \"edge\"\ntier = \"edge\"\ncores = 1\nspeed_ghz = 1\n\
             up = {{ bandwidth_mbps = 10 }}\ndown = {{ bandwidth_mbps = 10 }}\npower = {{ idle_w = 1, busy_w = 2 }}\n"
        );
        let spec = LoadedScenario::from_toml(&text, "t", "t", ".".as_ref(), &[]).unwrap().spec;
        used_hosts(&spec, spec.live.as_ref().unwrap()).into_iter().map(|(i, h)| (i, h.name)).collect()
    }

    #[test]
    fn only_engines_with_something_to_run_are_used() {
        assert_eq!(used(r#"["edge"]"#), [(0, None), (1, Some("far".to_string()))]);
        assert_eq!(used(r#"["edge", "d"]"#), [(1, Some("far".to_string()))], "the default engine runs nothing");
    }
}
