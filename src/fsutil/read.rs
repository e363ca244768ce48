//! Reading a private file safely: opened without waiting (a FIFO does not hang the read),
//! without following a link where awsideman owns the name, checked on the opened handle to
//! be a regular file of this user (or root) that others cannot write, and read within a
//! ceiling.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{BufRead, BufReader, ErrorKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::owner::{check_owner, mode_of, safe_flags, writable_by_others};
use super::refusal::{FileKind, PathError, Problem};

/// Whether a symbolic link at the file's own name is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Links {
    /// Followed; the file it leads to is checked (a config file kept with the user's
    /// dotfiles, a key file the user named).
    Follow,
    /// Refused: names in directories awsideman owns (cache entries, lock files).
    Refuse,
}

/// A private file opened for reading, checked before any byte is read.
#[derive(Debug)]
pub(crate) struct PrivateFile {
    reader: BufReader<File>,
    path: PathBuf,
    len: u64,
    mode: u32,
    ceiling: u64,
    consumed: u64,
}

/// Opens `path` for reading: `Ok(None)` when nothing is there.
///
/// The open never blocks and, with [`Links::Refuse`], never follows a link. The opened
/// handle must be a regular file (a FIFO, socket, device or directory is
/// [`Problem::NotFile`] at once), owned by this user (or root), not writable by group or
/// others, and at most `ceiling` bytes long ([`Problem::TooLarge`], decided from its size,
/// nothing read).
pub(crate) fn open_private_file(
    path: &Path,
    links: Links,
    ceiling: u64,
) -> Result<Option<PrivateFile>, PathError> {
    let mut options = OpenOptions::new();
    options.read(true);
    let Some((file, meta)) = open_checked(path, &mut options, links)? else {
        return Ok(None);
    };
    if meta.len() > ceiling {
        return Err(PathError::new(
            path,
            Problem::TooLarge {
                len: meta.len(),
                ceiling,
            },
        ));
    }
    Ok(Some(PrivateFile {
        reader: BufReader::with_capacity(8 * 1024, file),
        path: path.to_path_buf(),
        len: meta.len(),
        mode: mode_of(&meta),
        ceiling,
        consumed: 0,
    }))
}

/// Opens `path` with `options` plus the flags that never wait and (with
/// [`Links::Refuse`]) never follow a link; `Ok(None)` when it does not exist. The handle
/// must be a regular file of this user (or root) that group and others cannot write.
pub(super) fn open_checked(
    path: &Path,
    options: &mut OpenOptions,
    links: Links,
) -> Result<Option<(File, Metadata)>, PathError> {
    safe_flags(options, links == Links::Follow);
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(explain_open_error(path, links, &e)),
    };
    let meta = file
        .metadata()
        .map_err(|e| PathError::io(path, "inspecting", &e))?;
    if !meta.is_file() {
        return Err(PathError::new(
            path,
            Problem::NotFile(FileKind::of(&meta.file_type())),
        ));
    }
    check_owner(path, &meta)?;
    if writable_by_others(&meta) {
        return Err(PathError::new(
            path,
            Problem::Writable {
                mode: mode_of(&meta),
                directory: false,
            },
        ));
    }
    Ok(Some((file, meta)))
}

/// The whole of a private file (see [`open_private_file`]), `Ok(None)` when missing.
pub(crate) fn read_private_file(
    path: &Path,
    links: Links,
    ceiling: u64,
) -> Result<Option<Vec<u8>>, PathError> {
    match open_private_file(path, links, ceiling)? {
        Some(mut file) => file.read_rest().map(Some),
        None => Ok(None),
    }
}

/// Why an open failed: a refused link, something that is not a file, or the OS's error.
fn explain_open_error(path: &Path, links: Links, error: &std::io::Error) -> PathError {
    let found = match links {
        Links::Refuse => std::fs::symlink_metadata(path),
        Links::Follow => std::fs::metadata(path),
    };
    match found {
        // A refused link (or a dangling one that would have been created through).
        Ok(meta) if meta.file_type().is_symlink() => PathError::new(path, Problem::Symlink),
        Ok(meta) if !meta.file_type().is_symlink() && !meta.is_file() => {
            PathError::new(path, Problem::NotFile(FileKind::of(&meta.file_type())))
        }
        _ => PathError::io(path, "opening", error),
    }
}

impl PrivateFile {
    /// Its size when it was opened.
    #[cfg(unix)]
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The whole file mapped into memory (see [`super::Mapped`]), or `None` when it is
    /// empty or cannot be mapped. Only for files nobody writes into: awsideman's own,
    /// replaced by renaming.
    #[cfg(unix)]
    pub(crate) fn map(&self) -> Option<super::Mapped> {
        super::Mapped::of(self.reader.get_ref(), self.len)
    }

    /// Its permission bits (0 where the platform has none).
    pub(crate) fn mode(&self) -> u32 {
        self.mode
    }

    /// How many bytes were read so far.
    #[cfg(test)]
    pub(crate) fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Whether nothing follows what was read so far.
    #[cfg(test)]
    pub(crate) fn at_end(&mut self) -> Result<bool, PathError> {
        self.reader
            .fill_buf()
            .map(|rest| rest.is_empty())
            .map_err(|e| PathError::io(&self.path, "reading", &e))
    }

    /// The next line, newline included, of at most `max` bytes: [`Problem::Damaged`] when
    /// no newline comes within `max` bytes (nothing more than `max` is read).
    pub(crate) fn read_line(&mut self, max: usize) -> Result<Vec<u8>, PathError> {
        let mut line = Vec::new();
        (&mut self.reader)
            .take(max as u64)
            .read_until(b'\n', &mut line)
            .map_err(|e| PathError::io(&self.path, "reading", &e))?;
        self.consumed += line.len() as u64;
        if line.last() != Some(&b'\n') {
            return Err(self.damaged(format!("no line end within {max} bytes")));
        }
        Ok(line)
    }

    /// The rest of the file, up to the ceiling: [`Problem::TooLarge`] if it grew beyond it.
    pub(crate) fn read_rest(&mut self) -> Result<Vec<u8>, PathError> {
        let mut bytes = Vec::new();
        self.read_rest_into(&mut bytes)?;
        Ok(bytes)
    }

    /// [`PrivateFile::read_rest`] appended to `out`, reserving its size first, so a buffer
    /// that will be zeroed (key material) is never reallocated into an unzeroed copy.
    pub(crate) fn read_rest_into(&mut self, out: &mut Vec<u8>) -> Result<(), PathError> {
        let left = self.ceiling.saturating_sub(self.consumed);
        out.reserve(self.len.saturating_sub(self.consumed) as usize + 1);
        let read = (&mut self.reader)
            .take(left.saturating_add(1))
            .read_to_end(out)
            .map_err(|e| PathError::io(&self.path, "reading", &e))?;
        self.consumed += read as u64;
        if self.consumed > self.ceiling {
            return Err(PathError::new(
                &self.path,
                Problem::TooLarge {
                    len: self.consumed,
                    ceiling: self.ceiling,
                },
            ));
        }
        Ok(())
    }

    /// At most the last `max` bytes of the rest (for a log, whose newest records are at the
    /// end), and how many bytes before them were skipped.
    pub(crate) fn read_tail(&mut self, max: u64) -> Result<(Vec<u8>, u64), PathError> {
        let left = self.len.saturating_sub(self.consumed);
        let skipped = left.saturating_sub(max);
        if skipped > 0 {
            self.reader
                .seek(SeekFrom::Start(self.consumed + skipped))
                .map_err(|e| PathError::io(&self.path, "reading", &e))?;
            self.consumed += skipped;
        }
        let mut bytes = Vec::with_capacity(left.min(max) as usize);
        let read = (&mut self.reader)
            .take(max)
            .read_to_end(&mut bytes)
            .map_err(|e| PathError::io(&self.path, "reading", &e))?;
        self.consumed += read as u64;
        Ok((bytes, skipped))
    }

    fn damaged(&self, why: String) -> PathError {
        PathError::new(&self.path, Problem::Damaged(why))
    }
}
