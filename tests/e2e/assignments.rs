//! `assignment list|assign|revoke|status` against moto, and against loopback fixtures for
//! what moto cannot show (requests in progress, failures, throttling, concurrency).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use awsideman::testing::Service;
use serde_json::{Value, json};

use crate::common::fixture::{Fixture, Reply, Seen};
use crate::common::seed::{Instance, Org};
use crate::common::{TestEnv, moto, requests, text};

/// A seeded world: an organization, four users, three groups, three permission sets and
/// the seven assignments of [`EXPECTED`].
struct World {
    t: TestEnv,
    instance: Instance,
    org: Org,
    users: BTreeMap<&'static str, String>,
    groups: BTreeMap<&'static str, String>,
    sets: BTreeMap<&'static str, String>,
}

/// (account, permission set, principal type, principal) of every seeded assignment.
const EXPECTED: &[(&str, &str, &str, &str)] = &[
    ("dev-sandbox", "Admin", "USER", "carol"),
    ("dev-sandbox", "Dev", "GROUP", "devs"),
    ("prod-app", "Admin", "GROUP", "admins"),
    ("prod-app", "ReadOnly", "GROUP", "auditors"),
    ("prod-data", "Admin", "GROUP", "admins"),
    ("prod-data", "ReadOnly", "USER", "dave"),
    ("security-audit", "ReadOnly", "GROUP", "auditors"),
];

type Triple = (String, String, String, String);

fn world() -> World {
    let t = TestEnv::new();
    let instance = t.instance();
    let org = t.seed_org();
    let store = instance.store.clone();
    let mut users = BTreeMap::new();
    for (name, given, family) in [
        ("alice", "Alice", "Liddell"),
        ("bob", "Bob", "Builder"),
        ("carol", "Carol", "Danvers"),
        ("dave", "Dave", "Lister"),
    ] {
        users.insert(name, t.seed_user(&store, name, given, family));
    }
    let mut groups = BTreeMap::new();
    groups.insert("admins", t.seed_group(&store, "admins", &[&users["alice"]]));
    groups.insert(
        "devs",
        t.seed_group(&store, "devs", &[&users["bob"], &users["carol"]]),
    );
    groups.insert("auditors", t.seed_group(&store, "auditors", &[]));
    let mut sets = BTreeMap::new();
    for (name, policy) in [
        ("Admin", "AdministratorAccess"),
        ("ReadOnly", "ReadOnlyAccess"),
        ("Dev", "PowerUserAccess"),
    ] {
        let policy = format!("arn:aws:iam::aws:policy/{policy}");
        sets.insert(
            name,
            t.seed_permission_set(&instance.arn, name, &[&policy], None),
        );
    }
    let w = World {
        t,
        instance,
        org,
        users,
        groups,
        sets,
    };
    for (account, set, kind, principal) in EXPECTED {
        let id = match *kind {
            "USER" => &w.users[principal],
            _ => &w.groups[principal],
        };
        w.t.seed_assignment(
            &w.instance.arn,
            &w.sets[set],
            kind,
            id,
            &w.org.accounts[*account],
        );
    }
    w
}

fn expected(filter: impl Fn(&(&str, &str, &str, &str)) -> bool) -> BTreeSet<Triple> {
    EXPECTED
        .iter()
        .filter(|e| filter(e))
        .map(|(a, s, k, p)| (a.to_string(), s.to_string(), k.to_string(), p.to_string()))
        .collect()
}

/// The (account, permission set, type, principal) names of an `assignment list` document.
fn triples(doc: &Value) -> BTreeSet<Triple> {
    let rows = doc["AccountAssignments"]
        .as_array()
        .expect("AccountAssignments");
    let set: BTreeSet<Triple> = rows
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or("<null>").to_string();
            (
                s("AccountName"),
                s("PermissionSetName"),
                s("PrincipalType"),
                s("PrincipalName"),
            )
        })
        .collect();
    assert_eq!(set.len(), rows.len(), "no duplicate rows: {doc}");
    set
}

#[test]
fn list_by_principal_account_and_permission_set() {
    let w = world();
    let t = &w.t;
    let carol = t.json(&["assignment", "list", "--principal", "carol"]);
    assert_eq!(triples(&carol), expected(|e| e.3 == "carol"));
    let row = &carol["AccountAssignments"][0];
    assert_eq!(row["AccountId"], w.org.accounts["dev-sandbox"].as_str());
    assert_eq!(row["PermissionSetArn"], w.sets["Admin"].as_str());
    assert_eq!(row["PrincipalId"], w.users["carol"].as_str());

    let admins = t.json(&[
        "assignment",
        "list",
        "--principal",
        "admins",
        "--principal-type",
        "GROUP",
    ]);
    assert_eq!(triples(&admins), expected(|e| e.3 == "admins"));
    let by_id = t.json(&["assignment", "list", "--principal", &w.groups["auditors"]]);
    assert_eq!(triples(&by_id), expected(|e| e.3 == "auditors"));
    let filtered = t.json(&[
        "assignment",
        "list",
        "--principal",
        "auditors",
        "--account",
        "prod-app",
    ]);
    assert_eq!(
        triples(&filtered),
        expected(|e| e.3 == "auditors" && e.0 == "prod-app")
    );
    let none = t.json(&[
        "assignment",
        "list",
        "--principal",
        "admins",
        "--permission-set",
        "ReadOnly",
    ]);
    assert!(triples(&none).is_empty());

    let prod_app = t.json(&["assignment", "list", "--account", "prod-app"]);
    assert_eq!(triples(&prod_app), expected(|e| e.0 == "prod-app"));
    let by_account_id = t.json(&[
        "assignment",
        "list",
        "--account",
        &w.org.accounts["prod-data"],
        "--permission-set",
        "readonly",
    ]);
    assert_eq!(
        triples(&by_account_id),
        expected(|e| e.0 == "prod-data" && e.1 == "ReadOnly")
    );
    let read_only = t.json(&[
        "assignment",
        "list",
        "--permission-set",
        &w.sets["ReadOnly"],
    ]);
    assert_eq!(triples(&read_only), expected(|e| e.1 == "ReadOnly"));

    let table = t.ok(&[
        "--output",
        "table",
        "assignment",
        "list",
        "--account",
        "prod-data",
    ]);
    let header = table.lines().next().unwrap();
    assert!(
        header.starts_with("ACCOUNT") && header.contains("PERMISSION SET"),
        "{table}"
    );
    assert!(
        table.contains("prod-data") && table.contains("dave"),
        "{table}"
    );
}

/// The operations of a `--debug` run, counted by name (credentials' STS calls left out).
fn counted(stderr: &str) -> (BTreeMap<String, usize>, usize) {
    let mut counts = BTreeMap::new();
    let mut total = 0;
    for (service, op) in requests(stderr) {
        if ["sso-admin", "identitystore", "organizations"].contains(&service.as_str()) {
            *counts.entry(op).or_insert(0) += 1;
            total += 1;
        }
    }
    (counts, total)
}

fn count(counts: &BTreeMap<String, usize>, op: &str) -> usize {
    counts.get(op).copied().unwrap_or(0)
}

#[test]
fn organization_list_by_the_per_principal_plan() {
    let w = world();
    let out = w.t.run(&[
        "--debug",
        "--no-cache",
        "--output",
        "json",
        "assignment",
        "list",
    ]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(triples(&doc), expected(|_| true));

    // 5 accounts × (1 + 3 provisioned sets) = 20 requests per account; 4 users + 3 groups
    // = 7 requests per principal.
    assert!(
        stderr.contains("chose the per-principal plan ~7 requests")
            && stderr.contains("per-account plan ~20 requests"),
        "{stderr}"
    );
    let (counts, total) = counted(&stderr);
    eprintln!("per-principal plan: {total} requests: {counts:?}");
    assert_eq!(
        count(&counts, "ListAccountAssignmentsForPrincipal"),
        7,
        "{counts:?}"
    );
    assert_eq!(count(&counts, "ListAccountAssignments"), 0, "{counts:?}");
    // Name look-ups: ListAccounts, ListUsers, ListGroups (one page each), one
    // DescribePermissionSet per distinct set, and the 3 sampled accounts of the estimate.
    assert_eq!(
        count(&counts, "ListPermissionSetsProvisionedToAccount"),
        3,
        "{counts:?}"
    );
    assert_eq!(count(&counts, "DescribePermissionSet"), 3, "{counts:?}");
    assert!(total <= 7 + 3 + 3 + 3, "{total} requests: {counts:?}");
}

#[test]
fn organization_list_by_the_per_account_plan() {
    let w = world();
    // 14 more users make 21 principals: the per-account plan (20) is now cheaper.
    for i in 0..14 {
        w.t.seed_user(&w.instance.store, &format!("extra{i}"), "Extra", "User");
    }
    let out = w.t.run(&[
        "--debug",
        "--no-cache",
        "--output",
        "json",
        "assignment",
        "list",
    ]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(triples(&doc), expected(|_| true));
    assert!(
        stderr.contains("chose the per-account plan ~20 requests")
            && stderr.contains("per-principal plan ~21 requests"),
        "{stderr}"
    );
    let (counts, total) = counted(&stderr);
    eprintln!("per-account plan: {total} requests: {counts:?}");
    assert_eq!(
        count(&counts, "ListAccountAssignmentsForPrincipal"),
        0,
        "{counts:?}"
    );
    assert_eq!(
        count(&counts, "ListPermissionSetsProvisionedToAccount"),
        5,
        "{counts:?}"
    );
    assert_eq!(count(&counts, "ListAccountAssignments"), 15, "{counts:?}");
    assert!(total <= 20 + 3 + 3, "{total} requests: {counts:?}");
}

/// Per operation: requests in flight now, and the most ever in flight at once.
#[derive(Default)]
struct InFlight {
    now: BTreeMap<String, usize>,
    most: BTreeMap<String, usize>,
    all_now: usize,
    all_most: usize,
}

/// A proxy in front of moto that holds every request for `delay` before forwarding it,
/// and records how many requests were in flight at once.
struct SlowProxy {
    url: String,
    seen: Arc<Mutex<InFlight>>,
}

impl SlowProxy {
    fn start(delay: Duration) -> SlowProxy {
        let upstream = moto().trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(InFlight::default()));
        let shared = seen.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (upstream, seen) = (upstream.clone(), shared.clone());
                thread::spawn(move || relay(stream, &upstream, delay, &seen));
            }
        });
        SlowProxy { url, seen }
    }

    fn most(&self, op: &str) -> usize {
        self.seen.lock().unwrap().most.get(op).copied().unwrap_or(0)
    }

    fn most_overall(&self) -> usize {
        self.seen.lock().unwrap().all_most
    }
}

fn relay(client: TcpStream, upstream: &str, delay: Duration, seen: &Mutex<InFlight>) -> Option<()> {
    let mut reader = BufReader::new(client.try_clone().ok()?);
    let mut head = String::new();
    reader.read_line(&mut head).ok()?;
    let (mut length, mut op) = (0usize, String::new());
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        if line.trim_end().is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("connection:") {
            continue;
        }
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("x-amz-target:") {
            op = line.trim_end().rsplit('.').next().unwrap_or("").to_string();
        }
        head.push_str(&line);
    }
    head.push_str("connection: close\r\n\r\n");
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    {
        let mut s = seen.lock().ok()?;
        let now = s.now.entry(op.clone()).or_insert(0);
        *now += 1;
        let now = *now;
        let most = s.most.entry(op.clone()).or_insert(0);
        *most = (*most).max(now);
        s.all_now += 1;
        s.all_most = s.all_most.max(s.all_now);
    }
    thread::sleep(delay);
    let response = forward(upstream, head.as_bytes(), &body);
    {
        let mut s = seen.lock().ok()?;
        if let Some(now) = s.now.get_mut(&op) {
            *now -= 1;
        }
        s.all_now -= 1;
    }
    let mut client = client;
    client.write_all(&response?).ok()
}

fn forward(upstream: &str, head: &[u8], body: &[u8]) -> Option<Vec<u8>> {
    let mut up = TcpStream::connect(upstream).ok()?;
    up.write_all(head).ok()?;
    up.write_all(body).ok()?;
    let mut response = Vec::new();
    up.read_to_end(&mut response).ok()?;
    Some(response)
}

#[test]
fn organization_list_runs_its_requests_in_parallel() {
    let mut w = world();
    let proxy = SlowProxy::start(Duration::from_millis(250));
    w.t.set_var("AWS_ENDPOINT_URL_SSO_ADMIN", &proxy.url);
    w.t.set_var("AWS_ENDPOINT_URL_IDENTITYSTORE", &proxy.url);
    let doc = w.t.json(&["--no-cache", "assignment", "list"]);
    assert_eq!(triples(&doc), expected(|_| true));
    // Seven principals, each held 250 ms: run one after another they never overlap.
    assert!(
        proxy.most("ListAccountAssignmentsForPrincipal") >= 3,
        "at most {} ListAccountAssignmentsForPrincipal in flight at once",
        proxy.most("ListAccountAssignmentsForPrincipal")
    );
    assert!(proxy.most_overall() >= 3);
}

/// A warm organization-wide list is one cache entry, and every change made through
/// awsideman that it depends on is seen by the next list: a new assignment, a deleted user.
#[test]
fn the_warm_organization_list_sees_every_change() {
    let w = world();
    let t = &w.t;
    assert_eq!(
        triples(&t.json(&["assignment", "list"])),
        expected(|_| true)
    );
    let warm = t.run(&["--debug", "assignment", "list"]);
    assert!(warm.status.success());
    assert_eq!(requests(&text(&warm.stderr)), Vec::new());

    let assigned = t.run(&["assignment", "assign", "Dev", "bob", "prod-app"]);
    assert!(assigned.status.success(), "{}", text(&assigned.stderr));
    let mut now = expected(|_| true);
    now.insert(("prod-app".into(), "Dev".into(), "USER".into(), "bob".into()));
    assert_eq!(triples(&t.json(&["assignment", "list"])), now);

    let deleted = t.run(&["user", "delete", "dave", "--yes"]);
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    now.remove(&(
        "prod-data".into(),
        "ReadOnly".into(),
        "USER".into(),
        "dave".into(),
    ));
    // Read again, by the plan this world chooses (per principal), from the users there are.
    assert_eq!(triples(&t.json(&["assignment", "list"])), now);
}

#[test]
fn assign_and_revoke_against_moto() {
    let w = world();
    let t = &w.t;
    let before = t.json(&["assignment", "list", "--principal", "bob"]);
    assert!(triples(&before).is_empty());

    let out = t.json(&[
        "assignment",
        "assign",
        "ReadOnly",
        "bob",
        "prod-app",
        &w.org.accounts["dev-sandbox"],
    ]);
    assert_eq!(out["PermissionSetArn"], w.sets["ReadOnly"].as_str());
    assert_eq!(out["PrincipalId"], w.users["bob"].as_str());
    assert_eq!(out["PrincipalType"], "USER");
    assert_eq!(out["DryRun"], false);
    let results = out["results"].as_array().unwrap();
    let mut accounts: Vec<&str> = results
        .iter()
        .map(|r| r["AccountName"].as_str().unwrap())
        .collect();
    accounts.sort();
    assert_eq!(accounts, ["dev-sandbox", "prod-app"]);
    for r in results {
        assert_eq!(r["status"], "SUCCEEDED", "{out}");
        assert!(r["RequestId"].as_str().is_some_and(|id| !id.is_empty()));
        assert_eq!(r["FailureReason"], Value::Null);
    }
    let bob = t.json(&["assignment", "list", "--principal", "bob"]);
    assert_eq!(
        triples(&bob),
        [("dev-sandbox", "bob"), ("prod-app", "bob")]
            .iter()
            .map(|(a, p)| (
                a.to_string(),
                "ReadOnly".into(),
                "USER".into(),
                p.to_string()
            ))
            .collect()
    );

    let request = results[0]["RequestId"].as_str().unwrap();
    let status = t.json(&["assignment", "status", request]);
    assert_eq!(status["Action"], "assign");
    assert_eq!(status["Status"], "SUCCEEDED");
    assert_eq!(status["RequestId"], request);
    assert_eq!(status["TargetId"], results[0]["AccountId"]);
    assert_eq!(status["PermissionSetArn"], w.sets["ReadOnly"].as_str());

    // Without --yes and without a terminal: refused, nothing deleted.
    let err = t.fails(2, &["assignment", "revoke", "ReadOnly", "bob", "prod-app"]);
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(
        triples(&t.json(&["assignment", "list", "--principal", "bob"])).len(),
        2
    );

    let out = t.json(&[
        "assignment",
        "revoke",
        "ReadOnly",
        "bob",
        "prod-app",
        "--yes",
    ]);
    assert_eq!(out["results"][0]["AccountName"], "prod-app");
    assert_eq!(out["results"][0]["status"], "SUCCEEDED");
    let bob = t.json(&["assignment", "list", "--principal", "bob"]);
    assert_eq!(
        triples(&bob),
        expected(|_| false)
            .into_iter()
            .chain([(
                "dev-sandbox".into(),
                "ReadOnly".into(),
                "USER".into(),
                "bob".into()
            )])
            .collect()
    );
    let request = out["results"][0]["RequestId"].as_str().unwrap();
    let status = t.json(&["assignment", "status", request]);
    assert_eq!(status["Action"], "revoke", "{status}");
    assert_eq!(status["Status"], "SUCCEEDED");
}

fn result_accounts(out: &Value) -> Vec<String> {
    let mut names: Vec<String> = out["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["AccountName"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn assign_to_ous_all_accounts_and_dry_run() {
    let w = world();
    let t = &w.t;
    // The whole subtree of Engineering, by path.
    let out = t.json(&[
        "assignment",
        "assign",
        "Dev",
        "alice",
        "--ou",
        "Engineering",
        "--recursive",
    ]);
    assert_eq!(
        result_accounts(&out),
        ["dev-sandbox", "prod-app", "prod-data"]
    );
    assert!(
        out["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "SUCCEEDED")
    );
    let alice = t.json(&[
        "assignment",
        "list",
        "--principal",
        "alice",
        "--principal-type",
        "USER",
    ]);
    let accounts: BTreeSet<String> = triples(&alice)
        .into_iter()
        .filter(|(_, s, k, _)| s == "Dev" && k == "USER")
        .map(|(a, ..)| a)
        .collect();
    assert_eq!(
        accounts,
        ["dev-sandbox", "prod-app", "prod-data"]
            .map(String::from)
            .into()
    );

    // Engineering itself holds no account: without --recursive there is nothing to do.
    let out = t.json(&[
        "assignment",
        "assign",
        "Dev",
        "alice",
        "--ou",
        "Engineering",
    ]);
    assert!(out["results"].as_array().unwrap().is_empty());
    // By OU id, together with an explicit account; duplicates are targeted once.
    let out = t.json(&[
        "assignment",
        "assign",
        "Admin",
        "dave",
        "security-audit",
        "--ou",
        &w.org.ous["Security"],
    ]);
    assert_eq!(result_accounts(&out), ["security-audit"]);

    // --dry-run over every account: reported, nothing created.
    let out = t.json(&[
        "assignment",
        "assign",
        "ReadOnly",
        "bob",
        "--all-accounts",
        "--dry-run",
    ]);
    assert_eq!(out["DryRun"], true);
    let results = out["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    assert!(
        results
            .iter()
            .all(|r| r["status"] == "DRY-RUN" && r["RequestId"].is_null())
    );
    assert!(
        results
            .iter()
            .any(|r| r["AccountId"] == w.t.account.as_str())
    );
    assert!(triples(&t.json(&["assignment", "list", "--principal", "bob"])).is_empty());
    let out = t.json(&[
        "assignment",
        "revoke",
        "Admin",
        "carol",
        "--all-accounts",
        "--dry-run",
    ]);
    assert_eq!(out["results"].as_array().unwrap().len(), 5);
    assert_eq!(
        triples(&t.json(&["assignment", "list", "--principal", "carol"])),
        expected(|e| e.3 == "carol")
    );

    // Every account for real.
    let out = t.json(&["assignment", "assign", "ReadOnly", "bob", "--all-accounts"]);
    assert_eq!(out["results"].as_array().unwrap().len(), 5);
    assert_eq!(
        triples(&t.json(&["assignment", "list", "--principal", "bob"])).len(),
        5
    );
    let table = t.ok(&[
        "--output",
        "table",
        "assignment",
        "assign",
        "Admin",
        "bob",
        "prod-app",
        "--dry-run",
    ]);
    assert!(
        table.starts_with("dry run: assign Admin to bob (USER)\n"),
        "{table}"
    );
    assert!(
        table.contains("prod-app") && table.contains("DRY-RUN"),
        "{table}"
    );
}

#[test]
fn unknown_names_and_missing_arguments() {
    let w = world();
    let t = &w.t;
    let err = t.fails(
        1,
        &["assignment", "assign", "NoSuchSet", "alice", "prod-app"],
    );
    assert!(err.contains("\"NoSuchSet\" not found"), "{err}");
    let err = t.fails(1, &["assignment", "assign", "Admin", "mallory", "prod-app"]);
    assert!(err.contains("\"mallory\" not found"), "{err}");
    let err = t.fails(
        1,
        &[
            "assignment",
            "assign",
            "Admin",
            "alice",
            "prod-app",
            "staging",
        ],
    );
    assert!(err.contains("account \"staging\" not found"), "{err}");
    let err = t.fails(
        1,
        &["assignment", "assign", "Admin", "alice", "999999999999"],
    );
    assert!(err.contains("\"999999999999\" not found"), "{err}");
    let err = t.fails(
        1,
        &[
            "assignment",
            "revoke",
            "Admin",
            "alice",
            "--ou",
            "Marketing",
            "--yes",
        ],
    );
    assert!(err.contains("\"Marketing\""), "{err}");
    let err = t.fails(1, &["assignment", "list", "--account", "staging"]);
    assert!(err.contains("\"staging\" not found"), "{err}");
    let err = t.fails(1, &["assignment", "list", "--principal", "nobody"]);
    assert!(err.contains("\"nobody\" not found"), "{err}");
    let err = t.fails(1, &["assignment", "list", "--permission-set", "Nope"]);
    assert!(err.contains("\"Nope\" not found"), "{err}");
    let err = t.fails(
        1,
        &[
            "assignment",
            "status",
            "00000000-0000-4000-8000-000000000000",
        ],
    );
    assert!(
        err.contains("00000000-0000-4000-8000-000000000000"),
        "{err}"
    );

    let err = t.fails(2, &["assignment", "assign", "Admin"]);
    assert!(err.contains("PRINCIPAL"), "{err}");
    let err = t.fails(2, &["assignment", "assign", "Admin", "alice"]);
    assert!(err.contains("no target accounts"), "{err}");
    t.fails(
        2,
        &[
            "assignment",
            "assign",
            "Admin",
            "alice",
            "--recursive",
            "prod-app",
        ],
    );
    t.fails(
        2,
        &[
            "assignment",
            "assign",
            "Admin",
            "alice",
            "prod-app",
            "--principal-type",
            "ROBOT",
        ],
    );
    t.fails(2, &["assignment", "list", "--principal-type", "USER"]);
    t.fails(2, &["assignment", "status"]);
    // Nothing was created by any of these.
    assert_eq!(
        triples(&t.json(&["assignment", "list", "--principal", "alice"])),
        BTreeSet::new()
    );
}

const INSTANCE: &str = "arn:aws:sso:::instance/ssoins-0123456789abcdef";
const PS: &str = "arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-0123456789abcdef";
const STORE: &str = "d-0123456789";
const REQUEST: &str = "3c2b2a7e-0000-4000-8000-000000000001";

/// A world whose sso-admin endpoint is a fixture; organizations and identitystore stay on
/// moto, with one user and the seeded organization. Returns (env, user id, org).
fn fixture_world(fixture: &Fixture) -> (TestEnv, String, Org) {
    let mut t = TestEnv::new();
    t.set_var("AWS_ENDPOINT_URL_SSO_ADMIN", &fixture.url);
    t.ok(&["sso", "set", INSTANCE, STORE]);
    let user = t.seed_user(STORE, "zoe", "Zoe", "Washburne");
    let org = t.seed_org();
    (t, user, org)
}

fn described_permission_set() -> Reply {
    Reply::json(
        200,
        &json!({"PermissionSet": {"Name": "Admin", "PermissionSetArn": PS, "SessionDuration": "PT1H"}})
            .to_string(),
    )
}

/// An AccountAssignmentCreationStatus / DeletionStatus reply (our code reads only Status,
/// RequestId and FailureReason from it).
fn status_reply(key: &str, status: &str, reason: Option<&str>) -> Reply {
    let mut body = json!({key: {
        "Status": status, "RequestId": REQUEST, "TargetId": "111111111111",
        "TargetType": "AWS_ACCOUNT", "PermissionSetArn": PS, "PrincipalType": "USER",
        "PrincipalId": "a1b2c3d4-1111-2222-3333-444455556666", "CreatedDate": 1.7e9,
    }});
    if let Some(reason) = reason {
        body[key]["FailureReason"] = json!(reason);
    }
    Reply::json(200, &body.to_string())
}

const CREATION: &str = "AccountAssignmentCreationStatus";
const DELETION: &str = "AccountAssignmentDeletionStatus";

fn throttled() -> Reply {
    Reply {
        status: 400,
        headers: vec![("x-amzn-errortype".into(), "ThrottlingException".into())],
        body: r#"{"message":"Rate exceeded"}"#.into(),
    }
}

fn body(seen: &Seen) -> Value {
    serde_json::from_str(&seen.body).expect("JSON request body")
}

fn target(seen: &Seen) -> &str {
    seen.header("x-amz-target").unwrap_or_default()
}

/// A fixture answering DescribePermissionSet first, then `replies` in order.
fn fixture_then(replies: Vec<Reply>) -> Fixture {
    let mut all = vec![described_permission_set()];
    all.extend(replies);
    Fixture::start(all)
}

/// `assignment <verb> PS USER_ID --principal-type USER ACCOUNT...` without the cache.
fn change_args<'a>(verb: &'a str, user: &'a str, accounts: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--no-cache",
        "assignment",
        verb,
        PS,
        user,
        "--principal-type",
        "USER",
    ];
    args.extend_from_slice(accounts);
    args
}

#[test]
fn assign_polls_until_succeeded_with_the_exact_requests() {
    let fixture = fixture_then(vec![
        status_reply(CREATION, "IN_PROGRESS", None),
        status_reply(CREATION, "IN_PROGRESS", None),
        status_reply(CREATION, "SUCCEEDED", None),
    ]);
    let (t, user, org) = fixture_world(&fixture);
    let account = org.accounts["prod-app"].as_str();
    let out = t.json(&change_args("assign", &user, &[account]));
    assert_eq!(out["results"][0]["status"], "SUCCEEDED", "{out}");
    assert_eq!(out["results"][0]["RequestId"], REQUEST);
    assert_eq!(out["results"][0]["AccountName"], "prod-app");
    assert_eq!(out["PrincipalName"], "zoe");
    assert_eq!(out["PermissionSetName"], "Admin");

    let seen = fixture.requests();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(target(&seen[0]), "SWBExternalService.DescribePermissionSet");
    assert_eq!(
        target(&seen[1]),
        "SWBExternalService.CreateAccountAssignment"
    );
    assert_eq!(
        body(&seen[1]),
        json!({"InstanceArn": INSTANCE, "TargetId": account, "TargetType": "AWS_ACCOUNT",
               "PermissionSetArn": PS, "PrincipalType": "USER", "PrincipalId": user})
    );
    for poll in &seen[2..] {
        assert_eq!(
            target(poll),
            "SWBExternalService.DescribeAccountAssignmentCreationStatus"
        );
        assert_eq!(
            body(poll),
            json!({"InstanceArn": INSTANCE, "AccountAssignmentCreationRequestId": REQUEST})
        );
    }
}

#[test]
fn a_failed_request_is_reported_and_exits_1() {
    let fixture = fixture_then(vec![
        status_reply(CREATION, "IN_PROGRESS", None),
        status_reply(
            CREATION,
            "FAILED",
            Some("Received a 404 status error: no such account"),
        ),
    ]);
    let (t, user, org) = fixture_world(&fixture);
    let mut args = vec!["--output", "json"];
    args.extend(change_args(
        "assign",
        &user,
        &[&org.accounts["dev-sandbox"]],
    ));
    let out = t.run(&args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("1 of 1 account(s) did not succeed"),
        "{stderr}"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("the report is printed");
    let result = &doc["results"][0];
    assert_eq!(result["status"], "FAILED");
    assert_eq!(result["RequestId"], REQUEST);
    assert_eq!(
        result["FailureReason"],
        "Received a 404 status error: no such account"
    );
    assert_eq!(result["AccountName"], "dev-sandbox");
}

#[test]
fn throttled_submissions_are_retried_and_succeed() {
    let fixture = fixture_then(vec![
        throttled(),
        throttled(),
        status_reply(CREATION, "IN_PROGRESS", None),
        status_reply(CREATION, "SUCCEEDED", None),
    ]);
    let (t, user, org) = fixture_world(&fixture);
    let out = t.json(&change_args("assign", &user, &[&org.accounts["prod-data"]]));
    assert_eq!(out["results"][0]["status"], "SUCCEEDED", "{out}");
    let seen = fixture.requests();
    let creates = seen
        .iter()
        .filter(|s| target(s).ends_with(".CreateAccountAssignment"))
        .count();
    assert_eq!((seen.len(), creates), (5, 3), "{seen:?}");
}

#[test]
fn revoke_polls_the_deletion_status() {
    // The user is resolved before the fixture is built, so the existence check can answer
    // with the user's assignment.
    let probe = Fixture::start(vec![described_permission_set()]);
    let (t, user, org) = fixture_world(&probe);
    let account = org.accounts["security-audit"].clone();
    let held = json!({"AccountAssignments": [{"AccountId": account, "PermissionSetArn": PS,
        "PrincipalType": "USER", "PrincipalId": user}]});
    let fixture = fixture_then(vec![
        Reply::json(200, &held.to_string()),
        status_reply(DELETION, "IN_PROGRESS", None),
        status_reply(DELETION, "SUCCEEDED", None),
    ]);
    let mut t = t;
    t.set_var("AWS_ENDPOINT_URL_SSO_ADMIN", fixture.url.as_str());
    let mut args = change_args("revoke", &user, &[account.as_str()]);
    args.push("--yes");
    let out = t.json(&args);
    assert_eq!(out["results"][0]["status"], "SUCCEEDED", "{out}");
    let seen = fixture.requests();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(
        target(&seen[1]),
        "SWBExternalService.ListAccountAssignments"
    );
    assert_eq!(
        target(&seen[2]),
        "SWBExternalService.DeleteAccountAssignment"
    );
    assert_eq!(
        body(&seen[2]),
        json!({"InstanceArn": INSTANCE, "TargetId": account, "TargetType": "AWS_ACCOUNT",
               "PermissionSetArn": PS, "PrincipalType": "USER", "PrincipalId": user})
    );
    assert_eq!(
        target(&seen[3]),
        "SWBExternalService.DescribeAccountAssignmentDeletionStatus"
    );
    assert_eq!(
        body(&seen[3]),
        json!({"InstanceArn": INSTANCE, "AccountAssignmentDeletionRequestId": REQUEST})
    );

    // Revoking what is absent has nothing to do: already absent, exit 0, dry run too.
    let none = Fixture::routed(|op| match op {
        "DescribePermissionSet" => described_permission_set(),
        _ => Reply::json(200, r#"{"AccountAssignments": []}"#),
    });
    t.set_var("AWS_ENDPOINT_URL_SSO_ADMIN", none.url.as_str());
    let out = t.json(&args);
    assert_eq!(out["results"][0]["status"], "ALREADY-ABSENT", "{out}");
    args.push("--dry-run");
    let out = t.json(&args);
    assert_eq!(out["results"][0]["status"], "ALREADY-ABSENT", "{out}");
    assert!(
        none.requests()
            .iter()
            .all(|r| target(r) != "SWBExternalService.DeleteAccountAssignment")
    );
}

#[test]
fn status_falls_back_to_deletion_requests() {
    let fixture = Fixture::start(vec![
        Reply::json(
            400,
            r#"{"__type":"ResourceNotFoundException","Message":"no such request"}"#,
        ),
        status_reply(DELETION, "FAILED", Some("Access denied")),
    ]);
    let (t, _, _) = fixture_world(&fixture);
    let out = t.json(&["--no-cache", "assignment", "status", REQUEST]);
    assert_eq!(out["Action"], "revoke");
    assert_eq!(out["Status"], "FAILED");
    assert_eq!(out["FailureReason"], "Access denied");
    let seen = fixture.requests();
    assert_eq!(
        body(&seen[0]),
        json!({"InstanceArn": INSTANCE, "AccountAssignmentCreationRequestId": REQUEST})
    );
    assert_eq!(
        body(&seen[1]),
        json!({"InstanceArn": INSTANCE, "AccountAssignmentDeletionRequestId": REQUEST})
    );
}

/// Seven more accounts: twelve with the seeded five.
fn twelve_accounts(t: &TestEnv) {
    for i in 0..7 {
        t.aws(
            Service::Organizations,
            "CreateAccount",
            json!({"AccountName": format!("extra-{i}"), "Email": format!("extra-{i}@example.com")}),
        );
    }
}

#[test]
fn the_first_failure_stops_new_submissions_unless_continue_on_error() {
    for keep_going in [false, true] {
        let fixture = fixture_then(vec![status_reply(
            CREATION,
            "FAILED",
            Some("Access denied"),
        )]);
        let (t, user, _) = fixture_world(&fixture);
        twelve_accounts(&t);
        let mut args = vec!["--output", "json"];
        args.extend(change_args("assign", &user, &["--all-accounts"]));
        if keep_going {
            args.push("--continue-on-error");
        }
        let out = t.run(&args);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let statuses: Vec<&str> = doc["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_str().unwrap())
            .collect();
        let creates = fixture
            .requests()
            .iter()
            .filter(|s| target(s).ends_with(".CreateAccountAssignment"))
            .count();
        let failed = statuses.iter().filter(|s| **s == "FAILED").count();
        let skipped = statuses.iter().filter(|s| **s == "SKIPPED").count();
        if keep_going {
            assert_eq!((creates, failed, skipped), (12, 12, 0), "{statuses:?}");
        } else {
            // At most ten were started before the first failure was known; the rest never
            // started.
            assert!((1..=10).contains(&creates), "{creates} submitted");
            assert_eq!((failed, skipped), (creates, 12 - creates), "{statuses:?}");
        }
    }
}

#[test]
fn at_most_ten_assignment_requests_are_outstanding() {
    let mut w = world();
    twelve_accounts(&w.t);
    let proxy = SlowProxy::start(Duration::from_millis(300));
    w.t.set_var("AWS_ENDPOINT_URL_SSO_ADMIN", &proxy.url);
    let out = w.t.json(&[
        "--no-cache",
        "assignment",
        "assign",
        "Dev",
        "dave",
        "--all-accounts",
    ]);
    let results = out["results"].as_array().unwrap();
    assert_eq!(results.len(), 12);
    assert!(results.iter().all(|r| r["status"] == "SUCCEEDED"), "{out}");
    let most = proxy.most("CreateAccountAssignment");
    assert!(
        (2..=10).contains(&most),
        "{most} CreateAccountAssignment in flight at once"
    );
    let dave = w.t.json(&["assignment", "list", "--principal", "dave"]);
    assert_eq!(
        triples(&dave)
            .into_iter()
            .filter(|(_, s, ..)| s == "Dev")
            .count(),
        12
    );
}

/// A reply missing a member the command needs is an error naming the operation and the
/// member (exit 1), never an empty id in the output or in a later request.
#[test]
fn a_reply_missing_a_member_names_the_operation_and_the_member() {
    let router = Fixture::routed(|op| match op {
        "GetUserId" => Reply::json(200, r#"{"UserId": "u-1", "IdentityStoreId": "d-1"}"#),
        "DescribeUser" => Reply::json(
            200,
            r#"{"UserId": "u-1", "UserName": "alice", "IdentityStoreId": "d-1"}"#,
        ),
        "ListAccountAssignmentsForPrincipal" => Reply::json(
            200,
            &json!({"AccountAssignments": [{
                "PermissionSetArn": "arn:aws:sso:::permissionSet/ssoins-1/ps-1",
                "PrincipalType": "USER", "PrincipalId": "u-1"}]})
            .to_string(),
        ),
        other => Reply::json(400, &format!(r#"{{"__type": "Unexpected{other}"}}"#)),
    });
    let mut t = TestEnv::at_fixture("AWS_ENDPOINT_URL_SSO_ADMIN", &router.url, "us-east-1");
    t.set_var("AWS_ENDPOINT_URL_IDENTITYSTORE", router.url.as_str());
    let args = [
        "assignment",
        "list",
        "--principal",
        "alice",
        "--principal-type",
        "USER",
    ];
    let err = t.fails(1, &args);
    assert!(
        err.contains("sso-admin ListAccountAssignmentsForPrincipal: unexpected reply")
            && err.contains("AccountId"),
        "{err}"
    );
}

/// `assignment copy` (and the Python tool's `copy`): the second principal gets what the
/// first holds and it does not, within the accounts asked for; a second run changes nothing.
#[test]
fn copy_gives_one_principal_what_another_holds() {
    let t = TestEnv::new();
    let org = t.seed_org();
    let Instance { arn, store } = t.instance();
    let alice = t.seed_user(&store, "alice", "Alice", "Able");
    let bob = t.seed_user(&store, "bob", "Bob", "Baker");
    let admin = t.seed_permission_set(&arn, "Admin", &[], None);
    let read = t.seed_permission_set(&arn, "ReadOnly", &[], None);
    let prod_app = org.accounts["prod-app"].as_str();
    let prod_data = org.accounts["prod-data"].as_str();
    let dev = org.accounts["dev-sandbox"].as_str();
    t.seed_assignment(&arn, &admin, "USER", &alice, prod_app);
    t.seed_assignment(&arn, &read, "USER", &alice, prod_data);
    t.seed_assignment(&arn, &read, "USER", &alice, dev);
    t.seed_assignment(&arn, &admin, "USER", &bob, prod_app);

    let status = |doc: &Value| -> Vec<(String, String)> {
        let mut rows: Vec<(String, String)> = doc["Assignments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["AccountName"].as_str().unwrap().to_string(),
                    r["Status"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        rows.sort();
        rows
    };
    let row = |a: &str, s: &str| (a.to_string(), s.to_string());
    let plan = t.json(&[
        "assignment",
        "copy",
        "--from",
        "alice",
        "--to",
        "bob",
        "--exclude-accounts",
        "dev-sandbox",
        "--dry-run",
    ]);
    assert_eq!(
        status(&plan),
        [row("prod-app", "SKIPPED"), row("prod-data", "DRY-RUN")]
    );
    let done = t.json(&[
        "copy",
        "--from",
        "alice",
        "--to",
        "bob",
        "--include-accounts",
        "prod-app,prod-data",
    ]);
    assert_eq!(
        status(&done),
        [row("prod-app", "SKIPPED"), row("prod-data", "SUCCEEDED")]
    );
    let again = t.json(&["assignment", "copy", "--from", "alice", "--to", "bob"]);
    assert_eq!(
        status(&again),
        [
            row("dev-sandbox", "SUCCEEDED"),
            row("prod-app", "SKIPPED"),
            row("prod-data", "SKIPPED")
        ]
    );
    let bobs = t.json(&["--no-cache", "access-review", "principal", "bob"]);
    assert_eq!(bobs["Access"].as_array().unwrap().len(), 3, "{bobs}");
}

/// A warm organization-wide list reads one entry (the named rows), not one per account,
/// permission set or name; and every
/// write that changes an assignment, a provisioning or the directory makes the next list
/// read AWS again and see it.
#[test]
fn a_warm_organization_list_reads_one_entry_and_every_write_refreshes_it() {
    let w = world();
    let t = &w.t;
    let cold = t.json(&["assignment", "list"]);
    assert_eq!(triples(&cold), expected(|_| true));

    let out = t.run(&["--debug", "--output", "json", "assignment", "list"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(triples(&doc), expected(|_| true));
    assert_eq!(
        counted(&stderr).1,
        0,
        "a warm list asks AWS nothing: {stderr}"
    );
    // The printed list is one entry: nothing per account, principal or name.
    assert_eq!(
        crate::common::cache_hits(&stderr),
        ["OrganizationAssignmentRows"],
        "{stderr}"
    );

    // An assignment made by awsideman is seen at once.
    t.json(&["assignment", "assign", "ReadOnly", "bob", "prod-app"]);
    let after = t.json(&["assignment", "list"]);
    assert!(
        triples(&after).contains(&(
            "prod-app".to_string(),
            "ReadOnly".to_string(),
            "USER".to_string(),
            "bob".to_string()
        )),
        "{after}"
    );
    // And its revoke too.
    t.json(&[
        "assignment",
        "revoke",
        "ReadOnly",
        "bob",
        "prod-app",
        "--yes",
    ]);
    assert_eq!(
        triples(&t.json(&["assignment", "list"])),
        expected(|_| true)
    );
}
