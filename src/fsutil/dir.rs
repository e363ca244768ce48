//! Private directories, as ssh treats `~/.ssh`: every directory awsideman owns, from the top
//! one (the config directory, or a directory the user configured) down to the one it uses,
//! must be a real directory (not a link), owned by this user (or root) and not writable by
//! group or others. One that is ours but too open is repaired to 0700 with one note;
//! anything else is refused with the path and the fix.

use std::fs;
use std::path::{Component, Path, PathBuf};

use super::owner::{check_owner, mode_of, writable_by_others};
use super::refusal::{FileKind, PathError, Problem};

/// Makes sure `dir` is a private directory, creating what is missing (mode 0700).
///
/// `top` is the highest directory awsideman owns on the way (the config directory); every
/// directory from `top` down to `dir` is checked with `lstat`: a link is refused, except
/// `top` itself, which may be a link to a directory (a relocated config directory) whose
/// target is then checked. When `dir` is not under `top`, `dir` is its own top. `top` must
/// be a directory kept for awsideman (the config directory, a configured cache directory),
/// never a shared one such as the directory of a configured log file, since it may be
/// repaired. A directory
/// owned by another user (not root) is refused. One owned by this user but writable by
/// group or others is changed to 0700 (unless sticky: a shared directory like /tmp is
/// refused) and `note` gets
/// one sentence saying so; anything else wrong is an error naming the path and the fix.
pub(crate) fn ensure_private_dir(
    top: &Path,
    dir: &Path,
    note: &mut dyn FnMut(String),
) -> Result<(), PathError> {
    walk(top, dir, Mode::CreateAndRepair, note).map(|_| ())
}

/// [`ensure_private_dir`] without creating anything: `Ok(false)` when a directory on the
/// way is missing (what exists is still checked, and repaired).
pub(crate) fn check_private_dir(
    top: &Path,
    dir: &Path,
    note: &mut dyn FnMut(String),
) -> Result<bool, PathError> {
    walk(top, dir, Mode::Repair, note)
}

/// [`check_private_dir`] changing nothing: a directory of ours that others can write is
/// refused ([`Problem::Writable`]) rather than repaired. For code that has no way to tell
/// the user about a repair.
pub(crate) fn verify_private_dir(top: &Path, dir: &Path) -> Result<bool, PathError> {
    walk(top, dir, Mode::Verify, &mut |_| {})
}

/// What a walk may change.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    CreateAndRepair,
    Repair,
    Verify,
}

fn walk(
    top: &Path,
    dir: &Path,
    mode: Mode,
    note: &mut dyn FnMut(String),
) -> Result<bool, PathError> {
    let repair = mode != Mode::Verify;
    for (i, path) in chain(top, dir).iter().enumerate() {
        let is_top = i == 0;
        if check_one(path, is_top, repair, note)? {
            continue;
        }
        if mode != Mode::CreateAndRepair {
            return Ok(false);
        }
        make(path, is_top)?;
        if !check_one(path, is_top, repair, note)? {
            return Err(PathError::new(
                path,
                Problem::Damaged("vanished right after it was created".into()),
            ));
        }
    }
    Ok(true)
}

/// `top`, then each directory below it down to `dir`; just `dir` when it is not below `top`.
fn chain(top: &Path, dir: &Path) -> Vec<PathBuf> {
    let below = match dir.strip_prefix(top) {
        Ok(rest) if rest.components().all(|c| matches!(c, Component::Normal(_))) => rest,
        _ => return vec![dir.to_path_buf()],
    };
    let mut path = top.to_path_buf();
    let mut chain = vec![path.clone()];
    for part in below.components() {
        path.push(part);
        chain.push(path.clone());
    }
    chain
}

/// Checks one directory (and repairs its mode); `Ok(false)` when it does not exist.
fn check_one(
    path: &Path,
    is_top: bool,
    repair: bool,
    note: &mut dyn FnMut(String),
) -> Result<bool, PathError> {
    let mut meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(PathError::io(path, "inspecting", &e)),
    };
    let follow = is_top && meta.file_type().is_symlink();
    if follow {
        meta = fs::metadata(path).map_err(|_| PathError::new(path, Problem::Symlink))?;
    } else if meta.file_type().is_symlink() {
        return Err(PathError::new(path, Problem::Symlink));
    }
    if !meta.is_dir() {
        return Err(PathError::new(
            path,
            Problem::NotDirectory(FileKind::of(&meta.file_type())),
        ));
    }
    check_owner(path, &meta)?;
    // A sticky directory others can write (/tmp) is shared by design: never ours to change.
    let shared = mode_of(&meta) & 0o1000 != 0;
    if writable_by_others(&meta) && (!repair || shared) {
        return Err(PathError::new(
            path,
            Problem::Writable {
                mode: mode_of(&meta),
                directory: true,
            },
        ));
    }
    if writable_by_others(&meta) {
        make_private(path, follow, mode_of(&meta))?;
        note(format!(
            "{} was mode {:04o}, so other users could change what awsideman keeps there; \
             made it 0700",
            path.display(),
            mode_of(&meta)
        ));
    }
    Ok(true)
}

/// Sets a directory of ours to 0700 through a handle (never through a link planted since).
#[cfg(unix)]
fn make_private(path: &Path, follow: bool, mode: u32) -> Result<(), PathError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut options = fs::OpenOptions::new();
    options.read(true);
    let no_follow = if follow { 0 } else { libc::O_NOFOLLOW };
    options.custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_DIRECTORY | no_follow);
    let refused = || {
        PathError::new(
            path,
            Problem::Writable {
                mode,
                directory: true,
            },
        )
    };
    let handle = options.open(path).map_err(|_| refused())?;
    let meta = handle.metadata().map_err(|_| refused())?;
    check_owner(path, &meta)?;
    handle
        .set_permissions(fs::Permissions::from_mode(0o700))
        .map_err(|_| refused())
}

#[cfg(not(unix))]
fn make_private(_path: &Path, _follow: bool, _mode: u32) -> Result<(), PathError> {
    Ok(())
}

/// Creates one directory with mode 0700 (the top one with its missing parents).
fn make(path: &Path, is_top: bool) -> Result<(), PathError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(is_top);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    match builder.create(path) {
        Ok(()) => Ok(()),
        // Another process made it meanwhile: checked next like any other.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(PathError::io(path, "creating", &e)),
    }
}
