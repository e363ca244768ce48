//! The parser: the arguments, read against the command table, become the command to run, the
//! global options and the command's [`Matches`].
//!
//! It reads only the table and the arguments: never a file, never the environment, and it
//! does no work beyond checking what was typed. `--help` and `--version` short-circuit before
//! required flags and arguments are checked.

use std::ffi::OsString;

use crate::cli::help;
use crate::cli::spec::{
    COMMAND_ALIASES, Command, FLAG_ALIASES, Flag, GLOBAL_FLAGS, Group, GroupPath, path_words,
};
use crate::commands::args::{Globals, Matches};
use crate::error::{Error, Result};
use crate::suggest;

/// What the command line asks for.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// Print this help text and exit successfully.
    Help(String),
    /// Print the version and exit successfully.
    Version,
    /// Run a command.
    Run {
        /// The groups leading to the command, outermost first.
        groups: GroupPath,
        /// The command.
        command: &'static Command,
        /// The global options.
        globals: Globals,
        /// The command's own arguments, checked against the table.
        matches: Matches,
    },
}

/// Parses the arguments (without the program name) against the command table `groups`.
///
/// Every error is a one-line usage error (exit code 2) prefixed with the command path typed
/// so far (`user create: missing required flag --username`).
pub(crate) fn parse(
    groups: &'static [Group],
    args: impl IntoIterator<Item = OsString>,
) -> Result<Parsed> {
    let args: Vec<OsString> = args.into_iter().collect();
    if args.is_empty() {
        return Ok(Parsed::Help(help::top(groups)));
    }
    if let Some(bad) = args.iter().find(|a| a.to_str().is_none()) {
        return Err(Error::usage(format!(
            "argument {:?} is not valid UTF-8",
            bad.to_string_lossy()
        )));
    }
    let mut state = State::new(groups);
    let mut parser = lexopt::Parser::from_args(args);
    // The first flag error; after it, only --help and --version are still looked for.
    let mut failure: Option<Error> = None;
    loop {
        let token = match parser.next() {
            Ok(None) => break,
            Ok(Some(arg)) => Token::from(arg),
            Err(e) => {
                failure.get_or_insert_with(|| state.lexopt_error(e));
                continue;
            }
        };
        if failure.is_some() {
            state.note_help_or_version(&token);
            continue;
        }
        match state.take(token, &mut parser) {
            Ok(()) => {}
            Err(Failure::Name(e)) => return Err(e),
            Err(Failure::Flag(e)) => failure = Some(e),
        }
    }
    state.finish(failure)
}

/// One argument, owned so the parser can be asked for a value while it is held.
enum Token {
    Long(String),
    Short(char),
    Value(OsString),
}

impl From<lexopt::Arg<'_>> for Token {
    fn from(arg: lexopt::Arg<'_>) -> Token {
        match arg {
            lexopt::Arg::Long(name) => Token::Long(name.to_owned()),
            lexopt::Arg::Short(c) => Token::Short(c),
            lexopt::Arg::Value(v) => Token::Value(v),
        }
    }
}

/// Why an argument was rejected.
enum Failure {
    /// An unknown group or command: reported even when help was asked for, since help for
    /// some other level would not be what was meant.
    Name(Error),
    /// Anything else: reported unless `--help` or `--version` was also given.
    Flag(Error),
}

/// What has been read so far.
struct State {
    groups: &'static [Group],
    /// The groups typed so far, outermost first.
    path: GroupPath,
    command: Option<&'static Command>,
    globals: Globals,
    matches: Matches,
    /// How many positional values the command has received.
    positionals: usize,
    help: bool,
    /// `help` was given as the first word: further words name the topic.
    help_word: bool,
    version: bool,
}

impl State {
    fn new(groups: &'static [Group]) -> State {
        State {
            groups,
            path: Vec::new(),
            command: None,
            globals: Globals::default(),
            matches: Matches::default(),
            positionals: 0,
            help: false,
            help_word: false,
            version: false,
        }
    }

    /// The command path typed so far, as the prefix of error messages ("" at the top).
    fn path(&self) -> String {
        let mut words = path_words(&self.path);
        if let Some(c) = self.command {
            words = format!("{words} {}", c.name);
        }
        if words.is_empty() {
            words
        } else {
            format!("{words}: ")
        }
    }

    /// A usage error prefixed with the command path.
    fn usage(&self, message: impl std::fmt::Display) -> Error {
        Error::usage(format!("{}{message}", self.path()))
    }

    /// Records the argument.
    fn take(&mut self, token: Token, parser: &mut lexopt::Parser) -> Result<(), Failure> {
        match token {
            Token::Long(name) => {
                let name = self.unalias_flag(name);
                let (flag, global) = self
                    .find_flag(|f| f.long == name)
                    .ok_or_else(|| Failure::Flag(self.unknown_long(&name)))?;
                self.take_flag(flag, global, true, parser)
                    .map_err(Failure::Flag)
            }
            // A negative number (`config set cache.default_ttl -5`) is a value, so the
            // command can reject it by name rather than as an unknown flag.
            Token::Short(c) if c.is_ascii_digit() && self.command.is_some() => {
                let rest = parser
                    .optional_value()
                    .map(|v| v.to_string_lossy().into_owned())
                    .unwrap_or_default();
                self.take_value(format!("-{c}{rest}"))
            }
            Token::Short(c) => {
                let (flag, global) = self
                    .find_flag(|f| f.short == Some(c))
                    .ok_or_else(|| Failure::Flag(self.usage(format!("unknown flag -{c}"))))?;
                self.take_flag(flag, global, false, parser)
                    .map_err(Failure::Flag)
            }
            Token::Value(value) => {
                let value = value
                    .into_string()
                    .map_err(|v| Failure::Flag(self.usage(format!("{v:?} is not valid UTF-8"))))?;
                self.take_value(value)
            }
        }
    }

    /// A flag of the command once it is known (`false`), else a global flag (`true`). A
    /// command's flag shadows a global one of the same name after the command (`profile add
    /// --region` is the profile's region; `--region` before the command stays global).
    fn find_flag(&self, is: impl Fn(&Flag) -> bool) -> Option<(&'static Flag, bool)> {
        let command = self.command.map(|c| c.flags).unwrap_or(&[]);
        if let Some(flag) = command.iter().find(|f| is(f)) {
            return Some((flag, false));
        }
        GLOBAL_FLAGS.iter().find(|f| is(f)).map(|f| (f, true))
    }

    /// Our name for a flag the Python awsideman spells differently, once the command is
    /// known ([`FLAG_ALIASES`]).
    fn unalias_flag(&self, name: String) -> String {
        let Some(command) = self.command else {
            return name;
        };
        let words: Vec<&str> = self
            .path
            .iter()
            .map(|g| g.name)
            .chain([command.name])
            .collect();
        let words = words.join(" ");
        FLAG_ALIASES
            .iter()
            .find(|(path, alias, _)| *path == words && *alias == name)
            .map_or(name, |(_, _, ours)| (*ours).to_string())
    }

    /// The error for an unknown long flag, with a suggestion or a hint about its place.
    fn unknown_long(&self, name: &str) -> Error {
        let command = self.command.map(|c| c.flags).unwrap_or(&[]);
        let known = GLOBAL_FLAGS.iter().chain(command).map(|f| f.long);
        if let Some(guess) = suggest::closest(name, known) {
            return self.usage(format!("unknown flag --{name} (did you mean --{guess}?)"));
        }
        if self.command.is_none() {
            let groups = match self.path.last() {
                Some(&group) => std::slice::from_ref(group),
                None => self.groups,
            };
            let later = every_command_under(groups)
                .into_iter()
                .any(|c| c.flags.iter().any(|f| f.long == name));
            if later {
                return self.usage(format!("flag --{name} must come after the command"));
            }
        }
        self.usage(format!("unknown flag --{name}"))
    }

    /// Reads the flag's value, if it takes one, and records it.
    fn take_flag(
        &mut self,
        flag: &'static Flag,
        global: bool,
        long: bool,
        parser: &mut lexopt::Parser,
    ) -> Result<()> {
        let value = match flag.value {
            None => {
                if long && let Some(v) = parser.optional_value() {
                    let v = v.to_string_lossy();
                    return Err(self.usage(format!("--{} takes no value (got {v:?})", flag.long)));
                }
                String::new()
            }
            Some(name) => {
                let value = parser
                    .value()
                    .map_err(|_| self.usage(format!("--{} needs a value ({name})", flag.long)))?;
                let value = value.into_string().map_err(|v| {
                    self.usage(format!(
                        "value {v:?} for --{} is not valid UTF-8",
                        flag.long
                    ))
                })?;
                if !flag.choices.is_empty() && !flag.choices.contains(&value.as_str()) {
                    return Err(self.usage(format!(
                        "invalid value {value:?} for --{} (allowed: {})",
                        flag.long,
                        flag.choices.join(", ")
                    )));
                }
                value
            }
        };
        if global {
            self.set_global(flag.long, value)
        } else {
            self.matches.push_flag(flag.long, value);
            Ok(())
        }
    }

    /// Records a global option.
    fn set_global(&mut self, long: &str, value: String) -> Result<()> {
        match long {
            "profile" => self.globals.profile = Some(value),
            "region" => self.globals.region = Some(value),
            "output" => {
                let format = value.parse().map_err(|e: String| self.usage(e))?;
                self.globals.output = Some(format);
            }
            "no-cache" => self.globals.no_cache = true,
            "debug" => self.globals.debug = true,
            "quiet" => self.globals.quiet = true,
            "wide" => self.globals.wide = true,
            "refresh" => self.globals.refresh = true,
            "no-header" => self.globals.no_header = true,
            "local-time" => self.globals.local_time = true,
            "version" => self.version = true,
            "help" => self.help = true,
            other => return Err(self.usage(format!("global flag --{other} is not handled"))),
        }
        Ok(())
    }

    /// A word that is not a flag: the group, the command, or one of the command's arguments.
    fn take_value(&mut self, value: String) -> Result<(), Failure> {
        let Some(&group) = self.path.last() else {
            if value == "help" && !self.help_word {
                self.help_word = true;
                self.help = true;
                return Ok(());
            }
            // The Python awsideman's top-level `version`, `info`, `clone` and `copy`.
            if value == "version" {
                self.version = true;
                return Ok(());
            }
            let (value, then) = match value.as_str() {
                "info" => ("sso".to_string(), Some("info")),
                "clone" => ("permission-set".to_string(), Some("clone")),
                "copy" => ("assignment".to_string(), Some("copy")),
                _ => (value, None),
            };
            let found = self.groups.iter().find(|g| g.name == value);
            if let (Some(group), Some(command)) = (found, then) {
                self.path.push(group);
                return self.take_value(command.to_string());
            }
            let found = found.ok_or_else(|| {
                let guess = suggest::closest(&value, self.groups.iter().map(|g| g.name));
                Failure::Name(self.usage(format!("unknown group {value:?}{}", did_you_mean(guess))))
            })?;
            self.path.push(found);
            return Ok(());
        };
        let Some(command) = self.command else {
            let path: Vec<&str> = self.path.iter().map(|g| g.name).collect();
            let path = path.join(" ");
            let value = COMMAND_ALIASES
                .iter()
                .find(|(group, alias, _)| *group == path && *alias == value)
                .map_or(value, |(_, _, ours)| (*ours).to_string());
            if let Some(found) = group.commands.iter().find(|c| c.name == value) {
                self.command = Some(found);
                self.matches.declare(declared_names(found));
                return Ok(());
            }
            if let Some(found) = group.groups.iter().find(|g| g.name == value) {
                self.path.push(found);
                return Ok(());
            }
            let hint = match suggest::closest(&value, names(group)) {
                Some(guess) => did_you_mean(Some(guess)),
                None => format!(" (one of: {})", names(group).collect::<Vec<_>>().join(", ")),
            };
            return Err(Failure::Name(
                self.usage(format!("unknown command {value:?}{hint}")),
            ));
        };
        if self.help_word {
            return Ok(());
        }
        let spec = match command.args.get(self.positionals) {
            Some(spec) => spec,
            None => match command.args.last() {
                Some(last) if last.multiple => last,
                _ => {
                    return Err(Failure::Flag(
                        self.usage(format!("unexpected argument {value:?}")),
                    ));
                }
            },
        };
        self.matches.push_positional(spec.name, value);
        self.positionals += 1;
        Ok(())
    }

    /// After a flag error: only `--help` and `--version` still count.
    fn note_help_or_version(&mut self, token: &Token) {
        match token {
            Token::Long(name) if name == "help" => self.help = true,
            Token::Short('h') => self.help = true,
            Token::Long(name) if name == "version" => self.version = true,
            Token::Short('V') => self.version = true,
            _ => {}
        }
    }

    /// A lexopt error as a usage error.
    fn lexopt_error(&self, e: lexopt::Error) -> Error {
        match e {
            lexopt::Error::UnexpectedValue { option, value } => self.usage(format!(
                "{option} takes no value (got {:?})",
                value.to_string_lossy()
            )),
            other => self.usage(other),
        }
    }

    /// Help, version, the first error, or the command with its checked arguments.
    fn finish(self, failure: Option<Error>) -> Result<Parsed> {
        if self.help {
            let text = match (self.path.is_empty(), self.command) {
                (false, Some(c)) => help::command(&self.path, c),
                (false, None) => help::group(&self.path),
                _ => help::top(self.groups),
            };
            return Ok(Parsed::Help(text));
        }
        if self.version {
            return Ok(Parsed::Version);
        }
        if let Some(e) = failure {
            return Err(e);
        }
        let Some(&group) = self.path.last() else {
            let names: Vec<&str> = self.groups.iter().map(|g| g.name).collect();
            return Err(self.usage(format!("missing command group ({})", names.join(", "))));
        };
        let Some(command) = self.command else {
            let names: Vec<&str> = names(group).collect();
            return Err(self.usage(format!("missing command ({})", names.join(", "))));
        };
        let missing_args: Vec<&str> = command
            .args
            .iter()
            .filter(|a| a.required && self.matches.args(a.name).is_empty())
            .map(|a| a.name)
            .collect();
        if !missing_args.is_empty() {
            let s = if missing_args.len() > 1 { "s" } else { "" };
            return Err(self.usage(format!(
                "missing required argument{s} {}",
                missing_args.join(" ")
            )));
        }
        let missing_flags: Vec<String> = command
            .flags
            .iter()
            .filter(|f| f.required && self.matches.values(f.long).is_empty())
            .map(|f| format!("--{}", f.long))
            .collect();
        if !missing_flags.is_empty() {
            let s = if missing_flags.len() > 1 { "s" } else { "" };
            return Err(self.usage(format!(
                "missing required flag{s} {}",
                missing_flags.join(", ")
            )));
        }
        Ok(Parsed::Run {
            groups: self.path,
            command,
            globals: self.globals,
            matches: self.matches,
        })
    }
}

/// The names a command's arguments are read by: its flags' long names and its positionals'.
pub(crate) fn declared_names(command: &Command) -> impl Iterator<Item = &'static str> + use<> {
    let flags = command.flags;
    let args = command.args;
    flags
        .iter()
        .map(|f| f.long)
        .chain(args.iter().map(|a| a.name))
}

/// The names that may follow `group`: its commands, then its groups.
fn names(group: &Group) -> impl Iterator<Item = &'static str> {
    group
        .commands
        .iter()
        .map(|c| c.name)
        .chain(group.groups.iter().map(|g| g.name))
}

/// Every command of `groups` and of the groups nested in them.
fn every_command_under(groups: &[Group]) -> Vec<&Command> {
    groups
        .iter()
        .flat_map(|g| g.commands.iter().chain(every_command_under(g.groups)))
        .collect()
}

/// " (did you mean "x"?)" or nothing.
fn did_you_mean(guess: Option<&str>) -> String {
    guess
        .map(|g| format!(" (did you mean {g:?}?)"))
        .unwrap_or_default()
}

#[cfg(test)]
/// The mistakes in a command table that would make the parser, help or completions wrong:
/// duplicate names, command flags that hide `--help` or `--version`, a repeatable
/// or required argument after an optional one, choices on a switch. Empty when the table is
/// sound; meant for a unit test over the real table.
pub(crate) fn check_table(groups: &[Group]) -> Vec<String> {
    let mut problems = Vec::new();
    check_groups("", groups, &mut problems);
    check_flags("global flags", GLOBAL_FLAGS, true, &mut problems);
    problems
}

#[cfg(test)]
/// [`check_table`] for the groups nested at `prefix` ("" at the top, else "cache ").
fn check_groups(prefix: &str, groups: &[Group], problems: &mut Vec<String>) {
    for (i, g) in groups.iter().enumerate() {
        let here = format!("{prefix}{}", g.name);
        if g.name == "help" {
            let place = prefix.trim_end();
            problems.push(if place.is_empty() {
                "a group may not be called \"help\"".to_string()
            } else {
                format!("{place}: a group may not be called \"help\"")
            });
        }
        if groups[..i].iter().any(|o| o.name == g.name) {
            problems.push(format!("group {here}: defined twice"));
        }
        if g.commands.is_empty() && g.groups.is_empty() {
            problems.push(format!("group {here}: has no commands"));
        }
        for c in g.commands {
            if g.groups.iter().any(|sub| sub.name == c.name) {
                problems.push(format!("{here} {}: both a command and a group", c.name));
            }
        }
        for (j, c) in g.commands.iter().enumerate() {
            let path = format!("{here} {}", c.name);
            if g.commands[..j].iter().any(|o| o.name == c.name) {
                problems.push(format!("{path}: defined twice"));
            }
            check_flags(&path, c.flags, false, problems);
            let mut optional_seen = false;
            for (k, a) in c.args.iter().enumerate() {
                if a.multiple && k + 1 != c.args.len() {
                    problems.push(format!(
                        "{path}: {} takes many values but is not last",
                        a.name
                    ));
                }
                if a.required && optional_seen {
                    problems.push(format!(
                        "{path}: required {} follows an optional one",
                        a.name
                    ));
                }
                optional_seen |= !a.required;
            }
        }
        check_groups(&format!("{here} "), g.groups, problems);
    }
}

#[cfg(test)]
/// The per-command part of [`check_table`].
fn check_flags(path: &str, flags: &[Flag], is_global: bool, problems: &mut Vec<String>) {
    for (i, f) in flags.iter().enumerate() {
        let earlier = &flags[..i];
        if earlier.iter().any(|o| o.long == f.long) {
            problems.push(format!("{path}: --{} defined twice", f.long));
        }
        if f.short.is_some() && earlier.iter().any(|o| o.short == f.short) {
            problems.push(format!("{path}: short flag of --{} defined twice", f.long));
        }
        let shadows_help_or_version = GLOBAL_FLAGS
            .iter()
            .filter(|g| g.long == "help" || g.long == "version")
            .any(|g| g.long == f.long || (f.short.is_some() && g.short == f.short));
        let clash = GLOBAL_FLAGS.iter().any(|g| g.long == f.long);
        if !is_global && clash && !f.shadows_global && !shadows_help_or_version {
            problems.push(format!(
                "{path}: --{} hides the global --{}: rename it, or mark it shadowing_global()",
                f.long, f.long
            ));
        }
        if !is_global && shadows_help_or_version {
            problems.push(format!("{path}: --{} hides --help or --version", f.long));
        }
        if f.value.is_none() && (!f.choices.is_empty() || f.required || f.multiple) {
            problems.push(format!(
                "{path}: switch --{} cannot have choices or be required or repeatable",
                f.long
            ));
        }
    }
}

/// A small command table for the tests of the `cli` modules.
#[cfg(test)]
pub(crate) mod test_table {
    use crate::cli::spec::{Access, Command, Flag, Group, Positional};
    use crate::commands::Context;
    use crate::commands::args::Matches;
    use crate::error::{Error, Result};
    use crate::output::Report;

    fn run(_: &mut Context, _: &Matches) -> Result<Report> {
        Err(Error::runtime("test"))
    }

    /// Two groups covering every kind of argument and flag.
    pub static GROUPS: &[Group] = &[
        Group {
            name: "user",
            about: "Identity Store users",
            groups: &[],
            commands: &[
                Command {
                    name: "list",
                    about: "List users",
                    doc: "Lists every user.",
                    args: &[],
                    flags: &[Flag::value("limit", "N", "Show at most N users.")],
                    examples: &["user list --limit 5"],
                    access: Access::Read,
                    json: "{\"Users\": [...]}",
                    run,
                },
                Command {
                    name: "get",
                    about: "Show a user",
                    doc: "",
                    args: &[Positional::required("USER", "User id, name or email.")],
                    flags: &[],
                    examples: &[],
                    access: Access::Read,
                    json: "",
                    run,
                },
                Command {
                    name: "create",
                    about: "Create a user",
                    doc: "Creates a user in the identity store. The user name must be unique.\n\
                          \n\
                          .A paragraph starting with a dot, and a back\\slash.",
                    args: &[],
                    flags: &[
                        Flag::value("username", "NAME", "The user name.").required(),
                        Flag::value("display-name", "NAME", "The display name.").required(),
                        Flag::value("email", "EMAIL", "Email address.").short('e'),
                        Flag::value("tag", "KEY=VALUE", "A tag; repeat for more.").multiple(),
                        Flag::value("status", "STATUS", "Initial status.")
                            .choices(&["active", "disabled"]),
                        Flag::value("input", "FILE", "Read more attributes from a file."),
                        Flag::switch("yes", Some('y'), "Do not ask for confirmation."),
                    ],
                    examples: &["user create --username alice --display-name 'Alice A'"],
                    access: Access::Write,
                    json: "The created user: {\"UserId\", \"UserName\"}.",
                    run,
                },
            ],
        },
        Group {
            name: "group",
            about: "Identity Store groups",
            groups: &[],
            commands: &[Command {
                name: "add-member",
                about: "Add users to a group",
                doc: "",
                args: &[
                    Positional::required("GROUP", "Group id or name."),
                    Positional::required("USER", "User ids or names.").multiple(),
                ],
                flags: &[],
                examples: &["group add-member admins alice bob"],
                access: Access::Write,
                json: "",
                run,
            }],
        },
        Group {
            name: "profile",
            about: "Named settings",
            groups: &[Group {
                name: "keys",
                about: "A profile's keys",
                groups: &[],
                commands: &[Command {
                    name: "rotate",
                    about: "Rotate a key",
                    doc: "Makes a new key.",
                    args: &[],
                    flags: &[Flag::value("source", "SOURCE", "Where keys live.")
                        .choices(&["file", "kms"])],
                    examples: &["profile keys rotate --source kms"],
                    access: Access::Local,
                    json: "",
                    run,
                }],
            }],
            commands: &[Command {
                name: "add",
                about: "Add a profile",
                doc: "",
                args: &[Positional::required("NAME", "Profile name.")],
                flags: &[
                    Flag::value("region", "REGION", "The profile's region.").shadowing_global()
                ],
                examples: &[],
                access: Access::Local,
                json: "",
                run,
            }],
        },
    ];
}

#[cfg(test)]
mod tests {
    use super::test_table::GROUPS;
    use super::*;
    use crate::error::Kind;
    use crate::output::OutputFormat;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn run(args: &[&str]) -> (String, Globals, Matches) {
        match parse(GROUPS, os(args)) {
            Ok(Parsed::Run {
                groups,
                command,
                globals,
                matches,
            }) => (
                format!("{} {}", path_words(&groups), command.name),
                globals,
                matches,
            ),
            Ok(other) => panic!("{args:?}: expected a command, got {other:?}"),
            Err(e) => panic!("{args:?}: {e}"),
        }
    }

    fn error(args: &[&str]) -> String {
        match parse(GROUPS, os(args)) {
            Err(e) => {
                assert_eq!(e.kind(), Kind::Usage, "{args:?}: {e}");
                assert_eq!(e.exit_code(), 2);
                assert!(!e.message().contains('\n'), "one line: {e}");
                e.to_string()
            }
            Ok(other) => panic!("{args:?}: expected an error, got {other:?}"),
        }
    }

    fn help(args: &[&str]) -> String {
        match parse(GROUPS, os(args)) {
            Ok(Parsed::Help(text)) => text,
            Ok(other) => panic!("{args:?}: expected help, got {other:?}"),
            Err(e) => panic!("{args:?}: {e}"),
        }
    }

    #[test]
    fn runs_a_command_with_positionals() {
        let (path, globals, m) = run(&["user", "get", "alice"]);
        assert_eq!(path, "user get");
        assert_eq!(globals, Globals::default());
        assert_eq!(m.arg("USER"), Some("alice"));
    }

    #[test]
    fn globals_at_every_position() {
        let want = Globals {
            profile: Some("prod".into()),
            region: Some("eu-west-1".into()),
            output: Some(OutputFormat::Json),
            no_cache: true,
            debug: true,
            quiet: true,
            wide: false,
            refresh: false,
            no_header: false,
            local_time: false,
        };
        for args in [
            &[
                "-p",
                "prod",
                "-r",
                "eu-west-1",
                "-o",
                "json",
                "--no-cache",
                "--debug",
                "-q",
                "user",
                "get",
                "alice",
            ][..],
            &[
                "user",
                "--profile",
                "prod",
                "--region=eu-west-1",
                "--output",
                "json",
                "--no-cache",
                "--debug",
                "--quiet",
                "get",
                "alice",
            ],
            &[
                "user",
                "get",
                "alice",
                "--profile=prod",
                "-reu-west-1",
                "-o=json",
                "--no-cache",
                "--debug",
                "-q",
            ],
            &[
                "--debug",
                "user",
                "-q",
                "get",
                "--no-cache",
                "alice",
                "-p",
                "prod",
                "-r",
                "eu-west-1",
                "-ojson",
            ],
        ] {
            let (path, globals, m) = run(args);
            assert_eq!(path, "user get", "{args:?}");
            assert_eq!(globals, want, "{args:?}");
            assert_eq!(m.arg("USER"), Some("alice"), "{args:?}");
        }
    }

    #[test]
    fn every_global_flag_is_accepted() {
        for flag in GLOBAL_FLAGS {
            let value = flag.choices.first().copied().unwrap_or("x");
            for name in [
                Some(format!("--{}", flag.long)),
                flag.short.map(|c| format!("-{c}")),
            ]
            .into_iter()
            .flatten()
            {
                let mut args = vec!["user", "list", name.as_str()];
                if flag.value.is_some() {
                    args.push(value);
                }
                assert!(parse(GROUPS, os(&args)).is_ok(), "{args:?}");
            }
        }
    }

    #[test]
    fn short_switches_cluster() {
        let (_, globals, m) = run(&[
            "user",
            "create",
            "-qy",
            "--username",
            "a",
            "--display-name",
            "A",
        ]);
        assert!(globals.quiet);
        assert!(m.switch("yes"));
    }

    #[test]
    fn flag_values_in_both_forms() {
        let (_, _, m) = run(&[
            "user",
            "create",
            "--username=alice",
            "--display-name",
            "Alice A",
            "-e",
            "a@x.org",
        ]);
        assert_eq!(m.value("username"), Some("alice"));
        assert_eq!(m.value("display-name"), Some("Alice A"));
        assert_eq!(m.value("email"), Some("a@x.org"));
        assert!(!m.switch("yes"));
    }

    #[test]
    fn values_may_start_with_a_dash() {
        let (_, globals, m) = run(&[
            "user",
            "create",
            "--username",
            "-alice",
            "--display-name=--x",
            "--profile",
            "-p",
        ]);
        assert_eq!(m.value("username"), Some("-alice"));
        assert_eq!(m.value("display-name"), Some("--x"));
        assert_eq!(globals.profile.as_deref(), Some("-p"));
    }

    #[test]
    fn empty_value_after_equals() {
        let (_, _, m) = run(&[
            "user",
            "create",
            "--username",
            "a",
            "--display-name",
            "A",
            "--email=",
        ]);
        assert_eq!(m.value("email"), Some(""));
    }

    #[test]
    fn repeatable_flags_and_positionals_accumulate() {
        let (_, _, m) = run(&[
            "user",
            "create",
            "--username",
            "a",
            "--display-name",
            "A",
            "--tag",
            "k=v",
            "--tag=x=y",
        ]);
        assert_eq!(m.values("tag"), ["k=v", "x=y"]);
        let (_, _, m) = run(&["group", "add-member", "admins", "alice", "bob", "carol"]);
        assert_eq!(m.arg("GROUP"), Some("admins"));
        assert_eq!(m.args("USER"), ["alice", "bob", "carol"]);
    }

    #[test]
    fn last_value_of_a_single_flag_wins() {
        let (_, globals, _) = run(&["-p", "a", "user", "get", "x", "-p", "b"]);
        assert_eq!(globals.profile.as_deref(), Some("b"));
    }

    #[test]
    fn command_flags_shadow_globals_after_the_command() {
        let (_, globals, m) = run(&["profile", "add", "prod", "--region", "eu-west-1"]);
        assert_eq!(globals.region, None);
        assert_eq!(m.value("region"), Some("eu-west-1"));
        let (_, globals, m) = run(&["--region", "us-east-1", "profile", "add", "prod"]);
        assert_eq!(globals.region.as_deref(), Some("us-east-1"));
        assert_eq!(m.value("region"), None);
        let (_, globals, m) = run(&["profile", "add", "prod", "-r", "us-east-1"]);
        assert_eq!(
            globals.region.as_deref(),
            Some("us-east-1"),
            "-r is still global"
        );
        assert_eq!(m.value("region"), None);
    }

    #[test]
    fn double_dash_ends_flags() {
        let (_, _, m) = run(&["user", "get", "--", "--help"]);
        assert_eq!(m.arg("USER"), Some("--help"));
        let (_, _, m) = run(&[
            "group",
            "add-member",
            "--debug",
            "--",
            "-admins",
            "-q",
            "--x",
        ]);
        assert_eq!(m.arg("GROUP"), Some("-admins"));
        assert_eq!(m.args("USER"), ["-q", "--x"]);
        let (path, _, _) = run(&["--", "user", "get", "x"]);
        assert_eq!(path, "user get");
    }

    #[test]
    fn choices_are_checked() {
        assert_eq!(
            error(&["--output", "xml", "user", "list"]),
            "invalid value \"xml\" for --output (allowed: table, json, text, csv)"
        );
        assert_eq!(
            error(&[
                "user",
                "create",
                "--username",
                "a",
                "--display-name",
                "A",
                "--status=gone"
            ]),
            "user create: invalid value \"gone\" for --status (allowed: active, disabled)"
        );
        let (_, _, m) = run(&[
            "user",
            "create",
            "--username",
            "a",
            "--display-name",
            "A",
            "--status",
            "active",
        ]);
        assert_eq!(m.value("status"), Some("active"));
        for format in ["table", "json", "text", "csv"] {
            let (_, g, _) = run(&["-o", format, "user", "list"]);
            assert_eq!(g.output, Some(format.parse().unwrap()));
        }
    }

    #[test]
    fn required_flags_and_arguments_are_checked() {
        assert_eq!(
            error(&["user", "create", "--display-name", "A"]),
            "user create: missing required flag --username"
        );
        assert_eq!(
            error(&["user", "create"]),
            "user create: missing required flags --username, --display-name"
        );
        assert_eq!(
            error(&["user", "get"]),
            "user get: missing required argument USER"
        );
        assert_eq!(
            error(&["group", "add-member"]),
            "group add-member: missing required arguments GROUP USER"
        );
        assert_eq!(
            error(&["group", "add-member", "admins"]),
            "group add-member: missing required argument USER"
        );
    }

    #[test]
    fn unknown_and_extra_arguments_are_errors() {
        assert_eq!(
            error(&["user", "get", "a", "b"]),
            "user get: unexpected argument \"b\""
        );
        assert_eq!(
            error(&["user", "list", "x"]),
            "user list: unexpected argument \"x\""
        );
        assert_eq!(
            error(&["user", "list", "--bogus"]),
            "user list: unknown flag --bogus"
        );
        assert_eq!(error(&["user", "list", "-x"]), "user list: unknown flag -x");
        assert_eq!(error(&["--bogus"]), "unknown flag --bogus");
        assert_eq!(
            error(&["user", "list", "--limit"]),
            "user list: --limit needs a value (N)"
        );
        assert_eq!(
            error(&["user", "list", "--debug=yes"]),
            "user list: --debug takes no value (got \"yes\")"
        );
        assert_eq!(
            error(&["user", "list", "-q=yes"]),
            "user list: -q takes no value (got \"yes\")"
        );
        assert_eq!(
            error(&["user", "--username", "a", "create"]),
            "user: flag --username must come after the command"
        );
    }

    #[test]
    fn missing_group_or_command() {
        assert_eq!(
            error(&["user"]),
            "user: missing command (list, get, create)"
        );
        assert_eq!(
            error(&["--debug", "group"]),
            "group: missing command (add-member)"
        );
        assert_eq!(
            error(&["--debug"]),
            "missing command group (user, group, profile)"
        );
    }

    #[test]
    fn suggestions_for_mistypes() {
        assert_eq!(
            error(&["usr", "list"]),
            "unknown group \"usr\" (did you mean \"user\"?)"
        );
        assert_eq!(
            error(&["user", "lst"]),
            "user: unknown command \"lst\" (did you mean \"list\"?)"
        );
        assert_eq!(
            error(&["user", "frob"]),
            "user: unknown command \"frob\" (one of: list, get, create)"
        );
        assert_eq!(error(&["zzzzzz"]), "unknown group \"zzzzzz\"");
        assert_eq!(
            error(&["user", "create", "--usrname", "a"]),
            "user create: unknown flag --usrname (did you mean --username?)"
        );
        assert_eq!(
            error(&["user", "list", "--proifle", "a"]),
            "user list: unknown flag --proifle (did you mean --profile?)"
        );
        assert_eq!(
            error(&["--verison"]),
            "unknown flag --verison (did you mean --version?)"
        );
    }

    #[test]
    fn help_at_each_level() {
        let top = help::top(GROUPS);
        let user = help::group(&[&GROUPS[0]]);
        let create = help::command(&[&GROUPS[0]], &GROUPS[0].commands[2]);
        assert_eq!(help(&[]), top);
        assert_eq!(help(&["--help"]), top);
        assert_eq!(help(&["-h"]), top);
        assert_eq!(help(&["help"]), top);
        assert_eq!(help(&["user", "--help"]), user);
        assert_eq!(help(&["--help", "user"]), user);
        assert_eq!(help(&["help", "user"]), user);
        assert_eq!(help(&["-q", "help", "user", "-p", "x"]), user);
        assert_eq!(help(&["user", "create", "--help"]), create);
        assert_eq!(help(&["user", "create", "-h"]), create);
        assert_eq!(help(&["-h", "user", "create"]), create);
        assert_eq!(help(&["help", "user", "create"]), create);
        assert_eq!(help(&["user", "-qh", "create"]), create);
    }

    #[test]
    fn help_short_circuits_validation() {
        let create = help::command(&[&GROUPS[0]], &GROUPS[0].commands[2]);
        // Missing required flags, unknown flags, bad choices, extra arguments, missing values.
        assert_eq!(help(&["user", "create", "--help"]), create);
        assert_eq!(help(&["user", "create", "--bogus", "x", "--help"]), create);
        assert_eq!(help(&["user", "create", "--help", "--bogus"]), create);
        assert_eq!(help(&["user", "create", "--status", "gone", "-h"]), create);
        assert_eq!(help(&["user", "create", "--help", "--username"]), create);
        assert_eq!(help(&["-o", "xml", "--help"]), help::top(GROUPS));
        assert_eq!(
            help(&["user", "get", "a", "b", "c", "--help"]),
            help::command(&[&GROUPS[0]], &GROUPS[0].commands[1])
        );
        // Help and version together: help wins.
        assert_eq!(help(&["--version", "--help"]), help::top(GROUPS));
    }

    #[test]
    fn help_for_an_unknown_name_is_an_error() {
        assert_eq!(
            error(&["usr", "--help"]),
            "unknown group \"usr\" (did you mean \"user\"?)"
        );
        assert_eq!(
            error(&["help", "usr"]),
            "unknown group \"usr\" (did you mean \"user\"?)"
        );
        assert_eq!(
            error(&["help", "user", "lst"]),
            "user: unknown command \"lst\" (did you mean \"list\"?)"
        );
    }

    #[test]
    fn version_anywhere() {
        for args in [
            &["--version"][..],
            &["-V"],
            &["user", "get", "-V"],
            &["user", "create", "--version"],
            &["--bogus", "-V"],
        ] {
            assert!(
                matches!(parse(GROUPS, os(args)), Ok(Parsed::Version)),
                "{args:?}"
            );
        }
    }

    #[test]
    fn non_utf8_is_a_usage_error() {
        use std::os::unix::ffi::OsStringExt;
        for position in 0..3 {
            let mut args = os(&["user", "get", "alice"]);
            args[position] = OsString::from_vec(vec![b'a', 0xff]);
            let e = parse(GROUPS, args).unwrap_err();
            assert_eq!(e.kind(), Kind::Usage);
            assert!(e.message().contains("not valid UTF-8"), "{e}");
        }
    }

    #[test]
    fn the_test_table_is_sound() {
        assert_eq!(check_table(GROUPS), Vec::<String>::new());
    }

    #[test]
    fn check_table_finds_mistakes() {
        static BAD: &[Group] = &[
            Group {
                name: "help",
                about: "",
                groups: &[],
                commands: &[],
            },
            Group {
                name: "x",
                about: "",
                groups: &[],
                commands: &[Command {
                    name: "y",
                    about: "",
                    doc: "",
                    args: &[
                        crate::cli::spec::Positional::optional("A", "").multiple(),
                        crate::cli::spec::Positional::required("B", ""),
                    ],
                    flags: &[
                        Flag::value("version", "P", ""),
                        Flag::switch("s", Some('h'), "").multiple(),
                        Flag::value("t", "T", ""),
                        Flag::value("t", "T", ""),
                    ],
                    examples: &[],
                    access: crate::cli::spec::Access::Local,
                    json: "",
                    run: |_, _| Err(Error::runtime("test")),
                }],
            },
        ];
        let problems = check_table(BAD);
        assert_eq!(problems.len(), 8, "{problems:#?}");
    }

    #[test]
    fn nested_groups_parse_help_and_fail_like_the_top() {
        let (path, _, m) = run(&["profile", "keys", "rotate", "--source", "kms"]);
        assert_eq!(path, "profile keys rotate");
        assert_eq!(m.value("source"), Some("kms"));
        let e = parse(GROUPS, os(&["profile", "keys"])).unwrap_err();
        assert_eq!(e.to_string(), "profile keys: missing command (rotate)");
        let e = parse(GROUPS, os(&["profile", "keys", "rotat"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "profile keys: unknown command \"rotat\" (did you mean \"rotate\"?)"
        );
        let e = parse(GROUPS, os(&["profile", "kyes"])).unwrap_err();
        assert!(e.to_string().contains("did you mean \"keys\""), "{e}");
        let e = parse(GROUPS, os(&["profile", "keys", "rotate", "--source", "x"])).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("profile keys rotate: invalid value"),
            "{e}"
        );
        for (args, has) in [
            (&["profile", "--help"][..], "Groups:\n  keys"),
            (
                &["profile", "keys", "--help"],
                "Usage: awsideman profile keys <COMMAND>",
            ),
            (&["help", "profile", "keys"], "Commands:\n  rotate"),
            (
                &["profile", "keys", "rotate", "-h"],
                "Usage: awsideman profile keys rotate",
            ),
            (
                &["help", "profile", "keys", "rotate"],
                "profile keys rotate --source kms",
            ),
        ] {
            match parse(GROUPS, os(args)) {
                Ok(Parsed::Help(text)) => assert!(text.contains(has), "{args:?}: {text}"),
                other => panic!("{args:?}: {other:?}"),
            }
        }
        assert_eq!(check_table(GROUPS), Vec::<String>::new());
    }

    #[test]
    fn a_command_flag_named_like_a_global_must_say_so() {
        fn run(_: &mut crate::commands::Context, _: &Matches) -> Result<crate::output::Report> {
            Err(Error::runtime("test"))
        }
        static UNMARKED: [Group; 1] = [Group {
            name: "x",
            about: "",
            groups: &[],
            commands: &[Command {
                name: "y",
                about: "",
                doc: "",
                args: &[],
                flags: &[Flag::value("profile", "P", "")],
                examples: &[],
                access: crate::cli::spec::Access::Local,
                json: "",
                run,
            }],
        }];
        assert_eq!(
            check_table(&UNMARKED),
            ["x y: --profile hides the global --profile: rename it, or mark it shadowing_global()"]
        );
    }
}
