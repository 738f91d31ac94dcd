//! The Docker Engine's own answers, independent of the code under test:
//! plain HTTP/1.0 requests with unversioned paths (any engine version
//! accepts them), at `DOCKER_HOST` (unix or plain tcp) or the local socket,
//! or at another engine's address.

use offsim::live::engine::docker::{Engine, EngineAddress};
use std::io::{Read, Write};

/// The engine, or `None` (the test is then skipped, saying so on stderr)
/// when none is reachable, unless `OFFSIM_REQUIRE_DOCKER` is set: then a
/// missing engine fails the test.
pub fn engine_or_skip(test: &str) -> Option<Engine> {
    match Engine::connect(&EngineAddress::default()) {
        Ok(engine) => Some(engine),
        Err(e) if std::env::var_os("OFFSIM_REQUIRE_DOCKER").is_some() => {
            panic!("{test}: OFFSIM_REQUIRE_DOCKER is set, but: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED {test}: no Docker Engine ({e})");
            None
        }
    }
}

/// The engine's address: `DOCKER_HOST`, or the local socket.
pub fn local() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

/// A byte stream to the engine, whatever the transport.
trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// Sends `method path` to the engine at `DOCKER_HOST` or the local socket
/// and returns the status code and the body.
pub fn request(method: &str, path: &str) -> (u16, String) {
    request_at(&local(), method, path)
}

/// Sends `method path` to the engine at `host` (`unix://PATH` or plain
/// `tcp://HOST:PORT`) and returns the status code and the body.
pub fn request_at(host: &str, method: &str, path: &str) -> (u16, String) {
    let request = format!("{method} {path} HTTP/1.0\r\nHost: docker\r\nContent-Length: 0\r\n\r\n");
    let exchange = |mut stream: Box<dyn ReadWrite>| {
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    };
    let response = match host.strip_prefix("unix://") {
        Some(path) => exchange(Box::new(std::os::unix::net::UnixStream::connect(path).unwrap())),
        None => exchange(Box::new(std::net::TcpStream::connect(host.trim_start_matches("tcp://")).unwrap())),
    };
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, body.to_string())
}

/// The objects of `kind` (`containers`, all states, or `networks`) carrying
/// `label` (`key=value`), as the engine at `DOCKER_HOST` or the local socket
/// lists them.
pub fn listed(kind: &str, label: &str) -> Vec<serde_json::Value> {
    listed_at(&local(), kind, label)
}

/// The objects of `kind` carrying `label`, as the engine at `host` lists them.
pub fn listed_at(host: &str, kind: &str, label: &str) -> Vec<serde_json::Value> {
    let filters = format!(r#"{{"label":["{label}"]}}"#);
    let encoded: String = filters
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect();
    let path = match kind {
        "containers" => format!("/containers/json?all=1&filters={encoded}"),
        "networks" => format!("/networks?filters={encoded}"),
        _ => unreachable!("{kind}"),
    };
    let (status, body) = request_at(host, "GET", &path);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}
