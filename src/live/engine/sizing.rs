//! Maps the scenario's devices and nodes onto host resources: each entity
//! becomes one container, on the engine its host says, with
//! `cores * speed / host_core_ghz` host cores (the host's own
//! `host_core_ghz`), and a scenario that does not fit a host is refused with
//! the figures that would make it fit.

use crate::error::{Error, Result};
use crate::live::engine::hosts::{Host, host_of, hosts};
use crate::live::protocol::Role;
use crate::scenario::{LiveSpec, Scenario};

/// One container of a live run.
#[derive(Clone, Debug, PartialEq)]
pub struct Entity {
    /// `<class>-<index>` for devices, the node name for nodes.
    pub name: String,
    /// Whether the container is a device or a node.
    pub role: Role,
    /// Dense device index, or node index.
    pub index: u32,
    /// Cores of the entity in the scenario.
    pub cores: u32,
    /// Scenario speed of each core, in cycles per second.
    pub speed_hz: f64,
    /// The engine it runs on (an index into [`hosts`]).
    pub host: usize,
    /// Scenario speed one core of its host stands for, in Hz.
    pub host_core_hz: f64,
    /// Host cores reserved (the container's CPU quota).
    pub host_cpus: f64,
}

/// Every device, then every node, of `spec`, each on its host.
pub fn entities(spec: &Scenario, live: &LiveSpec) -> Vec<Entity> {
    let hosts = hosts(live);
    // (name, role, cores, speed, the name its host places), numbered per role.
    let devices = (spec.devices.iter())
        .flat_map(|c| {
            (0..c.count).map(move |i| (format!("{}-{i}", c.name), Role::Device, c.cores, c.speed_ghz, &c.name))
        })
        .enumerate();
    let nodes = spec.nodes.iter().map(|n| (n.name.clone(), Role::Node, n.cores, n.speed_ghz, &n.name)).enumerate();
    devices
        .chain(nodes)
        .map(|(index, (name, role, cores, speed_ghz, placed_as))| {
            let host = host_of(live, placed_as);
            let host_core_hz = hosts[host].core_ghz * 1e9;
            let speed_hz = speed_ghz * 1e9;
            Entity {
                name,
                role,
                index: index as u32,
                cores,
                speed_hz,
                host,
                host_core_hz,
                host_cpus: f64::from(cores) * speed_hz / host_core_hz,
            }
        })
        .collect()
}

/// Checks that `entities` (those of `host`) fit its `host_cpus` cores and
/// `host_memory` bytes.
pub fn check_fits(entities: &[Entity], live: &LiveSpec, host: &Host, host_cpus: u32, host_memory: u64) -> Result<()> {
    let (core_ghz, field) = (host.core_ghz, &host.core_ghz_field);
    // The default engine is "this host"; others are named.
    let on = host.name.as_ref().map_or(String::new(), |n| format!("on host `{n}`, "));
    let offers = host.name.as_ref().map_or("this host".to_string(), |n| format!("host `{n}`"));
    let fastest = entities.iter().map(|e| e.speed_hz).fold(0.0, f64::max);
    if let Some(e) = entities.iter().find(|e| e.speed_hz == fastest && fastest > core_ghz * 1e9) {
        return Err(Error::Live(format!(
            "{on}`{}` runs at {} GHz per core but one host core stands for {field} = {core_ghz} GHz; \
             set {field} to at least {}",
            e.name,
            fastest / 1e9,
            fastest / 1e9
        )));
    }
    let reserved: f64 = entities.iter().map(|e| e.host_cpus).sum();
    let usable = f64::from(host_cpus) * live.usable_cpu_fraction;
    if reserved > usable {
        let needed = core_ghz * reserved / usable;
        return Err(Error::Live(format!(
            "{on}the scenario needs {reserved:.2} host cores ({} containers) but {offers} offers {usable:.2} \
             ({host_cpus} cores x live.usable_cpu_fraction {}); scale the workload down with \
             {field} >= {needed:.3} (every time in the results stays the same; each container \
             gets a smaller share of a core), or use fewer devices",
            entities.len(),
            live.usable_cpu_fraction
        )));
    }
    let memory = (live.container_memory_mb * 1e6) as u64 * entities.len() as u64;
    if memory > host_memory / 2 {
        return Err(Error::Live(format!(
            "{on}{} containers of live.container_memory_mb = {} need {} MB, more than half of {offers}'s {} MB",
            entities.len(),
            live.container_memory_mb,
            memory / 1_000_000,
            host_memory / 1_000_000
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::LoadedScenario;
    use crate::scenario::testing::ONE_DEVICE;

    fn spec(host_core_ghz: f64) -> Scenario {
        spec_with(host_core_ghz, "")
    }

    /// With `hosts` (`[[live.hosts]]` entries) after the `[live]` table.
    fn spec_with(host_core_ghz: f64, hosts: &str) -> Scenario {
        let text = format!(
            "policy = {{ name = \"local\" }}\nworkload = {{ max_tasks = 1 }}\n[live]\nhost_core_ghz = {host_core_ghz}\n{hosts}\n{ONE_DEVICE}\n\
             [[nodes]]\nname = \"edge\"\ntier = \"edge\"\ncores = 2\nspeed_ghz = 2\n\
             up = {{ bandwidth_mbps = 10 }}\ndown = {{ bandwidth_mbps = 10 }}\npower = {{ idle_w = 1, busy_w = 2 }}\n"
        );
        LoadedScenario::from_toml(&text, "t", "t", ".".as_ref(), &[]).unwrap().spec
    }

    #[test]
    fn reservations_follow_cores_times_speed_over_the_host_core() {
        let s = spec(4.0);
        let e = entities(&s, s.live.as_ref().unwrap());
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].name.as_str(), e[0].role, e[0].host_cpus), ("d-0", Role::Device, 0.25));
        assert_eq!((e[1].name.as_str(), e[1].role, e[1].host_cpus), ("edge", Role::Node, 1.0));
        assert!(e.iter().all(|e| e.host == 0 && e.host_core_hz == 4e9), "{e:?}");
        let live = s.live.as_ref().unwrap();
        assert!(check_fits(&e, live, &hosts(live)[0], 2, 8 << 30).is_ok());
    }

    #[test]
    fn a_host_sizes_what_it_runs_with_its_own_core() {
        let s = spec_with(
            4.0,
            "[[live.hosts]]\nname = \"far\"\nurl = \"tcp://far:2376\"\nhost_core_ghz = 2\nplace = [\"edge\"]",
        );
        let live = s.live.as_ref().unwrap();
        let e = entities(&s, live);
        assert_eq!((e[0].host, e[0].host_core_hz, e[0].host_cpus), (0, 4e9, 0.25));
        assert_eq!((e[1].host, e[1].host_core_hz, e[1].host_cpus), (1, 2e9, 2.0));
        let far = &hosts(live)[1];
        let Err(Error::Live(m)) = check_fits(&e[1..], live, far, 2, 8 << 30) else { panic!("accepted") };
        assert!(m.starts_with("on host `far`, the scenario needs 2.00 host cores"), "{m}");
        assert!(
            m.contains("but host `far` offers 1.50") && m.contains("live.hosts[far].host_core_ghz >= 2.667"),
            "{m}"
        );
        assert!(check_fits(&e[1..], live, far, 4, 8 << 30).is_ok());
    }

    #[test]
    fn too_much_is_refused_with_the_factor_that_fits() {
        let s = spec(2.0);
        let live = s.live.as_ref().unwrap();
        let e = entities(&s, live);
        // 0.5 + 2.0 host cores > 2 x 0.75.
        let Err(Error::Live(m)) = check_fits(&e, live, &hosts(live)[0], 2, 8 << 30) else { panic!("accepted") };
        assert!(m.contains("2.50 host cores") && m.contains("live.host_core_ghz >= 3.333"), "{m}");
        let faster = spec(1.5);
        let live = faster.live.as_ref().unwrap();
        let default = &hosts(live)[0];
        let Err(Error::Live(m)) = check_fits(&entities(&faster, live), live, default, 2, 8 << 30) else {
            panic!("accepted")
        };
        assert!(m.contains("`edge` runs at 2 GHz"), "{m}");
    }
}
