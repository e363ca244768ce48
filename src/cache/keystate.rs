//! The state of cache encryption on this machine, so that an answer is stored under the
//! encryption that holds when it lands, not the one its process loaded at start.
//!
//! Files in the awsideman configuration directory:
//! - `cache-keys.state`: a random token that every change of the keys or of
//!   `cache.encryption_enabled` replaces. A process reads it before it loads its
//!   configuration and keys ([`KeyState::observe`]) and stores an answer only while it is
//!   unchanged.
//! - `cache-keys.lock`: stores hold it shared while they check the token and write; a change
//!   holds it exclusively while it switches keys or settings and replaces the token. So once
//!   a switch is done, no process that loaded the earlier state can store anything (its
//!   stores are dropped), and what such processes stored before the switch is there for the
//!   change's re-encryption pass to convert.
//! - `cache-keys.change.lock`: held exclusively for the whole of a change (`cache encryption
//!   enable|disable|rotate|import-key`), so changes on one machine run one at a time.
//! - `cache-keys.changing`: written while a change waits for the exclusive `cache-keys.lock`;
//!   a store that sees it (and finds the change lock held, so it is no leftover of a killed
//!   change) is skipped instead of taking the shared lock, so a busy machine cannot starve
//!   the change.
//!
//! Every wait has a limit: a store that cannot take the lock in time is skipped (the caller
//! warns), a change that cannot take it fails naming the lock and its holder. Where the files
//! cannot be created at all (a read-only configuration directory), no change can be made
//! either, and stores go ahead unguarded.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::fsutil::{
    FileLock, Links, LockKind, PathError, Problem, create_private_dir, lock_file, read_private_file,
};

const STATE_FILE: &str = "cache-keys.state";
const LOCK_FILE: &str = "cache-keys.lock";
const CHANGE_LOCK_FILE: &str = "cache-keys.change.lock";
const CHANGING_FILE: &str = "cache-keys.changing";

/// How long a store waits for the lock unless configured (`cache.lock_timeout_ms`).
pub(crate) const DEFAULT_LOCK_TIMEOUT: Duration = crate::fsutil::DEFAULT_LOCK_TIMEOUT;

/// How long a change waits for another change to finish, and then for the stores under way
/// to finish.
pub(crate) const CHANGE_TIMEOUT: Duration = Duration::from_secs(120);

/// The encryption state this process loaded, and how to check it is still current.
#[derive(Debug, Clone)]
pub(crate) struct KeyState {
    dir: PathBuf,
    token: Option<String>,
    timeout: Duration,
}

impl KeyState {
    /// The state as it is now in `config_dir`. Read it before the configuration and keys it
    /// guards are loaded.
    pub(crate) fn observe(config_dir: &Path) -> KeyState {
        KeyState {
            dir: config_dir.to_path_buf(),
            token: read_token(&config_dir.join(STATE_FILE)),
            timeout: DEFAULT_LOCK_TIMEOUT,
        }
    }

    /// The same state, waiting at most `timeout` for the lock.
    pub(crate) fn with_timeout(mut self, timeout: Duration) -> KeyState {
        self.timeout = timeout;
        self
    }

    /// Runs `write` under the shared lock if the state is still the one observed and no
    /// change is about to switch it: `Ok(None)` when not (nothing was run). An error when
    /// the lock could not be taken in time.
    pub(crate) fn while_unchanged<T>(
        &self,
        write: impl FnOnce() -> Result<T>,
    ) -> Result<Option<T>> {
        if self.change_waiting() {
            return Ok(None);
        }
        // No configuration directory: no change has been made, nor can one be meanwhile
        // (a change creates the directory and the lock first).
        if fs::symlink_metadata(&self.dir).is_err() {
            return write().map(Some);
        }
        let _lock = match lock_file(&self.dir.join(LOCK_FILE), LockKind::Shared, self.timeout) {
            Ok(lock) => lock,
            // No lock file and none can be made (a read-only directory): no change can be
            // made either.
            Err(e) if cannot_create(&e) => return write().map(Some),
            Err(e) => {
                return Err(Error::from(e).context("the answer was not cached"));
            }
        };
        if read_token(&self.dir.join(STATE_FILE)) != self.token {
            return Ok(None);
        }
        write().map(Some)
    }

    /// Whether a change announced that it waits to switch the state (and is still running:
    /// it holds the change lock).
    fn change_waiting(&self) -> bool {
        if fs::symlink_metadata(self.dir.join(CHANGING_FILE)).is_err() {
            return false;
        }
        matches!(
            lock_file(
                &self.dir.join(CHANGE_LOCK_FILE),
                LockKind::Shared,
                Duration::ZERO
            ),
            Err(PathError {
                problem: Problem::Locked { .. },
                ..
            })
        )
    }
}

/// A change of the encryption state: holds the change lock until dropped, so changes on
/// this machine run one at a time.
pub(crate) struct KeyChange {
    dir: PathBuf,
    _lock: FileLock,
}

impl KeyChange {
    /// Takes the change lock in `config_dir`, waiting at most `timeout` for another change;
    /// fails naming the lock and its holder when it cannot.
    pub(crate) fn begin(config_dir: &Path, timeout: Duration) -> Result<KeyChange> {
        let lock = lock_exclusive(&config_dir.join(CHANGE_LOCK_FILE), timeout)?;
        // A killed change's announcement is no longer true.
        let _ = fs::remove_file(config_dir.join(CHANGING_FILE));
        Ok(KeyChange {
            dir: config_dir.to_path_buf(),
            _lock: lock,
        })
    }

    /// Runs `switch` (saving new keys or settings) while no store is under way, then records
    /// that the state changed: processes that loaded the earlier state store nothing more.
    /// Stores wait only for the switch itself.
    pub(crate) fn switch<T>(&self, switch: impl FnOnce() -> Result<T>) -> Result<T> {
        crate::fsutil::write_private_atomically(
            &self.dir.join(CHANGING_FILE),
            std::process::id().to_string().as_bytes(),
        )?;
        let outcome = (|| {
            let _state = lock_exclusive(&self.dir.join(LOCK_FILE), CHANGE_TIMEOUT)
                .map_err(|e| e.context("waiting for commands storing answers"))?;
            let done = switch()?;
            let token = crate::cache::generation::new_token()?;
            crate::fsutil::write_private_atomically(&self.dir.join(STATE_FILE), token.as_bytes())?;
            Ok(done)
        })();
        let _ = fs::remove_file(self.dir.join(CHANGING_FILE));
        outcome
    }
}

/// Takes an exclusive lock on the file `path` (created 0600 in a private directory, never
/// through a link), waiting at most `timeout`; held until the returned lock is dropped. The
/// error names the holder when known.
fn lock_exclusive(path: &Path, timeout: Duration) -> Result<FileLock> {
    if let Some(dir) = path.parent() {
        create_private_dir(dir)?;
    }
    lock_file(path, LockKind::Exclusive, timeout).map_err(Error::from)
}

/// Whether a lock failed because its file could not be created or opened at all.
fn cannot_create(e: &PathError) -> bool {
    matches!(
        &e.problem,
        Problem::Io { kind, .. } if matches!(
            kind,
            std::io::ErrorKind::NotFound
                | std::io::ErrorKind::PermissionDenied
                | std::io::ErrorKind::ReadOnlyFilesystem
        )
    )
}

/// The token in `path`, if it holds one.
fn read_token(path: &Path) -> Option<String> {
    let text = read_private_file(path, Links::Refuse, 64).ok()??;
    let text = String::from_utf8(text).ok()?;
    let text = text.trim();
    crate::cache::generation::is_token(text).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let mut noise = [0u8; 6];
        getrandom::getrandom(&mut noise).unwrap();
        std::env::temp_dir().join(format!("awsideman-keystate-{}", hex::encode(noise)))
    }

    #[test]
    fn a_store_runs_only_while_the_state_is_the_one_observed() {
        let d = dir();
        let before = KeyState::observe(&d);
        assert_eq!(
            before.while_unchanged(|| Ok(1)).unwrap(),
            Some(1),
            "no files yet"
        );
        let change = KeyChange::begin(&d, Duration::from_secs(1)).unwrap();
        // While a change switches, a store waits for it.
        let waiting = before.clone().with_timeout(Duration::from_millis(50));
        let inside = change.switch(|| Ok(waiting.while_unchanged(|| Ok(2))));
        assert_eq!(
            inside.unwrap().unwrap(),
            None,
            "skipped: a change is waiting"
        );
        drop(change);
        assert_eq!(before.while_unchanged(|| Ok(3)).unwrap(), None, "changed");
        let after = KeyState::observe(&d);
        assert_eq!(after.while_unchanged(|| Ok(4)).unwrap(), Some(4));
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn changes_take_turns_and_a_killed_ones_announcement_is_ignored() {
        let d = dir();
        let first = KeyChange::begin(&d, Duration::from_secs(1)).unwrap();
        let e = KeyChange::begin(&d, Duration::from_millis(30))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("cache-keys.change.lock"), "{e}");
        assert!(
            e.contains(&format!("process {}", std::process::id())),
            "{e}"
        );
        drop(first);
        // What a killed change leaves: its announcement, no lock held.
        fs::write(d.join(CHANGING_FILE), "1").unwrap();
        let state = KeyState::observe(&d);
        assert_eq!(state.while_unchanged(|| Ok(1)).unwrap(), Some(1));
        KeyChange::begin(&d, Duration::from_millis(30)).unwrap();
        assert!(fs::symlink_metadata(d.join(CHANGING_FILE)).is_err());
        fs::remove_dir_all(&d).unwrap();
    }

    /// A store under way holds the change back until it is done; the change then switches.
    #[test]
    fn a_switch_waits_for_stores_under_way() {
        let d = dir();
        let state = KeyState::observe(&d);
        let (started, release) = (
            std::sync::mpsc::channel::<()>(),
            std::sync::mpsc::channel::<()>(),
        );
        let (started_tx, started_rx) = started;
        let (release_tx, release_rx) = release;
        let store = std::thread::spawn(move || {
            state
                .while_unchanged(|| {
                    started_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                    Ok(())
                })
                .unwrap()
        });
        started_rx.recv().unwrap();
        let change = KeyChange::begin(&d, Duration::from_secs(1)).unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            release_tx.send(()).unwrap();
        });
        let switched_at = change.switch(|| Ok(std::time::Instant::now())).unwrap();
        assert_eq!(
            store.join().unwrap(),
            Some(()),
            "the store under way landed"
        );
        releaser.join().unwrap();
        assert!(switched_at.elapsed() < Duration::from_secs(5));
        fs::remove_dir_all(&d).unwrap();
    }
}
