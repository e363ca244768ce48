//! A private file's bytes mapped into memory rather than read into a buffer.
//!
//! Reading a file of megabytes into a new buffer costs the process one page fault per 4 KiB
//! page of that buffer (the kernel hands out zeroed pages, then copies into them), which
//! for a warm cached answer of 2 MB is most of the command. Mapped, the file's pages in the
//! page cache are the bytes, a fault per 64 KiB at most and nothing copied.
//!
//! Only for files nobody changes while they are mapped: awsideman replaces a file it owns
//! by renaming a new one over it, never by writing into it, and a private file is one
//! others cannot write. A mapping's bytes are read-only.

#[cfg(unix)]
use std::fs::File;
#[cfg(unix)]
use std::ptr::NonNull;

/// `len` bytes of a file, mapped read-only from its start; unmapped when dropped.
#[cfg(unix)]
#[derive(Debug)]
pub struct Mapped {
    start: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is read-only and owned by this value alone: sharing or sending it
// shares or sends a `&[u8]`.
#[cfg(unix)]
unsafe impl Send for Mapped {}
// SAFETY: as above.
#[cfg(unix)]
unsafe impl Sync for Mapped {}

#[cfg(unix)]
impl Mapped {
    /// Maps the first `len` bytes of `file` (which holds at least that many), or `None`
    /// when `len` is 0 or the system refuses the mapping (the caller reads instead).
    pub(crate) fn of(file: &File, len: u64) -> Option<Mapped> {
        use std::os::fd::AsRawFd;
        let len = usize::try_from(len).ok().filter(|&n| n > 0)?;
        // SAFETY: a new read-only private mapping of an open file: it aliases no Rust
        // memory, and the result is checked before use.
        let start = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if start == libc::MAP_FAILED {
            return None;
        }
        NonNull::new(start.cast::<u8>()).map(|start| Mapped { start, len })
    }
}

#[cfg(unix)]
impl std::ops::Deref for Mapped {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: `start` is a live read-only mapping of `len` bytes until `drop`, of a
        // file nobody writes into (see the module documentation).
        unsafe { std::slice::from_raw_parts(self.start.as_ptr(), self.len) }
    }
}

#[cfg(unix)]
impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `of`, which no slice outlives (they
        // borrow `self`).
        unsafe { libc::munmap(self.start.as_ptr().cast(), self.len) };
    }
}

/// A file's contents: read into a buffer, or mapped.
#[derive(Debug)]
pub enum Contents {
    /// Read into memory (or made there: a decrypted payload, a copy from a shared store).
    Read(Vec<u8>),
    /// Mapped from a private file.
    #[cfg(unix)]
    Mapped(Mapped),
}

impl std::ops::Deref for Contents {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Contents::Read(bytes) => bytes,
            #[cfg(unix)]
            Contents::Mapped(mapped) => mapped,
        }
    }
}

impl PartialEq for Contents {
    fn eq(&self, other: &Contents) -> bool {
        **self == **other
    }
}

impl Eq for Contents {}

impl From<Vec<u8>> for Contents {
    fn from(bytes: Vec<u8>) -> Contents {
        Contents::Read(bytes)
    }
}

impl Contents {
    /// The bytes as an owned buffer (copied out of a mapping).
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            Contents::Read(bytes) => bytes,
            #[cfg(unix)]
            Contents::Mapped(mapped) => mapped.to_vec(),
        }
    }
}

/// A mapping whose bytes are UTF-8 (checked once, when made): text without a copy.
#[cfg(unix)]
#[derive(Debug)]
pub(crate) struct MappedText(Mapped);

#[cfg(unix)]
impl MappedText {
    /// The mapping as text, or the mapping back if it is not UTF-8.
    pub(crate) fn new(mapped: Mapped) -> Result<MappedText, Mapped> {
        match std::str::from_utf8(&mapped) {
            Ok(_) => Ok(MappedText(mapped)),
            Err(_) => Err(mapped),
        }
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        // SAFETY: checked to be UTF-8 in `new`, and a mapping's bytes do not change.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }
}
