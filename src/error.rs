//! Errors as values: one type for the whole program, carrying the exit code it maps to.
//!
//! Every error is printed once, at the top, as one line. Context is prepended on the way up
//! ("reading /x/config.yaml: ...").

use std::fmt;

/// What went wrong, in the terms the exit code needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bad arguments on the command line (exit 2).
    Usage,
    /// An invalid configuration file or environment variable (exit 2).
    Config,
    /// AWS answered with an error (exit 1).
    Aws,
    /// Something named by the user does not exist (exit 1).
    NotFound,
    /// Anything else that failed at run time: network, files, credentials (exit 1).
    Runtime,
    /// A command that compares or checks found differences or problems (exit 3); not a
    /// failure of the command itself.
    Differences,
    /// The person at the terminal answered no to a confirmation: nothing was changed
    /// (exit 0).
    Declined,
}

/// An error with its kind, its message and, for AWS errors, the AWS error code.
#[derive(Debug, Clone)]
pub struct Error {
    kind: Kind,
    message: String,
    aws_code: Option<String>,
    http_status: Option<u16>,
}

/// The result type used throughout awsideman.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A usage error: the command line is wrong.
    pub(crate) fn usage(message: impl Into<String>) -> Error {
        Error::new(Kind::Usage, message)
    }

    /// A configuration error: a config key or environment variable is invalid.
    pub(crate) fn config(message: impl Into<String>) -> Error {
        Error::new(Kind::Config, message)
    }

    /// A run-time failure.
    pub(crate) fn runtime(message: impl Into<String>) -> Error {
        Error::new(Kind::Runtime, message)
    }

    /// A comparison or check found differences or problems (exit 3).
    pub(crate) fn differences(message: impl Into<String>) -> Error {
        Error::new(Kind::Differences, message)
    }

    /// The person declined a confirmation: nothing changed (exit 0).
    pub(crate) fn declined(message: impl Into<String>) -> Error {
        Error::new(Kind::Declined, message)
    }

    /// Something the user named was not found.
    pub(crate) fn not_found(message: impl Into<String>) -> Error {
        Error::new(Kind::NotFound, message)
    }

    /// An error answered by AWS, with its error code and HTTP status.
    pub fn aws(message: impl Into<String>, code: impl Into<String>, status: u16) -> Error {
        Error {
            kind: Kind::Aws,
            message: message.into(),
            aws_code: Some(code.into()),
            http_status: Some(status),
        }
    }

    fn new(kind: Kind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            aws_code: None,
            http_status: None,
        }
    }

    /// Prepends what was being done when the error happened.
    pub(crate) fn context(mut self, what: impl fmt::Display) -> Error {
        self.message = format!("{what}: {}", self.message);
        self
    }

    /// The kind of this error.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The AWS error code (e.g. `ResourceNotFoundException`), if AWS sent one.
    pub(crate) fn aws_code(&self) -> Option<&str> {
        self.aws_code.as_deref()
    }

    /// The HTTP status of an AWS error.
    pub(crate) fn http_status(&self) -> Option<u16> {
        self.http_status
    }

    /// The message without the kind.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// The process exit code for this error: 2 for usage and configuration, 3 for
    /// differences found, 0 for a declined confirmation, 1 otherwise.
    pub(crate) fn exit_code(&self) -> i32 {
        match self.kind {
            Kind::Declined => 0,
            Kind::Usage | Kind::Config => 2,
            Kind::Differences => 3,
            Kind::Aws | Kind::NotFound | Kind::Runtime => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Adds context to results, like `anyhow::Context`, for any error that displays.
pub(crate) trait Context<T> {
    /// Turns the error into a run-time [`Error`] prefixed with `what`.
    fn context(self, what: impl fmt::Display) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl fmt::Display) -> Result<T> {
        self.map_err(|e| Error::runtime(format!("{what}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_kind() {
        assert_eq!(Error::usage("x").exit_code(), 2);
        assert_eq!(Error::config("x").exit_code(), 2);
        assert_eq!(Error::runtime("x").exit_code(), 1);
        assert_eq!(Error::aws("x", "Code", 400).exit_code(), 1);
    }

    #[test]
    fn context_prefixes_message() {
        let e = Error::runtime("truncated").context("reading entry 3f2a");
        assert_eq!(e.to_string(), "reading entry 3f2a: truncated");
    }
}
