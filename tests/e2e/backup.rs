//! `backup`: snapshots of a seeded Identity Center on moto, kept in a directory and in S3
//! (moto serves S3 on the same port, path style): create, list, show, validate, delete,
//! export, import; damage is caught; sealed backups show no name; and `backup create`
//! makes the fewest requests the data allows.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::common::seed::Instance;
use crate::common::{TestEnv, botocore, mode, requests, text};

/// A key for the env key source (32 bytes, base64).
const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// alice (Admins, Devs), bob (Devs), carol (no group); Admin (a managed and an inline
/// policy) and ReadOnly (a managed policy); Admin to alice in prod-app, to Admins in
/// prod-app and prod-data; ReadOnly to Devs in dev-sandbox.
pub(crate) fn world() -> TestEnv {
    let t = TestEnv::new();
    let org = t.seed_org();
    let Instance { arn, store } = t.instance();
    let alice = t.seed_user(&store, "alice", "Alice", "Able");
    let bob = t.seed_user(&store, "bob", "Bob", "Baker");
    t.seed_user(&store, "carol", "Carol", "Cook");
    let admins = t.seed_group(&store, "Admins", &[&alice]);
    let devs = t.seed_group(&store, "Devs", &[&alice, &bob]);
    let admin = t.seed_permission_set(
        &arn,
        "Admin",
        &["arn:aws:iam::aws:policy/AdministratorAccess"],
        Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:DeleteRole","Resource":"*"}]}"#),
    );
    let read_only = t.seed_permission_set(
        &arn,
        "ReadOnly",
        &["arn:aws:iam::aws:policy/ReadOnlyAccess"],
        None,
    );
    let account = |name: &str| org.accounts[name].clone();
    t.seed_assignment(&arn, &admin, "USER", &alice, &account("prod-app"));
    for a in ["prod-app", "prod-data"] {
        t.seed_assignment(&arn, &admin, "GROUP", &admins, &account(a));
    }
    t.seed_assignment(&arn, &read_only, "GROUP", &devs, &account("dev-sandbox"));
    t
}

/// Creates `bucket` in moto with boto3 (the test venv's).
fn create_bucket(bucket: &str) {
    let script = r#"
import sys, boto3
url, bucket = sys.stdin.read().split()
boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="a",
             aws_secret_access_key="b").create_bucket(Bucket=bucket)
print("ok")
"#;
    let out = botocore(script, &[crate::common::moto(), bucket.to_string()]);
    assert_eq!(out, ["ok"]);
}

/// Flips one bit of the last byte of an object in moto, with boto3.
fn flip_last_byte_in_s3(bucket: &str, key: &str) {
    let script = r#"
import sys, boto3
url, bucket, key = sys.stdin.read().split()
s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="a",
                  aws_secret_access_key="b")
body = bytearray(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
body[-1] ^= 1
s3.put_object(Bucket=bucket, Key=key, Body=bytes(body))
print("ok")
"#;
    let lines = [crate::common::moto(), bucket.to_string(), key.to_string()];
    assert_eq!(botocore(script, &lines), ["ok"]);
}

fn bucket_name(t: &TestEnv) -> String {
    format!("awsideman-backups-{}", t.account)
}

/// The `Id` of a `backup create` answer.
pub(crate) fn id_of(created: &Value) -> String {
    created["Id"].as_str().expect("backup id").to_string()
}

fn ids(t: &TestEnv, from: &str) -> Vec<String> {
    t.json(&["backup", "list", "--from", from])["Backups"]
        .as_array()
        .expect("Backups")
        .iter()
        .map(|b| b["Id"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// Checks the whole document of a backup of [`world`].
fn check_document(doc: &Value) {
    assert_eq!(doc["Format"], "awsideman-backup");
    assert_eq!(doc["FormatVersion"], 1);
    let counts = &doc["Counts"];
    assert_eq!(counts["Users"], 3, "{counts}");
    assert_eq!(counts["Groups"], 2);
    assert_eq!(counts["Memberships"], 3);
    assert_eq!(counts["PermissionSets"], 2);
    assert_eq!(counts["Assignments"], 4);
    assert_eq!(counts["Accounts"], 5);
    assert_eq!(counts["OrganizationalUnits"], 4);
    let names = |member: &str, key: &str| -> Vec<String> {
        doc[member]
            .as_array()
            .expect(member)
            .iter()
            .map(|v| v[key].as_str().unwrap_or("?").to_string())
            .collect()
    };
    assert_eq!(names("Users", "UserName"), ["alice", "bob", "carol"]);
    assert_eq!(names("Groups", "DisplayName"), ["Admins", "Devs"]);
    assert_eq!(
        names("Memberships", "UserName"),
        ["alice", "alice", "bob"],
        "sorted by group, then user"
    );
    assert_eq!(
        names("Memberships", "GroupName"),
        ["Admins", "Devs", "Devs"]
    );
    assert_eq!(names("PermissionSets", "Name"), ["Admin", "ReadOnly"]);
    let admin = &doc["PermissionSets"][0];
    assert_eq!(admin["SessionDuration"], "PT4H");
    assert_eq!(admin["Description"], "Admin access");
    assert!(
        admin["InlinePolicy"]
            .as_str()
            .unwrap()
            .contains("iam:DeleteRole")
    );
    assert_eq!(
        admin["AwsManagedPolicies"][0]["Arn"],
        "arn:aws:iam::aws:policy/AdministratorAccess"
    );
    assert!(admin["CustomerManagedPolicies"].is_array());
    assert!(doc["PermissionSets"][1]["InlinePolicy"].is_null());
    let assignments: Vec<String> = doc["Assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            format!(
                "{} {} {} {}",
                a["AccountName"].as_str().unwrap_or("?"),
                a["PermissionSetName"].as_str().unwrap_or("?"),
                a["PrincipalType"].as_str().unwrap_or("?"),
                a["PrincipalName"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    assert_eq!(
        assignments,
        [
            "dev-sandbox ReadOnly GROUP Devs",
            "prod-app Admin GROUP Admins",
            "prod-app Admin USER alice",
            "prod-data Admin GROUP Admins",
        ]
    );
    assert_eq!(
        names("OrganizationalUnits", "Path"),
        [
            "Root/Engineering",
            "Root/Engineering/Dev",
            "Root/Engineering/Prod",
            "Root/Security"
        ]
    );
    assert!(names("Accounts", "Name").contains(&"prod-app".to_string()));
}

/// The one error line of a failed run.
fn one_error_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("awsideman: error: "), "{stderr}");
    lines[0]
}

#[test]
fn a_backup_in_a_directory_round_trips_and_damage_is_caught() {
    let t = world();
    let created = t.json(&["backup", "create"]);
    let id = id_of(&created);
    let dir = t.config_dir().join("backups");
    let file = dir.join(format!("{id}.awsideman-backup"));
    assert_eq!(created["Location"], file.display().to_string());
    assert_eq!(created["Encrypted"], false);
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&file), 0o600);
    let default = dir.display().to_string();
    assert_eq!(ids(&t, &default), [id.as_str()]);
    assert_eq!(t.json(&["backup", "list"])["Backups"][0]["Id"], id.as_str());

    let valid = t.json(&["backup", "validate", &id]);
    assert_eq!(valid["Valid"], true);
    let table = t.ok(&["--output", "table", "backup", "show", &id]);
    assert!(
        table.contains("Permission sets") && table.contains(&id),
        "{table}"
    );
    let shown = t.json(&["backup", "show", &id]);
    assert_eq!(shown["Counts"]["Users"], 3);
    assert_eq!(
        shown["Source"]["IdentityStoreId"],
        created["Source"]["IdentityStoreId"]
    );
    check_document(&t.json(&["backup", "show", &id, "--document"]));

    // Export, import elsewhere, delete.
    let exported = t.home.join("copy.awsideman-backup");
    t.ok(&["backup", "export", &id, exported.to_str().unwrap()]);
    assert_eq!(
        std::fs::read(&exported).unwrap(),
        std::fs::read(&file).unwrap()
    );
    assert_eq!(mode(&exported), 0o600);
    t.fails(1, &["backup", "export", &id, exported.to_str().unwrap()]);
    let other = t.home.join("elsewhere");
    let other_text = other.display().to_string();
    t.ok(&[
        "backup",
        "import",
        exported.to_str().unwrap(),
        "--to",
        &other_text,
    ]);
    assert_eq!(ids(&t, &other_text), [id.as_str()]);
    t.fails(
        1,
        &[
            "backup",
            "import",
            exported.to_str().unwrap(),
            "--to",
            &other_text,
        ],
    );
    t.fails(2, &["backup", "delete", &id, "--from", &other_text]);
    t.ok(&["backup", "delete", &id, "--from", &other_text, "--yes"]);
    assert!(ids(&t, &other_text).is_empty());
    t.fails(1, &["backup", "show", &id, "--from", &other_text]);

    // A flipped byte anywhere fails validation with one line.
    let bytes = std::fs::read(&file).unwrap();
    for at in [10, bytes.len() / 2, bytes.len() - 1] {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x20;
        std::fs::write(&file, &damaged).unwrap();
        let stderr = t.fails(1, &["backup", "validate", &id]);
        assert!(
            one_error_line(&stderr).contains(&format!("backup {id}")),
            "{stderr}"
        );
    }
    // Ids are never paths.
    t.fails(2, &["backup", "show", "../../etc/passwd"]);
}

#[test]
fn an_encrypted_backup_in_s3_round_trips_and_shows_no_name() {
    let mut t = world();
    t.set_var("AWSIDEMAN_CACHE_KEY_SOURCE", "env");
    t.set_var("AWSIDEMAN_CACHE_KEY", KEY);
    let bucket = bucket_name(&t);
    create_bucket(&bucket);
    let dest = format!("s3://{bucket}/team/backups");
    let created = t.json(&["backup", "create", "--to", &dest, "--encrypt"]);
    let id = id_of(&created);
    assert_eq!(created["Encrypted"], true);
    assert_eq!(
        created["Location"],
        format!("s3://{bucket}/team/backups/{id}.awsideman-backup")
    );
    let plain = id_of(&t.json(&[
        "backup",
        "create",
        "--to",
        &dest,
        "--resources",
        "users,groups",
    ]));
    let mut both = vec![id.clone(), plain.clone()];
    both.sort();
    assert_eq!(ids(&t, &dest), both);
    assert!(ids(&t, &format!("s3://{bucket}/other")).is_empty());

    assert_eq!(
        t.json(&["backup", "validate", &id, "--from", &dest])["Encrypted"],
        true
    );
    check_document(&t.json(&["backup", "show", &id, "--from", &dest, "--document"]));
    let partial = t.json(&["backup", "show", &plain, "--from", &dest, "--document"]);
    assert_eq!(partial["Resources"], serde_json::json!(["users", "groups"]));
    assert!(partial.get("Memberships").is_none() && partial.get("Assignments").is_none());

    // The sealed file names nobody; without the key it cannot be read.
    let exported = t.home.join("sealed.awsideman-backup");
    t.ok(&[
        "backup",
        "export",
        &id,
        exported.to_str().unwrap(),
        "--from",
        &dest,
    ]);
    let sealed = String::from_utf8_lossy(&std::fs::read(&exported).unwrap()).to_string();
    for name in [
        "alice",
        "Admins",
        "ReadOnly",
        "prod-app",
        "Engineering",
        "Alice",
    ] {
        assert!(!sealed.contains(name), "{name} in the sealed backup");
    }
    let mut keyless = t.sibling();
    keyless.set_var("AWSIDEMAN_CACHE_KEY_SOURCE", "env");
    keyless.remove_var("AWSIDEMAN_CACHE_KEY");
    std::fs::create_dir_all(keyless.config_dir()).unwrap();
    keyless.fails(2, &["backup", "validate", &id, "--from", &dest]);

    // A damaged copy is refused on import; an intact one goes in under its id.
    let mut damaged = std::fs::read(&exported).unwrap();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    let damaged_file = t.home.join("damaged.awsideman-backup");
    std::fs::write(&damaged_file, damaged).unwrap();
    let elsewhere = format!("s3://{bucket}/copies");
    let stderr = t.fails(
        1,
        &[
            "backup",
            "import",
            damaged_file.to_str().unwrap(),
            "--to",
            &elsewhere,
        ],
    );
    one_error_line(&stderr);
    t.ok(&[
        "backup",
        "import",
        exported.to_str().unwrap(),
        "--to",
        &elsewhere,
    ]);
    assert_eq!(ids(&t, &elsewhere), [id.as_str()]);
    assert_eq!(
        t.json(&["backup", "validate", &id, "--from", &elsewhere])["Valid"],
        true
    );
    // Importing it again is refused: S3 keeps the first (PutObject If-None-Match).
    t.fails(
        1,
        &[
            "backup",
            "import",
            exported.to_str().unwrap(),
            "--to",
            &elsewhere,
        ],
    );

    // A flipped byte in the S3 object fails validation with one line.
    let key = format!("team/backups/{plain}.awsideman-backup");
    flip_last_byte_in_s3(&bucket, &key);
    let stderr = t.fails(1, &["backup", "validate", &plain, "--from", &dest]);
    assert!(one_error_line(&stderr).contains("checksum"), "{stderr}");

    t.fails(2, &["backup", "delete", &id, "--from", &dest]);
    t.ok(&["backup", "delete", &id, "--from", &dest, "--yes"]);
    assert_eq!(ids(&t, &dest), [plain.as_str()]);
    t.fails(1, &["backup", "delete", &id, "--from", &dest, "--yes"]);
    t.fails(1, &["backup", "show", &id, "--from", &dest]);
}

/// Requests per operation, STS left out (credentials, not data).
fn per_operation(stderr: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (service, op) in requests(stderr) {
        if service != "sts" {
            *out.entry(op).or_insert(0) += 1;
        }
    }
    out
}

/// `backup create` makes one listing each of accounts, roots, users, groups and
/// permission sets, one membership listing per group, six requests per permission set,
/// one OU listing per root and OU, and the assignment plan's requests (whose listings of
/// accounts, users and groups and name lookups it shares); and it never reads the cache.
#[test]
fn backup_create_makes_the_fewest_requests() {
    let mut t = world();
    // moto implements neither permission set tags nor boundaries: one attempt each.
    t.set_var("AWS_MAX_ATTEMPTS", "1");
    let plan = t.run(&["--debug", "--no-cache", "assignment", "list"]);
    assert!(plan.status.success());
    let mut expected = per_operation(&text(&plan.stderr));
    for listing in ["ListAccounts", "ListUsers", "ListGroups"] {
        assert_eq!(expected.get(listing), Some(&1), "{expected:?}");
    }
    // The plan's name lookups are the backup's own permission set descriptions.
    expected.remove("DescribePermissionSet");
    for (op, n) in [
        ("ListRoots", 1),
        ("ListPermissionSets", 1),
        ("ListGroupMemberships", 2),
        ("DescribePermissionSet", 2),
        ("ListManagedPoliciesInPermissionSet", 2),
        ("ListCustomerManagedPolicyReferencesInPermissionSet", 2),
        ("GetInlinePolicyForPermissionSet", 2),
        ("GetPermissionsBoundaryForPermissionSet", 2),
        ("ListTagsForResource", 2),
        ("ListOrganizationalUnitsForParent", 5),
    ] {
        *expected.entry(op.to_string()).or_insert(0) += n;
    }
    // The cache is warm from the plan's run, yet a backup reads AWS.
    t.ok(&["assignment", "list"]);
    let out = t.run(&["--debug", "backup", "create"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert_eq!(per_operation(&stderr), expected, "{stderr}");
    assert!(!stderr.contains("cache hit"), "{stderr}");
    // Its fresh answers are cached for the next command.
    let out = t.run(&["--debug", "user", "list"]);
    assert!(per_operation(&text(&out.stderr)).is_empty());
}

#[test]
fn destinations_and_resources_are_checked_before_aws_is_asked() {
    let t = TestEnv::new();
    t.fails(2, &["backup", "create", "--resources", "people"]);
    t.fails(2, &["backup", "list", "--from", "s3://No_Such"]);
    let empty = t.json(&[
        "backup",
        "list",
        "--from",
        t.home.join("none").to_str().unwrap(),
    ]);
    assert_eq!(empty["Backups"], serde_json::json!([]));
}

/// The rows of a `backup diff` answer: `Resource Key Summary`.
fn diff_rows(t: &TestEnv, args: &[&str]) -> Vec<String> {
    let out = t.run(args);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("diff JSON");
    doc["Differences"]
        .as_array()
        .expect("Differences")
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r["Resource"].as_str().unwrap_or("?"),
                r["Key"].as_str().unwrap_or("?"),
                r["Summary"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

#[test]
fn diff_shows_exactly_what_changed_since_a_backup() {
    let t = world();
    let first = id_of(&t.json(&["backup", "create"]));
    let same = t.run(&["--output", "json", "backup", "diff", &first, &first]);
    assert_eq!(same.status.code(), Some(0), "{}", text(&same.stderr));
    let none: Value = serde_json::from_slice(&same.stdout).unwrap();
    assert_eq!(none["Differences"], serde_json::json!([]));
    assert_eq!(none["Compared"].as_array().unwrap().len(), 7);

    t.ok(&[
        "permission-set",
        "update",
        "ReadOnly",
        "--session-duration",
        "PT8H",
    ]);
    t.ok(&[
        "group",
        "create",
        "--name",
        "Ops",
        "--description",
        "operations",
    ]);
    t.ok(&["group", "remove-member", "Devs", "bob", "--yes"]);
    t.ok(&["user", "delete", "carol", "--yes"]);
    let expected = [
        "Users carol removed",
        "Groups Ops added",
        "Memberships Devs / bob removed",
        "PermissionSets ReadOnly changed SessionDuration",
    ];
    let live = diff_rows(
        &t,
        &["--output", "json", "backup", "diff", &first, "--live"],
    );
    assert_eq!(live, expected);
    let second = id_of(&t.json(&["backup", "create"]));
    let between = diff_rows(&t, &["--output", "json", "backup", "diff", &first, &second]);
    assert_eq!(between, expected);
    let doc: Value = serde_json::from_slice(
        &t.run(&["--output", "json", "backup", "diff", &first, &second])
            .stdout,
    )
    .unwrap();
    let change = &doc["Differences"][3]["Fields"][0];
    assert_eq!(change["Before"], "PT4H");
    assert_eq!(change["After"], "PT8H");
    t.fails(2, &["backup", "diff", &first]);
    t.fails(2, &["backup", "diff", &first, &second, "--live"]);
}

/// The `(Key, Action)` of a restore's steps of `resource`.
pub(crate) fn steps(doc: &Value, resource: &str) -> Vec<(String, String)> {
    doc["Steps"]
        .as_array()
        .expect("Steps")
        .iter()
        .filter(|s| s["Resource"] == resource)
        .map(|s| {
            (
                s["Key"].as_str().unwrap_or("?").to_string(),
                s["Action"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect()
}

pub(crate) fn pair(key: &str, action: &str) -> (String, String) {
    (key.to_string(), action.to_string())
}

#[test]
fn restore_recreates_by_name_what_was_deleted() {
    let t = world();
    let id = id_of(&t.json(&["backup", "create"]));
    t.ok(&["user", "delete", "bob", "--yes"]);
    t.ok(&["group", "delete", "Devs", "--yes"]);
    t.ok(&["permission-set", "delete", "ReadOnly", "--yes"]);

    let plan = t.json(&["backup", "restore", &id, "--dry-run"]);
    assert_eq!(plan["DryRun"], true);
    assert_eq!(
        steps(&plan, "Users"),
        [
            pair("alice", "exists"),
            pair("bob", "would create"),
            pair("carol", "exists")
        ]
    );
    assert_eq!(
        steps(&plan, "Groups"),
        [pair("Admins", "exists"), pair("Devs", "would create")]
    );
    assert_eq!(
        steps(&plan, "PermissionSets"),
        [pair("Admin", "exists"), pair("ReadOnly", "would create")]
    );
    assert!(steps(&plan, "Memberships").contains(&pair("Devs / bob", "would create")));
    let devs_assignment = steps(&plan, "Assignments")
        .into_iter()
        .find(|(key, _)| key.ends_with("/ ReadOnly / GROUP / Devs"))
        .expect("the Devs assignment");
    assert_eq!(devs_assignment.1, "would create");
    // The plan changed nothing.
    assert_eq!(
        t.json(&["backup", "restore", &id, "--dry-run"])["Steps"],
        plan["Steps"]
    );

    t.fails(2, &["backup", "restore", &id]);
    let done = t.json(&["backup", "restore", &id, "--yes"]);
    assert_eq!(steps(&done, "Users")[1], pair("bob", "created"));
    assert!(
        done["Steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["Action"] == "created" || s["Action"] == "exists"),
        "{done}"
    );
    // Everything is back under its name: nothing left to create, only new ids differ.
    let again = t.json(&["backup", "restore", &id, "--dry-run"]);
    assert!(
        again["Steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["Action"] == "exists"),
        "{again}"
    );
    let read_only = t.json(&["permission-set", "get", "ReadOnly"]);
    assert_eq!(read_only["SessionDuration"], "PT4H");
    let access = t.json(&["assignment", "list", "--principal", "Devs"]);
    assert_eq!(
        access["AccountAssignments"][0]["PermissionSetName"], "ReadOnly",
        "{access}"
    );
}
