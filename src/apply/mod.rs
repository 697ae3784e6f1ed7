//! Apply: executing a plan against the store, wave by wave, behind gates.
//!
//! Level-triggered and resumable: each run of `vow apply PLAN` refuses a stale or edited plan,
//! takes the store's lock, finishes an interrupted commit, reads the run's journal, judges the
//! gate of the last applied wave, and applies the next wave when the gate passes, as one commit
//! with the updated journal, bindings, revisions and backups (for rollback). When a gate is not
//! yet decidable it returns `Waiting` (exit 0, come back later) or, with `--wait`, polls.

mod aggregate;
pub mod control;
mod fresh;
mod gate;
pub mod gate_cmd;
mod hold;
pub mod journal;
mod judge;
pub mod rollback;
mod verify;
mod wave;

pub use gate::{records as health_records, waiting as health_waiting, Decision};

use crate::error::Error;
use crate::error::Result;
use crate::evaluate::Evaluated;
use crate::load::inputs::{self, Catalogue};
use crate::model::InstanceRef;
use crate::plan::{Plan, PlanKind};
use crate::store::{self, layout, lock, LockInfo, Op, Store};
use crate::workspace::Workspace;
use chrono::{DateTime, Utc};
use journal::{GateReport, GateState, Journal, RunStatus};
use std::collections::HashMap;
use std::path::PathBuf;

pub struct ApplyOptions<'a> {
    pub plan: PathBuf,
    pub now: DateTime<Utc>,
    /// Poll until the run is done or aborted instead of returning when a gate must wait.
    pub wait: bool,
    /// How long `--wait` sleeps between polls.
    pub poll: std::time::Duration,
    pub gate_cmd: Option<String>,
    /// How long a gate command may run before it is killed (and the wave failed).
    pub gate_timeout: std::time::Duration,
    pub force_unlock: Option<String>,
    /// Whether `now` is the clock (advances while waiting) or fixed by `--now`.
    pub clock: bool,
    /// Tells people what apply did (a wave applied, a lock broken, a gate polled): the command
    /// line writes it to stderr; apply itself never prints.
    pub say: fn(&str),
    /// Shows a spinner while a gate waits (the command line's, on a terminal).
    pub progress: &'a dyn crate::progress::Progress,
    /// Cancel another unfinished run of the store at this run's first wave (`--supersede`).
    pub supersede: bool,
    /// Let a rollback plan through the freezes that hold it, for this reason (`--break-freeze`).
    pub break_freeze: Option<String>,
    /// Who applies: the journal names them in the controls apply records.
    pub by: String,
}

/// How a run of apply ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every wave applied and its gate passed.
    Done {
        run: String,
    },
    /// A gate is not decidable yet.
    Waiting {
        run: String,
        wave: String,
        until: Option<DateTime<Utc>>,
        why: String,
    },
    Aborted {
        run: String,
        why: String,
    },
    /// Paused by hand (`vow pause`): nothing was changed; `why` names who, when and why.
    Paused {
        run: String,
        why: String,
    },
    /// Cancelled by hand or superseded: no further waves.
    Cancelled {
        run: String,
        why: String,
    },
}

/// Applies (or continues applying) a plan.
pub fn apply(ws: &Workspace, st: &mut dyn Store, opts: &ApplyOptions) -> Result<Outcome> {
    let mut plan = crate::plan::read_verified(&opts.plan)?;
    plan.keep_for_apply();
    let run = plan.run_id();
    if let Some(id) = &opts.force_unlock {
        lock::force_unlock(&st.lock_path(), id)?;
        (opts.say)(&format!("broke lock {id}"));
    }
    confined_lock(st)?;
    let mut held = Some(lock::acquire(&st.lock_path(), lock_info(&run, opts.now))?);
    st.recover()?;
    let mut ending = control::starting(st, &plan, opts)?;
    let mut now = opts.now;
    // Loaded and rendered once per process: the inputs do not change while apply runs, and an
    // instance's rendering depends only on its own (untouched until its wave) store records.
    let (mut inputs, requests) = inputs::load(ws.clone(), now);
    let mut memo = verify::Memo::new(requests);
    // The catalogue's store is what the store holds, kept up to date as waves are committed
    // (re-reading a large store after every wave would cost more than the wave), and the one
    // copy of it: a wave's instances are untouched until their wave, so rendering them against
    // it is rendering them against the store as it was loaded.
    loop {
        let Some(step) = step(st, &plan, opts, now, &mut inputs, &mut memo, &mut ending)? else {
            continue;
        };
        match step {
            Outcome::Waiting { ref until, .. } if opts.wait => {
                let pause = until
                    .map(|u| (u - now).to_std().unwrap_or_default())
                    .unwrap_or(opts.poll)
                    .min(opts.poll)
                    .max(std::time::Duration::from_millis(10));
                if let Outcome::Waiting { wave, why, .. } = &step {
                    (opts.say)(&format!(
                        "wave {wave} waits for {why}; polling again in {pause:?}"
                    ));
                }
                // With a fixed --now, time is simulated: it advances without sleeping.
                if opts.clock {
                    // The lock is let go while sleeping, so that `vow pause` (and the other
                    // controls) can act on the run meanwhile.
                    drop(held.take());
                    opts.progress.waiting("waiting for the wave's gate");
                    std::thread::sleep(pause);
                    opts.progress.done();
                    now = Utc::now();
                    held = Some(control::relock(st, &run, &inputs, now)?);
                } else {
                    now += chrono::Duration::from_std(pause)
                        .map_err(|e| Error::System(e.to_string()))?;
                }
            }
            other => return Ok(other),
        }
    }
}

/// The lock file is written too: a lock path through a symlinked `.vow/` is refused.
fn confined_lock(st: &dyn Store) -> Result<()> {
    let lock = st.lock_path();
    let Ok(rel) = lock.strip_prefix(st.dir()) else {
        return Ok(());
    };
    let rel = rel.to_string_lossy().replace('\\', "/");
    store::path::StorePath::new(&rel)
        .and_then(|p| p.under(st.dir()))
        .map_err(|e| {
            Error::Store(format!(
                "cannot take the store's lock: {e}. Replace the symlink with a real folder or \
                 file (vow never follows a symlink in the store); nothing was applied"
            ))
        })?;
    Ok(())
}

fn lock_info(run: &str, now: DateTime<Utc>) -> LockInfo {
    let pid = std::process::id();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    LockInfo {
        id: store::digest(format!("{pid}-{nanos}").as_bytes())
            .trim_start_matches("sha256:")
            .chars()
            .take(8)
            .collect(),
        pid,
        host: std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into()),
        since: crate::duration::format_time(now),
        plan: run.to_string(),
    }
}

/// One pass: judge the pending gate, or apply the next wave.
// long: one pass in the order apply decides it (ended, paused, stale, gate, holds, supersede, the wave)
#[allow(clippy::too_many_arguments)]
fn step(
    st: &mut dyn Store,
    plan: &Plan,
    opts: &ApplyOptions,
    now: DateTime<Utc>,
    inputs: &mut Catalogue,
    memo: &mut verify::Memo,
    ending: &mut Vec<Journal>,
) -> Result<Option<Outcome>> {
    let run = plan.run_id();
    let mut journal = journal::read(st.dir(), &run)?;
    // A run held or ended by hand changes nothing, whatever else has changed.
    if let Some(held) = journal.as_ref().and_then(control::held) {
        return Ok(Some(held));
    }
    fresh::check(
        inputs,
        memo.requests(),
        &inputs.store,
        plan,
        journal.as_ref(),
    )?;
    verify::verify_plan(st, plan, inputs, &inputs.store, journal.as_ref(), memo)?;
    if let Some(ended) = journal.as_ref().and_then(|j| ended(j, &run)) {
        return Ok(Some(ended));
    }
    let mut passed_now = false;
    if let Some(j) = journal.as_mut() {
        passed_now = j.waves.last().is_some_and(|w| w.gate == GateState::Pending);
        if let Some(outcome) = judge_pending(st, plan, opts, now, inputs, j)? {
            return Ok(Some(outcome));
        }
    }
    let next = plan
        .waves
        .iter()
        .find(|w| !journal.as_ref().is_some_and(|j| j.done(w.index)));
    let Some(wave) = next else {
        finish(st, plan, journal, now, &inputs.store)?;
        return Ok(Some(Outcome::Done { run }));
    };
    let rules = hold::Rules {
        rollback: plan.is_rollback(),
        break_freeze: opts.break_freeze.is_some(),
    };
    let broke = match hold::wave(inputs, memo.requests(), wave, now, rules) {
        hold::Hold::Wait(until, why) => {
            // A gate that just passed is recorded now, or every poll until the window would
            // judge it again.
            if let Some(j) = journal.as_ref().filter(|_| passed_now) {
                let last = j.waves.last().map(|w| format!("{} {}", w.index, w.name));
                let last = last.unwrap_or_default();
                let msg = format!("vow: plan {run} wave {last}: gate passed, the next wave waits");
                st.commit(
                    &[journal_op(&run, j)],
                    &msg,
                    &trailers(plan, &format!("{last} gate")),
                )?;
            }
            return Ok(Some(Outcome::Waiting {
                run,
                wave: format!("{} {}", wave.index, wave.name),
                until: Some(until),
                why,
            }));
        }
        hold::Hold::Go { broke } => broke,
    };
    let mut j = journal.unwrap_or_else(|| new_journal(plan, now, &inputs.store));
    let extra = control::supersede(st.dir(), &std::mem::take(ending), &mut j, &opts.hand(now))?;
    control::broke_freeze(&mut j, &broke, wave.index, opts, now);
    let rendered = if plan.is_rollback() {
        Vec::new()
    } else {
        memo.take_wave(inputs, wave)?
    };
    // Moved, not copied: the wave's commit returns what the store holds after it (an error ends
    // the run, and with it the catalogue).
    let state = std::mem::take(&mut inputs.store);
    let applied = Applying {
        plan,
        wave,
        now,
        inputs,
        extra,
    };
    let after = apply_wave(st, &applied, opts, rendered, j, state)?;
    inputs.store = after;
    // Judge the new wave's gate right away: it passes at once when there is nothing to wait for.
    Ok(None)
}

/// The outcome of a run that is over: done, or aborted (and to be rolled back).
fn ended(j: &Journal, run: &str) -> Option<Outcome> {
    match j.status {
        RunStatus::Done => Some(Outcome::Done {
            run: run.to_string(),
        }),
        RunStatus::Aborted => Some(Outcome::Aborted {
            run: run.to_string(),
            why: format!(
                "{} (roll it back with `vow rollback {run}`)",
                j.reason.clone().unwrap_or_default()
            ),
        }),
        // Paused and cancelled runs are the run controls' (`control::held`).
        RunStatus::Running | RunStatus::Paused | RunStatus::Cancelled => None,
    }
}

/// Judges the gate of the last applied wave, if it is pending: a pass is recorded in the journal
/// (committed with the next wave), a wait or a failure (which aborts the run) ends the pass.
fn judge_pending(
    st: &mut dyn Store,
    plan: &Plan,
    opts: &ApplyOptions,
    now: DateTime<Utc>,
    inputs: &mut Catalogue,
    j: &mut Journal,
) -> Result<Option<Outcome>> {
    let Some(last) = j.waves.last().cloned() else {
        return Ok(None);
    };
    if last.gate != GateState::Pending {
        return Ok(None);
    }
    let run = plan.run_id();
    let spec = plan.waves.iter().find(|w| w.index == last.index);
    let judging = judge::Judging {
        plan,
        last: &last,
        spec,
        now,
    };
    let judged = judge::wave(inputs, st, opts, &judging)?;
    let kept = last.gate_report.clone().unwrap_or_default();
    let changed = !same_report(&kept, &judged.report);
    if let Some(w) = j.wave_mut(last.index) {
        if judged.report != GateReport::default() {
            w.gate_report = Some(judged.report);
        }
    }
    match judged.decision {
        Decision::Pass => {
            if let Some(w) = j.wave_mut(last.index) {
                w.gate = GateState::Passed;
                w.failed = judged.failed;
            }
            Ok(None)
        }
        Decision::Wait { until, why } => {
            // Kept when the command's answer changed (not at every poll): `vow status` shows it.
            if changed {
                let wave = format!("{} {}", last.index, last.name);
                let msg = format!("vow: plan {run} wave {wave}: the gate command's answer");
                let trailer = trailers(plan, &format!("{wave} gate"));
                st.commit(&[journal_op(&run, j)], &msg, &trailer)?;
            }
            Ok(Some(Outcome::Waiting {
                run,
                wave: format!("{} {}", last.index, last.name),
                until,
                why,
            }))
        }
        Decision::Fail { failed, why } => {
            let mut state = inputs.store.clone();
            abort(st, &mut state, j, &last, failed, &why, plan)?;
            state.digest = state.compute_digest();
            inputs.store = state;
            Ok(Some(Outcome::Aborted {
                run: run.clone(),
                why: format!("{why} (roll back with `vow rollback {run}`)"),
            }))
        }
    }
}

/// Two reports say the same, whenever they were made.
fn same_report(a: &GateReport, b: &GateReport) -> bool {
    GateReport {
        at: String::new(),
        ..a.clone()
    } == GateReport {
        at: String::new(),
        ..b.clone()
    }
}

/// Every wave is applied: the journal says the run is done.
fn finish(
    st: &mut dyn Store,
    plan: &Plan,
    journal: Option<Journal>,
    now: DateTime<Utc>,
    state: &store::StoreState,
) -> Result<()> {
    let run = plan.run_id();
    let mut j = journal.unwrap_or_else(|| new_journal(plan, now, state));
    j.status = RunStatus::Done;
    j.store_digest = state.compute_digest();
    st.commit(
        &[journal_op(&run, &j)],
        &format!("vow: plan {run} done"),
        &trailers(plan, "done"),
    )?;
    Ok(())
}

/// The wave being applied, and what it is applied from.
struct Applying<'a> {
    plan: &'a Plan,
    wave: &'a crate::plan::Wave,
    now: DateTime<Utc>,
    inputs: &'a Catalogue,
    /// Other journals this commit writes (the runs a new run supersedes).
    extra: Vec<Op>,
}

/// Applies one wave as one commit (its files, the aggregated files it touches, the journal) and
/// returns what the store holds after it.
fn apply_wave(
    st: &mut dyn Store,
    a: &Applying,
    opts: &ApplyOptions,
    rendered: Vec<Evaluated>,
    mut j: Journal,
    mut state: store::StoreState,
) -> Result<store::StoreState> {
    let (plan, wave) = (a.plan, a.wave);
    let run = plan.run_id();
    let mut by_ref: HashMap<InstanceRef, Evaluated> =
        rendered.into_iter().map(|e| (e.id.clone(), e)).collect();
    let mut ops = if plan.is_rollback() {
        rollback::wave_ops(st, &mut state, plan, wave)?
    } else {
        wave::ops(a.inputs, st, &mut state, &run, wave, &mut by_ref)?
    };
    let rebuilt = aggregate::ops(&a.inputs.destinations, st, &ops);
    ops.extend(rebuilt);
    ops.extend(a.extra.iter().cloned());
    j.waves.push(wave_record(wave, a.now));
    // The state the commit leaves: the journal records its digest, and so does the state.
    state.digest = state.compute_digest();
    j.store_digest = state.digest.clone();
    ops.push(journal_op(&run, &j));
    let message = format!(
        "vow: plan {run} wave {}/{} {} ({} instances)",
        wave.index,
        plan.waves.len().saturating_sub(1),
        wave.name,
        wave.instances.len()
    );
    st.commit(
        &ops,
        &message,
        &trailers(plan, &format!("{} {}", wave.index, wave.name)),
    )?;
    (opts.say)(&format!(
        "applied wave {} {} ({} instances, {} file operations)",
        wave.index,
        wave.name,
        wave.instances.len(),
        ops.len()
    ));
    Ok(state)
}

/// The journal's record of a wave just applied: its gate pending, if it has one.
fn wave_record(wave: &crate::plan::Wave, now: DateTime<Utc>) -> journal::WaveRecord {
    journal::WaveRecord {
        index: wave.index,
        name: wave.name.clone(),
        applied_at: crate::duration::format_time(now),
        instances: wave
            .instances
            .iter()
            .map(|i| i.instance.to_string())
            .collect(),
        gate: if wave.gate {
            GateState::Pending
        } else {
            GateState::Passed
        },
        gate_report: None,
        batch: wave.batch.clone(),
        failed: Vec::new(),
    }
}

fn trailers(plan: &Plan, wave: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Vow-Plan", plan.plan_id.clone()),
        ("Vow-Wave", wave.to_string()),
    ]
}

fn new_journal(plan: &Plan, now: DateTime<Utc>, state: &store::StoreState) -> Journal {
    Journal {
        plan_id: plan.plan_id.clone(),
        kind: plan.kind.name().to_string(),
        started: crate::duration::format_time(now),
        status: RunStatus::Running,
        waves: Vec::new(),
        store_digest: state.digest.clone(),
        reason: None,
        rollback_of: match &plan.kind {
            PlanKind::Rollback { of } => Some(of.clone()),
            PlanKind::Apply => None,
        },
        controls: Vec::new(),
    }
}

fn journal_op(run: &str, j: &Journal) -> Op {
    Op::Write {
        path: layout::journal(run),
        bytes: j.to_yaml().into_bytes(),
    }
}

/// Over budget: the run stops; the failed instances' bindings record the version that failed.
fn abort(
    st: &mut dyn Store,
    state: &mut store::StoreState,
    j: &mut Journal,
    last: &journal::WaveRecord,
    failed: Vec<String>,
    why: &str,
    plan: &Plan,
) -> Result<()> {
    let mut ops = Vec::new();
    for r in &failed {
        // The gate names instances by their text; one it names that is no instance has no binding.
        let Ok(id) = r.parse::<InstanceRef>() else {
            continue;
        };
        if let Some(applied) = state.applied.get_mut(&id) {
            applied.binding.status.failed_version = applied.binding.status.applied_version.clone();
            let text =
                serde_yaml::to_string(&applied.binding).map_err(|e| Error::Store(e.to_string()))?;
            applied.text_digest = store::digest(text.as_bytes());
            ops.push(Op::Write {
                path: layout::binding(&id),
                bytes: text.into_bytes(),
            });
        }
    }
    if let Some(w) = j.wave_mut(last.index) {
        w.gate = GateState::Failed;
        w.failed = failed;
    }
    j.status = RunStatus::Aborted;
    j.reason = Some(why.to_string());
    j.store_digest = state.compute_digest();
    let run = plan.run_id();
    ops.push(journal_op(&run, j));
    st.commit(
        &ops,
        &format!(
            "vow: plan {run} aborted at wave {} {}",
            last.index, last.name
        ),
        &trailers(plan, &format!("{} {} aborted", last.index, last.name)),
    )?;
    Ok(())
}
