//! The shape of the command table: groups, commands, flags and positional arguments.
//!
//! One table (`cli::table::GROUPS`) written with these types drives the parser, `--help`,
//! the man page and the shell completions, so they cannot drift apart.

use crate::commands::Context;
use crate::commands::args::Matches;
use crate::error::Result;
use crate::output::Report;

/// The function that runs a command, given the parsed arguments.
pub(crate) type Runner = fn(&mut Context, &Matches) -> Result<Report>;

/// What a command does to AWS, which decides caching (reads) and `cache warm` eligibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Reads AWS only.
    Read,
    /// Changes something in AWS.
    Write,
    /// Touches only local files (config, cache).
    Local,
    /// Needs no configuration (completion scripts, `config path`): runs even when
    /// `config.yaml` is invalid or unsafe.
    Standalone,
}

/// A command group (`user`, `group`, `cache`, ...), which may hold groups of its own
/// (`cache encryption`), to any depth.
#[derive(Debug)]
pub struct Group {
    /// The group's name on the command line.
    pub name: &'static str,
    /// One line saying what it is for.
    pub(crate) about: &'static str,
    /// Its commands, in the order help lists them.
    pub commands: &'static [Command],
    /// The groups nested in it, listed after its commands.
    pub groups: &'static [Group],
}

/// The groups leading to a command or group, outermost first (`cache`, `encryption`).
pub(crate) type GroupPath = Vec<&'static Group>;

/// The words of `path` (`cache encryption`).
pub fn path_words(path: &[&Group]) -> String {
    path.iter().map(|g| g.name).collect::<Vec<_>>().join(" ")
}

/// Every group of `groups` at any depth, with the groups leading to it (itself last), in
/// table order, parents before children.
pub fn every_group(groups: &'static [Group]) -> Vec<GroupPath> {
    fn visit(group: &'static Group, path: &mut GroupPath, out: &mut Vec<GroupPath>) {
        path.push(group);
        out.push(path.clone());
        for child in group.groups {
            visit(child, path, out);
        }
        path.pop();
    }
    let mut out = Vec::new();
    for group in groups {
        visit(group, &mut Vec::new(), &mut out);
    }
    out
}

/// Every command of `groups` at any depth, with the groups leading to it, in table order.
pub fn every_command(groups: &'static [Group]) -> Vec<(GroupPath, &'static Command)> {
    every_group(groups)
        .into_iter()
        .flat_map(|path| {
            let commands = path.last().map(|g| g.commands).unwrap_or(&[]);
            commands.iter().map(move |c| (path.clone(), c))
        })
        .collect()
}

/// One command (`user list`).
#[derive(Debug)]
pub struct Command {
    /// The command's name on the command line.
    pub name: &'static str,
    /// One line saying what it does.
    pub(crate) about: &'static str,
    /// A longer description for `--help` and the man page (may be empty).
    pub(crate) doc: &'static str,
    /// Positional arguments, in order.
    pub(crate) args: &'static [Positional],
    /// Flags, besides the global ones.
    pub flags: &'static [Flag],
    /// Copy-pasteable example invocations (without the leading `awsideman`).
    pub examples: &'static [&'static str],
    /// What the command does to AWS.
    pub(crate) access: Access,
    /// A description of the `--output json` document (for the man page).
    pub json: &'static str,
    /// The function that runs it.
    pub(crate) run: Runner,
}

/// A positional argument.
#[derive(Debug)]
pub(crate) struct Positional {
    /// Its name in help (`USER`).
    pub(crate) name: &'static str,
    /// What it is.
    pub(crate) about: &'static str,
    /// Whether it must be given.
    pub(crate) required: bool,
    /// Whether it takes all remaining arguments (only the last positional may).
    pub(crate) multiple: bool,
}

/// A flag (`--username NAME`, `--yes`).
#[derive(Debug)]
pub struct Flag {
    /// The long name, without dashes.
    pub long: &'static str,
    /// An optional one-letter short name.
    pub(crate) short: Option<char>,
    /// The value's name in help (`NAME`); `None` for a switch that takes no value.
    pub(crate) value: Option<&'static str>,
    /// What it does.
    pub(crate) about: &'static str,
    /// Whether it must be given.
    pub(crate) required: bool,
    /// Whether it may be given more than once (values accumulate).
    pub(crate) multiple: bool,
    /// The allowed values, if restricted.
    pub(crate) choices: &'static [&'static str],
    /// The command's own flag of a global option's name (`profile add --region`): after
    /// the command it is this flag, before the command the global one. Never by accident:
    /// the table check refuses an unmarked clash.
    pub(crate) shadows_global: bool,
}

impl Flag {
    /// A switch (no value).
    pub(crate) const fn switch(
        long: &'static str,
        short: Option<char>,
        about: &'static str,
    ) -> Flag {
        Flag {
            long,
            short,
            value: None,
            about,
            required: false,
            multiple: false,
            choices: &[],
            shadows_global: false,
        }
    }

    /// An optional flag with a value.
    pub(crate) const fn value(
        long: &'static str,
        value: &'static str,
        about: &'static str,
    ) -> Flag {
        Flag {
            long,
            short: None,
            value: Some(value),
            about,
            required: false,
            multiple: false,
            choices: &[],
            shadows_global: false,
        }
    }

    /// The same flag, required.
    pub(crate) const fn required(mut self) -> Flag {
        self.required = true;
        self
    }

    /// The same flag, repeatable.
    pub(crate) const fn multiple(mut self) -> Flag {
        self.multiple = true;
        self
    }

    /// The same flag, with a short name.
    pub(crate) const fn short(mut self, short: char) -> Flag {
        self.short = Some(short);
        self
    }

    /// The same flag, meant to take a global option's name after the command.
    pub(crate) const fn shadowing_global(mut self) -> Flag {
        self.shadows_global = true;
        self
    }

    /// The same flag, restricted to `choices`.
    pub(crate) const fn choices(mut self, choices: &'static [&'static str]) -> Flag {
        self.choices = choices;
        self
    }
}

impl Positional {
    /// A required positional argument.
    pub(crate) const fn required(name: &'static str, about: &'static str) -> Positional {
        Positional {
            name,
            about,
            required: true,
            multiple: false,
        }
    }

    /// An optional positional argument.
    pub(crate) const fn optional(name: &'static str, about: &'static str) -> Positional {
        Positional {
            name,
            about,
            required: false,
            multiple: false,
        }
    }

    /// The same argument, taking all remaining values.
    pub(crate) const fn multiple(mut self) -> Positional {
        self.multiple = true;
        self
    }
}

/// Command names of the Python awsideman that mean a command here: (group path, the Python
/// tool's name, ours). Accepted by the parser and listed in the man page.
pub(crate) const COMMAND_ALIASES: &[(&str, &str, &str)] = &[
    ("group", "list-members", "members"),
    ("sso", "list", "info"),
    ("templates", "preview", "plan"),
];

/// Flag names of the Python awsideman that mean a flag here: (command path, the Python
/// tool's long name, ours).
pub(crate) const FLAG_ALIASES: &[(&str, &str, &str)] = &[
    ("assignment list", "account-id", "account"),
    ("user create", "first-name", "given-name"),
    ("user create", "last-name", "family-name"),
    ("user update", "first-name", "given-name"),
    ("user update", "last-name", "family-name"),
    ("user delete", "force", "yes"),
    ("group delete", "force", "yes"),
    ("permission-set delete", "force", "yes"),
    ("assignment revoke", "force", "yes"),
    ("cache clear", "force", "yes"),
];

/// The options every command accepts, at any position on the command line.
pub(crate) const GLOBAL_FLAGS: &[Flag] = &[
    Flag::value("profile", "NAME", "The awsideman profile to use.").short('p'),
    Flag::value(
        "region",
        "REGION",
        "The AWS region, overriding the profile's.",
    )
    .short('r'),
    Flag::value("output", "FORMAT", "How to print results.")
        .short('o')
        .choices(&["table", "json", "text", "csv"]),
    Flag::switch("no-cache", None, "Do not read cached answers: ask AWS."),
    Flag::switch(
        "refresh",
        None,
        "Ask AWS and store the fresh answers in the cache (after a change made elsewhere). On a terminal, an answer from a cache entry older than a minute says how old it is on stderr.",
    ),
    Flag::switch(
        "debug",
        None,
        "Print requests, cache hits and timings to stderr.",
    ),
    Flag::switch("quiet", Some('q'), "Print nothing but results and errors."),
    Flag::switch(
        "wide",
        None,
        "Tables show every value whole instead of fitting the terminal.",
    ),
    Flag::switch(
        "no-header",
        None,
        "Text and csv output without the header line.",
    ),
    Flag::switch(
        "local-time",
        None,
        "Show times in local time with the offset (TZ, else /etc/localtime) instead of UTC; JSON keeps AWS's values.",
    ),
    Flag::switch("version", Some('V'), "Print the version and exit."),
    Flag::switch("help", Some('h'), "Print help and exit."),
];
