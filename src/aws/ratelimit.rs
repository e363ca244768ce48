//! A blocking token bucket that paces requests (Identity Center allows ~20 requests/s per
//! account, shared by identitystore and sso-admin).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Paces callers to at most `rate` requests per second, with bursts of up to `rate`.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    rate: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    /// A limiter allowing `rate` requests per second (0 disables pacing).
    pub(crate) fn new(rate: f64) -> RateLimiter {
        RateLimiter {
            rate,
            state: Mutex::new(Bucket {
                tokens: rate.max(1.0),
                last: Instant::now(),
            }),
        }
    }

    /// Waits until a request may be sent, then takes its token. Returns how long it waited.
    pub(crate) fn acquire(&self) -> Duration {
        if self.rate <= 0.0 {
            return Duration::ZERO;
        }
        let wait = {
            let mut bucket = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let elapsed = now.duration_since(bucket.last).as_secs_f64();
            bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.rate.max(1.0));
            bucket.last = now;
            bucket.tokens -= 1.0;
            if bucket.tokens >= 0.0 {
                Duration::ZERO
            } else {
                // The token is taken on credit; wait until it would have been there.
                Duration::from_secs_f64(-bucket.tokens / self.rate)
            }
        };
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        wait
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
    fn zero_disables() {
        let limiter = RateLimiter::new(0.0);
        for _ in 0..1000 {
            assert_eq!(limiter.acquire(), Duration::ZERO);
        }
    }
}
