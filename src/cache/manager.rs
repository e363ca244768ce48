//! `CacheManager`: encodes answers into envelopes, checks expiry and integrity on every read,
//! and keeps the failure policy: a cache that fails never fails the command. Any problem is
//! a miss (a corrupt entry is also removed and counted), reported once per process.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::backend::{CacheBackend, Invalidation};
use super::envelope::{Envelope, Header};
use super::file::{FileBackend, create_private_dir, now_secs, private_options};
use super::key::CacheKey;
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

/// The cache: a backend plus the envelope, expiry and failure rules.
pub struct CacheManager {
    backend: Box<dyn CacheBackend>,
    settings: CacheSettings,
    counters: LiveCounters,
    warned: AtomicBool,
    quiet: bool,
}

impl CacheManager {
    /// Opens the configured backend. Creates nothing on disk until something is written.
    pub fn open(settings: &CacheSettings, quiet: bool) -> Result<CacheManager> {
        let backend: Box<dyn CacheBackend> = match settings.backend_type {
            BackendType::File => Box::new(FileBackend::new(
                settings.file_cache_dir.clone(),
                settings.max_size_mb.saturating_mul(1024 * 1024),
            )),
            other => {
                return Err(Error::config(format!(
                    "cache.backend_type: the {} backend is not available in this build \
                     (use file)",
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
            counters: LiveCounters::default(),
            warned: AtomicBool::new(false),
            quiet,
        }
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
            Err(e) => {
                self.corrupt(key, &e.to_string());
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
        let envelope = Envelope::seal(
            Header {
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
            },
            payload,
        );
        if let Err(e) = self.backend.set(
            key,
            &envelope.encode(),
            entry.tags,
            envelope.header.expires_at,
        ) {
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

    /// Decodes stored bytes into header, parameters and answer.
    pub fn decode(&self, bytes: &[u8]) -> Result<Decoded> {
        let envelope = Envelope::decode(bytes).map_err(|e| Error::runtime(e.to_string()))?;
        if envelope.header.encryption != "none" {
            return Err(Error::runtime(format!(
                "entry is encrypted ({}) and encryption is not enabled",
                envelope.header.encryption
            )));
        }
        let payload: Value = serde_json::from_slice(&envelope.payload)
            .map_err(|e| Error::runtime(format!("payload is not JSON: {e}")))?;
        let Value::Object(mut payload) = payload else {
            return Err(Error::runtime("payload is not an object"));
        };
        Ok(Decoded {
            header: envelope.header,
            params: payload.remove("params").unwrap_or(Value::Null),
            value: payload.remove("value").unwrap_or(Value::Null),
        })
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
