//! The `status` group of the command table.

use crate::cli::spec::{Access, Command, Flag, Group};
use crate::commands::status;

/// The `status` group.
pub(crate) const GROUP: Group = Group {
    name: "status",
    about: "The health of the Identity Center instance",
    groups: &[],
    commands: &[
        Command {
            name: "check",
            about: "Check the instance, its operations, provisioning and assignments",
            doc: "Reads AWS now (never the cache) and checks: the instance's status; \
                  permission set provisioning and assignment creation and deletion requests \
                  that failed (those in progress are listed, not counted); permission sets \
                  whose latest version is not provisioned to an account they are on; \
                  orphaned assignments (the user or group no longer exists); assignments in \
                  accounts that left the organization. Assignments are read from every \
                  account each permission set is provisioned to. Exit status: 0 healthy, 3 \
                  problems found, 1 when a check could not be read (and nothing was found \
                  wrong), so monitoring and CI can call it. AWS keeps request statuses for a \
                  limited time, so an old failure eventually stops being reported.",
            args: &[],
            flags: &[],
            examples: &[
                "status check",
                "status check --output json | jq '.Problems[] | select(.Check == \"orphaned-assignments\")'",
            ],
            access: Access::Read,
            json: "{\"Healthy\": bool, \"InstanceArn\", \"Checks\": [{\"Check\": \"instance\" | \
                   \"permission-set-provisioning\" | \"assignment-creation\" | \
                   \"assignment-deletion\" | \"outdated-permission-sets\" | \
                   \"orphaned-assignments\" | \"former-accounts\", \"Result\": \"ok\" | \
                   \"problems\" | \"could not be read\", \"Problems\": n, \"Detail\"}], \
                   \"Problems\": [{\"Check\", \"AccountId\", \"AccountName\", \
                   \"PermissionSetArn\", \"PermissionSetName\", \"PrincipalType\", \
                   \"PrincipalId\", \"RequestId\", \"Status\", \"CreatedDate\", \"Detail\"} \
                   (members that do not apply are absent)]}.",
            run: status::check,
        },
        Command {
            name: "cleanup",
            about: "Delete the orphaned assignments status check finds",
            doc: "Runs the checks of status check, then deletes every assignment whose user or \
                  group no longer exists, with the machinery of assignment revoke (at most ten \
                  requests outstanding, each waited for). Asks first on a terminal; needs \
                  --yes otherwise. --dry-run lists them and changes nothing. Every deletion \
                  is tried; exit 1 if any did not succeed.",
            args: &[],
            flags: &[
                Flag::switch(
                    "dry-run",
                    None,
                    "List the orphaned assignments; delete nothing.",
                ),
                Flag::switch("yes", Some('y'), "Do not ask for confirmation."),
            ],
            examples: &["status cleanup --dry-run", "status cleanup --yes"],
            access: Access::Write,
            json: "{\"DryRun\": bool, \"Orphans\": [{\"AccountId\", \"PermissionSetArn\", \
                   \"PermissionSetName\", \"PrincipalType\", \"PrincipalId\", \"Status\": \
                   \"DRY-RUN\" | \"SUCCEEDED\" | \"FAILED\" | \"IN_PROGRESS\", \"RequestId\", \
                   \"FailureReason\"}]}.",
            run: status::cleanup,
        },
    ],
};
