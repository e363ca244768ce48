//! What AWS accepts, checked before the first request: the lengths and counts the service
//! models give the request members that commands fill from flags. A value outside them is a
//! usage error (exit 2) naming the flag and the AWS limit, before anything is sent (AWS would
//! answer a ValidationException, maybe after other steps of the command ran).
//!
//! The table is data: a test compares every row with botocore's service models.

use super::args::Matches;
use crate::error::{Error, Result};

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Characters of each value given.
    Characters,
    /// How many times the flag is given (a list member).
    Values,
}

/// One limit: the command and flag, the request member AWS checks, and its bounds.
#[derive(Debug, Clone, Copy)]
pub struct InputLimit {
    /// The command (`user create`).
    pub command: &'static str,
    /// The flag, without dashes.
    pub flag: &'static str,
    /// The service model's name (`identitystore`, `sso-admin`).
    pub service: &'static str,
    /// The operation whose input shape holds the limit.
    pub operation: &'static str,
    /// The member, as a dotted path (`Name.GivenName`; `Emails.[].Value` for a list's
    /// elements).
    pub member: &'static str,
    /// What is counted.
    pub counted: Counted,
    /// The least accepted.
    pub min: usize,
    /// The most accepted.
    pub max: usize,
}

const fn chars(
    command: &'static str,
    flag: &'static str,
    service: &'static str,
    operation: &'static str,
    member: &'static str,
    min: usize,
    max: usize,
) -> InputLimit {
    InputLimit {
        command,
        flag,
        service,
        operation,
        member,
        counted: Counted::Characters,
        min,
        max,
    }
}

const IS: &str = "identitystore";
const SSO: &str = "sso-admin";

/// Every limit, by command. An update sets the same attribute a create does, under the same
/// limit (UpdateUser and UpdateGroup take attribute values AWS checks as on creation).
pub const INPUT_LIMITS: &[InputLimit] = &[
    chars(
        "user create",
        "username",
        IS,
        "CreateUser",
        "UserName",
        1,
        128,
    ),
    chars(
        "user create",
        "display-name",
        IS,
        "CreateUser",
        "DisplayName",
        1,
        1024,
    ),
    chars(
        "user create",
        "given-name",
        IS,
        "CreateUser",
        "Name.GivenName",
        1,
        1024,
    ),
    chars(
        "user create",
        "family-name",
        IS,
        "CreateUser",
        "Name.FamilyName",
        1,
        1024,
    ),
    chars(
        "user create",
        "email",
        IS,
        "CreateUser",
        "Emails.[].Value",
        1,
        1024,
    ),
    InputLimit {
        counted: Counted::Values,
        ..chars("user create", "email", IS, "CreateUser", "Emails", 1, 1)
    },
    chars(
        "user update",
        "display-name",
        IS,
        "CreateUser",
        "DisplayName",
        1,
        1024,
    ),
    chars(
        "user update",
        "given-name",
        IS,
        "CreateUser",
        "Name.GivenName",
        1,
        1024,
    ),
    chars(
        "user update",
        "family-name",
        IS,
        "CreateUser",
        "Name.FamilyName",
        1,
        1024,
    ),
    chars("user update", "title", IS, "CreateUser", "Title", 1, 1024),
    chars(
        "user update",
        "email",
        IS,
        "CreateUser",
        "Emails.[].Value",
        1,
        1024,
    ),
    InputLimit {
        counted: Counted::Values,
        ..chars("user update", "email", IS, "CreateUser", "Emails", 1, 1)
    },
    chars(
        "group create",
        "name",
        IS,
        "CreateGroup",
        "DisplayName",
        1,
        1024,
    ),
    chars(
        "group create",
        "description",
        IS,
        "CreateGroup",
        "Description",
        1,
        1024,
    ),
    chars(
        "group update",
        "name",
        IS,
        "CreateGroup",
        "DisplayName",
        1,
        1024,
    ),
    chars(
        "group update",
        "description",
        IS,
        "CreateGroup",
        "Description",
        1,
        1024,
    ),
    chars(
        "permission-set create",
        "name",
        SSO,
        "CreatePermissionSet",
        "Name",
        1,
        32,
    ),
    chars(
        "permission-set create",
        "description",
        SSO,
        "CreatePermissionSet",
        "Description",
        1,
        700,
    ),
    chars(
        "permission-set create",
        "relay-state",
        SSO,
        "CreatePermissionSet",
        "RelayState",
        1,
        240,
    ),
    chars(
        "permission-set clone",
        "to",
        SSO,
        "CreatePermissionSet",
        "Name",
        1,
        32,
    ),
    chars(
        "permission-set clone",
        "description",
        SSO,
        "CreatePermissionSet",
        "Description",
        1,
        700,
    ),
    chars(
        "permission-set update",
        "description",
        SSO,
        "UpdatePermissionSet",
        "Description",
        1,
        700,
    ),
    chars(
        "permission-set update",
        "relay-state",
        SSO,
        "UpdatePermissionSet",
        "RelayState",
        1,
        240,
    ),
];

/// Checks the flags `command` was given against its limits; the first violation is a usage
/// error naming the flag and the limit.
pub(crate) fn check(command: &str, m: &Matches) -> Result<()> {
    for limit in INPUT_LIMITS.iter().filter(|l| l.command == command) {
        let values = m.values(limit.flag);
        match limit.counted {
            Counted::Values => {
                if !values.is_empty() && values.len() > limit.max {
                    return Err(Error::usage(format!(
                        "--{}: given {} times; AWS takes at most {} ({} {})",
                        limit.flag,
                        values.len(),
                        limit.max,
                        limit.operation,
                        limit.member
                    )));
                }
            }
            Counted::Characters => {
                for value in values {
                    let n = value.chars().count();
                    if n < limit.min || n > limit.max {
                        return Err(Error::usage(format!(
                            "--{}: {n} characters; AWS takes {} to {} ({} {})",
                            limit.flag, limit.min, limit.max, limit.operation, limit.member
                        )));
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_outside_the_limits_are_usage_errors_naming_the_flag() {
        let mut m = Matches::default();
        m.push_flag("username", "u".repeat(129));
        let e = check("user create", &m).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.to_string(),
            "--username: 129 characters; AWS takes 1 to 128 (CreateUser UserName)"
        );
        let mut m = Matches::default();
        m.push_flag("email", "a@x.io".into());
        m.push_flag("email", "b@x.io".into());
        let e = check("user create", &m).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("--email: given 2 times; AWS takes at most 1")
        );
        let mut m = Matches::default();
        m.push_flag("description", String::new());
        assert!(check("group create", &m).is_err(), "an empty description");
        let mut m = Matches::default();
        m.push_flag("name", "é".repeat(32));
        assert!(
            check("permission-set create", &m).is_ok(),
            "characters, not bytes"
        );
    }
}
