//! `cache migrate|health|benchmark`: moving a cache between backends, checking that the
//! configured backend works, and measuring how fast it is.
//!
//! These commands talk to cache backends only (a DynamoDB backend sends its own requests):
//! they never call Identity Center and never decode a cached answer, so they need no
//! encryption key. Probe and benchmark entries live under a namespace no command uses and
//! are removed before the command ends (they also expire within minutes).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Context;
use super::fanout::StatusLine;
use crate::audit::{Event, EventKind};
use crate::cache::envelope::{Envelope, Header, Scheme};
use crate::cache::generation::Generations;
use crate::cache::migrate::{self, MigrateProgress, MigrateSummary, VerifyReport};
use crate::cache::{CacheBackend, CacheKey, Invalidation, Namespace};
use crate::clock::now_secs;
use crate::commands::args::Matches;
use crate::config::{BackendType, CacheSettings};
use crate::error::{Error, Result};
use crate::output::{Column, Report, View};

/// The awsideman profile of probe and benchmark entries: no command caches under it.
const PROBE_PROFILE: &str = "awsideman-probe";

/// Seconds a probe entry stays valid, should a killed command leave one behind.
const PROBE_TTL: u64 = 600;

/// `cache benchmark` defaults and limits.
const DEFAULT_ENTRIES: usize = 100;
const DEFAULT_SIZE: usize = 4096;
const MAX_ENTRIES: usize = 100_000;
const MAX_TOTAL_BYTES: usize = 256 * 1024 * 1024;

const MIGRATE_FIELDS: &[Column] = &[
    Column::new("From", "from"),
    Column::new("From location", "fromLocation"),
    Column::new("To", "to"),
    Column::new("To location", "toLocation"),
    Column::new("Copied", "copied"),
    Column::new("Skipped (expired)", "skippedExpired"),
    Column::new("Skipped (corrupt)", "skippedCorrupt"),
    Column::new("Failed", "failed"),
    Column::new("Resumed from", "resumedFrom"),
];

const VERIFY_FIELDS: &[Column] = &[
    Column::new("Checked", "verified.checked"),
    Column::new("Missing", "verified.missing"),
    Column::new("Different", "verified.different"),
    Column::new("Missing keys", "verified.missingKeys"),
    Column::new("Different keys", "verified.differentKeys"),
];

const BACKEND_FIELDS: &[Column] = &[
    Column::new("Backend", "backend"),
    Column::new("Location", "location"),
    Column::new("Healthy", "healthy"),
];

const STEP_COLUMNS: &[Column] = &[
    Column::new("Side", "side"),
    Column::new("Step", "step"),
    Column::new("ms", "ms"),
    Column::new("OK", "ok"),
    Column::new("Error", "error"),
];

const BENCHMARK_FIELDS: &[Column] = &[
    Column::new("Backend", "backend"),
    Column::new("Location", "location"),
    Column::new("Entries", "entries"),
    Column::new("Size (bytes)", "sizeBytes"),
    Column::new("Delete all (ms)", "deleteMs"),
    Column::new("Misses", "misses"),
];

const RESULT_COLUMNS: &[Column] = &[
    Column::new("Operation", "operation"),
    Column::new("Median (ms)", "medianMs"),
    Column::new("p95 (ms)", "p95Ms"),
    Column::new("Ops/s", "opsPerSecond"),
    Column::new("MB/s", "mbPerSecond"),
];

/// The backend `kind` built from `settings` (the current ones, or with a side's directory
/// replaced by `cache migrate --from-dir/--to-dir`); see [`Context::cache_backend`].
pub(crate) fn backend_from(
    ctx: &Context,
    settings: &CacheSettings,
    kind: BackendType,
) -> Result<Box<dyn CacheBackend>> {
    ctx.cache_backend(settings, kind)
}

/// The configured backend; `health` checks each of its parts (both sides of a hybrid one).
struct Opened(Box<dyn CacheBackend>);

impl Opened {
    fn open(ctx: &Context, settings: &CacheSettings) -> Result<Opened> {
        backend_from(ctx, settings, settings.backend_type).map(Opened)
    }

    fn backend(&self) -> &dyn CacheBackend {
        self.0.as_ref()
    }

    /// What `health` checks: the backend, or the parts it is made of.
    fn sides(&self) -> Vec<(&'static str, &dyn CacheBackend)> {
        match self.0.parts() {
            parts if parts.is_empty() => vec![(self.0.name(), self.0.as_ref())],
            parts => parts,
        }
    }
}

/// One side of a migration: `--from`/`--to` and its `--from-dir`/`--to-dir`.
fn migration_side(
    ctx: &Context,
    settings: &CacheSettings,
    m: &Matches,
    flag: &str,
) -> Result<(BackendType, Box<dyn CacheBackend>)> {
    let name = m.required_value(flag)?;
    let kind = BackendType::parse(name)
        .ok_or_else(|| Error::usage(format!("--{flag}: unknown backend \"{name}\"")))?;
    let dir_flag = format!("{flag}-dir");
    let mut settings = settings.clone();
    if let Some(dir) = m.value(&dir_flag) {
        if kind != BackendType::File {
            return Err(Error::usage(format!(
                "--{dir_flag} applies to the file backend only (--{flag} file)"
            )));
        }
        settings.file_cache_dir = PathBuf::from(dir);
    }
    // A hybrid side is its remote: the shared entries are what is migrated, and local
    // copies are neither read nor filled.
    let opened = match kind {
        BackendType::Hybrid => BackendType::Dynamodb,
        kind => kind,
    };
    let backend =
        backend_from(ctx, &settings, opened).map_err(|e| e.context(format!("--{flag}")))?;
    Ok((kind, backend))
}

/// `cache migrate --from KIND --to KIND [--from-dir DIR] [--to-dir DIR] [--verify] [--yes]`.
pub(crate) fn migrate(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let settings = ctx.cache_settings()?;
    let (from_kind, from) = migration_side(ctx, &settings, m, "from")?;
    let (to_kind, to) = migration_side(ctx, &settings, m, "to")?;
    ctx.confirm(
        m,
        &format!(
            "copy every live cache entry from {} ({}) to {} ({})",
            from.name(),
            from.location(),
            to.name(),
            to.location()
        ),
    )?;
    let checkpoint = settings
        .file_cache_dir
        .join(format!("migrate-{from_kind}-{to_kind}.checkpoint.json"));
    let audit = ctx.audit();
    let sides = |event: Event| {
        event
            .detail("from", from.name())
            .detail("to", to.name())
            .detail("from_location", from.location())
            .detail("to_location", to.location())
    };
    audit.record(&sides(Event::new(EventKind::MigrationStarted)));
    let copied = {
        let line = StatusLine::new(ctx.globals.quiet);
        migrate::migrate(from.as_ref(), to.as_ref(), &checkpoint, |p| {
            line.show(&progress_text(&p))
        })
    }
    .and_then(|summary| {
        let verified = match m.switch("verify") {
            true => Some(migrate::verify(from.as_ref(), to.as_ref())?),
            false => None,
        };
        Ok((summary, verified))
    });
    let (summary, verified) = match copied {
        Ok(done) => done,
        Err(e) => {
            audit.record(&sides(Event::new(EventKind::MigrationFinished)).failed());
            return Err(e);
        }
    };
    let mut finished = sides(Event::new(EventKind::MigrationFinished))
        .outcome(migration_failure(&summary, verified.as_ref(), to.name()).is_none())
        .detail("copied", summary.copied)
        .detail("skipped_expired", summary.skipped_expired)
        .detail("skipped_corrupt", summary.skipped_corrupt)
        .detail("failed", summary.failed);
    if let Some(v) = &verified {
        finished = finished
            .detail("verified_missing", v.missing)
            .detail("verified_different", v.different);
    }
    audit.record(&finished);
    let mut data = summary_json(&summary, verified.as_ref());
    data["from"] = json!(from.name());
    data["fromLocation"] = json!(from.location());
    data["to"] = json!(to.name());
    data["toLocation"] = json!(to.location());
    data["checkpoint"] = json!(
        checkpoint
            .exists()
            .then(|| checkpoint.display().to_string())
    );
    let mut sections = vec![(
        "Migration".to_string(),
        View::Record {
            path: "",
            fields: MIGRATE_FIELDS,
        },
    )];
    if verified.is_some() {
        sections.push((
            "Verification".to_string(),
            View::Record {
                path: "",
                fields: VERIFY_FIELDS,
            },
        ));
    }
    let report = Report::new(data, View::Sections(sections));
    Ok(
        match migration_failure(&summary, verified.as_ref(), to.name()) {
            Some(error) => report.failed(error),
            None => report,
        },
    )
}

fn progress_text(p: &MigrateProgress) -> String {
    format!(
        "migrating: {}/{} ({} copied, {} skipped, {} failed)",
        p.done, p.total, p.copied, p.skipped, p.failed
    )
}

/// The JSON of a migration's counts and verification.
fn summary_json(summary: &MigrateSummary, verified: Option<&VerifyReport>) -> Value {
    json!({
        "copied": summary.copied,
        "skippedExpired": summary.skipped_expired,
        "skippedCorrupt": summary.skipped_corrupt,
        "failed": summary.failed,
        "resumedFrom": summary.resumed_from,
        "verified": verified.map(|v| json!({
            "checked": v.checked,
            "missing": v.missing,
            "different": v.different,
            "missingKeys": v.missing_keys,
            "differentKeys": v.different_keys,
        })),
    })
}

/// The error that makes a migration exit 1: entries not copied, or a verification that
/// found differences.
fn migration_failure(
    summary: &MigrateSummary,
    verified: Option<&VerifyReport>,
    to: &str,
) -> Option<Error> {
    if summary.failed > 0 {
        return Some(Error::runtime(format!(
            "cache migrate: {} entries could not be copied; run the same command again to \
             retry them",
            summary.failed
        )));
    }
    let v = verified.filter(|v| !v.is_clean())?;
    Some(Error::runtime(format!(
        "cache migrate --verify: {} entries missing and {} different in the {to} cache",
        v.missing, v.different
    )))
}

/// Probe entries: keys under [`PROBE_PROFILE`], unique to this run.
struct Probe {
    operation: &'static str,
    nonce: String,
}

impl Probe {
    fn new(operation: &'static str) -> Result<Probe> {
        Ok(Probe {
            operation,
            nonce: random_hex(16)?,
        })
    }

    fn key(&self, n: usize) -> CacheKey {
        let namespace = Namespace {
            caller: PROBE_PROFILE.into(),
            scope: String::new(),
            endpoint: String::new(),
            region: "probe".into(),
        };
        CacheKey::new(
            &namespace,
            "awsideman",
            self.operation,
            &json!({"nonce": self.nonce, "n": n}),
        )
    }

    /// The stored bytes of a probe entry of `key`: an envelope around `payload`, current
    /// for the generations `gens`.
    fn entry(&self, key: &CacheKey, payload: &[u8], gens: &Generations) -> Vec<u8> {
        let now = now_secs();
        Envelope::seal(
            Header {
                v: 0,
                key: key.to_string(),
                service: "awsideman".into(),
                operation: self.operation.into(),
                profile: PROBE_PROFILE.into(),
                created_at: now,
                expires_at: now + PROBE_TTL,
                encryption: Scheme::None,
                key_id: None,
                gens: gens.as_map().clone(),
                len: 0,
                checksum: String::new(),
            },
            payload.to_vec(),
        )
        .encode()
    }
}

/// `len` random hex digits.
fn random_hex(len: usize) -> Result<String> {
    let mut noise = vec![0u8; len.div_ceil(2)];
    getrandom::getrandom(&mut noise)
        .map_err(|e| Error::runtime(format!("random bytes for a probe entry: {e}")))?;
    let mut text = hex::encode(&noise);
    text.truncate(len);
    Ok(text)
}

/// Milliseconds, to the microsecond.
fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// Runs `f` and measures it.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let out = f();
    (out, started.elapsed())
}

/// One step of `cache health`.
struct Step {
    side: &'static str,
    step: &'static str,
    took: Duration,
    error: Option<String>,
}

impl Step {
    fn new(side: &'static str, step: &'static str, took: Duration, outcome: Result<()>) -> Step {
        Step {
            side,
            step,
            took,
            error: outcome.err().map(|e| e.to_string()),
        }
    }

    fn json(&self) -> Value {
        json!({
            "side": self.side,
            "step": self.step,
            "ms": ms(self.took),
            "ok": self.error.is_none(),
            "error": self.error,
        })
    }
}

/// Writes, reads back and deletes a probe entry on `backend`, timing each step. The read is
/// skipped when the write failed; the delete always runs.
fn probe_steps(side: &'static str, backend: &dyn CacheBackend) -> Result<Vec<Step>> {
    let probe = Probe::new("HealthCheck")?;
    let key = probe.key(0);
    let bytes = probe.entry(&key, random_hex(64)?.as_bytes(), &Generations::new());
    let (written, took) = timed(|| backend.set(&key, &bytes, now_secs() + PROBE_TTL));
    let wrote = written.is_ok();
    let mut steps = vec![Step::new(side, "write", took, written)];
    if wrote {
        let (read, took) = timed(|| backend.get(&key));
        let read = match read {
            Ok(Some(found)) if found == bytes => Ok(()),
            Ok(Some(_)) => Err(Error::runtime("the probe entry read back different bytes")),
            Ok(None) => Err(Error::runtime(
                "the probe entry was not found after writing it",
            )),
            Err(e) => Err(e),
        };
        steps.push(Step::new(side, "read", took, read));
    }
    let (deleted, took) =
        timed(|| backend.invalidate(Invalidation::Keys(std::slice::from_ref(&key))));
    steps.push(Step::new(side, "delete", took, deleted.map(|_| ())));
    Ok(steps)
}

/// `cache health`: checks the configured backend (each side of a hybrid one).
pub(crate) fn health(ctx: &mut Context, _m: &Matches) -> Result<Report> {
    let settings = ctx.cache_settings()?;
    super::cache::warn_if_shared_without_encryption(ctx, &settings);
    let kind = settings.backend_type;
    let (opened, took) = timed(|| Opened::open(ctx, &settings));
    let mut steps = Vec::new();
    let location = match &opened {
        Ok(opened) => {
            steps.push(Step::new(kind.as_str(), "open", took, Ok(())));
            for (side, backend) in opened.sides() {
                steps.extend(probe_steps(side, backend)?);
            }
            Some(opened.backend().location())
        }
        Err(e) => {
            steps.push(Step::new(kind.as_str(), "open", took, Err(e.clone())));
            None
        }
    };
    let failed = steps.iter().find(|s| s.error.is_some());
    let data = json!({
        "backend": kind.as_str(),
        "location": location,
        "healthy": failed.is_none(),
        "steps": steps.iter().map(Step::json).collect::<Vec<_>>(),
    });
    let failure = failed.map(|s| {
        Error::runtime(format!(
            "cache backend {kind} is unhealthy: {} {}: {}",
            s.side,
            s.step,
            s.error.as_deref().unwrap_or("")
        ))
    });
    let report = Report::new(
        data,
        View::Sections(vec![
            (
                "Cache backend".into(),
                View::Record {
                    path: "",
                    fields: BACKEND_FIELDS,
                },
            ),
            (
                "Steps".into(),
                View::List {
                    path: "steps",
                    columns: STEP_COLUMNS,
                },
            ),
        ]),
    );
    Ok(match failure {
        Some(error) => report.failed(error),
        None => report,
    })
}

/// Latencies of one benchmarked operation.
fn latency_json(operation: &str, mut times: Vec<Duration>, size: usize) -> Value {
    times.sort();
    let at = |q: f64| {
        let i = ((times.len().saturating_sub(1)) as f64 * q).round() as usize;
        times.get(i).copied().map(ms)
    };
    let total = times.iter().sum::<Duration>().as_secs_f64();
    let per_second = |amount: f64| (total > 0.0).then(|| (amount / total * 10.0).round() / 10.0);
    json!({
        "operation": operation,
        "medianMs": at(0.5),
        "p95Ms": at(0.95),
        "opsPerSecond": per_second(times.len() as f64),
        "mbPerSecond": per_second((times.len() * size) as f64 / 1e6),
    })
}

/// What the timed part of a benchmark measured.
struct Measured {
    sets: Vec<Duration>,
    gets: Vec<Duration>,
    misses: usize,
}

/// Writes every entry, then looks every entry up as a cached read does (the entry and the
/// generation of its tag `tags`), timing each call.
fn measure(
    backend: &dyn CacheBackend,
    entries: &[(CacheKey, Vec<u8>)],
    tags: &[String],
    line: &StatusLine,
) -> Result<Measured> {
    let mut measured = Measured {
        sets: Vec::with_capacity(entries.len()),
        gets: Vec::with_capacity(entries.len()),
        misses: 0,
    };
    let expires_at = now_secs() + PROBE_TTL;
    for (i, (key, bytes)) in entries.iter().enumerate() {
        line.show(&format!("benchmark: write {}/{}", i + 1, entries.len()));
        // A store answers a read that missed, as in a command (the hybrid backend keeps a
        // local copy only of such an answer); the miss is not timed.
        backend.lookup(key, tags)?;
        let (written, took) = timed(|| backend.set(key, bytes, expires_at));
        written?;
        measured.sets.push(took);
    }
    for (i, (key, bytes)) in entries.iter().enumerate() {
        line.show(&format!("benchmark: read {}/{}", i + 1, entries.len()));
        let (read, took) = timed(|| backend.lookup(key, tags));
        measured.misses += usize::from(read?.bytes.as_deref() != Some(bytes.as_slice()));
        measured.gets.push(took);
    }
    Ok(measured)
}

/// `cache benchmark [--entries N] [--size BYTES]`.
pub(crate) fn benchmark(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let count = m.parsed::<usize>("entries")?.unwrap_or(DEFAULT_ENTRIES);
    let size = m.parsed::<usize>("size")?.unwrap_or(DEFAULT_SIZE);
    if !(1..=MAX_ENTRIES).contains(&count) {
        return Err(Error::usage(format!(
            "--entries: between 1 and {MAX_ENTRIES}"
        )));
    }
    if count.saturating_mul(size) > MAX_TOTAL_BYTES {
        return Err(Error::usage(format!(
            "--entries times --size: at most {} MB in all",
            MAX_TOTAL_BYTES / (1024 * 1024)
        )));
    }
    let settings = ctx.cache_settings()?;
    let opened = Opened::open(ctx, &settings)?;
    let backend = opened.backend();
    let probe = Probe::new("Benchmark")?;
    let payload = random_hex(size)?;
    let tags = [format!("benchmark:{}", probe.nonce)];
    let gens = backend
        .lookup(&probe.key(0), &tags)
        .map_err(|e| e.context("cache benchmark"))?
        .generations;
    let entries: Vec<(CacheKey, Vec<u8>)> = (0..count)
        .map(|i| {
            let key = probe.key(i);
            let bytes = probe.entry(&key, payload.as_bytes(), &gens);
            (key, bytes)
        })
        .collect();
    let measured = {
        let line = StatusLine::new(ctx.globals.quiet);
        measure(backend, &entries, &tags, &line)
    };
    // Whatever happened, the probe entries go.
    let keys: Vec<CacheKey> = entries.into_iter().map(|(key, _)| key).collect();
    let (removed, delete_took) = timed(|| backend.invalidate(Invalidation::Keys(&keys)));
    let measured = measured.map_err(|e| e.context("cache benchmark"))?;
    removed.map_err(|e| e.context("cache benchmark: removing the probe entries"))?;
    let data = json!({
        "backend": backend.name(),
        "location": backend.location(),
        "entries": count,
        "sizeBytes": size,
        "results": [
            latency_json("set", measured.sets, size),
            latency_json("get", measured.gets, size),
        ],
        "deleteMs": ms(delete_took),
        "misses": measured.misses,
    });
    let report = Report::new(
        data,
        View::Sections(vec![
            (
                "Cache benchmark".into(),
                View::Record {
                    path: "",
                    fields: BENCHMARK_FIELDS,
                },
            ),
            (
                "Latency".into(),
                View::List {
                    path: "results",
                    columns: RESULT_COLUMNS,
                },
            ),
        ]),
    );
    Ok(match measured.misses {
        0 => report,
        n => report.failed(Error::runtime(format!(
            "cache benchmark: {n} of {count} entries did not read back as written"
        ))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::hybrid::HybridBackend;
    use crate::cache::hybrid::testing::TempDir;

    #[test]
    fn probe_steps_write_read_and_delete_and_leave_nothing() {
        let dir = TempDir::new("health");
        let backend = dir.backend();
        let steps = probe_steps("file", &backend).unwrap();
        let names: Vec<&str> = steps.iter().map(|s| s.step).collect();
        assert_eq!(names, ["write", "read", "delete"]);
        assert!(steps.iter().all(|s| s.error.is_none()));
        assert_eq!(backend.stats().unwrap().entries, 0);
    }

    #[test]
    fn a_hybrid_backend_is_checked_on_both_sides() {
        let (local, remote) = (TempDir::new("health-l"), TempDir::new("health-r"));
        let opened = Opened(Box::new(HybridBackend::new(
            Box::new(local.backend()),
            Box::new(remote.backend()),
            300,
        )));
        let sides: Vec<&str> = opened.sides().iter().map(|(s, _)| *s).collect();
        assert_eq!(sides, ["local", "remote"]);
        for (side, backend) in opened.sides() {
            let steps = probe_steps(side, backend).unwrap();
            assert!(steps.iter().all(|s| s.error.is_none() && s.side == side));
        }
        assert_eq!(opened.backend().name(), "hybrid");
    }

    #[test]
    fn a_failed_write_skips_the_read_and_still_deletes() {
        // A "directory" that is a file: nothing can be written under it.
        let dir = TempDir::new("health-bad");
        std::fs::write(&dir.0, b"not a directory").unwrap();
        let steps = probe_steps("file", &dir.backend()).unwrap();
        let names: Vec<&str> = steps.iter().map(|s| s.step).collect();
        assert_eq!(names, ["write", "delete"]);
        assert!(steps[0].error.is_some());
        let _ = std::fs::remove_file(&dir.0);
    }

    #[test]
    fn latencies_are_median_and_p95() {
        let times: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let v = latency_json("set", times, 1000);
        assert_eq!(v["medianMs"], 51.0);
        assert_eq!(v["p95Ms"], 95.0);
        assert_eq!(v["opsPerSecond"], 19.8);
        assert_eq!(latency_json("get", vec![], 1)["medianMs"], Value::Null);
    }

    #[test]
    fn migration_failure_prefers_failed_entries_then_verification() {
        let clean = MigrateSummary::default();
        assert!(migration_failure(&clean, None, "file").is_none());
        let report = VerifyReport {
            checked: 3,
            missing: 1,
            ..VerifyReport::default()
        };
        let e = migration_failure(&clean, Some(&report), "file").unwrap();
        assert!(e.message().contains("1 entries missing"), "{e}");
        let failed = MigrateSummary {
            failed: 2,
            ..MigrateSummary::default()
        };
        let e = migration_failure(&failed, Some(&report), "file").unwrap();
        assert!(e.message().contains("2 entries could not be copied"), "{e}");
    }
}
