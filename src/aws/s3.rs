//! Amazon S3 requests, in the transport's REST form: how a bucket is addressed, the requests
//! of the four object operations awsideman uses (PutObject, GetObject, ListObjectsV2,
//! DeleteObject) and the reading of a ListObjectsV2 page.
//!
//! Addressing: virtual-hosted (`bucket.s3.region.amazonaws.com/key`) on AWS's own hosts;
//! path style (`endpoint/bucket/key`) with a configured endpoint URL (`AWS_ENDPOINT_URL_S3`,
//! `AWS_ENDPOINT_URL`, `endpoint_url`: emulators rarely resolve bucket host names) and for
//! bucket names with dots (TLS certificates cover one label). `AWSIDEMAN_S3_ADDRESSING`
//! (`path` or `virtual`) overrides the choice.

use super::endpoint::{self, Endpoint, Variant};
use super::service::Service;
use super::transport::RestRequest;
use super::xml;
use crate::env::Env;
use crate::error::{Error, Result};

/// The most keys one listing returns before awsideman stops paging (1000 pages of 1000).
pub(crate) const MAX_PAGES: usize = 1000;

/// How a bucket is named in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Addressing {
    /// The bucket is the first label of the host.
    Virtual,
    /// The bucket is the first segment of the path.
    Path,
}

impl Addressing {
    /// The addressing of `bucket` at `endpoint` (see the module docs).
    pub(crate) fn choose(
        env: &Env,
        endpoint: &Endpoint,
        region: &str,
        bucket: &str,
    ) -> Result<Addressing> {
        match env.get("AWSIDEMAN_S3_ADDRESSING").map(str::trim) {
            Some("path") => return Ok(Addressing::Path),
            Some("virtual") => return Ok(Addressing::Virtual),
            Some(other) => {
                return Err(Error::config(format!(
                    "AWSIDEMAN_S3_ADDRESSING: {other:?} is neither path nor virtual"
                )));
            }
            None => {}
        }
        let on_aws = [false, true].iter().any(|&fips| {
            [false, true].iter().any(|&dual_stack| {
                let (host, _) =
                    endpoint::standard_host(Service::S3, region, Variant { fips, dual_stack });
                endpoint.url == format!("https://{host}")
            })
        });
        Ok(if on_aws && !bucket.contains('.') {
            Addressing::Virtual
        } else {
            Addressing::Path
        })
    }
}

/// Checks a bucket name: 3 to 63 lower-case letters, digits, dots and hyphens.
pub(crate) fn validate_bucket(bucket: &str) -> Result<()> {
    let ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && bucket
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "invalid S3 bucket name {bucket:?}: 3 to 63 lower-case letters, digits, dots and \
             hyphens"
        )))
    }
}

/// A request for `key` in `bucket` (the bucket itself when `key` is empty).
fn object(method: &'static str, addressing: Addressing, bucket: &str, key: &str) -> RestRequest {
    let mut request = RestRequest::new(method);
    match addressing {
        Addressing::Virtual => request.host_label = Some(bucket.to_string()),
        Addressing::Path => request.path.push(bucket.to_string()),
    }
    if !key.is_empty() {
        request.path.push(key.to_string());
    }
    request
}

/// PutObject of `body` at `key`, never replacing an object already there (`If-None-Match`).
pub(crate) fn put_object(
    addressing: Addressing,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
) -> RestRequest {
    let mut request = object("PUT", addressing, bucket, key);
    request
        .headers
        .push(("content-type".into(), "application/octet-stream".into()));
    request.headers.push(("if-none-match".into(), "*".into()));
    request.body = body;
    request
}

/// GetObject of `key`.
pub(crate) fn get_object(addressing: Addressing, bucket: &str, key: &str) -> RestRequest {
    object("GET", addressing, bucket, key)
}

/// DeleteObject of `key`.
pub(crate) fn delete_object(addressing: Addressing, bucket: &str, key: &str) -> RestRequest {
    object("DELETE", addressing, bucket, key)
}

/// One ListObjectsV2 page of the keys under `prefix`, after `token` when given.
pub(crate) fn list_objects(
    addressing: Addressing,
    bucket: &str,
    prefix: &str,
    token: Option<&str>,
) -> RestRequest {
    let mut request = object("GET", addressing, bucket, "");
    request.query.push(("list-type".into(), "2".into()));
    request.query.push(("prefix".into(), prefix.into()));
    if let Some(token) = token {
        request
            .query
            .push(("continuation-token".into(), token.into()));
    }
    request
}

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListedObject {
    /// Its key.
    pub(crate) key: String,
    /// Its size in bytes.
    pub(crate) size: u64,
    /// When it was last written (ISO 8601, as S3 says it).
    pub(crate) last_modified: String,
}

/// A ListObjectsV2 page: its objects and the token of the next page, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListedPage {
    /// The objects of the page.
    pub(crate) objects: Vec<ListedObject>,
    /// The continuation token when the listing is truncated.
    pub(crate) next: Option<String>,
}

/// Reads a ListObjectsV2 reply body.
pub(crate) fn read_listing(body: &[u8]) -> Result<ListedPage> {
    let text = std::str::from_utf8(body)
        .map_err(|_| Error::runtime("s3 ListObjectsV2: the reply is not UTF-8"))?;
    if !text.contains("<ListBucketResult") {
        return Err(Error::runtime(
            "s3 ListObjectsV2: the reply is not a bucket listing",
        ));
    }
    let mut objects = Vec::new();
    for contents in xml::raw_elements(text, "Contents") {
        let key = xml::first(contents, "Key")
            .ok_or_else(|| Error::runtime("s3 ListObjectsV2: an object without a key"))?;
        let size = xml::first(contents, "Size")
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        let last_modified = xml::first(contents, "LastModified").unwrap_or_default();
        objects.push(ListedObject {
            key,
            size,
            last_modified,
        });
    }
    let truncated = xml::first(text, "IsTruncated").is_some_and(|t| t.trim() == "true");
    let next = xml::first(text, "NextContinuationToken").filter(|t| !t.is_empty());
    if truncated && next.is_none() {
        return Err(Error::runtime(
            "s3 ListObjectsV2: a truncated listing without a continuation token",
        ));
    }
    Ok(ListedPage {
        objects,
        next: next.filter(|_| truncated),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(url: &str) -> Endpoint {
        Endpoint {
            url: url.into(),
            signing_region: "eu-west-1".into(),
        }
    }

    #[test]
    fn addressing_follows_the_endpoint_and_the_override() {
        let env = Env::from_pairs([("X", "1")]);
        let aws = endpoint("https://s3.eu-west-1.amazonaws.com");
        let choose = |env: &Env, e: &Endpoint, bucket| {
            Addressing::choose(env, e, "eu-west-1", bucket).unwrap()
        };
        assert_eq!(choose(&env, &aws, "backups"), Addressing::Virtual);
        assert_eq!(choose(&env, &aws, "my.backups"), Addressing::Path);
        let fips = endpoint("https://s3-fips.dualstack.eu-west-1.amazonaws.com");
        assert_eq!(choose(&env, &fips, "backups"), Addressing::Virtual);
        let moto = endpoint("http://127.0.0.1:5000");
        assert_eq!(choose(&env, &moto, "backups"), Addressing::Path);
        let forced = Env::from_pairs([("AWSIDEMAN_S3_ADDRESSING", "virtual")]);
        assert_eq!(choose(&forced, &moto, "backups"), Addressing::Virtual);
        let bad = Env::from_pairs([("AWSIDEMAN_S3_ADDRESSING", "dns")]);
        assert!(Addressing::choose(&bad, &moto, "eu-west-1", "b").is_err());
    }

    #[test]
    fn bucket_names() {
        for ok in ["abc", "my-backups.example", "a1b"] {
            validate_bucket(ok).unwrap();
        }
        for bad in ["ab", "Backups", "-x-bucket", "a/b", "b_c", &"x".repeat(64)] {
            assert!(validate_bucket(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn listings_are_read_and_checked() {
        let page = read_listing(
            b"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>p/a.bak</Key>\
              <Size>12</Size><LastModified>2026-12-04T06:00:00.000Z</LastModified></Contents>\
              </ListBucketResult>",
        )
        .unwrap();
        assert_eq!(
            page.objects,
            vec![ListedObject {
                key: "p/a.bak".into(),
                size: 12,
                last_modified: "2026-12-04T06:00:00.000Z".into()
            }]
        );
        assert_eq!(page.next, None);
        assert!(read_listing(b"<Error/>").is_err());
        assert!(
            read_listing(b"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>")
                .is_err()
        );
    }
}
