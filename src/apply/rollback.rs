//! Rollback: a reverse plan that puts every instance a run changed back as it was before, in
//! reverse wave order, from the backups the run wrote. It is reviewed and applied like any plan.

use super::journal::{self, Journal};
use super::wave::{Backup, WaveBackup};
use crate::error::{Error, Result};
use crate::load::inputs::InputDigests;
use crate::model::InstanceRef;
use crate::plan::{Action, Plan, PlanKind, Summary, Wave, WaveInstance};
use crate::store::layout;
use crate::store::path::{self, StorePath};
use crate::store::{self, Applied, Op, Store, StoreState};
use std::collections::{BTreeMap, HashMap};

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
            Err(Error::Usage(format!(
                "no run `{run}` among the readable journals; {} cannot be read: {}",
                damaged.len(),
                damaged.join("; ")
            )))
        }
        [] => Err(Error::Usage(format!(
            "no run `{run}` in the store (`vow status` lists the runs)"
        ))),
        _ => Err(Error::Usage(format!(
            "`{run}` names several runs; give more of the id"
        ))),
    }
}

/// The reverse plan of a run.
pub fn make_plan(st: &dyn Store, state: &StoreState, run: &Journal) -> Result<Plan> {
    let run_id = crate::plan::run_id(&run.plan_id);
    let mut waves = Vec::new();
    let mut backups = Backups::default();
    for (i, w) in run.waves.iter().rev().enumerate() {
        let mut instances = Vec::new();
        for r in &w.instances {
            let id: InstanceRef = r
                .parse()
                .map_err(|_| Error::EditedPlan(format!("the journal names `{r}`")))?;
            let backup = backups.get(st, &run_id, w.index, &id)?;
            let before: Option<store::Binding> = backup
                .binding
                .as_deref()
                .and_then(|b| serde_yaml::from_str(b).ok());
            let from = state
                .applied
                .get(&id)
                .and_then(|a| a.binding.status.applied_version.clone());
            let to = before
                .as_ref()
                .and_then(|b| b.status.applied_version.clone());
            let action = match (&from, &to) {
                (_, None) => Action::Delete,
                (None, Some(_)) => Action::Create,
                _ => Action::Update,
            };
            instances.push(WaveInstance {
                instance: id,
                action,
                from,
                to,
                reason: format!("rollback of run {run_id}, wave {} {}", w.index, w.name),
                placement: format!("reverse of wave {}", w.index),
                source: Some(format!("wave-{}", w.index)),
                labels: Default::default(),
            });
        }
        waves.push(Wave {
            index: i,
            name: format!("undo-{}", w.name),
            canary: false,
            batch: None,
            size: instances.len(),
            bake: None,
            failure_budget: 0,
            gate: false,
            not_before: None,
            waits_for: Vec::new(),
            instances,
        });
    }
    let mut plan = Plan {
        schema_version: crate::plan::SCHEMA_VERSION,
        plan_id: String::new(),
        kind: PlanKind::Rollback { of: run_id },
        now: None,
        promise: None,
        inputs: InputDigests {
            store: state.digest.clone(),
            ..InputDigests::default()
        },
        summary: Summary {
            waves: waves.len(),
            ..Summary::default()
        },
        counts: Default::default(),
        waves,
        blocked: Vec::new(),
        pinned: Vec::new(),
        paused: Vec::new(),
        held: Vec::new(),
        external_steps: Vec::new(),
        changes: Vec::new(),
        findings: Vec::new(),
    };
    plan.plan_id = crate::plan::content_id(&to_text(&plan));
    Ok(plan)
}

const FIX: &str = "nothing was applied; restore the backup from the store's history \
                   (a rollback needs every backup of the run intact)";

/// The backups of a run's waves, each wave's file read once: a wave's backup is one file
/// (`layout::wave_backup`) since round three of issue 15; a run applied by an older vow has a
/// file per instance (`layout::backup`), read when the wave has no file of its own.
#[derive(Default)]
struct Backups {
    /// Wave → its file's backups (`None`: the wave has no file, the older form).
    waves: HashMap<usize, Option<WaveBackup>>,
}

impl Backups {
    /// The backup of `id` before wave `wave` of `run`, its paths checked.
    fn get(&mut self, st: &dyn Store, run: &str, wave: usize, id: &InstanceRef) -> Result<Backup> {
        if let std::collections::hash_map::Entry::Vacant(e) = self.waves.entry(wave) {
            let rel = layout::wave_backup(run, wave);
            e.insert(read_json::<WaveBackup>(st, &rel)?);
        }
        let (backup, rel) = match self.waves.get_mut(&wave).and_then(Option::as_mut) {
            Some(all) => {
                let rel = layout::wave_backup(run, wave);
                let one = all.instances.remove(&id.to_string()).ok_or_else(|| {
                    Error::EditedPlan(format!("the backup {rel} has no record of {id}; {FIX}"))
                })?;
                (one, rel)
            }
            None => {
                let rel = layout::backup(run, wave, id);
                let one = read_json::<Backup>(st, &rel)?.ok_or_else(|| {
                    Error::EditedPlan(format!("the backup {rel} is missing; {FIX}"))
                })?;
                (one, rel)
            }
        };
        path::check_all(st.dir(), backup.before.keys().map(String::as_str)).map_err(|e| {
            Error::Store(format!(
                "the backup {rel} names a path vow refuses: {e}; {FIX}"
            ))
        })?;
        Ok(backup)
    }
}

/// Reads a backup file (`None` when absent), refusing one that is damaged or that the store's
/// wall refuses.
fn read_json<T: serde::de::DeserializeOwned>(st: &dyn Store, rel: &str) -> Result<Option<T>> {
    let Some(bytes) = StorePath::new(rel)
        .map_err(|e| Error::Store(e.to_string()))?
        .read(st.dir())
        .map_err(|e| Error::Store(format!("{e:#}")))?
    else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::EditedPlan(format!("the backup {rel} is damaged: {e}; {FIX}")))
}

/// The operations of one wave of a rollback plan.
pub fn wave_ops(
    st: &dyn Store,
    state: &mut StoreState,
    plan: &Plan,
    wave: &Wave,
) -> Result<Vec<Op>> {
    let PlanKind::Rollback { of } = &plan.kind else {
        return Err(Error::EditedPlan(
            "a rollback plan without rollbackOf".into(),
        ));
    };
    let mut ops = Vec::new();
    let mut backups = Backups::default();
    for inst in &wave.instances {
        let id = &inst.instance;
        let source: usize = inst
            .source
            .as_deref()
            .and_then(|s| s.strip_prefix("wave-"))
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| Error::EditedPlan(format!("{}: no source wave", inst.instance)))?;
        let backup = backups.get(st, of, source, id)?;
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
                let binding: store::Binding =
                    serde_yaml::from_str(b).map_err(|e| Error::EditedPlan(e.to_string()))?;
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
                    path: store::binding_rel(id),
                    bytes: b.clone().into_bytes(),
                });
                state.applied.insert(
                    id.clone(),
                    Applied {
                        binding,
                        text_digest: store::digest(b.as_bytes()),
                        actual,
                    },
                );
            }
            None => {
                ops.push(Op::Remove {
                    path: store::binding_rel(id),
                });
                state.applied.remove(id);
            }
        }
    }
    Ok(ops)
}

/// A rollback plan's file text, as `vow rollback` writes it (its id is the digest of this text).
pub fn to_text(plan: &Plan) -> String {
    crate::plan::to_json(plan)
}
