//! When to retry, and how long to wait: the AWS SDKs' "standard" retry mode.
//!
//! Pure policy: classification of failures, backoff with full jitter, and the retry quota
//! (a token bucket that stops retry storms). The loop that uses it lives in the transport.

use std::sync::Mutex;
use std::time::Duration;

/// The longest wait between two attempts.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(20);

/// How a failed attempt should be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureClass {
    /// The service asked us to slow down: retry with the throttling base delay.
    Throttling,
    /// A transient server or network fault: retry with the short base delay.
    Transient,
    /// A timeout: retry, at a higher quota cost.
    Timeout,
    /// Retrying cannot help.
    Fatal,
}

/// AWS error codes that mean "slow down".
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
];

/// AWS error codes that mean "try again".
const TRANSIENT_CODES: &[&str] = &[
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalServerError",
    "InternalServerException",
    "InternalFailure",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "IDPCommunicationError",
];

/// Classifies an HTTP answer by its status and AWS error code.
pub(crate) fn classify(status: u16, code: Option<&str>) -> FailureClass {
    if let Some(code) = code {
        if THROTTLING_CODES.contains(&code) {
            return FailureClass::Throttling;
        }
        if TRANSIENT_CODES.contains(&code) {
            return FailureClass::Transient;
        }
    }
    match status {
        429 => FailureClass::Throttling,
        500 | 502 | 503 | 504 => FailureClass::Transient,
        _ => FailureClass::Fatal,
    }
}

/// The retry settings in force (`AWS_MAX_ATTEMPTS`, `AWS_RETRY_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// Base delay for throttling errors.
    pub throttle_base: Duration,
    /// Base delay for transient errors.
    pub(crate) transient_base: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            throttle_base: Duration::from_secs(1),
            transient_base: Duration::from_millis(50),
        }
    }
}

impl RetryPolicy {
    /// Builds the policy from `AWS_MAX_ATTEMPTS` and `AWS_RETRY_MODE` values (already read).
    pub(crate) fn from_settings(
        max_attempts: Option<&str>,
        mode: Option<&str>,
    ) -> crate::error::Result<RetryPolicy> {
        let mut policy = RetryPolicy::default();
        if let Some(mode) = mode {
            match mode {
                "standard" | "adaptive" => {}
                "legacy" => policy.max_attempts = 5,
                other => {
                    return Err(crate::error::Error::config(format!(
                        "AWS_RETRY_MODE: invalid value {other:?} (allowed: standard, adaptive, legacy)"
                    )));
                }
            }
        }
        if let Some(value) = max_attempts {
            policy.max_attempts = value
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    crate::error::Error::config(format!(
                        "AWS_MAX_ATTEMPTS: invalid value {value:?} (expected a whole number of at least 1)"
                    ))
                })?;
        }
        Ok(policy)
    }

    /// The delay before attempt `attempt + 1`, after `attempt` (1-based) failed as `class`.
    ///
    /// Full jitter: `random(0,1) × min(base × 2^(attempt-1), 20 s)`; `jitter` is that random
    /// number. A server-given `retry_after` is honoured (capped at 20 s).
    pub(crate) fn backoff(
        &self,
        attempt: u32,
        class: FailureClass,
        jitter: f64,
        retry_after: Option<Duration>,
    ) -> Duration {
        if let Some(after) = retry_after {
            return after.min(MAX_BACKOFF);
        }
        let base = match class {
            FailureClass::Throttling => self.throttle_base,
            _ => self.transient_base,
        };
        let exp = attempt.saturating_sub(1).min(16);
        let ceiling = base.saturating_mul(1u32 << exp).min(MAX_BACKOFF);
        ceiling.mul_f64(jitter.clamp(0.0, 1.0))
    }
}

/// The retry quota: retries draw from a bucket of 500 tokens, successes refill it.
#[derive(Debug)]
pub(crate) struct RetryQuota {
    tokens: Mutex<u32>,
}

const QUOTA_CAPACITY: u32 = 500;
const RETRY_COST: u32 = 5;
const TIMEOUT_RETRY_COST: u32 = 10;
const SUCCESS_REFUND: u32 = 1;

impl Default for RetryQuota {
    fn default() -> RetryQuota {
        RetryQuota {
            tokens: Mutex::new(QUOTA_CAPACITY),
        }
    }
}

impl RetryQuota {
    /// Takes the cost of a retry; `false` when the quota is spent and no retry may happen.
    pub(crate) fn acquire(&self, class: FailureClass) -> bool {
        let cost = if class == FailureClass::Timeout {
            TIMEOUT_RETRY_COST
        } else {
            RETRY_COST
        };
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if *tokens >= cost {
            *tokens -= cost;
            true
        } else {
            false
        }
    }

    /// Refunds a little after a success.
    pub(crate) fn success(&self) {
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        *tokens = (*tokens + SUCCESS_REFUND).min(QUOTA_CAPACITY);
    }
}

/// A random number in [0, 1) for jitter, from the OS.
pub(crate) fn jitter() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::getrandom(&mut bytes).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(
            classify(400, Some("ThrottlingException")),
            FailureClass::Throttling
        );
        assert_eq!(
            classify(400, Some("ProvisionedThroughputExceededException")),
            FailureClass::Throttling
        );
        assert_eq!(classify(429, None), FailureClass::Throttling);
        assert_eq!(classify(503, None), FailureClass::Transient);
        assert_eq!(
            classify(500, Some("InternalServerException")),
            FailureClass::Transient
        );
        assert_eq!(
            classify(400, Some("ValidationException")),
            FailureClass::Fatal
        );
        assert_eq!(
            classify(404, Some("ResourceNotFoundException")),
            FailureClass::Fatal
        );
        assert_eq!(classify(403, None), FailureClass::Fatal);
    }

    #[test]
    fn backoff_is_bounded_and_grows() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.backoff(1, FailureClass::Throttling, 1.0, None),
            Duration::from_secs(1)
        );
        assert_eq!(
            p.backoff(2, FailureClass::Throttling, 1.0, None),
            Duration::from_secs(2)
        );
        assert_eq!(
            p.backoff(3, FailureClass::Throttling, 0.5, None),
            Duration::from_secs(2)
        );
        assert_eq!(
            p.backoff(30, FailureClass::Throttling, 1.0, None),
            MAX_BACKOFF
        );
        assert_eq!(
            p.backoff(1, FailureClass::Transient, 1.0, None),
            Duration::from_millis(50)
        );
        assert_eq!(
            p.backoff(4, FailureClass::Throttling, 0.0, None),
            Duration::ZERO
        );
        for attempt in 1..40 {
            for j in [0.0, 0.3, 0.999, 1.0] {
                assert!(p.backoff(attempt, FailureClass::Throttling, j, None) <= MAX_BACKOFF);
            }
        }
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = RetryPolicy::default();
        let d = p.backoff(
            1,
            FailureClass::Throttling,
            0.0,
            Some(Duration::from_secs(3)),
        );
        assert_eq!(d, Duration::from_secs(3));
        let d = p.backoff(
            1,
            FailureClass::Throttling,
            0.0,
            Some(Duration::from_secs(999)),
        );
        assert_eq!(d, MAX_BACKOFF);
    }

    #[test]
    fn settings_are_validated() {
        assert_eq!(
            RetryPolicy::from_settings(Some("5"), None)
                .unwrap()
                .max_attempts,
            5
        );
        assert!(RetryPolicy::from_settings(Some("0"), None).is_err());
        assert!(RetryPolicy::from_settings(Some("x"), None).is_err());
        assert!(RetryPolicy::from_settings(None, Some("bogus")).is_err());
        assert_eq!(
            RetryPolicy::from_settings(None, Some("adaptive"))
                .unwrap()
                .max_attempts,
            3
        );
    }

    #[test]
    fn quota_runs_out_and_refills() {
        let q = RetryQuota::default();
        let mut granted = 0;
        while q.acquire(FailureClass::Transient) {
            granted += 1;
        }
        assert_eq!(granted, 100);
        for _ in 0..5 {
            q.success();
        }
        assert!(q.acquire(FailureClass::Transient));
        assert!(!q.acquire(FailureClass::Transient));
    }

    #[test]
    fn jitter_in_range() {
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }
}
