//! Encrypt + decrypt time of cache entries (the issue asks for well under 10 ms per
//! operation, aiming under 1 ms at 100 KB). Prints a Markdown table of medians; run by
//! `benches/run.sh` (or `cargo bench --bench crypto`).

use std::time::{Duration, Instant};

use awsideman::testing::Cipher;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let cipher = Cipher::new(&[7u8; 32]);
    let aad = br#"{"key":"0123","expires_at":1700000000}"#;
    println!("| entry size | encrypt (median) | decrypt incl. MAC check (median) |");
    println!("|---|---|---|");
    for (label, size, runs) in [
        ("1 KB", 1024usize, 2001),
        ("100 KB", 100 * 1024, 201),
        ("10 MB", 10 * 1024 * 1024, 11),
    ] {
        let plaintext: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let mut seal_times = Vec::with_capacity(runs);
        let mut open_times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let started = Instant::now();
            let sealed = cipher.seal(aad, &plaintext);
            seal_times.push(started.elapsed());
            let started = Instant::now();
            let opened = cipher.open(aad, &sealed).expect("round trip");
            open_times.push(started.elapsed());
            assert_eq!(opened.len(), size);
        }
        println!(
            "| {label} | {:.3} ms | {:.3} ms |",
            median(seal_times).as_secs_f64() * 1000.0,
            median(open_times).as_secs_f64() * 1000.0
        );
    }
}
