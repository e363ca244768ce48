//! Reliability: many processes on one cache (file and DynamoDB), and SIGKILL at random
//! points of key rotation and migration.
//!
//! The concurrency tests run 32 workers at once, each running a script of commands as
//! separate processes of the binary on one shared cache, and check every answer against what
//! is true in moto; the kill tests measure an uninterrupted run first, then kill one run in
//! each tenth of that time and check, after each kill, that nothing was lost.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use awsideman::testing::CacheBackend;
use awsideman::testing::Env;
use awsideman::testing::Envelope;
use awsideman::testing::FileBackend;
use awsideman::testing::Keyset;
use awsideman::testing::Service;
use awsideman::testing::{CacheManager, Encryption};
use awsideman::testing::{CacheSettings, ConfigFile};
use awsideman::testing::{DynamoBackend, DynamoSettings};
use awsideman::testing::{ProfileSource, Session, SessionSettings};
use awsideman::testing::{Transport, TransportSettings};
use serde_json::{Value, json};

use crate::common::{TestEnv, binary, fill_user_entries, text};

/// Users seeded in moto before the workers start; no worker changes them.
const SEEDED_USERS: &[&str] = &["alice", "bob", "carol", "dave"];
/// The seeded group and its members; no worker changes them.
const SEEDED_GROUP: &str = "ops";
const SEEDED_MEMBERS: &[&str] = &["alice", "bob"];

/// Processes running at once in the concurrency tests.
const WORKERS: usize = 32;
/// Times each worker runs its script.
const ROUNDS: usize = 2;

/// A world with the seeded users and group, and cache encryption on with a key file (so
/// `rotate` works without a keyring); its cache is the DynamoDB table `dynamodb_table` when
/// given, else the file cache.
fn encrypted_world(dynamodb_table: Option<&str>) -> (TestEnv, PathBuf) {
    let mut t = TestEnv::new();
    let instance = t.instance();
    let ids: BTreeMap<&str, String> = SEEDED_USERS
        .iter()
        .map(|name| (*name, t.seed_user(&instance.store, name, name, "Seeded")))
        .collect();
    let members: Vec<&str> = SEEDED_MEMBERS.iter().map(|m| ids[m].as_str()).collect();
    t.seed_group(&instance.store, SEEDED_GROUP, &members);
    if let Some(table) = dynamodb_table {
        t.set_var("AWSIDEMAN_CACHE_BACKEND", "dynamodb");
        t.set_var("AWSIDEMAN_CACHE_DYNAMODB_TABLE", table);
    }
    let key_file = t.home.join("keys/cache-key.json");
    t.set_var("AWSIDEMAN_CACHE_KEY_SOURCE", "file");
    t.set_var("AWSIDEMAN_CACHE_KEY_FILE", key_file.display().to_string());
    t.json(&["cache", "encryption", "enable"]);
    (t, key_file)
}

/// What the workers did: how many runs, every problem, every warning line, and every read
/// that did not show a write the same worker had just made (a stale answer).
#[derive(Default)]
struct Journal {
    runs: usize,
    problems: Vec<String>,
    warnings: Vec<String>,
    stale: Vec<String>,
}

/// One worker: runs the binary on the shared cache and checks each answer.
struct Worker<'a> {
    t: &'a TestEnv,
    name: String,
    journal: &'a Mutex<Journal>,
}

impl Worker<'_> {
    /// Runs `args` with `--output json`; records a problem unless it exits 0 with JSON on
    /// stdout. Returns the document (Null after a problem) and records every warning.
    fn run(&self, args: &[&str]) -> Value {
        let out = Command::new(binary())
            .args(["--output", "json"])
            .args(args)
            .env_clear()
            .envs(&self.t.vars)
            .current_dir(&self.t.home)
            .stdin(Stdio::null())
            .output()
            .expect("run awsideman");
        let stderr = text(&out.stderr);
        let mut journal = self.journal.lock().unwrap();
        journal.runs += 1;
        for line in stderr.lines().filter(|l| l.contains("warning")) {
            journal
                .warnings
                .push(format!("{} {args:?}: {line}", self.name));
        }
        if !out.status.success() {
            journal.problems.push(format!(
                "{} {args:?} exited {:?}: {stderr}",
                self.name,
                out.status.code()
            ));
            return Value::Null;
        }
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            journal.problems.push(format!(
                "{} {args:?}: stdout is not JSON ({e}): {}",
                self.name,
                text(&out.stdout)
            ));
            Value::Null
        })
    }

    /// Records a problem unless `ok`.
    fn expect(&self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            let what = format!("{} {}", self.name, what());
            self.journal.lock().unwrap().problems.push(what);
        }
    }

    /// Records a stale answer unless `ok`: a read that does not show this worker's own
    /// write, just made.
    fn expect_fresh(&self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            let what = format!("{} {}", self.name, what());
            self.journal.lock().unwrap().stale.push(what);
        }
    }

    /// `user list` has every seeded user (always), and this worker's `created` user and not
    /// its `deleted` one (fresh).
    fn check_users(&self, created: Option<&str>, deleted: Option<&str>) {
        let doc = self.run(&["user", "list"]);
        if doc.is_null() {
            return;
        }
        let names = names(&doc, "Users", "UserName");
        for want in SEEDED_USERS {
            self.expect(names.iter().any(|n| n == want), || {
                format!("user list lacks the seeded {want}: {names:?}")
            });
        }
        if let Some(want) = created {
            self.expect_fresh(names.iter().any(|n| n == want), || {
                format!("user list lacks {want}, just created: {names:?}")
            });
        }
        if let Some(gone) = deleted {
            self.expect_fresh(!names.iter().any(|n| n == gone), || {
                format!("user list still has {gone}, just deleted: {names:?}")
            });
        }
    }

    /// `user get NAME` answers that user.
    fn check_user(&self, name: &str) {
        let doc = self.run(&["user", "get", name]);
        self.expect(doc.is_null() || doc["UserName"] == name, || {
            format!("user get {name}: {doc}")
        });
    }

    /// `group members GROUP` lists exactly `members`: the seeded group's (always), or those
    /// this worker just gave its own group (fresh).
    fn check_members(&self, group: &str, members: &[&str]) {
        let doc = self.run(&["group", "members", group]);
        if doc.is_null() {
            return;
        }
        let found: BTreeSet<String> = names(&doc, "Members", "UserName").into_iter().collect();
        let want: BTreeSet<String> = members.iter().map(|s| s.to_string()).collect();
        let what = || format!("group members {group}: {found:?}, expected {want:?}");
        if group == SEEDED_GROUP {
            self.expect(found == want, what);
        } else {
            self.expect_fresh(found == want, what);
        }
    }

    /// Worker `i`'s script for `round`: reads of data no one changes, writes each followed by
    /// reads that must show them, clears, status and inspection, and a rotation.
    fn script(&self, i: usize, round: usize) {
        match i % 8 {
            0 | 1 => {
                self.check_users(None, None);
                self.check_user("alice");
                self.check_members(SEEDED_GROUP, SEEDED_MEMBERS);
                self.run(&["group", "list"]);
            }
            2 | 3 => {
                let user = format!("w{i}r{round}");
                let email = format!("{user}@example.com");
                self.run(&[
                    "user",
                    "create",
                    "--username",
                    &user,
                    "--display-name",
                    &format!("Worker {user}"),
                    "--email",
                    &email,
                ]);
                self.check_users(Some(&user), None);
                self.check_user(&user);
                self.run(&["user", "delete", &user, "--yes"]);
                self.check_users(None, Some(&user));
            }
            4 => {
                let group = format!("g{i}r{round}");
                self.run(&["group", "create", "--name", &group]);
                self.check_members(&group, &[]);
                self.run(&["group", "add-member", &group, "alice"]);
                self.check_members(&group, &["alice"]);
                self.run(&["group", "delete", &group, "--yes"]);
            }
            5 => {
                self.run(&["cache", "clear", "--yes"]);
                self.check_users(None, None);
                self.run(&["cache", "clear", "--operation", "ListUsers", "--yes"]);
                self.run(&["cache", "cleanup"]);
            }
            6 => {
                self.run(&["cache", "encryption", "rotate"]);
                self.check_users(None, None);
                self.run(&["cache", "encryption", "status"]);
            }
            _ => {
                self.run(&["cache", "status"]);
                self.run(&["cache", "inspect"]);
                self.check_members(SEEDED_GROUP, SEEDED_MEMBERS);
                self.check_users(None, None);
            }
        }
    }
}

/// The `field` of every item of `doc[list]`.
fn names(doc: &Value, list: &str, field: &str) -> Vec<String> {
    doc[list]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i[field].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs [`WORKERS`] workers at once, each running its script [`ROUNDS`] times, on `t`'s
/// cache.
fn run_workers(t: &TestEnv) -> Journal {
    let journal = Mutex::new(Journal::default());
    std::thread::scope(|scope| {
        for i in 0..WORKERS {
            let journal = &journal;
            scope.spawn(move || {
                let worker = Worker {
                    t,
                    name: format!("worker {i}"),
                    journal,
                };
                for round in 0..ROUNDS {
                    worker.script(i, round);
                }
            });
        }
    });
    journal.into_inner().unwrap()
}

/// The audit records of `event`, in order.
fn audit_events(t: &TestEnv, event: &str) -> Vec<Value> {
    std::fs::read_to_string(t.config_dir().join("audit.log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["event"] == event)
        .collect()
}

/// Checks from the audit log that the rotations ran one after another, each starting from the
/// key the one before made active (two at once would have lost a key), and returns every key
/// that was ever active.
fn assert_rotations_chained(t: &TestEnv) -> BTreeSet<String> {
    let enabled = audit_events(t, "encryption_enabled");
    let mut active = enabled[0]["key_id"].as_str().unwrap().to_string();
    let mut ever = BTreeSet::from([active.clone()]);
    for started in audit_events(t, "rotation_started") {
        let details = &started["details"];
        assert_eq!(details["resumed"], false, "{started}");
        assert_eq!(
            details["old_key_ids"],
            serde_json::json!([active]),
            "a rotation did not start from the key the one before it made active: {started}"
        );
        active = details["new_key_id"].as_str().unwrap().to_string();
        ever.insert(active.clone());
    }
    ever
}

/// The id in a warning that entries are sealed with a key this process does not have.
fn foreign_key_in(warning: &str) -> Option<&str> {
    let (_, rest) = warning.split_once("entries sealed with key ")?;
    let (id, rest) = rest.split_once(',')?;
    rest.starts_with(" which this machine does not hold")
        .then_some(id)
}

/// Whether a warning says a store was refused because another machine changed the shared
/// key set meanwhile (the answer is simply not cached).
fn key_set_changed(warning: &str) -> bool {
    warning.contains("the cache's key set was changed on another machine")
}

/// Fails on every problem, and on every warning but one: a process that loaded the key set
/// before a rotation saved a new key finds entries sealed with that newer key (or, reading
/// after the rotation, entries it wrote with the key the rotation retired): a miss, with a
/// warning naming the key, never a wrong answer. Such warnings are allowed when they name a
/// key the rotations made (`keys`); a corrupt entry, any other warning, or a key nobody made
/// fails. Returns how many foreign-key misses there were.
fn assert_clean(journal: &Journal, keys: &BTreeSet<String>) -> usize {
    let mut problems = journal.problems.clone();
    let mut foreign = 0;
    for warning in &journal.warnings {
        match foreign_key_in(warning) {
            Some(id) if keys.contains(id) => foreign += 1,
            _ if key_set_changed(warning) => foreign += 1,
            _ => problems.push(format!("unexpected warning: {warning}")),
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} runs went wrong:\n{}",
        problems.len(),
        journal.runs,
        problems.join("\n")
    );
    foreign
}

/// The cache settings of `t`'s world, as the binary resolves them.
fn cache_settings(t: &TestEnv) -> CacheSettings {
    let dir = t.config_dir();
    let file = ConfigFile::load(&dir).expect("config");
    awsideman::testing::cache_settings(&file, None, &Env::from_pairs(t.vars.clone()), &dir)
        .expect("cache settings")
}

/// A manager reading with every key of the key set in `key_file`.
fn with_keys(manager: CacheManager, key_file: &Path) -> CacheManager {
    let keys = Keyset::from_text(&std::fs::read_to_string(key_file).unwrap()).unwrap();
    let encryption = Encryption::new(
        keys.active().id(),
        keys.keys().map(|k| (k.id(), k.as_bytes())),
    )
    .unwrap();
    manager.with_encryption(encryption)
}

/// Every stored entry, decoded by `manager`: how many are readable, and by key id how many
/// are sealed with a key it does not have. Panics on a corrupt entry.
fn census(manager: &CacheManager) -> (usize, BTreeMap<String, usize>) {
    let backend = manager.backend();
    let mut readable = 0;
    let mut foreign = BTreeMap::new();
    for entry in backend.entries().unwrap() {
        let Some(bytes) = backend.get(&entry.key).unwrap() else {
            continue;
        };
        match manager.decode(&bytes) {
            Ok(decoded) => {
                assert_eq!(decoded.header.key, entry.key.as_str());
                readable += 1;
            }
            Err(e) => {
                assert!(!e.corrupt, "entry {}: {e}", entry.key);
                let header = Envelope::decode_header(&bytes).unwrap();
                *foreign
                    .entry(header.key_id.unwrap_or_default())
                    .or_default() += 1;
            }
        }
    }
    (readable, foreign)
}

/// After the workers: reads of the seeded data are still right; no rotation is pending; no
/// entry is corrupt or in plaintext; and every entry is readable with the key set on disk,
/// except entries that a process which loaded the key set before a rotation sealed with the
/// key that rotation then retired (counted: they are misses, never answers).
fn assert_settled(t: &TestEnv, key_file: &Path, manager: CacheManager, keys: &BTreeSet<String>) {
    let journal = Mutex::new(Journal::default());
    let worker = Worker {
        t,
        name: "after".into(),
        journal: &journal,
    };
    worker.check_users(None, None);
    worker.check_user("alice");
    worker.check_members(SEEDED_GROUP, SEEDED_MEMBERS);
    assert_clean(&journal.into_inner().unwrap(), keys);
    let status = t.json(&["cache", "status"]);
    assert_eq!(status["entries"]["corrupt"], 0, "{status}");
    let encryption = t.json(&["cache", "encryption", "status"]);
    assert_eq!(encryption["rotating"], false, "{encryption}");
    assert_eq!(encryption["entries"]["plaintext"], 0, "{encryption}");
    assert_eq!(encryption["entries"]["unreadable"], 0, "{encryption}");
    let (readable, retired) = census(&with_keys(manager, key_file));
    for id in retired.keys() {
        assert!(keys.contains(id), "entries sealed with an unknown key {id}");
    }
    eprintln!(
        "settled: {readable} entries readable, by key retired: {retired:?}; status: {}",
        status["entries"]
    );
    assert!(readable >= 3, "the reads just made are cached");
}

/// Issue 8: 32 processes at once on one encrypted file cache, each reading (user and group
/// lists, look-ups, members), writing and reading its own writes back (create, add-member,
/// delete), clearing, inspecting or rotating the key. Every process exits 0; every answer is
/// right, including a process's own writes; no entry is ever read corrupt; afterwards every
/// entry is readable.
#[test]
fn thirty_two_processes_share_one_encrypted_file_cache() {
    let (t, key_file) = encrypted_world(None);
    let started = Instant::now();
    let journal = run_workers(&t);
    let keys = assert_rotations_chained(&t);
    let foreign = assert_clean(&journal, &keys);
    eprintln!(
        "file cache: {} runs of {WORKERS} workers in {:.1?}; {} rotations; {foreign} misses on \
         an entry sealed with a key the process did not have",
        journal.runs,
        started.elapsed(),
        keys.len() - 1
    );
    assert!(
        journal.stale.is_empty(),
        "stale answers:\n{}",
        journal.stale.join("\n")
    );
    let manager = CacheManager::open(&cache_settings(&t), true).unwrap();
    assert_settled(&t, &key_file, manager, &keys);
}

/// A table name no other test uses.
fn unique_table() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("awsideman-reliability-{}-{nanos:x}", std::process::id())
}

/// A manager over `t`'s DynamoDB cache table, as the binary opens it.
fn dynamodb_manager(t: &TestEnv, table: &str) -> CacheManager {
    let session = Session::new(
        SessionSettings {
            env: Env::from_pairs(t.vars.clone()),
            aws_profile: "default".into(),
            profile_source: ProfileSource::Implied,
            region: Some("us-east-1".into()),
            credentials_cache_dir: t.home.join("census-credentials"),
            interactive: false,
        },
        Transport::new(TransportSettings::default()),
    );
    let backend = DynamoBackend::new(
        table.to_string(),
        Box::new(move |operation, input| session.call(Service::DynamoDb, operation, input)),
        DynamoSettings::default(),
    );
    CacheManager::with_backend(Box::new(backend), cache_settings(t), true)
}

/// Issue 8: the same 32 processes on one encrypted DynamoDB cache table (on moto), which
/// they create on first use, all at once. Every process exits 0; every answer is right,
/// including a process's own writes (fences and tombstones keep an answer read before
/// another process's invalidation out of the table, and no invalidation drops the key a
/// concurrent writer files); no entry is ever read corrupt; afterwards every entry is
/// readable.
#[test]
fn thirty_two_processes_share_one_encrypted_dynamodb_table() {
    let table = unique_table();
    let (t, key_file) = encrypted_world(Some(&table));
    t.fails(1, &["cache", "dynamodb", "describe"]);
    let started = Instant::now();
    let journal = run_workers(&t);
    let keys = assert_rotations_chained(&t);
    let foreign = assert_clean(&journal, &keys);
    eprintln!(
        "dynamodb: {} runs of {WORKERS} workers in {:.1?}; {} rotations; {foreign} misses on \
         an entry sealed with a key the process did not have; {} stale answers",
        journal.runs,
        started.elapsed(),
        keys.len() - 1,
        journal.stale.len(),
    );
    assert!(
        journal.stale.is_empty(),
        "stale answers:\n{}",
        journal.stale.join("\n")
    );
    assert_settled(&t, &key_file, dynamodb_manager(&t, &table), &keys);
    t.json(&["cache", "dynamodb", "delete-table", "--yes"]);
}

/// Issue 12: two machines (separate homes and configuration directories, no lock file in
/// common) share one DynamoDB cache table encrypted with the kms key source, whose wrapped
/// keys live in the table; 8 processes on each read, write and check their own writes,
/// clear, and rotate the keys, at once. Every process exits 0; no answer is stale or corrupt;
/// afterwards no rotation is pending and every entry in the table is readable with the key
/// set in the table (no key was lost). With `clock_ahead`, the second machine's clock runs
/// that many seconds ahead: nothing changes.
fn two_machines_share_one_kms_table(clock_ahead: Option<u64>) {
    let table = unique_table();
    let mut a = TestEnv::new();
    let instance = a.instance();
    let ids: BTreeMap<&str, String> = SEEDED_USERS
        .iter()
        .map(|name| (*name, a.seed_user(&instance.store, name, name, "Seeded")))
        .collect();
    let members: Vec<&str> = SEEDED_MEMBERS.iter().map(|m| ids[m].as_str()).collect();
    a.seed_group(&instance.store, SEEDED_GROUP, &members);
    let key = a.aws(
        Service::Kms,
        "CreateKey",
        json!({"Description": "two machines"}),
    );
    let key_id = key["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
    a.set_var("AWSIDEMAN_CACHE_BACKEND", "dynamodb");
    a.set_var("AWSIDEMAN_CACHE_DYNAMODB_TABLE", &table);
    a.set_var("AWSIDEMAN_CACHE_KEY_SOURCE", "kms");
    a.set_var("AWSIDEMAN_CACHE_KMS_KEY_ID", key_id);
    a.set_var("AWSIDEMAN_CACHE_ENCRYPTION", "true");
    a.json(&["cache", "encryption", "enable"]);
    let mut b = a.sibling();
    b.instance();
    if let Some(ahead) = clock_ahead {
        b.set_var("AWSIDEMAN_TEST_CLOCK_OFFSET_SECS", ahead.to_string());
    }

    let started = Instant::now();
    let journal = Mutex::new(Journal::default());
    std::thread::scope(|scope| {
        for i in 0..16 {
            let journal = &journal;
            let (machine, t) = if i < 8 { ("a", &a) } else { ("b", &b) };
            scope.spawn(move || {
                let worker = Worker {
                    t,
                    name: format!("machine {machine} worker {i}"),
                    journal,
                };
                for round in 0..ROUNDS {
                    worker.script(i, round);
                }
            });
        }
    });
    let journal = journal.into_inner().unwrap();
    let mut keys = BTreeSet::new();
    for t in [&a, &b] {
        for event in ["encryption_enabled", "rotation_started"] {
            for record in audit_events(t, event) {
                let details = &record["details"];
                for id in [&record["key_id"], &details["new_key_id"]] {
                    if let Some(id) = id.as_str() {
                        keys.insert(id.to_string());
                    }
                }
            }
        }
    }
    let foreign = assert_clean(&journal, &keys);
    eprintln!(
        "two machines{}: {} runs in {:.1?}; {} keys made; {foreign} misses or skipped stores \
         on a key set changed by the other machine",
        clock_ahead.map_or(String::new(), |s| format!(" (one {s} s ahead)")),
        journal.runs,
        started.elapsed(),
        keys.len(),
    );
    assert!(
        journal.stale.is_empty(),
        "stale answers:\n{}",
        journal.stale.join("\n")
    );
    for t in [&a, &b] {
        let settle = Mutex::new(Journal::default());
        let worker = Worker {
            t,
            name: "after".into(),
            journal: &settle,
        };
        worker.check_users(None, None);
        worker.check_members(SEEDED_GROUP, SEEDED_MEMBERS);
        assert_clean(&settle.into_inner().unwrap(), &keys);
        let status = t.json(&["cache", "encryption", "status"]);
        assert_eq!(status["rotating"], false, "{status}");
        assert_eq!(status["entries"]["plaintext"], 0, "{status}");
        assert_eq!(status["entries"]["unreadable"], 0, "{status}");
        for by_key in status["entries"]["byKey"].as_array().unwrap() {
            assert_eq!(by_key["known"], true, "an entry under a lost key: {status}");
        }
        let cache = t.json(&["cache", "status"]);
        assert_eq!(cache["entries"]["corrupt"], 0, "{cache}");
    }
    a.json(&["cache", "dynamodb", "delete-table", "--yes"]);
}

#[test]
fn two_machines_rotating_one_kms_table_lose_no_key() {
    two_machines_share_one_kms_table(None);
}

#[test]
fn two_machines_rotating_one_kms_table_with_one_clock_30_s_ahead() {
    two_machines_share_one_kms_table(Some(30));
}

/// Runs killed in each kill test.
const KILLS: u32 = 10;

/// A small deterministic generator (splitmix64) for kill points: seeded from the clock and
/// printed, or from `AWSIDEMAN_TEST_SEED` to replay a run.
struct Rng(u64);

impl Rng {
    fn new(test: &str) -> Rng {
        let seed = std::env::var("AWSIDEMAN_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        eprintln!("{test}: kill points from seed {seed} (AWSIDEMAN_TEST_SEED={seed} replays it)");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform fraction in [0, 1).
    fn fraction(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// [`KILLS`] points spread over a run that takes `run`: one at random in each tenth of it.
fn kill_points(rng: &mut Rng, run: Duration) -> Vec<Duration> {
    (0..KILLS)
        .map(|k| run.mul_f64((f64::from(k) + rng.fraction()) / f64::from(KILLS)))
        .collect()
}

/// How long `args` takes to run to the end (it must succeed), and its JSON report.
fn timed_run(t: &TestEnv, args: &[String]) -> (Duration, Value) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let started = Instant::now();
    let out = t.run(&args);
    let took = started.elapsed();
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    (
        took,
        serde_json::from_slice(&out.stdout).expect("JSON report"),
    )
}

/// Starts `args` and SIGKILLs it `after` its start; false when it had already finished.
fn kill_after(t: &TestEnv, args: &[String], after: Duration) -> bool {
    let started = Instant::now();
    let mut child = t.spawn_quiet(args);
    std::thread::sleep(after.saturating_sub(started.elapsed()));
    let finished = child.try_wait().expect("try_wait").is_some();
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    !finished
}

/// Asserts `manager` reads all `n` entries of [`fill_user_entries`], each with its own
/// answer, and that the cache holds `others` entries besides.
fn assert_all_readable(manager: &CacheManager, n: usize, others: usize, when: &str) {
    for i in 0..n {
        let value = manager
            .get(
                &crate::common::user_entry_key(i),
                &crate::common::user_entry_tags(i),
            )
            .unwrap_or_else(|| panic!("{when}: entry {i} lost or unreadable"));
        assert_eq!(value["UserName"], format!("user{i}"), "{when}: entry {i}");
    }
    let stored = manager.backend().stats().unwrap().entries;
    assert_eq!(stored, (n + others) as u64, "{when}: entries stored");
}

/// Entries of the cache the rotation kill test rotates: enough for a rotation to take about
/// a second here (each entry is rewritten and synced), little enough to run 20 of them.
const ROTATION_ENTRIES: usize = 300;

/// Issue 8: `cache encryption rotate` SIGKILLed at 10 random points, one in each tenth of an
/// uninterrupted rotation's time. After every kill the key file is whole, and every entry is
/// readable, with its own answer, with the key set on disk; `rotate` run again then finishes
/// the rotation (resuming it when the kill left one pending): one key left, every entry
/// sealed with it.
#[test]
fn rotation_killed_at_ten_random_points_loses_nothing() {
    let mut t = TestEnv::new();
    let key_file = t.home.join("keys/cache-key.json");
    t.set_var("AWSIDEMAN_CACHE_KEY_SOURCE", "file");
    t.set_var("AWSIDEMAN_CACHE_KEY_FILE", key_file.display().to_string());
    t.json(&["cache", "encryption", "enable"]);
    let settings = cache_settings(&t);
    let open = || with_keys(CacheManager::open(&settings, true).unwrap(), &key_file);
    let keys = || Keyset::from_text(&std::fs::read_to_string(&key_file).unwrap());
    fill_user_entries(&open(), ROTATION_ENTRIES);
    let rotate: Vec<String> = ["--output", "json", "cache", "encryption", "rotate"]
        .map(String::from)
        .to_vec();

    // Whole rotations: that they work, and how long one takes (the faster of two, as the
    // first can be slowed by a cold start or a busy machine).
    let run = (0..2)
        .map(|_| {
            let (took, report) = timed_run(&t, &rotate);
            assert_eq!(report["reencrypted"], ROTATION_ENTRIES, "{report}");
            took
        })
        .min()
        .unwrap();
    let points = kill_points(&mut Rng::new("rotation"), run);
    eprintln!("rotation: an uninterrupted run takes {run:.1?}");

    let mut mid_way = 0;
    for at in points {
        let killed = kill_after(&t, &rotate, at);
        let when = format!("after a kill at {at:.1?}");
        let keyset = keys().unwrap_or_else(|e| panic!("{when}: key file: {e}"));
        let manager = open();
        assert_all_readable(&manager, ROTATION_ENTRIES, 0, &when);
        let by_key = census_by_key(&manager);
        assert!(
            by_key.keys().all(|id| keyset.get(id).is_some()),
            "{when}: an entry is sealed with a key not in the key set: {by_key:?}"
        );
        let pending = keyset.is_rotating();
        mid_way += usize::from(killed && pending);
        eprintln!(
            "rotation: {when}: {}; {} of {ROTATION_ENTRIES} entries on the active key",
            match (killed, pending) {
                (false, _) => "it had finished",
                (true, true) => "killed mid-rotation",
                (true, false) => "killed before it started or after it finished",
            },
            by_key.get(keyset.active().id()).copied().unwrap_or(0)
        );

        // Run again: it finishes what the kill left.
        let (_, report) = timed_run(&t, &rotate);
        assert_eq!(report["resumed"], pending, "{when}: {report}");
        assert_eq!(report["skipped"], 0, "{when}: {report}");
        let keyset = keys().unwrap();
        assert_eq!(keyset.len(), 1, "{when}: {report}");
        let manager = open();
        assert_all_readable(
            &manager,
            ROTATION_ENTRIES,
            0,
            &format!("{when}, then rotate"),
        );
        assert_eq!(
            census_by_key(&manager),
            BTreeMap::from([(keyset.active().id().to_string(), ROTATION_ENTRIES)]),
            "{when}, then rotate"
        );
    }
    eprintln!("rotation: {mid_way} of {KILLS} kills landed mid-rotation");
    assert!(mid_way >= 3, "only {mid_way} kills landed mid-rotation");
}

/// How many stored entries each key sealed, by key id.
fn census_by_key(manager: &CacheManager) -> BTreeMap<String, usize> {
    let mut by_key = BTreeMap::new();
    for entry in manager.backend().entries().unwrap() {
        let header = entry.header.expect("a readable header");
        *by_key.entry(header.key_id.unwrap_or_default()).or_default() += 1;
    }
    by_key
}

/// Live entries of the cache the migration kill test copies (plus one expired and one
/// corrupt, which are skipped): 16 checkpointed batches, about a second here.
const MIGRATION_ENTRIES: usize = 800;

/// The migration checkpoint of a file-to-file migration out of `source`.
fn checkpoint_of(source: &Path) -> PathBuf {
    source.join("migrate-file-file.checkpoint.json")
}

/// `cache migrate --from file --to file --to-dir DEST`.
fn migrate_to(dest: &Path, verify: bool) -> Vec<String> {
    let mut args: Vec<String> = [
        "--output", "json", "cache", "migrate", "--from", "file", "--to", "file", "--yes",
        "--to-dir",
    ]
    .map(String::from)
    .to_vec();
    args.push(dest.display().to_string());
    if verify {
        args.push("--verify".into());
    }
    args
}

/// Asserts every entry of `dest` is byte for byte the source's (none is partly written),
/// and, when a checkpoint is given, that every entry it counts as done is in `dest`.
fn assert_copy_consistent(source: &FileBackend, dest: &FileBackend, checkpoint: Option<&Value>) {
    let copied = dest.entries().unwrap();
    for entry in &copied {
        assert_eq!(
            dest.get(&entry.key).unwrap(),
            source.get(&entry.key).unwrap(),
            "entry {} differs from the source",
            entry.key
        );
    }
    let Some(checkpoint) = checkpoint else {
        return;
    };
    let last = checkpoint["lastKey"].as_str().unwrap_or("");
    let failed: BTreeSet<&str> = checkpoint["failedKeys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let have: BTreeSet<String> = copied.iter().map(|e| e.key.to_string()).collect();
    let now = awsideman::testing::now_secs();
    for entry in source.entries().unwrap() {
        let key = entry.key.as_str();
        let live = entry.header.as_ref().is_some_and(|h| h.expires_at > now);
        if live && key <= last && !failed.contains(key) {
            assert!(
                have.contains(key),
                "checkpoint counts {key} done: {checkpoint}"
            );
        }
    }
    assert!(
        checkpoint["copied"].as_u64().unwrap() <= have.len() as u64,
        "{checkpoint}"
    );
}

/// Issue 8: `cache migrate` (file to file) SIGKILLed at 10 random points, one in each tenth
/// of an uninterrupted migration's time, each into a new destination. After every kill the
/// source is untouched, every entry in the destination is whole and identical to the
/// source's, and the checkpoint tells the truth; the migration run again resumes the
/// checkpoint and completes: `--verify` finds nothing missing or different, and the counts
/// carry over from the killed run.
#[test]
fn migration_killed_at_ten_random_points_resumes_to_completion() {
    let t = TestEnv::new();
    let source_dir = cache_settings(&t).file_cache_dir;
    let source = FileBackend::new(source_dir.clone(), 1 << 30);
    let open = |dir: &Path| {
        let mut settings = cache_settings(&t);
        settings.file_cache_dir = dir.to_path_buf();
        CacheManager::with_backend(
            Box::new(FileBackend::new(dir.to_path_buf(), 1 << 30)),
            settings,
            true,
        )
    };
    fill_user_entries(&open(&source_dir), MIGRATION_ENTRIES);
    crate::common::add_expired_and_corrupt(&source, MIGRATION_ENTRIES);
    let checkpoint = checkpoint_of(&source_dir);
    let saved = || -> Option<Value> {
        let bytes = std::fs::read(&checkpoint).ok()?;
        Some(serde_json::from_slice(&bytes).expect("the checkpoint is whole JSON"))
    };

    // Whole migrations: that they work, and how long one takes (the faster of two, as the
    // first can be slowed by a cold start or a busy machine).
    let run = (0..2)
        .map(|n| {
            let whole = t.home.join(format!("dest-whole-{n}"));
            let (took, report) = timed_run(&t, &migrate_to(&whole, false));
            assert_eq!(report["copied"], MIGRATION_ENTRIES, "{report}");
            assert_eq!(report["skippedExpired"], 1, "{report}");
            assert_eq!(report["skippedCorrupt"], 1, "{report}");
            assert_all_readable(&open(&whole), MIGRATION_ENTRIES, 0, "migrated whole");
            std::fs::remove_dir_all(&whole).unwrap();
            took
        })
        .min()
        .unwrap();
    let points = kill_points(&mut Rng::new("migration"), run);
    eprintln!("migration: an uninterrupted run takes {run:.1?}");

    let mut mid_way = 0;
    for (n, at) in points.into_iter().enumerate() {
        let dest_dir = t.home.join(format!("dest-{n}"));
        let dest = FileBackend::new(dest_dir.clone(), 1 << 30);
        let killed = kill_after(&t, &migrate_to(&dest_dir, false), at);
        let when = format!("after a kill at {at:.1?}");
        let last = saved();
        assert_all_readable(&open(&source_dir), MIGRATION_ENTRIES, 2, &when);
        assert_copy_consistent(&source, &dest, last.as_ref());
        let copied = dest.stats().unwrap().entries;
        let incomplete = last.is_some() || (0 < copied && copied < MIGRATION_ENTRIES as u64);
        mid_way += usize::from(killed && incomplete);
        eprintln!(
            "migration: {when}: {}; {copied} entries in the destination, checkpoint: {}",
            match (killed, incomplete) {
                (false, _) => "it had finished",
                (true, true) => "killed mid-migration",
                (true, false) => "killed before it copied or after it finished",
            },
            last.as_ref()
                .map_or("none".into(), |c| format!("{} copied", c["copied"]))
        );

        // Run again: it resumes the checkpoint, if any, and completes.
        let (_, report) = timed_run(&t, &migrate_to(&dest_dir, true));
        assert_eq!(report["failed"], 0, "{when}: {report}");
        assert_eq!(report["copied"], MIGRATION_ENTRIES, "{when}: {report}");
        assert_eq!(report["verified"]["missing"], 0, "{when}: {report}");
        assert_eq!(report["verified"]["different"], 0, "{when}: {report}");
        let resumed_from = last.map(|c| {
            ["copied", "skippedExpired", "skippedCorrupt"]
                .iter()
                .map(|k| c[k].as_u64().unwrap())
                .sum::<u64>()
                + c["failedKeys"].as_array().unwrap().len() as u64
        });
        assert_eq!(
            report["resumedFrom"],
            json!(resumed_from),
            "{when}: {report}"
        );
        assert!(!checkpoint.exists(), "{when}: the checkpoint is removed");
        let resumed = format!("{when}, then run again");
        assert_all_readable(&open(&dest_dir), MIGRATION_ENTRIES, 0, &resumed);
        std::fs::remove_dir_all(&dest_dir).unwrap();
    }
    eprintln!("migration: {mid_way} of {KILLS} kills landed mid-migration");
    assert!(mid_way >= 3, "only {mid_way} kills landed mid-migration");
}
