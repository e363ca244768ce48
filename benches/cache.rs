//! The file cache's costs that grow with its size: a write that finds the cache over
//! `cache.max_size_mb` and evicts (from the ledger: no listing, no entry looked at), at 1,000 and
//! 10,000 entries. Prints a Markdown table of medians; run by `benches/run.sh` (or
//! `cargo bench --bench cache`).

use std::time::{Duration, Instant};

use awsideman::testing::CacheBackend;
use awsideman::testing::CacheKey;
use awsideman::testing::FileBackend;
use sha2::{Digest, Sha256};

const ENTRY_BYTES: usize = 1024;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn key(n: usize) -> CacheKey {
    CacheKey::parse(&hex::encode(Sha256::digest(n.to_le_bytes()))).expect("a key")
}

fn main() {
    let now = awsideman::testing::now_secs();
    let entry = vec![b'x'; ENTRY_BYTES];
    println!("| file cache | a write that evicts (median) | entries evicted |");
    println!("|---|---|---|");
    for (entries, runs) in [(1_000usize, 21), (10_000, 11)] {
        let mut noise = [0u8; 6];
        getrandom::getrandom(&mut noise).expect("random");
        let dir =
            std::env::temp_dir().join(format!("awsideman-bench-evict-{}", hex::encode(noise)));
        let limit = (entries * ENTRY_BYTES) as u64;
        let fill = FileBackend::new(dir.clone(), u64::MAX);
        let mut next = 0;
        let mut times = Vec::with_capacity(runs);
        let mut evicted = 0;
        for _ in 0..runs {
            // Back up to the limit (not timed), then one write over it from a new process.
            while fill.stats().expect("stats").entries < entries as u64 {
                fill.set(&key(next), &entry, now + 600 + next as u64)
                    .expect("fill");
                next += 1;
            }
            let writer = FileBackend::new(dir.clone(), limit);
            let before = fill.stats().expect("stats").entries;
            let started = Instant::now();
            writer
                .set(&key(next), &entry, now + 600 + next as u64)
                .expect("the evicting write");
            times.push(started.elapsed());
            next += 1;
            evicted = before + 1 - fill.stats().expect("stats").entries;
        }
        println!(
            "| {entries} entries | {:.2} ms | {evicted} |",
            median(times).as_secs_f64() * 1000.0
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
