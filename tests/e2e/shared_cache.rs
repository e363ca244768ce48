//! The dynamodb and hybrid backends through the binary: one machine warms, another reads;
//! writes invalidate across machines; an unreachable table costs a warning, never a command.

use awsideman::testing::Service;

use crate::common::{TestEnv, requests, text};

/// Two machines of one account sharing one DynamoDB cache table on moto.
fn two_machines(backend: &str) -> (TestEnv, TestEnv) {
    let mut a = TestEnv::new();
    let instance = a.instance();
    a.seed_user(&instance.store, "alice", "Alice", "Liddell");
    a.seed_user(&instance.store, "bob", "Bob", "Builder");
    a.set_var("AWSIDEMAN_CACHE_BACKEND", backend);
    a.set_var("AWSIDEMAN_CACHE_DYNAMODB_TABLE", "team-cache");
    let b = a.sibling();
    b.instance();
    (a, b)
}

fn calls(t: &TestEnv, args: &[&str]) -> (Vec<(String, String)>, String) {
    let mut all = vec!["--debug", "--output", "json"];
    all.extend_from_slice(args);
    let out = t.run(&all);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stderr}");
    (requests(&stderr), stderr)
}

fn identity_center(calls: &[(String, String)]) -> Vec<&(String, String)> {
    calls
        .iter()
        .filter(|(s, _)| s == "identitystore" || s == "sso-admin")
        .collect()
}

#[test]
fn a_second_machine_reads_what_the_first_cached_in_dynamodb() {
    let (a, b) = two_machines("dynamodb");
    let (first, _) = calls(&a, &["user", "list"]);
    assert!(first.contains(&("identitystore".into(), "ListUsers".into())));
    // The table was created on first use, with TTL on the `ttl` attribute.
    let ttl = a.aws(
        Service::DynamoDb,
        "DescribeTimeToLive",
        serde_json::json!({"TableName": "team-cache"}),
    );
    assert_eq!(
        ttl["TimeToLiveDescription"]["TimeToLiveStatus"], "ENABLED",
        "{ttl}"
    );
    assert_eq!(ttl["TimeToLiveDescription"]["AttributeName"], "ttl");
    let (second, _) = calls(&b, &["user", "list"]);
    assert_eq!(
        identity_center(&second),
        Vec::<&(String, String)>::new(),
        "{second:?}"
    );
    assert!(
        second.contains(&("dynamodb".into(), "BatchGetItem".into())),
        "{second:?}"
    );
    let users = b.json(&["user", "list"]);
    assert_eq!(users["Users"].as_array().unwrap().len(), 2);

    // A write on machine A invalidates machine B's cached read.
    a.ok(&[
        "user",
        "create",
        "--username",
        "carol",
        "--display-name",
        "Carol Danvers",
        "--email",
        "carol@example.com",
    ]);
    let users = b.json(&["user", "list"]);
    assert_eq!(users["Users"].as_array().unwrap().len(), 3, "{users}");

    let status = b.json(&["cache", "status"]);
    assert_eq!(status["backend"], "dynamodb");
    assert!(status["entries"]["total"].as_u64().unwrap() >= 1);
}

#[test]
fn an_unreachable_table_is_a_warning_not_a_failure() {
    let (mut a, _) = two_machines("dynamodb");
    a.set_var("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:1");
    a.set_var("AWSIDEMAN_CACHE_DYNAMODB_MAX_RETRIES", "0");
    let out = a.run(&["--output", "json", "user", "list"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr.matches("warning").count(), 1, "{stderr}");
    let users: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        users["Users"].as_array().unwrap().len(),
        2,
        "served from AWS"
    );
}

#[test]
fn hybrid_serves_a_second_read_without_touching_dynamodb() {
    let (a, b) = two_machines("hybrid");
    calls(&a, &["user", "list"]);
    // Machine B: first read from DynamoDB (copied locally), second from the local copy.
    let (first, _) = calls(&b, &["user", "list"]);
    assert_eq!(
        identity_center(&first),
        Vec::<&(String, String)>::new(),
        "{first:?}"
    );
    assert!(first.iter().any(|(s, _)| s == "dynamodb"), "{first:?}");
    let (second, _) = calls(&b, &["user", "list"]);
    assert_eq!(
        second,
        Vec::<(String, String)>::new(),
        "local copy, no request at all"
    );
    let status = b.json(&["cache", "status"]);
    assert_eq!(status["backend"], "hybrid");
    let sides: Vec<&str> = status["sides"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["side"].as_str().unwrap())
        .collect();
    assert_eq!(sides, ["local", "remote"]);
    assert!(
        status["sides"][0]["entries"].as_u64().unwrap() >= 1,
        "{status}"
    );
}

#[test]
fn table_commands_create_describe_repair_delete() {
    let mut t = TestEnv::new();
    t.set_var("AWSIDEMAN_CACHE_DYNAMODB_TABLE", "ops-cache");
    let created = t.json(&["cache", "dynamodb", "create-table"]);
    assert_eq!(created["created"], true);
    assert_eq!(created["status"], "ACTIVE");
    assert_eq!(created["ttl"]["status"], "ENABLED");
    assert_eq!(
        t.json(&["cache", "dynamodb", "create-table"])["created"],
        false
    );
    let described = t.json(&["cache", "dynamodb", "describe"]);
    assert_eq!(described["table"], "ops-cache");
    assert_eq!(described["billing_mode"], "PAY_PER_REQUEST");
    let repaired = t.json(&["cache", "dynamodb", "repair"]);
    assert_eq!(repaired["problems"], serde_json::json!([]));
    t.fails(2, &["cache", "dynamodb", "delete-table"]);
    let err = t.fails(2, &["cache", "dynamodb", "drop"]);
    assert!(err.contains("delete-table"), "{err}");
    assert_eq!(
        t.json(&["cache", "dynamodb", "delete-table", "--yes"])["deleted"],
        true
    );
    t.fails(1, &["cache", "dynamodb", "describe"]);
}

#[test]
fn migrating_file_to_dynamodb_and_back_loses_nothing() {
    let (a, _) = two_machines("file");
    a.json(&["user", "list"]);
    a.json(&["user", "get", "alice"]);
    a.json(&["user", "get", "bob"]);
    let local = a.json(&["cache", "status"])["entries"]["valid"]
        .as_u64()
        .unwrap();
    assert!(local >= 4);
    let up = a.json(&[
        "cache", "migrate", "--from", "file", "--to", "dynamodb", "--verify", "--yes",
    ]);
    assert_eq!(up["copied"].as_u64().unwrap(), local, "{up}");
    assert_eq!(up["failed"], 0);
    let back_dir = a.home.join("restored");
    let back_dir = back_dir.display().to_string();
    let down = a.json(&[
        "cache", "migrate", "--from", "dynamodb", "--to", "file", "--to-dir", &back_dir,
        "--verify", "--yes",
    ]);
    assert_eq!(down["copied"].as_u64().unwrap(), local, "{down}");
    // The restored directory serves the same reads without a request.
    let mut restored = a.sibling();
    restored.set_var("AWSIDEMAN_CACHE_BACKEND", "file");
    restored.set_var("AWSIDEMAN_CACHE_FILE_DIR", &back_dir);
    std::fs::create_dir_all(restored.config_dir()).unwrap();
    std::fs::copy(
        a.config_dir().join("config.yaml"),
        restored.config_dir().join("config.yaml"),
    )
    .unwrap();
    let (reqs, _) = calls(&restored, &["user", "list"]);
    assert_eq!(
        identity_center(&reqs),
        Vec::<&(String, String)>::new(),
        "{reqs:?}"
    );
}

#[test]
fn a_shared_cache_without_encryption_is_warned_about() {
    let (mut a, _) = two_machines("dynamodb");
    a.json(&["user", "list"]);
    for (backend, command) in [
        ("dynamodb", "status"),
        ("dynamodb", "health"),
        ("hybrid", "status"),
        ("hybrid", "health"),
    ] {
        a.set_var("AWSIDEMAN_CACHE_BACKEND", backend);
        let out = a.run(&["--output", "json", "cache", command]);
        let stderr = text(&out.stderr);
        assert!(out.status.success(), "{backend} {command}: {stderr}");
        assert_eq!(stderr.matches("warning").count(), 1, "{stderr}");
        assert!(
            stderr.contains("team-cache")
                && stderr.contains("forge")
                && stderr.contains("cache encryption enable"),
            "{backend} {command}: {stderr}"
        );
    }
    // Encrypted, or not shared: nothing to say.
    a.set_var("AWSIDEMAN_CACHE_ENCRYPTION", "true");
    a.set_var("AWSIDEMAN_CACHE_KEY_SOURCE", "env");
    a.set_var(
        "AWSIDEMAN_CACHE_KEY",
        "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    );
    let out = a.run(&["--output", "json", "cache", "status"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("forge"),
        "{}",
        text(&out.stderr)
    );
    a.remove_var("AWSIDEMAN_CACHE_ENCRYPTION");
    a.set_var("AWSIDEMAN_CACHE_BACKEND", "file");
    let out = a.run(&["--output", "json", "cache", "health"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
}
