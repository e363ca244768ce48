//! The AWS shared config files, `~/.aws/config` and `~/.aws/credentials`, read as the AWS CLI
//! reads them.
//!
//! INI format: `[section]` headers, `key = value` lines (`:` also separates, as in Python's
//! configparser), full-line comments starting with `#` or `;`, keys in lower case, values
//! trimmed. An indented line after a key continues it: under a key with an empty value
//! (`s3 =` followed by `  max_concurrent_requests = 10`) it is a sub-setting, stored as
//! `s3.max_concurrent_requests`; otherwise it is appended to the value on a new line.
//!
//! In the config file, profiles are `[default]` and `[profile NAME]` (`[profile default]`
//! beats `[default]`), SSO sessions `[sso-session NAME]`; other sections are ignored. In the
//! credentials file every `[NAME]` is a profile, and its values beat the config file's.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::env::Env;
use crate::error::{Error, Result};

/// The keys and values of one section.
type Section = BTreeMap<String, String>;

/// The merged content of the AWS config and credentials files.
#[derive(Clone, Default)]
pub(crate) struct SharedConfig {
    profiles: BTreeMap<String, Section>,
    sso_sessions: BTreeMap<String, Section>,
    config_label: String,
    credentials_label: String,
}

impl SharedConfig {
    /// Reads both files. A missing file is empty; an unreadable or malformed one is a
    /// configuration error naming the file (and the line).
    pub(crate) fn load(env: &Env) -> Result<SharedConfig> {
        let home = env.home();
        let config_path = config_file_path(env);
        let credentials_path = credentials_file_path(env);
        let config_text = read_optional(config_path.as_deref())?;
        let credentials_text = read_optional(credentials_path.as_deref())?;
        let config_label = label(config_path.as_deref(), home.as_deref(), "~/.aws/config");
        let credentials_label = label(
            credentials_path.as_deref(),
            home.as_deref(),
            "~/.aws/credentials",
        );
        SharedConfig::parse_labelled(
            &config_text,
            &config_label,
            &credentials_text,
            &credentials_label,
        )
    }

    #[cfg(test)]
    /// Parses the two files from text; for tests (errors name `~/.aws/config` and
    /// `~/.aws/credentials`).
    pub(crate) fn parse(config_text: &str, credentials_text: &str) -> Result<SharedConfig> {
        SharedConfig::parse_labelled(
            config_text,
            "~/.aws/config",
            credentials_text,
            "~/.aws/credentials",
        )
    }

    fn parse_labelled(
        config_text: &str,
        config_label: &str,
        credentials_text: &str,
        credentials_label: &str,
    ) -> Result<SharedConfig> {
        let mut shared = SharedConfig {
            config_label: config_label.to_string(),
            credentials_label: credentials_label.to_string(),
            ..SharedConfig::default()
        };
        let mut plain_default: Option<Section> = None;
        let mut profile_default: Option<Section> = None;
        for (header, section) in parse_ini(config_text, config_label)? {
            let target = if header == "default" {
                plain_default.get_or_insert_with(Section::new)
            } else if let Some(name) = named_section(&header, "profile") {
                if name == "default" {
                    profile_default.get_or_insert_with(Section::new)
                } else {
                    shared.profiles.entry(name).or_default()
                }
            } else if let Some(name) = named_section(&header, "sso-session") {
                shared.sso_sessions.entry(name).or_default()
            } else {
                continue;
            };
            target.extend(section);
        }
        if plain_default.is_some() || profile_default.is_some() {
            let default = shared.profiles.entry("default".to_string()).or_default();
            default.extend(plain_default.unwrap_or_default());
            default.extend(profile_default.unwrap_or_default());
        }
        for (header, section) in parse_ini(credentials_text, credentials_label)? {
            shared.profiles.entry(header).or_default().extend(section);
        }
        Ok(shared)
    }

    /// Whether either file has a section for `profile` (even an empty one).
    pub(crate) fn has_profile(&self, profile: &str) -> bool {
        self.profiles.contains_key(profile)
    }

    /// A profile's value for `key` (lower case); `None` when absent or empty.
    pub(crate) fn profile_value(&self, profile: &str, key: &str) -> Option<&str> {
        non_empty(self.profiles.get(profile)?.get(key))
    }

    /// A `[sso-session NAME]` section's value for `key`; `None` when absent or empty.
    pub(crate) fn sso_session_value(&self, session: &str, key: &str) -> Option<&str> {
        non_empty(self.sso_sessions.get(session)?.get(key))
    }

    /// Whether the config file has a `[sso-session NAME]` section.
    pub(crate) fn has_sso_session(&self, session: &str) -> bool {
        self.sso_sessions.contains_key(session)
    }

    /// Every profile name defined in either file, sorted.
    pub(crate) fn profile_names(&self) -> Vec<String> {
        self.profiles.keys().cloned().collect()
    }

    /// How the config file is named in messages (`~/.aws/config` or the override path).
    pub(crate) fn config_label(&self) -> &str {
        &self.config_label
    }

    /// How the credentials file is named in messages.
    pub(crate) fn credentials_label(&self) -> &str {
        &self.credentials_label
    }
}

/// Values are never printed: the credentials file holds secrets.
impl fmt::Debug for SharedConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = |map: &BTreeMap<String, Section>| -> BTreeMap<String, Vec<String>> {
            map.iter()
                .map(|(name, section)| (name.clone(), section.keys().cloned().collect()))
                .collect()
        };
        f.debug_struct("SharedConfig")
            .field("profiles", &keys(&self.profiles))
            .field("sso_sessions", &keys(&self.sso_sessions))
            .finish()
    }
}

/// The config file's path: `AWS_CONFIG_FILE`, else `~/.aws/config` (`None` without a home).
pub(crate) fn config_file_path(env: &Env) -> Option<PathBuf> {
    file_path(env, "AWS_CONFIG_FILE", "config")
}

/// The credentials file's path: `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`.
pub(crate) fn credentials_file_path(env: &Env) -> Option<PathBuf> {
    file_path(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials")
}

fn file_path(env: &Env, variable: &str, default_name: &str) -> Option<PathBuf> {
    match env.get(variable) {
        Some(path) => Some(expand_home(path, env.home().as_deref())),
        None => Some(env.home()?.join(".aws").join(default_name)),
    }
}

/// Expands a leading `~/` (or a lone `~`) with the home directory.
pub(crate) fn expand_home(path: &str, home: Option<&Path>) -> PathBuf {
    match (home, path) {
        (Some(home), "~") => home.to_path_buf(),
        (Some(home), _) if path.starts_with("~/") || path.starts_with("~\\") => {
            home.join(&path[2..])
        }
        _ => PathBuf::from(path),
    }
}

fn label(path: Option<&Path>, home: Option<&Path>, fallback: &str) -> String {
    let Some(path) = path else {
        return fallback.to_string();
    };
    if let Some(rest) = home.and_then(|home| path.strip_prefix(home).ok()) {
        return format!("~/{}", rest.display());
    }
    path.display().to_string()
}

fn read_optional(path: Option<&Path>) -> Result<String> {
    let Some(path) = path else {
        return Ok(String::new());
    };
    match crate::fsutil::read_file_at_most(path, 16 << 20) {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|_| Error::config(format!("{}: not valid UTF-8 text", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(Error::config(format!("reading {}: {e}", path.display()))),
    }
}

fn non_empty(value: Option<&String>) -> Option<&str> {
    value.map(String::as_str).filter(|v| !v.is_empty())
}

/// The NAME of a `[KIND NAME]` header (`profile`, `sso-session`), unquoted.
fn named_section(header: &str, kind: &str) -> Option<String> {
    let rest = header.strip_prefix(kind)?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let name = rest.trim();
    let name = name
        .strip_prefix('"')
        .and_then(|n| n.strip_suffix('"'))
        .or_else(|| name.strip_prefix('\'').and_then(|n| n.strip_suffix('\'')))
        .unwrap_or(name);
    (!name.is_empty()).then(|| name.to_string())
}

/// Splits INI text into sections in file order. `origin` names the file in errors.
fn parse_ini(text: &str, origin: &str) -> Result<Vec<(String, Section)>> {
    let mut sections: Vec<(String, Section)> = Vec::new();
    // The key the next indented line may continue, and its indentation.
    let mut last_key: Option<(String, usize)> = None;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        let error = |what: &str| Error::config(format!("{origin} line {line_no}: {what}"));
        if let (Some((key, key_indent)), Some((_, section))) = (&last_key, sections.last_mut())
            && indent > *key_indent
        {
            continue_value(section, key, trimmed);
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('[') {
            let Some(end) = rest.find(']') else {
                return Err(error("section header without a closing ']'"));
            };
            let after = rest[end + 1..].trim();
            if !(after.is_empty() || after.starts_with('#') || after.starts_with(';')) {
                return Err(error("unexpected text after the section header"));
            }
            let name = rest[..end].trim();
            if name.is_empty() {
                return Err(error("empty section name"));
            }
            sections.push((name.to_string(), Section::new()));
            last_key = None;
            continue;
        }
        let Some(split) = trimmed.find(['=', ':']) else {
            return Err(error(
                "expected \"key = value\", a [section] header or a comment",
            ));
        };
        let key = trimmed[..split].trim().to_ascii_lowercase();
        let value = trimmed[split + 1..].trim();
        if key.is_empty() {
            return Err(error("a setting without a name"));
        }
        let Some((_, section)) = sections.last_mut() else {
            return Err(error("a setting before any [section] header"));
        };
        section.insert(key.clone(), value.to_string());
        last_key = Some((key, indent));
    }
    Ok(sections)
}

/// Handles an indented line under `key`: a sub-setting when `key` has no value of its own
/// and the line is `name = value`, else a continuation of the value.
fn continue_value(section: &mut Section, key: &str, line: &str) {
    let parent_empty = section.get(key).is_none_or(String::is_empty);
    if parent_empty && let Some(split) = line.find(['=', ':']) {
        let sub = line[..split].trim().to_ascii_lowercase();
        if !sub.is_empty() {
            section.insert(format!("{key}.{sub}"), line[split + 1..].trim().to_string());
            return;
        }
    }
    let value = section.entry(key.to_string()).or_default();
    if !value.is_empty() {
        value.push('\n');
    }
    value.push_str(line);
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
# a comment
; another comment
[default]
region = eu-west-1
output=json

[profile dev]
region   =   us-west-2
Role_Arn = arn:aws:iam::123456789012:role/Dev
source_profile = default
s3 =
  max_concurrent_requests = 10
  max_queue_size = 1000
region_note: colon separated

[profile \"quoted name\"]
region = ap-south-1

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[services local]
dynamodb =
  endpoint_url = http://localhost:8000

[profilebroken]
region = nowhere
";

    const CREDENTIALS: &str = "\
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key = secret/default+key

[dev]
region = ca-central-1

[ci]
AWS_ACCESS_KEY_ID = AKIDCI
aws_secret_access_key = s
";

    #[test]
    fn sections_and_values() {
        let c = SharedConfig::parse(CONFIG, CREDENTIALS).unwrap();
        assert_eq!(c.profile_names(), ["ci", "default", "dev", "quoted name"]);
        assert_eq!(c.profile_value("default", "region"), Some("eu-west-1"));
        assert_eq!(c.profile_value("default", "output"), Some("json"));
        assert_eq!(
            c.profile_value("default", "aws_secret_access_key"),
            Some("secret/default+key")
        );
        assert_eq!(
            c.profile_value("dev", "role_arn"),
            Some("arn:aws:iam::123456789012:role/Dev")
        );
        assert_eq!(
            c.profile_value("dev", "s3.max_concurrent_requests"),
            Some("10")
        );
        assert_eq!(c.profile_value("dev", "s3"), None);
        assert_eq!(
            c.profile_value("dev", "region_note"),
            Some("colon separated")
        );
        assert_eq!(c.profile_value("quoted name", "region"), Some("ap-south-1"));
        assert_eq!(c.profile_value("ci", "aws_access_key_id"), Some("AKIDCI"));
        assert!(!c.has_profile("profilebroken"));
        assert!(!c.has_profile("local"));
        assert_eq!(c.profile_value("nobody", "region"), None);
    }

    #[test]
    fn credentials_file_beats_config_file() {
        let c = SharedConfig::parse(CONFIG, CREDENTIALS).unwrap();
        assert_eq!(c.profile_value("dev", "region"), Some("ca-central-1"));
        assert_eq!(c.profile_value("dev", "source_profile"), Some("default"));
    }

    #[test]
    fn sso_sessions() {
        let c = SharedConfig::parse(CONFIG, "").unwrap();
        assert!(c.has_sso_session("corp"));
        assert_eq!(
            c.sso_session_value("corp", "sso_start_url"),
            Some("https://corp.awsapps.com/start")
        );
        assert_eq!(
            c.sso_session_value("corp", "sso_registration_scopes"),
            Some("sso:account:access")
        );
        assert_eq!(c.sso_session_value("other", "sso_region"), None);
        assert!(!c.has_profile("corp"));
    }

    #[test]
    fn profile_default_beats_plain_default_and_empty_sections_count() {
        let config = "[profile default]\nregion = b\n[default]\nregion = a\noutput = text\n\
                      [profile empty]\n";
        let c = SharedConfig::parse(config, "").unwrap();
        assert_eq!(c.profile_value("default", "region"), Some("b"));
        assert_eq!(c.profile_value("default", "output"), Some("text"));
        assert!(c.has_profile("empty"));
    }

    #[test]
    fn continuation_lines_and_empty_values() {
        let config = "[default]\ncredential_process = tool\n  --flag\nregion =\n";
        let c = SharedConfig::parse(config, "").unwrap();
        assert_eq!(
            c.profile_value("default", "credential_process"),
            Some("tool\n--flag")
        );
        assert_eq!(c.profile_value("default", "region"), None);
        // An indented key right after a header is an ordinary key.
        let c = SharedConfig::parse("[default]\n  region = x\n  output = y\n", "").unwrap();
        assert_eq!(c.profile_value("default", "output"), Some("y"));
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let e = SharedConfig::parse("[default]\nregion = x\njunk line\n", "").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().starts_with("~/.aws/config line 3:"), "{e}");
        let e = SharedConfig::parse("", "key = before\n").unwrap_err();
        assert!(
            e.to_string().starts_with("~/.aws/credentials line 1:"),
            "{e}"
        );
        assert!(SharedConfig::parse("[default\n", "").is_err());
        assert!(SharedConfig::parse("[]\n", "").is_err());
        assert!(SharedConfig::parse("[default]\n= x\n", "").is_err());
    }

    #[test]
    fn debug_never_shows_values() {
        let c = SharedConfig::parse("", CREDENTIALS).unwrap();
        let shown = format!("{c:?}");
        assert!(shown.contains("aws_secret_access_key"));
        assert!(!shown.contains("secret/default+key"));
    }

    #[test]
    fn load_reads_override_paths_and_tolerates_missing_files() {
        let dir = crate::aws::credentials::test_support::TempDir::new("shared-config");
        let config = dir.path().join("cfg");
        std::fs::write(&config, "[profile x]\nregion = eu-north-1\n").unwrap();
        let env = Env::from_pairs([
            ("HOME", dir.path().to_str().unwrap()),
            ("AWS_CONFIG_FILE", "~/cfg"),
        ]);
        let c = SharedConfig::load(&env).unwrap();
        assert_eq!(c.profile_value("x", "region"), Some("eu-north-1"));
        assert_eq!(c.config_label(), "~/cfg");
        assert_eq!(c.credentials_label(), "~/.aws/credentials");

        std::fs::write(&config, "[profile x]\nbroken\n").unwrap();
        let e = SharedConfig::load(&env).unwrap_err();
        assert_eq!(
            e.to_string(),
            "~/cfg line 2: expected \"key = value\", a [section] header or a comment"
        );

        let env = Env::from_pairs([("AWS_SHARED_CREDENTIALS_FILE", dir.path().to_str().unwrap())]);
        let e = SharedConfig::load(&env).unwrap_err();
        assert!(e.to_string().starts_with("reading "), "{e}");

        let c = SharedConfig::load(&Env::default()).unwrap();
        assert!(c.profile_names().is_empty());
    }
}
