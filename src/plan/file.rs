//! The plan file: what `vow plan --format json` and `vow rollback` write and `vow apply` reads
//! back, one type for both directions. Its byte layout is in `layout.rs`; `read.rs` has
//! [`read_verified`](super::read_verified), the one way in from a file.

use crate::diag::{Finding, Location};
use crate::load::inputs::InputDigests;
use crate::model::{InstanceRef, SharedLabels};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Bumped when the plan file changes incompatibly.
pub const SCHEMA_VERSION: u32 = 1;

/// A plan, as written to and read from a plan file. Fields an older or hand-trimmed file may
/// lack read as empty; the plan id (checked by [`read_verified`](super::read_verified)) covers
/// every byte anyway.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub schema_version: u32,
    pub plan_id: String,
    /// Written as `"kind": "rollback"` and `"rollbackOf"` for a rollback plan, nothing for apply.
    #[serde(flatten)]
    pub kind: PlanKind,
    /// The `--now` the plan was made at (absent: the clock), re-used to re-derive it.
    #[serde(default)]
    pub now: Option<String>,
    /// The `--promise` the plan was limited to, re-used to re-derive it.
    #[serde(default)]
    pub promise: Option<String>,
    pub inputs: InputDigests,
    #[serde(default)]
    pub summary: Summary,
    /// The changes per Promise, wave, team and environment.
    #[serde(default)]
    pub counts: super::Counts,
    pub waves: Vec<Wave>,
    #[serde(default)]
    pub blocked: Vec<Blocked>,
    #[serde(default)]
    pub pinned: Vec<Pinned>,
    #[serde(default)]
    pub paused: Vec<InstanceRef>,
    /// Upgrades the rollout's `from` does not take, left on their version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<Held>,
    #[serde(default)]
    pub external_steps: Vec<ExternalSteps>,
    #[serde(default)]
    pub changes: Vec<Change>,
    #[serde(default)]
    pub findings: Vec<Finding>,
}

/// What a plan does: apply the planned changes, or undo a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "KindFields")]
pub enum PlanKind {
    #[default]
    Apply,
    /// Puts back what the run `of` (its short id) changed, from its backups.
    Rollback { of: String },
}

impl PlanKind {
    /// The kind's name, as journals record it.
    pub fn name(&self) -> &'static str {
        match self {
            PlanKind::Apply => "apply",
            PlanKind::Rollback { .. } => "rollback",
        }
    }
}

/// The two fields a plan's kind is written as.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KindFields {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    rollback_of: Option<String>,
}

impl TryFrom<KindFields> for PlanKind {
    type Error = String;
    fn try_from(f: KindFields) -> Result<PlanKind, String> {
        match (f.kind.as_deref(), f.rollback_of) {
            (None | Some("apply"), _) => Ok(PlanKind::Apply),
            (Some("rollback"), Some(of)) => Ok(PlanKind::Rollback { of }),
            (Some("rollback"), None) => {
                Err("a rollback plan without rollbackOf; nothing was applied".into())
            }
            (Some(other), _) => Err(format!(
                "unknown plan kind `{}` (vow writes apply and rollback plans)",
                other.escape_debug()
            )),
        }
    }
}

impl Plan {
    /// The short id of the run this plan starts (its journal's name).
    pub fn run_id(&self) -> String {
        run_id(&self.plan_id)
    }

    pub fn is_rollback(&self) -> bool {
        matches!(self.kind, PlanKind::Rollback { .. })
    }

    /// Drops what apply never reads once the plan is verified (each change's files and lines,
    /// the findings, the counts): apply holds the plan for the whole run, and a 10,000-instance
    /// plan's file lists were most of it. Kept: the waves, the inputs, and each change's
    /// instance, action and digest (a stale plan's message names what renders otherwise).
    pub fn keep_for_apply(&mut self) {
        for c in &mut self.changes {
            c.files = Vec::new();
            c.summary = None;
            c.kind = None;
            c.reason = String::new();
        }
        self.findings = Vec::new();
        self.counts = super::Counts::default();
    }
}

/// `sha256:abcd…` → the first twelve hex digits.
pub fn run_id(plan_id: &str) -> String {
    // Characters, not bytes: a journal's planId is untrusted text and may not be ASCII.
    let hex = plan_id.trim_start_matches("sha256:");
    hex.chars().take(12).collect()
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Summary {
    pub requests: usize,
    pub unchanged: usize,
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub blocked: usize,
    pub pinned: usize,
    pub paused: usize,
    pub waves: usize,
    /// Instances of the whole run that may fail their gates before the run halts.
    pub failure_budget: u64,
    pub findings: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Wave {
    pub index: usize,
    pub name: String,
    #[serde(default)]
    pub canary: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<Batch>,
    #[serde(default)]
    pub size: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake: Option<String>,
    #[serde(default)]
    pub failure_budget: u64,
    /// Whether the wave's gate is judged before the next wave; only rollback plans (which do
    /// not wait on health) write it, as `false`.
    #[serde(default = "yes", skip_serializing)]
    pub gate: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    /// Why the wave starts later than the previous one's bake allows (windows, freezes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waits_for: Vec<String>,
    pub instances: Vec<WaveInstance>,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub index: usize,
    pub of: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaveInstance {
    #[serde(rename = "ref")]
    pub instance: InstanceRef,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default)]
    pub reason: String,
    /// Why the instance is in this wave: the selector that matched, its rank, its canary stratum.
    #[serde(default)]
    pub placement: String,
    /// Rollback plans: the wave of the undone run whose backup restores this instance
    /// (`wave-N`; written by the rollback layout only).
    #[serde(default, skip_serializing)]
    pub source: Option<String>,
    #[serde(skip)]
    pub labels: SharedLabels,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Blocked {
    #[serde(rename = "ref")]
    pub instance: InstanceRef,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(default)]
    pub reasons: Vec<String>,
}

impl Blocked {
    pub fn from_findings(
        instance: &InstanceRef,
        location: Option<&Location>,
        findings: &[Finding],
    ) -> Blocked {
        Blocked {
            instance: instance.clone(),
            location: location.cloned(),
            reasons: findings
                .iter()
                .filter(|f| f.blocking)
                .map(|f| format!("[{}] {}", f.id(), f.message))
                .collect(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pinned {
    #[serde(rename = "ref")]
    pub instance: InstanceRef,
    pub version: String,
}

/// An instance an upgrade leaves where it is: its rollout's `from` does not take its version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    #[serde(rename = "ref")]
    pub instance: InstanceRef,
    /// The version it stays on.
    pub version: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalSteps {
    pub promise: String,
    #[serde(default)]
    pub steps: Vec<String>,
}

/// What a change does to an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
    Unchanged,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Unchanged => "unchanged",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens to one file of an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileChangeKind {
    Added,
    Changed,
    Removed,
}

impl FileChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileChangeKind::Added => "added",
            FileChangeKind::Changed => "changed",
            FileChangeKind::Removed => "removed",
        }
    }
}

impl std::fmt::Display for FileChangeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One file an instance adds, changes or removes in the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    pub path: Arc<str>,
    pub change: FileChangeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Arc<str>>,
}

/// What happens to one instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    #[serde(rename = "ref")]
    pub id: InstanceRef,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default)]
    pub reason: String,
    /// What an update changes, in one bounded line computed from the rendered documents and
    /// the store's files (`statefulset.yaml: spec.replicas 1 → 3; 2 files unchanged`); absent
    /// for creates and deletes, and in plans made before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Its change kind (`plan::canary`): the version transition and what changes apart from
    /// labels and annotations (`v1.3.0 → v1.4.0: spec.version 6.0.14 → 6.0.15`), the same text
    /// for every instance of the Promise whose change is the same; the canaries cover each.
    /// Absent for deletes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The digest of everything the instance renders to (absent for deletes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(default)]
    pub files: Vec<FileChange>,
    #[serde(skip)]
    pub labels: SharedLabels,
    /// Where the instance is declared (its request, or its binding record for a deletion).
    #[serde(skip)]
    pub location: Option<Location>,
}
