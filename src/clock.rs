//! The wall clock, in the units the cache and the audit log store.
//!
//! Reading the clock is the only thing here. Tests that need another machine's clock set
//! `AWSIDEMAN_TEST_CLOCK_OFFSET_SECS` (a signed number of seconds added to every reading);
//! nothing else should.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The test-only clock offset, read once per process.
fn offset_secs() -> i64 {
    static OFFSET: OnceLock<i64> = OnceLock::new();
    *OFFSET.get_or_init(|| {
        std::env::var("AWSIDEMAN_TEST_CLOCK_OFFSET_SECS")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    })
}

/// Now, with the test-only offset applied.
pub(crate) fn now() -> SystemTime {
    let offset = offset_secs();
    let base = SystemTime::now();
    if offset >= 0 {
        base + Duration::from_secs(offset.unsigned_abs())
    } else {
        base.checked_sub(Duration::from_secs(offset.unsigned_abs()))
            .unwrap_or(UNIX_EPOCH)
    }
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The time `secs` seconds after the Unix epoch (saturating far in the future).
pub(crate) fn from_secs(secs: u64) -> SystemTime {
    UNIX_EPOCH
        .checked_add(Duration::from_secs(secs))
        .unwrap_or(UNIX_EPOCH + Duration::from_secs(u64::from(u32::MAX)))
}
