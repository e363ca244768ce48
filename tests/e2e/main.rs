//! End-to-end tests: the built binary, run as a user runs it, against moto_server.
//! Run them with `./tests/run.sh`, which starts the emulator.

mod common;

mod cli;
mod config;
mod credentials;
mod seed_check;
mod transport;
mod users;
