//! The `backup` group of the command table.

use crate::cli::spec::{Access, Command, Flag, Group, Positional};
use crate::commands::backup;

const FROM: Flag = Flag::value(
    "from",
    "DEST",
    "Where the backups are: a directory or s3://BUCKET/PREFIX (default ~/.awsideman/backups).",
);

const TO: Flag = Flag::value(
    "to",
    "DEST",
    "Where to keep the backup: a directory or s3://BUCKET/PREFIX (default \
     ~/.awsideman/backups).",
);

const ID: Positional = Positional::required("ID", "The backup id (see backup list).");

const SUMMARY_JSON: &str = "{\"Id\", \"CreatedAt\", \"Location\", \"Encrypted\": bool, \"Size\": \
     bytes, \"Source\": {\"Profile\", \"Region\", \"InstanceArn\", \"IdentityStoreId\"}, \
     \"Resources\": [\"users\" | \"groups\" | \"memberships\" | \"permission-sets\" | \
     \"assignments\"], \"Counts\": {\"Users\", \"Groups\", \"Memberships\", \"PermissionSets\", \
     \"Assignments\", \"Accounts\", \"OrganizationalUnits\"} (the members backed up), \
     \"Unknown\": [attributes the endpoint could not tell]}.";

/// The `backup` group.
pub(crate) const GROUP: Group = Group {
    name: "backup",
    about: "Snapshots of Identity Center, kept locally or in S3",
    groups: &[],
    commands: &[
        Command {
            name: "create",
            about: "Take a backup of users, groups, memberships, permission sets and assignments",
            doc: "Reads AWS now (never the cache; the fresh answers replace cached ones) and \
                  writes one backup: users, groups, memberships, permission sets with every \
                  attribute (session duration, relay state, inline policy, AWS managed \
                  policies, customer managed policy references, permissions boundary, tags), \
                  the organization's assignments (read the cheapest way, as assignment list \
                  does), and the organization's accounts and OUs for names. Requests: one \
                  listing each of accounts, roots, users, groups and permission sets, one \
                  membership listing per group, six per permission set, one OU listing per \
                  root and OU, plus the assignment plan. In an account that is in no \
                  organization (AWSOrganizationsNotInUseException) it warns once and backs up \
                  no accounts, OUs or assignments (assignments are then not among the \
                  backup's Resources). The file is a versioned JSON \
                  document, compressed, with a SHA-256 checksum; --encrypt seals it with the \
                  cache's encryption keys (cache.encryption_key_source: with kms, every machine \
                  with access to the KMS key can read it). The document format is described in \
                  BACKUP FORMAT below.",
            args: &[],
            flags: &[
                TO,
                Flag::value(
                    "resources",
                    "LIST",
                    "Comma-separated: users,groups,memberships,permission-sets,assignments \
                     (default: all).",
                ),
                Flag::switch(
                    "encrypt",
                    None,
                    "Seal the backup with the cache's encryption keys.",
                ),
            ],
            examples: &[
                "backup create",
                "backup create --to s3://my-backups/awsideman --encrypt",
                "backup create --resources users,groups,memberships --to /srv/backups",
            ],
            access: Access::Write,
            json: SUMMARY_JSON,
            run: backup::create,
        },
        Command {
            name: "list",
            about: "List the backups kept in a place",
            doc: "Lists the backups in the directory or S3 prefix (one ListObjectsV2 listing), \
                  oldest first. Nothing is opened: see backup show and backup validate.",
            args: &[],
            flags: &[FROM],
            examples: &[
                "backup list",
                "backup list --from s3://my-backups/awsideman",
            ],
            access: Access::Read,
            json: "{\"Destination\", \"Backups\": [{\"Id\", \"Size\": bytes, \"LastModified\", \
                   \"Location\"}]}, sorted by id (oldest first).",
            run: backup::list,
        },
        Command {
            name: "show",
            about: "Show what a backup holds",
            doc: "Checks and opens a backup (decrypting it with the cache's keys when sealed) \
                  and shows where it came from and what it holds; --document prints the whole \
                  document.",
            args: &[ID],
            flags: &[
                FROM,
                Flag::switch("document", None, "Print the whole backup document."),
            ],
            examples: &[
                "backup show 20261204T061500Z-3f9a0c",
                "backup show 20261204T061500Z-3f9a0c --document --output json",
            ],
            access: Access::Read,
            json: SUMMARY_JSON,
            run: backup::show,
        },
        Command {
            name: "validate",
            about: "Check a backup's checksum, format and encryption",
            doc: "Checks the checksum, the header, the document's format and, for a sealed \
                  backup, that it decrypts with the cache's keys. Exit status 0 when valid, 1 \
                  (with one line saying what is wrong) otherwise.",
            args: &[ID],
            flags: &[FROM],
            examples: &[
                "backup validate 20261204T061500Z-3f9a0c",
                "backup validate 20261204T061500Z-3f9a0c --from s3://my-backups/awsideman",
            ],
            access: Access::Read,
            json: "{\"Id\", \"Valid\": true, \"Encrypted\": bool, \"Location\", \"Counts\"}.",
            run: backup::validate,
        },
        Command {
            name: "diff",
            about: "The exact differences between two backups, or a backup and AWS now",
            doc: "Compares backup A with backup B, or with AWS now (--live: read as backup \
                  create reads, the resources A holds, never from the cache). Items are \
                  matched as a restore recreates them: users by user name, groups by display \
                  name, memberships by group and user name, permission sets by name, \
                  assignments by account, permission set, principal type and name, accounts \
                  by id, OUs by path; every top-level attribute that differs is listed before \
                  and after (ids included: an item deleted and recreated under its name shows \
                  changed ids). Only resources both sides hold are compared. Exit status 3 \
                  when there are differences, 0 when none.",
            args: &[
                Positional::required("A", "The earlier backup id."),
                Positional::optional("B", "The later backup id (or --live)."),
            ],
            flags: &[FROM, Flag::switch("live", None, "Compare A with AWS now.")],
            examples: &[
                "backup diff 20261204T061500Z-3f9a0c 20261205T061500Z-77e1b2",
                "backup diff 20261204T061500Z-3f9a0c --live --output json",
            ],
            access: Access::Read,
            json: "{\"From\", \"To\" (a backup id or \"live\"), \"Compared\": [document \
                   members], \"Differences\": [{\"Resource\" (Users, Groups, Memberships, \
                   PermissionSets, Assignments, Accounts, OrganizationalUnits), \"Key\", \
                   \"Change\": \"added\" | \"removed\" | \"changed\", \"Fields\": \
                   [{\"Field\", \"Before\", \"After\"}], \"Summary\"}]}, sorted by resource \
                   and key.",
            run: backup::diff,
        },
        Command {
            name: "restore",
            about: "Recreate by name what a backup holds; optionally overwrite and prune",
            doc: "Reads AWS now (as backup diff --live does) and recreates, in order, the \
                  users, groups, permission sets (with every attribute: policies, inline \
                  policy, boundary, tags), memberships and assignments of the backup that are \
                  missing, matched by name; the ids of the backup are mapped to the ids AWS \
                  has now or gives the new items. --resources restores only some of what the \
                  backup holds. An item that exists under its name is left as it is \
                  (--conflict skip, the default; the plan says how it differs). With \
                  --conflict overwrite, existing users get the backup's display name, names, \
                  emails and other attributes (UpdateUser), groups its description, and \
                  permission sets its description, session duration, relay state, inline \
                  policy, AWS managed policies and customer managed policy references \
                  (detached and attached to match), boundary (put, replaced or deleted) and \
                  tags (UntagResource and TagResource to match); each overwritten permission \
                  set is then provisioned to the accounts it is provisioned to. AWS cannot \
                  clear a description, session duration or relay state: the plan lists such \
                  a change as left. Nothing is deleted unless \
                  --prune: then what AWS has and the backup lacks, within the resources \
                  restored, is deleted, assignments first, then memberships, permission \
                  sets, groups and users. --to-profile restores into the instance of another \
                  configured profile (a move, or disaster recovery): users match by user \
                  name, groups by display name, permission sets by name, accounts by id; an \
                  assignment whose account is not in that organization (or an instance with \
                  no organization) is skipped, with one warning per account, and counted in \
                  SkippedAccounts. --dry-run prints the plan, each change exactly (before -> \
                  after, as backup diff compares); otherwise it asks on a terminal (--yes \
                  without one). Items AWS refuses are reported with their reason and the \
                  rest go on (exit status 1).",
            args: &[ID],
            flags: &[
                FROM,
                Flag::value(
                    "resources",
                    "LIST",
                    "Comma-separated: some of users,groups,memberships,permission-sets,\
                     assignments the backup holds (default: all it holds).",
                ),
                Flag::value(
                    "conflict",
                    "MODE",
                    "What to do with an item that exists and differs: skip (leave it, the \
                     default) or overwrite (give it the backup's attributes).",
                )
                .choices(&["skip", "overwrite"]),
                Flag::switch(
                    "prune",
                    None,
                    "Also delete what AWS has and the backup lacks (within --resources).",
                ),
                Flag::value(
                    "to-profile",
                    "PROFILE",
                    "Restore into the instance of this configured profile instead.",
                ),
                Flag::switch("dry-run", None, "Print the plan; change nothing."),
                Flag::switch("yes", Some('y'), "Do not ask for confirmation."),
            ],
            examples: &[
                "backup restore 20261204T061500Z-3f9a0c --dry-run",
                "backup restore 20261204T061500Z-3f9a0c --from s3://my-backups/awsideman --yes",
                "backup restore 20261204T061500Z-3f9a0c --conflict overwrite --prune --dry-run",
                "backup restore 20261204T061500Z-3f9a0c --to-profile dr --yes",
            ],
            access: Access::Write,
            json: "{\"Id\", \"Profile\" (restored into), \"DryRun\": bool, \"Conflict\": \
                   \"skip\" | \"overwrite\", \"Prune\": bool, \"Counts\": {\"Create\", \
                   \"Update\", \"Delete\", \"Failed\"}, \"SkippedAccounts\": [{\"AccountId\", \
                   \"AccountName\", \"Assignments\"}], \"Steps\": [{\"Resource\", \"Key\", \
                   \"Action\": \"created\" | \"would create\" | \"updated\" | \"would \
                   update\" | \"deleted\" | \"would delete\" | \"exists\" | \"exists, differs \
                   (left as is)\" | \"skipped: REASON\" | \"failed\", \"Changes\": \
                   [{\"Field\", \"Before\" (AWS now), \"After\" (the backup)}], \"Detail\", \
                   \"Left\": [attributes not set], \"ProvisionedTo\": accounts, \"Error\"}], \
                   in the order of the restore: users, groups, permission sets, memberships, \
                   assignments, each sorted by key, then the deletes the other way round.",
            run: backup::restore,
        },
        Command {
            name: "delete",
            about: "Delete a backup",
            doc: "Deletes one backup. Asks on a terminal; without one, --yes is required.",
            args: &[ID],
            flags: &[
                FROM,
                Flag::switch("yes", Some('y'), "Do not ask for confirmation."),
            ],
            examples: &["backup delete 20261204T061500Z-3f9a0c --yes"],
            access: Access::Write,
            json: "{\"Id\", \"Deleted\": true, \"Location\"}.",
            run: backup::delete,
        },
        Command {
            name: "export",
            about: "Copy a backup to a file",
            doc: "Copies a backup, byte for byte, to a new file (mode 0600) after checking its \
                  checksum. An existing file is never replaced.",
            args: &[ID, Positional::required("FILE", "The new file.")],
            flags: &[FROM],
            examples: &["backup export 20261204T061500Z-3f9a0c ./iam-center.awsideman-backup"],
            access: Access::Write,
            json: "{\"Id\", \"File\", \"Size\": bytes}.",
            run: backup::export,
        },
        Command {
            name: "import",
            about: "Copy a backup file into a place",
            doc: "Checks a backup file (checksum, format, and that it decrypts when sealed) \
                  and stores it under its id. A backup of the same id is never replaced.",
            args: &[Positional::required(
                "FILE",
                "A backup file (from backup export).",
            )],
            flags: &[TO],
            examples: &[
                "backup import ./iam-center.awsideman-backup",
                "backup import ./iam-center.awsideman-backup --to s3://my-backups/awsideman",
            ],
            access: Access::Write,
            json: "{\"Id\", \"Location\"}.",
            run: backup::import,
        },
    ],
};
