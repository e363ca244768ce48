//! Whole records appended to a private log: one `write` of a complete line to an `O_APPEND`
//! file, under an exclusive lock with a limit; a write that fails (a full disk) is cut back
//! to the length before it, and a missing newline left by an older writer is added first,
//! so the next record never joins a broken one.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use super::lock::{LockKind, wait_for_lock};
use super::read::{Links, open_checked};
use super::refusal::{PathError, Problem};

/// Appends `line` (a newline is added when it lacks one) to the log at `path`.
///
/// The file is created 0600 if missing; a link at `path` is never followed and anything but
/// a regular file of this user (or root) that others cannot write is refused. Waits at most
/// `timeout` for the other writers. Either the whole line is in the file afterwards, or
/// nothing of it.
pub(crate) fn append_record(path: &Path, line: &[u8], timeout: Duration) -> Result<(), PathError> {
    let mut options = OpenOptions::new();
    options.read(true).append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let Some((mut file, _)) = open_checked(path, &mut options, Links::Refuse)? else {
        return Err(PathError::new(
            path,
            Problem::Damaged("vanished while being opened".into()),
        ));
    };
    wait_for_lock(&file, path, LockKind::Exclusive, timeout)?;
    let before = file
        .metadata()
        .map_err(|e| PathError::io(path, "inspecting", &e))?
        .len();
    let mut record = Vec::with_capacity(line.len() + 2);
    if before > 0 && last_byte(&mut file).map_err(|e| PathError::io(path, "reading", &e))? != b'\n'
    {
        record.push(b'\n');
    }
    record.extend_from_slice(line);
    if line.last() != Some(&b'\n') {
        record.push(b'\n');
    }
    let (kind, failure) = match file.write(&record) {
        Ok(n) if n == record.len() => return Ok(()),
        Ok(n) => (
            std::io::ErrorKind::WriteZero,
            format!(
                "only {n} of {} bytes could be written (is the disk full?)",
                record.len()
            ),
        ),
        Err(e) => (e.kind(), e.to_string()),
    };
    // Leave the file as it was: the next record starts on a clean line.
    let restored = match file.set_len(before) {
        Ok(()) => String::new(),
        Err(e) => format!("; cutting it back to {before} bytes failed too: {e}"),
    };
    Err(PathError::new(
        path,
        Problem::Io {
            doing: "appending to",
            kind,
            message: format!("{failure}{restored}"),
        },
    ))
}

fn last_byte(file: &mut std::fs::File) -> std::io::Result<u8> {
    file.seek(SeekFrom::End(-1))?;
    let mut byte = [0u8];
    file.read_exact(&mut byte)?;
    Ok(byte[0])
}
