//! Waiting for Identity Center's asynchronous requests (provisioning, assignment creation
//! and deletion): poll the request's status with backoff until it SUCCEEDED or FAILED.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::error::{Error, Result};

/// The first pause before asking again; it doubles up to [`MAX_POLL`].
pub const FIRST_POLL: Duration = Duration::from_millis(500);
/// The longest pause between two polls.
pub const MAX_POLL: Duration = Duration::from_secs(5);
/// How long a request is waited for before giving up on it.
pub const POLL_LIMIT: Duration = Duration::from_secs(300);

/// How a wait ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Waited {
    /// The request reached a final status (`SUCCEEDED` or `FAILED`): the status object.
    Done(Value),
    /// Still in progress after [`POLL_LIMIT`]: the last status and the request id.
    TimedOut {
        /// The last status object seen.
        status: Value,
        /// The id to ask about later.
        request_id: String,
    },
}

/// Whether a status object (`{"Status": ..., "RequestId": ...}`) is final.
pub fn is_final(status: &Value) -> bool {
    matches!(status["Status"].as_str(), Some("SUCCEEDED" | "FAILED"))
}

/// Whether a status object says the request failed.
pub fn is_failed(status: &Value) -> bool {
    status["Status"].as_str() == Some("FAILED")
}

/// The pause before poll number `attempt` (0-based): 0.5 s, 1 s, 2 s, 4 s, then 5 s.
pub fn delay(attempt: u32) -> Duration {
    FIRST_POLL
        .saturating_mul(1u32 << attempt.min(8))
        .min(MAX_POLL)
}

/// Polls from the first status AWS answered (no poll at all when it is already final):
/// `fetch` asks for the status of a request id; `on_wait` hears the status before each pause
/// (for a progress line). An error means the status could not be read.
pub fn until_done(
    first: Value,
    mut on_wait: impl FnMut(&Value, Duration),
    mut fetch: impl FnMut(&str) -> Result<Value>,
) -> Result<Waited> {
    let started = Instant::now();
    let mut status = first;
    let mut attempt = 0;
    while !is_final(&status) {
        let request_id = status["RequestId"]
            .as_str()
            .ok_or_else(|| Error::runtime("the status reply has no RequestId"))?
            .to_string();
        let pause = delay(attempt);
        if started.elapsed() + pause > POLL_LIMIT {
            return Ok(Waited::TimedOut { status, request_id });
        }
        on_wait(&status, started.elapsed());
        std::thread::sleep(pause);
        status = fetch(&request_id)?;
        attempt += 1;
    }
    Ok(Waited::Done(status))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::cell::Cell;

    #[test]
    fn delays_back_off_to_five_seconds() {
        let ms: Vec<u128> = (0..7).map(|a| delay(a).as_millis()).collect();
        assert_eq!(ms, [500, 1000, 2000, 4000, 5000, 5000, 5000]);
    }

    #[test]
    fn a_final_first_status_is_not_polled() {
        let polls = Cell::new(0);
        let fetch = |_: &str| {
            polls.set(polls.get() + 1);
            Ok(json!({}))
        };
        let done = until_done(json!({"Status": "SUCCEEDED"}), |_, _| {}, fetch).unwrap();
        assert_eq!(done, Waited::Done(json!({"Status": "SUCCEEDED"})));
        let failed = until_done(json!({"Status": "FAILED"}), |_, _| {}, fetch).unwrap();
        assert!(matches!(failed, Waited::Done(s) if is_failed(&s)));
        assert_eq!(polls.get(), 0);
        let e = until_done(json!({"Status": "IN_PROGRESS"}), |_, _| {}, fetch).unwrap_err();
        assert!(e.message().contains("RequestId"), "{e}");
    }

    #[test]
    fn polls_until_final() {
        let answers = std::cell::RefCell::new(vec![
            json!({"Status": "SUCCEEDED", "RequestId": "r"}),
            json!({"Status": "IN_PROGRESS", "RequestId": "r"}),
        ]);
        let waits = Cell::new(0);
        let done = until_done(
            json!({"Status": "IN_PROGRESS", "RequestId": "r"}),
            |_, _| waits.set(waits.get() + 1),
            |id| {
                assert_eq!(id, "r");
                Ok(answers.borrow_mut().pop().unwrap())
            },
        )
        .unwrap();
        assert!(matches!(done, Waited::Done(s) if s["Status"] == "SUCCEEDED"));
        assert_eq!(waits.get(), 2);
    }
}
