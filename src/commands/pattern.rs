//! Patterns users type (`--filter REGEX`, `find PATTERN`): compiled case-insensitively
//! within limits of length, nesting and compiled size, so no pattern can take the memory or
//! the time of the machine (nested and counted repetitions grow exponentially when
//! compiled). A pattern over a limit is a usage error (exit 2) naming the limit, found
//! before anything large is built.

use regex_lite::{Regex, RegexBuilder};

use crate::error::{Error, Result};

/// The longest pattern accepted, in characters.
pub(crate) const MAX_PATTERN_CHARS: usize = 1024;
/// The deepest nesting of groups and repetitions accepted.
pub(crate) const MAX_NESTING: u32 = 16;
/// The largest compiled pattern accepted, in bytes (counted repetitions expanded).
pub(crate) const MAX_COMPILED_BYTES: usize = 256 * 1024;

/// Compiles `source` (given as `what`, e.g. `--filter`) case-insensitively, within the
/// limits above.
pub(crate) fn compile(source: &str, what: &str) -> Result<Regex> {
    let refuse = |why: String| Error::usage(format!("{what}: {why}"));
    let chars = source.chars().count();
    if chars > MAX_PATTERN_CHARS {
        return Err(refuse(format!(
            "the pattern has {chars} characters; the limit is {MAX_PATTERN_CHARS}"
        )));
    }
    RegexBuilder::new(source)
        .case_insensitive(true)
        .nest_limit(MAX_NESTING)
        .size_limit(MAX_COMPILED_BYTES)
        .build()
        .map_err(|e| {
            let message = e.to_string();
            refuse(if message.contains("nesting") {
                format!("the pattern nests deeper than {MAX_NESTING} levels (the limit)")
            } else if message.contains("size limit") {
                format!(
                    "the pattern compiles to more than {} KiB (the limit): fewer or smaller \
                     repetitions",
                    MAX_COMPILED_BYTES / 1024
                )
            } else {
                format!("invalid regular expression {source:?}: {message}")
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_patterns_compile_case_insensitively() {
        let re = compile("^(dev|prod)-.*admin$", "--filter").unwrap();
        assert!(re.is_match("PROD-team-Admin"));
        assert!(compile(r"\w+@example\.com", "--filter").is_ok());
    }

    #[test]
    fn patterns_over_a_limit_are_usage_errors_at_once() {
        let cases = [
            ("(a*)*".repeat(400), "characters"),
            ("(".repeat(40) + "a" + &")*".repeat(40), "nests"),
            ("((a*){100}){100}".to_string(), "KiB"),
            ("a{5}{5}{5}{5}{5}{5}{5}".to_string(), "KiB"),
            ("(".to_string(), "invalid"),
        ];
        for (pattern, says) in cases {
            let e = compile(&pattern, "--filter").unwrap_err();
            assert_eq!(e.exit_code(), 2, "{pattern}");
            assert!(e.to_string().contains(says), "{pattern}: {e}");
        }
    }
}
