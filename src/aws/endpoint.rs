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

/// An AWS partition: the DNS suffixes of its hosts and the home of its global services.
///
/// The rows are the SDKs' partition data (botocore's `partitions.json`); a test compares
/// every service's host in a region of each partition with botocore's endpoint rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Partition {
    /// `aws`, `aws-cn`, `aws-us-gov`, `aws-iso`, ...
    pub(crate) id: &'static str,
    /// Regions named `{prefix}-{word}-{number}` belong here.
    region_prefixes: &'static [&'static str],
    /// `amazonaws.com`, `amazonaws.com.cn`, `c2s.ic.gov`, ...
    pub(crate) dns_suffix: &'static str,
    /// The suffix of dual-stack (IPv4 and IPv6) hosts.
    pub(crate) dual_stack_dns_suffix: &'static str,
    /// Where the partition's global services (Organizations) live.
    pub(crate) global_region: &'static str,
}

/// Every partition; a region matching none belongs to the first (`aws`), as in the SDKs.
const PARTITIONS: [Partition; 8] = [
    Partition {
        id: "aws",
        region_prefixes: &["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"],
        dns_suffix: "amazonaws.com",
        dual_stack_dns_suffix: "api.aws",
        global_region: "us-east-1",
    },
    Partition {
        id: "aws-cn",
        region_prefixes: &["cn"],
        dns_suffix: "amazonaws.com.cn",
        dual_stack_dns_suffix: "api.amazonwebservices.com.cn",
        global_region: "cn-northwest-1",
    },
    Partition {
        id: "aws-eusc",
        region_prefixes: &["eusc-de"],
        dns_suffix: "amazonaws.eu",
        dual_stack_dns_suffix: "api.amazonwebservices.eu",
        global_region: "eusc-de-east-1",
    },
    Partition {
        id: "aws-iso",
        region_prefixes: &["us-iso"],
        dns_suffix: "c2s.ic.gov",
        dual_stack_dns_suffix: "api.aws.ic.gov",
        global_region: "us-iso-east-1",
    },
    Partition {
        id: "aws-iso-b",
        region_prefixes: &["us-isob"],
        dns_suffix: "sc2s.sgov.gov",
        dual_stack_dns_suffix: "api.aws.scloud",
        global_region: "us-isob-east-1",
    },
    Partition {
        id: "aws-iso-e",
        region_prefixes: &["eu-isoe"],
        dns_suffix: "cloud.adc-e.uk",
        dual_stack_dns_suffix: "api.cloud-aws.adc-e.uk",
        global_region: "eu-isoe-west-1",
    },
    Partition {
        id: "aws-iso-f",
        region_prefixes: &["us-isof"],
        dns_suffix: "csp.hci.ic.gov",
        dual_stack_dns_suffix: "api.aws.hci.ic.gov",
        global_region: "us-isof-south-1",
    },
    Partition {
        id: "aws-us-gov",
        region_prefixes: &["us-gov"],
        dns_suffix: "amazonaws.com",
        dual_stack_dns_suffix: "api.aws",
        global_region: "us-gov-west-1",
    },
];

/// The partition a region belongs to: `{partition}-global` names it, else the first whose
/// region pattern (`{prefix}-{word}-{number}`) matches, else `aws`.
pub(crate) fn partition(region: &str) -> Partition {
    let named = PARTITIONS
        .iter()
        .find(|p| region.strip_suffix("-global") == Some(p.id));
    let matching = || {
        PARTITIONS.iter().find(|p| {
            p.region_prefixes.iter().any(|prefix| {
                region
                    .strip_prefix(prefix)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(is_word_dash_number)
            })
        })
    };
    *named.or_else(matching).unwrap_or(&PARTITIONS[0])
}

/// `\w+-\d+`: the end of a region name, `east-1`.
fn is_word_dash_number(rest: &str) -> bool {
    let Some((word, number)) = rest.split_once('-') else {
        return false;
    };
    !word.is_empty()
        && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// Which of a service's standard endpoints to use: FIPS 140 validated, dual-stack, both or
/// neither. `AWS_USE_FIPS_ENDPOINT` / `AWS_USE_DUALSTACK_ENDPOINT`, else the AWS profile's
/// `use_fips_endpoint` / `use_dualstack_endpoint`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Variant {
    /// Use the FIPS endpoint.
    pub(crate) fips: bool,
    /// Use the dual-stack endpoint.
    pub(crate) dual_stack: bool,
}

impl Variant {
    /// Reads the variant from the environment, else from the AWS profile (`profile` looks
    /// a key up in it). A value other than true or false is a configuration error: a typo
    /// must not silently send a FIPS user to a non-FIPS endpoint.
    pub(crate) fn configured(env: &Env, profile: ProfileLookup<'_>) -> Result<Variant> {
        let flag = |var: &str, key: &str| -> Result<bool> {
            let (source, value) = match env.get(var) {
                Some(value) => (var.to_string(), Some(value.to_string())),
                None => (format!("AWS profile key {key}"), profile(key)?),
            };
            match value.as_deref().map(|v| v.trim().to_ascii_lowercase()) {
                None => Ok(false),
                Some(v) if v == "true" => Ok(true),
                Some(v) if v == "false" || v.is_empty() => Ok(false),
                Some(_) => Err(Error::config(format!(
                    "{source}: expected true or false, got {:?}",
                    value.unwrap_or_default()
                ))),
            }
        };
        Ok(Variant {
            fips: flag("AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint")?,
            dual_stack: flag("AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint")?,
        })
    }
}

/// Looks a key up in the AWS profile a call is made for (`endpoint_url`,
/// `use_fips_endpoint`, ...). Called only for the keys a resolution needs.
pub(crate) type ProfileLookup<'a> = &'a dyn Fn(&str) -> Result<Option<String>>;

/// A lookup for calls made without an AWS profile.
pub fn no_profile(_: &str) -> Result<Option<String>> {
    Ok(None)
}

/// The standard host of `service` in `region` and the region it is signed for, following
/// the services' endpoint rules.
pub(crate) fn standard_host(service: Service, region: &str, variant: Variant) -> (String, String) {
    let partition = partition(region);
    if service == Service::Sts && region == "aws-global" && variant == Variant::default() {
        return ("sts.amazonaws.com".into(), "us-east-1".into());
    }
    if service == Service::S3 {
        return s3_host(partition, region, variant);
    }
    let region = if service.is_global() {
        partition.global_region
    } else {
        region
    };
    let suffix = if variant.dual_stack {
        partition.dual_stack_dns_suffix
    } else {
        partition.dns_suffix
    };
    let fips = variant.fips
        && (partition.id != "aws-us-gov" || service.fips_label_in_govcloud(variant.dual_stack));
    let label = if fips { "-fips" } else { "" };
    (
        format!("{}{label}.{region}.{suffix}", service.endpoint_prefix()),
        region.to_string(),
    )
}

/// S3's hosts: `s3[-fips][.dualstack].{region}.{dns suffix}` (dual-stack keeps the
/// partition's usual suffix, unlike other services), and `s3.amazonaws.com` for the
/// `aws-global` pseudo-region.
fn s3_host(partition: Partition, region: &str, variant: Variant) -> (String, String) {
    if region == "aws-global" {
        if variant == Variant::default() {
            return ("s3.amazonaws.com".into(), "us-east-1".into());
        }
        return s3_host(partition, "us-east-1", variant);
    }
    let fips = if variant.fips { "-fips" } else { "" };
    let dual = if variant.dual_stack { ".dualstack" } else { "" };
    (
        format!("s3{fips}{dual}.{region}.{}", partition.dns_suffix),
        region.to_string(),
    )
}

/// Checks that a region is a plausible region name (it becomes part of a host name).
pub(crate) fn validate_region(region: &str) -> Result<()> {
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
/// `profile` looks keys up in the AWS profile the call is made for (`endpoint_url`,
/// `use_fips_endpoint`, `use_dualstack_endpoint`). A configured endpoint URL wins over the
/// FIPS and dual-stack settings.
pub fn resolve(
    service: Service,
    region: &str,
    env: &Env,
    profile: ProfileLookup<'_>,
) -> Result<Endpoint> {
    validate_region(region)?;
    if !env.is_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") {
        let specific = format!("AWS_ENDPOINT_URL_{}", service.endpoint_env_suffix());
        let configured = env
            .get(&specific)
            .map(|url| (specific.as_str(), url))
            .or_else(|| {
                env.get("AWS_ENDPOINT_URL")
                    .map(|url| ("AWS_ENDPOINT_URL", url))
            })
            .map(|(source, url)| (source.to_string(), url.to_string()));
        let configured = match configured {
            Some(found) => Some(found),
            None => profile("endpoint_url")?.map(|url| ("endpoint_url".to_string(), url)),
        };
        if let Some((source, url)) = configured {
            let signing_region = if service.is_global() {
                partition(region).global_region.to_string()
            } else {
                region.to_string()
            };
            return Ok(Endpoint {
                url: normalize_url(&source, &url)?,
                signing_region,
            });
        }
    }
    let variant = Variant::configured(env, profile)?;
    if service == Service::S3 && variant.fips && partition(region).id == "aws-cn" {
        return Err(Error::config(
            "S3 has no FIPS endpoints in the China regions: turn off use_fips_endpoint              (AWS_USE_FIPS_ENDPOINT) for backups there",
        ));
    }
    let (host, signing_region) = standard_host(service, region, variant);
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

    fn profile<'a>(
        pairs: &'a [(&'a str, &'a str)],
    ) -> impl Fn(&str) -> Result<Option<String>> + 'a {
        move |key| {
            Ok(pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string()))
        }
    }

    fn host(service: Service, region: &str, vars: &[(&str, &str)]) -> (String, String) {
        let e = resolve(service, region, &env(vars), &no_profile).unwrap();
        (e.url, e.signing_region)
    }

    #[test]
    fn every_partition_has_its_hosts() {
        let cases = [
            ("us-iso-east-1", "https://sso.us-iso-east-1.c2s.ic.gov"),
            ("us-isob-east-1", "https://sso.us-isob-east-1.sc2s.sgov.gov"),
            (
                "eu-isoe-west-1",
                "https://sso.eu-isoe-west-1.cloud.adc-e.uk",
            ),
            (
                "us-isof-south-1",
                "https://sso.us-isof-south-1.csp.hci.ic.gov",
            ),
            ("eusc-de-east-1", "https://sso.eusc-de-east-1.amazonaws.eu"),
            ("mx-central-1", "https://sso.mx-central-1.amazonaws.com"),
            ("xx-east-1", "https://sso.xx-east-1.amazonaws.com"),
        ];
        for (region, url) in cases {
            assert_eq!(host(Service::SsoAdmin, region, &[]).0, url);
        }
        assert_eq!(
            host(Service::Organizations, "us-isof-south-1", &[]),
            (
                "https://organizations.us-isof-south-1.csp.hci.ic.gov".into(),
                "us-isof-south-1".into()
            )
        );
        assert_eq!(
            host(Service::Organizations, "aws-cn-global", &[]).0,
            "https://organizations.cn-northwest-1.amazonaws.com.cn"
        );
        assert_eq!(partition("us-gov-west-1").id, "aws-us-gov");
        assert_eq!(partition("us-iso-west-1").id, "aws-iso");
        assert_eq!(partition("aws-iso-b-global").id, "aws-iso-b");
        assert_eq!(partition("us-gov-west").id, "aws");
    }

    #[test]
    fn fips_and_dual_stack() {
        let fips = [("AWS_USE_FIPS_ENDPOINT", "true")];
        let dual = [("AWS_USE_DUALSTACK_ENDPOINT", "TRUE")];
        let both = [fips[0], dual[0]];
        assert_eq!(
            host(Service::IdentityStore, "us-east-1", &fips).0,
            "https://identitystore-fips.us-east-1.amazonaws.com"
        );
        assert_eq!(
            host(Service::SsoAdmin, "eu-west-1", &dual).0,
            "https://sso.eu-west-1.api.aws"
        );
        assert_eq!(
            host(Service::SsoPortal, "cn-north-1", &both).0,
            "https://portal.sso-fips.cn-north-1.api.amazonwebservices.com.cn"
        );
        // GovCloud's standard hosts are FIPS validated: most services keep them.
        assert_eq!(
            host(Service::Sts, "us-gov-west-1", &fips).0,
            "https://sts.us-gov-west-1.amazonaws.com"
        );
        assert_eq!(
            host(Service::Sts, "us-gov-west-1", &both).0,
            "https://sts-fips.us-gov-west-1.api.aws"
        );
        assert_eq!(
            host(Service::Kms, "us-gov-east-1", &fips).0,
            "https://kms-fips.us-gov-east-1.amazonaws.com"
        );
        assert_eq!(
            host(Service::Organizations, "us-gov-east-1", &both),
            (
                "https://organizations.us-gov-west-1.api.aws".into(),
                "us-gov-west-1".into()
            )
        );
        assert_eq!(
            host(Service::Organizations, "eu-west-1", &fips).0,
            "https://organizations-fips.us-east-1.amazonaws.com"
        );
        assert_eq!(
            host(Service::SsoOidc, "us-west-2", &fips).0,
            "https://oidc-fips.us-west-2.amazonaws.com"
        );
    }

    #[test]
    fn variant_from_environment_then_profile() {
        let yes = profile(&[
            ("use_fips_endpoint", "true"),
            ("use_dualstack_endpoint", "true"),
        ]);
        let v = Variant::configured(&env(&[]), &yes).unwrap();
        assert_eq!(
            v,
            Variant {
                fips: true,
                dual_stack: true
            }
        );
        let off = env(&[("AWS_USE_FIPS_ENDPOINT", "false")]);
        let v = Variant::configured(&off, &yes).unwrap();
        assert_eq!(
            v,
            Variant {
                fips: false,
                dual_stack: true
            }
        );
        let typo = env(&[("AWS_USE_FIPS_ENDPOINT", "ture")]);
        let err = Variant::configured(&typo, &no_profile).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("AWS_USE_FIPS_ENDPOINT"), "{err}");
        let bad = profile(&[("use_dualstack_endpoint", "1")]);
        let err = Variant::configured(&env(&[]), &bad).unwrap_err();
        assert!(err.to_string().contains("use_dualstack_endpoint"), "{err}");
        // A configured endpoint wins over FIPS (emulators, proxies).
        let vars = env(&[
            ("AWS_USE_FIPS_ENDPOINT", "true"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ]);
        let e = resolve(Service::Kms, "us-east-1", &vars, &no_profile).unwrap();
        assert_eq!(e.url, "http://127.0.0.1:5000");
    }

    #[test]
    fn standard_endpoints_per_partition() {
        let e = resolve(Service::IdentityStore, "eu-west-1", &env(&[]), &no_profile).unwrap();
        assert_eq!(e.url, "https://identitystore.eu-west-1.amazonaws.com");
        assert_eq!(e.signing_region, "eu-west-1");
        let e = resolve(Service::SsoAdmin, "cn-north-1", &env(&[]), &no_profile).unwrap();
        assert_eq!(e.url, "https://sso.cn-north-1.amazonaws.com.cn");
        let e = resolve(Service::Organizations, "eu-west-1", &env(&[]), &no_profile).unwrap();
        assert_eq!(e.url, "https://organizations.us-east-1.amazonaws.com");
        assert_eq!(e.signing_region, "us-east-1");
        let e = resolve(
            Service::Organizations,
            "us-gov-east-1",
            &env(&[]),
            &no_profile,
        )
        .unwrap();
        assert_eq!(e.url, "https://organizations.us-gov-west-1.amazonaws.com");
        assert_eq!(e.signing_region, "us-gov-west-1");
    }

    #[test]
    fn override_order() {
        let vars = env(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000/"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"),
        ]);
        let e = resolve(
            Service::DynamoDb,
            "us-east-1",
            &vars,
            &profile(&[("endpoint_url", "http://p")]),
        )
        .unwrap();
        assert_eq!(e.url, "http://127.0.0.1:8000");
        let e = resolve(
            Service::SsoAdmin,
            "us-east-1",
            &vars,
            &profile(&[("endpoint_url", "http://p")]),
        )
        .unwrap();
        assert_eq!(e.url, "http://127.0.0.1:5000");
        let e = resolve(
            Service::SsoAdmin,
            "us-east-1",
            &env(&[]),
            &profile(&[("endpoint_url", "http://p:1")]),
        )
        .unwrap();
        assert_eq!(e.url, "http://p:1");
        let ignored = env(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ]);
        let e = resolve(Service::SsoAdmin, "us-east-1", &ignored, &no_profile).unwrap();
        assert_eq!(e.url, "https://sso.us-east-1.amazonaws.com");
    }

    #[test]
    fn service_specific_variable_names() {
        let vars = env(&[("AWS_ENDPOINT_URL_SSO_ADMIN", "http://localhost:1")]);
        let e = resolve(Service::SsoAdmin, "us-east-1", &vars, &no_profile).unwrap();
        assert_eq!(e.url, "http://localhost:1");
        let e = resolve(Service::IdentityStore, "us-east-1", &vars, &no_profile).unwrap();
        assert!(e.url.starts_with("https://identitystore."));
    }

    #[test]
    fn rejects_bad_regions_and_urls() {
        assert!(resolve(Service::Kms, "us-east-1.evil.com/", &env(&[]), &no_profile).is_err());
        assert!(resolve(Service::Kms, "", &env(&[]), &no_profile).is_err());
        let bad = env(&[("AWS_ENDPOINT_URL", "localhost:5000")]);
        let err = resolve(Service::Kms, "us-east-1", &bad, &no_profile).unwrap_err();
        assert!(err.to_string().contains("AWS_ENDPOINT_URL"));
        assert_eq!(err.exit_code(), 2);
    }
}
