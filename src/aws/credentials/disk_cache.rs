//! The on-disk cache of temporary credentials, so that consecutive runs reuse an assumed
//! role or SSO role instead of calling STS (or prompting for MFA) every time.
//!
//! One JSON file per source, named by the SHA-256 of a description of that source. Files are
//! written atomically with mode 0600 in a 0700 directory; an unreadable or corrupt file is
//! treated as absent and replaced. Long-term keys are never written here.
//!
//! Nobody else may plant credentials here: the directory is used only while it is ours (or
//! root's) and not writable by others (the command repairs or warns about it beforehand;
//! here an unsafe one is simply not used), and a file is read only when it is a regular file
//! of ours, not a link, at most 64 KiB, opened without waiting.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Credentials;
use crate::error::{Error, Result};
use crate::rfc3339::{format_rfc3339, parse_rfc3339};

/// Cached credentials are used only while they have at least this long left.
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Files that expired more than this long ago are removed when a new file is written.
const PRUNE_AFTER: Duration = Duration::from_secs(24 * 3600);

/// A cached credentials file larger than this is not one.
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// A directory of cached temporary credentials.
#[derive(Clone, Copy)]
pub(crate) struct DiskCache<'a> {
    dir: &'a Path,
    sealer: Option<&'a dyn Sealer>,
}

impl std::fmt::Debug for DiskCache<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskCache")
            .field("dir", &self.dir)
            .field("sealed", &self.sealer.is_some())
            .finish()
    }
}

/// Seals what the credentials cache writes: with the response cache's encryption on, its
/// keys seal the cached credentials too, so no secret is on disk in the clear.
pub(crate) trait Sealer: Send + Sync {
    /// `plain` sealed; `None` when it cannot be now (then nothing is written).
    fn seal(&self, plain: &[u8]) -> Option<Vec<u8>>;
    /// `sealed` opened; `None` when it does not open (then the file counts as absent).
    fn open(&self, sealed: &[u8]) -> Option<Vec<u8>>;
}

impl<'a> DiskCache<'a> {
    /// The cache in `dir` (created on first write), files in the clear.
    pub(crate) fn new(dir: &'a Path) -> DiskCache<'a> {
        DiskCache { dir, sealer: None }
    }

    /// The same cache, its files sealed by `sealer` (files in the clear are then ignored).
    pub(crate) fn sealed_with(mut self, sealer: Option<&'a dyn Sealer>) -> DiskCache<'a> {
        self.sealer = sealer;
        self
    }

    /// A file's credentials document: opened by the sealer when there is one.
    fn document(&self, path: &Path) -> Option<Credentials> {
        let bytes = read_file(path)?;
        match self.sealer {
            Some(sealer) => decode(&sealer.open(&bytes)?),
            None => decode(&bytes),
        }
    }

    /// The cache key of a source described by `parts` (kind first, then what identifies it).
    pub(crate) fn key(parts: &[&str]) -> String {
        let description = Value::from(parts.to_vec()).to_string();
        hex::encode(Sha256::digest(description.as_bytes()))
    }

    /// The credentials stored under `key`, if they are still good for [`REFRESH_MARGIN`]
    /// after `now`.
    pub(crate) fn load(&self, key: &str, now: SystemTime) -> Option<Credentials> {
        if !verify_private_dir(self.dir, self.dir).ok()? {
            return None;
        }
        let credentials = self.document(&self.path(key))?;
        let expires_at = credentials.expires_at?;
        (expires_at > now + REFRESH_MARGIN).then_some(credentials)
    }

    /// Stores temporary credentials under `key`. Credentials without an expiry are refused
    /// (they are long-term or of unknown lifetime).
    pub(crate) fn store(
        &self,
        key: &str,
        credentials: &Credentials,
        now: SystemTime,
    ) -> Result<()> {
        let Some(expires_at) = credentials.expires_at else {
            return Err(Error::runtime(
                "refusing to cache credentials without an expiry",
            ));
        };
        create_private_dir(self.dir)?;
        verify_private_dir(self.dir, self.dir)?;
        let document = json!({
            "Version": 1,
            "AccessKeyId": credentials.access_key_id,
            "SecretAccessKey": credentials.secret_access_key,
            "SessionToken": credentials.session_token,
            "Expiration": format_rfc3339(expires_at),
        });
        let plain = zeroize::Zeroizing::new(document.to_string().into_bytes());
        let bytes = match self.sealer {
            Some(sealer) => match sealer.seal(&plain) {
                Some(sealed) => sealed,
                // Not in the clear, and not at all when it cannot be sealed now.
                None => return Ok(()),
            },
            None => plain.to_vec(),
        };
        write_private_atomically(&self.path(key), &bytes)?;
        self.prune(now);
        Ok(())
    }

    /// Removes cache files that expired long ago (best effort).
    fn prune(&self, now: SystemTime) {
        let Ok(entries) = fs::read_dir(self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if stem.len() != 64 || !stem.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            let document = self.document(&entry.path());
            let expired_long_ago = document
                .as_ref()
                .and_then(|credentials| credentials.expires_at)
                .is_some_and(|at| at + PRUNE_AFTER < now);
            // Sealing on: a file that does not open is from before (in the clear) or under
            // a retired key, and goes.
            let stale = self.sealer.is_some() && document.is_none();
            if expired_long_ago || stale {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }
}

/// A cache file's bytes, or `None` when missing, unsafe or unreadable (treated as absent).
fn read_file(path: &Path) -> Option<Vec<u8>> {
    read_private_file(path, Links::Refuse, MAX_FILE_BYTES)
        .ok()
        .flatten()
}

fn decode(text: &[u8]) -> Option<Credentials> {
    let value: Value = serde_json::from_slice(text).ok()?;
    let field = |name: &str| value.get(name).and_then(Value::as_str);
    let mut credentials = Credentials::new(
        field("AccessKeyId").filter(|s| !s.is_empty())?,
        field("SecretAccessKey").filter(|s| !s.is_empty())?,
        field("SessionToken").map(str::to_string),
    );
    credentials.expires_at = Some(parse_rfc3339(field("Expiration")?)?);
    Some(credentials)
}

use crate::fsutil::{Links, read_private_file, verify_private_dir};
pub(crate) use crate::fsutil::{create_private_dir, write_private_atomically};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::credentials::test_support::TempDir;

    fn temporary(expires_at: SystemTime) -> Credentials {
        let mut c = Credentials::new("ASIATEMP", "secret", Some("token".into()));
        c.expires_at = Some(expires_at);
        c
    }

    #[test]
    fn keys_are_sha256_of_the_description() {
        let key = DiskCache::key(&["assume-role", "arn:aws:iam::1:role/x"]);
        assert_eq!(key.len(), 64);
        assert_ne!(
            key,
            DiskCache::key(&["assume-role", "arn:aws:iam::1:role/y"])
        );
        // Parts cannot run into each other.
        assert_ne!(DiskCache::key(&["a", "bc"]), DiskCache::key(&["ab", "c"]));
    }

    #[test]
    fn write_reuse_and_expiry_margin() {
        let dir = TempDir::new("disk-cache");
        let cache_dir = dir.path().join("nested").join("creds");
        let cache = DiskCache::new(&cache_dir);
        let now = SystemTime::now();
        let key = DiskCache::key(&["test"]);
        assert_eq!(cache.load(&key, now), None);

        let good = temporary(now + Duration::from_secs(3600));
        cache.store(&key, &good, now).unwrap();
        let loaded = cache.load(&key, now).unwrap();
        assert_eq!(loaded.access_key_id, "ASIATEMP");
        assert_eq!(loaded.secret_access_key, "secret");
        assert_eq!(loaded.session_token.as_deref(), Some("token"));
        // Stored with whole seconds.
        let diff = good
            .expires_at
            .unwrap()
            .duration_since(loaded.expires_at.unwrap())
            .unwrap();
        assert!(diff < Duration::from_secs(1));

        // Within the margin: not reused.
        let late = now + Duration::from_secs(3600) - REFRESH_MARGIN + Duration::from_secs(1);
        assert_eq!(cache.load(&key, late), None);
        let early = now + Duration::from_secs(3600) - REFRESH_MARGIN - Duration::from_secs(2);
        assert!(cache.load(&key, early).is_some());

        // No temporary files left behind.
        let names: Vec<_> = fs::read_dir(&cache_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, [format!("{key}.json")]);
    }

    #[cfg(unix)]
    #[test]
    fn permissions_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new("disk-cache-perm");
        let cache_dir = dir.path().join("creds");
        let cache = DiskCache::new(&cache_dir);
        let now = SystemTime::now();
        let key = DiskCache::key(&["perm"]);
        cache
            .store(&key, &temporary(now + Duration::from_secs(3600)), now)
            .unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&cache_dir), 0o700);
        assert_eq!(mode(&cache_dir.join(format!("{key}.json"))), 0o600);
    }

    #[test]
    fn corrupt_files_are_ignored_and_replaced() {
        let dir = TempDir::new("disk-cache-corrupt");
        let cache = DiskCache::new(dir.path());
        let now = SystemTime::now();
        let key = DiskCache::key(&["corrupt"]);
        let path = dir.path().join(format!("{key}.json"));
        for junk in ["", "{", "[]", r#"{"AccessKeyId":"A"}"#, "\u{0}\u{1}"] {
            fs::write(&path, junk).unwrap();
            assert_eq!(cache.load(&key, now), None, "{junk:?}");
        }
        cache
            .store(&key, &temporary(now + Duration::from_secs(3600)), now)
            .unwrap();
        assert!(cache.load(&key, now).is_some());
    }

    #[cfg(unix)]
    #[test]
    fn planted_links_fifos_and_open_directories_are_not_used() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new("disk-cache-unsafe");
        let cache = DiskCache::new(dir.path());
        let now = SystemTime::now();
        let key = DiskCache::key(&["planted"]);
        let path = dir.path().join(format!("{key}.json"));
        let good = temporary(now + Duration::from_secs(3600));
        cache.store(&key, &good, now).unwrap();
        // Someone else's credentials behind a link: never read.
        let elsewhere = dir.path().join("elsewhere.json");
        fs::rename(&path, &elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        assert_eq!(cache.load(&key, now), None);
        fs::remove_file(&path).unwrap();
        // A FIFO: answered at once (a blocking open would wait forever), as absent.
        let name = std::ffi::CString::new(path.display().to_string()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        assert_eq!(cache.load(&key, now), None);
        cache.store(&key, &good, now).unwrap();
        assert!(cache.load(&key, now).is_some(), "replaced by a real file");
        // A directory others can write: not used at all.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
        assert_eq!(cache.load(&key, now), None);
        let e = cache.store(&key, &good, now).unwrap_err();
        assert!(e.to_string().contains("chmod 700"), "{e}");
    }

    #[test]
    fn refuses_long_term_keys_and_prunes_old_files() {
        let dir = TempDir::new("disk-cache-prune");
        let cache = DiskCache::new(dir.path());
        let now = SystemTime::now();
        assert!(
            cache
                .store("k", &Credentials::new("AKIA", "s", None), now)
                .is_err()
        );
        let old = DiskCache::key(&["old"]);
        cache
            .store(&old, &temporary(now - Duration::from_secs(3 * 86_400)), now)
            .unwrap();
        // Writing removes files that expired more than a day ago.
        let fresh = DiskCache::key(&["fresh"]);
        cache
            .store(&fresh, &temporary(now + Duration::from_secs(3600)), now)
            .unwrap();
        assert!(!dir.path().join(format!("{old}.json")).exists());
        assert!(dir.path().join(format!("{fresh}.json")).exists());
    }
}
