//! vow: a declarative policy-and-rollout batch engine for Kratix-style platforms.
//!
//! A run is a pipeline of stages, each a module that imports only the ones below it
//! (docs/architecture.md has the layer table, checked by `tests/architecture.rs`):
//!
//! ```text
//! load ─→ validate ─→ configure ─→ schedule ─→ rules ─→ diff ─→ plan ─→ report
//!  │        └──────────── evaluate, per request, in parallel ────┘     │
//!  │                                                               plan file
//!  └─ catalogue + fleet                                                 └─→ apply (apart)
//! ```
//!
//! - [`load`]: the workspace's files, read through [`source`], into a
//!   [`Catalogue`](load::inputs::Catalogue) and the [`Fleet`](load::inputs::Fleet) of requests.
//! - [`evaluate`]: each request through `evaluate/validate.rs` (the Promise's schema),
//!   `evaluate/configure.rs` (its Rhai workflow steps, in [`script`]'s sandbox),
//!   `evaluate/schedule.rs` (its destinations) and the rules of [`policy`].
//! - [`plan`]: the diff against the [`store`], the waves, and the plan file
//!   ([`plan::Plan`], read back by [`plan::read_verified`]).
//! - [`report`]: every output format.
//! - [`apply`]: a plan file executed against the [`store`], wave by wave, behind its gates.
//!
//! Under them: [`model`] (the validated types, [`InstanceRef`](model::InstanceRef)),
//! [`config`] (windows, freezes, typed rollouts), [`schema`], [`script`], [`source`], [`diag`]
//! (findings), [`error`] (the fatal errors and exit codes). [`cli`] parses the arguments and
//! dispatches to the command modules; the binary is a thin wrapper around [`run`].

// A `Finding` is the error type of per-document parsing; it is returned once per bad document,
// never in a hot loop, so its size (a code, a location, a message) is not worth boxing.
#![allow(clippy::result_large_err)]

pub mod apply;
pub mod cli;
mod command;
pub mod config;
pub mod diag;
pub mod duration;
pub mod error;
pub mod evaluate;
pub mod fleet;
pub mod load;
pub mod model;
pub mod plan;
pub mod policy;
pub mod progress;
pub mod report;
mod scan;
pub mod schema;
pub mod script;
pub mod snippet;
pub mod source;
pub mod store;
mod testcase;
mod timings;
pub mod workspace;
mod yaml_writer;

/// Runs vow with these arguments (the first is the program name): the exit code, or the error
/// that stopped the command (its [`exit_code`](error::Error::exit_code) is the exit code).
pub fn run(args: Vec<String>) -> error::Result<i32> {
    cli::main(args)
}
