//! The command line: the command table and the parser, help, man page and completions
//! generated from it.

pub mod complete;
pub mod doc;
pub mod entry;
pub mod help;
pub mod man;
pub mod parse;
pub mod spec;
pub mod table;
pub mod warm;
