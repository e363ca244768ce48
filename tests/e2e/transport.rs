//! The transport seen from outside: the exact request, retries, errors, time bounds.

use std::time::{Duration, Instant};

use crate::common::fixture::{Fixture, Reply};
use crate::common::{TestEnv, requests, text};

const STORE: &str = crate::common::FIXTURE_STORE;

/// A world whose identitystore endpoint is `url`, with static keys and an instance set.
fn pointed_at(url: &str) -> TestEnv {
    TestEnv::at_fixture("AWS_ENDPOINT_URL_IDENTITYSTORE", url, "eu-west-1")
}

const USERS: &str = r#"{"Users":[{"UserId":"a1b2c3d4-1111-2222-3333-444455556666","UserName":"zed","IdentityStoreId":"d-0123456789"}],"NextToken":null}"#;

#[test]
fn exact_request_and_throttling_retried() {
    let throttled = Reply {
        status: 400,
        headers: vec![(
            "x-amzn-errortype".into(),
            "ThrottlingException:http://internal".into(),
        )],
        body: r#"{"message":"Rate exceeded"}"#.into(),
    };
    let fixture = Fixture::start(vec![throttled.clone(), throttled, Reply::json(200, USERS)]);
    let t = pointed_at(&fixture.url);
    let out = t.run(&["--debug", "--output", "json", "user", "list"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let users: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(users["Users"][0]["UserName"], "zed");
    assert_eq!(requests(&stderr).len(), 3, "{stderr}");
    assert!(stderr.contains("retrying"), "{stderr}");

    let seen = fixture.requests();
    assert_eq!(seen.len(), 3);
    let r = &seen[0];
    assert_eq!(r.line, "POST / HTTP/1.1");
    assert_eq!(r.header("x-amz-target"), Some("AWSIdentityStore.ListUsers"));
    assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.1"));
    let auth = r.header("authorization").unwrap();
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDFIXTURE/"),
        "{auth}"
    );
    assert!(
        auth.contains("/eu-west-1/identitystore/aws4_request"),
        "{auth}"
    );
    let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"IdentityStoreId": STORE, "MaxResults": 100})
    );
}

#[test]
fn aws_errors_are_one_line_with_service_operation_and_code() {
    let fixture = Fixture::start(vec![Reply::json(
        400,
        r#"{"__type":"com.amazonaws.identitystore#AccessDeniedException","Message":"not allowed"}"#,
    )]);
    let t = pointed_at(&fixture.url);
    let err = t.fails(1, &["user", "list"]);
    assert_eq!(
        err.trim(),
        "awsideman: error: identitystore ListUsers: AccessDeniedException: not allowed"
    );
    assert_eq!(fixture.requests().len(), 1, "a 4xx is not retried");
}

#[test]
fn html_500_after_retries() {
    let fixture = Fixture::start(vec![Reply {
        status: 500,
        headers: vec![("Content-Type".into(), "text/html".into())],
        body: "<!DOCTYPE html><title>500</title>".into(),
    }]);
    let mut t = pointed_at(&fixture.url);
    t.set_var("AWS_MAX_ATTEMPTS", "2");
    let err = t.fails(1, &["user", "list"]);
    assert!(err.contains("HTTP 500"), "{err}");
    assert_eq!(fixture.requests().len(), 2, "AWS_MAX_ATTEMPTS is honoured");
}

#[test]
fn dead_endpoint_fails_fast_with_one_line() {
    let t = pointed_at("http://127.0.0.1:1");
    let started = Instant::now();
    let err = t.fails(1, &["user", "list"]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("identitystore ListUsers") && err.contains("3 attempts"),
        "{err}"
    );
}

#[test]
fn stalled_endpoint_times_out() {
    let mut t = pointed_at(&Fixture::black_hole());
    t.set_var("AWSIDEMAN_READ_TIMEOUT_MS", "300");
    t.set_var("AWS_MAX_ATTEMPTS", "2");
    let started = Instant::now();
    let err = t.fails(1, &["user", "list"]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(
        err.to_lowercase().contains("timeout") || err.to_lowercase().contains("timed out"),
        "{err}"
    );
}

#[test]
fn invalid_retry_settings_are_config_errors() {
    let mut t = pointed_at("http://127.0.0.1:1");
    t.set_var("AWS_MAX_ATTEMPTS", "zero");
    let err = t.fails(2, &["user", "list"]);
    assert!(err.contains("AWS_MAX_ATTEMPTS"), "{err}");
}
