//! The items of the cache table, as data: attribute names, how item keys are named, item
//! sizes as DynamoDB counts them, and how an entry too large for one item is laid out over
//! chunk items. Pure: nothing here calls DynamoDB.
//!
//! Item kinds, told apart by `cache_key`:
//! - entry: `<64 hex digits>`, with `data` (the envelope, or its first part), `operation`,
//!   `created_at`, `ttl` (= the entry's expiry), `size` (whole envelope), and for a chunked
//!   entry `chunks` (how many chunk items) and `write_id`;
//! - chunk: `<key>#<write id>#<n>` (n from 1), with `data` (part n) and the parent's `ttl`,
//!   so DynamoDB's TTL also sweeps chunks a crashed writer left behind;
//! - generation: `gen#<40 hex digits of SHA-256 of the tag>`, with `gen` (the tag's current
//!   token, see `generation.rs`), `tag` (the tag, for people) and a `ttl` renewed whenever
//!   the token changes: DynamoDB may remove an idle generation, which only makes the entries
//!   that recorded it misses;
//! - legacy: `tag#...` items and entry keys without `data` (tombstones) of earlier builds:
//!   nothing reads them; `cache clear` removes them.

use std::ops::Range;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};

use crate::cache::key::CacheKey;

/// The hash key attribute: `S`.
pub(crate) const KEY: &str = "cache_key";
/// The envelope bytes (or the part an item holds): `B`.
pub(crate) const DATA: &str = "data";
/// The AWS operation of the entry (`ListUsers`): `S`.
pub(crate) const OPERATION: &str = "operation";
/// When the entry was written, Unix seconds: `N`.
pub(crate) const CREATED_AT: &str = "created_at";
/// When the entry expires, Unix seconds, also the table's TTL attribute: `N`.
pub(crate) const TTL: &str = "ttl";
/// Length of the whole envelope in bytes: `N`.
pub(crate) const SIZE: &str = "size";
/// How many chunk items a chunked entry has: `N`.
pub(crate) const CHUNKS: &str = "chunks";
/// Which write the chunk items belong to: `S`.
pub(crate) const WRITE_ID: &str = "write_id";
/// A generation item's token: `S`.
pub(crate) const GENERATION: &str = "gen";
/// The tag a generation item is for: `S`.
pub(crate) const TAG: &str = "tag";

/// The most chunk items an entry may have: 4 GB of entry with the default item limit, far
/// beyond any answer. A parent item claiming more is damaged, and is read as unchunked: a
/// count taken on trust made a reader list that many chunk keys (4 billion aborted it).
pub(crate) const MAX_CHUNKS: u32 = 10_000;

const GENERATION_PREFIX: &str = "gen#";
const LEGACY_TAG_PREFIX: &str = "tag#";

/// What an item of the table is, told by its `cache_key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemKind {
    /// A cache entry (its parent item when chunked).
    Entry,
    /// A part of a chunked entry.
    Chunk,
    /// A tag's generation.
    Generation,
    /// An item of an earlier build (tag indexes, fences).
    Legacy,
    /// Not written by awsideman.
    Other,
}

/// The kind of the item whose key is `cache_key`.
pub(crate) fn kind_of(cache_key: &str) -> ItemKind {
    if cache_key.starts_with(GENERATION_PREFIX) {
        return ItemKind::Generation;
    }
    if cache_key.starts_with(LEGACY_TAG_PREFIX) {
        return ItemKind::Legacy;
    }
    let mut parts = cache_key.split('#');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(key), None, _, _) if is_entry_key(key) => ItemKind::Entry,
        (Some(key), Some(write_id), Some(n), None)
            if is_entry_key(key) && !write_id.is_empty() && n.parse::<u32>().is_ok() =>
        {
            ItemKind::Chunk
        }
        _ => ItemKind::Other,
    }
}

fn is_entry_key(text: &str) -> bool {
    CacheKey::parse(text).is_some_and(|k| k.as_str() == text)
}

/// The key of chunk `n` (from 1) of write `write_id` of entry `key`.
pub(crate) fn chunk_key(key: &str, write_id: &str, n: u32) -> String {
    format!("{key}#{write_id}#{n}")
}

/// The keys of every chunk of a chunked entry, in order.
pub(crate) fn chunk_keys(key: &str, chunked: &Chunked) -> Vec<String> {
    (1..=chunked.chunks)
        .map(|n| chunk_key(key, &chunked.write_id, n))
        .collect()
}

/// The key of the generation item of `tag`.
pub(crate) fn generation_key(tag: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = hex::encode(Sha256::digest(tag.as_bytes()));
    format!("{GENERATION_PREFIX}{}", &digest[..40])
}

/// The generation item of `tag` holding `token`; DynamoDB may remove it after `ttl` (Unix
/// seconds).
pub(crate) fn generation_item(tag: &str, token: &str, ttl: u64) -> Map<String, Value> {
    let mut item = Map::new();
    item.insert(KEY.into(), string(&generation_key(tag)));
    item.insert(GENERATION.into(), string(token));
    item.insert(TAG.into(), string(tag));
    item.insert(TTL.into(), number(ttl));
    item
}

/// A fresh write id: 16 hex digits from the OS random source (a clock-based one if that
/// fails, which only needs to differ from the previous write of the same key).
pub(crate) fn new_write_id() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::getrandom(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        bytes = (nanos ^ u64::from(std::process::id()).rotate_left(40)).to_le_bytes();
    }
    hex::encode(bytes)
}

/// The size DynamoDB counts for an item in its JSON wire form: every attribute's name
/// (UTF-8 bytes) plus its value. Strings count their UTF-8 bytes and binaries their raw
/// bytes (not the base64 text). A number is counted as its text plus one byte, an upper
/// bound of both AWS's count (one byte per two significant digits, plus one) and moto's
/// (its text), so a planned item is never larger than counted.
pub(crate) fn item_size(item: &Map<String, Value>) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &Value) -> usize {
    let Some((kind, inner)) = value.as_object().and_then(|o| o.iter().next()) else {
        return value.to_string().len();
    };
    let strings = || {
        inner
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    };
    match kind.as_str() {
        "S" => inner.as_str().map_or(0, str::len),
        "N" => inner.as_str().map_or(0, number_size),
        "B" => inner.as_str().map_or(0, base64_len),
        "SS" => strings().map(str::len).sum(),
        "NS" => strings().map(number_size).sum(),
        "BS" => strings().map(base64_len).sum(),
        "BOOL" | "NULL" => 1,
        "L" => {
            3 + inner
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| 1 + value_size(v))
                .sum::<usize>()
        }
        "M" => {
            3 + inner
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        _ => value.to_string().len(),
    }
}

fn number_size(text: &str) -> usize {
    text.len() + 1
}

/// The decoded length of base64 text.
fn base64_len(text: &str) -> usize {
    let padding = text.bytes().rev().take_while(|&b| b == b'=').count();
    (text.len() / 4 * 3).saturating_sub(padding)
}

/// What every item of an entry carries besides its data.
#[derive(Debug, Clone)]
pub(crate) struct EntryMeta<'a> {
    /// The entry key.
    pub(crate) key: &'a str,
    /// The AWS operation (`ListUsers`), from the envelope header.
    pub(crate) operation: &'a str,
    /// When it was written, Unix seconds.
    pub(crate) created_at: u64,
    /// When it expires, Unix seconds.
    pub(crate) expires_at: u64,
    /// The id of this write (names the chunk items).
    pub(crate) write_id: &'a str,
}

/// Where a chunked entry's other parts are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chunked {
    /// The write the chunk items belong to.
    pub(crate) write_id: String,
    /// How many chunk items there are (numbered from 1).
    pub(crate) chunks: u32,
}

/// How an entry's envelope bytes are spread: the range the parent item holds, then the
/// ranges of chunk items 1, 2, ...
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// The bytes kept in the parent item.
    pub(crate) parent: Range<usize>,
    /// The bytes of each chunk item, in order.
    pub(crate) chunks: Vec<Range<usize>>,
}

/// Lays out `len` envelope bytes so that no item exceeds `max_item` bytes as DynamoDB counts
/// them: one item when it fits, else the parent filled first, then chunk items each as full
/// as its own key allows. An error when `max_item` cannot hold even an item's attributes.
pub(crate) fn plan(meta: &EntryMeta<'_>, len: usize, max_item: usize) -> Result<Layout, String> {
    let room = |overhead: usize| {
        max_item
            .checked_sub(overhead)
            .filter(|&r| r > 0)
            .ok_or_else(|| {
                format!("an item limit of {max_item} bytes cannot hold an entry's attributes")
            })
    };
    let single = room(item_size(&entry_item(meta, len, &[], None)))?;
    if len <= single {
        return Ok(Layout {
            parent: 0..len,
            chunks: Vec::new(),
        });
    }
    // The parent's size depends on the chunk count it records; counting it as the largest
    // possible count keeps the plan valid whatever the count turns out to be.
    let most = Chunked {
        write_id: meta.write_id.to_string(),
        chunks: u32::MAX,
    };
    let parent = room(item_size(&entry_item(meta, len, &[], Some(&most))))?;
    let mut chunks = Vec::new();
    let mut start = parent;
    while start < len {
        let n = u32::try_from(chunks.len() + 1)
            .ok()
            .filter(|&n| n <= MAX_CHUNKS)
            .ok_or_else(|| format!("an entry of {len} bytes needs over {MAX_CHUNKS} items"))?;
        let end = len.min(start + room(item_size(&chunk_item(meta, n, &[])))?);
        chunks.push(start..end);
        start = end;
    }
    Ok(Layout {
        parent: 0..parent,
        chunks,
    })
}

/// The entry (or parent) item holding `data`, the part of an envelope of `size` bytes it
/// keeps.
pub(crate) fn entry_item(
    meta: &EntryMeta<'_>,
    size: usize,
    data: &[u8],
    chunked: Option<&Chunked>,
) -> Map<String, Value> {
    let mut item = Map::new();
    item.insert(KEY.into(), string(meta.key));
    item.insert(DATA.into(), binary(data));
    item.insert(OPERATION.into(), string(meta.operation));
    item.insert(CREATED_AT.into(), number(meta.created_at));
    item.insert(TTL.into(), number(meta.expires_at));
    item.insert(SIZE.into(), number(size as u64));
    if let Some(chunked) = chunked {
        item.insert(CHUNKS.into(), number(u64::from(chunked.chunks)));
        item.insert(WRITE_ID.into(), string(&chunked.write_id));
    }
    item
}

/// Chunk item `n` of an entry, holding `data`.
pub(crate) fn chunk_item(meta: &EntryMeta<'_>, n: u32, data: &[u8]) -> Map<String, Value> {
    let mut item = Map::new();
    item.insert(KEY.into(), string(&chunk_key(meta.key, meta.write_id, n)));
    item.insert(DATA.into(), binary(data));
    item.insert(TTL.into(), number(meta.expires_at));
    item
}

/// Every item of an entry laid out by `layout`: the chunk items, then the parent.
pub(crate) fn build(
    meta: &EntryMeta<'_>,
    bytes: &[u8],
    layout: &Layout,
) -> (Vec<Map<String, Value>>, Map<String, Value>) {
    let chunks: Vec<_> = layout
        .chunks
        .iter()
        .zip(1u32..)
        .map(|(range, n)| chunk_item(meta, n, &bytes[range.clone()]))
        .collect();
    let chunked = (!chunks.is_empty()).then(|| Chunked {
        write_id: meta.write_id.to_string(),
        chunks: chunks.len() as u32,
    });
    let parent = entry_item(
        meta,
        bytes.len(),
        &bytes[layout.parent.clone()],
        chunked.as_ref(),
    );
    (chunks, parent)
}

/// A string attribute value.
pub(crate) fn string(text: &str) -> Value {
    json!({ "S": text })
}

/// A number attribute value.
pub(crate) fn number(number: u64) -> Value {
    json!({ "N": number.to_string() })
}

/// A binary attribute value (base64 on the wire).
pub(crate) fn binary(bytes: &[u8]) -> Value {
    json!({ "B": BASE64.encode(bytes) })
}

/// The key of an item: `{"cache_key": {"S": key}}`.
pub(crate) fn key_of(key: &str) -> Value {
    json!({ KEY: string(key) })
}

/// A string attribute of an item.
pub(crate) fn get_s<'a>(item: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    item.get(name)?.get("S")?.as_str()
}

/// A whole-number attribute of an item.
pub(crate) fn get_n(item: &Map<String, Value>, name: &str) -> Option<u64> {
    item.get(name)?.get("N")?.as_str()?.trim().parse().ok()
}

/// A binary attribute of an item, decoded; `Err` when it is not valid base64.
pub(crate) fn get_b(item: &Map<String, Value>, name: &str) -> Option<Result<Vec<u8>, String>> {
    let text = item.get(name)?.get("B")?.as_str()?;
    Some(
        BASE64
            .decode(text)
            .map_err(|e| format!("attribute {name} is not base64 ({e})")),
    )
}

/// The chunks of a parent item, when it is chunked (and claims at most [`MAX_CHUNKS`]).
pub(crate) fn chunked_of(item: &Map<String, Value>) -> Option<Chunked> {
    Some(Chunked {
        write_id: get_s(item, WRITE_ID)?.to_string(),
        chunks: u32::try_from(get_n(item, CHUNKS)?)
            .ok()
            .filter(|&n| n <= MAX_CHUNKS)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_HEX: &str = "3f2a000000000000000000000000000000000000000000000000000000000000";

    fn meta() -> EntryMeta<'static> {
        EntryMeta {
            key: KEY_HEX,
            operation: "ListUsers",
            created_at: 1_700_000_000,
            expires_at: 1_700_003_600,
            write_id: "0123456789abcdef",
        }
    }

    #[test]
    fn key_naming_and_kinds() {
        assert_eq!(kind_of(KEY_HEX), ItemKind::Entry);
        let chunk = chunk_key(KEY_HEX, "0123456789abcdef", 12);
        assert_eq!(chunk, format!("{KEY_HEX}#0123456789abcdef#12"));
        assert_eq!(kind_of(&chunk), ItemKind::Chunk);
        let gen_key = generation_key("users:d-1");
        assert!(
            gen_key.starts_with("gen#") && gen_key.len() == 44,
            "{gen_key}"
        );
        assert_ne!(gen_key, generation_key("users:d-2"));
        assert_eq!(kind_of(&gen_key), ItemKind::Generation);
        assert_eq!(kind_of("tag#users:d-1#3"), ItemKind::Legacy);
        let item = generation_item("users:d-1", "0123456789abcdef", 1_700_003_600);
        assert_eq!(get_s(&item, GENERATION), Some("0123456789abcdef"));
        assert_eq!(get_s(&item, TAG), Some("users:d-1"));
        assert_eq!(get_n(&item, TTL), Some(1_700_003_600));
        for other in [
            "",
            "hello",
            &KEY_HEX.to_uppercase(),
            &format!("{KEY_HEX}#"),
            &format!("{KEY_HEX}#w#x"),
            &format!("{KEY_HEX}#w#1#2"),
            &KEY_HEX[1..],
        ] {
            assert_eq!(kind_of(other), ItemKind::Other, "{other}");
        }
        let chunked = Chunked {
            write_id: "w".into(),
            chunks: 3,
        };
        assert_eq!(
            chunk_keys("k", &chunked),
            vec!["k#w#1".to_string(), "k#w#2".into(), "k#w#3".into()]
        );
    }

    #[test]
    fn write_ids_are_fresh_hex() {
        let (a, b) = (new_write_id(), new_write_id());
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn sizes_count_names_raw_binary_and_numbers() {
        let item: Map<String, Value> = serde_json::from_value(json!({
            "cache_key": {"S": "héllo"},
            "data": {"B": BASE64.encode([0u8; 1000])},
            "ttl": {"N": "1700003600"},
            "keys": {"SS": ["ab", "cde"]},
            "flag": {"BOOL": true},
        }))
        .unwrap();
        assert_eq!(
            item_size(&item),
            (9 + 6) + (4 + 1000) + (3 + 11) + (4 + 5) + (4 + 1)
        );
        for (len, text) in [
            (0, ""),
            (1, "AA=="),
            (2, "AAA="),
            (3, "AAAA"),
            (4, "AAAAAA=="),
        ] {
            assert_eq!(base64_len(text), len, "{text}");
        }
    }

    /// Checks a plan: every item within the limit, parts in order and complete.
    fn check(len: usize, max_item: usize) -> Layout {
        let meta = meta();
        let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let layout = plan(&meta, len, max_item).unwrap();
        let (chunks, parent) = build(&meta, &bytes, &layout);
        assert!(item_size(&parent) <= max_item, "parent over the limit");
        let mut joined = get_b(&parent, DATA).unwrap().unwrap();
        for (i, chunk) in chunks.iter().enumerate() {
            assert!(item_size(chunk) <= max_item, "chunk {i} over the limit");
            assert_eq!(
                get_s(chunk, KEY),
                Some(chunk_key(KEY_HEX, meta.write_id, i as u32 + 1).as_str())
            );
            joined.extend(get_b(chunk, DATA).unwrap().unwrap());
        }
        assert_eq!(joined, bytes, "parts reassemble the entry");
        assert_eq!(get_n(&parent, SIZE), Some(len as u64));
        match chunked_of(&parent) {
            Some(c) => {
                assert_eq!(c.chunks as usize, chunks.len());
                assert_eq!(c.write_id, meta.write_id);
            }
            None => assert!(chunks.is_empty()),
        }
        layout
    }

    #[test]
    fn small_entries_are_one_item() {
        for len in [0, 1, 1000, 399_000] {
            let layout = check(len, 400_000);
            assert_eq!(layout.parent, 0..len);
            assert!(layout.chunks.is_empty());
        }
    }

    #[test]
    fn the_largest_single_item_is_exactly_at_the_limit() {
        let meta = meta();
        let overhead = item_size(&entry_item(&meta, 400_000, &[], None));
        let fits = 400_000 - overhead;
        assert!(check(fits, 400_000).chunks.is_empty());
        assert_eq!(check(fits + 1, 400_000).chunks.len(), 1);
    }

    #[test]
    fn large_entries_fill_every_chunk_but_the_last() {
        let max = 409_600;
        let len = 3 * 1024 * 1024;
        let layout = check(len, max);
        assert_eq!(layout.chunks.len(), 7, "{layout:?}");
        let meta = meta();
        for (i, range) in layout.chunks.iter().enumerate().rev().skip(1) {
            let item = chunk_item(&meta, i as u32 + 1, &vec![0; range.len()]);
            assert_eq!(item_size(&item), max, "chunk {} is full", i + 1);
        }
        // Tiny limits still work, with many chunks.
        let layout = check(10_000, 400);
        assert!(layout.chunks.len() > 30, "{}", layout.chunks.len());
    }

    #[test]
    fn chunk_counts_are_bounded() {
        // Caught by the dynamodb_item fuzz target (fuzz/): a damaged parent item claiming
        // 4 billion chunks made every read of it list 4 billion keys and abort.
        let parent = |chunks: &str| -> Map<String, Value> {
            serde_json::from_value(json!({
                "cache_key": {"S": KEY_HEX},
                "chunks": {"N": chunks},
                "write_id": {"S": "w"},
            }))
            .unwrap()
        };
        assert_eq!(
            chunked_of(&parent("10000")).map(|c| c.chunks),
            Some(MAX_CHUNKS)
        );
        for damaged in ["10001", "4000000000", "4294967295", "99999999999"] {
            assert_eq!(chunked_of(&parent(damaged)), None, "{damaged}");
        }
        // The writer never needs more: it refuses an entry that would.
        // (Chunk n holds 400 bytes less its item's attributes, which grow with n's digits.)
        let room = 400 - item_size(&chunk_item(&meta(), MAX_CHUNKS, &[]));
        let too_large = plan(&meta(), 400 + (room + 4) * MAX_CHUNKS as usize, 400);
        assert!(too_large.is_err(), "{too_large:?}");
        let largest = check(room * MAX_CHUNKS as usize, 400);
        assert!(largest.chunks.len() <= MAX_CHUNKS as usize);
    }

    #[test]
    fn a_limit_too_small_for_the_attributes_is_an_error() {
        assert!(plan(&meta(), 10, 50).is_err());
        assert!(
            plan(&meta(), 10_000, 150).is_err(),
            "parent cannot hold data"
        );
    }
}
