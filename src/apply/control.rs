//! Run controls: `vow pause|resume|promote|cancel|abort RUN` by hand, `--supersede` and
//! `--break-freeze` from apply. Each is a [`Control`] appended to the run's journal (what, when,
//! by whom, why) and written through the store in one commit under the store's lock, so the git
//! history shows who held or ended a run. The transitions are pure ([`control`]); the store
//! write is [`record`]; one run at a time is [`one_at_a_time`].

use super::journal::{self, Control, ControlAction, GateState, Journal, RunStatus};
use super::Outcome;
use crate::error::{Error, Result};
use crate::plan::{Plan, PlanKind};
use crate::store::{lock, Op, Store};
use chrono::{DateTime, Utc};

/// Who acts on a run, why, and when.
#[derive(Clone, Debug)]
pub struct Hand {
    pub by: String,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

impl Hand {
    fn record(&self, action: ControlAction) -> Control {
        Control {
            action,
            at: crate::duration::format_time(self.at),
            by: self.by.clone(),
            reason: self.reason.clone(),
            wave: None,
            run: None,
        }
    }

    /// " (why)", or nothing.
    fn because(&self) -> String {
        self.reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default()
    }
}

/// The command's name of an action (`vow pause`, ...).
pub fn verb(action: ControlAction) -> &'static str {
    match action {
        ControlAction::Pause => "pause",
        ControlAction::Resume => "resume",
        ControlAction::Promote => "promote",
        ControlAction::Cancel => "cancel",
        ControlAction::Abort => "abort",
        ControlAction::Supersede => "supersede",
        ControlAction::BreakFreeze => "break-freeze",
    }
}

/// The journal after `action` by `hand`, or why the action means nothing in the run's state.
pub fn control(j: &Journal, action: ControlAction, hand: &Hand) -> Result<Journal> {
    let run = crate::plan::run_id(&j.plan_id);
    let refuse = |why: String| Error::Control {
        run: run.clone(),
        message: format!(
            "cannot {} run {run}: {why}; nothing was written",
            verb(action)
        ),
    };
    if let Some(over) = over(j) {
        return Err(refuse(over));
    }
    let mut next = j.clone();
    let mut record = hand.record(action);
    match (action, j.status) {
        (ControlAction::Pause, RunStatus::Running) => next.status = RunStatus::Paused,
        (ControlAction::Pause, _) => {
            return Err(refuse(format!(
                "it is already {} (`vow resume {run}` continues it)",
                paused_by(j)
            )))
        }
        (ControlAction::Resume, RunStatus::Paused) => next.status = RunStatus::Running,
        (ControlAction::Resume, _) => {
            return Err(refuse(format!(
                "it is running, not paused (`vow pause {run}` holds it)"
            )))
        }
        (ControlAction::Promote, _) => {
            let Some(last) = next
                .waves
                .last_mut()
                .filter(|w| w.gate == GateState::Pending)
            else {
                return Err(refuse(
                    "no applied wave waits for its gate (promote passes the gate of the wave \
                     applied last; windows and freezes are not gates)"
                        .into(),
                ));
            };
            last.gate = GateState::Passed;
            record.wave = Some(last.index);
        }
        (ControlAction::Cancel, _) => {
            next.status = RunStatus::Cancelled;
            next.reason = Some(format!("cancelled by {}{}", hand.by, hand.because()));
        }
        (ControlAction::Abort, _) => {
            next.status = RunStatus::Aborted;
            next.reason = Some(format!("aborted by hand by {}{}", hand.by, hand.because()));
        }
        (ControlAction::Supersede | ControlAction::BreakFreeze, _) => {
            return Err(refuse(
                "it is recorded by `vow apply` (--supersede, --break-freeze)".into(),
            ))
        }
    }
    next.controls.push(record);
    Ok(next)
}

/// Why a run takes no more controls: it is done, cancelled or aborted.
fn over(j: &Journal) -> Option<String> {
    let run = crate::plan::run_id(&j.plan_id);
    let why = j
        .reason
        .as_deref()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    match j.status {
        RunStatus::Running | RunStatus::Paused => None,
        RunStatus::Done => Some("it is done".into()),
        RunStatus::Cancelled => Some(format!(
            "it is cancelled{why} (`vow rollback {run}` undoes it)"
        )),
        RunStatus::Aborted => Some(format!(
            "it is aborted{why} (`vow rollback {run}` undoes it)"
        )),
    }
}

/// "paused by NAME at TIME: why", from the last pause.
fn paused_by(j: &Journal) -> String {
    match j
        .controls
        .iter()
        .rev()
        .find(|c| c.action == ControlAction::Pause)
    {
        Some(c) => format!(
            "paused by {} at {}{}",
            c.by,
            c.at,
            c.reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ),
        None => "paused".into(),
    }
}

/// Applies `action` to the run named `run` (an id or a unique prefix): takes the store's lock,
/// appends the control to the run's journal and commits it (on a git store: one commit,
/// pushed, with `Vow-Plan` and `Vow-Control` trailers). Returns the journal written.
pub fn record(
    st: &mut dyn Store,
    run: &str,
    action: ControlAction,
    hand: &Hand,
) -> Result<Journal> {
    super::confined_lock(st)?;
    let _lock = lock::acquire(
        &st.lock_path(),
        super::lock_info(&format!("{} {run}", verb(action)), hand.at),
    )?;
    st.recover()?;
    let j = super::rollback::find_run(st, run)?;
    let next = control(&j, action, hand)?;
    let id = crate::plan::run_id(&next.plan_id);
    let wave = next
        .controls
        .last()
        .and_then(|c| c.wave)
        .map(|w| format!(" (wave {w})"))
        .unwrap_or_default();
    st.commit(
        &[super::journal_op(&id, &next)],
        &format!("vow: plan {id} {}{wave} by {}", verb(action), hand.by),
        &[
            ("Vow-Plan", next.plan_id.clone()),
            ("Vow-Control", verb(action).to_string()),
        ],
    )?;
    Ok(next)
}

/// Takes the store's lock again after `--wait` let it go to sleep: a control holds it for a
/// moment, so a held lock is tried again for a few seconds. Refuses to go on when anything but
/// a journal changed in the store meanwhile (someone else applied): apply's picture of the store
/// would be stale.
pub(super) fn relock(
    st: &mut dyn Store,
    run: &str,
    inputs: &crate::load::inputs::Catalogue,
    now: DateTime<Utc>,
) -> Result<lock::Lock> {
    let mut tries = 0;
    let held = loop {
        match lock::acquire(&st.lock_path(), super::lock_info(run, now)) {
            Ok(l) => break l,
            Err(Error::Locked { .. }) if tries < 50 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => return Err(e),
        }
    };
    st.recover()?;
    let now_held = crate::store::read(st.dir(), &inputs.ws.root);
    if now_held.compute_digest() != inputs.store.compute_digest() {
        return Err(Error::StalePlan {
            message: format!(
                "the store changed while run {run} waited (someone else applied, or files were \
                 edited by hand); nothing more was applied. Run `vow apply` again: it checks the \
                 plan against the store as it is now"
            ),
            reasons: vec!["the store changed while apply waited".into()],
        });
    }
    Ok(held)
}

/// What apply says of a run held or ended by hand (paused, cancelled); `None` otherwise.
pub(super) fn held(j: &Journal) -> Option<Outcome> {
    let run = crate::plan::run_id(&j.plan_id);
    match j.status {
        RunStatus::Paused => Some(Outcome::Paused {
            why: paused_by(j),
            run,
        }),
        RunStatus::Cancelled => Some(Outcome::Cancelled {
            why: j.reason.clone().unwrap_or_else(|| "cancelled".into()),
            run,
        }),
        RunStatus::Running | RunStatus::Aborted | RunStatus::Done => None,
    }
}

/// At the start of apply: `--break-freeze` is for rollback plans only, and a run that has not
/// started yet is checked against the other unfinished runs ([`one_at_a_time`]).
pub(super) fn starting(
    st: &dyn Store,
    plan: &Plan,
    opts: &super::ApplyOptions,
) -> Result<Vec<Journal>> {
    if opts.break_freeze.is_some() && !plan.is_rollback() {
        return Err(Error::Usage(
            "--break-freeze is for rollback plans only: a rollout waits out a freeze, a rollback \
             (`vow rollback RUN`) is the emergency that may break one; nothing was applied"
                .into(),
        ));
    }
    if journal::read(st.dir(), &plan.run_id())?.is_some() {
        return Ok(Vec::new());
    }
    one_at_a_time(st, plan, opts.supersede)
}

/// Records in the wave's journal that `--break-freeze` let it through the freezes `broke`
/// names (nothing when no freeze held it).
pub(super) fn broke_freeze(
    j: &mut Journal,
    broke: &str,
    wave: usize,
    opts: &super::ApplyOptions,
    now: DateTime<Utc>,
) {
    let Some(reason) = opts.break_freeze.as_deref().filter(|_| !broke.is_empty()) else {
        return;
    };
    j.controls.push(Control {
        reason: Some(format!("{reason} (held by {broke})")),
        wave: Some(wave),
        ..opts.hand(now).record(ControlAction::BreakFreeze)
    });
}

impl super::ApplyOptions<'_> {
    /// The person applying, at `now`, for the controls apply records.
    pub(super) fn hand(&self, now: DateTime<Utc>) -> Hand {
        Hand {
            by: self.by.clone(),
            reason: None,
            at: now,
        }
    }
}

/// Before a new run's first wave: the runs it ends. Another unfinished run (running or paused)
/// on the store refuses the new one, unless `supersede`; a rollback plan ends the run it undoes
/// without `--supersede` (ending it is the point of a rollback).
pub(super) fn one_at_a_time(st: &dyn Store, plan: &Plan, supersede: bool) -> Result<Vec<Journal>> {
    let run = plan.run_id();
    let undoes = match &plan.kind {
        PlanKind::Rollback { of } => Some(of.as_str()),
        PlanKind::Apply => None,
    };
    let unfinished: Vec<Journal> = journal::all(st.dir())
        .into_iter()
        .filter(|j| matches!(j.status, RunStatus::Running | RunStatus::Paused))
        .filter(|j| crate::plan::run_id(&j.plan_id) != run)
        .collect();
    let blocking = unfinished
        .iter()
        .find(|j| Some(crate::plan::run_id(&j.plan_id).as_str()) != undoes);
    match blocking {
        Some(other) if !supersede => {
            let id = crate::plan::run_id(&other.plan_id);
            let state = match other.status {
                RunStatus::Paused => paused_by(other),
                _ => "running".into(),
            };
            Err(Error::Unfinished {
                run: id.clone(),
                message: format!(
                    "run {id} ({}, started {}) is not over: it is {state}. One run at a time on a \
                     store: end it with `vow cancel {id}` or `vow abort {id}`, or start this plan \
                     with `vow apply {} --supersede` (which cancels run {id}); nothing was applied",
                    other.kind,
                    other.started,
                    plan_arg(plan)
                ),
            })
        }
        _ => Ok(unfinished),
    }
}

fn plan_arg(plan: &Plan) -> &'static str {
    match plan.kind {
        PlanKind::Rollback { .. } => "ROLLBACK-PLAN",
        PlanKind::Apply => "PLAN",
    }
}

/// The journals of the runs a new run ends, cancelled with a `supersede` control naming it, as
/// operations for its first wave's commit; the new run's journal names each of them. Each is
/// read again from the store (`--wait` lets go of the lock: a control may have acted on it
/// since), and one that is over by now is left alone.
pub(super) fn supersede(
    store_dir: &std::path::Path,
    ended: &[Journal],
    new: &mut Journal,
    hand: &Hand,
) -> Result<Vec<Op>> {
    let new_id = crate::plan::run_id(&new.plan_id);
    let undoes = new.rollback_of.clone();
    let mut ops = Vec::new();
    for old in ended {
        let old_id = crate::plan::run_id(&old.plan_id);
        let mut j = journal::read(store_dir, &old_id)?.unwrap_or_else(|| old.clone());
        if over(&j).is_some() {
            continue;
        }
        j.status = RunStatus::Cancelled;
        j.reason = Some(if undoes.as_deref() == Some(old_id.as_str()) {
            format!("rolled back by run {new_id}")
        } else {
            format!("superseded by run {new_id}")
        });
        j.controls.push(Control {
            run: Some(new_id.clone()),
            ..hand.record(ControlAction::Supersede)
        });
        ops.push(super::journal_op(&old_id, &j));
        new.controls.push(Control {
            run: Some(old_id),
            ..hand.record(ControlAction::Supersede)
        });
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::journal::WaveRecord;

    fn hand(by: &str, reason: Option<&str>) -> Hand {
        Hand {
            by: by.into(),
            reason: reason.map(str::to_string),
            at: crate::duration::parse_time("2026-12-04T15:00:00Z").unwrap(),
        }
    }

    fn journal(status: RunStatus, gate: GateState) -> Journal {
        Journal {
            plan_id: "sha256:0123456789abcdef".into(),
            kind: "apply".into(),
            started: "2026-12-01T09:00:00Z".into(),
            status,
            waves: vec![WaveRecord {
                index: 1,
                name: "canary".into(),
                applied_at: "2026-12-01T09:00:00Z".into(),
                instances: vec!["db:team-a/one".into()],
                gate,
                failed: Vec::new(),
                gate_report: None,
                batch: None,
            }],
            store_digest: "sha256:x".into(),
            reason: None,
            rollback_of: None,
            controls: Vec::new(),
        }
    }

    #[test]
    fn pause_then_resume_records_both_with_who_and_why() {
        let j = journal(RunStatus::Running, GateState::Pending);
        let paused = control(&j, ControlAction::Pause, &hand("alice", Some("CVE triage"))).unwrap();
        assert_eq!(paused.status, RunStatus::Paused);
        let resumed = control(&paused, ControlAction::Resume, &hand("bob", None)).unwrap();
        assert_eq!(resumed.status, RunStatus::Running);
        let got: Vec<(ControlAction, &str, Option<&str>)> = resumed
            .controls
            .iter()
            .map(|c| (c.action, c.by.as_str(), c.reason.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                (ControlAction::Pause, "alice", Some("CVE triage")),
                (ControlAction::Resume, "bob", None)
            ]
        );
        assert_eq!(resumed.controls[0].at, "2026-12-04T15:00:00Z");
    }

    #[test]
    fn promote_passes_the_pending_gate_and_names_the_wave() {
        let j = journal(RunStatus::Running, GateState::Pending);
        let p = control(&j, ControlAction::Promote, &hand("alice", None)).unwrap();
        assert_eq!(p.waves[0].gate, GateState::Passed);
        assert_eq!(p.controls[0].wave, Some(1));
        assert_eq!(p.status, RunStatus::Running);
        let err = control(&p, ControlAction::Promote, &hand("alice", None)).unwrap_err();
        assert!(matches!(err, Error::Control { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("no applied wave waits for its gate"),
            "{err}"
        );
    }

    #[test]
    fn cancel_and_abort_end_the_run_with_who_and_why() {
        let j = journal(RunStatus::Paused, GateState::Pending);
        let c = control(&j, ControlAction::Cancel, &hand("alice", Some("wrong CVE"))).unwrap();
        assert_eq!(c.status, RunStatus::Cancelled);
        assert_eq!(c.reason.as_deref(), Some("cancelled by alice: wrong CVE"));
        let a = control(&j, ControlAction::Abort, &hand("bob", Some("paging"))).unwrap();
        assert_eq!(a.status, RunStatus::Aborted);
        assert_eq!(a.reason.as_deref(), Some("aborted by hand by bob: paging"));
    }

    #[test]
    fn meaningless_controls_are_refused() {
        let running = journal(RunStatus::Running, GateState::Passed);
        let paused = control(&running, ControlAction::Pause, &hand("a", None)).unwrap();
        for (j, action, says) in [
            (&running, ControlAction::Resume, "it is running, not paused"),
            (&running, ControlAction::Promote, "no applied wave waits"),
            (
                &paused,
                ControlAction::Pause,
                "already paused by a at 2026-12-04T15:00:00Z",
            ),
            (
                &running,
                ControlAction::Supersede,
                "recorded by `vow apply`",
            ),
        ] {
            let e = control(j, action, &hand("a", None)).unwrap_err();
            assert!(e.to_string().contains(says), "{action:?}: {e}");
            assert_eq!(e.exit_code(), crate::error::exit::ERROR);
        }
        for status in [RunStatus::Done, RunStatus::Cancelled, RunStatus::Aborted] {
            let j = journal(status, GateState::Pending);
            for action in [
                ControlAction::Pause,
                ControlAction::Resume,
                ControlAction::Promote,
                ControlAction::Cancel,
                ControlAction::Abort,
            ] {
                let e = control(&j, action, &hand("a", None)).unwrap_err();
                assert!(e.to_string().contains("nothing was written"), "{e}");
            }
        }
    }

    #[test]
    fn supersede_cancels_the_old_run_and_names_each_in_the_other() {
        let old = journal(RunStatus::Paused, GateState::Pending);
        let mut new = journal(RunStatus::Running, GateState::Pending);
        new.plan_id = "sha256:fedcba9876543210".into();
        let tmp = tempfile::tempdir().unwrap();
        let ops = supersede(
            tmp.path(),
            std::slice::from_ref(&old),
            &mut new,
            &hand("carol", None),
        )
        .unwrap();
        assert_eq!(ops.len(), 1);
        let Some(Op::Write { path, bytes }) = ops.first() else {
            panic!("{ops:?}")
        };
        assert_eq!(path, &journal::path("0123456789ab"));
        let written: Journal = serde_yaml::from_slice(bytes).unwrap();
        assert_eq!(written.status, RunStatus::Cancelled);
        assert_eq!(
            written.reason.as_deref(),
            Some("superseded by run fedcba987654")
        );
        assert_eq!(written.controls[0].run.as_deref(), Some("fedcba987654"));
        assert_eq!(new.controls[0].action, ControlAction::Supersede);
        assert_eq!(new.controls[0].run.as_deref(), Some("0123456789ab"));
    }
}
