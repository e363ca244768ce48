//! `status check` and `status cleanup`. moto lacks DescribeInstance and the request status
//! listings, and answers ListAccountsForProvisionedPermissionSet unlike AWS: a gate in front
//! of moto answers those with AWS's documented replies; everything else is moto's.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};

use crate::common::fixture::{Gate, Reply};
use crate::common::seed::Instance;
use crate::common::{TestEnv, moto, requests, text};

/// A world with a user, a group and a permission set assigned in prod-app, seen through a
/// gate whose answers turn unhealthy while `sick` is set: a failed provisioning and the
/// permission set out of date in prod-app.
struct World {
    t: TestEnv,
    sick: Arc<AtomicBool>,
    prod_app: String,
    instance: Instance,
    _gate: Gate,
}

fn world() -> World {
    let mut t = TestEnv::new();
    let org = t.seed_org();
    let instance = t.instance();
    let prod_app = org.accounts["prod-app"].clone();
    let alice = t.seed_user(&instance.store, "alice", "Alice", "Able");
    let admins = t.seed_group(&instance.store, "Admins", &[&alice]);
    let ps = t.seed_permission_set(&instance.arn, "Admin", &[], None);
    t.seed_assignment(&instance.arn, &ps, "USER", &alice, &prod_app);
    t.seed_assignment(&instance.arn, &ps, "GROUP", &admins, &prod_app);
    let sick = Arc::new(AtomicBool::new(false));
    let (flag, arn, store, account) = (
        sick.clone(),
        instance.arn.clone(),
        instance.store.clone(),
        prod_app.clone(),
    );
    let gate = Gate::intercepting(&moto(), move |op, body| {
        let sick = flag.load(Ordering::SeqCst);
        let reply = |v: Value| Some(Reply::json(200, &v.to_string()));
        match op {
            "DescribeInstance" => reply(json!({
                "InstanceArn": arn, "IdentityStoreId": store, "Status": "ACTIVE", "Name": "test"
            })),
            "ListPermissionSetProvisioningStatus" => {
                let failed = sick && body.contains("\"FAILED\"");
                let items = if failed {
                    json!([{"RequestId": "req-failed-1", "Status": "FAILED", "CreatedDate": 1.7e9}])
                } else {
                    json!([])
                };
                reply(json!({"PermissionSetsProvisioningStatus": items}))
            }
            "ListAccountAssignmentCreationStatus" => {
                reply(json!({"AccountAssignmentsCreationStatus": []}))
            }
            "ListAccountAssignmentDeletionStatus" => {
                reply(json!({"AccountAssignmentsDeletionStatus": []}))
            }
            "ListAccountsForProvisionedPermissionSet" => {
                if body.contains("LATEST_PERMISSION_SET_NOT_PROVISIONED") {
                    let stale = if sick { json!([account]) } else { json!([]) };
                    reply(json!({"AccountIds": stale}))
                } else {
                    reply(json!({"AccountIds": [account]}))
                }
            }
            _ => None,
        }
    });
    t.set_var("AWS_ENDPOINT_URL_SSO_ADMIN", gate.url.as_str());
    World {
        t,
        sick,
        prod_app,
        instance,
        _gate: gate,
    }
}

fn check_results(doc: &Value) -> Vec<(String, String)> {
    doc["Checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["Check"].as_str().unwrap().to_string(),
                c["Result"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn problems_of(doc: &Value, check: &str) -> Vec<Value> {
    doc["Problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["Check"] == check)
        .cloned()
        .collect()
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)))
}

#[test]
fn a_healthy_instance_exits_0_and_problems_exit_3() {
    let w = world();
    let out = w.t.run(&["--debug", "--output", "json", "status", "check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc = json_of(&out);
    assert_eq!(doc["Healthy"], true);
    assert!(check_results(&doc).iter().all(|(_, r)| r == "ok"), "{doc}");
    // Live: the same check again asks AWS again (only the names of permission sets may
    // come from the cache).
    let live = |stderr: &[u8]| -> Vec<(String, String)> {
        requests(&text(stderr))
            .into_iter()
            .filter(|(_, op)| op != "DescribePermissionSet")
            .collect()
    };
    let first = live(&out.stderr);
    let again = w.t.run(&["--debug", "--output", "json", "status", "check"]);
    assert_eq!(live(&again.stderr), first);
    assert!(first.contains(&("sso-admin".into(), "DescribeInstance".into())));

    // A failed provisioning, the set out of date in prod-app, and an orphan: bob is
    // assigned, then deleted.
    w.sick.store(true, Ordering::SeqCst);
    let bob = w.t.seed_user(&w.instance.store, "bob", "Bob", "Baker");
    let list = w.t.json(&["permission-set", "list"]);
    let ps = list["PermissionSets"][0]["PermissionSetArn"]
        .as_str()
        .unwrap()
        .to_string();
    w.t.seed_assignment(&w.instance.arn, &ps, "USER", &bob, &w.prod_app);
    w.t.ok(&["user", "delete", "bob", "--yes"]);

    let out = w.t.run(&["--output", "json", "status", "check"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).starts_with("awsideman: status check: 3 problem(s) found"),
        "{}",
        text(&out.stderr)
    );
    let doc = json_of(&out);
    assert_eq!(doc["Healthy"], false);
    let failed = problems_of(&doc, "permission-set-provisioning");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["RequestId"], "req-failed-1");
    let outdated = problems_of(&doc, "outdated-permission-sets");
    assert_eq!(outdated.len(), 1);
    assert_eq!(outdated[0]["AccountName"], "prod-app");
    assert_eq!(outdated[0]["PermissionSetName"], "Admin");
    let orphans = problems_of(&doc, "orphaned-assignments");
    assert_eq!(orphans.len(), 1, "{doc}");
    assert_eq!(orphans[0]["PrincipalId"], bob.as_str());
    assert!(problems_of(&doc, "former-accounts").is_empty());

    // cleanup --dry-run changes nothing; --yes removes exactly the orphan.
    let dry = w.t.json(&["status", "cleanup", "--dry-run"]);
    assert_eq!(dry["Orphans"].as_array().unwrap().len(), 1);
    assert_eq!(dry["Orphans"][0]["Status"], "DRY-RUN");
    let still = w.t.run(&["--output", "json", "status", "check"]);
    assert_eq!(
        problems_of(&json_of(&still), "orphaned-assignments").len(),
        1
    );
    let refused = w.t.fails(2, &["status", "cleanup"]);
    assert!(refused.contains("--yes"), "{refused}");
    let done = w.t.json(&["status", "cleanup", "--yes"]);
    assert_eq!(done["Orphans"][0]["Status"], "SUCCEEDED", "{done}");
    let after = w.t.run(&["--output", "json", "status", "check"]);
    let after = json_of(&after);
    assert!(
        problems_of(&after, "orphaned-assignments").is_empty(),
        "{after}"
    );
    let kept =
        w.t.json(&["--no-cache", "assignment", "list", "--account", "prod-app"]);
    assert_eq!(
        kept["AccountAssignments"].as_array().unwrap().len(),
        2,
        "alice's and Admins' assignments stay: {kept}"
    );
}

/// moto answers the status operations with HTTP 500: the checks say "could not be read"
/// (exit 1), never "healthy".
#[test]
fn unreadable_checks_are_not_reported_healthy() {
    let mut t = TestEnv::new();
    t.seed_org();
    t.instance();
    t.set_var("AWS_MAX_ATTEMPTS", "1");
    let out = t.run(&["--output", "json", "status", "check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let doc = json_of(&out);
    assert_eq!(doc["Healthy"], false);
    let results = check_results(&doc);
    assert!(results.contains(&("instance".into(), "could not be read".into())));
    assert!(
        text(&out.stderr).contains("could not be read"),
        "{}",
        text(&out.stderr)
    );
}
