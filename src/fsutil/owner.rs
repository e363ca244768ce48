//! Who may change a path: its owner and its permission bits, and the open flags that neither
//! follow a link nor wait on a pipe. Unix only; elsewhere ACLs decide and nothing is checked.

use std::fs::{Metadata, OpenOptions};
use std::path::Path;

use super::refusal::PathError;
#[cfg(unix)]
use super::refusal::Problem;

/// The effective user id of this process.
#[cfg(unix)]
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// The permission bits of `meta` (0 where the platform has none).
pub(crate) fn mode_of(meta: &Metadata) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        meta.mode() & 0o7777
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        0
    }
}

/// Refuses `path` (described by `meta`) unless this process's user owns it, or root does
/// (as ssh does: root can change anything anyway, and a shared file root keeps is safe).
pub(crate) fn check_owner(path: &Path, meta: &Metadata) -> Result<(), PathError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let me = effective_uid();
        if meta.uid() != me && meta.uid() != 0 {
            return Err(PathError::new(
                path,
                Problem::Owner {
                    uid: meta.uid(),
                    me,
                    directory: meta.is_dir(),
                },
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = (path, meta);
    Ok(())
}

/// Whether group or others may write `meta`'s file.
pub(crate) fn writable_by_others(meta: &Metadata) -> bool {
    mode_of(meta) & 0o022 != 0
}

/// Adds to `options`: never wait (a FIFO opens at once, to be refused after), and with
/// `follow` false, never follow a symbolic link at the last component (the open fails).
pub(crate) fn safe_flags(options: &mut OpenOptions, follow: bool) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC;
        if !follow {
            flags |= libc::O_NOFOLLOW;
        }
        options.custom_flags(flags);
    }
    #[cfg(not(unix))]
    let _ = (options, follow);
}
