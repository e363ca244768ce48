//! The `iam-policy` group of the command table.

use crate::cli::spec::{Access, Command, Flag, Group, Runner};
use crate::commands::iam_policy;

const ACCOUNT: Flag = Flag::value(
    "account",
    "ID",
    "The 12-digit account of the resource in its ARN (default: any account, *).",
);

const BACKUP_TO: Flag =
    Flag::value("to", "DEST", "The backups' place: s3://BUCKET/PREFIX.").required();

const fn mode(
    name: &'static str,
    about: &'static str,
    doc: &'static str,
    flags: &'static [Flag],
    examples: &'static [&'static str],
    run: Runner,
) -> Command {
    Command {
        name,
        about,
        doc,
        args: &[],
        flags,
        examples,
        access: Access::Local,
        json: "The policy document itself: {\"Version\", \"Statement\": [{\"Sid\", \"Effect\", \
               \"Action\", \"Resource\"}]}.",
        run,
    }
}

/// The `iam-policy` group.
pub(crate) const GROUP: Group = Group {
    name: "iam-policy",
    about: "Least-privilege IAM policies for awsideman",
    groups: &[],
    commands: &[
        mode(
            "read-only",
            "Policy for browsing Identity Center",
            "Prints the IAM policy allowing every read awsideman makes of Identity Center, \
             the identity store and Organizations (lists, describes, request statuses), and \
             nothing that changes them. Generated from the operation table, so it always \
             lists exactly what the commands call.",
            &[],
            &["iam-policy read-only > awsideman-read-only.json"],
            iam_policy::read_only,
        ),
        mode(
            "admin",
            "Policy for managing Identity Center",
            "Prints the IAM policy allowing every Identity Center, identity store and \
             Organizations operation awsideman makes, reads and writes: also every inverse \
             rollback apply runs (each is an operation of the same table). It includes \
             sso:TagResource and sso:UntagResource, which AWS also requires for \
             CreatePermissionSet with tags (permission-set clone, backup restore, rollback \
             apply recreating a deleted set).",
            &[],
            &["iam-policy admin > awsideman-admin.json"],
            iam_policy::admin,
        ),
        mode(
            "cache-dynamodb",
            "Policy for the DynamoDB cache table",
            "Prints the IAM policy for the dynamodb cache backend: the item operations, \
             and the table management of 'cache dynamodb' (create, describe, time to live, \
             delete), on the configured table only (cache.dynamodb_table_name, in \
             cache.dynamodb_region or the profile's region). Configured cache.dynamodb_table_tags \
             may also need dynamodb:TagResource in accounts that require it.",
            &[ACCOUNT],
            &[
                "iam-policy cache-dynamodb",
                "iam-policy cache-dynamodb --account 123456789012",
            ],
            iam_policy::cache_dynamodb,
        ),
        mode(
            "kms",
            "Policy for the kms key source",
            "Prints the IAM policy for cache.encryption_key_source kms (GenerateDataKey, \
             Decrypt, Encrypt) on cache.encryption_kms_key_id when it is a key ARN; for an \
             alias or a bare key id it allows the keys of the region, with a warning on \
             stderr saying to narrow it to the key's ARN.",
            &[ACCOUNT],
            &["iam-policy kms --account 123456789012"],
            iam_policy::kms,
        ),
        mode(
            "backup",
            "Policy for backups kept in S3",
            "Prints the IAM policy for backups in s3://BUCKET/PREFIX: s3:ListBucket on the \
             bucket (only under the prefix) and s3:PutObject, s3:GetObject and \
             s3:DeleteObject on the objects under the prefix. Taking a backup also reads \
             Identity Center: attach the read-only policy as well; --encrypt with the kms key \
             source needs the kms policy.",
            &[BACKUP_TO],
            &["iam-policy backup --to s3://my-backups/awsideman"],
            iam_policy::backup,
        ),
    ],
};
