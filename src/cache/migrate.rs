//! Copying a cache from one backend to another, and checking the copy.
//!
//! Every live entry is copied byte for byte (an encrypted entry stays encrypted, readable
//! wherever its key is) with its expiry, in key order, in batches of [`BATCH`]
//! entries written in parallel. After each batch a checkpoint (private JSON, replaced
//! atomically) records the last key done, the counts so far and the keys that failed, so a
//! migration that was killed resumes where it stopped (repeating at most one batch) and one
//! that finished with failures retries just those. A migration that finishes cleanly removes
//! its checkpoint. A resumed run does not see entries added to the source, in key order,
//! before the checkpoint's last key (`verify` reports them; a fresh run copies them).
//! Expired entries, stale ones (a tag they depend on was invalidated since they were
//! stored) and corrupt ones (unreadable header, damaged payload, stored under another key)
//! are skipped and counted. The generations an entry recorded are given to the destination's
//! tags that have none yet, so the copy is current there too; where the destination already
//! has another generation for a tag (it was used, and maybe invalidated, on its own), the
//! entry would be stale there and is skipped. The destination keeps entries it already had;
//! nothing is ever removed from the source.
//!
//! A migration never decodes a payload: it needs no encryption key.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::backend::{CacheBackend, EntryInfo};
use super::envelope::{Envelope, Header};
use super::generation::Generations;
use super::key::CacheKey;
use crate::clock::now_secs;
use crate::error::{Error, Result};
use crate::fsutil::write_private_atomically;
use crate::parallel::{WORKERS, parallel};

/// Entries copied between two checkpoints.
pub(crate) const BATCH: usize = 50;

/// Failures in a batch that copied nothing which stop a migration.
const STOP_AFTER: usize = 5;

/// Missing or different keys a [`VerifyReport`] lists (it counts them all).
pub(crate) const VERIFY_LIST_LIMIT: usize = 20;

/// The checkpoint format this build writes and resumes.
const CHECKPOINT_VERSION: u32 = 1;

/// What a migration did, over every run that shared its checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MigrateSummary {
    /// Entries written to the destination.
    pub(crate) copied: u64,
    /// Entries expired or stale, or removed from the source while the migration ran.
    pub(crate) skipped_expired: u64,
    /// Entries that could not be read as an envelope of their key.
    pub(crate) skipped_corrupt: u64,
    /// Entries not copied because reading or writing failed (a later run retries them).
    pub(crate) failed: u64,
    /// When this run resumed a checkpoint: the number of entries done before it.
    pub(crate) resumed_from: Option<usize>,
}

/// Where a migration is, after each batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MigrateProgress {
    /// Entries done, this run and the runs before it.
    pub(crate) done: usize,
    /// Entries to do in all.
    pub(crate) total: usize,
    /// Entries copied so far.
    pub(crate) copied: u64,
    /// Entries skipped so far (expired or corrupt).
    pub(crate) skipped: u64,
    /// Entries that failed so far.
    pub(crate) failed: u64,
}

/// The comparison of two caches by [`verify`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct VerifyReport {
    /// Live entries of the source compared.
    pub(crate) checked: u64,
    /// Of those, entries the destination does not have.
    pub(crate) missing: u64,
    /// Of those, entries the destination has with other bytes.
    pub(crate) different: u64,
    /// The first [`VERIFY_LIST_LIMIT`] missing keys, in key order.
    pub(crate) missing_keys: Vec<String>,
    /// The first [`VERIFY_LIST_LIMIT`] different keys, in key order.
    pub(crate) different_keys: Vec<String>,
}

impl VerifyReport {
    /// Whether every live entry of the source is in the destination, byte for byte.
    pub(crate) fn is_clean(&self) -> bool {
        self.missing == 0 && self.different == 0
    }
}

/// The checkpoint file's contents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Checkpoint {
    version: u32,
    /// `name location` of the source and the destination: a checkpoint of another pair is
    /// never resumed.
    from: String,
    to: String,
    /// The last key of the last batch done, in key order.
    last_key: Option<String>,
    copied: u64,
    skipped_expired: u64,
    skipped_corrupt: u64,
    /// Keys that failed and are retried first by the next run.
    failed_keys: BTreeSet<String>,
}

impl Checkpoint {
    fn fresh(from: &dyn CacheBackend, to: &dyn CacheBackend) -> Checkpoint {
        Checkpoint {
            version: CHECKPOINT_VERSION,
            from: identity(from),
            to: identity(to),
            ..Checkpoint::default()
        }
    }

    /// The checkpoint of this pair at `path`, if there is one. A checkpoint that cannot be
    /// read, or belongs to another pair, is not resumed: starting over is always safe.
    fn load(path: &Path, from: &dyn CacheBackend, to: &dyn CacheBackend) -> Option<Checkpoint> {
        let bytes = crate::fsutil::read_file_at_most(path, 16 << 20).ok()?;
        let checkpoint: Checkpoint = serde_json::from_slice(&bytes).ok()?;
        let ours = checkpoint.version == CHECKPOINT_VERSION
            && checkpoint.from == identity(from)
            && checkpoint.to == identity(to);
        ours.then_some(checkpoint)
    }

    fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::runtime(format!("encoding the migration checkpoint: {e}")))?;
        write_private_atomically(path, &text)
            .map_err(|e| e.context("saving the migration checkpoint"))
    }

    /// Entries done so far (a failed entry counts until it is retried).
    fn done(&self) -> usize {
        (self.copied + self.skipped_expired + self.skipped_corrupt) as usize
            + self.failed_keys.len()
    }

    fn progress(&self, total: usize) -> MigrateProgress {
        MigrateProgress {
            done: self.done(),
            total,
            copied: self.copied,
            skipped: self.skipped_expired + self.skipped_corrupt,
            failed: self.failed_keys.len() as u64,
        }
    }

    /// Records one entry's outcome.
    fn record(&mut self, key: &CacheKey, outcome: &Outcome) {
        self.failed_keys.remove(key.as_str());
        match outcome {
            Outcome::Copied => self.copied += 1,
            Outcome::Expired => self.skipped_expired += 1,
            Outcome::Corrupt => self.skipped_corrupt += 1,
            Outcome::Failed(_) => {
                self.failed_keys.insert(key.to_string());
            }
        }
        if self.last_key.as_deref() < Some(key.as_str()) {
            self.last_key = Some(key.to_string());
        }
    }
}

/// How a backend is named in a checkpoint.
fn identity(backend: &dyn CacheBackend) -> String {
    format!("{} {}", backend.name(), backend.location())
}

/// What happened to one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Copied,
    Expired,
    Corrupt,
    Failed(String),
}

/// Why an entry of the source is not copied (or compared).
enum Unusable {
    Expired,
    Corrupt,
}

/// The bytes and header of a live (unexpired, current), intact entry of `from` listed as
/// `entry`.
fn live_entry(
    from: &dyn CacheBackend,
    entry: &EntryInfo,
    now: u64,
) -> Result<Result<(Vec<u8>, Header), Unusable>> {
    let tags = match &entry.header {
        None => return Ok(Err(Unusable::Corrupt)),
        Some(h) if h.expires_at <= now => return Ok(Err(Unusable::Expired)),
        Some(h) => h.tags(),
    };
    let Some(bytes) = current_bytes(from, &entry.key, &tags)? else {
        return Ok(Err(Unusable::Expired));
    };
    let header = match Envelope::decode(&bytes) {
        // A plaintext answer is checked as JSON here, once: copied into a file cache, it is
        // served from there as awsideman's own, unchecked (see `Lookup::private`).
        Ok(envelope) if envelope.header.key == entry.key.as_str() => {
            super::manager::answer_header(envelope)
        }
        _ => None,
    };
    let Some(header) = header else {
        return Ok(Err(Unusable::Corrupt));
    };
    if header.expires_at <= now {
        return Ok(Err(Unusable::Expired));
    }
    Ok(Ok((bytes, header)))
}

/// The stored bytes of `key` if they are current for `tags` in `backend` (read only: no
/// generation is created).
fn current_bytes(
    backend: &dyn CacheBackend,
    key: &CacheKey,
    tags: &[String],
) -> Result<Option<Vec<u8>>> {
    let Some(bytes) = backend.get(key)? else {
        return Ok(None);
    };
    let Ok(header) = Envelope::decode_header(&bytes) else {
        // Damage: the caller finds it.
        return Ok(Some(bytes));
    };
    let now = backend.generations(tags)?;
    Ok(now.current_for(tags, &header.gens).then_some(bytes))
}

/// The generations a migration has given the destination's tags (or found there), so each
/// tag costs one write per run, not one per entry.
#[derive(Default)]
struct Adopted(Mutex<HashMap<String, String>>);

impl Adopted {
    /// Whether every generation `header` recorded is (now) the destination's.
    fn current_in(&self, to: &dyn CacheBackend, header: &Header) -> Result<bool> {
        let mut wanted = Generations::new();
        {
            let known = self.0.lock().unwrap_or_else(|e| e.into_inner());
            for (tag, token) in &header.gens {
                match known.get(tag) {
                    Some(theirs) if theirs != token => return Ok(false),
                    Some(_) => {}
                    None => wanted.insert(tag.clone(), token.clone()),
                }
            }
        }
        if wanted.as_map().is_empty() {
            return Ok(true);
        }
        let now = to.create_generations(&wanted)?;
        let mut known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for (tag, token) in now.iter() {
            known.insert(tag.to_string(), token.to_string());
        }
        Ok(wanted
            .iter()
            .all(|(tag, token)| now.get(tag) == Some(token)))
    }
}

/// Copies one entry.
fn copy_one(
    from: &dyn CacheBackend,
    to: &dyn CacheBackend,
    adopted: &Adopted,
    entry: &EntryInfo,
) -> Outcome {
    let now = now_secs();
    let copied = live_entry(from, entry, now).and_then(|live| match live {
        Ok((bytes, header)) => {
            if !adopted.current_in(to, &header)? {
                return Ok(Outcome::Expired);
            }
            to.set(&entry.key, &bytes, header.expires_at)
                .map(|()| Outcome::Copied)
        }
        Err(Unusable::Expired) => Ok(Outcome::Expired),
        Err(Unusable::Corrupt) => Ok(Outcome::Corrupt),
    });
    copied.unwrap_or_else(|e| Outcome::Failed(e.to_string()))
}

/// The entries of `backend`, in key order.
fn sorted_entries(backend: &dyn CacheBackend) -> Result<Vec<EntryInfo>> {
    let mut entries = backend
        .entries()
        .map_err(|e| e.context(format!("listing the {} cache", backend.name())))?;
    entries.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
    Ok(entries)
}

/// Refuses to copy a cache onto itself.
fn refuse_same(from: &dyn CacheBackend, to: &dyn CacheBackend) -> Result<()> {
    if identity(from) == identity(to) {
        return Err(Error::usage(format!(
            "cache migrate: the source and the destination are the same cache ({})",
            identity(from)
        )));
    }
    Ok(())
}

/// Copies every live entry of `from` into `to`, resuming the checkpoint at `checkpoint` when
/// it belongs to this pair; `progress` hears where the migration is after each batch.
///
/// Stops with an error (the checkpoint saved, so running again resumes) when a batch copied
/// nothing and several of its entries failed: the destination (or the source) is not
/// working, and trying each remaining entry would only repeat that.
pub(crate) fn migrate(
    from: &dyn CacheBackend,
    to: &dyn CacheBackend,
    checkpoint: &Path,
    mut progress: impl FnMut(MigrateProgress),
) -> Result<MigrateSummary> {
    refuse_same(from, to)?;
    let resumed = Checkpoint::load(checkpoint, from, to);
    let resumed_from = resumed.as_ref().map(Checkpoint::done);
    let mut state = resumed.unwrap_or_else(|| Checkpoint::fresh(from, to));
    let entries = sorted_entries(from)?;
    // Failed keys first, then everything after the last key done.
    let (retry, rest): (Vec<&EntryInfo>, Vec<&EntryInfo>) = entries
        .iter()
        .filter(|e| {
            state.failed_keys.contains(e.key.as_str())
                || state.last_key.as_deref() < Some(e.key.as_str())
        })
        .partition(|e| state.failed_keys.contains(e.key.as_str()));
    // Failed keys no longer in the source were removed from it meanwhile.
    let gone = state.failed_keys.len() - retry.len();
    state.skipped_expired += gone as u64;
    state.failed_keys = retry.iter().map(|e| e.key.to_string()).collect();
    let work: Vec<&EntryInfo> = retry.into_iter().chain(rest).collect();
    let total = state.done() - state.failed_keys.len() + work.len();
    progress(state.progress(total));
    let adopted = Adopted::default();
    for batch in work.chunks(BATCH) {
        let outcomes = parallel(batch, WORKERS, |entry| copy_one(from, to, &adopted, entry));
        for (entry, outcome) in batch.iter().zip(&outcomes) {
            state.record(&entry.key, outcome);
        }
        state.save(checkpoint)?;
        progress(state.progress(total));
        if let Some(error) = all_writes_failed(&outcomes) {
            return Err(Error::runtime(format!(
                "cache migrate: stopped, the last batch copied nothing ({error}); {} \
                 entries copied so far; run the same command again to resume",
                state.copied
            )));
        }
    }
    if state.failed_keys.is_empty() {
        match std::fs::remove_file(checkpoint) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::runtime(format!(
                    "removing {}: {e}",
                    checkpoint.display()
                )));
            }
        }
    }
    Ok(MigrateSummary {
        copied: state.copied,
        skipped_expired: state.skipped_expired,
        skipped_corrupt: state.skipped_corrupt,
        failed: state.failed_keys.len() as u64,
        resumed_from,
    })
}

/// The first error of a batch in which nothing was copied and at least [`STOP_AFTER`]
/// entries failed: the destination (or the source) is not working.
fn all_writes_failed(outcomes: &[Outcome]) -> Option<&str> {
    let mut errors = outcomes.iter().filter_map(|o| match o {
        Outcome::Failed(e) => Some(e.as_str()),
        _ => None,
    });
    let first = errors.next()?;
    let stop = !outcomes.contains(&Outcome::Copied) && 1 + errors.count() >= STOP_AFTER;
    stop.then_some(first)
}

/// What [`verify`] found for one entry.
enum Compared {
    Same,
    Missing,
    Different,
    Skipped,
}

/// Compares `to` with `from`: every live, intact entry of `from` must be in `to`, current
/// there, with identical bytes (entries only `to` has are not a difference).
pub(crate) fn verify(from: &dyn CacheBackend, to: &dyn CacheBackend) -> Result<VerifyReport> {
    let entries = sorted_entries(from)?;
    let compared = parallel(&entries, WORKERS, |entry| -> Result<Compared> {
        let Ok((bytes, header)) = live_entry(from, entry, now_secs())? else {
            return Ok(Compared::Skipped);
        };
        Ok(match current_bytes(to, &entry.key, &header.tags())? {
            None => Compared::Missing,
            Some(theirs) if theirs == bytes => Compared::Same,
            Some(_) => Compared::Different,
        })
    });
    let mut report = VerifyReport::default();
    for (entry, compared) in entries.iter().zip(compared) {
        let (count, list) = match compared? {
            Compared::Skipped => continue,
            Compared::Same => {
                report.checked += 1;
                continue;
            }
            Compared::Missing => (&mut report.missing, &mut report.missing_keys),
            Compared::Different => (&mut report.different, &mut report.different_keys),
        };
        report.checked += 1;
        *count += 1;
        if list.len() < VERIFY_LIST_LIMIT {
            list.push(entry.key.to_string());
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::backend::Invalidation;
    use crate::cache::hybrid::testing::*;
    use std::sync::{Arc, Mutex};

    struct World {
        from: TempDir,
        to: TempDir,
        checkpoint: std::path::PathBuf,
    }

    fn world() -> World {
        let from = TempDir::new("migrate-from");
        let to = TempDir::new("migrate-to");
        let checkpoint = to.0.join("migrate.checkpoint.json");
        World {
            from,
            to,
            checkpoint,
        }
    }

    /// `n` live entries in `backend`.
    fn fill(backend: &dyn CacheBackend, n: usize) {
        for i in 0..n {
            put(backend, i);
        }
    }

    #[test]
    fn copies_everything_byte_for_byte_and_skips_expired_and_corrupt() {
        let w = world();
        let (from, to) = (w.from.backend(), w.to.backend());
        fill(&from, 120);
        let now = now_secs();
        let seen = |n: usize, t: usize| from.lookup(&key(n), &tags(t)).unwrap().generations;
        from.set(
            &key(500),
            &entry_with(500, &seen(500, 500), now - 10, now - 1),
            0,
        )
        .unwrap();
        from.set(&key(501), b"not an envelope", 0).unwrap();
        let mut damaged = entry_with(502, &seen(502, 502), now, now + 3600);
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        from.set(&key(502), &damaged, 0).unwrap();
        // Intact, but stored under another key.
        from.set(&key(503), &entry_with(1, &seen(503, 1), now, now + 3600), 0)
            .unwrap();
        // Intact, checksummed, but its answer is not a JSON object.
        let planted = Envelope::decode(&entry_with(504, &seen(504, 504), now, now + 3600))
            .unwrap()
            .header;
        let not_json = Envelope::seal(planted, b"null\n{\"Users\": [\x1b]".to_vec()).encode();
        from.set(&key(504), &not_json, 0).unwrap();

        let mut seen = Vec::new();
        let summary = migrate(&from, &to, &w.checkpoint, |p| seen.push(p)).unwrap();
        assert_eq!(
            summary,
            MigrateSummary {
                copied: 120,
                skipped_expired: 1,
                skipped_corrupt: 4,
                failed: 0,
                resumed_from: None,
            }
        );
        assert!(
            !w.checkpoint.exists(),
            "a finished migration removes its checkpoint"
        );
        let last = seen.last().unwrap();
        assert_eq!((last.done, last.total), (125, 125));
        assert!(seen.len() >= 125 / BATCH, "progress after each batch");
        for i in 0..120 {
            assert_eq!(to.get(&key(i)).unwrap(), from.get(&key(i)).unwrap());
        }
        for i in 500..505 {
            assert!(to.get(&key(i)).unwrap().is_none());
        }
        // Generations came along: the copies are current, and invalidating a tag in the
        // destination reaches them.
        assert!(to.lookup(&key(8), &tags(8)).unwrap().bytes.is_some());
        assert_eq!(
            to.invalidate(Invalidation::Tags(&["user:7".into()]))
                .unwrap(),
            1
        );
        assert!(to.lookup(&key(7), &tags(7)).unwrap().bytes.is_none());

        let report = verify(&from, &to).unwrap();
        assert_eq!(report.checked, 120);
        assert_eq!((report.missing, report.different), (1, 0));
        assert_eq!(report.missing_keys, [key(7).to_string()]);
    }

    #[test]
    fn verify_finds_a_missing_and_a_changed_entry_and_bounds_its_lists() {
        let w = world();
        let (from, to) = (w.from.backend(), w.to.backend());
        fill(&from, 60);
        migrate(&from, &to, &w.checkpoint, |_| {}).unwrap();
        assert!(verify(&from, &to).unwrap().is_clean());

        to.invalidate(Invalidation::Keys(&[key(3)])).unwrap();
        let now = now_secs();
        let gens = to.lookup(&key(4), &tags(4)).unwrap().generations;
        to.set(&key(4), &entry_with(4, &gens, now - 1, now + 3600), 0)
            .unwrap();
        let report = verify(&from, &to).unwrap();
        assert!(!report.is_clean());
        assert_eq!(report.checked, 60);
        assert_eq!(report.missing_keys, [key(3).to_string()]);
        assert_eq!(report.different_keys, [key(4).to_string()]);

        to.invalidate(Invalidation::All).unwrap();
        let report = verify(&from, &to).unwrap();
        assert_eq!(report.missing, 60);
        assert_eq!(report.missing_keys.len(), VERIFY_LIST_LIMIT);
        let mut sorted = report.missing_keys.clone();
        sorted.sort();
        assert_eq!(sorted, report.missing_keys, "in key order");
    }

    #[test]
    fn an_interrupted_migration_resumes_from_its_checkpoint() {
        let w = world();
        let from = w.from.backend();
        fill(&from, 300);
        let log: Log = Arc::new(Mutex::new(Vec::new()));

        // The destination dies after 120 writes.
        let dying = Spy::new("to", w.to.backend(), &log).failing_after(120);
        let e = migrate(&from, &dying, &w.checkpoint, |_| {}).unwrap_err();
        assert!(e.message().contains("run the same command again"), "{e}");
        let saved: Checkpoint =
            serde_json::from_slice(&std::fs::read(&w.checkpoint).unwrap()).unwrap();
        assert_eq!(saved.copied, 120);
        assert!(!saved.failed_keys.is_empty());
        let stored_first = w.to.backend().stats().unwrap().entries;
        assert_eq!(stored_first, 120);

        // Run again with the same checkpoint: it resumes, and only what is left is written.
        log.lock().unwrap().clear();
        let healthy = Spy::new("to", w.to.backend(), &log);
        let summary = migrate(&from, &healthy, &w.checkpoint, |_| {}).unwrap();
        assert_eq!(summary.resumed_from, Some(saved.done()));
        assert!(summary.resumed_from.unwrap() >= 120);
        assert_eq!(count(&log, "to set"), 300 - 120, "not from zero");
        assert_eq!(summary.copied, 300);
        assert_eq!(summary.failed, 0);
        assert!(!w.checkpoint.exists());
        assert!(verify(&from, &healthy).unwrap().is_clean());
    }

    #[test]
    fn a_killed_migration_repeats_at_most_one_batch() {
        let w = world();
        let (from, to) = (w.from.backend(), w.to.backend());
        fill(&from, 130);
        // What a kill after the second batch leaves: its checkpoint, and a third batch that
        // was partly written.
        let mut state = Checkpoint::fresh(&from, &to);
        let entries = sorted_entries(&from).unwrap();
        let adopted = Adopted::default();
        for e in &entries[..2 * BATCH] {
            assert_eq!(copy_one(&from, &to, &adopted, e), Outcome::Copied);
            state.record(&e.key, &Outcome::Copied);
        }
        state.save(&w.checkpoint).unwrap();
        for e in &entries[2 * BATCH..2 * BATCH + 7] {
            assert_eq!(copy_one(&from, &to, &adopted, e), Outcome::Copied);
        }

        let log: Log = Arc::new(Mutex::new(Vec::new()));
        let spy = Spy::new("to", to.clone(), &log);
        let summary = migrate(&from, &spy, &w.checkpoint, |_| {}).unwrap();
        assert_eq!(summary.resumed_from, Some(2 * BATCH));
        assert_eq!(count(&log, "to set"), 130 - 2 * BATCH);
        assert_eq!(summary.copied, 130);
        assert!(verify(&from, &to).unwrap().is_clean());
    }

    #[test]
    fn isolated_failures_are_counted_kept_and_retried() {
        let w = world();
        let from = w.from.backend();
        fill(&from, 20);
        let log: Log = Arc::new(Mutex::new(Vec::new()));
        // Fails the last 5 writes: the batch still copied some, so the run goes on.
        let flaky = Spy::new("to", w.to.backend(), &log).failing_after(15);
        let summary = migrate(&from, &flaky, &w.checkpoint, |_| {}).unwrap();
        assert_eq!((summary.copied, summary.failed), (15, 5));
        assert!(w.checkpoint.exists(), "kept for the retry");

        log.lock().unwrap().clear();
        let healthy = Spy::new("to", w.to.backend(), &log);
        let summary = migrate(&from, &healthy, &w.checkpoint, |_| {}).unwrap();
        assert_eq!(count(&log, "to set"), 5, "only the failed entries");
        assert_eq!((summary.copied, summary.failed), (20, 0));
        assert_eq!(summary.resumed_from, Some(20));
        assert!(!w.checkpoint.exists());
    }

    #[test]
    fn a_checkpoint_of_another_pair_or_unreadable_is_not_resumed() {
        let w = world();
        let (from, to) = (w.from.backend(), w.to.backend());
        fill(&from, 10);
        let other = TempDir::new("migrate-other");
        let mut foreign = Checkpoint::fresh(&from, &other.backend());
        foreign.last_key = Some("f".repeat(64));
        foreign.copied = 10;
        foreign.save(&w.checkpoint).unwrap();
        let summary = migrate(&from, &to, &w.checkpoint, |_| {}).unwrap();
        assert_eq!((summary.copied, summary.resumed_from), (10, None));

        std::fs::write(&w.checkpoint, b"{garbage").unwrap();
        let summary = migrate(&from, &to, &w.checkpoint, |_| {}).unwrap();
        assert_eq!((summary.copied, summary.resumed_from), (10, None));
    }

    #[cfg(unix)]
    #[test]
    fn the_checkpoint_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let w = world();
        let (from, to) = (w.from.backend(), w.to.backend());
        Checkpoint::fresh(&from, &to).save(&w.checkpoint).unwrap();
        let mode = std::fs::metadata(&w.checkpoint)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn only_a_batch_that_copied_nothing_and_failed_repeatedly_stops() {
        let failed = || Outcome::Failed("down".into());
        let mut outcomes = vec![Outcome::Expired; 40];
        outcomes.push(failed());
        assert_eq!(all_writes_failed(&outcomes), None, "one isolated failure");
        outcomes.extend((0..4).map(|_| failed()));
        assert_eq!(all_writes_failed(&outcomes), Some("down"));
        outcomes.push(Outcome::Copied);
        assert_eq!(all_writes_failed(&outcomes), None, "something was copied");
    }

    #[test]
    fn the_same_cache_is_refused() {
        let w = world();
        let from = w.from.backend();
        let e = migrate(&from, &w.from.backend(), &w.checkpoint, |_| {}).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }
}
