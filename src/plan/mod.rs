//! The plan: what changes (diff against the store), in which waves, and what is held back.
//!
//! Planning is a pure function of the loaded catalogue, the evaluated requests and `--now`.

pub mod canary;
mod compare;
mod counts;
mod diff;
mod file;
mod layout;
mod read;
mod seal;
mod shard;
pub mod timing;
pub mod waves;

pub use compare::wave_differences;
pub use counts::{ActionCounts, Counts};
pub use diff::{classify, unified_diffs, FileDiff};
pub use file::*;
pub use read::read_verified;
pub use seal::{write_sealed, write_sealed_temporary};
pub use shard::{merge, Partial, Shard};

use crate::diag::{self, Finding};
use crate::evaluate::Evaluated;
use crate::load::inputs::Catalogue;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// Options that shape a plan.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// Plan only this Promise's instances.
    pub promise: Option<String>,
    pub now: Option<DateTime<Utc>>,
}

/// Builds the plan from evaluated requests, its id included.
pub fn build(catalogue: &Catalogue, evaluated: &[Evaluated], opts: &PlanOptions) -> Plan {
    let mut plan = build_unsealed(catalogue, evaluated, opts);
    seal(&mut plan);
    plan
}

/// Builds the plan without its id (`plan_id` empty): for a caller that writes the plan with
/// [`write_sealed`], which computes the id as it writes, or that needs only the waves.
pub fn build_unsealed(catalogue: &Catalogue, evaluated: &[Evaluated], opts: &PlanOptions) -> Plan {
    let wanted = |p: &str| opts.promise.as_deref().is_none_or(|w| w == p);
    let evaluated: Vec<&Evaluated> = evaluated.iter().filter(|e| wanted(&e.id.promise)).collect();
    let (changes, held) = hold_deletes(catalogue, classify(catalogue, &evaluated, &wanted));
    let mut findings = wanted_findings(catalogue, &evaluated, &wanted);
    let assigned = assign_waves(catalogue, &changes, opts.now);
    findings.extend(assigned.findings.iter().cloned());
    diag::sort_findings(&mut findings);

    let mut blocked: Vec<Blocked> = evaluated
        .iter()
        .filter(|e| e.blocked)
        .map(|e| Blocked::from_findings(&e.id, Some(&e.location), &e.findings))
        .collect();
    blocked.extend(assigned.unassigned.iter().cloned());
    blocked.extend(held);
    // In the order of the refs' text, as plans have always listed them.
    blocked.sort_by_cached_key(|b| b.instance.to_string());

    let counts = counts::count(
        &assigned.waves,
        &blocked,
        &evaluated,
        &catalogue.ws.labels.team,
        &catalogue.ws.labels.environment,
    );
    let summary = summary(&evaluated, &changes, &assigned, &blocked, &findings);
    let held: std::collections::HashSet<&crate::model::InstanceRef> =
        assigned.held.iter().map(|h| &h.instance).collect();
    Plan {
        schema_version: SCHEMA_VERSION,
        plan_id: String::new(),
        kind: PlanKind::Apply,
        now: opts.now.map(crate::duration::format_time),
        promise: opts.promise.clone(),
        inputs: catalogue.digests.clone(),
        summary,
        counts,
        waves: assigned.waves,
        blocked,
        pinned: evaluated
            .iter()
            .filter(|e| e.pinned)
            .map(|e| Pinned {
                instance: e.id.clone(),
                version: e.version.clone(),
            })
            .collect(),
        paused: evaluated
            .iter()
            .filter(|e| e.paused)
            .map(|e| e.id.clone())
            .collect(),
        held: assigned.held.clone(),
        external_steps: external_steps(catalogue, &wanted),
        changes: changes
            .into_iter()
            .filter(|c| c.action != Action::Unchanged && !held.contains(&c.id))
            .collect(),
        findings,
    }
}

/// Sets the plan's id by hashing its JSON text as it is serialised (one pass, nothing written).
pub fn seal(plan: &mut Plan) {
    plan.plan_id.clear();
    plan.plan_id = plan_id(plan);
}

/// The workspace's findings about the planned Promises (or about no instance), then the
/// evaluated instances' own.
fn wanted_findings(
    catalogue: &Catalogue,
    evaluated: &[&Evaluated],
    wanted: &dyn Fn(&str) -> bool,
) -> Vec<Finding> {
    let mut findings: Vec<Finding> = catalogue
        .findings
        .iter()
        .filter(|f| {
            f.instance.as_deref().is_none_or(|r| {
                r.parse::<crate::model::InstanceRef>()
                    .map_or(true, |id| wanted(&id.promise))
            })
        })
        .cloned()
        .collect();
    for e in evaluated {
        findings.extend(e.findings.iter().cloned());
    }
    findings
}

/// Puts the changes into waves by their Promises' rollouts (or the default one), and times the
/// waves against the calendar.
fn assign_waves(
    catalogue: &Catalogue,
    changes: &[Change],
    now: Option<DateTime<Utc>>,
) -> waves::Assigned {
    let rollout_of = |name: &str| {
        catalogue
            .promise_by_name(name)
            .and_then(|p| p.rollout.as_ref())
    };
    let facts_of = |id: &crate::model::InstanceRef| waves::Facts {
        failed_version: catalogue
            .store
            .applied
            .get(id)
            .and_then(|a| a.binding.status.failed_version.as_deref()),
    };
    let strategy = waves::Strategy {
        rollout_of: &rollout_of,
        facts_of: &facts_of,
        fallback: catalogue
            .ws
            .default_rollout
            .clone()
            .unwrap_or_else(crate::config::default_rollout),
    };
    let mut assigned = waves::assign(&strategy, changes);
    timing::time_waves(
        &mut assigned.waves,
        &assigned.bakes,
        &catalogue.ws.calendar,
        now,
    );
    assigned
}

/// The plan's numbers at a glance.
fn summary(
    evaluated: &[&Evaluated],
    changes: &[Change],
    assigned: &waves::Assigned,
    blocked: &[Blocked],
    findings: &[Finding],
) -> Summary {
    // Changes in no wave: matched none (blocked), or held by `from`.
    let left_out: std::collections::HashSet<&crate::model::InstanceRef> = (assigned.unassigned)
        .iter()
        .map(|b| &b.instance)
        .chain(assigned.held.iter().map(|h| &h.instance))
        .collect();
    Summary {
        requests: evaluated.iter().filter(|e| !e.id.is_dependencies()).count(),
        unchanged: changes
            .iter()
            .filter(|c| c.action == Action::Unchanged)
            .count(),
        create: count(changes, Action::Create, &left_out),
        update: count(changes, Action::Update, &left_out),
        delete: count(changes, Action::Delete, &left_out),
        blocked: blocked.len(),
        pinned: evaluated.iter().filter(|e| e.pinned).count(),
        paused: evaluated.iter().filter(|e| e.paused).count(),
        waves: assigned.waves.len(),
        failure_budget: assigned.run_budget,
        findings: findings.len(),
    }
}

/// While any request document failed to load, deletions are held back as blocked: the
/// instance's request may be in the document that did not load, and a typo must never delete
/// a running service. Every other change is still planned.
fn hold_deletes(catalogue: &Catalogue, changes: Vec<Change>) -> (Vec<Change>, Vec<Blocked>) {
    if catalogue.unread_requests.is_empty() {
        return (changes, Vec::new());
    }
    let mut where_ = catalogue.unread_requests.clone();
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
            instance: c.id,
            location: c.location,
            reasons: vec![reason.clone()],
        })
        .collect();
    (kept, held)
}

fn count(
    changes: &[Change],
    action: Action,
    left_out: &std::collections::HashSet<&crate::model::InstanceRef>,
) -> usize {
    changes
        .iter()
        .filter(|c| c.action == action && !left_out.contains(&c.id))
        .count()
}

/// Container steps vow does not run, per Promise and in workflow order: every workflow of every
/// Promise in the plan (resource configure and delete, Promise configure), so a reviewer sees
/// what Kratix would still do outside this plan.
fn external_steps(catalogue: &Catalogue, wanted: &dyn Fn(&str) -> bool) -> Vec<ExternalSteps> {
    let mut out: Vec<ExternalSteps> = catalogue
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

/// The plan's id: the digest of its JSON text with the id left empty (see [`content_id`]),
/// hashed as it is serialized (`plan.plan_id` is still empty here), without building the text.
fn plan_id(plan: &Plan) -> String {
    debug_assert!(plan.plan_id.is_empty());
    let mut hasher = Sha256::new();
    if serde_json::to_writer_pretty(&mut hasher, plan).is_err() {
        return content_id(&to_json(plan));
    }
    hasher.update(b"\n");
    format!("sha256:{:x}", hasher.finalize())
}

/// Writes the plan as JSON, as [`to_json`] does, straight to `w`.
pub fn write_json(plan: &Plan, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, plan)?;
    w.write_all(b"\n")
}

/// The plan as JSON, the form `--out` writes and `vow apply` reads.
pub fn to_json(plan: &Plan) -> String {
    let mut s =
        serde_json::to_string_pretty(plan).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// The digest of a plan file's text with the value of its first `"planId"` left empty: apply
/// recomputes it from the file to refuse a plan edited after it was made (any byte changed
/// outside the id changes it). Hashing the text itself, rather than a canonical re-encoding of
/// the parsed document, keeps this one pass over bytes already written: on 100k requests the
/// canonical form cost 3.7 s of a 14 s plan (BENCHMARKS.md).
pub fn content_id(text: &str) -> String {
    const KEY: &str = "\"planId\": \"";
    let mut hasher = Sha256::new();
    match text.split_once(KEY) {
        Some((before, rest)) => {
            // An id never closed runs to the end of the text.
            let after = rest.find('"').and_then(|n| rest.get(n..)).unwrap_or("");
            hasher.update(before.as_bytes());
            hasher.update(KEY.as_bytes());
            hasher.update(after.as_bytes());
        }
        None => hasher.update(text.as_bytes()),
    }
    format!("sha256:{:x}", hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::content_id;

    #[test]
    fn the_content_id_ignores_the_id_and_sees_every_other_byte() {
        let blank = "{\n  \"schemaVersion\": 3,\n  \"planId\": \"\",\n  \"waves\": []\n}\n";
        let sealed = blank.replace("\"planId\": \"\"", "\"planId\": \"sha256:abc\"");
        assert_eq!(content_id(blank), content_id(&sealed));
        let edited = sealed.replace("[]", "[ ]");
        assert_ne!(content_id(&sealed), content_id(&edited));
        // A later "planId" inside a value is content, not the id.
        let nested = sealed.replace("[]", "[\"planId\": \"x\"]");
        assert_ne!(content_id(&sealed), content_id(&nested));
    }
}
