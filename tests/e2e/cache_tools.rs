//! `cache migrate`, `cache health` and `cache benchmark` end to end, between file caches:
//! a warm cache of 2,000 entries copied elsewhere loses nothing, and the probes leave nothing
//! behind. (Migrations killed at random points are in `reliability.rs`.)

use std::path::{Path, PathBuf};

use awsideman::testing::CacheBackend;
use awsideman::testing::Env;
use awsideman::testing::FileBackend;
use awsideman::testing::{CacheManager, NewEntry};
use awsideman::testing::{CacheSettings, ConfigFile};
use serde_json::{Value, json};

use crate::common::{TestEnv, requests, text};

/// Entries of the warm cache.
const N: usize = 2000;

/// The cache settings the binary uses in `t`'s world.
fn settings(t: &TestEnv) -> CacheSettings {
    let dir = t.config_dir();
    let file = ConfigFile::load(&dir).expect("config");
    awsideman::testing::cache_settings(&file, None, &Env::from_pairs(t.vars.clone()), &dir)
        .expect("cache settings")
}

/// A manager over the file cache in `dir`, as the binary would open it.
fn manager(t: &TestEnv, dir: &Path) -> CacheManager {
    let mut settings = settings(t);
    settings.file_cache_dir = dir.to_path_buf();
    let backend = FileBackend::new(dir.to_path_buf(), 1 << 30);
    CacheManager::with_backend(Box::new(backend), settings, true)
}

/// A world whose cache holds `N` live entries, one expired and one corrupt.
fn warm_cache() -> (TestEnv, PathBuf) {
    let t = TestEnv::new();
    let dir = settings(&t).file_cache_dir;
    let cache = manager(&t, &dir);
    crate::common::fill_user_entries(&cache, N);
    crate::common::add_expired_and_corrupt(cache.backend(), N);
    (t, dir)
}

/// Asserts every live entry is readable, as the same answer, from the cache in `dir`.
fn assert_complete(t: &TestEnv, dir: &Path) {
    let cache = manager(t, dir);
    for i in 0..N {
        let value = cache
            .get(
                &crate::common::user_entry_key(i),
                &crate::common::user_entry_tags(i),
            )
            .unwrap_or_else(|| panic!("entry {i} missing from {}", dir.display()));
        assert_eq!(value["UserName"], format!("user{i}"));
    }
}

fn migrate_args(to_dir: &Path) -> Vec<String> {
    [
        "--output", "json", "cache", "migrate", "--from", "file", "--to", "file", "--yes",
        "--to-dir",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([to_dir.display().to_string()])
    .collect()
}

fn run_json(t: &TestEnv, args: &[String]) -> Value {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    t.json(&args[2..])
}

#[test]
fn migrating_a_warm_cache_to_another_directory_loses_nothing() {
    let (t, dir) = warm_cache();
    let backup = t.home.join("backup-cache");
    let mut args = migrate_args(&backup);
    args.push("--verify".into());
    let out = run_json(&t, &args);
    assert_eq!(out["from"], "file");
    assert_eq!(out["to"], "file");
    assert_eq!(out["toLocation"], backup.display().to_string());
    assert_eq!(out["copied"], N);
    assert_eq!(out["skippedExpired"], 1);
    assert_eq!(out["skippedCorrupt"], 1);
    assert_eq!(out["failed"], 0);
    assert_eq!(out["resumedFrom"], Value::Null);
    assert_eq!(out["checkpoint"], Value::Null);
    assert_eq!(
        out["verified"],
        json!({"checked": N, "missing": 0, "different": 0, "missingKeys": [], "differentKeys": []})
    );
    assert!(!dir.join("migrate-file-file.checkpoint.json").exists());
    assert_complete(&t, &backup);
    // Byte for byte, tags included.
    let (from, to) = (
        FileBackend::new(dir.clone(), 1 << 30),
        FileBackend::new(backup.clone(), 1 << 30),
    );
    for i in (0..N).step_by(37) {
        assert_eq!(
            from.get(&crate::common::user_entry_key(i)).unwrap(),
            to.get(&crate::common::user_entry_key(i)).unwrap()
        );
    }
    let removed = to
        .invalidate(awsideman::testing::Invalidation::Tags(&["user:u5".into()]))
        .unwrap();
    assert_eq!(removed, 1);

    // A file cache can also be copied from another directory (a backup restored).
    let third = t.home.join("third");
    let out = t.json(&[
        "cache",
        "migrate",
        "--from",
        "file",
        "--from-dir",
        &backup.display().to_string(),
        "--to",
        "file",
        "--to-dir",
        &third.display().to_string(),
        "--yes",
    ]);
    assert_eq!(out["copied"], N - 1, "{out}");
}

#[test]
fn verify_differences_and_usage_errors_exit_non_zero() {
    let t = TestEnv::new();
    let (source, dest) = (t.home.join("src-cache"), t.home.join("dst-cache"));
    let cache = manager(&t, &source);
    for i in 0..5 {
        cache.put(
            &crate::common::user_entry_key(i),
            &NewEntry {
                service: "identitystore",
                operation: "DescribeUser",
                profile: "default",
                params: &json!({}),
                value: &awsideman::testing::Document::from_value(&json!({"n": i})).unwrap(),
                ttl: 3600,
                tags: &[],
            },
        );
    }
    let (source_arg, dest_arg) = (source.display().to_string(), dest.display().to_string());
    let mut args = vec![
        "--output",
        "json",
        "cache",
        "migrate",
        "--from",
        "file",
        "--from-dir",
        &source_arg,
        "--to",
        "file",
        "--to-dir",
        &dest_arg,
    ];
    // Asks first: without a terminal, --yes is required.
    t.fails(2, &args);
    args.extend(["--yes", "--verify"]);

    // A checkpoint saying everything was done, while the destination is empty (it was
    // wiped after an earlier run): the resumed run copies nothing, and --verify finds every
    // entry missing and exits 1, the report still printed.
    let checkpoint = settings(&t)
        .file_cache_dir
        .join("migrate-file-file.checkpoint.json");
    std::fs::create_dir_all(checkpoint.parent().unwrap()).unwrap();
    let saved = json!({
        "version": 1,
        "from": format!("file {source_arg}"),
        "to": format!("file {dest_arg}"),
        "lastKey": "f".repeat(64),
        "copied": 5,
        "skippedExpired": 0,
        "skippedCorrupt": 0,
        "failedKeys": [],
    });
    std::fs::write(&checkpoint, saved.to_string()).unwrap();
    let out = t.run(&args);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["resumedFrom"], 5);
    assert_eq!(report["copied"], 5);
    assert_eq!(report["verified"]["missing"], 5);
    assert_eq!(
        report["verified"]["missingKeys"].as_array().unwrap().len(),
        5
    );
    let stderr = text(&out.stderr);
    assert!(stderr.contains("5 entries missing"), "{stderr}");

    // Without the checkpoint (a finished run removed it) everything is copied again.
    let out = t.json(&args[2..]);
    assert_eq!(out["resumedFrom"], Value::Null);
    assert_eq!(out["copied"], 5);
    assert_eq!(out["verified"]["missing"], 0);

    // --to-dir only makes sense for a file destination.
    let stderr = t.fails(
        2,
        &[
            "cache", "migrate", "--from", "file", "--to", "hybrid", "--to-dir", "/tmp/x", "--yes",
        ],
    );
    assert!(stderr.contains("--to-dir"), "{stderr}");
    let stderr = t.fails(
        2,
        &[
            "cache", "migrate", "--from", "file", "--to", "floppy", "--yes",
        ],
    );
    assert!(stderr.contains("floppy"), "{stderr}");
    // The same cache on both sides.
    let stderr = t.fails(
        2,
        &[
            "cache",
            "migrate",
            "--from",
            "file",
            "--from-dir",
            &source_arg,
            "--to",
            "file",
            "--to-dir",
            &source_arg,
            "--yes",
        ],
    );
    assert!(stderr.contains("same cache"), "{stderr}");
}

/// Entry files of the cache (temporary files aside).
fn entry_count(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("entries"))
        .map(|d| {
            d.flatten()
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn health_and_benchmark_run_and_leave_no_probe_entries() {
    let t = TestEnv::new();
    let instance = t.instance();
    t.seed_user(&instance.store, "alice", "Alice", "Liddell");
    t.json(&["user", "list"]);
    let dir = settings(&t).file_cache_dir;
    let before = entry_count(&dir);
    assert!(before >= 1);

    let health = t.json(&["cache", "health"]);
    assert_eq!(health["backend"], "file");
    assert_eq!(health["healthy"], true);
    assert_eq!(health["location"], dir.display().to_string());
    let steps: Vec<&str> = health["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["open", "write", "read", "delete"]);
    assert!(
        health["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["ok"] == true && s["ms"].is_number())
    );
    assert_eq!(entry_count(&dir), before);

    let bench = t.json(&["cache", "benchmark", "--entries", "50", "--size", "1000"]);
    assert_eq!(bench["entries"], 50);
    assert_eq!(bench["sizeBytes"], 1000);
    assert_eq!(bench["misses"], 0);
    let operations: Vec<&str> = bench["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["operation"].as_str().unwrap())
        .collect();
    assert_eq!(operations, ["set", "get"]);
    for result in bench["results"].as_array().unwrap() {
        assert!(result["medianMs"].is_number(), "{bench}");
        assert!(result["p95Ms"].is_number(), "{bench}");
    }
    assert_eq!(entry_count(&dir), before, "the benchmark cleaned up");
    let status = t.json(&["cache", "status"]);
    assert_eq!(status["entries"]["total"], before);

    // The table forms print too, and the real entries are untouched: still a cache hit.
    let table = t.ok(&["--output", "table", "cache", "health"]);
    assert!(table.contains("Healthy"), "{table}");
    let out = t.run(&["--debug", "--output", "json", "user", "list"]);
    assert!(out.status.success());
    assert!(requests(&text(&out.stderr)).is_empty());

    assert!(
        t.fails(2, &["cache", "benchmark", "--entries", "0"])
            .contains("--entries")
    );
}

#[test]
fn an_unhealthy_backend_exits_1_with_one_clear_line() {
    let mut t = TestEnv::new();
    // The cache directory is a file: nothing can be written there.
    let blocked = t.write("blocked", "not a directory");
    t.set_var("AWSIDEMAN_CACHE_FILE_DIR", blocked.display().to_string());
    let out = t.run(&["--output", "json", "cache", "health"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["healthy"], false);
    assert_eq!(report["steps"][1]["step"], "write");
    assert_eq!(report["steps"][1]["ok"], false);
    let stderr = text(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("unhealthy") && stderr.contains("write"),
        "{stderr}"
    );
}

/// Issue 6's round trip: 2,000 entries from the file cache to DynamoDB (moto) and back to a
/// fresh file cache lose nothing.
#[test]
fn two_thousand_entries_file_to_dynamodb_to_file_lose_nothing() {
    let (mut t, _) = warm_cache();
    t.set_var("AWSIDEMAN_CACHE_DYNAMODB_TABLE", "migration-round-trip");
    // moto pages a Scan of 2,000 large items slowly, slower still while other tests share
    // it: more than the default 5 s a page. This test is about what arrives, not timeouts.
    t.set_var("AWSIDEMAN_CACHE_DYNAMODB_TIMEOUT_MS", "60000");
    let up = t.json(&[
        "cache", "migrate", "--from", "file", "--to", "dynamodb", "--verify", "--yes",
    ]);
    assert_eq!(up["copied"].as_u64().unwrap() as usize, N, "{up}");
    assert_eq!(up["failed"], 0);
    assert_eq!(up["skippedExpired"], 1);
    assert_eq!(up["skippedCorrupt"], 1);
    let back = t.home.join("back-from-dynamodb");
    let back_str = back.display().to_string();
    let down = t.json(&[
        "cache", "migrate", "--from", "dynamodb", "--to", "file", "--to-dir", &back_str,
        "--verify", "--yes",
    ]);
    assert_eq!(down["copied"].as_u64().unwrap() as usize, N, "{down}");
    assert_complete(&t, &back);
}
