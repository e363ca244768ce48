//! The file cache's directory under attack and on a broken disk, end to end: directories
//! others can write or own, entries planted by another user, links where awsideman owns
//! the name, a directory, a FIFO or a 2 GB sparse file where an entry belongs, and held
//! locks. Each is refused, repaired or survived at once, and no planted answer is printed.
//!
//! Tests that need a file of another owner run as root (it can `chown` to uid 65534) and
//! skip that part, saying so, otherwise.

#![cfg(unix)]

use std::path::PathBuf;
use std::time::Duration;

use awsideman::testing::Envelope;

use crate::common::{TestEnv, mode, requests, text, user_names, warnings};
use crate::local_files::{chmod, give_away, mkfifo, root};

/// Long enough for a loaded machine; a FIFO opened the blocking way would never answer.
const AT_ONCE: Duration = Duration::from_secs(10);

/// A world with an instance and users alice and bob, its user list cached.
fn warm() -> TestEnv {
    let t = TestEnv::new();
    let instance = t.instance();
    t.seed_user(&instance.store, "alice", "Alice", "Liddell");
    t.seed_user(&instance.store, "bob", "Bob", "Builder");
    assert_eq!(
        user_names(&t.run(&["--output", "json", "user", "list"])),
        ["alice", "bob"]
    );
    t
}

fn cache_dir(t: &TestEnv) -> PathBuf {
    t.config_dir().join("cache")
}

/// The file of the cached ListUsers answer.
fn list_entry(t: &TestEnv) -> PathBuf {
    let entries = cache_dir(t).join("entries");
    std::fs::read_dir(&entries)
        .expect("entries")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            std::fs::read(p)
                .ok()
                .and_then(|b| Envelope::decode_header(&b).ok())
                .is_some_and(|h| h.operation == "ListUsers")
        })
        .expect("a cached ListUsers entry")
}

/// `user list` with `--debug`, within [`AT_ONCE`]: the names, whether ListUsers was sent,
/// and stderr.
fn list(t: &TestEnv) -> (Vec<String>, bool, String) {
    let out = t.run_within(AT_ONCE, &["--debug", "--output", "json", "user", "list"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let asked = requests(&stderr).contains(&("identitystore".into(), "ListUsers".into()));
    (user_names(&out), asked, stderr)
}

/// `bytes` (a stored entry) with every "alice" of its payload replaced by "mallory", the
/// length and checksum made right again: what an attacker who can write there would plant.
fn forged(bytes: &[u8]) -> Vec<u8> {
    let envelope = Envelope::decode(bytes).expect("a plaintext entry");
    let payload = String::from_utf8(envelope.payload)
        .expect("JSON")
        .replace("alice", "mallory");
    Envelope::seal(envelope.header, payload.into_bytes()).encode()
}

#[test]
fn an_open_cache_directory_of_ours_is_repaired_once_and_still_serves() {
    let t = warm();
    let dir = cache_dir(&t);
    for d in [&dir, &dir.join("entries")] {
        chmod(d, 0o777);
    }
    let (names, asked, stderr) = list(&t);
    assert_eq!(names, ["alice", "bob"]);
    assert!(!asked, "the repaired cache still answers: {stderr}");
    let notes: Vec<&str> = stderr.lines().filter(|l| l.contains("note:")).collect();
    assert!(!notes.is_empty() && notes.len() <= 2, "{stderr}");
    assert!(
        notes.iter().all(|n| n.contains(&*dir.to_string_lossy())),
        "{stderr}"
    );
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("entries")), 0o700);
    let (_, _, again) = list(&t);
    assert!(!again.contains("note:"), "repaired once: {again}");
}

#[test]
fn a_cache_directory_of_another_user_is_not_used_and_its_entries_never_printed() {
    if !root() {
        return;
    }
    let t = warm();
    let entry = list_entry(&t);
    std::fs::write(&entry, forged(&std::fs::read(&entry).unwrap())).unwrap();
    give_away(&entry);
    give_away(&cache_dir(&t).join("entries"));
    give_away(&cache_dir(&t));
    for _ in 0..2 {
        let (names, asked, stderr) = list(&t);
        assert_eq!(names, ["alice", "bob"], "{stderr}");
        assert!(asked, "answered from AWS: {stderr}");
        let warned = warnings(&stderr);
        assert_eq!(warned.len(), 1, "{stderr}");
        assert!(
            warned[0].contains(&*cache_dir(&t).to_string_lossy()),
            "{stderr}"
        );
    }
}

#[test]
fn an_entry_others_could_have_written_is_never_printed() {
    let t = warm();
    // Ours but writable by others: a valid checksum proves nothing, the entry is refused.
    let entry = list_entry(&t);
    std::fs::write(&entry, forged(&std::fs::read(&entry).unwrap())).unwrap();
    chmod(&entry, 0o666);
    let (names, asked, stderr) = list(&t);
    assert_eq!(names, ["alice", "bob"], "{stderr}");
    assert!(asked, "{stderr}");
    if !root() {
        return;
    }
    // Another user's file, as if planted while the directory was open.
    let entry = list_entry(&t);
    std::fs::write(&entry, forged(&std::fs::read(&entry).unwrap())).unwrap();
    give_away(&entry);
    let (names, asked, stderr) = list(&t);
    assert_eq!(names, ["alice", "bob"], "{stderr}");
    assert!(asked, "{stderr}");
}

#[test]
fn links_where_awsideman_owns_the_name_are_never_followed() {
    let t = warm();
    let target = t.home.join("precious.txt");
    std::fs::write(&target, "do not touch\n").unwrap();
    chmod(&target, 0o600);
    let before = std::fs::metadata(&target).unwrap().modified().unwrap();
    let dir = cache_dir(&t);
    // An entry that is a link to a copy of the real entry, and links at the stats file,
    // its lock, every generation file and predictable temporary names.
    let entry = list_entry(&t);
    let copy = t.home.join("entry-copy");
    std::fs::copy(&entry, &copy).unwrap();
    std::fs::remove_file(&entry).unwrap();
    std::os::unix::fs::symlink(&copy, &entry).unwrap();
    let mut links = vec![
        dir.join("stats.json"),
        dir.join(".stats.lock"),
        dir.join(".lock"),
    ];
    for pid in 1..64 {
        links.push(dir.join(format!(".stats-{pid}")));
    }
    for generation in std::fs::read_dir(dir.join("gens")).unwrap().flatten() {
        links.push(generation.path());
    }
    for link in &links {
        let _ = std::fs::remove_file(link);
        std::os::unix::fs::symlink(&target, link).unwrap();
    }
    // A read (the entry link is a miss, the answer is fetched and stored), a write (every
    // generation moves), a clear.
    let (names, asked, stderr) = list(&t);
    assert_eq!(names, ["alice", "bob"]);
    assert!(asked, "a linked entry is not read: {stderr}");
    t.create_user("carol");
    let (names, _, _) = list(&t);
    assert_eq!(names, ["alice", "bob", "carol"]);
    t.ok(&["cache", "clear", "--yes"]);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "do not touch\n");
    assert_eq!(
        std::fs::metadata(&target).unwrap().modified().unwrap(),
        before
    );
    assert_eq!(mode(&target), 0o600);
    let copied = std::fs::metadata(&copy).unwrap();
    assert!(copied.len() > 0, "the entry's link target is untouched");
}

#[test]
fn a_directory_at_an_entry_path_stops_neither_a_write_nor_a_clear() {
    let t = warm();
    let entry = list_entry(&t);
    std::fs::remove_file(&entry).unwrap();
    std::fs::create_dir_all(entry.join("inside")).unwrap();
    std::fs::write(entry.join("inside/file"), "x").unwrap();
    t.create_user("carol");
    let (names, _, stderr) = list(&t);
    assert_eq!(names, ["alice", "bob", "carol"], "{stderr}");
    let (names, asked, stderr) = list(&t);
    assert_eq!(names, ["alice", "bob", "carol"], "{stderr}");
    assert!(!asked, "cached again once the directory is gone: {stderr}");
    std::fs::create_dir_all(list_entry(&t).with_extension("d").join("x")).unwrap();
    let out = t.run(&["cache", "clear", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn a_fifo_where_an_entry_belongs_is_answered_at_once() {
    let t = warm();
    let entry = list_entry(&t);
    std::fs::remove_file(&entry).unwrap();
    mkfifo(&entry);
    let (names, asked, stderr) = list(&t);
    assert_eq!(names, ["alice", "bob"]);
    assert!(asked, "{stderr}");
    let (names, asked, _) = list(&t);
    assert_eq!(names, ["alice", "bob"]);
    assert!(!asked, "the FIFO was replaced by the answer");
}

#[test]
fn a_2_gb_sparse_entry_is_damage_read_in_bounded_memory() {
    let t = warm();
    let entry = list_entry(&t);
    let header = {
        let bytes = std::fs::read(&entry).unwrap();
        let end = bytes.iter().position(|&b| b == b'\n').unwrap();
        bytes[..=end].to_vec()
    };
    // The real header (which states the payload's length), then 2 GB of holes.
    std::fs::write(&entry, &header).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&entry)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    // Under a 100 MB address-space limit: reading the file whole would abort the process.
    let out = t.run_in_100_mb(&["--output", "json", "user", "list"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(user_names(&out), ["alice", "bob"]);
    let size = std::fs::metadata(list_entry(&t)).unwrap().len();
    assert!(
        size < 1 << 20,
        "the damaged entry was replaced ({size} bytes)"
    );
}

#[test]
fn a_held_stats_lock_delays_neither_a_hit_nor_a_miss() {
    let mut t = warm();
    t.set_var("AWSIDEMAN_CACHE_LOCK_TIMEOUT_MS", "300");
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(cache_dir(&t).join(".stats.lock"))
        .unwrap();
    lock.lock().unwrap();
    // A hit takes no lock at all.
    let (names, asked, stderr) = list(&t);
    assert_eq!(names, ["alice", "bob"]);
    assert!(!asked, "{stderr}");
    // A miss stores its answer and gives up on the counters after the lock timeout.
    t.ok(&["cache", "clear", "--yes"]);
    let (names, asked, stderr) = list(&t);
    assert_eq!(names, ["alice", "bob"]);
    assert!(asked, "{stderr}");
    let (_, asked, stderr) = list(&t);
    assert!(!asked, "stored despite the held lock: {stderr}");
    drop(lock);
}
