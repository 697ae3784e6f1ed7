//! `--timings`: where a run's time goes, by stage. Parallel stages (schema, steps, render,
//! rules) are summed over the worker threads, so they can add up to more than the wall time.
//! Off by default: then recording is one relaxed load per stage and request.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub enum Stage {
    /// Reading, splitting and parsing every input, linking requests, reading the store (wall).
    Load,
    /// Structural-schema defaulting and validation of requests (summed over threads).
    Schema,
    /// Rhai steps of the Promises' pipelines (summed over threads).
    Steps,
    /// Placing and rendering outputs: YAML text, digests (summed over threads).
    Render,
    /// Policy rules over requests and outputs (summed over threads).
    Rules,
    /// Evaluating every request: schema, steps, render and rules (wall).
    Evaluate,
    /// Diff against the store, waves, counts (wall).
    Plan,
    /// Writing the plan or report (wall).
    Output,
}

const STAGES: [(Stage, &str); 8] = [
    (Stage::Load, "load (read, split, parse, link, store)"),
    (Stage::Evaluate, "evaluate (wall)"),
    (Stage::Schema, "  schema (cpu, all threads)"),
    (Stage::Steps, "  steps (cpu, all threads)"),
    (Stage::Render, "  render (cpu, all threads)"),
    (Stage::Rules, "  rules (cpu, all threads)"),
    (Stage::Plan, "plan"),
    (Stage::Output, "output"),
];

static ENABLED: AtomicBool = AtomicBool::new(false);
static NANOS: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];

pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

pub fn add(stage: Stage, d: Duration) {
    NANOS[stage as usize].fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
}

/// Times `f` as `stage` when timings are on.
pub fn time<T>(stage: Stage, f: impl FnOnce() -> T) -> T {
    if !enabled() {
        return f();
    }
    let started = Instant::now();
    let out = f();
    add(stage, started.elapsed());
    out
}

/// The table `--timings` prints (to stderr), with the total wall time of the run.
pub fn report(total: Duration) -> String {
    let mut out = String::from("timings:\n");
    let get = |s: Stage| NANOS[s as usize].load(Ordering::Relaxed);
    for (stage, name) in STAGES {
        let ns = match stage {
            // Steps are timed around whole pipelines, which include rendering.
            Stage::Steps => get(Stage::Steps).saturating_sub(get(Stage::Render)),
            s => get(s),
        };
        out.push_str(&format!("  {name:<40} {:>10.3} s\n", ns as f64 / 1e9));
    }
    out.push_str(&format!(
        "  {:<40} {:>10.3} s\n",
        "total (wall)",
        total.as_secs_f64()
    ));
    out
}
