//! The reference documentation that is not about one command: configuration keys,
//! environment variables, exit status and files, assembled with the command table into the
//! man page. Everything here comes from tables (the config schema, the service table), so
//! `man/awsideman.1` stays complete when a key or service is added.

use super::man;
use super::spec::{COMMAND_ALIASES, FLAG_ALIASES};
use super::table::GROUPS;
use crate::aws::service::Service;
use crate::config::{SCHEMA, SECTIONS};

/// AWS environment variables awsideman honours, with what they do.
const AWS_ENVIRONMENT: &[(&str, &str)] = &[
    (
        "AWS_PROFILE",
        "AWS profile for credentials when the awsideman profile names none and --profile is \
         not given.",
    ),
    (
        "AWS_ACCOUNT_ID",
        "With keys in the environment: the account they belong to, naming the caller for the \
         cache without asking STS.",
    ),
    (
        "AWS_REGION, AWS_DEFAULT_REGION",
        "Region when neither --region nor the awsideman profile sets one.",
    ),
    (
        "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN",
        "Static credentials; first in the chain.",
    ),
    (
        "AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE",
        "Other paths for ~/.aws/config and ~/.aws/credentials.",
    ),
    (
        "AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN, AWS_ROLE_SESSION_NAME",
        "Web identity federation (EKS, GitHub Actions).",
    ),
    (
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "Container credentials (ECS, EKS Pod Identity).",
    ),
    (
        "AWS_EC2_METADATA_DISABLED",
        "true skips EC2 instance metadata (IMDSv2, 1 s timeout otherwise).",
    ),
    (
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        "Another address for the instance metadata service.",
    ),
    (
        "AWS_ENDPOINT_URL",
        "Endpoint for every service (e.g. a local emulator).",
    ),
    (
        "AWS_USE_FIPS_ENDPOINT",
        "true sends every request to the service's FIPS endpoint (profile key use_fips_endpoint; \
         the variable wins). A configured endpoint URL wins over it.",
    ),
    (
        "AWS_USE_DUALSTACK_ENDPOINT",
        "true sends every request to the service's dual-stack (IPv4 and IPv6) endpoint \
         (profile key use_dualstack_endpoint).",
    ),
    (
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
        "true ignores AWS_ENDPOINT_URL* and profile endpoint_url.",
    ),
    (
        "AWS_MAX_ATTEMPTS",
        "Attempts per request, the first included (default 3).",
    ),
    ("AWS_RETRY_MODE", "standard (default), adaptive or legacy."),
    ("AWS_CA_BUNDLE", "PEM file replacing the trusted TLS roots."),
    (
        "HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY",
        "Proxies (lower-case names too).",
    ),
    ("NO_COLOR", "No bold headers in tables."),
];

/// The whole man page.
pub fn man_page() -> String {
    man::render(
        GROUPS,
        &[
            ("CONFIGURATION", configuration()),
            ("ENVIRONMENT", environment()),
            ("EXIT STATUS", exit_status()),
            ("NAMES OF THE PYTHON AWSIDEMAN", python_names()),
            ("FILES", files()),
            ("SECURITY", security()),
            ("BACKUP FORMAT", backup_format()),
        ],
    )
}

fn configuration() -> String {
    let mut out = String::new();
    out.push_str(&man::prose(
        "The configuration file is YAML, with the same schema as the Python awsideman. \
         Precedence, highest first: command-line flags, AWSIDEMAN_* environment variables, \
         cache.profiles.<profile>, the cache section, defaults. An invalid value stops every \
         command with exit status 2 and a message naming the key.",
    ));
    out.push('\n');
    for section in SECTIONS {
        out.push_str(&format!(
            ".TP\n.B {}\n{}\n",
            man::code(section.key),
            man::prose(section.doc)
        ));
    }
    out.push_str(".SS Keys\n");
    for spec in SCHEMA {
        out.push_str(&format!(".TP\n.B {}\n", man::code(spec.key)));
        let mut text = format!(
            "{} Type: {}; default: {}.",
            spec.doc,
            spec.ty.doc_name(),
            spec.default
        );
        if !spec.env.is_empty() {
            text.push_str(&format!(" Environment: {}.", spec.env.join(", ")));
        }
        out.push_str(&man::prose(&text));
        out.push('\n');
    }
    out
}

fn environment() -> String {
    let mut out = String::new();
    let endpoint_vars: Vec<String> = Service::ALL
        .iter()
        .map(|s| format!("AWS_ENDPOINT_URL_{}", s.endpoint_env_suffix()))
        .collect();
    let endpoint_doc = format!(
        "Endpoint of one service, beating AWS_ENDPOINT_URL: {}.",
        endpoint_vars.join(", ")
    );
    let rows = AWS_ENVIRONMENT
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain([
            ("AWS_ENDPOINT_URL_<SERVICE>".to_string(), endpoint_doc),
            (
                "AWSIDEMAN_CONFIG_DIR".to_string(),
                "Directory of config.yaml and the caches (default ~/.awsideman).".to_string(),
            ),
            (
                "AWSIDEMAN_SSO_INSTANCE_ARN, AWSIDEMAN_IDENTITY_STORE_ID".to_string(),
                "The Identity Center instance and its identity store, winning over the \
                 profile's sso_instance_arn and identity_store_id (for CI jobs without a \
                 configuration file). Without them and without a configured instance, the \
                 first command finds the instance with one ListInstances when the account has \
                 exactly one (remembered in this machine's cache for the caller); with several \
                 it stops and lists them."
                    .to_string(),
            ),
            (
                "AWSIDEMAN_S3_ADDRESSING".to_string(),
                "path or virtual: how backups address S3 buckets. Default: virtual-hosted \
                 (bucket.s3.region.amazonaws.com) on AWS's hosts; path style \
                 (endpoint/bucket/key) with a configured endpoint URL (emulators) or a bucket \
                 name with dots."
                    .to_string(),
            ),
        ]);
    for (name, doc) in rows {
        out.push_str(&format!(
            ".TP\n.B {}\n{}\n",
            man::code(&name),
            man::prose(&doc)
        ));
    }
    out.push_str(&man::prose(
        "The AWSIDEMAN_* variables that override configuration keys are listed with their keys \
         under CONFIGURATION.",
    ));
    out.push('\n');
    out
}

/// The Python awsideman's names that are accepted, from the parser's alias tables.
fn python_names() -> String {
    let mut out = man::prose(
        "Commands and flags of the Python awsideman that are spelled differently here are \
         accepted under their old names: version (--version), info (sso info), clone --name \
         SOURCE --to NEW (permission-set clone), copy --from P --to P (assignment copy), and:",
    );
    out.push('\n');
    for (path, alias, ours) in COMMAND_ALIASES {
        out.push_str(&format!(
            ".TP\n.B {}\n{}\n",
            man::code(&format!("{path} {alias}")),
            man::prose(&format!("{path} {ours}"))
        ));
    }
    for (path, alias, ours) in FLAG_ALIASES {
        out.push_str(&format!(
            ".TP\n.B {}\n{}\n",
            man::code(&format!("{path} --{alias}")),
            man::prose(&format!("{path} --{ours}"))
        ));
    }
    out
}

fn exit_status() -> String {
    [
        ("0", "Success; also a confirmation answered no (awsideman: nothing changed, on standard error)."),
        ("1", "A run-time error: AWS refused or failed, something named was not found, the network or credentials failed."),
        ("2", "A usage or configuration error: bad arguments, an invalid configuration file or environment variable."),
        ("3", "Differences or problems found by a command that compares or checks (status check, backup diff): the answer, not a failure; the report is printed first."),
    ]
    .iter()
    .map(|(code, doc)| format!(".TP\n.B {code}\n{}\n", man::prose(doc)))
    .collect::<String>()
        + &man::prose(
            "Errors are printed as one line on standard error. A closed pipe on standard output ends quietly with status 0.",
        )
        + "\n"
}

/// The rules for local files, as README.md's Security section states them.
const SECURITY_RULES: &[(&str, &str)] = &[
    (
        "Trusted",
        "The directories awsideman keeps (the configuration directory, the cache directories, \
         the credentials cache) when each, from the configuration directory down, is a real \
         directory (not a link; the configuration directory itself may be one) owned by you or \
         root and not writable by group or others; in them, regular files of yours that others \
         cannot write. config.yaml and the key file may be links to such a file.",
    ),
    (
        "Repaired",
        "A directory of yours that group or others can write is set to 0700, with one note. A \
         shared sticky directory such as /tmp never is.",
    ),
    (
        "Refused",
        "A link where awsideman owns the name (cache entries, locks, temporary files, the audit \
         log), a directory or file of another user, anything others can write, a FIFO, socket, \
         device or directory where a file belongs (at once, without waiting on it), and a file \
         larger than it can be. A refused config or key file is exit status 2 naming the path \
         and the fix; a refused cache is a miss with one warning.",
    ),
    (
        "Locks",
        "Every wait for another awsideman's lock ends after cache.lock_timeout_ms (default \
         3000). Cache reads and writes take no lock; a store waiting for a change of the \
         cache's keys is skipped with one warning; key changes run one at a time, and one \
         waiting over two minutes for another exits 1 naming the process.",
    ),
    (
        "Cache keys",
        "An answer is served only to the caller it was read for: keys hash the caller's \
         identity (a role ARN, SSO account and role, account id or long-term access key id from \
         the configuration; with only temporary keys, the principal STS GetCallerIdentity names, \
         asked once per set of keys and remembered beside the cached credentials), the \
         profile's instance and identity store, the endpoint and the region. ListInstances is \
         never answered from a shared table. --debug prints the caller and namespace.",
    ),
    (
        "Shared caches",
        "Unencrypted entries carry a checksum, not a MAC: whoever can write the DynamoDB table \
         can forge what awsideman prints. Encryption authenticates every entry; cache status \
         and cache health warn when a dynamodb or hybrid cache runs without it.",
    ),
];

fn security() -> String {
    SECURITY_RULES
        .iter()
        .map(|(term, doc)| format!(".TP\n.B {}\n{}\n", man::code(term), man::prose(doc)))
        .collect()
}

/// The backup file and document, from the tables of the backup module.
fn backup_format() -> String {
    use crate::commands::backup::format::CONTAINER_DOC;
    use crate::commands::backup::snapshot::DOCUMENT_MEMBERS;
    let mut out = man::prose(CONTAINER_DOC);
    out.push('\n');
    for (member, doc) in DOCUMENT_MEMBERS {
        out.push_str(&format!(
            ".TP\n.B {}\n{}\n",
            man::code(member),
            man::prose(doc)
        ));
    }
    out
}

fn files() -> String {
    [
        ("~/.awsideman/config.yaml", "The configuration file (mode 0600, written atomically)."),
        ("~/.awsideman/credentials-cache/", "Temporary credentials from STS, SSO and credential_process, kept until five minutes before they expire (in the clear while cache encryption is off, sealed with the cache's keys while it is on, not kept with the kms key source), and who temporary keys belong to (mode 0600)."),
        ("~/.awsideman/cache/", "The file cache (directory 0700, entries 0600); cache.file_cache_dir moves it."),
        ("~/.awsideman/backups/", "Backups (backup create without --to; directory 0700, files 0600, one <id>.awsideman-backup each)."),
        ("~/.awsideman/audit.log", "The audit log: one JSON line per key, encryption, migration, clear and table event (mode 0600); cache.audit_log moves it."),
        ("~/.aws/config, ~/.aws/credentials", "AWS profiles, read for credentials, region and endpoint_url."),
        ("~/.aws/sso/cache/", "IAM Identity Center tokens written by 'aws sso login'."),
    ]
    .iter()
    .map(|(path, doc)| format!(".TP\n.B {}\n{}\n", man::code(path), man::prose(doc)))
    .collect()
}
