//! Advisory locks with a limit: a wait polls with a short backoff up to a deadline, then
//! gives up with the lock's path and, when known, the process holding it. An exclusive
//! holder writes its pid into the lock file, and on Linux `/proc/locks` names any holder.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use super::read::{Links, open_checked};
use super::refusal::{PathError, Problem};

/// Shared (many holders, e.g. readers) or exclusive (one holder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockKind {
    /// Any number of shared holders, no exclusive one.
    Shared,
    /// One holder, nobody else.
    Exclusive,
}

/// A held lock on a lock file; released when dropped (an exclusive holder first clears
/// the pid it wrote).
#[derive(Debug)]
pub(crate) struct FileLock {
    file: File,
    kind: LockKind,
}

/// The first pause between two tries; it doubles up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(1);
const LONGEST_PAUSE: Duration = Duration::from_millis(25);

/// Takes a `kind` lock on the lock file `path`, waiting at most `timeout`.
///
/// The file is created 0600 if missing; a link at `path` is never followed, and anything but
/// a regular file of this user (or root) that others cannot write is refused. On timeout:
/// [`Problem::Locked`] with the holder's pid when known. A zero timeout tries once.
pub(crate) fn lock_file(
    path: &Path,
    kind: LockKind,
    timeout: Duration,
) -> Result<FileLock, PathError> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let Some((file, _)) = open_checked(path, &mut options, Links::Refuse)? else {
        return Err(PathError::new(
            path,
            Problem::Damaged("vanished while being opened".into()),
        ));
    };
    wait_for_lock(&file, path, kind, timeout)?;
    if kind == LockKind::Exclusive {
        // Best effort: the pid only names the holder in a message.
        let _ = write_pid(&file);
    }
    Ok(FileLock { file, kind })
}

/// Locks an already open `file` (named `path` in messages), waiting at most `timeout`;
/// the lock lasts until the file is closed or unlocked.
pub(crate) fn wait_for_lock(
    file: &File,
    path: &Path,
    kind: LockKind,
    timeout: Duration,
) -> Result<(), PathError> {
    let started = Instant::now();
    let mut pause = FIRST_PAUSE;
    loop {
        let tried = match kind {
            LockKind::Shared => file.try_lock_shared(),
            LockKind::Exclusive => file.try_lock(),
        };
        match tried {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(PathError::io(path, "locking", &e)),
        }
        let waited = started.elapsed();
        if waited >= timeout {
            return Err(PathError::new(
                path,
                Problem::Locked {
                    waited,
                    holder: holder_of(file),
                },
            ));
        }
        std::thread::sleep(pause.min(timeout - waited));
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        if self.kind == LockKind::Exclusive {
            let _ = self.file.set_len(0);
        }
        // Closing the handle releases the lock.
    }
}

/// Replaces the lock file's content by this process's pid.
fn write_pid(mut file: &File) -> std::io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(format!("{}\n", std::process::id()).as_bytes())
}

/// The process holding a lock on `file`, when it can be told: from `/proc/locks` on Linux,
/// else the pid an exclusive holder wrote.
fn holder_of(file: &File) -> Option<u32> {
    holder_from_proc(file).or_else(|| {
        let mut text = String::new();
        let mut reader = file;
        reader.seek(SeekFrom::Start(0)).ok()?;
        reader.take(32).read_to_string(&mut text).ok()?;
        text.trim().parse().ok()
    })
}

/// The first holder of a lock on `file`'s inode listed in `/proc/locks`.
#[cfg(target_os = "linux")]
fn holder_from_proc(file: &File) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata().ok()?;
    let dev = meta.dev();
    let id = format!(
        "{:02x}:{:02x}:{}",
        libc::major(dev),
        libc::minor(dev),
        meta.ino()
    );
    let mut table = String::new();
    File::open("/proc/locks")
        .ok()?
        .take(1024 * 1024)
        .read_to_string(&mut table)
        .ok()?;
    holder_in_table(&table, &id, std::process::id())
}

#[cfg(not(target_os = "linux"))]
fn holder_from_proc(_file: &File) -> Option<u32> {
    None
}

/// In a `/proc/locks` table, the pid of the first granted lock on `id`
/// (`MAJOR:MINOR:INODE`) held by another process than `me`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn holder_in_table(table: &str, id: &str, me: u32) -> Option<u32> {
    table
        .lines()
        // Waiting requests are listed as "N: -> FLOCK ...".
        .filter(|line| !line.contains("->"))
        .find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let at = fields.iter().position(|f| *f == id)?;
            let pid: u32 = fields.get(at.checked_sub(1)?)?.parse().ok()?;
            (pid != me).then_some(pid)
        })
}

#[cfg(test)]
mod tests {
    use super::holder_in_table;

    #[test]
    fn proc_locks_lines() {
        let table = "1: FLOCK  ADVISORY  WRITE 23113 fe:00:10010827 0 EOF\n\
                     1: -> FLOCK  ADVISORY  WRITE 999 fe:00:10010827 0 EOF\n\
                     2: POSIX  ADVISORY  READ 77 fe:00:42 0 EOF\n";
        assert_eq!(holder_in_table(table, "fe:00:10010827", 1), Some(23113));
        assert_eq!(holder_in_table(table, "fe:00:10010827", 23113), None);
        assert_eq!(holder_in_table(table, "fe:00:42", 1), Some(77));
        assert_eq!(holder_in_table(table, "fe:00:4", 1), None);
    }
}
