//! `--timings`: where a run's time goes, by stage, measured as the kernel counts it.
//!
//! Wall stages (load, evaluate, plan, output) run once on the dispatching thread and fan out to
//! the rayon workers; each gets its wall time, the CPU time its threads used (every worker's
//! thread CPU clock read at the stage's start and end, summed), and its serial part. Parallel
//! stages (schema, steps, render, rules) run per request inside `evaluate` on every worker; they
//! get the thread CPU of the calling worker (`CLOCK_THREAD_CPUTIME_ID`) summed over requests.
//! Thread CPU, unlike wall time, does not grow while a thread is preempted, which is why these
//! figures replaced the per-request wall sums of the first version.
//!
//! The serial part of a wall stage is the wall time the other workers could not have been busy:
//! wall minus the mean CPU of every worker but the busiest (the dispatching thread, which runs
//! the stage's serial code). With one thread it is the wall time. Under load from other
//! processes a worker waiting for a core looks idle, so the figure is an upper bound.
//!
//! Off by default: then recording is one relaxed load per stage and request. Wall stages also
//! note the process's resident memory when they end, and the report ends with the peak (Linux
//! `/proc/self/status`; elsewhere the column is blank): memory is the figure a 1M-request fleet
//! runs out of first.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How `--timings` prints its figures.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A table.
    Human,
    /// One JSON object (stages, wall, cpu, serial, memory).
    Json,
}

/// The report in `format`, with the total wall time of the run.
pub(crate) fn render(format: Format, total: Duration) -> String {
    match format {
        Format::Human => report(total),
        Format::Json => report_json(total),
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Stage {
    /// Reading, splitting and parsing every input, linking requests, reading the store (wall).
    Load,
    /// Structural-schema defaulting and validation of requests (thread CPU, all workers).
    Schema,
    /// Rhai steps of the Promises' pipelines (thread CPU, all workers).
    Steps,
    /// Placing and rendering outputs: YAML text, digests (thread CPU, all workers).
    Render,
    /// Policy rules over requests and outputs (thread CPU, all workers).
    Rules,
    /// Evaluating every request: schema, steps, render and rules (wall).
    Evaluate,
    /// Diff against the store, waves, counts (wall).
    Plan,
    /// Writing the plan or report (wall).
    Output,
}

impl Stage {
    /// Stages timed once per run on the dispatching thread (the others are summed per request).
    fn is_wall(self) -> bool {
        matches!(
            self,
            Stage::Load | Stage::Evaluate | Stage::Plan | Stage::Output
        )
    }

    /// The stage's name in the JSON report.
    fn key(self) -> &'static str {
        match self {
            Stage::Load => "load",
            Stage::Schema => "schema",
            Stage::Steps => "steps",
            Stage::Render => "render",
            Stage::Rules => "rules",
            Stage::Evaluate => "evaluate",
            Stage::Plan => "plan",
            Stage::Output => "output",
        }
    }
}

/// The report's rows in order, with the human label.
const STAGES: [(Stage, &str); 8] = [
    (Stage::Load, "load (read, split, parse, link, store)"),
    (Stage::Evaluate, "evaluate"),
    (Stage::Schema, "  schema (per request)"),
    (Stage::Steps, "  steps (per request)"),
    (Stage::Render, "  render (per request)"),
    (Stage::Rules, "  rules (per request)"),
    (Stage::Plan, "plan"),
    (Stage::Output, "output"),
];

static ENABLED: AtomicBool = AtomicBool::new(false);
/// Wall nanoseconds of each wall stage.
static WALL: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];
/// Thread CPU nanoseconds of each stage, summed over the threads.
static CPU: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];
/// Serial nanoseconds of each wall stage.
static SERIAL: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];
/// Resident memory (KiB) when each wall stage ended; 0 when not recorded.
static RSS_KIB: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];
/// The threads' CPU clocks by worker index, registered as each worker starts; the thread that
/// turned timings on (the main thread, which waits while the pool works) is [`MAIN`].
static WORKERS: Mutex<Vec<(usize, libc::clockid_t)>> = Mutex::new(Vec::new());
const MAIN: usize = usize::MAX;

pub(crate) fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
    register(MAIN);
}

pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Called by each worker thread as it starts: its CPU clock can then be read from any thread.
pub(crate) fn register_worker(index: usize) {
    register(index);
}

fn register(index: usize) {
    let mut id: libc::clockid_t = 0;
    // SAFETY: pthread_self is this live thread; `id` is a valid place for the result.
    if unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut id) } == 0 {
        if let Ok(mut w) = WORKERS.lock() {
            w.push((index, id));
        }
    }
}

/// Nanoseconds on a clock; 0 if it cannot be read (a thread that has ended).
fn clock_nanos(clock: libc::clockid_t) -> u64 {
    read_clock(clock).unwrap_or(0)
}

/// Nanoseconds on a clock, `None` if it cannot be read.
fn read_clock(clock: libc::clockid_t) -> Option<u64> {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec the call writes into.
    if unsafe { libc::clock_gettime(clock, &mut t) } != 0 {
        return None;
    }
    let secs = u64::try_from(t.tv_sec).ok()?;
    let nanos = u64::try_from(t.tv_nsec).ok()?;
    Some(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
}

/// This thread's CPU time so far, in nanoseconds; `None` if the clock cannot be read.
pub(crate) fn thread_cpu_nanos() -> Option<u64> {
    read_clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// This thread's CPU time so far.
fn thread_cpu() -> u64 {
    thread_cpu_nanos().unwrap_or(0)
}

/// Every registered thread's CPU time so far, by index.
fn workers_cpu() -> Vec<(usize, u64)> {
    WORKERS
        .lock()
        .map(|w| w.iter().map(|(i, c)| (*i, clock_nanos(*c))).collect())
        .unwrap_or_default()
}

fn add_to(table: &[AtomicU64; 8], stage: Stage, nanos: u64) {
    if let Some(n) = table.get(stage as usize) {
        n.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// What a wall stage adds: its wall time, its threads' CPU, its serial part.
/// A worker that registered during the stage counts from 0 (all its CPU is the stage's).
fn record_wall(stage: Stage, wall: u64, before: &[(usize, u64)], after: &[(usize, u64)]) {
    let used_by = |index: usize, now: u64| {
        let then = before.iter().find(|(i, _)| *i == index).map_or(0, |b| b.1);
        now.saturating_sub(then)
    };
    let cpu: u64 = after.iter().map(|(i, a)| used_by(*i, *a)).sum();
    let mut used: Vec<u64> = after
        .iter()
        .filter(|(i, _)| *i != MAIN)
        .map(|(i, a)| used_by(*i, *a))
        .collect();
    used.sort_unstable();
    let serial = match used.split_last() {
        Some((_, others)) if !others.is_empty() => {
            let mean = others.iter().sum::<u64>() / others.len() as u64;
            wall.saturating_sub(mean)
        }
        _ => wall,
    };
    add_to(&WALL, stage, wall);
    add_to(&CPU, stage, cpu);
    add_to(&SERIAL, stage, serial.min(wall));
    note_memory(stage);
}

/// Times `f` as `stage` when timings are on.
pub(crate) fn time<T>(stage: Stage, f: impl FnOnce() -> T) -> T {
    if !enabled() {
        return f();
    }
    if !stage.is_wall() {
        let started = thread_cpu();
        let out = f();
        add_to(&CPU, stage, thread_cpu().saturating_sub(started));
        return out;
    }
    let (before, started) = (workers_cpu(), Instant::now());
    let out = f();
    let wall = started.elapsed().as_nanos() as u64;
    record_wall(stage, wall, &before, &workers_cpu());
    out
}

/// A running measurement of a stage whose end is not a closure's end (see [`time`]).
pub(crate) struct Span {
    stage: Stage,
    started: Instant,
    cpu: Vec<(usize, u64)>,
}

/// Starts a measurement of `stage`; `None` when timings are off.
pub(crate) fn start(stage: Stage) -> Option<Span> {
    if !enabled() {
        return None;
    }
    let cpu = if stage.is_wall() {
        workers_cpu()
    } else {
        vec![(0, thread_cpu())]
    };
    Some(Span {
        stage,
        started: Instant::now(),
        cpu,
    })
}

impl Span {
    /// Ends the measurement and adds it to its stage.
    pub(crate) fn finish(self) {
        if self.stage.is_wall() {
            let wall = self.started.elapsed().as_nanos() as u64;
            record_wall(self.stage, wall, &self.cpu, &workers_cpu());
        } else {
            let started = self.cpu.first().map_or(0, |c| c.1);
            add_to(&CPU, self.stage, thread_cpu().saturating_sub(started));
        }
    }
}

/// Notes the resident memory at the end of a wall stage.
fn note_memory(stage: Stage) {
    if let Some(r) = RSS_KIB.get(stage as usize) {
        r.store(status_kib("VmRSS:").unwrap_or(0), Ordering::Relaxed);
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

/// The whole process's CPU time (user + system, every thread), for the total row.
fn process_cpu() -> Duration {
    Duration::from_nanos(clock_nanos(libc::CLOCK_PROCESS_CPUTIME_ID))
}

/// One row of the report, in nanoseconds and KiB; wall and serial are absent for the
/// per-request stages, memory where it was not read.
struct Row {
    stage: Stage,
    label: &'static str,
    wall: Option<u64>,
    cpu: u64,
    serial: Option<u64>,
    rss_kib: Option<u64>,
}

fn load(table: &[AtomicU64; 8], stage: Stage) -> u64 {
    table
        .get(stage as usize)
        .map_or(0, |n| n.load(Ordering::Relaxed))
}

fn rows() -> Vec<Row> {
    STAGES
        .iter()
        .map(|&(stage, label)| {
            let cpu = match stage {
                // Steps are timed around whole pipelines, which include rendering.
                Stage::Steps => load(&CPU, Stage::Steps).saturating_sub(load(&CPU, Stage::Render)),
                s => load(&CPU, s),
            };
            let wall_stage = stage.is_wall();
            Row {
                stage,
                label,
                wall: wall_stage.then(|| load(&WALL, stage)),
                cpu,
                serial: wall_stage.then(|| load(&SERIAL, stage)),
                rss_kib: Some(load(&RSS_KIB, stage)).filter(|k| *k > 0),
            }
        })
        .collect()
}

fn secs(nanos: u64) -> f64 {
    nanos as f64 / 1e9
}

fn cell(nanos: Option<u64>) -> String {
    nanos.map_or(String::new(), |n| format!("{:.3} s", secs(n)))
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or(String::new(), |k| format!("{} MiB", k / 1024))
}

/// The table `--timings` prints (to stderr), with the total wall time of the run.
pub(crate) fn report(total: Duration) -> String {
    let mut out = format!(
        "timings: {:<32} {:>10} {:>10} {:>10} {:>12}\n",
        "", "wall", "cpu", "serial", "memory after"
    );
    for r in rows() {
        out.push_str(&format!(
            "  {:<39} {:>10} {:>10} {:>10} {:>12}\n",
            r.label,
            cell(r.wall),
            cell(Some(r.cpu)),
            cell(r.serial),
            mib(r.rss_kib)
        ));
    }
    let peak = status_kib("VmHWM:");
    out.push_str(&format!(
        "  {:<39} {:>10} {:>10} {:>10} {:>12} peak\n",
        "total (process)",
        cell(Some(total.as_nanos() as u64)),
        cell(Some(process_cpu().as_nanos() as u64)),
        "",
        mib(peak)
    ));
    out
}

/// The same figures as one JSON object (`--timings=json`), seconds as numbers, for scripts.
pub(crate) fn report_json(total: Duration) -> String {
    let stages: Vec<serde_json::Value> = rows()
        .into_iter()
        .map(|r| {
            serde_json::json!({
                "stage": r.stage.key(),
                "wall_s": r.wall.map(secs),
                "cpu_s": secs(r.cpu),
                "serial_s": r.serial.map(secs),
                "rss_mib_after": r.rss_kib.map(|k| k / 1024),
            })
        })
        .collect();
    let threads = WORKERS
        .lock()
        .map(|w| w.iter().filter(|(i, _)| *i != MAIN).count())
        .unwrap_or(0);
    let doc = serde_json::json!({
        "timings": 1,
        "threads": threads,
        "stages": stages,
        "total": {
            "wall_s": total.as_secs_f64(),
            "cpu_s": process_cpu().as_secs_f64(),
            "peak_rss_mib": status_kib("VmHWM:").map(|k| k / 1024),
        },
    });
    format!("{doc}\n")
}
