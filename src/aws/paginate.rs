//! Following `NextToken` until AWS says there is no more, merging every page into one reply.

use serde_json::{Map, Value};

use crate::document::Document;
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
    fetch: impl FnMut(&Value) -> Result<Value>,
) -> Result<Value> {
    let mut merged: Option<Map<String, Value>> = None;
    walk_pages(input, paging, fetch, |mut page, more| {
        let all = match merged.as_mut() {
            None => merged.insert(page),
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
                all
            }
        };
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
        if more && limit.is_some_and(|limit| collected >= limit) {
            all.insert("Truncated".into(), Value::Bool(true));
            return false;
        }
        true
    })?;
    Ok(Value::Object(merged.unwrap_or_default()))
}

/// Follows `NextToken` from `input`: fetches each page and hands it, as an object without
/// its token, to `each` with whether more pages follow; `each` returns false to stop.
fn walk_pages(
    input: &Value,
    paging: &Paging,
    mut fetch: impl FnMut(&Value) -> Result<Value>,
    mut each: impl FnMut(Map<String, Value>, bool) -> bool,
) -> Result<()> {
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
        if !each(page, token.is_some()) {
            return Ok(());
        }
        let Some(token) = token else {
            return Ok(());
        };
        if previous_token.as_deref() == Some(token.as_str()) {
            return Err(Error::runtime(
                "the service returned the same NextToken twice; stopping",
            ));
        }
        request.insert("NextToken".into(), Value::String(token.clone()));
        previous_token = Some(token);
    }
    Err(Error::runtime(format!(
        "more than {MAX_PAGES} pages; stopping"
    )))
}

/// Like [`collect_pages`] without a limit, building the merged reply's JSON text page by
/// page: each page's items are written out and the page dropped, so a list of many pages
/// never exists as values all at once (memory stays near the size of the answer's text).
/// The text is exactly the compact JSON of what [`collect_pages`] returns.
pub(crate) fn collect_pages_text(
    input: &Value,
    paging: &Paging,
    fetch: impl FnMut(&Value) -> Result<Value>,
) -> Result<Document> {
    // The first page's members, in order, with each list member's items as JSON text.
    let mut members: Vec<(String, Member)> = Vec::new();
    let mut first = true;
    walk_pages(input, paging, fetch, |page, _| {
        if first {
            first = false;
            for (key, value) in page {
                let member = match value {
                    Value::Array(items) if paging.result_keys.contains(&key.as_str()) => {
                        Member::Items(join_items(String::new(), &items))
                    }
                    other => Member::Value(other),
                };
                members.push((key, member));
            }
            for key in paging.result_keys {
                match members.iter_mut().find(|(k, _)| k == key) {
                    Some((_, member @ Member::Value(_))) => *member = Member::Items(String::new()),
                    Some(_) => {}
                    None => members.push((key.to_string(), Member::Items(String::new()))),
                }
            }
            return true;
        }
        for (key, value) in page {
            if let Value::Array(items) = value
                && let Some((_, Member::Items(text))) = members.iter_mut().find(|(k, _)| *k == key)
                && paging.result_keys.contains(&key.as_str())
            {
                *text = join_items(std::mem::take(text), &items);
            }
        }
        true
    })?;
    // The largest list's text becomes the answer's: the rest is written around it in
    // place, so a long list is never copied into a second buffer.
    let largest = members
        .iter()
        .enumerate()
        .filter_map(|(n, (_, member))| match member {
            Member::Items(items) => Some((items.len(), n)),
            Member::Value(_) => None,
        })
        .max()
        .map(|(_, n)| n);
    let mut before = String::from("{");
    let mut after = String::new();
    let mut body = String::new();
    for (n, (key, member)) in members.iter_mut().enumerate() {
        let out = match largest {
            Some(l) if n > l => &mut after,
            _ => &mut before,
        };
        if n > 0 {
            out.push(',');
        }
        out.push_str(&Value::from(key.as_str()).to_string());
        out.push(':');
        match member {
            Member::Value(value) => out.push_str(&value.to_string()),
            Member::Items(items) if Some(n) == largest => {
                out.push('[');
                body = std::mem::take(items);
            }
            Member::Items(items) => {
                out.push('[');
                out.push_str(items);
                out.push(']');
            }
        }
    }
    if largest.is_some() {
        body.reserve_exact(before.len() + 1 + after.len() + 1);
        body.insert_str(0, &before);
        body.push(']');
        body.push_str(&after);
    } else {
        body = before;
    }
    body.push('}');
    Ok(Document::from_serialized(body))
}

/// A member of a reply being merged: a list member's items so far, or any other value.
enum Member {
    Items(String),
    Value(Value),
}

/// `items` appended to `text` as comma-separated compact JSON.
fn join_items(mut text: String, items: &[Value]) -> String {
    for item in items {
        if !text.is_empty() {
            text.push(',');
        }
        text.push_str(&item.to_string());
    }
    text
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

    /// The text built page by page is the compact JSON of the merged reply, whatever the
    /// order of members, missing or null list members, and empty pages.
    #[test]
    fn text_of_the_pages_is_the_merged_reply() {
        let two = Paging {
            result_keys: &["A", "B"],
            max_results: None,
        };
        let cases = [
            vec![
                json!({"Users": [{"x": "\u{1b}"}, 2], "NextToken": "a", "Other": {"k": 1}}),
                json!({"Users": [], "NextToken": "b"}),
                json!({"Other": 9, "Users": [3], "NextToken": null}),
            ],
            vec![json!({})],
            vec![json!({"Users": null, "Z": 1})],
        ];
        fn replay(pages: &[Value]) -> impl FnMut(&Value) -> Result<Value> {
            let owned: Vec<Value> = pages.to_vec();
            let mut pages = owned.into_iter();
            move |_: &Value| Ok(pages.next().expect("a page"))
        }
        for pages in cases {
            let merged = collect_pages(&json!({}), &USERS, None, replay(&pages)).unwrap();
            let text = collect_pages_text(&json!({}), &USERS, replay(&pages)).unwrap();
            assert_eq!(text.as_str(), merged.to_string());
        }
        let pages = [
            json!({"B": [1], "C": true, "NextToken": "t"}),
            json!({"A": [2], "B": [3]}),
        ];
        let merged = collect_pages(&json!({}), &two, None, replay(&pages)).unwrap();
        let text = collect_pages_text(&json!({}), &two, replay(&pages)).unwrap();
        assert_eq!(text.as_str(), merged.to_string());
    }

    #[test]
    fn missing_result_key_is_empty_list() {
        let all = collect_pages(&json!({}), &USERS, None, |_| Ok(json!({}))).unwrap();
        assert_eq!(all, json!({"Users": []}));
    }
}
