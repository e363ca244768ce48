//! What the command line gave a command: the global options and the command's own arguments
//! (flag values, switches and positionals, by name). The parser fills them in; runners read
//! them.

use std::collections::BTreeMap;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::output::OutputFormat;

/// The validated arguments of a command, looked up by the names the table gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matches {
    flags: BTreeMap<&'static str, Vec<String>>,
    positionals: BTreeMap<&'static str, Vec<String>>,
}

impl Matches {
    /// Records a flag occurrence (`value` is empty for a switch).
    pub fn push_flag(&mut self, long: &'static str, value: String) {
        self.flags.entry(long).or_default().push(value);
    }

    /// Records a positional value.
    pub fn push_positional(&mut self, name: &'static str, value: String) {
        self.positionals.entry(name).or_default().push(value);
    }

    /// Whether the flag `long` was given.
    pub fn switch(&self, long: &str) -> bool {
        self.flags.contains_key(long)
    }

    /// The last value of flag `long`.
    pub fn value(&self, long: &str) -> Option<&str> {
        self.flags
            .get(long)
            .and_then(|v| v.last())
            .map(String::as_str)
    }

    /// Every value of a repeatable flag, in order.
    pub fn values(&self, long: &str) -> &[String] {
        self.flags.get(long).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The value of flag `long` parsed as `T`; a usage error names the flag if it does not parse.
    pub fn parsed<T: FromStr>(&self, long: &str) -> Result<Option<T>>
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
    pub fn arg(&self, name: &str) -> Option<&str> {
        self.positionals
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// Every value of a positional argument.
    pub fn args(&self, name: &str) -> &[String] {
        self.positionals.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// A positional argument the table marks required (the parser has checked it).
    pub fn required_arg(&self, name: &str) -> Result<&str> {
        self.arg(name)
            .ok_or_else(|| Error::usage(format!("missing argument {name}")))
    }

    /// A flag the table marks required (the parser has checked it).
    pub fn required_value(&self, long: &str) -> Result<&str> {
        self.value(long)
            .ok_or_else(|| Error::usage(format!("missing required flag --{long}")))
    }
}

/// The global options as given on the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Globals {
    /// `--profile`: the awsideman profile.
    pub profile: Option<String>,
    /// `--region`: overrides the profile's region.
    pub region: Option<String>,
    /// `--output`: the output form.
    pub output: Option<OutputFormat>,
    /// `--no-cache`: do not read cached answers.
    pub no_cache: bool,
    /// `--debug`: diagnostics on stderr.
    pub debug: bool,
    /// `--quiet`: only results and errors.
    pub quiet: bool,
}
