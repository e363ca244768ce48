//! The `permission-set` group of the command table.

use crate::cli::spec::{Access, Command, Flag, Group, Positional};
use crate::commands::permission_set;

const PERMISSION_SET: Positional =
    Positional::required("PERMISSION_SET", "Permission set name or ARN.");

const DESCRIPTION: Flag = Flag::value("description", "TEXT", "What the permission set is for.");

const SESSION_DURATION: Flag = Flag::value(
    "session-duration",
    "DURATION",
    "Session length, an ISO 8601 duration from PT1H to PT12H (e.g. PT8H).",
);

const RELAY_STATE: Flag = Flag::value(
    "relay-state",
    "URL",
    "Where the console sends users after sign-in.",
);

const INLINE_POLICY: Flag = Flag::value(
    "inline-policy",
    "FILE",
    "Inline policy: a JSON policy document file, or - for stdin.",
);

/// The document `get`, `create` and `update` print.
const DETAILS_JSON: &str = "The DescribePermissionSet PermissionSet (PermissionSetArn, Name, \
    Description, SessionDuration as ISO 8601, CreatedDate, RelayState) plus \
    \"ManagedPolicies\": [{Arn, Name}], \"CustomerManagedPolicies\": [{Name, Path}], \
    \"InlinePolicy\": the policy document or null, \"PermissionsBoundary\": \
    {ManagedPolicyArn} or {CustomerManagedPolicyReference: {Name, Path}} or null, \
    \"ProvisionedAccounts\": [account id, ...]. PermissionsBoundary null means the set has \
    none; when the endpoint cannot answer for it, the member is left out and \
    \"Warnings\": [text, ...] says so (Warnings is present only then).";

/// The `permission-set` group.
pub(crate) const GROUP: Group = Group {
    name: "permission-set",
    about: "Permission sets: policies, session settings, provisioning",
    groups: &[],
    commands: &[
        Command {
            name: "list",
            about: "List permission sets",
            doc: "Lists every permission set of the instance with its description, sorted by \
                  name. --filter keeps those whose name or description matches a regular \
                  expression (case-insensitive). --account lists only the permission sets \
                  provisioned to that account (by id or name).",
            args: &[],
            flags: &[
                Flag::value(
                    "filter",
                    "REGEX",
                    "Only sets whose name or description matches REGEX (case-insensitive).",
                ),
                Flag::value(
                    "account",
                    "ACCOUNT",
                    "Only sets provisioned to this account (id or name).",
                ),
            ],
            examples: &[
                "permission-set list",
                "permission-set list --account prod-app",
                "permission-set list --filter '^admin' --output json | jq -r '.PermissionSets[].Name'",
            ],
            access: Access::Read,
            json: "{\"PermissionSets\": [{PermissionSetArn, Name, Description, SessionDuration, \
                   CreatedDate, RelayState}, ...]}, sorted by Name; with --account also \
                   \"AccountId\": the account's 12-digit id.",
            run: permission_set::list,
        },
        Command {
            name: "get",
            about: "Show a permission set with its policies and accounts",
            doc: "Shows a permission set (by name, case-insensitive, or ARN) with its AWS \
                  managed policies, customer-managed policy references, inline policy, \
                  permissions boundary and the accounts it is provisioned to. When the \
                  endpoint cannot answer for the permissions boundary, it is left out of the \
                  JSON (null there means no boundary) and named in its Warnings, with a \
                  warning on stderr.",
            args: &[PERMISSION_SET],
            flags: &[],
            examples: &[
                "permission-set get AdministratorAccess",
                "permission-set get ReadOnly --output json | jq .InlinePolicy",
            ],
            access: Access::Read,
            json: DETAILS_JSON,
            run: permission_set::get,
        },
        Command {
            name: "create",
            about: "Create a permission set",
            doc: "Creates a permission set, attaches the given AWS managed policies and puts \
                  the inline policy. Every argument is checked before the first request: the \
                  session duration must be PT1H to PT12H and the inline policy a JSON object. \
                  The new set is not provisioned: run 'permission-set provision' after \
                  assigning it.",
            args: &[],
            flags: &[
                Flag::value("name", "NAME", "The permission set's name.").required(),
                DESCRIPTION,
                SESSION_DURATION,
                RELAY_STATE,
                Flag::value("managed-policy", "ARN", "Attach this AWS managed policy.").multiple(),
                INLINE_POLICY,
            ],
            examples: &[
                "permission-set create --name ReadOnly --description 'Read-only access' --session-duration PT8H --managed-policy arn:aws:iam::aws:policy/ReadOnlyAccess",
                "permission-set create --name S3Reader --inline-policy s3-read.json",
            ],
            access: Access::Write,
            json: "Same as 'permission-set get': the new permission set.",
            run: permission_set::create,
        },
        Command {
            name: "update",
            about: "Change a permission set's settings and policies",
            doc: "Changes the description, session duration or relay state (others are \
                  kept), detaches and attaches AWS managed policies, replaces or removes \
                  the inline policy, and sets or removes the permissions boundary. Accounts the set is provisioned to see the change after \
                  'permission-set provision'.",
            args: &[PERMISSION_SET],
            flags: &[
                DESCRIPTION,
                SESSION_DURATION,
                RELAY_STATE,
                Flag::value(
                    "add-managed-policy",
                    "ARN",
                    "Attach this AWS managed policy.",
                )
                .multiple(),
                Flag::value(
                    "remove-managed-policy",
                    "ARN",
                    "Detach this AWS managed policy.",
                )
                .multiple(),
                INLINE_POLICY,
                Flag::switch("remove-inline-policy", None, "Delete the inline policy."),
                Flag::value(
                    "permissions-boundary",
                    "POLICY",
                    "Set the permissions boundary: a managed policy ARN, or the name of a \
                     customer managed policy (PATH/NAME, path / by default).",
                ),
                Flag::switch(
                    "remove-permissions-boundary",
                    None,
                    "Remove the permissions boundary.",
                ),
            ],
            examples: &[
                "permission-set update ReadOnly --session-duration PT4H --add-managed-policy arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",
                "permission-set update S3Reader --inline-policy - < policy.json",
                "permission-set update S3Reader --remove-inline-policy",
                "permission-set update Dev --permissions-boundary arn:aws:iam::aws:policy/PowerUserAccess",
            ],
            access: Access::Write,
            json: "Same as 'permission-set get': the permission set after the change.",
            run: permission_set::update,
        },
        Command {
            name: "clone",
            about: "Create a permission set with everything another one has",
            doc: "Creates NEW (--to) with the source's description (or --description), \
                  session duration, relay state, AWS managed policies, customer managed policy \
                  references, inline policy, permissions boundary and tags (passed to \
                  CreatePermissionSet), then shows it. \
                  --dry-run shows what would be created. SOURCE may also be given as --name \
                  (the Python awsideman's spelling). Provision the new set to accounts with \
                  permission-set provision or by assigning it.",
            args: &[Positional::optional(
                "SOURCE",
                "Permission set to copy (name or ARN).",
            )],
            flags: &[
                Flag::value("to", "NAME", "Name of the new permission set.").required(),
                Flag::value(
                    "name",
                    "SOURCE",
                    "The source, as the Python awsideman spells it.",
                ),
                Flag::value(
                    "description",
                    "TEXT",
                    "Description of the new set (default: the source's).",
                ),
                Flag::switch(
                    "dry-run",
                    None,
                    "Show what would be created; create nothing.",
                ),
            ],
            examples: &[
                "permission-set clone ReadOnly --to ReadOnlyContractors",
                "permission-set clone Admin --to AdminBreakGlass --description 'Break glass' --dry-run",
            ],
            access: Access::Write,
            json: "The new permission set as permission-set get prints it; with --dry-run \
                   {\"DryRun\": true, \"Source\", \"Create\": the CreatePermissionSet request, \
                   \"ManagedPolicies\": [ARN], \"CustomerManagedPolicies\": [{Name, Path}], \
                   \"InlinePolicy\", \"PermissionsBoundary\", \"Tags\": [{Key, Value}]}.",
            run: permission_set::clone,
        },
        Command {
            name: "delete",
            about: "Delete a permission set",
            doc: "Deletes a permission set after confirmation; --yes is required when stdin \
                  is not a terminal. AWS refuses while the set is still assigned in an \
                  account: --with-assignments deletes its assignments in every account \
                  first (and the set only when they all are). The rollback journal records \
                  the set in full (policies, boundary, tags) and the assignments, so \
                  'rollback apply' recreates both.",
            args: &[PERMISSION_SET],
            flags: &[
                Flag::switch(
                    "with-assignments",
                    None,
                    "Delete the set's account assignments first.",
                ),
                Flag::switch("yes", Some('y'), "Do not ask for confirmation."),
            ],
            examples: &[
                "permission-set delete OldAccess --yes",
                "permission-set delete OldAccess --with-assignments --yes",
            ],
            access: Access::Write,
            json: "{\"PermissionSetArn\", \"Name\", \"Deleted\": true, \"AssignmentsDeleted\": n}.",
            run: permission_set::delete,
        },
        Command {
            name: "provision",
            about: "Provision a permission set to accounts and wait",
            doc: "Pushes the permission set's current policies to one account (--account, \
                  by 12-digit id or name) or to every account it is provisioned to, then \
                  waits (up to 5 minutes) until AWS reports SUCCEEDED or FAILED, with a \
                  progress line when stderr is a terminal. FAILED exits 1 with the reason.",
            args: &[PERMISSION_SET],
            flags: &[Flag::value(
                "account",
                "ID|NAME",
                "Only this account (default: every account the set is provisioned to).",
            )],
            examples: &[
                "permission-set provision ReadOnly",
                "permission-set provision ReadOnly --account prod-app",
            ],
            access: Access::Write,
            json: "{\"Name\", \"PermissionSetArn\", \"TargetType\": \"AWS_ACCOUNT\" or \
                   \"ALL_PROVISIONED_ACCOUNTS\", \"TargetId\": account id or null, \
                   \"PermissionSetProvisioningStatus\": {RequestId, Status, AccountId, \
                   PermissionSetArn, CreatedDate, FailureReason}} as AWS last reported it.",
            run: permission_set::provision,
        },
    ],
};
