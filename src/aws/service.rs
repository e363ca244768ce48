//! The AWS services awsideman speaks to: their signing names, protocols and endpoints.
//!
//! This table is the only place a service's wire details are written down.

/// An AWS service awsideman calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// AWS Identity Store (users, groups, memberships).
    IdentityStore,
    /// IAM Identity Center administration (instances, permission sets, assignments).
    SsoAdmin,
    /// AWS Organizations (roots, OUs, accounts).
    Organizations,
    /// Amazon DynamoDB (the shared cache backend).
    DynamoDb,
    /// AWS KMS (the `kms` cache key source).
    Kms,
    /// AWS STS (assume-role; Query protocol, XML replies).
    Sts,
    /// The IAM Identity Center portal (`GetRoleCredentials`; bearer token, unsigned).
    SsoPortal,
    /// IAM Identity Center OIDC (`CreateToken`, to refresh an SSO token; unsigned).
    SsoOidc,
    /// Amazon S3 (backups; REST protocol, XML replies, payload hash signed).
    S3,
}

impl Service {
    /// Every service, in a stable order.
    pub const ALL: [Service; 9] = [
        Service::IdentityStore,
        Service::SsoAdmin,
        Service::Organizations,
        Service::DynamoDb,
        Service::Kms,
        Service::Sts,
        Service::SsoPortal,
        Service::SsoOidc,
        Service::S3,
    ];

    /// The name used in SigV4 credential scopes.
    pub(crate) fn signing_name(self) -> &'static str {
        match self {
            Service::IdentityStore => "identitystore",
            Service::SsoAdmin => "sso",
            Service::Organizations => "organizations",
            Service::DynamoDb => "dynamodb",
            Service::Kms => "kms",
            Service::Sts => "sts",
            Service::SsoPortal => "awsssoportal",
            Service::SsoOidc => "sso-oauth",
            Service::S3 => "s3",
        }
    }

    /// The `X-Amz-Target` prefix of a JSON-protocol service (`None` for STS and the portal).
    pub(crate) fn target_prefix(self) -> Option<&'static str> {
        match self {
            Service::IdentityStore => Some("AWSIdentityStore"),
            Service::SsoAdmin => Some("SWBExternalService"),
            Service::Organizations => Some("AWSOrganizationsV20161128"),
            Service::DynamoDb => Some("DynamoDB_20120810"),
            Service::Kms => Some("TrentService"),
            Service::Sts | Service::SsoPortal | Service::SsoOidc | Service::S3 => None,
        }
    }

    /// The `Content-Type` of a JSON-protocol request.
    pub(crate) fn json_content_type(self) -> &'static str {
        match self {
            Service::DynamoDb => "application/x-amz-json-1.0",
            _ => "application/x-amz-json-1.1",
        }
    }

    /// The host prefix of the service's endpoint (`{prefix}.{region}.{dns suffix}`).
    pub(crate) fn endpoint_prefix(self) -> &'static str {
        match self {
            Service::IdentityStore => "identitystore",
            Service::SsoAdmin => "sso",
            Service::Organizations => "organizations",
            Service::DynamoDb => "dynamodb",
            Service::Kms => "kms",
            Service::Sts => "sts",
            Service::SsoPortal => "portal.sso",
            Service::SsoOidc => "oidc",
            Service::S3 => "s3",
        }
    }

    /// Whether the service has one endpoint per partition (in the partition's global
    /// region) rather than one per region.
    pub(crate) fn is_global(self) -> bool {
        self == Service::Organizations
    }

    /// Whether a FIPS host in GovCloud carries the `-fips` label. The standard GovCloud
    /// hosts of most services are FIPS validated already, so their rules send FIPS callers
    /// there unless dual-stack is asked for too.
    pub(crate) fn fips_label_in_govcloud(self, dual_stack: bool) -> bool {
        match self {
            Service::Organizations => false,
            Service::Kms => true,
            _ => dual_stack,
        }
    }

    /// The suffix of the service-specific endpoint variable, `AWS_ENDPOINT_URL_<SUFFIX>`.
    pub(crate) fn endpoint_env_suffix(self) -> &'static str {
        match self {
            Service::IdentityStore => "IDENTITYSTORE",
            Service::SsoAdmin => "SSO_ADMIN",
            Service::Organizations => "ORGANIZATIONS",
            Service::DynamoDb => "DYNAMODB",
            Service::Kms => "KMS",
            Service::Sts => "STS",
            Service::SsoPortal => "SSO",
            Service::SsoOidc => "SSO_OIDC",
            Service::S3 => "S3",
        }
    }

    /// The short name users see (`--debug` lines, error messages, IAM actions).
    pub fn name(self) -> &'static str {
        match self {
            Service::IdentityStore => "identitystore",
            Service::SsoAdmin => "sso-admin",
            Service::Organizations => "organizations",
            Service::DynamoDb => "dynamodb",
            Service::Kms => "kms",
            Service::Sts => "sts",
            Service::SsoPortal => "sso",
            Service::SsoOidc => "sso-oidc",
            Service::S3 => "s3",
        }
    }

    /// The IAM action prefix of the service (`sso`, `identitystore`, ...).
    pub(crate) fn iam_prefix(self) -> &'static str {
        match self {
            Service::SsoPortal => "sso",
            other => other.signing_name(),
        }
    }

    /// Whether AWS throttles this service as part of the shared Identity Center budget.
    pub(crate) fn is_identity_center(self) -> bool {
        matches!(self, Service::IdentityStore | Service::SsoAdmin)
    }

    /// The largest `MaxResults` a list operation of this service accepts.
    pub(crate) const fn max_page_size(self) -> Option<u32> {
        match self {
            Service::IdentityStore | Service::SsoAdmin => Some(100),
            Service::Organizations => Some(20),
            _ => None,
        }
    }
}
