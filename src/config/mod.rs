//! awsideman's configuration: `<config dir>/config.yaml`, the same file and schema as the
//! Python awsideman, plus a `network` section.
//!
//! The whole YAML document is kept as a tree, so sections this tool does not know (storage,
//! backup, rollback, templates) and the order of keys survive a rewrite. Every known key is
//! described once, in [`SCHEMA`]: validation, `config set`, environment overrides and the man
//! page all read that table.
//!
//! This module never talks to AWS and never reads `std::env`; the environment comes in as an
//! [`Env`] snapshot.

mod check;
mod keys;
#[cfg(test)]
mod mutation_tests;
mod schema;
mod settings;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::env::Env;
use crate::error::{Error, Result};
use crate::fsutil::{self, Links, PathError};

pub(crate) use keys::lookup;
pub(crate) use schema::{BACKEND_CHOICES, SCHEMA, SECTIONS, spec};
pub(crate) use settings::{
    BackendType, EncryptionType, KeySourceKind, default_output, lock_timeout,
};
pub use settings::{
    CacheSettings, audit_log_path, cache_settings, network_settings, rollback_settings,
};

/// The variable naming the configuration directory (default `~/.awsideman`).
pub(crate) const CONFIG_DIR_ENV: &str = "AWSIDEMAN_CONFIG_DIR";
/// The file name of the configuration inside its directory.
pub(crate) const CONFIG_FILE_NAME: &str = "config.yaml";

/// The profile keys, in the order they are written for a new profile.
const PROFILE_FIELDS: [&str; 5] = [
    "region",
    "sso_instance_arn",
    "identity_store_id",
    "sso_instance_name",
    "aws_profile",
];

/// One awsideman profile: where its Identity Center instance is and which credentials to use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileConfig {
    /// AWS region of the Identity Center instance.
    pub(crate) region: Option<String>,
    /// ARN of the Identity Center instance.
    pub(crate) sso_instance_arn: Option<String>,
    /// ID of the instance's identity store (`d-...`).
    pub(crate) identity_store_id: Option<String>,
    /// Display name of the instance.
    pub(crate) sso_instance_name: Option<String>,
    /// AWS CLI profile for credentials; `None` means the profile's own name.
    pub(crate) aws_profile: Option<String>,
}

impl ProfileConfig {
    fn field(&self, name: &str) -> Option<&String> {
        match name {
            "region" => self.region.as_ref(),
            "sso_instance_arn" => self.sso_instance_arn.as_ref(),
            "identity_store_id" => self.identity_store_id.as_ref(),
            "sso_instance_name" => self.sso_instance_name.as_ref(),
            "aws_profile" => self.aws_profile.as_ref(),
            _ => None,
        }
    }

    fn field_mut(&mut self, name: &str) -> Option<&mut Option<String>> {
        match name {
            "region" => Some(&mut self.region),
            "sso_instance_arn" => Some(&mut self.sso_instance_arn),
            "identity_store_id" => Some(&mut self.identity_store_id),
            "sso_instance_name" => Some(&mut self.sso_instance_name),
            "aws_profile" => Some(&mut self.aws_profile),
            _ => None,
        }
    }
}

/// The configuration file: its path and its whole document.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigFile {
    path: PathBuf,
    /// Always a mapping (an empty file is an empty mapping).
    doc: Value,
    existed: bool,
    /// The file's mode when group or others may read it (warned about, not refused), and
    /// what identifies this version of the file (device, inode, mode, modification time):
    /// the warning is printed once per change of it.
    readable_by_others: Option<(u32, String)>,
    /// What loading repaired (a config directory others could write, made 0700).
    repairs: Vec<String>,
}

/// The private state file, next to the configuration file, naming the version of a
/// configuration file others can read that was last warned about.
pub(crate) const WARNED_FILE_NAME: &str = ".config-permissions-warned";

/// What identifies this version of the file at `path` (mode `mode`, read from the opened
/// handle): device, inode, mode and modification time.
fn file_version(path: &Path, mode: u32) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = fs::metadata(path) {
            return format!(
                "{}:{}:{mode:o}:{}.{}",
                meta.dev(),
                meta.ino(),
                meta.mtime(),
                meta.mtime_nsec()
            );
        }
    }
    let _ = path;
    format!("{mode:o}")
}

/// The version named in the state file at `state`; `None` when there is none or it is not
/// a private file of ours (then the warning is simply printed again).
fn warned_version(state: &Path) -> Option<String> {
    let mut file = fsutil::open_private_file(state, Links::Refuse, 256).ok()??;
    let bytes = file.read_rest().ok()?;
    Some(String::from_utf8(bytes).ok()?.trim().to_string())
}

/// A configuration file larger than this is not one (the Python tool's largest sections,
/// templates and backups, stay far below it).
pub(crate) const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

impl ConfigFile {
    /// The configuration directory: `AWSIDEMAN_CONFIG_DIR`, else `~/.awsideman`.
    pub(crate) fn dir(env: &Env) -> Result<PathBuf> {
        if let Some(dir) = env.get(CONFIG_DIR_ENV) {
            return Ok(PathBuf::from(dir));
        }
        env.home()
            .map(|home| home.join(".awsideman"))
            .ok_or_else(|| {
                Error::config(format!(
                    "cannot find the configuration directory: HOME is not set (set HOME or \
                     {CONFIG_DIR_ENV})"
                ))
            })
    }

    /// Reads `<dir>/config.yaml`; a missing file (or directory) is an empty document.
    ///
    /// The file decides which AWS profiles, endpoints-by-profile, key files and KMS keys
    /// awsideman uses, so nobody else may be able to change it. The directory must be ours
    /// (or root's) and not writable by others: one of ours that is too open is made 0700 (a
    /// note, see [`ConfigFile::warn_permissions`]), anything else is refused. The file may be
    /// a link (kept with the user's dotfiles) but what it leads to is checked on the opened
    /// handle, which is opened without waiting: it must be a regular file of ours (or
    /// root's) that group and others cannot WRITE, at most [`MAX_CONFIG_BYTES`]. A FIFO, a
    /// directory, a foreign file or an oversized one is refused at once. Refusals are
    /// [`Error::config`] (exit 2) naming the path and the fix, for the caller to decide on.
    ///
    /// A file others can only READ (0644) is accepted with a warning: it holds no secrets,
    /// and 0644 is what the Python awsideman, most editors and the default umask create, so
    /// refusing it would break every user switching from the Python tool on their first run.
    /// awsideman itself always writes the file 0600.
    pub fn load(dir: &Path) -> Result<ConfigFile> {
        let path = dir.join(CONFIG_FILE_NAME);
        let mut repairs = Vec::new();
        let refused = |e: PathError| {
            let link = match fs::read_link(&path) {
                Ok(target) if e.path == path => format!(" (a link to {})", target.display()),
                _ => String::new(),
            };
            Error::config(format!("configuration refused: {e}{link}"))
        };
        let dir_exists =
            fsutil::check_private_dir(dir, dir, &mut |note| repairs.push(note)).map_err(refused)?;
        let opened = if dir_exists {
            fsutil::open_private_file(&path, Links::Follow, MAX_CONFIG_BYTES).map_err(refused)?
        } else {
            None
        };
        let Some(mut file) = opened else {
            let mut config = ConfigFile::empty(path);
            config.repairs = repairs;
            return Ok(config);
        };
        let mode = file.mode();
        let bytes = file.read_rest().map_err(refused)?;
        let mut config = match String::from_utf8(bytes) {
            Ok(text) => ConfigFile::from_yaml(path, &text)?,
            Err(_) => {
                return Err(Error::config(format!(
                    "{}: not valid UTF-8",
                    path.display()
                )));
            }
        };
        if cfg!(unix) && mode & 0o044 != 0 {
            let version = file_version(&config.path, mode);
            config.readable_by_others = Some((mode, version));
        }
        config.repairs = repairs;
        Ok(config)
    }

    /// Prints, once per process and unless `quiet`, what loading repaired and the warning
    /// about a configuration file that others can read (see [`ConfigFile::load`]). That
    /// warning is printed once per change of the file (its device, inode, mode or
    /// modification time), not on every command: the version warned about is remembered in
    /// a private state file next to it ([`WARNED_FILE_NAME`]). `config validate` reports it
    /// every time ([`ConfigFile::permission_warning`]).
    pub(crate) fn warn_permissions(&self, quiet: bool) {
        static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        let nothing_to_say = self.repairs.is_empty() && self.readable_by_others.is_none();
        if quiet || nothing_to_say || WARNED.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        for repair in &self.repairs {
            eprintln!("awsideman: note: {repair}");
        }
        let (Some(warning), Some((_, version))) =
            (self.permission_warning(), &self.readable_by_others)
        else {
            return;
        };
        let state = self.path.with_file_name(WARNED_FILE_NAME);
        if warned_version(&state).as_deref() == Some(version.as_str()) {
            return;
        }
        eprintln!("awsideman: warning: {warning} (said once until the file changes)");
        // Best effort: a state file that cannot be written only means the warning repeats.
        let _ = fsutil::write_private_atomically(&state, format!("{version}\n").as_bytes());
    }

    /// The warning about a configuration file others can read, if it is one.
    pub(crate) fn permission_warning(&self) -> Option<String> {
        let (mode, _) = self.readable_by_others.as_ref()?;
        let shown = self.path.display();
        Some(format!(
            "{shown} has mode {mode:04o}, so other users can read it; run 'chmod 600 {shown}'"
        ))
    }

    /// An empty document that will be written to `path`.
    pub fn empty(path: PathBuf) -> ConfigFile {
        ConfigFile {
            path,
            doc: Value::Object(Map::new()),
            existed: false,
            readable_by_others: None,
            repairs: Vec::new(),
        }
    }

    /// Parses YAML text as if read from `path`. Malformed YAML, or a top level that is not a
    /// mapping, is an [`Error::config`] naming the path (and the line and column).
    pub fn from_yaml(path: PathBuf, text: &str) -> Result<ConfigFile> {
        let doc = match parse_yaml(text) {
            Ok(Value::Null) => Value::Object(Map::new()),
            Ok(doc @ Value::Object(_)) => doc,
            Ok(Value::Array(_)) => {
                return Err(Error::config(format!(
                    "{}: expected a mapping at the top level, found a list",
                    path.display()
                )));
            }
            Ok(other) => {
                return Err(Error::config(format!(
                    "{}: expected a mapping at the top level, found {other}",
                    path.display()
                )));
            }
            Err(message) => {
                return Err(Error::config(format!(
                    "{}: invalid YAML: {message}",
                    path.display()
                )));
            }
        };
        Ok(ConfigFile {
            path,
            doc,
            existed: true,
            readable_by_others: None,
            repairs: Vec::new(),
        })
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The file at `path`, not read (for commands that need no configuration): empty, but
    /// [`ConfigFile::exists`] says whether something is there.
    pub(crate) fn unread(path: PathBuf) -> ConfigFile {
        let existed = path.symlink_metadata().is_ok();
        ConfigFile {
            existed,
            ..ConfigFile::empty(path)
        }
    }

    /// Whether the document was read from a file (false when the file was missing).
    pub(crate) fn exists(&self) -> bool {
        self.existed
    }

    /// Checks every known key against [`SCHEMA`]. The first invalid value is an
    /// [`Error::config`]; unknown keys in known sections and the like come back as warnings.
    /// Unknown top-level sections are kept without a word.
    pub fn validate(&self) -> Result<Vec<String>> {
        let root = self.root();
        check::check_document(&root)
            .map(|warnings| {
                warnings
                    .into_iter()
                    .map(|w| format!("{}: {w}", self.path.display()))
                    .collect()
            })
            .map_err(|message| self.error(message))
    }

    /// The profile used when none is given on the command line.
    pub fn default_profile(&self) -> Option<&str> {
        self.doc.get("default_profile").and_then(Value::as_str)
    }

    /// Every profile by name (profiles with invalid values are errors).
    pub fn profiles(&self) -> Result<BTreeMap<String, ProfileConfig>> {
        let root = self.root();
        let Some(profiles) = check::section(&root, "profiles").map_err(|m| self.error(m))? else {
            return Ok(BTreeMap::new());
        };
        profiles
            .iter()
            .map(|(name, block)| Ok((name.clone(), self.parse_profile(name, block)?)))
            .collect()
    }

    /// The profile called `name`, if it is defined (the name itself is not checked, so any
    /// `AWS_PROFILE` can be looked up).
    pub fn profile(&self, name: &str) -> Result<Option<ProfileConfig>> {
        let root = self.root();
        let Some(profiles) = check::section(&root, "profiles").map_err(|m| self.error(m))? else {
            return Ok(None);
        };
        profiles
            .get(name)
            .map(|block| self.parse_profile(name, block))
            .transpose()
    }

    /// Writes profile `name`: set fields are written, unset fields removed, other keys of an
    /// existing profile kept in place.
    ///
    /// Nothing is checked here: an invalid name, or a `profiles` entry that is not a mapping
    /// (left untouched), is reported by [`ConfigFile::validate`], which callers run before
    /// [`ConfigFile::save`].
    pub(crate) fn put_profile(&mut self, name: &str, profile: &ProfileConfig) {
        let path = ["profiles".to_string(), name.to_string()];
        let Ok(block) = self.map_at(&path) else {
            return;
        };
        for field in PROFILE_FIELDS {
            match profile.field(field) {
                Some(value) => {
                    block.insert(field.to_string(), Value::String(value.clone()));
                }
                None => {
                    block.shift_remove(field);
                }
            }
        }
    }

    /// Removes profile `name` (and `default_profile` when it named it). Returns whether the
    /// profile existed. Its `cache.profiles.<name>` overrides are left alone.
    pub(crate) fn remove_profile(&mut self, name: &str) -> bool {
        let root = object_mut(&mut self.doc);
        let removed = root
            .get_mut("profiles")
            .and_then(Value::as_object_mut)
            .and_then(|profiles| profiles.shift_remove(name))
            .is_some();
        if root.get("default_profile").and_then(Value::as_str) == Some(name) {
            root.shift_remove("default_profile");
        }
        removed
    }

    /// Makes `name` the default profile (the key goes first in a file that lacks it). An
    /// invalid name is reported by [`ConfigFile::validate`].
    pub(crate) fn set_default_profile(&mut self, name: &str) {
        let root = object_mut(&mut self.doc);
        let value = Value::String(name.to_string());
        match root.get_mut("default_profile") {
            Some(slot) => *slot = value,
            None => {
                root.shift_insert(0, "default_profile".to_string(), value);
            }
        }
    }

    /// The raw value at a dotted path (`cache.default_ttl`, `storage.anything`), if present.
    /// Mapping keys that contain dots (profile names) are matched whole.
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        let path = locate(&self.doc, key)?;
        path.iter().try_fold(&self.doc, |node, seg| node.get(seg))
    }

    /// Sets a known key from text, typed per [`SCHEMA`]: `true`, `3600`, `dynamodb`, or `null`
    /// to clear an optional key; `cache.operation_ttls` takes a mapping like
    /// `{list_users: 600}`. Unknown keys and invalid values are [`Error::config`].
    pub(crate) fn set(&mut self, key: &str, raw: &str) -> Result<()> {
        let key_ref = lookup(key)?;
        let value = check::parse_text(
            &key_ref.dotted(),
            key_ref.value_type(),
            key_ref.optional(),
            raw,
        )?;
        let Some((last, parents)) = key_ref.path.split_last() else {
            return Err(Error::config(format!("empty configuration key {key:?}")));
        };
        self.map_at(parents)?.insert(last.clone(), value);
        Ok(())
    }

    #[cfg(test)]
    /// Removes the value at a dotted path (known or not). Returns whether something was removed.
    pub(crate) fn unset(&mut self, key: &str) -> bool {
        let Some(path) = locate(&self.doc, key) else {
            return false;
        };
        let Some((last, parents)) = path.split_last() else {
            return false;
        };
        let mut node = &mut self.doc;
        for seg in parents {
            match node.get_mut(seg) {
                Some(next) => node = next,
                None => return false,
            }
        }
        node.as_object_mut()
            .and_then(|map| map.shift_remove(last))
            .is_some()
    }

    /// The whole document (always a mapping).
    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// The document as YAML. Comments of the original file are not kept.
    pub fn to_yaml(&self) -> Result<String> {
        serde_saphyr::to_string(&self.doc)
            .map_err(|e| Error::runtime(format!("writing {} as YAML: {e}", self.path.display())))
    }

    /// Writes the file atomically: the directory is created (mode 0700) if missing, the text
    /// goes to a new temporary file in the same directory (mode 0600), is flushed to disk,
    /// then renamed over the file. A symbolic link at the path is followed, not replaced.
    pub(crate) fn save(&self) -> Result<()> {
        let text = self.to_yaml()?;
        let target = match fs::symlink_metadata(&self.path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                fs::canonicalize(&self.path).map_err(|e| {
                    Error::runtime(format!("resolving link {}: {e}", self.path.display()))
                })?
            }
            _ => self.path.clone(),
        };
        crate::fsutil::write_private_atomically(&target, text.as_bytes())
    }

    /// An [`Error::config`] about this file: `<path>: <message>`.
    pub(crate) fn error(&self, message: impl std::fmt::Display) -> Error {
        Error::config(format!("{}: {message}", self.path.display()))
    }

    fn root(&self) -> std::borrow::Cow<'_, Map<String, Value>> {
        match &self.doc {
            Value::Object(map) => std::borrow::Cow::Borrowed(map),
            _ => std::borrow::Cow::Owned(Map::new()),
        }
    }

    fn parse_profile(&self, name: &str, block: &Value) -> Result<ProfileConfig> {
        let at = format!("profiles.{name}");
        let mut profile = ProfileConfig::default();
        let Some(block) = check::as_section(block, &at).map_err(|m| self.error(m))? else {
            return Ok(profile);
        };
        for field in PROFILE_FIELDS {
            let (Some(value), Some(spec), Some(slot)) = (
                block.get(field),
                spec(&format!("profiles.<name>.{field}")),
                profile.field_mut(field),
            ) else {
                continue;
            };
            let key = format!("{at}.{field}");
            match check::check_value(&key, spec.ty, spec.optional, value, &mut Vec::new()) {
                Ok(check::Typed::Text(text)) => *slot = Some(text),
                Ok(_) => *slot = None,
                Err(message) => return Err(self.error(message)),
            }
        }
        Ok(profile)
    }

    /// The mapping at `path`, creating missing (or `null`) levels; a level holding anything
    /// else is an error.
    fn map_at(&mut self, path: &[String]) -> Result<&mut Map<String, Value>> {
        let file = self.path.display().to_string();
        let mut map = object_mut(&mut self.doc);
        for (i, seg) in path.iter().enumerate() {
            let slot = map.entry(seg.clone()).or_insert(Value::Null);
            if slot.is_null() {
                *slot = Value::Object(Map::new());
            }
            map = match slot {
                Value::Object(next) => next,
                Value::Array(_) => {
                    return Err(Error::config(format!(
                        "{file}: {}: expected a mapping, found a list",
                        path[..=i].join(".")
                    )));
                }
                other => {
                    return Err(Error::config(format!(
                        "{file}: {}: expected a mapping, found {other}",
                        path[..=i].join(".")
                    )));
                }
            };
        }
        Ok(map)
    }
}

/// The document as a mapping, replacing anything else by an empty one.
fn object_mut(doc: &mut Value) -> &mut Map<String, Value> {
    if !doc.is_object() {
        *doc = Value::Object(Map::new());
    }
    match doc {
        Value::Object(map) => map,
        _ => unreachable!("the document was just made a mapping"),
    }
}

/// Splits a dotted key into the document's own keys: at each level the whole rest, else the
/// longest key followed by a dot (so `profiles.prod.eu.region` finds profile `prod.eu`).
fn locate(doc: &Value, key: &str) -> Option<Vec<String>> {
    let mut node = doc;
    let mut rest = key;
    let mut path = Vec::new();
    while !rest.is_empty() {
        let map = node.as_object()?;
        if let Some(next) = map.get(rest) {
            path.push(rest.to_string());
            node = next;
            rest = "";
            continue;
        }
        let (k, next) = map
            .iter()
            .filter(|(k, _)| {
                rest.len() > k.len()
                    && rest.starts_with(k.as_str())
                    && rest[k.len()..].starts_with('.')
            })
            .max_by_key(|(k, _)| k.len())?;
        path.push(k.clone());
        node = next;
        rest = &rest[k.len() + 1..];
    }
    (!path.is_empty()).then_some(path)
}

/// The spellings PyYAML (the Python awsideman's parser) reads as booleans.
const PYYAML_BOOLEANS: [&str; 18] = [
    "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on",
    "On", "ON", "off", "Off", "OFF",
];

/// Parses YAML the way the Python awsideman reads it, as closely as serde-saphyr allows.
///
/// Two departures from serde-saphyr's defaults, so values of sections we only carry along keep
/// their meaning: integers with leading zeros (`012345678901`, an account ID) stay strings, and
/// `y`/`n` (and odd-case spellings like `yEs`) stay strings, as in PyYAML. The error is
/// serde-saphyr's one-line message with line and column.
fn parse_yaml(text: &str) -> std::result::Result<Value, String> {
    let loose_options = serde_saphyr::options! { leading_zero_numbers_as_strings: true };
    let strict_options = serde_saphyr::options! {
        leading_zero_numbers_as_strings: true,
        strict_booleans: true,
    };
    let mut value: Value = serde_saphyr::from_str_with_options(text, loose_options)
        .map_err(|e| e.without_snippet().to_string())?;
    // The second reading only matters where the first found a boolean (most files have
    // none, and a parse is most of the start-up of a command answered from the cache).
    if has_boolean(&value)
        && let Ok(strict) = serde_saphyr::from_str_with_options::<Value>(text, strict_options)
    {
        keep_non_pyyaml_booleans_as_strings(&mut value, &strict);
    }
    Ok(value)
}

/// Whether `value` holds a boolean anywhere.
fn has_boolean(value: &Value) -> bool {
    match value {
        Value::Bool(_) => true,
        Value::Array(items) => items.iter().any(has_boolean),
        Value::Object(map) => map.values().any(has_boolean),
        _ => false,
    }
}

/// Where `loose` read a boolean that YAML 1.2 reads as a string PyYAML does not take for a
/// boolean either (`y`, `n`, `yEs`), puts the string back.
fn keep_non_pyyaml_booleans_as_strings(loose: &mut Value, strict: &Value) {
    if let (Value::Bool(_), Value::String(s)) = (&*loose, strict) {
        if !PYYAML_BOOLEANS.contains(&s.as_str()) {
            *loose = Value::String(s.clone());
        }
        return;
    }
    match (loose, strict) {
        (Value::Array(items), Value::Array(strict_items)) => {
            for (item, strict_item) in items.iter_mut().zip(strict_items) {
                keep_non_pyyaml_booleans_as_strings(item, strict_item);
            }
        }
        (Value::Object(map), Value::Object(strict_map)) => {
            for (k, v) in map.iter_mut() {
                if let Some(strict_v) = strict_map.get(k) {
                    keep_non_pyyaml_booleans_as_strings(v, strict_v);
                }
            }
        }
        _ => {}
    }
}
