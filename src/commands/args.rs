//! What the command line gave a command: the global options and the command's own arguments
//! (flag values, switches and positionals, by name). The parser fills them in; runners read
//! them.

use std::collections::BTreeMap;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::output::OutputFormat;

/// The validated arguments of a command, looked up by the names the table gives them.
///
/// Once the parser has declared the command's names ([`Matches::declare`]), asking for a
/// name the command does not declare is a bug in its runner: a panic in debug builds (so the
/// test suite, which runs every command, finds it), nothing given in release builds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Matches {
    flags: BTreeMap<&'static str, Vec<String>>,
    positionals: BTreeMap<&'static str, Vec<String>>,
    declared: Option<Vec<&'static str>>,
}

impl Matches {
    /// Arguments of a command whose flags (long names) and positionals are `names`.
    pub(crate) fn declared(names: impl IntoIterator<Item = &'static str>) -> Matches {
        let mut matches = Matches::default();
        matches.declare(names);
        matches
    }

    /// Declares the names the command has (its flags' long names and its positionals').
    pub(crate) fn declare(&mut self, names: impl IntoIterator<Item = &'static str>) {
        self.declared = Some(names.into_iter().collect());
    }

    /// Checks that `name` is one the command declares (see [`Matches`]).
    fn check(&self, name: &str) {
        if let Some(declared) = &self.declared {
            debug_assert!(
                declared.contains(&name),
                "a runner read {name:?}, which its command does not declare ({declared:?})"
            );
        }
    }

    /// Records a flag occurrence (`value` is empty for a switch).
    pub(crate) fn push_flag(&mut self, long: &'static str, value: String) {
        self.flags.entry(long).or_default().push(value);
    }

    /// Records a positional value.
    pub(crate) fn push_positional(&mut self, name: &'static str, value: String) {
        self.positionals.entry(name).or_default().push(value);
    }

    /// Whether the flag `long` was given.
    pub(crate) fn switch(&self, long: &str) -> bool {
        self.check(long);
        self.flags.contains_key(long)
    }

    /// The last value of flag `long`.
    pub(crate) fn value(&self, long: &str) -> Option<&str> {
        self.check(long);
        self.flags
            .get(long)
            .and_then(|v| v.last())
            .map(String::as_str)
    }

    /// Every value of a repeatable flag, in order.
    pub(crate) fn values(&self, long: &str) -> &[String] {
        self.check(long);
        self.flags.get(long).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The value of flag `long` parsed as `T`; a usage error names the flag if it does not parse.
    pub(crate) fn parsed<T: FromStr>(&self, long: &str) -> Result<Option<T>>
    where
        T::Err: std::fmt::Display,
    {
        match self.value(long) {
            None => Ok(None),
            Some(raw) => raw
                .parse()
                .map(Some)
                .map_err(|e| Error::usage(format!("--{long}: invalid value {raw:?}: {e}"))),
        }
    }

    /// The positional argument `name` (the first value of a multiple one).
    pub(crate) fn arg(&self, name: &str) -> Option<&str> {
        self.check(name);
        self.positionals
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// Every value of a positional argument.
    pub(crate) fn args(&self, name: &str) -> &[String] {
        self.check(name);
        self.positionals.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// A positional argument the table marks required (the parser has checked it).
    pub(crate) fn required_arg(&self, name: &str) -> Result<&str> {
        self.arg(name)
            .ok_or_else(|| Error::usage(format!("missing argument {name}")))
    }

    /// A flag the table marks required (the parser has checked it).
    pub(crate) fn required_value(&self, long: &str) -> Result<&str> {
        self.value(long)
            .ok_or_else(|| Error::usage(format!("missing required flag --{long}")))
    }
}

/// The global options as given on the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Globals {
    /// `--profile`: the awsideman profile.
    pub(crate) profile: Option<String>,
    /// `--region`: overrides the profile's region.
    pub(crate) region: Option<String>,
    /// `--output`: the output form.
    pub(crate) output: Option<OutputFormat>,
    /// `--no-cache`: do not read cached answers.
    pub(crate) no_cache: bool,
    /// `--debug`: diagnostics on stderr.
    pub(crate) debug: bool,
    /// `--quiet`: only results and errors.
    pub(crate) quiet: bool,
    /// `--wide`: tables do not fit the terminal's width.
    pub(crate) wide: bool,
    /// `--refresh`: read from AWS and store the fresh answers.
    pub(crate) refresh: bool,
    /// `--no-header`: text and csv without their header line.
    pub(crate) no_header: bool,
    /// `--local-time`: times in local time instead of UTC.
    pub(crate) local_time: bool,
}
