//! The Docker Engines a scenario names, as a live run uses them: the
//! default engine (`live.engine`, or the local one) and each of
//! `[[live.hosts]]`; which of them runs each node and device class; and how
//! this process and the containers on each reach one another.
//!
//! The default engine is on this machine: this process reaches its workers
//! at their addresses on the run's network. A host's workers publish their
//! ports, which this process reaches at the host's address.

use crate::live::engine::docker::{EngineAddress, TlsFiles};
use crate::scenario::LiveSpec;
use std::net::IpAddr;

/// One engine of a live run.
#[derive(Clone, Debug)]
pub struct Host {
    /// The host's name; `None` for the default engine.
    pub name: Option<String>,
    /// The scenario table describing it, for messages: `live.engine` or
    /// `live.hosts[<name>]`.
    pub field: String,
    /// Where its engine listens, and the TLS files to reach it.
    pub address: EngineAddress,
    /// Scenario speed one of its cores stands for.
    pub core_ghz: f64,
    /// The field that sets [`Host::core_ghz`].
    pub core_ghz_field: String,
    /// Host name or IP address where its workers' published ports are
    /// reached; `None`: the workers are reached on the run's network.
    pub published_at: Option<String>,
    /// Where its containers reach this process; `None`: the gateway of the
    /// run's network on this engine.
    pub controller: Option<IpAddr>,
}

impl Host {
    /// How messages name it: `the default engine` or "host `NAME`".
    pub fn label(&self) -> String {
        match &self.name {
            None => "the default engine".into(),
            Some(name) => format!("host `{name}`"),
        }
    }
}

/// The default engine, then every `[[live.hosts]]` in order (an entity's
/// host is an index into this list).
pub fn hosts(live: &LiveSpec) -> Vec<Host> {
    // One listening address is where every engine's containers reach this
    // process; `0.0.0.0` (every interface) is reached at each network's gateway.
    let listen = live.listen_address.as_deref().and_then(|a| a.parse::<IpAddr>().ok()).filter(|a| !a.is_unspecified());
    let tls = |ca: &Option<String>, cert: &Option<String>, key: &Option<String>| match (ca, cert, key) {
        (Some(ca), Some(cert), Some(key)) => Some(TlsFiles { ca: ca.into(), cert: cert.into(), key: key.into() }),
        _ => None,
    };
    let default = Host {
        name: None,
        field: "live.engine".into(),
        address: match &live.engine {
            None => EngineAddress { url: None, tls: None },
            Some(e) => EngineAddress { url: Some(e.url.clone()), tls: tls(&e.tls_ca, &e.tls_cert, &e.tls_key) },
        },
        core_ghz: live.host_core_ghz,
        core_ghz_field: "live.host_core_ghz".into(),
        published_at: None,
        controller: listen,
    };
    let others = live.hosts.iter().map(|h| {
        let field = format!("live.hosts[{}]", h.name);
        Host {
            name: Some(h.name.clone()),
            address: EngineAddress { url: Some(h.url.clone()), tls: tls(&h.tls_ca, &h.tls_cert, &h.tls_key) },
            core_ghz: h.host_core_ghz.unwrap_or(live.host_core_ghz),
            core_ghz_field: match h.host_core_ghz {
                Some(_) => format!("{field}.host_core_ghz"),
                None => "live.host_core_ghz".into(),
            },
            published_at: h.published_address(),
            controller: h.controller_address.as_deref().and_then(|a| a.parse().ok()).or(listen),
            field,
        }
    });
    std::iter::once(default).chain(others).collect()
}

/// The host (an index into [`hosts`]) that runs the node or device class
/// `name`: the `[[live.hosts]]` entry placing it, else the default engine.
pub fn host_of(live: &LiveSpec, name: &str) -> usize {
    live.hosts.iter().position(|h| h.place.iter().any(|p| p == name)).map_or(0, |h| h + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(text: &str) -> LiveSpec {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn without_hosts_everything_runs_on_the_default_engine() {
        let l = live("host_core_ghz = 3");
        let all = hosts(&l);
        assert_eq!(all.len(), 1);
        let h = &all[0];
        assert_eq!((h.name.as_deref(), h.address.url.as_deref(), h.core_ghz), (None, None, 3.0));
        assert_eq!((h.published_at.as_deref(), h.controller), (None, None));
        assert_eq!(h.label(), "the default engine");
        assert_eq!(host_of(&l, "edge"), 0);
    }

    #[test]
    fn hosts_take_what_they_place_with_their_own_figures() {
        let l = live(
            r#"host_core_ghz = 3
            engine = { url = "unix:///run/a.sock" }
            [[hosts]]
            name = "far"
            url = "tcp://10.0.0.5:2376"
            tls_ca = "ca.pem"
            tls_cert = "cert.pem"
            tls_key = "key.pem"
            host_core_ghz = 4
            controller_address = "10.0.0.1"
            place = ["edge", "camera"]
            [[hosts]]
            name = "near"
            url = "unix:///run/b.sock"
            place = ["cloud"]
            "#,
        );
        let all = hosts(&l);
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].address.url.as_deref(), Some("unix:///run/a.sock"));
        let far = &all[1];
        assert_eq!((far.field.as_str(), far.label()), ("live.hosts[far]", "host `far`".to_string()));
        assert_eq!(far.address.tls.as_ref().map(|t| t.key.clone()), Some("key.pem".into()));
        assert_eq!((far.core_ghz, far.core_ghz_field.as_str()), (4.0, "live.hosts[far].host_core_ghz"));
        assert_eq!((far.published_at.as_deref(), far.controller), (Some("10.0.0.5"), "10.0.0.1".parse().ok()));
        let near = &all[2];
        assert_eq!((near.core_ghz, near.core_ghz_field.as_str()), (3.0, "live.host_core_ghz"));
        assert_eq!((near.published_at.as_deref(), near.controller), (Some("127.0.0.1"), None));
        assert!(near.address.tls.is_none());
        let placed: Vec<usize> = ["edge", "camera", "cloud", "sensor"].iter().map(|n| host_of(&l, n)).collect();
        assert_eq!(placed, [1, 1, 2, 0]);
    }

    #[test]
    fn one_listening_address_is_where_every_engine_reaches_this_process() {
        let text = r#"host_core_ghz = 3
            listen_address = "LISTEN"
            [[hosts]]
            name = "a"
            url = "tcp://[fd00::5]:2376"
            place = ["edge"]
            [[hosts]]
            name = "b"
            url = "tcp://b.example:2376"
            address = "192.0.2.7"
            controller_address = "192.0.2.1"
            place = ["cloud"]
            "#;
        let specific = hosts(&live(&text.replace("LISTEN", "192.0.2.2")));
        let controllers: Vec<Option<IpAddr>> = specific.iter().map(|h| h.controller).collect();
        let ip = |a: &str| a.parse::<IpAddr>().ok();
        assert_eq!(controllers, [ip("192.0.2.2"), ip("192.0.2.2"), ip("192.0.2.1")]);
        assert_eq!(specific[1].published_at.as_deref(), Some("fd00::5"));
        assert_eq!(specific[2].published_at.as_deref(), Some("192.0.2.7"));
        let any = hosts(&live(&text.replace("LISTEN", "0.0.0.0")));
        let controllers: Vec<Option<IpAddr>> = any.iter().map(|h| h.controller).collect();
        assert_eq!(controllers, [None, None, ip("192.0.2.1")], "every interface: each network's gateway");
    }
}
