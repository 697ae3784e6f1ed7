//! Rollback: a reverse plan that puts every instance a run changed back as it was before, in
//! reverse wave order, from the backups the run wrote. It is reviewed and applied like any plan.

use super::journal::{self, Journal};
use super::planfile::{PlanFile, Wave};
use super::wave::{backup_path, parse_ref, Backup};
use crate::store::path::{self, StorePath};
use crate::store::{self, Applied, Op, Store, StoreState};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Finds a run by its id or a prefix of it (or of its plan id).
pub fn find_run(st: &dyn Store, run: &str) -> Result<Journal> {
    let wanted = run.trim_start_matches("sha256:");
    let scan = journal::scan(st.dir(), st.dir());
    let all = scan.journals;
    let found: Vec<&Journal> = all
        .iter()
        .filter(|j| j.plan_id.trim_start_matches("sha256:").starts_with(wanted))
        .collect();
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] if !scan.findings.is_empty() => {
            let damaged: Vec<String> = scan.findings.iter().map(|f| f.message.clone()).collect();
            bail!(
                "no run `{run}` among the readable journals; {} cannot be read: {}",
                damaged.len(),
                damaged.join("; ")
            )
        }
        [] => bail!("no run `{run}` in the store (`vow status` lists the runs)"),
        _ => bail!("`{run}` names several runs; give more of the id"),
    }
}

/// The reverse plan of a run.
pub fn make_plan(st: &dyn Store, state: &StoreState, run: &Journal) -> Result<Value> {
    let run_id = super::planfile::run_id(&run.plan_id);
    let mut waves = Vec::new();
    for (i, w) in run.waves.iter().rev().enumerate() {
        let mut instances = Vec::new();
        for r in &w.instances {
            let id = parse_ref(r).with_context(|| format!("the journal names `{r}`"))?;
            let backup = read_backup(st, &backup_path(&run_id, w.index, &id))?;
            let before: Option<store::Binding> = backup
                .binding
                .as_deref()
                .and_then(|b| serde_yaml::from_str(b).ok());
            let now = state
                .applied
                .get(&id)
                .and_then(|a| a.binding.status.applied_version.clone());
            let to = before
                .as_ref()
                .and_then(|b| b.status.applied_version.clone());
            let action = match (&now, &to) {
                (_, None) => "delete",
                (None, Some(_)) => "create",
                _ => "update",
            };
            instances.push(json!({
                "ref": r, "action": action, "from": now, "to": to,
                "reason": format!("rollback of run {run_id}, wave {} {}", w.index, w.name),
                "placement": format!("reverse of wave {}", w.index),
                "source": format!("wave-{}", w.index),
            }));
        }
        waves.push(json!({
            "index": i, "name": format!("undo-{}", w.name), "canary": false, "size": instances.len(),
            "failureBudget": 0, "gate": false, "instances": instances,
        }));
    }
    let mut plan = json!({
        "schemaVersion": crate::plan::SCHEMA_VERSION,
        "planId": "",
        "kind": "rollback",
        "rollbackOf": run_id,
        "inputs": {"store": state.digest},
        "summary": {"waves": waves.len(), "instances": run.waves.iter().map(|w| w.instances.len()).sum::<usize>()},
        "waves": waves,
        "changes": [],
    });
    let id = crate::plan::content_id(&to_text(&plan));
    if let Some(fields) = plan.as_object_mut() {
        fields.insert("planId".into(), json!(id));
    }
    Ok(plan)
}

/// Reads a backup, refusing one that is damaged or names a path outside the store (every
/// `before` key is checked here, before any operation of the wave is built).
fn read_backup(st: &dyn Store, rel: &str) -> Result<Backup> {
    const FIX: &str = "nothing was applied; restore the backup from the store's history \
                       (a rollback needs every backup of the run intact)";
    let bytes = StorePath::new(rel)?
        .read(st.dir())?
        .with_context(|| format!("the backup {rel} is missing; {FIX}"))?;
    let backup: Backup = serde_json::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("the backup {rel} is damaged: {e}; {FIX}"))?;
    path::check_all(st.dir(), backup.before.keys().map(String::as_str))
        .map_err(|e| anyhow::anyhow!("the backup {rel} names a path vow refuses: {e}; {FIX}"))?;
    Ok(backup)
}

/// The operations of one wave of a rollback plan.
pub fn wave_ops(
    st: &dyn Store,
    state: &mut StoreState,
    plan: &PlanFile,
    wave: &Wave,
) -> Result<Vec<Op>> {
    let Some(of) = &plan.rollback_of else {
        bail!("a rollback plan without rollbackOf");
    };
    let mut ops = Vec::new();
    for inst in &wave.instances {
        let id = parse_ref(&inst.instance)
            .with_context(|| format!("the plan names `{}`", inst.instance))?;
        let source: usize = inst
            .source
            .as_deref()
            .and_then(|s| s.strip_prefix("wave-"))
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("{}: no source wave", inst.instance))?;
        let backup = read_backup(st, &backup_path(of, source, &id))?;
        for (path, content) in &backup.before {
            match content {
                Some(c) => ops.push(Op::Write {
                    path: path.clone(),
                    bytes: c.clone().into_bytes(),
                }),
                None => ops.push(Op::Remove { path: path.clone() }),
            }
        }
        match &backup.binding {
            Some(b) => {
                let binding: store::Binding = serde_yaml::from_str(b)?;
                // What the store will hold: restored files, and files the wave did not touch.
                let actual: BTreeMap<String, Option<String>> = binding
                    .status
                    .files
                    .iter()
                    .map(|f| {
                        let d = match backup.before.get(&f.path) {
                            Some(Some(c)) => Some(store::digest(c.as_bytes())),
                            Some(None) => None,
                            None => StorePath::new(&f.path)
                                .ok()
                                .and_then(|p| p.read(st.dir()).ok().flatten())
                                .map(|c| store::digest(&c)),
                        };
                        (f.path.clone(), d)
                    })
                    .collect();
                ops.push(Op::Write {
                    path: store::binding_rel(&id),
                    bytes: b.clone().into_bytes(),
                });
                state.applied.insert(
                    id,
                    Applied {
                        binding,
                        text_digest: store::digest(b.as_bytes()),
                        actual,
                    },
                );
            }
            None => {
                ops.push(Op::Remove {
                    path: store::binding_rel(&id),
                });
                state.applied.remove(&id);
            }
        }
    }
    Ok(ops)
}

/// A rollback plan's file text, as `vow rollback` writes it (its id is the digest of this text).
pub fn to_text(plan: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(plan).unwrap_or_default();
    text.push('\n');
    text
}
