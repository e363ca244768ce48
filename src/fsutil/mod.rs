//! Private, crash-safe files, safe against other users of the machine: directories created
//! 0700, files 0600, written through a unique temporary file that is synced and renamed, so a
//! reader sees the old file or the new one, never a mix. Nothing here follows a link where
//! awsideman owns the name, waits on something that is not a file, reads without a bound or
//! waits for a lock without a limit.
//!
//! - [`ensure_private_dir`] / [`check_private_dir`] / [`verify_private_dir`]: every
//!   directory we own, from the top one down, ours and not writable by others (repaired to
//!   0700 when ours but too open, except by `verify`).
//! - [`open_private_file`] / [`read_private_file`]: no-follow, non-blocking, type- and
//!   owner-checked on the handle, bounded; a header line, the rest, or (large files) a
//!   mapping ([`Contents`]).
//! - [`write_private_temp_with`] / [`write_private_atomically`]: random names, `create_new`,
//!   no-follow, 0600, renamed into place.
//! - [`lock_file`] / [`wait_for_lock`]: shared or exclusive, with a timeout naming the holder.
//! - [`append_record`]: a whole line or nothing, for logs.
//! - [`Contents`]: a file's bytes, read or (a large private file) mapped.
//! - [`read_at_most`] / [`read_file_at_most`]: what the user names (a policy, standard
//!   input, a token file), read up to a ceiling that fits its purpose.
//!
//! Refusals are [`PathError`] values naming the path and the fix; callers decide what they
//! mean. This module is a leaf: it knows files, not what is in them.

mod append;
mod bounded;
mod dir;
mod lock;
mod map;
mod owner;
mod read;
mod refusal;
#[cfg(all(test, unix))]
mod tests;

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub(crate) use append::append_record;
pub(crate) use bounded::{read_at_most, read_file_at_most, read_input_text, read_text_at_most};
pub(crate) use dir::{check_private_dir, ensure_private_dir, verify_private_dir};
pub(crate) use lock::{FileLock, LockKind, lock_file};
pub(crate) use map::Contents;
#[cfg(unix)]
pub(crate) use map::{Mapped, MappedText};
#[cfg(unix)]
pub use owner::effective_uid;
pub(crate) use owner::safe_flags;
pub(crate) use read::{Links, open_private_file, read_private_file};
pub(crate) use refusal::{PathError, Problem};

/// The longest a lock is waited for unless configured (`cache.lock_timeout_ms`).
pub(crate) const DEFAULT_LOCK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Options that create files readable and writable by the owner only (0600 on Unix).
pub(crate) fn private_options() -> OpenOptions {
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Creates `dir` and its missing parents with mode 0700; an existing directory is left as is.
pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| Error::runtime(format!("creating {}: {e}", dir.display())))
}

/// Whether a file written here must survive a crash of the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// Synced to disk before it is renamed into place: keys, config, checkpoints.
    Synced,
    #[cfg(test)]
    /// Not synced: a rename still shows readers the whole old or the whole new file, but a
    /// power loss may leave it empty or damaged. For cache entries, which are checksummed or
    /// authenticated (damage is a miss) and cost one AWS request to rebuild; a sync per entry
    /// would make filling the cache slower than asking AWS.
    Unsynced,
}

/// Writes `bytes` to a new, uniquely named temporary file in `dir` (`.tmp-<pid>-<random>`,
/// 64 random bits, mode 0600) and syncs it. The file is created with `create_new` and
/// without following links, so nothing planted at a guessed name is ever written through.
/// The caller renames it into place or removes it.
pub(crate) fn write_private_temp(dir: &Path, bytes: &[u8]) -> Result<PathBuf> {
    write_private_temp_with(dir, bytes, Durability::Synced)
}

/// [`write_private_temp`], synced or not as `durability` says.
pub(crate) fn write_private_temp_with(
    dir: &Path,
    bytes: &[u8],
    durability: Durability,
) -> Result<PathBuf> {
    create_private_dir(dir)?;
    let mut noise = [0u8; 8];
    getrandom::getrandom(&mut noise)
        .map_err(|e| Error::runtime(format!("naming a temporary file: {e}")))?;
    let path = dir.join(format!(
        ".tmp-{}-{:016x}",
        std::process::id(),
        u64::from_le_bytes(noise)
    ));
    let mut options = private_options();
    options.write(true).create_new(true);
    owner::safe_flags(&mut options, false);
    let mut file: File = options
        .open(&path)
        .map_err(|e| Error::runtime(format!("creating {}: {e}", path.display())))?;
    let written = file.write_all(bytes).and_then(|()| match durability {
        Durability::Synced => file.sync_all(),
        #[cfg(test)]
        Durability::Unsynced => Ok(()),
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&path);
        return Err(Error::runtime(format!("writing {}: {e}", path.display())));
    }
    Ok(path)
}

/// Replaces `target` with `bytes` atomically: a private temporary file in the same
/// directory, synced, renamed over `target`, then the directory synced.
pub(crate) fn write_private_atomically(target: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let temp = write_private_temp(&dir, bytes)?;
    if let Err(e) = fs::rename(&temp, target) {
        let _ = fs::remove_file(&temp);
        return Err(Error::runtime(format!(
            "replacing {}: {e}",
            target.display()
        )));
    }
    sync_dir(&dir);
    Ok(())
}

/// Flushes a directory's entries (a rename) to disk; best effort, not possible everywhere.
pub(crate) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
