//! The `dynamodb` backend: cache entries in one DynamoDB table, shared by every machine that
//! can reach it.
//!
//! Every call goes through an injected [`DynamoCaller`] (the lead wires it to the one AWS
//! transport: same signing, retries and `--debug` lines); this module never opens a socket
//! of its own. It stores opaque envelopes and never decodes more than their header.
//!
//! Reads: one strongly consistent `BatchGetItem` per lookup, of the entry and the
//! generations of its tags together (see `generation.rs`), plus one `BatchGetItem` per 5
//! chunks of a chunked entry; an item past its `ttl` is a miss, because DynamoDB deletes
//! expired items up to 48 hours late. A tag without a generation gets one (a conditional
//! `PutItem`) before the miss reads AWS. Writes: chunk items first, then the parent item
//! last (so a reader never sees a partly written entry), then the chunks of the entry it
//! replaced, found by key through `PutItem`'s old image: never a Scan. An invalidation is
//! one `PutItem` of a new generation per tag; nothing else is listed, kept or removed, and
//! no clock is compared. A missing table is created on the first write. Item layout and
//! sizes: `item.rs`; batches and scans: `wire.rs`; the table itself: `admin.rs`.

mod admin;
mod item;
mod wire;
mod wrapped_keys;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Map, Value};

pub(crate) use admin::{RepairReport, TableSetup};
pub use wire::{BATCH_GET_MAX, BATCH_WRITE_MAX};
pub(crate) use wrapped_keys::{TableWrappedKeys, WRAPPED_KEYS_ITEM};

use self::admin::is_missing_table;
use self::item::{Chunked, EntryMeta, ItemKind};
use self::wire::{Condition, Table, Write, key_in};
use super::backend::{BackendStats, CacheBackend, EntryInfo, Invalidation, Lookup};
use super::envelope::{DecodeError, Envelope};
use super::generation::{self, Generations};
use super::key::CacheKey;
use crate::aws::transport::TransportSettings;
use crate::clock::now_secs;
use crate::config::CacheSettings;
use crate::error::{Error, Result};

/// Calls one DynamoDB operation (`GetItem`) with its JSON input and returns the JSON reply;
/// AWS errors keep their code (`ResourceNotFoundException`).
pub type DynamoCaller = Box<dyn Fn(&str, &Value) -> Result<Value> + Send + Sync>;

/// Every DynamoDB operation this backend calls (data plane in `wire.rs`, table management in
/// `admin.rs`): the source of `awsideman iam-policy cache-dynamodb`. A test checks it against
/// the operation names the module passes to its [`DynamoCaller`], both ways.
pub(crate) const DYNAMODB_OPERATIONS: &[&str] = &[
    "GetItem",
    "PutItem",
    "TransactWriteItems",
    "BatchGetItem",
    "BatchWriteItem",
    "Scan",
    "DescribeTable",
    "CreateTable",
    "DescribeTimeToLive",
    "UpdateTimeToLive",
    "DeleteTable",
];

/// The IAM actions that allow [`DYNAMODB_OPERATIONS`]: each operation's own, except
/// `TransactWriteItems`, which has none and needs the actions of what it does (a put and a
/// condition check).
pub(crate) fn dynamodb_iam_actions() -> Vec<&'static str> {
    let mut actions: Vec<&'static str> = DYNAMODB_OPERATIONS
        .iter()
        .flat_map(|op| match *op {
            "TransactWriteItems" => &["PutItem", "ConditionCheckItem"][..],
            _ => std::slice::from_ref(op),
        })
        .copied()
        .collect();
    actions.sort_unstable();
    actions.dedup();
    actions
}

/// The AWS error code of a store refused because the cache's shared key set changed since
/// the writer loaded it (see [`DynamoBackend::with_key_guard`]).
pub(crate) const KEY_SET_CHANGED: &str = "KeySetChanged";

/// The largest item AWS accepts: 400 KB, attribute names included.
pub const AWS_ITEM_LIMIT: usize = 400 * 1024;

/// The default item limit of the backend: AWS's less a margin that also fits moto_server,
/// which refuses items over 405,000 bytes.
pub(crate) const DEFAULT_MAX_ITEM_BYTES: usize = 400_000;

/// How long an unchanged generation item is kept (its `ttl`, renewed whenever its token
/// changes). When DynamoDB removes an idle one, entries that recorded it become misses and
/// the next lookup creates a new one: so this bounds the table's non-entry items without
/// ever making a stale entry current.
pub(crate) const GENERATION_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// How the backend uses its table.
#[derive(Debug, Clone, PartialEq)]
pub struct DynamoSettings {
    /// Read with strongly consistent reads.
    pub consistent_read: bool,
    /// The largest item written, as DynamoDB counts it (at most [`AWS_ITEM_LIMIT`]);
    /// larger entries are split into chunk items.
    pub max_item_bytes: usize,
    /// KMS key encrypting a table this backend creates (`None`: DynamoDB's default).
    pub sse_kms_key_id: Option<String>,
    /// Tags of a table this backend creates.
    pub tags: Vec<(String, String)>,
    /// Retries of the unprocessed part of a batch, after the first attempt.
    pub batch_retries: u32,
    /// The first backoff before retrying unprocessed batch requests (doubling, full jitter).
    pub batch_backoff_base: Duration,
    /// Parallel segments of a scan that clears the table.
    pub scan_segments: u32,
    /// How long to wait for a new table to become ACTIVE.
    pub table_wait: Duration,
    /// How long the table is left alone after a call failed in a way the transport's retries
    /// could not fix (no usable answer, or throttling and 5xx outlasting the retries): calls
    /// in that time fail at once, so a command whose table is down costs one failed call
    /// (at most `cache.dynamodb_max_retries` + 1 timeouts), not one per cache read.
    pub unavailable_pause: Duration,
}

impl Default for DynamoSettings {
    fn default() -> DynamoSettings {
        DynamoSettings {
            consistent_read: false,
            max_item_bytes: DEFAULT_MAX_ITEM_BYTES,
            sse_kms_key_id: None,
            tags: Vec::new(),
            batch_retries: 8,
            batch_backoff_base: Duration::from_millis(50),
            scan_segments: 4,
            table_wait: Duration::from_secs(120),
            unavailable_pause: Duration::from_secs(30),
        }
    }
}

impl DynamoSettings {
    /// The settings the cache configuration asks for (consistency, KMS key, tags).
    pub(crate) fn from_cache(cache: &CacheSettings) -> DynamoSettings {
        DynamoSettings {
            consistent_read: cache.dynamodb_consistent_read,
            sse_kms_key_id: cache.dynamodb_kms_key_id.clone(),
            tags: cache
                .dynamodb_table_tags
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            ..DynamoSettings::default()
        }
    }
}

/// The transport settings for the table's session: `base` with the request timeout of
/// `cache.dynamodb_timeout_ms` (connecting included) and `cache.dynamodb_max_retries`
/// retries after the first attempt.
pub fn transport_settings(base: &TransportSettings, cache: &CacheSettings) -> TransportSettings {
    let mut settings = base.clone();
    let timeout = Duration::from_millis(cache.dynamodb_timeout_ms.max(1));
    settings.http.read_timeout = timeout;
    settings.http.connect_timeout = settings.http.connect_timeout.min(timeout);
    settings.retry.max_attempts = u32::try_from(cache.dynamodb_max_retries)
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    settings
}

/// The DynamoDB backend.
pub struct DynamoBackend {
    table: Table,
    location: String,
    /// Set once this process created (or found) the table after a write found it missing;
    /// the lock makes concurrent writers wait for that instead of failing.
    ensured: Mutex<bool>,
    /// The version of the shared wrapped key document the entries this backend writes are
    /// sealed under, when the kms key source keeps it in this table.
    key_guard: Option<String>,
    /// Set once a guarded write found the key set changed: later writes are not tried.
    key_set_changed: std::sync::atomic::AtomicBool,
}

/// What one lookup read: the entry's parent item (if any) and the generation items found.
struct Read {
    parent: Option<Map<String, Value>>,
    generations: Generations,
}

impl DynamoBackend {
    /// The backend over table `table`, calling DynamoDB through `caller`. Calls nothing yet.
    pub fn new(table: String, caller: DynamoCaller, settings: DynamoSettings) -> DynamoBackend {
        let mut settings = settings;
        settings.max_item_bytes = settings.max_item_bytes.min(AWS_ITEM_LIMIT);
        DynamoBackend {
            location: format!("dynamodb table {table}"),
            table: Table::new(table, caller, settings),
            ensured: Mutex::new(false),
            key_guard: None,
            key_set_changed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The same backend, writing an entry only while the kms key source's wrapped key
    /// document in this table ([`WRAPPED_KEYS_ITEM`]) still has `version`, the version whose
    /// keys sealed it: each entry's parent item is put in a transaction with that check
    /// (`TransactWriteItems`: a put and a condition check), so once another machine changes
    /// the key set (a rotation), no entry sealed under the old set can land. A refused
    /// write is the error [`KEY_SET_CHANGED`], and later writes are not tried. (The chunks
    /// of an entry such a write replaces are then left to DynamoDB's TTL.)
    pub(crate) fn with_key_guard(mut self, version: Option<String>) -> DynamoBackend {
        self.key_guard = version;
        self
    }

    /// The same backend, saying where the table is (a region or an endpoint URL):
    /// [`CacheBackend::location`] reads `dynamodb table <name> (<where>)`.
    pub fn with_location(mut self, place: &str) -> DynamoBackend {
        self.location = format!("dynamodb table {} ({place})", self.table.name);
        self
    }

    /// The table name.
    pub(crate) fn table_name(&self) -> &str {
        &self.table.name
    }

    /// Creates the table when missing (`CreateTable` PAY_PER_REQUEST with the configured KMS
    /// key and tags), waits until it is ACTIVE, and turns TTL on for `ttl` (tolerating
    /// endpoints without TTL).
    pub fn ensure_table(&self) -> Result<TableSetup> {
        admin::ensure_table(&self.table)
    }

    /// A JSON summary of the table: `table`, `location`, `arn`, `status`, `items`,
    /// `size_bytes`, `billing_mode`, `key_schema` (`attribute`, `type`, `key_type`), `ttl`
    /// ([`TtlState`]) and `encryption` (`type`, `status`, `kms_key`). A not-found error when
    /// the table does not exist.
    pub fn describe_table(&self) -> Result<Value> {
        admin::describe_summary(&self.table, &self.location)
    }

    /// Checks the key schema (reporting exactly what is wrong: it cannot be changed) and the
    /// status, and turns TTL on when it is off.
    pub fn repair(&self) -> Result<RepairReport> {
        admin::repair(&self.table)
    }

    /// Deletes the table; `false` when it did not exist.
    pub fn delete_table(&self) -> Result<bool> {
        admin::delete_table(&self.table)
    }

    /// Removes every item but the kms key source's wrapped keys (entries, chunks,
    /// generations, items of earlier builds, anything awsideman did not write) with a
    /// parallel projected scan and batch deletes, calling `progress` with the number of
    /// entries removed so far after each page. Returns how many entries were removed.
    ///
    /// Removing the generations is safe: an entry a concurrent writer stores against one of
    /// them is a miss, since a removed generation never matches again.
    pub fn clear(&self, progress: &(dyn Fn(u64) + Sync)) -> Result<u64> {
        let removed = AtomicU64::new(0);
        let projection = [item::KEY, item::SIZE];
        let outcome = self
            .table
            .scan(&projection, self.table.settings.scan_segments, &|items| {
                let mut entries = 0;
                let mut writes = Vec::new();
                for found in &items {
                    let Some(key) = key_in(found) else { continue };
                    // The kms key source's wrapped keys are no cache entry: a clear keeps them.
                    if key == WRAPPED_KEYS_ITEM {
                        continue;
                    }
                    let entry =
                        item::kind_of(key) == ItemKind::Entry && found.contains_key(item::SIZE);
                    entries += u64::from(entry);
                    writes.push(Write::Delete(key.to_string()));
                }
                self.table.batch_write(&writes)?;
                progress(removed.fetch_add(entries, Ordering::Relaxed) + entries);
                Ok(())
            });
        self.tolerate_missing(outcome, ())
            .map_err(|e| self.failed("clearing", e))?;
        Ok(removed.into_inner())
    }

    /// `outcome`, or `value` when it failed because the table does not exist.
    fn tolerate_missing<T>(&self, outcome: Result<T>, value: T) -> Result<T> {
        match outcome {
            Err(e) if is_missing_table(&e) => Ok(value),
            other => other,
        }
    }

    /// Runs a write; when it finds the table missing, creates the table (once per process;
    /// concurrent writers wait for it) and runs the write again.
    fn writing<T>(&self, write: impl Fn() -> Result<T>) -> Result<T> {
        match write() {
            Err(e) if is_missing_table(&e) => {
                {
                    let mut ensured = self.ensured.lock().unwrap_or_else(|p| p.into_inner());
                    if !*ensured {
                        self.ensure_table()?;
                        *ensured = true;
                    }
                }
                write()
            }
            other => other,
        }
    }

    fn failed(&self, doing: &str, e: Error) -> Error {
        e.context(format!("{doing} {}", self.location))
    }

    /// Writes an entry: chunks, then the parent, then removes the chunks of the entry it
    /// replaced.
    fn write_entry(&self, key: &CacheKey, bytes: &[u8], expires_at: u64) -> Result<()> {
        let header = Envelope::decode_header(bytes).ok();
        let write_id = item::new_write_id();
        let meta = EntryMeta {
            key: key.as_str(),
            operation: header.as_ref().map_or("", |h| h.operation.as_str()),
            created_at: header.as_ref().map_or_else(now_secs, |h| h.created_at),
            expires_at,
            write_id: &write_id,
        };
        let layout = item::plan(&meta, bytes.len(), self.table.settings.max_item_bytes)
            .map_err(Error::runtime)?;
        let (chunks, parent) = item::build(&meta, bytes, &layout);
        let chunk_keys: Vec<String> = chunks
            .iter()
            .filter_map(key_in)
            .map(str::to_string)
            .collect();
        let undo = || {
            let writes: Vec<Write> = chunk_keys.iter().cloned().map(Write::Delete).collect();
            let _ = self.table.batch_write(&writes);
        };
        if self.key_set_changed.load(Ordering::Relaxed) {
            return Err(key_set_changed());
        }
        let puts: Vec<Write> = chunks.into_iter().map(Write::Put).collect();
        if let Err(e) = self.table.batch_write(&puts) {
            undo();
            return Err(e);
        }
        if let Some(version) = &self.key_guard {
            let unchanged = wrapped_keys::unchanged(version);
            return match self
                .table
                .put_item_checked(parent, WRAPPED_KEYS_ITEM, &unchanged)
            {
                Ok(true) => Ok(()),
                Ok(false) => {
                    undo();
                    self.key_set_changed.store(true, Ordering::Relaxed);
                    Err(key_set_changed())
                }
                Err(e) => {
                    undo();
                    Err(e)
                }
            };
        }
        let old = match self.table.put_item_if(parent, None) {
            Ok(Some(old)) => old,
            Ok(None) => {
                undo();
                return Ok(());
            }
            Err(e) => {
                undo();
                return Err(e);
            }
        };
        if let Some(old) = old.as_ref().and_then(item::chunked_of)
            && old.write_id != write_id
        {
            let writes: Vec<Write> = item::chunk_keys(key.as_str(), &old)
                .into_iter()
                .map(Write::Delete)
                .collect();
            self.table
                .batch_write(&writes)
                .map_err(|e| e.context("deleting the chunks of the entry it replaced"))?;
        }
        Ok(())
    }

    /// Reads the parent item of `key` (when given) and the generation items of `tags` in
    /// one strongly consistent `BatchGetItem`.
    fn read(&self, key: Option<&CacheKey>, tags: &[String]) -> Result<Read> {
        let mut keys: Vec<String> = tags.iter().map(|t| item::generation_key(t)).collect();
        if let Some(key) = key {
            keys.push(key.as_str().to_string());
        }
        let found = self.table.batch_get_consistent(&keys, &[])?;
        let mut read = Read {
            parent: None,
            generations: Generations::new(),
        };
        for found in found {
            let Some(found_key) = key_in(&found) else {
                continue;
            };
            if key.is_some_and(|k| k.as_str() == found_key) {
                read.parent = Some(found);
                continue;
            }
            let (Some(tag), Some(token)) = (
                item::get_s(&found, item::TAG),
                item::get_s(&found, item::GENERATION),
            ) else {
                continue;
            };
            if tags.iter().any(|t| t == tag)
                && item::generation_key(tag) == found_key
                && generation::is_token(token)
            {
                read.generations.insert(tag, token);
            }
        }
        Ok(read)
    }

    /// The whole envelope of a parent item (with its chunks), or `None` when it is no
    /// usable entry (expired, of an earlier build, a chunk gone because the entry was
    /// replaced meanwhile).
    fn envelope_of(&self, key: &CacheKey, parent: &Map<String, Value>) -> Result<Option<Vec<u8>>> {
        if !parent.contains_key(item::DATA) {
            return Ok(None);
        }
        if item::get_n(parent, item::TTL).is_some_and(|ttl| ttl <= now_secs()) {
            return Ok(None);
        }
        let data = binary_data(parent)?;
        match item::chunked_of(parent) {
            None => Ok(Some(data)),
            Some(chunked) => self.read_chunks(key, &chunked, data),
        }
    }

    /// Reads a chunked entry's parts after its parent item, one `BatchGetItem` of chunks at
    /// a time; `None` at the first missing chunk (the entry was replaced between the reads,
    /// or its parent is damaged), so a wrong chunk count costs one call, not one per chunk
    /// it claims.
    fn read_chunks(
        &self,
        key: &CacheKey,
        chunked: &Chunked,
        mut data: Vec<u8>,
    ) -> Result<Option<Vec<u8>>> {
        let keys = item::chunk_keys(key.as_str(), chunked);
        for window in keys.chunks(self.table.whole_items_per_call()) {
            let mut parts: Vec<Option<Vec<u8>>> = vec![None; window.len()];
            for found in self.table.batch_get(window, &[])? {
                let Some(index) = key_in(&found).and_then(|k| window.iter().position(|c| c == k))
                else {
                    continue;
                };
                parts[index] = Some(binary_data(&found)?);
            }
            for part in parts {
                match part {
                    Some(part) => data.extend_from_slice(&part),
                    None => return Ok(None),
                }
            }
        }
        Ok(Some(data))
    }

    /// The raw envelope of `key`: its parent (read with the configured consistency) and
    /// chunks. A chunk can vanish only when another writer replaced the entry between the
    /// reads: read again, once, then call it damaged.
    fn read_entry(&self, key: &CacheKey) -> Result<Option<Vec<u8>>> {
        for _ in 0..2 {
            let Some(parent) = self.table.get_item(key.as_str(), &[])? else {
                return Ok(None);
            };
            if !parent.contains_key(item::DATA) {
                return Ok(None);
            }
            let data = binary_data(&parent)?;
            let Some(chunked) = item::chunked_of(&parent) else {
                return Ok(Some(data));
            };
            if let Some(whole) = self.read_chunks(key, &chunked, data)? {
                return Ok(Some(whole));
            }
        }
        Err(Error::runtime(format!(
            "entry {}…: a chunk is missing",
            &key.as_str()[..12]
        )))
    }

    /// Gives each tag of `wanted` without a generation the token `wanted` names (a
    /// `PutItem` conditional on there being none), then reads the current generations of
    /// all of them.
    fn create(&self, wanted: &Generations) -> Result<Generations> {
        let ttl = now_secs().saturating_add(GENERATION_TTL.as_secs());
        let absent = Condition {
            expression: "attribute_not_exists(#k)".into(),
            names: Map::from_iter([("#k".to_string(), Value::from(item::KEY))]),
            values: Map::new(),
        };
        let mut created = Generations::new();
        let mut lost = Vec::new();
        for (tag, token) in wanted.iter() {
            let put = self.writing(|| {
                self.table
                    .put_item_if(item::generation_item(tag, token, ttl), Some(&absent))
            })?;
            match put {
                Some(_) => created.insert(tag, token),
                None => lost.push(tag.to_string()),
            }
        }
        if !lost.is_empty() {
            for (tag, token) in self.read(None, &lost)?.generations.iter() {
                created.insert(tag, token);
            }
        }
        Ok(created)
    }

    /// Gives every tag a new generation: one `PutItem` each.
    fn move_on(&self, tags: &[String]) -> Result<u64> {
        let ttl = now_secs().saturating_add(GENERATION_TTL.as_secs());
        let mut moved = 0;
        let mut first_error = None;
        for tag in tags {
            let outcome = generation::new_token().and_then(|token| {
                self.writing(|| {
                    self.table
                        .put_item_if(item::generation_item(tag, &token, ttl), None)
                        .map(drop)
                })
            });
            match outcome {
                Ok(()) => moved += 1,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            None => Ok(moved),
            Some(e) => Err(e),
        }
    }

    /// Removes entries `keys` and their chunks; returns how many entries existed.
    fn remove_entries(&self, keys: &[String]) -> Result<u64> {
        let projection = [item::KEY, item::CHUNKS, item::WRITE_ID, item::DATA];
        let found = self.table.batch_get(keys, &projection)?;
        let mut writes = Vec::new();
        let mut removed = 0;
        for parent in &found {
            let Some(key) = key_in(parent).filter(|k| item::kind_of(k) == ItemKind::Entry) else {
                continue;
            };
            removed += u64::from(parent.contains_key(item::DATA));
            if let Some(chunked) = item::chunked_of(parent) {
                writes.extend(
                    item::chunk_keys(key, &chunked)
                        .into_iter()
                        .map(Write::Delete),
                );
            }
            writes.push(Write::Delete(key.to_string()));
        }
        self.table.batch_write(&writes)?;
        Ok(removed)
    }

    /// Every entry (parent) item of the table, whole or projected to `projection`.
    fn entry_items(&self, projection: &[&str]) -> Result<Vec<Map<String, Value>>> {
        let found = std::sync::Mutex::new(Vec::new());
        let mut projection = projection.to_vec();
        if !projection.is_empty() && !projection.contains(&item::SIZE) {
            projection.push(item::SIZE);
        }
        let outcome = self.table.scan(&projection, 1, &|items| {
            let entries = items.into_iter().filter(|i| {
                key_in(i).is_some_and(|k| item::kind_of(k) == ItemKind::Entry)
                    && (i.contains_key(item::SIZE) || i.contains_key(item::DATA))
            });
            found
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(entries);
            Ok(())
        });
        self.tolerate_missing(outcome, ())?;
        Ok(found.into_inner().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The error of a store refused by the key guard.
fn key_set_changed() -> Error {
    Error::aws(
        "the cache's key set was changed on another machine (a rotation) since this command \
         loaded it; the answer was not cached (the next command uses the new keys)",
        KEY_SET_CHANGED,
        409,
    )
}

/// The `data` attribute of an item, decoded.
fn binary_data(item: &Map<String, Value>) -> Result<Vec<u8>> {
    let key = key_in(item).unwrap_or("?");
    match item::get_b(item, item::DATA) {
        Some(Ok(bytes)) => Ok(bytes),
        Some(Err(why)) => Err(Error::runtime(format!("item {key}: {why}"))),
        None => Err(Error::runtime(format!("item {key} has no binary data"))),
    }
}

impl CacheBackend for DynamoBackend {
    fn name(&self) -> &'static str {
        "dynamodb"
    }

    fn shared_between_machines(&self) -> bool {
        true
    }

    fn clear_all(&self, progress: &(dyn Fn(u64) + Sync)) -> Result<u64> {
        self.clear(progress)
    }

    fn location(&self) -> String {
        self.location.clone()
    }

    fn lookup(&self, key: &CacheKey, tags: &[String]) -> Result<Lookup> {
        let looked = (|| {
            // A missing table is an empty one: it is created below if a generation is needed.
            let read = match self.read(Some(key), tags) {
                Err(e) if is_missing_table(&e) => Read {
                    parent: None,
                    generations: Generations::new(),
                },
                other => other?,
            };
            let mut bytes = match &read.parent {
                Some(parent) => self.envelope_of(key, parent)?,
                None => None,
            };
            if let Some(found) = &bytes {
                let current = match Envelope::decode_header(found) {
                    Ok(header) => read.generations.current_for(tags, &header.gens),
                    Err(DecodeError::Version(_)) => false,
                    // Damage: the manager finds it, reports it once and removes it.
                    Err(_) => true,
                };
                if !current {
                    bytes = None;
                }
            }
            let mut generations = read.generations;
            if bytes.is_none() {
                let missing = super::backend::missing_generations(tags, &generations)?;
                if !missing.as_map().is_empty() {
                    for (tag, token) in self.create(&missing)?.iter() {
                        generations.insert(tag, token);
                    }
                }
            }
            Ok(Lookup {
                bytes: bytes.map(Into::into),
                generations,
                problem: None,
                private: false,
            })
        })();
        looked.map_err(|e| self.failed("reading", e))
    }

    fn get(&self, key: &CacheKey) -> Result<Option<Vec<u8>>> {
        let outcome = self.read_entry(key);
        self.tolerate_missing(outcome, None)
            .map_err(|e| self.failed("reading", e))
    }

    fn set(&self, key: &CacheKey, bytes: &[u8], expires_at: u64) -> Result<()> {
        self.writing(|| self.write_entry(key, bytes, expires_at))
            .map_err(|e| self.failed("writing to", e))
    }

    fn generations(&self, tags: &[String]) -> Result<Generations> {
        let outcome = self.read(None, tags).map(|r| r.generations);
        self.tolerate_missing(outcome, Generations::new())
            .map_err(|e| self.failed("reading", e))
    }

    fn create_generations(&self, wanted: &Generations) -> Result<Generations> {
        self.create(wanted)
            .map_err(|e| self.failed("writing to", e))
    }

    fn invalidate(&self, what: Invalidation<'_>) -> Result<u64> {
        let outcome = match what {
            Invalidation::Keys(keys) => {
                let keys: Vec<String> = keys.iter().map(|k| k.as_str().to_string()).collect();
                self.tolerate_missing(self.remove_entries(&keys), 0)
            }
            Invalidation::Tags(tags) => self.move_on(tags),
            Invalidation::All => return self.clear(&|_| {}),
        };
        outcome.map_err(|e| self.failed("invalidating entries of", e))
    }

    fn entries(&self) -> Result<Vec<EntryInfo>> {
        let items = self
            .entry_items(&[])
            .map_err(|e| self.failed("listing", e))?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let key = CacheKey::parse(key_in(item)?)?;
                let data = item::get_b(item, item::DATA).and_then(|d| d.ok());
                Some(EntryInfo {
                    key,
                    size: item::get_n(item, item::SIZE)
                        .or_else(|| data.as_ref().map(|d| d.len() as u64))
                        .unwrap_or(0),
                    header: data.and_then(|d| Envelope::decode_header(&d).ok()),
                })
            })
            .collect())
    }

    fn stats(&self) -> Result<BackendStats> {
        let items = self
            .entry_items(&[item::KEY, item::SIZE])
            .map_err(|e| self.failed("measuring", e))?;
        Ok(BackendStats {
            entries: items.len() as u64,
            bytes: items
                .iter()
                .filter_map(|i| item::get_n(i, item::SIZE))
                .fold(0, u64::saturating_add),
            limit_bytes: None,
        })
    }

    fn health_check(&self) -> Result<()> {
        let probe = super::backend::probe_key()?;
        let bytes = super::backend::probe_entry(&probe);
        self.set(&probe, &bytes, now_secs() + 60)?;
        let read = self.get(&probe)?;
        self.invalidate(Invalidation::Keys(std::slice::from_ref(&probe)))?;
        if read.as_deref() != Some(&bytes[..]) {
            return Err(Error::runtime(format!(
                "{}: a probe entry did not read back",
                self.location
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod operation_list_tests {
    use std::collections::BTreeSet;

    use super::DYNAMODB_OPERATIONS;

    /// The operation names passed as `call("Name"` in the non-test part of `source`.
    fn called(source: &str) -> BTreeSet<String> {
        let code = source.split("#[cfg(test)]").next().unwrap_or_default();
        code.split("call(\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn dynamodb_operations_are_exactly_the_ones_called() {
        let mut found = BTreeSet::new();
        for source in [
            include_str!("mod.rs"),
            include_str!("wire.rs"),
            include_str!("admin.rs"),
            include_str!("item.rs"),
        ] {
            found.extend(called(source));
        }
        let listed: BTreeSet<String> = DYNAMODB_OPERATIONS.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            listed.len(),
            DYNAMODB_OPERATIONS.len(),
            "an operation is listed twice"
        );
        assert_eq!(listed, found);
    }
}

#[cfg(test)]
mod damaged_item_tests {
    use std::sync::{Arc, Mutex};

    use serde_json::json;

    use super::*;

    /// A backend whose table `t` holds only `parent` (no chunk items; a scan lists it
    /// twice), recording the calls.
    fn backend(parent: Value, calls: Arc<Mutex<Vec<(String, Value)>>>) -> DynamoBackend {
        let caller: DynamoCaller = Box::new(move |operation, input| {
            calls
                .lock()
                .unwrap()
                .push((operation.to_string(), input.clone()));
            let asked = input["RequestItems"]["t"]["Keys"].as_array();
            let found: Vec<&Value> = asked
                .into_iter()
                .flatten()
                .filter(|k| k["cache_key"] == parent["cache_key"])
                .map(|_| &parent)
                .collect();
            Ok(match operation {
                "GetItem" => json!({"Item": parent}),
                "BatchGetItem" => json!({"Responses": {"t": found}}),
                "Scan" => json!({"Items": [parent, parent]}),
                _ => json!({}),
            })
        });
        DynamoBackend::new("t".into(), caller, DynamoSettings::default())
    }

    /// Caught by the `dynamodb_item` fuzz target (fuzz/): a parent item claiming 4 billion
    /// chunks made a read (and the removal of the damaged entry) list 4 billion chunk keys
    /// and abort the process; a count within the limit cost a call per 5 chunks claimed.
    #[test]
    fn a_damaged_chunk_count_costs_one_call() {
        let key = CacheKey::parse(&"3f".repeat(32)).unwrap();
        let parent = |chunks: u64| {
            json!({
                "cache_key": {"S": key.as_str()},
                "data": {"B": "AAAA"},
                "ttl": {"N": (now_secs() + 600).to_string()},
                "chunks": {"N": chunks.to_string()},
                "write_id": {"S": "w"},
            })
        };
        let calls = Arc::new(Mutex::new(Vec::new()));
        let claims_too_many = backend(parent(4_000_000_000), calls.clone());
        assert_eq!(
            claims_too_many.get(&key).unwrap(),
            Some(vec![0, 0, 0]),
            "read as unchunked (the envelope then fails its length check)"
        );
        let removed = claims_too_many.invalidate(Invalidation::Keys(std::slice::from_ref(&key)));
        assert_eq!(removed.unwrap(), 1);
        let deletes = calls.lock().unwrap().last().cloned().unwrap();
        assert_eq!(deletes.0, "BatchWriteItem");
        assert_eq!(
            deletes.1["RequestItems"]["t"].as_array().unwrap().len(),
            1,
            "only the parent is deleted"
        );

        calls.lock().unwrap().clear();
        let claims_many = backend(parent(u64::from(item::MAX_CHUNKS)), calls.clone());
        let error = claims_many.get(&key).unwrap_err().to_string();
        assert!(error.contains("a chunk is missing"), "{error}");
        let calls = calls.lock().unwrap();
        let batches: Vec<&Value> = calls
            .iter()
            .filter(|(op, _)| op == "BatchGetItem")
            .map(|(_, input)| &input["RequestItems"]["t"]["Keys"])
            .collect();
        assert_eq!(batches.len(), 2, "one call per attempt");
        assert!(
            batches
                .iter()
                .all(|keys| keys.as_array().unwrap().len() <= 5)
        );
    }

    /// Caught by the `dynamodb_item` fuzz target (fuzz/): an entry item whose `created_at`
    /// is past what a `SystemTime` holds made `cache status` and `cache list` panic.
    #[test]
    fn a_damaged_creation_time_is_unknown() {
        let key = CacheKey::parse(&"ab".repeat(32)).unwrap();
        let parent = json!({
            "cache_key": {"S": key.as_str()},
            "data": {"B": "AAAA"},
            "created_at": {"N": "18446744073709551615"},
        });
        let entries = backend(parent, Arc::default()).entries().unwrap();
        assert_eq!(entries.len(), 2);
    }

    /// Caught by the `dynamodb_item` fuzz target (fuzz/): damaged `size` attributes summing
    /// past `u64::MAX` overflowed (a panic in debug builds, a wrong total in release).
    #[test]
    fn damaged_sizes_do_not_overflow_the_total() {
        let parent = json!({
            "cache_key": {"S": "ab".repeat(32)},
            "size": {"N": u64::MAX.to_string()},
        });
        // The fake table lists its one item twice.
        let stats = backend(parent, Arc::default()).stats().unwrap();
        assert_eq!((stats.entries, stats.bytes), (2, u64::MAX));
    }
}
