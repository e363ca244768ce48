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

use awsideman::aws::service::Service;
use awsideman::aws::session::{ProfileSource, Session, SessionSettings};
use awsideman::aws::transport::{Transport, TransportSettings};
use awsideman::cache::dynamodb::{
    AWS_ITEM_LIMIT, DynamoBackend, DynamoCaller, DynamoSettings, transport_settings,
};
use awsideman::cache::envelope::{Envelope, Header};
use awsideman::cache::{CacheBackend, CacheKey, CacheManager, Invalidation, Namespace};
use awsideman::config::{CacheSettings, ConfigFile, cache_settings};
use awsideman::env::Env;
use awsideman::error::Kind;
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
        Transport::new(transport).expect("transport"),
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
    CacheKey::new(
        &Namespace {
            profile: "default".into(),
            region: "us-east-1".into(),
        },
        "identitystore",
        "ListUsers",
        &json!({"IdentityStoreId": "d-1234567890", "n": n}),
    )
}

/// An envelope for `key` with a payload of `len` bytes varying with `seed`.
fn envelope(key: &CacheKey, len: usize, seed: u8, expires_at: u64) -> Vec<u8> {
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
            encryption: "none".into(),
            key_id: None,
            tags: vec![],
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
        w.backend.set(&key(1), &bytes, &[], now() + 600).unwrap();
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
        assert!(w.backend.set(&key(1), &bytes, &[], now() + 60).is_err());
    }
}

#[test]
fn set_get_expiry_listing_and_stored_attributes() {
    for emulator in emulators() {
        let w = World::new(&emulator, "basic", DynamoSettings::default());
        let expires = now() + 600;
        let fresh = envelope(&key(1), 2000, 1, expires);
        w.backend
            .set(&key(1), &fresh, &["users:d-1234567890".into()], expires)
            .unwrap();
        assert_eq!(w.backend.get(&key(1)).unwrap().as_deref(), Some(&fresh[..]));
        assert_eq!(w.backend.get(&key(2)).unwrap(), None);

        // Expired but not yet removed by DynamoDB (which may take 48 h): a miss.
        let stale = envelope(&key(2), 10, 2, now() - 1);
        w.backend.set(&key(2), &stale, &[], now() - 1).unwrap();
        assert!(w.keys().contains(&key(2).to_string()), "still stored");
        assert_eq!(w.backend.get(&key(2)).unwrap(), None);

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

        let mut entries = w.backend.entries().unwrap();
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        assert_eq!(entries.len(), 2, "tag items are not entries");
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
        let big = envelope(&key(1), 3 * 1024 * 1024, 7, expires);
        let started = Instant::now();
        w.backend
            .set(&key(1), &big, &["users:d-1".into()], expires)
            .unwrap();
        let wrote = started.elapsed();
        let started = Instant::now();
        assert!(
            w.backend.get(&key(1)).unwrap() == Some(big.clone()),
            "round trip"
        );
        let read = started.elapsed();

        let items = w.scan();
        let chunks: Vec<_> = items
            .iter()
            .filter(|i| i["cache_key"]["S"].as_str().unwrap().contains("#"))
            .filter(|i| !i["cache_key"]["S"].as_str().unwrap().starts_with("tag#"))
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
        w.backend.set(&key(1), &first, &[], expires).unwrap();
        let before = w.keys();
        assert!(before.len() >= 4, "{before:?}");
        w.backend.set(&key(1), &second, &[], expires).unwrap();
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
        w.backend.set(&key(1), &small, &[], expires).unwrap();
        assert_eq!(w.keys(), vec![key(1).to_string()]);
        assert_eq!(w.backend.get(&key(1)).unwrap(), Some(small));
    }
}

#[test]
fn invalidation_by_tag_key_and_all_removes_chunks_and_tag_items() {
    for emulator in emulators() {
        let w = World::new(&emulator, "invalidate", patient());
        let expires = now() + 600;
        let tags = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let put = |n: u32, len: usize, t: &[&str]| {
            let bytes = envelope(&key(n), len, n as u8, expires);
            w.backend.set(&key(n), &bytes, &tags(t), expires).unwrap();
        };
        put(1, 100, &["t:a"]);
        put(2, 100, &["t:a", "t:b"]);
        put(3, 100, &["t:b"]);
        put(4, 900_000, &["t:a"]);
        put(5, 100, &[]);

        let removed = w
            .backend
            .invalidate(Invalidation::Tags(&tags(&["t:a"])))
            .unwrap();
        assert_eq!(removed, 3, "{}", emulator.name);
        for n in [1, 2, 4] {
            assert_eq!(w.backend.get(&key(n)).unwrap(), None);
        }
        assert!(w.backend.get(&key(3)).unwrap().is_some());
        let left = w.keys();
        assert!(
            !left.iter().any(|k| k.starts_with(&format!("{}#", key(4)))),
            "chunks of 4 are gone: {left:?}"
        );
        // What stays: t:a's fence, and a tombstone (no data) under each key it listed.
        let t_a: Vec<&String> = left.iter().filter(|k| k.starts_with("tag#t:a#")).collect();
        assert_eq!(t_a, ["tag#t:a#fence"], "{left:?}");
        for n in [1, 2, 4] {
            assert!(
                left.contains(&key(n).to_string()),
                "tombstone {n}: {left:?}"
            );
        }
        let mut want = vec![key(3).to_string(), key(5).to_string()];
        want.sort();
        assert_eq!(w.stored(), want);
        assert!(left.iter().any(|k| k.starts_with("tag#t:b#")), "{left:?}");

        // By key (a key given twice counts once); a missing key is no error.
        let removed = w
            .backend
            .invalidate(Invalidation::Keys(&[key(3), key(3), key(9)]))
            .unwrap();
        assert_eq!(removed, 1);
        assert_eq!(w.backend.get(&key(3)).unwrap(), None);

        put(6, 700_000, &["t:c"]);
        let removed = w.backend.invalidate(Invalidation::All).unwrap();
        assert_eq!(removed, 2, "entries 5 and 6");
        assert_eq!(w.stored(), Vec::<String>::new(), "no entry or chunk left");
        assert_eq!(w.backend.stats().unwrap().entries, 0);
        // Tag items, the fence and the tombstones stay (a tag item deleted under a writer
        // could lose the key it files; the fence still refuses an answer read before it).
        let left = w.keys();
        assert!(left.contains(&"tag#t:a#fence".to_string()), "{left:?}");
        assert!(left.iter().any(|k| k.starts_with("tag#t:c#")), "{left:?}");
        let before = SystemTime::now()
            .checked_sub(Duration::from_millis(100))
            .unwrap()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let bytes = envelope(&key(7), 100, 7, expires);
        assert!(
            !w.backend
                .set_unless_invalidated(&key(7), &bytes, &tags(&["t:a"]), expires, before)
                .unwrap(),
            "{}: fenced across a clear",
            emulator.name
        );
    }
}

#[test]
fn batches_respect_25_items_and_clearing_reports_progress() {
    for emulator in emulators() {
        let settings = DynamoSettings {
            scan_segments: 3,
            ..patient()
        };
        let w = World::new(&emulator, "batch", settings);
        let expires = now() + 600;
        for n in 0..60 {
            let bytes = envelope(&key(n), 50, 0, expires);
            w.backend
                .set(&key(n), &bytes, &["users:d-1".into()], expires)
                .unwrap();
        }
        // 60 deletes and 8 tag shards: more than 25 per call if not split (dynalite refuses).
        let removed = w
            .backend
            .invalidate(Invalidation::Tags(&["users:d-1".into()]))
            .unwrap();
        assert_eq!(removed, 60, "{}", emulator.name);
        assert!(w.stored().is_empty());
        let left = w.keys();
        assert_eq!(left.len(), 61, "60 tombstones and the fence: {left:?}");
        assert!(left.contains(&"tag#users:d-1#fence".to_string()));

        for n in 0..70 {
            let bytes = envelope(&key(n), 50, 0, expires);
            w.backend.set(&key(n), &bytes, &[], expires).unwrap();
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
        assert_eq!(w.keys(), ["tag#users:d-1#fence"]);

        // An entry of many small chunks: its puts and deletes go 25 at a time.
        let settings = DynamoSettings {
            max_item_bytes: 4000,
            ..DynamoSettings::default()
        };
        let small_items = DynamoBackend::new(w.table.clone(), caller(&w.session), settings);
        let bytes = envelope(&key(1), 200_000, 9, expires);
        small_items.set(&key(1), &bytes, &[], expires).unwrap();
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
        .set(&key(1), &bytes, &[], now() + 600)
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
        let e = backend.get(&key(1)).unwrap_err();
        let took = started.elapsed();
        assert!(took < Duration::from_secs(3), "{what}: {took:?}");
        let message = e.to_string();
        assert!(
            message.starts_with("reading dynamodb table t (us-east-1): dynamodb GetItem:"),
            "{what}: {message}"
        );
        assert!(message.contains("after 2 attempts"), "{what}: {message}");

        let manager = CacheManager::with_backend(Box::new(backend), cache.clone(), true);
        assert_eq!(manager.get(&key(1)), None);
        assert_eq!(manager.counters().misses, 1);
    }
}

/// Unix nanoseconds now: the `since` of an answer read from AWS now.
fn nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
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

/// Settings whose invalidations always count as prompt (fence margin of a minute), so
/// they forget the keys they read unless a writer filed one since.
fn patient() -> DynamoSettings {
    DynamoSettings {
        fence_margin: Duration::from_secs(60),
        ..DynamoSettings::default()
    }
}

/// The tag shard of an entry key (its first byte, modulo the shard count).
fn shard(key: &CacheKey) -> u8 {
    u8::from_str_radix(&key.as_str()[..2], 16).unwrap() % awsideman::cache::dynamodb::TAG_SHARDS
}

/// The race a fence and a tombstone close: a process misses and reads AWS; meanwhile
/// another changes the data and invalidates the tag; the answer read before must not be
/// stored after. The invalidation runs between each two calls of the write (file the key,
/// read the fences, write the chunks, put the parent): every time the write is refused and
/// leaves nothing readable, not even a chunk. A write after the invalidation is stored and
/// found by the next one.
#[test]
fn an_answer_read_before_an_invalidation_is_never_stored() {
    for emulator in emulators() {
        let w = World::new(&emulator, "fence", DynamoSettings::default());
        w.backend.ensure_table().unwrap();
        let invalidator = Arc::new(w.backend_with(caller(&w.session), DynamoSettings::default()));
        let tags = vec!["users:d-1".to_string()];
        let expires = now() + 600;
        // Items small enough that every entry is chunked.
        let settings = DynamoSettings {
            max_item_bytes: 4000,
            ..DynamoSettings::default()
        };
        let steps = ["UpdateItem", "BatchGetItem", "BatchWriteItem", "PutItem"];
        for (n, before) in (1..).zip(steps) {
            let since = nanos();
            let (other, hook_tags) = (invalidator.clone(), tags.clone());
            let writer = w.backend_with(
                hooked(&w.session, At::Before(before), move || {
                    other.invalidate(Invalidation::Tags(&hook_tags)).unwrap();
                }),
                settings.clone(),
            );
            let bytes = envelope(&key(n), 10_000, n as u8, expires);
            let stored = writer
                .set_unless_invalidated(&key(n), &bytes, &tags, expires, since)
                .unwrap();
            let when = format!("{}: invalidated before the write's {before}", emulator.name);
            assert!(!stored, "{when}");
            assert_eq!(writer.get(&key(n)).unwrap(), None, "{when}");
            let prefix = key(n).to_string();
            let left = w.stored();
            assert!(
                !left.iter().any(|k| k.starts_with(&prefix)),
                "{when}: {left:?}"
            );
        }

        // With the default margin, an answer read just after still counts as read before.
        let since = nanos();
        let bytes = envelope(&key(8), 10, 8, expires);
        assert!(
            !invalidator
                .set_unless_invalidated(&key(8), &bytes, &tags, expires, since)
                .unwrap(),
            "{}: within the margin",
            emulator.name
        );

        // Read after the invalidation (this machine's clock: no margin needed): stored, and
        // found by the next invalidation.
        std::thread::sleep(Duration::from_millis(20));
        let exact = DynamoSettings {
            fence_margin: Duration::ZERO,
            ..settings.clone()
        };
        let writer = w.backend_with(caller(&w.session), exact);
        let bytes = envelope(&key(9), 10_000, 9, expires);
        assert!(
            writer
                .set_unless_invalidated(&key(9), &bytes, &tags, expires, nanos())
                .unwrap()
        );
        assert_eq!(writer.get(&key(9)).unwrap(), Some(bytes));
        assert_eq!(
            invalidator.invalidate(Invalidation::Tags(&tags)).unwrap(),
            1
        );
        assert_eq!(writer.get(&key(9)).unwrap(), None);
        assert!(w.stored().is_empty(), "{:?}", w.stored());
        assert_eq!(
            w.backend.stats().unwrap().entries,
            0,
            "tombstones are not entries"
        );
        assert!(w.backend.entries().unwrap().is_empty());
    }
}

/// Issue 8's lost key: an invalidation used to delete whole tag items, dropping a key a
/// concurrent writer had just filed, so that entry outlived every later invalidation. Here a
/// writer files two keys (one already listed, one new, in the same tag item) and stores
/// answers read after the invalidation's fence, between its tombstones and its forgetting
/// the keys it read: both stay listed, and the next invalidation removes both entries.
#[test]
fn a_key_filed_during_an_invalidation_stays_listed() {
    for emulator in emulators() {
        let w = World::new(&emulator, "lost-key", DynamoSettings::default());
        w.backend.ensure_table().unwrap();
        let tags = vec!["users:d-1".to_string()];
        let expires = now() + 600;
        let first = key(1);
        let second = (2..).map(key).find(|k| shard(k) == shard(&first)).unwrap();
        w.backend
            .set(&first, &envelope(&first, 100, 1, expires), &tags, expires)
            .unwrap();

        let writer = Arc::new(w.backend_with(
            caller(&w.session),
            DynamoSettings {
                fence_margin: Duration::ZERO,
                ..DynamoSettings::default()
            },
        ));
        let (hook_writer, hook_tags) = (writer.clone(), tags.clone());
        let (a, b) = (first.clone(), second.clone());
        // After its second BatchWriteItem (fences, then tombstones).
        let invalidator = w.backend_with(
            hooked(&w.session, At::After("BatchWriteItem", 2), move || {
                std::thread::sleep(Duration::from_millis(5));
                for (k, seed) in [(&a, 11), (&b, 12)] {
                    let bytes = envelope(k, 100, seed, expires);
                    let stored = hook_writer
                        .set_unless_invalidated(k, &bytes, &hook_tags, expires, nanos())
                        .unwrap();
                    assert!(stored, "read after the fence");
                }
            }),
            patient(),
        );
        assert_eq!(
            invalidator.invalidate(Invalidation::Tags(&tags)).unwrap(),
            1
        );
        assert_eq!(
            w.backend.get(&first).unwrap(),
            Some(envelope(&first, 100, 11, expires)),
            "{}: the fresh answer",
            emulator.name
        );
        assert!(w.backend.get(&second).unwrap().is_some());

        // Both keys are still listed: the next invalidation removes both entries.
        let patient = w.backend_with(caller(&w.session), patient());
        assert_eq!(
            patient.invalidate(Invalidation::Tags(&tags)).unwrap(),
            2,
            "{}",
            emulator.name
        );
        assert_eq!(w.backend.get(&first).unwrap(), None);
        assert_eq!(w.backend.get(&second).unwrap(), None);
        // With no writer in between, the tag item is gone; the fence stays.
        let left: Vec<String> = w
            .keys()
            .into_iter()
            .filter(|k| k.starts_with("tag#"))
            .collect();
        assert_eq!(left, ["tag#users:d-1#fence"], "{}", emulator.name);
    }
}

/// An invalidation that took longer than half the fence margin between setting its fence and
/// reading the tag items cannot rule out a writer whose answer was read after the fence
/// having filed its key before the read: it keeps the keys listed (harmless: the next
/// invalidation forgets them).
#[test]
fn a_slow_invalidation_keeps_the_keys_listed() {
    for emulator in emulators() {
        let w = World::new(&emulator, "slow", DynamoSettings::default());
        let tags = vec!["users:d-1".to_string()];
        let expires = now() + 600;
        w.backend
            .set(&key(1), &envelope(&key(1), 100, 1, expires), &tags, expires)
            .unwrap();
        let margin = Duration::from_millis(200);
        let slow = w.backend_with(
            hooked(&w.session, At::Before("BatchGetItem"), move || {
                std::thread::sleep(margin / 2 + Duration::from_millis(20));
            }),
            DynamoSettings {
                fence_margin: margin,
                ..DynamoSettings::default()
            },
        );
        assert_eq!(slow.invalidate(Invalidation::Tags(&tags)).unwrap(), 1);
        let shard_item = format!("tag#users:d-1#{}", shard(&key(1)));
        assert!(w.keys().contains(&shard_item), "{}", emulator.name);
        assert_eq!(w.backend.get(&key(1)).unwrap(), None);
        // A prompt invalidation forgets the key.
        let prompt = w.backend_with(caller(&w.session), patient());
        assert_eq!(prompt.invalidate(Invalidation::Tags(&tags)).unwrap(), 0);
        assert!(!w.keys().contains(&shard_item), "{}", emulator.name);
    }
}
