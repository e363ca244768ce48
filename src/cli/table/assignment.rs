//! The `assignment` group of the command table.

use crate::cli::spec::{Access, Command, Flag, Group, Positional};
use crate::commands::assignment;

const PRINCIPAL_TYPE: Flag = Flag::value(
    "principal-type",
    "TYPE",
    "Whether the principal is a USER or a GROUP (needed when a name is both).",
)
.choices(&["USER", "GROUP"]);

const CHANGE_ARGS: &[Positional] = &[
    Positional::required("PERMISSION_SET", "Permission set name or ARN."),
    Positional::required(
        "PRINCIPAL",
        "User (id, user name, email) or group (id, name).",
    ),
    Positional::optional("ACCOUNT", "Target account ids or names.").multiple(),
];

const OU: Flag = Flag::value(
    "ou",
    "OU",
    "Also target the accounts in this OU (id, or path like Root/Engineering/Prod).",
);
const RECURSIVE: Flag = Flag::switch(
    "recursive",
    None,
    "With --ou, also the accounts of nested OUs.",
);
const ALL_ACCOUNTS: Flag = Flag::switch(
    "all-accounts",
    None,
    "Target every account of the organization.",
);
const DRY_RUN: Flag = Flag::switch("dry-run", None, "Show the target accounts; change nothing.");
const CONTINUE_ON_ERROR: Flag = Flag::switch(
    "continue-on-error",
    None,
    "Keep submitting after an account fails (default: stop starting new ones).",
);
const YES: Flag = Flag::switch("yes", Some('y'), "Do not ask for confirmation.");

const ASSIGN_FLAGS: &[Flag] = &[
    PRINCIPAL_TYPE,
    OU,
    RECURSIVE,
    ALL_ACCOUNTS,
    DRY_RUN,
    CONTINUE_ON_ERROR,
];

const REVOKE_FLAGS: &[Flag] = &[
    PRINCIPAL_TYPE,
    OU,
    RECURSIVE,
    ALL_ACCOUNTS,
    DRY_RUN,
    CONTINUE_ON_ERROR,
    YES,
];

const CHANGE_JSON: &str = "{\"PermissionSetArn\", \"PermissionSetName\", \"PrincipalType\", \
     \"PrincipalId\", \"PrincipalName\", \"DryRun\": bool, \"results\": [{\"AccountId\", \
     \"AccountName\", \"status\": \"SUCCEEDED\" | \"FAILED\" | \"IN_PROGRESS\" (still running \
     when the wait ended) | \"SKIPPED\" (not submitted after an earlier failure) | \"DRY-RUN\" | \
     \"ALREADY-ABSENT\" (revoke: there was nothing to delete), \
     \"RequestId\", \"FailureReason\"}]}. The document is printed even when an account fails; \
     the exit status is then 1.";

/// The `assignment` group.
pub(crate) const GROUP: Group = Group {
    name: "assignment",
    about: "Account assignments: permission sets given to users and groups in accounts",
    groups: &[],
    commands: &[
        Command {
            name: "list",
            about: "List account assignments",
            doc: "With --principal, asks ListAccountAssignmentsForPrincipal (filtered to \
                  --account by AWS, to --permission-set here). With --account, lists the \
                  permission sets provisioned to the account, then the assignments of each (or \
                  of --permission-set only). With --permission-set alone, asks every account \
                  for that set. With no filter, covers the whole organization by the cheaper of \
                  two plans: per account (accounts x (1 + provisioned sets per account, \
                  estimated from a sample of accounts)) or per principal (one request per user \
                  and group); --debug says which. Requests run in parallel under the Identity \
                  Center rate limit, with progress on stderr when it is a terminal. Account, \
                  permission set and principal names are looked up once per distinct id.",
            args: &[],
            flags: &[
                Flag::value("account", "ACCOUNT", "Only this account (id or name)."),
                Flag::value(
                    "permission-set",
                    "PERMISSION_SET",
                    "Only this permission set (name or ARN).",
                ),
                Flag::value(
                    "principal",
                    "PRINCIPAL",
                    "Only this user or group (id, user name, email or group name).",
                ),
                PRINCIPAL_TYPE,
            ],
            examples: &[
                "assignment list",
                "assignment list --principal alice",
                "assignment list --account prod-app --permission-set AdministratorAccess",
                "assignment list --principal admins --principal-type GROUP --output json",
            ],
            access: Access::Read,
            json: "{\"AccountAssignments\": [{AccountId, AccountName, PermissionSetArn, \
                   PermissionSetName, PrincipalType, PrincipalId, PrincipalName}]}, sorted by \
                   account, permission set and principal name; a name is null when its object \
                   no longer exists. With --principal USER, AWS may include the assignments the \
                   user has through groups, with the group as principal.",
            run: assignment::list,
        },
        Command {
            name: "assign",
            about: "Give a principal a permission set in accounts",
            doc: "Creates the assignment in every target account: the accounts named, those \
                  in --ou (with --recursive, its nested OUs too) and, with --all-accounts, \
                  every account. At most ten requests are outstanding at once (the AWS limit); \
                  each is waited for until it SUCCEEDED or FAILED (up to five minutes) and \
                  reported per account. Without --continue-on-error no new request starts \
                  after the first failure. Exits 1 when any account did not succeed.",
            args: CHANGE_ARGS,
            flags: ASSIGN_FLAGS,
            examples: &[
                "assignment assign AdministratorAccess alice prod-app 123456789012",
                "assignment assign ReadOnly developers --principal-type GROUP --ou Engineering --recursive",
                "assignment assign ReadOnly auditors --all-accounts --dry-run",
            ],
            access: Access::Write,
            json: CHANGE_JSON,
            run: assignment::assign,
        },
        Command {
            name: "revoke",
            about: "Take a permission set from a principal in accounts",
            doc: "Deletes the assignment in every target account, chosen as for 'assign', \
                  with the same limits, waiting and reporting. An account where the \
                  assignment does not exist is reported ALREADY-ABSENT and counts as done \
                  (exit 0), in --dry-run too: one ListAccountAssignments per account tells. \
                  Asks for confirmation on a terminal; without one, --yes is required.",
            args: CHANGE_ARGS,
            flags: REVOKE_FLAGS,
            examples: &[
                "assignment revoke AdministratorAccess alice prod-app --yes",
                "assignment revoke ReadOnly contractors --principal-type GROUP --all-accounts --dry-run",
            ],
            access: Access::Write,
            json: CHANGE_JSON,
            run: assignment::revoke,
        },
        Command {
            name: "copy",
            about: "Give one principal every assignment another has",
            doc: "Reads the assignments of --from (a user or group, by name or id) and creates \
                  each one --to does not hold yet, in the same accounts with the same \
                  permission sets (--include-accounts / --exclude-accounts narrow the \
                  accounts, by id or name, repeatable or comma-separated). Assignments --to \
                  already holds are skipped, so a copy can be run twice. Writes as assign \
                  does: at most ten outstanding, each waited for; exit 1 if any failed.",
            args: &[],
            flags: &[
                Flag::value(
                    "from",
                    "PRINCIPAL",
                    "The user or group whose access is copied.",
                )
                .required(),
                Flag::value("to", "PRINCIPAL", "The user or group that receives it.").required(),
                Flag::value("include-accounts", "ACCOUNTS", "Only these accounts.").multiple(),
                Flag::value("exclude-accounts", "ACCOUNTS", "Not these accounts.").multiple(),
                Flag::switch(
                    "dry-run",
                    None,
                    "Show what would be created; change nothing.",
                ),
                CONTINUE_ON_ERROR,
            ],
            examples: &[
                "assignment copy --from alice --to bob --dry-run",
                "assignment copy --from Admins --to Admins-EU --exclude-accounts prod-us",
            ],
            access: Access::Write,
            json: "{\"From\": {Type, Id, Name}, \"To\": {Type, Id, Name}, \"DryRun\": bool, \
                   \"Assignments\": [{\"AccountId\", \"AccountName\", \"PermissionSetArn\", \
                   \"PermissionSetName\", \"Status\": \"DRY-RUN\" | \"SKIPPED\" (already held) | \
                   \"SUCCEEDED\" | \"FAILED\" | \"IN_PROGRESS\", \"RequestId\", \"Detail\"}]}.",
            run: assignment::copy,
        },
        Command {
            name: "status",
            about: "Show how an assign or revoke request is doing",
            doc: "Looks the request id up as an assignment creation, then as a deletion.",
            args: &[Positional::required(
                "REQUEST_ID",
                "The RequestId reported by assign or revoke.",
            )],
            flags: &[],
            examples: &["assignment status 2f6c0f32-1c2d-4bd5-9d55-6a7f2e0c1b7a"],
            access: Access::Read,
            json: "{\"Action\": \"assign\" | \"revoke\", then the AccountAssignmentCreationStatus \
                   or DeletionStatus as AWS returns it: Status, RequestId, FailureReason, \
                   TargetId, TargetType, PermissionSetArn, PrincipalType, PrincipalId, \
                   CreatedDate}.",
            run: assignment::status,
        },
    ],
};
