//! `sso discover` and every `user` command against moto; `user update` (not implemented
//! by moto) against the loopback fixture.

use awsideman::testing::Service;
use serde_json::{Value, json};

use crate::common::FIXTURE_STORE;
use crate::common::fixture::{Fixture, Reply};
use crate::common::{TestEnv, requests, text};

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
fn discover_in_another_region_saves_that_region_and_says_so() {
    let t = TestEnv::new();
    let first = t.json(&["sso", "discover"]);
    assert_eq!(first["region"], "us-east-1");
    let out = t.run(&["-r", "eu-west-1", "-o", "table", "sso", "discover"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let said = stdout.lines().next().unwrap();
    assert!(
        said.starts_with("saved instance arn:aws:sso:::instance/"),
        "{stdout}"
    );
    assert!(said.contains("region eu-west-1, was us-east-1"), "{stdout}");
    let info = t.json(&["sso", "info"]);
    assert_eq!(info["region"], "eu-west-1", "{info}");
    // Later commands ask the saved region without --region; the same region again says
    // nothing about a change.
    t.json(&["user", "list"]);
    let again = t.ok(&["-r", "eu-west-1", "-o", "table", "sso", "discover"]);
    let said = again.lines().next().unwrap();
    assert!(
        said.contains("(identity store d-") && said.contains(", region eu-west-1)"),
        "{again}"
    );
    assert!(!said.contains("was"), "{again}");
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
fn a_fresh_machine_finds_its_instance_without_a_configuration() {
    let t = TestEnv::new();
    let listed = t.json(&["user", "list"]);
    assert_eq!(listed["Users"], serde_json::json!([]), "{listed}");
}

// ---- user create / find / groups / delete / update ----

/// A world whose identitystore endpoint is a loopback fixture at `url`.
pub(crate) fn fixture_world(url: &str) -> TestEnv {
    TestEnv::at_fixture("AWS_ENDPOINT_URL_IDENTITYSTORE", url, "us-east-1")
}

/// The identity store of [`fixture_world`].
pub(crate) const STORE: &str = FIXTURE_STORE;

/// The identitystore operations a `--debug` run called, in order.
pub(crate) fn identitystore_calls(stderr: &str) -> Vec<String> {
    requests(stderr)
        .into_iter()
        .filter(|(service, _)| service == "identitystore")
        .map(|(_, op)| op)
        .collect()
}

/// The sorted values of `key` in the array `list`.
pub(crate) fn sorted(list: &Value, key: &str) -> Vec<String> {
    let mut values: Vec<String> = list
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .map(|v| v[key].as_str().unwrap_or_default().to_string())
        .collect();
    values.sort();
    values
}

#[test]
fn user_create_then_get_and_list_reflect_it() {
    let (t, store, _) = seeded();
    let created = t.json(&[
        "user",
        "create",
        "--username",
        "dora",
        "--display-name",
        "Dora Maar Markovitch",
        "--email",
        "dora@example.com",
    ]);
    let id = created["UserId"].as_str().expect("UserId").to_string();
    assert_eq!(created["UserName"], "dora");
    assert_eq!(created["DisplayName"], "Dora Maar Markovitch");
    assert_eq!(
        created["Name"]["GivenName"], "Dora",
        "defaulted from the display name"
    );
    assert_eq!(created["Name"]["FamilyName"], "Maar Markovitch");
    assert_eq!(created["Emails"][0]["Value"], "dora@example.com");
    assert_eq!(created["Emails"][0]["Primary"], true);
    assert_eq!(created["IdentityStoreId"], store.as_str());

    let got = t.json(&["user", "get", "dora@example.com"]);
    assert_eq!(got["UserId"], id.as_str());
    assert_eq!(got["Groups"], json!([]));
    let listed = t.json(&["user", "list"]);
    assert_eq!(
        sorted(&listed["Users"], "UserName"),
        ["alice", "bob", "carol", "dora"]
    );

    let explicit = t.json(&[
        "user",
        "create",
        "--username",
        "cher",
        "--display-name",
        "Cher",
        "--email",
        "cher@example.com",
        "--given-name",
        "Cherilyn",
        "--family-name",
        "Sarkisian",
    ]);
    assert_eq!(explicit["Name"]["GivenName"], "Cherilyn");
    assert_eq!(explicit["Name"]["FamilyName"], "Sarkisian");
    assert_eq!(explicit["Emails"][0]["Value"], "cher@example.com");
    assert_eq!(explicit["Emails"][0]["Primary"], true);
    // AWS takes one email (CreateUser Emails has at most one item): a second is refused
    // before anything is sent.
    let err = t.fails(
        2,
        &[
            "user",
            "create",
            "--username",
            "cher2",
            "--display-name",
            "Cher",
            "--email",
            "cher@example.com",
            "--email",
            "cher@home.example",
        ],
    );
    assert!(err.contains("at most 1"), "{err}");
}

#[test]
fn user_create_errors() {
    let (t, _, _) = seeded();
    let err = t.fails(
        2,
        &["user", "create", "--username", "x", "--display-name", "X Y"],
    );
    assert!(err.contains("--email"), "{err}");
    let err = t.fails(
        2,
        &[
            "user",
            "create",
            "--username",
            "madonna",
            "--display-name",
            "Madonna",
            "--email",
            "m@example.com",
        ],
    );
    assert!(err.contains("--family-name"), "{err}");
    let err = t.fails(
        1,
        &[
            "user",
            "create",
            "--username",
            "alice",
            "--display-name",
            "Alice Again",
            "--email",
            "alice2@example.com",
        ],
    );
    assert!(
        err.contains("CreateUser") && err.contains("Conflict"),
        "{err}"
    );
    assert_eq!(
        t.json(&["user", "list"])["Users"].as_array().unwrap().len(),
        3,
        "nothing was created"
    );
}

#[test]
fn user_filter_and_find_match_names_and_emails_case_insensitively() {
    let (t, _, _) = seeded();
    let names = |args: &[&str]| sorted(&t.json(args)["Users"], "UserName");
    assert_eq!(names(&["user", "list", "--filter", "^A"]), ["alice"]);
    assert_eq!(names(&["user", "list", "--filter", "BUILDER"]), ["bob"]);
    assert_eq!(
        names(&["user", "list", "--filter", "^carol@example\\.com$"]),
        ["carol"]
    );
    assert_eq!(names(&["user", "find", "r"]), ["bob", "carol"]);
    assert_eq!(
        names(&["user", "find", "DANVERS|liddell"]),
        ["alice", "carol"]
    );

    let cut = t.json(&["user", "find", "example", "--limit", "2"]);
    assert_eq!(cut["Users"].as_array().unwrap().len(), 2);
    assert_eq!(cut["Truncated"], true);
    let whole = t.json(&["user", "list", "--filter", "example", "--limit", "5"]);
    assert_eq!(whole["Users"].as_array().unwrap().len(), 3);
    assert!(whole.get("Truncated").is_none(), "{whole}");

    let none = t.run(&["--output", "json", "user", "find", "^nobody$"]);
    assert_eq!(none.status.code(), Some(0), "no match is exit 0");
    let none: Value = serde_json::from_slice(&none.stdout).unwrap();
    assert_eq!(none["Users"], json!([]));

    for args in [
        &["user", "list", "--filter", "(unclosed"][..],
        &["user", "find", "[z-a]"][..],
    ] {
        let err = t.fails(2, args);
        assert!(err.contains("invalid regular expression"), "{err}");
    }
    t.fails(2, &["user", "find"]);

    let tsv = t.ok(&["--output", "text", "user", "find", "^bob$"]);
    assert_eq!(tsv.lines().count(), 2, "{tsv}");
    assert!(
        tsv.lines()
            .nth(1)
            .unwrap()
            .starts_with("bob\tBob Builder\t")
    );
}

#[test]
fn user_groups_reads_only_the_users_memberships() {
    let (t, store, ids) = seeded();
    let admins = t.seed_group(&store, "admins", &[&ids[0]]);
    let devs = t.seed_group(&store, "devs", &[&ids[0], &ids[1]]);
    t.seed_group(&store, "ops", &[&ids[2]]);

    let out = t.run(&["--debug", "--output", "json", "user", "groups", "alice"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let groups: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(groups["UserId"], ids[0].as_str());
    assert_eq!(groups["UserName"], "alice");
    assert_eq!(sorted(&groups["Groups"], "DisplayName"), ["admins", "devs"]);
    let mut group_ids = sorted(&groups["Groups"], "GroupId");
    let mut expected = vec![admins, devs];
    group_ids.sort();
    expected.sort();
    assert_eq!(group_ids, expected);
    for g in groups["Groups"].as_array().unwrap() {
        assert!(g["MembershipId"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let mut calls = identitystore_calls(&stderr);
    calls.sort();
    assert_eq!(
        calls,
        [
            "DescribeGroup",
            "DescribeGroup",
            "DescribeUser",
            "GetUserId",
            "ListGroupMembershipsForMember"
        ],
        "never a scan of every group: {stderr}"
    );

    let carol = t.json(&["user", "groups", &ids[2]]);
    assert_eq!(sorted(&carol["Groups"], "DisplayName"), ["ops"]);
    let table = t.ok(&["--output", "table", "user", "groups", "bob"]);
    assert!(
        table.starts_with("GROUP") && table.contains("devs"),
        "{table}"
    );
    let err = t.fails(1, &["user", "groups", "mallory@example.com"]);
    assert!(err.contains("mallory@example.com"), "{err}");
}

#[test]
fn user_delete_needs_yes_off_a_terminal() {
    let (t, _, ids) = seeded();
    let err = t.fails(2, &["user", "delete", "bob"]);
    assert!(err.contains("--yes") && err.contains("bob"), "{err}");
    assert_eq!(
        t.json(&["user", "get", "bob"])["UserId"],
        ids[1].as_str(),
        "still there"
    );

    let deleted = t.json(&["user", "delete", "bob", "--yes"]);
    assert_eq!(
        deleted,
        json!({"UserId": ids[1], "UserName": "bob", "deleted": true})
    );
    let err = t.fails(1, &["user", "get", "bob"]);
    assert!(err.contains("bob") && err.contains("not found"), "{err}");
    assert_eq!(
        sorted(&t.json(&["user", "list"])["Users"], "UserName"),
        ["alice", "carol"]
    );
    let message = t.ok(&["--output", "table", "user", "delete", "-y", "carol"]);
    assert_eq!(message.trim(), format!("Deleted user carol ({}).", ids[2]));

    let err = t.fails(1, &["user", "delete", "mallory", "--yes"]);
    assert!(
        err.contains("mallory") && err.contains("not found"),
        "{err}"
    );
}

const ALICE_ID: &str = "906759c6a1-a1b2c3d4-1111-2222-3333-444455556666";

fn alice_reply(display: &str, given: &str, title: Option<&str>, email: &str) -> String {
    let mut user = json!({
        "UserName": "alice",
        "UserId": ALICE_ID,
        "ExternalIds": [],
        "Name": {"FamilyName": "Liddell", "GivenName": given},
        "DisplayName": display,
        "Emails": [{"Value": email, "Type": "work", "Primary": true}],
        "IdentityStoreId": STORE,
    });
    if let Some(title) = title {
        user["Title"] = title.into();
    }
    user.to_string()
}

#[test]
fn user_update_sends_one_update_user_with_the_attributes_given() {
    let before = alice_reply("Alice Liddell", "Alice", None, "alice@example.com");
    let after = alice_reply(
        "Alice P. Liddell",
        "Alicia",
        Some("Engineer"),
        "alice@corp.example.com",
    );
    let fixture = Fixture::start(vec![
        Reply::json(200, &before),
        Reply::json(200, "{}"),
        Reply::json(200, &after),
    ]);
    let t = fixture_world(&fixture.url);
    let updated = t.json(&[
        "user",
        "update",
        ALICE_ID,
        "--display-name",
        "Alice P. Liddell",
        "--given-name",
        "Alicia",
        "--title",
        "Engineer",
        "--email",
        "alice@corp.example.com",
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
            "AWSIdentityStore.DescribeUser",
            "AWSIdentityStore.UpdateUser",
            "AWSIdentityStore.DescribeUser"
        ]
    );
    let body: Value = serde_json::from_str(&seen[1].body).unwrap();
    assert_eq!(
        body,
        json!({
            "IdentityStoreId": STORE,
            "UserId": ALICE_ID,
            "Operations": [
                {"AttributePath": "displayName", "AttributeValue": "Alice P. Liddell"},
                {"AttributePath": "name.givenName", "AttributeValue": "Alicia"},
                {"AttributePath": "title", "AttributeValue": "Engineer"},
                {"AttributePath": "emails", "AttributeValue": [
                    {"Value": "alice@corp.example.com", "Type": "work", "Primary": true}
                ]},
            ],
        })
    );
    let describe: Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(
        describe,
        json!({"IdentityStoreId": STORE, "UserId": ALICE_ID})
    );
}

#[test]
fn user_update_family_name_only_and_aws_errors() {
    let before = alice_reply("Alice Liddell", "Alice", None, "alice@example.com");
    let fixture = Fixture::start(vec![
        Reply::json(200, &before),
        Reply::json(
            400,
            r#"{"__type":"com.amazonaws.identitystore#ValidationException","Message":"familyName is too long"}"#,
        ),
    ]);
    let t = fixture_world(&fixture.url);
    let err = t.fails(
        1,
        &["user", "update", ALICE_ID, "--family-name", "Pleasance"],
    );
    assert_eq!(
        err.trim(),
        "awsideman: error: identitystore UpdateUser: ValidationException: familyName is too long"
    );
    let seen = fixture.requests();
    assert_eq!(seen.len(), 2, "no describe after a failed update");
    let body: Value = serde_json::from_str(&seen[1].body).unwrap();
    assert_eq!(
        body["Operations"],
        json!([{"AttributePath": "name.familyName", "AttributeValue": "Pleasance"}])
    );
}

#[test]
fn user_update_usage_errors_touch_no_network() {
    let t = fixture_world("http://127.0.0.1:1");
    let err = t.fails(2, &["user", "update", ALICE_ID]);
    assert!(err.contains("nothing to change"), "{err}");
    let err = t.fails(2, &["user", "update", "--title", "X"]);
    assert!(err.contains("USER"), "{err}");
}

#[test]
fn user_update_of_an_unknown_user_exits_1() {
    let (t, _, _) = seeded();
    let err = t.fails(1, &["user", "update", "mallory", "--title", "Spy"]);
    assert!(
        err.contains("mallory") && err.contains("not found"),
        "{err}"
    );
}

/// A display name set by an identity provider can hold terminal escapes (window title,
/// clear screen, OSC 52 clipboard writes): table, text and csv show them escaped, JSON keeps
/// the value exactly, and an error echoing it is one escaped line.
#[test]
fn hostile_display_names_are_shown_escaped_in_every_form() {
    let t = TestEnv::new();
    t.discover();
    let hostile = "Eve \u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}]52;c;aGk=\u{7}, \"boss\"";
    t.ok(&[
        "user",
        "create",
        "--username",
        "eve",
        "--display-name",
        hostile,
        "--email",
        "eve@example.com",
    ]);
    for format in ["table", "text", "csv"] {
        let out = t.ok(&["--output", format, "user", "list"]);
        assert!(
            !out.contains('\u{1b}') && !out.contains('\u{7}'),
            "{format}: {out:?}"
        );
        assert!(out.contains("Eve \\x1b]0;pwned\\x07"), "{format}: {out:?}");
    }
    let csv = t.ok(&["--output", "csv", "user", "list"]);
    let mut records = csv.split("\r\n").filter(|r| !r.is_empty());
    let header = records.next().unwrap();
    assert!(header.starts_with("User name,"), "{header}");
    let eve = records.find(|r| r.starts_with("eve,")).unwrap();
    assert!(
        eve.contains(r#", ""boss"""#),
        "quotes doubled inside a quoted field: {eve}"
    );
    let json = t.json(&["user", "get", "eve"]);
    assert_eq!(json["DisplayName"], hostile);
    let err = t.fails(1, &["user", "get", "nobody\u{1b}[2J"]);
    assert!(
        !err.contains('\u{1b}') && err.contains("nobody\\x1b[2J"),
        "{err:?}"
    );
}
