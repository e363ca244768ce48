//! `CacheManager`: encodes answers into envelopes, checks expiry and integrity on every read,
//! and keeps the failure policy: a cache that fails never fails the command. Any problem is
//! a miss (a corrupt entry is also removed and counted), reported once per process. An
//! invalidation that fails after its write landed in AWS marks its tags stale
//! (`stale.rs`): they are read from AWS, here and in every later process, until an
//! invalidation lands.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::backend::{CacheBackend, Invalidation};
use super::crypto::Cipher;
use super::envelope::{DecodeError, Envelope, FORMAT_VERSION, Header, Scheme};

use super::generation::Generations;
use super::key::{CacheKey, canonical_json};
use super::keystate::KeyState;
use super::stale::{ALL_TAGS, Stale, StaleTags};
use crate::clock::now_secs;
use crate::config::CacheSettings;
use crate::document::Document;
use crate::error::{Error, Result};
use crate::fsutil::Contents;

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
    pub value: &'a Document,
    /// Seconds the answer stays valid.
    pub ttl: u64,
    /// The invalidation tags the answer depends on.
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
    pub value: Document,
}

/// Hit and miss counters, persisted across processes in `stats.json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Reads answered from the cache.
    pub(crate) hits: u64,
    /// Reads that went to AWS.
    pub misses: u64,
    /// Entries found corrupt (and removed).
    pub(crate) corrupt: u64,
    /// Entries found expired.
    pub(crate) expired: u64,
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
    pub(crate) fn active_id(&self) -> &str {
        &self.active
    }
}

/// Why stored bytes could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable {
    /// True when the entry is damaged or forged (remove it); false when it is intact but not
    /// for us (another key, plaintext while encryption is on): keep it.
    pub corrupt: bool,
    /// The key id of an intact entry sealed with a key this manager does not hold.
    pub(crate) foreign_key: Option<String>,
    /// What is wrong, for the one warning.
    pub(crate) message: String,
}

impl Unusable {
    fn corrupt(message: impl Into<String>) -> Unusable {
        Unusable {
            corrupt: true,
            foreign_key: None,
            message: message.into(),
        }
    }

    fn foreign(message: impl Into<String>) -> Unusable {
        Unusable {
            corrupt: false,
            foreign_key: None,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What an answer built from other cached answers was made of: when its oldest part was
/// read from AWS and when its first part expires (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    /// When the oldest part was read.
    pub read_at: u64,
    /// When the first part expires.
    pub expire_at: u64,
}

impl Parts {
    /// No parts: an answer read from AWS now.
    pub const NONE: Parts = Parts {
        read_at: u64::MAX,
        expire_at: u64::MAX,
    };
}

/// The answer to [`CacheManager::read`].
#[derive(Debug)]
pub enum Read {
    /// The cached answer, when it was read from AWS and when it expires (Unix seconds).
    Hit(Document, u64, u64),
    /// No usable entry. The ticket, when there is one, lets the answer read from AWS next
    /// be stored ([`CacheManager::store`]); without one it must not be (the cache could not
    /// tell which generations the answer would be read against, or the entry belongs to a
    /// machine with other keys and is kept).
    Miss(Option<Ticket>),
}

/// Permission to store the answer to a miss: the generations of its tags as they were
/// before AWS was asked.
#[derive(Debug, Clone)]
pub struct Ticket {
    generations: Generations,
}

/// The cache: a backend plus the envelope, encryption, expiry and failure rules.
pub struct CacheManager {
    backend: Box<dyn CacheBackend>,
    settings: CacheSettings,
    encryption: Option<Encryption>,
    key_state: Option<KeyState>,
    counters: LiveCounters,
    /// Whether this process wrote to the cache (then its counters are saved, see
    /// [`CacheManager::flush_counters`]).
    wrote: AtomicBool,
    warned: AtomicBool,
    warned_foreign_key: AtomicBool,
    warned_stale: AtomicBool,
    warned_invalidation: AtomicBool,
    stale: Option<StaleState>,
    /// False for a manager that only invalidates (its keys are not at hand): it serves and
    /// stores nothing.
    serving: bool,
    quiet: bool,
}

/// The stale-tag marks a manager honours and keeps (see `stale.rs`).
struct StaleState {
    marks: StaleTags,
    /// The locations this cache's marks are filed under: the backend's and those of its
    /// parts (a hybrid cache's table is also a dynamodb cache's).
    caches: Vec<String>,
    /// The marks, loaded on first use (after retrying the invalidations they stand for).
    loaded: Mutex<Option<Stale>>,
}

/// How far ahead of this machine's clock another machine's clock may be before an entry it
/// wrote counts as dated in the future (a miss, removed).
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;

impl CacheManager {
    /// Opens the file backend of `settings` (backends that talk to AWS are built by the
    /// caller, which holds the session, and passed to [`CacheManager::with_backend`]).
    /// Creates nothing on disk until something is written.
    pub fn open(settings: &CacheSettings, quiet: bool) -> Result<CacheManager> {
        let needs_session = || {
            Err(Error::runtime(format!(
                "the {} backend needs an AWS session: build it and use with_backend",
                settings.backend_type.as_str()
            )))
        };
        let parts = super::open::BackendParts {
            table: &needs_session,
            notes: None,
        };
        let backend = super::open::open_backend(settings.backend_type, settings, &parts)?;
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
            key_state: None,
            counters: LiveCounters::default(),
            wrote: AtomicBool::new(false),
            warned: AtomicBool::new(false),
            warned_foreign_key: AtomicBool::new(false),
            warned_stale: AtomicBool::new(false),
            warned_invalidation: AtomicBool::new(false),
            stale: None,
            serving: true,
            quiet,
        }
    }

    /// The same manager, honouring and keeping the stale-tag marks of `marks`: reads under
    /// a marked tag go to AWS, and an invalidation that fails marks its tags.
    pub(crate) fn with_stale_tags(mut self, marks: StaleTags) -> CacheManager {
        let mut caches = vec![self.backend.location()];
        caches.extend(self.backend.parts().iter().map(|(_, part)| part.location()));
        caches.dedup();
        self.stale = Some(StaleState {
            marks,
            caches,
            loaded: Mutex::new(None),
        });
        self
    }

    /// The same manager, sealing new entries with `encryption` and reading only entries that
    /// authenticate under its keys.
    pub fn with_encryption(mut self, encryption: Encryption) -> CacheManager {
        self.encryption = Some(encryption);
        self
    }

    /// The same manager, storing answers only while the encryption state is still `state`
    /// (observed before the settings and keys it was opened with were loaded).
    pub(crate) fn with_key_state(mut self, state: KeyState) -> CacheManager {
        self.key_state = Some(state);
        self
    }

    /// The same manager, only invalidating: every read is a miss that stores nothing. For a
    /// cache whose encryption keys are not at hand: its writes still invalidate what they
    /// change (generations are not encrypted), and its maintenance commands still work,
    /// but nothing is read or written in plaintext in place of encryption.
    pub(crate) fn invalidation_only(mut self) -> CacheManager {
        self.serving = false;
        self
    }

    /// Whether this manager serves and stores answers (see
    /// [`CacheManager::invalidation_only`]).
    pub(crate) fn serves(&self) -> bool {
        self.serving
    }

    /// The backend.
    pub fn backend(&self) -> &dyn CacheBackend {
        self.backend.as_ref()
    }

    /// The settings the cache was opened with.
    pub(crate) fn settings(&self) -> &CacheSettings {
        &self.settings
    }

    /// A miss for `key` whatever is cached, with the ticket to store the answer read from
    /// AWS next (`--refresh`): the generations of `tags` are looked up as for a read.
    pub(crate) fn refresh(&self, key: &CacheKey, tags: &[String]) -> Read {
        if !self.serving || self.stale_tags().covers(tags) {
            return Read::Miss(None);
        }
        match self.backend.lookup(key, tags) {
            Ok(looked) => Read::Miss(
                Some(Ticket {
                    generations: looked.generations.restricted_to(tags),
                })
                .filter(|t| t.generations.covers(tags)),
            ),
            Err(e) => {
                self.warn(&e.to_string());
                Read::Miss(None)
            }
        }
    }

    /// The cached answer for `key`, current for `tags` (see `generation.rs`) and valid for
    /// at most `max_ttl` seconds from now; or a miss (missing, stale, expired, dated in the
    /// future, corrupt or unreadable).
    pub fn read(&self, key: &CacheKey, tags: &[String], max_ttl: u64) -> Read {
        if !self.serving {
            return Read::Miss(None);
        }
        if self.stale_tags().covers(tags) {
            self.count_miss();
            return Read::Miss(None);
        }
        let looked = match self.backend.lookup(key, tags) {
            Ok(looked) => looked,
            Err(e) => {
                self.warn(&e.to_string());
                self.count_miss();
                return Read::Miss(None);
            }
        };
        if let Some(why) = &looked.problem {
            self.warn(why);
        }
        let ticket = Some(Ticket {
            generations: looked.generations.restricted_to(tags),
        })
        .filter(|t| t.generations.covers(tags));
        let Some(bytes) = looked.bytes else {
            self.count_miss();
            return Read::Miss(ticket);
        };
        let now = now_secs();
        let checked = if looked.private {
            Answer::Stored
        } else {
            Answer::Unchecked
        };
        let read = match self.decode_as(bytes, checked) {
            Ok(decoded) if decoded.header.key != key.as_str() => {
                self.corrupt(key, "entry stored under another key");
                Read::Miss(ticket)
            }
            Ok(decoded)
                if decoded.header.created_at > now.saturating_add(MAX_CLOCK_SKEW_SECS)
                    || decoded.header.expires_at
                        > now
                            .saturating_add(max_ttl)
                            .saturating_add(MAX_CLOCK_SKEW_SECS) =>
            {
                self.corrupt(
                    key,
                    "entry dated in the future (written by a machine whose clock is ahead)",
                );
                Read::Miss(ticket)
            }
            Ok(decoded) if decoded.header.expires_at <= now => {
                self.counters.expired.fetch_add(1, Ordering::Relaxed);
                Read::Miss(ticket)
            }
            Ok(decoded) => {
                self.counters.hits.fetch_add(1, Ordering::Relaxed);
                let (created_at, expires_at) =
                    (decoded.header.created_at, decoded.header.expires_at);
                return Read::Hit(decoded.value, created_at, expires_at);
            }
            Err(e) if e.corrupt => {
                self.corrupt(key, &e.message);
                Read::Miss(ticket)
            }
            Err(e) if e.foreign_key.is_some() => {
                self.warn_foreign_key(e.foreign_key.as_deref().unwrap_or("?"));
                // Another machine's entry, intact: kept, not overwritten.
                Read::Miss(None)
            }
            Err(e) => {
                self.warn(&format!("entry {}…: {e}", &key.as_str()[..12]));
                Read::Miss(ticket)
            }
        };
        self.count_miss();
        read
    }

    /// The cached answer for `key` filed under `tags` (tests and tools): a
    /// [`CacheManager::read`] allowing lifetimes of up to a week.
    pub fn get(&self, key: &CacheKey, tags: &[String]) -> Option<Value> {
        match self.read(key, tags, LONGEST_TTL_SECS) {
            Read::Hit(document, ..) => Some(document.into_value()),
            Read::Miss(_) => None,
        }
    }

    /// Stores the answer to a miss, against the generations its ticket recorded; a failure
    /// is a warning, never an error. Not stored when the encryption state changed since this
    /// process loaded its keys (see `keystate.rs`).
    pub(crate) fn store(&self, key: &CacheKey, entry: &NewEntry<'_>, ticket: Ticket) {
        self.store_as_of(key, entry, ticket, Parts::NONE);
    }

    /// Like [`CacheManager::store`], for an answer built from others: dated as old as the
    /// oldest part and expiring with the first part to expire (a composite never outlives
    /// what it was made of, and is not born expired when an old part lives longer).
    pub(crate) fn store_as_of(
        &self,
        key: &CacheKey,
        entry: &NewEntry<'_>,
        ticket: Ticket,
        parts: Parts,
    ) {
        if entry.ttl == 0 || !self.serving {
            return;
        }
        let now = now_secs();
        let created_at = parts.read_at.min(now);
        let expires_at = now.saturating_add(entry.ttl).min(parts.expire_at);
        let header = Header {
            v: 0,
            key: key.to_string(),
            service: entry.service.to_string(),
            operation: entry.operation.to_string(),
            profile: entry.profile.to_string(),
            created_at,
            expires_at,
            encryption: Scheme::None,
            key_id: None,
            gens: ticket.generations.into_map(),
            len: 0,
            checksum: String::new(),
        };
        let expires_at = header.expires_at;
        let params = entry.params.to_string();
        let answer = entry.value.as_str().as_bytes();
        // A plaintext entry is written as its parts (header line, request, answer): a
        // large answer is never copied into a second buffer to be stored.
        let bytes = match self.encryption.as_ref() {
            None => {
                let parts: [&[u8]; 3] = [params.as_bytes(), b"\n", answer];
                let line = Envelope::header_line(header, &parts);
                Stored::Parts {
                    line,
                    params,
                    answer,
                }
            }
            Some(_) => {
                let payload = payload(&params, answer);
                Stored::Joined(encode(self.encryption.as_ref(), header, payload))
            }
        };
        let write = || match &bytes {
            Stored::Parts {
                line,
                params,
                answer,
            } => {
                let parts: [&[u8]; 4] = [line, params.as_bytes(), b"\n", answer];
                self.backend.set_parts(key, &parts, expires_at)
            }
            Stored::Joined(bytes) => self.backend.set(key, bytes, expires_at),
        };
        let stored = match &self.key_state {
            Some(state) => state.while_unchanged(write).map(|done| done.is_some()),
            None => write().map(|()| true),
        };
        match stored {
            Ok(true) => self.wrote.store(true, Ordering::Relaxed),
            Ok(false) => {}
            Err(e) => self.warn(&e.to_string()),
        }
    }

    /// Stores an answer as a read-through would, replacing any entry: looks `key` up, then
    /// stores `entry` against what the lookup saw (tests and tools; commands use
    /// [`CacheManager::read`] and [`CacheManager::store`]).
    pub fn put(&self, key: &CacheKey, entry: &NewEntry<'_>) {
        match self.backend.lookup(key, entry.tags) {
            Ok(looked) => {
                let ticket = Ticket {
                    generations: looked.generations.restricted_to(entry.tags),
                };
                if ticket.generations.covers(entry.tags) {
                    self.store(key, entry, ticket);
                }
            }
            Err(e) => self.warn(&e.to_string()),
        }
    }

    /// Invalidates; a failure is a warning. Returns how many entries were removed or tags
    /// moved on. Tags that could not be moved on are marked stale (see `stale.rs`) and the
    /// warning names the command that invalidates them; tags that were are no longer stale.
    pub(crate) fn invalidate(&self, what: Invalidation<'_>) -> u64 {
        if let Invalidation::Tags(_) = what {
            // Retries earlier failures first, so that a mark this failure adds is not taken
            // for one of theirs.
            self.stale_tags();
        }
        match self.backend.invalidate(what) {
            Ok(n) => {
                self.wrote.store(true, Ordering::Relaxed);
                match what {
                    Invalidation::Tags(tags) => self.landed(Some(tags)),
                    Invalidation::All => self.landed(None),
                    Invalidation::Keys(_) => {}
                }
                n
            }
            Err(e) => {
                match what {
                    Invalidation::Tags(tags) => self.mark_stale(tags, &e),
                    _ => self.warn(&e.to_string()),
                }
                0
            }
        }
    }

    /// Records that the invalidation of `tags` (every tag when `None`: a clear) landed
    /// outside [`CacheManager::invalidate`]: their stale marks are removed.
    pub(crate) fn landed(&self, tags: Option<&[String]>) {
        let Some(state) = &self.stale else { return };
        let mut loaded = state.loaded.lock().unwrap_or_else(|p| p.into_inner());
        let removed = state.marks.clear(&state.caches, tags);
        if let Err(e) = removed {
            self.warn(&format!("removing stale-tag marks: {e}"));
            return;
        }
        let left = match (loaded.take(), tags) {
            (_, None) | (None, _) => None,
            (Some(Stale::Marks(marks)), Some(tags)) => Some(Stale::Marks(
                marks
                    .into_iter()
                    .filter(|m| !tags.contains(&m.tag))
                    .collect(),
            )),
            (Some(other), Some(_)) => Some(other),
        };
        *loaded = left;
    }

    /// The stale marks of this cache, loaded once per process: the first time, the
    /// invalidations they stand for are tried again, and the marks removed where they land.
    pub(crate) fn stale_tags(&self) -> Stale {
        let Some(state) = &self.stale else {
            return Stale::Nothing;
        };
        let mut loaded = state.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(stale) = &*loaded {
            return stale.clone();
        }
        let mut stale = state.marks.load(&state.caches);
        if let Stale::Marks(marks) = &stale
            && !marks.is_empty()
            && !marks.iter().any(|m| m.tag == ALL_TAGS)
        {
            let tags = stale.tags();
            if self.backend.invalidate(Invalidation::Tags(&tags)).is_ok() {
                self.wrote.store(true, Ordering::Relaxed);
                if let Err(e) = state.marks.remove(marks) {
                    self.warn(&format!("removing stale-tag marks: {e}"));
                }
                stale = Stale::Nothing;
            }
        }
        if !stale.is_nothing() {
            self.warn_stale(&stale);
        }
        *loaded = Some(stale.clone());
        stale
    }

    /// Marks `tags` stale after their invalidation failed with `error`, and says so once.
    fn mark_stale(&self, tags: &[String], error: &Error) {
        let marked = match &self.stale {
            Some(state) => {
                let outcome = state.marks.add(&state.caches, tags);
                if outcome.is_ok() {
                    let mut loaded = state.loaded.lock().unwrap_or_else(|p| p.into_inner());
                    *loaded = Some(state.marks.load(&state.caches));
                }
                outcome
            }
            None => Err(Error::runtime("no place to record them")),
        };
        if self.quiet || self.warned_invalidation.swap(true, Ordering::Relaxed) {
            return;
        }
        let fix = clear_command(tags);
        match marked {
            Ok(()) => eprintln!(
                "awsideman: warning: cache: the change is made, but the cached answers it \
                 affects could not be invalidated ({error}); they are read from AWS until an \
                 invalidation lands (the next command tries again; to do it now run '{fix}')"
            ),
            Err(why) => eprintln!(
                "awsideman: warning: cache: the change is made, but the cached answers it \
                 affects could not be invalidated ({error}) nor marked stale ({why}): they may \
                 be shown until they expire; run '{fix}' once the cache works"
            ),
        }
    }

    /// Warns, once per process, that reads under stale tags go to AWS, and how to end it.
    fn warn_stale(&self, stale: &Stale) {
        if self.quiet || self.warned_stale.swap(true, Ordering::Relaxed) {
            return;
        }
        let tags = stale.tags();
        let (what, fix) = if tags.iter().any(|t| t == ALL_TAGS) {
            let why = match stale {
                Stale::Everything(why) => format!(" ({why})"),
                _ => String::new(),
            };
            (
                format!("every cached answer is distrusted{why}"),
                "awsideman cache clear --yes".to_string(),
            )
        } else {
            (
                format!("cached answers under {} are stale", tags.join(", ")),
                clear_command(&tags),
            )
        };
        eprintln!(
            "awsideman: warning: cache: {what} since an earlier change could not invalidate \
             them, and invalidating them again failed; reading them from AWS (run '{fix}' once \
             the cache works)"
        );
    }

    /// Decodes stored bytes into header, parameters and answer, by this manager's rules:
    /// with encryption on, only entries that authenticate under its keys are accepted.
    pub fn decode(&self, bytes: &[u8]) -> Result<Decoded, Unusable> {
        self.decode_owned(bytes.to_vec())
    }

    /// Like [`CacheManager::decode`], reusing the stored bytes' buffer.
    pub fn decode_owned(&self, bytes: Vec<u8>) -> Result<Decoded, Unusable> {
        self.decode_as(bytes.into(), Answer::Unchecked)
    }

    /// Like [`CacheManager::decode_owned`], trusting the answer as `answer` says.
    fn decode_as(&self, bytes: Contents, answer: Answer) -> Result<Decoded, Unusable> {
        let (header, plaintext, start) = open_entry(self.encryption.as_ref(), bytes, true)?;
        parse_payload(header, plaintext, start, answer)
    }

    /// Rewrites stored bytes for `target` (another key set, or `None` for plaintext):
    /// accepts plaintext or any key of this manager. `Ok(None)` when already right.
    pub fn recode(
        &self,
        bytes: &[u8],
        target: Option<&Encryption>,
    ) -> Result<Option<(Header, Vec<u8>)>, Unusable> {
        let (header, plaintext, start) =
            open_entry(self.encryption.as_ref(), bytes.to_vec().into(), false)?;
        let mut plaintext = plaintext.into_vec();
        plaintext.drain(..start);
        let wanted_key = target.map(|t| t.active.as_str());
        if header.key_id.as_deref() == wanted_key {
            return Ok(None);
        }
        let mut fresh = header.clone();
        fresh.encryption = Scheme::None;
        fresh.key_id = None;
        Ok(Some((header, encode(target, fresh, plaintext))))
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

    /// The counters saved by every process so far, plus this one's.
    pub(crate) fn total_counters(&self) -> Counters {
        let mut total = read_counters(&self.stats_path());
        add(&mut total, &self.counters());
        total
    }

    /// Adds this process's counters to `stats.json` and resets them, if this process wrote
    /// to the cache anyway (a command answered entirely from the cache writes nothing, not
    /// even its counters). Best effort, and never waits: when another process holds the
    /// counters' lock, these counts are dropped.
    pub(crate) fn flush_counters(&self) {
        if !self.wrote.load(Ordering::Relaxed) {
            return;
        }
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
        if !matches!(
            crate::fsutil::check_private_dir(dir, dir, &mut |_| {}),
            Ok(true)
        ) {
            return;
        }
        let lock = crate::fsutil::lock_file(
            &dir.join(".stats.lock"),
            crate::fsutil::LockKind::Exclusive,
            std::time::Duration::ZERO,
        );
        if lock.is_err() {
            return;
        }
        let mut total = read_counters(&path);
        add(&mut total, &mine);
        if let Ok(text) = serde_json::to_vec(&total) {
            let _ = crate::fsutil::write_private_atomically(&path, &text);
        }
    }

    /// Resets the persisted counters.
    pub(crate) fn reset_counters(&self) {
        let _ = std::fs::remove_file(self.stats_path());
    }

    fn stats_path(&self) -> PathBuf {
        self.settings.file_cache_dir.join("stats.json")
    }

    fn count_miss(&self) {
        self.counters.misses.fetch_add(1, Ordering::Relaxed);
    }

    fn corrupt(&self, key: &CacheKey, why: &str) {
        self.counters.corrupt.fetch_add(1, Ordering::Relaxed);
        self.warn(&format!("entry {}…: {why}; removed", &key.as_str()[..12]));
        let _ = self
            .backend
            .invalidate(Invalidation::Keys(std::slice::from_ref(key)));
    }

    /// Warns once per process; later problems are silent (they are counted).
    pub(crate) fn warn(&self, message: &str) {
        if !self.quiet && !self.warned.swap(true, Ordering::Relaxed) {
            eprintln!("awsideman: warning: cache: {message} (reading from AWS)");
        }
    }

    /// Warns, once per process, that entries sealed with a key this machine lacks are kept
    /// and bypassed, and how to share keys.
    fn warn_foreign_key(&self, key_id: &str) {
        if !self.quiet && !self.warned_foreign_key.swap(true, Ordering::Relaxed) {
            eprintln!(
                "awsideman: warning: cache: entries sealed with key {key_id}, which this machine \
                 does not hold, are left as they are and read from AWS; to share one encrypted \
                 cache, use cache.encryption_key_source kms, or copy the key with 'awsideman \
                 cache encryption export-key' and 'import-key'"
            );
        }
    }
}

/// The command that invalidates `tags` by hand: `awsideman cache clear --tag T... --yes`.
fn clear_command(tags: &[String]) -> String {
    let mut command = "awsideman cache clear".to_string();
    for tag in tags {
        command.push_str(" --tag ");
        command.push_str(&shell_word(tag));
    }
    command.push_str(" --yes");
    command
}

/// `word` as one shell word: as it is when it holds only safe characters, else single
/// quoted, with control characters escaped so nothing reaches the terminal raw.
fn shell_word(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || ":/._-@+=,".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        return word.to_string();
    }
    let mut quoted = String::from("'");
    for c in word.chars() {
        match c {
            '\'' => quoted.push_str("'\\''"),
            c if c.is_control() => quoted.extend(c.escape_default()),
            c => quoted.push(c),
        }
    }
    quoted.push('\'');
    quoted
}

/// The longest lifetime [`CacheManager::get`] accepts (tests and tools).
const LONGEST_TTL_SECS: u64 = 7 * 86_400;

/// Seals a header and plaintext payload into stored bytes, encrypting when `encryption`
/// is given.
fn encode(encryption: Option<&Encryption>, mut header: Header, payload: Vec<u8>) -> Vec<u8> {
    header.v = FORMAT_VERSION;
    let body = match encryption {
        None => payload,
        Some(encryption) => {
            header.encryption = Scheme::Sealed;
            header.key_id = Some(encryption.active.clone());
            let cipher = &encryption.ciphers[&encryption.active];
            cipher.seal(&associated_data(&header), &payload)
        }
    };
    Envelope::seal(header, body).encode()
}

/// The plaintext payload of an entry: the request parameters on one line, then the answer,
/// so a hit takes the answer's text as it is (no newline occurs in compact JSON).
fn payload(params: &str, answer: &[u8]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(params.len() + 1 + answer.len());
    payload.extend_from_slice(params.as_bytes());
    payload.push(b'\n');
    payload.extend_from_slice(answer);
    payload
}

/// An entry as it is handed to the backend: in parts (header line, request, answer), or
/// joined (a sealed entry).
enum Stored<'a> {
    Parts {
        line: Vec<u8>,
        params: String,
        answer: &'a [u8],
    },
    Joined(Vec<u8>),
}

/// Opens stored bytes: checks the envelope, then authenticates and decrypts an encrypted
/// payload. Returns the header, the buffer holding the plaintext payload and where it
/// starts there (a plaintext entry is not moved; a sealed one is opened into a new
/// buffer). With `strict`, a plaintext entry is refused while encryption is on.
fn open_entry(
    encryption: Option<&Encryption>,
    bytes: Contents,
    strict: bool,
) -> Result<(Header, Contents, usize), Unusable> {
    let (header, bytes, start) = Envelope::decode_in_place(bytes).map_err(|e| match e {
        DecodeError::Version(_) => Unusable::foreign(e.to_string()),
        e => Unusable::corrupt(e.to_string()),
    })?;
    match (&header.encryption, encryption) {
        (Scheme::None, Some(_)) if strict => Err(Unusable::foreign(
            "plaintext entry while encryption is on; it will be replaced",
        )),
        (Scheme::None, _) => Ok((header, bytes, start)),
        (Scheme::Sealed, None) => Err(Unusable::foreign(
            "entry is encrypted and cache encryption is not enabled here",
        )),
        (Scheme::Sealed, Some(encryption)) => {
            let id = header.key_id.clone().unwrap_or_default();
            let cipher = encryption.ciphers.get(&id).ok_or_else(|| Unusable {
                foreign_key: Some(id.clone()),
                ..Unusable::foreign(format!(
                    "entry is encrypted with key {id}, which this machine does not have"
                ))
            })?;
            let plaintext = cipher
                .open(&associated_data(&header), &bytes[start..])
                .map_err(|e| Unusable::corrupt(e.to_string()))?;
            Ok((header, plaintext.into(), 0))
        }
        (other @ (Scheme::HybridCopy | Scheme::Other(_)), _) => {
            Err(Unusable::foreign(format!("unknown encryption {other}")))
        }
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
        "gens": header.gens,
    });
    canonical_json(&fields).into_bytes()
}

/// The header of an entry whose plaintext payload holds an answer a command may be given
/// (checked as a read from shared storage checks it), `None` when it does not. A sealed
/// entry's payload cannot be read without its key, and authenticates instead: kept.
pub(crate) fn answer_header(envelope: Envelope) -> Option<Header> {
    if !matches!(envelope.header.encryption, Scheme::None) {
        return Some(envelope.header);
    }
    parse_payload(
        envelope.header,
        envelope.payload.into(),
        0,
        Answer::Unchecked,
    )
    .ok()
    .map(|decoded| decoded.header)
}

/// How far a stored answer is trusted when read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// From anywhere others can write: checked as JSON before use.
    Unchecked,
    /// From this user's private storage, its checksum matched: the document awsideman
    /// stored, not checked again (at half a megabyte, the check is most of a warm read).
    Stored,
}

/// Splits a plaintext payload into parameters and answer: `params\nanswer` (format 3), or
/// one object `{"params": ..., "value": ...}` (format 2). Every AWS answer is a JSON object:
/// anything else (a string, number, array, boolean or nothing, checksummed or not) is
/// damage, never handed to a command. A [`Answer::Stored`] answer is only checked to be
/// text that opens an object: awsideman wrote it from a document.
fn parse_payload(
    header: Header,
    plaintext: Contents,
    start: usize,
    answer: Answer,
) -> Result<Decoded, Unusable> {
    let not_an_object = || Unusable::corrupt("the cached answer is not a JSON object");
    let payload = plaintext.get(start..).unwrap_or_default();
    if let Some(newline) = payload.iter().position(|&b| b == b'\n') {
        let params: Value = serde_json::from_slice(&payload[..newline])
            .map_err(|e| Unusable::corrupt(format!("parameters are not JSON: {e}")))?;
        let at = start + newline + 1;
        let value = match answer {
            Answer::Unchecked => Document::from_bytes_at(plaintext, at),
            Answer::Stored => Document::from_stored_bytes_at(plaintext, at),
        }
        .map_err(|_| not_an_object())?;
        return Ok(Decoded {
            header,
            params,
            value,
        });
    }
    let payload: Value = serde_json::from_slice(payload)
        .map_err(|e| Unusable::corrupt(format!("payload is not JSON: {e}")))?;
    let Value::Object(mut payload) = payload else {
        return Err(Unusable::corrupt("payload is not an object"));
    };
    let value = payload
        .remove("value")
        .and_then(|value| Document::from_value(&value))
        .ok_or_else(not_an_object)?;
    Ok(Decoded {
        header,
        params: payload.remove("params").unwrap_or(Value::Null),
        value,
    })
}

fn read_counters(path: &std::path::Path) -> Counters {
    crate::fsutil::read_private_file(path, crate::fsutil::Links::Refuse, 64 * 1024)
        .ok()
        .flatten()
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
    use crate::cache::file::FileBackend;
    use crate::config::{BackendType, EncryptionType};

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
        let dir = std::env::temp_dir().join(format!("awsideman-manager-{}", hex::encode(noise)));
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
            encryption_key_source: crate::config::KeySourceKind::Env,
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
        crate::cache::hybrid::testing::key(n as usize)
    }

    fn tags() -> Vec<String> {
        vec!["users:d-1".to_string()]
    }

    fn doc(value: &Value) -> Document {
        Document::from_value(value).unwrap()
    }

    fn entry<'a>(value: &'a Document, tags: &'a [String]) -> NewEntry<'a> {
        NewEntry {
            service: "identitystore",
            operation: "ListUsers",
            profile: "p",
            params: &Value::Null,
            value,
            ttl: 600,
            tags,
        }
    }

    /// The cached answer of `k`, filed under [`tags`].
    fn get(m: &CacheManager, k: &CacheKey) -> Option<Value> {
        m.get(k, &tags())
    }

    fn put(m: &CacheManager, k: &CacheKey, value: Value) {
        m.put(k, &entry(&doc(&value), &tags()));
    }

    fn stored(m: &CacheManager, k: &CacheKey) -> Option<Vec<u8>> {
        m.backend().get(k).unwrap()
    }

    /// A composite is dated by its oldest part and expires with its first part to expire:
    /// built from a part read two hours ago that lives three, it is a hit (not born
    /// expired, as it would be if its own lifetime ran from its oldest part's date).
    #[test]
    fn a_composite_expires_with_its_first_part() {
        let w = world();
        let m = manager(&w, &[], None);
        let now = now_secs();
        let value = doc(&json!({"x": 1}));
        let store = |k: &CacheKey, parts: Parts| {
            let ticket = match m.read(k, &tags(), 600) {
                Read::Miss(Some(ticket)) => ticket,
                other => panic!("{other:?}"),
            };
            m.store_as_of(k, &entry(&value, &tags()), ticket, parts);
        };
        store(
            &key(1),
            Parts {
                read_at: now - 7200,
                expire_at: now + 3 * 3600,
            },
        );
        match m.read(&key(1), &tags(), 600) {
            Read::Hit(_, created_at, expires_at) => {
                assert_eq!(created_at, now - 7200);
                // Its own lifetime (600 s) from now, not from the part's date.
                assert!(
                    (now + 600..=now + 601).contains(&expires_at),
                    "{expires_at}"
                );
            }
            other => panic!("{other:?}"),
        }
        // A part that expires sooner ends it sooner.
        store(
            &key(2),
            Parts {
                read_at: now - 60,
                expire_at: now + 30,
            },
        );
        match m.read(&key(2), &tags(), 600) {
            Read::Hit(_, _, expires_at) => assert_eq!(expires_at, now + 30),
            other => panic!("{other:?}"),
        }
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
        assert_eq!(header.encryption, Scheme::Sealed);
        assert_eq!(header.key_id.as_deref(), Some("k1"));
        assert_eq!(
            get(&m, &key(1)).unwrap()["Users"][0]["UserName"],
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
        m.backend().set(&key(1), &forged, 0).unwrap();
        assert_eq!(get(&m, &key(1)), None);
        assert!(stored(&m, &key(1)).is_none(), "a forged entry is removed");

        // Replayed under another key, with the header's key changed to match.
        put(&m, &key(1), json!({"x": 1}));
        let raw = stored(&m, &key(1)).unwrap();
        let split = raw.iter().position(|&b| b == b'\n').unwrap();
        let mut header: Header = serde_json::from_slice(&raw[..split]).unwrap();
        header.key = key(2).to_string();
        let mut replayed = serde_json::to_vec(&header).unwrap();
        replayed.extend_from_slice(&raw[split..]);
        m.backend().set(&key(2), &replayed, 0).unwrap();
        assert_eq!(get(&m, &key(2)), None);
    }

    #[test]
    fn entries_for_someone_else_are_misses_but_kept() {
        let w = world();
        let k1 = manager(&w, &[("k1", [1; 32])], Some("k1"));
        put(&k1, &key(1), json!({"x": 1}));
        let k2 = manager(&w, &[("k2", [2; 32])], Some("k2"));
        assert_eq!(get(&k2, &key(1)), None, "another machine's key");
        // ... kept: the answer to that miss is not stored over it.
        assert!(matches!(k2.read(&key(1), &tags(), 600), Read::Miss(None)));
        let plain = manager(&w, &[], None);
        assert_eq!(get(&plain, &key(1)), None, "encryption off here");
        assert!(stored(&plain, &key(1)).is_some(), "nothing lost");

        put(&plain, &key(3), json!({"x": 3}));
        assert_eq!(
            get(&k1, &key(3)),
            None,
            "plaintext is not trusted while encryption is on"
        );
        put(&k1, &key(3), json!({"x": 3}));
        assert_eq!(get(&k1, &key(3)).unwrap()["x"], 3);
    }

    /// A miss, then another process's write invalidates, then the answer read before that
    /// write arrives: it is stored, but never served; the next miss's answer is.
    #[test]
    fn an_answer_read_before_another_process_invalidated_is_never_served() {
        let w = world();
        let reader = manager(&w, &[], None);
        let writer = manager(&w, &[], None);
        let Read::Miss(Some(ticket)) = reader.read(&key(1), &tags(), 600) else {
            panic!("a miss with a ticket");
        };
        writer.invalidate(Invalidation::Tags(&tags()));
        let stale = json!({"Users": ["stale"]});
        reader.store(&key(1), &entry(&doc(&stale), &tags()), ticket);
        assert!(stored(&reader, &key(1)).is_some(), "stored");
        let Read::Miss(Some(ticket)) = reader.read(&key(1), &tags(), 600) else {
            panic!("the stale answer is not served");
        };
        let fresh = json!({"Users": ["fresh"]});
        reader.store(&key(1), &entry(&doc(&fresh), &tags()), ticket);
        assert_eq!(get(&reader, &key(1)).unwrap()["Users"][0], "fresh");
        assert_eq!(get(&writer, &key(1)).unwrap()["Users"][0], "fresh");
    }

    /// Entries from a machine whose clock is far ahead, or that claim to live longer than
    /// their operation's TTL allows, are misses and removed.
    #[test]
    fn entries_dated_in_the_future_are_misses() {
        let w = world();
        let m = manager(&w, &[], None);
        let value = doc(&json!({"x": 1}));
        let t = tags();
        let long = NewEntry {
            ttl: 2 * 365 * 86_400,
            ..entry(&value, &t)
        };
        m.put(&key(1), &long);
        assert!(stored(&m, &key(1)).is_some());
        assert!(matches!(
            m.read(&key(1), &tags(), 3600),
            Read::Miss(Some(_))
        ));
        assert!(stored(&m, &key(1)).is_none(), "removed");
        put(&m, &key(2), value.to_value());
        assert!(matches!(m.read(&key(2), &tags(), 600), Read::Hit(..)));
    }

    /// An entry written by an earlier build (format 2: FNV-1a checksum, the payload one
    /// object) is still a hit with the same answer.
    #[test]
    fn entries_of_format_2_are_read() {
        let w = world();
        let m = manager(&w, &[], None);
        let k = key(3);
        put(&m, &k, json!({"x": 1}));
        let mut header = Envelope::decode(&stored(&m, &k).unwrap()).unwrap().header;
        let payload =
            br#"{"params":{"IdentityStoreId":"d-1"},"value":{"Users":[{"UserName":"old"}]}}"#;
        header.v = 2;
        header.len = payload.len() as u64;
        header.checksum = format!(
            "fnv1a64:{:016x}",
            payload
                .iter()
                .fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b))
                    .wrapping_mul(0x0000_0100_0000_01b3))
        );
        let mut bytes = serde_json::to_vec(&header).unwrap();
        bytes.push(b'\n');
        bytes.extend_from_slice(payload);
        m.backend().set(&k, &bytes, u64::MAX).unwrap();
        assert_eq!(get(&m, &k), Some(json!({"Users": [{"UserName": "old"}]})));
    }

    /// A file backend whose lookups say the entry came from storage others can write too,
    /// as DynamoDB's do.
    struct Shared(FileBackend);

    impl CacheBackend for Shared {
        fn name(&self) -> &'static str {
            "shared"
        }
        fn location(&self) -> String {
            self.0.location()
        }
        fn lookup(&self, key: &CacheKey, tags: &[String]) -> Result<crate::cache::backend::Lookup> {
            let looked = self.0.lookup(key, tags)?;
            Ok(crate::cache::backend::Lookup {
                private: false,
                ..looked
            })
        }
        fn get(&self, key: &CacheKey) -> Result<Option<Vec<u8>>> {
            self.0.get(key)
        }
        fn set(&self, key: &CacheKey, bytes: &[u8], expires_at: u64) -> Result<()> {
            self.0.set(key, bytes, expires_at)
        }
        fn generations(&self, tags: &[String]) -> Result<Generations> {
            self.0.generations(tags)
        }
        fn create_generations(&self, wanted: &Generations) -> Result<Generations> {
            self.0.create_generations(wanted)
        }
        fn invalidate(&self, what: Invalidation<'_>) -> Result<u64> {
            self.0.invalidate(what)
        }
        fn entries(&self) -> Result<Vec<super::super::EntryInfo>> {
            self.0.entries()
        }
        fn stats(&self) -> Result<crate::cache::backend::BackendStats> {
            self.0.stats()
        }
        fn health_check(&self) -> Result<()> {
            self.0.health_check()
        }
    }

    /// A cached answer that is not an object (well formed, checksum valid) is a miss and is
    /// removed: no command ever sees it. From shared storage every answer is checked as
    /// JSON; from this user's private files (where only awsideman writes, and the checksum
    /// matched) only its first byte, so there a planted `{` or `{}{}` would be served.
    #[test]
    fn answers_that_are_not_objects_are_misses_and_removed() {
        let w = world();
        let shared = CacheManager::with_backend(
            Box::new(Shared(FileBackend::new(w.dir.clone(), 1 << 20))),
            settings(&w.dir),
            true,
        );
        let private = manager(&w, &[], None);
        let answers = ["\"x\"", "1", "[1]", "true", "null", "", "{", "{}{}"];
        let layouts = answers.iter().flat_map(|answer| {
            [
                format!("{{\"params\":null,\"value\":{answer}}}"),
                format!("null\n{answer}"),
            ]
        });
        let layouts: Vec<String> = layouts.collect();
        for (m, first) in [(&shared, 10), (&private, 100)] {
            for (n, payload) in layouts.iter().enumerate() {
                let k = key(n as u32 + first);
                put(m, &k, json!({"x": 1}));
                let planted = Envelope::decode(&stored(m, &k).unwrap()).unwrap();
                let bytes = Envelope::seal(planted.header, payload.clone().into_bytes()).encode();
                m.backend().set(&k, &bytes, u64::MAX).unwrap();
                if first == 100 && payload.starts_with("null\n{") {
                    // Trusted as awsideman's own; values read from it come out empty.
                    assert_eq!(get(m, &k), Some(json!({})), "{payload}");
                    continue;
                }
                assert_eq!(get(m, &k), None, "{payload}");
                assert!(stored(m, &k).is_none(), "{payload}: removed");
            }
        }
    }

    /// A store lands under the encryption state that holds when it lands: a process that
    /// loaded its keys before a change stores nothing after it.
    #[test]
    fn a_store_after_a_change_of_keys_is_dropped() {
        let w = world();
        let config_dir = w.dir.join("config");
        let m = manager(&w, &[], None).with_key_state(KeyState::observe(&config_dir));
        let Read::Miss(Some(ticket)) = m.read(&key(1), &tags(), 600) else {
            panic!("a miss with a ticket");
        };
        let change = crate::cache::keystate::KeyChange::begin(
            &config_dir,
            std::time::Duration::from_secs(1),
        )
        .unwrap();
        change.switch(|| Ok(())).unwrap();
        drop(change);
        let value = json!({"x": 1});
        m.store(&key(1), &entry(&doc(&value), &tags()), ticket);
        assert!(stored(&m, &key(1)).is_none(), "dropped");
        let fresh = manager(&w, &[], None).with_key_state(KeyState::observe(&config_dir));
        put(&fresh, &key(1), value);
        assert!(stored(&fresh, &key(1)).is_some());
    }

    /// A file backend whose tag invalidations fail while `broken` is set.
    struct Flaky {
        inner: FileBackend,
        broken: std::sync::Arc<AtomicBool>,
    }

    impl CacheBackend for Flaky {
        fn name(&self) -> &'static str {
            "file"
        }
        fn location(&self) -> String {
            self.inner.location()
        }
        fn lookup(&self, key: &CacheKey, tags: &[String]) -> Result<crate::cache::backend::Lookup> {
            self.inner.lookup(key, tags)
        }
        fn get(&self, key: &CacheKey) -> Result<Option<Vec<u8>>> {
            self.inner.get(key)
        }
        fn set(&self, key: &CacheKey, bytes: &[u8], expires_at: u64) -> Result<()> {
            self.inner.set(key, bytes, expires_at)
        }
        fn generations(&self, tags: &[String]) -> Result<Generations> {
            self.inner.generations(tags)
        }
        fn create_generations(&self, wanted: &Generations) -> Result<Generations> {
            self.inner.create_generations(wanted)
        }
        fn invalidate(&self, what: Invalidation<'_>) -> Result<u64> {
            match what {
                Invalidation::Tags(_) if self.broken.load(Ordering::Relaxed) => {
                    Err(Error::runtime("the cache is broken"))
                }
                what => self.inner.invalidate(what),
            }
        }
        fn entries(&self) -> Result<Vec<super::super::EntryInfo>> {
            self.inner.entries()
        }
        fn stats(&self) -> Result<crate::cache::backend::BackendStats> {
            self.inner.stats()
        }
        fn health_check(&self) -> Result<()> {
            self.inner.health_check()
        }
    }

    /// A write whose invalidation fails marks its tags stale: no process serves the entry
    /// it should have invalidated; the next one that can invalidates, and removes the mark.
    #[test]
    fn a_failed_invalidation_never_leaves_a_stale_read() {
        let w = world();
        let broken = std::sync::Arc::new(AtomicBool::new(false));
        let flaky = || {
            let backend = Flaky {
                inner: FileBackend::new(w.dir.clone(), 1 << 20),
                broken: broken.clone(),
            };
            CacheManager::with_backend(Box::new(backend), settings(&w.dir), true).with_stale_tags(
                StaleTags::new(&w.dir.join("config"), std::time::Duration::from_secs(1)),
            )
        };
        let writer = flaky();
        put(&writer, &key(1), json!({"Users": ["old"]}));
        assert!(get(&writer, &key(1)).is_some());
        broken.store(true, Ordering::Relaxed);
        assert_eq!(writer.invalidate(Invalidation::Tags(&tags())), 0);
        assert_eq!(get(&writer, &key(1)), None, "not served by the writer");
        assert!(stored(&writer, &key(1)).is_some(), "still stored");

        // Another process, the cache still broken: reads go to AWS and store nothing.
        let other = flaky();
        assert!(matches!(
            other.read(&key(1), &tags(), 600),
            Read::Miss(None)
        ));
        assert_eq!(other.stale_tags().tags(), tags());
        // Tags nobody marked are served as usual.
        let elsewhere = vec!["groups:d-1".to_string()];
        other.put(&key(2), &entry(&doc(&json!({"x": 2})), &elsewhere));
        assert!(other.get(&key(2), &elsewhere).is_some());

        // Mended: the next process invalidates first, then removes the mark.
        broken.store(false, Ordering::Relaxed);
        let next = flaky();
        let Read::Miss(Some(ticket)) = next.read(&key(1), &tags(), 600) else {
            panic!("the stale entry is a miss that may be refilled");
        };
        assert!(next.stale_tags().is_nothing());
        assert!(
            !w.dir
                .join("config")
                .join(super::super::stale::MARKS_FILE)
                .exists()
        );
        let fresh = json!({"Users": ["new"]});
        next.store(&key(1), &entry(&doc(&fresh), &tags()), ticket);
        assert_eq!(get(&flaky(), &key(1)).unwrap()["Users"][0], "new");
    }

    #[test]
    fn clear_commands_are_shell_words() {
        assert_eq!(
            clear_command(&["users:d-1".into(), "permset:arn:aws:sso:::x/y".into()]),
            "awsideman cache clear --tag users:d-1 --tag permset:arn:aws:sso:::x/y --yes"
        );
        assert_eq!(shell_word("a b'c\u{1b}"), "'a b'\\''c\\u{1b}'");
    }

    #[test]
    fn rotation_reads_old_entries_and_recodes_them() {
        let w = world();
        let old = manager(&w, &[("k1", [1; 32])], Some("k1"));
        put(&old, &key(1), json!({"x": 1}));
        let both = manager(&w, &[("k1", [1; 32]), ("k2", [2; 32])], Some("k2"));
        assert_eq!(
            get(&both, &key(1)).unwrap()["x"],
            1,
            "readable during rotation"
        );
        let target = Encryption::new("k2", [("k2", &[2u8; 32])]).unwrap();
        let raw = stored(&both, &key(1)).unwrap();
        let (_, bytes) = both.recode(&raw, Some(&target)).unwrap().unwrap();
        both.backend().set(&key(1), &bytes, 0).unwrap();
        let new = manager(&w, &[("k2", [2; 32])], Some("k2"));
        assert_eq!(
            get(&new, &key(1)).unwrap()["x"],
            1,
            "readable with the new key alone"
        );
        // Already on the target key: nothing to do.
        assert!(new.recode(&bytes, Some(&target)).unwrap().is_none());
        // Back to plaintext.
        let (_, plain) = new.recode(&bytes, None).unwrap().unwrap();
        assert_eq!(
            Envelope::decode_header(&plain).unwrap().encryption,
            Scheme::None
        );
    }
}
