//! Stale tags: what a write changed in AWS but could not invalidate in the cache.
//!
//! A write that succeeded in AWS and then failed to move its tags' generations (the cache
//! table answering 500, a read-only cache directory) would leave every cached answer under
//! those tags current until its TTL. So the tags are marked stale here, in the awsideman
//! configuration directory (not in the cache, which may be what failed):
//!
//! - `cache-stale-tags.json`: the marks, each naming the cache it applies to (its
//!   location, as `cache status` shows it), the tag, and a random id. At most
//!   [`MAX_MARKS`]; beyond that a cache's marks collapse into one mark of every tag
//!   ([`ALL_TAGS`]). A file that cannot be read or is damaged marks every tag of every
//!   cache: being wrong about it must never serve a stale answer.
//! - `cache-stale-tags.lock`: held exclusively while the file is changed.
//!
//! While a mark stands, every process on this machine reads that tag from AWS (and stores
//! nothing under it). The next process that reads the cache first tries the invalidation
//! again; once it lands, it removes the marks it loaded, by id, so a mark another failure
//! added meanwhile stays. A full `cache clear` removes a cache's marks, `cache clear --tag`
//! those of its tags.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsutil::{Links, LockKind, lock_file, read_private_file};

/// The file of marks, in the configuration directory.
pub(crate) const MARKS_FILE: &str = "cache-stale-tags.json";
const LOCK_FILE: &str = "cache-stale-tags.lock";

/// The most marks kept; beyond it a cache's marks become one mark of [`ALL_TAGS`].
pub(crate) const MAX_MARKS: usize = 128;
/// The largest marks file read (anything larger is damage: every tag is stale).
const MAX_FILE: u64 = 128 * 1024;
/// The longest tag or cache location recorded as such (a longer one marks every tag).
const MAX_NAME: usize = 512;
/// The tag of a mark that stands for every tag of its cache.
pub(crate) const ALL_TAGS: &str = "*";

/// One mark: `tag` of the cache at `cache` is stale.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Mark {
    /// The location of the cache ([`crate::cache::CacheBackend::location`]).
    pub(crate) cache: String,
    /// The tag, or [`ALL_TAGS`].
    pub(crate) tag: String,
    /// A random id, so that only the mark that was seen is removed.
    pub(crate) id: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct MarksFile {
    v: u32,
    marks: Vec<Mark>,
}

/// What a cache must not trust, as loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Stale {
    /// Nothing is marked.
    #[default]
    Nothing,
    /// These marks (of the caches asked about).
    Marks(Vec<Mark>),
    /// Every tag: the marks file is damaged or unreadable (why).
    Everything(String),
}

impl Stale {
    /// Whether an answer filed under `tags` must be read from AWS.
    pub(crate) fn covers(&self, tags: &[String]) -> bool {
        match self {
            Stale::Nothing => false,
            Stale::Everything(_) => true,
            Stale::Marks(marks) => marks
                .iter()
                .any(|m| m.tag == ALL_TAGS || tags.contains(&m.tag)),
        }
    }

    /// Whether nothing is marked.
    pub(crate) fn is_nothing(&self) -> bool {
        matches!(self, Stale::Nothing) || matches!(self, Stale::Marks(m) if m.is_empty())
    }

    /// The tags marked, in order ([`ALL_TAGS`] among them when every tag is).
    pub(crate) fn tags(&self) -> Vec<String> {
        match self {
            Stale::Nothing => Vec::new(),
            Stale::Everything(_) => vec![ALL_TAGS.to_string()],
            Stale::Marks(marks) => marks
                .iter()
                .map(|m| m.tag.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
        }
    }
}

/// The stale-tag marks of one configuration directory.
#[derive(Debug, Clone)]
pub(crate) struct StaleTags {
    dir: PathBuf,
    timeout: Duration,
}

impl StaleTags {
    /// The marks kept in `config_dir`, waiting at most `timeout` for their lock.
    pub(crate) fn new(config_dir: &Path, timeout: Duration) -> StaleTags {
        StaleTags {
            dir: config_dir.to_path_buf(),
            timeout,
        }
    }

    /// The marks file.
    pub(crate) fn path(&self) -> PathBuf {
        self.dir.join(MARKS_FILE)
    }

    /// The marks of the caches at `caches`. One read of a small file, without a lock (the
    /// file is replaced whole); missing is nothing.
    pub(crate) fn load(&self, caches: &[String]) -> Stale {
        match self.read() {
            Ok(file) => Stale::Marks(
                file.marks
                    .into_iter()
                    .filter(|m| caches.contains(&m.cache))
                    .collect(),
            ),
            Err(why) => Stale::Everything(why),
        }
    }

    /// Marks `tags` of each cache of `caches` stale, replacing any mark of the same tag
    /// (with a new id: a process retrying the earlier failure must not remove this one).
    pub(crate) fn add(&self, caches: &[String], tags: &[String]) -> Result<()> {
        self.change(|marks| {
            for cache in caches {
                let too_long = cache.len() > MAX_NAME || tags.iter().any(|t| t.len() > MAX_NAME);
                let wanted: Vec<&str> = if too_long {
                    vec![ALL_TAGS]
                } else {
                    tags.iter().map(String::as_str).collect()
                };
                for tag in wanted {
                    marks.retain(|m| !(m.cache == *cache && m.tag == tag));
                    marks.push(Mark {
                        cache: cache.clone(),
                        tag: tag.to_string(),
                        id: super::generation::new_token()?,
                    });
                }
            }
            if marks.len() > MAX_MARKS {
                for cache in caches {
                    marks.retain(|m| m.cache != *cache);
                    marks.push(Mark {
                        cache: cache.clone(),
                        tag: ALL_TAGS.to_string(),
                        id: super::generation::new_token()?,
                    });
                }
                marks.truncate(MAX_MARKS);
            }
            Ok(())
        })
    }

    /// Removes exactly these marks (same cache, tag and id): a mark added since they were
    /// loaded stays.
    pub(crate) fn remove(&self, seen: &[Mark]) -> Result<()> {
        if seen.is_empty() {
            return Ok(());
        }
        self.change(|marks| {
            marks.retain(|m| !seen.contains(m));
            Ok(())
        })
    }

    /// Removes every mark of the caches at `caches` whose tag is in `tags` (every mark of
    /// theirs when `tags` is `None`): their invalidation just landed. A damaged file is
    /// removed by a full clear.
    pub(crate) fn clear(&self, caches: &[String], tags: Option<&[String]>) -> Result<()> {
        if !self.exists() {
            return Ok(());
        }
        let damaged = self.read().is_err();
        if damaged {
            if tags.is_none() {
                let _lock = self.lock()?;
                return remove_file(&self.path());
            }
            return Ok(());
        }
        self.change(|marks| {
            marks.retain(|m| {
                !(caches.contains(&m.cache) && tags.is_none_or(|tags| tags.contains(&m.tag)))
            });
            Ok(())
        })
    }

    fn exists(&self) -> bool {
        std::fs::symlink_metadata(self.path()).is_ok()
    }

    fn read(&self) -> std::result::Result<MarksFile, String> {
        let path = self.path();
        let bytes = match read_private_file(&path, Links::Refuse, MAX_FILE) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Ok(MarksFile::default()),
            Err(e) => return Err(e.to_string()),
        };
        serde_json::from_slice::<MarksFile>(&bytes)
            .map_err(|e| format!("{}: damaged ({e}); remove it", path.display()))
    }

    fn lock(&self) -> Result<crate::fsutil::FileLock> {
        crate::fsutil::ensure_private_dir(&self.dir, &self.dir, &mut |_| {})
            .map_err(Error::from)?;
        lock_file(&self.dir.join(LOCK_FILE), LockKind::Exclusive, self.timeout).map_err(Error::from)
    }

    /// Runs `edit` over the marks under the lock and writes the result (removes the file
    /// when no mark is left). A damaged file is left as it is (it already marks every tag)
    /// and the change fails.
    fn change(&self, edit: impl FnOnce(&mut Vec<Mark>) -> Result<()>) -> Result<()> {
        let _lock = self.lock()?;
        let mut file = self.read().map_err(Error::runtime)?;
        let before = file.marks.clone();
        edit(&mut file.marks)?;
        if file.marks == before {
            return Ok(());
        }
        file.v = 1;
        let path = self.path();
        if file.marks.is_empty() {
            return remove_file(&path);
        }
        let text = serde_json::to_vec(&file)
            .map_err(|e| Error::runtime(format!("encoding {}: {e}", path.display())))?;
        crate::fsutil::write_private_atomically(&path, &text)
    }
}

fn remove_file(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::runtime(format!("removing {}: {e}", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn dir() -> Dir {
        let token = super::super::generation::new_token().unwrap();
        Dir(std::env::temp_dir().join(format!("awsideman-stale-{token}")))
    }

    fn s(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn marks_are_per_cache_and_removed_by_id() {
        let d = dir();
        let stale = StaleTags::new(&d.0, Duration::from_secs(1));
        assert_eq!(stale.load(&s(&["A"])), Stale::Marks(vec![]));
        stale.add(&s(&["A"]), &s(&["users:1", "groups:1"])).unwrap();
        let seen = stale.load(&s(&["A"]));
        assert!(seen.covers(&s(&["users:1"])));
        assert!(!seen.covers(&s(&["org"])));
        assert_eq!(seen.tags(), s(&["groups:1", "users:1"]));
        assert!(stale.load(&s(&["B"])).is_nothing(), "another cache");

        // A failure after the marks were loaded replaces one with a new id: removing the
        // loaded marks keeps it.
        stale.add(&s(&["A"]), &s(&["users:1"])).unwrap();
        let Stale::Marks(loaded) = seen else { panic!() };
        stale.remove(&loaded).unwrap();
        let left = stale.load(&s(&["A"]));
        assert_eq!(left.tags(), s(&["users:1"]));
        stale.clear(&s(&["A"]), Some(&s(&["users:1"]))).unwrap();
        assert!(stale.load(&s(&["A"])).is_nothing());
        assert!(!stale.path().exists(), "no mark, no file");
    }

    #[test]
    fn too_many_marks_become_every_tag_and_damage_distrusts_everything() {
        let d = dir();
        let stale = StaleTags::new(&d.0, Duration::from_secs(1));
        let many: Vec<String> = (0..MAX_MARKS + 1).map(|i| format!("t:{i}")).collect();
        stale.add(&s(&["A"]), &many).unwrap();
        let loaded = stale.load(&s(&["A"]));
        assert_eq!(loaded.tags(), s(&[ALL_TAGS]));
        assert!(loaded.covers(&s(&["anything"])));
        stale.add(&s(&["A"]), &["x".repeat(MAX_NAME + 1)]).unwrap();
        assert!(
            stale
                .load(&s(&["A"]))
                .tags()
                .contains(&ALL_TAGS.to_string())
        );

        std::fs::write(stale.path(), b"{not json").unwrap();
        assert!(matches!(stale.load(&s(&["A"])), Stale::Everything(_)));
        assert!(
            stale.add(&s(&["A"]), &s(&["t"])).is_err(),
            "not overwritten"
        );
        stale.clear(&s(&["A"]), Some(&s(&["t"]))).unwrap();
        assert!(matches!(stale.load(&s(&["B"])), Stale::Everything(_)));
        stale.clear(&s(&["A"]), None).unwrap();
        assert!(
            stale.load(&s(&["B"])).is_nothing(),
            "a full clear removes damage"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_link_is_not_followed() {
        let d = dir();
        std::fs::create_dir_all(&d.0).unwrap();
        let target = d.0.join("elsewhere");
        std::fs::write(&target, br#"{"v":1,"marks":[]}"#).unwrap();
        std::os::unix::fs::symlink(&target, d.0.join(MARKS_FILE)).unwrap();
        let stale = StaleTags::new(&d.0, Duration::from_secs(1));
        assert!(matches!(stale.load(&s(&["A"])), Stale::Everything(_)));
    }
}
