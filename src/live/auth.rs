//! Who may talk to a live run: every control and data connection opens with
//! a mutual challenge-response on the run's secret, before anything else is
//! read or allocated.
//!
//! Each run draws a fresh [`Secret`] of [`SECRET_LEN`] bytes from the
//! operating system; the controller gives it to every worker in its
//! configuration and keeps it for its link proxies and image source. Then,
//! on every connection:
//!
//! 1. server → client: a fresh 32-byte nonce `ns`;
//! 2. client → server: `HMAC-SHA256(secret, "offsim client" ‖ channel ‖ ns)`,
//!    then a fresh 32-byte nonce `nc`;
//! 3. the server checks the code (in constant time) and closes the
//!    connection if it is wrong; otherwise server → client:
//!    `HMAC-SHA256(secret, "offsim server" ‖ channel ‖ nc ‖ ns)`;
//! 4. the client checks it likewise.
//!
//! Every message has a fixed size and each side waits at most
//! [`HANDSHAKE_TIMEOUT`] for it, so a peer without the secret is dropped
//! within that time, having made the other side allocate nothing. The
//! channel byte ([`Channel`]) keeps a code made for one kind of connection
//! from opening another. The exchange authenticates; it does not encrypt
//! what follows.

use hmac::{Hmac, KeyInit, Mac};
use rand::TryRng;
use rand::rngs::SysRng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Sha256;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Length of a run's secret, in bytes.
pub const SECRET_LEN: usize = 32;
/// Length of a nonce and of an authentication code, in bytes.
const CODE_LEN: usize = 32;
/// How long either side waits for each message of the exchange.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);

type HmacSha256 = Hmac<Sha256>;

/// A run's shared secret. Printed as `Secret(..)`; serialised as hex for
/// the worker's configuration.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret([u8; SECRET_LEN]);

impl Secret {
    /// A fresh secret from the operating system's random source.
    pub fn generate() -> io::Result<Secret> {
        let mut bytes = [0u8; SECRET_LEN];
        SysRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| io::Error::other(format!("no random bytes from the operating system: {e}")))?;
        Ok(Secret(bytes))
    }

    /// A secret with the given bytes.
    pub fn from_bytes(bytes: [u8; SECRET_LEN]) -> Secret {
        Secret(bytes)
    }

    /// The code for `parts`, in order.
    fn code(&self, parts: &[&[u8]]) -> HmacSha256 {
        // HMAC takes a key of any length, so this cannot fail.
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key length");
        for p in parts {
            mac.update(p);
        }
        mac
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let hex: String = self.0.iter().map(|b| format!("{b:02x}")).collect();
        s.serialize_str(&hex)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        let hex = String::deserialize(d)?;
        let wrong = || serde::de::Error::custom(format!("expected a secret of {} hex digits", SECRET_LEN * 2));
        if hex.len() != SECRET_LEN * 2 || !hex.is_ascii() {
            return Err(wrong());
        }
        let mut bytes = [0u8; SECRET_LEN];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| wrong())?;
        }
        Ok(Secret(bytes))
    }
}

/// What a connection is for; part of every code, so that a code made for
/// one kind of connection opens no other.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Channel {
    /// Controller → worker control port.
    Control = 1,
    /// Link proxy → its route's target (a node's data port, the image source).
    Data = 2,
    /// Device or node → link proxy.
    Link = 3,
}

/// Server side of the exchange on `s`: succeeds only if the client proved
/// it holds `secret` (for `channel`); the timeouts in place before are
/// restored afterwards.
pub fn accept(s: &TcpStream, secret: &Secret, channel: Channel) -> io::Result<()> {
    bounded(s, |s| serve(s, secret, channel))
}

/// Client side of the exchange on `s`: succeeds only if the server proved
/// it holds `secret` (for `channel`); the timeouts in place before are
/// restored afterwards.
pub fn connect(s: &TcpStream, secret: &Secret, channel: Channel) -> io::Result<()> {
    bounded(s, |s| answer(s, secret, channel))
}

/// Runs `exchange` on `s` with [`HANDSHAKE_TIMEOUT`] on reads and writes.
fn bounded(s: &TcpStream, exchange: impl FnOnce(&mut &TcpStream) -> io::Result<()>) -> io::Result<()> {
    let (read, write) = (s.read_timeout()?, s.write_timeout()?);
    s.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
    s.set_write_timeout(Some(HANDSHAKE_TIMEOUT))?;
    let mut stream = s;
    exchange(&mut stream).map_err(|e| match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => io::Error::new(
            io::ErrorKind::TimedOut,
            format!("authentication: no answer within {} s", HANDSHAKE_TIMEOUT.as_secs()),
        ),
        _ => e,
    })?;
    s.set_read_timeout(read)?;
    s.set_write_timeout(write)
}

fn nonce() -> io::Result<[u8; CODE_LEN]> {
    let mut n = [0u8; CODE_LEN];
    SysRng.try_fill_bytes(&mut n).map_err(|e| io::Error::other(format!("no random bytes for a nonce: {e}")))?;
    Ok(n)
}

fn refused(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, format!("authentication failed: {what}"))
}

fn serve(s: &mut impl ReadWrite, secret: &Secret, channel: Channel) -> io::Result<()> {
    let ns = nonce()?;
    s.write_all(&ns)?;
    let mut reply = [0u8; 2 * CODE_LEN];
    s.read_exact(&mut reply)?;
    let (code, nc) = reply.split_at(CODE_LEN);
    secret
        .code(&[b"offsim client", &[channel as u8], &ns])
        .verify_slice(code)
        .map_err(|_| refused("the client does not hold the run's secret"))?;
    let proof = secret.code(&[b"offsim server", &[channel as u8], nc, &ns]).finalize().into_bytes();
    s.write_all(&proof)
}

fn answer(s: &mut impl ReadWrite, secret: &Secret, channel: Channel) -> io::Result<()> {
    let mut ns = [0u8; CODE_LEN];
    s.read_exact(&mut ns)?;
    let nc = nonce()?;
    let code = secret.code(&[b"offsim client", &[channel as u8], &ns]).finalize().into_bytes();
    let mut reply = [0u8; 2 * CODE_LEN];
    reply[..CODE_LEN].copy_from_slice(&code);
    reply[CODE_LEN..].copy_from_slice(&nc);
    s.write_all(&reply)?;
    let mut proof = [0u8; CODE_LEN];
    s.read_exact(&mut proof)?;
    secret
        .code(&[b"offsim server", &[channel as u8], &nc, &ns])
        .verify_slice(&proof)
        .map_err(|_| refused("the server does not hold the run's secret"))
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::thread;
    use std::time::Instant;

    /// Runs `server` on an accepted loopback connection and `client` on the
    /// connecting end; returns both outcomes.
    fn pair(
        server: impl FnOnce(&TcpStream) -> io::Result<()> + Send + 'static,
        client: impl FnOnce(&TcpStream) -> io::Result<()>,
    ) -> (io::Result<()>, io::Result<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let served = thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            server(&s)
        });
        let c = TcpStream::connect(addr).unwrap();
        let client = client(&c);
        drop(c);
        (served.join().unwrap(), client)
    }

    #[test]
    fn the_same_secret_and_purpose_pass_both_ways() {
        let secret = Secret::generate().unwrap();
        let theirs = secret.clone();
        let (s, c) = pair(move |s| accept(s, &theirs, Channel::Data), |c| connect(c, &secret, Channel::Data));
        assert!(s.is_ok() && c.is_ok(), "{s:?} {c:?}");
    }

    #[test]
    fn another_secret_or_purpose_is_refused() {
        let secret = Secret::from_bytes([7; SECRET_LEN]);
        let theirs = secret.clone();
        let (s, c) = pair(move |s| accept(s, &theirs, Channel::Control), |c| connect(c, &secret, Channel::Data));
        assert_eq!(s.unwrap_err().kind(), io::ErrorKind::PermissionDenied);
        assert!(c.is_err());
        let (s, _) = pair(
            |s| accept(s, &Secret::from_bytes([1; SECRET_LEN]), Channel::Link),
            |c| connect(c, &Secret::from_bytes([2; SECRET_LEN]), Channel::Link),
        );
        assert!(s.unwrap_err().to_string().contains("does not hold the run's secret"));
    }

    #[test]
    fn a_silent_client_is_dropped_within_the_timeout() {
        let started = Instant::now();
        let (s, _) = pair(
            |s| accept(s, &Secret::from_bytes([1; SECRET_LEN]), Channel::Data),
            |_| {
                thread::sleep(HANDSHAKE_TIMEOUT + Duration::from_millis(500));
                Ok(())
            },
        );
        let e = s.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
        assert!(started.elapsed() < HANDSHAKE_TIMEOUT * 2);
    }

    #[test]
    fn secrets_are_hex_in_json_and_hidden_in_debug() {
        let secret = Secret::from_bytes([0xab; SECRET_LEN]);
        let json = serde_json::to_string(&secret).unwrap();
        assert_eq!(json, format!("\"{}\"", "ab".repeat(SECRET_LEN)));
        assert_eq!(serde_json::from_str::<Secret>(&json).unwrap(), secret);
        assert!(serde_json::from_str::<Secret>("\"abc\"").unwrap_err().to_string().contains("64 hex digits"));
        assert!(serde_json::from_str::<Secret>(&format!("\"{}\"", "zz".repeat(32))).is_err());
        assert_eq!(format!("{secret:?}"), "Secret(..)");
        assert_ne!(Secret::generate().unwrap(), Secret::generate().unwrap());
    }
}
