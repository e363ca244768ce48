//! The dynamodb and hybrid backends through the binary: one machine warms, another reads;
//! writes invalidate across machines; an unreachable table costs a warning, never a command.

use awsideman::aws::service::Service;

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
        second.contains(&("dynamodb".into(), "GetItem".into())),
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
}
