//! Master keys and the keyset: every key still needed to read the cache, and the one new
//! entries are written with.
//!
//! Key bytes live only in zeroed-on-drop buffers. Nothing here ever prints, formats or puts
//! key material in an error: `Debug` shows key ids, errors name ids and lengths, never bytes,
//! base64 text or the parts of a keyset text that failed to parse.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Deserializer};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Bytes in a master key (AES-256).
pub(crate) const KEY_LEN: usize = 32;

/// Hex digits in a key id.
pub(crate) const KEY_ID_LEN: usize = 16;

/// The version written in, and required of, keyset texts.
const TEXT_VERSION: u32 = 1;

/// Domain separation of key ids: an id is a hash of this and the key.
const KEY_ID_DOMAIN: &[u8] = b"awsideman-cache-key-id\0";

/// One 32-byte master key. Its bytes are zeroed when it is dropped; `Debug` shows its id only.
#[derive(Clone)]
pub struct MasterKey {
    bytes: Zeroizing<[u8; KEY_LEN]>,
    id: String,
}

impl MasterKey {
    /// A new random key from the operating system's generator.
    pub(crate) fn generate() -> Result<MasterKey> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::getrandom(bytes.as_mut())
            .map_err(|e| Error::runtime(format!("generating a cache key: {e}")))?;
        Ok(MasterKey::from_array(bytes))
    }

    /// The key made of exactly 32 `bytes`.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<MasterKey> {
        let array: [u8; KEY_LEN] = bytes.try_into().map_err(|_| {
            Error::runtime(format!(
                "a cache key must be {KEY_LEN} bytes, found {}",
                bytes.len()
            ))
        })?;
        Ok(MasterKey::from_array(Zeroizing::new(array)))
    }

    /// The key whose standard base64 encoding (with padding) is `text`, surrounding
    /// whitespace ignored.
    pub(crate) fn from_base64(text: &str) -> Result<MasterKey> {
        // Decoded straight into a zeroed-on-drop buffer, big enough for any 32-byte encoding;
        // a longer text does not fit and is reported as the wrong length.
        let mut buffer = Zeroizing::new([0u8; 48]);
        let len = BASE64
            .decode_slice(text.trim().as_bytes(), buffer.as_mut())
            .map_err(|e| match e {
                base64::DecodeSliceError::OutputSliceTooSmall => Error::runtime(format!(
                    "the key does not decode to {KEY_LEN} bytes (it is too long)"
                )),
                // The decoder's message names the offending character: not repeated here.
                base64::DecodeSliceError::DecodeError(_) => {
                    Error::runtime("the key is not valid base64")
                }
            })?;
        MasterKey::from_bytes(&buffer[..len])
    }

    fn from_array(bytes: Zeroizing<[u8; KEY_LEN]>) -> MasterKey {
        let mut hasher = Sha256::new();
        hasher.update(KEY_ID_DOMAIN);
        hasher.update(bytes.as_ref());
        let id = hex::encode(hasher.finalize())[..KEY_ID_LEN].to_string();
        MasterKey { bytes, id }
    }

    /// The key's id: the first 16 hex digits of SHA-256("awsideman-cache-key-id\0" || key).
    /// Stable, and reveals nothing usable about the key.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key bytes, for deriving the cipher and MAC keys. Never print or log them.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }

    /// The key as standard base64, in a zeroed-on-drop string (for storage and export).
    pub(crate) fn to_base64(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::with_capacity(48));
        BASE64.encode_string(self.bytes.as_ref(), &mut text);
        text
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey").field("id", &self.id).finish()
    }
}

/// Whether `id` looks like a key id (16 lower-case hex digits).
pub(crate) fn is_key_id(id: &str) -> bool {
    id.len() == KEY_ID_LEN && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The master keys of a cache: one active key that new entries use, and older keys kept
/// only to read entries not yet re-encrypted (during a rotation). A key is never overwritten:
/// rotation adds a key ([`Keyset::add_active`]) and, once nothing uses the old ones, retires
/// them ([`Keyset::retire_inactive`]).
#[derive(Clone)]
pub struct Keyset {
    active: MasterKey,
    older: BTreeMap<String, MasterKey>,
}

impl Keyset {
    #[cfg(test)]
    /// A keyset of one new random key.
    pub(crate) fn generate() -> Result<Keyset> {
        Ok(Keyset::single(MasterKey::generate()?))
    }

    /// A keyset of `key` alone, active.
    pub(crate) fn single(key: MasterKey) -> Keyset {
        Keyset {
            active: key,
            older: BTreeMap::new(),
        }
    }

    /// A keyset of `active` and the `older` keys still needed for reading (an older key with
    /// the active key's id is the active key itself, and is skipped).
    pub(crate) fn with_older(
        active: MasterKey,
        older: impl IntoIterator<Item = MasterKey>,
    ) -> Keyset {
        let older = older
            .into_iter()
            .filter(|k| k.id() != active.id())
            .map(|k| (k.id().to_string(), k))
            .collect();
        Keyset { active, older }
    }

    /// The key new entries are written with.
    pub fn active(&self) -> &MasterKey {
        &self.active
    }

    /// The key with id `id`, active or older.
    pub fn get(&self, id: &str) -> Option<&MasterKey> {
        if self.active.id() == id {
            Some(&self.active)
        } else {
            self.older.get(id)
        }
    }

    /// Every key id, sorted.
    pub(crate) fn ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.keys().map(MasterKey::id).collect();
        ids.sort_unstable();
        ids
    }

    /// Every key, the active one first, then the older ones by id.
    pub fn keys(&self) -> impl Iterator<Item = &MasterKey> + '_ {
        std::iter::once(&self.active).chain(self.older.values())
    }

    /// How many keys the set holds (at least one).
    pub fn len(&self) -> usize {
        1 + self.older.len()
    }

    /// Whether it holds no key (never true for a loaded keyset).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rotation, first step: `key` becomes the active key; the previous keys stay, for
    /// reading. Adding the active key again changes nothing; adding an older key makes it
    /// active again.
    pub(crate) fn add_active(&mut self, key: MasterKey) {
        if key.id() == self.active.id() {
            return;
        }
        self.older.remove(key.id());
        let previous = std::mem::replace(&mut self.active, key);
        self.older.insert(previous.id().to_string(), previous);
    }

    #[cfg(test)]
    /// Rotation, last step: drops every key but the active one (their bytes are zeroed) and
    /// returns the ids of the keys dropped. Call it only once no entry uses them.
    pub(crate) fn retire_inactive(&mut self) -> Vec<String> {
        let retired = std::mem::take(&mut self.older);
        retired.into_keys().collect()
    }

    /// Drops the older keys of `ids` (never the active one) and returns the ids dropped.
    pub(crate) fn retire(&mut self, ids: &[String]) -> Vec<String> {
        ids.iter()
            .filter(|id| self.older.remove(id.as_str()).is_some())
            .cloned()
            .collect()
    }

    /// Whether a rotation is under way: more than one key.
    pub fn is_rotating(&self) -> bool {
        !self.older.is_empty()
    }

    /// The keyset as text, for a key store or `export-key`:
    /// `{"version":1,"active":"<id>","keys":{"<id>":"<base64 key>",...}}`, in a
    /// zeroed-on-drop string.
    pub(crate) fn to_text(&self) -> Zeroizing<String> {
        // Ids are hex and keys base64: nothing to escape. The capacity is reserved up front
        // so the string never reallocates and leaves no unzeroed copy behind.
        let per_key = KEY_ID_LEN + 48 + 8;
        let mut text = Zeroizing::new(String::with_capacity(64 + per_key * self.len()));
        text.push_str("{\"version\":");
        text.push_str(&TEXT_VERSION.to_string());
        text.push_str(",\"active\":\"");
        text.push_str(self.active.id());
        text.push_str("\",\"keys\":{");
        let mut keys: Vec<&MasterKey> = self.keys().collect();
        keys.sort_unstable_by(|a, b| a.id().cmp(b.id()));
        for (i, key) in keys.into_iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push('"');
            text.push_str(key.id());
            text.push_str("\":\"");
            BASE64.encode_string(key.as_bytes(), &mut text);
            text.push('"');
        }
        text.push_str("}}");
        text
    }

    /// Reads a keyset text written by [`Keyset::to_text`], or a bare base64 32-byte key (a
    /// keyset of that key alone). Every id must match its key and the active key must be
    /// present. Errors never quote the text.
    pub fn from_text(text: &str) -> Result<Keyset> {
        let text = text.trim();
        if !text.starts_with('{') {
            return MasterKey::from_base64(text).map(Keyset::single);
        }
        let parsed: KeysetText = serde_json::from_str(text).map_err(|e| {
            // serde_json's messages can quote the offending value: only its position is kept.
            let what = match e.classify() {
                serde_json::error::Category::Syntax => "not valid JSON",
                serde_json::error::Category::Eof => "truncated",
                serde_json::error::Category::Data => "not a keyset (unexpected members or types)",
                serde_json::error::Category::Io => "unreadable",
            };
            Error::runtime(format!(
                "the keyset text is {what} (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        if parsed.version != TEXT_VERSION {
            return Err(Error::runtime(format!(
                "the keyset text has version {}, this awsideman reads version {TEXT_VERSION}",
                parsed.version
            )));
        }
        if !is_key_id(&parsed.active) {
            return Err(Error::runtime(
                "the keyset's active key id is not 16 lower-case hex digits",
            ));
        }
        let mut keys = BTreeMap::new();
        for (id, secret) in &parsed.keys {
            if !is_key_id(id) {
                return Err(Error::runtime(
                    "a key id in the keyset is not 16 lower-case hex digits",
                ));
            }
            let key = MasterKey::from_base64(&secret.0)
                .map_err(|e| e.context(format_args!("key {id}")))?;
            if key.id() != id {
                return Err(Error::runtime(format!(
                    "key {id} does not match its id (the keyset was edited or damaged)"
                )));
            }
            keys.insert(id.clone(), key);
        }
        let active = keys.remove(&parsed.active).ok_or_else(|| {
            Error::runtime(format!(
                "the active key {} is not in the keyset",
                parsed.active
            ))
        })?;
        Ok(Keyset {
            active,
            older: keys,
        })
    }
}

impl fmt::Debug for Keyset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyset")
            .field("active", &self.active.id())
            .field("ids", &self.ids())
            .finish()
    }
}

/// The stored form of a keyset.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysetText {
    version: u32,
    active: String,
    keys: BTreeMap<String, SecretText>,
}

/// Secret text read from JSON, zeroed when dropped.
struct SecretText(Zeroizing<String>);

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(deserializer).map(|s| SecretText(Zeroizing::new(s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::keys::test_support::assert_no_secret;

    fn key(fill: u8) -> MasterKey {
        MasterKey::from_bytes(&[fill; KEY_LEN]).unwrap()
    }

    #[test]
    fn ids_are_stable_hex_and_differ() {
        let a = key(1);
        assert_eq!(a.id(), key(1).id());
        assert_ne!(a.id(), key(2).id());
        assert!(is_key_id(a.id()));
        // SHA-256("awsideman-cache-key-id\0" || 32 zero bytes), first 16 hex digits.
        let mut hasher = Sha256::new();
        hasher.update(b"awsideman-cache-key-id\0");
        hasher.update([0u8; 32]);
        assert_eq!(key(0).id(), &hex::encode(hasher.finalize())[..16]);
    }

    #[test]
    fn generated_keys_differ() {
        let a = MasterKey::generate().unwrap();
        let b = MasterKey::generate().unwrap();
        assert_ne!(a.as_bytes(), b.as_bytes());
        assert_ne!(a.id(), b.id());
    }

    #[test]
    fn from_bytes_needs_32_bytes() {
        assert!(MasterKey::from_bytes(&[0; 31]).is_err());
        assert!(MasterKey::from_bytes(&[0; 33]).is_err());
        assert!(MasterKey::from_bytes(&[]).is_err());
        assert!(MasterKey::from_bytes(&[0; 32]).is_ok());
    }

    #[test]
    fn debug_shows_ids_only() {
        let k = key(0xab);
        let shown = format!("{k:?}");
        assert!(shown.contains(k.id()));
        assert!(!shown.contains("171, 171"), "no byte values: {shown}");
        assert!(!shown.contains(k.to_base64().as_str()));
        let mut set = Keyset::single(k.clone());
        set.add_active(key(7));
        let shown = format!("{set:?}");
        assert!(shown.contains(k.id()) && shown.contains(key(7).id()));
        assert!(!shown.contains("171, 171") && !shown.contains(k.to_base64().as_str()));
    }

    #[test]
    fn text_round_trip() {
        let mut set = Keyset::single(key(1));
        set.add_active(key(2));
        set.add_active(MasterKey::generate().unwrap());
        let text = set.to_text();
        let back = Keyset::from_text(&text).unwrap();
        assert_eq!(back.active().id(), set.active().id());
        assert_eq!(back.ids(), set.ids());
        for k in set.keys() {
            assert_eq!(back.get(k.id()).unwrap().as_bytes(), k.as_bytes());
        }
        assert_eq!(*back.to_text(), *text);
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["version"], 1);
        assert_eq!(json["active"], set.active().id());
        assert_eq!(json["keys"].as_object().unwrap().len(), 3);
    }

    #[test]
    fn bare_base64_key_is_a_single_key_keyset() {
        let k = key(9);
        let set = Keyset::from_text(&format!("  {}\n", k.to_base64().as_str())).unwrap();
        assert_eq!(set.len(), 1);
        assert_eq!(set.active().id(), k.id());
        assert_eq!(set.active().as_bytes(), k.as_bytes());
    }

    #[test]
    fn bad_texts_are_refused_without_quoting_secrets() {
        let good = key(5);
        let b64 = good.to_base64().to_string();
        let short = BASE64.encode([5u8; 31]);
        let long = BASE64.encode([5u8; 40]);
        let huge = BASE64.encode([5u8; 100]);
        let wrong_id = "0123456789abcdef";
        let cases: Vec<(String, &str)> = vec![
            (short.clone(), "32 bytes"),
            (long.clone(), "32 bytes, found 40"),
            (huge.clone(), "too long"),
            (format!("{}!!", &b64[..40]), "not valid base64"),
            ("".to_string(), "32 bytes, found 0"),
            (
                format!(r#"{{"version":1,"active":"{wrong_id}","keys":{{"{wrong_id}":"{b64}"}}}}"#),
                "does not match",
            ),
            (
                format!(
                    r#"{{"version":1,"active":"{wrong_id}","keys":{{"{}":"{b64}"}}}}"#,
                    good.id()
                ),
                "not in the keyset",
            ),
            (
                format!(
                    r#"{{"version":1,"active":"{0}","keys":{{"{0}":"{short}"}}}}"#,
                    good.id()
                ),
                "32 bytes",
            ),
            (
                format!(
                    r#"{{"version":2,"active":"{0}","keys":{{"{0}":"{b64}"}}}}"#,
                    good.id()
                ),
                "version 2",
            ),
            (
                format!(r#"{{"version":1,"active":"{b64}","keys":{{"{b64}":"{b64}"}}}}"#),
                "16 lower-case hex",
            ),
            (format!(r#"{{"version":1,"active":"{b64}""#), "truncated"),
            (
                format!(r#"{{"version":1,"active":{b64}}}"#),
                "not valid JSON",
            ),
            (
                format!(r#"{{"version":1,"active":"x","keys":{{"a":1}},"key":"{b64}"}}"#),
                "not a keyset",
            ),
            (
                format!(r#"{{"version":1,"active":["{b64}"]}}"#),
                "not a keyset",
            ),
        ];
        for (text, expected) in cases {
            let message = Keyset::from_text(&text).unwrap_err().to_string();
            assert!(message.contains(expected), "{message:?} lacks {expected:?}");
            for secret in [&b64, &short, &long, &huge] {
                assert_no_secret(&message, secret);
            }
        }
    }

    #[test]
    fn rotation_adds_then_retires() {
        let mut set = Keyset::single(key(1));
        assert!(!set.is_rotating());
        set.add_active(key(2));
        assert!(set.is_rotating());
        assert_eq!(set.len(), 2);
        assert_eq!(set.active().id(), key(2).id());
        assert!(set.get(key(1).id()).is_some(), "old key kept for reading");
        set.add_active(key(2));
        assert_eq!(set.len(), 2, "re-adding the active key changes nothing");
        set.add_active(key(1));
        assert_eq!(
            set.active().id(),
            key(1).id(),
            "an older key can be re-activated"
        );
        assert_eq!(set.len(), 2);
        set.add_active(key(3));
        let mut retired = set.retire_inactive();
        retired.sort();
        let mut expected = vec![key(1).id().to_string(), key(2).id().to_string()];
        expected.sort();
        assert_eq!(retired, expected);
        assert_eq!(set.len(), 1);
        assert!(!set.is_rotating());
        assert_eq!(set.active().id(), key(3).id());
        assert!(set.get(key(1).id()).is_none());
        assert_eq!(set.ids(), vec![key(3).id()]);
    }
}
