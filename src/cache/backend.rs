//! The storage interface every cache backend implements. Backends store opaque envelopes
//! (`envelope.rs`); they never see decoded AWS data or keys to decrypt it.

use std::time::SystemTime;

use super::envelope::Header;
use super::key::CacheKey;
use crate::error::Result;

/// What to remove.
#[derive(Debug, Clone, Copy)]
pub enum Invalidation<'a> {
    /// These entries.
    Keys(&'a [CacheKey]),
    /// Every entry filed under one of these tags.
    Tags(&'a [String]),
    /// Everything.
    All,
}

/// One stored entry, as listed (the header is `None` when it cannot be read).
#[derive(Debug, Clone)]
pub struct EntryInfo {
    /// The entry's key.
    pub key: CacheKey,
    /// Stored size in bytes.
    pub size: u64,
    /// When it was last written or read, where the backend knows.
    pub accessed: Option<SystemTime>,
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
    /// The stored bytes of `key`, or `None`.
    fn get(&self, key: &CacheKey) -> Result<Option<Vec<u8>>>;
    /// Stores `bytes` under `key`, filed under `tags`, valid until `expires_at` (Unix seconds).
    fn set(&self, key: &CacheKey, bytes: &[u8], tags: &[String], expires_at: u64) -> Result<()>;
    /// Stores an answer read from AWS no earlier than `since` (Unix nanoseconds), like
    /// [`CacheBackend::set`], unless one of `tags` was invalidated at or after `since`: the
    /// answer may then predate the write that invalidated it, and storing it would serve
    /// that stale answer until it expires. Returns whether it was stored.
    ///
    /// Backends that keep no record of invalidations (the default) store it anyway.
    fn set_unless_invalidated(
        &self,
        key: &CacheKey,
        bytes: &[u8],
        tags: &[String],
        expires_at: u64,
        since: u128,
    ) -> Result<bool> {
        let _ = since;
        self.set(key, bytes, tags, expires_at).map(|()| true)
    }
    /// Removes entries; returns how many were removed.
    fn invalidate(&self, what: Invalidation<'_>) -> Result<u64>;
    /// Removes every entry, like `invalidate(Invalidation::All)`, calling `progress` with the
    /// number removed so far where the backend can tell (clearing a large shared table takes
    /// a while). Returns how many were removed.
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
