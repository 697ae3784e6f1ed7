//! The operations that apply one wave of a plan: rendered files, removals, bindings,
//! revisions, and the backups a rollback restores from.

use crate::error::{Error, Result};
use crate::evaluate::{self, Evaluated};
use crate::load::inputs::Catalogue;
use crate::model::InstanceRef;
use crate::plan::{Action, Wave, WaveInstance};
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

/// One instance's part of a wave while it is built on its own (instances of a wave share
/// nothing but the revisions, which are kept afterwards, in wave order).
#[derive(Default)]
struct Built {
    ops: Vec<Op>,
    backup: Backup,
    /// What the store holds for the instance after the wave; `None` when the wave deletes it.
    after: Option<Applied>,
    /// The Promise and version it is applied at, kept as a revision.
    revision: Option<(String, String)>,
}

/// One instance's part of a wave, built: its backup turned into its entry in the wave's
/// backup file ([`backup_entry`]) by the instance's own thread, so that its old contents are
/// freed there and then.
struct Part {
    ops: Vec<Op>,
    /// The instance (`promise:namespace/name`) and its backup's entry, for the backup file.
    entry: (String, Vec<u8>),
    after: Option<Applied>,
    revision: Option<(String, String)>,
}

impl Built {
    fn finish(self, key: String) -> Result<Part> {
        let entry = backup_entry(&key, &self.backup)?;
        Ok(Part {
            entry: (key, entry),
            ops: self.ops,
            after: self.after,
            revision: self.revision,
        })
    }
}

/// Reads the store's files as they are before the wave, through its wall.
struct Reader<'a> {
    root: &'a std::path::Path,
    /// The directories the reads found real (see `StorePath::under_in`).
    checked: Checked,
}

impl Reader<'_> {
    /// A store file's text as it is now (`None` when absent or not text), read through a
    /// confined path: a path that leaves the store or passes a symlink is an error naming
    /// `record`.
    fn read(&mut self, rel: &str, record: &str) -> Result<Option<String>> {
        let bytes = StorePath::new(rel)
            .map_err(Error::from)
            .and_then(|p| p.read_in(self.root, &mut self.checked))
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
    fn remove_all(&mut self, prior: &Applied, record: &str, built: &mut Built) -> Result<()> {
        for f in &prior.binding.status.files {
            let before = self.read(&f.path, &format!("{record} (status.files)"))?;
            built.backup.before.insert(f.path.clone(), before);
            built.ops.push(Op::Remove {
                path: f.path.clone(),
            });
        }
        Ok(())
    }
}

/// Builds the wave's operations and updates `state` to what the store will hold after them.
/// The instances are built in parallel (each reads its own files and renders its own binding
/// record), then joined in wave order, so the operations are the same whatever the threads.
pub(super) fn ops(
    inputs: &Catalogue,
    st: &dyn Store,
    state: &mut StoreState,
    run: &str,
    wave: &Wave,
    by_ref: &mut HashMap<InstanceRef, Evaluated>,
) -> Result<Vec<Op>> {
    use rayon::prelude::*;
    // Built side by side, an instance listed twice would be built twice from the same state;
    // the plan check refuses such a plan, and so does this.
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = wave.instances.iter().find(|i| !seen.insert(&i.instance)) {
        return Err(stale(format!(
            "wave {} lists {} twice: the plan is not one vow makes; plan again",
            wave.index, twice.instance
        )));
    }
    // Taken out: each rendering's contents move into the operations instead of being copied.
    let work: Vec<(&WaveInstance, Option<Evaluated>)> = wave
        .instances
        .iter()
        .map(|i| (i, by_ref.remove(&i.instance)))
        .collect();
    let root = st.dir();
    let before: &StoreState = state;
    let parts: Vec<Result<Part>> = work
        .into_par_iter()
        .map_init(
            || Reader {
                root,
                checked: Checked::default(),
            },
            |reader, (inst, ev)| {
                build(inputs, before, reader, inst, ev)?.finish(inst.instance.to_string())
            },
        )
        .collect();
    let mut ops = Vec::new();
    let mut revisions = BTreeSet::new();
    let mut checked = Checked::default();
    let mut entries = Vec::with_capacity(wave.instances.len());
    for (inst, part) in wave.instances.iter().zip(parts) {
        let part = part?;
        ops.extend(part.ops);
        if let Some((promise, version)) = part.revision {
            if revisions.insert((promise.clone(), version.clone())) {
                revision_ops(inputs, root, &mut checked, &mut ops, &promise, &version)?;
            }
        }
        match part.after {
            Some(applied) => state.applied.insert(inst.instance.clone(), applied),
            None => state.applied.remove(&inst.instance),
        };
        entries.push(part.entry);
    }
    if !entries.is_empty() {
        ops.push(Op::Write {
            path: layout::wave_backup(run, wave.index),
            bytes: backup_file(entries),
        });
    }
    Ok(ops)
}

/// The indent of an instance's backup in the wave's backup file (pretty JSON, two levels in).
const ENTRY_INDENT: &str = "    ";

/// An instance's entry in its wave's backup file, as `serde_json::to_vec_pretty` of the
/// [`WaveBackup`] writes it: `    "<instance>": {...}`, every line of the value indented.
fn backup_entry(key: &str, backup: &Backup) -> Result<Vec<u8>> {
    let json = |e: serde_json::Error| Error::Store(e.to_string());
    let value = serde_json::to_vec_pretty(backup).map_err(json)?;
    let key = serde_json::to_vec(key).map_err(json)?;
    // Pretty JSON escapes the newlines of strings: every newline in it is between tokens.
    let lines = value.iter().filter(|b| **b == b'\n').count();
    let mut out = Vec::with_capacity(value.len() + key.len() + 8 + lines * ENTRY_INDENT.len());
    out.extend_from_slice(ENTRY_INDENT.as_bytes());
    out.extend_from_slice(&key);
    out.extend_from_slice(b": ");
    for (i, line) in value.split(|b| *b == b'\n').enumerate() {
        if i > 0 {
            out.push(b'\n');
            out.extend_from_slice(ENTRY_INDENT.as_bytes());
        }
        out.extend_from_slice(line);
    }
    Ok(out)
}

/// The wave's backup file from its instances' entries: the bytes `serde_json::to_vec_pretty`
/// gives for the [`WaveBackup`] (keyed, so sorted, by instance), joined in one buffer of the
/// right size instead of serialized from one tree of every old content on one thread.
fn backup_file(mut entries: Vec<(String, Vec<u8>)>) -> Vec<u8> {
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    const HEAD: &[u8] = b"{\n  \"instances\": {";
    const TAIL: &[u8] = b"\n  }\n}";
    let size = entries.iter().map(|e| e.1.len() + 2).sum::<usize>();
    let mut out = Vec::with_capacity(HEAD.len() + size + TAIL.len());
    out.extend_from_slice(HEAD);
    for (i, (_, entry)) in entries.into_iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
        out.extend_from_slice(&entry);
    }
    out.extend_from_slice(TAIL);
    out
}

/// One instance's operations, against the store as it was before the wave.
fn build(
    inputs: &Catalogue,
    state: &StoreState,
    reader: &mut Reader,
    inst: &WaveInstance,
    ev: Option<Evaluated>,
) -> Result<Built> {
    let id = &inst.instance;
    let prior = state.applied.get(id);
    let record = layout::binding(id);
    let mut built = Built {
        backup: Backup {
            binding: match prior {
                Some(_) => reader.read(&record, &record)?,
                None => None,
            },
            ..Backup::default()
        },
        ..Built::default()
    };
    if inst.action == Action::Delete {
        let Some(prior) = prior else {
            return Err(stale(format!(
                "the plan deletes {}, which the store no longer holds: the plan is stale",
                inst.instance
            )));
        };
        reader.remove_all(prior, &record, &mut built)?;
        built.ops.push(Op::Remove { path: record });
        return Ok(built);
    }
    let Some(mut ev) = ev else {
        return Err(stale(format!(
            "{} is no longer requested: the plan is stale; plan again",
            inst.instance
        )));
    };
    if ev.blocked {
        return Err(blocked(&ev));
    }
    write_instance(inputs, reader, &mut ev, prior, &mut built)?;
    Ok(built)
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
    inputs: &Catalogue,
    reader: &mut Reader,
    ev: &mut Evaluated,
    prior: Option<&Applied>,
    built: &mut Built,
) -> Result<()> {
    let mut actual = BTreeMap::new();
    for f in &mut ev.files {
        let unchanged = prior
            .and_then(|p| p.actual.get(&*f.path))
            .and_then(|d| d.as_deref())
            == Some(&*f.digest);
        if !unchanged {
            let before = reader.read(&f.path, &format!("the output {} of {}", f.path, ev.id))?;
            built.backup.before.insert(f.path.to_string(), before);
            built.ops.push(Op::Write {
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
            let before = reader.read(&old.path, &record)?;
            built.backup.before.insert(old.path.clone(), before);
            built.ops.push(Op::Remove {
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
    } else if inputs.ws.binding_strategy == crate::workspace::BindingStrategy::Pinned {
        ev.version.clone()
    } else {
        "latest".into()
    };
    let binding = evaluate::applied_binding(ev, &desired);
    let text = serde_yaml::to_string(&binding).map_err(|e| Error::Store(e.to_string()))?;
    let text_digest = store::digest(text.as_bytes());
    // A binding whose text is what the store holds already is not written again.
    if prior.map(|p| &p.text_digest) != Some(&text_digest) {
        built.ops.push(Op::Write {
            path: layout::binding(&ev.id),
            bytes: text.into_bytes(),
        });
    }
    built.revision = Some((ev.id.promise.clone(), ev.version.clone()));
    built.after = Some(Applied {
        binding,
        text_digest,
        actual,
    });
    Ok(())
}

/// Keeps the Promise version an instance is applied at as a revision in the store (called once
/// per Promise and version of a wave).
fn revision_ops(
    inputs: &Catalogue,
    root: &std::path::Path,
    checked: &mut Checked,
    ops: &mut Vec<Op>,
    promise: &str,
    version: &str,
) -> Result<()> {
    // Kept already: looked up through the wall (a symlinked revision counts as absent, and the
    // commit then refuses the symlink rather than trusting what it points at).
    let kept = StorePath::new(&layout::revision_file(promise, version, "promise.yaml"))
        .and_then(|p| p.under_in(root, checked))
        .is_ok_and(|p| p.is_file());
    if kept {
        return Ok(());
    }
    let Some(p) = inputs
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
        ops.push(Op::Write {
            path: layout::revision_file(promise, version, &sub),
            bytes: std::fs::read(entry.path()).map_err(|e| Error::io("read", entry.path(), e))?,
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "wave_tests.rs"]
mod tests;
