//! `bulk assign` / `bulk revoke` on moto: a 200-row file applied, applied again with no
//! change, bad rows reported by line with nothing changed, and the Python tool's own example.

use serde_json::{Value, json};

use crate::common::TestEnv;
use crate::common::text;

struct World {
    t: TestEnv,
}

fn world(users: usize) -> World {
    let t = TestEnv::new();
    t.seed_org();
    let instance = t.instance();
    for i in 0..users {
        t.seed_user(
            &instance.store,
            &format!("user{i:02}"),
            "User",
            &format!("{i}"),
        );
    }
    t.seed_permission_set(&instance.arn, "ReadOnly", &[], None);
    t.seed_permission_set(&instance.arn, "Admin", &[], None);
    World { t }
}

const ACCOUNTS: [&str; 4] = ["prod-app", "prod-data", "dev-sandbox", "security-audit"];

fn statuses(doc: &Value) -> Vec<String> {
    doc["Rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Status"].as_str().unwrap().to_string())
        .collect()
}

fn assigned(t: &TestEnv, set: &str) -> usize {
    t.json(&["--no-cache", "assignment", "list", "--permission-set", set])["AccountAssignments"]
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn a_file_is_applied_once_and_again_with_no_change() {
    let w = world(50);
    let mut csv = String::from("principal_name,permission_set_name,account_name,principal_type\n");
    let mut entries = Vec::new();
    for i in 0..50 {
        for account in ACCOUNTS {
            csv.push_str(&format!("user{i:02},ReadOnly,{account},USER\n"));
            entries.push(json!({"principal_name": format!("user{i:02}"),
                "permission_set_name": "ReadOnly", "account_name": account,
                "principal_type": "USER"}));
        }
    }
    let file = w.t.write("onboarding.csv", &csv);
    let plan =
        w.t.json(&["bulk", "assign", file.to_str().unwrap(), "--dry-run"]);
    assert!(statuses(&plan).iter().all(|s| s == "DRY-RUN"));
    assert_eq!(assigned(&w.t, "ReadOnly"), 0, "a dry run changes nothing");

    let done = w.t.json(&["bulk", "assign", file.to_str().unwrap()]);
    assert_eq!(done["Summary"]["Succeeded"], 200, "{}", done["Summary"]);
    assert_eq!(assigned(&w.t, "ReadOnly"), 200);

    let json_file = w.t.write(
        "onboarding.json",
        &json!({ "assignments": entries }).to_string(),
    );
    let again = w.t.json(&["bulk", "assign", json_file.to_str().unwrap()]);
    assert_eq!(again["Summary"]["Skipped"], 200, "{}", again["Summary"]);
    assert!(statuses(&again).iter().all(|s| s == "SKIPPED"));

    // Revoking needs --yes off a terminal, then removes exactly the file's rows.
    let some: String =
        std::iter::once("principal_name,permission_set_name,account_name\n".to_string())
            .chain((0..5).map(|i| format!("user{i:02},ReadOnly,prod-app\n")))
            .collect();
    let revoke = w.t.write("offboarding.csv", &some);
    let refused = w.t.fails(2, &["bulk", "revoke", revoke.to_str().unwrap()]);
    assert!(refused.contains("--yes"), "{refused}");
    let gone =
        w.t.json(&["bulk", "revoke", revoke.to_str().unwrap(), "--force"]);
    assert_eq!(gone["Summary"]["Succeeded"], 5);
    assert_eq!(assigned(&w.t, "ReadOnly"), 195);
    let twice =
        w.t.json(&["bulk", "revoke", revoke.to_str().unwrap(), "--yes"]);
    assert_eq!(twice["Summary"]["Skipped"], 5);
}

#[test]
fn bad_rows_are_named_by_line_and_nothing_changes() {
    let w = world(12);
    let mut csv = String::from("principal_name,permission_set_name,account_name,principal_type\n");
    let mut good = 0;
    for i in 0..12 {
        for account in ACCOUNTS {
            if good < 47 {
                csv.push_str(&format!("user{i:02},Admin,{account},USER\n"));
                good += 1;
            }
        }
    }
    // Lines 49, 50 and 51: an unknown user, an unknown account, a duplicate of line 2.
    csv.push_str("nobody,Admin,prod-app,USER\n");
    csv.push_str("user00,Admin,no-such-account,USER\n");
    csv.push_str("user00,Admin,prod-app,USER\n");
    let file = w.t.write("batch.csv", &csv);
    let out =
        w.t.run(&["--output", "json", "bulk", "assign", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("3 of 50 row(s) are invalid (lines 49, 50, 51)"),
        "{err}"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = doc["Rows"].as_array().unwrap();
    let detail = |i: usize| rows[i]["Detail"].as_str().unwrap_or_default().to_string();
    assert!(detail(47).contains("nobody"), "{}", rows[47]);
    assert!(detail(48).contains("no-such-account"), "{}", rows[48]);
    assert_eq!(detail(49), "duplicate of line 2");
    assert_eq!(rows[49]["Line"], 51);
    assert_eq!(assigned(&w.t, "Admin"), 0, "nothing changed");

    let out = w.t.run(&[
        "--output",
        "json",
        "bulk",
        "assign",
        file.to_str().unwrap(),
        "--continue-on-error",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "invalid rows still fail the run"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["Summary"]["Succeeded"], 47, "{}", doc["Summary"]);
    assert_eq!(assigned(&w.t, "Admin"), 47);
}

/// The example of the Python awsideman's documentation, unchanged.
#[test]
fn the_python_tools_example_file_works_unchanged() {
    use awsideman::testing::Service;
    let t = TestEnv::new();
    let org = t.seed_org();
    let instance = t.instance();
    for name in ["Production", "Development"] {
        let created = t.aws(
            Service::Organizations,
            "CreateAccount",
            json!({"AccountName": name, "Email": format!("{name}@example.com")}),
        );
        assert!(created["CreateAccountStatus"]["AccountId"].is_string());
    }
    let john = t.seed_user(&instance.store, "john.doe", "John", "Doe");
    let jane = t.seed_user(&instance.store, "jane.smith", "Jane", "Smith");
    t.seed_group(&instance.store, "Developers", &[&john, &jane]);
    t.seed_permission_set(&instance.arn, "ReadOnlyAccess", &[], None);
    t.seed_permission_set(&instance.arn, "PowerUserAccess", &[], None);
    let file = t.write(
        "assignments.csv",
        "principal_name,permission_set_name,account_name,principal_type\n\
         john.doe,ReadOnlyAccess,Production,USER\n\
         jane.smith,PowerUserAccess,Development,USER\n\
         Developers,PowerUserAccess,Development,GROUP\n",
    );
    let done = t.json(&["bulk", "assign", file.to_str().unwrap()]);
    assert_eq!(done["Summary"]["Succeeded"], 3, "{done}");
    // (moto does not provision on assignment as AWS does, so read by principal.)
    let review = t.json(&["access-review", "principal", "jane.smith"]);
    let ways: Vec<&str> = review["Access"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Access"].as_str().unwrap())
        .collect();
    assert_eq!(ways, ["direct", "via group Developers"], "{review}");
    assert!(org.accounts.contains_key("prod-app"));
}

/// Identity Center answering ThrottlingException beyond 20 requests in any second (a
/// loopback proxy in front of moto, stricter than the client's burst allows): a 200-row file
/// still completes with no failed row, the client slowing down and retrying.
#[test]
fn a_throttled_identity_center_still_takes_every_row() {
    use std::collections::VecDeque;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use crate::common::fixture::{Gate, Reply};

    let mut w = world(50);
    let recent: Mutex<VecDeque<Instant>> = Mutex::new(VecDeque::new());
    let throttled = Arc::new(AtomicUsize::new(0));
    let counted = throttled.clone();
    let gate = Gate::intercepting(&crate::common::moto(), move |_, _| {
        let now = Instant::now();
        let mut recent = recent.lock().unwrap();
        while recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            recent.pop_front();
        }
        if recent.len() >= 20 {
            counted.fetch_add(1, Ordering::SeqCst);
            return Some(Reply {
                status: 400,
                headers: vec![("x-amzn-errortype".into(), "ThrottlingException".into())],
                body: r#"{"message":"Rate exceeded"}"#.into(),
            });
        }
        recent.push_back(now);
        None
    });
    w.t.set_var("AWS_ENDPOINT_URL_SSO_ADMIN", gate.url.as_str());
    w.t.set_var("AWS_ENDPOINT_URL_IDENTITYSTORE", gate.url.as_str());
    let mut csv = String::from("principal_name,permission_set_name,account_name,principal_type\n");
    for i in 0..50 {
        for account in ACCOUNTS {
            csv.push_str(&format!("user{i:02},ReadOnly,{account},USER\n"));
        }
    }
    let file = w.t.write("throttled.csv", &csv);
    // No cached answers: every read goes through the proxy too.
    let out = w.t.run(&[
        "--no-cache",
        "--output",
        "json",
        "bulk",
        "assign",
        file.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let done: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(done["Summary"]["Succeeded"], 200, "{}", done["Summary"]);
    assert_eq!(done["Summary"]["Failed"], 0);
    assert!(
        throttled.load(Ordering::SeqCst) > 0,
        "the proxy throttled some requests"
    );
    assert_eq!(assigned(&w.t, "ReadOnly"), 200);
}
