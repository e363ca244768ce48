//! Reading a template file: the Python awsideman's YAML template format (`metadata`, then
//! `assignments`, each naming `entities`, `permission_sets` and `targets`), with `ous` targets
//! added. Reading checks the structure only; names are resolved by the plan.
//!
//! Every problem is kept with the line it is on, so `templates validate` reports them all at
//! once rather than the first.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::client::shapes::PrincipalType;
use crate::error::{Error, Result};

/// The largest template read, in bytes: a template lists names, not data.
pub(crate) const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Something wrong with a template, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// The line in the file, when known.
    pub(crate) line: Option<u64>,
    /// Where in the template: `assignments[2].permission_sets[0]`.
    pub(crate) place: String,
    /// What is wrong.
    pub(crate) message: String,
}

impl Problem {
    pub(crate) fn at(line: u64, place: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            line: Some(line),
            place: place.into(),
            message: message.into(),
        }
    }

    /// The problem in one line: `line 7, assignments[1].entities[0]: ...`.
    pub(crate) fn one_line(&self) -> String {
        match self.line {
            Some(line) => format!("line {line}, {}: {}", self.place, self.message),
            None => format!("{}: {}", self.place, self.message),
        }
    }
}

/// A value written in the template, with its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Written {
    /// The text as written (trimmed).
    pub(crate) text: String,
    /// Its line in the file.
    pub(crate) line: u64,
    /// Where in the template it is.
    pub(crate) place: String,
}

/// The template's `metadata`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Metadata {
    pub(crate) name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) author: Option<String>,
}

/// One entry of `assignments`: every entity gets every permission set on every target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Entry {
    /// 1-based position in `assignments`.
    pub(crate) number: usize,
    /// The line it starts on.
    pub(crate) line: u64,
    /// `user:NAME` / `group:NAME`, split.
    pub(crate) entities: Vec<(PrincipalType, Written)>,
    /// Permission set names or ARNs.
    pub(crate) permission_sets: Vec<Written>,
    /// Accounts by id or name.
    pub(crate) account_ids: Vec<Written>,
    /// Accounts carrying every one of these tags (key, value).
    pub(crate) account_tags: Vec<(String, Written)>,
    /// Every account below these roots or OUs, at any depth (`Root/Engineering`, `ou-...`).
    pub(crate) ous: Vec<Written>,
    /// Accounts left out whatever selected them, by id or name.
    pub(crate) exclude_accounts: Vec<Written>,
}

impl Entry {
    /// `assignments[N]` as the problems name it (0-based, like a YAML path).
    pub(crate) fn place(&self) -> String {
        format!("assignments[{}]", self.number - 1)
    }
}

/// A template as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Template {
    pub(crate) metadata: Metadata,
    pub(crate) entries: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    metadata: Option<RawMetadata>,
    #[serde(default)]
    assignments: Option<Vec<Spanned<RawEntry>>>,
}

/// Metadata keys besides these four (the Python tool writes timestamps) are ignored.
#[derive(Deserialize, Default)]
struct RawMetadata {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    author: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    #[serde(default)]
    entities: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    permission_sets: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    targets: Option<RawTargets>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTargets {
    #[serde(default)]
    account_ids: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    account_tags: Option<BTreeMap<String, Spanned<String>>>,
    #[serde(default, alias = "ou")]
    ous: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    exclude_accounts: Option<Vec<Spanned<String>>>,
}

/// Reads the template at `path` (`-`: standard input). An unreadable file is an error; a
/// readable one gives the template and its problems (none when it is well formed).
pub(crate) fn read(path: &str) -> Result<(Template, Vec<Problem>)> {
    let text = crate::fsutil::read_input_text(path, MAX_FILE_BYTES)
        .map_err(|e| Error::usage(format!("reading {path}: {e}")))?;
    Ok(parse(&text))
}

/// The template in `text`, and every problem of its structure.
pub(crate) fn parse(text: &str) -> (Template, Vec<Problem>) {
    let options = serde_saphyr::options! { leading_zero_numbers_as_strings: true };
    let raw: RawFile = match serde_saphyr::from_str_with_options(text, options) {
        Ok(raw) => raw,
        Err(e) => {
            let line = e.location().map(|l| l.line());
            let problem = Problem {
                line,
                place: "file".to_string(),
                message: format!("not a template: {}", e.without_snippet()),
            };
            return (Template::default(), vec![problem]);
        }
    };
    let mut problems = Vec::new();
    let meta = raw.metadata.unwrap_or_default();
    let metadata = Metadata {
        name: meta.name,
        description: meta.description,
        version: meta.version,
        author: meta.author,
    };
    if metadata.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        problems.push(Problem {
            line: None,
            place: "metadata.name".to_string(),
            message: "missing: a template has a name".to_string(),
        });
    }
    let raw_entries = raw.assignments.unwrap_or_default();
    if raw_entries.is_empty() {
        problems.push(Problem {
            line: None,
            place: "assignments".to_string(),
            message: "missing or empty: a template lists at least one assignment".to_string(),
        });
    }
    let entries = raw_entries
        .into_iter()
        .enumerate()
        .map(|(i, raw)| entry(i + 1, raw, &mut problems))
        .collect();
    (Template { metadata, entries }, problems)
}

fn entry(number: usize, raw: Spanned<RawEntry>, problems: &mut Vec<Problem>) -> Entry {
    let line = raw.referenced.line();
    let mut entry = Entry {
        number,
        line,
        ..Entry::default()
    };
    let here = entry.place();
    let raw = raw.value;
    let list = |values: Option<Vec<Spanned<String>>>, key: &str, problems: &mut Vec<Problem>| {
        values
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .filter_map(|(i, v)| {
                let written = Written {
                    text: v.value.trim().to_string(),
                    line: v.referenced.line(),
                    place: format!("{here}.{key}[{i}]"),
                };
                if written.text.is_empty() {
                    problems.push(Problem::at(written.line, &written.place, "empty value"));
                    return None;
                }
                Some(written)
            })
            .collect::<Vec<Written>>()
    };
    let entities = list(raw.entities, "entities", problems);
    for written in entities {
        match split_entity(&written.text) {
            Ok((kind, name)) => entry.entities.push((
                kind,
                Written {
                    text: name.to_string(),
                    ..written
                },
            )),
            Err(why) => problems.push(Problem::at(written.line, &written.place, why)),
        }
    }
    entry.permission_sets = list(raw.permission_sets, "permission_sets", problems);
    if entry.entities.is_empty() && !problems.iter().any(|p| p.place.starts_with(&here)) {
        problems.push(Problem::at(
            line,
            format!("{here}.entities"),
            "missing or empty: list \"user:NAME\" or \"group:NAME\"",
        ));
    }
    if entry.permission_sets.is_empty() {
        problems.push(Problem::at(
            line,
            format!("{here}.permission_sets"),
            "missing or empty: list permission set names or ARNs",
        ));
    }
    match raw.targets {
        None => problems.push(Problem::at(
            line,
            format!("{here}.targets"),
            "missing: give account_ids, account_tags or ous",
        )),
        Some(t) => {
            let has_tags = t.account_tags.as_ref().is_some_and(|m| !m.is_empty());
            entry.account_ids = list(t.account_ids, "targets.account_ids", problems);
            entry.ous = list(t.ous, "targets.ous", problems);
            entry.exclude_accounts = list(t.exclude_accounts, "targets.exclude_accounts", problems);
            for (key, value) in t.account_tags.unwrap_or_default() {
                let place = format!("{here}.targets.account_tags.{key}");
                if key.trim().is_empty() {
                    problems.push(Problem::at(value.referenced.line(), place, "empty tag key"));
                    continue;
                }
                entry.account_tags.push((
                    key,
                    Written {
                        text: value.value,
                        line: value.referenced.line(),
                        place,
                    },
                ));
            }
            if entry.account_ids.is_empty() && entry.ous.is_empty() && !has_tags {
                problems.push(Problem::at(
                    line,
                    format!("{here}.targets"),
                    "selects nothing: give account_ids, account_tags or ous",
                ));
            }
        }
    }
    entry
}

/// `user:NAME` or `group:NAME` (either prefix in any case).
fn split_entity(text: &str) -> std::result::Result<(PrincipalType, &str), String> {
    let (kind, name) = text
        .split_once(':')
        .ok_or_else(|| format!("\"{text}\" is not \"user:NAME\" or \"group:NAME\""))?;
    let kind = match kind.trim().to_ascii_lowercase().as_str() {
        "user" => PrincipalType::User,
        "group" => PrincipalType::Group,
        other => {
            return Err(format!(
                "unknown entity type \"{other}\" (expected user or group)"
            ));
        }
    };
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("\"{text}\" names no one"));
    }
    Ok((kind, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PYTHON_EXAMPLE: &str = "\
metadata:
  name: developer-access
  description: Developer access to development accounts
  version: 1.0
  author: platform-team
assignments:
  - entities:
      - user:john.doe
      - group:Developers
    permission_sets:
      - DeveloperAccess
      - arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-1234567890abcdef
    targets:
      account_ids:
        - 123456789012
        - 012345678901
      exclude_accounts: [999999999999]
  - entities: [group:Auditors]
    permission_sets: [ReadOnlyAccess]
    targets:
      account_tags:
        Environment: production
        CostCenter: 1234
      ous: [Root/Engineering]
";

    #[test]
    fn the_python_tools_template_reads() {
        let (t, problems) = parse(PYTHON_EXAMPLE);
        assert_eq!(problems, vec![]);
        assert_eq!(t.metadata.name.as_deref(), Some("developer-access"));
        assert_eq!(t.metadata.version.as_deref(), Some("1.0"));
        assert_eq!(t.entries.len(), 2);
        let first = &t.entries[0];
        assert_eq!(first.line, 7);
        assert_eq!(first.entities[1].0, PrincipalType::Group);
        assert_eq!(first.entities[1].1.text, "Developers");
        assert_eq!(first.entities[1].1.line, 9);
        let ids: Vec<&str> = first.account_ids.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(ids, ["123456789012", "012345678901"]);
        assert_eq!(first.exclude_accounts[0].text, "999999999999");
        let second = &t.entries[1];
        let tags: Vec<(&str, &str)> = second
            .account_tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.text.as_str()))
            .collect();
        assert_eq!(
            tags,
            [("CostCenter", "1234"), ("Environment", "production")]
        );
        assert_eq!(second.ous[0].text, "Root/Engineering");
        assert_eq!(second.ous[0].line, 24);
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let text = "\
assignments:
  - entities: [alice, 'robot:x', 'user:']
    permission_sets: []
    targets: {}
  - entities: [user:bob]
";
        let (_, problems) = parse(text);
        let lines: Vec<String> = problems.iter().map(Problem::one_line).collect();
        let expect = [
            "metadata.name: missing",
            "line 2, assignments[0].entities[0]: \"alice\" is not",
            "line 2, assignments[0].entities[1]: unknown entity type \"robot\"",
            "line 2, assignments[0].entities[2]: \"user:\" names no one",
            "line 2, assignments[0].permission_sets: missing or empty",
            "line 2, assignments[0].targets: selects nothing",
            "line 5, assignments[1].permission_sets: missing or empty",
            "line 5, assignments[1].targets: missing",
        ];
        assert_eq!(lines.len(), expect.len(), "{lines:#?}");
        for (line, expect) in lines.iter().zip(expect) {
            assert!(line.starts_with(expect), "{line} / {expect}");
        }
        let (_, unknown) = parse("metadata: {name: x}\nassignments:\n  - entity: [user:a]\n");
        assert_eq!(unknown.len(), 1);
        assert_eq!(unknown[0].line, Some(3), "{unknown:?}");
        assert!(unknown[0].message.contains("entity"), "{unknown:?}");
    }
}
