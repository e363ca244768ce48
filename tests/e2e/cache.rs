//! The response cache across processes: hits make no request, expiry, corruption,
//! `--no-cache`, `--limit`, and the `cache` commands.

use crate::common::{TestEnv, mode, requests, text, user_names};

/// A world with an instance and two users.
fn seeded() -> TestEnv {
    let t = TestEnv::new();
    let instance = t.instance();
    t.seed_user(&instance.store, "alice", "Alice", "Liddell");
    t.seed_user(&instance.store, "bob", "Bob", "Builder");
    t
}

fn debug_requests(t: &TestEnv, args: &[&str]) -> (Vec<(String, String)>, String) {
    let mut all = vec!["--debug", "--output", "json"];
    all.extend_from_slice(args);
    let out = t.run(&all);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stderr}");
    (requests(&stderr), text(&out.stdout))
}

#[test]
fn second_process_is_served_from_the_cache_without_any_request() {
    let t = seeded();
    let (first, first_out) = debug_requests(&t, &["user", "list"]);
    assert!(
        first.contains(&("identitystore".into(), "ListUsers".into())),
        "{first:?}"
    );

    // No credentials (the profile's source keys are gone): a hit needs none, and sends
    // nothing. The caller is known from the profile's role_arn alone.
    std::fs::remove_file(t.home.join(".aws/credentials")).unwrap();
    let (second, second_out) = debug_requests(&t, &["user", "list"]);
    assert_eq!(
        second,
        Vec::<(String, String)>::new(),
        "a cache hit sends nothing"
    );
    assert_eq!(
        first_out, second_out,
        "the cached answer is the same document"
    );

    // --no-cache goes to AWS, and here fails: the profile's source has no credentials (a
    // configuration error).
    let err = t.fails(2, &["--no-cache", "user", "list"]);
    assert!(err.contains("has no credentials"), "{err}");
}

#[test]
fn no_cache_neither_reads_nor_writes() {
    let t = seeded();
    let (first, _) = debug_requests(&t, &["--no-cache", "user", "list"]);
    assert_eq!(
        first.len(),
        1 + usize::from(first.iter().any(|(s, _)| s == "sts"))
    );
    let (second, _) = debug_requests(&t, &["user", "list"]);
    assert!(
        second.contains(&("identitystore".into(), "ListUsers".into())),
        "nothing was stored: {second:?}"
    );
    let (third, _) = debug_requests(&t, &["--no-cache", "user", "list"]);
    assert!(
        third.contains(&("identitystore".into(), "ListUsers".into())),
        "{third:?}"
    );
}

#[test]
fn disabled_cache_stores_nothing() {
    let mut t = seeded();
    let entries = t.config_dir().join("cache/entries");
    let count = || std::fs::read_dir(&entries).map_or(0, |d| d.count());
    let before = count();
    t.set_var("AWSIDEMAN_CACHE_ENABLED", "false");
    debug_requests(&t, &["user", "list"]);
    let (again, _) = debug_requests(&t, &["user", "list"]);
    assert!(again.iter().any(|(_, op)| op == "ListUsers"), "{again:?}");
    assert_eq!(count(), before, "nothing stored");
    let status = t.json(&["cache", "status"]);
    assert_eq!(status["enabled"], false);
}

#[test]
fn expired_entries_are_not_served() {
    let mut t = seeded();
    t.set_var("AWSIDEMAN_CACHE_TTL_LIST_USERS", "1");
    debug_requests(&t, &["user", "list"]);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let (again, _) = debug_requests(&t, &["user", "list"]);
    assert!(
        again.iter().any(|(_, op)| op == "ListUsers"),
        "expired entry served: {again:?}"
    );
}

#[test]
fn limit_never_poisons_the_full_list() {
    let t = seeded();
    let limited = t.json(&["user", "list", "--limit", "1"]);
    assert_eq!(limited["Users"].as_array().unwrap().len(), 1);
    let full = t.json(&["user", "list"]);
    assert_eq!(full["Users"].as_array().unwrap().len(), 2);
    // Now the full list is cached; a limited read is cut from it.
    let (reqs, out) = debug_requests(&t, &["user", "list", "--limit", "1"]);
    assert!(!reqs.iter().any(|(_, op)| op == "ListUsers"), "{reqs:?}");
    let out: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(out["Users"].as_array().unwrap().len(), 1);
    assert_eq!(out["Truncated"], true);
}

#[test]
fn corrupt_entries_are_a_miss_with_one_warning_and_are_removed() {
    let t = seeded();
    t.json(&["user", "list"]);
    let entries = t.config_dir().join("cache/entries");
    let files: Vec<_> = std::fs::read_dir(&entries)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(!files.is_empty());
    for file in &files {
        let mut bytes = std::fs::read(file).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 0x55; // flip a payload byte
        std::fs::write(file, &bytes).unwrap();
    }
    let out = t.run(&["--debug", "--output", "json", "user", "list"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr.matches("warning: cache").count(), 1, "{stderr}");
    assert!(requests(&stderr).iter().any(|(_, op)| op == "ListUsers"));
    let users: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        users["Users"].as_array().unwrap().len(),
        2,
        "served from AWS"
    );
    let status = t.json(&["cache", "status"]);
    assert_eq!(
        status["entries"]["corrupt"], 0,
        "the corrupt entry was replaced"
    );
    assert!(status["counters"]["corrupt"].as_u64().unwrap() >= 1);

    // Garbage (even a pickle) is never executed or trusted.
    for file in std::fs::read_dir(&entries).unwrap().flatten() {
        std::fs::write(file.path(), b"\x80\x04\x95pickle").unwrap();
    }
    let out = t.run(&["--output", "json", "user", "list"]);
    assert!(out.status.success());
}

#[test]
fn cache_commands_status_inspect_cleanup_clear() {
    let t = seeded();
    t.json(&["user", "list"]);
    t.json(&["user", "get", "alice"]);
    let status = t.json(&["cache", "status"]);
    assert_eq!(status["backend"], "file");
    assert!(
        status["location"]
            .as_str()
            .unwrap()
            .ends_with(".awsideman/cache")
    );
    let total = status["entries"]["total"].as_u64().unwrap();
    assert!(total >= 3, "{status}");
    assert_eq!(status["entries"]["valid"].as_u64().unwrap(), total);
    assert!(
        status["operations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["operation"] == "ListUsers")
    );
    assert!(status["counters"]["misses"].as_u64().unwrap() >= 3);
    assert_eq!(mode(&t.config_dir().join("cache")), 0o700);

    let listed = t.json(&["cache", "inspect", "--operation", "list_users"]);
    let entries = listed["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    let key = entries[0]["key"].as_str().unwrap();
    assert_eq!(mode(&t.config_dir().join("cache/entries").join(key)), 0o600);
    let one = t.json(&["cache", "inspect", &key[..10]]);
    assert_eq!(one["operation"], "ListUsers");
    assert_eq!(one["value"]["Users"].as_array().unwrap().len(), 2);
    assert!(
        one["params"]["IdentityStoreId"]
            .as_str()
            .unwrap()
            .starts_with("d-")
    );

    assert_eq!(t.json(&["cache", "cleanup"])["removed"], 0);
    t.fails(2, &["cache", "clear"]);
    let cleared = t.json(&["cache", "clear", "--operation", "ListUsers", "--yes"]);
    assert_eq!(cleared["removed"], 1);
    let cleared = t.json(&["cache", "clear", "--yes"]);
    assert_eq!(cleared["removed"].as_u64().unwrap(), total - 1);
    assert_eq!(t.json(&["cache", "status"])["entries"]["total"], 0);
}

#[test]
fn warm_runs_read_commands_and_refuses_writes() {
    let t = seeded();
    let warmed = t.json(&["cache", "warm", "user list", "user get bob"]);
    assert!(warmed["entriesAdded"].as_u64().unwrap() >= 2, "{warmed}");
    let (reqs, _) = debug_requests(&t, &["user", "get", "bob"]);
    assert!(reqs.is_empty(), "served from the warmed cache: {reqs:?}");
    let err = t.fails(2, &["cache", "warm", "config set cache.enabled false"]);
    assert!(err.contains("not a read command"), "{err}");
}

/// 16 processes at once on one cache directory: reads that fill it, reads served from it,
/// invalidating writes, filtered clears, full clears and cleanups. No process may fail,
/// warn about a corrupt entry, or print a wrong answer.
#[test]
fn sixteen_processes_share_one_cache_safely() {
    use std::process::{Command, Stdio};
    let t = seeded();
    let instance = t.json(&["sso", "info"]);
    let store = instance["identity_store_id"].as_str().unwrap().to_string();
    let group = t.seed_group(&store, "ops", &[]);
    let jobs: Vec<Vec<String>> = (0..16)
        .map(|i| {
            let words: &[&str] = match i % 8 {
                0..=2 => &["user", "list"],
                3 => &["user", "get", "alice"],
                4 => &["cache", "clear", "--operation", "ListUsers", "--yes"],
                5 => &["cache", "clear", "--yes"],
                6 => &["cache", "cleanup"],
                _ => &["group", "add-member", "ops", "bob"],
            };
            words.iter().map(|w| w.to_string()).collect()
        })
        .collect();
    for round in 0..3 {
        let children: Vec<_> = jobs
            .iter()
            .map(|args| {
                Command::new(crate::common::binary())
                    .args(["--output", "json"])
                    .args(args)
                    .env_clear()
                    .envs(&t.vars)
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for (child, args) in children.into_iter().zip(&jobs) {
            let out = child.wait_with_output().unwrap();
            let stderr = text(&out.stderr);
            assert!(out.status.success(), "round {round} {args:?}: {stderr}");
            assert!(
                !stderr.contains("warning: cache"),
                "round {round} {args:?}: {stderr}"
            );
            let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", text(&out.stdout)));
            if args[..2] == ["user", "list"] {
                assert_eq!(doc["Users"].as_array().unwrap().len(), 2, "{args:?}");
            }
            if args[..2] == ["user", "get"] {
                assert_eq!(doc["UserName"], "alice");
            }
        }
    }
    let members = t.json(&["group", "members", &group]);
    assert_eq!(members["Members"][0]["UserName"], "bob");
}

/// Every write, with the cache on, is followed by reads that reflect it: the write
/// invalidates exactly the cached reads it changes.
#[test]
fn writes_invalidate_what_they_change() {
    let t = seeded();
    let names = |doc: &serde_json::Value, key: &str, field: &str| {
        let mut v: Vec<String> = doc[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u[field].as_str().unwrap_or("").to_string())
            .collect();
        v.sort();
        v
    };
    // Fill the cache with everything the checks below read.
    assert_eq!(
        names(&t.json(&["user", "list"]), "Users", "UserName"),
        ["alice", "bob"]
    );
    assert_eq!(t.json(&["group", "list"])["Groups"], serde_json::json!([]));
    assert_eq!(
        t.json(&["user", "get", "alice"])["Groups"],
        serde_json::json!([])
    );

    t.ok(&[
        "user",
        "create",
        "--username",
        "carol",
        "--display-name",
        "Carol Danvers",
        "--email",
        "carol@example.com",
    ]);
    assert_eq!(
        names(&t.json(&["user", "list"]), "Users", "UserName"),
        ["alice", "bob", "carol"]
    );

    t.ok(&["group", "create", "--name", "ops"]);
    assert_eq!(
        names(&t.json(&["group", "list"]), "Groups", "DisplayName"),
        ["ops"]
    );
    assert_eq!(
        t.json(&["group", "members", "ops"])["Members"],
        serde_json::json!([])
    );

    t.ok(&["group", "add-member", "ops", "alice", "carol"]);
    assert_eq!(
        names(&t.json(&["group", "members", "ops"]), "Members", "UserName"),
        ["alice", "carol"]
    );
    assert_eq!(
        t.json(&["user", "get", "alice"])["Groups"][0]["DisplayName"],
        "ops"
    );
    assert_eq!(
        t.json(&["user", "groups", "carol"])["Groups"][0]["DisplayName"],
        "ops"
    );

    t.ok(&["group", "remove-member", "ops", "alice", "--yes"]);
    assert_eq!(
        names(&t.json(&["group", "members", "ops"]), "Members", "UserName"),
        ["carol"]
    );
    assert_eq!(
        t.json(&["user", "get", "alice"])["Groups"],
        serde_json::json!([])
    );

    t.ok(&["user", "delete", "bob", "--yes"]);
    assert_eq!(
        names(&t.json(&["user", "list"]), "Users", "UserName"),
        ["alice", "carol"]
    );
    t.fails(1, &["user", "get", "bob"]);

    t.ok(&["group", "delete", "ops", "--yes"]);
    assert_eq!(t.json(&["group", "list"])["Groups"], serde_json::json!([]));
    t.fails(1, &["group", "get", "ops"]);

    // A name freed by a delete resolves to the new object, not the cached old id.
    t.ok(&[
        "user",
        "create",
        "--username",
        "bob",
        "--display-name",
        "Bob Again",
        "--email",
        "bob2@example.com",
    ]);
    assert_eq!(t.json(&["user", "get", "bob"])["DisplayName"], "Bob Again");
}

/// `--refresh` reads from AWS and stores the fresh answer: a change made outside awsideman
/// shows at once, and in the plain reads after it.
#[test]
fn refresh_reads_aws_and_stores_the_fresh_answer() {
    let t = TestEnv::new();
    let store = t.discover();
    t.seed_user(&store, "before", "Be", "Fore");
    assert_eq!(
        user_names(&t.run(&["--output", "json", "user", "list"])),
        ["before"]
    );
    // Made elsewhere (the console, Terraform): the cached list does not know it.
    t.seed_user(&store, "after", "Af", "Ter");
    assert_eq!(
        user_names(&t.run(&["--output", "json", "user", "list"])),
        ["before"]
    );
    let out = t.run(&["--debug", "--refresh", "--output", "json", "user", "list"]);
    assert_eq!(user_names(&out), ["after", "before"]);
    assert_eq!(requests(&text(&out.stderr)).len(), 1, "one ListUsers");
    let out = t.run(&["--debug", "--output", "json", "user", "list"]);
    assert_eq!(user_names(&out), ["after", "before"]);
    assert_eq!(
        requests(&text(&out.stderr)),
        Vec::new(),
        "the fresh answer was stored"
    );
}
