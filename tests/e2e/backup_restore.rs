//! `backup restore` beyond recreating what was deleted: `--conflict overwrite` and `skip`,
//! `--prune`, `--resources`, `--to-profile` into another region's instance (disaster
//! recovery: everything comes back, only ids differ) and into another account that has no
//! organization (a move: assignments are skipped per account), and `backup create` in an
//! account without an organization.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::backup::{id_of, pair, steps, world};
use crate::common::fixture::{Gate, Reply};
use crate::common::{TestEnv, text};

/// The step of `resource` named `key` in a restore's answer.
fn step<'a>(doc: &'a Value, resource: &str, key: &str) -> &'a Value {
    doc["Steps"]
        .as_array()
        .expect("Steps")
        .iter()
        .find(|s| s["Resource"] == resource && s["Key"] == key)
        .unwrap_or_else(|| panic!("no step {resource} {key} in {doc}"))
}

/// The actions of every step.
fn actions(doc: &Value) -> BTreeSet<String> {
    doc["Steps"]
        .as_array()
        .expect("Steps")
        .iter()
        .map(|s| s["Action"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// The differences of `backup diff A B` (exit 3 expected when `differ`).
fn differences(t: &TestEnv, a: &str, b: &str) -> Value {
    let out = t.run(&["--output", "json", "backup", "diff", a, b]);
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("diff JSON: {}", text(&out.stderr)));
    let rows = &doc["Differences"];
    let expected = if rows.as_array().is_some_and(Vec::is_empty) {
        0
    } else {
        3
    };
    assert_eq!(out.status.code(), Some(expected), "{}", text(&out.stderr));
    doc
}

/// Members AWS assigns to a new item (a restore cannot keep them).
const IDS: &[&str] = &[
    "IdentityStoreId",
    "UserId",
    "GroupId",
    "MembershipId",
    "PermissionSetArn",
    "PrincipalId",
    "CreatedDate",
];

/// Asserts every difference of `doc` in `members` is a change of ids only.
fn only_ids_differ(doc: &Value, members: &[&str]) {
    for row in doc["Differences"].as_array().expect("Differences") {
        if !members.contains(&row["Resource"].as_str().unwrap_or("")) {
            continue;
        }
        assert_eq!(row["Change"], "changed", "{row}");
        for field in row["Fields"].as_array().expect("Fields") {
            let name = field["Field"].as_str().unwrap_or("?");
            assert!(IDS.contains(&name), "{name} differs: {row}");
        }
    }
}

/// The backup of the source, then the whole restore into profile `dr` (the same account's
/// instance in another region, as after losing a region): everything is recreated by name
/// and a backup of the target differs from the source backup in ids only.
#[test]
fn restore_to_another_profile_recreates_everything_by_name() {
    let t = world();
    let source = id_of(&t.json(&["backup", "create"]));
    t.ok(&[
        "profile",
        "add",
        "dr",
        "--region",
        "us-west-2",
        "--aws-profile",
        "default",
    ]);
    t.fails(
        2,
        &[
            "backup",
            "restore",
            &source,
            "--to-profile",
            "no-such-profile",
        ],
    );
    let plan = t.json(&[
        "backup",
        "restore",
        &source,
        "--to-profile",
        "dr",
        "--dry-run",
    ]);
    assert_eq!(plan["Profile"], "dr");
    assert_eq!(actions(&plan), BTreeSet::from(["would create".to_string()]));
    assert_eq!(plan["Counts"]["Create"], 3 + 2 + 2 + 3 + 4);
    // Nothing was written: the plan is the same again, and the source is untouched.
    t.fails(2, &["backup", "restore", &source, "--to-profile", "dr"]);
    let done = t.json(&["backup", "restore", &source, "--to-profile", "dr", "--yes"]);
    assert_eq!(actions(&done), BTreeSet::from(["created".to_string()]));
    assert_eq!(done["SkippedAccounts"], serde_json::json!([]));
    // The rollback journal has the changes, under the profile they were made in.
    let journal = t.json(&["rollback", "list"]);
    let restores: Vec<&Value> = journal["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .filter(|o| o["command"] == "backup restore")
        .collect();
    assert_eq!(restores.len(), 1, "{journal}");
    assert_eq!(restores[0]["profile"], "dr");
    // Users, groups, permission sets (2 created, 2 managed policies, 1 inline policy),
    // memberships, assignments.
    assert_eq!(
        restores[0]["changes"],
        3 + 2 + (2 + 2 + 1) + 3 + 4,
        "{journal}"
    );

    // AWS provisions a permission set with its first assignment in an account; moto does
    // not, and lists assignments only of sets it was asked to provision.
    for set in ["Admin", "ReadOnly"] {
        t.ok(&["--profile", "dr", "permission-set", "provision", set]);
    }
    let again = t.json(&[
        "backup",
        "restore",
        &source,
        "--to-profile",
        "dr",
        "--dry-run",
    ]);
    assert_eq!(
        actions(&again),
        BTreeSet::from(["exists".to_string()]),
        "{again}"
    );
    let target = id_of(&t.json(&["--profile", "dr", "backup", "create"]));
    let shown = t.json(&["backup", "show", &target]);
    assert_eq!(shown["Source"]["Region"], "us-west-2");
    assert_ne!(
        shown["Source"]["InstanceArn"],
        t.json(&["backup", "show", &source])["Source"]["InstanceArn"]
    );
    let doc = differences(&t, &source, &target);
    assert_eq!(doc["Compared"].as_array().map(Vec::len), Some(7));
    only_ids_differ(
        &doc,
        &[
            "Users",
            "Groups",
            "Memberships",
            "PermissionSets",
            "Assignments",
            "Accounts",
            "OrganizationalUnits",
        ],
    );
    // The source profile's instance was not touched.
    let own = t.json(&["backup", "restore", &source, "--dry-run"]);
    assert_eq!(own["Profile"], "default");
    assert_eq!(actions(&own), BTreeSet::from(["exists".to_string()]));
}

/// A profile `mover` whose credentials assume a role in a fresh account that has no
/// organization (moto answers its organization calls AWSOrganizationsNotInUseException).
fn other_account(t: &mut TestEnv) -> String {
    let other = format!(
        "{:012}",
        100_000_000_000 + (t.account.parse::<u64>().unwrap_or(1) * 7919) % 800_000_000_000
    );
    let config = t.home.join(".aws/config");
    let mut aws = std::fs::read_to_string(&config).expect("aws config");
    aws.push_str(&format!(
        "\n[profile mover]\nrole_arn = arn:aws:iam::{other}:role/x\nsource_profile = base\n\
         region = us-east-1\n"
    ));
    std::fs::write(&config, aws).expect("write aws config");
    t.ok(&[
        "profile",
        "add",
        "move",
        "--region",
        "us-east-1",
        "--aws-profile",
        "mover",
    ]);
    other
}

/// A move into another account without an organization: users, groups, memberships and
/// permission sets come back by name; each account of the backup is one warning and its
/// assignments are skipped and counted. `backup create` there works without an
/// organization, with one warning, and holds no assignments.
#[test]
fn restore_into_an_account_without_an_organization_skips_assignments_per_account() {
    let mut t = world();
    let source = id_of(&t.json(&["backup", "create"]));
    other_account(&mut t);
    let out = t.run(&[
        "--output",
        "json",
        "backup",
        "restore",
        &source,
        "--to-profile",
        "move",
        "--yes",
    ]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let done: Value = serde_json::from_slice(&out.stdout).expect("restore JSON");
    let skipped: Vec<(String, u64)> = done["SkippedAccounts"]
        .as_array()
        .expect("SkippedAccounts")
        .iter()
        .map(|s| {
            (
                s["AccountName"].as_str().unwrap_or("?").to_string(),
                s["Assignments"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let mut names: Vec<(String, u64)> = skipped.clone();
    names.sort();
    assert_eq!(
        names,
        [
            ("dev-sandbox".to_string(), 1),
            ("prod-app".to_string(), 2),
            ("prod-data".to_string(), 1)
        ]
    );
    for (name, _) in &skipped {
        let lines = stderr
            .lines()
            .filter(|l| {
                l.contains(&format!(
                    "({name}) is not in the organization of profile move"
                ))
            })
            .count();
        assert_eq!(lines, 1, "{stderr}");
    }
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.contains("AWSOrganizationsNotInUseException"))
            .count(),
        1,
        "{stderr}"
    );
    for resource in ["Users", "Groups", "Memberships", "PermissionSets"] {
        assert!(
            steps(&done, resource).iter().all(|(_, a)| a == "created"),
            "{done}"
        );
    }
    assert!(
        steps(&done, "Assignments")
            .iter()
            .all(|(_, a)| a.starts_with("skipped: ")),
        "{done}"
    );

    // A backup of an account without an organization: one warning, no assignments.
    let out = t.run(&["--output", "json", "--profile", "move", "backup", "create"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let no_org: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("AWSOrganizationsNotInUseException"))
        .collect();
    assert_eq!(no_org.len(), 1, "{stderr}");
    assert!(no_org[0].contains("no assignments"), "{stderr}");
    let created: Value = serde_json::from_slice(&out.stdout).expect("create JSON");
    assert_eq!(
        created["Resources"],
        serde_json::json!(["users", "groups", "memberships", "permission-sets"])
    );
    assert_eq!(created["Counts"]["Accounts"], 0);
    assert_eq!(created["Counts"]["Users"], 3);
    let target = id_of(&created);
    let stderr = t.fails(
        2,
        &["backup", "restore", &target, "--resources", "assignments"],
    );
    assert!(stderr.contains("holds no assignments"), "{stderr}");
    let doc = differences(&t, &source, &target);
    let compared: Vec<&str> = doc["Compared"]
        .as_array()
        .expect("Compared")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(!compared.contains(&"Assignments"), "{compared:?}");
    only_ids_differ(&doc, &["Users", "Groups", "Memberships", "PermissionSets"]);
    // What else differs is the organization the target does not have.
    for row in doc["Differences"].as_array().expect("Differences") {
        if matches!(
            row["Resource"].as_str(),
            Some("Accounts" | "OrganizationalUnits")
        ) {
            assert_eq!(row["Change"], "removed", "{row}");
        }
    }
}

/// `--conflict skip` (the default) leaves a changed permission set and user as they are;
/// `--conflict overwrite` shows each change exactly in the plan and then makes it (the
/// permission set is provisioned again). moto lacks identitystore UpdateUser, so a gate in
/// front of it answers that one request and keeps what was sent.
#[test]
fn overwrite_gives_existing_items_the_backups_attributes_and_skip_leaves_them() {
    let mut t = world();
    let id = id_of(&t.json(&["backup", "create"]));
    t.ok(&[
        "permission-set",
        "update",
        "ReadOnly",
        "--session-duration",
        "PT8H",
    ]);
    // carol under her name again, with another display name (moto cannot update one).
    t.ok(&["user", "delete", "carol", "--yes"]);
    let store = t.json(&["sso", "discover"])["Instances"][0]["IdentityStoreId"]
        .as_str()
        .expect("store")
        .to_string();
    let carol = t.seed_user(&store, "carol", "Caroline", "Cook");

    let skip = t.json(&["backup", "restore", &id, "--yes"]);
    assert_eq!(skip["Conflict"], "skip");
    let read_only = step(&skip, "PermissionSets", "ReadOnly");
    assert_eq!(read_only["Action"], "exists, differs (left as is)");
    assert_eq!(
        read_only["Detail"], r#"SessionDuration "PT8H" -> "PT4H""#,
        "{read_only}"
    );
    assert_eq!(
        t.json(&["permission-set", "get", "ReadOnly"])["SessionDuration"],
        "PT8H"
    );
    assert_eq!(
        step(&skip, "Users", "carol")["Action"],
        "exists, differs (left as is)"
    );
    assert_eq!(
        t.json(&["--no-cache", "user", "get", "carol"])["DisplayName"],
        "Caroline Cook"
    );
    assert_eq!(skip["Counts"]["Update"], 0);

    let plan = t.json(&[
        "backup",
        "restore",
        &id,
        "--conflict",
        "overwrite",
        "--dry-run",
    ]);
    let read_only = step(&plan, "PermissionSets", "ReadOnly");
    assert_eq!(read_only["Action"], "would update");
    assert_eq!(
        read_only["Changes"],
        serde_json::json!([{"Field": "SessionDuration", "Before": "PT8H", "After": "PT4H"}])
    );
    assert_eq!(
        read_only["Detail"],
        r#"SessionDuration "PT8H" -> "PT4H"; then provisioned to its accounts"#
    );
    let user = step(&plan, "Users", "carol");
    assert_eq!(user["Action"], "would update");
    let fields: Vec<&str> = user["Changes"]
        .as_array()
        .expect("Changes")
        .iter()
        .filter_map(|c| c["Field"].as_str())
        .collect();
    assert_eq!(fields, ["DisplayName", "Name"], "{user}");
    assert!(
        user["Detail"]
            .as_str()
            .unwrap_or("")
            .contains(r#"DisplayName "Caroline Cook" -> "Carol Cook""#),
        "{user}"
    );
    assert_eq!(step(&plan, "Users", "alice")["Action"], "exists");
    t.fails(2, &["backup", "restore", &id, "--conflict", "overwrite"]);
    t.fails(2, &["backup", "restore", &id, "--conflict", "replace"]);

    let sent: Arc<Mutex<Vec<String>>> = Arc::default();
    let kept = sent.clone();
    let gate = Gate::intercepting(&crate::common::moto(), move |op, body| {
        (op == "UpdateUser").then(|| {
            kept.lock().expect("lock").push(body.to_string());
            Reply::json(200, "{}")
        })
    });
    t.set_var("AWS_ENDPOINT_URL_IDENTITYSTORE", gate.url.clone());
    let done = t.json(&["backup", "restore", &id, "--conflict", "overwrite", "--yes"]);
    assert_eq!(done["Counts"]["Update"], 2, "{done}");
    let read_only = step(&done, "PermissionSets", "ReadOnly");
    assert_eq!(read_only["Action"], "updated");
    assert!(read_only["ProvisionedTo"].is_u64(), "{read_only}");
    assert_eq!(
        t.json(&["permission-set", "get", "ReadOnly"])["SessionDuration"],
        "PT4H"
    );
    assert_eq!(step(&done, "Users", "carol")["Action"], "updated");
    let sent = sent.lock().expect("lock").clone();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let request: Value = serde_json::from_str(&sent[0]).expect("UpdateUser JSON");
    assert_eq!(request["UserId"], carol.as_str());
    assert_eq!(request["IdentityStoreId"], store.as_str());
    assert_eq!(
        request["Operations"],
        serde_json::json!([
            {"AttributePath": "displayName", "AttributeValue": "Carol Cook"},
            {"AttributePath": "name.givenName", "AttributeValue": "Carol"},
        ])
    );
    // Now the permission set is as in the backup.
    t.remove_var("AWS_ENDPOINT_URL_IDENTITYSTORE");
    let after = t.json(&[
        "backup",
        "restore",
        &id,
        "--dry-run",
        "--resources",
        "permission-sets",
    ]);
    assert_eq!(
        steps(&after, "PermissionSets"),
        [pair("Admin", "exists"), pair("ReadOnly", "exists")]
    );
}

/// An extra assignment and an extra group stay without `--prune`; with it they are deleted
/// (the assignment first), only with `--yes` off a terminal, and afterwards AWS is the
/// backup again. `--resources` limits what is pruned.
#[test]
fn prune_deletes_what_the_backup_lacks_only_when_asked() {
    let t = world();
    let id = id_of(&t.json(&["backup", "create"]));
    t.ok(&[
        "group",
        "create",
        "--name",
        "Ops",
        "--description",
        "operations",
    ]);
    t.ok(&["assignment", "assign", "ReadOnly", "bob", "prod-data"]);
    let extra = "prod-data / ReadOnly / USER / bob";
    let key_of = |doc: &Value| -> Option<String> {
        doc["Steps"]
            .as_array()?
            .iter()
            .find(|s| {
                s["Resource"] == "Assignments"
                    && s["Key"]
                        .as_str()
                        .is_some_and(|k| k.ends_with("/ ReadOnly / USER / bob"))
            })
            .and_then(|s| s["Key"].as_str().map(str::to_string))
    };

    let plain = t.json(&["backup", "restore", &id, "--dry-run"]);
    assert!(!actions(&plain).contains("would delete"), "{plain}");
    assert_eq!(key_of(&plain), None);

    let plan = t.json(&["backup", "restore", &id, "--prune", "--dry-run"]);
    let deletes: Vec<(String, String)> = plan["Steps"]
        .as_array()
        .expect("Steps")
        .iter()
        .filter(|s| s["Action"] == "would delete")
        .map(|s| {
            (
                s["Resource"].as_str().unwrap_or("?").to_string(),
                s["Key"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect();
    let assignment_key = key_of(&plan).expect("the extra assignment");
    assert!(assignment_key.ends_with(&extra["prod-data".len()..]));
    assert_eq!(
        deletes,
        [
            ("Assignments".to_string(), assignment_key.clone()),
            ("Groups".to_string(), "Ops".to_string())
        ]
    );
    let users_only = t.json(&[
        "backup",
        "restore",
        &id,
        "--prune",
        "--dry-run",
        "--resources",
        "users,groups",
    ]);
    assert_eq!(
        steps(&users_only, "Groups").last(),
        Some(&pair("Ops", "would delete"))
    );
    assert!(steps(&users_only, "Assignments").is_empty());

    // Off a terminal, deletes need --yes; without --prune nothing is deleted.
    let stderr = t.fails(2, &["backup", "restore", &id, "--prune"]);
    assert!(stderr.contains("delete 2 item(s)"), "{stderr}");
    t.ok(&["backup", "restore", &id, "--yes"]);
    assert!(t.ok(&["--output", "text", "group", "list"]).contains("Ops"));

    let done = t.json(&["backup", "restore", &id, "--prune", "--yes"]);
    assert_eq!(done["Counts"]["Delete"], 2, "{done}");
    assert_eq!(step(&done, "Groups", "Ops")["Action"], "deleted");
    assert_eq!(
        step(&done, "Assignments", &assignment_key)["Action"],
        "deleted"
    );
    assert!(!t.ok(&["--output", "text", "group", "list"]).contains("Ops"));
    let live = t.run(&["--output", "json", "backup", "diff", &id, "--live"]);
    assert_eq!(live.status.code(), Some(0), "{}", text(&live.stdout));
}

/// What moto lacks for sso-admin, kept by a gate in front of it: permissions boundaries
/// (Put, Get, Delete) and tags (TagResource, UntagResource, ListTagsForResource), answered
/// as AWS documents them, by permission set ARN. Every request of those operations and of
/// DetachCustomerManagedPolicyReferenceFromPermissionSet is kept, in order.
struct TagsAndBoundaries {
    gate: Gate,
    tags: Arc<Mutex<HashMap<String, BTreeMap<String, String>>>>,
    boundaries: Arc<Mutex<HashMap<String, Value>>>,
    sent: Arc<Mutex<Vec<(String, Value)>>>,
}

impl TagsAndBoundaries {
    fn start() -> TagsAndBoundaries {
        let tags: Arc<Mutex<HashMap<String, BTreeMap<String, String>>>> = Arc::default();
        let boundaries: Arc<Mutex<HashMap<String, Value>>> = Arc::default();
        let sent: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
        let (tagged, bounded, kept) = (tags.clone(), boundaries.clone(), sent.clone());
        let gate = Gate::intercepting(&crate::common::moto(), move |op, body| {
            let body: Value = serde_json::from_str(body).ok()?;
            if matches!(op, "TagResource" | "UntagResource" | "ListTagsForResource")
                || op.contains("PermissionsBoundary")
                || op == "DetachCustomerManagedPolicyReferenceFromPermissionSet"
            {
                kept.lock()
                    .expect("lock")
                    .push((op.to_string(), body.clone()));
            }
            let set = |member: &str| body[member].as_str().unwrap_or_default().to_string();
            let ok = || Some(Reply::json(200, "{}"));
            match op {
                "TagResource" => {
                    let mut all = tagged.lock().expect("lock");
                    let on = all.entry(set("ResourceArn")).or_default();
                    for tag in body["Tags"].as_array()? {
                        on.insert(
                            tag["Key"].as_str()?.to_string(),
                            tag["Value"].as_str()?.to_string(),
                        );
                    }
                    ok()
                }
                "UntagResource" => {
                    let mut all = tagged.lock().expect("lock");
                    let on = all.entry(set("ResourceArn")).or_default();
                    for key in body["TagKeys"].as_array()? {
                        on.remove(key.as_str()?);
                    }
                    ok()
                }
                "ListTagsForResource" => {
                    let all = tagged.lock().expect("lock");
                    let listed: Vec<Value> = all
                        .get(&set("ResourceArn"))
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| json!({"Key": k, "Value": v}))
                        .collect();
                    Some(Reply::json(200, &json!({ "Tags": listed }).to_string()))
                }
                "PutPermissionsBoundaryToPermissionSet" => {
                    bounded
                        .lock()
                        .expect("lock")
                        .insert(set("PermissionSetArn"), body["PermissionsBoundary"].clone());
                    ok()
                }
                "DeletePermissionsBoundaryFromPermissionSet" => {
                    bounded
                        .lock()
                        .expect("lock")
                        .remove(&set("PermissionSetArn"));
                    ok()
                }
                "GetPermissionsBoundaryForPermissionSet" => {
                    match bounded.lock().expect("lock").get(&set("PermissionSetArn")) {
                        Some(b) => Some(Reply::json(
                            200,
                            &json!({ "PermissionsBoundary": b }).to_string(),
                        )),
                        None => Some(Reply::no_boundary()),
                    }
                }
                _ => None,
            }
        });
        TagsAndBoundaries {
            gate,
            tags,
            boundaries,
            sent,
        }
    }

    /// The requests kept so far, taken out.
    fn take(&self) -> Vec<(String, Value)> {
        std::mem::take(&mut *self.sent.lock().expect("lock"))
    }
}

/// Validates request bodies against botocore's sso-admin model (the test venv's): one line
/// per body, "ok" or the validator's report.
fn valid_for_botocore(requests: &[(String, Value)]) -> Vec<String> {
    let script = r#"
import sys, json, botocore.session
from botocore.validate import ParamValidator
model = botocore.session.get_session().get_service_model("sso-admin")
for line in sys.stdin.read().splitlines():
    op, body = line.split(" ", 1)
    report = ParamValidator().validate(json.loads(body), model.operation_model(op).input_shape)
    print("ok" if not report.has_errors() else op + ": " + report.generate_report())
"#;
    let lines: Vec<String> = requests
        .iter()
        .map(|(op, body)| format!("{op} {body}"))
        .collect();
    crate::common::botocore(script, &lines)
}

const POWER_USER: &str = "arn:aws:iam::aws:policy/PowerUserAccess";

/// A customer managed policy reference, a boundary and tags changed after the backup
/// (a tag added, one changed, one removed): `--conflict overwrite` shows each change,
/// detaches the reference, deletes the boundary, untags and tags to match (the exact
/// requests, valid for botocore's model), and the set reads back as in the backup; `rollback
/// apply` of the restore puts every one of them back.
#[test]
fn overwrite_removes_a_reference_and_a_boundary_and_matches_tags_and_rollback_undoes_it() {
    let mut t = world();
    let world = TagsAndBoundaries::start();
    t.set_var("AWS_ENDPOINT_URL_SSO_ADMIN", world.gate.url.clone());
    let read = |t: &TestEnv| t.json(&["--no-cache", "permission-set", "get", "ReadOnly"]);
    let arn = read(&t)["PermissionSetArn"]
        .as_str()
        .expect("ARN")
        .to_string();
    let instance = t.json(&["sso", "discover"])["Instances"][0]["InstanceArn"]
        .as_str()
        .expect("instance")
        .to_string();
    let set_tags = |pairs: &[(&str, &str)]| {
        world.tags.lock().expect("lock").insert(
            arn.clone(),
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
    };
    set_tags(&[("env", "prod"), ("team", "platform")]);
    let id = id_of(&t.json(&["backup", "create"]));

    // After the backup: a reference (in moto), a boundary, and other tags.
    let reference = json!({"Name": "team-extra", "Path": "/teams/"});
    t.aws(
        awsideman::testing::Service::SsoAdmin,
        "AttachCustomerManagedPolicyReferenceToPermissionSet",
        json!({"InstanceArn": instance, "PermissionSetArn": arn,
               "CustomerManagedPolicyReference": reference}),
    );
    let boundary = json!({ "ManagedPolicyArn": POWER_USER });
    world
        .boundaries
        .lock()
        .expect("lock")
        .insert(arn.clone(), boundary.clone());
    set_tags(&[("owner", "x"), ("team", "ops")]);
    let changed = read(&t);
    assert_eq!(changed["CustomerManagedPolicies"], json!([reference]));
    assert_eq!(changed["PermissionsBoundary"], boundary);
    world.take();

    let skip = t.json(&["backup", "restore", &id, "--dry-run"]);
    let read_only = step(&skip, "PermissionSets", "ReadOnly");
    assert_eq!(read_only["Action"], "exists, differs (left as is)");
    let plan = t.json(&[
        "backup",
        "restore",
        &id,
        "--conflict",
        "overwrite",
        "--dry-run",
    ]);
    let read_only = step(&plan, "PermissionSets", "ReadOnly");
    assert_eq!(read_only["Action"], "would update", "{read_only}");
    assert!(read_only.get("Left").is_none(), "{read_only}");
    let backed_up = json!([{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "platform"}]);
    assert_eq!(
        read_only["Changes"],
        json!([
            {"Field": "CustomerManagedPolicies", "Before": [reference], "After": []},
            {"Field": "PermissionsBoundary", "Before": boundary, "After": null},
            {"Field": "Tags", "Before": [{"Key": "owner", "Value": "x"},
                                         {"Key": "team", "Value": "ops"}],
             "After": backed_up},
        ]),
        "{read_only}"
    );
    let detail = read_only["Detail"].as_str().unwrap_or("");
    assert!(
        detail.starts_with(r#"CustomerManagedPolicies [{"Name":"team-extra","Path":"/teams/"}] -> []; PermissionsBoundary {"ManagedPolicyArn":"arn:aws:iam::aws:policy/PowerUserAccess"} -> null; Tags "#),
        "{detail}"
    );
    assert!(
        world
            .take()
            .iter()
            .all(|(op, _)| op.starts_with("List") || op.starts_with("Get")),
        "a dry run writes nothing"
    );

    let done = t.json(&["backup", "restore", &id, "--conflict", "overwrite", "--yes"]);
    assert_eq!(
        step(&done, "PermissionSets", "ReadOnly")["Action"],
        "updated",
        "{done}"
    );
    let writes: Vec<(String, Value)> = world
        .take()
        .into_iter()
        .filter(|(op, _)| !op.starts_with("List") && !op.starts_with("Get"))
        .collect();
    let target = json!({"InstanceArn": instance, "PermissionSetArn": arn});
    let tagged = json!({"InstanceArn": instance, "ResourceArn": arn});
    let with = |base: &Value, member: &str, value: Value| {
        let mut body = base.clone();
        body[member] = value;
        body
    };
    assert_eq!(
        writes,
        [
            (
                "DetachCustomerManagedPolicyReferenceFromPermissionSet".to_string(),
                with(&target, "CustomerManagedPolicyReference", reference.clone())
            ),
            (
                "DeletePermissionsBoundaryFromPermissionSet".to_string(),
                target.clone()
            ),
            (
                "UntagResource".to_string(),
                with(&tagged, "TagKeys", json!(["owner"]))
            ),
            (
                "TagResource".to_string(),
                with(&tagged, "Tags", backed_up.clone())
            ),
        ]
    );
    assert_eq!(valid_for_botocore(&writes), ["ok", "ok", "ok", "ok"]);
    let after = read(&t);
    assert_eq!(after["CustomerManagedPolicies"], json!([]));
    assert_eq!(after["PermissionsBoundary"], Value::Null);
    let tags_now = || -> Vec<(String, String)> {
        world.tags.lock().expect("lock")[&arn]
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(tags_now(), pairs(&[("env", "prod"), ("team", "platform")]));
    let live = t.run(&["--output", "json", "backup", "diff", &id, "--live"]);
    assert_eq!(live.status.code(), Some(0), "{}", text(&live.stdout));
    let again = t.json(&[
        "backup",
        "restore",
        &id,
        "--conflict",
        "overwrite",
        "--dry-run",
        "--resources",
        "permission-sets",
    ]);
    assert_eq!(
        step(&again, "PermissionSets", "ReadOnly")["Action"],
        "exists"
    );

    // The rollback of the restore: the tags as they were, the boundary put back, the
    // reference attached again.
    let restore = t.json(&["rollback", "list"])["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .rev()
        .find(|o| o["command"] == "backup restore")
        .and_then(|o| o["id"].as_str())
        .expect("the restore in the journal")
        .to_string();
    let shown = t.json(&["rollback", "show", &restore]);
    let undone_by: Vec<&str> = shown["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| c["inverse"].as_str())
        .collect();
    assert_eq!(
        undone_by,
        [
            "AttachCustomerManagedPolicyReferenceToPermissionSet",
            "PutPermissionsBoundaryToPermissionSet",
            "TagResource",
            "UntagResource + TagResource",
        ],
        "{shown}"
    );
    t.json(&["rollback", "apply", &restore, "--yes"]);
    let writes: Vec<(String, Value)> = world
        .take()
        .into_iter()
        .filter(|(op, _)| !op.starts_with("List") && !op.starts_with("Get"))
        .collect();
    assert_eq!(
        writes,
        [
            (
                "UntagResource".to_string(),
                with(&tagged, "TagKeys", json!(["env"]))
            ),
            (
                "TagResource".to_string(),
                with(&tagged, "Tags", json!([{"Key": "team", "Value": "ops"}]))
            ),
            (
                "TagResource".to_string(),
                with(&tagged, "Tags", json!([{"Key": "owner", "Value": "x"}]))
            ),
            (
                "PutPermissionsBoundaryToPermissionSet".to_string(),
                with(&target, "PermissionsBoundary", boundary.clone())
            ),
        ]
    );
    assert_eq!(valid_for_botocore(&writes), ["ok", "ok", "ok", "ok"]);
    let back = read(&t);
    assert_eq!(back["CustomerManagedPolicies"], json!([reference]));
    assert_eq!(back["PermissionsBoundary"], boundary);
    assert_eq!(tags_now(), pairs(&[("owner", "x"), ("team", "ops")]));
}
