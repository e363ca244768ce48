//! Answers land under the cache's state when they land: a command whose answer from AWS is
//! held back (by a loopback gate in front of moto) while `cache encryption enable` or
//! `rotate` runs stores nothing plaintext and nothing under a retired key, on one machine
//! (the key-state token) and across machines sharing a kms-encrypted table (the key guard).
//! Also: an old entry copied back after an invalidation is a miss, and a cache hit writes
//! nothing at all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use awsideman::testing::Envelope;
use awsideman::testing::Service;
use serde_json::{Value, json};

use crate::common::fixture::Holdback;
use crate::common::{TestEnv, moto, requests, text};

fn seeded() -> TestEnv {
    let t = TestEnv::new();
    let instance = t.instance();
    t.seed_user(&instance.store, "alice", "Alice", "Liddell");
    t.seed_user(&instance.store, "bob", "Bob", "Builder");
    t
}

/// `t` with cache encryption keys in a key file (so rotation works without a keyring).
fn with_key_file(mut t: TestEnv) -> TestEnv {
    let key_file = t.home.join("keys/cache-key.json");
    t.set_var("AWSIDEMAN_CACHE_KEY_SOURCE", "file");
    t.set_var("AWSIDEMAN_CACHE_KEY_FILE", key_file.display().to_string());
    t
}

/// Every entry file of the file cache, with its bytes.
fn entry_files(t: &TestEnv) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = t.config_dir().join("cache/entries");
    std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .map(|e| (e.path(), std::fs::read(e.path()).unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
}

/// The key id (or `none`) of every entry file.
fn sealed_with(t: &TestEnv) -> Vec<String> {
    entry_files(t)
        .iter()
        .map(|(_, bytes)| {
            let header = Envelope::decode_header(bytes).expect("an entry header");
            header
                .key_id
                .unwrap_or_else(|| header.encryption.to_string())
        })
        .collect()
}

/// Starts `args` on `t` with its identitystore answers held by a gate; returns the gate
/// once the request is held, and the running process.
fn held(t: &TestEnv, args: &[&str]) -> (Holdback, std::process::Child) {
    let gate = Holdback::start(&moto());
    let child = t
        .command(args)
        .env("AWS_ENDPOINT_URL_IDENTITYSTORE", &gate.url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn awsideman");
    gate.wait_for(1, Duration::from_secs(30));
    (gate, child)
}

/// A plaintext cache, then `enable` while a `user list` waits for its answer: the answer
/// arrives after enable returned and is not stored in plaintext (nor at all: its process
/// loaded the settings of before).
#[test]
fn an_answer_arriving_after_enable_is_never_stored_in_plaintext() {
    let t = with_key_file(seeded());
    let (gate, mut child) = held(&t, &["user", "list"]);
    t.json(&["cache", "encryption", "enable"]);
    gate.open();
    assert!(child.wait().expect("wait").success());
    assert!(
        !sealed_with(&t).iter().any(|k| k == "none"),
        "a plaintext entry after enable: {:?}",
        sealed_with(&t)
    );
    // The next command caches, encrypted.
    t.json(&["user", "list"]);
    let sealed = sealed_with(&t);
    assert!(!sealed.is_empty() && !sealed.iter().any(|k| k == "none"));
}

/// An encrypted cache, then `rotate` while a `group list` (which loaded the old key) waits
/// for its answer: afterwards no entry is sealed with the retired key.
#[test]
fn an_answer_arriving_after_rotate_is_never_sealed_with_the_retired_key() {
    let t = with_key_file(seeded());
    let enabled = t.json(&["cache", "encryption", "enable"]);
    let old = enabled["keyId"].as_str().unwrap().to_string();
    t.json(&["user", "list"]);
    let (gate, mut child) = held(&t, &["group", "list"]);
    let rotated = t.json(&["cache", "encryption", "rotate"]);
    assert_eq!(rotated["retiredKeyIds"], json!([old]), "{rotated}");
    gate.open();
    assert!(child.wait().expect("wait").success());
    let sealed = sealed_with(&t);
    assert!(
        !sealed.contains(&old),
        "an entry under the retired key: {sealed:?}"
    );
    assert!(!sealed.is_empty());
}

/// Two machines share a DynamoDB table encrypted with the kms source (keys in the table).
/// A process on the second machine loads the key set, then waits for its answer while the
/// first machine rotates: its answer is refused by the table (the key set changed), so no
/// entry under the retired key lands.
#[test]
fn an_answer_arriving_after_another_machines_rotation_is_refused() {
    let mut a = seeded();
    let key = a.aws(Service::Kms, "CreateKey", json!({"Description": "gate"}));
    let key_id = key["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
    let table = format!("awsideman-gate-{}", std::process::id());
    a.set_var("AWSIDEMAN_CACHE_BACKEND", "dynamodb");
    a.set_var("AWSIDEMAN_CACHE_DYNAMODB_TABLE", &table);
    a.set_var("AWSIDEMAN_CACHE_KEY_SOURCE", "kms");
    a.set_var("AWSIDEMAN_CACHE_KMS_KEY_ID", key_id);
    a.set_var("AWSIDEMAN_CACHE_ENCRYPTION", "true");
    let enabled = a.json(&["cache", "encryption", "enable"]);
    let old = enabled["keyId"].as_str().unwrap().to_string();
    let b = a.sibling();
    b.instance();
    let (gate, mut child) = held(&b, &["group", "list"]);
    let rotated = a.json(&["cache", "encryption", "rotate"]);
    assert_eq!(rotated["retiredKeyIds"], json!([old]), "{rotated}");
    gate.open();
    assert!(child.wait().expect("wait").success());
    let status = a.json(&["cache", "encryption", "status"]);
    let by_key: BTreeMap<String, Value> = status["entries"]["byKey"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["keyId"].as_str().unwrap().to_string(), k.clone()))
        .collect();
    assert!(
        !by_key.contains_key(&old),
        "an entry under the retired key: {status}"
    );
    assert!(by_key.values().all(|k| k["known"] == true), "{status}");
    a.json(&["cache", "dynamodb", "delete-table", "--yes"]);
}

/// An entry copied back after the write that invalidated it is a miss: it recorded the
/// generation of before (covered by the MAC when encrypted).
#[test]
fn an_old_entry_copied_back_after_an_invalidation_is_a_miss() {
    for encrypted in [false, true] {
        let t = with_key_file(seeded());
        if encrypted {
            t.json(&["cache", "encryption", "enable"]);
        }
        let before = t.json(&["user", "list"]);
        assert_eq!(before["Users"].as_array().unwrap().len(), 2);
        let saved = entry_files(&t);
        t.create_user("carol");
        for (path, bytes) in &saved {
            std::fs::write(path, bytes).unwrap();
        }
        let out = t.run(&["--debug", "--output", "json", "user", "list"]);
        let stderr = text(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(
            requests(&stderr).contains(&("identitystore".into(), "ListUsers".into())),
            "encrypted {encrypted}: the copied-back list was served: {stderr}"
        );
        let after: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(after["Users"].as_array().unwrap().len(), 3, "{after}");
    }
}

/// Every file and directory under `dir`, with its size and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, SystemTime)> {
    let mut all = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let meta = std::fs::symlink_metadata(entry.path()).unwrap();
            if meta.is_dir() {
                pending.push(entry.path());
            }
            all.insert(entry.path(), (meta.len(), meta.modified().unwrap()));
        }
    }
    all
}

/// A warm read writes nothing: no file in the cache directory is created, changed or
/// touched (not even the counters), so hits work in a read-only cache directory.
#[test]
fn a_cache_hit_writes_nothing() {
    let t = seeded();
    t.json(&["user", "list"]);
    t.json(&["group", "list"]);
    let cache = t.config_dir().join("cache");
    let before = snapshot(&cache);
    std::thread::sleep(Duration::from_millis(20));
    let out = t.run(&["--debug", "--output", "json", "user", "list"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !requests(&stderr).iter().any(|(s, _)| s == "identitystore"),
        "{stderr}"
    );
    assert_eq!(
        snapshot(&cache),
        before,
        "a hit changed the cache directory"
    );

    // Read-only directories (root may write anyway; the snapshot above is what proves it).
    use std::os::unix::fs::PermissionsExt;
    let dirs: Vec<PathBuf> = std::iter::once(cache.clone())
        .chain(before.keys().filter(|p| p.is_dir()).cloned())
        .collect();
    for dir in &dirs {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o500)).unwrap();
    }
    let out = t.run(&["--output", "json", "user", "list"]);
    for dir in &dirs {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "", "no warning on a hit");
}
