//! Arbitrary bytes as a stored cache entry, through the real read path: the envelope
//! decoder, `CacheManager::decode` and `CacheManager::read` without encryption and with a
//! fixed test key, and `CacheManager::recode` both ways.
//!
//! Nothing may panic, and whatever decodes must round-trip: a decoded envelope re-encodes
//! to bytes that decode to the same envelope; an entry sealed for the test key decodes to
//! the same header, parameters and answer as the plaintext it came from, and back; a hit is
//! exactly the decoded answer of an unexpired, current entry stored under the key read.

#![no_main]

use std::sync::LazyLock;

use awsideman::testing::now_secs;
use awsideman::testing::{CacheKey, CacheManager};
use awsideman::testing::{Decoded, Encryption, MAX_CLOCK_SKEW_SECS, Read, Unusable};
use awsideman::testing::{Envelope, Header, Scheme};
use awsideman_fuzz::{
    MAX_TTL, MemoryBackend, TEST_KEY_ID, entry_key, entry_tags, generations, manager,
    test_encryption,
};
use libfuzzer_sys::fuzz_target;

struct World {
    key: CacheKey,
    store: MemoryBackend,
    plain: CacheManager,
    encrypted: CacheManager,
    target: Encryption,
}

static WORLD: LazyLock<World> = LazyLock::new(|| {
    let store = MemoryBackend::default();
    World {
        key: entry_key(),
        plain: manager(Box::new(store.clone()), None),
        encrypted: manager(Box::new(store.clone()), Some(test_encryption())),
        store,
        target: test_encryption(),
    }
});

fuzz_target!(|data: &[u8]| {
    let w = &*WORLD;
    check_envelope(data);

    let plain = w.plain.decode(data);
    let encrypted = w.encrypted.decode(data);
    if let Ok(d) = &plain {
        assert_eq!(
            d.header.encryption,
            Scheme::None,
            "plain decoder read {:?}",
            d.header
        );
    }
    if let Ok(d) = &encrypted {
        assert_eq!(d.header.encryption, Scheme::Sealed);
        assert_eq!(d.header.key_id.as_deref(), Some(TEST_KEY_ID));
    }

    // The whole read: backend, decode, key and expiry checks.
    check_get(&w.plain, &w.store, &w.key, data, &plain);
    check_get(&w.encrypted, &w.store, &w.key, data, &encrypted);

    // Plaintext sealed for the test key reads back the same.
    if let Ok(Some((header, sealed))) = w.plain.recode(data, Some(&w.target)) {
        let original = plain_view(&header);
        let opened = w.encrypted.decode(&sealed);
        match (&plain, &opened) {
            (Ok(a), Ok(b)) => {
                same(a, b);
                assert_eq!(plain_view(&b.header), original);
            }
            // A payload that is not a JSON object is refused as corrupt either way.
            (Err(a), Err(b)) => assert!(a.corrupt && b.corrupt, "{a} / {b}"),
            (a, b) => panic!("plain {a:?} but sealed {b:?}"),
        }
    }
    // An entry for the test key opened back into plaintext reads the same.
    // (It also accepts plaintext, which it rewrites only to drop a stray key id.)
    if let Ok(Some((header, opened))) = w.encrypted.recode(data, None) {
        let before = if header.encryption == Scheme::Sealed {
            &encrypted
        } else {
            &plain
        };
        let reread = w.plain.decode(&opened);
        match (before, &reread) {
            (Ok(a), Ok(b)) => same(a, b),
            (Err(a), Err(b)) => assert!(a.corrupt && b.corrupt, "{a} / {b}"),
            (a, b) => panic!("sealed {a:?} but opened {b:?}"),
        }
    }
});

/// The envelope layer alone.
fn check_envelope(data: &[u8]) {
    let header = Envelope::decode_header(data);
    let Ok(envelope) = Envelope::decode(data) else {
        return;
    };
    assert_eq!(
        header.as_ref(),
        Ok(&envelope.header),
        "header alone differs"
    );
    assert_eq!(
        Envelope::decode(&envelope.encode()).as_ref(),
        Ok(&envelope),
        "re-encoded envelope decodes differently"
    );
    // Sealing writes the current format: only the version and checksum may change (an
    // entry of an earlier format is re-checksummed), and the result reads back as sealed.
    let resealed = Envelope::seal(envelope.header.clone(), envelope.payload.clone());
    assert_eq!(
        resealed.payload, envelope.payload,
        "sealing changes the payload"
    );
    assert_eq!(
        Header {
            v: envelope.header.v,
            checksum: envelope.header.checksum.clone(),
            ..resealed.header.clone()
        },
        envelope.header,
        "sealing changes more than the format and checksum"
    );
    assert_eq!(
        Envelope::decode(&resealed.encode()).as_ref(),
        Ok(&resealed),
        "a sealed envelope decodes differently"
    );
}

/// `manager.read` of `data` gives exactly the decoded answer, and only when it should.
fn check_get(
    manager: &CacheManager,
    store: &MemoryBackend,
    key: &CacheKey,
    data: &[u8],
    decoded: &Result<Decoded, Unusable>,
) {
    store.store(data);
    let before = now_secs();
    let tags = entry_tags();
    let hit = match manager.read(key, &tags, MAX_TTL) {
        Read::Hit(value, ..) => Some(value),
        Read::Miss(_) => None,
    };
    match (hit, decoded) {
        (Some(value), Ok(d)) => {
            assert_eq!(d.header.key, key.as_str(), "a hit stored under another key");
            assert!(d.header.expires_at > before, "an expired hit");
            assert!(
                generations().current_for(&tags, &d.header.gens),
                "a hit that is not current"
            );
            assert_eq!(value, d.value, "a hit that is not the decoded answer");
        }
        (Some(value), Err(e)) => panic!("hit {value:?} from an entry that does not decode: {e}"),
        (None, Ok(d)) => {
            let now = now_secs();
            let future = d.header.created_at > now.saturating_add(MAX_CLOCK_SKEW_SECS)
                || d.header.expires_at
                    > now
                        .saturating_add(MAX_TTL)
                        .saturating_add(MAX_CLOCK_SKEW_SECS);
            assert!(
                d.header.key != key.as_str()
                    || d.header.expires_at <= now
                    || future
                    || !generations().current_for(&tags, &d.header.gens),
                "a valid entry missed"
            );
        }
        (None, Err(_)) => {}
    }
}

/// Everything but the format version (rewriting an entry writes the current one) and the
/// encryption fields.
fn plain_view(header: &Header) -> Header {
    Header {
        v: 0,
        encryption: Scheme::None,
        key_id: None,
        len: 0,
        checksum: String::new(),
        ..header.clone()
    }
}

fn same(a: &Decoded, b: &Decoded) {
    assert_eq!(plain_view(&a.header), plain_view(&b.header));
    assert_eq!(a.params, b.params);
    assert_eq!(a.value, b.value);
}
