//! The `access-review` group of the command table.

use crate::cli::spec::{Access, Command, Flag, Group, Positional};
use crate::commands::access_review;

/// The JSON shape every `access-review` command prints.
const ROWS_JSON: &str = "{\"Access\": [{\"AccountId\", \"AccountName\", \"PermissionSetArn\", \
     \"PermissionSetName\", \"PrincipalType\": \"USER\" | \"GROUP\", \"PrincipalId\", \
     \"PrincipalName\", \"Via\": \"direct\" | \"group\", \"ViaGroupId\", \"ViaGroupName\" (null \
     when direct), \"Access\": \"direct\" | \"via group NAME\"}]}, one row per way a principal \
     reaches an account with a permission set, sorted by account, permission set, principal \
     and way; a group's own assignment is a GROUP row (direct), each of its members a USER row \
     via that group.";

const ACCOUNT_FLAG: Flag = Flag::value("account", "ACCOUNT", "Only this account (id or name).");
const PERMISSION_SET_FLAG: Flag = Flag::value(
    "permission-set",
    "PERMISSION_SET",
    "Only this permission set (name or ARN).",
);

/// The `access-review` group.
pub(crate) const GROUP: Group = Group {
    name: "access-review",
    about: "Who can reach what, directly or through groups, for auditors",
    groups: &[],
    commands: &[
        Command {
            name: "principal",
            about: "Everything a user or group can reach, and how",
            doc: "For a user: every (account, permission set) it can use, each with every way \
                  it gets there: its own assignment (direct) or an assignment of a group it \
                  belongs to (via group NAME); a pair reached several ways has one row per way. \
                  For a group: its assignments and, with --members, the users they reach. \
                  Requests: one listing of the principal's assignments, one of the user's \
                  groups and one of each group's assignments.",
            args: &[Positional::required(
                "PRINCIPAL",
                "User (name, email or id) or group (display name or id).",
            )],
            flags: &[
                Flag::value("type", "TYPE", "Whether PRINCIPAL is a user or a group.")
                    .choices(&["user", "group"]),
                ACCOUNT_FLAG,
                Flag::switch(
                    "members",
                    None,
                    "For a group, also list each member user it gives access to.",
                ),
            ],
            examples: &[
                "access-review principal alice",
                "access-review principal Admins --type group --members",
                "access-review principal alice --account prod --output csv",
            ],
            access: Access::Read,
            json: ROWS_JSON,
            run: access_review::principal,
        },
        Command {
            name: "account",
            about: "Everyone who can reach an account, and how",
            doc: "Every user and group that can use ACCOUNT, with which permission set and how: \
                  the account's assignments, each group expanded into its member users (one \
                  membership listing per group, reused across permission sets).",
            args: &[Positional::required("ACCOUNT", "Account id or name.")],
            flags: &[PERMISSION_SET_FLAG],
            examples: &[
                "access-review account prod-app",
                "access-review account 123456789012 --output csv > prod-access.csv",
            ],
            access: Access::Read,
            json: ROWS_JSON,
            run: access_review::account,
        },
        Command {
            name: "permission-set",
            about: "Who holds a permission set where, groups expanded",
            doc: "Every user and group holding PERMISSION_SET, in every account it is \
                  provisioned to (or only --account), each group expanded into its members.",
            args: &[Positional::required(
                "PERMISSION_SET",
                "Permission set name or ARN.",
            )],
            flags: &[ACCOUNT_FLAG],
            examples: &[
                "access-review permission-set AdministratorAccess",
                "access-review permission-set ReadOnly --account prod --output json",
            ],
            access: Access::Read,
            json: ROWS_JSON,
            run: access_review::permission_set,
        },
        Command {
            name: "org",
            about: "The organization-wide effective-access export",
            doc: "One row per (principal, account, permission set, way) across the \
                  organization: every assignment, and every member of every assigned group \
                  via that group. Filters narrow it: --account, --ou (the OU's whole \
                  subtree), --permission-set, --principal (a user then shows its access \
                  through its groups too). Reads the assignments the cheapest way the \
                  organization allows (as assignment list does) plus one membership listing \
                  per assigned group.",
            args: &[],
            flags: &[
                ACCOUNT_FLAG,
                Flag::value("ou", "OU", "Only accounts below this OU (id or path)."),
                PERMISSION_SET_FLAG,
                Flag::value("principal", "PRINCIPAL", "Only this user or group."),
            ],
            examples: &[
                "access-review org --output csv > effective-access.csv",
                "access-review org --ou Root/Production --permission-set AdministratorAccess",
            ],
            access: Access::Read,
            json: ROWS_JSON,
            run: access_review::org,
        },
    ],
};
