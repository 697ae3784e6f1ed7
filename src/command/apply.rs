//! `vow apply`: applies a plan to the store wave by wave behind its gates (src/apply/), and says
//! how the run stands. Apply has no machine output: every line of it (the waves applied, the
//! waits, how the run stands) is for people, on stderr (docs/cli.md, "Output rules").

use super::Sink;
use crate::apply::{ApplyOptions, Outcome};
use crate::error::{exit, Error, Result};
use crate::workspace::Workspace;
use chrono::{DateTime, Utc};
use std::path::PathBuf;

/// `vow apply`'s options.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    /// The plan file.
    pub plan: PathBuf,
    /// Poll until the run is done or aborted.
    pub wait: bool,
    /// How often `--wait` polls: a duration (30s, 5m).
    pub poll: String,
    /// A command that judges each wave's gate.
    pub gate_cmd: Option<String>,
    /// How long the gate command may run: a duration (10m).
    pub gate_timeout: String,
    /// The id of a dead apply's lock to break.
    pub force_unlock: Option<String>,
    /// `--supersede`, `--break-freeze`, `--by`.
    pub control: super::control::ApplyControlArgs,
}

/// Apply frees each wave's contents and backups after its commit and builds the next wave's:
/// with mimalloc's default of a second before freed memory goes back to the OS, the waves'
/// peaks add up (a 10k upgrade peaked 20-40 MiB higher, BENCHMARKS.md). Planning, one pass
/// whose memory is reused as it goes, keeps the default.
fn return_memory_sooner() {
    // SAFETY: sets one of mimalloc's process-wide options, which it reads atomically.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 1) };
}

/// `mi_option_purge_delay` in mimalloc 3's `mimalloc.h` (the bindings name only version 2's
/// options); its default is 1000 (ms), which `purge_delay_is_mimallocs` checks.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Applies the plan at `now`; `clock`: `now` is the clock's (not fixed by `--now`).
pub(crate) fn apply(
    ws: &Workspace,
    opts: &Options,
    now: DateTime<Utc>,
    clock: bool,
    sink: &mut Sink,
) -> Result<i32> {
    return_memory_sooner();
    let mut st = ws.open_store()?;
    let poll = crate::duration::parse_duration(&opts.poll).map_err(Error::Usage)?;
    let gate_timeout = crate::duration::parse_duration(&opts.gate_timeout).map_err(Error::Usage)?;
    let progress = super::progress::Terminal::new("applying");
    let apply_opts = ApplyOptions {
        plan: opts.plan.clone(),
        now,
        wait: opts.wait,
        poll: std::time::Duration::from_secs(poll.max(0) as u64),
        gate_cmd: opts.gate_cmd.clone(),
        gate_timeout: std::time::Duration::from_secs(gate_timeout.max(1) as u64),
        force_unlock: opts.force_unlock.clone(),
        clock,
        say: |line| super::sink::say(&format!("{line}\n")),
        progress: &progress,
        supersede: opts.control.supersede,
        break_freeze: super::control::break_freeze(opts.control.break_freeze.clone())?,
        by: super::control::user(opts.control.by.as_deref(), &ws.root)?,
    };
    let outcome = crate::apply::apply(ws, st.as_mut(), &apply_opts)?;
    match outcome {
        Outcome::Done { run } => {
            sink.say(&format!(
                "run {run}: done: every wave applied and its gate passed ({})\n",
                st.describe()
            ));
            Ok(exit::OK)
        }
        Outcome::Waiting {
            run,
            wave,
            until,
            why,
        } => {
            let when = until
                .map(|u| format!("after {}", crate::duration::format_time(u)))
                .unwrap_or_else(|| "when they are in".into());
            sink.say(&format!("run {run}: wave {wave} waits for {why}\nRun `vow apply` again {when}, or use --wait.\n"));
            Ok(exit::OK)
        }
        Outcome::Aborted { run, why } => {
            sink.say(&format!("run {run}: aborted: {why}\n"));
            Ok(exit::FINDINGS)
        }
        Outcome::Paused { run, why } => {
            sink.say(&format!(
                "run {run}: {why}; nothing was changed. `vow resume {run}` continues it.\n"
            ));
            Ok(exit::PAUSED)
        }
        Outcome::Cancelled { run, why } => {
            sink.say(&format!(
                "run {run}: {why}; no further waves are applied (`vow rollback {run}` undoes it).\n"
            ));
            Ok(exit::FINDINGS)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn purge_delay_is_mimallocs() {
        // SAFETY: reads a process-wide option.
        let delay = unsafe { libmimalloc_sys::mi_option_get(super::PURGE_DELAY) };
        // 1000 ms, or 1 once an apply in this test process has set it.
        assert!(
            delay == 1000 || delay == 1,
            "option 15 is {delay}, not the purge delay"
        );
    }
}
