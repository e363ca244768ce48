//! What the integration tests, the fuzz targets and the benches reach inside awsideman.
//!
//! Everything else is private to the crate, so the compiler sees dead code. This is not an
//! API: it changes with the code it exposes.

pub use crate::aws::endpoint::{Endpoint, no_profile, resolve as resolve_endpoint};
pub use crate::aws::service::Service;
pub use crate::aws::session::{ProfileSource, Session, SessionSettings};
pub use crate::aws::transport::{Transport, TransportSettings};
pub use crate::cache::backend::{BackendStats, CacheBackend, EntryInfo, Invalidation, Lookup};
pub use crate::cache::crypto::Cipher;
pub use crate::cache::dynamodb::{
    AWS_ITEM_LIMIT, BATCH_GET_MAX, BATCH_WRITE_MAX, DynamoBackend, DynamoCaller, DynamoSettings,
    transport_settings,
};
pub use crate::cache::envelope::{Envelope, FORMAT_VERSION, Header, Scheme};
pub use crate::cache::file::FileBackend;
pub use crate::cache::generation::Generations;
pub use crate::cache::key::CacheKey;
pub use crate::cache::keys::Keyset;
pub use crate::cache::manager::{
    CacheManager, Decoded, Encryption, MAX_CLOCK_SKEW_SECS, NewEntry, Read, Unusable,
};
pub use crate::cli::doc::man_page;
pub use crate::cli::spec::{Command, every_command, every_group, path_words};
pub use crate::cli::table::GROUPS;
pub use crate::cli::warm::split_words;
pub use crate::clock::now_secs;
pub use crate::commands::limits::{Counted, INPUT_LIMITS};
pub use crate::config::{
    CacheSettings, ConfigFile, audit_log_path, cache_settings, network_settings,
};
pub use crate::document::Document;
pub use crate::env::Env;
pub use crate::error::{Error, Kind, Result};
#[cfg(unix)]
pub use crate::fsutil::effective_uid;
