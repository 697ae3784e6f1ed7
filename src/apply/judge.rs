//! Which gate judges a wave: its gate command (src/apply/gate_cmd.rs) when `--gate-cmd` is
//! given, else its health records (src/apply/gate.rs). A command that passed a wave is not run
//! for it again: only the bake remains.

use super::gate::{self, Decision};
use super::gate_cmd::{self, BatchInfo, GateInstance, GateWave, Judged, WaveInfo};
use super::journal::{self, GateReport};
use super::ApplyOptions;
use crate::error::{Error, Result};
use crate::load::inputs::Catalogue;
use crate::model::InstanceRef;
use crate::plan::{Action, Plan};
use crate::store::{layout, Store};
use chrono::{DateTime, Utc};

/// The wave being judged.
pub(super) struct Judging<'a> {
    pub plan: &'a Plan,
    pub last: &'a journal::WaveRecord,
    pub spec: Option<&'a crate::plan::Wave>,
    pub now: DateTime<Utc>,
}

/// Judges the wave: its decision, the command's report (none for health records) and the
/// instances that failed within the budget.
pub(super) fn wave(
    inputs: &Catalogue,
    st: &dyn Store,
    opts: &ApplyOptions,
    w: &Judging,
) -> Result<Judged> {
    let (last, spec) = (w.last, w.spec);
    let applied_at = crate::duration::parse_time(&last.applied_at).map_err(Error::EditedPlan)?;
    let bake_seconds = spec
        .and_then(|w| w.bake.as_deref())
        .and_then(|b| crate::duration::parse_duration(b).ok())
        .unwrap_or(0);
    let budget = spec.map(|w| w.failure_budget).unwrap_or(0);
    let watched: Vec<&crate::plan::WaveInstance> = spec
        .map(|w| {
            w.instances
                .iter()
                // Deleted instances have nothing left to watch; dependencies report no health.
                .filter(|i| i.action != Action::Delete && i.to.is_some())
                .filter(|i| !i.instance.is_dependencies())
                .collect()
        })
        .unwrap_or_default();
    let refs: Vec<String> = watched.iter().map(|i| i.instance.to_string()).collect();
    let g = gate::GateInput {
        instances: &refs,
        applied_at,
        bake_seconds,
        budget,
        now: w.now,
    };
    let plain = |decision| Judged {
        decision,
        report: GateReport::default(),
        failed: Vec::new(),
    };
    // A command that passed the wave is never asked again: only the bake remains. (Without
    // `--gate-cmd`, health records judge the wave, whatever a command said before.)
    let passed = last.gate_report.as_ref().filter(|r| r.passed);
    if let Some(report) = passed.filter(|_| opts.gate_cmd.is_some()) {
        return Ok(Judged {
            decision: gate::bake_or_pass(&g, Vec::new()),
            report: report.clone(),
            failed: last.failed.clone(),
        });
    }
    if let Some(cmd) = &opts.gate_cmd {
        // The command judges the wave once its bake is over (a pause, then the analysis): one
        // judgement per wave that passes, and no journal commit per poll while it bakes.
        if let Decision::Wait {
            until: Some(until), ..
        } = gate::bake_or_pass(&g, Vec::new())
        {
            return Ok(plain(Decision::Wait {
                until: Some(until),
                why: format!(
                    "the bake time, until {}, before the gate command judges it",
                    crate::duration::format_time(until)
                ),
            }));
        }
        let input = wave_input(inputs, w, &watched, budget);
        let json = serde_json::to_vec(&input).map_err(|e| Error::System(e.to_string()))?;
        let env = environment(w.plan, last, &refs);
        let ran = gate_cmd::run(cmd, &env, json, opts.gate_timeout)?;
        let name = format!("{} {}", last.index, last.name);
        return gate_cmd::judge(cmd, &name, &ran, &g, opts.gate_timeout);
    }
    let store_health = layout::absolute(st.dir(), layout::HEALTH_DIR);
    let (records, invalid) =
        gate::records_checked(&[&inputs.ws.health, &store_health], &inputs.ws.root);
    Ok(plain(gate::judge_with(&g, &records, &invalid)))
}

/// What the command reads on stdin.
fn wave_input(
    inputs: &Catalogue,
    w: &Judging,
    watched: &[&crate::plan::WaveInstance],
    budget: u64,
) -> GateWave {
    let (last, spec) = (w.last, w.spec);
    GateWave {
        protocol: 1,
        run: w.plan.run_id(),
        plan_id: w.plan.plan_id.clone(),
        wave: WaveInfo {
            index: last.index,
            name: last.name.clone(),
            canary: spec.is_some_and(|s| s.canary),
            batch: spec.and_then(|s| s.batch.as_ref()).map(|b| BatchInfo {
                index: b.index,
                of: b.of,
            }),
        },
        applied_at: last.applied_at.clone(),
        now: crate::duration::format_time(w.now),
        failure_budget: budget,
        instances: watched.iter().map(|i| instance(inputs, i)).collect(),
    }
}

/// The environment of earlier versions of the protocol, kept for simple scripts.
fn environment(
    plan: &Plan,
    last: &journal::WaveRecord,
    refs: &[String],
) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("VOW_PLAN", plan.plan_id.clone()),
        ("VOW_RUN", plan.run_id()),
        ("VOW_WAVE", last.index.to_string()),
        ("VOW_WAVE_NAME", last.name.clone()),
        ("VOW_INSTANCE_COUNT", refs.len().to_string()),
    ];
    // Large waves would overflow the kernel's limit on the environment: stdin has them all.
    let list = refs.join(" ");
    if list.len() < 32 * 1024 {
        env.push(("VOW_INSTANCES", list));
    }
    env
}

/// One instance as the command sees it: its ref, versions and destinations (from its binding,
/// written by the wave).
fn instance(inputs: &Catalogue, i: &crate::plan::WaveInstance) -> GateInstance {
    let id: &InstanceRef = &i.instance;
    let mut destinations: Vec<String> = inputs
        .store
        .applied
        .get(id)
        .map(|a| a.binding.status.destinations.values().cloned().collect())
        .unwrap_or_default();
    destinations.sort();
    destinations.dedup();
    GateInstance {
        instance: id.to_string(),
        promise: id.promise.clone(),
        namespace: id.namespace().to_string(),
        name: id.name().to_string(),
        action: i.action.as_str().to_string(),
        from: i.from.clone(),
        to: i.to.clone(),
        destinations,
    }
}
