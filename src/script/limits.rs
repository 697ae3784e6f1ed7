//! The bounds on a script run beyond Rhai's own operation count: built-ins are charged for the
//! work they do, every run has a time budget checked as it goes, data crossing between scripts
//! and JSON has a depth limit, and a script's source has a size limit checked before compiling.
//!
//! Rhai counts operations, not work: one `sha256` of 512 KiB or one `sort` of 10,000 items is a
//! single operation, so an endless loop around one ran for minutes. vow's own built-ins are
//! charged by input size (deterministic); Rhai's built-ins are caught by the time budget.

use rhai::Dynamic;
use serde_json::Value;
use std::cell::Cell;
use std::time::{Duration, Instant};

/// Operations per run, counting the work charged by built-ins. A render step takes a few
/// thousand.
pub const MAX_OPERATIONS: u64 = 2_000_000;
pub const MAX_CALL_LEVELS: usize = 32;
pub const MAX_STRING_SIZE: usize = 1 << 20;
// Rhai re-measures an array after each push, so growing one to n costs n²/2: 10,000 keeps a
// runaway `push` loop well under a second (100,000 took 2.4 s).
pub const MAX_ARRAY_SIZE: usize = 10_000;
pub const MAX_MAP_SIZE: usize = 10_000;
/// Maps and arrays inside one another, in what a script gives `output`, `status`, `to_json` or
/// `to_yaml`, and in what it is given. Kubernetes objects nest a dozen levels.
pub const MAX_DATA_DEPTH: usize = 100;
/// What a script is given from JSON: above the loaders' own limit (serde's 128), so no loaded
/// document is ever cut, while the conversion still cannot recurse without bound.
pub const MAX_INPUT_DEPTH: usize = 256;
/// A script's source, checked before compiling (a 2.4 MB script did not compile in 30 s).
pub const MAX_SCRIPT_BYTES: usize = 256 * 1024;
/// Functions a script may define (closures included).
pub const MAX_FUNCTIONS: usize = 256;
pub const MAX_EXPR_DEPTH: usize = 64;
pub const MAX_FN_EXPR_DEPTH: usize = 32;
/// Wall-clock time one run may take. Only a hostile script comes near it: real steps take
/// microseconds.
pub const TIME_BUDGET: Duration = Duration::from_secs(1);
/// The stack script runs need: Rhai measures, clones and drops nested arrays and maps
/// recursively, and its size limits let them nest up to 20,000 deep (every level is one map or
/// array of the totals). Worker threads are started with this much (see `cli.rs`).
pub const STACK_BYTES: usize = 64 << 20;
/// Built-ins are charged one operation per this many bytes of input.
pub const BYTES_PER_OPERATION: usize = 16;
/// How often (in operations) the clock is read.
const CLOCK_EVERY: u64 = 16;

/// What `on_progress` answers to stop a run; [`super::failure`] reads it back.
pub(super) const OVER_OPERATIONS: &str = "vow: operations";
pub(super) const OVER_TIME: &str = "vow: time";

/// When a run's time is up: a wall-clock deadline, read cheaply every [`CLOCK_EVERY`]
/// operations, and the thread CPU time it may use, read only once the wall deadline has
/// passed. Time is up when both have: on a loaded machine a thread waits for a core, and a
/// budget of wall time alone stopped a step that had run microseconds, so the same inputs
/// rendered otherwise from one run to the next (apply refused its own plan as stale).
#[derive(Clone, Copy)]
struct Deadline {
    wall: Instant,
    /// The thread's CPU time (nanoseconds) at which the run is over; `None` when the clock
    /// cannot be read, and then the wall deadline alone decides.
    cpu: Option<u64>,
}

#[derive(Clone, Copy)]
struct Budget {
    deadline: Option<Deadline>,
    charged: u64,
}

/// A deadline [`TIME_BUDGET`] from now, on both clocks.
fn deadline_from_now() -> Option<Deadline> {
    let wall = Instant::now().checked_add(TIME_BUDGET)?;
    let budget = u64::try_from(TIME_BUDGET.as_nanos()).unwrap_or(u64::MAX);
    let cpu = crate::timings::thread_cpu_nanos().map(|c| c.saturating_add(budget));
    Some(Deadline { wall, cpu })
}

/// The earlier of two deadlines, clock by clock.
fn earlier(a: Deadline, b: Deadline) -> Deadline {
    let cpu = match (a.cpu, b.cpu) {
        (Some(x), Some(y)) => Some(x.min(y)),
        _ => None,
    };
    Deadline {
        wall: a.wall.min(b.wall),
        cpu,
    }
}

thread_local! {
    static BUDGET: Cell<Budget> = const { Cell::new(Budget { deadline: None, charged: 0 }) };
    /// The deadline of the request being evaluated on this thread, shared by all its steps and
    /// rules (see [`RequestBudget`]).
    static REQUEST_DEADLINE: Cell<Option<Deadline>> = const { Cell::new(None) };
}

/// The time budget of one request: while it is held, every script run on this thread ends by
/// the same deadline, so a request whose steps each run just under the budget still stops at
/// [`TIME_BUDGET`] in all. Dropping it ends the request's budget.
pub struct RequestBudget(());

impl RequestBudget {
    pub fn start() -> RequestBudget {
        REQUEST_DEADLINE.with(|d| d.set(deadline_from_now()));
        RequestBudget(())
    }
}

impl Drop for RequestBudget {
    fn drop(&mut self) {
        REQUEST_DEADLINE.with(|d| d.set(None));
    }
}

/// Starts the budget of one run: its own time budget, or what is left of its request's.
pub(super) fn start() {
    let own = deadline_from_now();
    let request = REQUEST_DEADLINE.with(Cell::get);
    let deadline = match (own, request) {
        (Some(a), Some(b)) => Some(earlier(a, b)),
        (a, b) => a.or(b),
    };
    BUDGET.with(|b| {
        b.set(Budget {
            deadline,
            charged: 0,
        })
    });
}

/// Charges the work of a built-in over `bytes` of input.
pub(super) fn charge(bytes: usize) {
    let ops = u64::try_from(bytes / BYTES_PER_OPERATION).unwrap_or(u64::MAX);
    BUDGET.with(|b| {
        let mut budget = b.get();
        budget.charged = budget.charged.saturating_add(ops);
        b.set(budget);
    });
}

/// Rhai's progress callback: stops the run when its operations and charges are over the
/// budget, or its time is up.
pub(super) fn progress(ops: u64) -> Option<Dynamic> {
    let budget = BUDGET.with(Cell::get);
    if ops.saturating_add(budget.charged) > MAX_OPERATIONS {
        return Some(OVER_OPERATIONS.into());
    }
    if !ops.is_multiple_of(CLOCK_EVERY) {
        return None;
    }
    let d = budget.deadline?;
    let now = Instant::now();
    if now < d.wall {
        return None;
    }
    let Some(end) = d.cpu else {
        return Some(OVER_TIME.into());
    };
    let used = crate::timings::thread_cpu_nanos()?;
    if used >= end {
        return Some(OVER_TIME.into());
    }
    // The wall deadline passed while the thread waited for a core: the CPU time left cannot be
    // used up sooner than that much wall time, so the CPU clock is not read again before then.
    let left = Duration::from_nanos(end.saturating_sub(used));
    let wall = now.checked_add(left).unwrap_or(now);
    BUDGET.with(|b| {
        b.set(Budget {
            deadline: Some(Deadline { wall, cpu: d.cpu }),
            ..budget
        })
    });
    None
}

/// Whether a script value nests maps and arrays deeper than [`MAX_DATA_DEPTH`]. The walk stops
/// at the limit, so it never recurses deeper than that.
pub fn dynamic_too_deep(d: &Dynamic) -> bool {
    dynamic_over(d, 0)
}

fn dynamic_over(d: &Dynamic, depth: usize) -> bool {
    if !(d.is_array() || d.is_map()) {
        return false;
    }
    if depth >= MAX_DATA_DEPTH {
        return true;
    }
    if let Ok(a) = d.as_array_ref() {
        return a.iter().any(|v| dynamic_over(v, depth + 1));
    }
    if let Ok(m) = d.as_map_ref() {
        return m.values().any(|v| dynamic_over(v, depth + 1));
    }
    false
}

/// Whether a JSON value nests deeper than `limit`, walked as [`dynamic_too_deep`].
pub fn json_too_deep(v: &Value, limit: usize) -> bool {
    json_over(v, 0, limit)
}

fn json_over(v: &Value, depth: usize, limit: usize) -> bool {
    let children: Box<dyn Iterator<Item = &Value>> = match v {
        Value::Array(a) => Box::new(a.iter()),
        Value::Object(m) => Box::new(m.values()),
        _ => return false,
    };
    depth >= limit || children.into_iter().any(|c| json_over(c, depth + 1, limit))
}

/// What the message for a value nested too deep says (how a failure is told from others).
pub(super) const TOO_DEEP: &str = "nests maps and arrays more than";

/// The message for a value nested too deep.
pub fn too_deep_message() -> String {
    format!("the value {TOO_DEEP} {MAX_DATA_DEPTH} deep")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_ends_by_its_requests_deadline() {
        // A request whose earlier steps used up its budget: the next run starts already late.
        let budget = RequestBudget::start();
        REQUEST_DEADLINE.with(|d| {
            d.set(Some(Deadline {
                wall: Instant::now(),
                cpu: crate::timings::thread_cpu_nanos(),
            }))
        });
        start();
        assert_eq!(
            progress(CLOCK_EVERY).map(|d| d.to_string()),
            Some(OVER_TIME.to_string())
        );
        drop(budget);
        // Without a request, a run has its own budget.
        start();
        assert!(progress(CLOCK_EVERY).is_none());
        assert!(REQUEST_DEADLINE.with(Cell::get).is_none());
    }

    #[test]
    fn time_spent_waiting_is_not_a_runs_time() {
        // A thread that waits for a core (here: sleeps) past the wall deadline has used no CPU:
        // its run goes on, so the same inputs render the same on a loaded machine.
        let budget = RequestBudget::start();
        start();
        std::thread::sleep(TIME_BUDGET + Duration::from_millis(100));
        assert!(progress(CLOCK_EVERY).is_none());
        drop(budget);
    }

    #[test]
    fn a_run_that_uses_its_cpu_time_is_stopped() {
        start();
        // Burn just over the budget of CPU on this thread, then the run is over time.
        let over = u64::try_from(TIME_BUDGET.as_nanos()).unwrap_or(u64::MAX);
        let begin = crate::timings::thread_cpu_nanos().unwrap_or(0);
        let mut x = 0u64;
        while crate::timings::thread_cpu_nanos()
            .unwrap_or(u64::MAX)
            .saturating_sub(begin)
            <= over
        {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert_eq!(
            progress(CLOCK_EVERY).map(|d| d.to_string()),
            Some(OVER_TIME.to_string())
        );
    }
}
