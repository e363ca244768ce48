//! Every `group` command against moto; `group update` (not implemented by moto) against the
//! loopback fixture.

use serde_json::{Value, json};

use crate::common::fixture::{Fixture, Reply};
use crate::common::{TestEnv, text};
use crate::users::{STORE, fixture_world, identitystore_calls, sorted};

/// A world with users alice, bob and carol, and group `admins` holding alice and bob.
struct World {
    t: TestEnv,
    store: String,
    /// alice, bob, carol.
    users: Vec<String>,
    admins: String,
}

fn world() -> World {
    let t = TestEnv::new();
    let store = t.instance().store;
    let users = vec![
        t.seed_user(&store, "alice", "Alice", "Liddell"),
        t.seed_user(&store, "bob", "Bob", "Builder"),
        t.seed_user(&store, "carol", "Carol", "Danvers"),
    ];
    let admins = t.seed_group(&store, "admins", &[&users[0], &users[1]]);
    World {
        t,
        store,
        users,
        admins,
    }
}

/// Runs a command that must succeed: (its JSON, its stderr).
fn json_and_stderr(t: &TestEnv, args: &[&str]) -> (Value, String) {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    let out = t.run(&all);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stderr}");
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", text(&out.stdout)));
    (json, stderr)
}

/// The user names of a group, sorted, as `group members` reports them.
fn member_names(t: &TestEnv, group: &str) -> Vec<String> {
    sorted(&t.json(&["group", "members", group])["Members"], "UserName")
}

#[test]
fn group_create_then_get_list_and_find_reflect_it() {
    let w = world();
    let t = &w.t;
    let created = t.json(&[
        "group",
        "create",
        "--name",
        "platform",
        "--description",
        "Platform engineering team",
    ]);
    let id = created["GroupId"].as_str().expect("GroupId").to_string();
    assert_eq!(created["DisplayName"], "platform");
    assert_eq!(created["Description"], "Platform engineering team");
    assert_eq!(created["IdentityStoreId"], w.store.as_str());

    let got = t.json(&["group", "get", "platform"]);
    assert_eq!(got["GroupId"], id.as_str());
    assert_eq!(got["MemberCount"], 0);
    assert_eq!(got["Members"], json!([]));
    let listed = t.json(&["group", "list"]);
    assert_eq!(
        sorted(&listed["Groups"], "DisplayName"),
        ["admins", "platform"]
    );

    let names = |args: &[&str]| sorted(&t.json(args)["Groups"], "DisplayName");
    assert_eq!(names(&["group", "list", "--filter", "PLAT"]), ["platform"]);
    assert_eq!(
        names(&["group", "find", "engineering"]),
        ["platform"],
        "description"
    );
    assert_eq!(names(&["group", "find", "a"]), ["admins", "platform"]);
    assert_eq!(names(&["group", "find", "^zzz"]), Vec::<String>::new());
    let cut = t.json(&["group", "list", "--limit", "1"]);
    assert_eq!(cut["Groups"].as_array().unwrap().len(), 1);
    assert_eq!(cut["Truncated"], true);

    let tsv = t.ok(&["--output", "text", "group", "find", "^platform$"]);
    assert_eq!(
        tsv,
        format!("Group\tDescription\tGroup ID\nplatform\tPlatform engineering team\t{id}\n")
    );
}

#[test]
fn group_usage_errors_exit_2() {
    let w = world();
    let t = &w.t;
    let err = t.fails(2, &["group", "create", "--description", "x"]);
    assert!(err.contains("--name"), "{err}");
    let err = t.fails(2, &["group", "list", "--filter", "a("]);
    assert!(err.contains("invalid regular expression"), "{err}");
    t.fails(2, &["group", "find", "*"]);
    t.fails(2, &["group", "add-member", "admins"]);
    let err = t.fails(2, &["group", "update", "admins"]);
    assert!(err.contains("nothing to change"), "{err}");
    let err = t.fails(1, &["group", "create", "--name", "admins"]);
    assert!(
        err.contains("CreateGroup") && err.contains("Conflict"),
        "{err}"
    );
}

#[test]
fn unknown_group_or_user_exits_1_naming_it() {
    let w = world();
    let t = &w.t;
    for args in [
        &["group", "get", "nosuch"][..],
        &["group", "members", "nosuch"][..],
        &["group", "delete", "nosuch", "--yes"][..],
        &["group", "add-member", "nosuch", "alice"][..],
        &["group", "update", "nosuch", "--name", "x"][..],
    ] {
        let err = t.fails(1, args);
        assert!(
            err.contains("group \"nosuch\" not found"),
            "{args:?}: {err}"
        );
    }
    let err = t.fails(1, &["group", "get", "a1b2c3d4-1111-2222-3333-444455556666"]);
    assert!(err.contains("not found"), "{err}");
    let err = t.fails(1, &["group", "add-member", "admins", "carol", "mallory"]);
    assert!(err.contains("user \"mallory\" not found"), "{err}");
    assert_eq!(
        member_names(t, "admins"),
        ["alice", "bob"],
        "carol was not added"
    );
}

#[test]
fn members_and_get_show_user_names_fetched_per_member() {
    let w = world();
    let t = &w.t;
    let (members, stderr) = json_and_stderr(t, &["--debug", "group", "members", "admins"]);
    assert_eq!(members["GroupId"], w.admins.as_str());
    assert_eq!(members["DisplayName"], "admins");
    let mut list = members["Members"].as_array().unwrap().clone();
    list.sort_by_key(|m| m["UserName"].as_str().unwrap_or_default().to_string());
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["UserId"], w.users[0].as_str());
    assert_eq!(list[0]["UserName"], "alice");
    assert_eq!(list[0]["DisplayName"], "Alice Liddell");
    assert_eq!(list[1]["UserName"], "bob");
    assert!(
        list.iter()
            .all(|m| m["MembershipId"].as_str().is_some_and(|s| !s.is_empty()))
    );
    let mut calls = identitystore_calls(&stderr);
    calls.sort();
    assert_eq!(
        calls,
        [
            "DescribeGroup",
            "DescribeUser",
            "DescribeUser",
            "GetGroupId",
            "ListGroupMemberships"
        ],
        "{stderr}"
    );

    let got = t.json(&["group", "get", &w.admins]);
    assert_eq!(got["DisplayName"], "admins");
    assert_eq!(got["Description"], "admins team");
    assert_eq!(got["MemberCount"], 2);
    assert_eq!(sorted(&got["Members"], "UserName"), ["alice", "bob"]);
    let table = t.ok(&["--output", "table", "group", "get", "admins"]);
    assert!(
        table.contains("Members:") && table.contains("Alice Liddell"),
        "{table}"
    );
}

#[test]
fn add_and_remove_members_round_trip() {
    let w = world();
    let t = &w.t;
    let (added, stderr) = json_and_stderr(
        t,
        &[
            "group",
            "add-member",
            "admins",
            "carol@example.com",
            "alice",
        ],
    );
    assert_eq!(added["GroupId"], w.admins.as_str());
    let results = added["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["UserName"], "carol");
    assert_eq!(results[0]["UserId"], w.users[2].as_str());
    assert_eq!(results[0]["status"], "added");
    assert_eq!(results[1]["UserName"], "alice");
    assert_eq!(results[1]["status"], "already-member");
    assert!(
        stderr.contains("alice is already a member of admins"),
        "{stderr}"
    );
    assert_eq!(member_names(t, "admins"), ["alice", "bob", "carol"]);
    assert_eq!(
        sorted(
            &t.json(&["user", "groups", "carol"])["Groups"],
            "DisplayName"
        ),
        ["admins"]
    );

    // Not on a terminal and no --yes: nothing is removed.
    let err = t.fails(2, &["group", "remove-member", "admins", "bob", "carol"]);
    assert!(err.contains("--yes"), "{err}");
    // An unknown user stops everything before any change.
    let err = t.fails(
        1,
        &[
            "group",
            "remove-member",
            "admins",
            "bob",
            "mallory",
            "--yes",
        ],
    );
    assert!(err.contains("mallory"), "{err}");
    assert_eq!(member_names(t, "admins"), ["alice", "bob", "carol"]);

    let removed = t.json(&[
        "group",
        "remove-member",
        "admins",
        "bob",
        &w.users[2],
        "--yes",
    ]);
    let statuses: Vec<(&str, &str)> = removed["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["UserName"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(statuses, [("bob", "removed"), ("carol", "removed")]);
    assert_eq!(member_names(t, "admins"), ["alice"]);

    let (again, stderr) = json_and_stderr(t, &["group", "remove-member", "admins", "bob", "-y"]);
    assert_eq!(again["results"][0]["status"], "not-a-member");
    assert!(stderr.contains("bob is not a member of admins"), "{stderr}");
    assert_eq!(
        t.json(&["user", "groups", "bob"])["Groups"],
        json!([]),
        "bob's memberships are gone"
    );
}

#[test]
fn group_delete_needs_yes_off_a_terminal() {
    let w = world();
    let t = &w.t;
    let err = t.fails(2, &["group", "delete", "admins"]);
    assert!(err.contains("--yes") && err.contains("admins"), "{err}");
    assert_eq!(t.json(&["group", "get", "admins"])["MemberCount"], 2);

    let deleted = t.json(&["group", "delete", "admins", "--yes"]);
    assert_eq!(
        deleted,
        json!({"GroupId": w.admins, "DisplayName": "admins", "deleted": true})
    );
    let err = t.fails(1, &["group", "get", "admins"]);
    assert!(err.contains("admins") && err.contains("not found"), "{err}");
    assert_eq!(t.json(&["group", "list"])["Groups"], json!([]));
}

const GROUP_ID: &str = "906759c6a1-b1b2c3d4-1111-2222-3333-444455556666";

fn group_reply(name: &str, description: &str) -> String {
    json!({
        "GroupId": GROUP_ID,
        "DisplayName": name,
        "ExternalIds": [],
        "Description": description,
        "IdentityStoreId": STORE,
    })
    .to_string()
}

#[test]
fn group_update_sends_one_update_group() {
    let after = group_reply("platform-eng", "Platform engineering");
    let fixture = Fixture::start(vec![
        Reply::json(200, &group_reply("platform", "Platform team")),
        Reply::json(200, "{}"),
        Reply::json(200, &after),
    ]);
    let t = fixture_world(&fixture.url);
    let updated = t.json(&[
        "group",
        "update",
        GROUP_ID,
        "--description",
        "Platform engineering",
        "--name",
        "platform-eng",
    ]);
    assert_eq!(updated, serde_json::from_str::<Value>(&after).unwrap());
    let seen = fixture.requests();
    let targets: Vec<_> = seen
        .iter()
        .map(|r| r.header("x-amz-target").unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        targets,
        [
            "AWSIdentityStore.DescribeGroup",
            "AWSIdentityStore.UpdateGroup",
            "AWSIdentityStore.DescribeGroup"
        ]
    );
    let body: Value = serde_json::from_str(&seen[1].body).unwrap();
    assert_eq!(
        body,
        json!({
            "IdentityStoreId": STORE,
            "GroupId": GROUP_ID,
            "Operations": [
                {"AttributePath": "displayName", "AttributeValue": "platform-eng"},
                {"AttributePath": "description", "AttributeValue": "Platform engineering"},
            ],
        })
    );
}

#[test]
fn group_update_conflict_is_reported() {
    let fixture = Fixture::start(vec![
        Reply::json(200, &group_reply("platform", "Platform team")),
        Reply::json(
            400,
            r#"{"__type":"com.amazonaws.identitystore#ConflictException","Message":"Duplicate GroupDisplayName","Reason":"UNIQUENESS_CONSTRAINT_VIOLATION"}"#,
        ),
    ]);
    let t = fixture_world(&fixture.url);
    let err = t.fails(1, &["group", "update", GROUP_ID, "--name", "admins"]);
    assert_eq!(
        err.trim(),
        "awsideman: error: identitystore UpdateGroup: ConflictException: Duplicate GroupDisplayName"
    );
    let body: Value = serde_json::from_str(&fixture.requests()[1].body).unwrap();
    assert_eq!(
        body["Operations"],
        json!([{"AttributePath": "displayName", "AttributeValue": "admins"}])
    );
}
