//! `sso discover`, `user list`, `user get` against moto.

use awsideman::aws::service::Service;
use serde_json::json;

use crate::common::TestEnv;

/// A world with an instance discovered and three users, one of them in a group.
fn seeded() -> (TestEnv, String, Vec<String>) {
    let t = TestEnv::new();
    let store = t.discover();
    let ids = vec![
        t.seed_user(&store, "alice", "Alice", "Liddell"),
        t.seed_user(&store, "bob", "Bob", "Builder"),
        t.seed_user(&store, "carol", "Carol", "Danvers"),
    ];
    (t, store, ids)
}

#[test]
fn discover_saves_the_instance_into_the_profile() {
    let t = TestEnv::new();
    let out = t.json(&["sso", "discover"]);
    assert_eq!(out["saved"], true);
    let arn = out["Instances"][0]["InstanceArn"]
        .as_str()
        .unwrap()
        .to_string();
    let info = t.json(&["sso", "info"]);
    assert_eq!(info["sso_instance_arn"], arn.as_str());
    assert_eq!(info["region"], "us-east-1");
    assert!(
        info["identity_store_id"]
            .as_str()
            .unwrap()
            .starts_with("d-")
    );
    let profiles = t.json(&["profile", "list"]);
    assert_eq!(profiles["defaultProfile"], "default");
}

#[test]
fn user_list_in_json_table_and_text() {
    let (t, _, ids) = seeded();
    let out = t.json(&["user", "list"]);
    let users = out["Users"].as_array().unwrap();
    let mut names: Vec<_> = users
        .iter()
        .map(|u| u["UserName"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["alice", "bob", "carol"]);
    assert!(users.iter().any(|u| u["UserId"] == ids[0].as_str()));

    let table = t.ok(&["--output", "table", "user", "list"]);
    let header = table.lines().next().unwrap();
    assert!(
        header.starts_with("USER NAME") && header.contains("EMAIL"),
        "{table}"
    );
    assert!(
        table.contains("alice@example.com") && table.contains("Bob Builder"),
        "{table}"
    );

    let tsv = t.ok(&["--output", "text", "user", "list"]);
    let mut lines = tsv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "User name\tDisplay name\tEmail\tUser ID"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .any(|r| r[0] == "carol" && r[2] == "carol@example.com")
    );

    let limited = t.json(&["user", "list", "--limit", "2"]);
    assert_eq!(limited["Users"].as_array().unwrap().len(), 2);
    assert_eq!(limited["Truncated"], true);
    t.fails(2, &["user", "list", "--limit", "many"]);
}

#[test]
fn user_get_by_name_id_and_email_with_groups() {
    let (t, store, ids) = seeded();
    let group = t.aws(
        Service::IdentityStore,
        "CreateGroup",
        json!({"IdentityStoreId": store, "DisplayName": "admins"}),
    );
    let group_id = group["GroupId"].as_str().unwrap();
    t.aws(
        Service::IdentityStore,
        "CreateGroupMembership",
        json!({"IdentityStoreId": store, "GroupId": group_id, "MemberId": {"UserId": ids[0]}}),
    );
    for who in ["alice", ids[0].as_str(), "alice@example.com"] {
        let user = t.json(&["user", "get", who]);
        assert_eq!(user["UserName"], "alice", "by {who}");
        assert_eq!(user["UserId"], ids[0].as_str());
        assert_eq!(user["Name"]["FamilyName"], "Liddell");
        assert_eq!(user["Groups"][0]["DisplayName"], "admins");
        assert_eq!(user["Groups"][0]["GroupId"], group_id);
    }
    let table = t.ok(&["--output", "table", "user", "get", "bob"]);
    assert!(table.contains("Bob Builder"), "{table}");
    let bob = t.json(&["user", "get", "bob"]);
    assert_eq!(bob["Groups"], json!([]));
}

#[test]
fn unknown_user_exits_1_naming_it() {
    let (t, _, _) = seeded();
    let err = t.fails(1, &["user", "get", "mallory"]);
    assert!(
        err.contains("mallory") && err.contains("not found"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let err = t.fails(1, &["user", "get", "a1b2c3d4-1111-2222-3333-444455556666"]);
    assert!(err.contains("not found"), "{err}");
}

#[test]
fn a_profile_without_instance_is_a_config_error() {
    let t = TestEnv::new();
    let err = t.fails(2, &["user", "list"]);
    assert!(err.contains("sso discover"), "{err}");
}
