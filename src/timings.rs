//! `--timings`: where a run's time goes, by stage. Parallel stages (schema, steps, render,
//! rules) are summed over the worker threads, so they can add up to more than the wall time.
//! Off by default: then recording is one relaxed load per stage and request.
//! Wall stages also note the process's resident memory when they end, and the report ends with
//! the peak (Linux `/proc/self/status`; elsewhere the column is blank): memory is the figure a
//! 1M-request fleet runs out of first.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub(crate) enum Stage {
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

impl Stage {
    /// Stages timed once per run on the main thread (the others are summed per request).
    fn is_wall(self) -> bool {
        matches!(
            self,
            Stage::Load | Stage::Evaluate | Stage::Plan | Stage::Output
        )
    }
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
/// Resident memory (KiB) when each wall stage ended; 0 when not recorded.
static RSS_KIB: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];

pub(crate) fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

pub(crate) fn add(stage: Stage, d: Duration) {
    if let Some(n) = NANOS.get(stage as usize) {
        n.fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }
}

/// Times `f` as `stage` when timings are on.
pub(crate) fn time<T>(stage: Stage, f: impl FnOnce() -> T) -> T {
    if !enabled() {
        return f();
    }
    let started = Instant::now();
    let out = f();
    add(stage, started.elapsed());
    if stage.is_wall() {
        note_memory(stage);
    }
    out
}

/// Notes the resident memory at the end of a wall stage timed with [`add`].
pub(crate) fn note_memory(stage: Stage) {
    if enabled() {
        if let Some(r) = RSS_KIB.get(stage as usize) {
            r.store(status_kib("VmRSS:").unwrap_or(0), Ordering::Relaxed);
        }
    }
}

/// A `kB` field of `/proc/self/status` (`VmRSS:` now, `VmHWM:` the peak).
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn mib(kib: u64) -> String {
    format!("{:>8} MiB", kib / 1024)
}

/// The table `--timings` prints (to stderr), with the total wall time of the run.
pub(crate) fn report(total: Duration) -> String {
    let mut out = format!("timings:{:>45}{:>15}\n", "time", "memory after");
    let get = |s: Stage| {
        NANOS
            .get(s as usize)
            .map_or(0, |n| n.load(Ordering::Relaxed))
    };
    for (stage, name) in STAGES {
        let ns = match stage {
            // Steps are timed around whole pipelines, which include rendering.
            Stage::Steps => get(Stage::Steps).saturating_sub(get(Stage::Render)),
            s => get(s),
        };
        let rss = RSS_KIB
            .get(stage as usize)
            .map_or(0, |r| r.load(Ordering::Relaxed));
        let rss = if rss > 0 { mib(rss) } else { String::new() };
        out.push_str(&format!("  {name:<40} {:>10.3} s {rss}\n", ns as f64 / 1e9));
    }
    let peak = status_kib("VmHWM:").map(mib).unwrap_or_default();
    out.push_str(&format!(
        "  {:<40} {:>10.3} s {peak} peak\n",
        "total (wall)",
        total.as_secs_f64()
    ));
    out
}
