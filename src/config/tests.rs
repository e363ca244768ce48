use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::*;
use crate::config::keys::close_keys;
use crate::config::schema::{
    ENCRYPTION_CHOICES, KEY_SOURCE_CHOICES, ValueType, validate_profile_name,
};
use crate::config::settings::{DEFAULT_OPERATION_TTLS, NetworkSettings};
use crate::error::Kind;

const FULL: &str = r#"default_profile: prod
profiles:
  prod:
    region: us-east-1
    sso_instance_arn: "arn:aws:sso:::instance/ssoins-1234"
    identity_store_id: d-1234567890
    sso_instance_name: Production
    color: blue
  dev.eu: {region: eu-west-1, aws_profile: 012345678901}
cache:
  enabled: true
  default_ttl: 3600
  max_size_mb: 100
  operation_ttls: {list_users: 600, list_groups: 3600}
  backend_type: file
  file_cache_dir: null
  dynamodb_table_name: awsideman-cache
  dynamodb_region: null
  dynamodb_profile: null
  encryption_enabled: false
  encryption_type: aes256
  hybrid_local_ttl: 300
  profiles:
    prod: {backend_type: dynamodb, default_ttl: 60}
network:
  connect_timeout_ms: 5000
  read_timeout_ms: 60000
  identity_center_rps: 20
storage:
  zeta: 1
  alpha: [x, 2, 1.5, null, true, {nested: {deep: [a]}}]
  mode: y
  flag: yes
  account: 012345678901
  text: "123"
  multi: |
    line one
    line two
backup: {retention_days: 30, enabled: false}
"#;

fn file(text: &str) -> ConfigFile {
    match ConfigFile::from_yaml(PathBuf::from("/cfg/config.yaml"), text) {
        Ok(f) => f,
        Err(e) => panic!("parse failed: {e}"),
    }
}

fn env(pairs: &[(&str, &str)]) -> Env {
    Env::from_pairs(pairs.iter().copied())
}

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

fn cache(f: &ConfigFile, profile: Option<&str>, e: &Env) -> Result<CacheSettings> {
    cache_settings(f, profile, e, Path::new("/cfg"))
}

fn config_error(result: Result<impl std::fmt::Debug>) -> String {
    match result {
        Ok(v) => panic!("expected a configuration error, got {v:?}"),
        Err(e) => {
            assert_eq!(e.kind(), Kind::Config, "{e}");
            assert_eq!(e.exit_code(), 2);
            e.to_string()
        }
    }
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "awsideman-config-test-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---- parsing and round trip ----

#[test]
fn round_trip_keeps_everything() {
    let f = file(FULL);
    let yaml = f.to_yaml().expect("to_yaml");
    let again = file(&yaml);
    assert_eq!(again.document(), f.document(), "{yaml}");
    // Key order survives, at the top and inside sections.
    assert_eq!(
        keys(again.document()),
        [
            "default_profile",
            "profiles",
            "cache",
            "network",
            "storage",
            "backup"
        ]
    );
    assert_eq!(keys(&again.document()["storage"])[..2], ["zeta", "alpha"]);
    assert_eq!(keys(&again.document()["profiles"]), ["prod", "dev.eu"]);
    // Types survive.
    let s = &again.document()["storage"];
    assert_eq!(
        s["alpha"],
        json!(["x", 2, 1.5, null, true, {"nested": {"deep": ["a"]}}])
    );
    assert_eq!(s["text"], json!("123"));
    assert_eq!(s["multi"], json!("line one\nline two\n"));
    assert_eq!(
        again.document()["backup"],
        json!({"retention_days": 30, "enabled": false})
    );
    assert_eq!(again.document()["cache"]["file_cache_dir"], Value::Null);
    assert_eq!(again.document()["profiles"]["prod"]["color"], json!("blue"));
    // A second round trip writes the same text.
    assert_eq!(again.to_yaml().expect("to_yaml"), yaml);
}

#[test]
fn values_read_as_the_python_tool_reads_them() {
    let f = file(FULL);
    let s = &f.document()["storage"];
    // PyYAML reads `yes` as a boolean but `y` as a string, and keeps leading zeros.
    assert_eq!(s["flag"], json!(true));
    assert_eq!(s["mode"], json!("y"));
    assert_eq!(s["account"], json!("012345678901"));
    let yaml = f.to_yaml().expect("to_yaml");
    assert!(yaml.contains("account: \"012345678901\""), "{yaml}");
    assert!(yaml.contains("mode: \"y\""), "{yaml}");
    // A numeric AWS profile name is a string for the profile.
    let dev = f.profile("dev.eu").expect("profile").expect("defined");
    assert_eq!(dev.aws_profile.as_deref(), Some("012345678901"));
}

#[test]
fn malformed_yaml_names_file_and_line() {
    let message = config_error(ConfigFile::from_yaml(
        PathBuf::from("/x/config.yaml"),
        "cache:\n  enabled: [true\n  default_ttl: 5\n",
    ));
    assert!(
        message.starts_with("/x/config.yaml: invalid YAML: "),
        "{message}"
    );
    assert!(message.contains("line"), "{message}");
    assert!(!message.contains('\n'), "one line: {message}");
    let message = config_error(ConfigFile::from_yaml(
        PathBuf::from("/x/config.yaml"),
        "a: 1\na: 2\n",
    ));
    assert!(message.contains("duplicate"), "{message}");
    let message = config_error(ConfigFile::from_yaml(
        PathBuf::from("/x/c.yaml"),
        "- a\n- b\n",
    ));
    assert_eq!(
        message,
        "/x/c.yaml: expected a mapping at the top level, found a list"
    );
}

#[test]
fn empty_and_missing_files() {
    for text in ["", "# only a comment\n", "---\n", "{}\n"] {
        let f = file(text);
        assert_eq!(f.document(), &json!({}), "{text:?}");
        assert_eq!(f.validate().expect("valid"), Vec::<String>::new());
        assert_eq!(f.default_profile(), None);
        assert!(f.profiles().expect("profiles").is_empty());
    }
    let dir = TempDir::new("missing");
    let f = ConfigFile::load(&dir.0.join("nope")).expect("load");
    assert!(!f.exists());
    assert_eq!(f.path(), dir.0.join("nope").join("config.yaml"));
    assert_eq!(f.document(), &json!({}));
    assert_eq!(f.to_yaml().expect("yaml").trim(), "{}");
    let c = cache(&f, Some("prod"), &Env::default()).expect("defaults");
    assert!(c.enabled);
    assert_eq!(c.backend_type, BackendType::File);
    assert_eq!(c.default_ttl, 3600);
    assert_eq!(c.max_size_mb, 100);
    assert_eq!(c.file_cache_dir, PathBuf::from("/cfg/cache"));
    assert_eq!(c.dynamodb_table_name, "awsideman-cache");
    assert_eq!(c.dynamodb_region, None);
    assert_eq!(c.dynamodb_profile, None);
    assert_eq!(c.dynamodb_timeout_ms, 5000);
    assert_eq!(c.dynamodb_max_retries, 3);
    assert!(!c.dynamodb_consistent_read);
    assert_eq!(c.dynamodb_kms_key_id, None);
    assert!(c.dynamodb_table_tags.is_empty());
    assert!(!c.encryption_enabled);
    assert_eq!(c.encryption_type, EncryptionType::Aes256);
    assert_eq!(c.hybrid_local_ttl, 300);
    assert_eq!(c.ttl_for("list_roots"), 86400);
    assert_eq!(c.ttl_for("something_new"), 3600);
    let n = network_settings(&f, &Env::default()).expect("defaults");
    assert_eq!(
        n,
        NetworkSettings {
            connect_timeout_ms: 5000,
            read_timeout_ms: 60000,
            identity_center_rps: 20.0
        }
    );
}

#[test]
fn load_reads_the_file() {
    let dir = TempDir::new("load");
    std::fs::write(dir.0.join("config.yaml"), FULL).expect("write");
    let f = ConfigFile::load(&dir.0).expect("load");
    assert!(f.exists());
    assert_eq!(f.default_profile(), Some("prod"));
    std::fs::write(dir.0.join("config.yaml"), [0xff, 0xfe, 0x00]).expect("write");
    let message = config_error(ConfigFile::load(&dir.0));
    assert!(message.contains("UTF-8"), "{message}");
}

#[cfg(unix)]
#[test]
fn load_refuses_what_is_not_a_private_file_at_once() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("load-refused");
    let path = dir.0.join("config.yaml");
    // A FIFO: a blocking open would wait for a writer forever.
    let name = std::ffi::CString::new(path.display().to_string()).expect("path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
    let message = config_error(ConfigFile::load(&dir.0));
    assert!(
        message.contains("FIFO") && message.contains(&path.display().to_string()),
        "{message}"
    );
    std::fs::remove_file(&path).expect("rm");
    // A directory.
    std::fs::create_dir(&path).expect("mkdir");
    let message = config_error(ConfigFile::load(&dir.0));
    assert!(message.contains("not a regular file"), "{message}");
    std::fs::remove_dir(&path).expect("rmdir");
    // Far larger than a configuration file, judged from its size (it is sparse).
    let file = std::fs::File::create(&path).expect("create");
    file.set_len(2 << 30).expect("grow");
    let message = config_error(ConfigFile::load(&dir.0));
    assert!(message.contains("bytes"), "{message}");
    std::fs::remove_file(&path).expect("rm");
    // A directory of ours that others could write is made 0700, with one note.
    std::fs::write(&path, "default_profile: dev\n").expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let f = ConfigFile::load(&dir.0).expect("load");
    assert_eq!(f.default_profile(), Some("dev"));
    assert_eq!(mode(&dir.0), 0o700);
    assert_eq!(f.repairs.len(), 1, "{:?}", f.repairs);
    // A link inside it is followed to a file of ours, not to another user's.
    std::fs::rename(&path, dir.0.join("real.yaml")).expect("mv");
    std::os::unix::fs::symlink(dir.0.join("real.yaml"), &path).expect("symlink");
    assert_eq!(
        ConfigFile::load(&dir.0).expect("load").default_profile(),
        Some("dev")
    );
    if crate::fsutil::effective_uid() != 0 {
        eprintln!("note: not root, so another user's file cannot be made; check skipped");
        return;
    }
    std::os::unix::fs::chown(dir.0.join("real.yaml"), Some(65534), None).expect("chown");
    let message = config_error(ConfigFile::load(&dir.0));
    assert!(message.contains("owned by uid 65534"), "{message}");
    assert!(message.contains("a link to"), "{message}");
    std::os::unix::fs::chown(&dir.0, Some(65534), None).expect("chown");
    let message = config_error(ConfigFile::load(&dir.0));
    assert!(message.contains(&dir.0.display().to_string()), "{message}");
}

#[test]
fn config_dir_from_env_or_home() {
    let e = env(&[("HOME", "/home/u"), ("AWSIDEMAN_CONFIG_DIR", "/etc/aws")]);
    assert_eq!(ConfigFile::dir(&e).expect("dir"), PathBuf::from("/etc/aws"));
    let e = env(&[("HOME", "/home/u")]);
    assert_eq!(
        ConfigFile::dir(&e).expect("dir"),
        PathBuf::from("/home/u/.awsideman")
    );
    let message = config_error(ConfigFile::dir(&Env::default()));
    assert!(message.contains("AWSIDEMAN_CONFIG_DIR"), "{message}");
}

// ---- validation ----

#[test]
fn the_full_example_is_valid_with_one_warning() {
    let warnings = file(FULL).validate().expect("valid");
    assert_eq!(
        warnings,
        ["/cfg/config.yaml: profiles.prod.color: unknown key, ignored"],
        "unknown top-level sections are silent"
    );
}

#[test]
fn every_invalid_value_names_its_key() {
    let cases: &[(&str, &str)] = &[
        (
            "cache: {backend_type: s3}",
            r#"cache.backend_type: invalid value "s3" (allowed: file, dynamodb, hybrid)"#,
        ),
        (
            "cache: {default_ttl: -5}",
            "cache.default_ttl: invalid value -5 (expected a whole number of seconds >= 0)",
        ),
        (
            "cache: {default_ttl: 1.5}",
            "cache.default_ttl: invalid value 1.5",
        ),
        (
            "cache: {default_ttl: '3600'}",
            r#"cache.default_ttl: invalid value "3600""#,
        ),
        (
            "cache: {default_ttl: null}",
            "cache.default_ttl: invalid value null",
        ),
        (
            "cache: {enabled: maybe}",
            r#"cache.enabled: invalid value "maybe" (expected true or false)"#,
        ),
        ("cache: {enabled: 1}", "cache.enabled: invalid value 1"),
        (
            "cache: {max_size_mb: 0}",
            "cache.max_size_mb: invalid value 0 (expected a whole number of megabytes from 1 to 1048576)",
        ),
        (
            "cache: {encryption_type: des}",
            r#"cache.encryption_type: invalid value "des" (allowed: aes256, none)"#,
        ),
        (
            "cache: {encryption_enabled: [true]}",
            "cache.encryption_enabled: expected true or false, found a list",
        ),
        (
            "cache: {dynamodb_table_name: ''}",
            "cache.dynamodb_table_name: invalid value \"\" (expected a non-empty string)",
        ),
        (
            "cache: {file_cache_dir: {a: 1}}",
            "cache.file_cache_dir: expected a non-empty path, found a mapping",
        ),
        (
            "cache: {hybrid_local_ttl: true}",
            "cache.hybrid_local_ttl: invalid value true",
        ),
        (
            "cache: {operation_ttls: [1, 2]}",
            "cache.operation_ttls: expected a mapping of operation names to whole numbers of seconds >= 0, found a list",
        ),
        (
            "cache: {operation_ttls: {list_users: -1}}",
            "cache.operation_ttls.list_users: invalid value -1",
        ),
        ("cache: [1]", "cache: expected a mapping, found a list"),
        ("cache: 5", "cache: expected a mapping, found 5"),
        (
            "cache: {profiles: [prod]}",
            "cache.profiles: expected a mapping, found a list",
        ),
        (
            "cache: {profiles: {prod: 5}}",
            "cache.profiles.prod: expected a mapping, found 5",
        ),
        (
            "cache: {profiles: {prod: {backend_type: s3}}}",
            r#"cache.profiles.prod.backend_type: invalid value "s3""#,
        ),
        (
            "cache: {profiles: {prod: {operation_ttls: {list_users: x}}}}",
            "cache.profiles.prod.operation_ttls.list_users: invalid value \"x\"",
        ),
        (
            "profiles: [prod]",
            "profiles: expected a mapping, found a list",
        ),
        (
            "profiles: {prod: [a]}",
            "profiles.prod: expected a mapping, found a list",
        ),
        (
            "profiles: {prod: {region: [a]}}",
            "profiles.prod.region: expected a non-empty string, found a list",
        ),
        (
            "profiles: {prod: {region: true}}",
            "profiles.prod.region: invalid value true",
        ),
        (
            "profiles: {'a b': {}}",
            r#"profiles.a b: invalid profile name "a b": it contains whitespace"#,
        ),
        (
            "profiles: {'a/b': {}}",
            r#"profiles.a/b: invalid profile name "a/b": it contains '/'"#,
        ),
        (
            "default_profile: 'a b'",
            r#"default_profile: invalid profile name "a b""#,
        ),
        (
            "default_profile: [a]",
            "default_profile: expected a profile name",
        ),
        (
            "network: {connect_timeout_ms: 0}",
            "network.connect_timeout_ms: invalid value 0 (expected a whole number of milliseconds from 1 to 3600000)",
        ),
        (
            "network: {read_timeout_ms: fast}",
            r#"network.read_timeout_ms: invalid value "fast""#,
        ),
        (
            "network: {identity_center_rps: -1}",
            "network.identity_center_rps: invalid value -1 (expected a number of requests per second from 0.1 to 1000)",
        ),
        ("network: [1]", "network: expected a mapping, found a list"),
    ];
    for (yaml, expected) in cases {
        let message = config_error(file(yaml).validate());
        let expected = format!("/cfg/config.yaml: {expected}");
        assert!(
            message.starts_with(&expected),
            "{yaml}\n got: {message}\nwant: {expected}"
        );
    }
}

#[test]
fn the_resolvers_report_the_same_errors() {
    let f = file("cache: {profiles: {prod: {backend_type: s3}}}");
    let message = config_error(cache(&f, Some("prod"), &Env::default()));
    assert!(
        message.starts_with(
            "/cfg/config.yaml: cache.profiles.prod.backend_type: invalid value \"s3\""
        ),
        "{message}"
    );
    // Another profile's bad override does not matter for this one.
    assert!(cache(&f, Some("dev"), &Env::default()).is_ok());
    let f = file("network: {read_timeout_ms: -1}");
    let message = config_error(network_settings(&f, &Env::default()));
    assert!(
        message.contains("network.read_timeout_ms: invalid value -1"),
        "{message}"
    );
    let f = file("profiles: {prod: {region: [a]}}");
    assert!(config_error(f.profiles()).contains("profiles.prod.region"));
    assert!(config_error(f.profile("prod")).contains("profiles.prod.region"));
}

#[test]
fn nulls_and_empty_strings_are_valid_for_optional_keys() {
    let f = file(
        "default_profile: null\nprofiles: {prod: {region: null, sso_instance_name: ''}, dev: null}\n\
         cache: {file_cache_dir: null, dynamodb_region: null, dynamodb_profile: '', profiles: null}\n\
         network: null\n",
    );
    assert_eq!(f.validate().expect("valid"), Vec::<String>::new());
    assert_eq!(
        f.profile("prod").expect("ok"),
        Some(ProfileConfig::default())
    );
    assert_eq!(
        f.profile("dev").expect("ok"),
        Some(ProfileConfig::default())
    );
    let c = cache(&f, Some("prod"), &Env::default()).expect("ok");
    assert_eq!(c.dynamodb_profile, None);
    assert_eq!(c.file_cache_dir, PathBuf::from("/cfg/cache"));
}

#[test]
fn unknown_keys_are_warnings() {
    let f = file(
        "default_profile: ghost\nprofiles: {prod: {regoin: x}}\n\
         cache: {defualt_ttl: 5, colour: red, operation_ttls: {ListUsers: 5}, \
         profiles: {prod: {nope: 1, profiles: {}}, other: {}}}\n\
         network: {proxy: x}\nstorage: {anything: 1}\nmystery: [1]\n",
    );
    let warnings = f.validate().expect("valid");
    let expected = [
        "profiles.prod.regoin: unknown key, ignored (did you mean profiles.prod.region?)",
        "default_profile: no profile named \"ghost\" is defined",
        "cache.defualt_ttl: unknown key, ignored (did you mean cache.default_ttl?)",
        "cache.colour: unknown key, ignored",
        "cache.operation_ttls.ListUsers: operation names are snake_case (like list_users); this entry never matches",
        "cache.profiles.prod.nope: unknown key, ignored",
        "cache.profiles.prod.profiles: unknown key, ignored",
        "cache.profiles.other: no profile named \"other\" is defined",
        "network.proxy: unknown key, ignored",
    ];
    let expected: Vec<String> = expected
        .iter()
        .map(|w| format!("/cfg/config.yaml: {w}"))
        .collect();
    assert_eq!(warnings, expected);
}

// ---- resolution and precedence ----

#[test]
fn env_beats_profile_block_beats_cache_beats_default() {
    let yaml = "cache:\n  default_ttl: 100\n  backend_type: hybrid\n  profiles:\n    prod: {default_ttl: 200}\n";
    let f = file(yaml);
    let none = Env::default();
    // Default (nothing set anywhere).
    assert_eq!(cache(&file(""), None, &none).expect("ok").default_ttl, 3600);
    // The cache block.
    assert_eq!(cache(&f, None, &none).expect("ok").default_ttl, 100);
    assert_eq!(cache(&f, Some("dev"), &none).expect("ok").default_ttl, 100);
    // The profile block wins over it, only for that profile; other keys still come from cache.
    let prod = cache(&f, Some("prod"), &none).expect("ok");
    assert_eq!(prod.default_ttl, 200);
    assert_eq!(prod.backend_type, BackendType::Hybrid);
    // The environment wins over both.
    let e = env(&[
        ("AWSIDEMAN_CACHE_TTL_DEFAULT", "300"),
        ("AWSIDEMAN_CACHE_BACKEND", "DynamoDB"),
    ]);
    let prod = cache(&f, Some("prod"), &e).expect("ok");
    assert_eq!(prod.default_ttl, 300);
    assert_eq!(prod.backend_type, BackendType::Dynamodb);
    // An empty variable counts as unset.
    let e = env(&[("AWSIDEMAN_CACHE_TTL_DEFAULT", "")]);
    assert_eq!(cache(&f, Some("prod"), &e).expect("ok").default_ttl, 200);
}

#[test]
fn ttl_alias_and_its_precedence() {
    let f = file("cache: {default_ttl: 100}");
    let e = env(&[("AWSIDEMAN_CACHE_TTL", "42")]);
    assert_eq!(cache(&f, None, &e).expect("ok").default_ttl, 42);
    let e = env(&[
        ("AWSIDEMAN_CACHE_TTL", "42"),
        ("AWSIDEMAN_CACHE_TTL_DEFAULT", "7"),
    ]);
    assert_eq!(cache(&f, None, &e).expect("ok").default_ttl, 7);
    let e = env(&[("AWSIDEMAN_CACHE_TTL", "soon")]);
    assert_eq!(
        config_error(cache(&f, None, &e)),
        r#"AWSIDEMAN_CACHE_TTL: invalid value "soon" (expected a whole number of seconds >= 0)"#
    );
}

#[test]
fn operation_ttls_merge_in_layers() {
    let f = file(
        "cache:\n  operation_ttls: {list_users: 10, list_groups: 20, custom_op: 30}\n  \
         profiles:\n    prod: {operation_ttls: {list_groups: 21}}\n",
    );
    let e = env(&[
        ("AWSIDEMAN_CACHE_TTL_LIST_USERS", "11"),
        ("AWSIDEMAN_CACHE_TTL_LIST_GROUP_MEMBERSHIPS", "12"),
        ("AWSIDEMAN_CACHE_TTL_DEFAULT", "99"),
    ]);
    let c = cache(&f, Some("prod"), &e).expect("ok");
    assert_eq!(c.ttl_for("list_users"), 11); // env
    assert_eq!(c.ttl_for("list_groups"), 21); // profile block
    assert_eq!(c.ttl_for("custom_op"), 30); // cache block
    assert_eq!(c.ttl_for("list_accounts"), 7200); // built-in
    assert_eq!(c.ttl_for("list_group_memberships"), 12); // env, new operation
    assert_eq!(c.ttl_for("never_heard_of"), 99); // default_ttl
    assert!(!c.operation_ttls.contains_key("default"));
    let c = cache(&f, Some("dev"), &Env::default()).expect("ok");
    assert_eq!(c.ttl_for("list_users"), 10);
    assert_eq!(c.ttl_for("list_groups"), 20);
    let e = env(&[("AWSIDEMAN_CACHE_TTL_LIST_USERS", "-5")]);
    assert_eq!(
        config_error(cache(&f, None, &e)),
        r#"AWSIDEMAN_CACHE_TTL_LIST_USERS: invalid value "-5" (expected a whole number of seconds >= 0)"#
    );
}

#[test]
fn every_cache_variable_is_read() {
    let e = env(&[
        ("HOME", "/home/u"),
        ("AWSIDEMAN_CACHE_ENABLED", "off"),
        ("AWSIDEMAN_CACHE_BACKEND", "hybrid"),
        ("AWSIDEMAN_CACHE_ENCRYPTION", "yes"),
        ("AWSIDEMAN_CACHE_ENCRYPTION_TYPE", "NONE"),
        ("AWSIDEMAN_CACHE_TTL_DEFAULT", "5"),
        ("AWSIDEMAN_CACHE_MAX_SIZE_MB", "7"),
        ("AWSIDEMAN_CACHE_FILE_DIR", "~/cache-here"),
        ("AWSIDEMAN_CACHE_DYNAMODB_TABLE", "t"),
        ("AWSIDEMAN_CACHE_DYNAMODB_REGION", "eu-west-1"),
        ("AWSIDEMAN_CACHE_DYNAMODB_PROFILE", "shared"),
        ("AWSIDEMAN_CACHE_DYNAMODB_TIMEOUT_MS", "750"),
        ("AWSIDEMAN_CACHE_DYNAMODB_MAX_RETRIES", "0"),
        ("AWSIDEMAN_CACHE_DYNAMODB_CONSISTENT_READ", "on"),
        ("AWSIDEMAN_CACHE_DYNAMODB_KMS_KEY_ID", "alias/table"),
        (
            "AWSIDEMAN_CACHE_DYNAMODB_TABLE_TAGS",
            "team=platform, cost-center=42",
        ),
        ("AWSIDEMAN_CACHE_HYBRID_LOCAL_TTL", "9"),
        ("AWSIDEMAN_CACHE_KEY_SOURCE", "file"),
        ("AWSIDEMAN_CACHE_KEY_FILE", "/keys/cache.key"),
        ("AWSIDEMAN_CACHE_KMS_KEY_ID", "alias/cache"),
    ]);
    let c = cache(&file(FULL), Some("prod"), &e).expect("ok");
    let expected = CacheSettings {
        enabled: false,
        backend_type: BackendType::Hybrid,
        default_ttl: 5,
        operation_ttls: c.operation_ttls.clone(),
        max_size_mb: 7,
        file_cache_dir: PathBuf::from("/home/u/cache-here"),
        dynamodb_table_name: "t".into(),
        dynamodb_region: Some("eu-west-1".into()),
        dynamodb_profile: Some("shared".into()),
        dynamodb_timeout_ms: 750,
        dynamodb_max_retries: 0,
        dynamodb_consistent_read: true,
        dynamodb_kms_key_id: Some("alias/table".into()),
        dynamodb_table_tags: [("cost-center", "42"), ("team", "platform")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        encryption_enabled: true,
        encryption_type: EncryptionType::None,
        encryption_key_source: KeySourceKind::File,
        encryption_key_file: Some(PathBuf::from("/keys/cache.key")),
        encryption_kms_key_id: Some("alias/cache".into()),
        hybrid_local_ttl: 9,
    };
    assert_eq!(c, expected);
    for (var, value, want) in [
        (
            "AWSIDEMAN_CACHE_ENABLED",
            "maybe",
            "expected true/false, yes/no, on/off or 1/0",
        ),
        (
            "AWSIDEMAN_CACHE_BACKEND",
            "s3",
            "allowed: file, dynamodb, hybrid",
        ),
        (
            "AWSIDEMAN_CACHE_ENCRYPTION_TYPE",
            "des",
            "allowed: aes256, none",
        ),
        (
            "AWSIDEMAN_CACHE_MAX_SIZE_MB",
            "0",
            "expected a whole number of megabytes from 1 to 1048576",
        ),
        (
            "AWSIDEMAN_CACHE_HYBRID_LOCAL_TTL",
            "1.5",
            "expected a whole number of seconds >= 0",
        ),
        (
            "AWSIDEMAN_CACHE_DYNAMODB_TIMEOUT_MS",
            "0",
            "expected a whole number of milliseconds from 1 to 3600000",
        ),
        (
            "AWSIDEMAN_CACHE_DYNAMODB_MAX_RETRIES",
            "11",
            "expected a whole number of retries from 0 to 10",
        ),
        (
            "AWSIDEMAN_CACHE_DYNAMODB_CONSISTENT_READ",
            "sometimes",
            "expected true/false, yes/no, on/off or 1/0",
        ),
    ] {
        let message = config_error(cache(&file(""), None, &env(&[(var, value)])));
        assert_eq!(message, format!("{var}: invalid value {value:?} ({want})"));
    }
}

#[test]
fn dynamodb_table_tags_are_checked() {
    let tags = |yaml: &str| cache(&file(yaml), None, &Env::default());
    let c = tags("cache: {dynamodb_table_tags: 'a=1,b = two words ,c='}").expect("ok");
    assert_eq!(c.dynamodb_table_tags["a"], "1");
    assert_eq!(c.dynamodb_table_tags["b"], "two words");
    assert_eq!(c.dynamodb_table_tags["c"], "");
    for (value, want) in [
        ("team", "expected key=value pairs separated by commas"),
        (
            "=x",
            "a tag key has 1 to 128 characters and a value at most 256",
        ),
        ("a=1,a=2", "tag a is given twice"),
    ] {
        let message = config_error(tags(&format!("cache: {{dynamodb_table_tags: '{value}'}}")));
        assert_eq!(
            message,
            format!("cache.dynamodb_table_tags: invalid value {value:?} ({want})")
        );
    }
}

#[test]
fn file_cache_dir_resolution() {
    let e = env(&[("HOME", "/home/u")]);
    let dir = |yaml: &str| cache(&file(yaml), None, &e).expect("ok").file_cache_dir;
    assert_eq!(dir(""), PathBuf::from("/cfg/cache"));
    assert_eq!(
        dir("cache: {file_cache_dir: ~/c}"),
        PathBuf::from("/home/u/c")
    );
    assert_eq!(
        dir("cache: {file_cache_dir: '~'}"),
        PathBuf::from("/home/u")
    );
    assert_eq!(
        dir("cache: {file_cache_dir: /var/c}"),
        PathBuf::from("/var/c")
    );
    assert_eq!(
        dir("cache: {file_cache_dir: ~user/c}"),
        PathBuf::from("~user/c")
    );
}

#[test]
fn audit_log_resolution() {
    let home = env(&[("HOME", "/home/u")]);
    let path = |yaml: &str, e: &Env| audit_log_path(&file(yaml), e, Path::new("/cfg")).expect("ok");
    assert_eq!(path("", &home), Some(PathBuf::from("/cfg/audit.log")));
    assert_eq!(
        path("cache: {audit_log: ~/logs/a.log}", &home),
        Some(PathBuf::from("/home/u/logs/a.log"))
    );
    assert_eq!(path("cache: {audit_log: 'OFF'}", &home), None);
    assert_eq!(
        path("cache: {audit_log: null}", &home),
        Some(PathBuf::from("/cfg/audit.log"))
    );
    let off = env(&[("AWSIDEMAN_AUDIT_LOG", "off")]);
    assert_eq!(path("cache: {audit_log: /var/a.log}", &off), None);
    let moved = env(&[("AWSIDEMAN_AUDIT_LOG", "/tmp/b.log")]);
    assert_eq!(
        path("cache: {audit_log: off}", &moved),
        Some(PathBuf::from("/tmp/b.log"))
    );
}

#[test]
fn lock_timeout_resolution() {
    use std::time::Duration;
    let none = Env::default();
    let get = |yaml: &str, e: &Env, profile| lock_timeout(&file(yaml), e, profile);
    assert_eq!(
        get("", &none, None).expect("ok"),
        crate::fsutil::DEFAULT_LOCK_TIMEOUT,
        "the schema's default is the one the file code falls back to"
    );
    let yaml = "cache: {lock_timeout_ms: 250, profiles: {ci: {lock_timeout_ms: 0}}}";
    assert_eq!(
        get(yaml, &none, None).expect("ok"),
        Duration::from_millis(250)
    );
    assert_eq!(get(yaml, &none, Some("ci")).expect("ok"), Duration::ZERO);
    let e = env(&[("AWSIDEMAN_CACHE_LOCK_TIMEOUT_MS", "1500")]);
    assert_eq!(
        get(yaml, &e, Some("ci")).expect("ok"),
        Duration::from_millis(1500)
    );
    let message = config_error(get("cache: {lock_timeout_ms: -1}", &none, None));
    assert!(message.contains("cache.lock_timeout_ms"), "{message}");
    let message = config_error(get(
        "",
        &env(&[("AWSIDEMAN_CACHE_LOCK_TIMEOUT_MS", "soon")]),
        None,
    ));
    assert!(
        message.contains("AWSIDEMAN_CACHE_LOCK_TIMEOUT_MS"),
        "{message}"
    );
}

#[test]
fn network_settings_from_file_and_env() {
    let f = file(
        "network: {connect_timeout_ms: 1000, read_timeout_ms: 2000, identity_center_rps: 2.5}",
    );
    let n = network_settings(&f, &Env::default()).expect("ok");
    assert_eq!(
        (
            n.connect_timeout_ms,
            n.read_timeout_ms,
            n.identity_center_rps
        ),
        (1000, 2000, 2.5)
    );
    assert_eq!(n.connect_timeout(), std::time::Duration::from_secs(1));
    let e = env(&[
        ("AWSIDEMAN_CONNECT_TIMEOUT_MS", "300"),
        ("AWSIDEMAN_READ_TIMEOUT_MS", "400"),
        ("AWSIDEMAN_RATE_LIMIT", "1000"),
    ]);
    let n = network_settings(&f, &e).expect("ok");
    assert_eq!(
        (
            n.connect_timeout_ms,
            n.read_timeout_ms,
            n.identity_center_rps
        ),
        (300, 400, 1000.0)
    );
    // A rate that would never send (or never pace) is refused, not taken.
    for rate in ["0", "1e-300", "0.09", "1000.5", "1e308"] {
        let e = env(&[("AWSIDEMAN_RATE_LIMIT", rate)]);
        assert_eq!(
            config_error(network_settings(&f, &e)),
            format!(
                "AWSIDEMAN_RATE_LIMIT: invalid value {rate:?} (expected a number of requests \
                 per second from 0.1 to 1000)"
            )
        );
    }
    let e = env(&[("AWSIDEMAN_RATE_LIMIT", "fast")]);
    assert_eq!(
        config_error(network_settings(&f, &e)),
        r#"AWSIDEMAN_RATE_LIMIT: invalid value "fast" (expected a number of requests per second from 0.1 to 1000)"#
    );
    let e = env(&[("AWSIDEMAN_RATE_LIMIT", "NaN")]);
    assert!(config_error(network_settings(&f, &e)).contains("AWSIDEMAN_RATE_LIMIT"));
}

// ---- get / set / unset ----

#[test]
fn set_writes_typed_values() {
    let mut f = file(FULL);
    let cases: &[(&str, &str, Value)] = &[
        ("cache.default_ttl", "600", json!(600)),
        ("cache.enabled", "no", json!(false)),
        ("cache.backend_type", "DynamoDB", json!("dynamodb")),
        ("cache.file_cache_dir", "~/x", json!("~/x")),
        ("cache.file_cache_dir", "null", Value::Null),
        ("cache.dynamodb_region", "", Value::Null),
        ("cache.operation_ttls.list_users", "60", json!(60)),
        (
            "cache.operation_ttls",
            "{list_roots: 5, list_parents: 6}",
            json!({"list_roots": 5, "list_parents": 6}),
        ),
        (
            "cache.profiles.prod.backend_type",
            "hybrid",
            json!("hybrid"),
        ),
        (
            "cache.profiles.dev.eu.operation_ttls.list_users",
            "7",
            json!(7),
        ),
        ("network.identity_center_rps", "2.5", json!(2.5)),
        ("network.identity_center_rps", "20", json!(20)),
        (
            "profiles.prod.region",
            "eu-central-1",
            json!("eu-central-1"),
        ),
        (
            "profiles.new.aws_profile",
            "123456789012",
            json!("123456789012"),
        ),
        ("profiles.dev.eu.region", "eu-west-2", json!("eu-west-2")),
        ("default_profile", "dev.eu", json!("dev.eu")),
    ];
    for (key, raw, want) in cases {
        f.set(key, raw)
            .unwrap_or_else(|e| panic!("set {key} {raw}: {e}"));
        assert_eq!(f.get(key), Some(want), "{key}");
    }
    // Where the dotted names landed.
    assert_eq!(
        f.document()["profiles"]["dev.eu"]["region"],
        json!("eu-west-2")
    );
    assert_eq!(
        f.document()["cache"]["profiles"]["dev.eu"]["operation_ttls"]["list_users"],
        json!(7)
    );
    // Existing keys keep their place; the result is valid and survives a round trip.
    assert_eq!(
        keys(f.document())[..3],
        ["default_profile", "profiles", "cache"]
    );
    assert_eq!(f.validate().expect("valid").len(), 1); // profiles.prod.color
    let again = file(&f.to_yaml().expect("yaml"));
    assert_eq!(again.document(), f.document());
}

#[test]
fn set_refuses_bad_values_and_unknown_keys() {
    let mut f = file(FULL);
    let before = f.clone();
    let cases: &[(&str, &str, &str)] = &[
        (
            "cache.default_ttl",
            "-5",
            r#"cache.default_ttl: invalid value "-5" (expected a whole number of seconds >= 0)"#,
        ),
        (
            "cache.default_ttl",
            "null",
            r#"cache.default_ttl: invalid value "null" (expected a whole number of seconds >= 0)"#,
        ),
        (
            "cache.backend_type",
            "s3",
            r#"cache.backend_type: invalid value "s3" (allowed: file, dynamodb, hybrid)"#,
        ),
        (
            "cache.enabled",
            "maybe",
            r#"cache.enabled: invalid value "maybe" (expected true/false, yes/no, on/off or 1/0)"#,
        ),
        (
            "cache.dynamodb_table_name",
            "",
            r#"cache.dynamodb_table_name: invalid value "" (expected a non-empty string)"#,
        ),
        (
            "cache.operation_ttls",
            "[1]",
            "cache.operation_ttls: invalid value \"[1]\" (expected a mapping of operation names",
        ),
        (
            "cache.operation_ttls",
            "{list_users: -1}",
            "cache.operation_ttls.list_users: invalid value -1",
        ),
        (
            "default_profile",
            "a b",
            r#"default_profile: invalid profile name "a b""#,
        ),
        (
            "cache.defualt_ttl",
            "5",
            r#"unknown configuration key "cache.defualt_ttl" (did you mean cache.default_ttl?)"#,
        ),
        (
            "profiles.prod.regoin",
            "x",
            r#"unknown configuration key "profiles.prod.regoin" (did you mean profiles.prod.region?)"#,
        ),
        (
            "cache",
            "5",
            r#""cache" is a section, not a key (its keys: cache.enabled, cache.backend_type,"#,
        ),
        (
            "profiles.prod",
            "5",
            r#""profiles.prod" is a section, not a key (its keys: profiles.prod.region, "#,
        ),
        (
            "cache.profiles.prod",
            "x",
            r#""cache.profiles.prod" is a section, not a key (its keys: cache.profiles.prod.enabled, "#,
        ),
        (
            "storage.anything",
            "5",
            r#"unknown configuration key "storage.anything" (known keys: default_profile, output, profiles.<name>.region, "#,
        ),
        (
            "cache.ttl",
            "5",
            r#"unknown configuration key "cache.ttl" (the cache keys are: enabled, backend_type, default_ttl, "#,
        ),
        (
            "network.timeout",
            "5",
            r#"unknown configuration key "network.timeout" (the network keys are: connect_timeout_ms, read_timeout_ms, identity_center_rps)"#,
        ),
        (
            "profiles.prod.sso_arn",
            "x",
            r#"unknown configuration key "profiles.prod.sso_arn" (the keys of a profile are: region, sso_instance_arn, "#,
        ),
        (
            "cache.profiles.prod.x",
            "x",
            r#"unknown configuration key "cache.profiles.prod.x" (cache.profiles.<name> takes the cache keys: enabled, "#,
        ),
        ("profiles.a b.region", "x", r#"invalid profile name "a b""#),
        ("cache.operation_ttls.", "5", "unknown configuration key"),
    ];
    for (key, raw, want) in cases {
        let message = config_error(f.set(key, raw));
        assert!(
            message.starts_with(want),
            "set {key} {raw}\n got: {message}\nwant: {want}"
        );
    }
    assert_eq!(f, before, "failed sets change nothing");
    // A section that is not a mapping is not overwritten.
    let mut f = file("cache: [1]\n");
    let message = config_error(f.set("cache.enabled", "true"));
    assert_eq!(
        message,
        "/cfg/config.yaml: cache: expected a mapping, found a list"
    );
}

#[test]
fn set_on_an_empty_file_creates_sections() {
    let mut f = file("");
    f.set("cache.profiles.prod.default_ttl", "5").expect("set");
    f.set("network.read_timeout_ms", "1000").expect("set");
    assert_eq!(
        f.document(),
        &json!({"cache": {"profiles": {"prod": {"default_ttl": 5}}}, "network": {"read_timeout_ms": 1000}})
    );
}

#[test]
fn get_and_unset_by_dotted_path() {
    let mut f = file(FULL);
    assert_eq!(f.get("cache.default_ttl"), Some(&json!(3600)));
    assert_eq!(f.get("profiles.dev.eu.region"), Some(&json!("eu-west-1")));
    assert_eq!(
        f.get("storage.alpha"),
        Some(&f.document()["storage"]["alpha"].clone())
    );
    assert_eq!(f.get("cache.file_cache_dir"), Some(&Value::Null));
    assert_eq!(f.get("cache.nope"), None);
    assert_eq!(f.get("cache.default_ttl.deeper"), None);
    assert_eq!(f.get(""), None);
    assert!(f.unset("cache.operation_ttls.list_users"));
    assert!(!f.unset("cache.operation_ttls.list_users"));
    assert!(f.unset("storage.zeta"));
    assert!(f.unset("profiles.dev.eu.aws_profile"));
    assert!(!f.unset("nothing.here"));
    assert!(!f.unset(""));
    assert_eq!(
        f.document()["cache"]["operation_ttls"],
        json!({"list_groups": 3600})
    );
    assert_eq!(keys(&f.document()["storage"])[0], "alpha");
    assert_eq!(
        f.document()["profiles"]["dev.eu"],
        json!({"region": "eu-west-1"})
    );
    // Unsetting a key brings back the default.
    assert!(f.unset("cache.profiles.prod.default_ttl"));
    let c = cache(&f, Some("prod"), &Env::default()).expect("ok");
    assert_eq!(c.default_ttl, 3600);
}

// ---- profiles ----

#[test]
fn profiles_are_read() {
    let f = file(FULL);
    let all = f.profiles().expect("profiles");
    assert_eq!(all.keys().collect::<Vec<_>>(), ["dev.eu", "prod"]);
    assert_eq!(
        all["prod"],
        ProfileConfig {
            region: Some("us-east-1".into()),
            sso_instance_arn: Some("arn:aws:sso:::instance/ssoins-1234".into()),
            identity_store_id: Some("d-1234567890".into()),
            sso_instance_name: Some("Production".into()),
            aws_profile: None,
        }
    );
    assert_eq!(f.profile("missing").expect("ok"), None);
    assert_eq!(
        f.profile("not a valid name")
            .expect("lookups are not checked"),
        None
    );
    assert_eq!(f.default_profile(), Some("prod"));
}

#[test]
fn put_profile_keeps_other_keys() {
    let mut f = file(FULL);
    let mut prod = f.profile("prod").expect("ok").expect("defined");
    prod.region = Some("eu-west-3".into());
    prod.sso_instance_name = None;
    prod.aws_profile = Some("admin".into());
    f.put_profile("prod", &prod);
    assert_eq!(
        f.document()["profiles"]["prod"],
        json!({
            "region": "eu-west-3",
            "sso_instance_arn": "arn:aws:sso:::instance/ssoins-1234",
            "identity_store_id": "d-1234567890",
            "color": "blue",
            "aws_profile": "admin",
        })
    );
    assert_eq!(keys(&f.document()["profiles"]["prod"])[3], "color");
    assert_eq!(f.profile("prod").expect("ok"), Some(prod));
    // A new profile goes last, with only its set fields; everything else is untouched.
    let new = ProfileConfig {
        region: Some("us-west-2".into()),
        ..ProfileConfig::default()
    };
    f.put_profile("new", &new);
    assert_eq!(keys(&f.document()["profiles"]), ["prod", "dev.eu", "new"]);
    assert_eq!(
        f.document()["profiles"]["new"],
        json!({"region": "us-west-2"})
    );
    assert_eq!(f.document()["storage"], file(FULL).document()["storage"]);
    assert_eq!(f.document()["cache"], file(FULL).document()["cache"]);
    // Into an empty file.
    let mut f = file("");
    f.put_profile("p", &new);
    f.set_default_profile("p");
    assert_eq!(
        f.document(),
        &json!({"default_profile": "p", "profiles": {"p": {"region": "us-west-2"}}})
    );
    assert!(f.validate().expect("valid").is_empty());
}

#[test]
fn put_profile_problems_show_in_validate() {
    let mut f = file("profiles: [a]\n");
    f.put_profile("p", &ProfileConfig::default());
    assert_eq!(
        f.document(),
        &json!({"profiles": ["a"]}),
        "a list is never overwritten"
    );
    assert!(config_error(f.validate()).contains("profiles: expected a mapping, found a list"));
    let mut f = file("");
    f.put_profile("has space", &ProfileConfig::default());
    assert!(config_error(f.validate()).contains("invalid profile name \"has space\""));
    let mut f = file("");
    f.set_default_profile(&"x".repeat(65));
    assert!(config_error(f.validate()).contains("it is longer than 64 characters"));
}

#[test]
fn remove_profile_and_default() {
    let mut f = file(FULL);
    assert!(f.remove_profile("prod"));
    assert!(!f.remove_profile("prod"));
    assert_eq!(f.default_profile(), None);
    assert!(f.document().get("default_profile").is_none());
    assert_eq!(keys(&f.document()["profiles"]), ["dev.eu"]);
    // Cache overrides and other sections stay.
    assert_eq!(
        f.document()["cache"]["profiles"]["prod"]["backend_type"],
        json!("dynamodb")
    );
    assert_eq!(
        keys(f.document()),
        ["profiles", "cache", "network", "storage", "backup"]
    );
    // Removing a profile that is not the default keeps the default.
    let mut f = file(FULL);
    assert!(f.remove_profile("dev.eu"));
    assert_eq!(f.default_profile(), Some("prod"));
    assert!(!file("profiles: [a]").remove_profile("a"));
}

#[test]
fn set_default_profile_goes_first_or_in_place() {
    let mut f = file("profiles: {a: {}, b: {}}\n");
    f.set_default_profile("b");
    assert_eq!(keys(f.document()), ["default_profile", "profiles"]);
    let mut f = file("profiles: {a: {}, b: {}}\ndefault_profile: a\n");
    f.set_default_profile("b");
    assert_eq!(keys(f.document()), ["profiles", "default_profile"]);
    assert_eq!(f.default_profile(), Some("b"));
}

#[test]
fn profile_names() {
    for ok in ["prod", "dev.eu", "123456789012", "a-b_c@d", &"x".repeat(64)] {
        assert!(validate_profile_name(ok).is_ok(), "{ok}");
    }
    for (bad, why) in [
        ("", "it is empty"),
        ("a b", "whitespace"),
        ("a\tb", "whitespace"),
        ("a/b", "'/'"),
        (&"x".repeat(65), "longer than 64"),
    ] {
        let message = config_error(validate_profile_name(bad));
        assert!(message.contains(why), "{bad:?}: {message}");
    }
}

// ---- saving ----

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn save_is_atomic_and_private() {
    let tmp = TempDir::new("save");
    let dir = tmp.0.join("nested").join(".awsideman");
    let mut f = ConfigFile::load(&dir).expect("load");
    f.set("cache.default_ttl", "10").expect("set");
    f.save().expect("save");
    let path = dir.join("config.yaml");
    let saved = ConfigFile::load(&dir).expect("reload");
    assert!(saved.exists());
    assert_eq!(saved.document(), f.document());
    #[cfg(unix)]
    {
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&path), 0o600);
    }
    // Overwriting an existing, more open file: same path, mode 0600, no temp files left over.
    std::fs::write(&path, FULL).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let mut f = ConfigFile::load(&dir).expect("load");
    f.set("network.read_timeout_ms", "1234").expect("set");
    f.save().expect("save");
    let saved = ConfigFile::load(&dir).expect("reload");
    assert_eq!(saved.document(), f.document());
    assert_eq!(
        saved.document()["storage"],
        file(FULL).document()["storage"]
    );
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    let names: Vec<String> = std::fs::read_dir(&dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["config.yaml"]);
}

#[cfg(unix)]
#[test]
fn save_follows_a_symlink() {
    let tmp = TempDir::new("symlink");
    let real_dir = tmp.0.join("dotfiles");
    std::fs::create_dir_all(&real_dir).expect("mkdir");
    std::fs::write(real_dir.join("awsideman.yaml"), "cache: {enabled: true}\n").expect("write");
    let dir = tmp.0.join(".awsideman");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::os::unix::fs::symlink(real_dir.join("awsideman.yaml"), dir.join("config.yaml"))
        .expect("symlink");
    let mut f = ConfigFile::load(&dir).expect("load");
    f.set("cache.enabled", "false").expect("set");
    f.save().expect("save");
    assert!(
        std::fs::symlink_metadata(dir.join("config.yaml"))
            .expect("meta")
            .file_type()
            .is_symlink()
    );
    let text = std::fs::read_to_string(real_dir.join("awsideman.yaml")).expect("read");
    assert!(text.contains("enabled: false"), "{text}");
}

#[test]
fn save_failure_leaves_nothing_behind() {
    let tmp = TempDir::new("fail");
    let blocker = tmp.0.join("not-a-dir");
    std::fs::write(&blocker, "x").expect("write");
    let f = ConfigFile::empty(blocker.join("config.yaml"));
    let e = f.save().expect_err("parent is a file");
    assert_eq!(e.kind(), Kind::Runtime);
    assert!(e.to_string().contains("not-a-dir"), "{e}");
    let names: Vec<_> = std::fs::read_dir(&tmp.0).expect("read_dir").collect();
    assert_eq!(names.len(), 1);
}

// ---- the schema table itself ----

#[test]
fn schema_defaults_parse_and_match_the_code() {
    for spec in SCHEMA {
        assert!(
            !spec.doc.is_empty() && spec.doc.ends_with('.'),
            "{}: doc",
            spec.key
        );
        assert!(!spec.default.is_empty(), "{}: default", spec.key);
        if !spec.optional && !matches!(spec.ty, ValueType::UIntMap { .. }) {
            let parsed = check::parse_text(spec.key, spec.ty, false, spec.default);
            assert!(
                parsed.is_ok(),
                "{}: default {:?} does not parse",
                spec.key,
                spec.default
            );
        }
        // Every key can be looked up (profile keys with a real name).
        let key = spec.key.replace("<name>", "prod");
        assert_eq!(lookup(&key).expect("lookup").spec, spec);
        if let Some(field) = spec.key.strip_prefix("cache.") {
            let over = lookup(&format!("cache.profiles.prod.{field}")).expect("override");
            assert_eq!(over.spec, spec);
        }
    }
    let Some(ttls) = spec("cache.operation_ttls") else {
        panic!("no operation_ttls")
    };
    let text: Vec<String> = DEFAULT_OPERATION_TTLS
        .iter()
        .map(|(op, ttl)| format!("{op}={ttl}"))
        .collect();
    assert_eq!(ttls.default.split(", ").collect::<Vec<_>>(), text);
    let names: Vec<&str> = BackendType::ALL.iter().map(|b| b.as_str()).collect();
    assert_eq!(names, BACKEND_CHOICES);
    let names: Vec<&str> = EncryptionType::ALL.iter().map(|e| e.as_str()).collect();
    assert_eq!(names, ENCRYPTION_CHOICES);
    let names: Vec<&str> = KeySourceKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(names, KEY_SOURCE_CHOICES);
    assert_eq!(BackendType::parse("HYBRID"), Some(BackendType::Hybrid));
    assert_eq!(EncryptionType::parse("des"), None);
}

#[test]
fn every_documented_variable_is_distinct_and_used() {
    let mut seen = BTreeMap::new();
    for spec in SCHEMA {
        for var in spec.env {
            assert!(var.starts_with("AWSIDEMAN_"), "{var}");
            assert!(seen.insert(*var, spec.key).is_none(), "{var} twice");
        }
    }
    // Each plain variable changes the setting it documents.
    let f = file("");
    for spec in SCHEMA {
        for var in spec.env.iter().filter(|v| !v.contains('<')) {
            let value = match spec.ty {
                ValueType::Bool if spec.default == "true" => "false",
                ValueType::Bool => "true",
                ValueType::UInt { .. } | ValueType::Number { .. } if spec.default == "3" => "4",
                ValueType::UInt { .. } | ValueType::Number { .. } => "3",
                ValueType::Enum(choices) => choices[choices.len() - 1],
                _ if spec.key == "cache.dynamodb_table_tags" => "custom=1",
                _ => "custom",
            };
            let e = env(&[(var, value)]);
            let changed = if spec.key == "cache.audit_log" {
                let dir = Path::new("/cfg");
                super::audit_log_path(&f, &e, dir).expect("ok")
                    != super::audit_log_path(&f, &Env::default(), dir).expect("ok")
            } else if spec.key == "cache.lock_timeout_ms" {
                lock_timeout(&f, &e, None).expect("ok")
                    != lock_timeout(&f, &Env::default(), None).expect("ok")
            } else if spec.key == "output" {
                super::default_output(&f, &e).expect("ok")
                    != super::default_output(&f, &Env::default()).expect("ok")
            } else if spec.key.starts_with("cache.") {
                cache(&f, None, &e).expect("ok") != cache(&f, None, &Env::default()).expect("ok")
            } else {
                network_settings(&f, &e).expect("ok")
                    != network_settings(&f, &Env::default()).expect("ok")
            };
            assert!(changed, "{var} has no effect");
        }
    }
}

#[test]
fn close_keys_suggest_typos() {
    assert_eq!(close_keys("cache.backend"), ["cache.backend_type"]);
    assert_eq!(close_keys("network.rps"), Vec::<String>::new());
    assert!(
        close_keys("cache.identity_center_rps")
            .contains(&"network.identity_center_rps".to_string())
    );
}
