//! `--help` text for the top level, a group and a command, generated from the command table.
//!
//! Plain text, wrapped at 80 columns, the same for the same table: no terminal queries, no
//! colour, nothing read from the environment.

use crate::cli::spec::GLOBAL_FLAGS;
use crate::cli::spec::{Command, Flag, Group, Positional, path_words};

/// The label of usage lines.
const USAGE: &str = "Usage: ";
/// The width help text is wrapped to.
const WIDTH: usize = 80;
/// The widest left column of a two-column list before its text moves to the next line.
const MAX_LEFT: usize = 26;

/// The top-level help: usage, the groups, the global options.
pub(crate) fn top(groups: &[Group]) -> String {
    let mut out = String::new();
    push_wrapped(
        &mut out,
        &format!(
            "awsideman {}: {}",
            env!("CARGO_PKG_VERSION"),
            env!("CARGO_PKG_DESCRIPTION")
        ),
        0,
    );
    out.push('\n');
    push_usage(
        &mut out,
        USAGE,
        &[
            "awsideman",
            "[GLOBAL OPTIONS]",
            "<GROUP>",
            "<COMMAND>",
            "[ARGS]",
        ],
    );
    push_usage(
        &mut out,
        "       ",
        &["awsideman", "help", "[GROUP [COMMAND]]"],
    );
    out.push_str("\nGroups:\n");
    let rows: Vec<(String, String)> = groups
        .iter()
        .map(|g| (g.name.to_string(), g.about.to_string()))
        .collect();
    push_columns(&mut out, &rows);
    push_globals(&mut out, &[]);
    out.push_str("\nRun 'awsideman <group> --help' for more.\n");
    out
}

/// The help of a group (`path` leads to it, itself last): its commands and the groups in
/// it.
pub(crate) fn group(path: &[&Group]) -> String {
    let Some(group) = path.last() else {
        return String::new();
    };
    let words = path_words(path);
    let mut out = String::new();
    push_wrapped(&mut out, group.about, 0);
    out.push('\n');
    push_usage(
        &mut out,
        USAGE,
        &[
            "awsideman",
            &words,
            "<COMMAND>",
            "[ARGS]",
            "[GLOBAL OPTIONS]",
        ],
    );
    if !group.commands.is_empty() {
        out.push_str("\nCommands:\n");
        let rows: Vec<(String, String)> = group
            .commands
            .iter()
            .map(|c| (c.name.to_string(), c.about.to_string()))
            .collect();
        push_columns(&mut out, &rows);
    }
    if !group.groups.is_empty() {
        out.push_str("\nGroups:\n");
        let rows: Vec<(String, String)> = group
            .groups
            .iter()
            .map(|g| (g.name.to_string(), g.about.to_string()))
            .collect();
        push_columns(&mut out, &rows);
    }
    out.push('\n');
    push_wrapped(
        &mut out,
        &format!(
            "Run 'awsideman {words} <command> --help' for more, 'awsideman --help' for the \
             global options."
        ),
        0,
    );
    out
}

/// The help of a command (`path` leads to it): usage, description, arguments, flags, global
/// options, examples.
pub(crate) fn command(path: &[&Group], command: &Command) -> String {
    let mut out = String::new();
    push_wrapped(&mut out, command.about, 0);
    out.push('\n');
    let mut usage = vec![
        "awsideman".to_string(),
        path_words(path),
        command.name.to_string(),
    ];
    usage.extend(usage_items(command).iter().map(UsageItem::plain));
    usage.push("[GLOBAL OPTIONS]".to_string());
    let usage: Vec<&str> = usage.iter().map(String::as_str).collect();
    push_usage(&mut out, USAGE, &usage);
    for block in blocks(command.doc) {
        out.push('\n');
        match block {
            Block::Prose(text) => push_wrapped(&mut out, &text, 0),
            Block::Verbatim(lines) => {
                for line in lines {
                    out.push_str(line.trim_end());
                    out.push('\n');
                }
            }
        }
    }
    if !command.args.is_empty() {
        out.push_str("\nArguments:\n");
        let rows: Vec<(String, String)> = command
            .args
            .iter()
            .map(|a| (positional_usage(a), positional_about(a)))
            .collect();
        push_columns(&mut out, &rows);
    }
    if !command.flags.is_empty() {
        out.push_str("\nOptions:\n");
        push_columns(&mut out, &flag_rows(command.flags));
    }
    push_globals(&mut out, command.flags);
    if !command.examples.is_empty() {
        out.push_str("\nExamples:\n");
        for example in command.examples {
            out.push_str(&format!("  awsideman {example}\n"));
        }
    }
    out
}

/// The "Global options:" section, without those the command's own `flags` shadow.
fn push_globals(out: &mut String, flags: &[Flag]) {
    out.push_str("\nGlobal options:\n");
    let globals: Vec<&Flag> = unshadowed_globals(flags).collect();
    let rows: Vec<(String, String)> = globals
        .iter()
        .map(|f| (flag_left(f), flag_about(f)))
        .collect();
    push_columns(out, &rows);
}

/// The global flags a command with `flags` still accepts under their long name: those
/// whose long name it does not reuse for a flag of its own.
pub(crate) fn unshadowed_globals(flags: &[Flag]) -> impl Iterator<Item = &'static Flag> {
    GLOBAL_FLAGS
        .iter()
        .filter(move |g| !flags.iter().any(|f| f.long == g.long))
}

/// Two-column rows for flags: `-p, --profile NAME` and the description with its notes.
fn flag_rows(flags: &[Flag]) -> Vec<(String, String)> {
    flags
        .iter()
        .map(|f| (flag_left(f), flag_about(f)))
        .collect()
}

/// `-p, --profile NAME`, or `    --region REGION` without a short name.
pub(crate) fn flag_left(flag: &Flag) -> String {
    let short = flag
        .short
        .map(|c| format!("-{c}, "))
        .unwrap_or_else(|| "    ".to_string());
    format!("{short}{}", flag_usage(flag))
}

/// `--profile NAME`, or `--yes` for a switch.
pub(crate) fn flag_usage(flag: &Flag) -> String {
    match flag.value {
        Some(value) => format!("--{} {value}", flag.long),
        None => format!("--{}", flag.long),
    }
}

/// The flag's description followed by its choices and whether it is required or repeatable.
pub(crate) fn flag_about(flag: &Flag) -> String {
    let mut about = flag.about.to_string();
    if !flag.choices.is_empty() {
        about.push_str(&format!(" [choices: {}]", flag.choices.join(", ")));
    }
    if flag.required {
        about.push_str(" (required)");
    }
    if flag.multiple {
        about.push_str(" (repeatable)");
    }
    if flag.shadows_global {
        about.push_str(&format!(
            " (this command's own; the global --{} goes before the command)",
            flag.long
        ));
    }
    about
}

/// `USER`, `[USER]`, `USER...` or `[USER]...`.
pub(crate) fn positional_usage(arg: &Positional) -> String {
    let name = if arg.required {
        arg.name.to_string()
    } else {
        format!("[{}]", arg.name)
    };
    if arg.multiple {
        format!("{name}...")
    } else {
        name
    }
}

/// The argument's description followed by whether it is optional or takes several values.
pub(crate) fn positional_about(arg: &Positional) -> String {
    let mut about = arg.about.to_string();
    if !arg.required {
        about.push_str(" (optional)");
    }
    if arg.multiple {
        about.push_str(" (one or more)");
    }
    about
}

/// One element of a command's usage line.
pub(crate) enum UsageItem<'a> {
    /// A positional argument.
    Arg(&'a Positional),
    /// A flag.
    Flag(&'a Flag),
}

impl UsageItem<'_> {
    /// The element as plain text: `USER`, `--username NAME`, `[--email EMAIL]`, `[--tag T]...`.
    pub(crate) fn plain(&self) -> String {
        match self {
            UsageItem::Arg(a) => positional_usage(a),
            UsageItem::Flag(f) => decorate(flag_usage(f), f),
        }
    }
}

/// A command's usage line in order: its arguments, required flags, then optional flags.
pub(crate) fn usage_items(command: &Command) -> Vec<UsageItem<'_>> {
    let mut items: Vec<UsageItem<'_>> = command.args.iter().map(UsageItem::Arg).collect();
    items.extend(
        command
            .flags
            .iter()
            .filter(|f| f.required)
            .map(UsageItem::Flag),
    );
    items.extend(
        command
            .flags
            .iter()
            .filter(|f| !f.required)
            .map(UsageItem::Flag),
    );
    items
}

/// A paragraph of a description.
pub(crate) enum Block<'a> {
    /// Running text, its lines joined by single spaces, to be wrapped.
    Prose(String),
    /// Lines shown as written (the paragraph's first line was indented).
    Verbatim(Vec<&'a str>),
}

/// Splits a description into paragraphs at blank lines. A paragraph whose first line starts
/// with whitespace is kept verbatim; any other is running text.
pub(crate) fn blocks(text: &str) -> Vec<Block<'_>> {
    let mut paragraphs: Vec<Vec<&str>> = vec![Vec::new()];
    for line in text.lines() {
        match paragraphs.last_mut() {
            Some(current) if !line.trim().is_empty() => current.push(line),
            Some(current) if current.is_empty() => {}
            _ => paragraphs.push(Vec::new()),
        }
    }
    paragraphs
        .into_iter()
        .filter(|lines| !lines.is_empty())
        .map(|lines| {
            if lines[0].starts_with([' ', '\t']) {
                Block::Verbatim(lines)
            } else {
                let words: Vec<&str> = lines.iter().flat_map(|l| l.split_whitespace()).collect();
                Block::Prose(words.join(" "))
            }
        })
        .collect()
}

/// Greedy word wrap of `text` into lines of at most `width` characters (a longer word gets a
/// line of its own).
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// `text` wrapped to the help width, each line indented by `indent` spaces.
fn push_wrapped(out: &mut String, text: &str, indent: usize) {
    for line in wrap(text, WIDTH - indent) {
        out.push_str(&" ".repeat(indent));
        out.push_str(&line);
        out.push('\n');
    }
}

/// `label` (`Usage: `) and the items, wrapped with continuation lines indented under the
/// second item. Each item stays whole on a line.
fn push_usage(out: &mut String, label: &str, items: &[&str]) {
    let indent = label.len() + "awsideman ".len();
    let mut line = label.to_string();
    for (i, item) in items.iter().enumerate() {
        if i == 0 {
            // The label ends with its own space.
        } else if line.chars().count() + 1 + item.chars().count() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = " ".repeat(indent);
        } else {
            line.push(' ');
        }
        line.push_str(item);
    }
    out.push_str(&line);
    out.push('\n');
}

/// An aligned two-column list, indented by two spaces, the right column wrapped.
fn push_columns(out: &mut String, rows: &[(String, String)]) {
    let left_width = rows
        .iter()
        .map(|(left, _)| left.chars().count())
        .filter(|&w| w <= MAX_LEFT)
        .max()
        .unwrap_or(0);
    let text_indent = 2 + left_width + 2;
    for (left, right) in rows {
        let lines = wrap(right, WIDTH - text_indent);
        let left_len = left.chars().count();
        out.push_str("  ");
        out.push_str(left);
        let mut rest = lines.iter();
        if left_len <= left_width
            && let Some(first) = rest.next()
        {
            out.push_str(&" ".repeat(text_indent - 2 - left_len));
            out.push_str(first);
        }
        out.push('\n');
        for line in rest {
            out.push_str(&" ".repeat(text_indent));
            out.push_str(line);
            out.push('\n');
        }
    }
}

/// A flag's usage in brackets when optional and with `...` when repeatable.
pub(crate) fn decorate(usage: String, flag: &Flag) -> String {
    let usage = if flag.required {
        usage
    } else {
        format!("[{usage}]")
    };
    if flag.multiple {
        format!("{usage}...")
    } else {
        usage
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::parse::test_table::GROUPS;

    fn assert_fits(text: &str) {
        for line in text.lines() {
            assert!(line.chars().count() <= WIDTH, "too wide: {line:?}");
            assert_eq!(line, line.trim_end(), "trailing space: {line:?}");
        }
    }

    #[test]
    fn top_lists_groups_and_globals() {
        let text = top(GROUPS);
        assert_fits(&text);
        assert!(text.contains("Usage: awsideman [GLOBAL OPTIONS] <GROUP> <COMMAND> [ARGS]\n"));
        assert!(
            text.contains("\n  user     Identity Store users\n"),
            "{text}"
        );
        assert!(
            text.contains("\n  group    Identity Store groups\n"),
            "{text}"
        );
        assert!(text.contains("\n  profile  Named settings\n"), "{text}");
        for flag in GLOBAL_FLAGS {
            assert!(text.contains(&format!("--{}", flag.long)), "{text}");
        }
        assert!(text.contains("-o, --output FORMAT"), "{text}");
        assert!(text.contains("[choices: table, json, text, csv]"), "{text}");
        assert!(text.ends_with("Run 'awsideman <group> --help' for more.\n"));
        assert_eq!(text, top(GROUPS), "deterministic");
    }

    #[test]
    fn group_lists_commands() {
        let text = group(&[&GROUPS[0]]);
        assert_fits(&text);
        assert!(text.starts_with("Identity Store users\n\nUsage: awsideman user <COMMAND>"));
        assert!(
            text.contains(
                "\n  list    List users\n  get     Show a user\n  create  Create a user\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn command_has_usage_doc_flags_and_examples() {
        let text = command(&[&GROUPS[0]], &GROUPS[0].commands[2]);
        assert_fits(&text);
        let want_usage = "Usage: awsideman user create --username NAME --display-name NAME [--email EMAIL]\n\
                          \x20                [--tag KEY=VALUE]... [--status STATUS] [--input FILE] [--yes]\n\
                          \x20                [GLOBAL OPTIONS]\n";
        assert!(text.contains(want_usage), "{text}");
        assert!(
            text.contains("Creates a user in the identity store."),
            "{text}"
        );
        assert!(text.contains("    --username NAME"), "{text}");
        assert!(text.contains("The user name. (required)"), "{text}");
        assert!(text.contains("-e, --email EMAIL"), "{text}");
        assert!(
            text.contains("A tag; repeat for more. (repeatable)"),
            "{text}"
        );
        assert!(
            text.contains("Initial status. [choices: active, disabled]"),
            "{text}"
        );
        assert!(text.contains("Global options:"), "{text}");
        assert!(
            text.contains("Examples:\n  awsideman user create --username alice"),
            "{text}"
        );
    }

    #[test]
    fn command_arguments() {
        let text = command(&[&GROUPS[1]], &GROUPS[1].commands[0]);
        assert!(
            text.contains("Usage: awsideman group add-member GROUP USER... [GLOBAL OPTIONS]\n"),
            "{text}"
        );
        assert!(text.contains("Arguments:\n  GROUP    Group id or name.\n  USER...  User ids or names. (one or more)\n"), "{text}");
        assert!(!text.contains("\nOptions:"), "{text}");
    }

    #[test]
    fn shadowed_globals_are_not_listed() {
        let text = command(&[&GROUPS[2]], &GROUPS[2].commands[0]);
        assert!(!text.contains("-r, --region"), "{text}");
        assert!(
            text.contains("--region REGION  The profile's region."),
            "{text}"
        );
    }

    #[test]
    fn wrap_respects_width() {
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
        assert_eq!(
            wrap("averyveryverylongword x", 5),
            ["averyveryverylongword", "x"]
        );
        assert_eq!(wrap("", 10), Vec::<String>::new());
    }

    #[test]
    fn columns_align_and_wrap() {
        let mut out = String::new();
        let long = "word ".repeat(30);
        push_columns(
            &mut out,
            &[
                ("a".into(), "short".into()),
                ("bbb".into(), long.clone()),
                ("x".repeat(30), "next line".into()),
            ],
        );
        assert_fits(&out);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "  a    short");
        assert!(lines[1].starts_with("  bbb  word word"));
        assert!(lines[2].starts_with("       word"));
        assert_eq!(lines[lines.len() - 2], format!("  {}", "x".repeat(30)));
        assert_eq!(lines[lines.len() - 1], "       next line");
    }

    #[test]
    fn blocks_split_paragraphs() {
        let b = blocks("one\ntwo\n\n  code\n    more\n\nthree");
        assert_eq!(b.len(), 3);
        assert!(matches!(&b[0], Block::Prose(t) if t == "one two"));
        assert!(matches!(&b[1], Block::Verbatim(l) if l == &["  code", "    more"]));
        assert!(matches!(&b[2], Block::Prose(t) if t == "three"));
        assert!(blocks("").is_empty());
    }
}
