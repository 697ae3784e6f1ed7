//! The plan: what changes (diff against the store), in which waves, and what is held back.
//!
//! Planning is a pure function of the loaded inputs, the evaluated requests and `--now`.

mod counts;
mod diff;
mod file;
mod shard;
pub mod timing;
pub mod waves;

pub use counts::{ActionCounts, Counts};
pub use diff::{classify, unified_diffs, Action, Change, FileChange, FileDiff};
pub use file::*;
pub use shard::{merge, shard_of, Partial, Shard};

use crate::diag::{self, Finding};
use crate::evaluate::Evaluated;
use crate::load::inputs::Inputs;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// Options that shape a plan.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// Plan only this Promise's instances.
    pub promise: Option<String>,
    pub now: Option<DateTime<Utc>>,
}

/// Builds the plan from evaluated requests.
pub fn build(inputs: &Inputs, evaluated: &[Evaluated], opts: &PlanOptions) -> Plan {
    let wanted = |p: &str| opts.promise.as_deref().is_none_or(|w| w == p);
    let evaluated: Vec<&Evaluated> = evaluated.iter().filter(|e| wanted(&e.id.promise)).collect();
    let (changes, held) = hold_deletes(inputs, classify(inputs, &evaluated, &wanted));
    let mut findings: Vec<Finding> = inputs
        .findings
        .iter()
        .filter(|f| {
            f.instance
                .as_deref()
                .is_none_or(|r| wanted(r.split(':').next().unwrap_or("")))
        })
        .cloned()
        .collect();
    for e in &evaluated {
        findings.extend(e.findings.iter().cloned());
    }
    let rollout_of = |name: &str| {
        inputs
            .promise_by_name(name)
            .and_then(|p| p.rollout.as_ref())
    };
    let strategy = waves::Strategy {
        rollout_of: &rollout_of,
        fallback: inputs
            .ws
            .default_rollout
            .clone()
            .unwrap_or_else(waves::default_rollout),
        calendar: &inputs.ws.calendar,
        now: opts.now,
    };
    let placed = waves::place(&strategy, &changes);
    findings.extend(placed.findings.iter().cloned());
    diag::sort_findings(&mut findings);

    let mut blocked: Vec<Blocked> = evaluated
        .iter()
        .filter(|e| e.blocked)
        .map(|e| Blocked::from_findings(&e.id.to_string(), Some(&e.location), &e.findings))
        .collect();
    blocked.extend(placed.unplaced.iter().cloned());
    blocked.extend(held);
    blocked.sort_by(|a, b| a.instance.cmp(&b.instance));

    let counts = counts::count(
        &placed.waves,
        &blocked,
        &evaluated,
        &inputs.ws.labels.team,
        &inputs.ws.labels.environment,
    );
    let summary = Summary {
        requests: evaluated.iter().filter(|e| !e.id.is_dependencies()).count(),
        unchanged: changes
            .iter()
            .filter(|c| c.action == Action::Unchanged)
            .count(),
        create: count(&changes, Action::Create, &placed.unplaced),
        update: count(&changes, Action::Update, &placed.unplaced),
        delete: count(&changes, Action::Delete, &placed.unplaced),
        blocked: blocked.len(),
        pinned: evaluated.iter().filter(|e| e.pinned).count(),
        paused: evaluated.iter().filter(|e| e.paused).count(),
        waves: placed.waves.len(),
        failure_budget: placed.run_budget,
        findings: findings.len(),
    };
    let mut plan = Plan {
        schema_version: SCHEMA_VERSION,
        plan_id: String::new(),
        now: opts.now.map(crate::duration::format_time),
        promise: opts.promise.clone(),
        inputs: inputs.digests.clone(),
        summary,
        counts,
        waves: placed.waves,
        blocked,
        pinned: evaluated
            .iter()
            .filter(|e| e.pinned)
            .map(|e| Pinned {
                instance: e.id.to_string(),
                version: e.version.clone(),
            })
            .collect(),
        paused: evaluated
            .iter()
            .filter(|e| e.paused)
            .map(|e| e.id.to_string())
            .collect(),
        external_steps: external_steps(inputs, &wanted),
        changes: changes
            .into_iter()
            .filter(|c| c.action != Action::Unchanged)
            .collect(),
        findings,
    };
    plan.plan_id = plan_id(&plan);
    plan
}

/// While any request document failed to load, deletions are held back as blocked: the
/// instance's request may be in the document that did not load, and a typo must never delete
/// a running service. Every other change is still planned.
fn hold_deletes(inputs: &Inputs, changes: Vec<Change>) -> (Vec<Change>, Vec<Blocked>) {
    if inputs.unread_requests.is_empty() {
        return (changes, Vec::new());
    }
    let mut where_ = inputs.unread_requests.clone();
    where_.dedup();
    let reason = format!(
        "not deleted: request documents failed to load ({}), and its request may be among them; fix them and plan again",
        where_.join(", ")
    );
    let (deletes, kept): (Vec<Change>, Vec<Change>) = changes
        .into_iter()
        .partition(|c| c.action == Action::Delete);
    let held = deletes
        .into_iter()
        .map(|c| Blocked {
            instance: c.instance,
            location: c.location,
            reasons: vec![reason.clone()],
        })
        .collect();
    (kept, held)
}

fn count(changes: &[Change], action: Action, unplaced: &[Blocked]) -> usize {
    changes
        .iter()
        .filter(|c| c.action == action && !unplaced.iter().any(|b| b.instance == c.instance))
        .count()
}

/// Container steps vow does not run, per Promise and in workflow order: every workflow of every
/// Promise in the plan (resource configure and delete, Promise configure), so a reviewer sees
/// what Kratix would still do outside this plan.
fn external_steps(inputs: &Inputs, wanted: &dyn Fn(&str) -> bool) -> Vec<ExternalSteps> {
    let mut out: Vec<ExternalSteps> = inputs
        .promises
        .iter()
        .filter(|p| wanted(&p.name))
        .map(|p| {
            let workflows = [
                ("promise.configure", &p.promise_configure),
                ("promise.delete", &p.promise_delete),
                ("resource.configure", &p.configure),
                ("resource.delete", &p.delete),
            ];
            let steps = workflows
                .iter()
                .flat_map(|(w, pipelines)| {
                    pipelines.iter().flat_map(move |pl| {
                        pl.containers
                            .iter()
                            .map(move |c| format!("{w} {}/{c}", pl.name))
                    })
                })
                .collect();
            ExternalSteps {
                promise: p.name.clone(),
                steps,
            }
        })
        .filter(|e| !e.steps.is_empty())
        .collect();
    out.sort_by(|a, b| a.promise.cmp(&b.promise));
    out
}

/// The plan's id: a digest of everything else in it.
fn plan_id(plan: &Plan) -> String {
    let value = serde_json::to_value(plan).unwrap_or_default();
    canonical_id(&value)
}

/// The digest of a plan document with its `planId` blanked, over canonical JSON (sorted keys):
/// apply recomputes it from the file to refuse a plan edited after it was made.
pub fn canonical_id(plan: &serde_json::Value) -> String {
    let mut v = plan.clone();
    if let Some(m) = v.as_object_mut() {
        m.insert("planId".into(), serde_json::Value::String(String::new()));
    }
    let json = serde_json::to_vec(&v).unwrap_or_default();
    format!("sha256:{:x}", Sha256::digest(json))
}
