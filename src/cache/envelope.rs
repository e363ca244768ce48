//! The stored form of a cache entry: one JSON header line, then the payload bytes.
//!
//! The header says what the entry is (format version, key, service, operation, creation and
//! expiry times, encryption, the generation of each invalidation tag it was read against,
//! payload length and checksum), so every backend can check expiry, currency and integrity
//! before using it and tools can list entries without decoding them. It is data only:
//! reading an entry never executes anything.
//!
//! The checksum (FNV-1a, 64 bits) catches accidental damage: truncation, flipped bits, a
//! half-copied file. It is not a defence against someone who can write the cache; that is
//! the job of the authenticated encryption, whose MAC covers header and payload.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The envelope format this build writes and reads (1: tags without generations, read as a
/// miss).
pub const FORMAT_VERSION: u32 = 2;

/// The largest header accepted (a guard against reading garbage as a header).
pub(crate) const MAX_HEADER: usize = 64 * 1024;

/// How an entry's payload is sealed (the header's `encryption` member).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Scheme {
    /// Plaintext (`none`).
    None,
    /// Authenticated encryption under the cache's keys ([`SCHEME`](super::crypto::SCHEME)).
    Sealed,
    /// A hybrid cache's local copy of a shared entry (`hybrid-copy`): the payload is the
    /// shared entry's bytes.
    HybridCopy,
    /// A scheme this build does not know (an entry from a newer awsideman): never readable.
    Other(String),
}

impl Scheme {
    /// The name stored in the header.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Scheme::None => "none",
            Scheme::Sealed => super::crypto::SCHEME,
            Scheme::HybridCopy => "hybrid-copy",
            Scheme::Other(name) => name,
        }
    }
}

impl From<String> for Scheme {
    fn from(name: String) -> Scheme {
        [Scheme::None, Scheme::Sealed, Scheme::HybridCopy]
            .into_iter()
            .find(|s| s.as_str() == name)
            .unwrap_or(Scheme::Other(name))
    }
}

impl From<Scheme> for String {
    fn from(scheme: Scheme) -> String {
        scheme.as_str().to_string()
    }
}

impl std::fmt::Display for Scheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The header line of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Envelope format version.
    pub v: u32,
    /// The cache key (hex).
    pub key: String,
    /// The service (`identitystore`).
    pub service: String,
    /// The operation (`ListUsers`).
    pub operation: String,
    /// The awsideman profile the entry was cached for.
    #[serde(default)]
    pub profile: String,
    /// When it was written (Unix seconds).
    pub created_at: u64,
    /// When it stops being valid (Unix seconds).
    pub expires_at: u64,
    /// How the payload is sealed.
    pub encryption: Scheme,
    /// The id of the key that encrypted the payload, if encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// The invalidation tags the entry depends on, each with the generation it was read
    /// against (see `generation.rs`): the entry is current while all of them are.
    #[serde(default)]
    pub gens: BTreeMap<String, String>,
    /// Length of the payload in bytes.
    pub len: u64,
    /// Checksum of the payload (`fnv1a64:<hex>`), checked on every read.
    pub checksum: String,
}

impl Header {
    /// The invalidation tags the entry depends on.
    pub(crate) fn tags(&self) -> Vec<String> {
        self.gens.keys().cloned().collect()
    }
}

/// A decoded entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The header.
    pub header: Header,
    /// The payload, still encrypted if the header says so.
    pub payload: Vec<u8>,
}

/// Why stored bytes are not a usable entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// No header line, or it is not the expected JSON.
    BadHeader(String),
    /// A format version this build does not read (an older build's entry: a miss, not
    /// damage).
    Version(u32),
    /// The payload is shorter or longer than the header says.
    Length {
        /// The length the header declares.
        expected: u64,
        /// The length found.
        found: u64,
    },
    /// The payload does not match its checksum.
    Checksum,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::BadHeader(why) => write!(f, "unreadable header: {why}"),
            DecodeError::Version(v) => write!(f, "unknown format version {v}"),
            DecodeError::Length { expected, found } => {
                write!(f, "truncated: {found} of {expected} payload bytes")
            }
            DecodeError::Checksum => f.write_str("payload does not match its checksum"),
        }
    }
}

impl Envelope {
    /// A new envelope around `payload`, computing its length and checksum.
    pub fn seal(mut header: Header, payload: Vec<u8>) -> Envelope {
        header.v = FORMAT_VERSION;
        header.len = payload.len() as u64;
        header.checksum = checksum(&payload);
        Envelope { header, payload }
    }

    /// The stored bytes: header JSON, a newline, the payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec(&self.header).unwrap_or_default();
        out.push(b'\n');
        out.extend_from_slice(&self.payload);
        out
    }

    /// Reads stored bytes, checking version, length and checksum.
    pub fn decode(bytes: &[u8]) -> Result<Envelope, DecodeError> {
        let header = Envelope::decode_header(bytes)?;
        let start = bytes
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| i + 1);
        let payload = &bytes[start..];
        if payload.len() as u64 != header.len {
            return Err(DecodeError::Length {
                expected: header.len,
                found: payload.len() as u64,
            });
        }
        if checksum(payload) != header.checksum {
            return Err(DecodeError::Checksum);
        }
        Ok(Envelope {
            header,
            payload: payload.to_vec(),
        })
    }

    /// Reads only the header (for listings), checking its version.
    pub fn decode_header(bytes: &[u8]) -> Result<Header, DecodeError> {
        let end = bytes
            .iter()
            .take(MAX_HEADER)
            .position(|&b| b == b'\n')
            .ok_or_else(|| DecodeError::BadHeader("no header line".into()))?;
        // The version first: an older build's header may have other fields.
        #[derive(Deserialize)]
        struct Version {
            v: u32,
        }
        let line = &bytes[..end];
        let version: Version =
            serde_json::from_slice(line).map_err(|e| DecodeError::BadHeader(e.to_string()))?;
        if version.v != FORMAT_VERSION {
            return Err(DecodeError::Version(version.v));
        }
        serde_json::from_slice(line).map_err(|e| DecodeError::BadHeader(e.to_string()))
    }
}

/// FNV-1a over the payload, as `fnv1a64:<16 hex digits>`.
fn checksum(payload: &[u8]) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = payload
        .iter()
        .fold(OFFSET, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME));
    format!("fnv1a64:{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Envelope {
        Envelope::seal(
            Header {
                v: 0,
                key: "k".repeat(64),
                service: "identitystore".into(),
                operation: "ListUsers".into(),
                profile: "prod".into(),
                created_at: 100,
                expires_at: 200,
                encryption: Scheme::None,
                key_id: None,
                gens: BTreeMap::from([("users:d-1".into(), "0123456789abcdef".into())]),
                len: 0,
                checksum: String::new(),
            },
            br#"{"value":{"Users":[]}}"#.to_vec(),
        )
    }

    #[test]
    fn checksum_is_fnv1a() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(checksum(b""), "fnv1a64:cbf29ce484222325");
        assert_eq!(checksum(b"a"), "fnv1a64:af63dc4c8601ec8c");
        assert_eq!(checksum(b"foobar"), "fnv1a64:85944171f73967e8");
    }

    #[test]
    fn round_trip() {
        let e = sample();
        assert_eq!(Envelope::decode(&e.encode()).unwrap(), e);
        assert_eq!(Envelope::decode_header(&e.encode()).unwrap(), e.header);
    }

    #[test]
    fn every_truncation_is_detected() {
        let bytes = sample().encode();
        for cut in 0..bytes.len() {
            assert!(Envelope::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn every_payload_byte_flip_is_detected() {
        let bytes = sample().encode();
        let start = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
        for i in start..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            assert_eq!(
                Envelope::decode(&bad),
                Err(DecodeError::Checksum),
                "byte {i}"
            );
        }
    }

    #[test]
    fn other_versions_and_garbage_are_refused() {
        let mut e = sample();
        e.header.v = 99;
        let mut bytes = serde_json::to_vec(&e.header).unwrap();
        bytes.push(b'\n');
        bytes.extend_from_slice(&e.payload);
        assert_eq!(Envelope::decode(&bytes), Err(DecodeError::Version(99)));
        assert!(matches!(
            Envelope::decode(b"\x80\x04pickle"),
            Err(DecodeError::BadHeader(_))
        ));
        assert!(matches!(
            Envelope::decode(b""),
            Err(DecodeError::BadHeader(_))
        ));
    }
}
