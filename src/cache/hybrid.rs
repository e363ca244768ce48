//! The hybrid backend: a local backend (files) in front of a shared remote one (DynamoDB), so
//! most reads stay on this machine while every machine shares one cache.
//!
//! - A lookup uses the local copy while it is younger than `local_ttl` and current for the
//!   local generations of its tags (this machine's invalidations), else the remote entry
//!   (current for the remote generations: every machine's invalidations), which is then
//!   copied locally. A local failure is a local miss; a remote failure is a miss reported
//!   once, and the answer read from AWS is still copied locally. So another machine's write
//!   reaches this one's reads within `local_ttl` seconds, this machine's own writes at once.
//! - An answer stored after a lookup goes to the remote, then locally, recorded against the
//!   local generations that lookup saw (before AWS was asked). The local copy is written
//!   even when the remote write failed, and the remote error is returned, so the manager
//!   warns once. A store that answers no lookup (re-encryption) drops the local copy.
//! - Invalidations go to the remote first, then locally.
//! - Listings, raw reads, generations and size figures are the remote's: it is the shared
//!   truth.
//!
//! Local copies are framed. An entry's own header cannot record when it was copied: an
//! encrypted entry's times are authenticated, and the trait says nothing about when a local
//! entry was written. So a local copy is an envelope of its own whose payload is the remote
//! bytes, unchanged, and whose header says when the copy was made (`created_at`), until when
//! it may be used (`expires_at`: the entry's own expiry or `created_at + local_ttl`, whichever
//! comes first) and the local generations it is current for, with the encryption
//! `Scheme::HybridCopy`. The local backend lists, expires and evicts copies like any entry, and
//! anything but this backend refuses a copy ("unknown encryption") instead of mistaking it
//! for an answer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::backend::{BackendStats, CacheBackend, EntryInfo, Invalidation, Lookup};
use super::envelope::{Envelope, FORMAT_VERSION, Header, Scheme};
use super::generation::Generations;
use super::key::CacheKey;
use crate::clock::now_secs;
use crate::error::Result;

/// Where the local copies of the hybrid backend live, under the file cache directory (apart
/// from the file backend's own entries, so switching backends never mixes the two).
pub(crate) fn local_dir(file_cache_dir: &Path) -> PathBuf {
    file_cache_dir.join("hybrid")
}

/// A local backend in front of a remote one.
pub(crate) struct HybridBackend {
    local: Box<dyn CacheBackend>,
    remote: Box<dyn CacheBackend>,
    local_ttl: u64,
    /// For each key whose lookup missed: its tags and the local generations seen then, for
    /// the local copy of the answer stored next.
    pending: Mutex<HashMap<CacheKey, (Vec<String>, Generations)>>,
}

impl HybridBackend {
    /// `local` in front of `remote`, reusing a local copy for `local_ttl_secs` (0: never).
    pub(crate) fn new(
        local: Box<dyn CacheBackend>,
        remote: Box<dyn CacheBackend>,
        local_ttl_secs: u64,
    ) -> HybridBackend {
        HybridBackend {
            local,
            remote,
            local_ttl: local_ttl_secs,
            pending: Mutex::new(HashMap::new()),
        }
    }

    /// Stores a local copy of `bytes` filed under `tags`, current for the local generations
    /// `local` (seen before the answer was read), valid until the earlier of `expires_at`
    /// and `now + local_ttl`. Nothing is stored when local copies are off.
    fn store_copy(
        &self,
        key: &CacheKey,
        bytes: &[u8],
        local: &Generations,
        expires_at: u64,
        now: u64,
    ) -> Result<()> {
        if self.local_ttl == 0 {
            return Ok(());
        }
        let copy = frame(key, bytes, local, expires_at, now, self.local_ttl);
        self.local
            .set(key, &copy.encode(), copy.header.expires_at)
            .map_err(|e| e.context("hybrid cache, local copy"))
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<CacheKey, (Vec<String>, Generations)>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The local frame around a remote entry's `bytes` (see the module documentation).
fn frame(
    key: &CacheKey,
    bytes: &[u8],
    local: &Generations,
    expires_at: u64,
    now: u64,
    local_ttl: u64,
) -> Envelope {
    let inner = Envelope::decode_header(bytes).ok();
    let field = |f: fn(&Header) -> &String| inner.as_ref().map(f).cloned().unwrap_or_default();
    Envelope::seal(
        Header {
            v: FORMAT_VERSION,
            key: key.to_string(),
            service: field(|h| &h.service),
            operation: field(|h| &h.operation),
            profile: field(|h| &h.profile),
            created_at: now,
            expires_at: expires_at.min(now.saturating_add(local_ttl)),
            encryption: Scheme::HybridCopy,
            key_id: None,
            gens: local.as_map().clone(),
            len: 0,
            checksum: String::new(),
        },
        bytes.to_vec(),
    )
}

/// The remote bytes inside a local copy, if it is an intact copy of `key` that is still
/// usable at `now` under `local_ttl` (which may have shrunk since the copy was made).
fn unframe(stored: &[u8], key: &CacheKey, now: u64, local_ttl: u64) -> Option<Vec<u8>> {
    let copy = Envelope::decode(stored).ok()?;
    let h = &copy.header;
    let usable = h.encryption == Scheme::HybridCopy
        && h.key == key.as_str()
        && h.created_at <= now
        && now < h.expires_at
        && now < h.created_at.saturating_add(local_ttl);
    usable.then_some(copy.payload)
}

impl CacheBackend for HybridBackend {
    fn parts(&self) -> Vec<(&'static str, &dyn CacheBackend)> {
        vec![
            ("local", self.local.as_ref()),
            ("remote", self.remote.as_ref()),
        ]
    }

    fn name(&self) -> &'static str {
        "hybrid"
    }

    fn shared_between_machines(&self) -> bool {
        true
    }

    fn location(&self) -> String {
        format!(
            "local {} {}, remote {} {}",
            self.local.name(),
            self.local.location(),
            self.remote.name(),
            self.remote.location()
        )
    }

    fn lookup(&self, key: &CacheKey, tags: &[String]) -> Result<Lookup> {
        let now = now_secs();
        let local = if self.local_ttl == 0 {
            Lookup::default()
        } else {
            self.local.lookup(key, tags).unwrap_or_default()
        };
        if let Some(inner) = local
            .bytes
            .as_deref()
            .and_then(|stored| unframe(stored, key, now, self.local_ttl))
        {
            // The generations the remote entry recorded were current when it was copied:
            // an answer stored against them (should the manager refuse this one) is safe.
            let recorded = Envelope::decode_header(&inner)
                .map(|h| Generations::from_map(h.gens).restricted_to(tags))
                .unwrap_or_default();
            return Ok(Lookup {
                bytes: Some(inner.into()),
                generations: recorded,
                problem: None,
                // A copy of a shared entry: checked as any shared entry is.
                private: false,
            });
        }
        let local_generations = local.generations;
        let remote = match self.remote.lookup(key, tags) {
            Ok(remote) => remote,
            // The shared side failed: the answer read from AWS can still be copied locally
            // (recorded against the local generations, which the shared side never holds,
            // so a copy of it that did reach the table would be a miss there).
            Err(e) if local_generations.covers(tags) => {
                self.pending()
                    .insert(key.clone(), (tags.to_vec(), local_generations.clone()));
                return Ok(Lookup {
                    bytes: None,
                    generations: local_generations,
                    problem: Some(e.to_string()),
                    private: false,
                });
            }
            Err(e) => return Err(e),
        };
        match &remote.bytes {
            Some(bytes) if local_generations.covers(tags) => {
                if let Ok(header) = Envelope::decode_header(bytes)
                    && header.expires_at > now
                {
                    let _ = self.store_copy(key, bytes, &local_generations, header.expires_at, now);
                }
            }
            Some(_) => {}
            None => {
                self.pending()
                    .insert(key.clone(), (tags.to_vec(), local_generations));
            }
        }
        Ok(Lookup {
            private: false,
            ..remote
        })
    }

    fn get(&self, key: &CacheKey) -> Result<Option<Vec<u8>>> {
        self.remote.get(key)
    }

    fn set(&self, key: &CacheKey, bytes: &[u8], expires_at: u64) -> Result<()> {
        let remote = self.remote.set(key, bytes, expires_at);
        let pending = self.pending().remove(key);
        let local = match pending {
            Some((tags, generations)) if generations.covers(&tags) => {
                self.store_copy(key, bytes, &generations, expires_at, now_secs())
            }
            // Not the answer to a lookup of this process: no copy, and none of the old entry.
            _ => self
                .local
                .invalidate(Invalidation::Keys(std::slice::from_ref(key)))
                .map(drop)
                .map_err(|e| e.context("hybrid cache, local copy")),
        };
        remote.and(local)
    }

    fn generations(&self, tags: &[String]) -> Result<Generations> {
        self.remote.generations(tags)
    }

    fn create_generations(&self, wanted: &Generations) -> Result<Generations> {
        self.remote.create_generations(wanted)
    }

    fn invalidate(&self, what: Invalidation<'_>) -> Result<u64> {
        let remote = self.remote.invalidate(what);
        let local = self
            .local
            .invalidate(what)
            .map_err(|e| e.context("hybrid cache, local copies"));
        let done = remote?;
        local.map(|_| done)
    }

    fn clear_all(&self, progress: &(dyn Fn(u64) + Sync)) -> Result<u64> {
        let remote = self.remote.clear_all(progress);
        let local = self
            .local
            .invalidate(Invalidation::All)
            .map_err(|e| e.context("hybrid cache, local copies"));
        let removed = remote?;
        local.map(|_| removed)
    }

    fn entries(&self) -> Result<Vec<EntryInfo>> {
        self.remote.entries()
    }

    fn stats(&self) -> Result<BackendStats> {
        self.remote.stats()
    }

    fn health_check(&self) -> Result<()> {
        let local = self
            .local
            .health_check()
            .map_err(|e| e.context("hybrid cache, local side"));
        let remote = self
            .remote
            .health_check()
            .map_err(|e| e.context("hybrid cache, remote side"));
        remote.and(local)
    }
}

/// Test helpers shared by the cache tools' tests: temporary file backends and a backend
/// that records the calls it gets and can be told to fail writes.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use sha2::{Digest, Sha256};

    use crate::cache::backend::{BackendStats, CacheBackend, EntryInfo, Invalidation, Lookup};
    use crate::cache::envelope::{Envelope, FORMAT_VERSION, Header, Scheme};
    use crate::cache::file::FileBackend;
    use crate::cache::generation::Generations;
    use crate::cache::key::CacheKey;
    use crate::error::{Error, Result};

    /// A temporary directory, removed when dropped.
    pub(crate) struct TempDir(pub(crate) PathBuf);

    impl TempDir {
        /// A new, not yet created, directory under the system's temporary directory.
        pub(crate) fn new(label: &str) -> TempDir {
            let mut noise = [0u8; 6];
            getrandom::getrandom(&mut noise).expect("random");
            TempDir(std::env::temp_dir().join(format!("awsideman-{label}-{}", hex::encode(noise))))
        }

        /// A file backend rooted in this directory.
        pub(crate) fn backend(&self) -> FileBackend {
            FileBackend::new(self.0.clone(), 1 << 30)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// The calls a [`Spy`] saw, shared with the test: `"<name> <call>"`, in order.
    pub(crate) type Log = Arc<Mutex<Vec<String>>>;

    /// A file backend that logs its calls and fails every write after `fail_sets_after`.
    pub(crate) struct Spy {
        /// The label of its calls in the log (its `name()` is the inner backend's).
        pub(crate) name: &'static str,
        /// The backend doing the work.
        pub(crate) inner: FileBackend,
        /// The shared call log.
        pub(crate) log: Log,
        /// Writes allowed before every later write fails.
        pub(crate) fail_sets_after: Option<usize>,
        sets: AtomicUsize,
    }

    impl Spy {
        /// A spy over `inner`, logging into `log`.
        pub(crate) fn new(name: &'static str, inner: FileBackend, log: &Log) -> Spy {
            Spy {
                name,
                inner,
                log: Arc::clone(log),
                fail_sets_after: None,
                sets: AtomicUsize::new(0),
            }
        }

        /// The same spy, failing every write after the first `n`.
        pub(crate) fn failing_after(mut self, n: usize) -> Spy {
            self.fail_sets_after = Some(n);
            self
        }

        fn record(&self, call: &str) {
            self.log
                .lock()
                .expect("log")
                .push(format!("{} {call}", self.name));
        }
    }

    /// How many logged calls are exactly `call` ("remote get").
    pub(crate) fn count(log: &Log, call: &str) -> usize {
        log.lock()
            .expect("log")
            .iter()
            .filter(|c| *c == call)
            .count()
    }

    impl CacheBackend for Spy {
        fn name(&self) -> &'static str {
            self.inner.name()
        }
        fn location(&self) -> String {
            self.inner.location()
        }
        fn lookup(&self, key: &CacheKey, tags: &[String]) -> Result<Lookup> {
            self.record("lookup");
            self.inner.lookup(key, tags)
        }
        fn get(&self, key: &CacheKey) -> Result<Option<Vec<u8>>> {
            self.record("get");
            self.inner.get(key)
        }
        fn set(&self, key: &CacheKey, bytes: &[u8], expires: u64) -> Result<()> {
            self.record("set");
            let n = self.sets.fetch_add(1, Ordering::SeqCst);
            if self.fail_sets_after.is_some_and(|limit| n >= limit) {
                return Err(Error::runtime(format!(
                    "{}: simulated write failure",
                    self.name
                )));
            }
            self.inner.set(key, bytes, expires)
        }
        fn generations(&self, tags: &[String]) -> Result<Generations> {
            self.inner.generations(tags)
        }
        fn create_generations(&self, wanted: &Generations) -> Result<Generations> {
            self.inner.create_generations(wanted)
        }
        fn invalidate(&self, what: Invalidation<'_>) -> Result<u64> {
            self.record("invalidate");
            self.inner.invalidate(what)
        }
        fn entries(&self) -> Result<Vec<EntryInfo>> {
            self.inner.entries()
        }
        fn stats(&self) -> Result<BackendStats> {
            self.inner.stats()
        }
        fn health_check(&self) -> Result<()> {
            self.inner.health_check()
        }
    }

    /// The key of test entry `n`.
    pub(crate) fn key(n: usize) -> CacheKey {
        CacheKey::parse(&hex::encode(Sha256::digest(format!("test entry {n}")))).expect("a key")
    }

    /// The tags of test entry `n`.
    pub(crate) fn tags(n: usize) -> Vec<String> {
        vec![format!("user:{n}"), "users".into()]
    }

    /// The stored bytes of test entry `n`, recording `gens`: created at `created_at`,
    /// expiring at `expires_at`.
    pub(crate) fn entry_with(
        n: usize,
        gens: &Generations,
        created_at: u64,
        expires_at: u64,
    ) -> Vec<u8> {
        Envelope::seal(
            Header {
                v: FORMAT_VERSION,
                key: key(n).to_string(),
                service: "identitystore".into(),
                operation: "DescribeUser".into(),
                profile: "p".into(),
                created_at,
                expires_at,
                encryption: Scheme::None,
                key_id: None,
                gens: gens.as_map().clone(),
                len: 0,
                checksum: String::new(),
            },
            format!(r#"{{"params":{{}},"value":{{"n":{n}}}}}"#).into_bytes(),
        )
        .encode()
    }

    /// Stores test entry `n` in `backend` as a read through the cache would (a lookup, then
    /// the answer recorded against the generations it saw), valid for an hour.
    pub(crate) fn put(backend: &dyn CacheBackend, n: usize) -> Vec<u8> {
        let now = crate::clock::now_secs();
        let seen = backend.lookup(&key(n), &tags(n)).expect("lookup");
        let bytes = entry_with(n, &seen.generations, now, now + 3600);
        backend.set(&key(n), &bytes, now + 3600).expect("set");
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use std::sync::{Arc, Mutex};

    struct World {
        hybrid: HybridBackend,
        log: Log,
        _local: TempDir,
        _remote: TempDir,
    }

    fn world(local_ttl: u64) -> World {
        let (local, remote) = (TempDir::new("hybrid-local"), TempDir::new("hybrid-remote"));
        let log: Log = Arc::new(Mutex::new(Vec::new()));
        let hybrid = HybridBackend::new(
            Box::new(Spy::new("local", local.backend(), &log)),
            Box::new(Spy::new("remote", remote.backend(), &log)),
            local_ttl,
        );
        World {
            hybrid,
            log,
            _local: local,
            _remote: remote,
        }
    }

    fn hit(w: &World, n: usize) -> Option<Vec<u8>> {
        w.hybrid
            .lookup(&key(n), &tags(n))
            .unwrap()
            .bytes
            .map(crate::fsutil::Contents::into_vec)
    }

    #[test]
    fn a_second_read_is_served_locally_without_touching_the_remote() {
        let w = world(300);
        let bytes = put(w.hybrid.remote.as_ref(), 1);
        w.log.lock().unwrap().clear();
        assert_eq!(hit(&w, 1).as_deref(), Some(&bytes[..]));
        assert_eq!(count(&w.log, "remote lookup"), 1);
        assert_eq!(count(&w.log, "local set"), 1, "the hit was copied locally");
        for _ in 0..3 {
            assert_eq!(hit(&w, 1).as_deref(), Some(&bytes[..]));
        }
        assert_eq!(count(&w.log, "remote lookup"), 1, "later reads stay local");
        // The local copy is a frame around the remote bytes, unchanged.
        let stored = w.hybrid.local.as_ref().get(&key(1)).unwrap().unwrap();
        let copy = Envelope::decode(&stored).unwrap();
        assert_eq!(copy.header.encryption, Scheme::HybridCopy);
        assert_eq!(copy.payload, bytes);
        assert_eq!(copy.header.operation, "DescribeUser");
    }

    #[test]
    fn local_copies_expire_after_the_local_ttl() {
        let w = world(300);
        let now = now_secs();
        let bytes = put(w.hybrid.remote.as_ref(), 1);
        let local_gens = w
            .hybrid
            .local
            .as_ref()
            .lookup(&key(1), &tags(1))
            .unwrap()
            .generations;
        // A copy made 301 s ago, of an entry still valid for an hour.
        let old = frame(&key(1), &bytes, &local_gens, now + 3600, now - 301, 300);
        assert_eq!(old.header.expires_at, now - 1);
        w.hybrid
            .local
            .as_ref()
            .set(&key(1), &old.encode(), old.header.expires_at)
            .unwrap();
        w.log.lock().unwrap().clear();
        assert_eq!(hit(&w, 1).as_deref(), Some(&bytes[..]));
        assert_eq!(
            count(&w.log, "remote lookup"),
            1,
            "a stale copy is not used"
        );
        // ... and was refreshed: the next read is local.
        hit(&w, 1);
        assert_eq!(count(&w.log, "remote lookup"), 1);

        // A copy never outlives its entry, and a shrunken local_ttl applies to old copies.
        let short = frame(&key(2), &bytes, &local_gens, now + 10, now, 300);
        assert_eq!(short.header.expires_at, now + 10);
        let copy = frame(&key(1), &bytes, &local_gens, now + 3600, now - 100, 300).encode();
        assert!(unframe(&copy, &key(1), now, 300).is_some());
        assert!(unframe(&copy, &key(1), now, 60).is_none());
        assert!(unframe(&copy, &key(2), now, 300).is_none(), "another key");
        assert!(unframe(&bytes, &key(1), now, 300).is_none(), "not a frame");
        let mut damaged = copy.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        assert!(unframe(&damaged, &key(1), now, 300).is_none());
    }

    #[test]
    fn answers_go_remote_then_local_and_invalidations_reach_both() {
        let w = world(300);
        let bytes = put(&w.hybrid, 1);
        assert_eq!(
            *w.log.lock().unwrap(),
            ["local lookup", "remote lookup", "remote set", "local set"],
            "remote first"
        );
        assert_eq!(
            w.hybrid.remote.as_ref().get(&key(1)).unwrap().as_deref(),
            Some(&bytes[..])
        );
        assert!(w.hybrid.local.as_ref().get(&key(1)).unwrap().is_some());
        put(&w.hybrid, 2);

        w.log.lock().unwrap().clear();
        let moved = w
            .hybrid
            .invalidate(Invalidation::Tags(&["user:1".into()]))
            .unwrap();
        assert_eq!(moved, 1);
        assert_eq!(
            *w.log.lock().unwrap(),
            ["remote invalidate", "local invalidate"]
        );
        assert!(hit(&w, 1).is_none());
        assert!(hit(&w, 2).is_some());
        assert_eq!(
            w.hybrid.invalidate(Invalidation::Keys(&[key(2)])).unwrap(),
            1
        );
        assert_eq!(w.hybrid.invalidate(Invalidation::All).unwrap(), 1);
        for side in [w.hybrid.local.as_ref(), w.hybrid.remote.as_ref()] {
            assert_eq!(side.stats().unwrap().entries, 0);
        }
    }

    /// Another machine's invalidation reaches the remote generations only: a local copy is
    /// served until its local_ttl ends (the documented window), then the remote decides.
    #[test]
    fn another_machines_invalidation_is_seen_once_the_local_copy_ends() {
        let w = world(300);
        put(&w.hybrid, 1);
        assert!(hit(&w, 1).is_some());
        w.hybrid
            .remote
            .as_ref()
            .invalidate(Invalidation::Tags(&["users".into()]))
            .unwrap();
        assert!(hit(&w, 1).is_some(), "within the local window");
        w.hybrid
            .local
            .as_ref()
            .invalidate(Invalidation::All)
            .unwrap();
        assert!(hit(&w, 1).is_none(), "the remote entry is not current");
    }

    #[test]
    fn listings_are_the_remote() {
        let w = world(300);
        put(&w.hybrid, 1);
        put(w.hybrid.remote.as_ref(), 2);
        assert_eq!(w.hybrid.entries().unwrap().len(), 2);
        assert_eq!(w.hybrid.stats().unwrap().entries, 2);
        assert_eq!(w.hybrid.name(), "hybrid");
        assert!(
            w.hybrid
                .location()
                .contains(&w.hybrid.local.as_ref().location())
        );
        assert!(
            w.hybrid
                .location()
                .contains(&w.hybrid.remote.as_ref().location())
        );
    }

    #[test]
    fn a_failing_remote_write_still_writes_locally_and_is_reported() {
        let (local, remote) = (TempDir::new("hybrid-local"), TempDir::new("hybrid-remote"));
        let log: Log = Arc::new(Mutex::new(Vec::new()));
        let hybrid = HybridBackend::new(
            Box::new(Spy::new("local", local.backend(), &log)),
            Box::new(Spy::new("remote", remote.backend(), &log).failing_after(0)),
            300,
        );
        let now = now_secs();
        let seen = hybrid.lookup(&key(1), &tags(1)).unwrap();
        let bytes = entry_with(1, &seen.generations, now, now + 3600);
        let e = hybrid.set(&key(1), &bytes, now + 3600).unwrap_err();
        assert!(e.message().contains("simulated"), "{e}");
        assert_eq!(count(&log, "local set"), 1);
        assert_eq!(
            hybrid.lookup(&key(1), &tags(1)).unwrap().bytes.as_deref(),
            Some(&bytes[..])
        );
    }

    /// An answer read before an invalidation is stored, but served on neither side: it
    /// recorded the generations its lookup saw.
    #[test]
    fn an_answer_read_before_an_invalidation_is_served_on_neither_side() {
        let w = world(300);
        let now = now_secs();
        let seen = w.hybrid.lookup(&key(1), &tags(1)).unwrap();
        w.hybrid
            .invalidate(Invalidation::Tags(&["users".into()]))
            .unwrap();
        let bytes = entry_with(1, &seen.generations, now, now + 3600);
        w.hybrid.set(&key(1), &bytes, now + 3600).unwrap();
        assert!(hit(&w, 1).is_none());
        assert!(
            w.hybrid
                .local
                .as_ref()
                .lookup(&key(1), &tags(1))
                .unwrap()
                .bytes
                .is_none()
        );

        // Invalidated on this machine alone before the answer arrived: the shared entry is
        // current, the local copy is not.
        let seen = w.hybrid.lookup(&key(2), &tags(2)).unwrap();
        w.hybrid
            .local
            .as_ref()
            .invalidate(Invalidation::Tags(&["users".into()]))
            .unwrap();
        let bytes = entry_with(2, &seen.generations, now, now + 3600);
        w.hybrid.set(&key(2), &bytes, now + 3600).unwrap();
        assert!(
            w.hybrid
                .local
                .as_ref()
                .lookup(&key(2), &tags(2))
                .unwrap()
                .bytes
                .is_none()
        );
        assert!(hit(&w, 2).is_some(), "from the remote, then copied");
        assert!(
            w.hybrid
                .local
                .as_ref()
                .lookup(&key(2), &tags(2))
                .unwrap()
                .bytes
                .is_some()
        );
    }

    #[test]
    fn a_store_that_answers_no_lookup_drops_the_local_copy() {
        let w = world(300);
        let bytes = put(&w.hybrid, 1);
        assert!(w.hybrid.local.as_ref().get(&key(1)).unwrap().is_some());
        w.hybrid.set(&key(1), &bytes, now_secs() + 60).unwrap();
        assert!(w.hybrid.local.as_ref().get(&key(1)).unwrap().is_none());
        assert!(w.hybrid.remote.as_ref().get(&key(1)).unwrap().is_some());
    }

    #[test]
    fn no_local_copies_with_a_zero_local_ttl() {
        let w = world(0);
        put(&w.hybrid, 1);
        hit(&w, 1);
        hit(&w, 1);
        assert_eq!(count(&w.log, "local set"), 0);
        assert_eq!(count(&w.log, "local lookup"), 0);
        assert_eq!(count(&w.log, "remote lookup"), 3);
    }

    #[test]
    fn health_checks_both_sides() {
        let w = world(300);
        w.hybrid.health_check().unwrap();
        assert_eq!(w.hybrid.local.as_ref().stats().unwrap().entries, 0);
        assert_eq!(w.hybrid.remote.as_ref().stats().unwrap().entries, 0);
    }
}
