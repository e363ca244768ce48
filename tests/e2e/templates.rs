//! `templates validate|plan|apply|show` on moto: a template with user, group, account-tag
//! and OU targets planned (exit 3), applied, planned again (exit 0), changed and pruned to
//! exactly what it declares; bad templates reported by line with nothing written; the
//! Python tool's `templates preview`; and the requests a plan makes.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::{TestEnv, requests, text};

struct World {
    t: TestEnv,
}

/// Users alice, bob, carol, group Developers, permission sets ReadOnly and Admin, the
/// seeded organization, and two assignments no template here pairs: alice/Admin and
/// carol/ReadOnly on prod-app.
fn world() -> World {
    let t = TestEnv::new();
    let org = t.seed_org();
    let instance = t.instance();
    let alice = t.seed_user(&instance.store, "alice", "Alice", "A");
    t.seed_user(&instance.store, "bob", "Bob", "B");
    let carol = t.seed_user(&instance.store, "carol", "Carol", "C");
    t.seed_group(&instance.store, "Developers", &[]);
    let read_only = t.seed_permission_set(&instance.arn, "ReadOnly", &[], None);
    let admin = t.seed_permission_set(&instance.arn, "Admin", &[], None);
    let prod_app = &org.accounts["prod-app"];
    t.seed_assignment(&instance.arn, &admin, "USER", &alice, prod_app);
    t.seed_assignment(&instance.arn, &read_only, "USER", &carol, prod_app);
    World { t }
}

const FIRST: &str = "\
metadata:
  name: platform
  description: Engineering access
  version: 1.0
  author: platform-team
assignments:
  - entities: [user:alice, group:Developers]
    permission_sets: [ReadOnly]
    targets:
      ous: [Root/Engineering]
      exclude_accounts: [prod-data]
  - entities: [user:bob]
    permission_sets: [Admin]
    targets:
      account_tags: {team: security}
      account_ids: [dev-sandbox]
";

/// The first template, changed: the Engineering entry now leaves out dev-sandbox instead of
/// prod-data, and bob's entry no longer names dev-sandbox.
const SECOND: &str = "\
metadata: {name: platform}
assignments:
  - entities: [user:alice, group:Developers]
    permission_sets: [ReadOnly]
    targets:
      ous: [Root/Engineering]
      exclude_accounts: [dev-sandbox]
  - entities: [user:bob]
    permission_sets: [Admin]
    targets:
      account_tags: {team: security}
";

/// Runs with `-o json`, asserts the exit code, parses stdout.
fn json_exit(t: &TestEnv, code: i32, args: &[&str]) -> Value {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    let out = t.run(&all);
    assert_eq!(
        out.status.code(),
        Some(code),
        "awsideman {args:?}\nstdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// (action, principal, permission set, account) of each row of a plan.
fn rows(doc: &Value) -> BTreeSet<(String, String, String, String)> {
    doc["Changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let f = |k: &str| r[k].as_str().unwrap().to_string();
            (
                f("Action"),
                f("PrincipalName"),
                f("PermissionSetName"),
                f("AccountName"),
            )
        })
        .collect()
}

fn set(items: &[(&str, &str, &str, &str)]) -> BTreeSet<(String, String, String, String)> {
    items
        .iter()
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
        .collect()
}

/// The live assignments of a permission set: (principal, account) by name.
fn live(t: &TestEnv, permission_set: &str) -> BTreeSet<(String, String)> {
    t.json(&[
        "--no-cache",
        "assignment",
        "list",
        "--permission-set",
        permission_set,
    ])["AccountAssignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["PrincipalName"].as_str().unwrap().to_string(),
                r["AccountName"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn a_template_is_planned_applied_and_pruned_to_exactly_what_it_declares() {
    let w = world();
    let t = &w.t;
    let file = t.write("platform.yaml", FIRST);
    let file = file.to_str().unwrap();

    let plan = json_exit(t, 3, &["templates", "plan", file]);
    let creates = [
        ("CREATE", "Developers", "ReadOnly", "dev-sandbox"),
        ("CREATE", "Developers", "ReadOnly", "prod-app"),
        ("CREATE", "alice", "ReadOnly", "dev-sandbox"),
        ("CREATE", "alice", "ReadOnly", "prod-app"),
        ("CREATE", "bob", "Admin", "dev-sandbox"),
        ("CREATE", "bob", "Admin", "security-audit"),
    ];
    assert_eq!(rows(&plan), set(&creates), "{plan}");
    assert_eq!(plan["Summary"]["Create"], 6);
    assert_eq!(live(t, "ReadOnly"), pairs(&[("carol", "prod-app")]));

    let done = t.json(&["templates", "apply", file, "--yes"]);
    assert_eq!(done["Summary"]["Succeeded"], 6, "{done}");
    assert_eq!(
        live(t, "ReadOnly"),
        pairs(&[
            ("Developers", "dev-sandbox"),
            ("Developers", "prod-app"),
            ("alice", "dev-sandbox"),
            ("alice", "prod-app"),
            ("carol", "prod-app"),
        ])
    );

    // Nothing to do now: exit 0, every row present.
    let again = json_exit(t, 0, &["templates", "plan", file]);
    assert!(
        rows(&again).iter().all(|(action, ..)| action == "KEEP"),
        "{again}"
    );
    assert_eq!(again["Summary"]["Present"], 6);
    let table = t.ok(&["templates", "plan", file]);
    assert!(table.contains("PRESENT"), "{table}");

    // The changed template: the pruned plan deletes what its scope holds and it no longer asks.
    t.write("platform.yaml", SECOND);
    let pruned = json_exit(t, 3, &["templates", "plan", file, "--prune"]);
    assert_eq!(
        rows(&pruned),
        set(&[
            ("CREATE", "Developers", "ReadOnly", "prod-data"),
            ("CREATE", "alice", "ReadOnly", "prod-data"),
            ("DELETE", "Developers", "ReadOnly", "dev-sandbox"),
            ("DELETE", "alice", "ReadOnly", "dev-sandbox"),
            ("DELETE", "bob", "Admin", "dev-sandbox"),
            ("KEEP", "Developers", "ReadOnly", "prod-app"),
            ("KEEP", "alice", "ReadOnly", "prod-app"),
            ("KEEP", "bob", "Admin", "security-audit"),
        ]),
        "{pruned}"
    );
    // Without --prune the same template only creates.
    let unpruned = json_exit(t, 3, &["templates", "plan", file]);
    assert_eq!(unpruned["Summary"]["Delete"], 0);
    assert_eq!(unpruned["Summary"]["Create"], 2);

    // Deletes need --yes off a terminal; nothing is changed without it.
    let refused = t.fails(2, &["templates", "apply", file, "--prune"]);
    assert!(refused.contains("--yes"), "{refused}");
    assert_eq!(live(t, "ReadOnly").len(), 5);

    let applied = t.json(&["templates", "apply", file, "--prune", "--force"]);
    assert_eq!(applied["Summary"]["Succeeded"], 5, "{applied}");
    assert_eq!(
        live(t, "ReadOnly"),
        pairs(&[
            ("Developers", "prod-app"),
            ("Developers", "prod-data"),
            ("alice", "prod-app"),
            ("alice", "prod-data"),
            ("carol", "prod-app"),
        ]),
        "exactly the template, and carol's assignment it does not pair untouched"
    );
    assert_eq!(
        live(t, "Admin"),
        pairs(&[("alice", "prod-app"), ("bob", "security-audit")]),
        "alice/Admin is outside the template's scope"
    );
    let settled = json_exit(t, 0, &["templates", "plan", file, "--prune"]);
    assert_eq!(settled["Summary"]["Delete"], 0, "{settled}");
}

#[test]
fn preview_is_plan_and_show_resolves_the_targets() {
    let w = world();
    let file = w.t.write("platform.yaml", FIRST);
    let file = file.to_str().unwrap();
    let plan = json_exit(&w.t, 3, &["templates", "plan", file]);
    let preview = json_exit(&w.t, 3, &["templates", "preview", file]);
    assert_eq!(plan, preview);

    let shown = w.t.json(&["templates", "show", file]);
    assert_eq!(shown["Metadata"]["Name"], "platform");
    assert_eq!(shown["Metadata"]["Version"], "1.0");
    let names = |i: usize, key: &str| -> Vec<String> {
        shown["Assignments"][i]["Names"][key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(0, "Principals"), ["user:alice", "group:Developers"]);
    assert_eq!(names(0, "Accounts").len(), 2);
    assert!(names(0, "Accounts").contains(&"dev-sandbox".to_string()));
    assert_eq!(shown["Assignments"][1]["Line"], 12);
    let mut second = names(1, "Accounts");
    second.sort();
    assert_eq!(second, ["dev-sandbox", "security-audit"]);
    let valid = w.t.ok(&["-o", "table", "templates", "validate", file]);
    assert!(
        valid.contains("a valid template (2 assignment entries"),
        "{valid}"
    );
    let table =
        w.t.ok(&["--wide", "-o", "table", "templates", "show", file]);
    assert!(
        table.contains("user:alice, group:Developers  ReadOnly         dev-sandbox, prod-app"),
        "{table}"
    );
    let help = w.t.ok(&["templates", "--help"]);
    assert!(!help.contains("preview"), "the alias is hidden: {help}");
    for shell in ["bash", "zsh", "fish"] {
        let script = w.t.ok(&["completion", shell]);
        for word in ["templates", "validate", "prune"] {
            assert!(script.contains(word), "{shell} completes {word}");
        }
    }
}

#[test]
fn a_bad_template_is_reported_by_line_and_nothing_is_written() {
    let w = world();
    let bad = "\
metadata:
  description: no name
assignments:
  - entities: [user:nobody, group:Developers, 'robot:x']
    permission_sets: [ReadOnly, NoSuchSet]
    targets:
      ous: [Root/Nowhere]
      exclude_accounts: [no-such-account]
  - entities: [user:alice]
    permission_sets: [Admin]
  - entities: [user:alice]
    permission_sets: [Admin]
    targets:
      account_tags: {team: nobody}
";
    let file = w.t.write("bad.yaml", bad);
    let file = file.to_str().unwrap();
    let mut args = vec!["--debug", "--output", "json", "templates"];
    for command in ["validate", "plan", "apply"] {
        args.truncate(4);
        args.extend([command, file, "--yes"]);
        if command != "apply" {
            args.pop();
        }
        let out = w.t.run(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {stderr}");
        let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let problems: Vec<(u64, String, String)> = doc["Problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["Line"].as_u64().unwrap_or(0),
                    p["Place"].as_str().unwrap().to_string(),
                    p["Problem"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let expect = [
            (0, "metadata.name", "missing"),
            (4, "assignments[0].entities[0]", "nobody"),
            (4, "assignments[0].entities[2]", "robot"),
            (5, "assignments[0].permission_sets[1]", "NoSuchSet"),
            (7, "assignments[0].targets.ous[0]", "Nowhere"),
            (
                8,
                "assignments[0].targets.exclude_accounts[0]",
                "no-such-account",
            ),
            (9, "assignments[1].targets", "missing"),
            (11, "assignments[2].targets", "selects no account"),
        ];
        assert_eq!(problems.len(), expect.len(), "{command}: {problems:#?}");
        for ((line, place, problem), (l, p, words)) in problems.iter().zip(expect) {
            assert_eq!((*line, place.as_str()), (l, p), "{problems:#?}");
            assert!(problem.contains(words), "{problem} / {words}");
        }
        assert!(stderr.contains("8 problems"), "{stderr}");
        let writes: Vec<_> = requests(&stderr)
            .into_iter()
            .filter(|(_, op)| op.starts_with("Create") || op.starts_with("Delete"))
            .collect();
        assert!(writes.is_empty(), "{command} wrote: {writes:?}");
    }
    assert_eq!(live(&w.t, "Admin"), pairs(&[("alice", "prod-app")]));

    let broken =
        w.t.write("broken.yaml", "assignments:\n  - entities: [user:a\n");
    let stderr =
        w.t.fails(2, &["templates", "validate", broken.to_str().unwrap()]);
    assert!(stderr.contains("line"), "{stderr}");
}

#[test]
fn a_plan_reads_tags_only_for_the_accounts_a_tag_target_must_decide() {
    let w = world();
    let t = &w.t;
    let run = |template: &str| -> Vec<(String, String)> {
        let file = t.write("t.yaml", template);
        let out = t.run(&[
            "--debug",
            "--no-cache",
            "templates",
            "plan",
            file.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
        requests(&text(&out.stderr))
    };
    let count =
        |calls: &[(String, String)], op: &str| calls.iter().filter(|(_, o)| o == op).count();

    // No tags in the template: no tag read, no account listing (OUs give the accounts).
    let calls = run("\
metadata: {name: t}
assignments:
  - entities: [user:alice, user:bob, group:Developers]
    permission_sets: [ReadOnly, Admin]
    targets: {ous: [Root/Engineering/Prod]}
");
    assert_eq!(count(&calls, "ListTagsForResource"), 0, "{calls:?}");
    assert_eq!(count(&calls, "ListAccounts"), 0, "{calls:?}");
    // One assignment listing per principal, whatever the number of accounts and sets.
    assert_eq!(count(&calls, "ListAccountAssignmentsForPrincipal"), 3);
    assert_eq!(count(&calls, "ListAccountAssignments"), 0);
    assert_eq!(count(&calls, "ListPermissionSets"), 1);

    // Tags: one read per account neither named nor excluded by the entry (5 accounts, one
    // named, one excluded).
    let calls = run("\
metadata: {name: t}
assignments:
  - entities: [user:bob]
    permission_sets: [Admin]
    targets:
      account_tags: {env: prod}
      account_ids: [dev-sandbox]
      exclude_accounts: [prod-data]
");
    assert_eq!(count(&calls, "ListTagsForResource"), 3, "{calls:?}");
    assert_eq!(count(&calls, "ListAccounts"), 1, "{calls:?}");
}
