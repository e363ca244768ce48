//! The data-plane calls of the cache table: single-item reads and writes, batches that
//! respect DynamoDB's limits and retry what it left unprocessed, and (parallel) scans.
//!
//! Throttling, 5xx and network failures of each request are already retried by the
//! transport behind the caller; the loops here only retry the `UnprocessedItems` and
//! `UnprocessedKeys` a successful batch reply hands back, with exponential backoff and
//! full jitter, a bounded number of times.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::item::{self, KEY};
use super::{DynamoCaller, DynamoSettings};
use crate::aws::retry::{FailureClass, classify, jitter};
use crate::error::{Error, Result};

/// The most requests one `BatchWriteItem` may carry.
pub const BATCH_WRITE_MAX: usize = 25;
/// The most keys one `BatchGetItem` may ask for.
pub const BATCH_GET_MAX: usize = 100;
/// The most item bytes one batch request carries or asks for. DynamoDB allows 16 MB, but
/// a request must also finish within `cache.dynamodb_timeout_ms` (5 s by default) on a
/// modest uplink: 2 MiB takes under 2 s at 10 Mbit/s.
pub(crate) const REQUEST_BYTES: usize = 2 * 1024 * 1024;
/// The longest wait between two attempts at unprocessed requests.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// One request of a `BatchWriteItem`.
#[derive(Debug, Clone)]
pub(crate) enum Write {
    /// Put this item.
    Put(Map<String, Value>),
    /// Delete the item with this key.
    Delete(String),
}

impl Write {
    /// The bytes this request adds to a batch, as DynamoDB counts items.
    fn size(&self) -> usize {
        match self {
            Write::Put(item) => item::item_size(item),
            Write::Delete(key) => KEY.len() + key.len(),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Write::Put(item) => json!({"PutRequest": {"Item": item}}),
            Write::Delete(key) => json!({"DeleteRequest": {"Key": item::key_of(key)}}),
        }
    }
}

/// The cache table and the way to call DynamoDB.
pub(crate) struct Table {
    /// The table name.
    pub(crate) name: String,
    caller: DynamoCaller,
    /// The settings.
    pub(crate) settings: DynamoSettings,
    /// When the table last failed as unavailable, and how (see [`is_unavailable`]).
    down: Mutex<Option<(Instant, Error)>>,
}

impl Table {
    /// The table `name`, called through `caller`.
    pub(crate) fn new(name: String, caller: DynamoCaller, settings: DynamoSettings) -> Table {
        Table {
            name,
            caller,
            settings,
            down: Mutex::new(None),
        }
    }

    /// Calls `operation` with `input`; fails at once, sending nothing, for
    /// `settings.unavailable_pause` after a call found the table unavailable.
    ///
    /// Without this pause a stalled table cost every cache read of a command (a get, then a
    /// put) all its retries and timeouts: `user list` took 40 s with the default settings,
    /// `group members` two minutes, before answering from AWS.
    pub(crate) fn call(&self, operation: &str, input: &Value) -> Result<Value> {
        {
            let down = self.down.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, e)) = down.as_ref()
                && at.elapsed() < self.settings.unavailable_pause
            {
                return Err(Error::runtime(format!(
                    "dynamodb {operation}: not sent: the table failed {} ms ago: {e}",
                    at.elapsed().as_millis()
                )));
            }
        }
        let outcome = (self.caller)(operation, input);
        if let Err(e) = &outcome
            && is_unavailable(e)
        {
            *self.down.lock().unwrap_or_else(|e| e.into_inner()) =
                Some((Instant::now(), e.clone()));
        }
        outcome
    }

    /// The item with key `key`, read with the configured consistency, only the `projection`
    /// attributes when given.
    pub(crate) fn get_item(
        &self,
        key: &str,
        projection: &[&str],
    ) -> Result<Option<Map<String, Value>>> {
        let mut input = json!({
            "TableName": self.name,
            "Key": item::key_of(key),
            "ConsistentRead": self.settings.consistent_read,
        });
        add_projection(&mut input, projection);
        let mut reply = self.call("GetItem", &input)?;
        Ok(match reply.get_mut("Item").map(Value::take) {
            Some(Value::Object(item)) => Some(item),
            _ => None,
        })
    }

    /// Puts `item` if `condition` holds (always without one): `Some` of the item it
    /// replaced, if any; `None` when the condition did not hold and nothing was written.
    pub(crate) fn put_item_if(
        &self,
        item: Map<String, Value>,
        condition: Option<&Condition>,
    ) -> Result<Option<Option<Map<String, Value>>>> {
        let mut input = json!({
            "TableName": self.name,
            "Item": item,
            "ReturnValues": "ALL_OLD",
        });
        if let Some(condition) = condition {
            condition.add_to(&mut input);
        }
        let mut reply = match self.call("PutItem", &input) {
            Err(e) if is_condition_failed(&e) => return Ok(None),
            other => other?,
        };
        Ok(Some(match reply.get_mut("Attributes").map(Value::take) {
            Some(Value::Object(old)) if !old.is_empty() => Some(old),
            _ => None,
        }))
    }

    /// Puts `item` in one transaction with a check that the item `checked` meets `condition`:
    /// `Ok(false)` when the check failed (or another transaction on those items won), and
    /// nothing was written.
    pub(crate) fn put_item_checked(
        &self,
        item: Map<String, Value>,
        checked: &str,
        condition: &Condition,
    ) -> Result<bool> {
        let mut check = json!({"TableName": self.name, "Key": item::key_of(checked)});
        condition.add_to(&mut check);
        let input = json!({"TransactItems": [
            {"ConditionCheck": check},
            {"Put": {"TableName": self.name, "Item": item}},
        ]});
        match self.call("TransactWriteItems", &input) {
            Ok(_) => Ok(true),
            Err(e) if e.aws_code() == Some("TransactionCanceledException") => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Sends `writes` in `BatchWriteItem` calls of at most 25 requests and
    /// [`REQUEST_BYTES`], retrying what DynamoDB leaves unprocessed.
    pub(crate) fn batch_write(&self, writes: &[Write]) -> Result<()> {
        for batch in write_batches(writes) {
            let mut pending: Vec<Value> = batch.iter().map(Write::to_json).collect();
            let mut attempt = 0;
            while !pending.is_empty() {
                if attempt > 0 {
                    self.wait_before_retry(attempt, "BatchWriteItem", pending.len())?;
                }
                attempt += 1;
                let input = json!({"RequestItems": {self.name.as_str(): pending}});
                let mut reply = self.call("BatchWriteItem", &input)?;
                pending = match reply
                    .pointer_mut(&format!("/UnprocessedItems/{}", pointer_escape(&self.name)))
                    .map(Value::take)
                {
                    Some(Value::Array(left)) => left,
                    _ => Vec::new(),
                };
            }
        }
        Ok(())
    }

    /// How many whole items [`Table::batch_get`] asks for in one call.
    pub(crate) fn whole_items_per_call(&self) -> usize {
        (REQUEST_BYTES / self.settings.max_item_bytes.max(1)).clamp(1, BATCH_GET_MAX)
    }

    /// The items with `keys` that exist (in no particular order), read with `BatchGetItem`
    /// in calls of at most 100 keys whose whole items stay within [`REQUEST_BYTES`]
    /// (DynamoDB's reply limit is 16 MB), retrying unprocessed keys. A key given twice is
    /// asked once (DynamoDB refuses duplicates).
    pub(crate) fn batch_get(
        &self,
        keys: &[String],
        projection: &[&str],
    ) -> Result<Vec<Map<String, Value>>> {
        self.batch_get_as(keys, projection, self.settings.consistent_read)
    }

    /// [`Table::batch_get`] with strongly consistent reads, whatever the settings: the
    /// reply reflects every write that succeeded before the call.
    pub(crate) fn batch_get_consistent(
        &self,
        keys: &[String],
        projection: &[&str],
    ) -> Result<Vec<Map<String, Value>>> {
        self.batch_get_as(keys, projection, true)
    }

    fn batch_get_as(
        &self,
        keys: &[String],
        projection: &[&str],
        consistent: bool,
    ) -> Result<Vec<Map<String, Value>>> {
        let mut keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        keys.sort_unstable();
        keys.dedup();
        // Whole items can be as large as the item limit; projected ones are small.
        let per_call = if projection.is_empty() {
            self.whole_items_per_call()
        } else {
            BATCH_GET_MAX
        };
        let mut found = Vec::new();
        for batch in keys.chunks(per_call) {
            let mut pending: Vec<Value> = batch.iter().map(|k| item::key_of(k)).collect();
            let mut attempt = 0;
            while !pending.is_empty() {
                if attempt > 0 {
                    self.wait_before_retry(attempt, "BatchGetItem", pending.len())?;
                }
                attempt += 1;
                let mut request = json!({
                    "Keys": pending,
                    "ConsistentRead": consistent,
                });
                add_projection(&mut request, projection);
                let input = json!({"RequestItems": {self.name.as_str(): request}});
                let mut reply = self.call("BatchGetItem", &input)?;
                let table = pointer_escape(&self.name);
                if let Some(Value::Array(items)) = reply
                    .pointer_mut(&format!("/Responses/{table}"))
                    .map(Value::take)
                {
                    found.extend(items.into_iter().filter_map(|item| match item {
                        Value::Object(item) => Some(item),
                        _ => None,
                    }));
                }
                pending = match reply
                    .pointer_mut(&format!("/UnprocessedKeys/{table}/Keys"))
                    .map(Value::take)
                {
                    Some(Value::Array(left)) => left,
                    _ => Vec::new(),
                };
            }
        }
        Ok(found)
    }

    /// Scans the whole table in `segments` parallel segments (1: one sequential scan),
    /// handing every page of items to `visit`, only the `projection` attributes when given.
    /// Stops at the first error.
    pub(crate) fn scan(
        &self,
        projection: &[&str],
        segments: u32,
        visit: &(dyn Fn(Vec<Map<String, Value>>) -> Result<()> + Sync),
    ) -> Result<()> {
        let segments = segments.max(1);
        if segments == 1 {
            return self.scan_segment(projection, None, visit);
        }
        let failure: Mutex<Option<Error>> = Mutex::new(None);
        std::thread::scope(|scope| {
            for segment in 0..segments {
                let failure = &failure;
                scope.spawn(move || {
                    if let Err(e) = self.scan_segment(projection, Some((segment, segments)), visit)
                    {
                        failure
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .get_or_insert(e);
                    }
                });
            }
        });
        match failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn scan_segment(
        &self,
        projection: &[&str],
        segment: Option<(u32, u32)>,
        visit: &(dyn Fn(Vec<Map<String, Value>>) -> Result<()> + Sync),
    ) -> Result<()> {
        let mut start: Option<Value> = None;
        loop {
            let mut input = json!({
                "TableName": self.name,
                "ConsistentRead": self.settings.consistent_read,
            });
            add_projection(&mut input, projection);
            if let Some((segment, total)) = segment {
                input["Segment"] = json!(segment);
                input["TotalSegments"] = json!(total);
            }
            if let Some(start) = start.take() {
                input["ExclusiveStartKey"] = start;
            }
            let mut reply = self.call("Scan", &input)?;
            let items = match reply.get_mut("Items").map(Value::take) {
                Some(Value::Array(items)) => items
                    .into_iter()
                    .filter_map(|item| match item {
                        Value::Object(item) => Some(item),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            visit(items)?;
            match reply.get_mut("LastEvaluatedKey").map(Value::take) {
                Some(next @ Value::Object(_)) => start = Some(next),
                _ => return Ok(()),
            }
        }
    }

    /// Sleeps before attempt `attempt + 1` at unprocessed requests; an error once the
    /// attempts allowed are spent.
    fn wait_before_retry(&self, attempt: u32, operation: &str, left: usize) -> Result<()> {
        if attempt > self.settings.batch_retries {
            return Err(Error::runtime(format!(
                "dynamodb {operation}: {left} request{} still unprocessed after {attempt} \
                 attempts (the table is throttling)",
                if left == 1 { "" } else { "s" }
            )));
        }
        std::thread::sleep(self.backoff(attempt, jitter()));
        Ok(())
    }

    /// Full jitter: `jitter × min(base × 2^(attempt-1), 5 s)`.
    fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exp = attempt.saturating_sub(1).min(16);
        let ceiling = self
            .settings
            .batch_backoff_base
            .saturating_mul(1u32 << exp)
            .min(MAX_BACKOFF);
        ceiling.mul_f64(jitter.clamp(0.0, 1.0))
    }
}

/// A `ConditionExpression` with the attribute names (`#name`) and values (`:value`) it uses.
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    /// The expression.
    pub(crate) expression: String,
    /// `ExpressionAttributeNames`.
    pub(crate) names: Map<String, Value>,
    /// `ExpressionAttributeValues` (may be empty).
    pub(crate) values: Map<String, Value>,
}

impl Condition {
    /// Adds the condition to a request (or a transaction item).
    pub(crate) fn add_to(&self, input: &mut Value) {
        input["ConditionExpression"] = json!(self.expression);
        input["ExpressionAttributeNames"] = Value::Object(self.names.clone());
        if !self.values.is_empty() {
            input["ExpressionAttributeValues"] = Value::Object(self.values.clone());
        }
    }
}

/// Whether a call failed only because its condition did not hold.
fn is_condition_failed(e: &Error) -> bool {
    e.aws_code() == Some("ConditionalCheckFailedException")
}

/// Whether a failed call means the table cannot be used now: no usable answer at all
/// (connection refused or reset, timeout, truncated or unreadable reply, no credentials), or
/// an error the transport retries (throttling, 5xx) that outlasted its retries. An AWS error
/// about the request itself (a missing table, validation, access) says nothing of the
/// table's health.
pub(crate) fn is_unavailable(e: &Error) -> bool {
    match e.aws_code() {
        None => true,
        Some(code) => classify(e.http_status().unwrap_or(0), Some(code)) != FailureClass::Fatal,
    }
}

/// Splits `writes` into batches of at most [`BATCH_WRITE_MAX`] requests and
/// [`REQUEST_BYTES`] (a single larger request goes alone).
fn write_batches(writes: &[Write]) -> Vec<&[Write]> {
    let mut batches = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, write) in writes.iter().enumerate() {
        let size = write.size();
        if i > start && (i - start == BATCH_WRITE_MAX || bytes + size > REQUEST_BYTES) {
            batches.push(&writes[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < writes.len() {
        batches.push(&writes[start..]);
    }
    batches
}

/// Adds `ProjectionExpression` for `names` (through placeholders: `data`, `ttl`, `size`
/// and `keys` are reserved words).
fn add_projection(input: &mut Value, names: &[&str]) {
    if names.is_empty() {
        return;
    }
    let placeholders: Vec<String> = (0..names.len()).map(|i| format!("#p{i}")).collect();
    input["ProjectionExpression"] = json!(placeholders.join(", "));
    input["ExpressionAttributeNames"] = placeholders
        .iter()
        .zip(names)
        .map(|(p, n)| (p.clone(), json!(n)))
        .collect::<Map<String, Value>>()
        .into();
}

/// `name` as one JSON pointer segment.
fn pointer_escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// The item's key, when it has one.
pub(crate) fn key_in(item: &Map<String, Value>) -> Option<&str> {
    item::get_s(item, KEY)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn table(caller: DynamoCaller) -> Table {
        let settings = DynamoSettings {
            batch_backoff_base: Duration::from_millis(1),
            ..DynamoSettings::default()
        };
        Table::new("t".into(), caller, settings)
    }

    fn puts(n: usize) -> Vec<Write> {
        (0..n)
            .map(|i| {
                let mut item = Map::new();
                item.insert(KEY.into(), item::string(&format!("k{i}")));
                Write::Put(item)
            })
            .collect()
    }

    /// A fake BatchWriteItem that processes at most `take` requests per call and records
    /// every key it stored.
    fn partial_writer(take: usize, stored: Arc<Mutex<Vec<String>>>) -> DynamoCaller {
        Box::new(move |operation, input| {
            assert_eq!(operation, "BatchWriteItem");
            let requests = input["RequestItems"]["t"].as_array().unwrap();
            assert!(
                requests.len() <= BATCH_WRITE_MAX,
                "{} requests",
                requests.len()
            );
            let mut stored = stored.lock().unwrap();
            for r in requests.iter().take(take) {
                let key = r["PutRequest"]["Item"]["cache_key"]["S"].as_str().unwrap();
                stored.push(key.to_string());
            }
            let left: Vec<Value> = requests.iter().skip(take).cloned().collect();
            Ok(json!({"UnprocessedItems": {"t": left}}))
        })
    }

    #[test]
    fn batch_writes_are_split_by_25_and_unprocessed_items_retried() {
        let stored = Arc::new(Mutex::new(Vec::new()));
        let t = table(partial_writer(7, stored.clone()));
        t.batch_write(&puts(60)).unwrap();
        let mut stored = stored.lock().unwrap().clone();
        stored.sort();
        let mut want: Vec<String> = (0..60).map(|i| format!("k{i}")).collect();
        want.sort();
        assert_eq!(stored, want, "every item written exactly once");
    }

    #[test]
    fn unprocessed_items_are_retried_a_bounded_number_of_times() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let t = table(Box::new(move |_, input| {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(json!({"UnprocessedItems": input["RequestItems"].clone()}))
        }));
        let e = t.batch_write(&puts(3)).unwrap_err();
        assert!(
            e.to_string()
                .contains("3 requests still unprocessed after 9 attempts"),
            "{e}"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 9);
    }

    #[test]
    fn batch_gets_retry_unprocessed_keys_and_respect_the_key_limits() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let t = table(Box::new(move |operation, input| {
            assert_eq!(operation, "BatchGetItem");
            counted.fetch_add(1, Ordering::SeqCst);
            let request = &input["RequestItems"]["t"];
            let keys = request["Keys"].as_array().unwrap();
            assert!(keys.len() <= BATCH_GET_MAX);
            // Answer the first half, leave the rest unprocessed.
            let half = keys.len().div_ceil(2);
            let items: Vec<Value> = keys[..half]
                .iter()
                .map(|k| json!({"cache_key": k["cache_key"], "size": {"N": "1"}}))
                .collect();
            Ok(json!({
                "Responses": {"t": items},
                "UnprocessedKeys": {"t": {"Keys": keys[half..].to_vec()}},
            }))
        }));
        let keys: Vec<String> = (0..250).map(|i| format!("k{i}")).collect();
        let found = t.batch_get(&keys, &[KEY, item::SIZE]).unwrap();
        let mut got: Vec<&str> = found.iter().filter_map(key_in).collect();
        got.sort();
        let mut want: Vec<&str> = keys.iter().map(String::as_str).collect();
        want.sort();
        assert_eq!(got, want);
        assert!(calls.load(Ordering::SeqCst) >= 3 * 2);
    }

    #[test]
    fn whole_item_batch_gets_stay_under_16_mb() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let t = table(Box::new(move |_, input| {
            let keys = input["RequestItems"]["t"]["Keys"].as_array().unwrap().len();
            seen.lock().unwrap().push(keys);
            Ok(json!({"Responses": {"t": []}}))
        }));
        let keys: Vec<String> = (0..100).map(|i| format!("k{i}")).collect();
        t.batch_get(&keys, &[]).unwrap();
        let sizes = sizes.lock().unwrap().clone();
        assert!(
            sizes
                .iter()
                .all(|&n| n * t.settings.max_item_bytes <= REQUEST_BYTES),
            "{sizes:?}"
        );
        assert_eq!(sizes.iter().sum::<usize>(), 100);
    }

    #[test]
    fn write_batches_respect_count_and_bytes() {
        let small = puts(60);
        let sizes: Vec<usize> = write_batches(&small).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [25, 25, 10]);
        let big: Vec<Write> = (0..12)
            .map(|i| {
                let mut item = Map::new();
                item.insert(KEY.into(), item::string(&format!("k{i}")));
                item.insert(item::DATA.into(), item::binary(&vec![0; 399_000]));
                Write::Put(item)
            })
            .collect();
        let batches = write_batches(&big);
        assert_eq!(
            batches.iter().map(|b| b.len()).collect::<Vec<_>>(),
            [5, 5, 2]
        );
        for batch in batches {
            assert!(batch.iter().map(Write::size).sum::<usize>() <= REQUEST_BYTES);
        }
        assert!(write_batches(&[]).is_empty());
    }

    /// A caller that counts its calls and fails each with `error`.
    fn failing(error: Error, calls: Arc<AtomicUsize>) -> DynamoCaller {
        Box::new(move |_, _| {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(error.clone())
        })
    }

    #[test]
    fn an_unavailable_table_is_left_alone_for_a_while() {
        let cases = [
            (
                Error::runtime("h: io: Connection refused (after 4 attempts)"),
                true,
            ),
            (
                Error::runtime("dynamodb GetItem: unreadable reply (EOF)"),
                true,
            ),
            (Error::aws("throttled", "ThrottlingException", 400), true),
            (
                Error::aws("over", "ProvisionedThroughputExceededException", 400),
                true,
            ),
            (Error::aws("internal", "InternalServerError", 500), true),
            (Error::aws("HTTP 503", "Http503", 503), true),
            (
                Error::aws("missing", "ResourceNotFoundException", 400),
                false,
            ),
            (Error::aws("bad", "ValidationException", 400), false),
            (Error::aws("denied", "AccessDeniedException", 400), false),
        ];
        for (error, pauses) in cases {
            let calls = Arc::new(AtomicUsize::new(0));
            let t = table(failing(error.clone(), calls.clone()));
            assert_eq!(
                t.get_item("k", &[]).unwrap_err().to_string(),
                error.to_string()
            );
            let second = t.put_item_if(Map::new(), None).unwrap_err().to_string();
            if pauses {
                assert_eq!(calls.load(Ordering::SeqCst), 1, "{error}: not called again");
                assert!(
                    second.starts_with("dynamodb PutItem: not sent: the table failed ")
                        && second.ends_with(&format!(" ms ago: {error}")),
                    "{second}"
                );
            } else {
                assert_eq!(calls.load(Ordering::SeqCst), 2, "{error}: called again");
                assert_eq!(second, error.to_string());
            }
        }

        // Once the pause is over the table is tried again.
        let calls = Arc::new(AtomicUsize::new(0));
        let settings = DynamoSettings {
            unavailable_pause: Duration::ZERO,
            ..DynamoSettings::default()
        };
        let t = Table::new(
            "t".into(),
            failing(Error::runtime("timeout"), calls.clone()),
            settings,
        );
        t.get_item("k", &[]).unwrap_err();
        t.get_item("k", &[]).unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let t = table(Box::new(|_, _| Ok(json!({}))));
        let base = t.settings.batch_backoff_base;
        assert_eq!(t.backoff(1, 1.0), base);
        assert_eq!(t.backoff(3, 1.0), base * 4);
        assert_eq!(t.backoff(40, 1.0), MAX_BACKOFF);
        assert_eq!(t.backoff(3, 0.0), Duration::ZERO);
    }

    #[test]
    fn projections_use_placeholders() {
        let mut input = json!({});
        add_projection(&mut input, &["cache_key", "ttl"]);
        assert_eq!(input["ProjectionExpression"], "#p0, #p1");
        assert_eq!(
            input["ExpressionAttributeNames"],
            json!({"#p0": "cache_key", "#p1": "ttl"})
        );
    }

    #[test]
    fn scans_follow_last_evaluated_key_in_every_segment() {
        let t = table(Box::new(|operation, input| {
            assert_eq!(operation, "Scan");
            let segment = input["Segment"].as_u64().unwrap();
            let page = input["ExclusiveStartKey"]["cache_key"]["S"]
                .as_str()
                .map_or(0, |s| s.rsplit('-').next().unwrap().parse::<u64>().unwrap());
            let key = format!("s{segment}-{}", page + 1);
            let mut reply = json!({"Items": [{"cache_key": {"S": key}}]});
            if page < 2 {
                reply["LastEvaluatedKey"] = json!({"cache_key": {"S": key}});
            } else {
                reply["LastEvaluatedKey"] = Value::Null;
            }
            Ok(reply)
        }));
        let seen = Mutex::new(Vec::new());
        t.scan(&[KEY], 3, &|items| {
            let mut seen = seen.lock().unwrap();
            seen.extend(items.iter().filter_map(key_in).map(str::to_string));
            Ok(())
        })
        .unwrap();
        let mut seen = seen.into_inner().unwrap();
        seen.sort();
        assert_eq!(seen.len(), 9, "{seen:?}");
        assert_eq!(seen[0], "s0-1");
        assert_eq!(seen[8], "s2-3");
    }
}
