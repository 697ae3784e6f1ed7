//! The workspace's validated configuration below the planner: maintenance windows, freezes and
//! the calendar they make, and rollout strategies, each read as written and compiled once at
//! load into typed values, so the stages after loading cannot meet a bad one.
//!
//! Imports only the lowest layers (diag, duration, error, model): the loader and the planner
//! build on it, never the other way round.

pub mod calendar;
pub mod rollout;
pub mod waivers;

pub use calendar::{Calendar, Freeze, FreezeSpec, Window, WindowSpec};
pub use rollout::{default_rollout, CanarySpec, Quantity, RolloutSpec, WaveSpec};
pub use waivers::WaiverSettings;
