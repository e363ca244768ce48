//! The response cache: keys, the entry envelope, the backends and the manager that applies
//! expiry, integrity and the failure policy.
//!
//! The cache never opens a socket of its own for the file backend and knows nothing of
//! commands: it knows operations, keys and tags.

pub mod backend;
pub mod crypto;
pub mod dynamodb;
pub mod envelope;
pub mod file;
pub mod generation;
pub mod hybrid;
pub mod key;
pub mod keys;
pub mod keystate;
pub mod manager;
pub mod migrate;
pub mod open;
pub mod stale;

pub use backend::{CacheBackend, EntryInfo, Invalidation};
pub use key::{CacheKey, Namespace};
pub use manager::{CacheManager, NewEntry, Read, Ticket};

#[cfg(test)]
mod mutation_tests;
