//! Authenticated encryption of cache payloads.
//!
//! AES-256-CBC with a fresh random IV per entry, then HMAC-SHA256 (encrypt-then-MAC) over
//! the associated data (the header fields that say what the entry is and until when it is
//! valid) and the IV and ciphertext. Encryption and MAC keys are derived separately from the
//! master key. The tag is checked in constant time before anything is decrypted, and every
//! failure is the same opaque error, so nothing here can act as a padding oracle.

use aes::Aes256;
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyInit, KeyIvInit};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The scheme name written into entry headers.
pub(crate) const SCHEME: &str = "aes256-cbc-hmac-sha256";

const IV_LEN: usize = 16;
const TAG_LEN: usize = 32;
const BLOCK: usize = 16;

type HmacSha256 = Hmac<Sha256>;

/// An entry that cannot be opened: wrong key, tampered, truncated. Deliberately says no more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenError;

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the entry does not authenticate (tampered, truncated or another key)")
    }
}

/// The working keys derived from one master key. Zeroed when dropped.
pub struct Cipher {
    encryption: Zeroizing<[u8; 32]>,
    authentication: Zeroizing<[u8; 32]>,
}

impl Cipher {
    /// Derives the encryption and MAC keys from a 32-byte master key.
    pub fn new(master: &[u8; 32]) -> Cipher {
        Cipher {
            encryption: derive(master, b"awsideman-cache-v1 encryption"),
            authentication: derive(master, b"awsideman-cache-v1 authentication"),
        }
    }

    /// Encrypts `plaintext`, binding it to `associated` data: returns IV ‖ ciphertext ‖ tag.
    pub fn seal(&self, associated: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut iv = [0u8; IV_LEN];
        fill_random(&mut iv);
        let encryptor = cbc::Encryptor::<Aes256>::new((&*self.encryption).into(), (&iv).into());
        let ciphertext = encryptor.encrypt_padded_vec::<Pkcs7>(plaintext);
        let mut out = Vec::with_capacity(IV_LEN + ciphertext.len() + TAG_LEN);
        out.extend_from_slice(&iv);
        out.extend_from_slice(&ciphertext);
        let tag = self.tag(associated, &out);
        out.extend_from_slice(&tag);
        out
    }

    /// Checks the tag over `associated` and the sealed bytes (constant time), and only then
    /// decrypts. Any failure is the same [`OpenError`].
    pub fn open(&self, associated: &[u8], sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < IV_LEN + BLOCK + TAG_LEN
            || !(sealed.len() - IV_LEN - TAG_LEN).is_multiple_of(BLOCK)
        {
            return Err(OpenError);
        }
        let (body, tag) = sealed.split_at(sealed.len() - TAG_LEN);
        let mut mac = self.mac(associated);
        mac.update(body);
        mac.verify_slice(tag).map_err(|_| OpenError)?;
        let (iv, ciphertext) = body.split_at(IV_LEN);
        let iv: &[u8; IV_LEN] = iv.try_into().map_err(|_| OpenError)?;
        let decryptor = cbc::Decryptor::<Aes256>::new((&*self.encryption).into(), iv.into());
        decryptor
            .decrypt_padded_vec::<Pkcs7>(ciphertext)
            .map_err(|_| OpenError)
    }

    fn mac(&self, associated: &[u8]) -> HmacSha256 {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(self.authentication.as_slice())
            .expect("HMAC takes keys of any length");
        // Length-prefixed, so associated data and body cannot trade bytes.
        mac.update(&(associated.len() as u64).to_be_bytes());
        mac.update(associated);
        mac
    }

    fn tag(&self, associated: &[u8], body: &[u8]) -> [u8; TAG_LEN] {
        let mut mac = self.mac(associated);
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

fn derive(master: &[u8; 32], label: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(master).expect("HMAC takes keys of any length");
    mac.update(label);
    Zeroizing::new(mac.finalize().into_bytes().into())
}

fn fill_random(buf: &mut [u8]) {
    // getrandom only fails when the OS has no randomness at all; refusing to encrypt is
    // then the only safe answer, and it cannot happen on the platforms we build for.
    getrandom::getrandom(buf).expect("the operating system provides randomness");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(byte: u8) -> Cipher {
        Cipher::new(&[byte; 32])
    }

    #[test]
    fn round_trips_empty_small_and_large_payloads() {
        let c = cipher(7);
        for size in [0usize, 1, 15, 16, 17, 1000, 3 * 1024 * 1024] {
            let plaintext: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let sealed = c.seal(b"header", &plaintext);
            assert_eq!(
                c.open(b"header", &sealed).unwrap(),
                plaintext,
                "size {size}"
            );
        }
    }

    #[test]
    fn every_single_byte_flip_is_detected() {
        let c = cipher(1);
        let sealed = c.seal(b"aad", b"{\"Users\":[{\"UserName\":\"alice\"}]}");
        for i in 0..sealed.len() {
            for bit in [0x01u8, 0x80] {
                let mut bad = sealed.clone();
                bad[i] ^= bit;
                assert_eq!(
                    c.open(b"aad", &bad),
                    Err(OpenError),
                    "byte {i} bit {bit:#x}"
                );
            }
        }
    }

    #[test]
    fn associated_data_is_authenticated() {
        let c = cipher(2);
        let sealed = c.seal(b"expires_at=100", b"x");
        assert_eq!(c.open(b"expires_at=999", &sealed), Err(OpenError));
        assert!(c.open(b"expires_at=100", &sealed).is_ok());
    }

    #[test]
    fn wrong_key_and_truncation_fail_the_same_way() {
        let sealed = cipher(3).seal(b"", b"secret");
        assert_eq!(cipher(4).open(b"", &sealed), Err(OpenError));
        for cut in 0..sealed.len() {
            assert_eq!(
                cipher(3).open(b"", &sealed[..cut]),
                Err(OpenError),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn ivs_are_fresh() {
        let c = cipher(5);
        assert_ne!(c.seal(b"", b"same"), c.seal(b"", b"same"));
    }
}
