//! The `bulk` group of the command table.

use crate::cli::spec::{Access, Command, Flag, Group, Positional};
use crate::commands::bulk;

const FILE: Positional = Positional::required(
    "FILE",
    "CSV (header principal_name,permission_set_name,account_name,principal_type) or JSON \
     ({\"assignments\": [...]}) file; - reads standard input.",
);

const FLAGS: &[Flag] = &[
    Flag::switch("dry-run", None, "Show the plan; change nothing."),
    Flag::switch(
        "continue-on-error",
        None,
        "Apply the valid rows even if some are invalid, and go on after a failed one.",
    ),
    Flag::switch("yes", Some('y'), "Do not ask for confirmation."),
    Flag::switch("force", None, "The Python awsideman's name for --yes."),
];

const ROWS_JSON: &str = "{\"Action\": \"assign\" | \"revoke\", \"File\", \"DryRun\": bool, \
     \"Summary\": {\"Rows\", \"Invalid\", \"Skipped\", \"Planned\", \"Succeeded\", \"Failed\"}, \
     \"Rows\": [{\"Line\", \"PrincipalType\", \"PrincipalId\", \"PrincipalName\", \
     \"PermissionSetArn\", \"PermissionSetName\", \"AccountId\", \"AccountName\", \"Status\": \
     \"INVALID\" | \"SKIPPED\" | \"NOT-SUBMITTED\" | \"DRY-RUN\" | \"SUCCEEDED\" | \"FAILED\" | \
     \"IN_PROGRESS\", \"RequestId\", \"Detail\"}]} in the order of the file.";

/// The `bulk` group.
pub(crate) const GROUP: Group = Group {
    name: "bulk",
    about: "Assign or revoke account assignments listed in a file",
    groups: &[],
    commands: &[
        Command {
            name: "assign",
            about: "Create every assignment a file lists",
            doc: "Reads the whole file (the Python awsideman's CSV or JSON; names or ids for \
                  principals, permission sets and accounts; principal_type USER or GROUP, or \
                  left out to try a user, then a group) and resolves every row before any \
                  write. A bad row (unknown name, missing value, duplicate) is reported with \
                  its line and nothing is changed, unless --continue-on-error. Assignments \
                  that exist already are skipped, so a file can be applied twice. On a \
                  terminal the plan is confirmed first. At most ten requests are outstanding, \
                  each waited for; exit 1 if any row is invalid or failed.",
            args: &[FILE],
            flags: FLAGS,
            examples: &[
                "bulk assign onboarding.csv --dry-run",
                "bulk assign onboarding.json --yes",
            ],
            access: Access::Write,
            json: ROWS_JSON,
            run: bulk::assign,
        },
        Command {
            name: "revoke",
            about: "Delete every assignment a file lists",
            doc: "The same file formats and checks as bulk assign; assignments that do not \
                  exist are skipped. Asks first on a terminal; needs --yes (or --force) \
                  otherwise.",
            args: &[FILE],
            flags: FLAGS,
            examples: &[
                "bulk revoke offboarding.csv --dry-run",
                "bulk revoke offboarding.csv --yes",
            ],
            access: Access::Write,
            json: ROWS_JSON,
            run: bulk::revoke,
        },
    ],
};
