//! `CacheManager`: encodes answers into envelopes, checks expiry and integrity on every read,
//! and keeps the failure policy: a cache that fails never fails the command. Any problem is
//! a miss (a corrupt entry is also removed and counted), reported once per process.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::backend::{CacheBackend, Invalidation};
use super::crypto::{Cipher, SCHEME};
use super::envelope::{Envelope, FORMAT_VERSION, Header};
use super::file::{FileBackend, create_private_dir, now_nanos, now_secs, private_options};
use super::key::{CacheKey, canonical_json};
use crate::config::{BackendType, CacheSettings};
use crate::error::{Error, Result};

/// What is cached for one answer.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    /// The service (`identitystore`).
    pub service: &'a str,
    /// The operation (`ListUsers`).
    pub operation: &'a str,
    /// The awsideman profile.
    pub profile: &'a str,
    /// The request parameters (kept inside the payload, for `cache inspect`).
    pub params: &'a Value,
    /// The answer.
    pub value: &'a Value,
    /// Seconds the answer stays valid.
    pub ttl: u64,
    /// Invalidation tags.
    pub tags: &'a [String],
}

/// A decoded entry: its header, the request parameters and the answer.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The envelope header.
    pub header: Header,
    /// The parameters it answers.
    pub params: Value,
    /// The cached answer.
    pub value: Value,
}

/// Hit and miss counters, persisted across processes in `stats.json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Reads answered from the cache.
    pub hits: u64,
    /// Reads that went to AWS.
    pub misses: u64,
    /// Entries found corrupt (and removed).
    pub corrupt: u64,
    /// Entries found expired.
    pub expired: u64,
}

#[derive(Default)]
struct LiveCounters {
    hits: AtomicU64,
    misses: AtomicU64,
    corrupt: AtomicU64,
    expired: AtomicU64,
}

/// The keys entries are encrypted with: a cipher per key id, and the active one that
/// seals new entries. Older keys stay to read entries not yet re-encrypted.
pub struct Encryption {
    active: String,
    ciphers: BTreeMap<String, Cipher>,
}

impl Encryption {
    /// Builds the ciphers of `(key id, master key)` pairs; `active` must be one of them.
    pub fn new<'a>(
        active: &str,
        keys: impl IntoIterator<Item = (&'a str, &'a [u8; 32])>,
    ) -> Result<Encryption> {
        let ciphers: BTreeMap<String, Cipher> = keys
            .into_iter()
            .map(|(id, key)| (id.to_string(), Cipher::new(key)))
            .collect();
        if !ciphers.contains_key(active) {
            return Err(Error::runtime(format!(
                "cache encryption: the active key {active} is not in the key set"
            )));
        }
        Ok(Encryption {
            active: active.to_string(),
            ciphers,
        })
    }

    /// The id of the key new entries are sealed with.
    pub fn active_id(&self) -> &str {
        &self.active
    }
}

/// Why stored bytes could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable {
    /// True when the entry is damaged or forged (remove it); false when it is intact but not
    /// for us (another key, plaintext while encryption is on): keep it.
    pub corrupt: bool,
    /// What is wrong, for the one warning.
    pub message: String,
}

impl Unusable {
    fn corrupt(message: impl Into<String>) -> Unusable {
        Unusable {
            corrupt: true,
            message: message.into(),
        }
    }

    fn foreign(message: impl Into<String>) -> Unusable {
        Unusable {
            corrupt: false,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The cache: a backend plus the envelope, encryption, expiry and failure rules.
pub struct CacheManager {
    backend: Box<dyn CacheBackend>,
    settings: CacheSettings,
    encryption: Option<Encryption>,
    counters: LiveCounters,
    warned: AtomicBool,
    quiet: bool,
    /// Keys that missed and whose answer is being read from AWS: how many such reads are
    /// under way and when the earliest of them missed (Unix nanoseconds). [`CacheManager::put`]
    /// stores the answer only if no tag of it was invalidated since that miss (another
    /// process may have changed the data meanwhile; see
    /// [`CacheBackend::set_unless_invalidated`]).
    missed: Mutex<HashMap<String, (u32, u128)>>,
}

impl CacheManager {
    /// Opens the file backend of `settings` (backends that talk to AWS are built by the
    /// caller, which holds the session, and passed to [`CacheManager::with_backend`]).
    /// Creates nothing on disk until something is written.
    pub fn open(settings: &CacheSettings, quiet: bool) -> Result<CacheManager> {
        let backend: Box<dyn CacheBackend> = match settings.backend_type {
            BackendType::File => Box::new(FileBackend::new(
                settings.file_cache_dir.clone(),
                settings.max_size_mb.saturating_mul(1024 * 1024),
            )),
            other => {
                return Err(Error::runtime(format!(
                    "the {} backend needs an AWS session: build it and use with_backend",
                    other.as_str()
                )));
            }
        };
        Ok(CacheManager::with_backend(backend, settings.clone(), quiet))
    }

    /// A manager over any backend (tests, migration).
    pub fn with_backend(
        backend: Box<dyn CacheBackend>,
        settings: CacheSettings,
        quiet: bool,
    ) -> CacheManager {
        CacheManager {
            backend,
            settings,
            encryption: None,
            counters: LiveCounters::default(),
            warned: AtomicBool::new(false),
            quiet,
            missed: Mutex::new(HashMap::new()),
        }
    }

    /// The same manager, sealing new entries with `encryption` and reading only entries that
    /// authenticate under its keys.
    pub fn with_encryption(mut self, encryption: Encryption) -> CacheManager {
        self.encryption = Some(encryption);
        self
    }

    /// The keys in use, when encryption is on.
    pub fn encryption(&self) -> Option<&Encryption> {
        self.encryption.as_ref()
    }

    /// The backend.
    pub fn backend(&self) -> &dyn CacheBackend {
        self.backend.as_ref()
    }

    /// The settings the cache was opened with.
    pub fn settings(&self) -> &CacheSettings {
        &self.settings
    }

    /// The cached answer for `key`, or `None` (missing, expired, corrupt or unreadable).
    pub fn get(&self, key: &CacheKey) -> Option<Value> {
        let started = now_nanos();
        let found = self.lookup(key);
        if found.is_none() {
            let mut missed = self.missed.lock().unwrap_or_else(|e| e.into_inner());
            let slot = missed
                .entry(key.as_str().to_string())
                .or_insert((0, started));
            slot.0 += 1;
            slot.1 = slot.1.min(started);
        }
        found
    }

    /// When the answer about to be stored under `key` was read: the earliest miss of `key`
    /// still being answered, if any (conservative when threads of this process read the
    /// same key at once).
    fn missed_since(&self, key: &CacheKey) -> Option<u128> {
        let mut missed = self.missed.lock().unwrap_or_else(|e| e.into_inner());
        let (pending, since) = *missed.get(key.as_str())?;
        if pending <= 1 {
            missed.remove(key.as_str());
        } else if let Some(slot) = missed.get_mut(key.as_str()) {
            slot.0 -= 1;
        }
        Some(since)
    }

    fn lookup(&self, key: &CacheKey) -> Option<Value> {
        let bytes = match self.backend.get(key) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return self.miss(),
            Err(e) => {
                self.warn(&e.to_string());
                return self.miss();
            }
        };
        match self.decode(&bytes) {
            Ok(decoded) if decoded.header.key != key.as_str() => {
                self.corrupt(key, "entry stored under another key");
                self.miss()
            }
            Ok(decoded) if decoded.header.expires_at <= now_secs() => {
                self.counters.expired.fetch_add(1, Ordering::Relaxed);
                self.miss()
            }
            Ok(decoded) => {
                self.counters.hits.fetch_add(1, Ordering::Relaxed);
                Some(decoded.value)
            }
            Err(e) if e.corrupt => {
                self.corrupt(key, &e.message);
                self.miss()
            }
            Err(e) => {
                self.warn(&format!("entry {}…: {e}", &key.as_str()[..12]));
                self.miss()
            }
        }
    }

    /// Stores an answer; a failure is a warning, never an error.
    pub fn put(&self, key: &CacheKey, entry: &NewEntry<'_>) {
        if entry.ttl == 0 {
            return;
        }
        let payload = json!({"params": entry.params, "value": entry.value});
        let payload = match serde_json::to_vec(&payload) {
            Ok(payload) => payload,
            Err(e) => return self.warn(&format!("encoding entry: {e}")),
        };
        let created_at = now_secs();
        let header = Header {
            v: 0,
            key: key.to_string(),
            service: entry.service.to_string(),
            operation: entry.operation.to_string(),
            profile: entry.profile.to_string(),
            created_at,
            expires_at: created_at.saturating_add(entry.ttl),
            encryption: "none".into(),
            key_id: None,
            tags: entry.tags.to_vec(),
            len: 0,
            checksum: String::new(),
        };
        let expires_at = header.expires_at;
        let bytes = encode(self.encryption.as_ref(), header, &payload);
        // An answer to a miss of this process is stored only if nothing it depends on was
        // invalidated since the miss: otherwise it may predate another process's write and
        // would be served, stale, until it expires.
        let stored = match self.missed_since(key) {
            Some(since) => self
                .backend
                .set_unless_invalidated(key, &bytes, entry.tags, expires_at, since)
                .map(|_| ()),
            None => self.backend.set(key, &bytes, entry.tags, expires_at),
        };
        if let Err(e) = stored {
            self.warn(&e.to_string());
        }
    }

    /// Removes entries; a failure is a warning. Returns how many were removed.
    pub fn invalidate(&self, what: Invalidation<'_>) -> u64 {
        match self.backend.invalidate(what) {
            Ok(n) => n,
            Err(e) => {
                self.warn(&e.to_string());
                0
            }
        }
    }

    /// Decodes stored bytes into header, parameters and answer, by this manager's rules:
    /// with encryption on, only entries that authenticate under its keys are accepted.
    pub fn decode(&self, bytes: &[u8]) -> Result<Decoded, Unusable> {
        let (header, plaintext) = open_entry(self.encryption.as_ref(), bytes, true)?;
        parse_payload(header, &plaintext)
    }

    /// Rewrites stored bytes for `target` (another key set, or `None` for plaintext):
    /// accepts plaintext or any key of this manager. `Ok(None)` when already right.
    pub fn recode(
        &self,
        bytes: &[u8],
        target: Option<&Encryption>,
    ) -> Result<Option<(Header, Vec<u8>)>, Unusable> {
        let (header, plaintext) = open_entry(self.encryption.as_ref(), bytes, false)?;
        let wanted_key = target.map(|t| t.active.as_str());
        if header.key_id.as_deref() == wanted_key {
            return Ok(None);
        }
        let mut fresh = header.clone();
        fresh.encryption = "none".into();
        fresh.key_id = None;
        Ok(Some((header, encode(target, fresh, &plaintext))))
    }

    /// This process's counters so far.
    pub fn counters(&self) -> Counters {
        Counters {
            hits: self.counters.hits.load(Ordering::Relaxed),
            misses: self.counters.misses.load(Ordering::Relaxed),
            corrupt: self.counters.corrupt.load(Ordering::Relaxed),
            expired: self.counters.expired.load(Ordering::Relaxed),
        }
    }

    /// The counters of every process so far, this one included.
    pub fn total_counters(&self) -> Counters {
        let mut total = read_counters(&self.stats_path());
        add(&mut total, &self.counters());
        total
    }

    /// Adds this process's counters to `stats.json` (best effort) and resets them.
    pub fn flush_counters(&self) {
        let mine = Counters {
            hits: self.counters.hits.swap(0, Ordering::Relaxed),
            misses: self.counters.misses.swap(0, Ordering::Relaxed),
            corrupt: self.counters.corrupt.swap(0, Ordering::Relaxed),
            expired: self.counters.expired.swap(0, Ordering::Relaxed),
        };
        if mine == Counters::default() {
            return;
        }
        let path = self.stats_path();
        let Some(dir) = path.parent() else { return };
        if create_private_dir(dir).is_err() {
            return;
        }
        let Ok(lock) = private_options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(".stats.lock"))
        else {
            return;
        };
        if lock.lock().is_err() {
            return;
        }
        let mut total = read_counters(&path);
        add(&mut total, &mine);
        if let Ok(text) = serde_json::to_vec(&total) {
            let temp = dir.join(format!(".stats-{}", std::process::id()));
            let written = private_options()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&temp)
                .and_then(|mut f| std::io::Write::write_all(&mut f, &text));
            if written.is_ok() {
                let _ = std::fs::rename(&temp, &path);
            }
        }
    }

    /// Resets the persisted counters.
    pub fn reset_counters(&self) {
        let _ = std::fs::remove_file(self.stats_path());
    }

    fn stats_path(&self) -> PathBuf {
        self.settings.file_cache_dir.join("stats.json")
    }

    fn miss(&self) -> Option<Value> {
        self.counters.misses.fetch_add(1, Ordering::Relaxed);
        None
    }

    fn corrupt(&self, key: &CacheKey, why: &str) {
        self.counters.corrupt.fetch_add(1, Ordering::Relaxed);
        self.warn(&format!("entry {}…: {why}; removed", &key.as_str()[..12]));
        let _ = self
            .backend
            .invalidate(Invalidation::Keys(std::slice::from_ref(key)));
    }

    /// Warns once per process; later problems are silent (they are counted).
    pub fn warn(&self, message: &str) {
        if !self.quiet && !self.warned.swap(true, Ordering::Relaxed) {
            eprintln!("awsideman: warning: cache: {message} (reading from AWS)");
        }
    }
}

/// Seals a header and plaintext payload into stored bytes, encrypting when `encryption`
/// is given.
fn encode(encryption: Option<&Encryption>, mut header: Header, payload: &[u8]) -> Vec<u8> {
    header.v = FORMAT_VERSION;
    let body = match encryption {
        None => payload.to_vec(),
        Some(encryption) => {
            header.encryption = SCHEME.into();
            header.key_id = Some(encryption.active.clone());
            let cipher = &encryption.ciphers[&encryption.active];
            cipher.seal(&associated_data(&header), payload)
        }
    };
    Envelope::seal(header, body).encode()
}

/// Opens stored bytes: checks the envelope, then authenticates and decrypts an encrypted
/// payload. With `strict`, a plaintext entry is refused while encryption is on.
fn open_entry(
    encryption: Option<&Encryption>,
    bytes: &[u8],
    strict: bool,
) -> Result<(Header, Vec<u8>), Unusable> {
    let envelope = Envelope::decode(bytes).map_err(|e| Unusable::corrupt(e.to_string()))?;
    let header = envelope.header;
    match (header.encryption.as_str(), encryption) {
        ("none", Some(_)) if strict => Err(Unusable::foreign(
            "plaintext entry while encryption is on; it will be replaced",
        )),
        ("none", _) => Ok((header, envelope.payload)),
        (SCHEME, None) => Err(Unusable::foreign(
            "entry is encrypted and cache encryption is not enabled here",
        )),
        (SCHEME, Some(encryption)) => {
            let id = header.key_id.clone().unwrap_or_default();
            let cipher = encryption.ciphers.get(&id).ok_or_else(|| {
                Unusable::foreign(format!(
                    "entry is encrypted with key {id}, which this machine does not have"
                ))
            })?;
            let plaintext = cipher
                .open(&associated_data(&header), &envelope.payload)
                .map_err(|e| Unusable::corrupt(e.to_string()))?;
            Ok((header, plaintext))
        }
        (other, _) => Err(Unusable::foreign(format!("unknown encryption {other}"))),
    }
}

/// The header fields bound to an encrypted payload: what the entry is, under which key, and
/// until when, so it cannot be replayed under another key or have its lifetime changed.
fn associated_data(header: &Header) -> Vec<u8> {
    let fields = json!({
        "v": header.v,
        "key": header.key,
        "service": header.service,
        "operation": header.operation,
        "profile": header.profile,
        "created_at": header.created_at,
        "expires_at": header.expires_at,
        "encryption": header.encryption,
        "key_id": header.key_id,
        "tags": header.tags,
    });
    canonical_json(&fields).into_bytes()
}

fn parse_payload(header: Header, plaintext: &[u8]) -> Result<Decoded, Unusable> {
    let payload: Value = serde_json::from_slice(plaintext)
        .map_err(|e| Unusable::corrupt(format!("payload is not JSON: {e}")))?;
    let Value::Object(mut payload) = payload else {
        return Err(Unusable::corrupt("payload is not an object"));
    };
    Ok(Decoded {
        header,
        params: payload.remove("params").unwrap_or(Value::Null),
        value: payload.remove("value").unwrap_or(Value::Null),
    })
}

impl Drop for CacheManager {
    fn drop(&mut self) {
        self.flush_counters();
    }
}

fn read_counters(path: &std::path::Path) -> Counters {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn add(total: &mut Counters, more: &Counters) {
    total.hits += more.hits;
    total.misses += more.misses;
    total.corrupt += more.corrupt;
    total.expired += more.expired;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::key::Namespace;
    use crate::config::EncryptionType;

    struct World {
        dir: PathBuf,
    }

    impl Drop for World {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn world() -> World {
        let mut noise = [0u8; 6];
        getrandom::getrandom(&mut noise).unwrap();
        let dir = std::env::temp_dir().join(format!(
            "awsideman-manager-{}",
            crate::cache::key::hex(&noise)
        ));
        World { dir }
    }

    fn settings(dir: &std::path::Path) -> CacheSettings {
        CacheSettings {
            enabled: true,
            backend_type: BackendType::File,
            default_ttl: 3600,
            operation_ttls: Default::default(),
            max_size_mb: 10,
            file_cache_dir: dir.to_path_buf(),
            dynamodb_table_name: "t".into(),
            dynamodb_region: None,
            dynamodb_profile: None,
            dynamodb_timeout_ms: 5000,
            dynamodb_max_retries: 3,
            dynamodb_consistent_read: false,
            dynamodb_kms_key_id: None,
            dynamodb_table_tags: Default::default(),
            encryption_enabled: false,
            encryption_type: EncryptionType::Aes256,
            encryption_key_source: "env".into(),
            encryption_key_file: None,
            encryption_kms_key_id: None,
            hybrid_local_ttl: 300,
        }
    }

    fn manager(w: &World, keys: &[(&str, [u8; 32])], active: Option<&str>) -> CacheManager {
        let m = CacheManager::open(&settings(&w.dir), true).unwrap();
        match active {
            None => m,
            Some(active) => m.with_encryption(
                Encryption::new(active, keys.iter().map(|(id, k)| (*id, k))).unwrap(),
            ),
        }
    }

    fn key(n: u32) -> CacheKey {
        let ns = Namespace {
            profile: "p".into(),
            region: "r".into(),
        };
        CacheKey::new(&ns, "identitystore", "ListUsers", &json!({ "n": n }))
    }

    fn put(m: &CacheManager, k: &CacheKey, value: Value) {
        m.put(
            k,
            &NewEntry {
                service: "identitystore",
                operation: "ListUsers",
                profile: "p",
                params: &json!({}),
                value: &value,
                ttl: 600,
                tags: &["users:d-1".to_string()],
            },
        );
    }

    fn stored(m: &CacheManager, k: &CacheKey) -> Option<Vec<u8>> {
        m.backend().get(k).unwrap()
    }

    #[test]
    fn encrypted_round_trip_hides_the_payload() {
        let w = world();
        let m = manager(&w, &[("k1", [1; 32])], Some("k1"));
        put(
            &m,
            &key(1),
            json!({"Users": [{"UserName": "alice@example.com"}]}),
        );
        let raw = stored(&m, &key(1)).unwrap();
        assert!(
            !String::from_utf8_lossy(&raw).contains("alice"),
            "ciphertext on disk"
        );
        let header = Envelope::decode_header(&raw).unwrap();
        assert_eq!(header.encryption, SCHEME);
        assert_eq!(header.key_id.as_deref(), Some("k1"));
        assert_eq!(
            m.get(&key(1)).unwrap()["Users"][0]["UserName"],
            "alice@example.com"
        );
    }

    #[test]
    fn an_edited_lifetime_or_key_does_not_authenticate() {
        let w = world();
        let m = manager(&w, &[("k1", [1; 32])], Some("k1"));
        put(&m, &key(1), json!({"x": 1}));
        let raw = stored(&m, &key(1)).unwrap();
        let split = raw.iter().position(|&b| b == b'\n').unwrap();
        let mut header: Header = serde_json::from_slice(&raw[..split]).unwrap();
        header.expires_at += 1_000_000;
        let mut forged = serde_json::to_vec(&header).unwrap();
        forged.extend_from_slice(&raw[split..]);
        m.backend().set(&key(1), &forged, &[], 0).unwrap();
        assert_eq!(m.get(&key(1)), None);
        assert!(stored(&m, &key(1)).is_none(), "a forged entry is removed");

        // Replayed under another key, with the header's key changed to match.
        put(&m, &key(1), json!({"x": 1}));
        let raw = stored(&m, &key(1)).unwrap();
        let split = raw.iter().position(|&b| b == b'\n').unwrap();
        let mut header: Header = serde_json::from_slice(&raw[..split]).unwrap();
        header.key = key(2).to_string();
        let mut replayed = serde_json::to_vec(&header).unwrap();
        replayed.extend_from_slice(&raw[split..]);
        m.backend().set(&key(2), &replayed, &[], 0).unwrap();
        assert_eq!(m.get(&key(2)), None);
    }

    #[test]
    fn entries_for_someone_else_are_misses_but_kept() {
        let w = world();
        let k1 = manager(&w, &[("k1", [1; 32])], Some("k1"));
        put(&k1, &key(1), json!({"x": 1}));
        let k2 = manager(&w, &[("k2", [2; 32])], Some("k2"));
        assert_eq!(k2.get(&key(1)), None, "another machine's key");
        let plain = manager(&w, &[], None);
        assert_eq!(plain.get(&key(1)), None, "encryption off here");
        assert!(stored(&plain, &key(1)).is_some(), "nothing lost");

        put(&plain, &key(3), json!({"x": 3}));
        assert_eq!(
            k1.get(&key(3)),
            None,
            "plaintext is not trusted while encryption is on"
        );
        put(&k1, &key(3), json!({"x": 3}));
        assert_eq!(k1.get(&key(3)).unwrap()["x"], 3);
    }

    /// A miss, then another process's write invalidates, then the answer read before that
    /// write arrives: it is not stored (it would be served stale); the next miss's is.
    #[test]
    fn an_answer_read_before_another_process_invalidated_is_not_stored() {
        let w = world();
        let reader = manager(&w, &[], None);
        let writer = manager(&w, &[], None);
        put(&writer, &key(9), json!({"create": "the directory"}));
        assert_eq!(reader.get(&key(1)), None);
        writer.invalidate(Invalidation::Tags(&["users:d-1".to_string()]));
        put(&reader, &key(1), json!({"Users": ["stale"]}));
        assert_eq!(stored(&reader, &key(1)), None, "stale answer not stored");
        assert_eq!(reader.get(&key(1)), None);
        put(&reader, &key(1), json!({"Users": ["fresh"]}));
        assert_eq!(reader.get(&key(1)).unwrap()["Users"][0], "fresh");
        // A put that answers no miss (warming, tests) is stored as before.
        writer.invalidate(Invalidation::Tags(&["users:d-1".to_string()]));
        put(&reader, &key(2), json!({"x": 2}));
        assert_eq!(reader.get(&key(2)).unwrap()["x"], 2);
    }

    #[test]
    fn rotation_reads_old_entries_and_recodes_them() {
        let w = world();
        let old = manager(&w, &[("k1", [1; 32])], Some("k1"));
        put(&old, &key(1), json!({"x": 1}));
        let both = manager(&w, &[("k1", [1; 32]), ("k2", [2; 32])], Some("k2"));
        assert_eq!(
            both.get(&key(1)).unwrap()["x"],
            1,
            "readable during rotation"
        );
        let target = Encryption::new("k2", [("k2", &[2u8; 32])]).unwrap();
        let raw = stored(&both, &key(1)).unwrap();
        let (_, bytes) = both.recode(&raw, Some(&target)).unwrap().unwrap();
        both.backend().set(&key(1), &bytes, &[], 0).unwrap();
        let new = manager(&w, &[("k2", [2; 32])], Some("k2"));
        assert_eq!(
            new.get(&key(1)).unwrap()["x"],
            1,
            "readable with the new key alone"
        );
        // Already on the target key: nothing to do.
        assert!(new.recode(&bytes, Some(&target)).unwrap().is_none());
        // Back to plaintext.
        let (_, plain) = new.recode(&bytes, None).unwrap().unwrap();
        assert_eq!(Envelope::decode_header(&plain).unwrap().encryption, "none");
    }
}
