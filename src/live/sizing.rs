//! Maps the scenario's devices and nodes onto host resources: each entity
//! becomes one container with `cores * speed / host_core_ghz` host cores,
//! and a scenario that does not fit the host is refused with the figures
//! that would make it fit.

use crate::error::{Error, Result};
use crate::live::protocol::Role;
use crate::scenario::{LiveSpec, Scenario};

/// One container of a live run.
#[derive(Clone, Debug, PartialEq)]
pub struct Entity {
    /// `<class>-<index>` for devices, the node name for nodes.
    pub name: String,
    pub role: Role,
    /// Dense device index, or node index.
    pub index: u32,
    pub cores: u32,
    pub speed_hz: f64,
    /// Host cores reserved (the container's CPU quota).
    pub host_cpus: f64,
}

/// Every device, then every node, of `spec`.
pub fn entities(spec: &Scenario, live: &LiveSpec) -> Vec<Entity> {
    let host_hz = live.host_core_ghz * 1e9;
    let mut out = Vec::new();
    let mut index = 0u32;
    for class in &spec.devices {
        for i in 0..class.count {
            let speed_hz = class.speed_ghz * 1e9;
            out.push(Entity {
                name: format!("{}-{i}", class.name),
                role: Role::Device,
                index,
                cores: class.cores,
                speed_hz,
                host_cpus: f64::from(class.cores) * speed_hz / host_hz,
            });
            index += 1;
        }
    }
    for (n, node) in spec.nodes.iter().enumerate() {
        let speed_hz = node.speed_ghz * 1e9;
        out.push(Entity {
            name: node.name.clone(),
            role: Role::Node,
            index: n as u32,
            cores: node.cores,
            speed_hz,
            host_cpus: f64::from(node.cores) * speed_hz / host_hz,
        });
    }
    out
}

/// Checks that `entities` fit a host of `host_cpus` cores and
/// `host_memory` bytes.
pub fn check_fits(entities: &[Entity], live: &LiveSpec, host_cpus: u32, host_memory: u64) -> Result<()> {
    let fastest = entities.iter().map(|e| e.speed_hz).fold(0.0, f64::max);
    if fastest > live.host_core_ghz * 1e9 {
        let e = entities.iter().find(|e| e.speed_hz == fastest).expect("the fastest exists");
        return Err(Error::Live(format!(
            "`{}` runs at {} GHz per core but one host core stands for live.host_core_ghz = {} GHz; \
             set live.host_core_ghz to at least {}",
            e.name,
            fastest / 1e9,
            live.host_core_ghz,
            fastest / 1e9
        )));
    }
    let reserved: f64 = entities.iter().map(|e| e.host_cpus).sum();
    let usable = f64::from(host_cpus) * live.usable_cpu_fraction;
    if reserved > usable {
        let needed = live.host_core_ghz * reserved / usable;
        return Err(Error::Live(format!(
            "the scenario needs {reserved:.2} host cores ({} containers) but this host offers {usable:.2} \
             ({host_cpus} cores x live.usable_cpu_fraction {}); scale the workload down with \
             live.host_core_ghz >= {needed:.3} (every time in the results stays the same; each container \
             gets a smaller share of a core), or use fewer devices",
            entities.len(),
            live.usable_cpu_fraction
        )));
    }
    let memory = (live.container_memory_mb * 1e6) as u64 * entities.len() as u64;
    if memory > host_memory / 2 {
        return Err(Error::Live(format!(
            "{} containers of live.container_memory_mb = {} need {} MB, more than half of this host's {} MB",
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
        let text = format!(
            "policy = {{ name = \"local\" }}\nworkload = {{ max_tasks = 1 }}\n[live]\nhost_core_ghz = {host_core_ghz}\n{ONE_DEVICE}\n\
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
        assert!(check_fits(&e, s.live.as_ref().unwrap(), 2, 8 << 30).is_ok());
    }

    #[test]
    fn too_much_is_refused_with_the_factor_that_fits() {
        let s = spec(2.0);
        let live = s.live.as_ref().unwrap();
        let e = entities(&s, live);
        // 0.5 + 2.0 host cores > 2 x 0.75.
        let Err(Error::Live(m)) = check_fits(&e, live, 2, 8 << 30) else { panic!("accepted") };
        assert!(m.contains("2.50 host cores") && m.contains("live.host_core_ghz >= 3.333"), "{m}");
        let faster = spec(1.5);
        let live = faster.live.as_ref().unwrap();
        let Err(Error::Live(m)) = check_fits(&entities(&faster, live), live, 2, 8 << 30) else { panic!("accepted") };
        assert!(m.contains("`edge` runs at 2 GHz"), "{m}");
    }
}
