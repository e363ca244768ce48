//! The primitives against what another user of the machine, or a broken disk, can leave:
//! links, FIFOs, foreign owners, open modes, huge sparse files, held locks, half lines.

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::refusal::FileKind;
use super::*;

/// A fresh directory under the system temporary directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let mut noise = [0u8; 6];
        getrandom::getrandom(&mut noise).unwrap();
        let hex: String = noise.iter().map(|b| format!("{b:02x}")).collect();
        let dir = std::env::temp_dir().join(format!("awsideman-fsutil-{name}-{hex}"));
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        Scratch(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn mkfifo(path: &Path) {
    let name = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
}

/// Whether this test runs as root (it can then make files owned by someone else).
fn root() -> bool {
    if effective_uid() == 0 {
        return true;
    }
    eprintln!("note: not root, so files of another owner cannot be made; check skipped");
    false
}

/// Gives `path` to uid 65534 (nobody), without following a link.
fn give_away(path: &Path) {
    std::os::unix::fs::lchown(path, Some(65534), Some(65534)).unwrap();
}

fn no_notes() -> impl FnMut(String) {
    |note: String| panic!("unexpected note: {note}")
}

#[test]
fn atomic_private_write() {
    let dir = Scratch::new("atomic");
    let target = dir.join("sub/file");
    write_private_atomically(&target, b"one").unwrap();
    write_private_atomically(&target, b"two").unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"two");
    assert_eq!(mode(&target), 0o600);
    assert_eq!(mode(&dir.join("sub")), 0o700);
    assert_eq!(
        fs::read_dir(dir.join("sub")).unwrap().count(),
        1,
        "no temporary file left"
    );
}

#[test]
fn an_atomic_write_replaces_a_planted_link_and_leaves_its_target_alone() {
    let dir = Scratch::new("atomic-link");
    let victim = dir.join("victim");
    fs::write(&victim, b"precious").unwrap();
    let planted = dir.join("state.json");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    write_private_atomically(&planted, b"new").unwrap();
    assert_eq!(fs::read(&victim).unwrap(), b"precious");
    assert!(fs::symlink_metadata(&planted).unwrap().is_file());
    assert_eq!(fs::read(&planted).unwrap(), b"new");
}

#[test]
fn temporary_files_are_new_private_and_randomly_named() {
    let dir = Scratch::new("temp");
    let a = write_private_temp_with(&dir.0, b"a", Durability::Unsynced).unwrap();
    let b = write_private_temp_with(&dir.0, b"b", Durability::Unsynced).unwrap();
    assert_ne!(a, b);
    assert_eq!(mode(&a), 0o600);
    let name = a.file_name().unwrap().to_string_lossy().into_owned();
    let random = name.rsplit('-').next().unwrap();
    assert_eq!(random.len(), 16, "{name}");
}

#[test]
fn a_missing_private_dir_is_created_0700_down_from_the_top() {
    let scratch = Scratch::new("dir-create");
    let top = scratch.join("top");
    let dir = top.join("cache/entries");
    let mut notes = Vec::new();
    assert!(!check_private_dir(&top, &dir, &mut |n| notes.push(n)).unwrap());
    assert!(!top.exists(), "a check creates nothing");
    ensure_private_dir(&top, &dir, &mut |n| notes.push(n)).unwrap();
    for path in [&top, &top.join("cache"), &dir] {
        assert_eq!(mode(path), 0o700, "{}", path.display());
    }
    assert!(notes.is_empty(), "{notes:?}");
    assert!(check_private_dir(&top, &dir, &mut no_notes()).unwrap());
}

#[test]
fn a_dir_of_ours_open_to_everyone_is_repaired_with_one_note() {
    let scratch = Scratch::new("dir-0777");
    let top = scratch.join("top");
    let dir = top.join("cache");
    fs::create_dir_all(&dir).unwrap();
    chmod(&top, 0o777);
    chmod(&dir, 0o775);
    let mut notes = Vec::new();
    ensure_private_dir(&top, &dir, &mut |n| notes.push(n)).unwrap();
    assert_eq!((mode(&top), mode(&dir)), (0o700, 0o700));
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].contains(&top.display().to_string()), "{notes:?}");
    assert!(
        notes[0].contains("0777") && notes[0].contains("0700"),
        "{notes:?}"
    );
    // Verifying changes nothing: too open is refused.
    chmod(&dir, 0o777);
    let e = verify_private_dir(&top, &dir).unwrap_err();
    assert_eq!(
        e.problem,
        Problem::Writable {
            mode: 0o777,
            directory: true
        }
    );
    assert!(e.to_string().contains("chmod 700"), "{e}");
    assert_eq!(mode(&dir), 0o777);
    ensure_private_dir(&top, &dir, &mut |_| {}).unwrap();
    // A sticky directory others can write is shared (like /tmp): refused, never changed.
    chmod(&dir, 0o1777);
    let e = ensure_private_dir(&top, &dir, &mut no_notes()).unwrap_err();
    assert!(e.to_string().contains("shared directory"), "{e}");
    assert_eq!(
        fs::metadata(&dir).unwrap().permissions().mode() & 0o7777,
        0o1777
    );
    chmod(&dir, 0o700);
    // Readable by others is not a danger to what awsideman reads: left alone.
    chmod(&dir, 0o755);
    ensure_private_dir(&top, &dir, &mut no_notes()).unwrap();
    assert_eq!(mode(&dir), 0o755);
}

#[test]
fn a_link_below_the_top_is_refused_and_the_top_may_be_one() {
    let scratch = Scratch::new("dir-link");
    let real = scratch.join("real");
    fs::create_dir(&real).unwrap();
    chmod(&real, 0o700);
    let top = scratch.join("top");
    std::os::unix::fs::symlink(&real, &top).unwrap();
    // A relocated config directory: the link is followed, its target checked.
    ensure_private_dir(&top, &top.join("cache"), &mut no_notes()).unwrap();
    assert!(real.join("cache").is_dir());
    // A link planted inside is refused, and nothing is created through it.
    let elsewhere = scratch.join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, real.join("hybrid")).unwrap();
    let e = ensure_private_dir(&top, &top.join("hybrid/entries"), &mut no_notes()).unwrap_err();
    assert_eq!(e.problem, Problem::Symlink);
    assert_eq!(e.path, top.join("hybrid"));
    assert!(!elsewhere.join("entries").exists());
    assert!(e.to_string().contains("remove it"), "{e}");
    // The target of a top link is checked like the directory itself.
    chmod(&real, 0o777);
    let mut notes = Vec::new();
    ensure_private_dir(&top, &top, &mut |n| notes.push(n)).unwrap();
    assert_eq!(mode(&real), 0o700);
    assert_eq!(notes.len(), 1);
}

#[test]
fn a_file_where_a_dir_belongs_is_refused() {
    let scratch = Scratch::new("dir-file");
    let top = scratch.join("top");
    fs::create_dir(&top).unwrap();
    fs::write(top.join("cache"), b"x").unwrap();
    let e = ensure_private_dir(&top, &top.join("cache"), &mut no_notes()).unwrap_err();
    assert_eq!(e.problem, Problem::NotDirectory(FileKind::File));
    mkfifo(&top.join("fifo"));
    let e = check_private_dir(&top, &top.join("fifo"), &mut no_notes()).unwrap_err();
    assert_eq!(e.problem, Problem::NotDirectory(FileKind::Fifo));
}

#[test]
fn a_dir_of_another_user_is_refused_with_the_fix() {
    if !root() {
        return;
    }
    let scratch = Scratch::new("dir-foreign");
    let top = scratch.join("top");
    let dir = top.join("cache");
    fs::create_dir_all(&dir).unwrap();
    give_away(&dir);
    chmod(&dir, 0o777);
    let e = ensure_private_dir(&top, &dir, &mut no_notes()).unwrap_err();
    assert_eq!(
        e.problem,
        Problem::Owner {
            uid: 65534,
            me: 0,
            directory: true
        }
    );
    let message = e.to_string();
    assert!(message.contains("chown -R 0 "), "{message}");
    assert_eq!(mode(&dir), 0o777, "another user's directory is not changed");
    // The top one too.
    give_away(&top);
    let e = check_private_dir(&top, &top, &mut no_notes()).unwrap_err();
    assert_eq!(e.path, top);
}

#[test]
fn private_files_are_read_whole_and_bounded() {
    let dir = Scratch::new("read");
    let path = dir.join("f");
    assert_eq!(read_private_file(&path, Links::Refuse, 10).unwrap(), None);
    fs::write(&path, b"hello").unwrap();
    chmod(&path, 0o600);
    assert_eq!(
        read_private_file(&path, Links::Refuse, 10)
            .unwrap()
            .as_deref(),
        Some(&b"hello"[..])
    );
    let e = read_private_file(&path, Links::Refuse, 4).unwrap_err();
    assert_eq!(e.problem, Problem::TooLarge { len: 5, ceiling: 4 });
    // Readable by others is the caller's business; writable by others is refused.
    chmod(&path, 0o644);
    assert!(read_private_file(&path, Links::Refuse, 10).is_ok());
    chmod(&path, 0o620);
    let e = read_private_file(&path, Links::Refuse, 10).unwrap_err();
    assert_eq!(
        e.problem,
        Problem::Writable {
            mode: 0o620,
            directory: false
        }
    );
    assert!(e.to_string().contains("chmod 600"), "{e}");
}

#[test]
fn a_header_line_then_the_rest() {
    let dir = Scratch::new("read-header");
    let path = dir.join("entry");
    fs::write(&path, b"{\"len\":5}\nhello").unwrap();
    let mut file = open_private_file(&path, Links::Refuse, 1024)
        .unwrap()
        .unwrap();
    assert_eq!(file.len(), 15);
    let mut bytes = file.read_line(64).unwrap();
    assert_eq!(bytes, b"{\"len\":5}\n");
    assert!(!file.at_end().unwrap());
    bytes.extend(file.read_rest().unwrap());
    assert_eq!(bytes, b"{\"len\":5}\nhello");
    assert!(file.at_end().unwrap());
    assert_eq!(file.consumed(), 15);

    // No line end within the limit: damage, and no more than the limit is read.
    fs::write(&path, vec![b'x'; 4096]).unwrap();
    let mut file = open_private_file(&path, Links::Refuse, 1 << 20)
        .unwrap()
        .unwrap();
    let e = file.read_line(100).unwrap_err();
    assert!(matches!(e.problem, Problem::Damaged(_)), "{e:?}");
    assert_eq!(file.consumed(), 100);
}

#[test]
fn the_tail_of_a_long_file() {
    let dir = Scratch::new("read-tail");
    let path = dir.join("log");
    fs::write(&path, b"0123456789").unwrap();
    let mut file = open_private_file(&path, Links::Refuse, u64::MAX)
        .unwrap()
        .unwrap();
    assert_eq!(file.read_tail(4).unwrap(), (b"6789".to_vec(), 6));
    let mut file = open_private_file(&path, Links::Refuse, u64::MAX)
        .unwrap()
        .unwrap();
    assert_eq!(file.read_tail(40).unwrap(), (b"0123456789".to_vec(), 0));
}

#[test]
fn a_huge_sparse_file_is_refused_from_its_size() {
    let dir = Scratch::new("read-sparse");
    let path = dir.join("entry");
    let file = fs::File::create(&path).unwrap();
    file.set_len(2 << 30).unwrap();
    let e = open_private_file(&path, Links::Refuse, 64 << 20).unwrap_err();
    assert_eq!(
        e.problem,
        Problem::TooLarge {
            len: 2 << 30,
            ceiling: 64 << 20
        }
    );
}

#[test]
fn links_are_refused_or_followed_to_a_checked_file() {
    let dir = Scratch::new("read-link");
    let target = dir.join("target");
    fs::write(&target, b"mine").unwrap();
    chmod(&target, 0o600);
    let link = dir.join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let e = read_private_file(&link, Links::Refuse, 100).unwrap_err();
    assert_eq!(e.problem, Problem::Symlink);
    assert_eq!(
        read_private_file(&link, Links::Follow, 100)
            .unwrap()
            .as_deref(),
        Some(&b"mine"[..])
    );
    // Followed to something that is not a file: refused all the same.
    let device = dir.join("zero");
    std::os::unix::fs::symlink("/dev/zero", &device).unwrap();
    let e = read_private_file(&device, Links::Follow, 100).unwrap_err();
    assert_eq!(e.problem, Problem::NotFile(FileKind::CharDevice));
}

#[test]
fn a_fifo_or_a_directory_is_refused_at_once() {
    let dir = Scratch::new("read-fifo");
    let fifo = dir.join("fifo");
    mkfifo(&fifo);
    // Without a writer, a blocking open would wait forever.
    for links in [Links::Refuse, Links::Follow] {
        let e = read_private_file(&fifo, links, 100).unwrap_err();
        assert_eq!(e.problem, Problem::NotFile(FileKind::Fifo));
        assert!(e.to_string().contains("FIFO"), "{e}");
    }
    let e = read_private_file(&dir.0, Links::Refuse, 100).unwrap_err();
    assert_eq!(e.problem, Problem::NotFile(FileKind::Directory));
}

#[test]
fn a_file_of_another_user_is_refused() {
    if !root() {
        return;
    }
    let dir = Scratch::new("read-foreign");
    let path = dir.join("f");
    fs::write(&path, b"theirs").unwrap();
    give_away(&path);
    let e = read_private_file(&path, Links::Follow, 100).unwrap_err();
    assert!(matches!(e.problem, Problem::Owner { uid: 65534, .. }));
    assert!(e.is_untrusted());
    // Through a link of ours, too.
    let link = dir.join("link");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    let e = read_private_file(&link, Links::Follow, 100).unwrap_err();
    assert!(matches!(e.problem, Problem::Owner { uid: 65534, .. }));
}

#[test]
fn an_exclusive_lock_times_out_naming_its_holder() {
    let dir = Scratch::new("lock");
    let path = dir.join(".lock");
    let held = lock_file(&path, LockKind::Exclusive, Duration::ZERO).unwrap();
    assert_eq!(mode(&path), 0o600);
    let pid = std::process::id();
    assert_eq!(
        fs::read_to_string(&path).unwrap().trim(),
        pid.to_string(),
        "the holder writes its pid"
    );
    for kind in [LockKind::Exclusive, LockKind::Shared] {
        let e = lock_file(&path, kind, Duration::from_millis(50)).unwrap_err();
        match &e.problem {
            Problem::Locked { waited, holder } => {
                assert!(*waited >= Duration::from_millis(50));
                assert_eq!(*holder, Some(pid));
            }
            other => panic!("{other:?}"),
        }
        let message = e.to_string();
        assert!(message.contains(&format!("process {pid}")), "{message}");
        assert!(message.contains("cache.lock_timeout_ms"), "{message}");
    }
    drop(held);
    assert_eq!(fs::read(&path).unwrap(), b"", "the pid goes with the lock");
    lock_file(&path, LockKind::Exclusive, Duration::ZERO).unwrap();
}

#[test]
fn shared_locks_share_and_keep_an_exclusive_one_out() {
    let dir = Scratch::new("lock-shared");
    let path = dir.join(".stats.lock");
    let a = lock_file(&path, LockKind::Shared, Duration::ZERO).unwrap();
    let b = lock_file(&path, LockKind::Shared, Duration::ZERO).unwrap();
    let e = lock_file(&path, LockKind::Exclusive, Duration::from_millis(20)).unwrap_err();
    assert!(matches!(e.problem, Problem::Locked { .. }), "{e:?}");
    drop((a, b));
    lock_file(&path, LockKind::Exclusive, Duration::ZERO).unwrap();
}

#[test]
fn a_lock_held_by_another_process_names_its_pid() {
    let dir = Scratch::new("lock-process");
    let path = dir.join(".lock");
    fs::write(&path, b"").unwrap();
    chmod(&path, 0o600);
    let mut holder = match std::process::Command::new("flock")
        .args(["--exclusive", "--close"])
        .arg(&path)
        .args(["sleep", "30"])
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            eprintln!("note: flock(1) not available ({e}); check skipped");
            return;
        }
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let e = loop {
        match lock_file(&path, LockKind::Shared, Duration::from_millis(100)) {
            Err(e) => break e,
            // flock(1) has not taken it yet.
            Ok(lock) if std::time::Instant::now() < deadline => drop(lock),
            Ok(_) => panic!("flock(1) never took the lock"),
        }
    };
    let _ = holder.kill();
    let _ = holder.wait();
    match e.problem {
        // flock(1) runs sleep while holding the lock: the lock belongs to flock's pid.
        Problem::Locked {
            holder: Some(pid), ..
        } if cfg!(target_os = "linux") => {
            assert_eq!(pid, holder.id())
        }
        Problem::Locked { .. } => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_lock_file_link_is_never_followed() {
    let dir = Scratch::new("lock-link");
    let victim = dir.join("victim");
    fs::write(&victim, b"precious").unwrap();
    let before = fs::metadata(&victim).unwrap();
    let path = dir.join(".lock");
    std::os::unix::fs::symlink(&victim, &path).unwrap();
    let e = lock_file(&path, LockKind::Exclusive, Duration::ZERO).unwrap_err();
    assert_eq!(e.problem, Problem::Symlink);
    let after = fs::metadata(&victim).unwrap();
    assert_eq!(fs::read(&victim).unwrap(), b"precious");
    assert_eq!(before.modified().unwrap(), after.modified().unwrap());
    // A dangling link is not followed to create its target either.
    let missing = dir.join("created-through-link");
    let dangling = dir.join(".stats.lock");
    std::os::unix::fs::symlink(&missing, &dangling).unwrap();
    assert!(lock_file(&dangling, LockKind::Shared, Duration::ZERO).is_err());
    assert!(!missing.exists());
    // A FIFO is refused at once.
    let fifo = dir.join(".fifo.lock");
    mkfifo(&fifo);
    let e = lock_file(&fifo, LockKind::Exclusive, Duration::ZERO).unwrap_err();
    assert_eq!(e.problem, Problem::NotFile(FileKind::Fifo));
}

#[test]
fn records_are_whole_lines_and_a_broken_last_line_is_ended_first() {
    let dir = Scratch::new("append");
    let log = dir.join("audit.log");
    append_record(&log, b"{\"n\":1}\n", Duration::ZERO).unwrap();
    append_record(&log, b"{\"n\":2}", Duration::ZERO).unwrap();
    assert_eq!(mode(&log), 0o600);
    assert_eq!(fs::read_to_string(&log).unwrap(), "{\"n\":1}\n{\"n\":2}\n");
    // An older writer left half a record.
    let mut file = fs::OpenOptions::new().append(true).open(&log).unwrap();
    std::io::Write::write_all(&mut file, b"{\"time\":\"x\",\"us").unwrap();
    append_record(&log, b"{\"n\":3}\n", Duration::ZERO).unwrap();
    assert_eq!(
        fs::read_to_string(&log).unwrap(),
        "{\"n\":1}\n{\"n\":2}\n{\"time\":\"x\",\"us\n{\"n\":3}\n"
    );
}

#[test]
fn a_log_that_is_a_link_a_fifo_or_held_is_not_written() {
    let dir = Scratch::new("append-refused");
    let victim = dir.join("victim");
    fs::write(&victim, b"precious").unwrap();
    let log = dir.join("audit.log");
    std::os::unix::fs::symlink(&victim, &log).unwrap();
    let e = append_record(&log, b"x\n", Duration::ZERO).unwrap_err();
    assert_eq!(e.problem, Problem::Symlink);
    assert_eq!(fs::read(&victim).unwrap(), b"precious");

    let fifo = dir.join("fifo.log");
    mkfifo(&fifo);
    let e = append_record(&fifo, b"x\n", Duration::ZERO).unwrap_err();
    assert_eq!(e.problem, Problem::NotFile(FileKind::Fifo));

    let held = dir.join("held.log");
    fs::write(&held, b"").unwrap();
    chmod(&held, 0o600);
    let handle = fs::File::open(&held).unwrap();
    handle.lock().unwrap();
    let e = append_record(&held, b"x\n", Duration::from_millis(30)).unwrap_err();
    assert!(matches!(e.problem, Problem::Locked { .. }), "{e:?}");
    assert_eq!(fs::metadata(&held).unwrap().size(), 0);
}
