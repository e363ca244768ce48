//! The `file` key source: a key file (`cache.encryption_key_file`).
//!
//! The file holds a keyset text or a bare base64 key. On Unix it is read only when it is a
//! regular file owned by the current user with no permission for group or others (0600 or
//! stricter): it is opened without waiting (a FIFO is refused at once, never read), and the
//! type, owner and permissions are checked on the opened file, not on its name, so the file
//! checked is the file read; at most 64 KiB are read. It is written like every private
//! file: 0600, through a synced temporary file renamed into place.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::{KeyStore, Keyset, MasterKey};
use crate::error::{Error, Result};
use crate::fsutil::{Links, PathError, open_private_file, write_private_atomically};

/// A key file larger than this is not a key file (a keyset of 100 keys is ~7 KB).
const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

/// Keys in a private file.
#[derive(Debug, Clone)]
pub(crate) struct FileStore {
    path: PathBuf,
}

impl FileStore {
    /// The file source over `path` (tilde already expanded).
    pub(crate) fn new(path: PathBuf) -> FileStore {
        FileStore { path }
    }

    fn fail(&self, what: impl std::fmt::Display) -> Error {
        Error::runtime(format!(
            "cache encryption: key file {}: {what}",
            self.path.display()
        ))
    }
}

impl KeyStore for FileStore {
    fn name(&self) -> &'static str {
        "file"
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn load(&self) -> Result<Option<Keyset>> {
        let refused = |e: PathError| Error::config(format!("cache encryption: key file {e}"));
        let Some(mut file) =
            open_private_file(&self.path, Links::Follow, MAX_KEY_FILE_BYTES).map_err(refused)?
        else {
            return Ok(None);
        };
        check_private(&self.path, file.mode())?;
        // Sized up front so the buffer never reallocates (and leaves no unzeroed copy).
        let mut bytes = Zeroizing::new(Vec::new());
        file.read_rest_into(&mut bytes).map_err(refused)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| self.fail("not valid UTF-8"))?;
        Keyset::from_text(text)
            .map(Some)
            .map_err(|e| self.fail(e.message()))
    }

    fn save(&self, keys: &Keyset) -> Result<()> {
        write_private_atomically(&self.path, keys.to_text().as_bytes())
            .map_err(|e| e.context("cache encryption: saving the key file"))
    }

    #[cfg(test)]
    fn delete(&self) -> Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.fail(format_args!("cannot remove it ({e})"))),
        }
    }

    fn new_key(&self) -> Result<MasterKey> {
        MasterKey::generate()
    }
}

/// Refuses a key file that others could read (its owner, type and size are checked by
/// [`open_private_file`]).
fn check_private(path: &Path, mode: u32) -> Result<()> {
    let shown = path.display();
    if mode & 0o077 != 0 {
        return Err(Error::config(format!(
            "cache encryption: key file {shown} has mode {mode:04o}, so others can read it; \
             it must be 0600 or stricter: run 'chmod 600 {shown}'"
        )));
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::cache::keys::test_support::{TempDir, assert_no_secret};
    use crate::error::Kind;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn write_with_mode(path: &Path, text: &str, mode: u32) {
        fs::write(path, text).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn missing_file_is_no_key() {
        let dir = TempDir::new("file-missing");
        let store = FileStore::new(dir.0.join("nope"));
        assert!(store.load().unwrap().is_none());
        store.delete().unwrap();
    }

    #[test]
    fn private_file_is_read() {
        let dir = TempDir::new("file-0600");
        let path = dir.0.join("key");
        let key = MasterKey::generate().unwrap();
        for m in [0o600, 0o400] {
            write_with_mode(&path, &format!("{}\n", key.to_base64().as_str()), m);
            let set = FileStore::new(path.clone()).load().unwrap().unwrap();
            assert_eq!(set.active().as_bytes(), key.as_bytes());
        }
    }

    #[test]
    fn readable_by_others_is_refused_with_the_fix() {
        let dir = TempDir::new("file-0644");
        let path = dir.0.join("key");
        let key = MasterKey::generate().unwrap();
        for m in [0o644, 0o640, 0o604, 0o660] {
            write_with_mode(&path, &key.to_base64(), m);
            let e = FileStore::new(path.clone()).load().unwrap_err();
            assert_eq!(e.kind(), Kind::Config);
            let message = e.to_string();
            assert!(
                message.contains(&format!("chmod 600 {}", path.display())),
                "{message}"
            );
            assert!(message.contains(&format!("{m:04o}")), "{message}");
            assert_no_secret(&message, &key.to_base64());
        }
    }

    #[test]
    fn directory_and_garbage_are_refused_without_echo() {
        let dir = TempDir::new("file-bad");
        let sub = dir.0.join("sub");
        fs::create_dir(&sub).unwrap();
        assert!(FileStore::new(sub).load().is_err());
        let path = dir.0.join("key");
        let garbage = "c2VjcmV0LXNlY3JldC1zZWNyZXQ=";
        write_with_mode(&path, garbage, 0o600);
        let message = FileStore::new(path.clone()).load().unwrap_err().to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert_no_secret(&message, garbage);
    }

    #[test]
    fn a_fifo_or_a_huge_file_is_refused_at_once() {
        let dir = TempDir::new("file-fifo");
        let path = dir.0.join("key");
        let name = std::ffi::CString::new(path.display().to_string()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        let e = FileStore::new(path.clone()).load().unwrap_err();
        assert_eq!(e.kind(), Kind::Config);
        assert!(e.to_string().contains("FIFO"), "{e}");
        fs::remove_file(&path).unwrap();
        let file = fs::File::create(&path).unwrap();
        file.set_len(2 << 30).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let e = FileStore::new(path).load().unwrap_err();
        assert!(e.to_string().contains("2147483648 bytes"), "{e}");
    }

    #[test]
    fn another_users_file_is_refused() {
        if crate::fsutil::effective_uid() != 0 {
            eprintln!("note: not root, the foreign-owner check is not exercised");
            return;
        }
        let dir = TempDir::new("file-owner");
        let path = dir.0.join("key");
        write_with_mode(&path, &MasterKey::generate().unwrap().to_base64(), 0o600);
        std::os::unix::fs::chown(&path, Some(65534), None).unwrap();
        let message = FileStore::new(path).load().unwrap_err().to_string();
        assert!(message.contains("owned by uid 65534"), "{message}");
    }

    #[test]
    fn save_is_private_atomic_and_round_trips() {
        let dir = TempDir::new("file-save");
        let path = dir.0.join("nested/key");
        let store = FileStore::new(path.clone());
        let mut set = Keyset::generate().unwrap();
        store.save(&set).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);

        // A rotation step saved over a file someone made readable: the new file is 0600.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        set.add_active(store.new_key().unwrap());
        store.save(&set).unwrap();
        assert_eq!(mode(&path), 0o600);
        let entries: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(entries.len(), 1, "no temporary file left behind");

        let back = store.load().unwrap().unwrap();
        assert_eq!(back.ids(), set.ids());
        assert_eq!(back.active().id(), set.active().id());
        store.delete().unwrap();
        assert!(store.load().unwrap().is_none());
    }
}
