//! End-to-end tests: the built binary, run as a user runs it, against moto_server.
//! Run them with `./tests/run.sh`, which starts the emulator.

mod common;

mod access_review;
mod assignments;
mod audit;
mod backup;
mod backup_restore;
mod bulk;
mod cache;
mod cache_dir;
mod cache_tools;
mod callers;
mod cli;
mod config;
mod credentials;
mod docs;
mod dynamodb;
mod encryption;
mod endpoints;
mod faults;
mod groups;
mod hostile;
mod key_changes;
mod limits;
mod local_files;
mod org;
mod output_options;
mod permission_sets;
mod prompts;
mod reliability;
mod rollback;
mod security;
mod seed_check;
mod shared_cache;
mod status;
mod templates;
mod transport;
mod users;
