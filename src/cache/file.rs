//! The file backend: one file per entry under `cache.file_cache_dir`.
//!
//! Layout: `entries/<key>` (0600; its modification time is set to the entry's expiry, so
//! eviction can order entries without opening them), `gens/<digest of tag>` (the tag's
//! current generation token, see `generation.rs`), `stats.json` (hit/miss counters); the
//! directories are 0700 and must stay private (owned by the user, writable by nobody else):
//! a cache directory that is not is not used at all.
//!
//! No lock is needed: an entry is written to a new randomly named file and renamed into
//! place, so a reader sees a whole old entry or a whole new one; a generation is replaced
//! the same way; and whichever of two racing writes lands last, no stale answer can be
//! served (an entry is only served against the generations it recorded). A hit writes
//! nothing. Reads never follow a symbolic link, never block on a FIFO or device, and never
//! read more than the header states (nor more than the cache's size limit): anything else
//! where an entry belongs is damage, removed as a miss. Entries are not synced to disk: one
//! damaged by a power loss fails its checksum or MAC and is a miss, and a sync per entry
//! would make filling the cache slower than asking AWS.
//!
//! `max_size_mb` is enforced after writes (on a process's first write and every 32nd):
//! expired entries go first, then those closest to expiry, until the cache is a 1024th
//! under the limit. Sizes and expiries come from `ledger`, a line per store, not from a look
//! at every entry (see [`LEDGER`]).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use super::backend::{BackendStats, CacheBackend, EntryInfo, Invalidation, Lookup};
use super::envelope::{DecodeError, Envelope, Header, MAX_HEADER};
use super::generation::{self, Generations};
use super::key::CacheKey;
use crate::clock::now_secs;
use crate::error::{Error, Result};
pub(crate) use crate::fsutil::private_options;
use crate::fsutil::{Contents, Links, open_private_file, read_private_file};

/// Where notes go (a directory repaired to 0700): shown to the user once each.
pub(crate) type Notes = Arc<dyn Fn(String) + Send + Sync>;

/// The size limit is checked on a process's first write and every this many after, so
/// writing N entries costs N, not N² directory listings; the cache can exceed the limit
/// by at most this many entries in between.
const LIMIT_CHECK_EVERY: u64 = 32;

/// A temporary file older than this was left by a crashed writer.
const STALE_TEMP: std::time::Duration = std::time::Duration::from_secs(600);

/// The largest generation file read (a token, a space, the tag).
const MAX_GENERATION_FILE: u64 = 8 * 1024;

/// Directories of earlier formats, removed by a clear.
const LEGACY_DIRS: &[&str] = &["tags", "fences"];

/// The ledger: a line `<key> <bytes> <expires>` per stored entry, appended by every store,
/// so the size limit is enforced from one small file instead of a look at every entry. It
/// may list entries that are gone (they count until the next enforcement drops them) and
/// miss entries written before it or dropped by a racing compaction: it is rebuilt from a
/// full listing when missing, unreadable, or older than [`LEDGER_RESCAN_SECS`].
const LEDGER: &str = "ledger";

/// A ledger larger than this is rebuilt from a listing instead of read.
const MAX_LEDGER: u64 = 64 * 1024 * 1024;

/// How long a ledger built from a listing is trusted before the next listing.
const LEDGER_RESCAN_SECS: u64 = 3600;

/// Eviction stops this far under the limit (a 1024th of it): an enforcement removes few
/// entries, and costs little, however large the cache.
const EVICTION_MARGIN_DIVISOR: u64 = 1024;

/// The file backend.
pub struct FileBackend {
    dir: PathBuf,
    limit_bytes: u64,
    /// Writes by this process, to check the size limit on the first and every
    /// [`LIMIT_CHECK_EVERY`]th one rather than listing the directory on every write.
    writes: std::sync::atomic::AtomicU64,
    /// Whether the cache directory is private, checked once per process.
    private: OnceLock<std::result::Result<(), String>>,
    notes: Option<Notes>,
}

impl std::fmt::Debug for FileBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileBackend")
            .field("dir", &self.dir)
            .field("limit_bytes", &self.limit_bytes)
            .finish_non_exhaustive()
    }
}

impl Clone for FileBackend {
    fn clone(&self) -> FileBackend {
        FileBackend {
            notes: self.notes.clone(),
            ..FileBackend::new(self.dir.clone(), self.limit_bytes)
        }
    }
}

/// Entry files of at least this size are mapped rather than read: above it, the page
/// faults of a new buffer cost more than a mapping (see [`crate::fsutil::Mapped`]).
#[cfg(unix)]
const MAP_AT_LEAST: u64 = 128 * 1024;

/// What reading an entry file found.
enum EntryFile {
    /// Nothing there.
    Missing,
    /// Not an entry: a link, a directory, a FIFO, too large, or unreadable as one.
    Damaged(String),
    /// The whole file and its decoded header.
    Found(Contents, Box<Header>),
}

impl FileBackend {
    /// A backend rooted at `dir` holding at most `limit_bytes` of entries. Creates nothing
    /// until the first write.
    pub fn new(dir: PathBuf, limit_bytes: u64) -> FileBackend {
        FileBackend {
            dir,
            limit_bytes,
            writes: std::sync::atomic::AtomicU64::new(0),
            private: OnceLock::new(),
            notes: None,
        }
    }

    /// The same backend, telling `notes` what it repaired.
    pub(crate) fn with_notes(mut self, notes: Notes) -> FileBackend {
        self.notes = Some(notes);
        self
    }

    fn entries_dir(&self) -> PathBuf {
        self.dir.join("entries")
    }

    fn gens_dir(&self) -> PathBuf {
        self.dir.join("gens")
    }

    fn entry_path(&self, key: &CacheKey) -> PathBuf {
        self.entries_dir().join(key.as_str())
    }

    fn generation_path(&self, tag: &str) -> PathBuf {
        self.gens_dir()
            .join(&hex::encode(Sha256::digest(tag.as_bytes()))[..40])
    }

    /// The largest entry file accepted: the size limit (an entry larger than the whole
    /// cache could never have been stored whole).
    fn max_entry_bytes(&self) -> u64 {
        self.limit_bytes.max(1024 * 1024)
    }

    /// Fails unless the cache directory and its subdirectories that exist are private
    /// (see [`crate::fsutil::check_private_dir`]: ours, not a link, writable by nobody else;
    /// ours but too open is repaired, with a note); checked once per process.
    fn ensure_private(&self) -> Result<()> {
        self.private
            .get_or_init(|| {
                for dir in [self.entries_dir(), self.gens_dir()] {
                    crate::fsutil::check_private_dir(&self.dir, &dir, &mut |note| self.note(note))
                        .map_err(|e| e.to_string())?;
                }
                Ok(())
            })
            .clone()
            .map_err(Error::runtime)
    }

    /// Creates a cache subdirectory (0700) when missing, checking every directory on the
    /// way.
    fn ensure_dir(&self, dir: &Path) -> Result<()> {
        crate::fsutil::ensure_private_dir(&self.dir, dir, &mut |note| self.note(note))
            .map_err(Error::from)
    }

    fn note(&self, note: String) {
        if let Some(notes) = &self.notes {
            notes(note);
        }
    }

    /// Reads an entry file (never following a link, never blocking on a non-file, within
    /// the size limit), mapped when large, and checks its header against its size.
    fn read_entry(&self, key: &CacheKey) -> EntryFile {
        let path = self.entry_path(key);
        let mut file = match open_private_file(&path, Links::Refuse, self.max_entry_bytes()) {
            Ok(Some(file)) => file,
            Ok(None) => return EntryFile::Missing,
            Err(e) => return EntryFile::Damaged(e.to_string()),
        };
        #[cfg(unix)]
        if file.len() >= MAP_AT_LEAST
            && let Some(mapped) = file.map()
        {
            return whole_entry(Contents::Mapped(mapped));
        }
        match file.read_rest() {
            Ok(bytes) => whole_entry(Contents::Read(bytes)),
            Err(e) => EntryFile::Damaged(e.to_string()),
        }
    }

    /// The generation token of `tag`, if it has a readable one. Anything else at its path
    /// is as good as none (an entry recorded against it is a miss), and is replaced by the
    /// next invalidation or creation.
    fn read_generation(&self, tag: &str) -> Option<String> {
        let path = self.generation_path(tag);
        let text = read_private_file(&path, Links::Refuse, MAX_GENERATION_FILE).ok()??;
        let token = std::str::from_utf8(text.get(..16)?).ok()?;
        generation::is_token(token).then(|| token.to_string())
    }

    /// Replaces (or creates) the generation of `tag` with `token`: a new file renamed over
    /// the old one. With `only_if_absent`, an existing generation is kept instead (a hard
    /// link does not replace); returns whether `token` is now the generation.
    fn write_generation(&self, tag: &str, token: &str, only_if_absent: bool) -> Result<bool> {
        let dir = self.gens_dir();
        self.ensure_dir(&dir)?;
        let temp = write_temp(&dir, &[format!("{token} {tag}\n").as_bytes()], None)?;
        let path = self.generation_path(tag);
        let outcome = if only_if_absent {
            match fs::hard_link(&temp, &path) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    // Damage at the path (not a token file) is replaced.
                    match self.read_generation(tag) {
                        Some(_) => Ok(false),
                        None => fs::rename(&temp, &path).map(|()| true),
                    }
                }
                // A file system without hard links: replacing a generation is always safe
                // (it is what an invalidation does), only costlier.
                Err(_) => fs::rename(&temp, &path).map(|()| true),
            }
        } else {
            fs::rename(&temp, &path).map(|()| true)
        };
        let _ = fs::remove_file(&temp);
        outcome.map_err(|e| io_error("storing", &path, e))
    }

    /// Removes the entry file (or whatever is at its path) of `key`; false when there was
    /// nothing.
    fn remove_entry(&self, key: &CacheKey) -> Result<bool> {
        remove_path(&self.entry_path(key))
    }

    /// Entry files with size and modification time (the entry's expiry).
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
            // DirEntry::metadata does not follow links.
            if let Ok(meta) = item.metadata() {
                found.push((key, meta.len(), meta.modified().unwrap_or(UNIX_EPOCH)));
            }
        }
        Ok(found)
    }

    /// Evicts expired entries, then those closest to expiry, until a 1024th under the
    /// limit. Reads the ledger (a listing rebuilds it when it cannot be trusted); no entry is
    /// opened or looked at. What it removes is written to the ledger as a line of size 0;
    /// the ledger is rewritten whole only when rebuilt or mostly such lines.
    fn enforce_limit(&self) -> Result<()> {
        let ledger = self.read_ledger();
        let rebuilt = ledger.is_none();
        let (mut entries, lines, scanned_at) = match ledger {
            Some(ledger) => ledger,
            None => {
                let entries = self.scan()?;
                let lines = entries.len();
                (entries, lines, now_secs())
            }
        };
        let mut total: u64 = entries.iter().map(|e| e.1).fold(0, u64::saturating_add);
        let mut removed = Vec::new();
        if total > self.limit_bytes {
            let target = self.limit_bytes - self.limit_bytes / EVICTION_MARGIN_DIVISOR;
            entries.sort_unstable_by_key(|(_, _, expires)| *expires);
            for (key, size, _) in &entries {
                if total <= target {
                    break;
                }
                // Gone already or removed now: either way it no longer counts.
                let _ = self.remove_entry(key);
                total = total.saturating_sub(*size);
                removed.push(key.clone());
            }
            entries.drain(..removed.len());
        }
        if rebuilt || lines > 2 * entries.len() + 1024 {
            self.write_ledger(&entries, scanned_at);
        } else if !removed.is_empty() {
            let lines: String = removed.iter().map(|key| format!("{key} 0 0\n")).collect();
            self.append_ledger_lines(&lines);
        }
        Ok(())
    }

    fn ledger_path(&self) -> PathBuf {
        self.dir.join(LEDGER)
    }

    /// Appends the line of a stored entry to the ledger (best effort: a ledger that misses
    /// it is rebuilt from a listing in time).
    fn append_ledger(&self, key: &CacheKey, size: u64, expires_at: u64) {
        self.append_ledger_lines(&format!("{key} {size} {expires_at}\n"));
    }

    /// Appends whole `lines` to the ledger in one write (never through a link, never to
    /// anything but a regular file).
    fn append_ledger_lines(&self, lines: &str) {
        let mut options = private_options();
        options.append(true).create(true);
        crate::fsutil::safe_flags(&mut options, false);
        if let Ok(mut file) = options.open(self.ledger_path())
            && file.metadata().is_ok_and(|m| m.is_file())
        {
            let _ = file.write_all(lines.as_bytes());
        }
    }

    /// The ledger's entries (the last line of a key wins; a size of 0 is a removal), how
    /// many lines it has, and when it was last rebuilt from a listing; `None` when it is
    /// missing, damaged or too old to trust.
    #[allow(clippy::type_complexity)]
    fn read_ledger(&self) -> Option<(Vec<(CacheKey, u64, SystemTime)>, usize, u64)> {
        let bytes = read_private_file(&self.ledger_path(), Links::Refuse, MAX_LEDGER).ok()??;
        let text = std::str::from_utf8(&bytes).ok()?;
        let mut lines = text.lines();
        let scanned_at: u64 = lines.next()?.strip_prefix("# scanned ")?.parse().ok()?;
        if now_secs().saturating_sub(scanned_at) > LEDGER_RESCAN_SECS {
            return None;
        }
        let mut count = 0;
        let mut latest: std::collections::HashMap<&str, (u64, u64)> =
            std::collections::HashMap::new();
        for line in lines {
            count += 1;
            let mut words = line.split(' ');
            let (Some(key), Some(size), Some(expires)) = (words.next(), words.next(), words.next())
            else {
                continue;
            };
            if let (Ok(size), Ok(expires)) = (size.parse::<u64>(), expires.parse::<u64>()) {
                latest.insert(key, (size, expires));
            }
        }
        let entries = latest
            .into_iter()
            .filter(|(_, (size, _))| *size > 0)
            .filter_map(|(key, (size, expires))| {
                Some((
                    CacheKey::parse(key)?,
                    size,
                    crate::clock::from_secs(expires),
                ))
            })
            .collect();
        Some((entries, count, scanned_at))
    }

    /// Replaces the ledger with `entries` (best effort), recording when it was last built
    /// from a listing.
    fn write_ledger(&self, entries: &[(CacheKey, u64, SystemTime)], scanned_at: u64) {
        let mut text = format!("# scanned {scanned_at}\n");
        for (key, size, expires) in entries {
            let expires = expires
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            text.push_str(&format!("{key} {size} {expires}\n"));
        }
        if let Ok(temp) = write_temp(&self.dir, &[text.as_bytes()], None)
            && fs::rename(&temp, self.ledger_path()).is_err()
        {
            let _ = fs::remove_file(&temp);
        }
    }

    /// Removes everything a clear removes; every path is tried, and the first failure (with
    /// how many there were) is reported after the rest is done.
    fn clear(&self) -> Result<u64> {
        let mut removed = 0;
        let mut failures = Failures::default();
        for (key, _, _) in self.scan()? {
            match self.remove_entry(&key) {
                Ok(gone) => removed += u64::from(gone),
                Err(e) => failures.add(e),
            }
        }
        // Temporary files belong to writers still at work: only those a crash left behind
        // long ago go. Anything else that is no entry (damage) goes too.
        let stale = SystemTime::now() - STALE_TEMP;
        for dir in [self.entries_dir(), self.gens_dir()] {
            for item in listing(&dir) {
                let name = item.file_name();
                let temp = name.to_string_lossy().starts_with(".tmp-");
                let keep = temp
                    && item
                        .metadata()
                        .and_then(|m| m.modified())
                        .is_ok_and(|t| t >= stale);
                if !keep && let Err(e) = remove_path(&item.path()) {
                    failures.add(e);
                }
            }
        }
        for legacy in LEGACY_DIRS.iter().chain([&LEDGER]) {
            if let Err(e) = remove_path(&self.dir.join(legacy)) {
                failures.add(e);
            }
        }
        failures.into_result(removed)
    }
}

impl CacheBackend for FileBackend {
    fn name(&self) -> &'static str {
        "file"
    }

    fn location(&self) -> String {
        self.dir.display().to_string()
    }

    fn lookup(&self, key: &CacheKey, tags: &[String]) -> Result<Lookup> {
        self.ensure_private()?;
        let mut damaged = None;
        let entry = match self.read_entry(key) {
            EntryFile::Found(bytes, header) => Some((bytes, header)),
            EntryFile::Missing => None,
            EntryFile::Damaged(why) => {
                // Damage is removed (a miss), then reported once by the caller.
                let removed = match self.remove_entry(key) {
                    Ok(_) => "removed".to_string(),
                    Err(e) => format!("not removed: {e}"),
                };
                damaged = Some(format!("entry {}…: {why}; {removed}", &key.as_str()[..12]));
                None
            }
        };
        let current = self.generations(tags)?;
        if let Some((bytes, header)) = entry
            && current.current_for(tags, &header.gens)
        {
            return Ok(Lookup {
                bytes: Some(bytes),
                generations: current,
                problem: None,
                private: true,
            });
        }
        let missing = super::backend::missing_generations(tags, &current)?;
        let mut generations = current;
        if !missing.as_map().is_empty() {
            for (tag, token) in self.create_generations(&missing)?.iter() {
                generations.insert(tag, token);
            }
        }
        Ok(Lookup {
            bytes: None,
            generations,
            problem: damaged,
            private: true,
        })
    }

    fn get(&self, key: &CacheKey) -> Result<Option<Vec<u8>>> {
        self.ensure_private()?;
        match self.read_entry(key) {
            EntryFile::Found(bytes, _) => Ok(Some(bytes.into_vec())),
            EntryFile::Missing => Ok(None),
            EntryFile::Damaged(why) => Err(Error::runtime(format!(
                "entry {}…: {why}",
                &key.as_str()[..12]
            ))),
        }
    }

    fn set(&self, key: &CacheKey, bytes: &[u8], expires_at: u64) -> Result<()> {
        self.set_parts(key, &[bytes], expires_at)
    }

    fn set_parts(&self, key: &CacheKey, bytes: &[&[u8]], expires_at: u64) -> Result<()> {
        self.ensure_private()?;
        let dir = self.entries_dir();
        self.ensure_dir(&dir)?;
        let temp = write_temp(&dir, bytes, Some(crate::clock::from_secs(expires_at)))?;
        let path = self.entry_path(key);
        if let Err(e) = fs::rename(&temp, &path) {
            let _ = fs::remove_file(&temp);
            // A directory (damage) where the entry belongs: removed, then tried once more.
            if path.is_dir() && remove_path(&path).is_ok() {
                let temp = write_temp(&dir, bytes, Some(crate::clock::from_secs(expires_at)))?;
                return fs::rename(&temp, &path).map_err(|e| {
                    let _ = fs::remove_file(&temp);
                    io_error("storing", &path, e)
                });
            }
            return Err(io_error("storing", &path, e));
        }
        let len = bytes.iter().map(|part| part.len() as u64).sum();
        self.append_ledger(key, len, expires_at);
        let writes = self
            .writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if writes.is_multiple_of(LIMIT_CHECK_EVERY) {
            self.enforce_limit()?;
        }
        Ok(())
    }

    fn generations(&self, tags: &[String]) -> Result<Generations> {
        self.ensure_private()?;
        let mut found = Generations::new();
        for tag in tags {
            if let Some(token) = self.read_generation(tag) {
                found.insert(tag.clone(), token);
            }
        }
        Ok(found)
    }

    fn create_generations(&self, wanted: &Generations) -> Result<Generations> {
        self.ensure_private()?;
        let mut now = Generations::new();
        for (tag, token) in wanted.iter() {
            if self.write_generation(tag, token, true)? {
                now.insert(tag, token);
            } else if let Some(existing) = self.read_generation(tag) {
                now.insert(tag, existing);
            }
        }
        Ok(now)
    }

    fn invalidate(&self, what: Invalidation<'_>) -> Result<u64> {
        if fs::symlink_metadata(&self.dir).is_err() {
            return Ok(0);
        }
        self.ensure_private()?;
        let mut failures = Failures::default();
        let mut done = 0;
        match what {
            Invalidation::Keys(keys) => {
                for key in keys {
                    match self.remove_entry(key) {
                        Ok(gone) => done += u64::from(gone),
                        Err(e) => failures.add(e),
                    }
                }
            }
            Invalidation::Tags(tags) => {
                for tag in tags {
                    let moved =
                        generation::new_token().and_then(|t| self.write_generation(tag, &t, false));
                    match moved {
                        Ok(_) => done += 1,
                        Err(e) => failures.add(e),
                    }
                }
            }
            Invalidation::All => return self.clear(),
        }
        failures.into_result(done)
    }

    fn entries(&self) -> Result<Vec<EntryInfo>> {
        self.ensure_private()?;
        Ok(self
            .scan()?
            .into_iter()
            .map(|(key, size, _)| EntryInfo {
                header: read_header(&self.entry_path(&key)),
                key,
                size,
            })
            .collect())
    }

    fn stats(&self) -> Result<BackendStats> {
        self.ensure_private()?;
        let entries = self.scan()?;
        Ok(BackendStats {
            entries: entries.len() as u64,
            bytes: entries.iter().map(|e| e.1).fold(0, u64::saturating_add),
            limit_bytes: Some(self.limit_bytes),
        })
    }

    fn health_check(&self) -> Result<()> {
        let probe = super::backend::probe_key()?;
        let bytes = super::backend::probe_entry(&probe);
        self.set(&probe, &bytes, now_secs() + 60)?;
        let read = self.get(&probe)?;
        self.invalidate(Invalidation::Keys(std::slice::from_ref(&probe)))?;
        if read.as_deref() != Some(&bytes[..]) {
            return Err(Error::runtime(format!(
                "cache {}: a probe entry did not read back",
                self.dir.display()
            )));
        }
        let tag = [format!("health:{}", probe.as_str())];
        let created = self.lookup(&probe, &tag)?;
        self.invalidate(Invalidation::Tags(&tag))?;
        let moved = self.generations(&tag)?;
        let _ = remove_path(&self.generation_path(&tag[0]));
        if created.generations.get(&tag[0]).is_none() || moved == created.generations {
            return Err(Error::runtime(format!(
                "cache {}: a probe generation did not change",
                self.dir.display()
            )));
        }
        Ok(())
    }
}

/// Failures collected while going on with the rest of the work.
#[derive(Default)]
struct Failures {
    first: Option<Error>,
    count: usize,
}

impl Failures {
    fn add(&mut self, e: Error) {
        self.count += 1;
        self.first.get_or_insert(e);
    }

    fn into_result(self, done: u64) -> Result<u64> {
        match self.first {
            None => Ok(done),
            Some(e) if self.count == 1 => Err(e),
            Some(e) => Err(e.context(format!("{} paths failed, the first", self.count))),
        }
    }
}

/// Writes `bytes` to a new randomly named file in `dir` (created exclusively, never through
/// a link, 0600), its modification time set to `modified` when given; returns its path.
fn write_temp(dir: &Path, parts: &[&[u8]], modified: Option<SystemTime>) -> Result<PathBuf> {
    let mut noise = [0u8; 8];
    getrandom::getrandom(&mut noise)
        .map_err(|e| Error::runtime(format!("naming a temporary file: {e}")))?;
    let path = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        hex::encode(noise)
    ));
    let mut options = private_options();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
    }
    let mut file = options
        .open(&path)
        .map_err(|e| io_error("creating", &path, e))?;
    let written = parts
        .iter()
        .try_for_each(|part| file.write_all(part))
        .and_then(|()| modified.map_or(Ok(()), |t| file.set_modified(t)));
    if let Err(e) = written {
        let _ = fs::remove_file(&path);
        return Err(io_error("writing", &path, e));
    }
    Ok(path)
}

/// Removes whatever is at `path` without following a link (a directory with its content);
/// false when nothing was there.
fn remove_path(path: &Path) -> Result<bool> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io_error("removing", path, e)),
    };
    let removed = if meta.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match removed {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error("removing", path, e)),
    }
}

/// The items of `dir` (none when it cannot be listed).
fn listing(dir: &Path) -> Vec<fs::DirEntry> {
    fs::read_dir(dir)
        .map(|l| l.flatten().collect())
        .unwrap_or_default()
}

/// The header of an entry file, reading at most its first line.
fn read_header(path: &Path) -> Option<Header> {
    let mut file = open_private_file(path, Links::Refuse, u64::MAX).ok()??;
    let line = file.read_line(MAX_HEADER).ok()?;
    Envelope::decode_header(&line).ok()
}

fn io_error(what: &str, path: &Path, e: io::Error) -> Error {
    Error::runtime(format!("{what} {}: {e}", path.display()))
}

/// An entry file held whole: its header, checked against the file's size.
fn whole_entry(contents: Contents) -> EntryFile {
    let header = match Envelope::decode_header(&contents) {
        Ok(header) => header,
        // An older build's entry: not damage, just nothing this build can use (it is
        // replaced when the answer is stored again).
        Err(DecodeError::Version(_)) => return EntryFile::Missing,
        Err(e) => return EntryFile::Damaged(e.to_string()),
    };
    // The header line ends within MAX_HEADER bytes: decode_header found its newline.
    let line = contents
        .iter()
        .position(|&b| b == b'\n')
        .map_or(contents.len(), |i| i + 1);
    let size = contents.len() as u64;
    if (line as u64).checked_add(header.len) != Some(size) {
        return EntryFile::Damaged(format!(
            "the file holds {size} bytes, its header states {line} + {}",
            header.len
        ));
    }
    EntryFile::Found(contents, Box::new(header))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::cache::envelope::{FORMAT_VERSION, Scheme};

    fn temp_backend(limit: u64) -> (FileBackend, PathBuf) {
        let mut noise = [0u8; 6];
        getrandom::getrandom(&mut noise).unwrap();
        let dir = std::env::temp_dir().join(format!("awsideman-file-{}", hex::encode(noise)));
        (FileBackend::new(dir.clone(), limit), dir)
    }

    fn key(n: u32) -> CacheKey {
        CacheKey::parse(&hex::encode(Sha256::digest(n.to_le_bytes()))).unwrap()
    }

    /// An envelope of `key` recording `gens`, with a payload of `size` bytes.
    fn entry(key: &CacheKey, gens: &Generations, size: usize) -> Vec<u8> {
        Envelope::seal(
            Header {
                v: FORMAT_VERSION,
                key: key.to_string(),
                service: "s".into(),
                operation: "Op".into(),
                profile: "p".into(),
                created_at: now_secs(),
                expires_at: now_secs() + 600,
                encryption: Scheme::None,
                key_id: None,
                gens: gens.as_map().clone(),
                len: 0,
                checksum: String::new(),
            },
            vec![b'x'; size],
        )
        .encode()
    }

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| t.to_string()).collect()
    }

    /// Looks up, stores against what the lookup saw, and returns what the lookup saw.
    fn fill(b: &FileBackend, k: &CacheKey, t: &[String]) -> Generations {
        let seen = b.lookup(k, t).unwrap();
        assert!(seen.bytes.is_none());
        b.set(k, &entry(k, &seen.generations, 10), now_secs() + 600)
            .unwrap();
        seen.generations
    }

    #[test]
    fn an_entry_is_served_until_one_of_its_tags_is_invalidated() {
        let (b, dir) = temp_backend(1 << 20);
        let (ta, tb) = (tags(&["t:a"]), tags(&["t:a", "t:b"]));
        let seen = fill(&b, &key(1), &ta);
        assert!(seen.get("t:a").is_some(), "a miss creates the generation");
        fill(&b, &key(2), &tb);
        fill(&b, &key(3), &tags(&["t:b"]));
        assert!(b.lookup(&key(1), &ta).unwrap().bytes.is_some());
        assert_eq!(
            b.invalidate(Invalidation::Tags(&tags(&["t:a"]))).unwrap(),
            1
        );
        assert!(b.lookup(&key(1), &ta).unwrap().bytes.is_none());
        assert!(b.lookup(&key(2), &tb).unwrap().bytes.is_none());
        assert!(b.lookup(&key(3), &tags(&["t:b"])).unwrap().bytes.is_some());
        // A lookup asking about a tag the entry did not record is a miss.
        assert!(b.lookup(&key(3), &tb).unwrap().bytes.is_none());
        assert_eq!(b.invalidate(Invalidation::Keys(&[key(3)])).unwrap(), 1);
        assert!(b.get(&key(3)).unwrap().is_none());
        fs::remove_dir_all(dir).unwrap();
    }

    /// An entry of at least [`MAP_AT_LEAST`] bytes is mapped, not read, and comes back
    /// byte for byte; one whose file is shorter or longer than its header states is damage,
    /// removed, whichever way it was read.
    #[test]
    #[cfg(unix)]
    fn large_entries_are_mapped_and_checked_like_small_ones() {
        let (b, dir) = temp_backend(1 << 24);
        let t = tags(&["t:a"]);
        for (n, size) in [(1, 100), (2, MAP_AT_LEAST as usize + 1)] {
            let seen = b.lookup(&key(n), &t).unwrap();
            let bytes = entry(&key(n), &seen.generations, size);
            b.set(&key(n), &bytes, now_secs() + 600).unwrap();
            let found = b.lookup(&key(n), &t).unwrap().bytes.unwrap();
            assert_eq!(
                matches!(found, Contents::Mapped(_)),
                n == 2,
                "mapped only when large"
            );
            assert_eq!(&found[..], &bytes[..]);
            assert!(b.lookup(&key(n), &t).unwrap().private);
            // Cut short: damage, reported and removed.
            fs::write(b.entry_path(&key(n)), &bytes[..bytes.len() - 1]).unwrap();
            let damaged = b.lookup(&key(n), &t).unwrap();
            assert!(damaged.bytes.is_none());
            assert!(damaged.problem.unwrap().contains("states"), "{n}");
            assert!(b.get(&key(n)).unwrap().is_none(), "removed");
        }
        fs::remove_dir_all(dir).unwrap();
    }

    /// The race the generations close: a reader misses, reads AWS, and meanwhile a writer
    /// changes the data and invalidates; the answer read before is stored after, and must
    /// never be served.
    #[test]
    fn an_answer_read_before_an_invalidation_is_never_served() {
        let (b, dir) = temp_backend(1 << 20);
        let t = tags(&["users:d-1"]);
        let seen = b.lookup(&key(1), &t).unwrap();
        b.invalidate(Invalidation::Tags(&t)).unwrap();
        b.set(
            &key(1),
            &entry(&key(1), &seen.generations, 5),
            now_secs() + 60,
        )
        .unwrap();
        let again = b.lookup(&key(1), &t).unwrap();
        assert!(again.bytes.is_none(), "stale answer not served");
        b.set(
            &key(1),
            &entry(&key(1), &again.generations, 5),
            now_secs() + 60,
        )
        .unwrap();
        assert!(b.lookup(&key(1), &t).unwrap().bytes.is_some());
        fs::remove_dir_all(dir).unwrap();
    }

    /// A clear removes the generations too; an entry stored afterwards against one of them
    /// (a writer racing the clear) is a miss, and so is one whose generation file vanished.
    #[test]
    fn a_vanished_generation_never_matches() {
        let (b, dir) = temp_backend(1 << 20);
        let t = tags(&["t"]);
        let seen = b.lookup(&key(1), &t).unwrap();
        b.invalidate(Invalidation::All).unwrap();
        b.set(
            &key(1),
            &entry(&key(1), &seen.generations, 5),
            now_secs() + 60,
        )
        .unwrap();
        assert!(b.lookup(&key(1), &t).unwrap().bytes.is_none());
        fill(&b, &key(2), &t);
        fs::remove_dir_all(b.gens_dir()).unwrap();
        assert!(b.lookup(&key(2), &t).unwrap().bytes.is_none());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn generations_are_created_once_and_adopted_only_where_absent() {
        let (b, dir) = temp_backend(1 << 20);
        let t = tags(&["t"]);
        let first = b.lookup(&key(1), &t).unwrap().generations;
        let second = b.lookup(&key(1), &t).unwrap().generations;
        assert_eq!(first, second, "an existing generation is kept");
        let mut wanted = Generations::new();
        wanted.insert("t", "0000000000000001");
        wanted.insert("u", "0000000000000002");
        let now = b.create_generations(&wanted).unwrap();
        assert_eq!(now.get("t"), first.get("t"));
        assert_eq!(now.get("u"), Some("0000000000000002"));
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn private_permissions_and_a_hit_writes_nothing() {
        use std::os::unix::fs::PermissionsExt;
        let (b, dir) = temp_backend(1 << 20);
        let t = tags(&["t"]);
        fill(&b, &key(1), &t);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("entries")), 0o700);
        assert_eq!(mode(&b.entry_path(&key(1))), 0o600);
        assert_eq!(mode(&b.generation_path("t")), 0o600);
        // Read-only directories: a hit still answers.
        for d in [dir.clone(), b.entries_dir(), b.gens_dir()] {
            fs::set_permissions(&d, fs::Permissions::from_mode(0o500)).unwrap();
        }
        let fresh = b.clone();
        let hit = fresh.lookup(&key(1), &t);
        for d in [dir.clone(), b.entries_dir(), b.gens_dir()] {
            fs::set_permissions(&d, fs::Permissions::from_mode(0o700)).unwrap();
        }
        assert!(hit.unwrap().bytes.is_some());
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_others_may_write_is_repaired_and_links_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let (b, dir) = temp_backend(1 << 20);
        fill(&b, &key(1), &tags(&["t"]));
        fs::set_permissions(b.entries_dir(), fs::Permissions::from_mode(0o777)).unwrap();
        let fresh = b.clone();
        assert!(
            fresh
                .lookup(&key(1), &tags(&["t"]))
                .unwrap()
                .bytes
                .is_some()
        );
        let mode = fs::metadata(b.entries_dir()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "repaired");
        // A link where an entry belongs is damage: removed, its target untouched.
        let target = dir.join("target");
        fs::write(&target, b"secret").unwrap();
        let before = fs::metadata(&target).unwrap().modified().unwrap();
        std::os::unix::fs::symlink(&target, b.entry_path(&key(2))).unwrap();
        let found = fresh.lookup(&key(2), &tags(&["t"])).unwrap();
        assert!(found.bytes.is_none() && found.problem.is_some());
        assert!(
            fs::symlink_metadata(b.entry_path(&key(2))).is_err(),
            "removed"
        );
        assert_eq!(fs::read(&target).unwrap(), b"secret");
        assert_eq!(fs::metadata(&target).unwrap().modified().unwrap(), before);
        // The cache directory itself may be a link to a private directory (a relocated
        // cache); what is in it is checked as ever.
        let (linked, linked_dir) = temp_backend(1 << 20);
        std::os::unix::fs::symlink(&dir, &linked_dir).unwrap();
        assert!(
            linked
                .lookup(&key(1), &tags(&["t"]))
                .unwrap()
                .bytes
                .is_some()
        );
        fs::remove_file(&linked_dir).unwrap();
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_or_a_huge_sparse_file_is_damage_at_once() {
        let (b, dir) = temp_backend(1 << 20);
        fill(&b, &key(1), &tags(&["t"]));
        let fifo = b.entry_path(&key(2));
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(b.lookup(&key(2), &tags(&["t"])).unwrap().problem.is_some());
        let sparse = fs::File::create(b.entry_path(&key(3))).unwrap();
        sparse.set_len(2 << 30).unwrap();
        assert!(b.lookup(&key(3), &tags(&["t"])).unwrap().problem.is_some());
        assert!(
            fs::symlink_metadata(b.entry_path(&key(3))).is_err(),
            "removed"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_directory_at_an_entry_path_is_replaced_and_cleared() {
        let (b, dir) = temp_backend(1 << 20);
        fill(&b, &key(9), &tags(&["t"]));
        fs::create_dir_all(b.entry_path(&key(1)).join("inside")).unwrap();
        let found = b.lookup(&key(1), &tags(&["t"])).unwrap();
        let problem = found.problem.unwrap();
        assert!(problem.ends_with("; removed"), "{problem}");
        fill(&b, &key(1), &tags(&["t"]));
        assert!(b.lookup(&key(1), &tags(&["t"])).unwrap().bytes.is_some());
        // A write over a directory replaces it.
        fs::remove_file(b.entry_path(&key(1))).unwrap();
        fs::create_dir_all(b.entry_path(&key(1)).join("inside")).unwrap();
        let seen = b.lookup(&key(9), &tags(&["t"])).unwrap().generations;
        b.set(&key(1), &entry(&key(1), &seen, 10), now_secs() + 60)
            .unwrap();
        assert!(b.lookup(&key(1), &tags(&["t"])).unwrap().bytes.is_some());
        fs::remove_file(b.entry_path(&key(1))).unwrap();
        fs::create_dir_all(b.entry_path(&key(1)).join("inside")).unwrap();
        assert_eq!(b.invalidate(Invalidation::All).unwrap(), 2);
        assert!(listing(&b.entries_dir()).is_empty());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn size_limit_evicts_the_closest_to_expiry_first() {
        let (b, dir) = temp_backend(3000);
        let t = tags(&[]);
        let store = |n: u32, expires: u64| {
            b.set(&key(n), &entry(&key(n), &Generations::new(), 1000), expires)
                .unwrap()
        };
        store(1, now_secs() + 600);
        store(2, now_secs() + 60);
        let b = b.clone();
        b.set(
            &key(3),
            &entry(&key(3), &Generations::new(), 1000),
            now_secs() + 900,
        )
        .unwrap();
        assert!(b.lookup(&key(2), &t).unwrap().bytes.is_none(), "evicted");
        assert!(b.lookup(&key(1), &t).unwrap().bytes.is_some());
        assert!(b.lookup(&key(3), &t).unwrap().bytes.is_some());
        assert!(b.stats().unwrap().bytes <= 3000);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_ledger_is_rebuilt_when_missing_and_forgets_what_is_gone() {
        let (b, dir) = temp_backend(10_000);
        let fill_to = |from: u32, to: u32| {
            for n in from..to {
                b.set(&key(n), &vec![b'x'; 1000], now_secs() + 600 + u64::from(n))
                    .unwrap();
            }
        };
        fill_to(0, 5);
        // Entries written before the ledger (or a lost ledger): a listing rebuilds it.
        fs::remove_file(b.ledger_path()).unwrap();
        fill_to(5, 9);
        b.enforce_limit().unwrap();
        let text = fs::read_to_string(b.ledger_path()).unwrap();
        assert!(text.starts_with("# scanned "), "{text}");
        assert_eq!(text.lines().count(), 1 + 9, "{text}");
        // Entries removed behind its back count only until the next enforcement, and never
        // make it evict what is there beyond the limit.
        for n in 0..4 {
            b.remove_entry(&key(n)).unwrap();
        }
        fill_to(9, 16);
        b.enforce_limit().unwrap();
        let bytes = b.stats().unwrap().bytes;
        assert!((9_000..=10_000).contains(&bytes), "{bytes}");
        assert!(b.entry_path(&key(15)).exists(), "the newest stays");
        // A clear removes it with the rest.
        b.invalidate(Invalidation::All).unwrap();
        assert!(!b.ledger_path().exists());
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_ledger_link_is_neither_followed_nor_read() {
        let (b, dir) = temp_backend(3_000);
        b.set(&key(1), &[b'x'; 100], now_secs() + 60).unwrap();
        let target = dir.with_extension("target");
        fs::write(&target, "precious").unwrap();
        fs::remove_file(b.ledger_path()).unwrap();
        std::os::unix::fs::symlink(&target, b.ledger_path()).unwrap();
        for n in 2..6 {
            b.set(&key(n), &vec![b'x'; 1000], now_secs() + 60).unwrap();
        }
        b.enforce_limit().unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "precious");
        assert!(b.stats().unwrap().bytes <= 3_000);
        fs::remove_file(&target).unwrap();
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn one_process_stays_within_the_limit_plus_the_check_interval() {
        let (b, dir) = temp_backend(10_000);
        for n in 0..200 {
            b.set(&key(n), &vec![b'x'; 1000], now_secs() + 600).unwrap();
            let bytes = b.stats().unwrap().bytes;
            assert!(
                bytes <= 10_000 + LIMIT_CHECK_EVERY * 1000,
                "{bytes} after {n}"
            );
        }
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn older_formats_are_misses() {
        let (b, dir) = temp_backend(1 << 20);
        let mut header: BTreeMap<&str, serde_json::Value> = BTreeMap::new();
        header.insert("v", 1.into());
        header.insert("key", key(1).to_string().into());
        fs::create_dir_all(b.entries_dir()).unwrap();
        fs::write(
            b.entry_path(&key(1)),
            format!("{}\n", serde_json::to_string(&header).unwrap()),
        )
        .unwrap();
        let found = b.lookup(&key(1), &tags(&["t"])).unwrap();
        assert!(found.bytes.is_none(), "a miss, not an error");
        assert!(b.get(&key(1)).unwrap().is_none());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn health_check_leaves_nothing() {
        let (b, dir) = temp_backend(1 << 20);
        b.health_check().unwrap();
        assert_eq!(b.stats().unwrap().entries, 0);
        assert!(listing(&b.gens_dir()).is_empty());
        fs::remove_dir_all(dir).unwrap();
    }
}
