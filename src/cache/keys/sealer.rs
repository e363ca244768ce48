//! The response cache's keys sealing the credentials cache: with encryption on, temporary
//! credentials on disk are sealed like entries (AES-256-CBC and HMAC-SHA256 under the
//! active key, bound to what they are), so no secret is on disk in the clear.
//!
//! The keys are loaded only when credentials are actually cached or read (a cache hit
//! resolves no credentials). A key source that needs credentials itself (KMS) cannot seal
//! the credentials it needs: with it, nothing is cached on disk at all.

use std::sync::{Mutex, OnceLock};

use super::{KeyStore, Keyset};
use crate::aws::credentials::disk_cache::Sealer;
use crate::cache::crypto::Cipher;

/// What sealed credentials are bound to: another use of the same key never opens them.
const ASSOCIATED: &[u8] = b"awsideman credentials cache v1";
/// The first line of a sealed file, then the key id.
const MAGIC: &str = "awsideman-sealed-credentials v1 ";

/// Seals with the keys of a key store, loaded on first use.
pub(crate) struct KeysSealer {
    store: Mutex<Option<Box<dyn KeyStore>>>,
    keys: OnceLock<Option<Keyset>>,
}

impl KeysSealer {
    /// A sealer over `store`'s keys; `None` for a store that cannot seal credentials (KMS:
    /// then nothing is cached on disk).
    pub(crate) fn new(store: Option<Box<dyn KeyStore>>) -> KeysSealer {
        KeysSealer {
            store: Mutex::new(store),
            keys: OnceLock::new(),
        }
    }

    fn keys(&self) -> Option<&Keyset> {
        self.keys
            .get_or_init(|| {
                let store = self.store.lock().ok()?.take()?;
                store.load().ok().flatten()
            })
            .as_ref()
    }
}

impl Sealer for KeysSealer {
    fn seal(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let key = self.keys()?.active();
        let mut out = format!("{MAGIC}{}\n", key.id()).into_bytes();
        out.extend(Cipher::new(key.as_bytes()).seal(ASSOCIATED, plain));
        Some(out)
    }

    fn open(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        let end = sealed.iter().position(|&b| b == b'\n')?;
        let line = std::str::from_utf8(&sealed[..end]).ok()?;
        let key = self.keys()?.get(line.strip_prefix(MAGIC)?)?;
        Cipher::new(key.as_bytes())
            .open(ASSOCIATED, &sealed[end + 1..])
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::keys::env::EnvStore;
    use crate::env::Env;

    const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

    fn sealer(key: Option<&str>) -> KeysSealer {
        let env = Env::from_pairs(key.map(|k| ("AWSIDEMAN_CACHE_KEY", k)));
        KeysSealer::new(Some(Box::new(EnvStore::new(&env))))
    }

    #[test]
    fn sealed_credentials_open_only_with_the_key() {
        let s = sealer(Some(KEY));
        let sealed = s.seal(b"{\"SecretAccessKey\": \"hush\"}").unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("hush"));
        assert_eq!(s.open(&sealed).unwrap(), b"{\"SecretAccessKey\": \"hush\"}");
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(s.open(&tampered), None);
        assert_eq!(s.open(b"{\"SecretAccessKey\": \"plain\"}"), None);
        let keyless = sealer(None);
        assert_eq!(keyless.seal(b"x"), None, "no key: nothing written");
        assert_eq!(keyless.open(&sealed), None);
        assert_eq!(
            KeysSealer::new(None).seal(b"x"),
            None,
            "kms: nothing written"
        );
    }
}
