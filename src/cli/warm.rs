//! `cache warm`: runs read commands, given as command lines, so their answers are cached.
//! It parses and runs other commands, so it lives with the parser and the table.

use serde_json::json;

use crate::cli::parse::{Parsed, declared_names, parse};
use crate::cli::spec::{Access, Command, path_words};
use crate::cli::table::GROUPS;
use crate::commands::Context;
use crate::commands::args::Matches;
use crate::commands::fanout::StatusLine;
use crate::error::{Error, Result};
use crate::output::Report;

/// The commands `cache warm --all` runs first; `group members` then runs for every group.
const WARM_ALL: &[&str] = &[
    "user list",
    "group list",
    "permission-set list",
    "org tree",
    "assignment list",
];

/// `cache warm COMMAND... | --all`: runs read commands here so their answers are cached.
pub(crate) fn warm(ctx: &mut Context, m: &Matches) -> Result<Report> {
    if ctx.globals.no_cache {
        return Err(Error::usage(
            "cache warm: --no-cache leaves nothing to warm",
        ));
    }
    let mut commands: Vec<String> = m.args("COMMAND").to_vec();
    if m.switch("all") {
        commands.extend(WARM_ALL.iter().map(|c| c.to_string()));
    }
    if commands.is_empty() {
        return Err(Error::usage("cache warm: name commands to run, or --all"));
    }
    // Every command is checked before any runs.
    let parsed: Vec<_> = commands
        .iter()
        .map(|c| parse_read_command(c))
        .collect::<Result<_>>()?;
    let cache = ctx
        .client()?
        .cache()
        .ok_or_else(|| Error::usage("the cache is disabled (cache.enabled: false)"))?;
    if !cache.serves() {
        return Err(Error::runtime(
            "cache warm: the cache cannot store answers now (see the warning above)",
        ));
    }
    let before = cache.backend().stats()?;
    let line = StatusLine::new(ctx.globals.quiet);
    let mut ran = Vec::new();
    let mut group_ids = Vec::new();
    for ((command, matches), text) in parsed.into_iter().zip(&commands) {
        line.show(&format!("warming: {text}"));
        let report = (command.run)(ctx, &matches)
            .map_err(|e| e.context(format!("cache warm \"{text}\"")))?;
        if m.switch("all") && text == "group list" {
            group_ids = report.data.value()["Groups"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|g| {
                    let id = g["GroupId"].as_str()?.to_string();
                    let name = g["DisplayName"].as_str().unwrap_or(&id).to_string();
                    Some((id, name))
                })
                .collect();
        }
        ran.push(text.clone());
    }
    let (members, group_arg) = group_members_command()?;
    let groups = group_ids.len();
    for (n, (id, name)) in group_ids.into_iter().enumerate() {
        let text = format!("group members {id}");
        // People read names; the progress line escapes what a directory may hold.
        line.show(&format!(
            "warming: members of group {} ({} of {groups} groups)",
            crate::printable::message(&name, 80),
            n + 1
        ));
        let mut matches = Matches::declared(declared_names(members));
        matches.push_positional(group_arg, id);
        (members.run)(ctx, &matches).map_err(|e| e.context(format!("cache warm \"{text}\"")))?;
        ran.push(text);
    }
    let cache = ctx
        .client()?
        .cache()
        .ok_or_else(|| Error::runtime("cache closed"))?;
    let after = cache.backend().stats()?;
    let added = after.entries.saturating_sub(before.entries);
    let bytes = after.bytes.saturating_sub(before.bytes);
    Ok(Report::message(
        json!({"commands": ran, "entriesAdded": added, "bytesAdded": bytes, "entries": after.entries}),
        format!(
            "ran {} command(s): {added} entries added ({bytes} bytes); {} in the cache",
            ran.len(),
            after.entries
        ),
    ))
}

/// Parses one `cache warm` command line and refuses anything that is not a read.
fn parse_read_command(text: &str) -> Result<(&'static Command, Matches)> {
    let words = split_words(text)?;
    match parse(GROUPS, words.into_iter().map(Into::into)) {
        Ok(Parsed::Run {
            command,
            matches,
            groups,
            ..
        }) => {
            if command.access != Access::Read {
                return Err(Error::usage(format!(
                    "cache warm: \"{} {}\" is not a read command",
                    path_words(&groups),
                    command.name
                )));
            }
            Ok((command, matches))
        }
        Ok(_) => Err(Error::usage(format!(
            "cache warm: \"{text}\" is not a command"
        ))),
        Err(e) => Err(Error::usage(format!("cache warm \"{text}\": {e}"))),
    }
}

/// `group members` and the name of its group argument, from the table.
fn group_members_command() -> Result<(&'static Command, &'static str)> {
    GROUPS
        .iter()
        .filter(|g| g.name == "group")
        .flat_map(|g| g.commands)
        .find(|c| c.name == "members")
        .and_then(|c| c.args.first().map(|a| (c, a.name)))
        .ok_or_else(|| Error::runtime("cache warm: the command table has no group members"))
}

/// Splits a command line into words, honouring single and double quotes.
pub fn split_words(text: &str) -> Result<Vec<String>> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => current.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            (None, c) => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err(Error::usage(format!(
            "cache warm: unclosed quote in \"{text}\""
        )));
    }
    if in_word {
        words.push(current);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_with_quotes() {
        assert_eq!(
            split_words("user get 'Ann Lee'").unwrap(),
            ["user", "get", "Ann Lee"]
        );
        assert_eq!(
            split_words(r#"group get "" x"#).unwrap(),
            ["group", "get", "", "x"]
        );
        assert!(split_words("user get 'x").is_err());
    }

    #[test]
    fn warm_refuses_writes_and_unknown_commands() {
        assert!(parse_read_command("user list").is_ok());
        assert!(parse_read_command("config set cache.enabled false").is_err());
        assert!(parse_read_command("nope").is_err());
    }

    #[test]
    fn group_members_takes_the_group_as_its_first_argument() {
        let (command, arg) = group_members_command().unwrap();
        assert_eq!(command.access, Access::Read);
        assert!(command.args.iter().any(|a| a.name == arg));
    }
}
