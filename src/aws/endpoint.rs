//! Where a request goes: the endpoint URL and the region it is signed for.
//!
//! Order, as in the AWS SDKs: `AWS_ENDPOINT_URL_<SERVICE>` > `AWS_ENDPOINT_URL` > the AWS
//! profile's `endpoint_url` > the partition's standard endpoint. Setting
//! `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` ignores all the configured ones.

use super::service::Service;
use crate::env::Env;
use crate::error::{Error, Result};

/// A resolved endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Scheme, host, optional port and optional base path, without a trailing slash.
    pub url: String,
    /// The region the request is signed for.
    pub signing_region: String,
}

/// An AWS partition: its DNS suffix and the home region of its global services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub name: &'static str,
    /// `amazonaws.com` or `amazonaws.com.cn`.
    pub dns_suffix: &'static str,
    /// Where Organizations lives in this partition.
    pub global_region: &'static str,
}

/// The partition a region belongs to.
pub fn partition(region: &str) -> Partition {
    if region.starts_with("cn-") {
        Partition {
            name: "aws-cn",
            dns_suffix: "amazonaws.com.cn",
            global_region: "cn-northwest-1",
        }
    } else if region.starts_with("us-gov-") {
        Partition {
            name: "aws-us-gov",
            dns_suffix: "amazonaws.com",
            global_region: "us-gov-west-1",
        }
    } else {
        Partition {
            name: "aws",
            dns_suffix: "amazonaws.com",
            global_region: "us-east-1",
        }
    }
}

/// Checks that a region is a plausible region name (it becomes part of a host name).
pub fn validate_region(region: &str) -> Result<()> {
    let ok = !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !region.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::config(format!(
            "invalid region {region:?}: expected a region name such as us-east-1"
        )))
    }
}

/// Resolves the endpoint of `service` in `region`.
///
/// `profile_endpoint_url` is the AWS profile's `endpoint_url`, if any.
pub fn resolve(
    service: Service,
    region: &str,
    env: &Env,
    profile_endpoint_url: Option<&str>,
) -> Result<Endpoint> {
    validate_region(region)?;
    let partition = partition(region);
    let signing_region = if service == Service::Organizations {
        partition.global_region.to_string()
    } else {
        region.to_string()
    };
    if !env.is_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") {
        let specific = format!("AWS_ENDPOINT_URL_{}", service.endpoint_env_suffix());
        let configured = env
            .get(&specific)
            .map(|url| (specific.as_str(), url))
            .or_else(|| {
                env.get("AWS_ENDPOINT_URL")
                    .map(|url| ("AWS_ENDPOINT_URL", url))
            })
            .or_else(|| profile_endpoint_url.map(|url| ("endpoint_url", url)));
        if let Some((source, url)) = configured {
            return Ok(Endpoint {
                url: normalize_url(source, url)?,
                signing_region,
            });
        }
    }
    let host = match service {
        Service::Organizations => format!(
            "organizations.{}.{}",
            partition.global_region, partition.dns_suffix
        ),
        other => format!(
            "{}.{region}.{}",
            other.endpoint_prefix(),
            partition.dns_suffix
        ),
    };
    Ok(Endpoint {
        url: format!("https://{host}"),
        signing_region,
    })
}

fn normalize_url(source: &str, url: &str) -> Result<String> {
    let url = url.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Ok(url.to_string()),
        _ => Err(Error::config(crate::redact::userinfo(&format!(
            "{source}: invalid endpoint URL {url:?} (expected http://host[:port] or https://host)"
        )))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn standard_endpoints_per_partition() {
        let e = resolve(Service::IdentityStore, "eu-west-1", &env(&[]), None).unwrap();
        assert_eq!(e.url, "https://identitystore.eu-west-1.amazonaws.com");
        assert_eq!(e.signing_region, "eu-west-1");
        let e = resolve(Service::SsoAdmin, "cn-north-1", &env(&[]), None).unwrap();
        assert_eq!(e.url, "https://sso.cn-north-1.amazonaws.com.cn");
        let e = resolve(Service::Organizations, "eu-west-1", &env(&[]), None).unwrap();
        assert_eq!(e.url, "https://organizations.us-east-1.amazonaws.com");
        assert_eq!(e.signing_region, "us-east-1");
        let e = resolve(Service::Organizations, "us-gov-east-1", &env(&[]), None).unwrap();
        assert_eq!(e.url, "https://organizations.us-gov-west-1.amazonaws.com");
        assert_eq!(e.signing_region, "us-gov-west-1");
    }

    #[test]
    fn override_order() {
        let vars = env(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000/"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"),
        ]);
        let e = resolve(Service::DynamoDb, "us-east-1", &vars, Some("http://p")).unwrap();
        assert_eq!(e.url, "http://127.0.0.1:8000");
        let e = resolve(Service::SsoAdmin, "us-east-1", &vars, Some("http://p")).unwrap();
        assert_eq!(e.url, "http://127.0.0.1:5000");
        let e = resolve(
            Service::SsoAdmin,
            "us-east-1",
            &env(&[]),
            Some("http://p:1"),
        )
        .unwrap();
        assert_eq!(e.url, "http://p:1");
        let ignored = env(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ]);
        let e = resolve(Service::SsoAdmin, "us-east-1", &ignored, None).unwrap();
        assert_eq!(e.url, "https://sso.us-east-1.amazonaws.com");
    }

    #[test]
    fn service_specific_variable_names() {
        let vars = env(&[("AWS_ENDPOINT_URL_SSO_ADMIN", "http://localhost:1")]);
        let e = resolve(Service::SsoAdmin, "us-east-1", &vars, None).unwrap();
        assert_eq!(e.url, "http://localhost:1");
        let e = resolve(Service::IdentityStore, "us-east-1", &vars, None).unwrap();
        assert!(e.url.starts_with("https://identitystore."));
    }

    #[test]
    fn rejects_bad_regions_and_urls() {
        assert!(resolve(Service::Kms, "us-east-1.evil.com/", &env(&[]), None).is_err());
        assert!(resolve(Service::Kms, "", &env(&[]), None).is_err());
        let bad = env(&[("AWS_ENDPOINT_URL", "localhost:5000")]);
        let err = resolve(Service::Kms, "us-east-1", &bad, None).unwrap_err();
        assert!(err.to_string().contains("AWS_ENDPOINT_URL"));
        assert_eq!(err.exit_code(), 2);
    }
}
