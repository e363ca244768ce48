//! The stored form of a cache entry: one JSON header line, then the payload bytes.
//!
//! The header says what the entry is (format version, key, service, operation, creation and
//! expiry times, encryption, the generation of each invalidation tag it was read against,
//! payload length and checksum), so every backend can check expiry, currency and integrity
//! before using it and tools can list entries without decoding them. It is data only:
//! reading an entry never executes anything.
//!
//! The checksum catches accidental damage: truncation, flipped bits, a half-copied file. It
//! is not a defence against someone who can write the cache; that is the job of the
//! authenticated encryption, whose MAC covers header and payload. Format 3 checksums eight
//! bytes a step (`mix64`, a hit of a 5 MB answer checks in well under a millisecond); the
//! byte-at-a-time FNV-1a of format 2 is still read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The envelope format this build writes (1: tags without generations, read as a miss; 2:
/// FNV-1a checksums, still read).
pub const FORMAT_VERSION: u32 = 3;

/// The formats this build reads.
const READABLE_VERSIONS: [u32; 2] = [2, 3];

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
    /// Checksum of the payload (`mix64:<hex>`, or `fnv1a64:<hex>` in format 2), checked on
    /// every read.
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

    /// The header line (JSON and a newline) of a plaintext entry whose payload is `parts`
    /// one after another (version, length and checksum set): stored, it is followed by
    /// the parts as they are, never joined into one buffer.
    pub fn header_line(mut header: Header, parts: &[&[u8]]) -> Vec<u8> {
        header.v = FORMAT_VERSION;
        header.len = parts.iter().map(|p| p.len() as u64).sum();
        header.checksum = format!("mix64:{:016x}", mix64_parts(parts));
        let mut line = serde_json::to_vec(&header).unwrap_or_default();
        line.push(b'\n');
        line
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
        Envelope::decode_owned(bytes.to_vec())
    }

    /// Like [`Envelope::decode`], reusing the stored bytes' buffer for the payload (an
    /// answer of many megabytes is not copied).
    pub fn decode_owned(bytes: Vec<u8>) -> Result<Envelope, DecodeError> {
        let (header, mut payload, start) = Envelope::decode_in_place(bytes)?;
        payload.drain(..start);
        Ok(Envelope { header, payload })
    }

    /// Like [`Envelope::decode_owned`], leaving the header line in the buffer: the header,
    /// the buffer, and where the (checked) payload starts in it. Nothing is moved.
    pub fn decode_in_place<B: std::ops::Deref<Target = [u8]>>(
        bytes: B,
    ) -> Result<(Header, B, usize), DecodeError> {
        let header = Envelope::decode_header(&bytes)?;
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
        if !checksum_matches(payload, &header.checksum) {
            return Err(DecodeError::Checksum);
        }
        Ok((header, bytes, start))
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
        if !READABLE_VERSIONS.contains(&version.v) {
            return Err(DecodeError::Version(version.v));
        }
        serde_json::from_slice(line).map_err(|e| DecodeError::BadHeader(e.to_string()))
    }
}

/// The checksum this build writes: [`mix64`] as `mix64:<16 hex digits>`.
fn checksum(payload: &[u8]) -> String {
    format!("mix64:{:016x}", mix64(payload))
}

/// Whether `payload` matches a stored checksum of either algorithm.
fn checksum_matches(payload: &[u8], stored: &str) -> bool {
    let (algorithm, hex) = stored.split_once(':').unwrap_or(("", ""));
    let hash = match algorithm {
        "mix64" => mix64(payload),
        "fnv1a64" => fnv1a64(payload),
        _ => return false,
    };
    hex == format!("{hash:016x}")
}

/// A 64-bit checksum taking eight bytes a step. Every step is a bijection of the running
/// state for a given word and of the word for a given state (xor, multiplication by an odd
/// constant, an xor-shift), so any one damaged word, and any change of length, changes the
/// result; the xor-shift carries high bits down, so a damaged bit is not cancelled by
/// another one in the next word. The final mix spreads every bit over the whole output.
fn mix64(payload: &[u8]) -> u64 {
    mix64_parts(&[payload])
}

/// [`mix64`] of the concatenation of `parts`, without joining them.
fn mix64_parts(parts: &[&[u8]]) -> u64 {
    const MUL: u64 = 0xff51_afd7_ed55_8ccd;
    let step = |h: u64, word: [u8; 8]| {
        let h = (h ^ u64::from_le_bytes(word)).wrapping_mul(MUL);
        h ^ (h >> 29)
    };
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut h = 0x9e37_79b9_7f4a_7c15 ^ len as u64;
    // Bytes of a word that a part ended in the middle of.
    let mut last = [0u8; 8];
    let mut filled = 0;
    for part in parts {
        let mut rest = *part;
        if filled > 0 {
            let take = rest.len().min(8 - filled);
            last[filled..filled + take].copy_from_slice(&rest[..take]);
            filled += take;
            rest = &rest[take..];
            if filled < 8 {
                continue;
            }
            h = step(h, last);
        }
        let mut words = rest.chunks_exact(8);
        for chunk in &mut words {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            h = step(h, word);
        }
        filled = words.remainder().len();
        last[..filled].copy_from_slice(words.remainder());
    }
    last[filled..].fill(0);
    h = step(h, last);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// FNV-1a (64 bits), the checksum of format 2.
fn fnv1a64(payload: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    payload
        .iter()
        .fold(OFFSET, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
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
    fn format_2_checksums_are_fnv1a() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
        assert!(checksum_matches(b"foobar", "fnv1a64:85944171f73967e8"));
        assert!(!checksum_matches(b"foobaR", "fnv1a64:85944171f73967e8"));
        assert!(!checksum_matches(b"foobar", "crc32:85944171"));
    }

    #[test]
    fn a_format_2_entry_is_still_read() {
        let mut e = sample();
        e.header.v = 2;
        e.header.checksum = format!("fnv1a64:{:016x}", fnv1a64(&e.payload));
        let mut bytes = serde_json::to_vec(&e.header).unwrap();
        bytes.push(b'\n');
        bytes.extend_from_slice(&e.payload);
        assert_eq!(Envelope::decode(&bytes).unwrap(), e);
    }

    #[test]
    fn parts_are_stored_as_if_joined() {
        let joined: Vec<u8> = (0u8..=200).collect();
        for cuts in [
            vec![],
            vec![0],
            vec![3],
            vec![8],
            vec![1, 2, 3],
            vec![7, 9, 16, 17, 200],
        ] {
            let mut parts: Vec<&[u8]> = Vec::new();
            let mut from = 0;
            for &cut in &cuts {
                parts.push(&joined[from..cut]);
                from = cut;
            }
            parts.push(&joined[from..]);
            assert_eq!(mix64_parts(&parts), mix64(&joined), "{cuts:?}");
            let header = sample().header;
            let mut stored = Envelope::header_line(header.clone(), &parts);
            stored.extend_from_slice(&joined);
            assert_eq!(stored, Envelope::seal(header, joined.clone()).encode());
        }
    }

    #[test]
    fn mix64_sees_every_single_bit_and_every_length() {
        let base: Vec<u8> = (0..67u8).collect();
        let mut seen = std::collections::HashSet::new();
        assert!(seen.insert(mix64(&base)));
        for i in 0..base.len() {
            for bit in 0..8 {
                let mut flipped = base.clone();
                flipped[i] ^= 1 << bit;
                assert!(seen.insert(mix64(&flipped)), "byte {i} bit {bit}");
            }
        }
        for len in 0..base.len() {
            assert!(seen.insert(mix64(&base[..len])), "length {len}");
        }
        assert!(
            seen.insert(mix64(&[0u8; 3])),
            "zero bytes of another length"
        );
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
