//! The operations that apply one wave of a plan: rendered files, removals, bindings,
//! revisions, and the backups a rollback restores from.

use crate::error::{Error, Result};
use crate::evaluate::{self, Evaluated};
use crate::load::inputs::Catalogue;
use crate::model::InstanceRef;
use crate::plan::{Action, Wave};
use crate::store::layout;
use crate::store::path::{Checked, StorePath};
use crate::store::{self, Applied, Op, Store, StoreState};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What an instance was before a wave changed it: enough to put it back.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct Backup {
    /// The binding record's text, absent when the instance did not exist.
    pub binding: Option<String>,
    /// Every path the wave wrote or removed, with its content before (absent: did not exist).
    pub before: BTreeMap<String, Option<String>>,
}

/// What every instance of a wave was before it: one file per wave (`layout::wave_backup`),
/// keyed by the instance (`promise:namespace/name`). A file per instance cost a file write per
/// instance (9,906 of a 10,000-instance upgrade's 61,201); rollback still reads that older form.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct WaveBackup {
    pub instances: BTreeMap<String, Backup>,
}

/// What a wave's operations are built from and into.
struct Building<'a> {
    inputs: &'a Catalogue,
    st: &'a dyn Store,
    ops: Vec<Op>,
    /// The revisions (Promise, version) kept by this wave already.
    revisions: BTreeSet<(String, String)>,
    /// The directories the wave's reads found real (see `StorePath::under_in`).
    checked: Checked,
}

impl Building<'_> {
    /// A store file's text as it is now (`None` when absent or not text), read through a
    /// confined path: a path that leaves the store or passes a symlink is an error naming
    /// `record`.
    fn read(&mut self, rel: &str, record: &str) -> Result<Option<String>> {
        let bytes = StorePath::new(rel)
            .map_err(Error::from)
            .and_then(|p| p.read_in(self.st.dir(), &mut self.checked))
            .map_err(|e| {
                Error::Store(format!(
                    "{record}: {e}; nothing of this wave was written. vow never writes through \
                     a symlink or outside the store: replace the symlink with a real folder or \
                     file, or fix the name or record the path comes from"
                ))
            })?;
        Ok(bytes.and_then(|b| String::from_utf8(b).ok()))
    }

    /// Removes every file the instance's record names, keeping what they held.
    fn remove_all(&mut self, prior: &Applied, record: &str, backup: &mut Backup) -> Result<()> {
        for f in &prior.binding.status.files {
            let before = self.read(&f.path, &format!("{record} (status.files)"))?;
            backup.before.insert(f.path.clone(), before);
            self.ops.push(Op::Remove {
                path: f.path.clone(),
            });
        }
        Ok(())
    }
}

/// Builds the wave's operations and updates `state` to what the store will hold after them.
pub(super) fn ops(
    inputs: &Catalogue,
    st: &dyn Store,
    state: &mut StoreState,
    run: &str,
    wave: &Wave,
    by_ref: &mut HashMap<InstanceRef, Evaluated>,
) -> Result<Vec<Op>> {
    let mut b = Building {
        inputs,
        st,
        ops: Vec::new(),
        revisions: BTreeSet::new(),
        checked: Checked::default(),
    };
    let mut all = WaveBackup::default();
    for inst in &wave.instances {
        let id = &inst.instance;
        let prior = state.applied.get(id).cloned();
        let record = layout::binding(id);
        let mut backup = Backup {
            binding: match prior {
                Some(_) => b.read(&record, &record)?,
                None => None,
            },
            ..Backup::default()
        };
        if inst.action == Action::Delete {
            let Some(prior) = prior else {
                return Err(stale(format!(
                    "the plan deletes {}, which the store no longer holds: the plan is stale",
                    inst.instance
                )));
            };
            b.remove_all(&prior, &record, &mut backup)?;
            b.ops.push(Op::Remove {
                path: layout::binding(id),
            });
            state.applied.remove(id);
        } else {
            // Taken out: its contents move into the operations instead of being copied.
            let Some(mut ev) = by_ref.remove(&inst.instance) else {
                return Err(stale(format!(
                    "{} is no longer requested: the plan is stale; plan again",
                    inst.instance
                )));
            };
            if ev.blocked {
                return Err(blocked(&ev));
            }
            write_instance(&mut b, state, &mut ev, prior.as_ref(), &mut backup)?;
        }
        all.instances.insert(id.to_string(), backup);
    }
    if !all.instances.is_empty() {
        b.ops.push(Op::Write {
            path: layout::wave_backup(run, wave.index),
            bytes: serde_json::to_vec_pretty(&all).map_err(|e| Error::Store(e.to_string()))?,
        });
    }
    Ok(b.ops)
}

/// The plan no longer matches the fleet: nothing of the wave is written.
fn stale(message: String) -> Error {
    Error::StalePlan {
        reasons: vec![message.clone()],
        message,
    }
}

/// An instance the plan applies is blocked now: the plan is stale.
fn blocked(ev: &Evaluated) -> Error {
    let why: Vec<&str> = ev
        .findings
        .iter()
        .filter(|f| f.blocking)
        .map(|f| f.message.as_str())
        .collect();
    stale(format!(
        "{} is blocked now ({}): the plan is stale; plan again",
        ev.id,
        why.join("; ")
    ))
}

fn write_instance(
    b: &mut Building,
    state: &mut StoreState,
    ev: &mut Evaluated,
    prior: Option<&Applied>,
    backup: &mut Backup,
) -> Result<()> {
    let mut actual = BTreeMap::new();
    for f in &mut ev.files {
        let unchanged = prior
            .and_then(|p| p.actual.get(&*f.path))
            .and_then(|d| d.as_deref())
            == Some(&*f.digest);
        if !unchanged {
            let before = b.read(&f.path, &format!("the output {} of {}", f.path, ev.id))?;
            backup.before.insert(f.path.to_string(), before);
            b.ops.push(Op::Write {
                path: f.path.to_string(),
                bytes: std::mem::take(&mut f.content).into_bytes(),
            });
        }
        actual.insert(f.path.to_string(), Some(f.digest.to_string()));
    }
    if let Some(p) = prior {
        for old in p
            .binding
            .status
            .files
            .iter()
            .filter(|f| !actual.contains_key(&f.path))
        {
            let record = format!("{} (status.files)", layout::binding(&ev.id));
            let before = b.read(&old.path, &record)?;
            backup.before.insert(old.path.clone(), before);
            b.ops.push(Op::Remove {
                path: old.path.clone(),
            });
        }
    }
    // What the binding follows from now on: the request's pin; else what it followed; else, new,
    // `latest` or (Kratix's `resourceBindingVersionStrategy: pinned`) the version it starts at.
    let desired = if ev.pinned {
        ev.version.clone()
    } else if let Some(p) = prior {
        p.binding.spec.version.clone()
    } else if b.inputs.ws.binding_strategy == crate::workspace::BindingStrategy::Pinned {
        ev.version.clone()
    } else {
        "latest".into()
    };
    let binding = evaluate::applied_binding(ev, &desired);
    let text = serde_yaml::to_string(&binding).map_err(|e| Error::Store(e.to_string()))?;
    let text_digest = store::digest(text.as_bytes());
    // A binding whose text is what the store holds already is not written again.
    if prior.map(|p| &p.text_digest) != Some(&text_digest) {
        b.ops.push(Op::Write {
            path: layout::binding(&ev.id),
            bytes: text.into_bytes(),
        });
    }
    revision_ops(b, &ev.id.promise, &ev.version)?;
    state.applied.insert(
        ev.id.clone(),
        Applied {
            binding,
            text_digest,
            actual,
        },
    );
    Ok(())
}

/// Keeps the Promise version an instance is applied at as a revision in the store, once.
fn revision_ops(b: &mut Building, promise: &str, version: &str) -> Result<()> {
    let key = (promise.to_string(), version.to_string());
    if b.revisions.contains(&key) {
        return Ok(());
    }
    b.revisions.insert(key);
    // Kept already: looked up through the wall (a symlinked revision counts as absent, and the
    // commit then refuses the symlink rather than trusting what it points at).
    let kept = StorePath::new(&layout::revision_file(promise, version, "promise.yaml"))
        .and_then(|p| p.under_in(b.st.dir(), &mut b.checked))
        .is_ok_and(|p| p.is_file());
    if kept {
        return Ok(());
    }
    let Some(p) = b
        .inputs
        .promise_by_name(promise)
        .filter(|p| p.version == version)
    else {
        return Ok(());
    };
    for entry in walkdir::WalkDir::new(&p.dir)
        .into_iter()
        .filter_map(Result::ok)
    {
        if !entry.file_type().is_file() {
            continue;
        }
        let sub = entry
            .path()
            .strip_prefix(&p.dir)
            .map_err(|e| Error::Store(e.to_string()))?
            .to_string_lossy()
            .replace('\\', "/");
        // Test documents beside a Promise are not part of it.
        if sub.contains("tests/") {
            continue;
        }
        b.ops.push(Op::Write {
            path: layout::revision_file(promise, version, &sub),
            bytes: std::fs::read(entry.path()).map_err(|e| Error::io("read", entry.path(), e))?,
        });
    }
    Ok(())
}
