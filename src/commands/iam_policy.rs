//! `iam-policy read-only|admin|cache-dynamodb|kms|backup`: the least-privilege IAM policy each
//! use of awsideman needs.
//!
//! Every action comes from a table the code itself calls AWS through: the operation table
//! ([`crate::client::OPERATIONS`]), the DynamoDB backend's operations
//! ([`crate::cache::dynamodb::dynamodb_iam_actions`]) and the kms key source's
//! [`KMS_OPERATIONS`]. Nothing here is a hand-kept list of actions, so a new
//! operation shows up in the policies the moment it is added. This module never talks to AWS.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::Context;
use crate::aws::endpoint::partition;
use crate::aws::service::Service;
use crate::cache::dynamodb::dynamodb_iam_actions;
use crate::cache::keys::KMS_OPERATIONS;
use crate::client::{OPERATIONS, OpKind, Operation};
use crate::commands::args::Matches;
use crate::error::{Error, Result};
use crate::output::Report;

/// The services Identity Center management calls (the `read-only` and `admin` policies).
pub(crate) const IDENTITY_CENTER_SERVICES: &[Service] = &[
    Service::IdentityStore,
    Service::SsoAdmin,
    Service::Organizations,
];

/// Requests AWS authorizes with a second action besides their operation's own: the
/// operation, the request member that brings it in, and the operation whose action it also
/// needs (CreatePermissionSet with `Tags`, as `permission-set clone` and a restore send it,
/// is also authorized as sso:TagResource). The needed operations are rows of the table, so
/// the admin policy has them.
pub(crate) const ALSO_AUTHORIZED_AS: &[(&Operation, &str, &Operation)] = &[(
    &crate::client::CREATE_PERMISSION_SET,
    "Tags",
    &crate::client::TAG_RESOURCE,
)];

/// The IAM actions of the operation-table rows of [`IDENTITY_CENTER_SERVICES`] that `keep`
/// accepts, sorted and without duplicates.
fn table_actions(keep: impl Fn(OpKind) -> bool) -> Vec<String> {
    let actions: BTreeSet<String> = OPERATIONS
        .iter()
        .filter(|op| IDENTITY_CENTER_SERVICES.contains(&op.service) && keep(op.kind))
        .map(|op| op.iam_action())
        .collect();
    actions.into_iter().collect()
}

/// The actions of read-only browsing: every read and status operation of the table.
pub(crate) fn read_only_actions() -> Vec<String> {
    table_actions(|kind| matches!(kind, OpKind::Read | OpKind::Status))
}

/// The actions of full management: every operation of the table, reads and writes, and
/// what those requests are also authorized as ([`ALSO_AUTHORIZED_AS`]).
pub(crate) fn admin_actions() -> Vec<String> {
    let mut actions = table_actions(|_| true);
    actions.extend(
        ALSO_AUTHORIZED_AS
            .iter()
            .map(|(_, _, needs)| needs.iam_action()),
    );
    actions.sort();
    actions.dedup();
    actions
}

/// The actions of the DynamoDB cache backend.
pub(crate) fn dynamodb_actions() -> Vec<String> {
    prefixed(Service::DynamoDb, &dynamodb_iam_actions())
}

/// The actions of the kms key source.
pub(crate) fn kms_actions() -> Vec<String> {
    prefixed(Service::Kms, KMS_OPERATIONS)
}

fn prefixed(service: Service, operations: &[&str]) -> Vec<String> {
    let actions: BTreeSet<String> = operations
        .iter()
        .map(|op| format!("{}:{op}", service.iam_prefix()))
        .collect();
    actions.into_iter().collect()
}

/// The S3 actions of backups (the operation table's S3 rows): those on the bucket itself
/// (listing) and those on its objects.
pub(crate) fn backup_actions() -> (Vec<String>, Vec<String>) {
    let mut bucket = BTreeSet::new();
    let mut objects = BTreeSet::new();
    for op in OPERATIONS.iter().filter(|op| op.service == Service::S3) {
        if op.name.starts_with("List") {
            bucket.insert(op.iam_action());
        } else {
            objects.insert(op.iam_action());
        }
    }
    (bucket.into_iter().collect(), objects.into_iter().collect())
}

/// The backup policy of `bucket` and key `prefix` (empty or ending in `/`) in the partition
/// of `region`: listing the bucket (only under the prefix) and reading, writing and deleting
/// the objects under the prefix.
pub(crate) fn backup_policy(region: &str, bucket: &str, prefix: &str) -> Value {
    let partition = partition(region).id;
    let (list, objects) = backup_actions();
    let mut listing = json!({
        "Sid": "AwsidemanBackupList",
        "Effect": "Allow",
        "Action": list,
        "Resource": format!("arn:{partition}:s3:::{bucket}"),
    });
    if !prefix.is_empty() {
        listing["Condition"] = json!({"StringLike": {"s3:prefix": format!("{prefix}*")}});
    }
    json!({
        "Version": "2012-10-17",
        "Statement": [
            listing,
            {
                "Sid": "AwsidemanBackupObjects",
                "Effect": "Allow",
                "Action": objects,
                "Resource": format!("arn:{partition}:s3:::{bucket}/{prefix}*"),
            },
        ],
    })
}

/// A policy document of one statement allowing `actions` on `resource`.
pub(crate) fn policy(sid: &str, actions: &[String], resource: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": sid,
            "Effect": "Allow",
            "Action": actions,
            "Resource": resource,
        }],
    })
}

/// The ARN of DynamoDB table `table` in `region` of `account` (`*` for any account).
pub(crate) fn table_arn(region: &str, account: &str, table: &str) -> String {
    format!(
        "arn:{}:dynamodb:{region}:{account}:table/{table}",
        partition(region).id
    )
}

/// The resource of the kms policy: the configured key when it is a key ARN, else every key of
/// the region and account, with a note saying why.
pub(crate) fn kms_resource(
    key_id: Option<&str>,
    region: &str,
    account: &str,
) -> (String, Option<String>) {
    if let Some(id) = key_id
        && id.starts_with("arn:")
        && id.contains(":key/")
    {
        return (id.to_string(), None);
    }
    let any_key = format!("arn:{}:kms:{region}:{account}:key/*", partition(region).id);
    let note = match key_id {
        Some(id) => format!(
            "cache.encryption_kms_key_id is \"{id}\", not a key ARN (IAM matches KMS keys by \
             key ARN, never by alias or bare id): the policy allows every key in {region}; \
             replace the resource with the key's ARN (aws kms describe-key --key-id {id})"
        ),
        None => format!(
            "cache.encryption_kms_key_id is not set: the policy allows every key in {region}; \
             replace the resource with the key's ARN"
        ),
    };
    (any_key, Some(note))
}

/// The `--account` flag: a 12-digit account id, or `*` when not given.
fn account(m: &Matches) -> Result<String> {
    match m.value("account") {
        None => Ok("*".to_string()),
        Some(id) if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) => Ok(id.to_string()),
        Some(other) => Err(Error::usage(format!(
            "--account: invalid value \"{other}\" (expected a 12-digit AWS account id)"
        ))),
    }
}

/// The region of the cache's AWS resources: `cache.dynamodb_region` for the table (when
/// `for_table`), else `--region`, the awsideman profile's region or the AWS profile's.
fn region(ctx: &Context, for_table: bool) -> Result<String> {
    let settings = ctx.cache_settings()?;
    let (aws_profile, region) = if for_table {
        (
            settings.dynamodb_profile.as_deref(),
            settings.dynamodb_region.as_deref(),
        )
    } else {
        (None, None)
    };
    ctx.build_session_with(aws_profile, region, |t| t)?.region()
}

/// The report of a policy: JSON output is the document itself; table and text output print
/// it indented, ready to paste.
fn report(document: Value) -> Result<Report> {
    let pretty = serde_json::to_string_pretty(&document)
        .map_err(|e| Error::runtime(format!("printing the policy: {e}")))?;
    Ok(Report::message(document, pretty))
}

/// `iam-policy read-only`.
pub(crate) fn read_only(_ctx: &mut Context, _m: &Matches) -> Result<Report> {
    report(policy("AwsidemanReadOnly", &read_only_actions(), "*"))
}

/// `iam-policy admin`.
pub(crate) fn admin(_ctx: &mut Context, _m: &Matches) -> Result<Report> {
    report(policy("AwsidemanAdmin", &admin_actions(), "*"))
}

/// `iam-policy cache-dynamodb`.
pub(crate) fn cache_dynamodb(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let account = account(m)?;
    let settings = ctx.cache_settings()?;
    let region = region(ctx, true)?;
    let arn = table_arn(&region, &account, &settings.dynamodb_table_name);
    report(policy("AwsidemanCacheTable", &dynamodb_actions(), &arn))
}

/// `iam-policy kms`.
pub(crate) fn kms(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let account = account(m)?;
    let settings = ctx.cache_settings()?;
    let region = region(ctx, false)?;
    let (resource, note) =
        kms_resource(settings.encryption_kms_key_id.as_deref(), &region, &account);
    if let Some(note) = note {
        ctx.warn(note);
    }
    report(policy("AwsidemanCacheKeys", &kms_actions(), &resource))
}

/// `iam-policy backup`.
pub(crate) fn backup(ctx: &mut Context, m: &Matches) -> Result<Report> {
    use crate::commands::backup::store::Destination;
    let to = m.required_value("to")?;
    let Destination::S3 { bucket, prefix } = Destination::parse(ctx, Some(to))? else {
        return Err(Error::usage(format!(
            "--to: \"{to}\" is not an S3 destination (expected s3://BUCKET/PREFIX); a local \
             directory needs no IAM policy"
        )));
    };
    let region = region(ctx, false)?;
    report(backup_policy(&region, &bucket, &prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::dynamodb::DYNAMODB_OPERATIONS;

    fn names_of(actions: &[String], service: Service) -> BTreeSet<String> {
        let prefix = format!("{}:", service.iam_prefix());
        actions
            .iter()
            .filter_map(|a| a.strip_prefix(&prefix))
            .map(str::to_string)
            .collect()
    }

    fn table_names(service: Service, keep: impl Fn(OpKind) -> bool) -> BTreeSet<String> {
        OPERATIONS
            .iter()
            .filter(|op| op.service == service && keep(op.kind))
            .map(|op| op.name.to_string())
            .collect()
    }

    #[test]
    fn read_only_is_exactly_the_reads_of_the_table() {
        let actions = read_only_actions();
        let mut seen = 0;
        for &service in IDENTITY_CENTER_SERVICES {
            let reads = table_names(service, |k| k != OpKind::Write);
            assert!(!reads.is_empty(), "{service:?} has reads");
            assert_eq!(names_of(&actions, service), reads, "{service:?}");
            seen += reads.len();
        }
        assert_eq!(actions.len(), seen, "no action of another service");
        for op in OPERATIONS.iter().filter(|o| o.kind == OpKind::Write) {
            assert!(
                !actions.contains(&op.iam_action()),
                "{} is a write",
                op.name
            );
        }
        let mut sorted = actions.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, actions, "sorted, no duplicates");
    }

    #[test]
    fn admin_is_exactly_every_operation_of_the_table() {
        let actions = admin_actions();
        let mut seen = 0;
        for &service in IDENTITY_CENTER_SERVICES {
            let all = table_names(service, |_| true);
            assert_eq!(names_of(&actions, service), all, "{service:?}");
            seen += all.len();
        }
        assert_eq!(actions.len(), seen);
        assert!(
            OPERATIONS
                .iter()
                .any(|o| o.kind == OpKind::Write && actions.contains(&o.iam_action())),
            "admin includes writes"
        );
    }

    #[test]
    fn admin_allows_tagging_permission_sets_and_creating_tagged_ones() {
        let admin = admin_actions();
        for action in [
            "sso:TagResource",
            "sso:UntagResource",
            "sso:CreatePermissionSet",
        ] {
            assert!(admin.contains(&action.to_string()), "{action}");
        }
        for (op, member, needs) in ALSO_AUTHORIZED_AS {
            assert!(OPERATIONS.contains(needs), "{} is a row", needs.name);
            assert!(
                admin.contains(&op.iam_action()) && admin.contains(&needs.iam_action()),
                "{} with {member} needs {}",
                op.name,
                needs.iam_action()
            );
        }
        let read_only = read_only_actions();
        assert!(!read_only.contains(&"sso:TagResource".to_string()));
        assert!(read_only.contains(&"sso:ListTagsForResource".to_string()));
    }

    #[test]
    fn cache_policies_are_exactly_the_backend_operations() {
        // TransactWriteItems has no IAM action of its own: its put and condition check do.
        let dynamo: BTreeSet<String> = DYNAMODB_OPERATIONS
            .iter()
            .filter(|op| **op != "TransactWriteItems")
            .map(|s| s.to_string())
            .chain(["ConditionCheckItem".to_string()])
            .collect();
        assert_eq!(names_of(&dynamodb_actions(), Service::DynamoDb), dynamo);
        assert_eq!(dynamodb_actions().len(), dynamo.len());
        let kms: BTreeSet<String> = KMS_OPERATIONS.iter().map(|s| s.to_string()).collect();
        assert_eq!(names_of(&kms_actions(), Service::Kms), kms);
        assert_eq!(kms_actions().len(), KMS_OPERATIONS.len());
    }

    #[test]
    fn the_backup_policy_is_the_s3_rows_scoped_to_the_bucket_and_prefix() {
        let (list, objects) = backup_actions();
        assert_eq!(list, ["s3:ListBucket"]);
        assert_eq!(objects, ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]);
        let doc = backup_policy("eu-west-1", "my-backups", "team/");
        let listing = &doc["Statement"][0];
        assert_eq!(listing["Resource"], "arn:aws:s3:::my-backups");
        assert_eq!(listing["Condition"]["StringLike"]["s3:prefix"], "team/*");
        assert_eq!(
            doc["Statement"][1]["Resource"],
            "arn:aws:s3:::my-backups/team/*"
        );
        let whole = backup_policy("cn-north-1", "b", "");
        assert!(whole["Statement"][0].get("Condition").is_none());
        assert_eq!(whole["Statement"][1]["Resource"], "arn:aws-cn:s3:::b/*");
    }

    #[test]
    fn policy_documents_and_resources() {
        let doc = policy("S", &["a:B".to_string()], "*");
        assert_eq!(doc["Version"], "2012-10-17");
        assert_eq!(doc["Statement"][0]["Action"], json!(["a:B"]));
        assert_eq!(doc["Statement"][0]["Effect"], "Allow");
        assert_eq!(
            table_arn("eu-west-1", "*", "awsideman-cache"),
            "arn:aws:dynamodb:eu-west-1:*:table/awsideman-cache"
        );
        assert_eq!(
            table_arn("cn-north-1", "123456789012", "t"),
            "arn:aws-cn:dynamodb:cn-north-1:123456789012:table/t"
        );
        let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(
            kms_resource(Some(key), "eu-west-1", "*"),
            (key.to_string(), None)
        );
        let (any, note) = kms_resource(Some("alias/cache"), "eu-west-1", "*");
        assert_eq!(any, "arn:aws:kms:eu-west-1:*:key/*");
        assert!(note.unwrap().contains("alias/cache"));
        let (alias_arn, note) = kms_resource(
            Some("arn:aws:kms:eu-west-1:123456789012:alias/cache"),
            "eu-west-1",
            "123456789012",
        );
        assert_eq!(alias_arn, "arn:aws:kms:eu-west-1:123456789012:key/*");
        assert!(note.is_some());
        assert!(kms_resource(None, "us-east-1", "*").1.is_some());
    }
}
