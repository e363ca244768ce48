//! The dynamodb cache backend, driven through the library against both emulators:
//! moto_server (lenient: 405,000-byte items, 26-item batches, TTL settings kept) and
//! dynalite (strict like AWS: 409,600-byte items counted with attribute names, 25-item
//! batches; no UpdateTimeToLive). Plus loopback fixtures for throttling and dead endpoints.
//!
//! dynalite cases skip, saying so, when `AWSIDEMAN_TEST_DYNALITE` is unset (no node/npm).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use awsideman::testing::Env;
use awsideman::testing::Kind;
use awsideman::testing::Service;
use awsideman::testing::{
    AWS_ITEM_LIMIT, DynamoBackend, DynamoCaller, DynamoSettings, transport_settings,
};
use awsideman::testing::{CacheBackend, CacheKey, CacheManager, Generations, Invalidation};
use awsideman::testing::{CacheSettings, ConfigFile, cache_settings};
use awsideman::testing::{Envelope, Header, Scheme};
use awsideman::testing::{ProfileSource, Session, SessionSettings};
use awsideman::testing::{Transport, TransportSettings};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};

use crate::common::fixture::{Fixture, Reply};
use crate::common::moto;

/// An emulator the backend is tested against.
struct Emulator {
    name: &'static str,
    url: String,
}

impl Emulator {
    fn is_strict(&self) -> bool {
        self.name == "dynalite"
    }
}

/// moto always; dynalite when the test script could start it.
fn emulators() -> Vec<Emulator> {
    let mut all = vec![Emulator {
        name: "moto",
        url: moto(),
    }];
    match std::env::var("AWSIDEMAN_TEST_DYNALITE") {
        Ok(url) if !url.is_empty() => all.push(Emulator {
            name: "dynalite",
            url,
        }),
        _ => eprintln!(
            "note: AWSIDEMAN_TEST_DYNALITE is not set (node/npm missing?): dynalite cases skipped"
        ),
    }
    all
}

/// The default cache settings, as an empty configuration resolves them.
fn cache_defaults() -> CacheSettings {
    cache_settings(
        &ConfigFile::empty("/nonexistent/awsideman/config.yaml".into()),
        None,
        &Env::default(),
        &std::env::temp_dir().join("awsideman-dynamodb-unused"),
    )
    .expect("default cache settings")
}

/// A session with static keys whose DynamoDB endpoint is `url`.
fn session(url: &str, transport: TransportSettings) -> Arc<Session> {
    let home = std::env::temp_dir().join("awsideman-dynamodb-test-home");
    let env = Env::from_pairs([
        ("HOME", home.display().to_string()),
        ("AWS_ACCESS_KEY_ID", "AKIDDYNAMODBTEST".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing-secret".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ENDPOINT_URL_DYNAMODB", url.into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]);
    Arc::new(Session::new(
        SessionSettings {
            env,
            aws_profile: "default".into(),
            profile_source: ProfileSource::Implied,
            region: Some("us-east-1".into()),
            credentials_cache_dir: home.join("credentials"),
            interactive: false,
        },
        Transport::new(transport),
    ))
}

/// The caller the lead wires: `Session::call` on DynamoDB.
fn caller(session: &Arc<Session>) -> DynamoCaller {
    let session = session.clone();
    Box::new(move |operation, input| session.call(Service::DynamoDb, operation, input))
}

/// A table name no other test uses.
fn unique_table(what: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "awsideman-test-{what}-{}-{nanos:x}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A backend on a fresh (not yet created) table of `emulator`, and a session to inspect it.
struct World {
    backend: DynamoBackend,
    session: Arc<Session>,
    table: String,
}

impl World {
    fn new(emulator: &Emulator, what: &str, settings: DynamoSettings) -> World {
        let session = session(&emulator.url, TransportSettings::default());
        let table = unique_table(what);
        let backend = DynamoBackend::new(table.clone(), caller(&session), settings)
            .with_location(&emulator.url);
        World {
            backend,
            session,
            table,
        }
    }

    fn call(&self, operation: &str, input: Value) -> Value {
        self.session
            .call(Service::DynamoDb, operation, &input)
            .unwrap_or_else(|e| panic!("{operation}: {e}"))
    }

    /// Every item of the table, read directly.
    fn scan(&self) -> Vec<Map<String, Value>> {
        let mut items = Vec::new();
        let mut start = Value::Null;
        loop {
            let mut input = json!({"TableName": self.table, "ConsistentRead": true});
            if !start.is_null() {
                input["ExclusiveStartKey"] = start;
            }
            let mut reply = self.call("Scan", input);
            if let Some(Value::Array(page)) = reply.get_mut("Items").map(Value::take) {
                items.extend(page.into_iter().filter_map(|i| match i {
                    Value::Object(i) => Some(i),
                    _ => None,
                }));
            }
            start = reply
                .get_mut("LastEvaluatedKey")
                .map(Value::take)
                .unwrap_or(Value::Null);
            if start.is_null() {
                return items;
            }
        }
    }

    /// The keys of every item, sorted.
    fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .scan()
            .iter()
            .map(|i| i["cache_key"]["S"].as_str().expect("key").to_string())
            .collect();
        keys.sort();
        keys
    }

    /// The keys of the items holding data (entries and chunks; not tag items, fences or
    /// tombstones), sorted.
    fn stored(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .scan()
            .iter()
            .filter(|i| i.contains_key("data"))
            .map(|i| i["cache_key"]["S"].as_str().expect("key").to_string())
            .collect();
        keys.sort();
        keys
    }

    /// Another backend on this table, calling through `caller`.
    fn backend_with(&self, caller: DynamoCaller, settings: DynamoSettings) -> DynamoBackend {
        DynamoBackend::new(self.table.clone(), caller, settings)
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = self.backend.delete_table();
    }
}

fn key(n: u32) -> CacheKey {
    crate::common::user_entry_key(n as usize)
}

/// An envelope for `key` with a payload of `len` bytes varying with `seed`, recording no
/// generations.
fn envelope(key: &CacheKey, len: usize, seed: u8, expires_at: u64) -> Vec<u8> {
    envelope_with(key, len, seed, expires_at, &Generations::new())
}

/// An envelope for `key` with a payload of `len` bytes varying with `seed`, recording `gens`.
fn envelope_with(
    key: &CacheKey,
    len: usize,
    seed: u8,
    expires_at: u64,
    gens: &Generations,
) -> Vec<u8> {
    let payload: Vec<u8> = (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3] ^ seed)
        .collect();
    Envelope::seal(
        Header {
            v: 0,
            key: key.to_string(),
            service: "identitystore".into(),
            operation: "ListUsers".into(),
            profile: "default".into(),
            // From `expires_at`, not the clock: the same arguments give the same bytes, so a
            // test can rebuild what another thread stored (a second may have passed).
            created_at: expires_at.saturating_sub(605),
            expires_at,
            encryption: Scheme::None,
            key_id: None,
            gens: gens.as_map().clone(),
            len: 0,
            checksum: String::new(),
        },
        payload,
    )
    .encode()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// An item's size as AWS and dynalite count it: attribute names, string bytes, raw binary
/// bytes, and one byte per two significant digits of a number plus one.
fn aws_item_size(item: &Map<String, Value>) -> usize {
    item.iter()
        .map(|(name, value)| {
            name.len()
                + match value.as_object().and_then(|o| o.iter().next()) {
                    Some((t, v)) if t == "S" => v.as_str().map_or(0, str::len),
                    Some((t, v)) if t == "B" => BASE64
                        .decode(v.as_str().unwrap_or(""))
                        .map_or(0, |b| b.len()),
                    Some((t, v)) if t == "N" => {
                        let digits = v.as_str().unwrap_or("0").trim_start_matches('0');
                        let digits = digits.trim_end_matches('0').len().max(1);
                        digits.div_ceil(2) + 1
                    }
                    Some((t, v)) if t == "SS" => v.as_array().map_or(0, |a| {
                        a.iter().filter_map(Value::as_str).map(str::len).sum()
                    }),
                    other => panic!("unexpected attribute {name}: {other:?}"),
                }
        })
        .sum()
}

#[test]
fn the_table_is_created_on_first_write_with_ttl_where_supported() {
    for emulator in emulators() {
        let settings = DynamoSettings {
            tags: vec![("team".into(), "platform".into())],
            ..DynamoSettings::default()
        };
        let w = World::new(&emulator, "create", settings);
        let e = w.backend.describe_table().unwrap_err();
        assert_eq!(e.kind(), Kind::NotFound, "{}: {e}", emulator.name);
        assert!(e.to_string().contains(&w.table), "{e}");
        // Reads and listings of a missing table are misses, not errors.
        assert_eq!(w.backend.get(&key(1)).unwrap(), None);
        assert_eq!(w.backend.stats().unwrap().entries, 0);
        assert_eq!(
            w.backend.invalidate(Invalidation::Keys(&[key(1)])).unwrap(),
            0
        );

        let bytes = envelope(&key(1), 100, 1, now() + 600);
        w.backend.set(&key(1), &bytes, now() + 600).unwrap();
        assert_eq!(w.backend.get(&key(1)).unwrap(), Some(bytes));

        let d = w.backend.describe_table().unwrap();
        assert_eq!(d["status"], "ACTIVE", "{}: {d}", emulator.name);
        assert_eq!(d["billing_mode"], "PAY_PER_REQUEST", "{d}");
        assert_eq!(
            d["key_schema"],
            json!([{"attribute": "cache_key", "type": "S", "key_type": "HASH"}])
        );
        assert_eq!(
            d["location"],
            format!("dynamodb table {} ({})", w.table, emulator.url)
        );
        assert_eq!(w.backend.location(), d["location"]);
        if emulator.is_strict() {
            // dynalite describes TTL but cannot turn it on.
            assert_eq!(d["ttl"], json!({"status": "DISABLED"}), "{d}");
        } else {
            assert_eq!(d["ttl"], json!({"status": "ENABLED", "attribute": "ttl"}));
            let arn = d["arn"].as_str().unwrap();
            let tags = w.call("ListTagsOfResource", json!({"ResourceArn": arn}));
            assert_eq!(tags["Tags"], json!([{"Key": "team", "Value": "platform"}]));
        }

        // Again: nothing to create; repair finds nothing wrong.
        let setup = w.backend.ensure_table().unwrap();
        assert!(!setup.created);
        assert_eq!(setup.status, "ACTIVE");
        if emulator.is_strict() {
            assert_eq!(setup.ttl.status, "UNSUPPORTED");
            let note = setup.ttl.note.as_deref().unwrap_or_default();
            assert!(note.contains("UnknownOperationException"), "{note}");
        } else {
            assert!(setup.ttl.is_on(), "{setup:?}");
        }
        let report = w.backend.repair().unwrap();
        assert!(report.problems.is_empty(), "{report:?}");
        assert!(report.fixed.is_empty(), "{report:?}");
        if emulator.is_strict() {
            assert_eq!(report.notes.len(), 1, "{report:?}");
        } else {
            assert!(report.ok.contains(&"TTL is ENABLED on ttl".to_string()));
        }
        assert!(w.backend.delete_table().unwrap());
        assert!(!w.backend.delete_table().unwrap());
    }
}

#[test]
fn repair_turns_ttl_on_and_names_a_wrong_key_schema() {
    for emulator in emulators() {
        let w = World::new(&emulator, "repair", DynamoSettings::default());
        w.call(
            "CreateTable",
            json!({
                "TableName": w.table,
                "KeySchema": [{"AttributeName": "cache_key", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "cache_key", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST",
            }),
        );
        let report = w.backend.repair().unwrap();
        assert!(report.problems.is_empty(), "{report:?}");
        if emulator.is_strict() {
            assert!(report.fixed.is_empty(), "{report:?}");
        } else {
            assert_eq!(report.fixed, vec!["turned TTL on for ttl"], "{report:?}");
            let d = w.backend.describe_table().unwrap();
            assert_eq!(d["ttl"]["status"], "ENABLED");
        }
        w.backend.delete_table().unwrap();

        w.call(
            "CreateTable",
            json!({
                "TableName": w.table,
                "KeySchema": [
                    {"AttributeName": "id", "KeyType": "HASH"},
                    {"AttributeName": "part", "KeyType": "RANGE"},
                ],
                "AttributeDefinitions": [
                    {"AttributeName": "id", "AttributeType": "N"},
                    {"AttributeName": "part", "AttributeType": "S"},
                ],
                "BillingMode": "PAY_PER_REQUEST",
            }),
        );
        let report = w.backend.repair().unwrap();
        assert_eq!(
            report.problems[..2],
            [
                "the hash key is id (N), but awsideman needs cache_key (S)".to_string(),
                "the table has a sort (RANGE) key part (S); awsideman's table has none".into(),
            ],
            "{}: {report:?}",
            emulator.name
        );
        assert!(
            report.problems[2].contains("cannot be changed"),
            "{report:?}"
        );
        // Writes to such a table fail (the manager reports it once); they do not panic.
        let bytes = envelope(&key(1), 10, 0, now() + 60);
        assert!(w.backend.set(&key(1), &bytes, now() + 60).is_err());
    }
}

/// Stores an answer as a cached read does: looks `k` up under `tags`, then stores an
/// envelope recording the generations the lookup saw. Returns the bytes.
fn store(
    backend: &DynamoBackend,
    k: &CacheKey,
    len: usize,
    seed: u8,
    expires: u64,
    tags: &[String],
) -> Vec<u8> {
    let seen = backend.lookup(k, tags).unwrap();
    let bytes = envelope_with(k, len, seed, expires, &seen.generations);
    backend.set(k, &bytes, expires).unwrap();
    bytes
}

fn tags(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn set_get_expiry_listing_and_stored_attributes() {
    for emulator in emulators() {
        let w = World::new(&emulator, "basic", DynamoSettings::default());
        let expires = now() + 600;
        let t = tags(&["users:d-1234567890"]);
        let fresh = store(&w.backend, &key(1), 2000, 1, expires, &t);
        assert_eq!(
            w.backend.lookup(&key(1), &t).unwrap().bytes.as_deref(),
            Some(&fresh[..])
        );
        assert_eq!(w.backend.get(&key(1)).unwrap().as_deref(), Some(&fresh[..]));
        assert_eq!(w.backend.get(&key(2)).unwrap(), None);

        // Expired but not yet removed by DynamoDB (which may take 48 h): a miss.
        let stale = store(&w.backend, &key(2), 10, 2, now() - 1, &t);
        assert!(w.keys().contains(&key(2).to_string()), "still stored");
        assert_eq!(w.backend.lookup(&key(2), &t).unwrap().bytes, None);

        // What an AWS CLI user sees in the table.
        let item = w.call(
            "GetItem",
            json!({"TableName": w.table, "Key": {"cache_key": {"S": key(1).to_string()}}}),
        )["Item"]
            .clone();
        assert_eq!(item["operation"]["S"], "ListUsers");
        assert_eq!(item["ttl"]["N"], expires.to_string());
        assert_eq!(item["size"]["N"], fresh.len().to_string());
        let header = Envelope::decode_header(&fresh).unwrap();
        assert_eq!(item["created_at"]["N"], header.created_at.to_string());
        assert_eq!(
            BASE64.decode(item["data"]["B"].as_str().unwrap()).unwrap(),
            fresh
        );
        assert!(item.get("chunks").is_none());
        // The tag's generation item: its token, the tag for people, and a TTL.
        let generation = w
            .scan()
            .into_iter()
            .find(|i| i["cache_key"]["S"].as_str().unwrap().starts_with("gen#"))
            .expect("a generation item");
        assert_eq!(generation["tag"]["S"], "users:d-1234567890");
        assert_eq!(
            header.gens["users:d-1234567890"],
            generation["gen"]["S"].as_str().unwrap()
        );
        assert!(
            generation["ttl"]["N"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
                > now()
        );

        let mut entries = w.backend.entries().unwrap();
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        assert_eq!(entries.len(), 2, "generation items are not entries");
        let one = entries.iter().find(|e| e.key == key(1)).unwrap();
        assert_eq!(one.size, fresh.len() as u64);
        let header = one.header.as_ref().expect("header decoded");
        assert_eq!(header.operation, "ListUsers");
        assert_eq!(header.expires_at, expires);
        let stats = w.backend.stats().unwrap();
        assert_eq!(stats.entries, 2);
        assert_eq!(stats.bytes, (fresh.len() + stale.len()) as u64);
        assert_eq!(stats.limit_bytes, None);

        w.backend.health_check().unwrap();
        assert_eq!(w.backend.stats().unwrap().entries, 2, "the probe is gone");
    }
}

#[test]
fn a_3_mb_entry_round_trips_in_chunks_within_the_item_limit() {
    for emulator in emulators() {
        // On dynalite, use AWS's exact limit with no margin: any miscount is refused there.
        let max_item_bytes = if emulator.is_strict() {
            AWS_ITEM_LIMIT
        } else {
            DynamoSettings::default().max_item_bytes
        };
        let settings = DynamoSettings {
            max_item_bytes,
            ..DynamoSettings::default()
        };
        let w = World::new(&emulator, "large", settings);
        let expires = now() + 600;
        let t = tags(&["users:d-1"]);
        let started = Instant::now();
        let big = store(&w.backend, &key(1), 3 * 1024 * 1024, 7, expires, &t);
        let wrote = started.elapsed();
        let started = Instant::now();
        assert!(
            w.backend.lookup(&key(1), &t).unwrap().bytes.as_deref() == Some(&big[..]),
            "round trip"
        );
        let read = started.elapsed();

        let items = w.scan();
        let chunks: Vec<_> = items
            .iter()
            .filter(|i| i["cache_key"]["S"].as_str().unwrap().contains("#"))
            .filter(|i| !i["cache_key"]["S"].as_str().unwrap().starts_with("gen#"))
            .collect();
        let expected_chunks = big.len().div_ceil(max_item_bytes - 200) - 1;
        assert!(
            (expected_chunks..=expected_chunks + 1).contains(&chunks.len()),
            "{}: {} chunks",
            emulator.name,
            chunks.len()
        );
        let largest = items.iter().map(aws_item_size).max().unwrap();
        assert!(largest <= AWS_ITEM_LIMIT, "{largest}");
        assert!(
            largest + 64 >= max_item_bytes,
            "chunks are filled up to the limit: {largest} of {max_item_bytes}"
        );
        let entries = w.backend.entries().unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].size, big.len() as u64);
        assert_eq!(
            entries[0].header.as_ref().map(|h| h.operation.as_str()),
            Some("ListUsers")
        );
        eprintln!(
            "{}: 3 MB entry in {} items, largest {largest} bytes; set {} ms, get {} ms",
            emulator.name,
            chunks.len() + 1,
            wrote.as_millis(),
            read.as_millis()
        );
    }
}

#[test]
fn replacing_a_chunked_entry_leaves_no_orphan_chunks() {
    for emulator in emulators() {
        let w = World::new(&emulator, "replace", DynamoSettings::default());
        let expires = now() + 600;
        let first = envelope(&key(1), 1_500_000, 1, expires);
        let second = envelope(&key(1), 1_100_000, 2, expires);
        w.backend.set(&key(1), &first, expires).unwrap();
        let before = w.keys();
        assert!(before.len() >= 4, "{before:?}");
        w.backend.set(&key(1), &second, expires).unwrap();
        assert_eq!(w.backend.get(&key(1)).unwrap(), Some(second));

        let items = w.scan();
        let parent = items
            .iter()
            .find(|i| i["cache_key"]["S"] == json!(key(1).to_string()))
            .unwrap();
        let write_id = parent["write_id"]["S"].as_str().unwrap();
        let count: usize = parent["chunks"]["N"].as_str().unwrap().parse().unwrap();
        let mut want: Vec<String> = (1..=count)
            .map(|n| format!("{}#{write_id}#{n}", key(1)))
            .collect();
        want.push(key(1).to_string());
        want.sort();
        assert_eq!(
            w.keys(),
            want,
            "{}: only the new write's chunks",
            emulator.name
        );

        // Replaced by a small entry: no chunk at all remains.
        let small = envelope(&key(1), 100, 3, expires);
        w.backend.set(&key(1), &small, expires).unwrap();
        assert_eq!(w.keys(), vec![key(1).to_string()]);
        assert_eq!(w.backend.get(&key(1)).unwrap(), Some(small));
    }
}

/// A caller that counts the calls of each operation.
fn counting(session: &Arc<Session>, counts: Arc<Mutex<BTreeMap<String, usize>>>) -> DynamoCaller {
    let inner = caller(session);
    Box::new(move |operation, input| {
        *counts
            .lock()
            .unwrap()
            .entry(operation.to_string())
            .or_default() += 1;
        inner(operation, input)
    })
}

/// An invalidation gives each tag a new generation (one request per tag) and removes
/// nothing; every entry that recorded an older one is a miss from then on. A hit is one
/// request. Removing keys removes their chunks; a clear removes everything but the wrapped
/// keys, generations included, and an entry recorded against a removed generation is a miss.
#[test]
fn invalidations_move_generations_and_hits_cost_one_request() {
    for emulator in emulators() {
        let w = World::new(&emulator, "invalidate", DynamoSettings::default());
        let expires = now() + 600;
        store(&w.backend, &key(1), 100, 1, expires, &tags(&["t:a"]));
        store(&w.backend, &key(2), 100, 2, expires, &tags(&["t:a", "t:b"]));
        store(&w.backend, &key(3), 100, 3, expires, &tags(&["t:b"]));
        store(&w.backend, &key(4), 900_000, 4, expires, &tags(&["t:a"]));
        store(&w.backend, &key(5), 100, 5, expires, &[]);

        let counts: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
        let counted = w.backend_with(
            counting(&w.session, counts.clone()),
            DynamoSettings::default(),
        );
        assert!(
            counted
                .lookup(&key(3), &tags(&["t:b"]))
                .unwrap()
                .bytes
                .is_some()
        );
        assert_eq!(
            *counts.lock().unwrap(),
            BTreeMap::from([("BatchGetItem".to_string(), 1)]),
            "{}: a hit is one request",
            emulator.name
        );
        counts.lock().unwrap().clear();
        let moved = counted
            .invalidate(Invalidation::Tags(&tags(&["t:a", "t:c"])))
            .unwrap();
        assert_eq!(moved, 2);
        assert_eq!(
            *counts.lock().unwrap(),
            BTreeMap::from([("PutItem".to_string(), 2)]),
            "{}: one request per tag",
            emulator.name
        );
        for (n, t) in [(1, &["t:a"][..]), (2, &["t:a", "t:b"]), (4, &["t:a"])] {
            assert_eq!(
                w.backend.lookup(&key(n), &tags(t)).unwrap().bytes,
                None,
                "{n}"
            );
        }
        assert!(
            w.backend
                .lookup(&key(3), &tags(&["t:b"]))
                .unwrap()
                .bytes
                .is_some()
        );
        assert!(w.backend.lookup(&key(5), &[]).unwrap().bytes.is_some());
        // Nothing was removed: stale entries are replaced when read again, or expire.
        assert_eq!(w.backend.stats().unwrap().entries, 5);
        let fresh = store(&w.backend, &key(1), 100, 11, expires, &tags(&["t:a"]));
        assert_eq!(
            w.backend
                .lookup(&key(1), &tags(&["t:a"]))
                .unwrap()
                .bytes
                .as_deref(),
            Some(&fresh[..])
        );

        // By key (a key given twice counts once), with its chunks; a missing key is no
        // error.
        let removed = w
            .backend
            .invalidate(Invalidation::Keys(&[key(4), key(4), key(9)]))
            .unwrap();
        assert_eq!(removed, 1);
        assert!(
            !w.keys().iter().any(|k| k.starts_with(&key(4).to_string())),
            "{:?}",
            w.keys()
        );

        // A writer that looked up before a clear stores after it: a miss, for good.
        let seen = w.backend.lookup(&key(6), &tags(&["t:d"])).unwrap();
        let removed = w.backend.invalidate(Invalidation::All).unwrap();
        assert_eq!(removed, 4, "entries 1, 2, 3 and 5");
        assert_eq!(
            w.keys(),
            Vec::<String>::new(),
            "nothing left, generations too"
        );
        let late = envelope_with(&key(6), 100, 6, expires, &seen.generations);
        w.backend.set(&key(6), &late, expires).unwrap();
        assert_eq!(
            w.backend.lookup(&key(6), &tags(&["t:d"])).unwrap().bytes,
            None
        );
    }
}

/// Thousands of invalidations and clears leave no more than one generation item per tag
/// ever used, and every item but the wrapped keys carries a TTL.
#[test]
fn the_table_stays_bounded_by_the_tags_in_use() {
    let emulator = &emulators()[0];
    let w = World::new(emulator, "bounded", DynamoSettings::default());
    let expires = now() + 600;
    let all_tags: Vec<String> = (0..20).map(|n| format!("t:{n}")).collect();
    for round in 0..2000u32 {
        let tag = &all_tags[(round as usize * 7) % all_tags.len()];
        if round % 50 == 0 {
            store(
                &w.backend,
                &key(round % 13),
                50,
                0,
                expires,
                std::slice::from_ref(tag),
            );
        }
        if round % 400 == 399 {
            w.backend.invalidate(Invalidation::All).unwrap();
        } else {
            w.backend
                .invalidate(Invalidation::Tags(std::slice::from_ref(tag)))
                .unwrap();
        }
    }
    let items = w.scan();
    let entries = items.iter().filter(|i| i.contains_key("data")).count();
    let others = items.len() - entries;
    assert!(others <= all_tags.len(), "{others} non-entry items");
    for item in &items {
        assert!(item.contains_key("ttl"), "{item:?}");
    }
}

#[test]
fn batches_respect_25_items_and_clearing_reports_progress() {
    for emulator in emulators() {
        let settings = DynamoSettings {
            scan_segments: 3,
            ..DynamoSettings::default()
        };
        let w = World::new(&emulator, "batch", settings);
        let expires = now() + 600;
        for n in 0..60 {
            let bytes = envelope(&key(n), 50, 0, expires);
            w.backend.set(&key(n), &bytes, expires).unwrap();
        }
        // 60 deletes: more than 25 per call if not split (dynalite refuses).
        let keys: Vec<CacheKey> = (0..60).map(key).collect();
        let removed = w.backend.invalidate(Invalidation::Keys(&keys)).unwrap();
        assert_eq!(removed, 60, "{}", emulator.name);
        assert!(w.keys().is_empty());

        for n in 0..70 {
            store(&w.backend, &key(n), 50, 0, expires, &tags(&["users:d-1"]));
        }
        let seen = Mutex::new(Vec::new());
        let removed = w
            .backend
            .clear(&|done| seen.lock().unwrap().push(done))
            .unwrap();
        assert_eq!(removed, 70);
        let mut seen = seen.into_inner().unwrap();
        seen.sort();
        assert_eq!(seen.last(), Some(&70), "{seen:?}");
        assert!(w.keys().is_empty(), "{:?}", w.keys());

        // An entry of many small chunks: its puts and deletes go 25 at a time.
        let settings = DynamoSettings {
            max_item_bytes: 4000,
            ..DynamoSettings::default()
        };
        let small_items = DynamoBackend::new(w.table.clone(), caller(&w.session), settings);
        let bytes = envelope(&key(1), 200_000, 9, expires);
        small_items.set(&key(1), &bytes, expires).unwrap();
        assert!(w.keys().len() > 2 * 25, "{} items", w.keys().len());
        assert_eq!(small_items.get(&key(1)).unwrap(), Some(bytes));
        assert_eq!(
            small_items
                .invalidate(Invalidation::Keys(&[key(1)]))
                .unwrap(),
            1
        );
        assert!(w.stored().is_empty());
    }
}

/// A DynamoDB error reply as the service sends it.
fn dynamodb_error(status: u16, code: &str) -> Reply {
    Reply {
        status,
        headers: vec![("Content-Type".into(), "application/x-amz-json-1.0".into())],
        body: json!({
            "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
            "message": "slow down",
        })
        .to_string(),
    }
}

#[test]
fn throttling_and_unprocessed_items_are_retried() {
    let bytes = envelope(&key(1), 3000, 1, now() + 600);
    let item = json!({"Item": {
        "cache_key": {"S": key(1).to_string()},
        "data": {"B": BASE64.encode(&bytes)},
        "ttl": {"N": (now() + 600).to_string()},
    }})
    .to_string();
    let calls: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    let counted = calls.clone();
    let fixture = Fixture::routed(move |operation| {
        let n = {
            let mut calls = counted.lock().unwrap();
            let n = calls.entry(operation.to_string()).or_default();
            *n += 1;
            *n
        };
        match (operation, n) {
            ("GetItem", 1) => dynamodb_error(400, "ProvisionedThroughputExceededException"),
            ("GetItem", _) => Reply::json(200, &item),
            ("BatchWriteItem", 1) => Reply::json(
                200,
                &json!({"UnprocessedItems": {"t": [
                    {"DeleteRequest": {"Key": {"cache_key": {"S": "left-over"}}}}
                ]}})
                .to_string(),
            ),
            _ => Reply::json(200, "{}"),
        }
    });
    let mut transport = TransportSettings::default();
    transport.retry.throttle_base = Duration::from_millis(20);
    let session = session(&fixture.url, transport);
    let settings = DynamoSettings {
        max_item_bytes: 1000,
        batch_backoff_base: Duration::from_millis(5),
        ..DynamoSettings::default()
    };
    let backend = DynamoBackend::new("t".into(), caller(&session), settings);

    assert_eq!(backend.get(&key(1)).unwrap(), Some(bytes.clone()));
    backend
        .set(&key(1), &bytes, now() + 600)
        .expect("set with a chunked entry");

    let seen = fixture.requests();
    let targets: Vec<&str> = seen
        .iter()
        .filter_map(|r| r.header("x-amz-target"))
        .collect();
    assert_eq!(
        targets,
        [
            "DynamoDB_20120810.GetItem",
            "DynamoDB_20120810.GetItem",
            "DynamoDB_20120810.BatchWriteItem",
            "DynamoDB_20120810.BatchWriteItem",
            "DynamoDB_20120810.PutItem",
        ]
    );
    assert_eq!(
        seen[0].header("content-type"),
        Some("application/x-amz-json-1.0")
    );
    assert!(
        seen[0]
            .header("authorization")
            .unwrap()
            .contains("/us-east-1/dynamodb/aws4_request")
    );
    let retried: Value = serde_json::from_str(&seen[3].body).unwrap();
    assert_eq!(
        retried,
        json!({"RequestItems": {"t": [
            {"DeleteRequest": {"Key": {"cache_key": {"S": "left-over"}}}}
        ]}}),
        "only the unprocessed request is sent again"
    );
    // The chunks (written first) and the parent (written last) hold the whole entry.
    let first: Value = serde_json::from_str(&seen[2].body).unwrap();
    let chunks = first["RequestItems"]["t"].as_array().unwrap();
    let put: Value = serde_json::from_str(&seen[4].body).unwrap();
    assert_eq!(put["ReturnValues"], "ALL_OLD");
    assert_eq!(put["Item"]["chunks"]["N"], chunks.len().to_string());
    let decode = |item: &Value| BASE64.decode(item["data"]["B"].as_str().unwrap()).unwrap();
    let mut joined = decode(&put["Item"]);
    for (n, chunk) in chunks.iter().enumerate() {
        let chunk = &chunk["PutRequest"]["Item"];
        let write_id = put["Item"]["write_id"]["S"].as_str().unwrap();
        assert_eq!(
            chunk["cache_key"]["S"],
            format!("{}#{write_id}#{}", key(1), n + 1)
        );
        joined.extend(decode(chunk));
    }
    assert_eq!(joined, bytes);
}

#[test]
fn an_unreachable_table_is_a_bounded_error_and_a_miss() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let mut cache = cache_defaults();
    cache.dynamodb_timeout_ms = 300;
    cache.dynamodb_max_retries = 1;
    let transport = transport_settings(&TransportSettings::default(), &cache);
    assert_eq!(transport.retry.max_attempts, 2);
    assert_eq!(transport.http.read_timeout, Duration::from_millis(300));

    for (what, url) in [("refused", closed), ("stalled", Fixture::black_hole())] {
        let session = session(&url, transport.clone());
        let backend = DynamoBackend::new("t".into(), caller(&session), DynamoSettings::default())
            .with_location("us-east-1");
        let started = Instant::now();
        let e = backend.lookup(&key(1), &tags(&["t"])).unwrap_err();
        let took = started.elapsed();
        assert!(took < Duration::from_secs(3), "{what}: {took:?}");
        let message = e.to_string();
        assert!(
            message.starts_with("reading dynamodb table t (us-east-1): dynamodb BatchGetItem:"),
            "{what}: {message}"
        );
        assert!(message.contains("after 2 attempts"), "{what}: {message}");

        let manager = CacheManager::with_backend(Box::new(backend), cache.clone(), true);
        assert_eq!(manager.get(&key(1), &tags(&["t"])), None);
        assert_eq!(manager.counters().misses, 1);
    }
}

/// When a hook runs: before the first call of an operation, or after its `n`th (from 1).
#[derive(Clone, Copy)]
enum At {
    Before(&'static str),
    After(&'static str, usize),
}

/// The caller the lead wires, running `hook` once, `at` a given call: another process's
/// work, deterministically between two of this one's calls.
fn hooked(session: &Arc<Session>, at: At, hook: impl FnOnce() + Send + 'static) -> DynamoCaller {
    let inner = caller(session);
    let hook: Mutex<Option<Box<dyn FnOnce() + Send>>> = Mutex::new(Some(Box::new(hook)));
    let seen = AtomicUsize::new(0);
    let run = move || {
        let pending = hook.lock().unwrap().take();
        if let Some(hook) = pending {
            hook();
        }
    };
    Box::new(move |called, input| match at {
        At::Before(operation) if called == operation => {
            run();
            inner(called, input)
        }
        At::After(operation, n) if called == operation => {
            let reply = inner(called, input);
            if seen.fetch_add(1, Ordering::SeqCst) + 1 == n {
                run();
            }
            reply
        }
        _ => inner(called, input),
    })
}

/// The race generations close: a process misses (its lookup records the generations) and
/// reads AWS; meanwhile another process changes the data and invalidates the tag; the
/// answer read before is stored after. Whichever step of the store the invalidation
/// precedes (the chunks, the parent) or follows, the stale answer is never served; the
/// next miss stores a fresh one that is.
#[test]
fn an_answer_read_before_an_invalidation_is_never_served() {
    for emulator in emulators() {
        let w = World::new(&emulator, "race", DynamoSettings::default());
        w.backend.ensure_table().unwrap();
        let invalidator = Arc::new(w.backend_with(caller(&w.session), DynamoSettings::default()));
        let t = tags(&["users:d-1"]);
        let expires = now() + 600;
        // Items small enough that every entry is chunked.
        let settings = DynamoSettings {
            max_item_bytes: 4000,
            ..DynamoSettings::default()
        };
        for (n, at) in (1..).zip([
            At::Before("BatchWriteItem"),
            At::Before("PutItem"),
            At::After("PutItem", 1),
        ]) {
            let (other, hook_tags) = (invalidator.clone(), t.clone());
            let writer = w.backend_with(
                hooked(&w.session, at, move || {
                    other.invalidate(Invalidation::Tags(&hook_tags)).unwrap();
                }),
                settings.clone(),
            );
            let seen = writer.lookup(&key(n), &t).unwrap();
            assert!(seen.bytes.is_none());
            let bytes = envelope_with(&key(n), 10_000, n as u8, expires, &seen.generations);
            writer.set(&key(n), &bytes, expires).unwrap();
            let again = w.backend.lookup(&key(n), &t).unwrap();
            assert_eq!(again.bytes, None, "{}: stale answer served", emulator.name);
            let fresh = envelope_with(&key(n), 10_000, 100 + n as u8, expires, &again.generations);
            w.backend.set(&key(n), &fresh, expires).unwrap();
            assert_eq!(
                w.backend.lookup(&key(n), &t).unwrap().bytes.as_deref(),
                Some(&fresh[..])
            );
        }
    }
}

/// Two lookups of a tag without a generation race to create it: one token wins, and both
/// answers recorded against what each saw are either current (the winner's) or misses.
#[test]
fn racing_creators_of_a_generation_agree_on_one() {
    let emulator = &emulators()[0];
    let w = World::new(emulator, "create-race", DynamoSettings::default());
    w.backend.ensure_table().unwrap();
    let t = tags(&["users:d-9"]);
    let other = Arc::new(w.backend_with(caller(&w.session), DynamoSettings::default()));
    let (hook_other, hook_tags) = (other.clone(), t.clone());
    let first = w.backend_with(
        hooked(&w.session, At::Before("PutItem"), move || {
            hook_other.lookup(&key(2), &hook_tags).unwrap();
        }),
        DynamoSettings::default(),
    );
    let a = first.lookup(&key(1), &t).unwrap().generations;
    let b = other.lookup(&key(3), &t).unwrap().generations;
    assert_eq!(a, b, "the loser reads the winner's token");
}
