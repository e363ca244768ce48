//! The storage interface every cache backend implements. Backends store opaque envelopes
//! (`envelope.rs`) and the tag generations (`generation.rs`); they read no more of an
//! entry than its header, and never hold a key to decrypt it.

use super::envelope::{Header, Scheme};
use super::generation::Generations;
use super::key::CacheKey;
use crate::error::Result;
use crate::fsutil::Contents;

/// What to invalidate.
#[derive(Debug, Clone, Copy)]
pub enum Invalidation<'a> {
    /// Remove these entries.
    Keys(&'a [CacheKey]),
    /// Give each of these tags a new generation: every entry that recorded an older one is
    /// a miss from then on.
    Tags(&'a [String]),
    /// Remove everything: entries and generations.
    All,
}

/// The answer to a [`CacheBackend::lookup`].
#[derive(Debug, Default)]
pub struct Lookup {
    /// The stored entry, when there is one whose header records, for every tag asked
    /// about, the generation that is current now (a large entry file is mapped, not read).
    pub bytes: Option<Contents>,
    /// The current generation of every tag asked about, each created if it had none: what
    /// an answer read from AWS after this lookup is stored against.
    pub generations: Generations,
    /// Something to report once that did not prevent the lookup: a damaged entry found (and
    /// removed) instead of an entry, one side of a hybrid cache that failed.
    pub problem: Option<String>,
    /// The entry comes from storage only this user can write (the file backend's private
    /// directory), where nothing but this user's awsideman puts entries: once its checksum
    /// matches, its answer is the document awsideman stored, and need not be checked as
    /// JSON again. False for anything shared (DynamoDB, and the hybrid cache's local
    /// copies of shared entries).
    pub private: bool,
}

/// One stored entry, as listed (the header is `None` when it cannot be read).
#[derive(Debug, Clone)]
pub struct EntryInfo {
    /// The entry's key.
    pub key: CacheKey,
    /// Stored size in bytes.
    pub size: u64,
    /// The decoded header, or `None` for an unreadable entry.
    pub header: Option<Header>,
}

/// Size figures of a backend.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackendStats {
    /// Number of entries.
    pub entries: u64,
    /// Bytes used by entries.
    pub bytes: u64,
    /// The size limit, if the backend enforces one.
    pub limit_bytes: Option<u64>,
}

/// A place cache entries are kept.
pub trait CacheBackend: Send + Sync {
    /// `file`, `dynamodb`, `hybrid`.
    fn name(&self) -> &'static str;
    /// Where the entries are, for people (`~/.awsideman/cache`, a table ARN).
    fn location(&self) -> String;
    /// Whether other machines read and write these entries too (a DynamoDB table).
    fn shared_between_machines(&self) -> bool {
        false
    }
    /// The entry of `key` if it is current for `tags` (see [`Lookup`]), with the current
    /// generations of `tags`. A tag without a generation gets one first (a miss is about to
    /// read AWS), so this may write even when it finds nothing; a hit writes nothing.
    fn lookup(&self, key: &CacheKey, tags: &[String]) -> Result<Lookup>;
    /// The stored bytes of `key`, current or not (tools: inspect, re-encryption, migration).
    fn get(&self, key: &CacheKey) -> Result<Option<Vec<u8>>>;
    /// Stores `bytes` (an envelope whose header records the generations it was read
    /// against) under `key`, valid until `expires_at` (Unix seconds).
    fn set(&self, key: &CacheKey, bytes: &[u8], expires_at: u64) -> Result<()>;
    /// Like [`CacheBackend::set`], for bytes given in parts that follow one another (an
    /// entry's header line, then its answer as the caller holds it). A backend that writes
    /// them one by one never joins them; by default they are joined.
    fn set_parts(&self, key: &CacheKey, parts: &[&[u8]], expires_at: u64) -> Result<()> {
        self.set(key, &parts.concat(), expires_at)
    }
    /// The current generations of `tags`; a tag without one is left out. Reads only.
    fn generations(&self, tags: &[String]) -> Result<Generations>;
    /// Gives each tag of `wanted` that has no generation the token `wanted` names (never
    /// replacing one), and returns the current generation of every tag of `wanted`.
    fn create_generations(&self, wanted: &Generations) -> Result<Generations>;
    /// Invalidates (see [`Invalidation`]); returns how many entries were removed or how
    /// many tags moved on.
    fn invalidate(&self, what: Invalidation<'_>) -> Result<u64>;
    /// Removes every entry and generation, like `invalidate(Invalidation::All)`, calling
    /// `progress` with the number of entries removed so far where the backend can tell
    /// (clearing a large shared table takes a while). Returns how many were removed.
    fn clear_all(&self, progress: &(dyn Fn(u64) + Sync)) -> Result<u64> {
        let _ = progress;
        self.invalidate(Invalidation::All)
    }
    /// Every entry, with its header where readable.
    fn entries(&self) -> Result<Vec<EntryInfo>>;
    /// Size figures.
    fn stats(&self) -> Result<BackendStats>;
    /// Checks the backend works (write, read and delete a probe).
    fn health_check(&self) -> Result<()>;

    /// The backends this one is made of, named (`local`, `remote`), for status reports;
    /// none for a simple backend.
    fn parts(&self) -> Vec<(&'static str, &dyn CacheBackend)> {
        Vec::new()
    }
}

/// The generations to create for `tags` that `found` lacks: a fresh token each.
pub(crate) fn missing_generations(tags: &[String], found: &Generations) -> Result<Generations> {
    let mut wanted = Generations::new();
    for tag in tags {
        if found.get(tag).is_none() {
            wanted.insert(tag.clone(), super::generation::new_token()?);
        }
    }
    Ok(wanted)
}

/// A fresh random key for a health probe (never the key of an answer).
pub(crate) fn probe_key() -> Result<CacheKey> {
    let token = super::generation::new_token()?;
    let digest = <sha2::Sha256 as sha2::Digest>::digest(format!("awsideman-probe-{token}"));
    CacheKey::parse(&hex::encode(digest))
        .ok_or_else(|| crate::error::Error::runtime("making a probe key: not a key"))
}

/// A small envelope under `key` for health probes, valid for a minute.
pub(crate) fn probe_entry(key: &CacheKey) -> Vec<u8> {
    let now = crate::clock::now_secs();
    super::envelope::Envelope::seal(
        Header {
            v: super::envelope::FORMAT_VERSION,
            key: key.to_string(),
            service: "awsideman".into(),
            operation: "HealthCheck".into(),
            profile: String::new(),
            created_at: now,
            expires_at: now + 60,
            encryption: Scheme::None,
            key_id: None,
            gens: Default::default(),
            len: 0,
            checksum: String::new(),
        },
        b"probe".to_vec(),
    )
    .encode()
}
