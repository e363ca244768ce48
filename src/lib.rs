//! awsideman: a fast, cached command-line manager for AWS IAM Identity Center.

pub mod audit;
pub mod aws;
pub mod cache;
pub mod cli;
pub mod client;
pub mod clock;
pub mod commands;
pub mod config;
pub mod env;
pub mod error;
pub mod fsutil;
pub mod output;
pub mod parallel;
