//! Arbitrary DynamoDB items (a JSON array of items in the wire format) in the cache table,
//! read back through the real DynamoDB backend and `CacheManager::read`: a single-item
//! entry, a chunked one with its chunk items, generation items, foreign items.
//!
//! Nothing may panic or run away (a damaged chunk count must not make a reader allocate or
//! call without bound), the backend must keep DynamoDB's request limits (the fake table
//! checks them), whatever reads as an entry must start with its parent item's data and must
//! write back and read back the same through items small enough to force chunking, and a
//! hit must be the decoded answer of those bytes.

#![no_main]

use std::sync::LazyLock;

use awsideman::testing::DynamoBackend;
use awsideman::testing::Read;
use awsideman::testing::{CacheBackend, CacheKey, CacheManager};
use awsideman_fuzz::{FAR_FUTURE, FakeTable, MAX_TTL, entry_key, entry_tags, manager};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

struct World {
    key: CacheKey,
    table: FakeTable,
    backend: DynamoBackend,
    manager: CacheManager,
    decoder: CacheManager,
    round: FakeTable,
}

static WORLD: LazyLock<World> = LazyLock::new(|| {
    let table = FakeTable::default();
    World {
        key: entry_key(),
        backend: table.backend(400_000),
        manager: manager(Box::new(table.backend(400_000)), None),
        decoder: manager(Box::new(FakeTable::default().backend(400_000)), None),
        table,
        round: FakeTable::default(),
    }
});

fuzz_target!(|data: &[u8]| {
    let Ok(items) = serde_json::from_slice::<Vec<Map<String, Value>>>(data) else {
        return;
    };
    let w = &*WORLD;
    w.table.load(items);
    let parent = w.table.item(w.key.as_str());

    let read = w.backend.get(&w.key);
    if let Ok(Some(bytes)) = &read {
        let parent = parent.expect("an entry read without its item");
        let first = parent["data"]["B"]
            .as_str()
            .and_then(|b| BASE64.decode(b).ok())
            .expect("an entry read from an item without valid data");
        assert!(bytes.starts_with(&first), "the parent's data is not first");

        // Written back through small items (so chunked) and read again: the same bytes.
        let limit = 300 + data.len() % 1000;
        w.round.load(Vec::new());
        let small = w.round.backend(limit);
        if small.set(&w.key, bytes, FAR_FUTURE).is_ok() {
            let again = small
                .get(&w.key)
                .expect("reading back what was just written");
            assert_eq!(
                again.as_ref(),
                Some(bytes),
                "chunked round trip (limit {limit})"
            );
        }
    }

    // Listing and measuring read every entry item's header; odd items are skipped.
    let entries = w.backend.entries().expect("listing the fake table");
    for entry in &entries {
        assert!(CacheKey::parse(entry.key.as_str()).is_some());
    }
    w.backend.stats().expect("measuring the fake table");

    // Last: a miss on a damaged entry removes it from the table.
    if let Read::Hit(value, ..) = w.manager.read(&w.key, &entry_tags(), MAX_TTL) {
        let bytes = read.ok().flatten().expect("a hit the backend did not read");
        let decoded = w
            .decoder
            .decode(&bytes)
            .expect("a hit that does not decode");
        assert_eq!(value, decoded.value, "a hit that is not the decoded answer");
    }
});
