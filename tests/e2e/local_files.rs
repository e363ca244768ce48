//! Hostile local files, end to end: what another user of the machine can plant (links,
//! FIFOs, directories others can write or own, a config file of theirs) and what a broken
//! disk leaves (a huge sparse file, a full disk under the audit log). Each is refused,
//! repaired or survived at once, with the path and the fix said.
//!
//! Tests that need a file of another owner run as root (it can `chown` to uid 65534) and
//! skip, saying so, otherwise.

#![cfg(unix)]

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use serde_json::Value;

use crate::common::{TestEnv, mode, text};

/// Long enough for a loaded machine; a FIFO opened the blocking way would never answer.
const AT_ONCE: Duration = Duration::from_secs(10);

pub(crate) fn mkfifo(path: &Path) {
    let name = CString::new(path.as_os_str().as_bytes()).expect("path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0, "mkfifo");
}

pub(crate) fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Whether the tests run as root, who can make files of another owner.
pub(crate) fn root() -> bool {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    eprintln!("note: not root, so files of another owner cannot be made; check skipped");
    false
}

/// Gives `path` to uid 65534 (nobody), without following a link.
pub(crate) fn give_away(path: &Path) {
    std::os::unix::fs::lchown(path, Some(65534), Some(65534)).expect("chown");
}

fn assert_exit(out: &Output, code: i32) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    stderr
}

// ---- the config file and directory ----

#[test]
fn a_fifo_directory_or_huge_file_as_config_is_refused_at_once() {
    let t = TestEnv::new();
    let dir = t.config_dir();
    std::fs::create_dir_all(&dir).expect("mkdir");
    chmod(&dir, 0o700);
    let path = dir.join("config.yaml");
    mkfifo(&path);
    let stderr = assert_exit(&t.run_within(AT_ONCE, &["user", "list"]), 2);
    assert!(
        stderr.contains(&path.display().to_string()) && stderr.contains("FIFO"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    std::fs::remove_file(&path).expect("rm");

    std::fs::create_dir(&path).expect("mkdir");
    let stderr = assert_exit(&t.run_within(AT_ONCE, &["config", "show"]), 2);
    assert!(stderr.contains("not a regular file"), "{stderr}");
    std::fs::remove_dir(&path).expect("rmdir");

    // 2 GB, sparse: judged from its size, nothing read.
    let file = std::fs::File::create(&path).expect("create");
    file.set_len(2 << 30).expect("grow");
    chmod(&path, 0o600);
    let stderr = assert_exit(&t.run_within(AT_ONCE, &["config", "show"]), 2);
    assert!(stderr.contains("2147483648 bytes"), "{stderr}");
}

#[test]
fn a_config_link_to_another_users_file_is_refused() {
    if !root() {
        return;
    }
    let t = TestEnv::new();
    // Their file says which AWS profile and KMS key to use.
    let theirs = t.home.join("theirs.yaml");
    std::fs::write(
        &theirs,
        "default_profile: evil\ncache: {encryption_kms_key_id: alias/theirs}\n",
    )
    .expect("write");
    chmod(&theirs, 0o644);
    give_away(&theirs);
    let dir = t.config_dir();
    std::fs::create_dir_all(&dir).expect("mkdir");
    chmod(&dir, 0o700);
    std::os::unix::fs::symlink(&theirs, dir.join("config.yaml")).expect("symlink");
    let stderr = assert_exit(&t.run(&["config", "show"]), 2);
    assert!(
        stderr.contains("owned by uid 65534")
            && stderr.contains(&dir.join("config.yaml").display().to_string())
            && stderr.contains(&format!("a link to {}", theirs.display())),
        "{stderr}"
    );
    // A link to a file of ours (kept with dotfiles) is fine.
    let ours = t.home.join("dotfiles.yaml");
    std::fs::write(&ours, "default_profile: mine\n").expect("write");
    chmod(&ours, 0o600);
    std::fs::remove_file(dir.join("config.yaml")).expect("rm");
    std::os::unix::fs::symlink(&ours, dir.join("config.yaml")).expect("symlink");
    let shown = t.json(&["config", "show"]);
    assert_eq!(shown["default_profile"], "mine");
}

#[test]
fn a_config_directory_open_to_all_is_repaired_once_and_a_foreign_one_refused() {
    let t = TestEnv::new();
    t.write(".awsideman/config.yaml", "default_profile: dev\n");
    let dir = t.config_dir();
    chmod(&dir, 0o777);
    let out = t.run(&["--output", "json", "config", "show"]);
    let stderr = assert_exit(&out, 0);
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(stderr.matches("note:").count(), 1, "{stderr}");
    assert!(
        stderr.contains(&dir.display().to_string()) && stderr.contains("0777"),
        "{stderr}"
    );
    let out = t.run(&["--output", "json", "config", "show"]);
    assert_eq!(assert_exit(&out, 0), "", "repaired once");

    if !root() {
        return;
    }
    give_away(&dir);
    let stderr = assert_exit(&t.run(&["config", "show"]), 2);
    assert!(
        stderr.contains(&dir.display().to_string())
            && stderr.contains("owned by uid 65534")
            && stderr.contains("chown -R"),
        "{stderr}"
    );
}

// ---- the key file ----

#[test]
fn a_fifo_as_the_key_file_is_answered_at_once() {
    let mut t = TestEnv::new();
    t.instance();
    let key_file = t.home.join("keys/cache.key");
    std::fs::create_dir_all(key_file.parent().expect("parent")).expect("mkdir");
    mkfifo(&key_file);
    t.set_var("AWSIDEMAN_CACHE_ENCRYPTION", "true");
    t.set_var("AWSIDEMAN_CACHE_KEY_SOURCE", "file");
    t.set_var("AWSIDEMAN_CACHE_KEY_FILE", key_file.display().to_string());
    // A read warns and answers from AWS, without the cache.
    let out = t.run_within(AT_ONCE, &["--output", "json", "user", "list"]);
    let stderr = assert_exit(&out, 0);
    assert!(
        stderr.contains(&key_file.display().to_string()) && stderr.contains("FIFO"),
        "{stderr}"
    );
    let users: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(users["Users"].is_array(), "{users}");
    // The encryption commands say the same, at once.
    let out = t.run_within(AT_ONCE, &["cache", "encryption", "status"]);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(said.contains("FIFO"), "{said}");
}

// ---- the audit log ----

fn audit_log(t: &TestEnv) -> PathBuf {
    t.config_dir().join("audit.log")
}

/// Every line of the log parsed as a JSON object (panics on any other line).
fn audit_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("read the log")
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line)
                .ok()
                .filter(Value::is_object)
                .unwrap_or_else(|| panic!("not a whole record: {line:?}"))
        })
        .collect()
}

/// A world whose audit log already holds one record.
fn audit_world() -> TestEnv {
    let t = TestEnv::new();
    t.json(&["cache", "clear", "--yes"]);
    assert_eq!(audit_lines(&audit_log(&t)).len(), 1);
    t
}

#[test]
fn a_write_cut_short_leaves_the_audit_log_whole() {
    use std::os::unix::process::CommandExt;
    let t = audit_world();
    let log = audit_log(&t);
    let before = std::fs::metadata(&log).expect("stat").len();
    // The kernel refuses to let any file of this process grow past `limit`: the record's
    // first bytes are written, the rest fails, exactly as on a disk that fills mid-record.
    let limit = before + 20;
    let mut command = t.command(&["--output", "json", "cache", "clear", "--yes"]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let cap = libc::rlimit {
                rlim_cur: limit as libc::rlim_t,
                rlim_max: limit as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &cap) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = t.run_command_within(command, AT_ONCE, &["cache", "clear"]);
    let stderr = assert_exit(&out, 0);
    assert!(
        stderr.contains("audit log") && stderr.contains("cache_cleared event not recorded"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::metadata(&log).expect("stat").len(),
        before,
        "the part written was cut back"
    );
    // The next record is whole, and every record reads back.
    t.json(&["cache", "clear", "--yes"]);
    assert_eq!(audit_lines(&log).len(), 2);
    let shown = t.json(&["audit", "show"]);
    assert_eq!(shown["records"].as_array().expect("records").len(), 2);
    assert_eq!(shown["skipped"], 0);
}

/// A small tmpfs mounted for one test, unmounted when dropped.
struct SmallDisk(PathBuf);

impl SmallDisk {
    /// A tmpfs of `kib` KiB under `home`, or `None` where mounting is not allowed.
    fn mount(home: &Path, kib: u64) -> Option<SmallDisk> {
        let at = home.join("small-disk");
        std::fs::create_dir_all(&at).expect("mkdir");
        let mounted = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={kib}k,mode=0700"),
                "tmpfs",
            ])
            .arg(&at)
            .output()
            .is_ok_and(|out| out.status.success());
        if !mounted {
            eprintln!("note: cannot mount a tmpfs here (needs root); real full-disk check skipped");
            return None;
        }
        Some(SmallDisk(at))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_during_an_audit_event_leaves_every_complete_record() {
    let mut t = TestEnv::new();
    let Some(disk) = SmallDisk::mount(&t.home, 64) else {
        return;
    };
    let log = disk.0.join("audit.log");
    t.set_var("AWSIDEMAN_AUDIT_LOG", log.display().to_string());
    t.json(&["cache", "clear", "--yes"]);
    let record = std::fs::metadata(&log).expect("stat").len();
    // Pad the log with one more whole line (a JSON object, so a record to a reader) that
    // leaves room in its last page for only a quarter of the next record; then fill every
    // other page of the disk.
    let room = record / 4;
    let pad = (4096 - room - record) as usize;
    let mut line = format!("{{\"pad\":\"{}\"}}\n", "x".repeat(pad - 11));
    assert_eq!(line.len(), pad);
    line.insert_str(0, &std::fs::read_to_string(&log).expect("read"));
    std::fs::write(&log, &line).expect("pad");
    assert_eq!(4096 - std::fs::metadata(&log).expect("stat").len(), room);
    let filler = disk.0.join("filler");
    let mut fill = std::fs::File::create(&filler).expect("filler");
    let block = vec![0u8; 4096];
    while std::io::Write::write_all(&mut fill, &block).is_ok() {}
    drop(fill);
    let whole = audit_lines(&log).len();

    let out = t.run_within(AT_ONCE, &["--output", "json", "cache", "clear", "--yes"]);
    let stderr = assert_exit(&out, 0);
    assert!(stderr.contains("event not recorded"), "{stderr}");
    assert_eq!(audit_lines(&log).len(), whole, "no half record left");

    // Space again: the next record is whole and nothing before it is lost.
    std::fs::remove_file(&filler).expect("rm");
    t.json(&["cache", "clear", "--yes"]);
    assert_eq!(audit_lines(&log).len(), whole + 1);
    let shown = t.json(&["audit", "show"]);
    assert_eq!(
        shown["records"].as_array().expect("records").len(),
        whole + 1
    );
    assert_eq!(shown["skipped"], 0);
}

#[test]
fn a_half_record_from_an_older_writer_does_not_swallow_the_next() {
    let t = audit_world();
    let log = audit_log(&t);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .expect("open");
    std::io::Write::write_all(&mut file, br#"{"time":"2026-01-01T00:00:00Z","use"#).expect("w");
    drop(file);
    t.json(&["cache", "clear", "--yes"]);
    let out = t.run(&["--output", "json", "audit", "show"]);
    let stderr = assert_exit(&out, 0);
    let shown: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(shown["records"].as_array().expect("records").len(), 2);
    assert_eq!(shown["skipped"], 1);
    assert!(stderr.contains("skipped 1 line"), "{stderr}");
}

#[test]
fn a_planted_audit_log_link_is_not_written_through() {
    let t = TestEnv::new();
    let victim = t.home.join("victim");
    std::fs::write(&victim, "precious\n").expect("write");
    let before = std::fs::metadata(&victim)
        .expect("stat")
        .modified()
        .expect("mtime");
    let dir = t.config_dir();
    std::fs::create_dir_all(&dir).expect("mkdir");
    chmod(&dir, 0o700);
    std::os::unix::fs::symlink(&victim, audit_log(&t)).expect("symlink");
    let out = t.run(&["--output", "json", "cache", "clear", "--yes"]);
    let stderr = assert_exit(&out, 0);
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&victim).expect("read"),
        "precious\n"
    );
    assert_eq!(
        std::fs::metadata(&victim)
            .expect("stat")
            .modified()
            .expect("mtime"),
        before
    );
}

#[test]
fn a_held_audit_log_lock_costs_the_record_not_the_command() {
    let mut t = audit_world();
    let log = audit_log(&t);
    let mut holder = match std::process::Command::new("flock")
        .args(["--exclusive", "--close"])
        .arg(&log)
        .args(["sleep", "60"])
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            eprintln!("note: flock(1) not available ({e}); check skipped");
            return;
        }
    };
    // Wait until flock(1) holds it.
    let probe = std::fs::File::open(&log).expect("open");
    while probe.try_lock_shared().is_ok() {
        probe.unlock().expect("unlock");
        std::thread::sleep(Duration::from_millis(10));
    }
    t.set_var("AWSIDEMAN_CACHE_LOCK_TIMEOUT_MS", "200");
    let out = t.run_within(AT_ONCE, &["--output", "json", "cache", "clear", "--yes"]);
    let _ = holder.kill();
    let _ = holder.wait();
    let stderr = assert_exit(&out, 0);
    assert!(
        stderr.contains("event not recorded")
            && stderr.contains(&format!("locked by process {}", holder.id()))
            && stderr.contains("cache.lock_timeout_ms"),
        "{stderr}"
    );
    assert_eq!(audit_lines(&log).len(), 1);
}

// ---- the credentials cache ----

#[test]
fn a_credentials_cache_of_another_user_is_not_used() {
    let t = TestEnv::new();
    t.instance();
    t.json(&["user", "list", "--no-cache"]);
    let dir = t.config_dir().join("credentials-cache");
    assert_eq!(mode(&dir), 0o700, "written by the first run");
    chmod(&dir, 0o777);
    let out = t.run(&["--output", "json", "--no-cache", "user", "list"]);
    let stderr = assert_exit(&out, 0);
    assert!(
        stderr.contains("note:") && stderr.contains("0777"),
        "{stderr}"
    );
    assert_eq!(mode(&dir), 0o700);
    if !root() {
        return;
    }
    give_away(&dir);
    let out = t.run(&["--output", "json", "--no-cache", "user", "list"]);
    let stderr = assert_exit(&out, 0);
    assert!(
        stderr.contains("cached credentials not used") && stderr.contains("uid 65534"),
        "{stderr}"
    );
}
