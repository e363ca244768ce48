//! The `dynamodb` backend: cache entries in one DynamoDB table, shared by every machine that
//! can reach it.
//!
//! Every call goes through an injected [`DynamoCaller`] (the lead wires it to the one AWS
//! transport: same signing, retries and `--debug` lines); this module never opens a socket
//! of its own. It stores opaque envelopes and never decodes more than their header.
//!
//! Reads: one `GetItem` per hit (plus one `BatchGetItem` per 40 chunks of a chunked entry);
//! an item past its `ttl` is a miss, because DynamoDB deletes expired items up to 48 hours
//! late. Writes: tag items first (so an entry is never stored where an invalidation cannot
//! find it), then chunk items, then the parent item last (so a reader never sees a partly
//! written entry), then the chunks of the entry it replaced, found by key through
//! `PutItem`'s old image: never a Scan. A missing table is created on the first write.
//! Item layout and sizes: `item.rs`; batches and scans: `wire.rs`; the table itself:
//! `admin.rs`.
//!
//! Invalidating a tag leaves a fence (when) and a tombstone on every entry it lists, so an
//! answer read from AWS before the invalidation is not stored after it (see
//! [`DynamoBackend::remove_tagged`] for why every interleaving with a concurrent write ends
//! with no stale entry and no entry its tags no longer list).

mod admin;
mod item;
mod wire;
mod wrapped_keys;

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

pub use admin::{RepairReport, TableSetup, TtlState, key_schema_problems};
pub use item::TAG_SHARDS;
pub use wire::{BATCH_GET_MAX, BATCH_WRITE_MAX};
pub use wrapped_keys::{TableWrappedKeys, WRAPPED_KEYS_ITEM};

use self::admin::is_missing_table;
use self::item::{Chunked, EntryMeta, ItemKind};
use self::wire::{Condition, Table, Write, key_in};
use super::backend::{BackendStats, CacheBackend, EntryInfo, Invalidation};
use super::envelope::Envelope;
use super::file::{now_nanos, now_secs};
use super::key::{CacheKey, Namespace};
use crate::aws::transport::TransportSettings;
use crate::config::CacheSettings;
use crate::error::{Error, Result};

/// Calls one DynamoDB operation (`GetItem`) with its JSON input and returns the JSON reply;
/// AWS errors keep their code (`ResourceNotFoundException`).
pub type DynamoCaller = Box<dyn Fn(&str, &Value) -> Result<Value> + Send + Sync>;

/// Every DynamoDB operation this backend calls (data plane in `wire.rs`, table management in
/// `admin.rs`): the source of `awsideman iam-policy cache-dynamodb`. A test checks it against
/// the operation names the module passes to its [`DynamoCaller`], both ways.
pub const DYNAMODB_OPERATIONS: &[&str] = &[
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchGetItem",
    "BatchWriteItem",
    "Scan",
    "DescribeTable",
    "CreateTable",
    "DescribeTimeToLive",
    "UpdateTimeToLive",
    "DeleteTable",
];

/// The largest item AWS accepts: 400 KB, attribute names included.
pub const AWS_ITEM_LIMIT: usize = 400 * 1024;

/// The default item limit of the backend: AWS's less a margin that also fits moto_server,
/// which refuses items over 405,000 bytes.
pub const DEFAULT_MAX_ITEM_BYTES: usize = 400_000;

/// How long fences and tombstones are kept (their `ttl`, plus the fence margin). An answer
/// read from AWS longer ago than this is not stored at all: what would refuse it may be gone.
pub const FENCE_WINDOW: Duration = Duration::from_secs(3600);

/// Shard items an invalidation deletes at once (one `DeleteItem` each).
const PARALLEL_DELETES: usize = 8;

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
    /// How far the clocks of the machines sharing the table may disagree: an answer read up
    /// to this long after an invalidation of its tags is not stored either (a few extra
    /// misses right after a write are the price of not trusting clocks to the millisecond).
    pub fence_margin: Duration,
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
            fence_margin: Duration::from_secs(2),
        }
    }
}

impl DynamoSettings {
    /// The settings the cache configuration asks for (consistency, KMS key, tags).
    pub fn from_cache(cache: &CacheSettings) -> DynamoSettings {
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
        }
    }

    /// The same backend, saying where the table is (a region or an endpoint URL):
    /// [`CacheBackend::location`] reads `dynamodb table <name> (<where>)`.
    pub fn with_location(mut self, place: &str) -> DynamoBackend {
        self.location = format!("dynamodb table {} ({place})", self.table.name);
        self
    }

    /// The table name.
    pub fn table_name(&self) -> &str {
        &self.table.name
    }

    /// The settings in use.
    pub fn settings(&self) -> &DynamoSettings {
        &self.table.settings
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

    /// Removes every entry and chunk (and any item awsideman did not write, but not the kms
    /// key source's wrapped keys) with a parallel
    /// projected scan and batch deletes, calling `progress` with the number of entries
    /// removed so far after each page. Returns how many entries were removed.
    ///
    /// Tag items stay, and so do fences and tombstones until their `ttl`: deleting a tag
    /// item could drop a key a concurrent writer has just filed (its entry would then outlive
    /// every invalidation), and a recent fence keeps an answer read before it out of the
    /// cleared table. The next invalidation of a tag forgets the keys it lists of entries
    /// removed here.
    pub fn clear(&self, progress: &(dyn Fn(u64) + Sync)) -> Result<u64> {
        let removed = AtomicU64::new(0);
        let now = now_secs();
        let projection = [item::KEY, item::TTL, item::INVALIDATED_AT];
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
                    let kind = item::kind_of(key);
                    let tombstone = kind == ItemKind::Entry && item::is_tombstone(found);
                    let expired = item::get_n(found, item::TTL).is_some_and(|ttl| ttl <= now);
                    if (kind == ItemKind::Tag || tombstone) && !expired {
                        continue;
                    }
                    entries += u64::from(kind == ItemKind::Entry && !tombstone);
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

    /// Writes an entry; with `since` (see [`CacheBackend::set_unless_invalidated`]) only
    /// when none of its tags was invalidated since then, which is checked twice: once
    /// against the fences after filing the key under its tags, and atomically with the
    /// parent's `PutItem`, against a tombstone. Returns whether it was stored.
    fn write_entry(
        &self,
        key: &CacheKey,
        bytes: &[u8],
        tags: &[String],
        expires_at: u64,
        since: Option<u128>,
    ) -> Result<bool> {
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

        let tags: BTreeSet<&str> = tags.iter().map(String::as_str).collect();
        let version = item::new_write_id();
        for tag in &tags {
            let tag_key = item::tag_key(tag, item::shard_of(key));
            self.table.add_to_set(
                &tag_key,
                item::TAG_KEYS,
                &[key.as_str()],
                (item::VERSION, &version),
            )?;
        }
        let threshold = since.map(|since| self.fence_threshold(since));
        if let Some(threshold) = threshold
            && self.fenced(&tags, threshold)?
        {
            return Ok(false);
        }
        let chunk_keys: Vec<String> = chunks
            .iter()
            .filter_map(key_in)
            .map(str::to_string)
            .collect();
        let undo = || {
            let writes: Vec<Write> = chunk_keys.iter().cloned().map(Write::Delete).collect();
            let _ = self.table.batch_write(&writes);
        };
        let puts: Vec<Write> = chunks.into_iter().map(Write::Put).collect();
        if let Err(e) = self.table.batch_write(&puts) {
            undo();
            return Err(e);
        }
        let unless_tombstone = threshold.map(not_invalidated_since);
        let old = match self.table.put_item_if(parent, unless_tombstone.as_ref()) {
            Ok(Some(old)) => old,
            Ok(None) => {
                undo();
                return Ok(false);
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
        Ok(true)
    }

    /// The oldest fence (Unix milliseconds) that does not refuse an answer read from AWS at
    /// `since` (Unix nanoseconds): the clocks of two machines may differ by the margin.
    fn fence_threshold(&self, since: u128) -> u64 {
        let since = u64::try_from(since / 1_000_000).unwrap_or(u64::MAX);
        let margin = u64::try_from(self.table.settings.fence_margin.as_millis()).unwrap_or(0);
        since.saturating_sub(margin)
    }

    /// Whether one of `tags` was invalidated at or after `threshold` (Unix milliseconds),
    /// read with a strongly consistent read. A fence that cannot be read counts as one.
    fn fenced(&self, tags: &BTreeSet<&str>, threshold: u64) -> Result<bool> {
        if tags.is_empty() {
            return Ok(false);
        }
        let keys: Vec<String> = tags.iter().map(|tag| item::fence_key(tag)).collect();
        let fences = self
            .table
            .batch_get_consistent(&keys, &[item::KEY, item::INVALIDATED_AT])?;
        Ok(fences
            .iter()
            .any(|fence| item::get_n(fence, item::INVALIDATED_AT).is_none_or(|at| at >= threshold)))
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

    fn read_entry(&self, key: &CacheKey) -> Result<Option<Vec<u8>>> {
        // A chunk can vanish only when another writer replaced the entry between our two
        // reads: read it again, once, then call it damaged.
        for _ in 0..2 {
            let Some(parent) = self.table.get_item(key.as_str(), &[])? else {
                return Ok(None);
            };
            if item::is_tombstone(&parent) {
                return Ok(None);
            }
            if item::get_n(&parent, item::TTL).is_some_and(|ttl| ttl <= now_secs()) {
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

    /// Removes entries `keys` and their chunks (tombstones stay); returns how many entries
    /// existed.
    fn remove_entries(&self, keys: &[String]) -> Result<u64> {
        self.replace_entries(keys, None)
    }

    /// Removes entries `keys` and their chunks; with `tombstone` (`invalidated_at`, `ttl`),
    /// puts a tombstone under every one of `keys`, entry or not, instead of deleting.
    /// Returns how many entries existed.
    fn replace_entries(&self, keys: &[String], tombstone: Option<(u64, u64)>) -> Result<u64> {
        let projection = [
            item::KEY,
            item::CHUNKS,
            item::WRITE_ID,
            item::INVALIDATED_AT,
        ];
        let found = match tombstone {
            Some(_) => self.table.batch_get_consistent(keys, &projection)?,
            None => self.table.batch_get(keys, &projection)?,
        };
        let mut writes = Vec::new();
        let mut removed = 0;
        for parent in &found {
            let Some(key) = key_in(parent).filter(|k| item::kind_of(k) == ItemKind::Entry) else {
                continue;
            };
            if item::is_tombstone(parent) {
                continue;
            }
            removed += 1;
            if let Some(chunked) = item::chunked_of(parent) {
                writes.extend(
                    item::chunk_keys(key, &chunked)
                        .into_iter()
                        .map(Write::Delete),
                );
            }
            if tombstone.is_none() {
                writes.push(Write::Delete(key.to_string()));
            }
        }
        if let Some((at, ttl)) = tombstone {
            let keys: BTreeSet<&str> = keys
                .iter()
                .map(String::as_str)
                .filter(|k| item::kind_of(k) == ItemKind::Entry)
                .collect();
            writes.extend(
                keys.into_iter()
                    .map(|key| Write::Put(item::fence_item(key, at, ttl))),
            );
        }
        self.table.batch_write(&writes)?;
        Ok(removed)
    }

    /// Removes the entries filed under `tags`; returns how many there were.
    ///
    /// 1. Puts each tag's fence: `invalidated_at` = now.
    /// 2. Then reads the tag items (strongly consistent): the keys they list, and versions.
    /// 3. Puts a tombstone under every listed key (replacing the entry, deleting its chunks).
    /// 4. Deletes each tag item read unless its version changed (a key was filed since 2),
    ///    and only when 1–2 took under half the fence margin (else the keys stay listed:
    ///    harmless, the next invalidation forgets them).
    ///
    /// A write with `since` (W1: files its key, setting a new version; W2: reads the fences;
    /// W3: puts the entry unless a tombstone at or after `since` less the margin is there)
    /// racing this, with an answer read before the data changed (so before 1):
    /// - W1 before 2: 2 lists the key and 3 tombstones it. An entry put before 3 is replaced;
    ///   one put after it is refused by W3's condition, atomically: no reader ever sees it.
    /// - W1 after 2: then W2 comes after 1 and sees the fence: nothing is written.
    ///
    /// Keys: 4 drops only keys that 3 tombstoned and no writer filed again after 2. An entry
    /// put after 3 by a writer whose W1 came before 2 passed W3, so its answer was read after
    /// the fence plus the margin, while its W1 preceded 2: with 1–2 shorter than half the
    /// margin, impossible unless the two clocks differ by over half of it. So every stored
    /// entry stays listed under its tags until an invalidation tombstones it. A plain `set`
    /// checks nothing, as before: it stores anyway.
    fn remove_tagged(&self, tags: &[String]) -> Result<u64> {
        let tags: BTreeSet<&str> = tags.iter().map(String::as_str).collect();
        if tags.is_empty() {
            return Ok(0);
        }
        let started = Instant::now();
        let at = now_millis();
        let ttl = (at / 1000)
            .saturating_add(FENCE_WINDOW.as_secs())
            .saturating_add(self.table.settings.fence_margin.as_secs() + 1);
        let fences: Vec<Write> = tags
            .iter()
            .map(|tag| Write::Put(item::fence_item(&item::fence_key(tag), at, ttl)))
            .collect();
        self.table.batch_write(&fences)?;
        let tag_keys: Vec<String> = tags.iter().flat_map(|tag| item::tag_keys(tag)).collect();
        let tag_items = self
            .table
            .batch_get_consistent(&tag_keys, &[item::KEY, item::TAG_KEYS, item::VERSION])?;
        let prompt = started.elapsed() < self.table.settings.fence_margin / 2;
        let entries: Vec<String> = tag_items
            .iter()
            .filter_map(|t| t.get(item::TAG_KEYS)?.get("SS")?.as_array())
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        let removed = self.replace_entries(&entries, Some((at, ttl)))?;
        if prompt {
            self.forget(&tag_items);
        }
        Ok(removed)
    }

    /// Deletes each tag item of `tag_items` (as read) unless a key was filed in it since,
    /// several at once; best effort: a tag item left listing removed entries costs only a
    /// little more work at its next invalidation.
    fn forget(&self, tag_items: &[Map<String, Value>]) {
        let forget_one = |tag_item: &Map<String, Value>| {
            if let Some(key) = key_in(tag_item) {
                let _ = self.table.delete_item_if(key, &unchanged(tag_item));
            }
        };
        for group in tag_items.chunks(PARALLEL_DELETES) {
            std::thread::scope(|scope| {
                for tag_item in group {
                    scope.spawn(move || forget_one(tag_item));
                }
            });
        }
    }

    /// Every entry (parent) item of the table, whole or projected to `projection`; not
    /// tombstones.
    fn entry_items(&self, projection: &[&str]) -> Result<Vec<Map<String, Value>>> {
        let found = std::sync::Mutex::new(Vec::new());
        let mut projection = projection.to_vec();
        if !projection.is_empty() {
            projection.push(item::INVALIDATED_AT);
        }
        let outcome = self.table.scan(&projection, 1, &|items| {
            let entries = items.into_iter().filter(|i| {
                key_in(i).is_some_and(|k| item::kind_of(k) == ItemKind::Entry)
                    && !item::is_tombstone(i)
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

/// Unless the item was invalidated at or after `threshold` (Unix milliseconds): it is no
/// tombstone that recent.
fn not_invalidated_since(threshold: u64) -> Condition {
    Condition {
        expression: "attribute_not_exists(#at) OR #at < :threshold".into(),
        names: Map::from_iter([("#at".to_string(), Value::from(item::INVALIDATED_AT))]),
        values: Map::from_iter([(":threshold".to_string(), item::number(threshold))]),
    }
}

/// Unless a key was filed in the tag item since it was read as `tag_item`: its version is
/// the same (or it still has none).
fn unchanged(tag_item: &Map<String, Value>) -> Condition {
    let names = Map::from_iter([("#v".to_string(), Value::from(item::VERSION))]);
    match item::get_s(tag_item, item::VERSION) {
        Some(version) => Condition {
            expression: "#v = :v".into(),
            names,
            values: Map::from_iter([(":v".to_string(), item::string(version))]),
        },
        None => Condition {
            expression: "attribute_not_exists(#v)".into(),
            names,
            values: Map::new(),
        },
    }
}

/// Milliseconds since the Unix epoch.
fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
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

    fn clear_all(&self, progress: &(dyn Fn(u64) + Sync)) -> Result<u64> {
        self.clear(progress)
    }

    fn location(&self) -> String {
        self.location.clone()
    }

    fn get(&self, key: &CacheKey) -> Result<Option<Vec<u8>>> {
        let outcome = self.read_entry(key);
        self.tolerate_missing(outcome, None)
            .map_err(|e| self.failed("reading", e))
    }

    fn set(&self, key: &CacheKey, bytes: &[u8], tags: &[String], expires_at: u64) -> Result<()> {
        self.writing(|| self.write_entry(key, bytes, tags, expires_at, None))
            .map(drop)
            .map_err(|e| self.failed("writing to", e))
    }

    fn set_unless_invalidated(
        &self,
        key: &CacheKey,
        bytes: &[u8],
        tags: &[String],
        expires_at: u64,
        since: u128,
    ) -> Result<bool> {
        if now_nanos().saturating_sub(since) > FENCE_WINDOW.as_nanos() {
            return Ok(false);
        }
        self.writing(|| self.write_entry(key, bytes, tags, expires_at, Some(since)))
            .map_err(|e| self.failed("writing to", e))
    }

    fn invalidate(&self, what: Invalidation<'_>) -> Result<u64> {
        let outcome = match what {
            Invalidation::Keys(keys) => {
                let keys: Vec<String> = keys.iter().map(|k| k.as_str().to_string()).collect();
                self.remove_entries(&keys)
            }
            Invalidation::Tags(tags) => self.remove_tagged(tags),
            Invalidation::All => return self.clear(&|_| {}),
        };
        self.tolerate_missing(outcome, 0)
            .map_err(|e| self.failed("invalidating entries of", e))
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
                    accessed: item::get_n(item, item::CREATED_AT)
                        .and_then(|secs| UNIX_EPOCH.checked_add(Duration::from_secs(secs))),
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
        let probe = CacheKey::new(
            &Namespace {
                profile: "health".into(),
                region: "probe".into(),
            },
            "awsideman",
            "HealthCheck",
            &serde_json::json!({"pid": std::process::id(), "at": SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)}),
        );
        self.set(&probe, b"probe", &[], now_secs() + 60)?;
        let read = self.get(&probe)?;
        self.invalidate(Invalidation::Keys(std::slice::from_ref(&probe)))?;
        match read.as_deref() {
            Some(b"probe") => Ok(()),
            _ => Err(Error::runtime(format!(
                "{}: a probe entry did not read back",
                self.location
            ))),
        }
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
        let key = CacheKey::new(
            &Namespace {
                profile: "p".into(),
                region: "r".into(),
            },
            "s",
            "Op",
            &json!({}),
        );
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
        assert!(entries.iter().all(|e| e.accessed.is_none()));
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

#[cfg(test)]
mod fence_tests {
    use std::sync::{Arc, Mutex};

    use serde_json::json;

    use super::*;

    type Calls = Arc<Mutex<Vec<(String, Value)>>>;

    fn key() -> CacheKey {
        CacheKey::parse(&"ab".repeat(32)).unwrap()
    }

    /// A backend over a fake table `t` that records its calls: the tag shard of [`key`]
    /// lists it (version `v1`), `fence_at` is the fence of every tag, if any, and the put of
    /// the entry fails its condition when `tombstoned`.
    fn backend(fence_at: Option<u64>, tombstoned: bool, calls: Calls) -> DynamoBackend {
        let caller: DynamoCaller = Box::new(move |operation, input| {
            calls
                .lock()
                .unwrap()
                .push((operation.to_string(), input.clone()));
            let asked = input["RequestItems"]["t"]["Keys"].as_array();
            let found: Vec<Value> = asked
                .into_iter()
                .flatten()
                .filter_map(|k| k["cache_key"]["S"].as_str())
                .filter_map(|k| {
                    match k {
                    _ if k.ends_with("#fence") => fence_at.map(|at| {
                        json!({"cache_key": {"S": k}, "invalidated_at": {"N": at.to_string()}})
                    }),
                    _ if k.starts_with("tag#") && k.ends_with(&format!("#{}", 0xab % 8)) => {
                        Some(json!({
                            "cache_key": {"S": k},
                            "keys": {"SS": [key().as_str()]},
                            "version": {"S": "v1"},
                        }))
                    }
                    _ => None,
                }
                })
                .collect();
            match operation {
                "PutItem" if tombstoned && input.get("ConditionExpression").is_some() => Err(
                    Error::aws("refused", "ConditionalCheckFailedException", 400),
                ),
                "BatchGetItem" => Ok(json!({"Responses": {"t": found}})),
                _ => Ok(json!({})),
            }
        });
        DynamoBackend::new("t".into(), caller, DynamoSettings::default())
    }

    fn operations(calls: &Calls) -> Vec<String> {
        calls.lock().unwrap().iter().map(|c| c.0.clone()).collect()
    }

    /// A write with `since` costs one call more than a plain one (the strongly consistent
    /// read of the fences); its put is conditional on no recent tombstone.
    #[test]
    fn a_fenced_write_files_the_key_reads_the_fences_then_puts_unless_a_tombstone() {
        let tags = ["users".to_string()];
        let calls = Calls::default();
        let since = now_nanos();
        let stored = backend(None, false, calls.clone())
            .set_unless_invalidated(&key(), b"x", &tags, u64::MAX, since)
            .unwrap();
        assert!(stored);
        assert_eq!(
            operations(&calls),
            ["UpdateItem", "BatchGetItem", "PutItem"]
        );
        let calls = calls.lock().unwrap();
        assert_eq!(
            calls[0].1["UpdateExpression"],
            "ADD #set :members SET #stamp = :stamp"
        );
        let fences = &calls[1].1["RequestItems"]["t"];
        assert_eq!(fences["ConsistentRead"], true);
        assert_eq!(
            fences["Keys"],
            json!([{"cache_key": {"S": "tag#users#fence"}}])
        );
        let put = &calls[2].1;
        assert_eq!(
            put["ConditionExpression"],
            "attribute_not_exists(#at) OR #at < :threshold"
        );
        assert_eq!(
            put["ExpressionAttributeValues"][":threshold"]["N"],
            (since / 1_000_000 - 2000).to_string(),
            "since, in milliseconds, less the margin"
        );

        // A plain write checks nothing.
        let calls = Calls::default();
        backend(Some(u64::MAX), true, calls.clone())
            .set(&key(), b"x", &tags, u64::MAX)
            .unwrap();
        assert_eq!(operations(&calls), ["UpdateItem", "PutItem"]);
        assert!(
            calls.lock().unwrap()[1]
                .1
                .get("ConditionExpression")
                .is_none()
        );
    }

    #[test]
    fn a_write_is_refused_by_a_fence_or_a_tombstone_within_the_margin() {
        let tags = ["users".to_string()];
        let since = now_nanos();
        let ms = u64::try_from(since / 1_000_000).unwrap();
        // Fenced within the margin before the read: refused before anything is written.
        let calls = Calls::default();
        let b = backend(Some(ms - 1500), false, calls.clone());
        assert!(
            !b.set_unless_invalidated(&key(), b"x", &tags, u64::MAX, since)
                .unwrap()
        );
        assert_eq!(operations(&calls), ["UpdateItem", "BatchGetItem"]);
        // Fenced longer ago than the margin: stored.
        let b = backend(Some(ms - 2500), false, Calls::default());
        assert!(
            b.set_unless_invalidated(&key(), b"x", &tags, u64::MAX, since)
                .unwrap()
        );
        // A tombstone put between the fence read and the put: refused, no error.
        let calls = Calls::default();
        let b = backend(None, true, calls.clone());
        assert!(
            !b.set_unless_invalidated(&key(), b"x", &tags, u64::MAX, since)
                .unwrap()
        );
        assert_eq!(
            operations(&calls),
            ["UpdateItem", "BatchGetItem", "PutItem"]
        );
        // An answer read longer ago than the fence window: not stored, nothing called.
        let calls = Calls::default();
        let old = since - FENCE_WINDOW.as_nanos() - 1;
        let b = backend(None, false, calls.clone());
        assert!(
            !b.set_unless_invalidated(&key(), b"x", &tags, u64::MAX, old)
                .unwrap()
        );
        assert!(operations(&calls).is_empty());
    }

    /// An invalidation: the fence, then the tag items (strongly consistent), then a
    /// tombstone under each listed key, then each tag item read is deleted only if its
    /// version is still the one read.
    #[test]
    fn an_invalidation_fences_reads_tombstones_then_forgets_unless_changed() {
        let calls = Calls::default();
        let b = backend(None, false, calls.clone());
        let started = now_millis();
        b.invalidate(Invalidation::Tags(&["users".to_string()]))
            .unwrap();
        assert_eq!(
            operations(&calls),
            [
                "BatchWriteItem",
                "BatchGetItem",
                "BatchGetItem",
                "BatchWriteItem",
                "DeleteItem"
            ]
        );
        let calls = calls.lock().unwrap();
        let fence = &calls[0].1["RequestItems"]["t"][0]["PutRequest"]["Item"];
        assert_eq!(fence["cache_key"]["S"], "tag#users#fence");
        let at: u64 = fence["invalidated_at"]["N"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(at >= started);
        let shards = &calls[1].1["RequestItems"]["t"];
        assert_eq!(shards["ConsistentRead"], true);
        assert_eq!(
            shards["Keys"].as_array().unwrap().len(),
            usize::from(TAG_SHARDS)
        );
        let tombstone = &calls[3].1["RequestItems"]["t"][0]["PutRequest"]["Item"];
        assert_eq!(tombstone["cache_key"]["S"], key().as_str());
        assert_eq!(tombstone["invalidated_at"], fence["invalidated_at"]);
        assert!(tombstone.get("data").is_none());
        let forget = &calls[4].1;
        assert_eq!(
            forget["Key"]["cache_key"]["S"],
            format!("tag#users#{}", 0xab % 8)
        );
        assert_eq!(forget["ConditionExpression"], "#v = :v");
        assert_eq!(forget["ExpressionAttributeValues"][":v"]["S"], "v1");
    }
}
