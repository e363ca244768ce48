//! The effective cache and network settings: environment, then the active profile's cache
//! overrides, then the file's sections, then the defaults of [`SCHEMA`](super::SCHEMA).
//!
//! Resolution only reads the already-loaded document and the [`Env`] snapshot.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

use super::ConfigFile;
use super::check::{self, Typed};
use super::schema::{self, KeySpec, ValueType};
use crate::env::Env;
use crate::error::{Error, Result};

/// Prefix of the per-operation TTL variables (`AWSIDEMAN_CACHE_TTL_LIST_USERS`).
pub(crate) const OPERATION_TTL_ENV_PREFIX: &str = "AWSIDEMAN_CACHE_TTL_";

/// Built-in freshness per operation, in seconds; `cache.operation_ttls` merges over it.
pub(crate) const DEFAULT_OPERATION_TTLS: &[(&str, u64)] = &[
    ("list_users", 3600),
    ("list_groups", 3600),
    ("list_permission_sets", 7200),
    ("list_accounts", 7200),
    ("describe_user", 1800),
    ("describe_group", 1800),
    ("describe_permission_set", 1800),
    ("list_account_assignments", 1800),
    ("describe_account", 43200),
    ("list_roots", 86400),
    ("list_organizational_units_for_parent", 86400),
    ("list_parents", 86400),
];

/// Where cached responses are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BackendType {
    /// Files under `file_cache_dir`.
    File,
    /// A DynamoDB table.
    Dynamodb,
    /// The DynamoDB table, with short-lived local copies.
    Hybrid,
}

impl BackendType {
    /// Every backend, in the order of [`BACKEND_CHOICES`](super::BACKEND_CHOICES).
    pub(crate) const ALL: [BackendType; 3] = [
        BackendType::File,
        BackendType::Dynamodb,
        BackendType::Hybrid,
    ];

    /// The name used in the file and the environment (`file`, `dynamodb`, `hybrid`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            BackendType::File => "file",
            BackendType::Dynamodb => "dynamodb",
            BackendType::Hybrid => "hybrid",
        }
    }

    /// The backend named `name` (any case).
    pub(crate) fn parse(name: &str) -> Option<BackendType> {
        BackendType::ALL
            .into_iter()
            .find(|b| b.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

impl std::fmt::Display for BackendType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the cache's encryption keys are kept (`cache.encryption_key_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeySourceKind {
    /// The OS keyring.
    Keyring,
    /// `AWSIDEMAN_CACHE_KEY`.
    Env,
    /// `cache.encryption_key_file`.
    File,
    /// Wrapped by AWS KMS (`cache.encryption_kms_key_id`).
    Kms,
}

impl KeySourceKind {
    /// Every source, in the order of [`KEY_SOURCE_CHOICES`](super::KEY_SOURCE_CHOICES).
    pub(crate) const ALL: [KeySourceKind; 4] = [
        KeySourceKind::Keyring,
        KeySourceKind::Env,
        KeySourceKind::File,
        KeySourceKind::Kms,
    ];

    /// The name used in the file and the environment.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            KeySourceKind::Keyring => "keyring",
            KeySourceKind::Env => "env",
            KeySourceKind::File => "file",
            KeySourceKind::Kms => "kms",
        }
    }

    /// The source named `name` (any case).
    pub(crate) fn parse(name: &str) -> Option<KeySourceKind> {
        KeySourceKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

impl std::fmt::Display for KeySourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How cached entries are encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EncryptionType {
    /// Not encrypted.
    None,
    /// AES-256.
    Aes256,
}

impl EncryptionType {
    /// Every encryption type, in the order of [`ENCRYPTION_CHOICES`](super::ENCRYPTION_CHOICES).
    pub(crate) const ALL: [EncryptionType; 2] = [EncryptionType::Aes256, EncryptionType::None];

    /// The name used in the file and the environment (`aes256`, `none`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EncryptionType::None => "none",
            EncryptionType::Aes256 => "aes256",
        }
    }

    /// The encryption type named `name` (any case).
    pub(crate) fn parse(name: &str) -> Option<EncryptionType> {
        EncryptionType::ALL
            .into_iter()
            .find(|e| e.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

impl std::fmt::Display for EncryptionType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The effective cache settings for one profile.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheSettings {
    /// Whether responses are cached at all.
    pub(crate) enabled: bool,
    /// Where they are kept.
    pub(crate) backend_type: BackendType,
    /// Freshness in seconds for operations without their own entry.
    pub(crate) default_ttl: u64,
    /// Freshness in seconds per snake_case operation (built-ins merged with the config).
    pub(crate) operation_ttls: BTreeMap<String, u64>,
    /// Size limit of the local cache in megabytes.
    pub(crate) max_size_mb: u64,
    /// Directory of the file cache, resolved (default `<config dir>/cache`, `~` expanded).
    pub file_cache_dir: PathBuf,
    /// DynamoDB table of the dynamodb and hybrid backends.
    pub(crate) dynamodb_table_name: String,
    /// Region of the table; `None` means the profile's region.
    pub(crate) dynamodb_region: Option<String>,
    /// AWS CLI profile for the table; `None` means the profile's own credentials.
    pub(crate) dynamodb_profile: Option<String>,
    /// Milliseconds allowed for one request to the table.
    pub dynamodb_timeout_ms: u64,
    /// Retries of a failed request to the table, after the first attempt.
    pub dynamodb_max_retries: u64,
    /// Whether the table is read with strongly consistent reads.
    pub(crate) dynamodb_consistent_read: bool,
    /// KMS key encrypting a table awsideman creates; `None` means DynamoDB's default.
    pub(crate) dynamodb_kms_key_id: Option<String>,
    /// Tags of a table awsideman creates.
    pub(crate) dynamodb_table_tags: BTreeMap<String, String>,
    /// Whether entries are encrypted.
    pub(crate) encryption_enabled: bool,
    /// The cipher of encrypted entries.
    pub(crate) encryption_type: EncryptionType,
    /// Where the encryption keys are kept: `keyring`, `env`, `file` or `kms`.
    pub(crate) encryption_key_source: KeySourceKind,
    /// The key file of the `file` source (`~` expanded).
    pub(crate) encryption_key_file: Option<PathBuf>,
    /// The KMS key of the `kms` source.
    pub(crate) encryption_kms_key_id: Option<String>,
    /// Seconds the hybrid backend reuses a local copy.
    pub(crate) hybrid_local_ttl: u64,
}

impl CacheSettings {
    /// Freshness in seconds of `operation_snake` (`list_users`): its own entry, else the default.
    pub(crate) fn ttl_for(&self, operation_snake: &str) -> u64 {
        self.operation_ttls
            .get(operation_snake)
            .copied()
            .unwrap_or(self.default_ttl)
    }
}

/// The effective network settings.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSettings {
    /// Milliseconds allowed to connect.
    pub(crate) connect_timeout_ms: u64,
    /// Milliseconds allowed for a whole request once connected.
    pub(crate) read_timeout_ms: u64,
    /// Requests per second to Identity Center; 0 turns pacing off.
    pub(crate) identity_center_rps: f64,
}

impl NetworkSettings {
    #[cfg(test)]
    /// The connect timeout as a [`Duration`].
    pub(crate) fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }
}

/// Resolves the cache settings of `profile` (the active profile, if any).
///
/// Precedence per key: environment, `cache.profiles.<profile>`, `cache`, default.
/// `config_dir` is where the default file cache lives (`<config dir>/cache`).
pub fn cache_settings(
    file: &ConfigFile,
    profile: Option<&str>,
    env: &Env,
    config_dir: &Path,
) -> Result<CacheSettings> {
    let layers = Layers::new(file, env, "cache", profile)?;
    let file_cache_dir = match layers.value("file_cache_dir")? {
        Typed::Text(dir) => expand_home(&dir, env),
        _ => config_dir.join("cache"),
    };
    Ok(CacheSettings {
        enabled: layers.bool("enabled")?,
        backend_type: layers.choice("backend_type", BackendType::parse)?,
        default_ttl: layers.uint("default_ttl")?,
        operation_ttls: layers.operation_ttls()?,
        max_size_mb: layers.uint("max_size_mb")?,
        file_cache_dir,
        dynamodb_table_name: layers.text("dynamodb_table_name")?.unwrap_or_default(),
        dynamodb_region: layers.text("dynamodb_region")?,
        dynamodb_profile: layers.text("dynamodb_profile")?,
        dynamodb_timeout_ms: layers.uint("dynamodb_timeout_ms")?,
        dynamodb_max_retries: layers.uint("dynamodb_max_retries")?,
        dynamodb_consistent_read: layers.bool("dynamodb_consistent_read")?,
        dynamodb_kms_key_id: layers.text("dynamodb_kms_key_id")?,
        dynamodb_table_tags: match layers.text("dynamodb_table_tags")? {
            Some(text) => parse_table_tags(&text)?,
            None => BTreeMap::new(),
        },
        encryption_enabled: layers.bool("encryption_enabled")?,
        encryption_type: layers.choice("encryption_type", EncryptionType::parse)?,
        encryption_key_source: layers.choice("encryption_key_source", KeySourceKind::parse)?,
        encryption_key_file: layers
            .text("encryption_key_file")?
            .map(|path| expand_home(&path, env)),
        encryption_kms_key_id: layers.text("encryption_kms_key_id")?,
        hybrid_local_ttl: layers.uint("hybrid_local_ttl")?,
    })
}

/// The value of `cache.audit_log` that turns the audit log off.
pub(crate) const AUDIT_LOG_OFF: &str = "off";

/// Where the audit log is written (`cache.audit_log`, `AWSIDEMAN_AUDIT_LOG`, default
/// `<config dir>/audit.log`, `~` expanded), or `None` when it is `off`. Global, never per
/// profile.
pub fn audit_log_path(file: &ConfigFile, env: &Env, config_dir: &Path) -> Result<Option<PathBuf>> {
    let layers = Layers::new(file, env, "cache", None)?;
    Ok(match layers.text("audit_log")? {
        Some(value) if value.trim().eq_ignore_ascii_case(AUDIT_LOG_OFF) => None,
        Some(value) => Some(expand_home(&value, env)),
        None => Some(config_dir.join("audit.log")),
    })
}

/// How long to wait for a lock on a local file (`cache.lock_timeout_ms`,
/// `AWSIDEMAN_CACHE_LOCK_TIMEOUT_MS`, default 3 s) for `profile` (the active profile).
pub(crate) fn lock_timeout(
    file: &ConfigFile,
    env: &Env,
    profile: Option<&str>,
) -> Result<Duration> {
    let layers = Layers::new(file, env, "cache", profile)?;
    Ok(Duration::from_millis(layers.uint("lock_timeout_ms")?))
}

/// The default output form, when one is chosen: `AWSIDEMAN_OUTPUT`, else the file's
/// `output`, lower-cased and checked against the choices (`None`: the caller decides by
/// the terminal).
pub(crate) fn default_output(file: &ConfigFile, env: &Env) -> Result<Option<String>> {
    let chosen = env
        .get("AWSIDEMAN_OUTPUT")
        .map(|v| ("AWSIDEMAN_OUTPUT", v.to_string()))
        .or_else(|| {
            file.get("output")
                .and_then(|v| v.as_str())
                .map(|v| ("output", v.to_string()))
        });
    let Some((source, value)) = chosen else {
        return Ok(None);
    };
    let value = value.trim().to_ascii_lowercase();
    if super::schema::OUTPUT_CHOICES.contains(&value.as_str()) {
        Ok(Some(value))
    } else {
        Err(Error::config(format!(
            "{source}: invalid value {value:?} (allowed: {})",
            super::schema::OUTPUT_CHOICES.join(", ")
        )))
    }
}

/// Resolves the network settings: environment, then the `network` section, then defaults.
pub fn network_settings(file: &ConfigFile, env: &Env) -> Result<NetworkSettings> {
    let layers = Layers::new(file, env, "network", None)?;
    Ok(NetworkSettings {
        connect_timeout_ms: layers.uint("connect_timeout_ms")?,
        read_timeout_ms: layers.uint("read_timeout_ms")?,
        identity_center_rps: match layers.value("identity_center_rps")? {
            Typed::Number(n) => n,
            other => return Err(internal("network.identity_center_rps", &other)),
        },
    })
}

/// The most tags a DynamoDB table can have.
const MAX_TABLE_TAGS: usize = 50;

/// Parses `cache.dynamodb_table_tags`: `key=value` pairs separated by commas, keys of 1 to
/// 128 characters and values of at most 256 (DynamoDB's limits), each key once.
fn parse_table_tags(text: &str) -> Result<BTreeMap<String, String>> {
    let invalid = |why: &str| {
        Error::config(format!(
            "cache.dynamodb_table_tags: invalid value {text:?} ({why})"
        ))
    };
    let mut tags = BTreeMap::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| invalid("expected key=value pairs separated by commas"))?;
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 256 {
            return Err(invalid(
                "a tag key has 1 to 128 characters and a value at most 256",
            ));
        }
        if tags.insert(key.to_string(), value.to_string()).is_some() {
            return Err(invalid(&format!("tag {key} is given twice")));
        }
    }
    if tags.len() > MAX_TABLE_TAGS {
        return Err(invalid(&format!(
            "a table has at most {MAX_TABLE_TAGS} tags"
        )));
    }
    Ok(tags)
}

/// `~` and `~/rest` as paths under the home directory; anything else unchanged.
fn expand_home(path: &str, env: &Env) -> PathBuf {
    match (path, env.home()) {
        ("~", Some(home)) => home,
        (p, Some(home)) if p.starts_with("~/") => home.join(&p[2..]),
        _ => PathBuf::from(path),
    }
}

/// The sources of one section's values, highest precedence first.
struct Layers<'a> {
    file: &'a ConfigFile,
    env: &'a Env,
    section_name: &'static str,
    section: Option<&'a Map<String, Value>>,
    /// The active profile's overrides: its name and `cache.profiles.<name>`.
    profile_block: Option<(&'a str, &'a Map<String, Value>)>,
}

impl<'a> Layers<'a> {
    fn new(
        file: &'a ConfigFile,
        env: &'a Env,
        section_name: &'static str,
        profile: Option<&'a str>,
    ) -> Result<Layers<'a>> {
        let in_file = |message: String| file.error(message);
        let section = match file.document().as_object() {
            Some(root) => check::section(root, section_name).map_err(in_file)?,
            None => None,
        };
        let mut profile_block = None;
        if let (Some(name), Some(section)) = (profile, section)
            && let Some(overrides) = section.get("profiles")
            && let Some(overrides) =
                check::as_section(overrides, "cache.profiles").map_err(in_file)?
            && let Some(block) = overrides.get(name)
        {
            let at = format!("cache.profiles.{name}");
            if let Some(block) = check::as_section(block, &at).map_err(in_file)? {
                profile_block = Some((name, block));
            }
        }
        Ok(Layers {
            file,
            env,
            section_name,
            section,
            profile_block,
        })
    }

    fn spec(&self, field: &str) -> Result<&'static KeySpec> {
        let key = format!("{}.{field}", self.section_name);
        schema::spec(&key)
            .ok_or_else(|| Error::runtime(format!("internal error: no schema entry for {key}")))
    }

    /// The winning value of `field`, checked against its spec.
    fn value(&self, field: &str) -> Result<Typed> {
        let spec = self.spec(field)?;
        let mut ignored = Vec::new();
        for var in spec.env.iter().filter(|v| !v.contains('<')) {
            if let Some(raw) = self.env.get(var) {
                let value = check::parse_text(var, spec.ty, spec.optional, raw)?;
                return check::check_value(var, spec.ty, spec.optional, &value, &mut ignored)
                    .map_err(Error::config);
            }
        }
        let from_file = |key: &str, value: &Value| {
            check::check_value(key, spec.ty, spec.optional, value, &mut Vec::new())
                .map_err(|message| self.file.error(message))
        };
        if let Some((name, block)) = self.profile_block
            && let Some(value) = block.get(field)
        {
            return from_file(&format!("cache.profiles.{name}.{field}"), value);
        }
        if let Some(value) = self.section.and_then(|s| s.get(field)) {
            return from_file(spec.key, value);
        }
        if spec.optional {
            return Ok(Typed::Null);
        }
        let value = check::parse_text(spec.key, spec.ty, false, spec.default)
            .map_err(|e| e.context("internal error: bad default in the schema"))?;
        check::check_value(spec.key, spec.ty, false, &value, &mut ignored).map_err(Error::runtime)
    }

    fn bool(&self, field: &str) -> Result<bool> {
        match self.value(field)? {
            Typed::Bool(b) => Ok(b),
            other => Err(internal(field, &other)),
        }
    }

    fn uint(&self, field: &str) -> Result<u64> {
        match self.value(field)? {
            Typed::UInt(n) => Ok(n),
            other => Err(internal(field, &other)),
        }
    }

    fn text(&self, field: &str) -> Result<Option<String>> {
        match self.value(field)? {
            Typed::Text(s) => Ok(Some(s)),
            Typed::Null => Ok(None),
            other => Err(internal(field, &other)),
        }
    }

    fn choice<T>(&self, field: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
        match self.value(field)? {
            Typed::Text(s) => parse(&s).ok_or_else(|| internal(field, &Typed::Text(s))),
            other => Err(internal(field, &other)),
        }
    }

    /// The built-in TTLs, then `cache.operation_ttls`, then the profile's, then
    /// `AWSIDEMAN_CACHE_TTL_<OPERATION>`: each layer merges over the one before.
    fn operation_ttls(&self) -> Result<BTreeMap<String, u64>> {
        let spec = self.spec("operation_ttls")?;
        let mut ttls: BTreeMap<String, u64> = DEFAULT_OPERATION_TTLS
            .iter()
            .map(|(op, ttl)| ((*op).to_string(), *ttl))
            .collect();
        let mut ignored = Vec::new();
        let mut merge = |key: &str, value: &Value| -> Result<()> {
            match check::check_value(key, spec.ty, false, value, &mut ignored) {
                Ok(Typed::Map(map)) => {
                    ttls.extend(map);
                    Ok(())
                }
                Ok(other) => Err(internal(key, &other)),
                Err(message) => Err(self.file.error(message)),
            }
        };
        if let Some(value) = self.section.and_then(|s| s.get("operation_ttls")) {
            merge(spec.key, value)?;
        }
        if let Some((name, block)) = self.profile_block
            && let Some(value) = block.get("operation_ttls")
        {
            merge(&format!("cache.profiles.{name}.operation_ttls"), value)?;
        }
        let ValueType::UIntMap { min, max, unit } = spec.ty else {
            return Err(Error::runtime(
                "internal error: cache.operation_ttls is not a map",
            ));
        };
        let entry_ty = ValueType::UInt { min, max, unit };
        for (var, raw) in self.env.with_prefix(OPERATION_TTL_ENV_PREFIX) {
            let Some(suffix) = var.strip_prefix(OPERATION_TTL_ENV_PREFIX) else {
                continue;
            };
            let operation = suffix.to_ascii_lowercase();
            if raw.is_empty() || suffix == "DEFAULT" || !check::is_operation_name(&operation) {
                continue;
            }
            match check::parse_text(var, entry_ty, false, raw)?.as_u64() {
                Some(ttl) => ttls.insert(operation, ttl),
                None => {
                    return Err(Error::runtime(format!(
                        "internal error: {var} is not a number"
                    )));
                }
            };
        }
        Ok(ttls)
    }
}

fn internal(key: &str, value: &Typed) -> Error {
    Error::runtime(format!("internal error: {key} resolved to {value:?}"))
}

/// The rollback journal's settings: the `rollback` section the Python awsideman also reads
/// (`enabled`, `storage_directory`, `retention_days`) and `max_operations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackSettings {
    /// Whether writes are journalled (`rollback.enabled`, default true).
    pub enabled: bool,
    /// The journal's directory (`rollback.storage_directory`, default
    /// `<config dir>/rollback`, `~` expanded).
    pub dir: PathBuf,
    /// Days a record is kept (`rollback.retention_days`, default 90; 0 keeps them all).
    pub retention_days: Option<u64>,
    /// Records kept at most (`rollback.max_operations`, default 10000; 0 keeps them all).
    pub max_operations: Option<u64>,
}

/// Reads the `rollback` section (see [`RollbackSettings`]); a value of the wrong type is a
/// configuration error naming the key.
pub fn rollback_settings(
    file: &ConfigFile,
    env: &Env,
    config_dir: &Path,
) -> Result<RollbackSettings> {
    let section = file.document().get("rollback").filter(|v| !v.is_null());
    let section = match section {
        None => None,
        Some(Value::Object(map)) => Some(map),
        Some(_) => return Err(file.error("rollback: expected a mapping")),
    };
    let get = |key: &str| section.and_then(|s| s.get(key)).filter(|v| !v.is_null());
    let enabled = match get("enabled") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(file.error("rollback.enabled: expected true or false")),
    };
    let dir = match get("storage_directory") {
        None => config_dir.join("rollback"),
        Some(Value::String(s)) if !s.trim().is_empty() => expand_home(s.trim(), env),
        Some(_) => return Err(file.error("rollback.storage_directory: expected a non-empty path")),
    };
    let count = |key: &str, default: u64| match get(key) {
        None => Ok(Some(default)),
        Some(v) => match v.as_u64() {
            Some(0) => Ok(None),
            Some(n) => Ok(Some(n)),
            None => Err(file.error(format!("rollback.{key}: expected a whole number >= 0"))),
        },
    };
    Ok(RollbackSettings {
        enabled,
        dir,
        retention_days: count("retention_days", 90)?,
        max_operations: count("max_operations", 10_000)?,
    })
}
