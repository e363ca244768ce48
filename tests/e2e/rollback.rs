//! `rollback`: the journal of every change on moto, and undoing one. A bulk assign of 50
//! rows and single assigns and revokes are undone exactly (a backup taken before them shows
//! no difference afterwards); a deleted user comes back from its recorded attributes with a
//! new id and its memberships; a deleted permission set comes back in full with its
//! assignments; a boundary put over another is put back; a dry run changes nothing;
//! parallel commands each leave one whole record.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use awsideman::testing::Service;
use serde_json::{Value, json};

use crate::common::fixture::{Gate, Reply};
use crate::common::seed::Instance;
use crate::common::{TestEnv, mode, moto, text};

/// alice (Admins, Devs), bob (Devs), users u00..u49; ReadOnly and Admin; Admin to Admins
/// in prod-app.
fn world() -> TestEnv {
    let t = TestEnv::new();
    let org = t.seed_org();
    let Instance { arn, store } = t.instance();
    let alice = t.seed_user(&store, "alice", "Alice", "Able");
    let bob = t.seed_user(&store, "bob", "Bob", "Baker");
    for i in 0..50 {
        t.seed_user(&store, &format!("u{i:02}"), "User", &format!("N{i}"));
    }
    let admins = t.seed_group(&store, "Admins", &[&alice]);
    t.seed_group(&store, "Devs", &[&alice, &bob]);
    t.seed_permission_set(&arn, "ReadOnly", &[], None);
    let admin = t.seed_permission_set(&arn, "Admin", &[], None);
    t.seed_assignment(&arn, &admin, "GROUP", &admins, &org.accounts["prod-app"]);
    t
}

/// The operations of the journal, oldest first.
fn operations(t: &TestEnv) -> Vec<Value> {
    t.json(&["rollback", "list"])["operations"]
        .as_array()
        .expect("operations")
        .clone()
}

fn last_id(t: &TestEnv) -> String {
    operations(t).last().expect("an operation")["id"]
        .as_str()
        .expect("id")
        .to_string()
}

fn backup(t: &TestEnv) -> String {
    t.json(&["backup", "create"])["Id"]
        .as_str()
        .expect("backup id")
        .to_string()
}

/// Asserts that live AWS matches the backup `id` exactly.
fn unchanged_since(t: &TestEnv, id: &str) {
    let out = t.run(&["--output", "json", "backup", "diff", id, "--live"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "differences:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Asserts that live AWS differs from the backup `id` only in the ids AWS gives a recreated
/// object (a user's, a group's, their memberships'), which cannot come back. moto keeps the
/// memberships of a deleted user or group, without its name: those are left out.
fn only_new_ids_since(t: &TestEnv, id: &str) -> usize {
    let out = t.run(&["--output", "json", "backup", "diff", id, "--live"]);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("diff JSON");
    let mut changed = 0;
    for d in doc["Differences"].as_array().expect("Differences") {
        let key = d["Key"].as_str().unwrap();
        if d["Resource"] == "Memberships" && (key.ends_with(" / ") || key.starts_with(" / ")) {
            continue;
        }
        assert_eq!(d["Change"], "changed", "{d}");
        for field in d["Fields"].as_array().unwrap() {
            let name = field["Field"].as_str().unwrap();
            assert!(["UserId", "GroupId", "MembershipId"].contains(&name), "{d}");
        }
        changed += 1;
    }
    changed
}

fn assigned(t: &TestEnv, set: &str) -> usize {
    t.json(&["--no-cache", "assignment", "list", "--permission-set", set])["AccountAssignments"]
        .as_array()
        .expect("AccountAssignments")
        .len()
}

#[test]
fn a_bulk_assign_of_50_rows_is_undone_exactly() {
    let t = world();
    let before = backup(&t);
    let mut csv = String::from("principal_name,permission_set_name,account_name,principal_type\n");
    for i in 0..50 {
        let account = ["prod-app", "dev-sandbox"][i % 2];
        csv.push_str(&format!("u{i:02},ReadOnly,{account},USER\n"));
    }
    let file = t.write("rows.csv", &csv);
    let done = t.json(&["bulk", "assign", file.to_str().unwrap()]);
    assert_eq!(done["Summary"]["Succeeded"], 50, "{}", done["Summary"]);
    assert_eq!(assigned(&t, "ReadOnly"), 50);

    let ops = operations(&t);
    assert_eq!(ops.len(), 1, "one record per command: {ops:?}");
    assert_eq!(ops[0]["command"], "bulk assign");
    assert_eq!(
        (ops[0]["changes"].as_u64(), ops[0]["undoable"].as_u64()),
        (Some(50), Some(50))
    );
    let id = last_id(&t);
    let shown = t.json(&["rollback", "show", &id]);
    assert_eq!(shown["changes"][0]["inverse"], "DeleteAccountAssignment");

    // A dry run prints the plan, newest change first, and changes nothing.
    let plan = t.json(&["rollback", "apply", &id, "--dry-run"]);
    let steps = plan["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 50);
    assert_eq!(steps[0]["index"], 50);
    assert!(steps.iter().all(|s| s["status"] == "would run"));
    assert_eq!(assigned(&t, "ReadOnly"), 50);
    assert_eq!(operations(&t).len(), 1, "a dry run records nothing");

    // Off a terminal, --yes is needed.
    let refused = t.fails(2, &["rollback", "apply", &id]);
    assert!(refused.contains("--yes"), "{refused}");
    let applied = t.json(&["rollback", "apply", &id, "--yes"]);
    let steps = applied["steps"].as_array().unwrap();
    assert!(steps.iter().all(|s| s["status"] == "done"), "{applied}");
    unchanged_since(&t, &before);

    // The rollback is an operation of its own, and the original is marked.
    let ops = operations(&t);
    assert_eq!(ops.len(), 2);
    assert_eq!(
        ops[0]["status"],
        format!("rolled back by {}", ops[1]["id"].as_str().unwrap())
    );
    assert_eq!(ops[1]["status"], format!("rollback of {id}"));
    let again = t.fails(2, &["rollback", "apply", &id, "--yes"]);
    assert!(
        again.contains("already rolled back") && again.contains("--force"),
        "{again}"
    );

    // Undoing the rollback assigns the 50 again.
    let redo = ops[1]["id"].as_str().unwrap().to_string();
    t.json(&["rollback", "apply", &redo, "--yes"]);
    assert_eq!(assigned(&t, "ReadOnly"), 50);
}

#[test]
fn assigns_revokes_and_memberships_are_undone_exactly() {
    let t = world();
    let before = backup(&t);
    t.ok(&[
        "assignment",
        "assign",
        "ReadOnly",
        "bob",
        "prod-app",
        "dev-sandbox",
    ]);
    let assign = last_id(&t);
    t.ok(&[
        "assignment",
        "revoke",
        "Admin",
        "Admins",
        "prod-app",
        "--principal-type",
        "GROUP",
        "--yes",
    ]);
    let revoke = last_id(&t);
    t.ok(&["group", "add-member", "Admins", "bob"]);
    let added = last_id(&t);
    assert_eq!(operations(&t).len(), 3);
    for id in [&added, &revoke, &assign] {
        t.json(&["rollback", "apply", id, "--yes"]);
    }
    unchanged_since(&t, &before);

    // A membership removed comes back, under the new id AWS gives it.
    t.ok(&["group", "remove-member", "Devs", "bob", "--yes"]);
    t.json(&["rollback", "apply", &last_id(&t), "--yes"]);
    assert_eq!(only_new_ids_since(&t, &before), 1);
}

#[test]
fn a_deleted_user_is_recreated_with_a_new_id_and_its_memberships() {
    let t = world();
    t.ok(&["group", "create", "--name", "Ops"]);
    t.ok(&["group", "add-member", "Ops", "bob"]);
    let before = backup(&t);
    let old = t.json(&["user", "get", "alice"])["UserId"]
        .as_str()
        .unwrap()
        .to_string();
    t.ok(&["user", "delete", "alice", "--yes"]);
    let id = last_id(&t);
    let shown = t.json(&["rollback", "show", &id]);
    let note = shown["changes"][0]["note"].as_str().unwrap();
    assert!(
        note.contains("new id") && note.contains("2 membership"),
        "{note}"
    );

    let applied = t.json(&["rollback", "apply", &id, "--yes"]);
    let step = &applied["steps"][0];
    assert_eq!(step["status"], "done", "{applied}");
    let new = t.json(&["--no-cache", "user", "get", "alice"])["UserId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new, old);
    let said = step["note"].as_str().unwrap();
    assert!(
        said.contains(&new) && said.contains(&old) && said.contains("2 of 2"),
        "{said}"
    );

    // A deleted group comes back from its recorded attributes, with its members.
    t.ok(&["group", "delete", "Ops", "--yes"]);
    let applied = t.json(&["rollback", "apply", &last_id(&t), "--yes"]);
    let said = applied["steps"][0]["note"].as_str().unwrap();
    assert!(said.contains("1 of 1 membership"), "{applied}");

    // alice and her two memberships, Ops and bob's membership: each with new ids; nothing
    // else.
    assert_eq!(only_new_ids_since(&t, &before), 5);
}

#[test]
fn permission_set_changes_are_undone_exactly() {
    let t = world();
    let before = backup(&t);
    let policy = t.write(
        "policy.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#,
    );
    t.ok(&[
        "permission-set",
        "update",
        "ReadOnly",
        "--session-duration",
        "PT8H",
        "--description",
        "changed",
        "--add-managed-policy",
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
        "--inline-policy",
        policy.to_str().unwrap(),
    ]);
    let update = last_id(&t);
    t.ok(&[
        "permission-set",
        "clone",
        "ReadOnly",
        "--to",
        "ReadOnlyCopy",
    ]);
    let clone = last_id(&t);
    for id in [&clone, &update] {
        let applied = t.json(&["rollback", "apply", id, "--yes"]);
        let steps = applied["steps"].as_array().unwrap();
        let done = |s: &Value| ["done", "nothing to undo"].contains(&s["status"].as_str().unwrap());
        assert!(steps.iter().all(done), "{applied}");
    }
    unchanged_since(&t, &before);
}

#[test]
fn what_cannot_be_undone_is_reported_and_fails() {
    let t = world();
    // moto cannot tell a set's boundary or tags: a deleted set's record says so.
    t.ok(&["permission-set", "delete", "ReadOnly", "--yes"]);
    let id = last_id(&t);
    let shown = t.json(&["rollback", "show", &id]);
    assert_eq!(
        shown["changes"][0]["change"]["then"]["Unknown"],
        json!(["PermissionsBoundary", "Tags"]),
        "{shown}"
    );
    // A journal line naming an operation awsideman has no inverse for.
    t.ok(&["group", "create", "--name", "Ops"]);
    let journal = t.config_dir().join("rollback").join("operations.jsonl");
    let text_of = std::fs::read_to_string(&journal).unwrap();
    let last = text_of.lines().last().unwrap().to_string();
    let mut record: Value = serde_json::from_str(&last).unwrap();
    record["changes"][0] = json!({"operation": "TagResource", "request": {},
                                  "cannot_undo": "awsideman has no inverse for this operation"});
    std::fs::write(&journal, text_of.replace(&last, &record.to_string())).unwrap();
    let id = record["id"].as_str().unwrap().to_string();
    let plan = t.json(&["rollback", "apply", &id, "--dry-run"]);
    assert_eq!(plan["steps"][0]["status"], "cannot be undone", "{plan}");
    let shown = t.json(&["rollback", "show", &id]);
    let note = shown["changes"][0]["note"].as_str().unwrap();
    assert!(note.starts_with("cannot be undone: "), "{note}");
    let failed = t.fails(1, &["rollback", "apply", &id, "--yes"]);
    assert!(failed.contains("can be undone"), "{failed}");
    t.fails(2, &["rollback", "show", "nope"]);
}

/// A gate in front of moto keeping what moto lacks for sso-admin: permissions boundaries
/// (Put, Get, Delete, by ARN) and the tags of the permission sets in `tags` (listed by
/// ARN). Every CreatePermissionSet request it forwards is kept.
struct Boundaries {
    gate: Gate,
    boundaries: Arc<Mutex<HashMap<String, Value>>>,
    created: Arc<Mutex<Vec<Value>>>,
}

impl Boundaries {
    fn start(tags: HashMap<String, Value>) -> Boundaries {
        let boundaries: Arc<Mutex<HashMap<String, Value>>> = Arc::default();
        let created: Arc<Mutex<Vec<Value>>> = Arc::default();
        let (kept, made) = (boundaries.clone(), created.clone());
        let gate = Gate::intercepting(&moto(), move |op, body| {
            let body: Value = serde_json::from_str(body).ok()?;
            let arn = body["PermissionSetArn"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let ok = || Some(Reply::json(200, "{}"));
            match op {
                "PutPermissionsBoundaryToPermissionSet" => {
                    kept.lock()
                        .unwrap()
                        .insert(arn, body["PermissionsBoundary"].clone());
                    ok()
                }
                "DeletePermissionsBoundaryFromPermissionSet" => {
                    kept.lock().unwrap().remove(&arn);
                    ok()
                }
                "GetPermissionsBoundaryForPermissionSet" => match kept.lock().unwrap().get(&arn) {
                    Some(b) => Some(Reply::json(
                        200,
                        &json!({ "PermissionsBoundary": b }).to_string(),
                    )),
                    None => Some(Reply::no_boundary()),
                },
                "ListTagsForResource" => {
                    let listed = tags
                        .get(body["ResourceArn"].as_str().unwrap_or_default())
                        .cloned()
                        .unwrap_or(json!([]));
                    Some(Reply::json(200, &json!({ "Tags": listed }).to_string()))
                }
                "CreatePermissionSet" => {
                    made.lock().unwrap().push(body);
                    None
                }
                _ => None,
            }
        });
        Boundaries {
            gate,
            boundaries,
            created,
        }
    }
}

const POWER_USER: &str = "arn:aws:iam::aws:policy/PowerUserAccess";

#[test]
fn a_deleted_permission_set_comes_back_in_full_with_its_assignments() {
    let mut t = TestEnv::new();
    let org = t.seed_org();
    let Instance { arn, store } = t.instance();
    let alice = t.seed_user(&store, "alice", "Alice", "Able");
    let admins = t.seed_group(&store, "Admins", &[&alice]);
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;
    let ops = t.seed_permission_set(
        &arn,
        "Ops",
        &["arn:aws:iam::aws:policy/ReadOnlyAccess"],
        Some(policy),
    );
    t.aws(
        Service::SsoAdmin,
        "AttachCustomerManagedPolicyReferenceToPermissionSet",
        json!({"InstanceArn": arn, "PermissionSetArn": ops,
               "CustomerManagedPolicyReference": {"Name": "team-extra", "Path": "/teams/"}}),
    );
    t.seed_assignment(&arn, &ops, "USER", &alice, &org.accounts["prod-app"]);
    t.seed_assignment(&arn, &ops, "GROUP", &admins, &org.accounts["dev-sandbox"]);
    let tags = json!([{"Key": "team", "Value": "platform"}]);
    let world = Boundaries::start(HashMap::from([(ops.clone(), tags.clone())]));
    t.set_var("AWS_ENDPOINT_URL_SSO_ADMIN", world.gate.url.as_str());
    world
        .boundaries
        .lock()
        .unwrap()
        .insert(ops.clone(), json!({ "ManagedPolicyArn": POWER_USER }));
    let before = t.json(&["permission-set", "get", "Ops"]);
    assert_eq!(
        before["PermissionsBoundary"]["ManagedPolicyArn"],
        POWER_USER
    );
    assert_eq!(assigned(&t, "Ops"), 2);

    let deleted = t.json(&[
        "permission-set",
        "delete",
        "Ops",
        "--with-assignments",
        "--yes",
    ]);
    assert_eq!(deleted["AssignmentsDeleted"], 2, "{deleted}");
    let id = last_id(&t);
    let names = |t: &TestEnv| -> Vec<String> {
        t.json(&["--no-cache", "permission-set", "list"])["PermissionSets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["Name"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(!names(&t).contains(&"Ops".to_string()));

    let plan = t.json(&["rollback", "apply", &id, "--dry-run"]);
    let steps = plan["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3, "{plan}");
    assert_eq!(steps[0]["operation"], "CreatePermissionSet", "{plan}");
    assert!(steps.iter().all(|s| s["status"] == "would run"), "{plan}");
    assert!(
        !names(&t).contains(&"Ops".to_string()),
        "a dry run changes nothing"
    );
    assert!(world.created.lock().unwrap().is_empty());

    let applied = t.json(&["rollback", "apply", &id, "--yes"]);
    let steps = applied["steps"].as_array().unwrap();
    assert!(steps.iter().all(|s| s["status"] == "done"), "{applied}");
    let note = steps[0]["note"].as_str().unwrap();
    assert!(note.contains("new ARN") && note.contains(&ops), "{note}");

    let after = t.json(&["--no-cache", "permission-set", "get", "Ops"]);
    assert_ne!(after["PermissionSetArn"], before["PermissionSetArn"]);
    // The report shows the assignment requests as sent: with the new ARN.
    for step in &steps[1..] {
        assert_eq!(
            step["request"]["PermissionSetArn"], after["PermissionSetArn"],
            "{step}"
        );
    }
    for key in [
        "Description",
        "SessionDuration",
        "RelayState",
        "ManagedPolicies",
        "CustomerManagedPolicies",
        "InlinePolicy",
        "PermissionsBoundary",
    ] {
        assert_eq!(after[key], before[key], "{key}: {after}");
    }
    let created = world.created.lock().unwrap().clone();
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0]["Tags"], tags, "recreated with its tags");
    // Both assignments are back, against the new ARN.
    let listed = t.json(&[
        "--no-cache",
        "assignment",
        "list",
        "--permission-set",
        "Ops",
    ]);
    let rows = listed["AccountAssignments"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{listed}");
    assert!(
        rows.iter()
            .all(|r| r["PermissionSetArn"] == after["PermissionSetArn"]),
        "{listed}"
    );
}

#[test]
fn a_boundary_put_over_another_is_put_back() {
    let mut t = TestEnv::new();
    let Instance { arn, .. } = t.instance();
    let dev = t.seed_permission_set(&arn, "Dev", &[], None);
    let world = Boundaries::start(HashMap::new());
    t.set_var("AWS_ENDPOINT_URL_SSO_ADMIN", world.gate.url.as_str());
    let old = json!({"CustomerManagedPolicyReference": {"Name": "dev-boundary", "Path": "/engineering/"}});
    world
        .boundaries
        .lock()
        .unwrap()
        .insert(dev.clone(), old.clone());
    let boundary = |t: &TestEnv| {
        t.json(&["--no-cache", "permission-set", "get", "Dev"])["PermissionsBoundary"].clone()
    };

    t.ok(&[
        "permission-set",
        "update",
        "Dev",
        "--permissions-boundary",
        POWER_USER,
    ]);
    assert_eq!(boundary(&t), json!({ "ManagedPolicyArn": POWER_USER }));
    let id = last_id(&t);
    let plan = t.json(&["rollback", "apply", &id, "--dry-run"]);
    assert_eq!(
        plan["steps"][0]["request"]["PermissionsBoundary"], old,
        "{plan}"
    );
    assert_eq!(
        boundary(&t),
        json!({ "ManagedPolicyArn": POWER_USER }),
        "a dry run changes nothing"
    );
    t.json(&["rollback", "apply", &id, "--yes"]);
    assert_eq!(boundary(&t), old, "the old boundary is back");

    // Where there was none, undoing a put removes it.
    t.ok(&[
        "permission-set",
        "update",
        "Dev",
        "--remove-permissions-boundary",
    ]);
    assert_eq!(boundary(&t), Value::Null);
    t.ok(&[
        "permission-set",
        "update",
        "Dev",
        "--permissions-boundary",
        "engineering/dev-boundary",
    ]);
    assert_eq!(boundary(&t), old);
    let id = last_id(&t);
    let applied = t.json(&["rollback", "apply", &id, "--yes"]);
    assert_eq!(
        applied["steps"][0]["operation"], "DeletePermissionsBoundaryFromPermissionSet",
        "{applied}"
    );
    assert_eq!(boundary(&t), Value::Null);
}

#[test]
fn parallel_commands_each_leave_one_whole_record() {
    let t = world();
    let children: Vec<_> = (0..6)
        .map(|i| {
            t.spawn_quiet(&[
                "group",
                "create",
                "--name",
                &format!("Team{i}"),
                "--description",
                &"x".repeat(1000),
            ])
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let ops = operations(&t);
    assert_eq!(ops.len(), 6, "{ops:?}");
    let mut ids: Vec<&str> = ops.iter().map(|o| o["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6);
    let journal = t.config_dir().join("rollback").join("operations.jsonl");
    assert_eq!(mode(&journal), 0o600);
    assert_eq!(mode(&t.config_dir().join("rollback")), 0o700);
    let contents = std::fs::read_to_string(&journal).unwrap();
    for line in contents.lines() {
        let record: Value = serde_json::from_str(line).expect("a whole record");
        assert_eq!(record["changes"][0]["operation"], "CreateGroup");
    }
}

#[test]
fn the_python_tools_rollback_settings_are_honoured() {
    let t = world();
    let config = t.config_dir().join("config.yaml");
    let mut yaml = std::fs::read_to_string(&config).unwrap();
    yaml.push_str("rollback:\n  enabled: true\n  storage_directory: ~/ops\n  retention_days: 30\n");
    t.write(".awsideman/config.yaml", &yaml);
    t.ok(&["group", "create", "--name", "Ops"]);
    assert_eq!(operations(&t).len(), 1);
    let home = t.config_dir().parent().unwrap().to_path_buf();
    assert_eq!(mode(&home.join("ops").join("operations.jsonl")), 0o600);
    t.write(
        ".awsideman/config.yaml",
        &yaml.replace("enabled: true", "enabled: false"),
    );
    t.ok(&["group", "create", "--name", "Ops2"]);
    let out = t.run(&["--output", "json", "rollback", "list"]);
    assert!(
        text(&out.stderr).contains("journal is off"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_rollback_is_undone_like_any_operation() {
    let t = world();
    t.ok(&[
        "user",
        "create",
        "--username",
        "dave",
        "--display-name",
        "Dave Diver",
        "--email",
        "dave@example.com",
    ]);
    let created = last_id(&t);
    t.ok(&["group", "add-member", "Devs", "dave"]);
    let added = last_id(&t);
    t.json(&["rollback", "apply", &added, "--yes"]);
    t.json(&["rollback", "apply", &created, "--yes"]);
    t.fails(1, &["user", "get", "dave"]);
    // The rollback of the create noted dave before deleting him: undoing it brings him back.
    let undo = last_id(&t);
    let applied = t.json(&["rollback", "apply", &undo, "--yes"]);
    assert_eq!(applied["steps"][0]["status"], "done", "{applied}");
    let dave = t.json(&["--no-cache", "user", "get", "dave"]);
    assert_eq!(dave["DisplayName"], "Dave Diver");
    let recent = t.json(&["rollback", "list", "--since", "1h"])["operations"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(recent, 5);
    t.fails(2, &["rollback", "list", "--since", "soon"]);
}

/// A template applied with `--prune` (creates in one OU's accounts, and a delete of an
/// assignment its scope holds but it does not name) is undone exactly by one rollback.
#[test]
fn a_template_apply_with_prune_is_undone_exactly() {
    let t = world();
    let before = backup(&t);
    let template = t.write(
        "access.yaml",
        "\
metadata: {name: access}
assignments:
  - entities: [user:alice, group:Devs]
    permission_sets: [ReadOnly]
    targets:
      ous: [Root/Engineering]
  - entities: [group:Admins]
    permission_sets: [Admin]
    targets:
      account_ids: [dev-sandbox]
",
    );
    let file = template.to_str().unwrap();
    let applied = t.json(&["templates", "apply", file, "--prune", "--yes"]);
    let counts = &applied["Summary"];
    assert_eq!(
        counts["Delete"], 1,
        "Admin of Admins in prod-app is pruned: {applied}"
    );
    assert!(counts["Create"].as_u64().unwrap() >= 3, "{applied}");
    assert_eq!(counts["Failed"], 0, "{applied}");
    assert_eq!(assigned(&t, "Admin"), 1, "only dev-sandbox's: {applied}");
    let id = last_id(&t);
    assert_eq!(operations(&t).last().unwrap()["command"], "templates apply");

    let undone = t.json(&["rollback", "apply", &id, "--yes"]);
    let steps = undone["steps"].as_array().unwrap();
    assert!(steps.iter().all(|s| s["status"] == "done"), "{undone}");
    unchanged_since(&t, &before);
}
