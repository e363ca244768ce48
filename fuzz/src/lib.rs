//! What the fuzz targets share: the fixed test key, the entry key the seeds are stored
//! under, cache settings that can never touch a real cache, an in-memory backend, an
//! in-memory DynamoDB table, and the seed generator (`examples/seeds.rs`).
//!
//! Everything goes through awsideman's public API, exactly as a read does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use awsideman::testing::Encryption;
use awsideman::testing::Env;
use awsideman::testing::{
    BATCH_GET_MAX, BATCH_WRITE_MAX, DynamoBackend, DynamoCaller, DynamoSettings,
};
use awsideman::testing::{BackendStats, CacheBackend, EntryInfo, Invalidation, Lookup};
use awsideman::testing::{CacheKey, CacheManager, Generations};
use awsideman::testing::{CacheSettings, ConfigFile, cache_settings};
use awsideman::testing::{Envelope, FORMAT_VERSION, Header, Scheme};
use serde_json::{Map, Value, json};

/// The master key of the encrypted decoder (the seeds' encrypted entries use it).
pub const TEST_KEY: [u8; 32] = [9; 32];
/// Its key id.
pub const TEST_KEY_ID: &str = "fuzz";
/// A key id no decoder here has (an entry sealed for another machine).
pub const OTHER_KEY_ID: &str = "other";
/// The name of the fake DynamoDB table.
pub const TABLE: &str = "awsideman-fuzz";
/// Expiry of the seed entries: 2100-01-01, so seeds stay hits.
pub const FAR_FUTURE: u64 = 4_102_444_800;

/// The tag of the seed entries.
pub const TAG: &str = "users:d-1";
/// The generation of [`TAG`] in a [`MemoryBackend`] (and recorded by the seed entries).
pub const GENERATION: &str = "0123456789abcdef";
/// The longest lifetime the targets accept (the seeds expire in 2100).
pub const MAX_TTL: u64 = u64::MAX / 4;

/// The key every seed entry is stored under (and the key the targets read).
pub fn entry_key() -> CacheKey {
    CacheKey::parse("5eed000000000000000000000000000000000000000000000000000000000001")
        .expect("a key")
}

/// The tags the targets read the entry under.
pub fn entry_tags() -> Vec<String> {
    vec![TAG.to_string()]
}

/// The generations of a [`MemoryBackend`]: [`TAG`] at [`GENERATION`].
pub fn generations() -> Generations {
    let mut gens = Generations::new();
    gens.insert(TAG, GENERATION);
    gens
}

/// Default cache settings whose directory can never be created (`/dev/null/...`), so the
/// counters a manager flushes never land anywhere.
pub fn settings() -> CacheSettings {
    let dir = Path::new("/dev/null/awsideman-fuzz");
    let mut settings = cache_settings(
        &ConfigFile::empty(dir.join("config.yaml")),
        None,
        &Env::default(),
        dir,
    )
    .expect("default cache settings");
    settings.file_cache_dir = dir.join("cache");
    settings
}

/// The key set of the encrypted decoder: the test key only.
pub fn test_encryption() -> Encryption {
    Encryption::new(TEST_KEY_ID, [(TEST_KEY_ID, &TEST_KEY)]).expect("one key")
}

/// A key set the decoders do not have.
pub fn other_encryption() -> Encryption {
    Encryption::new(OTHER_KEY_ID, [(OTHER_KEY_ID, &[7u8; 32])]).expect("one key")
}

/// A backend holding at most one entry's bytes, shared between clones so a target can swap
/// the bytes under a long-lived manager, with fixed generations ([`generations`]). Writes
/// and invalidations are accepted and kept.
#[derive(Clone, Default)]
pub struct MemoryBackend {
    bytes: Arc<Mutex<Option<Vec<u8>>>>,
}

impl MemoryBackend {
    /// Makes `bytes` the stored entry (under every key).
    pub fn store(&self, bytes: &[u8]) {
        *lock(&self.bytes) = Some(bytes.to_vec());
    }
}

impl CacheBackend for MemoryBackend {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn location(&self) -> String {
        "memory".into()
    }

    fn lookup(&self, _key: &CacheKey, tags: &[String]) -> awsideman::testing::Result<Lookup> {
        let now = generations();
        let bytes = lock(&self.bytes).clone().filter(|bytes| {
            // Damage is the manager's to find; a readable header must be current.
            Envelope::decode_header(bytes).map_or(true, |h| now.current_for(tags, &h.gens))
        });
        Ok(Lookup {
            bytes: bytes.map(Into::into),
            generations: now.restricted_to(tags),
            problem: None,
            // As a shared store: every answer read is checked as JSON.
            private: false,
        })
    }

    fn get(&self, _key: &CacheKey) -> awsideman::testing::Result<Option<Vec<u8>>> {
        Ok(lock(&self.bytes).clone())
    }

    fn set(
        &self,
        _key: &CacheKey,
        bytes: &[u8],
        _expires_at: u64,
    ) -> awsideman::testing::Result<()> {
        self.store(bytes);
        Ok(())
    }

    fn generations(&self, tags: &[String]) -> awsideman::testing::Result<Generations> {
        Ok(generations().restricted_to(tags))
    }

    fn create_generations(&self, wanted: &Generations) -> awsideman::testing::Result<Generations> {
        let tags: Vec<String> = wanted.iter().map(|(t, _)| t.to_string()).collect();
        Ok(generations().restricted_to(&tags))
    }

    fn invalidate(&self, _what: Invalidation<'_>) -> awsideman::testing::Result<u64> {
        Ok(u64::from(lock(&self.bytes).take().is_some()))
    }

    fn entries(&self) -> awsideman::testing::Result<Vec<EntryInfo>> {
        Ok(Vec::new())
    }

    fn stats(&self) -> awsideman::testing::Result<BackendStats> {
        Ok(BackendStats::default())
    }

    fn health_check(&self) -> awsideman::testing::Result<()> {
        Ok(())
    }
}

/// A manager over `backend`, encrypting with `encryption` when given.
pub fn manager(backend: Box<dyn CacheBackend>, encryption: Option<Encryption>) -> CacheManager {
    let manager = CacheManager::with_backend(backend, settings(), true);
    match encryption {
        Some(encryption) => manager.with_encryption(encryption),
        None => manager,
    }
}

/// An in-memory DynamoDB table answering the calls the backend makes, and checking the
/// request limits DynamoDB enforces (a batch over its limit or with a key twice is a bug
/// of the backend, so it panics).
#[derive(Clone, Default)]
pub struct FakeTable {
    items: Arc<Mutex<BTreeMap<String, Map<String, Value>>>>,
}

impl FakeTable {
    /// Replaces the table's content with `items` (those without a string `cache_key` are
    /// dropped: DynamoDB could not hold them).
    pub fn load(&self, items: Vec<Map<String, Value>>) {
        let mut table = lock(&self.items);
        table.clear();
        for item in items {
            if let Some(key) = key_in(&item) {
                table.insert(key.to_string(), item);
            }
        }
    }

    /// Every item, by key.
    pub fn items(&self) -> Vec<Map<String, Value>> {
        lock(&self.items).values().cloned().collect()
    }

    /// The item with key `key`.
    pub fn item(&self, key: &str) -> Option<Map<String, Value>> {
        lock(&self.items).get(key).cloned()
    }

    /// A caller for [`DynamoBackend::new`] answering from this table.
    pub fn caller(&self) -> DynamoCaller {
        let table = self.clone();
        Box::new(move |operation, input| table.call(operation, input))
    }

    /// A backend over this table, with items of at most `max_item_bytes`.
    pub fn backend(&self, max_item_bytes: usize) -> DynamoBackend {
        let settings = DynamoSettings {
            max_item_bytes,
            // The fake never leaves requests unprocessed; never sleep if it did.
            batch_retries: 0,
            scan_segments: 1,
            ..DynamoSettings::default()
        };
        DynamoBackend::new(TABLE.into(), self.caller(), settings)
    }

    fn call(&self, operation: &str, input: &Value) -> awsideman::testing::Result<Value> {
        let mut items = lock(&self.items);
        Ok(match operation {
            "GetItem" => match key_of(&input["Key"]).and_then(|k| items.get(k)) {
                Some(item) => json!({ "Item": item }),
                None => json!({}),
            },
            "PutItem" => {
                let item = input["Item"].as_object().cloned().unwrap_or_default();
                let key = key_in(&item)
                    .expect("PutItem of an item with a key")
                    .to_string();
                // The one condition the backend uses: create a generation if there is none.
                if input.get("ConditionExpression").is_some() && items.contains_key(&key) {
                    return Err(awsideman::testing::Error::aws(
                        "The conditional request failed",
                        "ConditionalCheckFailedException",
                        400,
                    ));
                }
                let old = items.insert(key, item).unwrap_or_default();
                json!({ "Attributes": old })
            }
            "BatchGetItem" => {
                let keys = input["RequestItems"][TABLE]["Keys"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                assert!(
                    keys.len() <= BATCH_GET_MAX,
                    "BatchGetItem of {}",
                    keys.len()
                );
                let mut seen = std::collections::BTreeSet::new();
                let found: Vec<&Map<String, Value>> = keys
                    .iter()
                    .filter_map(key_of)
                    .inspect(|k| assert!(seen.insert(k.to_string()), "key {k} asked twice"))
                    .filter_map(|k| items.get(k))
                    .collect();
                json!({ "Responses": { TABLE: found } })
            }
            "BatchWriteItem" => {
                let requests = input["RequestItems"][TABLE]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                assert!(
                    requests.len() <= BATCH_WRITE_MAX,
                    "BatchWriteItem of {}",
                    requests.len()
                );
                for request in requests {
                    if let Some(item) = request["PutRequest"]["Item"].as_object() {
                        if let Some(key) = key_in(item) {
                            items.insert(key.to_string(), item.clone());
                        }
                    } else if let Some(key) = key_of(&request["DeleteRequest"]["Key"]) {
                        items.remove(key);
                    }
                }
                json!({})
            }
            "Scan" => json!({ "Items": items.values().collect::<Vec<_>>() }),
            _ => json!({}),
        })
    }
}

/// The `cache_key` string of an item.
pub fn key_in(item: &Map<String, Value>) -> Option<&str> {
    item.get("cache_key")?.get("S")?.as_str()
}

fn key_of(key: &Value) -> Option<&str> {
    key.get("cache_key")?.get("S")?.as_str()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A plaintext entry for [`entry_key`] holding `value`, valid until `expires_at`, recording
/// the generations of a [`MemoryBackend`].
pub fn plain_entry(value: &Value, expires_at: u64) -> Vec<u8> {
    plain_entry_with(value, expires_at, &generations())
}

/// A plaintext entry for [`entry_key`] holding `value`, valid until `expires_at`, recording
/// `gens`.
pub fn plain_entry_with(value: &Value, expires_at: u64, gens: &Generations) -> Vec<u8> {
    let payload = json!({"params": {"IdentityStoreId": "d-1"}, "value": value});
    let header = Header {
        v: FORMAT_VERSION,
        key: entry_key().to_string(),
        service: "identitystore".into(),
        operation: "ListUsers".into(),
        profile: "p".into(),
        created_at: 1_700_000_000,
        expires_at,
        encryption: Scheme::None,
        key_id: None,
        gens: gens.as_map().clone(),
        len: 0,
        checksum: String::new(),
    };
    let payload = serde_json::to_vec(&payload).expect("JSON");
    Envelope::seal(header, payload).encode()
}

/// `plain` (a plaintext entry) sealed with `encryption`, the way `cache encrypt` rewrites
/// entries.
pub fn sealed_entry(plain: &[u8], encryption: &Encryption) -> Vec<u8> {
    let plain_manager = manager(Box::new(MemoryBackend::default()), None);
    let (_, bytes) = plain_manager
        .recode(plain, Some(encryption))
        .expect("a valid plaintext entry")
        .expect("plaintext needs sealing");
    bytes
}

/// The seed inputs of each target, by file name.
pub fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let users = json!({"Users": [{"UserName": "alice", "UserId": "u-1"}]});
    let plain = plain_entry(&users, FAR_FUTURE);
    match target {
        "entry_decode" => vec![
            ("plain".into(), plain.clone()),
            ("encrypted".into(), sealed_entry(&plain, &test_encryption())),
            ("foreign-key".into(), sealed_entry(&plain, &other_encryption())),
            ("expired".into(), plain_entry(&json!({"Users": []}), 1)),
            ("null-value".into(), plain_entry(&Value::Null, FAR_FUTURE)),
        ],
        "dynamodb_item" => {
            let table = FakeTable::default();
            let key = entry_key();
            let small = table.backend(400);
            let mut out = Vec::new();
            let mut dump = |name: &str, table: &FakeTable| {
                let items: Vec<Value> = table.items().into_iter().map(Value::Object).collect();
                let text = serde_json::to_vec(&items).expect("JSON");
                out.push((name.to_string(), text));
            };
            // Stored as a read does: the lookup creates the tag's generation item, and the
            // entry records it.
            let store = |backend: &DynamoBackend, expires_at: u64| {
                let seen = backend.lookup(&key, &entry_tags()).expect("a lookup");
                let bytes = plain_entry_with(&users, expires_at, &seen.generations);
                backend
                    .set(&key, &bytes, expires_at)
                    .expect("write to the fake table");
            };
            store(&small, FAR_FUTURE);
            dump("chunked", &table);
            // A damaged parent claiming 4 billion chunks (once aborted every read).
            let mut parent = table.item(key.as_str()).expect("the parent item");
            parent.insert("chunks".into(), json!({"N": "4000000000"}));
            table.load(vec![parent]);
            dump("damaged-chunk-count", &table);
            let whole = FakeTable::default();
            store(&whole.backend(400_000), FAR_FUTURE);
            dump("single-with-generation", &whole);
            let expired = FakeTable::default();
            store(&expired.backend(400_000), 1);
            dump("expired", &expired);
            out
        }
        "config_parse" => vec![
            ("empty".into(), Vec::new()),
            (
                "full".into(),
                b"default_profile: prod
profiles:
  prod: {region: us-east-1, sso_instance_arn: 'arn:aws:sso:::instance/ssoins-1', identity_store_id: d-1234567890}
cache:
  enabled: true
  default_ttl: 3600
  operation_ttls: {list_users: 60}
  backend_type: hybrid
  encryption_enabled: true
  encryption_key_source: file
  max_size_mb: 10
  profiles:
    prod: {backend_type: dynamodb, dynamodb_table_name: t}
network: {connect_timeout_ms: 500, identity_center_rps: 2.5}
backup: {keep: [a, b]}
"
                .to_vec(),
            ),
            (
                "anchors".into(),
                b"base: &b {region: eu-west-1}\nprofiles:\n  a: *b\n  b: {<<: *b, aws_profile: x}\n"
                    .to_vec(),
            ),
        ],
        other => panic!("no seeds for target {other}"),
    }
}

/// Where the checked-in seeds of `target` are.
pub fn seed_dir(fuzz_dir: &Path, target: &str) -> PathBuf {
    fuzz_dir.join("seeds").join(target)
}
