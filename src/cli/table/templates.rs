//! The `templates` group of the command table.

use crate::cli::spec::{Access, Command, Flag, Group, Positional};
use crate::commands::templates;

const FILE: Positional = Positional::required(
    "FILE",
    "YAML template (the Python awsideman's format, plus ous targets); - reads standard input.",
);

const PRUNE: Flag = Flag::switch(
    "prune",
    None,
    "Also delete what the template's scope holds that it does not ask for: assignments of \
     the (principal, permission set) pairs it names, on any account.",
);

const APPLY_FLAGS: &[Flag] = &[
    PRUNE,
    Flag::switch("dry-run", None, "Show the plan; change nothing."),
    Flag::switch("yes", Some('y'), "Do not ask for confirmation."),
    Flag::switch("force", None, "The Python awsideman's name for --yes."),
];

const PROBLEMS_JSON: &str = "{\"File\", \"Name\", \"Valid\": bool, \"Assignments\": number of \
     entries, \"Problems\": [{\"Line\", \"Place\": where in the template (\
     assignments[0].entities[1]), \"Problem\"}]}; the same document, with exit 2, from plan, \
     apply and show when the template has problems.";

const PLAN_JSON: &str = "{\"File\", \"Name\", \"Prune\": bool, \"DryRun\": bool, \"Summary\": \
     {\"Create\", \"Delete\", \"Present\", \"Succeeded\", \"Failed\"}, \"Changes\": [{\"Action\": \
     \"CREATE\" | \"DELETE\" | \"KEEP\", \"PrincipalType\", \"PrincipalId\", \"PrincipalName\", \
     \"PermissionSetArn\", \"PermissionSetName\", \"AccountId\", \"AccountName\", \"Status\": \
     \"PLANNED\" | \"PRESENT\" | \"DRY-RUN\" | \"SUCCEEDED\" | \"FAILED\" | \"IN_PROGRESS\" | \
     \"SKIPPED\", \"RequestId\", \"Detail\"}]}: creates, then deletes, then what is present.";

/// The `templates` group.
pub(crate) const GROUP: Group = Group {
    name: "templates",
    about: "Declare account assignments in a YAML template, then plan and apply it",
    groups: &[],
    commands: &[
        Command {
            name: "validate",
            about: "Check a template's structure and that every name in it exists",
            doc: "A template is YAML: metadata {name, description, version, author} and \
                  assignments, a list of entries {entities: [\"user:NAME\", \"group:NAME\"], \
                  permission_sets: [names or ARNs], targets: {account_ids: [ids or names], \
                  account_tags: {KEY: VALUE}, ous: [Root/Engineering or ou-...], \
                  exclude_accounts: [ids or names]}}. Each entry gives every entity every \
                  permission set on every account its targets select: the accounts listed, \
                  those carrying all the tags, and those anywhere below the OUs (suspended \
                  ones left out), minus the excluded. Names resolve against the live \
                  directory and organization; an entry whose targets select no account is a \
                  problem too (pruning would otherwise remove every assignment of its \
                  pairs). Every problem is listed with its line; exit 2 if there is any. \
                  Nothing is written.",
            args: &[FILE],
            flags: &[],
            examples: &["templates validate developers.yaml"],
            access: Access::Read,
            json: PROBLEMS_JSON,
            run: templates::validate,
        },
        Command {
            name: "plan",
            about: "Show what applying a template would change",
            doc: "The exact difference between the template and what exists: the assignments \
                  to create, those already present and, with --prune, those to delete. The \
                  template's scope is every assignment of a (principal, permission set) pair \
                  some entry names together, on any account: --prune deletes inside it only, \
                  so assignments of principals or permission sets the template does not pair \
                  are never touched. Exit 0 when there is nothing to do, 3 when changes are \
                  pending, 2 when the template has problems (listed as by validate). The \
                  Python awsideman's templates preview is the same command.",
            args: &[FILE],
            flags: &[PRUNE],
            examples: &[
                "templates plan developers.yaml",
                "templates plan developers.yaml --prune -o json",
            ],
            access: Access::Read,
            json: PLAN_JSON,
            run: templates::plan,
        },
        Command {
            name: "apply",
            about: "Make the assignments a template declares",
            doc: "Makes the plan of templates plan: creates first, then (with --prune) \
                  deletes, through the machinery of bulk assign (at most ten requests \
                  outstanding, each waited for; none sent after a failure). On a terminal the \
                  plan is confirmed first; deletes need --yes (or --force) off a terminal. \
                  Applying twice changes nothing the second time. Exit 1 if a change failed.",
            args: &[FILE],
            flags: APPLY_FLAGS,
            examples: &[
                "templates apply developers.yaml --dry-run",
                "templates apply developers.yaml --prune --yes",
            ],
            access: Access::Write,
            json: PLAN_JSON,
            run: templates::apply,
        },
        Command {
            name: "show",
            about: "Show a template as read, its targets resolved to accounts",
            doc: "Each entry with its principals, permission sets and the accounts its \
                  targets select now. Exit 2 when the template has problems.",
            args: &[FILE],
            flags: &[],
            examples: &["templates show developers.yaml"],
            access: Access::Read,
            json: "{\"File\", \"Metadata\": {\"Name\", \"Description\", \"Version\", \
                   \"Author\"}, \"Assignments\": [{\"Line\", \"Principals\": \
                   [{\"PrincipalType\", \"PrincipalId\", \"PrincipalName\"}], \
                   \"PermissionSets\": [{\"PermissionSetArn\", \"PermissionSetName\"}], \
                   \"Accounts\": [{\"AccountId\", \"AccountName\"}], \"Names\": \
                   {\"Principals\": [\"user:NAME\" | \"group:NAME\"], \"PermissionSets\", \
                   \"Accounts\"}}]}",
            run: templates::show,
        },
    ],
};
