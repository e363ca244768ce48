//! Faults: the emulator stopped mid-command, a DynamoDB cache answering throttling, 500s,
//! malformed JSON and truncated bodies. Each ends in bounded time with one clear message, and
//! the command succeeds from AWS where that is possible.

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use awsideman::testing::Env;
use awsideman::testing::Service;
use awsideman::testing::{ProfileSource, Session, SessionSettings};
use awsideman::testing::{Transport, TransportSettings};
use serde_json::{Value, json};

use crate::common::fixture::{Fixture, Reply};
use crate::common::{FIXTURE_STORE, TestEnv, binary, requests, text, user_names};

/// Only catches a hang: every run here should take seconds at most.
const HANG: Duration = Duration::from_secs(60);

/// Runs the binary in `t`'s world, killing it (and failing the test) if it runs past [`HANG`].
fn run_bounded(t: &TestEnv, args: &[&str]) -> Output {
    let child = spawn(t, args);
    wait_bounded(child, args)
}

fn spawn(t: &TestEnv, args: &[&str]) -> Child {
    Command::new(binary())
        .args(args)
        .env_clear()
        .envs(&t.vars)
        .current_dir(&t.home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn awsideman")
}

fn wait_bounded(mut child: Child, args: &[&str]) -> Output {
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("awsideman {args:?} hung: still running after {HANG:?}");
        }
        thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: stdout.join().expect("stdout"),
        stderr: stderr.join().expect("stderr"),
    }
}

/// Asserts `stderr` is exactly one line starting with `prefix`, with no panic.
fn one_line(stderr: &str, prefix: &str) {
    assert_eq!(stderr.lines().count(), 1, "one line expected:\n{stderr}");
    assert!(
        stderr.starts_with(prefix),
        "expected {prefix:?}...:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

// ---------------------------------------------------------------------------------------
// 1. moto stopped mid-command

/// A moto_server of this test's own, which it can stop and start again on the same port.
struct PrivateMoto {
    child: Option<Child>,
    port: u16,
    /// POST requests moto has logged (one line per request served).
    posts: Arc<AtomicUsize>,
}

impl PrivateMoto {
    /// The executable `tests/moto.sh` installed (exported by `start_moto`).
    fn executable() -> PathBuf {
        std::env::var_os("AWSIDEMAN_TEST_MOTO_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/.venv/bin/moto_server"
                ))
            })
    }

    /// Starts moto on a free port.
    fn start() -> PrivateMoto {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut moto = PrivateMoto {
            child: None,
            port,
            posts: Arc::new(AtomicUsize::new(0)),
        };
        moto.restart();
        moto
    }

    /// Starts moto (again, empty) on its port and waits until it accepts connections.
    fn restart(&mut self) {
        let mut child = Command::new(Self::executable())
            .args(["-H", "127.0.0.1", "-p", &self.port.to_string()])
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "starting {} ({e}): run the suite with ./tests/run.sh",
                    Self::executable().display()
                )
            });
        let log = child.stderr.take().expect("moto stderr");
        let posts = self.posts.clone();
        thread::spawn(move || {
            for line in BufReader::new(log).lines().map_while(Result::ok) {
                if line.contains("\"POST ") {
                    posts.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        self.child = Some(child);
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < HANG,
                "private moto_server did not start"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn posts(&self) -> usize {
        self.posts.load(Ordering::SeqCst)
    }

    /// Kills moto (SIGKILL: no goodbye to open connections).
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateMoto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A session on `t`'s endpoints without Identity Center pacing, to seed quickly.
fn seeding_session(t: &TestEnv) -> Session {
    Session::new(
        SessionSettings {
            env: Env::from_pairs(t.vars.clone()),
            aws_profile: "default".into(),
            profile_source: ProfileSource::Implied,
            region: Some("us-east-1".into()),
            credentials_cache_dir: t.home.join("seed-credentials"),
            interactive: false,
        },
        Transport::new(TransportSettings {
            identity_center_rps: 0.0,
            ..TransportSettings::default()
        }),
    )
}

/// Creates users `<prefix>-000`... in the fixture store, four at a time; returns the names.
fn seed_users(session: &Session, prefix: &str, count: usize) -> Vec<String> {
    let names: Vec<String> = (0..count).map(|i| format!("{prefix}-{i:03}")).collect();
    thread::scope(|s| {
        for part in names.chunks(count.div_ceil(4)) {
            s.spawn(move || {
                for name in part {
                    session
                        .call(
                            Service::IdentityStore,
                            "CreateUser",
                            &json!({
                                "IdentityStoreId": FIXTURE_STORE,
                                "UserName": name,
                                "DisplayName": name,
                                "Name": {"GivenName": "Fault", "FamilyName": name},
                            }),
                        )
                        .unwrap_or_else(|e| panic!("seeding {name}: {e}"));
                }
            });
        }
    });
    names
}

/// moto killed while `user list` pages through 350 users (one page a second), after the first
/// page: the command fails in bounded time with one line naming the operation and the
/// attempts made (connection refused is retried with the short transient backoff,
/// AWS_MAX_ATTEMPTS = 3 in all), and stores nothing: once moto is back (empty, then given
/// other users) the next run answers the new users in full, not a cached first page.
#[test]
fn moto_stopped_mid_list_fails_in_one_line_and_caches_nothing() {
    let mut moto = PrivateMoto::start();
    let mut t = TestEnv::at_fixture("AWS_ENDPOINT_URL", &moto.url(), "us-east-1");
    let seeded = seed_users(&seeding_session(&t), "before", 350).len();
    // One page (100 users) a second: the command is still paging 3 s after it started.
    t.set_var("AWSIDEMAN_RATE_LIMIT", "1");

    let started = Instant::now();
    while moto.posts() < seeded {
        assert!(
            started.elapsed() < HANG,
            "moto logged {} requests",
            moto.posts()
        );
        thread::sleep(Duration::from_millis(5));
    }
    let before = moto.posts();
    let args = ["--debug", "--output", "json", "user", "list"];
    let child = spawn(&t, &args);
    while moto.posts() == before {
        assert!(started.elapsed() < HANG, "user list sent nothing");
        thread::sleep(Duration::from_millis(5));
    }
    // moto logs a request as it starts answering: let the first page arrive, then stop it.
    thread::sleep(Duration::from_millis(300));
    moto.stop();
    let out = wait_bounded(child, &args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert!(
        stderr.contains("awsideman: debug: identitystore ListUsers status=200 attempt=1"),
        "a first page came: {stderr}"
    );
    let (debug, message): (Vec<&str>, Vec<&str>) = stderr
        .lines()
        .partition(|l| l.starts_with("awsideman: debug: "));
    let unanswered = debug
        .iter()
        .filter(|l| l.contains("ListUsers status=no response"))
        .count();
    assert_eq!(unanswered, 3, "{stderr}");
    one_line(
        &format!("{}\n", message.join("\n")),
        "awsideman: error: identitystore ListUsers: ",
    );
    assert!(stderr.contains("(after 3 attempts)"), "{stderr}");

    let status = t.json(&["cache", "status"]);
    assert_eq!(status["entries"]["total"], 0, "{status}");
    moto.restart();
    t.remove_var("AWSIDEMAN_RATE_LIMIT");
    let after = seed_users(&seeding_session(&t), "after", 150);
    let out = run_bounded(&t, &["--output", "json", "user", "list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(user_names(&out), after);
}

// ---------------------------------------------------------------------------------------
// 2. The DynamoDB cache backend failing

/// A DynamoDB error reply.
fn dynamodb_error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(
        status,
        &json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{code}"), "message": message})
            .to_string(),
    )
}

/// One way the cache table can fail.
struct CacheFault {
    name: &'static str,
    backend: &'static str,
    reply: Reply,
    /// `cache.dynamodb_max_retries`.
    retries: u32,
    /// Whether the transport retries this fault (else one attempt in all).
    retried: bool,
    /// What the warning says after `dynamodb GetItem: `.
    says: &'static str,
}

fn cache_faults() -> Vec<CacheFault> {
    let internal = || dynamodb_error(500, "InternalServerError", "Internal server error");
    let cases = [
        // (name, backend, reply, cache.dynamodb_max_retries, retried, the warning says)
        (
            "throttling",
            "dynamodb",
            dynamodb_error(400, "ThrottlingException", "Rate of requests exceeds"),
            1,
            true,
            "ThrottlingException: Rate of requests exceeds",
        ),
        (
            "provisioned throughput",
            "dynamodb",
            dynamodb_error(400, "ProvisionedThroughputExceededException", "exceeded"),
            1,
            true,
            "ProvisionedThroughputExceededException: exceeded",
        ),
        (
            "500",
            "dynamodb",
            internal(),
            2,
            true,
            "InternalServerError: Internal server error",
        ),
        (
            "500",
            "hybrid",
            internal(),
            1,
            true,
            "InternalServerError: Internal server error",
        ),
        (
            "malformed JSON",
            "dynamodb",
            Reply::json(200, r#"{"Item": {"#),
            2,
            false,
            "unreadable reply (",
        ),
        (
            "truncated body",
            "dynamodb",
            Reply::truncated(200, r#"{"Item": {"cache_key""#, 400),
            1,
            true,
            "(after 2 attempts)",
        ),
        (
            "connection reset",
            "dynamodb",
            Reply::reset(),
            1,
            true,
            "(after 2 attempts)",
        ),
        (
            "connection reset",
            "hybrid",
            Reply::reset(),
            0,
            true,
            "(after 1 attempt)",
        ),
        (
            "stall",
            "dynamodb",
            Reply::stall(),
            1,
            true,
            "timed out: no complete answer within 300 ms (after 2 attempts)",
        ),
    ];
    cases
        .into_iter()
        .map(
            |(name, backend, reply, retries, retried, says)| CacheFault {
                name,
                backend,
                reply,
                retries,
                retried,
                says,
            },
        )
        .collect()
}

/// For each way the cache table can fail (throttling, 500, malformed JSON, a truncated body,
/// a reset connection, a stall past `cache.dynamodb_timeout_ms`), on the dynamodb backend and
/// the hybrid one: `user list` answers in full from AWS (moto), exit 0, with exactly one
/// warning line about the cache, and the table saw exactly `cache.dynamodb_max_retries` + 1
/// requests (one when retrying cannot help). A hybrid backend's local copy then answers.
#[test]
fn a_failing_cache_table_is_a_miss_with_one_warning() {
    let mut t = TestEnv::new();
    let store = t.discover();
    let mut expected: Vec<String> = ["ana", "ben", "cy"]
        .into_iter()
        .map(|name| {
            t.seed_user(&store, name, "Fault", name);
            name.to_string()
        })
        .collect();
    expected.sort();
    t.set_var("AWSIDEMAN_CACHE_DYNAMODB_TABLE", "awsideman-faults");
    t.set_var("AWSIDEMAN_CACHE_DYNAMODB_TIMEOUT_MS", "300");

    for case in cache_faults() {
        let what = format!("{} on {}", case.name, case.backend);
        let fixture = Fixture::start(vec![case.reply.clone()]);
        t.set_var("AWS_ENDPOINT_URL_DYNAMODB", &fixture.url);
        t.set_var("AWSIDEMAN_CACHE_BACKEND", case.backend);
        t.set_var(
            "AWSIDEMAN_CACHE_DYNAMODB_MAX_RETRIES",
            case.retries.to_string(),
        );
        // A fresh local side for the hybrid backend.
        let _ = std::fs::remove_dir_all(t.config_dir().join("cache"));

        let out = run_bounded(&t, &["--output", "json", "user", "list"]);
        let stderr = text(&out.stderr);
        assert!(out.status.success(), "{what}: {stderr}");
        assert_eq!(user_names(&out), expected, "{what}");
        one_line(&stderr, "awsideman: warning: cache: ");
        assert!(
            stderr.starts_with(
                "awsideman: warning: cache: reading dynamodb table awsideman-faults ("
            ) && stderr.contains("): dynamodb BatchGetItem: ")
                && stderr.contains(case.says)
                && stderr.ends_with(" (reading from AWS)\n"),
            "{what}: {stderr}"
        );

        // The first call that fails marks the table down for the rest of the command: the
        // lookup's attempts are all the table sees (no put after the answer from AWS).
        let attempts = if case.retried { case.retries + 1 } else { 1 };
        let seen = fixture.requests();
        let operations: Vec<&str> = seen
            .iter()
            .map(|r| r.header("x-amz-target").unwrap_or("?"))
            .collect();
        assert_eq!(
            operations,
            vec!["DynamoDB_20120810.BatchGetItem"; attempts as usize],
            "{what}"
        );

        if case.backend == "hybrid" {
            // The local copy written despite the failed remote write answers the next run.
            let again = run_bounded(&t, &["--output", "json", "user", "list"]);
            assert!(again.status.success(), "{what}: {}", text(&again.stderr));
            assert_eq!(user_names(&again), expected, "{what}");
            assert_eq!(text(&again.stderr), "", "{what}");
            assert_eq!(fixture.requests().len(), seen.len(), "{what}");
        }
    }
}

/// A table that stalls costs a command one failed call, not one per cache read: `user get`
/// (two cached reads, each a get and a put) sends the table `cache.dynamodb_max_retries` + 1
/// requests in all, then answers from AWS with one warning.
#[test]
fn a_stalled_table_costs_one_failed_call_per_command() {
    let mut t = TestEnv::new();
    let store = t.discover();
    t.seed_user(&store, "dora", "Dora", "Fault");
    let fixture = Fixture::start(vec![Reply::stall()]);
    t.set_var("AWS_ENDPOINT_URL_DYNAMODB", &fixture.url);
    t.set_var("AWSIDEMAN_CACHE_BACKEND", "dynamodb");
    t.set_var("AWSIDEMAN_CACHE_DYNAMODB_TIMEOUT_MS", "300");
    t.set_var("AWSIDEMAN_CACHE_DYNAMODB_MAX_RETRIES", "2");
    let out = run_bounded(&t, &["--debug", "--output", "json", "user", "get", "dora"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let user: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(user["UserName"], "dora", "{user}");
    let identitystore = requests(&stderr)
        .iter()
        .filter(|(service, _)| service == "identitystore")
        .count();
    assert!(identitystore >= 2, "two reads from AWS: {stderr}");
    assert_eq!(fixture.requests().len(), 3, "{stderr}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("awsideman: debug: "))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].starts_with("awsideman: warning: cache: "),
        "{stderr}"
    );
}

/// `cache health` and `cache status` on a table answering 500: exit 1 with one line naming
/// the backend and what failed, in bounded time.
#[test]
fn cache_health_and_status_on_a_broken_table_fail_in_one_line() {
    let fixture = Fixture::start(vec![dynamodb_error(
        500,
        "InternalServerError",
        "Internal server error",
    )]);
    let mut t = TestEnv::new();
    t.set_var("AWS_ENDPOINT_URL_DYNAMODB", &fixture.url);
    t.set_var("AWSIDEMAN_CACHE_BACKEND", "dynamodb");
    t.set_var("AWSIDEMAN_CACHE_DYNAMODB_MAX_RETRIES", "1");
    let cases = [
        (
            "health",
            "awsideman: error: cache backend dynamodb is unhealthy: dynamodb write: ",
            "PutItem",
        ),
        (
            "status",
            "awsideman: error: listing dynamodb table awsideman-cache (",
            "Scan",
        ),
    ];
    for (command, prefix, operation) in cases {
        let before = fixture.requests().len();
        // Quiet: the warning that this shared cache runs unencrypted is not the point here.
        let out = run_bounded(&t, &["--quiet", "--output", "json", "cache", command]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command}: {stderr}");
        one_line(&stderr, prefix);
        assert!(
            stderr.contains(&format!(
                "dynamodb {operation}: InternalServerError: Internal server error"
            )),
            "{command}: {stderr}"
        );
        // Two attempts at the first call; nothing after it while the table is down.
        let seen: Vec<String> = fixture.requests()[before..]
            .iter()
            .map(|r| r.header("x-amz-target").unwrap_or("?").to_string())
            .collect();
        let expected = format!("DynamoDB_20120810.{operation}");
        assert_eq!(seen, [expected.as_str(); 2], "{command}");
        if command == "health" {
            let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
            assert_eq!(report["healthy"], false, "{report}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// 3. Identity Center itself answering badly

const USERS: &str = r#"{"Users":[{"UserId":"a1b2c3d4-1111-2222-3333-444455556666","UserName":"zed","IdentityStoreId":"d-0123456789"}]}"#;

/// What a `user list` against a faulty identitystore should end in.
enum Expect {
    /// Exit 0 with the user `zed`.
    Answer,
    /// Exit 1 with one `identitystore ListUsers:` line containing this.
    Fails(&'static str),
}

/// Identity Center answering malformed JSON, a truncated body, a reset connection or 500s:
/// a fault followed by a good answer is retried into success; a fault that persists is exit
/// 1 with one line naming the operation; the endpoint sees at most AWS_MAX_ATTEMPTS (3)
/// requests, and one when retrying cannot help (a 200 whose body is not JSON).
#[test]
fn identity_center_faults_are_retried_or_one_clear_line() {
    let internal = || {
        Reply::json(
            500,
            r#"{"__type":"InternalServerException","Message":"internal error"}"#,
        )
    };
    let truncated = || Reply::truncated(200, &USERS[..40], USERS.len());
    let cases: Vec<(&str, Vec<Reply>, Expect, usize)> = vec![
        (
            "malformed JSON",
            vec![Reply::json(200, r#"{"Users": ["#)],
            Expect::Fails("unreadable reply"),
            1,
        ),
        (
            "truncated body",
            vec![truncated()],
            Expect::Fails("(after 3 attempts)"),
            3,
        ),
        (
            "connection reset",
            vec![Reply::reset()],
            Expect::Fails("(after 3 attempts)"),
            3,
        ),
        (
            "500s",
            vec![internal()],
            Expect::Fails("InternalServerException: internal error"),
            3,
        ),
        (
            "500 then an answer",
            vec![internal(), Reply::json(200, USERS)],
            Expect::Answer,
            2,
        ),
        (
            "truncated then an answer",
            vec![truncated(), Reply::json(200, USERS)],
            Expect::Answer,
            2,
        ),
        (
            "reset, 500, then an answer",
            vec![Reply::reset(), internal(), Reply::json(200, USERS)],
            Expect::Answer,
            3,
        ),
    ];
    for (what, replies, expect, requests) in cases {
        let fixture = Fixture::start(replies);
        let t = TestEnv::at_fixture("AWS_ENDPOINT_URL_IDENTITYSTORE", &fixture.url, "eu-west-1");
        let out = run_bounded(&t, &["--output", "json", "user", "list"]);
        let stderr = text(&out.stderr);
        match expect {
            Expect::Answer => {
                assert!(out.status.success(), "{what}: {stderr}");
                assert_eq!(user_names(&out), ["zed"], "{what}");
                assert_eq!(stderr, "", "{what}");
            }
            Expect::Fails(detail) => {
                assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
                one_line(&stderr, "awsideman: error: identitystore ListUsers: ");
                assert!(stderr.contains(detail), "{what}: {stderr}");
            }
        }
        assert_eq!(fixture.requests().len(), requests, "{what}");
    }
}
