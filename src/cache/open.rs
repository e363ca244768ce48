//! The one place a cache backend is chosen and built from the settings.
//!
//! The DynamoDB table needs an AWS session the cache layer does not hold: the caller hands
//! in a function that builds it (with its own session, credentials and key guard).

use super::backend::CacheBackend;
use super::dynamodb::DynamoBackend;
use super::file::{FileBackend, Notes};
use super::hybrid::{self, HybridBackend};
use crate::config::{BackendType, CacheSettings};
use crate::error::Result;

/// What building a backend needs from the layers above.
pub(crate) struct BackendParts<'a> {
    /// Builds the configured DynamoDB table backend (dynamodb, and hybrid's remote side).
    pub(crate) table: &'a dyn Fn() -> Result<DynamoBackend>,
    /// Where the file cache's notes (a repaired directory) go; none keeps them quiet.
    pub(crate) notes: Option<Notes>,
}

/// The backend `kind` of `settings`.
pub(crate) fn open_backend(
    kind: BackendType,
    settings: &CacheSettings,
    parts: &BackendParts<'_>,
) -> Result<Box<dyn CacheBackend>> {
    let file = |dir| {
        let backend = FileBackend::new(dir, settings.max_size_mb.saturating_mul(1024 * 1024));
        match &parts.notes {
            Some(notes) => backend.with_notes(notes.clone()),
            None => backend,
        }
    };
    Ok(match kind {
        BackendType::File => Box::new(file(settings.file_cache_dir.clone())),
        BackendType::Dynamodb => Box::new((parts.table)()?),
        BackendType::Hybrid => Box::new(HybridBackend::new(
            Box::new(file(hybrid::local_dir(&settings.file_cache_dir))),
            Box::new((parts.table)()?),
            settings.hybrid_local_ttl,
        )),
    })
}
