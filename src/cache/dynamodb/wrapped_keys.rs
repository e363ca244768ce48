//! The `kms` key source's wrapped key document kept in the cache table itself, so every
//! machine that shares the table shares its keys with nothing to copy: the document is
//! useless without KMS Decrypt on the KMS key that wrapped it.
//!
//! One item, [`WRAPPED_KEYS_ITEM`], with the document in `data` and a `version` (a random
//! token each write replaces; a write is conditional on the version it read, so machines
//! changing the keys at once never overwrite each other); no `ttl`, so it never expires.
//! Its key is no entry, chunk or generation key: listing, stats, invalidation and migration
//! pass it by, and `clear` keeps it (clearing the cache must not lose the keys). Entries
//! sealed with its keys are written only while its version is the one their writer loaded
//! (see [`DynamoBackend::with_key_guard`]).

use serde_json::{Map, Value, json};

use super::DynamoBackend;
use super::admin::is_missing_table;
use super::item;
use super::wire::Condition;
use crate::cache::keys::{Versioned, WrappedKeysPlace};
use crate::error::{Error, Result};

/// The `cache_key` of the item holding the wrapped key document.
pub(crate) const WRAPPED_KEYS_ITEM: &str = "meta#kms-wrapped-keys";

/// The attribute holding the document's version.
pub(crate) const VERSION: &str = "version";

/// The condition that the wrapped key document's version is still `version`.
pub(crate) fn unchanged(version: &str) -> Condition {
    Condition {
        expression: "#v = :v".into(),
        names: Map::from_iter([("#v".to_string(), Value::from(VERSION))]),
        values: Map::from_iter([(":v".to_string(), item::string(version))]),
    }
}

/// The wrapped key document as an item of the cache table.
pub(crate) struct TableWrappedKeys(DynamoBackend);

impl TableWrappedKeys {
    /// The document in `backend`'s table.
    pub(crate) fn new(backend: DynamoBackend) -> TableWrappedKeys {
        TableWrappedKeys(backend)
    }
}

impl WrappedKeysPlace for TableWrappedKeys {
    fn describe(&self) -> String {
        format!("{} (item {WRAPPED_KEYS_ITEM})", self.0.location)
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn read(&self) -> Result<Option<Versioned>> {
        // Strongly consistent: a key another machine saved a moment ago must be seen.
        let input = json!({
            "TableName": self.0.table.name,
            "Key": item::key_of(WRAPPED_KEYS_ITEM),
            "ConsistentRead": true,
        });
        let reply = match self.0.table.call("GetItem", &input) {
            Ok(reply) => reply,
            Err(e) if is_missing_table(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(Value::Object(found)) = reply.get("Item") else {
            return Ok(None);
        };
        let document = match item::get_b(found, item::DATA) {
            Some(Ok(document)) => document,
            Some(Err(e)) => return Err(Error::runtime(format!("its data is damaged ({e})"))),
            None => return Err(Error::runtime("the item has no data")),
        };
        // An item an earlier build wrote has no version: its content stands for one.
        let version = item::get_s(found, VERSION)
            .map(str::to_string)
            .unwrap_or_default();
        Ok(Some(Versioned { document, version }))
    }

    fn write_if(&self, document: &[u8], expected: Option<&str>) -> Result<Option<String>> {
        let version = crate::cache::generation::new_token()?;
        let mut stored = Map::new();
        stored.insert(item::KEY.into(), item::string(WRAPPED_KEYS_ITEM));
        stored.insert(item::DATA.into(), item::binary(document));
        stored.insert(VERSION.into(), item::string(&version));
        let condition = match expected {
            None => Condition {
                expression: "attribute_not_exists(#k)".into(),
                names: Map::from_iter([("#k".to_string(), Value::from(item::KEY))]),
                values: Map::new(),
            },
            Some("") => Condition {
                expression: "attribute_not_exists(#v)".into(),
                names: Map::from_iter([("#v".to_string(), Value::from(VERSION))]),
                values: Map::new(),
            },
            Some(expected) => unchanged(expected),
        };
        let written = self
            .0
            .writing(|| self.0.table.put_item_if(stored.clone(), Some(&condition)))?;
        Ok(written.map(|_| version))
    }

    #[cfg(test)]
    fn remove(&self) -> Result<()> {
        match self
            .0
            .table
            .batch_write(&[super::wire::Write::Delete(WRAPPED_KEYS_ITEM.to_string())])
        {
            Err(e) if is_missing_table(&e) => Ok(()),
            other => other,
        }
    }
}
