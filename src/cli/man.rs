//! The man page `awsideman(1)`, in roff, generated from the command table.
//!
//! The page depends only on the table, the crate version and the sections passed in: no date,
//! nothing from the environment, so the committed `man/awsideman.1` can be checked against it.

use crate::cli::help::{self, Block, UsageItem};
use crate::cli::spec::GLOBAL_FLAGS;
use crate::cli::spec::{Command, Flag, Group, every_group, path_words};

/// The fixed DESCRIPTION paragraphs.
const DESCRIPTION: &[&str] = &[
    "awsideman manages the users, groups, permission sets and account assignments of AWS IAM \
     Identity Center from the command line. It is a single fast binary that keeps the answers \
     of AWS in a cache, so repeated reads cost no requests; a write invalidates the cached reads \
     it changes.",
    "Commands are grouped: the first word names the group, the second the command. Global \
     options may appear anywhere on the command line. Every command prints a table for people \
     by default, or one JSON document with --output json, or tab-separated text with --output \
     text, or CSV (RFC 4180: a header row, fields quoted where needed, CRLF line ends) with \
     --output csv.",
    "Names and descriptions come from an identity provider or from other administrators, so \
     they may hold control characters. Tables, text and CSV show each control character as an \
     escape (\\x1b; a bidirectional-formatting character as \\u{202e}) and tab or newline as a \
     space, so a value never reaches the terminal raw nor breaks a record; JSON keeps the exact \
     value. Errors and warnings are one escaped line of at most 2,000 characters. Times \
     read as ISO 8601 in UTC outside JSON, which keeps the epoch seconds AWS sends.",
];

/// The whole page: NAME, SYNOPSIS, DESCRIPTION, GLOBAL OPTIONS, COMMANDS, then
/// `extra_sections` in order, each a title and a body that is already roff.
pub(crate) fn render(groups: &'static [Group], extra_sections: &[(&str, String)]) -> String {
    let version = env!("CARGO_PKG_VERSION");
    let mut out = String::new();
    out.push_str(".\\\" Generated from the awsideman command table; do not edit by hand.\n");
    out.push_str(&format!(
        ".TH AWSIDEMAN 1 \"version {version}\" \"awsideman {version}\" \"User Commands\"\n"
    ));
    // Identifiers read better unhyphenated and left-aligned.
    out.push_str(".nh\n.ad l\n");
    out.push_str(".SH NAME\n");
    out.push_str("awsideman \\- fast, cached command\\-line manager for AWS IAM Identity Center\n");

    out.push_str(".SH SYNOPSIS\n");
    out.push_str(
        "\\fBawsideman\\fR [\\fIGLOBAL OPTIONS\\fR] \\fIGROUP\\fR \\fICOMMAND\\fR [\\fIARGS\\fR]\n",
    );
    out.push_str(".br\n");
    out.push_str("\\fBawsideman help\\fR [\\fIGROUP\\fR [\\fICOMMAND\\fR]]\n");
    out.push_str(".br\n");
    out.push_str("\\fBawsideman \\-\\-version\\fR\n");

    out.push_str(".SH DESCRIPTION\n");
    for (i, paragraph) in DESCRIPTION.iter().enumerate() {
        if i > 0 {
            out.push_str(".PP\n");
        }
        push_line(&mut out, &prose(paragraph));
    }

    out.push_str(".SH \"GLOBAL OPTIONS\"\n");
    push_flags(&mut out, GLOBAL_FLAGS);

    out.push_str(".SH COMMANDS\n");
    for path in every_group(groups) {
        let Some(group) = path.last() else { continue };
        out.push_str(&format!(".SS {}\n", quoted(&path_words(&path))));
        push_line(&mut out, &prose(group.about));
        for command in group.commands {
            push_command(&mut out, &path, command);
        }
    }

    for (title, body) in extra_sections {
        out.push_str(&format!(".SH {}\n", quoted(title)));
        out.push_str(body);
        if !body.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// One command: usage line, then, indented, its summary, doc, arguments, flags, examples and
/// JSON description.
fn push_command(out: &mut String, path: &[&Group], command: &Command) {
    out.push_str(".PP\n");
    let mut usage = format!(
        "\\fBawsideman {} {}\\fR",
        code(&path_words(path)),
        code(command.name)
    );
    for item in help::usage_items(command) {
        usage.push(' ');
        usage.push_str(&usage_item(&item));
    }
    push_line(out, &usage);
    out.push_str(".RS 4\n");
    push_line(out, &prose(command.about));
    push_blocks(out, command.doc);
    if !command.args.is_empty() {
        out.push_str(".PP\nArguments:\n");
        for arg in command.args {
            out.push_str(".TP\n");
            push_line(
                out,
                &format!("\\fI{}\\fR", code(&help::positional_usage(arg))),
            );
            push_line(out, &prose(&help::positional_about(arg)));
        }
    }
    if !command.flags.is_empty() {
        out.push_str(".PP\nOptions:\n");
        push_flags(out, command.flags);
    }
    if !command.examples.is_empty() {
        out.push_str(".PP\nExamples:\n.PP\n.nf\n");
        for example in command.examples {
            push_line(out, &code(&format!("awsideman {example}")));
        }
        out.push_str(".fi\n");
    }
    if !command.json.trim().is_empty() {
        out.push_str(".PP\nJSON output:\n");
        push_blocks(out, command.json);
    }
    out.push_str(".RE\n");
}

/// A `.TP` item per flag: `\fB\-p\fR, \fB\-\-profile\fR \fINAME\fR` and its description.
fn push_flags(out: &mut String, flags: &[Flag]) {
    for flag in flags {
        out.push_str(".TP\n");
        let short = flag
            .short
            .map(|c| format!("\\fB\\-{}\\fR, ", code(&c.to_string())));
        push_line(
            out,
            &format!("{}{}", short.unwrap_or_default(), flag_usage(flag)),
        );
        push_line(out, &prose(&help::flag_about(flag)));
    }
}

/// `\fB\-\-profile\fR\ \fINAME\fR`: the flag and its value never split across lines.
fn flag_usage(flag: &Flag) -> String {
    let long = format!("\\fB\\-\\-{}\\fR", code(flag.long));
    match flag.value {
        Some(value) => format!("{long}\\ \\fI{}\\fR", code(value)),
        None => long,
    }
}

/// A usage element with fonts: bold flag names, italic values and arguments.
fn usage_item(item: &UsageItem<'_>) -> String {
    match item {
        UsageItem::Arg(a) => format!("\\fI{}\\fR", code(&help::positional_usage(a))),
        UsageItem::Flag(f) => help::decorate(flag_usage(f), f),
    }
}

/// Paragraphs of a description: running text is left to roff to fill; indented paragraphs
/// are kept as written (`.nf`, not `.EX`, whose `.EE` turns hyphenation back on).
fn push_blocks(out: &mut String, text: &str) {
    for block in help::blocks(text) {
        out.push_str(".PP\n");
        match block {
            Block::Prose(text) => push_line(out, &prose(&text)),
            Block::Verbatim(lines) => {
                out.push_str(".nf\n");
                for line in lines {
                    push_line(out, &code(line.trim_end()));
                }
                out.push_str(".fi\n");
            }
        }
    }
}

/// Writes one line of text, protecting a leading `.` or `'` from being read as a request.
fn push_line(out: &mut String, line: &str) {
    if line.starts_with(['.', '\'']) {
        out.push_str("\\&");
    }
    out.push_str(line);
    out.push('\n');
}

/// Text with backslashes escaped and a leading `.` or `'` protected.
pub(crate) fn escape(text: &str) -> String {
    let escaped = text.replace('\\', "\\e");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// Code (names, usage, examples, paths) as roff: every hyphen is a minus sign, so it copies
/// as `-`; backslashes and a leading `.` or `'` are escaped. Safe as a text line or inside
/// a macro argument without spaces.
pub(crate) fn code(text: &str) -> String {
    escape(text).replace('-', "\\-")
}

/// Running text as roff: hyphens in words that look like options (`--output`, `-p`) become
/// minus signs, hyphens inside ordinary words (`read-only`) stay hyphens; backslashes and a
/// leading `.` or `'` are escaped.
pub(crate) fn prose(text: &str) -> String {
    let lines: Vec<String> = text.split('\n').map(prose_line).collect();
    lines.join("\n")
}

/// [`prose`] for one line.
fn prose_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for (i, word) in line.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let bare = word.trim_start_matches(['(', '[', '"', '\'', '`']);
        let word = word.replace('\\', "\\e");
        if bare.starts_with('-') {
            out.push_str(&word.replace('-', "\\-"));
        } else {
            out.push_str(&word);
        }
    }
    if out.starts_with(['.', '\'']) {
        out.insert_str(0, "\\&");
    }
    out
}

/// A macro argument in double quotes (a `"` inside becomes `\(dq`).
fn quoted(text: &str) -> String {
    format!("\"{}\"", code(text).replace('"', "\\(dq"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::parse::test_table::GROUPS;
    use std::io::Write;
    use std::process::{Command as Process, Stdio};

    fn page() -> String {
        render(
            GROUPS,
            &[
                ("EXIT STATUS", ".TP\n0\nSuccess.\n".to_string()),
                ("FILES", "\\fI~/.awsideman/config.yaml\\fR".to_string()),
            ],
        )
    }

    /// Runs `program args` with `input` on stdin; `None` if the program is not installed.
    fn pipe(program: &str, args: &[&str], input: &str) -> Option<(String, String)> {
        let mut child = Process::new(program)
            .args(args)
            .env("MANWIDTH", "80")
            .env("LC_ALL", "C.UTF-8")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .ok()?;
        child.stdin.take()?.write_all(input.as_bytes()).ok()?;
        let output = child.wait_with_output().ok()?;
        Some((
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ))
    }

    #[test]
    fn page_has_every_section_in_order() {
        let page = page();
        let titles: Vec<&str> = page
            .lines()
            .filter_map(|l| l.strip_prefix(".SH "))
            .collect();
        assert_eq!(
            titles,
            [
                "NAME",
                "SYNOPSIS",
                "DESCRIPTION",
                "\"GLOBAL OPTIONS\"",
                "COMMANDS",
                "\"EXIT STATUS\"",
                "\"FILES\""
            ]
        );
        assert!(page.contains(&format!(
            ".TH AWSIDEMAN 1 \"version {}\"",
            env!("CARGO_PKG_VERSION")
        )));
        assert!(page.ends_with("\\fI~/.awsideman/config.yaml\\fR\n"));
        assert_eq!(page, self::page(), "deterministic");
    }

    #[test]
    fn page_has_every_group_command_and_flag() {
        let page = page();
        for path in every_group(GROUPS) {
            let group = path.last().unwrap();
            let words = path_words(&path);
            assert!(
                page.contains(&format!(".SS {}\n", quoted(&words))),
                "{words}"
            );
            for command in group.commands {
                let usage = format!("\\fBawsideman {} {}\\fR", code(&words), code(command.name));
                assert!(page.contains(&usage), "{usage}");
                for flag in command.flags {
                    assert!(
                        page.contains(&format!("\\-\\-{}", code(flag.long))),
                        "{}",
                        flag.long
                    );
                }
                for arg in command.args {
                    assert!(page.contains(arg.name), "{}", arg.name);
                }
            }
        }
        for flag in GLOBAL_FLAGS {
            assert!(
                page.contains(&format!("\\-\\-{}\\fR", code(flag.long))),
                "{}",
                flag.long
            );
        }
        assert!(
            page.contains("JSON output:\n.PP\nThe created user: {\"UserId\", \"UserName\"}.\n")
        );
        assert!(page.contains(
            ".nf\nawsideman user create \\-\\-username alice \\-\\-display\\-name 'Alice A'\n.fi\n"
        ));
    }

    #[test]
    fn escapes_roff() {
        let page = page();
        assert!(
            page.contains("\n\\&.A paragraph starting with a dot, and a back\\eslash.\n"),
            "{page}"
        );
        assert_eq!(
            prose("use --output json, read-only"),
            "use \\-\\-output json, read-only"
        );
        assert_eq!(prose("(-p NAME) a\\b"), "(\\-p NAME) a\\eb");
        assert_eq!(code("--display-name"), "\\-\\-display\\-name");
        assert_eq!(code(".hidden"), "\\&.hidden");
        assert_eq!(prose("'quoted' start"), "\\&'quoted' start");
        assert_eq!(prose("two\n.lines"), "two\n\\&.lines");
        assert_eq!(quoted("a \"b\""), "\"a \\(dqb\\(dq\"");
        for line in page.lines() {
            assert!(!line.starts_with('\''), "{line}");
            if let Some(request) = line.strip_prefix('.') {
                let name = request.split(' ').next().unwrap_or_default();
                let known = [
                    "\\\"", "TH", "SH", "SS", "PP", "TP", "RS", "RE", "nf", "fi", "br", "ad", "nh",
                ];
                assert!(known.contains(&name), "unexpected request: {line}");
            }
        }
    }

    #[test]
    fn groff_renders_without_warnings() {
        let Some((out, err)) = pipe("groff", &["-man", "-ww", "-z", "-Tutf8"], &page()) else {
            eprintln!("groff not installed: skipped");
            return;
        };
        assert_eq!(err, "", "groff warnings");
        assert_eq!(out, "");
    }

    #[test]
    fn man_renders_the_page() {
        let Some((out, err)) = pipe("man", &["-l", "-"], &page()) else {
            eprintln!("man not installed: skipped");
            return;
        };
        if out.is_empty() && err.contains("not found") {
            eprintln!("man cannot format: skipped ({err})");
            return;
        }
        assert_eq!(err, "", "man warnings");
        assert!(
            out.contains("awsideman user create --username NAME --display-name NAME"),
            "{out}"
        );
        assert!(out.contains("GLOBAL OPTIONS"), "{out}");
        for line in out.lines() {
            assert!(line.chars().count() <= 80, "too wide: {line:?}");
        }
    }
}
