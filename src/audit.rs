//! The audit log: one JSON line per security-relevant event (keys, encryption, migration,
//! clearing the cache, the DynamoDB table), appended to a private file.
//!
//! A record says who did what, when, where and with which outcome. It must never hold key
//! material or cached data: only key ids, key source names, backend names and counts.
//!
//! Records are whole lines or nothing ([`crate::fsutil::append_record`]): each is one `write`
//! of a complete line to an `O_APPEND` file, under an exclusive lock waited for at most
//! `cache.lock_timeout_ms`, so records of concurrent processes never interleave; a write that
//! fails half-way (a full disk) is cut back to the length before it; a missing newline left
//! by an older writer is added before the next record, and a reader finds a whole record
//! glued to a broken one. The log is never opened through a link, must be a regular file of
//! ours that others cannot write, and its directory is created 0700. Writing the log never
//! fails a command: a record that cannot be written is a warning on stderr.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};

use crate::env::Env;
use crate::error::{Error, Result};
use crate::fsutil::{self, Links};
use crate::rfc3339::{format_rfc3339, parse_rfc3339};

/// What happened: the `event` field of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventKind {
    /// A new cache encryption key was created and saved.
    KeyGenerated,
    /// A key set was imported (`cache encryption import-key`).
    KeyImported,
    /// The key set was printed (`cache encryption export-key`).
    KeyExported,
    /// A rotation added its new key (or resumed).
    RotationStarted,
    /// A rotation re-encrypted the entries and retired the old keys.
    RotationFinished,
    /// Cache encryption was turned on.
    EncryptionEnabled,
    /// Cache encryption was turned off.
    EncryptionDisabled,
    /// Encryption is on but the key source could not give a key.
    KeySourceUnavailable,
    /// `cache migrate` began copying.
    MigrationStarted,
    /// `cache migrate` ended.
    MigrationFinished,
    /// `cache clear` removed entries.
    CacheCleared,
    /// `cache dynamodb create-table` created the table.
    DynamodbTableCreated,
    /// `cache dynamodb repair` ran.
    DynamodbTableRepaired,
    /// `cache dynamodb delete-table` ran.
    DynamodbTableDeleted,
}

impl EventKind {
    /// Every event, in the order they are documented.
    pub(crate) const ALL: [EventKind; 14] = [
        EventKind::KeyGenerated,
        EventKind::KeyImported,
        EventKind::KeyExported,
        EventKind::RotationStarted,
        EventKind::RotationFinished,
        EventKind::EncryptionEnabled,
        EventKind::EncryptionDisabled,
        EventKind::KeySourceUnavailable,
        EventKind::MigrationStarted,
        EventKind::MigrationFinished,
        EventKind::CacheCleared,
        EventKind::DynamodbTableCreated,
        EventKind::DynamodbTableRepaired,
        EventKind::DynamodbTableDeleted,
    ];

    /// The snake_case name written in the log (`key_generated`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            EventKind::KeyGenerated => "key_generated",
            EventKind::KeyImported => "key_imported",
            EventKind::KeyExported => "key_exported",
            EventKind::RotationStarted => "rotation_started",
            EventKind::RotationFinished => "rotation_finished",
            EventKind::EncryptionEnabled => "encryption_enabled",
            EventKind::EncryptionDisabled => "encryption_disabled",
            EventKind::KeySourceUnavailable => "key_source_unavailable",
            EventKind::MigrationStarted => "migration_started",
            EventKind::MigrationFinished => "migration_finished",
            EventKind::CacheCleared => "cache_cleared",
            EventKind::DynamodbTableCreated => "dynamodb_table_created",
            EventKind::DynamodbTableRepaired => "dynamodb_table_repaired",
            EventKind::DynamodbTableDeleted => "dynamodb_table_deleted",
        }
    }

    /// The event named `name` (exact snake_case name).
    pub(crate) fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|e| e.name() == name)
    }

    /// Every event name, for messages and docs.
    pub(crate) fn names() -> Vec<&'static str> {
        EventKind::ALL.iter().map(|e| e.name()).collect()
    }
}

/// One event to record. Never put key material or cached data in it.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    kind: EventKind,
    ok: bool,
    key_id: Option<String>,
    source: Option<String>,
    details: Map<String, Value>,
}

impl Event {
    /// A successful event of `kind` with no key id, source or details.
    pub(crate) fn new(kind: EventKind) -> Event {
        Event {
            kind,
            ok: true,
            key_id: None,
            source: None,
            details: Map::new(),
        }
    }

    /// The same event with outcome `failed`.
    pub(crate) fn failed(mut self) -> Event {
        self.ok = false;
        self
    }

    /// The same event with outcome `ok` when `ok`, else `failed`.
    pub(crate) fn outcome(mut self, ok: bool) -> Event {
        self.ok = ok;
        self
    }

    /// The same event naming the key it concerns (an id, never the key).
    pub(crate) fn key_id(mut self, id: impl Into<String>) -> Event {
        self.key_id = Some(id.into());
        self
    }

    /// The same event naming the key source (`keyring`, `env`, `file`, `kms`).
    pub(crate) fn source(mut self, source: impl Into<String>) -> Event {
        self.source = Some(source.into());
        self
    }

    /// The same event with one more detail (a count, a backend or table name).
    pub(crate) fn detail(mut self, name: &str, value: impl Into<Value>) -> Event {
        self.details.insert(name.to_string(), value.into());
        self
    }
}

/// Who and where: the fields every record of this process shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Actor {
    /// The local user (`USER`, `LOGNAME`, else the numeric uid).
    pub(crate) user: String,
    /// The host (`HOSTNAME`, else `/etc/hostname`, else `unknown`).
    pub(crate) host: String,
    /// The awsideman profile in effect.
    pub(crate) profile: String,
}

impl Actor {
    /// The actor of this process, from the environment snapshot.
    pub(crate) fn from_env(env: &Env, profile: &str) -> Actor {
        Actor {
            user: env
                .get("USER")
                .or_else(|| env.get("LOGNAME"))
                .map(str::to_string)
                .unwrap_or_else(current_uid),
            host: env
                .get("HOSTNAME")
                .map(str::to_string)
                .or_else(|| {
                    crate::fsutil::read_text_at_most(Path::new("/etc/hostname"), 1024)
                        .ok()
                        .map(|h| h.trim().to_string())
                        .filter(|h| !h.is_empty())
                })
                .unwrap_or_else(|| "unknown".to_string()),
            profile: profile.to_string(),
        }
    }
}

/// The numeric uid of this process, as text (`unknown` where there is none).
fn current_uid() -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = std::fs::metadata("/proc/self") {
            return meta.uid().to_string();
        }
    }
    "unknown".to_string()
}

/// The largest part of the log `audit show` reads: its newest records.
pub(crate) const MAX_READ_BYTES: u64 = 64 * 1024 * 1024;

/// The audit log of this process: where it goes (`None` = off) and who writes it.
#[derive(Debug, Clone)]
pub(crate) struct AuditLog {
    path: Option<PathBuf>,
    actor: Actor,
    /// The directory awsideman keeps (the config directory): a log inside it is checked
    /// from there down.
    top: Option<PathBuf>,
    lock_timeout: Duration,
}

impl AuditLog {
    /// A log at `path` (`None` turns it off) written by `actor`.
    pub(crate) fn new(path: Option<PathBuf>, actor: Actor) -> AuditLog {
        AuditLog {
            path,
            actor,
            top: None,
            lock_timeout: crate::fsutil::DEFAULT_LOCK_TIMEOUT,
        }
    }

    /// The same log, knowing the directory awsideman keeps (the config directory): a log
    /// inside it has every directory from there down checked, and repaired when ours but
    /// open to others. A log elsewhere (`/var/log/...`) only gets its directory created
    /// 0700 when missing: a shared directory is not awsideman's to change.
    pub(crate) fn within(mut self, top: PathBuf) -> AuditLog {
        self.top = Some(top);
        self
    }

    /// The same log, waiting at most `timeout` for other writers.
    pub(crate) fn with_lock_timeout(mut self, timeout: Duration) -> AuditLog {
        self.lock_timeout = timeout;
        self
    }

    /// Where records go, or `None` when the log is off.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The JSON record of `event` at `time`.
    pub(crate) fn record_json(&self, event: &Event, time: SystemTime) -> Value {
        let mut record = json!({
            "time": format_rfc3339(time),
            "user": self.actor.user,
            "host": self.actor.host,
            "profile": self.actor.profile,
            "event": event.kind.name(),
            "outcome": if event.ok { "ok" } else { "failed" },
        });
        if let Some(id) = &event.key_id {
            record["key_id"] = json!(id);
        }
        if let Some(source) = &event.source {
            record["source"] = json!(source);
        }
        if !event.details.is_empty() {
            record["details"] = Value::Object(event.details.clone());
        }
        record
    }

    /// Appends one record of `event`. A failure is a warning on stderr, never an error.
    pub(crate) fn record(&self, event: &Event) {
        let Some(path) = &self.path else {
            return;
        };
        let record = self.record_json(event, SystemTime::now());
        if let Err(e) = self.append_line(path, &record) {
            eprintln!(
                "awsideman: warning: audit log: {} event not recorded: {e}",
                event.kind.name()
            );
        }
    }
}

impl AuditLog {
    /// Appends `record` as one whole line (see the module documentation).
    fn append_line(&self, path: &Path, record: &Value) -> Result<()> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut notes = Vec::new();
        let mut note = |n: String| notes.push(n);
        match &self.top {
            Some(top) if dir.starts_with(top) => fsutil::ensure_private_dir(top, dir, &mut note)?,
            _ if fs::symlink_metadata(dir).is_err() => {
                fsutil::ensure_private_dir(dir, dir, &mut note)?
            }
            _ => {}
        }
        for n in notes {
            eprintln!("awsideman: note: {n}");
        }
        let line = serde_json::to_string(record)
            .map_err(|e| Error::runtime(format!("encoding the record: {e}")))?;
        fsutil::append_record(path, line.as_bytes(), self.lock_timeout)?;
        Ok(())
    }
}

/// What [`read`] found in the log.
#[derive(Debug, Default)]
pub(crate) struct LogContents {
    /// The records, oldest first.
    pub(crate) records: Vec<Value>,
    /// Lines (or parts of lines) that are not records.
    pub(crate) skipped: usize,
    /// Bytes at the start of a log larger than [`MAX_READ_BYTES`] that were not read.
    pub(crate) unread_bytes: u64,
}

/// The records of the log at `path` (its newest [`MAX_READ_BYTES`]). A missing file is an
/// empty log; a link, a FIFO or a file others can write is refused.
///
/// A line that is not a record is skipped, except that a whole record glued to the end of
/// a broken one (an older writer appended after a half-written line) is still found.
pub(crate) fn read(path: &Path) -> Result<LogContents> {
    let opened = fsutil::open_private_file(path, Links::Follow, u64::MAX)
        .map_err(|e| Error::runtime(format!("reading the audit log: {e}")))?;
    let Some(mut file) = opened else {
        return Ok(LogContents::default());
    };
    let (mut text, mut unread_bytes) = file
        .read_tail(MAX_READ_BYTES)
        .map_err(|e| Error::runtime(format!("reading the audit log: {e}")))?;
    if unread_bytes > 0 {
        // The first line was cut by the tail: it belongs to the part not read.
        let cut = text
            .iter()
            .position(|b| *b == b'\n')
            .map_or(text.len(), |i| i + 1);
        text.drain(..cut);
        unread_bytes += cut as u64;
    }
    let mut contents = LogContents {
        unread_bytes,
        ..LogContents::default()
    };
    for line in text.split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_record(line) {
            Some(record) => contents.records.push(record),
            None => match glued_record(line) {
                Some(record) => {
                    contents.skipped += 1;
                    contents.records.push(record);
                }
                None => contents.skipped += 1,
            },
        }
    }
    Ok(contents)
}

fn parse_record(bytes: &[u8]) -> Option<Value> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(record @ Value::Object(_)) => Some(record),
        _ => None,
    }
}

/// A whole record at the end of a line that starts with a broken one.
fn glued_record(line: &[u8]) -> Option<Value> {
    const START: &[u8] = b"{\"time\":";
    (1..line.len().saturating_sub(START.len()) + 1)
        .filter(|&i| line[i..].starts_with(START))
        .find_map(|i| parse_record(&line[i..]))
}

/// The time of a record (its `time` field), if it has a valid one.
pub(crate) fn record_time(record: &Value) -> Option<SystemTime> {
    record["time"].as_str().and_then(parse_rfc3339)
}

/// Parses a duration such as `90s`, `30m`, `24h`, `7d` or `2w` (a whole number and a unit).
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let scale: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    number.checked_mul(scale).map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn actor() -> Actor {
        Actor {
            user: "ann".into(),
            host: "box".into(),
            profile: "prod".into(),
        }
    }

    #[test]
    fn time_is_utc_rfc3339_to_the_second() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_554_000);
        assert_eq!(format_rfc3339(t), "2026-11-24T21:00:00Z");
        assert_eq!(format_rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let leap = UNIX_EPOCH + Duration::from_millis(951_782_400_999);
        assert_eq!(format_rfc3339(leap), "2000-02-29T00:00:00Z");
        assert_eq!(parse_rfc3339("2026-11-24T21:00:00Z"), Some(t));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_duration("24h"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("45s"), Some(Duration::from_secs(45)));
        assert_eq!(parse_duration("2w"), Some(Duration::from_secs(1_209_600)));
        for bad in [
            "",
            "h",
            "10",
            "1.5h",
            "-1h",
            "3y",
            "1hh",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn event_names_round_trip() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.name()), Some(kind));
        }
        assert_eq!(EventKind::parse("nope"), None);
    }

    #[test]
    fn record_fields() {
        let log = AuditLog::new(None, actor());
        let event = Event::new(EventKind::RotationStarted)
            .key_id("k2")
            .source("file")
            .detail("old_key_id", "k1");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_554_000);
        assert_eq!(
            log.record_json(&event, t),
            json!({"time": "2026-11-24T21:00:00Z", "user": "ann", "host": "box",
                   "profile": "prod", "event": "rotation_started", "outcome": "ok",
                   "key_id": "k2", "source": "file", "details": {"old_key_id": "k1"}})
        );
        let failed = log.record_json(&Event::new(EventKind::CacheCleared).failed(), t);
        assert_eq!(failed["outcome"], "failed");
        assert!(failed.get("key_id").is_none() && failed.get("details").is_none());
    }

    fn temp_dir(name: &str) -> PathBuf {
        let mut noise = [0u8; 6];
        getrandom::getrandom(&mut noise).unwrap();
        let hex: String = noise.iter().map(|b| format!("{b:02x}")).collect();
        let dir = std::env::temp_dir().join(format!("awsideman-audit-{name}-{hex}"));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_broken_record_loses_nothing_after_it() {
        let dir = temp_dir("glued");
        let path = dir.join("audit.log");
        let log = AuditLog::new(Some(path.clone()), actor());
        log.record(&Event::new(EventKind::CacheCleared));
        // A full disk under an older writer left half a record without a newline, and the
        // next one was appended to it.
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(r#"{"time":"2026-01-01T00:00:00Z","use"#);
        text.push_str(r#"{"time":"2026-01-01T00:00:01Z","event":"key_exported"}"#);
        text.push('\n');
        text.push_str(r#"{"time":"2026-01-01T00:00:02Z","ev"#);
        std::fs::write(&path, text).unwrap();
        // This writer ends the broken line first.
        log.record(&Event::new(EventKind::KeyGenerated));
        let read = read(&path).unwrap();
        let events: Vec<&str> = read
            .records
            .iter()
            .map(|r| r["event"].as_str().unwrap())
            .collect();
        assert_eq!(events, ["cache_cleared", "key_exported", "key_generated"]);
        assert_eq!(read.skipped, 2);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_log_inside_the_config_directory_is_checked_from_there() {
        use std::os::unix::fs::PermissionsExt;
        let top = temp_dir("within");
        std::fs::set_permissions(&top, std::fs::Permissions::from_mode(0o777)).unwrap();
        let path = top.join("logs/audit.log");
        AuditLog::new(Some(path.clone()), actor())
            .within(top.clone())
            .record(&Event::new(EventKind::CacheCleared));
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&top), mode(&top.join("logs"))), (0o700, 0o700));
        assert_eq!(mode(&path), 0o600);
        assert_eq!(read(&path).unwrap().records.len(), 1);
        // A link at the log's name is not written through.
        let victim = top.join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        AuditLog::new(Some(path), actor()).record(&Event::new(EventKind::CacheCleared));
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        std::fs::remove_dir_all(top).unwrap();
    }

    #[test]
    fn actor_from_env() {
        let env = Env::from_pairs([("LOGNAME", "bob"), ("HOSTNAME", "ci-1")]);
        let a = Actor::from_env(&env, "dev");
        assert_eq!((a.user.as_str(), a.host.as_str()), ("bob", "ci-1"));
    }
}
