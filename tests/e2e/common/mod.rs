//! Support for the integration tests: a private HOME and AWS account per test, the built
//! binary run as a user runs it, and a loopback HTTP fixture for answers moto cannot give.
#![allow(dead_code)]

pub mod fixture;
pub mod seed;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use awsideman::testing::Env;
use awsideman::testing::Service;
use awsideman::testing::{ProfileSource, Session, SessionSettings};
use awsideman::testing::{Transport, TransportSettings};
use serde_json::Value;

/// The instance ARN of [`TestEnv::at_fixture`] worlds.
pub const FIXTURE_INSTANCE: &str = "arn:aws:sso:::instance/ssoins-0123456789abcdef";
/// The identity store id of [`TestEnv::at_fixture`] worlds.
pub const FIXTURE_STORE: &str = "d-0123456789";

/// The binary under test: `AWSIDEMAN_TEST_BINARY` (e.g. the static release build, which
/// must pass the same suite), else the debug build cargo made for this test run.
pub fn binary() -> std::path::PathBuf {
    std::env::var_os("AWSIDEMAN_TEST_BINARY")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_BIN_EXE_awsideman")))
}

/// The moto_server this test uses: one of those the test script started
/// (`AWSIDEMAN_TEST_MOTOS`), chosen by the test's name, so every call in a test gives the
/// same server and the tests spread over all of them.
pub fn moto() -> String {
    let first = std::env::var("AWSIDEMAN_TEST_MOTO").unwrap_or_else(|_| {
        panic!("AWSIDEMAN_TEST_MOTO is not set: run the suite with ./tests/run.sh")
    });
    let all = std::env::var("AWSIDEMAN_TEST_MOTOS").unwrap_or_default();
    let servers: Vec<&str> = all.split_whitespace().collect();
    // libtest names each test's thread after the test; a thread a test spawns has no name
    // and gets the first server, so a test calls this from its own thread.
    let name = std::thread::current().name().map(str::to_owned);
    match name {
        Some(name) if !servers.is_empty() => {
            let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            });
            servers[(hash % servers.len() as u64) as usize].to_string()
        }
        _ => first,
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    nanos ^ (u64::from(std::process::id()) << 20) ^ (n << 48) ^ n
}

/// A test's own world: a temporary HOME with AWS files that assume a role in a fresh
/// account on moto, so no two tests see each other's users, groups or organization.
pub struct TestEnv {
    /// The temporary home directory.
    pub home: PathBuf,
    /// The 12-digit account this test's credentials act in.
    pub account: String,
    /// Environment variables passed to the binary.
    pub vars: BTreeMap<String, String>,
    session: OnceLock<Session>,
}

impl TestEnv {
    /// A fresh world on moto: `[default]` assumes a role in a new account.
    pub fn new() -> TestEnv {
        let id = unique();
        let account = format!("{:012}", 100_000_000_000 + id % 800_000_000_000);
        let home = std::env::temp_dir().join(format!("awsideman-test-{id:x}"));
        std::fs::create_dir_all(home.join(".aws")).expect("create test home");
        std::fs::write(
            home.join(".aws/config"),
            format!(
                "[profile base]\nregion = us-east-1\n\n[default]\nrole_arn = \
                 arn:aws:iam::{account}:role/awsideman-test\nsource_profile = base\nregion = us-east-1\n"
            ),
        )
        .expect("write aws config");
        std::fs::write(
            home.join(".aws/credentials"),
            "[base]\naws_access_key_id = AKIDTESTBASE\naws_secret_access_key = testing-secret\n",
        )
        .expect("write aws credentials");
        let mut vars = BTreeMap::new();
        vars.insert("HOME".into(), home.display().to_string());
        vars.insert("PATH".into(), std::env::var("PATH").unwrap_or_default());
        vars.insert("AWS_ENDPOINT_URL".into(), moto());
        vars.insert("AWS_EC2_METADATA_DISABLED".into(), "true".into());
        vars.insert("NO_COLOR".into(), "1".into());
        TestEnv {
            home,
            account,
            vars,
            session: OnceLock::new(),
        }
    }

    /// Another "machine" of the same AWS account: a new HOME with the same AWS profiles (so
    /// the same Identity Center instance and organization) and the same environment.
    pub fn sibling(&self) -> TestEnv {
        let id = unique();
        let home = std::env::temp_dir().join(format!("awsideman-test-{id:x}"));
        std::fs::create_dir_all(home.join(".aws")).expect("create sibling home");
        for file in ["config", "credentials"] {
            let from = self.home.join(".aws").join(file);
            if from.exists() {
                std::fs::copy(&from, home.join(".aws").join(file)).expect("copy aws file");
            }
        }
        let mut vars = self.vars.clone();
        vars.insert("HOME".into(), home.display().to_string());
        TestEnv {
            home,
            account: self.account.clone(),
            vars,
            session: OnceLock::new(),
        }
    }

    /// Sets an environment variable for later runs of the binary.
    pub fn set_var(&mut self, name: &str, value: impl Into<String>) -> &mut TestEnv {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// Removes an environment variable for later runs of the binary.
    pub fn remove_var(&mut self, name: &str) -> &mut TestEnv {
        self.vars.remove(name);
        self
    }

    /// The awsideman configuration directory.
    pub fn config_dir(&self) -> PathBuf {
        self.home.join(".awsideman")
    }

    /// Runs the binary with `args`, stdin closed, in this world.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(binary())
            .args(args)
            .env_clear()
            .envs(&self.vars)
            .current_dir(&self.home)
            .stdin(Stdio::null())
            .output()
            .expect("run awsideman")
    }

    /// Runs the binary with `input` on stdin.
    pub fn run_with_stdin(&self, args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let mut child = Command::new(binary())
            .args(args)
            .env_clear()
            .envs(&self.vars)
            .current_dir(&self.home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn awsideman");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("wait")
    }

    /// Runs the binary like [`TestEnv::run`], but kills it and fails the test if it has not
    /// ended after `limit`: for inputs that would make a careless open or read wait forever.
    pub fn run_within(&self, limit: std::time::Duration, args: &[&str]) -> Output {
        self.run_command_within(self.command(args), limit, args)
    }

    /// The binary with `args` in this world, stdin closed, output captured.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(binary());
        command
            .args(args)
            .env_clear()
            .envs(&self.vars)
            .current_dir(&self.home)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs `command`, killing it (and failing) if it has not ended after `limit`.
    pub fn run_command_within(
        &self,
        mut command: Command,
        limit: std::time::Duration,
        args: &[&str],
    ) -> Output {
        let mut child = command.spawn().expect("spawn awsideman");
        let started = std::time::Instant::now();
        loop {
            if child.try_wait().expect("wait").is_some() {
                return child.wait_with_output().expect("output");
            }
            if started.elapsed() > limit {
                let _ = child.kill();
                let out = child.wait_with_output().expect("output");
                panic!(
                    "awsideman {args:?} still running after {limit:?} (it must answer at once)\n\
                     stderr: {}",
                    text(&out.stderr)
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Starts the binary in the background with no stdin and discarded output (to kill it).
    pub fn spawn_quiet<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> std::process::Child {
        Command::new(binary())
            .args(args)
            .env_clear()
            .envs(&self.vars)
            .current_dir(&self.home)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn awsideman")
    }

    /// Runs the binary, asserts success, and parses its stdout as JSON (`--output json`).
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--output", "json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert_success(&out, args);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "awsideman {args:?}: stdout is not JSON ({e}):\n{}",
                text(&out.stdout)
            )
        })
    }

    /// Runs the binary, asserts success, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_success(&out, args);
        text(&out.stdout)
    }

    /// Runs the binary, asserts it failed with `code`, returns stderr.
    pub fn fails(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "awsideman {args:?}: expected exit {code}\nstdout: {}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stderr)
    }

    /// Calls AWS (moto) directly as this test's account, to seed or inspect data.
    pub fn aws(&self, service: Service, operation: &str, input: Value) -> Value {
        self.session()
            .call(service, operation, &input)
            .unwrap_or_else(|e| panic!("seeding {operation}: {e}"))
    }

    fn session(&self) -> &Session {
        self.session.get_or_init(|| {
            let env = Env::from_pairs(self.vars.clone());
            let transport = Transport::new(TransportSettings::default());
            Session::new(
                SessionSettings {
                    env,
                    aws_profile: "default".into(),
                    profile_source: ProfileSource::Implied,
                    region: Some("us-east-1".into()),
                    credentials_cache_dir: self.home.join("seed-credentials"),
                    interactive: false,
                },
                transport,
            )
        })
    }

    /// A world whose `service_var` endpoint (e.g. `AWS_ENDPOINT_URL_IDENTITYSTORE`) is a
    /// loopback fixture at `url`, with static keys `AKIDFIXTURE`, region `region`, and the
    /// instance [`FIXTURE_INSTANCE`] / store [`FIXTURE_STORE`] set by hand: for answers moto
    /// cannot give.
    pub fn at_fixture(service_var: &str, url: &str, region: &str) -> TestEnv {
        let mut t = TestEnv::new();
        std::fs::remove_dir_all(t.home.join(".aws")).expect("remove ~/.aws");
        t.set_var("AWS_ACCESS_KEY_ID", "AKIDFIXTURE");
        t.set_var("AWS_SECRET_ACCESS_KEY", "s");
        t.set_var("AWS_REGION", region);
        t.set_var(service_var, url);
        t.ok(&["sso", "set", FIXTURE_INSTANCE, FIXTURE_STORE]);
        t
    }

    /// Runs `sso discover` and returns the identity store id it saved.
    pub fn discover(&self) -> String {
        let out = self.json(&["sso", "discover"]);
        out["Instances"][0]["IdentityStoreId"]
            .as_str()
            .expect("identity store id")
            .to_string()
    }

    /// Creates a user directly in moto and returns its id.
    pub fn seed_user(&self, store: &str, name: &str, given: &str, family: &str) -> String {
        let reply = self.aws(
            Service::IdentityStore,
            "CreateUser",
            serde_json::json!({
                "IdentityStoreId": store,
                "UserName": name,
                "DisplayName": format!("{given} {family}"),
                "Name": {"GivenName": given, "FamilyName": family},
                "Emails": [{"Value": format!("{name}@example.com"), "Type": "work", "Primary": true}],
            }),
        );
        reply["UserId"].as_str().expect("user id").to_string()
    }

    /// Writes a file under HOME (0600 under `.awsideman/`) and returns its path.
    pub fn write(&self, relative: &str, contents: &str) -> PathBuf {
        let path = self.home.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent");
        }
        std::fs::write(&path, contents).expect("write file");
        // awsideman warns about a config file others can read: write its files as it does.
        #[cfg(unix)]
        if relative.starts_with(".awsideman/") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .expect("chmod 600");
        }
        path
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

/// The cache key the binary uses for `DescribeUser` of user `u<i>` in profile `default`,
/// region us-east-1: for tests that write many entries through the library.
pub fn user_entry_key(i: usize) -> awsideman::testing::CacheKey {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("test DescribeUser u{i}"));
    awsideman::testing::CacheKey::parse(&hex::encode(digest)).expect("a key")
}

/// The tags of [`user_entry_key`]`(i)`'s entry.
pub fn user_entry_tags(i: usize) -> Vec<String> {
    vec![format!("user:u{i}")]
}

/// `n` entries (`DescribeUser` of `u<i>`, each filed under its own tag) written through the
/// library into `manager`'s cache.
pub fn fill_user_entries(manager: &awsideman::testing::CacheManager, n: usize) {
    for i in 0..n {
        manager.put(
            &crate::common::user_entry_key(i),
            &awsideman::testing::NewEntry {
                service: "identitystore",
                operation: "DescribeUser",
                profile: "default",
                params: &serde_json::json!({"UserId": format!("u{i}")}),
                value: &awsideman::testing::Document::from_value(
                    &serde_json::json!({"UserId": format!("u{i}"), "UserName": format!("user{i}")}),
                )
                .unwrap(),
                ttl: 3600,
                tags: &user_entry_tags(i),
            },
        );
    }
}

/// Stores, through `backend`, an expired plain entry under [`user_entry_key`]`(n)` and bytes
/// that are no entry at all under `user_entry_key(n + 1)`: what migration and cleanup must
/// skip.
pub fn add_expired_and_corrupt(backend: &dyn awsideman::testing::CacheBackend, n: usize) {
    use awsideman::testing::{Envelope, Header, Scheme};
    let now = awsideman::testing::now_secs();
    let expired = Envelope::seal(
        Header {
            v: 0,
            key: user_entry_key(n).to_string(),
            service: "identitystore".into(),
            operation: "DescribeUser".into(),
            profile: "default".into(),
            created_at: now - 100,
            expires_at: now - 1,
            encryption: Scheme::None,
            key_id: None,
            gens: Default::default(),
            len: 0,
            checksum: String::new(),
        },
        br#"{"params":{},"value":{}}"#.to_vec(),
    );
    backend
        .set(&user_entry_key(n), &expired.encode(), now - 1)
        .expect("store the expired entry");
    backend
        .set(&user_entry_key(n + 1), b"\x80\x04 not an entry", 0)
        .expect("store the corrupt entry");
}

/// Lossy UTF-8 of process output.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Panics with stdout and stderr unless the process exited 0.
pub fn assert_success(out: &Output, args: &[&str]) {
    assert!(
        out.status.success(),
        "awsideman {args:?} failed ({:?})\nstdout: {}\nstderr: {}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// The `--debug` request lines of a run: (service, operation).
pub fn requests(stderr: &str) -> Vec<(String, String)> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("awsideman: debug: "))
        .filter(|l| l.contains(" status="))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            Some((words.next()?.to_string(), words.next()?.to_string()))
        })
        .collect()
}

/// Whether `path` has exactly `mode` permission bits.
#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

/// Whether the tests run as root (root writes through read-only modes; tests that need a
/// directory it cannot write run the binary as another user).
pub fn is_root() -> bool {
    awsideman::testing::effective_uid() == 0
}

impl TestEnv {
    /// Runs the binary like [`TestEnv::run_within`] (10 s), under a 100 MB address-space
    /// limit (`ulimit -v`): a command that tried to allocate more would abort instead of
    /// exiting with its own code.
    pub fn run_in_100_mb(&self, args: &[&str]) -> Output {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg("ulimit -v 102400 && exec \"$0\" \"$@\"")
            .arg(binary())
            .args(args)
            .env_clear()
            .envs(&self.vars)
            .current_dir(&self.home)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        self.run_command_within(command, std::time::Duration::from_secs(10), args)
    }

    /// Creates user `name` through awsideman (display name "`name` Test", one email), as a
    /// write that invalidates the cached user lists.
    pub fn create_user(&self, name: &str) {
        self.ok(&[
            "user",
            "create",
            "--username",
            name,
            "--display-name",
            &format!("{name} Test"),
            "--email",
            &format!("{name}@example.com"),
        ]);
    }
}

/// The warning lines of `stderr`.
pub fn warnings(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("awsideman: warning:"))
        .collect()
}

/// The user names of a `user list --output json` answer, sorted.
pub fn user_names(out: &Output) -> Vec<String> {
    let users: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&out.stderr)));
    let mut names: Vec<String> = users["Users"]
        .as_array()
        .expect("Users")
        .iter()
        .map(|u| u["UserName"].as_str().unwrap_or("").to_string())
        .collect();
    names.sort();
    names
}

/// Runs a Python `script` in the test venv (where `tests/run.sh` installs moto, and so
/// botocore; `AWSIDEMAN_TEST_VENV`, else `.venv`) with `lines` on stdin; its stdout lines.
pub fn botocore(script: &str, lines: &[String]) -> Vec<String> {
    use std::io::Write;
    let venv = std::env::var("AWSIDEMAN_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    let python = venv.join("bin/python");
    let mut child = Command::new(&python)
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run the tests with ./tests/run.sh)",
                python.display()
            )
        });
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(lines.join("\n").as_bytes())
        .expect("write to python");
    let out = child.wait_with_output().expect("python");
    assert!(out.status.success(), "botocore could not be read");
    text(&out.stdout).lines().map(str::to_string).collect()
}

/// What a command showed on a terminal: its exit code and everything printed (stdout and
/// stderr interleaved, as the terminal showed them, `\r\n` turned into `\n`).
pub struct OnTerminal {
    /// The exit code.
    pub code: i32,
    /// What the terminal showed.
    pub screen: String,
}

impl TestEnv {
    /// Runs the binary in a pseudo-terminal (util-linux `script`: stdin, stdout and stderr
    /// are a terminal), typing `input`; killed and failed after 20 s. `None` (the caller
    /// skips, saying so) where `script` is missing.
    pub fn run_in_terminal(&self, args: &[&str], input: &str) -> Option<OnTerminal> {
        use std::io::Write;
        let script = ["/usr/bin/script", "/bin/script"]
            .into_iter()
            .find(|p| Path::new(p).exists())?;
        let quote = |word: &str| format!("'{}'", word.replace('\'', "'\\''"));
        let mut line = quote(&binary().to_string_lossy());
        for arg in args {
            line.push(' ');
            line.push_str(&quote(arg));
        }
        let mut command = Command::new(script);
        command
            .args(["-qec", &line, "/dev/null"])
            .env_clear()
            .envs(&self.vars)
            .env("TERM", "dumb")
            .current_dir(&self.home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn script");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input.as_bytes()).expect("type input");
        let started = std::time::Instant::now();
        loop {
            if child.try_wait().expect("wait").is_some() {
                break;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "awsideman {args:?} on a terminal still running after 20 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        drop(stdin);
        let out = child.wait_with_output().expect("output");
        Some(OnTerminal {
            code: out.status.code().unwrap_or(-1),
            screen: text(&out.stdout).replace("\r\n", "\n"),
        })
    }
}

/// The cache entries a `--debug` run read (hits), by operation.
pub fn cache_hits(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.split("cache hit ").nth(1))
        .filter_map(|rest| rest.split_whitespace().nth(1).map(str::to_string))
        .collect()
}
