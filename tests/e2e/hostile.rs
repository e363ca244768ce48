//! Right answers under failure and hostile data: a write whose cache invalidation fails
//! never leaves a stale read; ambiguous names, hostile cached and configured values,
//! patterns and inputs are refused or are misses, never a crash or a wrong answer.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use awsideman::testing::{Envelope, Header};
use serde_json::Value;

use crate::common::fixture::{Gate, Reply};
use crate::common::{TestEnv, binary, text, user_names, warnings};

/// The stale-tag marks file in a configuration directory.
const MARKS: &str = "cache-stale-tags.json";

fn create_user(name: &str) -> Vec<String> {
    [
        "--output",
        "json",
        "user",
        "create",
        "--username",
        name,
        "--display-name",
        &format!("{name} Test"),
        "--email",
        &format!("{name}@example.com"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// A cache table that breaks between a write and its invalidation (a loopback gate in front
/// of moto answering 500): the write succeeds with one warning naming `cache clear --tag`;
/// this machine then reads the users from AWS (one warning), not the stale list; once the
/// table answers again, the next command lands the invalidation, and another machine on the
/// same table sees the new user too.
#[test]
fn a_failed_table_invalidation_is_retried_and_never_read_stale() {
    let mut a = TestEnv::new();
    let instance = a.instance();
    a.seed_user(&instance.store, "alice", "Alice", "Liddell");
    a.set_var("AWSIDEMAN_CACHE_BACKEND", "dynamodb");
    a.set_var("AWSIDEMAN_CACHE_DYNAMODB_TABLE", "stale-after-failure");
    a.set_var("AWSIDEMAN_CACHE_DYNAMODB_MAX_RETRIES", "0");
    let b = a.sibling();
    b.instance();
    let gate = Gate::open(&crate::common::moto());
    a.set_var("AWS_ENDPOINT_URL_DYNAMODB", &gate.url);

    let list = ["--output", "json", "user", "list"];
    assert_eq!(user_names(&a.run(&list)), ["alice"]);
    assert_eq!(user_names(&b.run(&list)), ["alice"], "b reads a's entry");

    gate.shut(Reply::json(
        500,
        r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"down"}"#,
    ));
    let args = create_user("carol");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = a.run(&args);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "the write itself succeeded: {stderr}");
    let tag = format!("users:{}", instance.store);
    let said = warnings(&stderr);
    assert_eq!(said.len(), 1, "{stderr}");
    assert!(
        said[0].contains("could not be invalidated")
            && said[0].contains(&format!("awsideman cache clear --tag {tag} --yes")),
        "{stderr}"
    );
    assert!(a.config_dir().join(MARKS).exists());

    // This machine, the table still down: read from AWS, with one warning.
    let out = a.run(&list);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(user_names(&out), ["alice", "carol"], "{stderr}");
    assert_eq!(warnings(&stderr).len(), 1, "{stderr}");
    assert!(stderr.contains("stale"), "{stderr}");

    // Mended: the next command lands the invalidation first and removes the mark.
    gate.reopen();
    let out = a.run(&list);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(user_names(&out), ["alice", "carol"], "{stderr}");
    assert_eq!(stderr, "", "no warning once it landed");
    assert!(!a.config_dir().join(MARKS).exists());
    assert_eq!(
        user_names(&b.run(&list)),
        ["alice", "carol"],
        "the other machine"
    );
}

/// `cache clear --tag` by hand ends a mark (here: after the table was mended) and moves the
/// tag on, so the next read asks AWS.
#[test]
fn cache_clear_tag_invalidates_and_ends_the_mark() {
    let mut t = TestEnv::new();
    let instance = t.instance();
    t.seed_user(&instance.store, "alice", "Alice", "Liddell");
    t.set_var("AWSIDEMAN_CACHE_BACKEND", "dynamodb");
    t.set_var("AWSIDEMAN_CACHE_DYNAMODB_TABLE", "stale-clear-tag");
    t.set_var("AWSIDEMAN_CACHE_DYNAMODB_MAX_RETRIES", "0");
    let gate = Gate::open(&crate::common::moto());
    t.set_var("AWS_ENDPOINT_URL_DYNAMODB", &gate.url);
    t.json(&["user", "list"]);
    gate.shut(Reply::json(500, r#"{"__type":"InternalServerError"}"#));
    let args = create_user("dan");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(t.run(&args).status.success());
    gate.reopen();
    let tag = format!("users:{}", t.instance().store);
    let done = t.json(&["cache", "clear", "--tag", &tag, "--yes"]);
    assert_eq!(done["tagsInvalidated"], 1, "{done}");
    assert!(!t.config_dir().join(MARKS).exists());
    assert_eq!(
        t.fails(
            2,
            &["cache", "clear", "--tag", &tag, "--operation", "x", "--yes"]
        )
        .lines()
        .count(),
        1
    );
}

/// Runs the binary as uid/gid 65534 when the tests run as root (root writes through a
/// read-only directory), else as this user.
fn as_nobody(t: &TestEnv, args: &[&str]) -> Output {
    let mut command = if crate::common::is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
        c.arg(binary());
        c
    } else {
        Command::new(binary())
    };
    command
        .args(args)
        .env_clear()
        .envs(&t.vars)
        .current_dir(&t.home)
        .stdin(Stdio::null())
        .output()
        .expect("run awsideman")
}

fn chown_tree(path: &Path) {
    if !crate::common::is_root() {
        return;
    }
    std::os::unix::fs::lchown(path, Some(65534), Some(65534)).expect("chown");
    if path.is_dir() && !path.is_symlink() {
        for entry in std::fs::read_dir(path).expect("list") {
            chown_tree(&entry.expect("entry").path());
        }
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A read-only file cache directory: the write succeeds with a warning, and the next read
/// shows the new user (the cache is bypassed, with one warning) instead of the cached list;
/// once the directory is writable again, the next command invalidates and ends the mark.
#[test]
fn a_read_only_cache_directory_never_serves_the_list_from_before_a_write() {
    let mut t = TestEnv::new();
    let instance = t.instance();
    t.seed_user(&instance.store, "alice", "Alice", "Liddell");
    t.set_var("AWSIDEMAN_CACHE_BACKEND", "file");
    chown_tree(&t.home);
    let list = ["--output", "json", "user", "list"];
    let out = as_nobody(&t, &list);
    assert_eq!(user_names(&out), ["alice"], "{}", text(&out.stderr));
    let cache = t.config_dir().join("cache");
    let dirs = [cache.join("gens"), cache.join("entries"), cache.clone()];
    for dir in &dirs {
        set_mode(dir, 0o500);
    }

    let args = create_user("erin");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = as_nobody(&t, &args);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("could not be invalidated"), "{stderr}");
    assert!(
        stderr.contains(&format!("cache clear --tag users:{}", instance.store)),
        "{stderr}"
    );

    let out = as_nobody(&t, &list);
    let stderr = text(&out.stderr);
    assert_eq!(user_names(&out), ["alice", "erin"], "{stderr}");
    assert_eq!(warnings(&stderr).len(), 1, "{stderr}");

    for dir in dirs.iter().rev() {
        set_mode(dir, 0o700);
    }
    let out = as_nobody(&t, &list);
    let stderr = text(&out.stderr);
    assert_eq!(user_names(&out), ["alice", "erin"], "{stderr}");
    assert_eq!(stderr, "");
    assert!(!t.config_dir().join(MARKS).exists());
}

/// Locks held by a stopped process (the encryption state lock and the marks' lock): a write
/// finishes in bounded time and the next read shows it.
#[test]
fn held_cache_locks_neither_hang_a_write_nor_leave_a_stale_read() {
    let mut t = TestEnv::new();
    let instance = t.instance();
    t.seed_user(&instance.store, "alice", "Alice", "Liddell");
    t.set_var("AWSIDEMAN_CACHE_LOCK_TIMEOUT_MS", "300");
    assert_eq!(
        user_names(&t.run(&["--output", "json", "user", "list"])),
        ["alice"]
    );
    let held: Vec<std::fs::File> = ["cache-keys.lock", "cache-stale-tags.lock"]
        .iter()
        .map(|name| {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(t.config_dir().join(name))
                .expect("lock file");
            file.lock().expect("lock");
            file
        })
        .collect();
    let args = create_user("fay");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = t.run_within(Duration::from_secs(20), &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = t.run_within(
        Duration::from_secs(20),
        &["--output", "json", "user", "list"],
    );
    assert_eq!(user_names(&out), ["alice", "fay"], "{}", text(&out.stderr));
    drop(held);
}

/// A base64 32-byte key, as a CI secret would hold it.
const ENV_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// With encryption on and the key missing, a write still invalidates (once the key is back,
/// the list shows the new user, not the one cached before), and the maintenance commands
/// work: `cache status`, `inspect`, `cleanup` and `clear` (which removes what it cannot
/// read); `cache warm` says it cannot store.
#[test]
fn without_its_key_the_cache_still_invalidates_and_can_be_cleared() {
    let mut t = TestEnv::new();
    let instance = t.instance();
    t.seed_user(&instance.store, "alice", "Alice", "Liddell");
    t.set_var("AWSIDEMAN_CACHE_KEY_SOURCE", "env");
    t.set_var("AWSIDEMAN_CACHE_ENCRYPTION", "true");
    t.set_var("AWSIDEMAN_CACHE_KEY", ENV_KEY);
    let list = ["--output", "json", "user", "list"];
    assert_eq!(user_names(&t.run(&list)), ["alice"]);

    t.remove_var("AWSIDEMAN_CACHE_KEY");
    let args = create_user("gus");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = t.run(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    t.set_var("AWSIDEMAN_CACHE_KEY", ENV_KEY);
    let out = t.run(&["--debug", "--output", "json", "user", "list"]);
    assert_eq!(user_names(&out), ["alice", "gus"], "{}", text(&out.stderr));
    assert!(
        crate::common::requests(&text(&out.stderr))
            .contains(&("identitystore".into(), "ListUsers".into())),
        "the entry from before the write is a miss"
    );

    t.remove_var("AWSIDEMAN_CACHE_KEY");
    let status = t.json(&["cache", "status"]);
    assert!(
        status["entries"]["total"].as_u64().unwrap() >= 1,
        "{status}"
    );
    let listed = t.json(&["cache", "inspect"]);
    assert!(!listed["entries"].as_array().unwrap().is_empty());
    t.json(&["cache", "cleanup"]);
    let warm = t.run(&["cache", "warm", "user list"]);
    assert_eq!(warm.status.code(), Some(1), "{}", text(&warm.stderr));
    let cleared = t.json(&["cache", "clear", "--yes"]);
    assert!(cleared["removed"].as_u64().unwrap() >= 1, "{cleared}");
    assert_eq!(t.json(&["cache", "status"])["entries"]["total"], 0);
}

/// Creates a user with its own user name and email.
fn user_with_email(t: &TestEnv, store: &str, name: &str, email: &str) -> String {
    let reply = t.aws(
        awsideman::testing::Service::IdentityStore,
        "CreateUser",
        serde_json::json!({
            "IdentityStoreId": store,
            "UserName": name,
            "DisplayName": format!("{name} Test"),
            "Name": {"GivenName": name, "FamilyName": "Test"},
            "Emails": [{"Value": email, "Type": "work", "Primary": true}],
        }),
    );
    reply["UserId"].as_str().expect("user id").to_string()
}

/// `theboss` has the email boss@corp.example and another user is named boss@corp.example:
/// `group add-member team-002 boss@corp.example` exits 2 listing both users with their ids
/// and adds nobody; the user id names one exactly.
#[test]
fn a_name_that_is_one_users_name_and_anothers_email_is_ambiguous() {
    let t = TestEnv::new();
    let instance = t.instance();
    let boss = user_with_email(&t, &instance.store, "theboss", "boss@corp.example");
    let other = user_with_email(
        &t,
        &instance.store,
        "boss@corp.example",
        "someone@corp.example",
    );
    t.seed_group(&instance.store, "team-002", &[]);
    let stderr = t.fails(2, &["group", "add-member", "team-002", "boss@corp.example"]);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&boss) && stderr.contains(&other) && stderr.contains("theboss"),
        "{stderr}"
    );
    let members = t.json(&["group", "members", "team-002"]);
    assert_eq!(members["Members"], serde_json::json!([]), "{members}");
    t.fails(2, &["user", "get", "boss@corp.example"]);
    let got = t.json(&["user", "get", &other]);
    assert_eq!(got["UserName"], "boss@corp.example");
    // Without a second match the email still finds its user.
    assert_eq!(
        t.json(&["user", "get", "someone@corp.example"])["UserId"],
        other.as_str()
    );
}

/// The path of the file cache entry of `operation`, after a command cached it.
fn entry_of(t: &TestEnv, operation: &str) -> std::path::PathBuf {
    let dir = t.config_dir().join("cache/entries");
    std::fs::read_dir(&dir)
        .expect("entries")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            std::fs::read(p)
                .is_ok_and(|b| Envelope::decode_header(&b).is_ok_and(|h| h.operation == operation))
        })
        .unwrap_or_else(|| panic!("no {operation} entry in {}", dir.display()))
}

/// `bytes` (a plaintext envelope) changed by `edit` and sealed again with a valid checksum.
/// The payload is the request parameters on one line, then the answer; `edit` sees them as
/// `{"params": ..., "value": ...}`.
fn resealed(bytes: &[u8], edit: impl FnOnce(&mut Header, &mut Value)) -> Vec<u8> {
    let envelope = Envelope::decode(bytes).expect("envelope");
    let mut header = envelope.header;
    let text = String::from_utf8(envelope.payload).expect("UTF-8 payload");
    let (params, value) = text.split_once('\n').expect("parameters, then the answer");
    let mut payload = serde_json::json!({
        "params": serde_json::from_str::<Value>(params).expect("parameters"),
        "value": serde_json::from_str::<Value>(value).expect("answer"),
    });
    edit(&mut header, &mut payload);
    let text = format!("{}\n{}", payload["params"], payload["value"]);
    Envelope::seal(header, text.into_bytes()).encode()
}

fn list_with_requests(t: &TestEnv) -> (Vec<String>, Vec<(String, String)>, String) {
    let out = t.run(&["--debug", "--output", "json", "user", "list"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    (user_names(&out), crate::common::requests(&stderr), stderr)
}

const LIST_USERS: (&str, &str) = ("identitystore", "ListUsers");

fn asked_aws(requests: &[(String, String)]) -> bool {
    requests.contains(&(LIST_USERS.0.to_string(), LIST_USERS.1.to_string()))
}

/// Planted answers that are not objects (a string, number, array, boolean, null) with a
/// valid checksum in the file cache: `user list` answers from AWS (exit 0), and the entry is
/// replaced, so the next run is a hit again.
#[test]
fn planted_answers_that_are_not_objects_are_misses_and_removed() {
    let t = TestEnv::new();
    let instance = t.instance();
    t.seed_user(&instance.store, "alice", "Alice", "Liddell");
    let (names, _, _) = list_with_requests(&t);
    assert_eq!(names, ["alice"]);
    let path = entry_of(&t, "ListUsers");
    for planted in [
        Value::from("x"),
        Value::from(7),
        serde_json::json!([1, 2]),
        Value::from(true),
        Value::Null,
    ] {
        let bytes = std::fs::read(&path).expect("entry");
        let bad = resealed(&bytes, |_, payload| payload["value"] = planted.clone());
        std::fs::write(&path, bad).expect("plant");
        let (names, requests, stderr) = list_with_requests(&t);
        assert_eq!(names, ["alice"], "{planted}: {stderr}");
        assert!(asked_aws(&requests), "{planted}: a miss");
        assert!(stderr.contains("not a JSON object"), "{planted}: {stderr}");
        let (_, requests, _) = list_with_requests(&t);
        assert!(!asked_aws(&requests), "{planted}: replaced by the answer");
    }
}

/// The same in an unencrypted shared table: an item whose answer is a string is a miss,
/// removed, and every machine on the table answers right.
#[test]
fn a_planted_non_object_in_a_shared_table_is_a_miss_and_removed() {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as BASE64;
    let mut t = TestEnv::new();
    let instance = t.instance();
    t.seed_user(&instance.store, "alice", "Alice", "Liddell");
    let table = "planted-values";
    t.set_var("AWSIDEMAN_CACHE_BACKEND", "dynamodb");
    t.set_var("AWSIDEMAN_CACHE_DYNAMODB_TABLE", table);
    let (names, _, _) = list_with_requests(&t);
    assert_eq!(names, ["alice"]);
    let scan = t.aws(
        awsideman::testing::Service::DynamoDb,
        "Scan",
        serde_json::json!({"TableName": table}),
    );
    let mut item = scan["Items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["operation"]["S"] == "ListUsers")
        .cloned()
        .expect("the ListUsers item");
    let data = BASE64
        .decode(item["data"]["B"].as_str().expect("data"))
        .expect("base64");
    let bad = resealed(&data, |_, payload| payload["value"] = Value::from("owned"));
    item["data"]["B"] = Value::from(BASE64.encode(&bad));
    item["size"] = serde_json::json!({"N": bad.len().to_string()});
    t.aws(
        awsideman::testing::Service::DynamoDb,
        "PutItem",
        serde_json::json!({"TableName": table, "Item": item}),
    );
    let other = t.sibling();
    other.instance();
    let (names, _, stderr) = list_with_requests(&t);
    assert_eq!(names, ["alice"]);
    assert!(stderr.contains("not a JSON object"), "{stderr}");
    let (names, _, _) = list_with_requests(&other);
    assert_eq!(names, ["alice"]);
    let (_, requests, _) = list_with_requests(&t);
    assert!(!asked_aws(&requests), "replaced: a hit again");
}

/// An entry dated two years ahead (a machine whose clock was ahead), checksum valid: a
/// miss, removed and replaced; `cache inspect` no longer shows years of TTL.
#[test]
fn an_entry_dated_two_years_ahead_is_a_miss() {
    let t = TestEnv::new();
    let instance = t.instance();
    t.seed_user(&instance.store, "alice", "Alice", "Liddell");
    list_with_requests(&t);
    let path = entry_of(&t, "ListUsers");
    let two_years = 2 * 365 * 86_400;
    let bytes = std::fs::read(&path).expect("entry");
    let ahead = resealed(&bytes, |header, _| {
        header.created_at += two_years;
        header.expires_at += two_years;
    });
    std::fs::write(&path, ahead).expect("plant");
    let (names, requests, stderr) = list_with_requests(&t);
    assert_eq!(names, ["alice"]);
    assert!(asked_aws(&requests), "a miss: {stderr}");
    assert!(stderr.contains("dated in the future"), "{stderr}");
    let listed = t.json(&["cache", "inspect", "--operation", "ListUsers"]);
    for entry in listed["entries"].as_array().expect("entries") {
        assert!(entry["ttlLeftSeconds"].as_u64().unwrap() <= 3600, "{entry}");
    }
}

/// Nested quantifiers (`(a*)*` repeated) and stacked counted repetitions as `--filter` or a
/// `find` pattern: refused with exit 2 naming the limit, within 100 MB (and the run limit of 10 s).
#[test]
fn hostile_patterns_are_refused_quickly_naming_the_limit() {
    let t = TestEnv::new();
    t.instance();
    let nested = "(a*)*".repeat(300);
    let deep = format!("{}a{}", "(".repeat(64), ")*".repeat(64));
    let stacked = "((a*){100}){100}{100}".to_string();
    for (pattern, says) in [
        (&nested, "1024"),
        (&deep, "16 levels"),
        (&stacked, "256 KiB"),
    ] {
        for args in [
            vec!["user", "list", "--filter", pattern.as_str()],
            vec!["group", "list", "--filter", pattern.as_str()],
            vec!["permission-set", "list", "--filter", pattern.as_str()],
        ] {
            let out = t.run_in_100_mb(&args);
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(stderr.contains(says), "{args:?}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
        }
    }
}

/// Rates that would never send a request, or never pace, are configuration errors (exit 2)
/// in the file and in the environment, before anything is sent.
#[test]
fn rates_that_would_hang_or_flood_are_refused() {
    let mut t = TestEnv::new();
    t.instance();
    for rate in ["1e-300", "0", "5000"] {
        let err = t.fails(2, &["config", "set", "network.identity_center_rps", rate]);
        assert!(err.contains("from 0.1 to 1000"), "{rate}: {err}");
        t.set_var("AWSIDEMAN_RATE_LIMIT", rate);
        let err = t.fails(2, &["user", "list"]);
        assert!(err.contains("AWSIDEMAN_RATE_LIMIT"), "{rate}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    t.set_var("AWSIDEMAN_RATE_LIMIT", "0.5");
    t.ok(&["user", "list"]);
}

/// Standard input that never ends (`/dev/zero`) is refused at the ceiling that fits what is
/// read: a key set (64 KB), an inline policy (32 KiB, the AWS limit).
#[test]
fn endless_standard_input_is_refused_at_its_ceiling() {
    let t = TestEnv::new();
    let instance = t.instance();
    let cases: [(&[&str], &str); 2] = [
        (&["cache", "encryption", "import-key"], "64 KB"),
        (
            &[
                "permission-set",
                "create",
                "--name",
                "Zero",
                "--inline-policy",
                "-",
            ],
            "32 KiB",
        ),
    ];
    for (args, ceiling) in cases {
        let mut command = t.command(args);
        command.stdin(std::fs::File::open("/dev/zero").unwrap());
        let out = t.run_command_within(command, Duration::from_secs(20), args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(ceiling), "{args:?}: {stderr}");
    }
    let sets = t.json(&["permission-set", "list"]);
    assert!(
        !sets.to_string().contains("Zero"),
        "nothing was created: {sets}"
    );
    let _ = instance;
}

/// A secret in an endpoint's or proxy's user-info (`http://user:SECRET@host`) is never
/// printed: not in errors, warnings, `--debug` lines, locations or reports.
#[test]
fn user_info_in_urls_is_never_printed() {
    let mut t = TestEnv::new();
    t.instance();
    t.set_var("AWS_MAX_ATTEMPTS", "1");
    t.set_var("AWS_ENDPOINT_URL", "http://user:SECRET@127.0.0.1:1");
    t.set_var("HTTPS_PROXY", "http://proxy:SECRET@127.0.0.1:1");
    t.set_var("AWSIDEMAN_CACHE_BACKEND", "dynamodb");
    for args in [
        &["--debug", "--no-cache", "user", "list"][..],
        &["--debug", "cache", "health"],
        &["cache", "status"],
        &["--debug", "cache", "dynamodb", "describe"],
        &["--output", "text", "sso", "discover"],
    ] {
        let out = t.run_within(Duration::from_secs(30), args);
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let shown = text(bytes);
            assert!(!shown.contains("SECRET"), "{args:?} {stream}: {shown}");
        }
    }
    t.set_var("AWS_ENDPOINT_URL", "ftp://user:SECRET@127.0.0.1:1");
    let err = t.fails(2, &["--no-cache", "user", "list"]);
    assert!(!err.contains("SECRET") && err.contains("***@"), "{err}");
}
