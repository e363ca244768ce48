//! Randomized mutation of stored entries: thousands of damaged envelopes (flipped bits,
//! truncations, insertions, spliced headers), plain and encrypted, must never panic and must
//! always end in a miss, never in a wrong answer. Deterministic: a fixed-seed generator.

use serde_json::json;

use super::envelope::Envelope;
use super::file::FileBackend;
use super::manager::{CacheManager, Encryption, NewEntry};
use crate::config::{BackendType, CacheSettings, EncryptionType};

/// xorshift64*: small, fast, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, original: &[u8]) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for _ in 0..=rng.below(3) {
        match rng.below(5) {
            0 if !bytes.is_empty() => {
                let i = rng.below(bytes.len());
                bytes[i] ^= 1 << rng.below(8);
            }
            1 => bytes.truncate(rng.below(bytes.len() + 1)),
            2 => {
                let i = rng.below(bytes.len() + 1);
                bytes.insert(i, rng.next() as u8);
            }
            3 if !bytes.is_empty() => {
                let i = rng.below(bytes.len());
                bytes[i] = b"{}\n\":,0"[rng.below(7)];
            }
            _ => {
                let i = rng.below(bytes.len() + 1);
                let j = rng.below(bytes.len() + 1);
                let (a, b) = (i.min(j), i.max(j));
                bytes.drain(a..b);
            }
        }
    }
    bytes
}

fn settings(dir: &std::path::Path) -> CacheSettings {
    let mut s = crate::config::cache_settings(
        &crate::config::ConfigFile::empty(dir.join("config.yaml")),
        None,
        &crate::env::Env::default(),
        dir,
    )
    .expect("default settings");
    s.backend_type = BackendType::File;
    s.encryption_type = EncryptionType::Aes256;
    s.file_cache_dir = dir.join("cache");
    s
}

fn run(encrypted: bool, seed: u64, cases: usize) {
    let mut noise = [0u8; 6];
    getrandom::getrandom(&mut noise).expect("random");
    let dir = std::env::temp_dir().join(format!("awsideman-mutation-{}", hex::encode(noise)));
    let settings = settings(&dir);
    let backend = FileBackend::new(settings.file_cache_dir.clone(), 1 << 30);
    let mut manager = CacheManager::with_backend(Box::new(backend), settings, true);
    if encrypted {
        let key = [9u8; 32];
        manager = manager.with_encryption(Encryption::new("k", [("k", &key)]).expect("keys"));
    }
    let key = crate::cache::hybrid::testing::key(1);
    let value = json!({"Users": [{"UserName": "alice", "UserId": "u-1"}]});
    manager.put(
        &key,
        &NewEntry {
            service: "identitystore",
            operation: "ListUsers",
            profile: "p",
            params: &json!({"IdentityStoreId": "d-1"}),
            value: &crate::document::Document::from_value(&value).unwrap(),
            ttl: 600,
            tags: &["users:d-1".to_string()],
        },
    );
    let original = manager.backend().get(&key).expect("read").expect("stored");
    let mut rng = Rng(seed);
    let mut misses = 0;
    for _ in 0..cases {
        let damaged = mutate(&mut rng, &original);
        // Decoding alone never panics.
        let _ = Envelope::decode(&damaged);
        let _ = manager.decode(&damaged);
        manager
            .backend()
            .set(&key, &damaged, 0)
            .expect("store damaged bytes");
        match manager.get(&key, &["users:d-1".to_string()]) {
            None => misses += 1,
            // A mutation that leaves the entry valid (e.g. a header byte that does not
            // matter to plaintext JSON) must still give the right answer, never another one.
            Some(answer) => assert_eq!(answer, value, "a damaged entry gave a wrong answer"),
        }
    }
    assert!(
        misses > cases / 2,
        "most mutations are misses ({misses} of {cases})"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mutated_plain_entries_never_panic_or_lie() {
    run(false, 0x9e37_79b9_7f4a_7c15, 3000);
}

#[test]
fn mutated_encrypted_entries_never_panic_or_lie() {
    run(true, 0xd1b5_4a32_d192_ed03, 3000);
}
