//! Tag generations: how the cache knows, without clocks, that a write changed an answer.
//!
//! Every invalidation tag (`users:d-123`) has a generation: a random token that changes each
//! time a write invalidates the tag. An entry records, in its (authenticated) header, the
//! generation of each of its tags as it was read *before* the AWS call that produced the
//! answer; a read serves the entry only while every one of those generations is still the
//! current one. So:
//!
//! - an invalidation is one small write per tag (no list of entries to find and remove);
//! - an answer read before a write but stored after its invalidation carries the old
//!   generation and is never served (no fences, no tombstones, no clock margins);
//! - a generation that disappears (a clear, DynamoDB's TTL, a deleted file) makes every entry
//!   that recorded it a miss: a missing generation never matches. That is why a read that
//!   finds a tag without a generation creates one before asking AWS: an answer is only ever
//!   stored against a token that existed before it was read.
//!
//! Tokens are 64 random bits: a new token never equals one a reader may have recorded, so
//! two invalidations racing on one tag may both "win" and it does not matter.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// The current generation of each tag an answer depends on (tag -> token), as observed at
/// one moment. A tag without a generation is absent from the map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Generations(BTreeMap<String, String>);

impl Generations {
    /// No generations.
    pub fn new() -> Generations {
        Generations(BTreeMap::new())
    }

    /// The generations of a map (tag -> token).
    pub(crate) fn from_map(map: BTreeMap<String, String>) -> Generations {
        Generations(map)
    }

    /// Records `token` as the generation of `tag`.
    pub fn insert(&mut self, tag: impl Into<String>, token: impl Into<String>) {
        self.0.insert(tag.into(), token.into());
    }

    /// The generation of `tag`, if it has one.
    pub(crate) fn get(&self, tag: &str) -> Option<&str> {
        self.0.get(tag).map(String::as_str)
    }

    /// The tags and their tokens, in tag order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(t, g)| (t.as_str(), g.as_str()))
    }

    /// The map (tag -> token).
    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// The map (tag -> token), by value.
    pub(crate) fn into_map(self) -> BTreeMap<String, String> {
        self.0
    }

    /// Whether an entry that recorded `recorded` is still current: every tag of `tags` has a
    /// generation now, and it is the one the entry recorded.
    pub fn current_for(&self, tags: &[String], recorded: &BTreeMap<String, String>) -> bool {
        tags.iter()
            .all(|tag| matches!((self.0.get(tag), recorded.get(tag)), (Some(now), Some(then)) if now == then))
    }

    /// Whether every tag of `tags` has a generation.
    pub(crate) fn covers(&self, tags: &[String]) -> bool {
        tags.iter().all(|tag| self.0.contains_key(tag))
    }

    /// The generations of `tags` only.
    pub fn restricted_to(&self, tags: &[String]) -> Generations {
        Generations(
            tags.iter()
                .filter_map(|t| self.0.get(t).map(|g| (t.clone(), g.clone())))
                .collect(),
        )
    }
}

/// A new generation token: 16 lower-case hex digits from the operating system's generator.
pub(crate) fn new_token() -> Result<String> {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| Error::runtime(format!("making a cache generation token: {e}")))?;
    Ok(hex::encode(bytes))
}

/// Whether `text` looks like a token this build writes (what a reader accepts from a file
/// or an item; anything else is treated as no generation).
pub(crate) fn is_token(text: &str) -> bool {
    text.len() == 16 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gens(pairs: &[(&str, &str)]) -> Generations {
        Generations(
            pairs
                .iter()
                .map(|(t, g)| (t.to_string(), g.to_string()))
                .collect(),
        )
    }

    #[test]
    fn an_entry_is_current_only_when_every_tag_matches() {
        let now = gens(&[("a", "1111111111111111"), ("b", "2222222222222222")]);
        let tags = vec!["a".to_string(), "b".to_string()];
        let same = now.as_map().clone();
        assert!(now.current_for(&tags, &same));
        let mut moved = same.clone();
        moved.insert("b".into(), "3333333333333333".into());
        assert!(!now.current_for(&tags, &moved), "one tag moved");
        let mut partial = same.clone();
        partial.remove("a");
        assert!(!now.current_for(&tags, &partial), "a tag the entry lacks");
        let gone = gens(&[("b", "2222222222222222")]);
        assert!(
            !gone.current_for(&tags, &same),
            "a generation that vanished"
        );
        assert!(
            now.current_for(&[], &BTreeMap::new()),
            "no tags: always current"
        );
    }

    #[test]
    fn tokens_are_fresh_hex() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert!(is_token(&a) && is_token(&b));
        assert_ne!(a, b);
        assert!(!is_token("xyz"));
        assert!(!is_token(&"g".repeat(16)));
    }
}
