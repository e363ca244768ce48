//! The audit log end to end: every event produced through the binary and its record checked,
//! the file private, `off` writing nothing, 16 concurrent writers leaving whole lines, and
//! `audit show` filtering.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::{TestEnv, mode, text};

const USER: &str = "auditor";
const HOST: &str = "audit-host";

/// A world with a known user and host, and an Identity Center instance.
fn world() -> TestEnv {
    let mut t = TestEnv::new();
    t.set_var("USER", USER);
    t.set_var("HOSTNAME", HOST);
    t
}

/// A world whose cache key lives in a file, with a warm cache.
fn key_file_world() -> (TestEnv, PathBuf) {
    let mut t = world();
    t.instance();
    let key_file = t.home.join("keys/cache-key.json");
    t.set_var("AWSIDEMAN_CACHE_KEY_SOURCE", "file");
    t.set_var("AWSIDEMAN_CACHE_KEY_FILE", key_file.display().to_string());
    t.json(&["user", "list"]);
    (t, key_file)
}

fn log_path(t: &TestEnv) -> PathBuf {
    t.config_dir().join("audit.log")
}

/// Every line of the log, parsed; panics on a line that is not a JSON object.
fn records(t: &TestEnv) -> Vec<Value> {
    let text = std::fs::read_to_string(log_path(t)).unwrap_or_default();
    text.lines()
        .map(|line| {
            let record: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("audit line is not JSON ({e}): {line:?}"));
            assert!(record.is_object(), "{line}");
            record
        })
        .collect()
}

/// The records of `event`, each checked for the fields every record has.
fn events(t: &TestEnv, event: &str) -> Vec<Value> {
    let found: Vec<Value> = records(t)
        .into_iter()
        .filter(|r| r["event"] == event)
        .collect();
    for r in &found {
        let time = r["time"].as_str().expect("time");
        assert_eq!(time.len(), 20, "{r}");
        assert!(time.ends_with('Z') && time.as_bytes()[10] == b'T', "{r}");
        assert_eq!(r["user"], USER, "{r}");
        assert_eq!(r["host"], HOST, "{r}");
        assert_eq!(r["profile"], "default", "{r}");
        assert!(r["outcome"] == "ok" || r["outcome"] == "failed", "{r}");
    }
    found
}

/// The one record of `event`.
fn one(t: &TestEnv, event: &str) -> Value {
    let found = events(t, event);
    assert_eq!(found.len(), 1, "one {event} record: {:?}", records(t));
    found.into_iter().next().unwrap_or_default()
}

#[test]
fn key_and_encryption_events_carry_key_ids_and_never_key_material() {
    let (mut t, key_file) = key_file_world();

    let enabled = t.json(&["cache", "encryption", "enable"]);
    let first = enabled["keyId"].as_str().unwrap().to_string();
    let generated = one(&t, "key_generated");
    assert_eq!(generated["outcome"], "ok");
    assert_eq!(generated["key_id"], first.as_str());
    assert_eq!(generated["source"], "file");
    let on = one(&t, "encryption_enabled");
    assert_eq!(on["key_id"], first.as_str());
    assert_eq!(on["details"]["key_created"], true);
    assert!(on["details"]["encrypted"].as_u64().unwrap() >= 1, "{on}");
    assert_eq!(mode(&log_path(&t)), 0o600);

    let rotated = t.json(&["cache", "encryption", "rotate"]);
    let second = rotated["activeKeyId"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    let started = one(&t, "rotation_started");
    assert_eq!(started["key_id"], second.as_str());
    assert_eq!(started["details"]["new_key_id"], second.as_str());
    assert_eq!(
        started["details"]["old_key_ids"],
        serde_json::json!([first])
    );
    let finished = one(&t, "rotation_finished");
    assert_eq!(finished["outcome"], "ok");
    assert_eq!(finished["key_id"], second.as_str());
    assert_eq!(
        finished["details"]["reencrypted"], rotated["reencrypted"],
        "{finished}"
    );
    assert_eq!(
        finished["details"]["retired_key_ids"],
        serde_json::json!([first])
    );

    let exported = t.run_with_stdin(
        &["--output", "json", "cache", "encryption", "export-key"],
        "",
    );
    assert!(exported.status.success(), "{}", text(&exported.stderr));
    let keyset = text(&exported.stdout);
    let material: Vec<String> = serde_json::from_str::<Value>(&keyset).unwrap()["keys"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(!material.is_empty());
    let exported_record = one(&t, "key_exported");
    assert_eq!(exported_record["key_id"], second.as_str());
    assert_eq!(exported_record["source"], "file");

    let imported = t.run_with_stdin(
        &["--output", "json", "cache", "encryption", "import-key"],
        &keyset,
    );
    assert!(imported.status.success(), "{}", text(&imported.stderr));
    let imported_record = one(&t, "key_imported");
    assert_eq!(imported_record["key_id"], second.as_str());
    assert_eq!(imported_record["outcome"], "ok");

    let disabled = t.json(&["cache", "encryption", "disable", "--yes"]);
    let off = one(&t, "encryption_disabled");
    assert_eq!(off["key_id"], second.as_str());
    assert_eq!(off["details"]["decrypted"], disabled["decrypted"]);

    // Encryption on, key file gone: the key source is unavailable.
    std::fs::remove_file(&key_file).unwrap();
    t.set_var("AWSIDEMAN_CACHE_ENCRYPTION", "true");
    t.run(&["--output", "json", "user", "list"]);
    let unavailable = events(&t, "key_source_unavailable");
    assert!(!unavailable.is_empty());
    assert_eq!(unavailable[0]["outcome"], "failed");
    assert_eq!(unavailable[0]["source"], "file");

    // A failed rotation (no key) is recorded as failed.
    t.fails(2, &["cache", "encryption", "rotate"]);
    let rotations = events(&t, "rotation_finished");
    assert_eq!(rotations.len(), 2);
    assert_eq!(rotations[1]["outcome"], "failed");

    let log = std::fs::read_to_string(log_path(&t)).unwrap();
    for secret in &material {
        assert!(!log.contains(secret.as_str()), "key material in the log");
    }
    assert_eq!(mode(&log_path(&t)), 0o600);
}

#[test]
fn clear_and_migrate_are_recorded_with_counts() {
    let t = world();
    t.instance();
    t.json(&["user", "list"]);
    let backup = t.home.join("backup");
    let migrated = t.json(&[
        "cache",
        "migrate",
        "--from",
        "file",
        "--to",
        "file",
        "--to-dir",
        &backup.display().to_string(),
        "--yes",
    ]);
    let started = one(&t, "migration_started");
    assert_eq!(started["details"]["from"], "file");
    assert_eq!(started["details"]["to"], "file");
    let finished = one(&t, "migration_finished");
    assert_eq!(finished["outcome"], "ok");
    assert_eq!(finished["details"]["copied"], migrated["copied"]);
    assert!(finished["details"]["copied"].as_u64().unwrap() >= 1);
    assert_eq!(finished["details"]["failed"], 0);

    let cleared = t.json(&["cache", "clear", "--yes"]);
    let record = one(&t, "cache_cleared");
    assert_eq!(record["outcome"], "ok");
    assert_eq!(record["details"]["removed"], cleared["removed"]);
    assert!(record["details"]["removed"].as_u64().unwrap() >= 1);
    assert!(record.get("key_id").is_none());

    t.json(&["cache", "clear", "--operation", "list_users", "--yes"]);
    let filtered = events(&t, "cache_cleared");
    assert_eq!(filtered.len(), 2);
    assert_eq!(filtered[1]["details"]["operation"], "list_users");
}

#[test]
fn dynamodb_table_events() {
    let mut t = world();
    t.set_var("AWSIDEMAN_CACHE_DYNAMODB_TABLE", "audit-cache");
    t.json(&["cache", "dynamodb", "create-table"]);
    let created = one(&t, "dynamodb_table_created");
    assert_eq!(created["details"]["table"], "audit-cache");
    // Only a table that was created is recorded.
    t.json(&["cache", "dynamodb", "create-table"]);
    one(&t, "dynamodb_table_created");
    t.json(&["cache", "dynamodb", "repair"]);
    let repaired = one(&t, "dynamodb_table_repaired");
    assert_eq!(repaired["outcome"], "ok");
    assert_eq!(repaired["details"]["problems"], 0);
    // Refused without --yes: recorded as a failed attempt.
    t.fails(2, &["cache", "dynamodb", "delete-table"]);
    assert_eq!(one(&t, "dynamodb_table_deleted")["outcome"], "failed");
    t.json(&["cache", "dynamodb", "delete-table", "--yes"]);
    let deleted = events(&t, "dynamodb_table_deleted")
        .pop()
        .unwrap_or_default();
    assert_eq!(deleted["outcome"], "ok");
    assert_eq!(deleted["details"]["table"], "audit-cache");
    assert_eq!(deleted["details"]["deleted"], true);
}

#[test]
fn off_writes_nothing_and_a_configured_path_is_used() {
    let mut t = world();
    t.set_var("AWSIDEMAN_AUDIT_LOG", "off");
    t.json(&["cache", "clear", "--yes"]);
    assert!(!log_path(&t).exists());
    assert_eq!(t.json(&["audit", "show"])["records"], serde_json::json!([]));

    t.remove_var("AWSIDEMAN_AUDIT_LOG");
    let elsewhere = t.home.join("logs/security/awsideman.log");
    t.ok(&[
        "config",
        "set",
        "cache.audit_log",
        &elsewhere.display().to_string(),
    ]);
    t.json(&["cache", "clear", "--yes"]);
    assert!(!log_path(&t).exists());
    assert_eq!(mode(&elsewhere), 0o600);
    assert_eq!(mode(elsewhere.parent().unwrap()), 0o700);
    let shown = t.json(&["audit", "show"]);
    assert_eq!(shown["records"].as_array().unwrap().len(), 1, "{shown}");

    t.ok(&["config", "set", "cache.audit_log", "off"]);
    t.json(&["cache", "clear", "--yes"]);
    let lines = std::fs::read_to_string(&elsewhere).unwrap().lines().count();
    assert_eq!(lines, 1);
}

#[test]
fn sixteen_concurrent_writers_leave_whole_lines() {
    let t = world();
    let children: Vec<_> = (0..16)
        .map(|_| {
            Command::new(crate::common::binary())
                .args(["--output", "json", "cache", "clear", "--yes"])
                .env_clear()
                .envs(&t.vars)
                .current_dir(&t.home)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn awsideman")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let all = records(&t);
    assert_eq!(all.len(), 16);
    assert!(all.iter().all(|r| r["event"] == "cache_cleared"));
    assert_eq!(events(&t, "cache_cleared").len(), 16);
}

#[test]
fn show_filters_by_age_and_event_and_skips_garbage() {
    let t = world();
    t.json(&["cache", "clear", "--yes"]);
    t.json(&["cache", "clear", "--yes"]);
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .open(log_path(&t))
        .unwrap();
    writeln!(
        log,
        r#"{{"time":"2000-01-01T00:00:00Z","user":"old","host":"h","profile":"default","event":"cache_cleared","outcome":"ok"}}"#
    )
    .unwrap();
    writeln!(
        log,
        r#"{{"time":"2099-01-01T00:00:00Z","user":"x","host":"h","profile":"default","event":"key_exported","outcome":"ok","key_id":"abc"}}"#
    )
    .unwrap();
    writeln!(log, "not json at all").unwrap();
    drop(log);

    let all = t.json(&["audit", "show"]);
    assert_eq!(all["records"].as_array().unwrap().len(), 4, "{all}");
    assert_eq!(all["skipped"], 1);
    let recent = t.json(&["audit", "show", "--since", "1h", "--event", "cache_cleared"]);
    let recent = recent["records"].as_array().unwrap();
    assert_eq!(recent.len(), 2, "{recent:?}");
    assert!(recent.iter().all(|r| r["user"] == USER));
    let exported = t.json(&["audit", "show", "--event", "key_exported"]);
    assert_eq!(exported["records"][0]["key_id"], "abc");

    let table = t.ok(&[
        "--output",
        "table",
        "audit",
        "show",
        "--event",
        "key_exported",
    ]);
    assert!(
        table.contains("key_exported") && table.contains("abc"),
        "{table}"
    );

    let err = t.fails(2, &["audit", "show", "--since", "yesterday"]);
    assert!(err.contains("--since"), "{err}");
    let err = t.fails(2, &["audit", "show", "--event", "cache_clear"]);
    assert!(
        err.contains("cache_cleared") && err.contains("dynamodb_table_deleted"),
        "{err}"
    );
}

#[test]
fn a_missing_log_is_empty() {
    let t = world();
    let shown = t.json(&["audit", "show"]);
    assert_eq!(shown["records"], serde_json::json!([]));
    assert_eq!(shown["skipped"], 0);
}
