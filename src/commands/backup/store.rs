//! Where backups are kept: a private local directory (default `~/.awsideman/backups`) or an
//! S3 bucket and prefix (`s3://bucket/prefix`). One file or object per backup, named
//! `<id>.awsideman-backup`.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::aws::s3::{self, Addressing};
use crate::client;
use crate::commands::Context;
use crate::error::{Error, Result};
use crate::fsutil::{self, Links};

use super::format::MAX_FILE_BYTES;

/// The file name ending of a backup.
pub(crate) const SUFFIX: &str = ".awsideman-backup";

/// A place backups are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Destination {
    /// A local directory.
    Dir(PathBuf),
    /// An S3 bucket, and a key prefix ending in `/` (or empty).
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix.
        prefix: String,
    },
}

impl Destination {
    /// The destination `text` names (`s3://bucket/prefix` or a directory), or the default
    /// directory.
    pub(crate) fn parse(ctx: &Context, text: Option<&str>) -> Result<Destination> {
        let Some(text) = text else {
            return Ok(Destination::Dir(ctx.config_dir.join("backups")));
        };
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            s3::validate_bucket(bucket)?;
            let prefix = prefix.trim_matches('/');
            let prefix = if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            };
            return Ok(Destination::S3 {
                bucket: bucket.to_string(),
                prefix,
            });
        }
        if text.is_empty() {
            return Err(Error::usage("an empty backup destination"));
        }
        let path = match text.strip_prefix("~/") {
            Some(rest) => ctx
                .env
                .home()
                .ok_or_else(|| Error::config("HOME is not set: cannot expand ~"))?
                .join(rest),
            None => PathBuf::from(text),
        };
        Ok(Destination::Dir(path))
    }

    /// The destination as the user would write it.
    pub(crate) fn describe(&self) -> String {
        match self {
            Destination::Dir(dir) => dir.display().to_string(),
            Destination::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}"),
        }
    }

    /// Where backup `id` is (its path or `s3://` URL).
    pub(crate) fn location(&self, id: &str) -> String {
        match self {
            Destination::Dir(dir) => dir.join(file_name(id)).display().to_string(),
            Destination::S3 { bucket, prefix } => {
                format!("s3://{bucket}/{prefix}{}", file_name(id))
            }
        }
    }

    /// Stores backup `id`; an existing one of that id is never replaced.
    pub(crate) fn put(&self, ctx: &Context, id: &str, bytes: Vec<u8>) -> Result<()> {
        match self {
            Destination::Dir(dir) => {
                ensure_dir(ctx, dir)?;
                let path = dir.join(file_name(id));
                if std::fs::symlink_metadata(&path).is_ok() {
                    return Err(Error::runtime(format!(
                        "{} exists already: backups are never replaced",
                        path.display()
                    )));
                }
                fsutil::write_private_atomically(&path, &bytes)
            }
            Destination::S3 { bucket, prefix } => {
                let client = ctx.client()?;
                let addressing = addressing(ctx, bucket)?;
                let key = format!("{prefix}{}", file_name(id));
                client
                    .rest(
                        &client::PUT_OBJECT,
                        &s3::put_object(addressing, bucket, &key, bytes),
                    )
                    .map_err(|e| match e.aws_code() {
                        Some("PreconditionFailed") => Error::runtime(format!(
                            "s3://{bucket}/{key} exists already: backups are never replaced"
                        )),
                        _ => e,
                    })?;
                Ok(())
            }
        }
    }

    /// The bytes of backup `id`.
    pub(crate) fn get(&self, ctx: &Context, id: &str) -> Result<Vec<u8>> {
        validate_id(id)?;
        let missing = || {
            Error::runtime(format!(
                "no backup {id} in {} (see 'awsideman backup list')",
                self.describe()
            ))
        };
        match self {
            Destination::Dir(dir) => {
                if !check_dir(ctx, dir)? {
                    return Err(missing());
                }
                let path = dir.join(file_name(id));
                read_file(&path, Links::Refuse)?.ok_or_else(missing)
            }
            Destination::S3 { bucket, prefix } => {
                let client = ctx.client()?;
                let key = format!("{prefix}{}", file_name(id));
                let request = s3::get_object(addressing(ctx, bucket)?, bucket, &key);
                match client.rest(&client::GET_OBJECT, &request) {
                    Ok(response) if response.body.len() as u64 > MAX_FILE_BYTES => {
                        Err(Error::runtime(format!(
                            "s3://{bucket}/{key} is larger than a backup may be"
                        )))
                    }
                    Ok(response) => Ok(response.body),
                    Err(e) if e.aws_code() == Some("NoSuchKey") => Err(missing()),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Deletes backup `id` (which must exist).
    pub(crate) fn delete(&self, ctx: &Context, id: &str) -> Result<()> {
        validate_id(id)?;
        match self {
            Destination::Dir(dir) => {
                check_dir(ctx, dir)?;
                let path = dir.join(file_name(id));
                match std::fs::symlink_metadata(&path) {
                    Ok(meta) if meta.is_file() => std::fs::remove_file(&path)
                        .map_err(|e| Error::runtime(format!("deleting {}: {e}", path.display()))),
                    Ok(_) => Err(Error::runtime(format!(
                        "{} is not a regular file: not deleted",
                        path.display()
                    ))),
                    Err(_) => Err(Error::runtime(format!(
                        "no backup {id} in {} (see 'awsideman backup list')",
                        self.describe()
                    ))),
                }
            }
            Destination::S3 { bucket, prefix } => {
                // S3 deletes a missing key without complaint: look first.
                if !self.list(ctx)?.iter().any(|b| b["Id"] == id) {
                    return Err(Error::runtime(format!(
                        "no backup {id} in {} (see 'awsideman backup list')",
                        self.describe()
                    )));
                }
                let key = format!("{prefix}{}", file_name(id));
                let request = s3::delete_object(addressing(ctx, bucket)?, bucket, &key);
                ctx.client()?.rest(&client::DELETE_OBJECT, &request)?;
                Ok(())
            }
        }
    }

    /// The backups kept here: `{"Id", "Size", "LastModified", "Location"}`, oldest first.
    pub(crate) fn list(&self, ctx: &Context) -> Result<Vec<Value>> {
        let mut found = Vec::new();
        match self {
            Destination::Dir(dir) => {
                if !check_dir(ctx, dir)? {
                    return Ok(found);
                }
                let entries = match std::fs::read_dir(dir) {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
                    Err(e) => {
                        return Err(Error::runtime(format!("reading {}: {e}", dir.display())));
                    }
                };
                for entry in entries.flatten() {
                    let name = entry.file_name().to_string_lossy().to_string();
                    let Some(id) = id_of(&name) else { continue };
                    let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
                        continue;
                    };
                    if !meta.is_file() {
                        continue;
                    }
                    let modified = meta
                        .modified()
                        .map(crate::rfc3339::format_rfc3339)
                        .unwrap_or_default();
                    found.push(json!({
                        "Id": id,
                        "Size": meta.len(),
                        "LastModified": modified,
                        "Location": self.location(id),
                    }));
                }
            }
            Destination::S3 { bucket, prefix } => {
                let client = ctx.client()?;
                let addressing = addressing(ctx, bucket)?;
                let mut token: Option<String> = None;
                for _ in 0..s3::MAX_PAGES {
                    let request = s3::list_objects(addressing, bucket, prefix, token.as_deref());
                    let response = client.rest(&client::LIST_OBJECTS_V2, &request)?;
                    let page = s3::read_listing(&response.body)?;
                    for object in page.objects {
                        let Some(name) = object.key.strip_prefix(prefix.as_str()) else {
                            continue;
                        };
                        let Some(id) = id_of(name) else { continue };
                        found.push(json!({
                            "Id": id,
                            "Size": object.size,
                            "LastModified": object.last_modified,
                            "Location": self.location(id),
                        }));
                    }
                    token = page.next;
                    if token.is_none() {
                        break;
                    }
                }
            }
        }
        found.sort_by(|a, b| a["Id"].as_str().cmp(&b["Id"].as_str()));
        Ok(found)
    }
}

/// The file or object name of backup `id`.
pub(crate) fn file_name(id: &str) -> String {
    format!("{id}{SUFFIX}")
}

/// The backup id a file name holds, if it is a backup's.
fn id_of(name: &str) -> Option<&str> {
    name.strip_suffix(SUFFIX)
        .filter(|id| validate_id(id).is_ok())
}

/// Checks a backup id: 1 to 64 letters, digits and hyphens (never a path).
pub(crate) fn validate_id(id: &str) -> Result<()> {
    let ok = (1..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !id.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "invalid backup id \"{}\" (see 'awsideman backup list')",
            crate::printable::one_line(id)
        )))
    }
}

/// Reads a backup file (not following a link at its name when `links` refuses), bounded.
pub(crate) fn read_file(path: &Path, links: Links) -> Result<Option<Vec<u8>>> {
    fsutil::read_private_file(path, links, MAX_FILE_BYTES)
        .map_err(|e| Error::runtime(e.to_string()))
}

/// Makes the backup directory private (0700), creating it when missing. The
/// configuration directory is the top of the check when the directory is below it.
fn ensure_dir(ctx: &Context, dir: &Path) -> Result<()> {
    let mut notes = Vec::new();
    fsutil::ensure_private_dir(&top_of(ctx, dir), dir, &mut |n| notes.push(n))
        .map_err(|e| Error::runtime(e.to_string()))?;
    for note in notes {
        ctx.note(note);
    }
    Ok(())
}

/// Checks that the backup directory is private before anything in it is read (a directory
/// of ours that others can write is repaired, with a note): `Ok(false)` when it is missing.
fn check_dir(ctx: &Context, dir: &Path) -> Result<bool> {
    let mut notes = Vec::new();
    let exists = fsutil::check_private_dir(&top_of(ctx, dir), dir, &mut |n| notes.push(n))
        .map_err(|e| Error::runtime(e.to_string()))?;
    for note in notes {
        ctx.note(note);
    }
    Ok(exists)
}

/// The highest directory awsideman owns on the way to `dir`: the configuration directory
/// when `dir` is below it, else `dir` itself.
fn top_of(ctx: &Context, dir: &Path) -> std::path::PathBuf {
    if dir.starts_with(&ctx.config_dir) {
        ctx.config_dir.clone()
    } else {
        dir.to_path_buf()
    }
}

fn addressing(ctx: &Context, bucket: &str) -> Result<Addressing> {
    ctx.client()?.session().s3_addressing(bucket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_never_paths() {
        for ok in ["20261204T060000Z-0a1b2c", "a"] {
            validate_id(ok).unwrap();
        }
        for bad in ["", "../x", "a/b", "-a", "a b", &"x".repeat(65)] {
            assert!(validate_id(bad).is_err(), "{bad}");
        }
        assert_eq!(
            id_of("20261204T060000Z-0a1b2c.awsideman-backup"),
            Some("20261204T060000Z-0a1b2c")
        );
        assert_eq!(id_of("notes.txt"), None);
        assert_eq!(id_of("../x.awsideman-backup"), None);
    }
}
