//! vow: a declarative policy-and-rollout batch engine for Kratix-style platforms.
//!
//! Load (workspace, Promises, requests, destinations, store) → evaluate every request in
//! parallel (schema, Rhai steps, scheduling) → plan (diff, waves) → report. The binary is a thin
//! wrapper around [`run`].

// A `Finding` is the error type of per-document parsing; it is returned once per bad document,
// never in a hot loop, so its size (a code, a location, a message) is not worth boxing.
#![allow(clippy::result_large_err)]

pub mod apply;
pub mod cli;
pub mod command;
pub mod config;
pub mod diag;
pub mod duration;
pub mod error;
pub mod evaluate;
pub mod load;
pub mod model;
pub mod plan;
pub mod policy;
pub mod report;
pub mod scan;
pub mod schema;
pub mod script;
pub mod source;
pub mod store;
pub mod testcase;
pub mod timings;
pub mod workspace;
pub mod yaml_writer;

/// Runs vow with these arguments (the first is the program name): the exit code, or the error
/// that stopped the command (its [`exit_code`](error::Error::exit_code) is the exit code).
pub fn run(args: Vec<String>) -> error::Result<i32> {
    cli::main(args)
}
