//! `cache encryption status|enable|disable|rotate|export-key|import-key`: keys and
//! re-encryption of the response cache.
//!
//! Rotation never loses an entry: the new key is added (and saved) next to the old one before
//! anything is re-encrypted, entries are rewritten one by one (each atomically), and the old
//! key is dropped only when no entry needs it. A rotation that was killed half-way is
//! finished by running `rotate` again.
//!
//! The commands that change the key set or the encryption setting (enable, disable, rotate,
//! import-key) run one at a time on a machine (two rotations at once would each save a key
//! set without the other's new key). Each switches keys or settings while no answer is being
//! stored and records the change (see `cache/keystate.rs`), so that a process that loaded the
//! keys before stores nothing after it (plaintext after `enable`, or under a key `rotate` is
//! about to retire); stores wait only for the switch itself. Then every entry is rewritten:
//! whatever an older process stored before the switch is among them.

use std::collections::BTreeMap;
use std::io::Read;
use std::time::Duration;

use serde_json::{Value, json};

use super::Context;
use crate::audit::{Event, EventKind};
use crate::cache::backend::Invalidation;
use crate::cache::dynamodb::{KEY_SET_CHANGED, TableWrappedKeys};
use crate::cache::envelope::Scheme;
use crate::cache::keys::{self, KeySource, KeyStore, Keyset, WrappedKeysFile, WrappedKeysPlace};
use crate::cache::keystate::{CHANGE_TIMEOUT, KeyChange};
use crate::cache::manager::{CacheManager, Encryption};
use crate::commands::args::Matches;
use crate::config::{BackendType, CacheSettings, EncryptionType, KeySourceKind};
use crate::error::{Error, Result};
use crate::output::{Column, Report, View};

/// Passes a rotation makes over the cache while entries remain on an old key, pausing 0.1 s,
/// then twice as long before each next one (3.1 s in all). A process that loaded the key set
/// just before the rotation saved its new key still writes with the old one until it ends,
/// moments later; the next passes re-encrypt what it wrote.
const ROTATION_PASSES: u32 = 6;

const STATUS_FIELDS: &[Column] = &[
    Column::new("Enabled", "enabled"),
    Column::new("Key source", "source"),
    Column::new("Where", "location"),
    Column::new("Key present", "keyPresent"),
    Column::new("Active key", "activeKeyId"),
    Column::new("Rotation pending", "rotating"),
    Column::new("Plaintext entries", "entries.plaintext"),
    Column::new("Unreadable entries", "entries.unreadable"),
];

const KEY_COLUMNS: &[Column] = &[
    Column::new("Key", "keyId"),
    Column::new("Entries", "entries"),
];

/// `cache encryption status`.
pub(crate) fn run_status(ctx: &mut Context, _m: &Matches) -> Result<Report> {
    status(ctx)
}

/// `cache encryption enable`.
pub(crate) fn run_enable(ctx: &mut Context, _m: &Matches) -> Result<Report> {
    audit_failure(enable(ctx), ctx, EventKind::EncryptionEnabled)
}

/// `cache encryption disable`.
pub(crate) fn run_disable(ctx: &mut Context, m: &Matches) -> Result<Report> {
    audit_failure(disable(ctx, m), ctx, EventKind::EncryptionDisabled)
}

/// `cache encryption rotate`.
pub(crate) fn run_rotate(ctx: &mut Context, _m: &Matches) -> Result<Report> {
    let mut recorded = false;
    let result = rotate(ctx, &mut recorded);
    match recorded {
        true => result,
        false => audit_failure(result, ctx, EventKind::RotationFinished),
    }
}

/// `cache encryption export-key`.
pub(crate) fn run_export_key(ctx: &mut Context, _m: &Matches) -> Result<Report> {
    audit_failure(export_key(ctx), ctx, EventKind::KeyExported)
}

/// `cache encryption import-key`.
pub(crate) fn run_import_key(ctx: &mut Context, _m: &Matches) -> Result<Report> {
    audit_failure(import_key(ctx), ctx, EventKind::KeyImported)
}

/// Records a failed `kind` event when `result` is an error (its successes record themselves),
/// and passes `result` on.
fn audit_failure(result: Result<Report>, ctx: &Context, kind: EventKind) -> Result<Report> {
    if result.is_err() {
        let mut event = Event::new(kind).failed();
        if let Ok(settings) = ctx.cache_settings() {
            event = event.source(settings.encryption_key_source.as_str());
        }
        ctx.audit().record(&event);
    }
    result
}

/// The most `import-key` reads from standard input: an exported key set of many keys is a
/// few KB.
const KEY_TEXT_CEILING: u64 = 64 * 1024;

/// Takes the lock the commands changing keys or the encryption setting hold for their whole
/// run (released when the returned change is dropped; see the module documentation).
fn begin_change(ctx: &Context) -> Result<KeyChange> {
    KeyChange::begin(&ctx.config_dir, CHANGE_TIMEOUT)
        .map_err(|e| e.context("cache encryption: waiting for another key change"))
}

/// Removes the local copies of a hybrid cache: they are rewritten from the shared entries
/// on the next reads, under the keys in force then.
fn drop_local_copies(manager: &CacheManager) -> Result<()> {
    for (side, backend) in manager.backend().parts() {
        if side == "local" {
            backend
                .invalidate(Invalidation::All)
                .map_err(|e| e.context("removing the hybrid cache's local copies"))?;
        }
    }
    Ok(())
}

/// The key store the settings name.
pub(crate) fn key_store(ctx: &Context, settings: &CacheSettings) -> Result<Box<dyn KeyStore>> {
    let source = match settings.encryption_key_source {
        KeySourceKind::Keyring => KeySource::Keyring,
        KeySourceKind::Env => KeySource::Env,
        KeySourceKind::File => {
            KeySource::File(settings.encryption_key_file.clone().ok_or_else(|| {
                Error::config(
                    "cache.encryption_key_file: required when cache.encryption_key_source is file",
                )
            })?)
        }
        KeySourceKind::Kms => {
            let key_id = settings.encryption_kms_key_id.clone().ok_or_else(|| {
                Error::config(
                    "cache.encryption_kms_key_id: required when cache.encryption_key_source is kms",
                )
            })?;
            let session = ctx.build_session()?;
            // With a shared table, the wrapped keys live in it: every machine sharing the
            // table then shares the keys (KMS Decrypt permitting).
            let place: Box<dyn WrappedKeysPlace> = match settings.backend_type {
                BackendType::File => Box::new(WrappedKeysFile(
                    settings.file_cache_dir.join("keys.kms.json"),
                )),
                BackendType::Dynamodb | BackendType::Hybrid => {
                    Box::new(TableWrappedKeys::new(ctx.dynamo_backend(settings)?))
                }
            };
            KeySource::Kms {
                key_id,
                place,
                caller: Box::new(move |operation, input| {
                    session.call(crate::aws::service::Service::Kms, operation, input)
                }),
            }
        }
    };
    keys::open(source, &ctx.env)
}

/// The encryption built from every key of a key set (the active one seals).
pub(crate) fn encryption_of(keyset: &Keyset) -> Result<Encryption> {
    Encryption::new(
        keyset.active().id(),
        keyset.keys().map(|k| (k.id(), k.as_bytes())),
    )
}

/// A manager over the configured backend that reads entries with every key of `keyset`
/// (and plaintext), for re-encryption.
fn manager_reading(
    ctx: &Context,
    settings: &CacheSettings,
    keyset: Option<&Keyset>,
    store: &dyn KeyStore,
) -> Result<CacheManager> {
    let manager = ctx.cache_manager_guarded(settings, store.shared_version())?;
    Ok(match keyset {
        Some(keyset) => manager.with_encryption(encryption_of(keyset)?),
        None => manager,
    })
}

/// What a re-encryption pass did.
#[derive(Debug, Default)]
struct Pass {
    rewritten: u64,
    unchanged: u64,
    skipped: u64,
}

/// Rewrites every entry for `target` (its active key, or plaintext), one entry at a time.
/// An entry keeps its header, generations included: one that was stale stays stale.
fn reencrypt_all(manager: &CacheManager, target: Option<&Encryption>) -> Result<Pass> {
    drop_local_copies(manager)?;
    let mut pass = Pass::default();
    let wanted_key = target.map(Encryption::active_id);
    for entry in manager.backend().entries()? {
        // Already under the wanted key by its header: not read or decrypted again (a resumed
        // rotation skips what it converted). A header lying about its key fails its MAC when
        // read, which is a miss.
        if entry
            .header
            .as_ref()
            .is_some_and(|h| h.key_id.as_deref() == wanted_key)
        {
            pass.unchanged += 1;
            continue;
        }
        let bytes = match manager.backend().get(&entry.key) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => continue,
            // Damage where an entry was listed: nothing to convert.
            Err(_) => {
                pass.skipped += 1;
                continue;
            }
        };
        match manager.recode(&bytes, target) {
            Ok(None) => pass.unchanged += 1,
            Ok(Some((header, fresh))) => {
                manager
                    .backend()
                    .set(&entry.key, &fresh, header.expires_at)?;
                pass.rewritten += 1;
            }
            Err(_) => pass.skipped += 1,
        }
    }
    Ok(pass)
}

/// Entries by the key that encrypted them (`plaintext` for none, `unreadable` for damaged).
fn census(manager: &CacheManager) -> Result<BTreeMap<String, u64>> {
    let mut counts = BTreeMap::new();
    for entry in manager.backend().entries()? {
        let label = match &entry.header {
            None => "unreadable".to_string(),
            Some(h) if h.encryption == Scheme::None => "plaintext".to_string(),
            Some(h) => h.key_id.clone().unwrap_or_else(|| "unknown".into()),
        };
        *counts.entry(label).or_default() += 1;
    }
    Ok(counts)
}

fn status(ctx: &Context) -> Result<Report> {
    let settings = ctx.cache_settings()?;
    let store = key_store(ctx, &settings)?;
    let loaded = store.load();
    let manager = ctx.cache_manager(&settings)?;
    let counts = census(&manager)?;
    let (present, active, ids, rotating, problem) = match &loaded {
        Ok(Some(keyset)) => (
            true,
            Some(keyset.active().id().to_string()),
            keyset
                .ids()
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
            keyset.is_rotating(),
            None,
        ),
        Ok(None) => (false, None, Vec::new(), false, None),
        Err(e) => (false, None, Vec::new(), false, Some(e.to_string())),
    };
    let by_key: Vec<Value> = counts
        .iter()
        .filter(|(k, _)| k.as_str() != "plaintext" && k.as_str() != "unreadable")
        .map(|(k, n)| json!({"keyId": k, "entries": n, "known": ids.contains(k)}))
        .collect();
    let data = json!({
        "enabled": settings.encryption_enabled && settings.encryption_type == EncryptionType::Aes256,
        "scheme": crate::cache::crypto::SCHEME,
        "source": store.name(),
        "location": store.describe(),
        "keyPresent": present,
        "activeKeyId": active,
        "keyIds": ids,
        "rotating": rotating,
        "problem": problem,
        "entries": {
            "plaintext": counts.get("plaintext").copied().unwrap_or(0),
            "unreadable": counts.get("unreadable").copied().unwrap_or(0),
            "byKey": by_key,
        },
    });
    Ok(Report::new(
        data,
        View::Sections(vec![
            (
                "Cache encryption".into(),
                View::Record {
                    path: "",
                    fields: STATUS_FIELDS,
                },
            ),
            (
                "Entries by key".into(),
                View::List {
                    path: "entries.byKey",
                    columns: KEY_COLUMNS,
                },
            ),
        ]),
    ))
}

/// Loads the key set, or creates and saves one with a key from the store.
fn load_or_create(store: &dyn KeyStore) -> Result<(Keyset, bool)> {
    let mut created = false;
    let keyset = store.update(&mut |current| match current {
        Some(_) => {
            created = false;
            Ok(None)
        }
        None => {
            created = true;
            Ok(Some(Keyset::single(store.new_key()?)))
        }
    })?;
    let keyset = keyset.ok_or_else(|| Error::runtime("cache encryption: no key was stored"))?;
    Ok((keyset, created))
}

fn set_enabled(ctx: &mut Context, enabled: bool) -> Result<()> {
    ctx.config.set(
        "cache.encryption_enabled",
        if enabled { "true" } else { "false" },
    )?;
    ctx.config.save()?;
    if ctx.env.get("AWSIDEMAN_CACHE_ENCRYPTION").is_some() {
        ctx.warn("AWSIDEMAN_CACHE_ENCRYPTION is set and overrides cache.encryption_enabled");
    }
    Ok(())
}

fn enable(ctx: &mut Context) -> Result<Report> {
    let settings = ctx.cache_settings()?;
    let change = begin_change(ctx)?;
    let store = key_store(ctx, &settings)?;
    let (keyset, created) = change.switch(|| {
        let loaded = load_or_create(store.as_ref())?;
        set_enabled(ctx, true)?;
        Ok(loaded)
    })?;
    let audit = ctx.audit();
    if created {
        audit.record(
            &Event::new(EventKind::KeyGenerated)
                .key_id(keyset.active().id())
                .source(store.name()),
        );
    }
    let manager = manager_reading(ctx, &settings, Some(&keyset), store.as_ref())?;
    let target = encryption_of(&keyset)?;
    let pass = reencrypt_all(&manager, Some(&target))?;
    audit.record(
        &Event::new(EventKind::EncryptionEnabled)
            .key_id(keyset.active().id())
            .source(store.name())
            .detail("key_created", created)
            .detail("encrypted", pass.rewritten)
            .detail("already_encrypted", pass.unchanged)
            .detail("skipped", pass.skipped),
    );
    let data = json!({
        "enabled": true,
        "source": store.name(),
        "keyId": keyset.active().id(),
        "keyCreated": created,
        "encrypted": pass.rewritten,
        "alreadyEncrypted": pass.unchanged,
        "skipped": pass.skipped,
    });
    Ok(Report::message(
        data,
        format!(
            "cache encryption enabled with key {} in {} ({}); {} entries encrypted, {} skipped",
            keyset.active().id(),
            store.name(),
            if created { "new key" } else { "existing key" },
            pass.rewritten,
            pass.skipped
        ),
    ))
}

fn disable(ctx: &mut Context, m: &Matches) -> Result<Report> {
    ctx.confirm(m, "disable cache encryption and store entries in plaintext")?;
    let settings = ctx.cache_settings()?;
    let change = begin_change(ctx)?;
    let store = key_store(ctx, &settings)?;
    let keyset = change.switch(|| {
        let keyset = store.load()?;
        set_enabled(ctx, false)?;
        Ok(keyset)
    })?;
    let manager = manager_reading(ctx, &settings, keyset.as_ref(), store.as_ref())?;
    let pass = reencrypt_all(&manager, None)?;
    let mut event = Event::new(EventKind::EncryptionDisabled)
        .source(store.name())
        .detail("decrypted", pass.rewritten)
        .detail("skipped", pass.skipped);
    if let Some(keyset) = &keyset {
        event = event.key_id(keyset.active().id());
    }
    ctx.audit().record(&event);
    ctx.warn("cached Identity Center data is now stored unencrypted (the key was kept)");
    Ok(Report::message(
        json!({"enabled": false, "decrypted": pass.rewritten, "skipped": pass.skipped}),
        format!(
            "cache encryption disabled; {} entries decrypted, {} skipped",
            pass.rewritten, pass.skipped
        ),
    ))
}

/// `rotate`; sets `finished_recorded` once it has recorded how the rotation finished.
///
/// With a key store other machines share (kms in the cache table), a rotation another
/// machine starts meanwhile takes over: this one's writes stop landing (its key set is no
/// longer the stored one), it leaves the old keys for the other to retire, and says so.
fn rotate(ctx: &mut Context, finished_recorded: &mut bool) -> Result<Report> {
    let settings = ctx.cache_settings()?;
    let change = begin_change(ctx)?;
    let store = key_store(ctx, &settings)?;
    let mut resumed = false;
    let mut old_ids: Vec<String> = Vec::new();
    // From the switch on, processes that loaded the old key set store nothing. Saved with
    // both keys before any entry changes: a crash from here on is resumable.
    let keyset = change.switch(|| {
        store.update(&mut |current| {
            let mut keys = current.ok_or_else(|| {
                Error::usage(
                    "cache encryption rotate: no key yet (run 'awsideman cache encryption \
                     enable')",
                )
            })?;
            old_ids = keys.ids().iter().map(|s| s.to_string()).collect();
            resumed = keys.is_rotating();
            if resumed {
                return Ok(None);
            }
            keys.add_active(store.new_key()?);
            Ok(Some(keys))
        })
    })?;
    let keyset = keyset.ok_or_else(|| Error::runtime("cache encryption rotate: no key set"))?;
    let target_id = keyset.active().id().to_string();
    let audit = ctx.audit();
    audit.record(
        &Event::new(EventKind::RotationStarted)
            .key_id(&target_id)
            .source(store.name())
            .detail("new_key_id", target_id.as_str())
            .detail(
                "old_key_ids",
                old_ids
                    .iter()
                    .filter(|id| **id != target_id)
                    .cloned()
                    .collect::<Vec<_>>(),
            )
            .detail("resumed", resumed),
    );
    let manager = manager_reading(ctx, &settings, Some(&keyset), store.as_ref())?;
    let target = encryption_of(&keyset)?;
    let old: Vec<String> = keyset
        .ids()
        .iter()
        .filter(|id| **id != target_id)
        .map(|s| s.to_string())
        .collect();
    let mut pass = Pass::default();
    let mut still_old = 0;
    let mut superseded = false;
    for attempt in 0..ROTATION_PASSES {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(100 << (attempt - 1)));
        }
        let this = match reencrypt_all(&manager, Some(&target)) {
            Ok(this) => this,
            Err(e) if e.aws_code() == Some(KEY_SET_CHANGED) => {
                superseded = true;
                break;
            }
            Err(e) => return Err(e),
        };
        pass.rewritten += this.rewritten;
        (pass.unchanged, pass.skipped) = (this.unchanged, this.skipped);
        let counts = census(&manager)?;
        still_old = old.iter().filter_map(|id| counts.get(id)).sum();
        if still_old == 0 {
            break;
        }
    }
    let finished = Event::new(EventKind::RotationFinished)
        .key_id(&target_id)
        .source(store.name())
        .detail("reencrypted", pass.rewritten)
        .detail("unchanged", pass.unchanged)
        .detail("skipped", pass.skipped)
        .detail("resumed", resumed);
    if !superseded && still_old > 0 {
        audit.record(&finished.detail("still_on_old_keys", still_old).failed());
        *finished_recorded = true;
        return Err(Error::runtime(format!(
            "cache encryption rotate: {still_old} entries are still on the old key; run rotate again"
        )));
    }
    // Retire the keys this rotation converted away from, unless a newer rotation changed
    // the active key meanwhile (it retires them when it is done).
    let mut retired = Vec::new();
    if !superseded {
        store.update(&mut |current| {
            let Some(mut keys) = current else {
                return Ok(None);
            };
            if keys.active().id() != target_id {
                superseded = true;
                return Ok(None);
            }
            retired = keys.retire(&old);
            Ok((!retired.is_empty()).then_some(keys))
        })?;
    }
    audit.record(
        &finished
            .detail("retired_key_ids", retired.clone())
            .detail("superseded", superseded),
    );
    *finished_recorded = true;
    let message = match superseded {
        true => format!(
            "rotated to key {target_id}, but another machine changed the keys meanwhile: it \
             finishes the rotation and retires the old keys; {} entries re-encrypted",
            pass.rewritten
        ),
        false => format!(
            "rotated to key {target_id}{}: {} entries re-encrypted, {} skipped; retired {}",
            if resumed { " (resumed)" } else { "" },
            pass.rewritten,
            pass.skipped,
            if retired.is_empty() {
                "nothing".to_string()
            } else {
                retired.join(", ")
            }
        ),
    };
    Ok(Report::message(
        json!({
            "activeKeyId": target_id,
            "retiredKeyIds": retired,
            "reencrypted": pass.rewritten,
            "unchanged": pass.unchanged,
            "skipped": pass.skipped,
            "resumed": resumed,
            "superseded": superseded,
        }),
        message,
    ))
}

fn export_key(ctx: &Context) -> Result<Report> {
    let settings = ctx.cache_settings()?;
    let store = key_store(ctx, &settings)?;
    let keyset = store.load()?.ok_or_else(|| {
        Error::not_found(format!("no cache encryption key in {}", store.describe()))
    })?;
    eprintln!(
        "awsideman: warning: this is the cache encryption key; anyone holding it can read the cache"
    );
    ctx.audit().record(
        &Event::new(EventKind::KeyExported)
            .key_id(keyset.active().id())
            .source(store.name())
            .detail("keys", keyset.ids().len()),
    );
    let text = keyset.to_text();
    let data: Value =
        serde_json::from_str(&text).map_err(|e| Error::runtime(format!("export-key: {e}")))?;
    Ok(Report::message(data, text.as_str()))
}

fn import_key(ctx: &Context) -> Result<Report> {
    let settings = ctx.cache_settings()?;
    let mut text = zeroize::Zeroizing::new(String::new());
    std::io::stdin()
        .take(KEY_TEXT_CEILING + 1)
        .read_to_string(&mut text)
        .map_err(|e| Error::runtime(format!("import-key: reading standard input: {e}")))?;
    if text.len() as u64 > KEY_TEXT_CEILING {
        return Err(Error::usage(format!(
            "import-key: standard input holds more than {} KB: not a key exported by \
             'cache encryption export-key'",
            KEY_TEXT_CEILING / 1024
        )));
    }
    let imported = Keyset::from_text(text.trim())?;
    let change = begin_change(ctx)?;
    let store = key_store(ctx, &settings)?;
    let keyset = change.switch(|| {
        store.update(&mut |current| {
            // Merge: keys already here stay readable; the imported active key becomes active.
            let mut keyset = match current {
                Some(existing) => existing,
                None => Keyset::single(imported.active().clone()),
            };
            for key in imported.keys().filter(|k| k.id() != imported.active().id()) {
                if keyset.get(key.id()).is_none() {
                    keyset.add_active(key.clone());
                }
            }
            keyset.add_active(imported.active().clone());
            Ok(Some(keyset))
        })
    })?;
    let keyset = keyset.ok_or_else(|| Error::runtime("import-key: no key set was stored"))?;
    ctx.audit().record(
        &Event::new(EventKind::KeyImported)
            .key_id(keyset.active().id())
            .source(store.name())
            .detail("keys_imported", imported.ids().len())
            .detail("keys", keyset.ids().len()),
    );
    eprintln!(
        "awsideman: warning: imported a cache encryption key into {}",
        store.describe()
    );
    Ok(Report::message(
        json!({"activeKeyId": keyset.active().id(), "keyIds": keyset.ids()}),
        format!("imported; active key {}", keyset.active().id()),
    ))
}
