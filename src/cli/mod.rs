//! The command line: the command table and the parser, help, man page and completions
//! generated from it.

pub(crate) mod complete;
pub(crate) mod doc;
pub(crate) mod entry;
pub(crate) mod help;
pub(crate) mod man;
pub(crate) mod parse;
pub(crate) mod spec;
pub(crate) mod table;
pub(crate) mod warm;
