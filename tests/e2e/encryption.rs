//! Cache encryption end to end: enable on a warm cache, rotate, disable, the env, file and
//! kms key sources, and an unavailable key source. (Rotations killed at random points are in
//! `reliability.rs`.)

use std::path::PathBuf;

use awsideman::testing::Keyset;
use awsideman::testing::Service;
use serde_json::{Value, json};

use crate::common::{TestEnv, mode, requests, text};

/// A base64 32-byte key, as a CI secret would hold it.
const ENV_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

fn seeded() -> TestEnv {
    let t = TestEnv::new();
    let instance = t.instance();
    t.seed_user(&instance.store, "alice", "Alice", "Liddell");
    t.seed_user(&instance.store, "bob", "Bob", "Builder");
    t
}

fn entries_dir(t: &TestEnv) -> PathBuf {
    t.config_dir().join("cache/entries")
}

/// Every entry file's bytes.
fn entry_files(t: &TestEnv) -> Vec<Vec<u8>> {
    std::fs::read_dir(entries_dir(t))
        .map(|d| {
            d.flatten()
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .map(|e| std::fs::read(e.path()).unwrap())
                .collect()
        })
        .unwrap_or_default()
}

fn requests_of(t: &TestEnv, args: &[&str]) -> Vec<(String, String)> {
    let mut all = vec!["--debug", "--output", "json"];
    all.extend_from_slice(args);
    let out = t.run(&all);
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    requests(&text(&out.stderr))
}

fn by_key(status: &Value) -> Vec<(String, u64)> {
    status["entries"]["byKey"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["keyId"].as_str().unwrap().to_string(),
                k["entries"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn enable_on_a_warm_cache_encrypts_everything_and_reads_still_hit() {
    let mut t = seeded();
    t.set_var("AWSIDEMAN_CACHE_KEY_SOURCE", "env");
    t.set_var("AWSIDEMAN_CACHE_KEY", ENV_KEY);
    t.json(&["user", "list"]);
    t.json(&["user", "get", "alice"]);
    let before = entry_files(&t).len();
    assert!(before >= 3);
    assert!(
        entry_files(&t)
            .iter()
            .any(|b| text(b).contains("alice@example.com"))
    );

    let enabled = t.json(&["cache", "encryption", "enable"]);
    assert_eq!(
        enabled["encrypted"].as_u64().unwrap() as usize,
        before,
        "{enabled}"
    );
    assert_eq!(enabled["keyCreated"], false, "the env key is used");
    for bytes in entry_files(&t) {
        assert!(!text(&bytes).contains("alice"), "nothing readable on disk");
    }
    assert_eq!(
        requests_of(&t, &["user", "list"]),
        Vec::<(String, String)>::new()
    );
    assert_eq!(
        requests_of(&t, &["user", "get", "alice"]),
        Vec::<(String, String)>::new()
    );

    let status = t.json(&["cache", "encryption", "status"]);
    assert_eq!(status["enabled"], true);
    assert_eq!(status["source"], "env");
    assert_eq!(status["entries"]["plaintext"], 0);
    let keys = by_key(&status);
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].1 as usize, before);

    // New answers are written encrypted too.
    t.json(&["user", "get", "bob"]);
    for bytes in entry_files(&t) {
        assert!(!text(&bytes).contains("bob@example.com"));
    }

    // Without the key, the cache is skipped with one warning: the command still works and
    // writes nothing in plaintext.
    t.remove_var("AWSIDEMAN_CACHE_KEY");
    let out = t.run(&["--output", "json", "user", "get", "carol-does-not-exist"]);
    assert_eq!(out.status.code(), Some(1));
    let out = t.run(&["--output", "json", "user", "list"]);
    assert!(out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.matches("warning").count(), 1, "{stderr}");
    assert!(
        stderr.contains("AWSIDEMAN_CACHE_KEY") || stderr.contains("env"),
        "{stderr}"
    );
    for bytes in entry_files(&t) {
        assert!(!text(&bytes).contains("alice"));
    }
}

fn key_file_world() -> (TestEnv, PathBuf) {
    let mut t = seeded();
    let key_file = t.home.join("keys/cache-key.json");
    t.set_var("AWSIDEMAN_CACHE_KEY_SOURCE", "file");
    t.set_var("AWSIDEMAN_CACHE_KEY_FILE", key_file.display().to_string());
    (t, key_file)
}

#[test]
fn file_source_rotate_and_disable() {
    let (t, key_file) = key_file_world();
    t.json(&["user", "list"]);
    let enabled = t.json(&["cache", "encryption", "enable"]);
    assert_eq!(enabled["keyCreated"], true);
    assert_eq!(mode(&key_file), 0o600);
    let first_key = enabled["keyId"].as_str().unwrap().to_string();

    let rotated = t.json(&["cache", "encryption", "rotate"]);
    let second_key = rotated["activeKeyId"].as_str().unwrap().to_string();
    assert_ne!(first_key, second_key);
    assert_eq!(rotated["retiredKeyIds"], json!([first_key]));
    assert!(rotated["reencrypted"].as_u64().unwrap() >= 2);
    let status = t.json(&["cache", "encryption", "status"]);
    assert!(
        by_key(&status).iter().all(|(id, _)| *id == second_key),
        "{status}"
    );
    assert_eq!(status["keyIds"], json!([second_key]));
    assert!(
        !std::fs::read_to_string(&key_file)
            .unwrap()
            .contains(&first_key)
    );
    assert_eq!(
        requests_of(&t, &["user", "list"]),
        Vec::<(String, String)>::new()
    );

    // disable: asks first; then decrypts everything and keeps reading from the cache.
    t.fails(2, &["cache", "encryption", "disable"]);
    let disabled = t.json(&["cache", "encryption", "disable", "--yes"]);
    assert!(disabled["decrypted"].as_u64().unwrap() >= 2);
    let status = t.json(&["cache", "encryption", "status"]);
    assert_eq!(status["enabled"], false);
    assert_eq!(by_key(&status), Vec::<(String, u64)>::new());
    assert_eq!(
        requests_of(&t, &["user", "list"]),
        Vec::<(String, String)>::new()
    );
    assert!(
        entry_files(&t)
            .iter()
            .any(|b| text(b).contains("alice@example.com"))
    );
}

#[test]
fn an_insecure_key_file_is_refused_and_nothing_is_written_in_plaintext() {
    let (t, key_file) = key_file_world();
    t.json(&["cache", "encryption", "enable"]);
    t.json(&["cache", "clear", "--yes"]);
    std::fs::set_permissions(
        &key_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let out = t.run(&["--output", "json", "user", "list"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("chmod 600") || stderr.contains("0600"),
        "{stderr}"
    );
    assert_eq!(entry_files(&t).len(), 0, "no plaintext fallback");
}

#[test]
fn kms_key_source_against_moto() {
    let mut t = seeded();
    let key = t.aws(
        Service::Kms,
        "CreateKey",
        json!({"Description": "awsideman cache"}),
    );
    let key_id = key["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
    t.set_var("AWSIDEMAN_CACHE_KEY_SOURCE", "kms");
    t.set_var("AWSIDEMAN_CACHE_KMS_KEY_ID", key_id);
    t.json(&["user", "list"]);
    let enabled = t.json(&["cache", "encryption", "enable"]);
    assert_eq!(enabled["source"], "kms");
    assert_eq!(enabled["keyCreated"], true);
    let wrapped = t.config_dir().join("cache/keys.kms.json");
    assert_eq!(mode(&wrapped), 0o600);
    // A new process unwraps the data key with KMS Decrypt, then reads from the cache.
    let calls = requests_of(&t, &["user", "list"]);
    assert!(
        calls.contains(&("kms".into(), "Decrypt".into())),
        "{calls:?}"
    );
    assert!(!calls.iter().any(|(_, op)| op == "ListUsers"), "{calls:?}");
    let rotated = t.json(&["cache", "encryption", "rotate"]);
    assert_ne!(rotated["activeKeyId"], enabled["keyId"]);
    let calls = requests_of(&t, &["user", "list"]);
    assert!(!calls.iter().any(|(_, op)| op == "ListUsers"), "{calls:?}");
}

/// With a shared DynamoDB cache the kms source keeps its wrapped keys in the table: a second
/// machine reads the first one's encrypted entries with nothing imported, sees a rotation
/// made elsewhere, and `cache clear` keeps the keys.
#[test]
fn kms_keys_in_a_shared_table_need_no_import() {
    let mut a = seeded();
    let key = a.aws(
        Service::Kms,
        "CreateKey",
        json!({"Description": "team cache"}),
    );
    let key_id = key["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
    a.set_var("AWSIDEMAN_CACHE_BACKEND", "dynamodb");
    a.set_var("AWSIDEMAN_CACHE_DYNAMODB_TABLE", "team-cache");
    a.set_var("AWSIDEMAN_CACHE_KEY_SOURCE", "kms");
    a.set_var("AWSIDEMAN_CACHE_KMS_KEY_ID", key_id);
    a.set_var("AWSIDEMAN_CACHE_ENCRYPTION", "true");
    let enabled = a.json(&["cache", "encryption", "enable"]);
    assert_eq!(enabled["keyCreated"], true, "{enabled}");
    assert!(!a.config_dir().join("cache/keys.kms.json").exists());
    a.json(&["user", "list"]);

    let b = a.sibling();
    b.instance();
    let calls = requests_of(&b, &["user", "list"]);
    assert!(
        calls.contains(&("kms".into(), "Decrypt".into())),
        "{calls:?}"
    );
    assert!(!calls.iter().any(|(_, op)| op == "ListUsers"), "{calls:?}");
    let status = b.json(&["cache", "encryption", "status"]);
    assert_eq!(status["activeKeyId"], enabled["keyId"], "{status}");
    assert!(
        status["location"]
            .as_str()
            .unwrap_or("")
            .contains("team-cache"),
        "{status}"
    );

    let rotated = a.json(&["cache", "encryption", "rotate"]);
    assert_ne!(rotated["activeKeyId"], enabled["keyId"]);
    let status = b.json(&["cache", "encryption", "status"]);
    assert_eq!(status["activeKeyId"], rotated["activeKeyId"], "{status}");
    let calls = requests_of(&b, &["user", "list"]);
    assert!(!calls.iter().any(|(_, op)| op == "ListUsers"), "{calls:?}");

    a.json(&["cache", "clear", "--yes"]);
    let status = b.json(&["cache", "encryption", "status"]);
    assert_eq!(status["activeKeyId"], rotated["activeKeyId"], "{status}");
    assert_eq!(status["keyPresent"], true, "{status}");
}

#[test]
fn export_and_import_move_a_key_between_machines() {
    let (a, _) = key_file_world();
    a.json(&["cache", "encryption", "enable"]);
    let out = a.run(&["cache", "encryption", "export-key"]);
    assert!(out.status.success());
    assert!(text(&out.stderr).contains("warning"));
    let exported = text(&out.stdout);
    let id = Keyset::from_text(exported.trim())
        .unwrap()
        .active()
        .id()
        .to_string();

    let (b, b_key_file) = key_file_world();
    let out = b.run_with_stdin(
        &["--output", "json", "cache", "encryption", "import-key"],
        &exported,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let imported: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(imported["activeKeyId"], id.as_str());
    assert_eq!(mode(&b_key_file), 0o600);
    // Secrets never appear in the debug log.
    let out = a.run(&["--debug", "--output", "json", "user", "list"]);
    let exported_secret = exported
        .split('"')
        .find(|s| s.len() == 44)
        .unwrap_or("none");
    assert!(!text(&out.stderr).contains(exported_secret));
}

/// The keyring source where no usable keyring is at hand (CI, cron, containers): commands
/// still work, uncached, and nothing is ever written in plaintext.
#[test]
fn keyring_source_without_a_usable_keyring_never_falls_back_to_plaintext() {
    let mut t = seeded();
    t.set_var("AWSIDEMAN_CACHE_KEY_SOURCE", "keyring");
    t.set_var("AWSIDEMAN_CACHE_ENCRYPTION", "true");
    // A fresh cache directory, so only what this run writes is there.
    t.set_var(
        "AWSIDEMAN_CACHE_FILE_DIR",
        t.home.join("cfg/cache").display().to_string(),
    );
    let out = t.run(&["--output", "json", "user", "list"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let users: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(users["Users"].as_array().unwrap().len(), 2);
    let dir = t.home.join("cfg/cache/entries");
    let written = std::fs::read_dir(&dir).map_or(0, |d| d.count());
    if written == 0 {
        // No usable key: said once, clearly, naming the source.
        assert!(
            stderr.contains("keyring") || stderr.contains("no key"),
            "{stderr}"
        );
    }
    let plaintext = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    std::fs::read(e.path())
                        .is_ok_and(|b| text(&b).contains("\"encryption\":\"none\""))
                })
                .count()
        })
        .unwrap_or(0);
    assert_eq!(plaintext, 0, "no plaintext entry written");
}

/// With encryption on, the temporary credentials a `credential_process` gives are cached
/// sealed with the cache's keys: no secret is in any file under HOME, and the next command
/// reuses them without running the process again.
#[test]
fn credentials_cached_on_disk_are_sealed_when_encryption_is_on() {
    let mut t = TestEnv::new();
    let script = t.write(
        "creds.sh",
        "#!/bin/sh\nuntil=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)\n\
         echo run >> \"$HOME/process-runs\"\n\
         printf '{\"Version\": 1, \"AccessKeyId\": \"ASIAPROCESS\", \"SecretAccessKey\": \"%s%s\", \
         \"SessionToken\": \"%s%s\", \"Expiration\": \"%s\"}' hush 4711 tok 0815 \"$until\"\n",
    );
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let config = t.home.join(".aws/config");
    let mut aws = std::fs::read_to_string(&config).unwrap();
    aws.push_str(&format!(
        "\n[profile proc]\ncredential_process = {}\nregion = us-east-1\n",
        script.display()
    ));
    std::fs::write(&config, aws).unwrap();
    t.set_var("AWSIDEMAN_CACHE_KEY", ENV_KEY);
    t.ok(&["config", "set", "cache.encryption_key_source", "env"]);
    t.ok(&["--profile", "proc", "sso", "discover"]);
    t.ok(&["--profile", "proc", "cache", "encryption", "enable"]);
    t.ok(&["--profile", "proc", "--no-cache", "user", "list"]);
    t.ok(&["--profile", "proc", "--no-cache", "group", "list"]);
    let runs = std::fs::read_to_string(t.home.join("process-runs")).unwrap();
    assert_eq!(
        runs.lines().count(),
        2,
        "discover ran it, then the sealed cache served"
    );
    let mut files = Vec::new();
    let mut dirs = vec![t.home.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                dirs.push(path);
            } else if entry.file_type().unwrap().is_file() {
                files.push(path);
            }
        }
    }
    let cached = t.config_dir().join("credentials-cache");
    assert!(
        files.iter().any(|f| f.starts_with(&cached)),
        "credentials were cached: {files:?}"
    );
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        let shown = String::from_utf8_lossy(&bytes);
        for secret in ["hush4711", "tok0815"] {
            assert!(!shown.contains(secret), "{secret} in {}", file.display());
        }
    }
}
