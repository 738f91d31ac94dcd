//! Per-request protocol overhead of offloading: connection set-up round trips
//! before the upload and header bytes added to every message.
//!
//! | preset | set-up round trips | header bytes | meaning                                   |
//! |--------|--------------------|--------------|-------------------------------------------|
//! | `mqtt` | 0                  | 20           | persistent connection, small fixed header |
//! | `http` | 2                  | 400          | TCP + TLS 1.3 handshake per request       |
//! | `raw`  | 0                  | 0            | no overhead (analytical checks)           |

use crate::scenario::{ProtocolKind, ProtocolSpec};

/// Resolved protocol costs.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Protocol {
    /// Round trips of the device-node path spent before the upload starts.
    pub setup_rtts: f64,
    /// Bytes added to each upload and each result.
    pub header_bytes: u64,
}

impl Protocol {
    /// The preset's values with the spec's overrides applied.
    pub fn from_spec(spec: &ProtocolSpec) -> Self {
        let (rtts, header) = match spec.kind {
            ProtocolKind::Mqtt => (0.0, 20),
            ProtocolKind::Http => (2.0, 400),
            ProtocolKind::Raw => (0.0, 0),
        };
        Protocol { setup_rtts: spec.setup_rtts.unwrap_or(rtts), header_bytes: spec.header_bytes.unwrap_or(header) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_preset_values() {
        let spec = ProtocolSpec { kind: ProtocolKind::Http, setup_rtts: Some(3.0), header_bytes: None };
        assert_eq!(Protocol::from_spec(&spec), Protocol { setup_rtts: 3.0, header_bytes: 400 });
        assert_eq!(Protocol::from_spec(&ProtocolSpec::default()), Protocol { setup_rtts: 0.0, header_bytes: 20 });
    }
}
