//! Waiting for Identity Center's asynchronous requests (provisioning, assignment creation
//! and deletion): poll the request's status with backoff until it SUCCEEDED or FAILED.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::client::Operation;
use crate::client::shapes::{self, RequestState, RequestStatus};
use crate::error::{Error, Result};

/// The first pause before asking again; it doubles up to [`MAX_POLL`].
pub(crate) const FIRST_POLL: Duration = Duration::from_millis(500);
/// The longest pause between two polls.
pub(crate) const MAX_POLL: Duration = Duration::from_secs(5);
/// How long a request is waited for before giving up on it.
pub(crate) const POLL_LIMIT: Duration = Duration::from_secs(300);

/// How a wait ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Waited {
    /// The request reached a final status (`SUCCEEDED` or `FAILED`).
    Done {
        /// The status, typed.
        state: RequestState,
        /// The status object as AWS sent it (for printing).
        status: Value,
    },
    /// Still in progress after [`POLL_LIMIT`]: the last status and the request id.
    TimedOut {
        /// The last status object seen.
        status: Value,
        /// The id to ask about later.
        request_id: String,
    },
}

/// The pause before poll number `attempt` (0-based): 0.5 s, 1 s, 2 s, 4 s, then 5 s.
pub(crate) fn delay(attempt: u32) -> Duration {
    FIRST_POLL
        .saturating_mul(1u32 << attempt.min(8))
        .min(MAX_POLL)
}

/// Polls from the first status AWS answered (no poll at all when it is already final):
/// `fetch` asks `describe` for the status of a request id; `on_wait` hears the status before
/// each pause (for a progress line). An error means the status could not be read, or was
/// not a status.
pub(crate) fn until_done(
    describe: &Operation,
    first: Value,
    mut on_wait: impl FnMut(RequestStatus, Duration),
    mut fetch: impl FnMut(&str) -> Result<Value>,
) -> Result<Waited> {
    let started = Instant::now();
    let mut status = first;
    let mut attempt = 0;
    loop {
        let state: RequestState = shapes::decode(describe, &status)?;
        if state.status.is_final() {
            return Ok(Waited::Done { state, status });
        }
        let request_id = state.request_id.ok_or_else(|| {
            Error::runtime(format!(
                "{} {}: the status has no RequestId",
                describe.service.name(),
                describe.name
            ))
        })?;
        let pause = delay(attempt);
        if started.elapsed() + pause > POLL_LIMIT {
            return Ok(Waited::TimedOut { status, request_id });
        }
        on_wait(state.status, started.elapsed());
        std::thread::sleep(pause);
        status = fetch(&request_id)?;
        attempt += 1;
    }
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

    const OP: &Operation = &crate::client::DESCRIBE_ACCOUNT_ASSIGNMENT_CREATION_STATUS;

    #[test]
    fn a_final_first_status_is_not_polled() {
        let polls = Cell::new(0);
        let fetch = |_: &str| {
            polls.set(polls.get() + 1);
            Ok(json!({}))
        };
        let done = until_done(OP, json!({"Status": "SUCCEEDED"}), |_, _| {}, fetch).unwrap();
        assert!(
            matches!(&done, Waited::Done { state, status } if state.status == RequestStatus::Succeeded
                && *status == json!({"Status": "SUCCEEDED"})),
            "{done:?}"
        );
        let failed = until_done(OP, json!({"Status": "FAILED"}), |_, _| {}, fetch).unwrap();
        assert!(
            matches!(failed, Waited::Done { state, .. } if state.status == RequestStatus::Failed)
        );
        assert_eq!(polls.get(), 0);
        let e = until_done(OP, json!({"Status": "IN_PROGRESS"}), |_, _| {}, fetch).unwrap_err();
        assert!(e.message().contains("RequestId"), "{e}");
        let e = until_done(OP, json!({"Status": "MAYBE"}), |_, _| {}, fetch).unwrap_err();
        assert!(
            e.message()
                .contains("DescribeAccountAssignmentCreationStatus"),
            "{e}"
        );
    }

    #[test]
    fn polls_until_final() {
        let answers = std::cell::RefCell::new(vec![
            json!({"Status": "SUCCEEDED", "RequestId": "r"}),
            json!({"Status": "IN_PROGRESS", "RequestId": "r"}),
        ]);
        let waits = Cell::new(0);
        let done = until_done(
            OP,
            json!({"Status": "IN_PROGRESS", "RequestId": "r"}),
            |_, _| waits.set(waits.get() + 1),
            |id| {
                assert_eq!(id, "r");
                Ok(answers.borrow_mut().pop().unwrap())
            },
        )
        .unwrap();
        assert!(
            matches!(done, Waited::Done { state, .. } if state.status == RequestStatus::Succeeded)
        );
        assert_eq!(waits.get(), 2);
    }
}
