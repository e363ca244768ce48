//! `permission-set list|get|create|update|delete|provision` against moto, and against a
//! loopback fixture for what moto does not implement (provisioning status, permissions
//! boundary).

use std::sync::{Arc, Mutex};

use awsideman::testing::Service;
use serde_json::{Value, json};

use crate::common::fixture::{Fixture, Gate, Reply};
use crate::common::seed::Instance;
use crate::common::{TestEnv, assert_success, moto, requests, text};

const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
const AUDIT: &str = "arn:aws:iam::aws:policy/SecurityAudit";
const S3_READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
const EC2_READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}"#;

fn world() -> (TestEnv, Instance) {
    let t = TestEnv::new();
    let instance = t.instance();
    (t, instance)
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON")
}

/// The managed policy ARNs of a `get` document, sorted.
fn managed(doc: &Value) -> Vec<String> {
    let mut arns: Vec<String> = doc["ManagedPolicies"]
        .as_array()
        .expect("ManagedPolicies")
        .iter()
        .map(|p| p["Arn"].as_str().expect("Arn").to_string())
        .collect();
    arns.sort();
    arns
}

/// The permission set names `permission-set list` shows.
fn listed(t: &TestEnv, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["permission-set", "list"];
    args.extend_from_slice(extra);
    t.json(&args)["PermissionSets"]
        .as_array()
        .expect("PermissionSets")
        .iter()
        .map(|ps| ps["Name"].as_str().expect("Name").to_string())
        .collect()
}

/// Whether a table-form record shows `value` for the field `label`.
fn has_field(table: &str, label: &str, value: &str) -> bool {
    table.lines().any(|line| {
        line.strip_prefix(label)
            .and_then(|rest| rest.strip_prefix(':'))
            .is_some_and(|rest| rest.trim() == value)
    })
}

#[test]
fn create_with_policies_and_get_shows_them() {
    let (t, instance) = world();
    let policy = t.write("s3-read.json", &format!("{S3_READ}\n"));
    let created = t.json(&[
        "permission-set",
        "create",
        "--name",
        "S3Reader",
        "--description",
        "Read S3",
        "--session-duration",
        "PT8H",
        "--relay-state",
        "https://console.aws.amazon.com/s3",
        "--managed-policy",
        READ_ONLY,
        "--managed-policy",
        AUDIT,
        "--inline-policy",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(created["Name"], "S3Reader");
    assert_eq!(created["Description"], "Read S3");
    assert_eq!(created["SessionDuration"], "PT8H");
    assert_eq!(created["RelayState"], "https://console.aws.amazon.com/s3");
    assert_eq!(managed(&created), [READ_ONLY, AUDIT]);
    assert_eq!(created["InlinePolicy"], parse(S3_READ));
    assert_eq!(created["CustomerManagedPolicies"], json!([]));
    assert_eq!(created["PermissionsBoundary"], Value::Null);
    assert_eq!(created["ProvisionedAccounts"], json!([]));
    let arn = created["PermissionSetArn"].as_str().unwrap();
    assert!(
        arn.starts_with("arn:aws:sso:::") && arn.contains("/ps-"),
        "{arn}"
    );

    // What moto holds, read past the command under test.
    let inline = t.aws(
        Service::SsoAdmin,
        "GetInlinePolicyForPermissionSet",
        json!({"InstanceArn": instance.arn, "PermissionSetArn": arn}),
    );
    assert_eq!(
        parse(inline["InlinePolicy"].as_str().unwrap()),
        parse(S3_READ)
    );

    for who in ["S3Reader", "s3reader", arn] {
        assert_eq!(t.json(&["permission-set", "get", who]), created, "by {who}");
    }

    // moto does not implement GetPermissionsBoundaryForPermissionSet: a warning, not a failure.
    let out = t.run(&["--output", "json", "permission-set", "get", "S3Reader"]);
    assert_success(&out, &["permission-set", "get"]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("warning: permissions boundary unknown"),
        "{stderr}"
    );
    // Unknown is not "none": the member is left out and the JSON says why.
    let doc = parse(&text(&out.stdout));
    assert!(doc.get("PermissionsBoundary").is_none(), "{doc}");
    let warnings = doc["Warnings"].as_array().expect("Warnings");
    assert_eq!(warnings.len(), 1, "{doc}");
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .starts_with("PermissionsBoundary could not be read"),
        "{doc}"
    );
    let quiet = t.run(&[
        "-q",
        "--output",
        "json",
        "permission-set",
        "get",
        "S3Reader",
    ]);
    assert_eq!(text(&quiet.stderr), "");

    let table = t.ok(&["--output", "table", "permission-set", "get", "S3Reader"]);
    assert!(has_field(&table, "Session duration", "PT8H"), "{table}");
    for expected in ["Managed policies", "SecurityAudit"] {
        assert!(table.contains(expected), "{expected}:\n{table}");
    }
}

#[test]
fn create_defaults_and_inline_policy_from_stdin() {
    let (t, _) = world();
    let out = t.run_with_stdin(
        &[
            "--output",
            "json",
            "permission-set",
            "create",
            "--name",
            "Ec2Reader",
            "--session-duration",
            "pt90m",
            "--inline-policy",
            "-",
        ],
        EC2_READ,
    );
    assert_success(&out, &["permission-set", "create", "--inline-policy", "-"]);
    let created = parse(&text(&out.stdout));
    assert_eq!(
        created["SessionDuration"], "PT1H30M",
        "sent in canonical form"
    );
    assert_eq!(created["InlinePolicy"], parse(EC2_READ));
    assert_eq!(created["ManagedPolicies"], json!([]));
}

#[test]
fn update_changes_settings_and_policies() {
    let (t, instance) = world();
    let arn = t.seed_permission_set(&instance.arn, "Ops", &[READ_ONLY, ADMIN], Some(S3_READ));
    let policy = t.write("ec2.json", EC2_READ);
    let updated = t.json(&[
        "permission-set",
        "update",
        "Ops",
        "--description",
        "Operations",
        "--session-duration",
        "PT2H",
        "--relay-state",
        "https://example.com/start",
        "--add-managed-policy",
        AUDIT,
        "--remove-managed-policy",
        ADMIN,
        "--inline-policy",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(updated["PermissionSetArn"], arn.as_str());
    assert_eq!(updated["Description"], "Operations");
    assert_eq!(updated["SessionDuration"], "PT2H");
    assert_eq!(updated["RelayState"], "https://example.com/start");
    assert_eq!(managed(&updated), [READ_ONLY, AUDIT]);
    assert_eq!(updated["InlinePolicy"], parse(EC2_READ));

    // Settings not given are kept; the inline policy goes.
    let updated = t.json(&["permission-set", "update", &arn, "--remove-inline-policy"]);
    assert_eq!(updated["InlinePolicy"], Value::Null);
    assert_eq!(updated["Description"], "Operations");
    assert_eq!(updated["SessionDuration"], "PT2H");
    assert_eq!(updated["RelayState"], "https://example.com/start");
    assert_eq!(managed(&updated), [READ_ONLY, AUDIT]);
    assert_eq!(t.json(&["permission-set", "get", "Ops"]), updated);

    let updated = t.json(&[
        "permission-set",
        "update",
        "Ops",
        "--session-duration",
        "PT12H",
    ]);
    assert_eq!(updated["SessionDuration"], "PT12H");
    assert_eq!(updated["Description"], "Operations");

    let out = t.run_with_stdin(
        &[
            "--output",
            "json",
            "permission-set",
            "update",
            "Ops",
            "--inline-policy",
            "-",
        ],
        S3_READ,
    );
    assert_success(&out, &["permission-set", "update", "--inline-policy", "-"]);
    assert_eq!(parse(&text(&out.stdout))["InlinePolicy"], parse(S3_READ));

    let err = t.fails(2, &["permission-set", "update", "Ops"]);
    assert!(err.contains("nothing to change"), "{err}");
    let err = t.fails(
        2,
        &[
            "permission-set",
            "update",
            "Ops",
            "--inline-policy",
            policy.to_str().unwrap(),
            "--remove-inline-policy",
        ],
    );
    assert!(err.contains("cannot be used together"), "{err}");
    let err = t.fails(
        2,
        &[
            "permission-set",
            "update",
            "Ops",
            "--session-duration",
            "PT0H",
        ],
    );
    assert!(err.contains("--session-duration"), "{err}");
    assert_eq!(
        t.json(&["permission-set", "get", "Ops"])["SessionDuration"],
        "PT12H"
    );
}

#[test]
fn list_and_filter() {
    let (t, instance) = world();
    for name in ["ReadOnly", "Admin", "Billing"] {
        t.seed_permission_set(&instance.arn, name, &[], None);
    }
    let out = t.json(&["permission-set", "list"]);
    let sets = out["PermissionSets"].as_array().unwrap();
    let names: Vec<&str> = sets.iter().map(|ps| ps["Name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Admin", "Billing", "ReadOnly"]);
    for ps in sets {
        assert_eq!(ps["SessionDuration"], "PT4H");
        assert_eq!(
            ps["Description"],
            format!("{} access", ps["Name"].as_str().unwrap())
        );
        assert!(ps["PermissionSetArn"].as_str().unwrap().contains("/ps-"));
    }
    assert_eq!(listed(&t, &["--filter", "^read"]), ["ReadOnly"]);
    assert_eq!(listed(&t, &["--filter", "billing ACCESS"]), ["Billing"]);
    assert_eq!(listed(&t, &["--filter", "i"]), ["Admin", "Billing"]);
    assert_eq!(listed(&t, &["--filter", "nomatch"]), Vec::<String>::new());
    let err = t.fails(2, &["permission-set", "list", "--filter", "("]);
    assert!(err.contains("--filter"), "{err}");

    let tsv = t.ok(&["--output", "text", "permission-set", "list"]);
    let mut lines = tsv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "Name\tDescription\tSession\tPermission set ARN"
    );
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("Admin\tAdmin access\tPT4H\tarn:")
    );
}

#[test]
fn delete_asks_for_yes_then_the_set_is_gone() {
    let (t, instance) = world();
    let arn = t.seed_permission_set(&instance.arn, "Temp", &[READ_ONLY], None);
    let err = t.fails(2, &["permission-set", "delete", "Temp"]);
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(
        t.json(&["permission-set", "get", "Temp"])["PermissionSetArn"],
        arn.as_str()
    );

    let deleted = t.json(&["permission-set", "delete", "temp", "--yes"]);
    assert_eq!(
        deleted,
        json!({"PermissionSetArn": arn, "Name": "Temp", "Deleted": true, "AssignmentsDeleted": 0})
    );
    for who in ["Temp", arn.as_str()] {
        let err = t.fails(1, &["permission-set", "get", who]);
        assert!(err.contains(who) && err.contains("not found"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    assert_eq!(listed(&t, &[]), Vec::<String>::new());
}

#[test]
fn errors_name_what_is_wrong_and_create_nothing() {
    let (t, _) = world();
    for args in [
        &["permission-set", "get", "Nope"][..],
        &["permission-set", "update", "Nope", "--description", "x"],
        &["permission-set", "delete", "Nope", "--yes"],
        &["permission-set", "provision", "Nope"],
    ] {
        let err = t.fails(1, args);
        assert!(err.contains("\"Nope\" not found"), "{args:?}: {err}");
    }

    let err = t.fails(2, &["permission-set", "create", "--description", "x"]);
    assert!(err.contains("--name"), "{err}");
    for bad in ["PT13H", "PT30M", "8h", "P1D"] {
        let err = t.fails(
            2,
            &[
                "permission-set",
                "create",
                "--name",
                "Bad",
                "--session-duration",
                bad,
            ],
        );
        assert!(err.contains("--session-duration"), "{bad}: {err}");
    }
    let broken = t.write("broken.json", "{\"Version\": ");
    let err = t.fails(
        2,
        &[
            "permission-set",
            "create",
            "--name",
            "Bad",
            "--inline-policy",
            broken.to_str().unwrap(),
        ],
    );
    assert!(
        err.contains("--inline-policy") && err.contains("not valid JSON"),
        "{err}"
    );
    let err = t.fails(
        2,
        &[
            "permission-set",
            "create",
            "--name",
            "Bad",
            "--inline-policy",
            "missing.json",
        ],
    );
    assert!(err.contains("missing.json"), "{err}");
    let err = t.fails(
        2,
        &[
            "permission-set",
            "create",
            "--name",
            "Bad",
            "--managed-policy",
            "ReadOnlyAccess",
        ],
    );
    assert!(err.contains("not a managed policy ARN"), "{err}");
    assert_eq!(listed(&t, &[]), Vec::<String>::new(), "nothing was created");
}

#[test]
fn provision_against_moto() {
    let (t, instance) = world();
    let org = t.seed_org();
    let arn = t.seed_permission_set(&instance.arn, "Admin", &[ADMIN], None);

    let out = t.run(&[
        "--debug",
        "--output",
        "json",
        "permission-set",
        "provision",
        "Admin",
    ]);
    let stderr = text(&out.stderr);
    assert_success(&out, &["permission-set", "provision"]);
    let done = parse(&text(&out.stdout));
    assert_eq!(done["Name"], "Admin");
    assert_eq!(done["PermissionSetArn"], arn.as_str());
    assert_eq!(done["TargetType"], "ALL_PROVISIONED_ACCOUNTS");
    assert_eq!(done["TargetId"], Value::Null);
    assert_eq!(
        done["PermissionSetProvisioningStatus"]["Status"],
        "SUCCEEDED"
    );
    let ops: Vec<String> = requests(&stderr).into_iter().map(|(_, op)| op).collect();
    assert!(
        ops.contains(&"ProvisionPermissionSet".to_string()),
        "{stderr}"
    );
    assert!(
        !ops.contains(&"DescribePermissionSetProvisioningStatus".to_string()),
        "a final first status is not polled: {stderr}"
    );

    let done = t.json(&["permission-set", "provision", &arn, "--account", "prod-app"]);
    assert_eq!(done["TargetType"], "AWS_ACCOUNT");
    assert_eq!(done["TargetId"], org.accounts["prod-app"].as_str());
    assert_eq!(
        done["PermissionSetProvisioningStatus"]["Status"],
        "SUCCEEDED"
    );
    let by_id = t.json(&[
        "permission-set",
        "provision",
        "Admin",
        "--account",
        &org.accounts["dev-sandbox"],
    ]);
    assert_eq!(by_id["TargetId"], org.accounts["dev-sandbox"].as_str());

    let accounts = t.json(&["permission-set", "get", "Admin"])["ProvisionedAccounts"].clone();
    assert!(!accounts.as_array().unwrap().is_empty(), "{accounts}");

    let err = t.fails(
        1,
        &[
            "permission-set",
            "provision",
            "Admin",
            "--account",
            "no-such-account",
        ],
    );
    assert!(
        err.contains("no-such-account") && err.contains("not found"),
        "{err}"
    );
}

// ---- against a loopback fixture --------------------------------------------------------

const INSTANCE: &str = "arn:aws:sso:::instance/ssoins-0123456789abcdef";
const STORE: &str = "d-0123456789";
const PS_ARN: &str = "arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-0123456789abcdef";

/// A world whose sso-admin endpoint is `url` (everything else still on moto).
fn sso_admin_at(url: &str) -> TestEnv {
    let mut t = TestEnv::new();
    t.set_var("AWS_ENDPOINT_URL_SSO_ADMIN", url);
    t.ok(&["sso", "set", INSTANCE, STORE]);
    t
}

/// DescribePermissionSet's documented reply.
fn described() -> String {
    json!({"PermissionSet": {
        "Name": "Admin", "PermissionSetArn": PS_ARN, "Description": "Admin access",
        "CreatedDate": 1_700_000_000.5, "SessionDuration": "PT2H",
    }})
    .to_string()
}

/// A PermissionSetProvisioningStatus reply (ProvisionPermissionSet and
/// DescribePermissionSetProvisioningStatus answer the same shape).
fn provisioning(status: &str, account: Option<&str>, failure: Option<&str>) -> Reply {
    let mut s = json!({
        "RequestId": "5f4a1d2c-1111-2222-3333-444455556666", "Status": status,
        "PermissionSetArn": PS_ARN, "CreatedDate": 1_700_000_100.25,
    });
    if let Some(account) = account {
        s["AccountId"] = json!(account);
    }
    if let Some(reason) = failure {
        s["FailureReason"] = json!(reason);
    }
    Reply::json(
        200,
        &json!({"PermissionSetProvisioningStatus": s}).to_string(),
    )
}

/// The operation and JSON body of each request a fixture saw.
fn seen(fixture: &Fixture) -> Vec<(String, Value)> {
    fixture
        .requests()
        .iter()
        .map(|r| {
            let target = r.header("x-amz-target").expect("target");
            let op = target
                .strip_prefix("SWBExternalService.")
                .expect("sso-admin");
            (op.to_string(), parse(&r.body))
        })
        .collect()
}

#[test]
fn provision_polls_until_succeeded() {
    let fixture = Fixture::start(vec![
        Reply::json(200, &described()),
        provisioning("IN_PROGRESS", None, None),
        provisioning("IN_PROGRESS", None, None),
        provisioning("SUCCEEDED", None, None),
    ]);
    let t = sso_admin_at(&fixture.url);
    let org = t.seed_org();
    let account = org.accounts["prod-app"].as_str();
    let done = t.json(&[
        "permission-set",
        "provision",
        PS_ARN,
        "--account",
        "prod-app",
    ]);
    assert_eq!(done["Name"], "Admin");
    assert_eq!(done["TargetType"], "AWS_ACCOUNT");
    assert_eq!(done["TargetId"], account);
    assert_eq!(
        done["PermissionSetProvisioningStatus"]["Status"],
        "SUCCEEDED"
    );

    let target = json!({"InstanceArn": INSTANCE, "PermissionSetArn": PS_ARN});
    let status = json!({"InstanceArn": INSTANCE,
        "ProvisionPermissionSetRequestId": "5f4a1d2c-1111-2222-3333-444455556666"});
    let mut provision = target.clone();
    provision["TargetType"] = json!("AWS_ACCOUNT");
    provision["TargetId"] = json!(account);
    assert_eq!(
        seen(&fixture),
        [
            ("DescribePermissionSet".to_string(), target),
            ("ProvisionPermissionSet".to_string(), provision),
            (
                "DescribePermissionSetProvisioningStatus".to_string(),
                status.clone()
            ),
            (
                "DescribePermissionSetProvisioningStatus".to_string(),
                status
            ),
        ]
    );
}

#[test]
fn provision_failed_exits_1_with_the_reason() {
    let fixture = Fixture::start(vec![
        Reply::json(200, &described()),
        provisioning("IN_PROGRESS", None, None),
        provisioning(
            "FAILED",
            Some("111111111111"),
            Some("Received a 404 status error: No policy found with ARN"),
        ),
    ]);
    let t = sso_admin_at(&fixture.url);
    let err = t.fails(1, &["permission-set", "provision", PS_ARN]);
    assert_eq!(
        err.trim(),
        "awsideman: error: provisioning permission set \"Admin\": FAILED: Received a 404 \
         status error: No policy found with ARN (request 5f4a1d2c-1111-2222-3333-444455556666)"
    );
    let requests = seen(&fixture);
    assert_eq!(requests.len(), 3);
    assert_eq!(
        requests[1],
        (
            "ProvisionPermissionSet".to_string(),
            json!({"InstanceArn": INSTANCE, "PermissionSetArn": PS_ARN,
                   "TargetType": "ALL_PROVISIONED_ACCOUNTS"})
        )
    );
    assert_eq!(requests[2].0, "DescribePermissionSetProvisioningStatus");
}

/// The documented sso-admin replies for a permission set with one policy of each kind and
/// the given GetPermissionsBoundaryForPermissionSet answer.
fn permission_set_endpoint(boundary: Reply) -> Fixture {
    Fixture::routed(move |op| source_reply(op, &boundary))
}

/// The reply of [`permission_set_endpoint`] to operation `op`.
fn source_reply(op: &str, boundary: &Reply) -> Reply {
    match op {
        "DescribePermissionSet" => Reply::json(200, &described()),
        "ListManagedPoliciesInPermissionSet" => Reply::json(
            200,
            &json!({"AttachedManagedPolicies": [{"Arn": READ_ONLY, "Name": "ReadOnlyAccess"}]})
                .to_string(),
        ),
        "ListCustomerManagedPolicyReferencesInPermissionSet" => Reply::json(
            200,
            r#"{"CustomerManagedPolicyReferences": [{"Name": "team-extra", "Path": "/"}]}"#,
        ),
        "GetInlinePolicyForPermissionSet" => {
            Reply::json(200, &json!({"InlinePolicy": S3_READ}).to_string())
        }
        "GetPermissionsBoundaryForPermissionSet" => boundary.clone(),
        "ListTagsForResource" => Reply::json(200, &json!({ "Tags": fixture_tags() }).to_string()),
        "ListAccountsForProvisionedPermissionSet" => {
            Reply::json(200, r#"{"AccountIds": ["111111111111", "222222222222"]}"#)
        }
        other => Reply::json(400, &format!(r#"{{"__type": "Unexpected{other}"}}"#)),
    }
}

#[test]
fn get_shows_the_permissions_boundary() {
    let customer = json!({"CustomerManagedPolicyReference": {"Name": "dev-boundary", "Path": "/engineering/"}});
    let router = permission_set_endpoint(Reply::json(
        200,
        &json!({"PermissionsBoundary": customer}).to_string(),
    ));
    let t = sso_admin_at(&router.url);
    let out = t.run(&["--output", "json", "permission-set", "get", PS_ARN]);
    assert_success(&out, &["permission-set", "get"]);
    assert_eq!(text(&out.stderr), "", "no warning");
    let doc = parse(&text(&out.stdout));
    assert_eq!(
        doc,
        json!({
            "Name": "Admin", "PermissionSetArn": PS_ARN, "Description": "Admin access",
            "CreatedDate": 1_700_000_000.5, "SessionDuration": "PT2H",
            "ManagedPolicies": [{"Arn": READ_ONLY, "Name": "ReadOnlyAccess"}],
            "CustomerManagedPolicies": [{"Name": "team-extra", "Path": "/"}],
            "InlinePolicy": parse(S3_READ),
            "PermissionsBoundary": customer,
            "ProvisionedAccounts": ["111111111111", "222222222222"],
        })
    );
    let target = json!({"InstanceArn": INSTANCE, "PermissionSetArn": PS_ARN});
    let mut paged = target.clone();
    paged["MaxResults"] = json!(100);
    let expected: Vec<(String, Value)> = [
        ("DescribePermissionSet", &target),
        ("GetInlinePolicyForPermissionSet", &target),
        ("GetPermissionsBoundaryForPermissionSet", &target),
        ("ListAccountsForProvisionedPermissionSet", &paged),
        ("ListCustomerManagedPolicyReferencesInPermissionSet", &paged),
        ("ListManagedPoliciesInPermissionSet", &paged),
    ]
    .into_iter()
    .map(|(op, body)| (op.to_string(), body.clone()))
    .collect();
    let mut requests = seen(&router);
    requests.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(requests, expected);
}

#[test]
fn get_with_a_managed_or_no_boundary() {
    let router = permission_set_endpoint(Reply::json(
        200,
        &json!({"PermissionsBoundary": {"ManagedPolicyArn": ADMIN}}).to_string(),
    ));
    let t = sso_admin_at(&router.url);
    let doc = t.json(&["permission-set", "get", PS_ARN]);
    assert_eq!(
        doc["PermissionsBoundary"],
        json!({"ManagedPolicyArn": ADMIN})
    );
    let table = t.ok(&["--output", "table", "permission-set", "get", PS_ARN]);
    assert!(has_field(&table, "Boundary policy", ADMIN), "{table}");

    // AWS answers ResourceNotFoundException when no boundary is set.
    let none = Reply::no_boundary();
    let router = permission_set_endpoint(none);
    let t = sso_admin_at(&router.url);
    let out = t.run(&["--output", "json", "permission-set", "get", PS_ARN]);
    assert_success(&out, &["permission-set", "get"]);
    assert_eq!(text(&out.stderr), "", "no warning");
    // No boundary: the member is there, null, and there are no Warnings.
    let doc = parse(&text(&out.stdout));
    assert_eq!(doc.get("PermissionsBoundary"), Some(&Value::Null), "{doc}");
    assert!(doc.get("Warnings").is_none(), "{doc}");
}

/// `permission-set clone`: the new set has every attribute of the source (moto has no
/// permissions boundary calls: a warning, and nothing to copy); the Python tool's spelling
/// works too.
#[test]
fn clone_copies_every_attribute() {
    let mut t = TestEnv::new();
    let Instance { arn, .. } = t.instance();
    let source = t.seed_permission_set(
        &arn,
        "Source",
        &[
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
            "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
        ],
        Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#),
    );
    t.aws(
        Service::SsoAdmin,
        "AttachCustomerManagedPolicyReferenceToPermissionSet",
        json!({"InstanceArn": arn, "PermissionSetArn": source,
               "CustomerManagedPolicyReference": {"Name": "team-extra", "Path": "/teams/"}}),
    );
    t.aws(
        Service::SsoAdmin,
        "UpdatePermissionSet",
        json!({"InstanceArn": arn, "PermissionSetArn": source, "RelayState": "https://console.aws.amazon.com/s3"}),
    );
    // moto has no sso-admin tagging reads: a gate answers ListTagsForResource for the
    // source as AWS documents it, and keeps each CreatePermissionSet request it forwards.
    let source_tags =
        json!([{"Key": "team", "Value": "platform"}, {"Key": "cost-center", "Value": "1234"}]);
    let created: Arc<Mutex<Vec<Value>>> = Arc::default();
    let (kept, source_arn, answer) = (created.clone(), source.clone(), source_tags.clone());
    let gate = Gate::intercepting(&moto(), move |op, body| {
        let body: Value = serde_json::from_str(body).ok()?;
        match op {
            "ListTagsForResource" => {
                let tags = if body["ResourceArn"] == source_arn.as_str() {
                    answer.clone()
                } else {
                    json!([])
                };
                Some(Reply::json(200, &json!({ "Tags": tags }).to_string()))
            }
            "CreatePermissionSet" => {
                kept.lock().unwrap().push(body);
                None
            }
            _ => None,
        }
    });
    t.set_var("AWS_ENDPOINT_URL_SSO_ADMIN", gate.url.as_str());
    let plan = t.json(&[
        "permission-set",
        "clone",
        "Source",
        "--to",
        "Copy",
        "--dry-run",
    ]);
    assert_eq!(plan["DryRun"], true);
    // The source's tags, in Key order (as every reader of a permission set lists them).
    let in_key_order =
        json!([{"Key": "cost-center", "Value": "1234"}, {"Key": "team", "Value": "platform"}]);
    assert_eq!(plan["Tags"], in_key_order);
    assert_eq!(plan["Create"]["Tags"], in_key_order);
    assert_eq!(plan["ManagedPolicies"].as_array().unwrap().len(), 2);
    let listed = t.json(&["permission-set", "list"]);
    assert_eq!(
        listed["PermissionSets"].as_array().unwrap().len(),
        1,
        "a dry run creates nothing"
    );

    let copy = t.json(&["permission-set", "clone", "Source", "--to", "Copy"]);
    let original = t.json(&["permission-set", "get", "Source"]);
    for key in [
        "Description",
        "SessionDuration",
        "RelayState",
        "ManagedPolicies",
        "CustomerManagedPolicies",
        "InlinePolicy",
    ] {
        assert_eq!(copy[key], original[key], "{key}: {copy}");
    }
    assert_eq!(copy["Name"], "Copy");
    assert_ne!(copy["PermissionSetArn"], original["PermissionSetArn"]);
    let requests = created.lock().unwrap().clone();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0]["Name"], "Copy");
    assert_eq!(
        requests[0]["Tags"], in_key_order,
        "the copy carries the source's tags"
    );

    let python = t.json(&[
        "clone",
        "--name",
        "Source",
        "--to",
        "Copy2",
        "--description",
        "Two",
    ]);
    assert_eq!(python["Description"], "Two");
    let tag_reads = gate
        .operations()
        .iter()
        .filter(|(op, _)| op == "ListTagsForResource")
        .count();
    assert_eq!(tag_reads, 1, "the source's tags are read once, then cached");
    assert_eq!(python["ManagedPolicies"], original["ManagedPolicies"]);
    let err = t.fails(
        2,
        &["permission-set", "clone", "Source", "--to", &"x".repeat(33)],
    );
    assert!(err.contains("--to") && err.contains("32"), "{err}");
}

/// The tags of the fixture's permission set.
fn fixture_tags() -> Value {
    json!([{"Key": "team", "Value": "platform"}])
}

/// The permissions boundary is copied with the exact request AWS documents (moto lacks it),
/// and the tags are read with the request AWS documents and passed at creation.
#[test]
fn clone_copies_the_permissions_boundary() {
    let customer = json!({"CustomerManagedPolicyReference": {"Name": "dev-boundary", "Path": "/engineering/"}});
    let boundary = Reply::json(200, &json!({"PermissionsBoundary": customer}).to_string());
    let copy_arn = "arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-00000000000000c0";
    // The source's reads as in `get`; the new set's writes accepted.
    let fixture = Fixture::routed(move |op| match op {
        "CreatePermissionSet" => Reply::json(
            200,
            &json!({"PermissionSet": {"Name": "Copy", "PermissionSetArn": copy_arn,
                    "SessionDuration": "PT2H", "Description": "Admin access"}})
            .to_string(),
        ),
        "AttachManagedPolicyToPermissionSet"
        | "AttachCustomerManagedPolicyReferenceToPermissionSet"
        | "PutInlinePolicyToPermissionSet"
        | "PutPermissionsBoundaryToPermissionSet" => Reply::json(200, "{}"),
        read => source_reply(read, &boundary),
    });
    let t = sso_admin_at(&fixture.url);
    let out = t.run(&[
        "--output",
        "json",
        "permission-set",
        "clone",
        PS_ARN,
        "--to",
        "Copy",
    ]);
    assert_success(&out, &["permission-set", "clone"]);
    let put = fixture
        .requests()
        .into_iter()
        .find(|r| {
            r.header("x-amz-target")
                == Some("SWBExternalService.PutPermissionsBoundaryToPermissionSet")
        })
        .expect("a PutPermissionsBoundaryToPermissionSet request");
    let body: Value = serde_json::from_str(&put.body).unwrap();
    assert_eq!(
        body,
        json!({"InstanceArn": INSTANCE, "PermissionSetArn": copy_arn, "PermissionsBoundary": customer})
    );
    let body_of = |target: &str| -> Value {
        let request = fixture
            .requests()
            .into_iter()
            .find(|r| r.header("x-amz-target") == Some(target))
            .unwrap_or_else(|| panic!("a {target} request"));
        serde_json::from_str(&request.body).unwrap()
    };
    assert_eq!(
        body_of("SWBExternalService.ListTagsForResource"),
        json!({"InstanceArn": INSTANCE, "ResourceArn": PS_ARN})
    );
    assert_eq!(
        body_of("SWBExternalService.CreatePermissionSet")["Tags"],
        fixture_tags()
    );
}

#[test]
fn list_for_an_account_shows_only_what_is_provisioned_there() {
    let (t, instance) = world();
    let org = t.seed_org();
    t.seed_permission_set(&instance.arn, "Admin", &[ADMIN], None);
    t.seed_permission_set(&instance.arn, "ReadOnly", &[], None);
    t.seed_permission_set(&instance.arn, "Billing", &[], None);
    for name in ["Admin", "ReadOnly"] {
        t.json(&["permission-set", "provision", name, "--account", "prod-app"]);
    }

    let out = t.run(&[
        "--debug",
        "--no-cache",
        "-o",
        "json",
        "permission-set",
        "list",
        "--account",
        "prod-app",
    ]);
    assert_success(&out, &["permission-set", "list", "--account"]);
    let listed = parse(&text(&out.stdout));
    let names: Vec<&str> = listed["PermissionSets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ps| ps["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Admin", "ReadOnly"], "{listed}");
    assert_eq!(listed["AccountId"], org.accounts["prod-app"].as_str());
    // Uncached: one listing for the account and one description per set provisioned
    // there; the instance's other sets are never described.
    let ops: Vec<String> = requests(&text(&out.stderr))
        .into_iter()
        .map(|(_, op)| op)
        .collect();
    let count = |op: &str| ops.iter().filter(|o| *o == op).count();
    assert_eq!(
        count("ListPermissionSetsProvisionedToAccount"),
        1,
        "{ops:?}"
    );
    assert_eq!(count("DescribePermissionSet"), 2, "{ops:?}");
    assert_eq!(count("ListPermissionSets"), 0, "{ops:?}");

    // By id, with --filter. (moto answers ListPermissionSetsProvisionedToAccount with every
    // set provisioned anywhere, ignoring AccountId, so an account with nothing provisioned
    // cannot be shown empty here.)
    let by_id = t.json(&[
        "permission-set",
        "list",
        "--account",
        &org.accounts["prod-app"],
        "--filter",
        "^read",
    ]);
    assert_eq!(by_id["PermissionSets"].as_array().unwrap().len(), 1);
    assert_eq!(by_id["PermissionSets"][0]["Name"], "ReadOnly");
    let err = t.fails(
        1,
        &["permission-set", "list", "--account", "no-such-account"],
    );
    assert!(err.contains("no-such-account"), "{err}");
}
