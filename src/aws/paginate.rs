//! Following `NextToken` until AWS says there is no more, merging every page into one reply.

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// How an operation pages: its token member and the list members to concatenate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Paging {
    /// The list members of the reply (`Users`, `AccountAssignments`).
    pub(crate) result_keys: &'static [&'static str],
    /// The largest page size the operation accepts (`MaxResults`), if it takes one.
    pub(crate) max_results: Option<u32>,
}

/// The most pages followed before giving up on a service that never stops paging.
const MAX_PAGES: usize = 100_000;

/// Fetches every page of a list through `fetch` and returns one reply holding all items.
///
/// `limit` stops early once that many items of the first result key are collected; the
/// reply then carries `"Truncated": true` so callers never mistake it for the whole list.
/// Empty pages that still carry a `NextToken` (Organizations does this) are followed.
pub(crate) fn collect_pages(
    input: &Value,
    paging: &Paging,
    limit: Option<usize>,
    mut fetch: impl FnMut(&Value) -> Result<Value>,
) -> Result<Value> {
    let mut request = match input {
        Value::Object(map) => map.clone(),
        Value::Null => Map::new(),
        _ => return Err(Error::runtime("paginated request input must be an object")),
    };
    if let Some(max) = paging.max_results {
        request
            .entry("MaxResults")
            .or_insert_with(|| Value::from(max));
    }
    let mut merged: Option<Map<String, Value>> = None;
    let mut previous_token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = fetch(&Value::Object(request.clone()))?;
        let Value::Object(mut page) = page else {
            return Err(Error::runtime("paginated reply is not an object"));
        };
        let token = page
            .remove("NextToken")
            .and_then(|t| t.as_str().map(str::to_string))
            .filter(|t| !t.is_empty());
        match merged.as_mut() {
            None => merged = Some(page),
            Some(all) => {
                for key in paging.result_keys {
                    let items = match page.remove(*key) {
                        Some(Value::Array(items)) => items,
                        _ => continue,
                    };
                    match all.get_mut(*key) {
                        Some(Value::Array(existing)) => existing.extend(items),
                        _ => {
                            all.insert(key.to_string(), Value::Array(items));
                        }
                    }
                }
            }
        }
        let all = merged.as_mut().expect("merged is set above");
        for key in paging.result_keys {
            if !matches!(all.get(*key), Some(Value::Array(_))) {
                all.insert(key.to_string(), Value::Array(Vec::new()));
            }
        }
        let collected = paging
            .result_keys
            .first()
            .and_then(|k| all.get(*k))
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        match token {
            None => return Ok(Value::Object(merged.unwrap_or_default())),
            Some(token) => {
                if let Some(limit) = limit
                    && collected >= limit
                {
                    all.insert("Truncated".into(), Value::Bool(true));
                    return Ok(Value::Object(merged.unwrap_or_default()));
                }
                if previous_token.as_deref() == Some(token.as_str()) {
                    return Err(Error::runtime(
                        "the service returned the same NextToken twice; stopping",
                    ));
                }
                request.insert("NextToken".into(), Value::String(token.clone()));
                previous_token = Some(token);
            }
        }
    }
    Err(Error::runtime(format!(
        "more than {MAX_PAGES} pages; stopping"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const USERS: Paging = Paging {
        result_keys: &["Users"],
        max_results: Some(100),
    };

    #[test]
    fn merges_pages_including_empty_ones_and_null_tokens() {
        let pages = [
            json!({"Users": [1, 2], "NextToken": "a"}),
            json!({"Users": [], "NextToken": "b"}),
            json!({"Users": [3], "NextToken": null}),
        ];
        let mut seen = Vec::new();
        let mut n = 0;
        let all = collect_pages(&json!({"IdentityStoreId": "d-1"}), &USERS, None, |req| {
            seen.push(req.clone());
            n += 1;
            Ok(pages[n - 1].clone())
        })
        .unwrap();
        assert_eq!(all, json!({"Users": [1, 2, 3]}));
        assert_eq!(
            seen[0],
            json!({"IdentityStoreId": "d-1", "MaxResults": 100})
        );
        assert_eq!(seen[2]["NextToken"], "b");
    }

    #[test]
    fn limit_marks_truncation() {
        let all = collect_pages(&json!({}), &USERS, Some(2), |_| {
            Ok(json!({"Users": [1, 2, 3], "NextToken": "more"}))
        })
        .unwrap();
        assert_eq!(all["Truncated"], true);
    }

    #[test]
    fn repeated_token_stops() {
        let err = collect_pages(&json!({}), &USERS, None, |_| {
            Ok(json!({"Users": [], "NextToken": "same"}))
        })
        .unwrap_err();
        assert!(err.to_string().contains("same NextToken"));
    }

    #[test]
    fn missing_result_key_is_empty_list() {
        let all = collect_pages(&json!({}), &USERS, None, |_| Ok(json!({}))).unwrap();
        assert_eq!(all, json!({"Users": []}));
    }
}
