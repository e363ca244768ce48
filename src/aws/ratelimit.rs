//! A blocking token bucket that paces requests (Identity Center allows ~20 requests/s per
//! account, shared by identitystore and sso-admin), and slows down when throttled anyway.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The lowest pace throttling brings the limiter to, as a fraction of the configured rate.
const FLOOR: f64 = 0.1;
/// How much one throttling answer cuts the pace (at most once per [`CUT_INTERVAL`]).
const CUT: f64 = 0.5;
/// Throttling answers within this time of a cut are the same episode: one cut.
const CUT_INTERVAL: Duration = Duration::from_secs(1);
/// How long a cut pauses every caller, so the service's window can empty.
const PAUSE: Duration = Duration::from_millis(500);
/// How much of the configured rate each success wins back after a cut.
const RECOVERY: f64 = 0.02;

/// Paces callers to at most `rate` requests per second, with bursts of up to `rate`. A
/// throttling answer (the service counts differently, or other clients share the account's
/// quota) pauses everyone briefly, halves the pace and drops the burst; successes bring it
/// back step by step.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    rate: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
    /// The pace now: `rate`, or less after throttling.
    pace: f64,
    /// When the pace was last cut.
    cut: Option<Instant>,
}

impl RateLimiter {
    /// A limiter allowing `rate` requests per second (0 disables pacing).
    pub(crate) fn new(rate: f64) -> RateLimiter {
        RateLimiter {
            rate,
            state: Mutex::new(Bucket {
                tokens: rate.max(1.0),
                last: Instant::now(),
                pace: rate,
                cut: None,
            }),
        }
    }

    fn bucket(&self) -> std::sync::MutexGuard<'_, Bucket> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until a request may be sent, then takes its token. Returns how long it waited.
    pub(crate) fn acquire(&self) -> Duration {
        if self.rate <= 0.0 {
            return Duration::ZERO;
        }
        let wait = {
            let mut bucket = self.bucket();
            let now = Instant::now();
            let elapsed = now.duration_since(bucket.last).as_secs_f64();
            let pace = bucket.pace;
            bucket.tokens = (bucket.tokens + elapsed * pace).min(pace.max(1.0));
            bucket.last = now;
            bucket.tokens -= 1.0;
            if bucket.tokens >= 0.0 {
                Duration::ZERO
            } else {
                // The token is taken on credit; wait until it would have been there.
                Duration::from_secs_f64(-bucket.tokens / pace)
            }
        };
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        wait
    }

    /// The service answered "slow down": halve the pace (once per episode, never below a
    /// tenth of the rate), drop any burst left and pause every caller for [`PAUSE`].
    pub(crate) fn throttled(&self) {
        if self.rate <= 0.0 {
            return;
        }
        let mut bucket = self.bucket();
        let now = Instant::now();
        if bucket
            .cut
            .is_none_or(|at| now.duration_since(at) >= CUT_INTERVAL)
        {
            bucket.pace = (bucket.pace * CUT).max(self.rate * FLOOR);
            bucket.cut = Some(now);
            bucket.tokens = bucket.tokens.min(0.0) - bucket.pace * PAUSE.as_secs_f64();
        } else {
            bucket.tokens = bucket.tokens.min(0.0);
        }
    }

    /// A request succeeded: win back a step of the pace lost to throttling.
    pub(crate) fn succeeded(&self) {
        if self.rate <= 0.0 {
            return;
        }
        let mut bucket = self.bucket();
        if bucket.pace < self.rate {
            bucket.pace = (bucket.pace + self.rate * RECOVERY).min(self.rate);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_paced() {
        let limiter = RateLimiter::new(50.0);
        // The first 50 are a burst: nobody waits.
        for _ in 0..50 {
            assert_eq!(limiter.acquire(), Duration::ZERO);
        }
        // The next 5 need 5 / 50 s: however slow this machine, not less.
        let start = Instant::now();
        for _ in 0..5 {
            limiter.acquire();
        }
        assert!(
            start.elapsed() >= Duration::from_millis(90),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn throttling_slows_down_and_successes_recover() {
        let limiter = RateLimiter::new(100.0);
        limiter.throttled();
        limiter.throttled(); // the same episode: one cut
        assert_eq!(limiter.bucket().pace, 50.0);
        // A pause, then no burst: 5 requests at 50/s take at least 0.5 s + 5 / 50 s.
        let start = Instant::now();
        for _ in 0..5 {
            limiter.acquire();
        }
        assert!(
            start.elapsed() >= Duration::from_millis(590),
            "{:?}",
            start.elapsed()
        );
        for _ in 0..10 {
            limiter.succeeded();
        }
        assert_eq!(limiter.bucket().pace, 70.0);
        for _ in 0..100 {
            limiter.succeeded();
        }
        assert_eq!(limiter.bucket().pace, 100.0, "never above the rate");
        // Cuts stop at a tenth of the rate.
        for _ in 0..10 {
            limiter.bucket().cut = None;
            limiter.throttled();
        }
        assert_eq!(limiter.bucket().pace, 10.0);
    }

    #[test]
    fn zero_disables() {
        let limiter = RateLimiter::new(0.0);
        for _ in 0..1000 {
            assert_eq!(limiter.acquire(), Duration::ZERO);
        }
    }
}
