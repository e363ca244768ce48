//! The `kms` key source's wrapped key document kept in the cache table itself, so every
//! machine that shares the table shares its keys with nothing to copy: the document is
//! useless without KMS Decrypt on the KMS key that wrapped it.
//!
//! One item, [`WRAPPED_KEYS_ITEM`], with the document in `data`; no `ttl`, so it never
//! expires. Its key is no entry, chunk or tag key: listing, stats, invalidation and migration
//! pass it by, and `clear` keeps it (clearing the cache must not lose the keys).

use serde_json::{Map, Value, json};

use super::DynamoBackend;
use super::admin::is_missing_table;
use super::item;
use super::wire::Write;
use crate::cache::keys::WrappedKeysPlace;
use crate::error::{Error, Result};

/// The `cache_key` of the item holding the wrapped key document.
pub const WRAPPED_KEYS_ITEM: &str = "meta#kms-wrapped-keys";

/// The wrapped key document as an item of the cache table.
pub struct TableWrappedKeys(DynamoBackend);

impl TableWrappedKeys {
    /// The document in `backend`'s table.
    pub fn new(backend: DynamoBackend) -> TableWrappedKeys {
        TableWrappedKeys(backend)
    }
}

impl WrappedKeysPlace for TableWrappedKeys {
    fn describe(&self) -> String {
        format!("{} (item {WRAPPED_KEYS_ITEM})", self.0.location)
    }

    fn read(&self) -> Result<Option<Vec<u8>>> {
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
        match item::get_b(found, item::DATA) {
            Some(Ok(document)) => Ok(Some(document)),
            Some(Err(e)) => Err(Error::runtime(format!("its data is damaged ({e})"))),
            None => Err(Error::runtime("the item has no data")),
        }
    }

    fn write(&self, document: &[u8]) -> Result<()> {
        let mut stored = Map::new();
        stored.insert(item::KEY.into(), item::string(WRAPPED_KEYS_ITEM));
        stored.insert(item::DATA.into(), item::binary(document));
        self.0
            .writing(|| self.0.table.put_item_if(stored.clone(), None).map(|_| ()))
    }

    fn remove(&self) -> Result<()> {
        match self
            .0
            .table
            .batch_write(&[Write::Delete(WRAPPED_KEYS_ITEM.to_string())])
        {
            Err(e) if is_missing_table(&e) => Ok(()),
            other => other,
        }
    }
}
