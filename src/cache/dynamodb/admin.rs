//! Managing the cache table: create it when missing (on-demand billing, optional KMS
//! encryption and tags), wait until it is ACTIVE, turn TTL on (after creation: TTL is not a
//! CreateTable parameter), describe it, check and repair it, delete it.
//!
//! Endpoints without `UpdateTimeToLive` (dynalite) are tolerated: entries then stay until
//! overwritten or cleared, which is harmless because readers check expiry themselves.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::item::{KEY, TTL};
use super::wire::Table;
use crate::error::{Error, Result};

/// The first wait between two polls of a table's status.
const FIRST_POLL: Duration = Duration::from_millis(100);
/// The longest wait between two polls.
const MAX_POLL: Duration = Duration::from_secs(2);

/// The TTL setting of a table, as DynamoDB reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TtlState {
    /// `ENABLED`, `ENABLING`, `DISABLED`, `DISABLING`, or `UNSUPPORTED` when the endpoint
    /// has no TTL operations.
    pub status: String,
    /// The attribute TTL reads, when enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) attribute: Option<String>,
    /// Why TTL could not be read or changed, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl TtlState {
    /// Whether DynamoDB expires items by our `ttl` attribute (or is about to).
    pub fn is_on(&self) -> bool {
        matches!(self.status.as_str(), "ENABLED" | "ENABLING")
            && self.attribute.as_deref() == Some(TTL)
    }

    fn unsupported(e: &Error) -> TtlState {
        TtlState {
            status: "UNSUPPORTED".into(),
            attribute: None,
            note: Some(format!(
                "this endpoint cannot manage TTL ({}); expired entries are ignored by readers \
                 and replaced by writers",
                e.aws_code().unwrap_or("error")
            )),
        }
    }
}

/// What [`ensure_table`] found and did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableSetup {
    /// The table name.
    pub(crate) table: String,
    /// Whether this call created it.
    pub created: bool,
    /// Its status at the end (`ACTIVE` unless another process is still changing it).
    pub status: String,
    /// Its TTL setting at the end.
    pub ttl: TtlState,
}

/// What [`repair`] checked, fixed and could not fix.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RepairReport {
    /// The table name.
    pub(crate) table: String,
    /// Checks that passed.
    pub ok: Vec<String>,
    /// What was changed.
    pub fixed: Vec<String>,
    /// What is wrong and could not be changed, with what to do about it.
    pub problems: Vec<String>,
    /// Facts worth knowing that need no action.
    pub notes: Vec<String>,
}

/// Whether `e` says the table (or an item's table) does not exist.
pub(crate) fn is_missing_table(e: &Error) -> bool {
    e.aws_code() == Some("ResourceNotFoundException")
}

/// Whether `e` says the endpoint lacks the operation or refuses it as a request.
fn is_unsupported(e: &Error) -> bool {
    matches!(
        e.aws_code(),
        Some("UnknownOperationException" | "ValidationException")
    ) || e.http_status() == Some(501)
}

/// The `Table` member of `DescribeTable`, or `None` when the table does not exist.
pub(crate) fn describe(table: &Table) -> Result<Option<Map<String, Value>>> {
    match table.call("DescribeTable", &json!({"TableName": table.name})) {
        Ok(mut reply) => match reply.get_mut("Table").map(Value::take) {
            Some(Value::Object(description)) => Ok(Some(description)),
            _ => Err(Error::runtime(format!(
                "dynamodb DescribeTable: the reply for table {} has no Table",
                table.name
            ))),
        },
        Err(e) if is_missing_table(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Creates the table when missing, waits until it is ACTIVE, and turns TTL on.
pub(crate) fn ensure_table(table: &Table) -> Result<TableSetup> {
    let mut created = false;
    if describe(table)?.is_none() {
        match table.call("CreateTable", &create_input(table)) {
            Ok(_) => created = true,
            // Another process is creating it at the same moment.
            Err(e) if e.aws_code() == Some("ResourceInUseException") => {}
            Err(e) => return Err(e.context(format!("creating table {}", table.name))),
        }
    }
    let status = wait_active(table)?;
    let ttl = enable_ttl(table)?;
    Ok(TableSetup {
        table: table.name.clone(),
        created,
        status,
        ttl,
    })
}

/// The `CreateTable` request: `cache_key` (S) as the only key, on-demand billing, and the
/// configured KMS key and tags.
fn create_input(table: &Table) -> Value {
    let mut input = json!({
        "TableName": table.name,
        "KeySchema": [{"AttributeName": KEY, "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": KEY, "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    });
    if let Some(key) = &table.settings.sse_kms_key_id {
        input["SSESpecification"] = json!({
            "Enabled": true,
            "SSEType": "KMS",
            "KMSMasterKeyId": key,
        });
    }
    if !table.settings.tags.is_empty() {
        input["Tags"] = table
            .settings
            .tags
            .iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect();
    }
    input
}

/// Polls the table until it is ACTIVE, at most `settings.table_wait`; returns the status.
fn wait_active(table: &Table) -> Result<String> {
    let deadline = Instant::now() + table.settings.table_wait;
    let mut pause = FIRST_POLL;
    loop {
        let status = match describe(table)? {
            Some(description) => status_of(&description),
            None => "CREATING".to_string(),
        };
        if status == "ACTIVE" {
            return Ok(status);
        }
        if Instant::now() + pause > deadline {
            return Err(Error::runtime(format!(
                "dynamodb table {} is still {status} after {} s; try again in a minute",
                table.name,
                table.settings.table_wait.as_secs()
            )));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(MAX_POLL);
    }
}

fn status_of(description: &Map<String, Value>) -> String {
    description
        .get("TableStatus")
        .and_then(Value::as_str)
        .unwrap_or("UNKNOWN")
        .to_string()
}

/// The table's TTL setting; `UNSUPPORTED` when the endpoint cannot say.
pub(crate) fn ttl_state(table: &Table) -> Result<TtlState> {
    match table.call("DescribeTimeToLive", &json!({"TableName": table.name})) {
        Ok(reply) => {
            let description = &reply["TimeToLiveDescription"];
            Ok(TtlState {
                status: description["TimeToLiveStatus"]
                    .as_str()
                    .unwrap_or("DISABLED")
                    .to_string(),
                attribute: description["AttributeName"].as_str().map(str::to_string),
                note: None,
            })
        }
        Err(e) if is_unsupported(&e) => Ok(TtlState::unsupported(&e)),
        Err(e) => Err(e),
    }
}

/// Turns TTL on for `ttl` unless it already is; tolerates endpoints without TTL.
fn enable_ttl(table: &Table) -> Result<TtlState> {
    let state = ttl_state(table)?;
    if state.is_on() || state.status != "DISABLED" {
        return Ok(state);
    }
    let input = json!({
        "TableName": table.name,
        "TimeToLiveSpecification": {"Enabled": true, "AttributeName": TTL},
    });
    match table.call("UpdateTimeToLive", &input) {
        Ok(reply) => Ok(TtlState {
            status: if reply["TimeToLiveSpecification"]["Enabled"] == json!(true) {
                "ENABLED".into()
            } else {
                "ENABLING".into()
            },
            attribute: Some(TTL.into()),
            note: None,
        }),
        Err(e) if is_unsupported(&e) => Ok(TtlState::unsupported(&e)),
        Err(e) => Err(e.context(format!("enabling TTL on table {}", table.name))),
    }
}

/// A summary of the table: status, items, size, billing, key schema, TTL, encryption.
/// Item count and size are DynamoDB's, refreshed by AWS about every six hours.
pub(crate) fn describe_summary(table: &Table, location: &str) -> Result<Value> {
    let description = describe(table)?.ok_or_else(|| missing(table))?;
    let ttl = ttl_state(table)?;
    let attribute_types: Map<String, Value> = description
        .get("AttributeDefinitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| {
            Some((
                d["AttributeName"].as_str()?.to_string(),
                d["AttributeType"].clone(),
            ))
        })
        .collect();
    let key_schema: Vec<Value> = description
        .get("KeySchema")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|k| {
            let name = k["AttributeName"].as_str().unwrap_or_default();
            json!({
                "attribute": name,
                "type": attribute_types.get(name).cloned().unwrap_or(Value::Null),
                "key_type": k["KeyType"],
            })
        })
        .collect();
    let sse = &description
        .get("SSEDescription")
        .cloned()
        .unwrap_or_default();
    Ok(json!({
        "table": table.name,
        "location": location,
        "arn": description.get("TableArn").cloned().unwrap_or_default(),
        "status": status_of(&description),
        "items": description.get("ItemCount").cloned().unwrap_or(json!(0)),
        "size_bytes": description.get("TableSizeBytes").cloned().unwrap_or(json!(0)),
        "billing_mode": description
            .get("BillingModeSummary")
            .and_then(|b| b.get("BillingMode"))
            .and_then(Value::as_str)
            .unwrap_or("PROVISIONED"),
        "key_schema": key_schema,
        "ttl": ttl,
        "encryption": match sse.get("SSEType").and_then(Value::as_str) {
            Some(kind) => json!({
                "type": kind,
                "status": sse.get("Status").cloned().unwrap_or_default(),
                "kms_key": sse.get("KMSMasterKeyArn").cloned().unwrap_or_default(),
            }),
            None => json!({"type": "DEFAULT", "status": "ENABLED"}),
        },
    }))
}

/// What is wrong with a table's key schema for the cache, one sentence per fault; empty
/// when it is exactly `cache_key` (S) as HASH key and nothing else.
pub(crate) fn key_schema_problems(description: &Map<String, Value>) -> Vec<String> {
    let keys: Vec<(&str, &str)> = description
        .get("KeySchema")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap_or(""),
                k["KeyType"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let type_of = |name: &str| {
        description
            .get("AttributeDefinitions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|d| d["AttributeName"] == json!(name))
            .and_then(|d| d["AttributeType"].as_str())
            .unwrap_or("?")
            .to_string()
    };
    let mut problems = Vec::new();
    match keys.iter().find(|(_, kind)| *kind == "HASH") {
        None => problems.push(format!(
            "the table has no hash key; awsideman needs {KEY} (S)"
        )),
        Some((name, _)) if *name != KEY => problems.push(format!(
            "the hash key is {name} ({}), but awsideman needs {KEY} (S)",
            type_of(name)
        )),
        Some((name, _)) if type_of(name) != "S" => problems.push(format!(
            "the hash key {KEY} is of type {}, but awsideman needs S (string)",
            type_of(name)
        )),
        Some(_) => {}
    }
    for (name, _) in keys.iter().filter(|(_, kind)| *kind == "RANGE") {
        problems.push(format!(
            "the table has a sort (RANGE) key {name} ({}); awsideman's table has none",
            type_of(name)
        ));
    }
    problems
}

/// Checks the table and fixes what can be fixed: the key schema (reported, since it cannot
/// be changed), the status (waiting while it is being created or updated), and TTL on
/// `ttl` (turned on when off).
pub(crate) fn repair(table: &Table) -> Result<RepairReport> {
    let mut report = RepairReport {
        table: table.name.clone(),
        ..RepairReport::default()
    };
    let Some(description) = describe(table)? else {
        report.problems.push(format!(
            "table {} does not exist: `cache dynamodb create-table` creates it (so does the \
             first cache write)",
            table.name
        ));
        return Ok(report);
    };
    let schema = key_schema_problems(&description);
    if schema.is_empty() {
        report
            .ok
            .push(format!("key schema is {KEY} (S) as hash key"));
    } else {
        report.problems.extend(schema);
        report.problems.push(
            "a key schema cannot be changed: delete the table (`cache dynamodb delete-table \
             --yes`, which drops the cached entries) and awsideman creates a correct one on \
             first use; or set cache.dynamodb_table_name to another table"
                .into(),
        );
    }
    let mut status = status_of(&description);
    if matches!(status.as_str(), "CREATING" | "UPDATING") {
        status = wait_active(table)?;
    }
    match status.as_str() {
        "ACTIVE" => report.ok.push("status is ACTIVE".into()),
        other => report.problems.push(format!(
            "status is {other}, not ACTIVE: run repair again once it is ACTIVE"
        )),
    }
    let ttl = ttl_state(table)?;
    match (ttl.status.as_str(), ttl.attribute.as_deref()) {
        ("UNSUPPORTED", _) => report.notes.extend(ttl.note.clone()),
        ("ENABLED" | "ENABLING", Some(TTL)) => {
            report.ok.push(format!("TTL is {} on {TTL}", ttl.status))
        }
        ("ENABLED" | "ENABLING", other) => report.problems.push(format!(
            "TTL is on attribute {}, not {TTL}, so expired entries are never removed: turn it \
             off (aws dynamodb update-time-to-live --table-name {} --time-to-live-specification \
             Enabled=false,AttributeName={}), wait until it is DISABLED (up to an hour), then \
             run repair again",
            other.unwrap_or("?"),
            table.name,
            other.unwrap_or("?")
        )),
        ("DISABLING", _) => report.problems.push(
            "TTL is being turned off (DISABLING): run repair again once it is DISABLED \
             (up to an hour)"
                .into(),
        ),
        _ => {
            let after = enable_ttl(table)?;
            if after.is_on() {
                report.fixed.push(format!("turned TTL on for {TTL}"));
            } else {
                report.notes.extend(after.note);
            }
        }
    }
    Ok(report)
}

/// Deletes the table; `false` when it did not exist.
pub(crate) fn delete_table(table: &Table) -> Result<bool> {
    match table.call("DeleteTable", &json!({"TableName": table.name})) {
        Ok(_) => {
            wait_gone(table)?;
            Ok(true)
        }
        Err(e) if is_missing_table(&e) => Ok(false),
        Err(e) => Err(e.context(format!("deleting table {}", table.name))),
    }
}

/// Polls until the table no longer exists (deletion is asynchronous), at most
/// `settings.table_wait`, so a later create or delete sees it gone.
fn wait_gone(table: &Table) -> Result<()> {
    let deadline = Instant::now() + table.settings.table_wait;
    let mut pause = FIRST_POLL;
    while describe(table)?.is_some() {
        if Instant::now() + pause > deadline {
            return Err(Error::runtime(format!(
                "dynamodb table {} is still being deleted after {} s",
                table.name,
                table.settings.table_wait.as_secs()
            )));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(MAX_POLL);
    }
    Ok(())
}

fn missing(table: &Table) -> Error {
    Error::not_found(format!(
        "dynamodb table {} does not exist (`cache dynamodb create-table` creates it)",
        table.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn description(keys: Value, attributes: Value) -> Map<String, Value> {
        serde_json::from_value(json!({"KeySchema": keys, "AttributeDefinitions": attributes}))
            .unwrap()
    }

    #[test]
    fn the_right_key_schema_has_no_problems() {
        let d = description(
            json!([{"AttributeName": "cache_key", "KeyType": "HASH"}]),
            json!([{"AttributeName": "cache_key", "AttributeType": "S"}]),
        );
        assert!(key_schema_problems(&d).is_empty());
    }

    #[test]
    fn key_schema_problems_say_exactly_what_is_wrong() {
        let d = description(
            json!([{"AttributeName": "id", "KeyType": "HASH"}]),
            json!([{"AttributeName": "id", "AttributeType": "N"}]),
        );
        assert_eq!(
            key_schema_problems(&d),
            vec!["the hash key is id (N), but awsideman needs cache_key (S)"]
        );
        let d = description(
            json!([{"AttributeName": "cache_key", "KeyType": "HASH"}]),
            json!([{"AttributeName": "cache_key", "AttributeType": "B"}]),
        );
        assert_eq!(
            key_schema_problems(&d),
            vec!["the hash key cache_key is of type B, but awsideman needs S (string)"]
        );
        let d = description(
            json!([
                {"AttributeName": "cache_key", "KeyType": "HASH"},
                {"AttributeName": "part", "KeyType": "RANGE"},
            ]),
            json!([
                {"AttributeName": "cache_key", "AttributeType": "S"},
                {"AttributeName": "part", "AttributeType": "N"},
            ]),
        );
        assert_eq!(
            key_schema_problems(&d),
            vec!["the table has a sort (RANGE) key part (N); awsideman's table has none"]
        );
        assert_eq!(
            key_schema_problems(&description(json!([]), json!([]))),
            vec!["the table has no hash key; awsideman needs cache_key (S)"]
        );
    }
}
