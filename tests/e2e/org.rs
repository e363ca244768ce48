//! `org tree|account|search|accounts` against an organization seeded in moto:
//! `Root / {Engineering / {Prod, Dev}, Security}` with four tagged accounts and the
//! management account under the root.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::common::seed::Org;
use crate::common::{TestEnv, requests, text};

fn seeded() -> (TestEnv, Org) {
    let t = TestEnv::new();
    let org = t.seed_org();
    (t, org)
}

/// The child of a tree node with this name.
fn child<'a>(node: &'a Value, name: &str) -> &'a Value {
    node["Children"]
        .as_array()
        .and_then(|c| c.iter().find(|n| n["Name"] == name))
        .unwrap_or_else(|| panic!("no child {name} in {node}"))
}

fn child_names(node: &Value) -> Vec<String> {
    node["Children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["Name"].as_str().unwrap().to_string())
        .collect()
}

/// Account name → Path of an `{"Accounts": [...]}` document.
fn paths(doc: &Value) -> BTreeMap<String, String> {
    doc["Accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["Name"].as_str().unwrap().to_string(),
                a["Path"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn names(doc: &Value) -> Vec<String> {
    let mut names: Vec<String> = doc["Accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["Name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn tree_nests_ous_and_accounts() {
    let (t, org) = seeded();
    let out = t.json(&["org", "tree"]);
    let roots = out["Roots"].as_array().unwrap();
    assert_eq!(roots.len(), 1);
    let root = &roots[0];
    assert_eq!(root["Type"], "ROOT");
    assert_eq!(root["Id"], org.root.as_str());
    assert_eq!(root["Name"], "Root");
    let mut top = child_names(root);
    let management = top.pop().unwrap();
    assert_eq!(top, ["Engineering", "Security"], "OUs first, by name");
    let management = child(root, &management);
    assert_eq!(management["Type"], "ACCOUNT");
    assert_eq!(management["Id"], t.account.as_str());

    let engineering = child(root, "Engineering");
    assert_eq!(engineering["Type"], "ORGANIZATIONAL_UNIT");
    assert_eq!(engineering["Id"], org.ous["Engineering"].as_str());
    assert_eq!(child_names(engineering), ["Dev", "Prod"]);
    let prod = child(engineering, "Prod");
    assert_eq!(child_names(prod), ["prod-app", "prod-data"]);
    let app = child(prod, "prod-app");
    assert_eq!(app["Type"], "ACCOUNT");
    assert_eq!(app["Id"], org.accounts["prod-app"].as_str());
    assert_eq!(app["Email"], "prod-app@example.com");
    assert_eq!(app["Status"], "ACTIVE");
    assert!(app.get("Children").is_none());
    assert_eq!(child_names(child(engineering, "Dev")), ["dev-sandbox"]);
    assert_eq!(child_names(child(root, "Security")), ["security-audit"]);

    let drawn = t.ok(&["--output", "table", "org", "tree"]);
    let lines: Vec<&str> = drawn.lines().collect();
    assert_eq!(lines[0], format!("Root ({})", org.root), "{drawn}");
    assert_eq!(
        lines[1],
        format!("├── Engineering ({})", org.ous["Engineering"]),
        "{drawn}"
    );
    assert!(
        drawn.contains(&format!(
            "│       ├── prod-app  {}  prod-app@example.com  ACTIVE",
            org.accounts["prod-app"]
        )),
        "{drawn}"
    );
    assert!(drawn.contains("│   └── security-audit  "), "{drawn}");
    let last = lines.last().unwrap();
    assert!(
        last.starts_with("└── ") && last.contains(&t.account),
        "{drawn}"
    );
}

#[test]
fn tree_walks_level_by_level_with_one_listing_pair_per_parent() {
    let (t, _) = seeded();
    let out = t.run(&["--debug", "--no-cache", "--output", "json", "org", "tree"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let calls = requests(&stderr);
    let count = |op: &str| calls.iter().filter(|(_, o)| o == op).count();
    assert_eq!(count("ListRoots"), 1, "{stderr}");
    // Root, Engineering, Prod, Dev, Security: one listing of each kind per parent.
    assert_eq!(count("ListOrganizationalUnitsForParent"), 5, "{stderr}");
    assert_eq!(count("ListAccountsForParent"), 5, "{stderr}");
    assert_eq!(
        calls.iter().filter(|(s, _)| s == "organizations").count(),
        11
    );
}

#[test]
fn flat_tree_gives_every_account_its_path() {
    let (t, org) = seeded();
    let out = t.json(&["org", "tree", "--flat"]);
    let by_name = paths(&out);
    let expected: BTreeMap<String, String> = [
        ("dev-sandbox", "Root/Engineering/Dev"),
        ("prod-app", "Root/Engineering/Prod"),
        ("prod-data", "Root/Engineering/Prod"),
        ("security-audit", "Root/Security"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .chain(
        out["Accounts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["Id"] == t.account.as_str())
            .map(|a| (a["Name"].as_str().unwrap().to_string(), "Root".to_string())),
    )
    .collect();
    assert_eq!(by_name, expected);
    let data = out["Accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["Name"] == "prod-data")
        .unwrap();
    assert_eq!(data["Id"], org.accounts["prod-data"].as_str());
    assert_eq!(data["Email"], "prod-data@example.com");
    assert_eq!(data["Status"], "ACTIVE");

    let tsv = t.ok(&["--output", "text", "org", "tree", "--flat"]);
    assert_eq!(
        tsv.lines().next().unwrap(),
        "Path\tName\tAccount ID\tEmail\tStatus"
    );
    assert!(tsv.contains(&format!(
        "Root/Engineering/Dev\tdev-sandbox\t{}\tdev-sandbox@example.com\tACTIVE",
        org.accounts["dev-sandbox"]
    )));
}

#[test]
fn account_by_id_or_name_with_tags_and_path() {
    let (t, org) = seeded();
    let id = org.accounts["prod-data"].as_str();
    for who in [id, "prod-data", "PROD-DATA"] {
        let out = t.json(&["org", "account", who]);
        assert_eq!(out["Account"]["Id"], id, "by {who}");
        assert_eq!(out["Account"]["Name"], "prod-data");
        assert_eq!(out["Account"]["Email"], "prod-data@example.com");
        let mut tags: Vec<(String, String)> = out["Tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["Key"].as_str().unwrap().to_string(),
                    t["Value"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        tags.sort();
        assert_eq!(
            tags,
            [
                ("env".to_string(), "prod".to_string()),
                ("team".to_string(), "data".to_string())
            ]
        );
        assert_eq!(out["Path"], "Root/Engineering/Prod");
        assert_eq!(
            out["ParentIds"],
            serde_json::json!([org.root, org.ous["Engineering"], org.ous["Prod"]])
        );
    }
    let management = t.json(&["org", "account", &t.account]);
    assert_eq!(management["Path"], "Root");
    assert_eq!(management["ParentIds"], serde_json::json!([org.root]));

    let table = t.ok(&["--output", "table", "org", "account", "security-audit"]);
    assert!(
        table.contains("Path:") && table.contains("Root/Security"),
        "{table}"
    );
    assert!(table.contains("team  security"), "{table}");
}

#[test]
fn search_by_text_ou_and_tags() {
    let (t, org) = seeded();
    assert_eq!(
        names(&t.json(&["org", "search", "PROD"])),
        ["prod-app", "prod-data"]
    );
    // Email and id match too.
    assert_eq!(
        names(&t.json(&["org", "search", "sandbox@example"])),
        ["dev-sandbox"]
    );
    let id = &org.accounts["security-audit"];
    assert!(names(&t.json(&["org", "search", &id[3..10]])).contains(&"security-audit".to_string()));
    // Restricted to an OU subtree, by path (with or without the root) or id.
    for ou in [
        "Engineering",
        "Root/Engineering",
        org.ous["Engineering"].as_str(),
    ] {
        let out = t.json(&["org", "search", "", "--ou", ou]);
        assert_eq!(
            paths(&out),
            [
                ("dev-sandbox", "Root/Engineering/Dev"),
                ("prod-app", "Root/Engineering/Prod"),
                ("prod-data", "Root/Engineering/Prod"),
            ]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<BTreeMap<_, _>>(),
            "--ou {ou}"
        );
    }
    assert_eq!(
        names(&t.json(&["org", "search", "data", "--ou", "engineering/prod"])),
        ["prod-data"]
    );
    // Tags: every one must match.
    let prod = t.json(&["org", "search", "", "--tag", "env=prod"]);
    assert_eq!(names(&prod), ["prod-app", "prod-data", "security-audit"]);
    let audit = prod["Accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["Name"] == "security-audit")
        .unwrap();
    assert!(
        audit["Tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["Key"] == "team" && t["Value"] == "security")
    );
    assert_eq!(
        names(&t.json(&[
            "org", "search", "", "--tag", "env=prod", "--tag", "team=app"
        ])),
        ["prod-app"]
    );
    assert_eq!(
        names(&t.json(&[
            "org",
            "search",
            "",
            "--ou",
            "Engineering",
            "--tag",
            "team=app"
        ])),
        ["dev-sandbox", "prod-app"]
    );
    assert!(names(&t.json(&["org", "search", "nothing-like-this"])).is_empty());
}

#[test]
fn accounts_lists_the_organization() {
    let (t, org) = seeded();
    let out = t.json(&["org", "accounts"]);
    let ids: Vec<&str> = out["Accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["Id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 5);
    for id in org.accounts.values() {
        assert!(ids.contains(&id.as_str()), "{id} in {ids:?}");
    }
    assert!(ids.contains(&t.account.as_str()));
    let names: Vec<&str> = out["Accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["Name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(names, sorted, "sorted by name");
}

#[test]
fn unknown_accounts_and_ous_exit_1_naming_them() {
    let (t, _) = seeded();
    let err = t.fails(1, &["org", "account", "no-such-account"]);
    assert!(err.contains("\"no-such-account\" not found"), "{err}");
    let err = t.fails(1, &["org", "account", "999999999999"]);
    assert!(err.contains("\"999999999999\" not found"), "{err}");
    let err = t.fails(1, &["org", "search", "x", "--ou", "Engineering/Staging"]);
    assert!(
        err.contains("Engineering/Staging") && err.contains("\"Staging\""),
        "{err}"
    );
    let err = t.fails(1, &["org", "search", "x", "--ou", "ou-zzzz-zzzzzzzz"]);
    assert!(err.contains("\"ou-zzzz-zzzzzzzz\" not found"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let err = t.fails(2, &["org", "search", "x", "--tag", "env"]);
    assert!(err.contains("KEY=VALUE"), "{err}");
    t.fails(2, &["org", "account"]);
    t.fails(2, &["org", "search"]);
}

/// AWS is retiring an account's `Status` for `State`: an `org accounts` reply with `State`
/// and no `Status` prints the state (its `Status` in our output comes from `State`), in every
/// form; an account with both shows `State`.
#[test]
fn accounts_read_state_first_and_status_as_the_fallback() {
    use crate::common::fixture::{Fixture, Reply};
    let reply = r#"{"Accounts": [
        {"Id": "111111111111", "Name": "alpha", "Email": "a@x.io", "State": "SUSPENDED"},
        {"Id": "222222222222", "Name": "beta", "Email": "b@x.io", "Status": "ACTIVE"},
        {"Id": "333333333333", "Name": "gamma", "Email": "g@x.io", "Status": "ACTIVE",
         "State": "PENDING_CLOSURE"}
    ]}"#;
    let fixture = Fixture::start(vec![Reply::json(200, reply)]);
    let t = TestEnv::at_fixture("AWS_ENDPOINT_URL_ORGANIZATIONS", &fixture.url, "us-east-1");
    let json = t.json(&["--no-cache", "org", "accounts"]);
    let states: Vec<&str> = json["Accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["Status"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["SUSPENDED", "ACTIVE", "PENDING_CLOSURE"]);
    assert_eq!(json["Accounts"][0]["State"], "SUSPENDED");
    let table = t.ok(&["--no-cache", "--output", "text", "org", "accounts"]);
    assert!(
        table.contains("SUSPENDED") && table.contains("PENDING_CLOSURE"),
        "{table}"
    );
}

/// SCPs and RCPs from the root down to the account, each where it is attached, with one
/// listing per level and policy type.
#[test]
fn trace_policies_from_the_root_down_to_the_account() {
    use awsideman::testing::Service;
    use serde_json::json;
    let (t, org) = seeded();
    for kind in ["SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"] {
        t.aws(
            Service::Organizations,
            "EnablePolicyType",
            json!({"RootId": org.root, "PolicyType": kind}),
        );
    }
    let content = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}"#;
    let attach = |name: &str, kind: &str, target: &str| {
        let created = t.aws(
            Service::Organizations,
            "CreatePolicy",
            json!({"Name": name, "Description": name, "Type": kind, "Content": content}),
        );
        let id = created["Policy"]["PolicySummary"]["Id"]
            .as_str()
            .unwrap()
            .to_string();
        t.aws(
            Service::Organizations,
            "AttachPolicy",
            json!({"PolicyId": id, "TargetId": target}),
        );
    };
    attach(
        "deny-engineering",
        "SERVICE_CONTROL_POLICY",
        &org.ous["Engineering"],
    );
    attach("deny-prod", "SERVICE_CONTROL_POLICY", &org.ous["Prod"]);
    attach(
        "rcp-app",
        "RESOURCE_CONTROL_POLICY",
        &org.accounts["prod-app"],
    );
    attach(
        "deny-security",
        "SERVICE_CONTROL_POLICY",
        &org.ous["Security"],
    );

    let out = t.run(&[
        "--debug",
        "--output",
        "json",
        "org",
        "trace-policies",
        "prod-app",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["Path"], "Root/Engineering/Prod");
    let seen: Vec<(String, String, String)> = doc["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["TargetName"].as_str().unwrap().to_string(),
                p["Type"].as_str().unwrap().to_string(),
                p["PolicyName"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        ("Root", "SCP", "FullAWSAccess"),
        ("Root", "RCP", "RCPFullAWSAccess"),
        ("Engineering", "SCP", "deny-engineering"),
        ("Prod", "SCP", "deny-prod"),
        ("prod-app", "RCP", "rcp-app"),
    ];
    for e in expected {
        let e = (e.0.to_string(), e.1.to_string(), e.2.to_string());
        assert!(seen.contains(&e), "{e:?} missing from {seen:?}");
    }
    assert!(!seen.iter().any(|s| s.2 == "deny-security"), "{seen:?}");
    assert_eq!(seen[0].0, "Root", "root first: {seen:?}");
    let listings = requests(&text(&out.stderr))
        .into_iter()
        .filter(|(_, op)| op == "ListPoliciesForTarget")
        .count();
    assert_eq!(listings, 8, "4 levels x 2 policy types");
    let table = t.ok(&["--output", "table", "org", "trace-policies", "prod-app"]);
    assert!(table.starts_with("ATTACHED TO"), "{table}");
}
