//! Why a path was not used: one value naming the path, what is wrong with it and the fix,
//! so each caller decides what it means (a cache miss with a warning, a refused config file).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Error;

/// What sits at a path, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A named pipe: opening it to read waits for a writer.
    #[cfg_attr(not(unix), allow(dead_code))]
    Fifo,
    /// A Unix domain socket.
    #[cfg_attr(not(unix), allow(dead_code))]
    Socket,
    /// A character device (a terminal, `/dev/zero`).
    #[cfg_attr(not(unix), allow(dead_code))]
    CharDevice,
    /// A block device (a disk).
    #[cfg_attr(not(unix), allow(dead_code))]
    BlockDevice,
    /// Anything else the platform has.
    Other,
}

impl FileKind {
    /// The kind of `file_type`.
    pub(crate) fn of(file_type: &std::fs::FileType) -> FileKind {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if file_type.is_fifo() {
                return FileKind::Fifo;
            }
            if file_type.is_socket() {
                return FileKind::Socket;
            }
            if file_type.is_char_device() {
                return FileKind::CharDevice;
            }
            if file_type.is_block_device() {
                return FileKind::BlockDevice;
            }
        }
        if file_type.is_symlink() {
            FileKind::Symlink
        } else if file_type.is_dir() {
            FileKind::Directory
        } else if file_type.is_file() {
            FileKind::File
        } else {
            FileKind::Other
        }
    }

    /// `a FIFO`, `a directory`: for sentences.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            FileKind::File => "a regular file",
            FileKind::Directory => "a directory",
            FileKind::Symlink => "a symbolic link",
            FileKind::Fifo => "a FIFO (named pipe)",
            FileKind::Socket => "a socket",
            FileKind::CharDevice => "a character device",
            FileKind::BlockDevice => "a block device",
            FileKind::Other => "a special file",
        }
    }
}

/// What is wrong with a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// A symbolic link where awsideman does not follow links.
    Symlink,
    /// Something else where a directory belongs.
    NotDirectory(FileKind),
    /// Something else where a regular file belongs.
    NotFile(FileKind),
    /// Owned by another user (not this one, not root), who can change what awsideman reads
    /// there. (Unix only: other platforms have no uid to compare.)
    #[cfg_attr(not(unix), allow(dead_code))]
    Owner {
        /// The owner's uid.
        uid: u32,
        /// The effective uid of this process.
        me: u32,
        /// Whether the path is a directory (the fix is `chown -R`).
        directory: bool,
    },
    /// Writable by group or others, and not repaired (a file, or a directory whose mode
    /// could not be changed).
    Writable {
        /// The permission bits found.
        mode: u32,
        /// Whether the path is a directory (the fix is `chmod 700`, else `chmod 600`).
        directory: bool,
    },
    /// Larger than anything that belongs there.
    TooLarge {
        /// The size found, in bytes.
        len: u64,
        /// The most allowed, in bytes.
        ceiling: u64,
    },
    /// Not what its own content says it is (shorter than stated, no header line).
    Damaged(String),
    /// Another process held the lock for longer than the timeout.
    Locked {
        /// How long this process waited.
        waited: Duration,
        /// The process holding it, when known.
        holder: Option<u32>,
    },
    /// The operating system refused.
    Io {
        /// What was being done (`opening`, `writing`).
        doing: &'static str,
        /// The error's kind.
        kind: io::ErrorKind,
        /// The error as the OS says it.
        message: String,
    },
}

/// A path that was not used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathError {
    /// The path.
    pub(crate) path: PathBuf,
    /// What is wrong with it.
    pub(crate) problem: Problem,
}

impl PathError {
    /// A `problem` with `path`.
    pub(crate) fn new(path: &Path, problem: Problem) -> PathError {
        PathError {
            path: path.to_path_buf(),
            problem,
        }
    }

    /// An I/O error while `doing` something to `path`.
    pub(crate) fn io(path: &Path, doing: &'static str, error: &io::Error) -> PathError {
        PathError::new(
            path,
            Problem::Io {
                doing,
                kind: error.kind(),
                message: error.to_string(),
            },
        )
    }

    #[cfg(test)]
    /// Whether the path was refused because someone else may control it (a link, a foreign
    /// owner, a mode others can write), rather than because it is damaged or busy.
    pub(crate) fn is_untrusted(&self) -> bool {
        matches!(
            self.problem,
            Problem::Symlink | Problem::Owner { .. } | Problem::Writable { .. }
        )
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.problem {
            Problem::Symlink => write!(
                f,
                "{path} is a symbolic link, and awsideman follows no links there (anyone who \
                 could plant one would choose what it reads or overwrites): remove it"
            ),
            Problem::NotDirectory(kind) => write!(
                f,
                "{path} is {}, not a directory: remove it",
                kind.describe()
            ),
            Problem::NotFile(kind) => write!(
                f,
                "{path} is {}, not a regular file: remove it",
                kind.describe()
            ),
            Problem::Owner { uid, me, directory } => write!(
                f,
                "{path} is owned by uid {uid}, not by you (uid {me}) or root, so its owner \
                 decides what awsideman reads there: remove it, or if it is yours run \
                 'chown {}{me} {path}'",
                if *directory { "-R " } else { "" }
            ),
            Problem::Writable { mode, directory } if *directory && mode & 0o1000 != 0 => write!(
                f,
                "{path} is a shared directory (mode {mode:04o}) that other users can write: \
                 keep awsideman's files in a directory of your own"
            ),
            Problem::Writable { mode, directory } => write!(
                f,
                "{path} has mode {mode:04o}, so other users can change it: run 'chmod {} {path}'",
                if *directory { "700" } else { "600" }
            ),
            Problem::TooLarge { len, ceiling } => write!(
                f,
                "{path} is {len} bytes, more than the {ceiling} bytes it may have: it is damaged \
                 or not what it should be; remove it"
            ),
            Problem::Damaged(why) => write!(f, "{path}: {why}"),
            Problem::Locked { waited, holder } => {
                let who = match holder {
                    Some(pid) => format!("process {pid}"),
                    None => "another process".to_string(),
                };
                write!(
                    f,
                    "{path} is locked by {who}; gave up after {:.1} s (cache.lock_timeout_ms \
                     sets how long to wait)",
                    waited.as_secs_f64()
                )
            }
            Problem::Io { doing, message, .. } => write!(f, "{doing} {path}: {message}"),
        }
    }
}

impl std::error::Error for PathError {}

impl From<PathError> for Error {
    fn from(e: PathError) -> Error {
        Error::runtime(e.to_string())
    }
}
