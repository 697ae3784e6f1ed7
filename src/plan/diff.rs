//! Diff: what each evaluated instance would change in the store.

use super::file::{Action, Change, FileChange, FileChangeKind};
use crate::evaluate::Evaluated;
use crate::load::inputs::Catalogue;
use crate::model::InstanceRef;
use crate::store::Applied;
use std::collections::BTreeMap;

/// Classifies every planned instance: evaluated requests (blocked and paused ones are left out:
/// they change nothing) and deletions of applied instances whose request is gone.
pub fn classify(
    catalogue: &Catalogue,
    evaluated: &[&Evaluated],
    wanted: &dyn Fn(&str) -> bool,
) -> Vec<Change> {
    use rayon::prelude::*;
    // Digests and file lists per instance are independent: diffed on every thread, in order.
    let mut out: Vec<Change> = evaluated
        .par_iter()
        .filter(|e| !e.blocked && !e.paused)
        .map(|e| diff_one(e, catalogue.store.applied.get(&e.id)))
        .collect();
    // Every request is evaluated (blocked and paused ones too), and so are the dependencies of
    // every Promise that still has a Promise-level workflow: what was evaluated is what stays.
    // (`--merge` has no requests loaded, only what the shards evaluated.)
    let requested: std::collections::HashSet<&InstanceRef> =
        evaluated.iter().map(|e| &e.id).collect();
    for (id, applied) in &catalogue.store.applied {
        if requested.contains(id) || !wanted(&id.promise) {
            continue;
        }
        out.push(Change {
            id: id.clone(),
            action: Action::Delete,
            from: applied.binding.status.applied_version.clone(),
            to: None,
            reason: "its request was removed".into(),
            summary: None,
            kind: None,
            digest: None,
            files: applied
                .binding
                .status
                .files
                .iter()
                .map(|f| FileChange {
                    path: f.path.as_str().into(),
                    change: FileChangeKind::Removed,
                    from: Some(f.digest.clone()),
                    to: None,
                })
                .collect(),
            labels: std::sync::Arc::new(applied.binding.status.request_labels.clone()),
            location: Some(crate::diag::Location::new(
                crate::source::display_path(
                    &catalogue.ws.root,
                    &crate::store::binding_path(&catalogue.ws.store, id),
                ),
                1,
            )),
        });
    }
    // Stable, as the serial sort was: the same order whatever the thread count.
    out.par_sort_by(|a, b| a.id.cmp(&b.id));
    out
}

fn diff_one(e: &Evaluated, applied: Option<&Applied>) -> Change {
    let mut change = Change {
        id: e.id.clone(),
        action: Action::Create,
        from: None,
        to: Some(e.version.clone()),
        reason: if e.id.is_dependencies() {
            "the Promise's dependencies are new".into()
        } else {
            "a new request".into()
        },
        summary: None,
        kind: super::canary::kind_text(Action::Create, None, Some(&e.version), None),
        digest: Some(e.files_digest()),
        files: Vec::new(),
        labels: e.labels.clone(),
        location: Some(e.location.clone()),
    };
    let Some(applied) = applied else {
        change.files = e
            .files
            .iter()
            .map(|f| FileChange {
                path: f.path.clone(),
                change: FileChangeKind::Added,
                from: None,
                to: Some(f.digest.clone()),
            })
            .collect();
        return change;
    };
    let status = &applied.binding.status;
    change.from = status.applied_version.clone();
    change.files = file_changes(e, &applied.actual);
    let version_changed = status.applied_version.as_deref() != Some(e.version.as_str());
    let spec_changed = e.spec_changed;
    let drifted = status
        .files
        .iter()
        .any(|f| applied.actual.get(&f.path).and_then(|d| d.as_deref()) != Some(f.digest.as_str()));
    change.action = if change.files.is_empty() && !version_changed {
        Action::Unchanged
    } else {
        Action::Update
    };
    if change.action == Action::Update {
        change.summary = e.change.clone();
    }
    change.kind = super::canary::kind_text(
        change.action,
        change.from.as_deref(),
        change.to.as_deref(),
        e.change_kind.as_deref(),
    );
    change.reason = match (version_changed, spec_changed, drifted) {
        _ if change.action == Action::Unchanged => "up to date".into(),
        (true, _, _) => format!(
            "Promise {} {} → {}{}",
            e.id.promise,
            status.applied_version.as_deref().unwrap_or("?"),
            e.version,
            if change.files.is_empty() {
                " (outputs unchanged)"
            } else {
                ""
            }
        ),
        (false, true, _) => "the request changed".into(),
        (false, false, true) => "the store drifted from what was applied".into(),
        (false, false, false) => "the rendered outputs changed".into(),
    };
    change
}

fn file_changes(e: &Evaluated, actual: &BTreeMap<String, Option<String>>) -> Vec<FileChange> {
    let mut out = Vec::new();
    for f in &e.files {
        match actual.get(&*f.path) {
            Some(Some(d)) if **d == *f.digest => {}
            Some(Some(d)) => out.push(FileChange {
                path: f.path.clone(),
                change: FileChangeKind::Changed,
                from: Some(d.clone()),
                to: Some(f.digest.clone()),
            }),
            _ => out.push(FileChange {
                path: f.path.clone(),
                change: FileChangeKind::Added,
                from: None,
                to: Some(f.digest.clone()),
            }),
        }
    }
    let rendered: std::collections::HashSet<&str> = e.files.iter().map(|f| &*f.path).collect();
    for (path, d) in actual {
        if !rendered.contains(path.as_str()) {
            if let Some(d) = d {
                out.push(FileChange {
                    path: path.as_str().into(),
                    change: FileChangeKind::Removed,
                    from: Some(d.clone()),
                    to: None,
                });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// A unified diff of one file an instance changes, for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDiff {
    pub instance: String,
    pub path: String,
    pub change: &'static str,
    pub unified: String,
}

/// The unified diffs of every changed file of the plan: the store's content against what the
/// request renders to now. `evaluated` must have been made with file contents.
pub fn unified_diffs(
    store_root: &std::path::Path,
    evaluated: &[Evaluated],
    changes: &[Change],
) -> Vec<FileDiff> {
    let by_id: std::collections::HashMap<&InstanceRef, &Evaluated> =
        evaluated.iter().map(|e| (&e.id, e)).collect();
    let mut out = Vec::new();
    for c in changes {
        let ev = by_id.get(&c.id);
        for f in &c.files {
            let old = match f.from {
                // Through the store's wall: a file replaced by a symlink is not followed out.
                Some(_) => crate::store::path::StorePath::new(&f.path)
                    .ok()
                    .and_then(|p| p.read(store_root).ok().flatten())
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default(),
                None => String::new(),
            };
            let new = ev
                .and_then(|e| e.files.iter().find(|x| x.path == f.path))
                .map(|x| x.content.clone())
                .unwrap_or_default();
            let diff = similar::TextDiff::from_lines(&old, &new);
            let unified = diff
                .unified_diff()
                .context_radius(3)
                .header(&format!("a/{}", f.path), &format!("b/{}", f.path))
                .to_string();
            out.push(FileDiff {
                instance: c.id.to_string(),
                path: f.path.to_string(),
                change: f.change.as_str(),
                unified,
            });
        }
    }
    out
}
