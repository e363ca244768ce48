//! The command line: the command table and the parser, help, man page and completions
//! generated from it.

pub mod matches;
pub mod spec;
