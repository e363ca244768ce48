//! The schema table: every configuration key, its type, default, environment variable and
//! documentation, in one place.
//!
//! Validation of the file, `config set KEY VALUE`, environment overrides and the man page are
//! all driven by [`SCHEMA`]. Key lookup is in `keys`, value checks in `check`; none of them
//! reads files or the environment.

use crate::error::{Error, Result};

/// The kind of value a configuration key holds, which decides how it is parsed and checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ValueType {
    /// `true` or `false` (the environment and `config set` also take `1/0`, `yes/no`, `on/off`).
    Bool,
    /// A whole number from `min` to `max`, counted in `unit` (e.g. `seconds`).
    UInt {
        /// The smallest allowed value.
        min: u64,
        /// The largest allowed value.
        max: u64,
        /// What the number counts, in words, for messages and docs.
        unit: &'static str,
    },
    /// A finite number (fractions allowed) from `min` to `max`, counted in `unit`.
    Number {
        /// The smallest allowed value.
        min: f64,
        /// The largest allowed value.
        max: f64,
        /// What the number counts, in words.
        unit: &'static str,
    },
    /// A non-empty string.
    String,
    /// One of a fixed set of lower-case words (matched case-insensitively).
    Enum(&'static [&'static str]),
    /// A file-system path; a leading `~` stands for the home directory.
    Path,
    /// A mapping from snake_case operation names to whole numbers from `min` to `max`.
    UIntMap {
        /// The smallest allowed value of an entry.
        min: u64,
        /// The largest allowed value of an entry.
        max: u64,
        /// What the numbers count, in words.
        unit: &'static str,
    },
    /// The name of an awsideman profile (see [`validate_profile_name`]).
    ProfileName,
}

/// One configuration key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct KeySpec {
    /// The dotted key path; `<name>` stands for a profile name (`profiles.<name>.region`).
    pub(crate) key: &'static str,
    /// The type of its value.
    pub(crate) ty: ValueType,
    /// The default, as shown to people. For keys that are not optional it is also the value
    /// used, parsed like a `config set` value.
    pub(crate) default: &'static str,
    /// Whether `null` is a valid value (the key is optional and `null` means "not set").
    pub(crate) optional: bool,
    /// Environment variables overriding the file, first found wins. A name containing
    /// `<OPERATION>` is a pattern (`AWSIDEMAN_CACHE_TTL_<OPERATION>`).
    pub(crate) env: &'static [&'static str],
    /// One or two sentences for `config` help and the man page.
    pub(crate) doc: &'static str,
}

/// A section of the file, documented as a whole (for the man page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SectionSpec {
    /// The dotted path of the section (`cache`, `cache.profiles`).
    pub(crate) key: &'static str,
    /// What the section is for.
    pub(crate) doc: &'static str,
}

/// The choices of `cache.backend_type`.
pub(crate) const BACKEND_CHOICES: &[&str] = &["file", "dynamodb", "hybrid"];
/// The choices of `cache.encryption_type`.
pub(crate) const ENCRYPTION_CHOICES: &[&str] = &["aes256", "none"];
/// The choices of `output` (and `--output`).
pub(crate) const OUTPUT_CHOICES: &[&str] = &["table", "json", "text", "csv"];
/// The choices of `cache.encryption_key_source`.
pub(crate) const KEY_SOURCE_CHOICES: &[&str] = &["keyring", "env", "file", "kms"];

/// The longest allowed profile name.
pub(crate) const MAX_PROFILE_NAME_LEN: usize = 64;

/// Prefix of the keys of one profile in [`SCHEMA`].
pub(crate) const PROFILE_KEY_PREFIX: &str = "profiles.<name>.";

const SECONDS: ValueType = ValueType::UInt {
    min: 0,
    max: u64::MAX,
    unit: "seconds",
};
const MILLISECONDS: ValueType = ValueType::UInt {
    min: 1,
    max: 3_600_000,
    unit: "milliseconds",
};

/// Every configuration key. Profile keys are written `profiles.<name>.KEY`; every `cache.KEY`
/// except `cache.profiles` may also appear as `cache.profiles.<name>.KEY`.
pub(crate) const SCHEMA: &[KeySpec] = &[
    KeySpec {
        key: "default_profile",
        ty: ValueType::ProfileName,
        default: "none",
        optional: true,
        env: &[],
        doc: "Profile used when --profile is not given. Written by `profile set-default` and \
              `profile add --default`.",
    },
    KeySpec {
        key: "output",
        ty: ValueType::Enum(OUTPUT_CHOICES),
        default: "table on a terminal, json otherwise",
        optional: true,
        env: &["AWSIDEMAN_OUTPUT"],
        doc: "How results are printed when --output is not given, like the AWS CLI's output \
              setting (people who pipe to grep may prefer text; scripts should still pass -o \
              json).",
    },
    KeySpec {
        key: "profiles.<name>.region",
        ty: ValueType::String,
        default: "none",
        optional: true,
        env: &[],
        doc: "AWS region of the profile's IAM Identity Center instance, e.g. us-east-1.",
    },
    KeySpec {
        key: "profiles.<name>.sso_instance_arn",
        ty: ValueType::String,
        default: "none",
        optional: true,
        env: &[],
        doc: "ARN of the IAM Identity Center instance (arn:aws:sso:::instance/ssoins-...). \
              Written by `sso set`.",
    },
    KeySpec {
        key: "profiles.<name>.identity_store_id",
        ty: ValueType::String,
        default: "none",
        optional: true,
        env: &[],
        doc: "ID of the instance's identity store (d-...). Written by `sso set`.",
    },
    KeySpec {
        key: "profiles.<name>.sso_instance_name",
        ty: ValueType::String,
        default: "none",
        optional: true,
        env: &[],
        doc: "Display name of the instance; informational only.",
    },
    KeySpec {
        key: "profiles.<name>.aws_profile",
        ty: ValueType::String,
        default: "the profile's name",
        optional: true,
        env: &[],
        doc: "AWS CLI profile (from ~/.aws/config and ~/.aws/credentials) whose credentials \
              this profile uses.",
    },
    KeySpec {
        key: "cache.enabled",
        ty: ValueType::Bool,
        default: "true",
        optional: false,
        env: &["AWSIDEMAN_CACHE_ENABLED"],
        doc: "Cache the responses of read-only AWS calls. When false, every command asks AWS.",
    },
    KeySpec {
        key: "cache.backend_type",
        ty: ValueType::Enum(BACKEND_CHOICES),
        default: "file",
        optional: false,
        env: &["AWSIDEMAN_CACHE_BACKEND"],
        doc: "Where cached responses are kept: file (files under file_cache_dir), dynamodb \
              (a table that can be shared by a team), or hybrid (the table, with local copies \
              reused for hybrid_local_ttl seconds).",
    },
    KeySpec {
        key: "cache.default_ttl",
        ty: SECONDS,
        default: "3600",
        optional: false,
        env: &["AWSIDEMAN_CACHE_TTL_DEFAULT", "AWSIDEMAN_CACHE_TTL"],
        doc: "Seconds a cached response stays fresh, for operations without an entry in \
              operation_ttls. 0 means responses are never reused.",
    },
    KeySpec {
        key: "cache.operation_ttls",
        ty: ValueType::UIntMap {
            min: 0,
            max: u64::MAX,
            unit: "seconds",
        },
        default: "list_users=3600, list_groups=3600, list_permission_sets=7200, \
                  list_accounts=7200, describe_user=1800, describe_group=1800, \
                  describe_permission_set=1800, list_account_assignments=1800, \
                  describe_account=43200, list_roots=86400, \
                  list_organizational_units_for_parent=86400, list_parents=86400",
        optional: false,
        env: &["AWSIDEMAN_CACHE_TTL_<OPERATION>"],
        doc: "Seconds a cached response stays fresh, per AWS operation (snake_case name, e.g. \
              list_users); merged over the built-in values. One entry can be set as \
              cache.operation_ttls.<operation>; the variable's <OPERATION> is the name in \
              upper case (AWSIDEMAN_CACHE_TTL_LIST_USERS).",
    },
    KeySpec {
        key: "cache.max_size_mb",
        ty: ValueType::UInt {
            min: 1,
            max: 1_048_576,
            unit: "megabytes",
        },
        default: "100",
        optional: false,
        env: &["AWSIDEMAN_CACHE_MAX_SIZE_MB"],
        doc: "Size limit of the local cache in megabytes; the oldest entries are evicted \
              beyond it.",
    },
    KeySpec {
        key: "cache.file_cache_dir",
        ty: ValueType::Path,
        default: "<config dir>/cache",
        optional: true,
        env: &["AWSIDEMAN_CACHE_FILE_DIR"],
        doc: "Directory of the file cache and of the hybrid backend's local copies. A leading \
              ~ stands for the home directory.",
    },
    KeySpec {
        key: "cache.dynamodb_table_name",
        ty: ValueType::String,
        default: "awsideman-cache",
        optional: false,
        env: &["AWSIDEMAN_CACHE_DYNAMODB_TABLE"],
        doc: "DynamoDB table of the dynamodb and hybrid backends.",
    },
    KeySpec {
        key: "cache.dynamodb_region",
        ty: ValueType::String,
        default: "the profile's region",
        optional: true,
        env: &["AWSIDEMAN_CACHE_DYNAMODB_REGION"],
        doc: "AWS region of the DynamoDB table.",
    },
    KeySpec {
        key: "cache.dynamodb_profile",
        ty: ValueType::String,
        default: "the profile's credentials",
        optional: true,
        env: &["AWSIDEMAN_CACHE_DYNAMODB_PROFILE"],
        doc: "AWS CLI profile whose credentials are used for the DynamoDB table.",
    },
    KeySpec {
        key: "cache.dynamodb_timeout_ms",
        ty: MILLISECONDS,
        default: "5000",
        optional: false,
        env: &["AWSIDEMAN_CACHE_DYNAMODB_TIMEOUT_MS"],
        doc: "Milliseconds allowed for one request to the DynamoDB table (connecting \
              included). A cache that does not answer in time is a miss, never a failure.",
    },
    KeySpec {
        key: "cache.dynamodb_max_retries",
        ty: ValueType::UInt {
            min: 0,
            max: 10,
            unit: "retries",
        },
        default: "3",
        optional: false,
        env: &["AWSIDEMAN_CACHE_DYNAMODB_MAX_RETRIES"],
        doc: "Retries of a throttled, failed or timed-out request to the DynamoDB table, \
              after the first attempt.",
    },
    KeySpec {
        key: "cache.dynamodb_consistent_read",
        ty: ValueType::Bool,
        default: "false",
        optional: false,
        env: &["AWSIDEMAN_CACHE_DYNAMODB_CONSISTENT_READ"],
        doc: "Read entries with strongly consistent reads in the tools that list, inspect and \
              copy them. Cached reads always read an entry and its tag generations with one \
              strongly consistent BatchGetItem, whatever this says.",
    },
    KeySpec {
        key: "cache.dynamodb_kms_key_id",
        ty: ValueType::String,
        default: "null",
        optional: true,
        env: &["AWSIDEMAN_CACHE_DYNAMODB_KMS_KEY_ID"],
        doc: "KMS key (id, ARN or alias) encrypting a DynamoDB table that awsideman creates; \
              unset means DynamoDB's default encryption (an AWS owned key).",
    },
    KeySpec {
        key: "cache.dynamodb_table_tags",
        ty: ValueType::String,
        default: "null",
        optional: true,
        env: &["AWSIDEMAN_CACHE_DYNAMODB_TABLE_TAGS"],
        doc: "Tags of a DynamoDB table that awsideman creates, as key=value pairs separated \
              by commas (team=platform,cost-center=42).",
    },
    KeySpec {
        key: "cache.encryption_enabled",
        ty: ValueType::Bool,
        default: "false",
        optional: false,
        env: &["AWSIDEMAN_CACHE_ENCRYPTION"],
        doc: "Encrypt cached entries (AES-256-CBC + HMAC-SHA256), with keys from \
              cache.encryption_key_source.",
    },
    KeySpec {
        key: "cache.encryption_type",
        ty: ValueType::Enum(ENCRYPTION_CHOICES),
        default: "aes256",
        optional: false,
        env: &["AWSIDEMAN_CACHE_ENCRYPTION_TYPE"],
        doc: "Cipher of encrypted entries: aes256, or none to store entries unencrypted even \
              when encryption_enabled is true.",
    },
    KeySpec {
        key: "cache.encryption_key_source",
        ty: ValueType::Enum(KEY_SOURCE_CHOICES),
        default: "keyring",
        optional: false,
        env: &["AWSIDEMAN_CACHE_KEY_SOURCE"],
        doc: "Where the encryption keys are kept: keyring (the OS keyring: macOS Keychain, \
              Windows Credential Manager, Linux kernel keyutils), env (AWSIDEMAN_CACHE_KEY, \
              base64 of 32 bytes, for CI secrets), file (cache.encryption_key_file, mode \
              0600) or kms (data keys from cache.encryption_kms_key_id, kept wrapped next to \
              a file cache, or in the DynamoDB table of the dynamodb and hybrid backends, \
              where every machine sharing the table finds them).",
    },
    KeySpec {
        key: "cache.encryption_key_file",
        ty: ValueType::Path,
        default: "null",
        optional: true,
        env: &["AWSIDEMAN_CACHE_KEY_FILE"],
        doc: "The key file of the file key source; it must be mode 0600.",
    },
    KeySpec {
        key: "cache.encryption_kms_key_id",
        ty: ValueType::String,
        default: "null",
        optional: true,
        env: &["AWSIDEMAN_CACHE_KMS_KEY_ID"],
        doc: "KMS key id, ARN or alias of the kms key source.",
    },
    KeySpec {
        key: "cache.audit_log",
        ty: ValueType::Path,
        default: "<config dir>/audit.log",
        optional: true,
        env: &["AWSIDEMAN_AUDIT_LOG"],
        doc: "The audit log: one JSON line per key, encryption, migration, clear and DynamoDB \
              table event (never key material or cached data), mode 0600; off turns it off. \
              A leading ~ stands for the home directory. Not per profile.",
    },
    KeySpec {
        key: "cache.hybrid_local_ttl",
        ty: SECONDS,
        default: "300",
        optional: false,
        env: &["AWSIDEMAN_CACHE_HYBRID_LOCAL_TTL"],
        doc: "With the hybrid backend, seconds a local copy of a table entry is used before \
              the table is read again.",
    },
    KeySpec {
        key: "cache.lock_timeout_ms",
        ty: ValueType::UInt {
            min: 0,
            max: 3_600_000,
            unit: "milliseconds",
        },
        default: "3000",
        optional: false,
        env: &["AWSIDEMAN_CACHE_LOCK_TIMEOUT_MS"],
        doc: "Milliseconds to wait for a lock on a local file held by another awsideman \
              process (a change of the cache's keys, for a command storing an answer; the \
              audit log). Past it the answer is not cached (one warning), or the audit record \
              not written (one warning). 0 means try once.",
    },
    KeySpec {
        key: "network.connect_timeout_ms",
        ty: MILLISECONDS,
        default: "5000",
        optional: false,
        env: &["AWSIDEMAN_CONNECT_TIMEOUT_MS"],
        doc: "Milliseconds allowed to open a connection to AWS.",
    },
    KeySpec {
        key: "network.read_timeout_ms",
        ty: MILLISECONDS,
        default: "60000",
        optional: false,
        env: &["AWSIDEMAN_READ_TIMEOUT_MS"],
        doc: "Milliseconds allowed for a whole request once connected.",
    },
    KeySpec {
        key: "network.identity_center_rps",
        ty: ValueType::Number {
            min: 0.1,
            max: 1_000.0,
            unit: "requests per second",
        },
        default: "20",
        optional: false,
        env: &["AWSIDEMAN_RATE_LIMIT"],
        doc: "Requests per second sent to IAM Identity Center (identitystore and sso-admin \
              together; AWS allows about 20 per account), from 0.1 to 1000. A throttling \
              answer pauses the calls for half a second and halves the pace (to a tenth at \
              most); successes win it back.",
    },
];

/// The sections of the file, for the man page.
pub(crate) const SECTIONS: &[SectionSpec] = &[
    SectionSpec {
        key: "profiles",
        doc: "One block per awsideman profile, keyed by its name (1 to 64 characters, no \
              whitespace or '/'). The name is also the AWS CLI profile used for credentials \
              unless aws_profile says otherwise.",
    },
    SectionSpec {
        key: "cache",
        doc: "Caching of read-only AWS responses. Environment variables win over the file.",
    },
    SectionSpec {
        key: "cache.profiles",
        doc: "Per-profile overrides: cache.profiles.<name> may hold any cache key and wins \
              over the cache section while <name> is the active profile. Precedence: \
              environment, then cache.profiles.<name>, then cache, then the default.",
    },
    SectionSpec {
        key: "network",
        doc: "Timeouts and request pacing of AWS calls. Environment variables win over the \
              file.",
    },
    SectionSpec {
        key: "rollback",
        doc: "The rollback journal, with the Python awsideman's keys: enabled (true or \
              false, default true), storage_directory (default <config dir>/rollback, a \
              leading ~ stands for the home directory), retention_days (default 90) and \
              max_operations (default 10000; 0 keeps every record). Other keys of the \
              section are kept unchanged.",
    },
    SectionSpec {
        key: "storage, backup, templates",
        doc: "Sections of the Python awsideman that this tool does not use; they are kept \
              unchanged when the file is written. Comments in the file are not kept.",
    },
];

impl ValueType {
    /// What a value of this type must look like, for messages: `a whole number of seconds >= 0`.
    pub(crate) fn expectation(&self) -> String {
        match *self {
            ValueType::Bool => "true or false".to_string(),
            ValueType::UInt { min, max, unit } => {
                format!("a whole number of {unit} {}", range_text(min, max))
            }
            ValueType::Number { min, max, unit } => {
                format!("a number of {unit} from {min} to {max}")
            }
            ValueType::String => "a non-empty string".to_string(),
            ValueType::Enum(choices) => format!("one of {}", choices.join(", ")),
            ValueType::Path => "a non-empty path".to_string(),
            ValueType::UIntMap { min, max, unit } => format!(
                "a mapping of operation names to whole numbers of {unit} {}",
                range_text(min, max)
            ),
            ValueType::ProfileName => format!(
                "a profile name (1 to {MAX_PROFILE_NAME_LEN} characters, no whitespace or '/')"
            ),
        }
    }

    /// A short name of the type for tables and the man page: `boolean`, `seconds`, `file|dynamodb|hybrid`.
    pub(crate) fn doc_name(&self) -> String {
        match *self {
            ValueType::Bool => "boolean".to_string(),
            ValueType::UInt { unit, .. } | ValueType::Number { unit, .. } => unit.to_string(),
            ValueType::String => "string".to_string(),
            ValueType::Enum(choices) => choices.join("|"),
            ValueType::Path => "path".to_string(),
            ValueType::UIntMap { unit, .. } => format!("map of operation to {unit}"),
            ValueType::ProfileName => "profile name".to_string(),
        }
    }
}

fn range_text(min: u64, max: u64) -> String {
    if max == u64::MAX {
        format!(">= {min}")
    } else {
        format!("from {min} to {max}")
    }
}

/// Checks a profile name: 1 to 64 characters, no whitespace, no `/`.
pub(crate) fn validate_profile_name(name: &str) -> Result<()> {
    let problem = if name.is_empty() {
        Some("it is empty")
    } else if name.chars().count() > MAX_PROFILE_NAME_LEN {
        Some("it is longer than 64 characters")
    } else if name.chars().any(char::is_whitespace) {
        Some("it contains whitespace")
    } else if name.contains('/') {
        Some("it contains '/'")
    } else if name.chars().any(char::is_control) {
        Some("it contains control characters")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(why) => Err(Error::config(format!(
            "invalid profile name {name:?}: {why} (allowed: 1 to {MAX_PROFILE_NAME_LEN} \
             characters, no whitespace or '/')"
        ))),
    }
}

/// The spec whose key is exactly `key` (`cache.default_ttl`, `profiles.<name>.region`).
pub(crate) fn spec(key: &str) -> Option<&'static KeySpec> {
    SCHEMA.iter().find(|s| s.key == key)
}
