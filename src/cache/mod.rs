//! The response cache: keys, the entry envelope, the backends and the manager that applies
//! expiry, integrity and the failure policy.
//!
//! The cache never opens a socket of its own for the file backend and knows nothing of
//! commands: it knows operations, keys and tags.

pub(crate) mod backend;
pub(crate) mod crypto;
pub(crate) mod dynamodb;
pub(crate) mod envelope;
pub(crate) mod file;
pub(crate) mod generation;
pub(crate) mod hybrid;
pub(crate) mod key;
pub(crate) mod keys;
pub(crate) mod keystate;
pub(crate) mod manager;
pub(crate) mod migrate;
pub(crate) mod open;
pub(crate) mod stale;

pub(crate) use backend::{CacheBackend, EntryInfo, Invalidation};
pub(crate) use key::{CacheKey, Namespace};
pub(crate) use manager::{CacheManager, NewEntry, Parts, Read, Ticket};

#[cfg(test)]
mod mutation_tests;
