//! The backup file: the document, compressed (raw DEFLATE), optionally sealed with the
//! cache's keys, behind a header, all covered by a SHA-256 checksum.
//!
//! ```text
//! awsideman-backup 1 sha256=<64 hex digits over everything after this line>\n
//! {"Id": ..., "CreatedAt": ..., "Compression": "deflate", "Encryption": null | {"Scheme", "KeyId"},
//!  "Length": <payload bytes>}\n
//! <payload: the compressed document, or IV ‖ ciphertext ‖ tag of it>
//! ```
//!
//! The header names no user, group, permission set or account: with encryption, nothing
//! but the id and time of the backup can be read without the key. A sealed payload is
//! bound to its header line (the associated data), so neither can be swapped.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::cache::crypto::{Cipher, SCHEME};
use crate::cache::keys::Keyset;
use crate::error::{Error, Result};

/// The container, for the man page's BACKUP FORMAT.
pub(crate) const CONTAINER_DOC: &str = "A backup file, <id>.awsideman-backup, is three parts. \
     First a line: awsideman-backup 1 sha256=<64 hex digits>, the SHA-256 of everything after \
     that line. Then a header line, JSON: {Id, CreatedAt, Compression: \"deflate\", Encryption: \
     null or {Scheme: \"aes256-cbc-hmac-sha256\", KeyId}, Length}. Then Length bytes of \
     payload: the document (JSON) compressed with raw DEFLATE (RFC 1951) and, when encrypted, \
     sealed like a cache entry with the cache key KeyId (IV, AES-256-CBC ciphertext, \
     HMAC-SHA256 tag over the header line, IV and ciphertext). The header names nobody: an \
     encrypted backup shows only its id and time. The document's members:";

/// The first word of a backup file.
const MAGIC: &str = "awsideman-backup";
/// The container version (the first line's second word).
const CONTAINER_VERSION: &str = "1";
/// The largest backup file read or written (the largest reply the HTTP agent accepts).
pub(crate) const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// The largest document a backup file may inflate to.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024 * 1024;
/// The longest header line.
const MAX_HEADER_BYTES: usize = 4096;
/// The compression level (miniz's 0..=10): a good ratio at little cost for JSON.
const LEVEL: u8 = 6;

/// The header of a backup file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Header {
    /// The backup id.
    pub(crate) id: String,
    /// When it was taken.
    pub(crate) created_at: String,
    /// The id of the key that sealed it, when encrypted.
    pub(crate) key_id: Option<String>,
}

/// Encodes `document` as a backup file; sealed with `keys`' active key when given.
pub(crate) fn encode(document: &Value, header: &Header, keys: Option<&Keyset>) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(document)
        .map_err(|e| Error::runtime(format!("encoding the backup: {e}")))?;
    let compressed = miniz_oxide::deflate::compress_to_vec(&json, LEVEL);
    let key = keys.map(Keyset::active);
    let encryption = key.map(|k| json!({"Scheme": SCHEME, "KeyId": k.id()}));
    // The length is known before sealing: IV + padded ciphertext + tag.
    let length = match key {
        Some(_) => 16 + (compressed.len() / 16 + 1) * 16 + 32,
        None => compressed.len(),
    };
    let header_line = json!({
        "Id": header.id,
        "CreatedAt": header.created_at,
        "Compression": "deflate",
        "Encryption": encryption,
        "Length": length,
    })
    .to_string();
    let payload = match key {
        Some(key) => Cipher::new(key.as_bytes()).seal(header_line.as_bytes(), &compressed),
        None => compressed,
    };
    let mut body = header_line.into_bytes();
    body.push(b'\n');
    body.extend_from_slice(&payload);
    let mut out = format!(
        "{MAGIC} {CONTAINER_VERSION} sha256={}\n",
        hex::encode(Sha256::digest(&body))
    )
    .into_bytes();
    out.extend_from_slice(&body);
    if out.len() as u64 > MAX_FILE_BYTES {
        return Err(Error::runtime(format!(
            "the backup is {} bytes, more than the {MAX_FILE_BYTES} a backup may hold",
            out.len()
        )));
    }
    Ok(out)
}

/// A backup file whose checksum and header were checked, not yet opened.
#[derive(Debug)]
pub(crate) struct Checked<'a> {
    /// The header.
    pub(crate) header: Header,
    header_line: &'a [u8],
    payload: &'a [u8],
}

/// Checks the first line, the checksum and the header of a backup file.
pub(crate) fn check(bytes: &[u8]) -> Result<Checked<'_>> {
    let damaged = |why: &str| Error::runtime(format!("not a valid backup: {why}"));
    let (first, body) = split_line(bytes, 128).ok_or_else(|| damaged("no first line"))?;
    let first = std::str::from_utf8(first).map_err(|_| damaged("the first line is not text"))?;
    let mut words = first.split(' ');
    if words.next() != Some(MAGIC) {
        return Err(damaged("not an awsideman backup file"));
    }
    if words.next() != Some(CONTAINER_VERSION) {
        return Err(damaged(
            "written by a newer awsideman (upgrade awsideman to read it)",
        ));
    }
    let sum = words
        .next()
        .and_then(|w| w.strip_prefix("sha256="))
        .ok_or_else(|| damaged("no checksum"))?;
    if hex::encode(Sha256::digest(body)) != sum {
        return Err(damaged("the checksum does not match (the file is damaged)"));
    }
    let (header_line, payload) =
        split_line(body, MAX_HEADER_BYTES).ok_or_else(|| damaged("no header"))?;
    let header: Value =
        serde_json::from_slice(header_line).map_err(|_| damaged("the header is not JSON"))?;
    let text = |k: &str| header[k].as_str().map(str::to_string);
    if header["Compression"] != "deflate" {
        return Err(damaged("unknown compression"));
    }
    if header["Length"].as_u64() != Some(payload.len() as u64) {
        return Err(damaged("the payload length does not match"));
    }
    let key_id = match &header["Encryption"] {
        Value::Null => None,
        e if e["Scheme"] == SCHEME => Some(
            e["KeyId"]
                .as_str()
                .ok_or_else(|| damaged("no key id"))?
                .to_string(),
        ),
        _ => return Err(damaged("unknown encryption scheme")),
    };
    Ok(Checked {
        header: Header {
            id: text("Id").ok_or_else(|| damaged("no id"))?,
            created_at: text("CreatedAt").unwrap_or_default(),
            key_id,
        },
        header_line,
        payload,
    })
}

impl Checked<'_> {
    /// Opens the payload (with `keys` when sealed) and reads the document.
    pub(crate) fn open(&self, keys: Option<&Keyset>) -> Result<Value> {
        let compressed = match &self.header.key_id {
            None => self.payload.to_vec(),
            Some(id) => {
                let keys = keys.ok_or_else(|| {
                    Error::runtime(
                        "the backup is encrypted and cache encryption has no keys here: set up \
                         the same key source (see 'cache encryption status')",
                    )
                })?;
                let key = keys.get(id).ok_or_else(|| {
                    Error::runtime(format!(
                        "the backup is encrypted with key {id}, which the cache's key source \
                         does not hold (import it with 'cache encryption import-key')"
                    ))
                })?;
                Cipher::new(key.as_bytes())
                    .open(self.header_line, self.payload)
                    .map_err(|e| Error::runtime(format!("the backup cannot be decrypted: {e}")))?
            }
        };
        let json =
            miniz_oxide::inflate::decompress_to_vec_with_limit(&compressed, MAX_DOCUMENT_BYTES)
                .map_err(|_| Error::runtime("the backup does not decompress (damaged)"))?;
        let document: Value = serde_json::from_slice(&json)
            .map_err(|e| Error::runtime(format!("the backup's document is not JSON: {e}")))?;
        check_document(&document, &self.header.id)?;
        Ok(document)
    }
}

/// Checks the document's schema: format, version, id and the members every backup has.
pub(crate) fn check_document(document: &Value, id: &str) -> Result<()> {
    use super::snapshot::{FORMAT, FORMAT_VERSION, Resource};
    let invalid = |why: String| Error::runtime(format!("the backup's document is invalid: {why}"));
    if document["Format"] != FORMAT {
        return Err(invalid("not an awsideman backup document".into()));
    }
    match document["FormatVersion"].as_u64() {
        Some(FORMAT_VERSION) => {}
        Some(v) if v > FORMAT_VERSION => {
            return Err(invalid(format!(
                "format version {v} is newer than this awsideman reads ({FORMAT_VERSION})"
            )));
        }
        _ => return Err(invalid("no format version".into())),
    }
    if document["Id"] != id {
        return Err(invalid("its id is not the header's".into()));
    }
    for member in ["Source", "Counts"] {
        if !document[member].is_object() {
            return Err(invalid(format!("no {member}")));
        }
    }
    for member in ["Accounts", "OrganizationalUnits"] {
        if !document[member].is_array() {
            return Err(invalid(format!("no {member}")));
        }
    }
    let resources = document["Resources"]
        .as_array()
        .ok_or_else(|| invalid("no Resources".into()))?;
    for resource in Resource::ALL {
        let listed = resources.iter().any(|r| r == resource.name());
        if listed != document[resource.member()].is_array() {
            return Err(invalid(format!(
                "Resources and the {} member disagree",
                resource.member()
            )));
        }
    }
    Ok(())
}

/// The line before the first `\n` (at most `max` bytes) and the rest after it.
fn split_line(bytes: &[u8], max: usize) -> Option<(&[u8], &[u8])> {
    let end = bytes.iter().take(max + 1).position(|&b| b == b'\n')?;
    Some((&bytes[..end], &bytes[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::keys::MasterKey;

    fn document(id: &str) -> Value {
        json!({
            "Format": "awsideman-backup", "FormatVersion": 1, "Id": id,
            "CreatedAt": "2026-12-04T06:00:00Z", "Source": {}, "Resources": ["users"],
            "Users": [{"UserName": "alice-secret-name"}], "Accounts": [],
            "OrganizationalUnits": [], "Counts": {"Users": 1},
        })
    }

    fn header(id: &str) -> Header {
        Header {
            id: id.into(),
            created_at: "2026-12-04T06:00:00Z".into(),
            key_id: None,
        }
    }

    #[test]
    fn plain_backups_round_trip_and_every_flipped_byte_is_caught() {
        let bytes = encode(&document("b1"), &header("b1"), None).unwrap();
        let checked = check(&bytes).unwrap();
        assert_eq!(checked.header, header("b1"));
        assert_eq!(checked.open(None).unwrap(), document("b1"));
        for at in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x01;
            assert!(
                check(&flipped).and_then(|c| c.open(None)).is_err(),
                "byte {at} flipped"
            );
        }
    }

    #[test]
    fn sealed_backups_need_the_key_and_show_no_name() {
        let keys = Keyset::single(MasterKey::generate().unwrap());
        let bytes = encode(&document("b2"), &header("b2"), Some(&keys)).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains("alice"));
        let checked = check(&bytes).unwrap();
        assert_eq!(checked.header.key_id.as_deref(), Some(keys.active().id()));
        assert_eq!(checked.open(Some(&keys)).unwrap(), document("b2"));
        assert!(checked.open(None).is_err());
        let other = Keyset::single(MasterKey::generate().unwrap());
        assert!(checked.open(Some(&other)).is_err());
    }

    #[test]
    fn documents_must_match_their_schema() {
        let mut d = document("b3");
        check_document(&d, "b3").unwrap();
        assert!(check_document(&d, "other").is_err());
        d["FormatVersion"] = json!(2);
        assert!(
            check_document(&d, "b3")
                .unwrap_err()
                .to_string()
                .contains("newer")
        );
        let mut d = document("b3");
        d.as_object_mut().unwrap().remove("Users");
        assert!(check_document(&d, "b3").is_err());
    }
}
