//! The file backend: one file per entry under `cache.file_cache_dir`.
//!
//! Layout: `entries/<key>` (0600), `tags/<digest of tag>` (append-only lists of keys),
//! `fences/<digest of tag>` (when the tag was last invalidated, so an answer read from AWS
//! before that is not stored after it), `.lock` (advisory lock taken by every writer),
//! `stats.json` (hit/miss counters); the directories are 0700. Entries are written to a
//! unique temporary file and renamed, so a reader sees a whole old entry or a whole new one,
//! never a partial one; readers take no lock. Entries are not synced to disk: one damaged by
//! a power loss fails its checksum or MAC and is a miss, and a sync per entry would make
//! filling the cache slower than asking AWS. `max_size_mb` is enforced after each write by
//! evicting expired entries, then the least recently used (checked on a process's first
//! write and every 32nd).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use super::backend::{BackendStats, CacheBackend, EntryInfo, Invalidation};
use super::envelope::Envelope;
use super::key::{CacheKey, hex};
use crate::error::{Error, Result};
use crate::fsutil::{Durability, write_private_temp_with};
pub use crate::fsutil::{create_private_dir, private_options};

/// The size limit is checked on a process's first write and every this many after, so
/// writing N entries costs N, not N² directory listings; the cache can exceed the limit
/// by at most this many entries in between.
const LIMIT_CHECK_EVERY: u64 = 32;

/// A temporary entry file older than this was left by a crashed writer.
const STALE_TEMP: std::time::Duration = std::time::Duration::from_secs(600);

/// A tag index longer than this is compacted on the next write to it.
const TAG_COMPACT_BYTES: u64 = 64 * 1024;

/// How long an invalidation fence (`fences/<digest of tag>`: when the tag was last
/// invalidated) is kept. An answer read from AWS longer ago than this is not stored at all:
/// the fence that would have refused it may be gone.
const FENCE_WINDOW: std::time::Duration = std::time::Duration::from_secs(3600);

/// The file backend.
#[derive(Debug)]
pub struct FileBackend {
    dir: PathBuf,
    limit_bytes: u64,
    /// Writes by this process, to check the size limit on the first and every
    /// [`LIMIT_CHECK_EVERY`]th one rather than listing the directory on every write.
    writes: std::sync::atomic::AtomicU64,
}

impl Clone for FileBackend {
    fn clone(&self) -> FileBackend {
        FileBackend::new(self.dir.clone(), self.limit_bytes)
    }
}

impl FileBackend {
    /// A backend rooted at `dir` holding at most `limit_bytes` of entries. Creates nothing
    /// until the first write.
    pub fn new(dir: PathBuf, limit_bytes: u64) -> FileBackend {
        FileBackend {
            dir,
            limit_bytes,
            writes: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entries_dir(&self) -> PathBuf {
        self.dir.join("entries")
    }

    fn tags_dir(&self) -> PathBuf {
        self.dir.join("tags")
    }

    fn entry_path(&self, key: &CacheKey) -> PathBuf {
        self.entries_dir().join(key.as_str())
    }

    fn tag_path(&self, tag: &str) -> PathBuf {
        self.tags_dir()
            .join(&hex(&Sha256::digest(tag.as_bytes()))[..40])
    }

    fn fences_dir(&self) -> PathBuf {
        self.dir.join("fences")
    }

    fn fence_path(&self, tag: &str) -> PathBuf {
        self.fences_dir()
            .join(&hex(&Sha256::digest(tag.as_bytes()))[..40])
    }

    /// Records (under the writers' lock) that `tag` was invalidated at `now` (Unix
    /// nanoseconds). Kept apart from the tag indexes, which `clear` removes: a clear must not
    /// let an answer read before a recent invalidation in.
    fn fence(&self, tag: &str, now: u128) -> Result<()> {
        let temp = write_private_temp_with(
            &self.fences_dir(),
            now.to_string().as_bytes(),
            Durability::Unsynced,
        )?;
        let path = self.fence_path(tag);
        fs::rename(&temp, &path).map_err(|e| {
            let _ = fs::remove_file(&temp);
            io_error("storing", &path, e)
        })
    }

    /// Whether one of `tags` was invalidated at or after `since` (read under the writers'
    /// lock). A fence that cannot be read counts as one: not caching is always safe.
    fn fenced(&self, tags: &[String], since: u128) -> bool {
        tags.iter()
            .any(|tag| match fs::read_to_string(self.fence_path(tag)) {
                Ok(text) => text
                    .trim()
                    .parse::<u128>()
                    .ok()
                    .is_none_or(|at| at >= since),
                Err(e) => e.kind() != io::ErrorKind::NotFound,
            })
    }

    /// Stores an entry; with `since`, only when none of `tags` was invalidated at or after
    /// it (see [`CacheBackend::set_unless_invalidated`]). Returns whether it was stored.
    fn store(
        &self,
        key: &CacheKey,
        bytes: &[u8],
        tags: &[String],
        since: Option<u128>,
    ) -> Result<bool> {
        if since.is_some_and(|since| now_nanos().saturating_sub(since) > FENCE_WINDOW.as_nanos()) {
            return Ok(false);
        }
        let temp = write_private_temp_with(&self.entries_dir(), bytes, Durability::Unsynced)?;
        let _lock = self.lock()?;
        // Checked under the lock that invalidations hold while they remove entries and set
        // fences: either the invalidation finds this entry, or this write sees its fence.
        if since.is_some_and(|since| self.fenced(tags, since)) {
            let _ = fs::remove_file(&temp);
            return Ok(false);
        }
        let path = self.entry_path(key);
        if let Err(e) = fs::rename(&temp, &path) {
            let _ = fs::remove_file(&temp);
            return Err(io_error("storing", &path, e));
        }
        for tag in tags {
            self.append_tag(tag, key)?;
        }
        let writes = self
            .writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if writes.is_multiple_of(LIMIT_CHECK_EVERY) {
            self.enforce_limit()?;
        }
        Ok(true)
    }

    /// Takes the writers' lock (released when the returned file is dropped).
    fn lock(&self) -> Result<File> {
        create_private_dir(&self.dir)?;
        let path = self.dir.join(".lock");
        let file = private_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_error("opening", &path, e))?;
        file.lock().map_err(|e| io_error("locking", &path, e))?;
        Ok(file)
    }

    fn append_tag(&self, tag: &str, key: &CacheKey) -> Result<()> {
        create_private_dir(&self.tags_dir())?;
        let path = self.tag_path(tag);
        let mut file = private_options()
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| io_error("opening", &path, e))?;
        file.write_all(format!("{key}\n").as_bytes())
            .map_err(|e| io_error("writing", &path, e))?;
        if file.metadata().map(|m| m.len()).unwrap_or(0) > TAG_COMPACT_BYTES {
            self.compact_tag(&path)?;
        }
        Ok(())
    }

    /// Rewrites a tag index without duplicates and without keys whose entry is gone.
    fn compact_tag(&self, path: &Path) -> Result<()> {
        let mut keys = read_keys(path)?;
        keys.sort();
        keys.dedup();
        keys.retain(|k| self.entry_path(k).exists());
        let text: String = keys.iter().map(|k| format!("{k}\n")).collect();
        let temp =
            write_private_temp_with(&self.tags_dir(), text.as_bytes(), Durability::Unsynced)?;
        fs::rename(&temp, path).map_err(|e| io_error("replacing", path, e))
    }

    fn remove_entry(&self, key: &CacheKey) -> Result<bool> {
        let path = self.entry_path(key);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error("removing", &path, e)),
        }
    }

    /// Entry files with size and modification time (last access).
    fn scan(&self) -> Result<Vec<(CacheKey, u64, SystemTime)>> {
        let dir = self.entries_dir();
        let listing = match fs::read_dir(&dir) {
            Ok(listing) => listing,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error("listing", &dir, e)),
        };
        let mut found = Vec::new();
        for item in listing.flatten() {
            let name = item.file_name();
            let Some(key) = name.to_str().and_then(CacheKey::parse) else {
                continue;
            };
            if let Ok(meta) = item.metadata() {
                found.push((key, meta.len(), meta.modified().unwrap_or(UNIX_EPOCH)));
            }
        }
        Ok(found)
    }

    /// Evicts expired entries, then the least recently used, until under the limit.
    fn enforce_limit(&self) -> Result<()> {
        let mut entries = self.scan()?;
        let mut total: u64 = entries.iter().map(|e| e.1).sum();
        if total <= self.limit_bytes {
            return Ok(());
        }
        let now = now_secs();
        let expired =
            |key: &CacheKey| read_header(&self.entry_path(key)).is_none_or(|h| h.expires_at <= now);
        // Expired (or unreadable) first, then oldest access first.
        entries.sort_by_key(|(key, _, accessed)| (!expired(key), *accessed));
        for (key, size, _) in entries {
            if total <= self.limit_bytes {
                break;
            }
            if self.remove_entry(&key)? {
                total = total.saturating_sub(size);
            }
        }
        Ok(())
    }
}

impl CacheBackend for FileBackend {
    fn name(&self) -> &'static str {
        "file"
    }

    fn location(&self) -> String {
        self.dir.display().to_string()
    }

    fn get(&self, key: &CacheKey) -> Result<Option<Vec<u8>>> {
        let path = self.entry_path(key);
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("opening", &path, e)),
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| io_error("reading", &path, e))?;
        // Record the access for least-recently-used eviction; best effort.
        if let Ok(file) = OpenOptions::new().write(true).open(&path) {
            let _ = file.set_modified(SystemTime::now());
        }
        Ok(Some(bytes))
    }

    fn set(&self, key: &CacheKey, bytes: &[u8], tags: &[String], _expires_at: u64) -> Result<()> {
        self.store(key, bytes, tags, None).map(|_| ())
    }

    fn set_unless_invalidated(
        &self,
        key: &CacheKey,
        bytes: &[u8],
        tags: &[String],
        _expires_at: u64,
        since: u128,
    ) -> Result<bool> {
        self.store(key, bytes, tags, Some(since))
    }

    fn invalidate(&self, what: Invalidation<'_>) -> Result<u64> {
        if !self.dir.exists() {
            return Ok(0);
        }
        let _lock = self.lock()?;
        let mut removed = 0;
        match what {
            Invalidation::Keys(keys) => {
                for key in keys {
                    removed += u64::from(self.remove_entry(key)?);
                }
            }
            Invalidation::Tags(tags) => {
                let now = now_nanos();
                for tag in tags {
                    let path = self.tag_path(tag);
                    for key in read_keys(&path)? {
                        removed += u64::from(self.remove_entry(&key)?);
                    }
                    match fs::remove_file(&path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(io_error("removing", &path, e)),
                    }
                    // Under the lock, like the writes that check it: set before or after the
                    // removals, a write sees either the fence or no removal.
                    self.fence(tag, now)?;
                }
            }
            Invalidation::All => {
                for (key, _, _) in self.scan()? {
                    removed += u64::from(self.remove_entry(&key)?);
                }
                // Tag indexes are only written under the lock: all can go. Temporary entry
                // files belong to writers still at work (they write before locking), so
                // only those a crash left behind long ago are removed.
                remove_files(&self.tags_dir(), |_| true);
                let stale = SystemTime::now() - STALE_TEMP;
                remove_files(&self.entries_dir(), |item| {
                    item.file_name().to_string_lossy().starts_with(".tmp-")
                        && item
                            .metadata()
                            .and_then(|m| m.modified())
                            .is_ok_and(|t| t < stale)
                });
                // Fences outlive a clear (see `fence`), but not their window.
                let expired = SystemTime::now() - FENCE_WINDOW;
                remove_files(&self.fences_dir(), |item| {
                    item.metadata()
                        .and_then(|m| m.modified())
                        .is_ok_and(|t| t < expired)
                });
            }
        }
        Ok(removed)
    }

    fn entries(&self) -> Result<Vec<EntryInfo>> {
        Ok(self
            .scan()?
            .into_iter()
            .map(|(key, size, accessed)| EntryInfo {
                header: read_header(&self.entry_path(&key)),
                key,
                size,
                accessed: Some(accessed),
            })
            .collect())
    }

    fn stats(&self) -> Result<BackendStats> {
        let entries = self.scan()?;
        Ok(BackendStats {
            entries: entries.len() as u64,
            bytes: entries.iter().map(|e| e.1).sum(),
            limit_bytes: Some(self.limit_bytes),
        })
    }

    fn health_check(&self) -> Result<()> {
        let probe = CacheKey::new(
            &super::key::Namespace {
                profile: "health".into(),
                region: "probe".into(),
            },
            "awsideman",
            "HealthCheck",
            &serde_json::json!({"pid": std::process::id()}),
        );
        self.set(&probe, b"probe", &[], now_secs() + 60)?;
        let read = self.get(&probe)?;
        self.invalidate(Invalidation::Keys(std::slice::from_ref(&probe)))?;
        match read.as_deref() {
            Some(b"probe") => Ok(()),
            _ => Err(Error::runtime(format!(
                "cache {}: a probe entry did not read back",
                self.dir.display()
            ))),
        }
    }
}

/// Removes the files of `dir` that `wanted` accepts (best effort).
fn remove_files(dir: &Path, wanted: impl Fn(&fs::DirEntry) -> bool) {
    if let Ok(listing) = fs::read_dir(dir) {
        for item in listing.flatten() {
            if wanted(&item) {
                let _ = fs::remove_file(item.path());
            }
        }
    }
}

/// The header of an entry file, reading only its first line.
fn read_header(path: &Path) -> Option<super::envelope::Header> {
    let mut file = File::open(path).ok()?;
    let mut head = vec![0u8; 16 * 1024];
    let n = file.read(&mut head).ok()?;
    Envelope::decode_header(&head[..n]).ok()
}

fn read_keys(path: &Path) -> Result<Vec<CacheKey>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(text.lines().filter_map(CacheKey::parse).collect()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io_error("reading", path, e)),
    }
}

/// Nanoseconds since the Unix epoch.
pub fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn io_error(what: &str, path: &Path, e: io::Error) -> Error {
    Error::runtime(format!("{what} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_backend(limit: u64) -> (FileBackend, PathBuf) {
        let mut noise = [0u8; 6];
        getrandom::getrandom(&mut noise).unwrap();
        let dir = std::env::temp_dir().join(format!("awsideman-file-{}", hex(&noise)));
        (FileBackend::new(dir.clone(), limit), dir)
    }

    fn key(n: u32) -> CacheKey {
        CacheKey::new(
            &super::super::key::Namespace {
                profile: "p".into(),
                region: "r".into(),
            },
            "s",
            "Op",
            &serde_json::json!({ "n": n }),
        )
    }

    #[test]
    fn set_get_invalidate_by_key_tag_and_all() {
        let (b, dir) = temp_backend(1 << 20);
        assert_eq!(b.get(&key(1)).unwrap(), None);
        b.set(&key(1), b"one", &["t:a".into()], 0).unwrap();
        b.set(&key(2), b"two", &["t:a".into(), "t:b".into()], 0)
            .unwrap();
        b.set(&key(3), b"three", &["t:b".into()], 0).unwrap();
        assert_eq!(b.get(&key(1)).unwrap().as_deref(), Some(&b"one"[..]));
        assert_eq!(
            b.invalidate(Invalidation::Tags(&["t:a".into()])).unwrap(),
            2
        );
        assert_eq!(b.get(&key(1)).unwrap(), None);
        assert_eq!(b.get(&key(2)).unwrap(), None);
        assert!(b.get(&key(3)).unwrap().is_some());
        assert_eq!(b.invalidate(Invalidation::Keys(&[key(3)])).unwrap(), 1);
        b.set(&key(4), b"four", &[], 0).unwrap();
        assert_eq!(b.invalidate(Invalidation::All).unwrap(), 1);
        assert_eq!(b.stats().unwrap().entries, 0);
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn private_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let (b, dir) = temp_backend(1 << 20);
        b.set(&key(1), b"x", &["t".into()], 0).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("entries")), 0o700);
        assert_eq!(mode(&b.entry_path(&key(1))), 0o600);
        assert_eq!(mode(&b.tag_path("t")), 0o600);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn size_limit_evicts_least_recently_used() {
        let (b, dir) = temp_backend(2500);
        let blob = vec![b'x'; 1000];
        b.set(&key(1), &blob, &[], 0).unwrap();
        b.set(&key(2), &blob, &[], 0).unwrap();
        // Make entry 1 the most recently used.
        let old = SystemTime::now() - std::time::Duration::from_secs(60);
        OpenOptions::new()
            .write(true)
            .open(b.entry_path(&key(2)))
            .unwrap()
            .set_modified(old)
            .unwrap();
        b.get(&key(1)).unwrap();
        // A new process's first write checks the limit.
        let b = b.clone();
        b.set(&key(3), &blob, &[], 0).unwrap();
        assert!(
            b.get(&key(2)).unwrap().is_none(),
            "least recently used is evicted"
        );
        assert!(b.get(&key(1)).unwrap().is_some());
        assert!(b.get(&key(3)).unwrap().is_some());
        assert!(b.stats().unwrap().bytes <= 2500);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn one_process_stays_within_the_limit_plus_the_check_interval() {
        let (b, dir) = temp_backend(10_000);
        let blob = vec![b'x'; 1000];
        for n in 0..200 {
            b.set(&key(n), &blob, &[], 0).unwrap();
            let bytes = b.stats().unwrap().bytes;
            assert!(
                bytes <= 10_000 + LIMIT_CHECK_EVERY * 1000,
                "{bytes} after {n}"
            );
        }
        fs::remove_dir_all(dir).unwrap();
    }

    /// The race a fence closes: a process misses, reads AWS, and meanwhile another one
    /// changes the data and invalidates; the answer read before the change must not be
    /// stored after the invalidation.
    #[test]
    fn an_answer_read_before_an_invalidation_is_not_stored_after_it() {
        let (b, dir) = temp_backend(1 << 20);
        let tags = ["users:d-1".to_string()];
        let before = now_nanos();
        b.set(&key(9), b"other", &["groups:d-1".into()], 0).unwrap();
        assert_eq!(b.invalidate(Invalidation::Tags(&tags)).unwrap(), 0);
        assert!(
            !b.set_unless_invalidated(&key(1), b"stale", &tags, 0, before)
                .unwrap(),
            "read before the invalidation"
        );
        assert_eq!(b.get(&key(1)).unwrap(), None);
        // Other tags are not fenced; an answer read after the invalidation is stored.
        assert!(
            b.set_unless_invalidated(&key(2), b"x", &["groups:d-1".into()], 0, before)
                .unwrap()
        );
        let after = now_nanos();
        assert!(
            b.set_unless_invalidated(&key(1), b"fresh", &tags, 0, after)
                .unwrap()
        );
        assert_eq!(b.get(&key(1)).unwrap().as_deref(), Some(&b"fresh"[..]));
        // A clear keeps recent fences; an answer read too long ago is never stored.
        b.invalidate(Invalidation::All).unwrap();
        assert!(
            !b.set_unless_invalidated(&key(1), b"stale", &tags, 0, before)
                .unwrap()
        );
        let ancient = now_nanos() - FENCE_WINDOW.as_nanos() - 1;
        assert!(
            !b.set_unless_invalidated(&key(3), b"x", &["t:none".into()], 0, ancient)
                .unwrap()
        );
        // A plain set is never fenced.
        b.set(&key(1), b"plain", &tags, 0).unwrap();
        assert!(b.get(&key(1)).unwrap().is_some());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn health_check_leaves_nothing() {
        let (b, dir) = temp_backend(1 << 20);
        b.health_check().unwrap();
        assert_eq!(b.stats().unwrap().entries, 0);
        fs::remove_dir_all(dir).unwrap();
    }
}
