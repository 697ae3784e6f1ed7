//! The plan file: what `vow plan --format json` and `vow rollback` write and `vow apply` reads
//! back, one type for both directions. [`read_verified`] is the one way in from a file.

use crate::diag::{Finding, Location};
use crate::error::{Error, Result};
use crate::load::inputs::InputDigests;
use crate::model::{InstanceRef, SharedLabels};
use serde::{Deserialize, Serialize, Serializer};
use std::path::Path;
use std::sync::Arc;

/// Bumped when the plan file changes incompatibly.
pub const SCHEMA_VERSION: u32 = 1;

/// A plan, as written to and read from a plan file. Fields an older or hand-trimmed file may
/// lack read as empty; the plan id (checked by [`read_verified`]) covers every byte anyway.
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
}

/// `sha256:abcd…` → the first twelve hex digits.
pub fn run_id(plan_id: &str) -> String {
    // Characters, not bytes: a journal's planId is untrusted text and may not be ASCII.
    let hex = plan_id.trim_start_matches("sha256:");
    hex.chars().take(12).collect()
}

/// Reads a plan file, refusing one of another schema version or whose id is not the digest of
/// its content (edited after it was made).
pub fn read_verified(path: &Path) -> Result<Plan> {
    let shown = path.display();
    let bytes = crate::load::read_bounded(path)
        .map_err(|e| Error::Usage(format!("cannot read the plan {shown}: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| Error::EditedPlan(format!("the plan {shown} is not UTF-8 text: {e}")))?;
    // Parsed to a value first: the errors of the second step name the field, not a position.
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::EditedPlan(format!(
            "{shown} is not a plan file (vow plan --format json --out FILE writes one): {e}"
        ))
    })?;
    let plan: Plan = serde_json::from_value(value)
        .map_err(|e| Error::EditedPlan(format!("{shown} is not a plan file vow can apply: {e}")))?;
    if plan.schema_version != SCHEMA_VERSION {
        return Err(Error::EditedPlan(format!(
            "{shown}: plan schema version {} is not the {SCHEMA_VERSION} this vow applies; plan again",
            plan.schema_version
        )));
    }
    let expected = super::content_id(&text);
    if expected != plan.plan_id {
        return Err(Error::EditedPlan(format!(
            "{shown}: the plan was changed after it was made (its content digest is {expected}, its planId says {}); refusing to apply it. Make a new plan with `vow plan --out`.",
            plan.plan_id
        )));
    }
    Ok(plan)
}

impl Serialize for Plan {
    /// An apply plan and a rollback plan are laid out as vow has always written them (their
    /// ids are digests of these bytes): the rollback plan with its keys in alphabetical order
    /// and only the parts a rollback has.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.kind {
            PlanKind::Apply => ApplyLayout {
                schema_version: self.schema_version,
                plan_id: &self.plan_id,
                now: self.now.as_deref(),
                promise: self.promise.as_deref(),
                inputs: &self.inputs,
                summary: &self.summary,
                counts: &self.counts,
                waves: &self.waves,
                blocked: &self.blocked,
                pinned: &self.pinned,
                paused: &self.paused,
                external_steps: &self.external_steps,
                changes: &self.changes,
                findings: &self.findings,
            }
            .serialize(s),
            PlanKind::Rollback { of } => RollbackLayout {
                changes: &self.changes,
                inputs: RollbackInputs {
                    store: &self.inputs.store,
                },
                kind: "rollback",
                plan_id: &self.plan_id,
                rollback_of: of,
                schema_version: self.schema_version,
                summary: RollbackSummary {
                    instances: self.waves.iter().map(|w| w.instances.len()).sum(),
                    waves: self.waves.len(),
                },
                waves: self.waves.iter().map(RollbackWave).collect(),
            }
            .serialize(s),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApplyLayout<'a> {
    schema_version: u32,
    plan_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    now: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    promise: Option<&'a str>,
    inputs: &'a InputDigests,
    summary: &'a Summary,
    counts: &'a super::Counts,
    waves: &'a [Wave],
    blocked: &'a [Blocked],
    pinned: &'a [Pinned],
    paused: &'a [InstanceRef],
    external_steps: &'a [ExternalSteps],
    changes: &'a [Change],
    findings: &'a [Finding],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RollbackLayout<'a> {
    changes: &'a [Change],
    inputs: RollbackInputs<'a>,
    kind: &'static str,
    plan_id: &'a str,
    rollback_of: &'a str,
    schema_version: u32,
    summary: RollbackSummary,
    waves: Vec<RollbackWave<'a>>,
}

/// A rollback plan is made from the store alone.
#[derive(Serialize)]
struct RollbackInputs<'a> {
    store: &'a str,
}

#[derive(Serialize)]
struct RollbackSummary {
    instances: usize,
    waves: usize,
}

/// A wave of a rollback plan: its gate is written (a rollback does not wait on health).
struct RollbackWave<'a>(&'a Wave);

impl Serialize for RollbackWave<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Layout<'a> {
            canary: bool,
            failure_budget: u64,
            gate: bool,
            index: usize,
            instances: Vec<RollbackInstance<'a>>,
            name: &'a str,
            size: usize,
        }
        let w = self.0;
        Layout {
            canary: w.canary,
            failure_budget: w.failure_budget,
            gate: w.gate,
            index: w.index,
            instances: w
                .instances
                .iter()
                .map(|i| RollbackInstance {
                    action: i.action,
                    from: i.from.as_deref(),
                    placement: &i.placement,
                    reason: &i.reason,
                    instance: &i.instance,
                    source: i.source.as_deref(),
                    to: i.to.as_deref(),
                })
                .collect(),
            name: &w.name,
            size: w.size,
        }
        .serialize(s)
    }
}

/// An instance of a rollback plan: `from` and `to` are written even when absent (`null`).
#[derive(Serialize)]
struct RollbackInstance<'a> {
    action: Action,
    from: Option<&'a str>,
    placement: &'a str,
    reason: &'a str,
    #[serde(rename = "ref")]
    instance: &'a InstanceRef,
    source: Option<&'a str>,
    to: Option<&'a str>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{content_id, to_json};

    fn instance(r: &str, action: Action, from: Option<&str>, to: Option<&str>) -> WaveInstance {
        WaveInstance {
            instance: r.parse().unwrap(),
            action,
            from: from.map(Into::into),
            to: to.map(Into::into),
            reason: "a reason".into(),
            placement: "a placement".into(),
            source: None,
            labels: SharedLabels::default(),
        }
    }

    fn wave(index: usize, instances: Vec<WaveInstance>) -> Wave {
        Wave {
            index,
            name: format!("w{index}"),
            canary: index == 0,
            batch: (index == 1).then_some(Batch { index: 1, of: 2 }),
            size: instances.len(),
            bake: Some("1h".into()),
            failure_budget: 1,
            gate: true,
            not_before: None,
            waits_for: vec!["a window".into()],
            instances,
        }
    }

    fn sealed(mut plan: Plan) -> Plan {
        plan.plan_id = content_id(&to_json(&plan));
        plan
    }

    /// Writes the plan to a file and reads it back as apply does.
    fn written_and_read(plan: &Plan) -> Result<Plan> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        std::fs::write(&path, to_json(plan)).unwrap();
        read_verified(&path)
    }

    fn apply_plan() -> Plan {
        let deps: InstanceRef = "app:dependencies".parse().unwrap();
        let web: InstanceRef = "app:team-a/web".parse().unwrap();
        sealed(Plan {
            schema_version: SCHEMA_VERSION,
            plan_id: String::new(),
            kind: PlanKind::Apply,
            now: Some("2026-12-01T09:00:00Z".into()),
            promise: Some("app".into()),
            inputs: InputDigests {
                store: "sha256:s".into(),
                rules: "sha256:r".into(),
                ..InputDigests::default()
            },
            summary: Summary {
                requests: 2,
                create: 1,
                waves: 2,
                ..Summary::default()
            },
            counts: super::super::Counts::default(),
            waves: vec![
                wave(
                    0,
                    vec![instance(
                        "app:dependencies",
                        Action::Create,
                        None,
                        Some("v2"),
                    )],
                ),
                wave(
                    1,
                    vec![instance(
                        "app:team-a/web",
                        Action::Update,
                        Some("v1"),
                        Some("v2"),
                    )],
                ),
            ],
            blocked: vec![Blocked {
                instance: "app:team-b/db".parse().unwrap(),
                location: Some(Location::new("requests/db.yaml".into(), 3)),
                reasons: vec!["[V100] a reason".into()],
            }],
            pinned: vec![Pinned {
                instance: web.clone(),
                version: "v1".into(),
            }],
            paused: vec![deps.clone()],
            external_steps: vec![ExternalSteps {
                promise: "app".into(),
                steps: vec!["resource.configure p/c".into()],
            }],
            changes: vec![Change {
                id: web,
                action: Action::Update,
                from: Some("v1".into()),
                to: Some("v2".into()),
                reason: "Promise app v1 → v2".into(),
                digest: Some("sha256:d".into()),
                files: vec![FileChange {
                    path: "dest/a.yaml".into(),
                    change: FileChangeKind::Changed,
                    from: Some("sha256:a".into()),
                    to: Some("sha256:b".into()),
                }],
                labels: SharedLabels::default(),
                location: None,
            }],
            findings: Vec::new(),
        })
    }

    fn rollback_plan() -> Plan {
        let mut undo = instance("app:team-a/web", Action::Delete, Some("v1"), None);
        undo.source = Some("wave-0".into());
        sealed(Plan {
            schema_version: SCHEMA_VERSION,
            plan_id: String::new(),
            kind: PlanKind::Rollback {
                of: "abcdef012345".into(),
            },
            now: None,
            promise: None,
            inputs: InputDigests {
                store: "sha256:s".into(),
                ..InputDigests::default()
            },
            summary: Summary {
                waves: 1,
                ..Summary::default()
            },
            counts: super::super::Counts::default(),
            waves: vec![Wave {
                index: 0,
                name: "undo-all".into(),
                canary: false,
                batch: None,
                size: 1,
                bake: None,
                failure_budget: 0,
                gate: false,
                not_before: None,
                waits_for: Vec::new(),
                instances: vec![undo],
            }],
            blocked: Vec::new(),
            pinned: Vec::new(),
            paused: Vec::new(),
            external_steps: Vec::new(),
            changes: Vec::new(),
            findings: Vec::new(),
        })
    }

    #[test]
    fn an_apply_plan_written_then_read_is_the_same_value() {
        let plan = apply_plan();
        assert_eq!(written_and_read(&plan).unwrap(), plan);
        let text = to_json(&plan);
        assert!(
            !text.contains("\"kind\"") && !text.contains("\"gate\""),
            "{text}"
        );
        assert!(!text.contains("\"source\""), "{text}");
    }

    #[test]
    fn a_rollback_plan_written_then_read_is_the_same_value() {
        let plan = rollback_plan();
        assert_eq!(written_and_read(&plan).unwrap(), plan);
    }

    #[test]
    fn a_rollback_plan_keeps_the_layout_vow_rollback_has_always_written() {
        let mut plan = rollback_plan();
        plan.plan_id = String::new();
        // What `vow rollback` wrote as a `serde_json::Value` (keys in alphabetical order, `from`
        // and `to` written even when absent).
        let before = serde_json::json!({
            "schemaVersion": 1, "planId": "", "kind": "rollback", "rollbackOf": "abcdef012345",
            "inputs": {"store": "sha256:s"}, "summary": {"waves": 1, "instances": 1},
            "waves": [{
                "index": 0, "name": "undo-all", "canary": false, "size": 1,
                "failureBudget": 0, "gate": false, "instances": [{
                    "ref": "app:team-a/web", "action": "delete", "from": "v1", "to": null,
                    "reason": "a reason", "placement": "a placement", "source": "wave-0",
                }],
            }],
            "changes": [],
        });
        let mut text = serde_json::to_string_pretty(&before).unwrap();
        text.push('\n');
        assert_eq!(to_json(&plan), text);
    }

    #[test]
    fn unknown_kinds_actions_and_refs_are_refused_naming_the_file() {
        let text = to_json(&apply_plan());
        for (from, to, why) in [
            (
                "\"planId\"",
                "\"kind\": \"deploy\",\n  \"planId\"",
                "unknown plan kind `deploy`",
            ),
            (
                "\"planId\"",
                "\"kind\": \"rollback\",\n  \"planId\"",
                "without rollbackOf",
            ),
            (
                "\"action\": \"update\"",
                "\"action\": \"explode\"",
                "unknown variant `explode`",
            ),
            (
                "\"ref\": \"app:team-a/web\"",
                "\"ref\": \"web\"",
                "`web` is not an instance",
            ),
        ] {
            let edited = text.replacen(from, to, 1);
            let id = content_id(&edited);
            let edited = edited.replacen(
                &format!("\"planId\": \"{}\"", apply_plan().plan_id),
                &format!("\"planId\": \"{id}\""),
                1,
            );
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("plan.json");
            std::fs::write(&path, edited).unwrap();
            let err = read_verified(&path).unwrap_err().to_string();
            assert!(err.contains(why), "{why}: {err}");
            assert!(
                err.contains("plan.json is not a plan file vow can apply"),
                "{err}"
            );
        }
    }
}
