//! Reading a plan file back, and refusing one that is not a plan this vow applies or that was
//! edited after it was made.

use super::file::{Plan, SCHEMA_VERSION};
use crate::error::{Error, Result};
use std::path::Path;

/// Reads a plan file, refusing one of another schema version or whose id is not the digest of
/// its content (edited after it was made).
pub fn read_verified(path: &Path) -> Result<Plan> {
    let shown = path.display();
    let bytes = crate::source::read_bounded(path)
        .map_err(|e| Error::Usage(format!("cannot read the plan {shown}: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| Error::EditedPlan(format!("the plan {shown} is not UTF-8 text: {e}")))?;
    // Parsed straight to a plan; a text that is not one is parsed again to a value first, so
    // that the error names the field, not a position. (Building the value of a 24 MB plan
    // first cost a tenth of a 10,000-instance apply's serial time.)
    let plan: Plan = match serde_json::from_str(&text) {
        Ok(plan) => plan,
        Err(_) => {
            let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                Error::EditedPlan(format!(
                    "{shown} is not a plan file (vow plan --format json --out FILE writes one): {e}"
                ))
            })?;
            serde_json::from_value(value).map_err(|e| {
                Error::EditedPlan(format!("{shown} is not a plan file vow can apply: {e}"))
            })?
        }
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Location;
    use crate::load::inputs::InputDigests;
    use crate::model::{InstanceRef, SharedLabels};
    use crate::plan::file::*;
    use crate::plan::{content_id, to_json, Counts};

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
            counts: Counts::default(),
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
            held: Vec::new(),
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
                summary: Some("a.yaml: spec.replicas 1 → 3".into()),
                kind: None,
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
            counts: Counts::default(),
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
            held: Vec::new(),
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

    #[test]
    fn a_plan_written_once_is_the_two_pass_plan_byte_for_byte() {
        for want in [apply_plan(), rollback_plan()] {
            let mut plan = want.clone();
            plan.plan_id.clear();
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("out").join("plan.json");
            let mut file = crate::plan::write_sealed(&mut plan, &path).unwrap();
            assert_eq!(plan.plan_id, want.plan_id);
            let mut copied = String::new();
            std::io::Read::read_to_string(&mut file, &mut copied).unwrap();
            assert_eq!(copied, to_json(&want));
            assert_eq!(std::fs::read_to_string(&path).unwrap(), to_json(&want));
            assert_eq!(read_verified(&path).unwrap(), want);
            // The stdout path: an unnamed temporary file, the same bytes.
            plan.plan_id.clear();
            let mut temporary = crate::plan::write_sealed_temporary(&mut plan).unwrap();
            let mut text = String::new();
            std::io::Read::read_to_string(&mut temporary, &mut text).unwrap();
            assert_eq!(text, to_json(&want));
            // Nothing but the plan is left in the folder.
            let names: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
            assert_eq!(names.len(), 1);
        }
    }
}
