//! `access-review`: effective access on moto, with users in several groups, groups assigned in
//! several accounts and a user holding the same access both directly and through a group.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::seed::{Instance, Org};
use crate::common::{TestEnv, requests};

/// The world: alice (in Admins and Devs) also holds Admin in prod-app directly; bob is in
/// Devs only (no assignment of his own: before access-review he was invisible); carol has
/// no access. Admins hold Admin in prod-app and prod-data; Devs hold ReadOnly in
/// dev-sandbox and prod-app.
struct World {
    t: TestEnv,
    org: Org,
}

fn world() -> World {
    let t = TestEnv::new();
    let org = t.seed_org();
    let Instance { arn, store } = t.instance();
    let alice = t.seed_user(&store, "alice", "Alice", "Able");
    let bob = t.seed_user(&store, "bob", "Bob", "Baker");
    t.seed_user(&store, "carol", "Carol", "Cook");
    let admins = t.seed_group(&store, "Admins", &[&alice]);
    let devs = t.seed_group(&store, "Devs", &[&alice, &bob]);
    let admin = t.seed_permission_set(&arn, "Admin", &[], None);
    let read_only = t.seed_permission_set(&arn, "ReadOnly", &[], None);
    let account = |name: &str| org.accounts[name].clone();
    t.seed_assignment(&arn, &admin, "USER", &alice, &account("prod-app"));
    for a in ["prod-app", "prod-data"] {
        t.seed_assignment(&arn, &admin, "GROUP", &admins, &account(a));
    }
    for a in ["dev-sandbox", "prod-app"] {
        t.seed_assignment(&arn, &read_only, "GROUP", &devs, &account(a));
    }
    World { t, org }
}

/// `(principal, account, permission set, access)` of every row.
fn rows(doc: &Value) -> BTreeSet<(String, String, String, String)> {
    doc["Access"]
        .as_array()
        .expect("Access rows")
        .iter()
        .map(|r| {
            let text = |k: &str| r[k].as_str().unwrap_or("?").to_string();
            (
                text("PrincipalName"),
                text("AccountName"),
                text("PermissionSetName"),
                text("Access"),
            )
        })
        .collect()
}

fn row(p: &str, a: &str, ps: &str, access: &str) -> (String, String, String, String) {
    (p.into(), a.into(), ps.into(), access.into())
}

#[test]
fn every_path_of_access_in_every_view() {
    let World { t, org } = world();

    // A user: direct and through each group; the same pair reached two ways has two rows.
    let alice = t.json(&["access-review", "principal", "alice"]);
    assert_eq!(
        rows(&alice),
        BTreeSet::from([
            row("alice", "prod-app", "Admin", "direct"),
            row("alice", "prod-app", "Admin", "via group Admins"),
            row("alice", "prod-data", "Admin", "via group Admins"),
            row("alice", "dev-sandbox", "ReadOnly", "via group Devs"),
            row("alice", "prod-app", "ReadOnly", "via group Devs"),
        ])
    );
    let first = &alice["Access"][0];
    assert_eq!(first["PrincipalType"], "USER");
    assert!(["direct", "group"].contains(&first["Via"].as_str().unwrap()));

    // Group-only access is no longer invisible.
    let bob = t.json(&["access-review", "principal", "bob", "--type", "user"]);
    assert_eq!(
        rows(&bob),
        BTreeSet::from([
            row("bob", "dev-sandbox", "ReadOnly", "via group Devs"),
            row("bob", "prod-app", "ReadOnly", "via group Devs"),
        ])
    );
    let only_prod = t.json(&["access-review", "principal", "bob", "--account", "prod-app"]);
    assert_eq!(
        rows(&only_prod),
        BTreeSet::from([row("bob", "prod-app", "ReadOnly", "via group Devs")])
    );
    let carol = t.json(&["access-review", "principal", "carol"]);
    assert_eq!(rows(&carol), BTreeSet::new());

    // A group, then with the users it reaches.
    let devs = t.json(&["access-review", "principal", "Devs", "--type", "group"]);
    assert_eq!(
        rows(&devs),
        BTreeSet::from([
            row("Devs", "dev-sandbox", "ReadOnly", "direct"),
            row("Devs", "prod-app", "ReadOnly", "direct"),
        ])
    );
    let members = t.json(&[
        "access-review",
        "principal",
        "Devs",
        "--type",
        "group",
        "--members",
    ]);
    assert_eq!(rows(&members).len(), 6);

    // An account: everyone who can reach it, groups expanded.
    let prod_app = t.json(&["access-review", "account", "prod-app"]);
    assert_eq!(
        rows(&prod_app),
        BTreeSet::from([
            row("Admins", "prod-app", "Admin", "direct"),
            row("alice", "prod-app", "Admin", "direct"),
            row("alice", "prod-app", "Admin", "via group Admins"),
            row("Devs", "prod-app", "ReadOnly", "direct"),
            row("alice", "prod-app", "ReadOnly", "via group Devs"),
            row("bob", "prod-app", "ReadOnly", "via group Devs"),
        ])
    );

    // A permission set, everywhere it is held.
    let admin = t.json(&["access-review", "permission-set", "Admin"]);
    assert_eq!(rows(&admin).len(), 5, "{admin}");

    // The organization-wide export, whole and filtered.
    let everything = t.json(&["access-review", "org"]);
    assert_eq!(rows(&everything).len(), 11, "{everything}");
    let engineering_prod = t.json(&["access-review", "org", "--ou", "Engineering/Prod"]);
    assert!(
        rows(&engineering_prod)
            .iter()
            .all(|(_, a, _, _)| a.starts_with("prod-"))
    );
    assert_eq!(rows(&engineering_prod).len(), 8);
    let bob_org = t.json(&["access-review", "org", "--principal", "bob"]);
    assert_eq!(rows(&bob_org), rows(&bob));
    assert!(org.accounts.contains_key("security-audit"));
}

#[test]
fn the_export_reads_the_same_in_every_form() {
    let World { t, .. } = world();
    let csv = t.ok(&["--output", "csv", "access-review", "principal", "alice"]);
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "Account,Account ID,Permission set,Type,Principal,Access"
    );
    assert_eq!(lines.len(), 6, "{csv}");
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with(",USER,alice,via group Admins"))
    );
    let text = t.ok(&["--output", "text", "access-review", "principal", "alice"]);
    assert_eq!(text.lines().count(), 6);
    assert!(text.lines().any(|l| l.ends_with("\tUSER\talice\tdirect")));
    let table = t.ok(&["--output", "table", "access-review", "principal", "alice"]);
    assert!(table.starts_with("ACCOUNT "), "{table}");
    assert!(table.contains("via group Devs"));
}

/// A cold organization-wide export costs what `assignment list` costs plus one membership
/// listing per assigned group (2 here); a warm one costs nothing.
#[test]
fn the_org_export_makes_the_fewest_requests() {
    let World { t, .. } = world();
    let count = |args: &[&str]| {
        let mut all = vec!["--debug", "--no-cache"];
        all.extend_from_slice(args);
        let out = t.run(&all);
        assert!(out.status.success(), "{}", crate::common::text(&out.stderr));
        requests(&crate::common::text(&out.stderr))
    };
    let listing = count(&["assignment", "list"]);
    let review = count(&["access-review", "org"]);
    let memberships: Vec<_> = review
        .iter()
        .filter(|(_, op)| op == "ListGroupMemberships")
        .collect();
    assert_eq!(memberships.len(), 2, "{review:?}");
    assert_eq!(
        review.len(),
        listing.len() + 2,
        "{review:?}\nvs {listing:?}"
    );
    let out = t.run(&["--debug", "access-review", "org"]);
    assert!(out.status.success());
    let out = t.run(&["--debug", "access-review", "org"]);
    let stderr = crate::common::text(&out.stderr);
    assert_eq!(requests(&stderr), Vec::new());
    // The printed export is one entry: nothing per account, group or name.
    assert_eq!(
        crate::common::cache_hits(&stderr),
        ["OrganizationAccessRows"],
        "{stderr}"
    );
}

/// The warm export is one cache entry; adding or removing a member, or assigning or
/// revoking (through awsideman), is seen at once, never a stale list.
#[test]
fn a_membership_change_is_seen_by_the_next_export() {
    let World { t, .. } = world();
    let carol_rows = |t: &TestEnv| -> BTreeSet<(String, String, String, String)> {
        rows(&t.json(&["access-review", "org"]))
            .into_iter()
            .filter(|r| r.0 == "carol")
            .collect()
    };
    assert_eq!(carol_rows(&t), BTreeSet::new());
    let added = t.run(&["group", "add-member", "Admins", "carol"]);
    assert!(
        added.status.success(),
        "{}",
        crate::common::text(&added.stderr)
    );
    let via = "via group Admins";
    assert_eq!(
        carol_rows(&t),
        BTreeSet::from([
            row("carol", "prod-app", "Admin", via),
            row("carol", "prod-data", "Admin", via),
        ])
    );
    let removed = t.run(&["group", "remove-member", "Admins", "carol", "--yes"]);
    assert!(
        removed.status.success(),
        "{}",
        crate::common::text(&removed.stderr)
    );
    assert_eq!(carol_rows(&t), BTreeSet::new());
    t.json(&["assignment", "assign", "ReadOnly", "carol", "prod-data"]);
    assert_eq!(
        carol_rows(&t),
        BTreeSet::from([row("carol", "prod-data", "ReadOnly", "direct")])
    );
    t.json(&[
        "assignment",
        "revoke",
        "ReadOnly",
        "carol",
        "prod-data",
        "--yes",
    ]);
    assert_eq!(carol_rows(&t), BTreeSet::new());
}
