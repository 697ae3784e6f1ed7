//! `vow status` in every format (human, JSON, markdown): each run, every wave with its batch,
//! its gate's state and reason, every instance still waiting or failed (never cut to a few),
//! and the controls applied by hand. The JSON shape is [`StatusReport`] (schemas/status.json).

use crate::apply::journal::{Control, GateState, Journal, RunStatus, WaveRecord};
use schemars::JsonSchema;
use serde::Serialize;
use std::fmt::Write;

/// Every run of the store, newest first.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(
    title = "vow status",
    description = "`vow status --format json`: the runs of a store, from their journals (docs/cli.md, \"vow status\")."
)]
pub struct StatusReport {
    /// The shape's version: 1.
    pub version: u32,
    pub runs: Vec<RunView>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    /// The run id (what `vow status RUN`, `vow rollback RUN` take).
    pub run: String,
    pub plan_id: String,
    /// `apply` or `rollback`.
    pub kind: String,
    /// `running`, `paused`, `cancelled`, `aborted` or `done`.
    pub status: String,
    pub started: String,
    /// Why the run ended (an abort, a cancel).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The run this one rolls back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_of: Option<String>,
    /// The waves applied so far, in order.
    pub waves: Vec<WaveView>,
    /// The controls applied by hand, oldest first.
    pub controls: Vec<ControlView>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WaveView {
    pub index: usize,
    pub name: String,
    /// Batch `index` of `of` of its rollout wave, when the plan split it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<BatchView>,
    pub applied_at: String,
    pub instance_count: usize,
    pub gate: GateView,
    /// Every instance the gate still waits for.
    pub waiting: Vec<InstanceView>,
    /// Every instance that failed its gate (within the budget, or the ones that aborted the run).
    pub failed: Vec<InstanceView>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BatchView {
    pub index: usize,
    pub of: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GateView {
    /// `pending`, `passed` or `failed`.
    pub state: String,
    /// Why it is in that state (the gate command's summary, the abort's reason).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the gate command last judged the wave.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<String>,
    /// The gate command's exit code (absent when it was killed or not run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<i32>,
    /// The gate command's stdout, as kept (at most 64 KiB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct InstanceView {
    /// `<promise>:<namespace>/<name>`.
    #[serde(rename = "ref")]
    pub instance: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ControlView {
    /// `pause`, `resume`, `promote`, `cancel`, `abort`, `supersede` or `break-freeze`.
    pub action: String,
    pub by: String,
    pub at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wave: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

/// For a pending wave judged by health records: each instance still waited for, and why.
pub type HealthWaiting<'a> = dyn Fn(&Journal, &WaveRecord) -> Vec<(String, String)> + 'a;

/// Builds the report. `health_waiting`: for a pending wave judged by health records (no gate
/// command report), the instances still without a passing record, with why.
pub fn build(runs: &[Journal], health_waiting: &HealthWaiting<'_>) -> StatusReport {
    StatusReport {
        version: 1,
        runs: runs.iter().map(|j| run(j, health_waiting)).collect(),
    }
}

fn run(j: &Journal, health: &HealthWaiting<'_>) -> RunView {
    RunView {
        run: crate::plan::run_id(&j.plan_id),
        plan_id: j.plan_id.clone(),
        kind: j.kind.clone(),
        status: status_name(j.status).into(),
        started: j.started.clone(),
        reason: j.reason.clone(),
        rollback_of: j.rollback_of.clone(),
        waves: j.waves.iter().map(|w| wave(j, w, health)).collect(),
        controls: j.controls.iter().map(control).collect(),
    }
}

fn wave(j: &Journal, w: &WaveRecord, health: &HealthWaiting<'_>) -> WaveView {
    let report = w.gate_report.as_ref();
    let verdicts = report.map(|r| r.verdicts.as_slice()).unwrap_or_default();
    let of = |v: &str| -> Vec<InstanceView> {
        verdicts
            .iter()
            .filter(|x| x.verdict == v)
            .map(|x| InstanceView {
                instance: x.instance.clone(),
                reason: x.reason.clone(),
            })
            .collect()
    };
    let mut failed = of("fail");
    // Failed by exit code or by health records: the journal names them without reasons.
    for f in &w.failed {
        if !failed.iter().any(|x| &x.instance == f) {
            failed.push(InstanceView {
                instance: f.clone(),
                reason: None,
            });
        }
    }
    let waiting = match (w.gate, report) {
        (GateState::Pending, Some(_)) => of("wait"),
        (GateState::Pending, None) => health(j, w)
            .into_iter()
            .map(|(instance, why)| InstanceView {
                instance,
                reason: Some(why),
            })
            .collect(),
        _ => Vec::new(),
    };
    let reason = match (w.gate, report) {
        (GateState::Failed, _) => j.reason.clone(),
        (_, Some(r)) if !r.summary.is_empty() => Some(r.summary.clone()),
        (GateState::Pending, None) if !waiting.is_empty() => Some(format!(
            "health records: {} instance(s) waiting",
            waiting.len()
        )),
        _ => None,
    };
    WaveView {
        index: w.index,
        name: w.name.clone(),
        batch: w.batch.as_ref().map(|b| BatchView {
            index: b.index,
            of: b.of,
        }),
        applied_at: w.applied_at.clone(),
        instance_count: w.instances.len(),
        gate: GateView {
            state: gate_name(w.gate).into(),
            reason,
            checked_at: report.map(|r| r.at.clone()).filter(|a| !a.is_empty()),
            exit: report.and_then(|r| r.exit),
            output: report.map(|r| r.output.clone()).filter(|o| !o.is_empty()),
        },
        waiting,
        failed,
    }
}

fn control(c: &Control) -> ControlView {
    ControlView {
        action: serde_json::to_value(c.action)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        by: c.by.clone(),
        at: c.at.clone(),
        reason: c.reason.clone(),
        wave: c.wave,
        run: c.run.clone(),
    }
}

fn status_name(s: RunStatus) -> &'static str {
    match s {
        RunStatus::Running => "running",
        RunStatus::Paused => "paused",
        RunStatus::Cancelled => "cancelled",
        RunStatus::Aborted => "aborted",
        RunStatus::Done => "done",
    }
}

fn gate_name(g: GateState) -> &'static str {
    match g {
        GateState::Pending => "pending",
        GateState::Passed => "passed",
        GateState::Failed => "failed",
    }
}

/// The JSON shape, pretty, with a final newline.
pub fn json(r: &StatusReport) -> String {
    serde_json::to_string_pretty(r).unwrap_or_default() + "\n"
}

fn batch_text(w: &WaveView) -> String {
    w.batch
        .as_ref()
        .map(|b| format!(" (batch {}/{})", b.index, b.of))
        .unwrap_or_default()
}

fn instance_text(i: &InstanceView) -> String {
    match &i.reason {
        Some(r) => format!("{}: {r}", i.instance),
        None => i.instance.clone(),
    }
}

/// For people: one paragraph per run.
pub fn human(r: &StatusReport) -> String {
    let mut o = String::new();
    for run in &r.runs {
        let _ = writeln!(
            o,
            "run {} ({}, started {}): {}",
            run.run, run.kind, run.started, run.status
        );
        if let Some(why) = &run.reason {
            let _ = writeln!(o, "  reason: {why}");
        }
        for w in &run.waves {
            let _ = writeln!(
                o,
                "  wave {} {}{}: applied {} ({} instances), gate {}",
                w.index,
                w.name,
                batch_text(w),
                w.applied_at,
                w.instance_count,
                w.gate.state
            );
            // A clean pass needs no reason for people (the JSON keeps it).
            let clean = w.gate.state == "passed" && w.failed.is_empty();
            if let Some(why) = w.gate.reason.as_ref().filter(|_| !clean) {
                let _ = writeln!(o, "    gate: {why}");
            }
            for i in &w.waiting {
                let _ = writeln!(o, "    waiting: {}", instance_text(i));
            }
            for i in &w.failed {
                let _ = writeln!(o, "    failed: {}", instance_text(i));
            }
        }
        for c in &run.controls {
            let _ = writeln!(o, "  {}", control_text(c));
        }
    }
    o
}

fn control_text(c: &ControlView) -> String {
    let mut t = format!("{} by {} at {}", c.action, c.by, c.at);
    if let Some(w) = c.wave {
        let _ = write!(t, " (wave {w})");
    }
    if let Some(r) = &c.run {
        let _ = write!(t, " (run {r})");
    }
    if let Some(why) = &c.reason {
        let _ = write!(t, ": {why}");
    }
    t
}

/// Escapes a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// For a pull request, an issue or a job summary: a table of waves per run, then the lists.
pub fn markdown(r: &StatusReport) -> String {
    let mut o = String::from("## vow status\n");
    if r.runs.is_empty() {
        o.push_str("\nNo runs in the store.\n");
    }
    for run in &r.runs {
        let _ = writeln!(
            o,
            "\n### Run `{}` ({}): {}\n\nStarted {}.",
            run.run, run.kind, run.status, run.started
        );
        if let Some(why) = &run.reason {
            let _ = writeln!(o, "Reason: {}", cell(why));
        }
        let _ = writeln!(
            o,
            "\n| wave | applied | instances | gate | reason |\n|---|---|---:|---|---|"
        );
        for w in &run.waves {
            let _ = writeln!(
                o,
                "| {} {}{} | {} | {} | {} | {} |",
                w.index,
                cell(&w.name),
                batch_text(w),
                w.applied_at,
                w.instance_count,
                w.gate.state,
                cell(w.gate.reason.as_deref().unwrap_or(""))
            );
        }
        for w in &run.waves {
            for (what, list) in [("waiting", &w.waiting), ("failed", &w.failed)] {
                if list.is_empty() {
                    continue;
                }
                let _ = writeln!(
                    o,
                    "\nWave {} {}{}, {what}:\n",
                    w.index,
                    w.name,
                    batch_text(w)
                );
                for i in list {
                    let _ = writeln!(
                        o,
                        "- `{}`{}",
                        i.instance,
                        i.reason
                            .as_deref()
                            .map(|r| format!(": {}", cell(r)))
                            .unwrap_or_default()
                    );
                }
            }
        }
        if !run.controls.is_empty() {
            let _ = writeln!(o, "\nControls:\n");
            for c in &run.controls {
                let _ = writeln!(o, "- {}", cell(&control_text(c)));
            }
        }
    }
    o
}
