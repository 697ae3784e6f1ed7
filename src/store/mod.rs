//! The state store: what is applied now, in Kratix's layout, plus vow's records under `.vow/`.
//!
//! [`layout`] says where everything is (Kratix's layout byte for byte, docs/kratix.md; bindings
//! in the shape of Kratix's `ResourceBinding`, with what vow applied in `status`; revisions,
//! journals, backups, the redo log and the lock). Planning only reads the store ([`read`]); only
//! apply writes it ([`write`](mod@write), and [`Store::commit`]).

pub mod backend;
pub mod batch;
pub mod crash;
pub mod folder;
pub mod git;
pub mod layout;
pub mod lock;
pub mod path;
pub mod record;
pub mod remote;
pub mod write;

pub use backend::{LockInfo, Op, Store};
// Kept under their old names for the call sites outside the store; the layout owns them.
pub use layout::{aggregated_parts, binding as binding_rel, id5, instance_dir};

use crate::diag::{self, Finding, Location};
use crate::error::Result;
use crate::model::{InstanceRef, Labels};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `sha256:<hex>` of some bytes.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// One file an instance has in the store.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FileRecord {
    pub path: String,
    pub digest: String,
}

/// Kratix's `ResourceBinding`, with vow's record of what was applied.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    pub api_version: String,
    pub kind: String,
    pub metadata: BindingMeta,
    pub spec: BindingSpec,
    #[serde(default)]
    pub status: BindingStatus,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BindingMeta {
    pub name: String,
    pub namespace: String,
    #[serde(default)]
    pub labels: Labels,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BindingSpec {
    pub promise_ref: NameRef,
    pub resource_ref: ResourceRef,
    /// `latest` (follow the Promise) or a pinned version.
    pub version: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NameRef {
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceRef {
    pub name: String,
    pub namespace: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BindingStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_version: Option<String>,
    /// The request's labels when applied, so that a deleted request can still be placed in waves.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub request_labels: Labels,
    /// The defaulted spec that was applied (a step's `previous.spec`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_spec: Option<serde_json::Value>,
    /// Workload group directory → destination it was placed in; placements are kept.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub destinations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileRecord>,
}

impl Binding {
    /// A binding for an instance that follows `desired` (`latest` or a version).
    pub fn new(id: &InstanceRef, desired: &str) -> Binding {
        let mut labels = Labels::new();
        labels.insert("kratix.io/promise-name".into(), id.promise.clone());
        labels.insert("kratix.io/resource-name".into(), id.name().to_string());
        Binding {
            api_version: "platform.kratix.io/v1alpha1".into(),
            kind: "ResourceBinding".into(),
            metadata: BindingMeta {
                name: format!("{}-{}", id.name(), id.promise),
                namespace: id.namespace().to_string(),
                labels,
            },
            spec: BindingSpec {
                promise_ref: NameRef {
                    name: id.promise.clone(),
                },
                resource_ref: ResourceRef {
                    name: id.name().to_string(),
                    namespace: id.namespace().to_string(),
                },
                version: desired.to_string(),
            },
            status: BindingStatus::default(),
        }
    }

    pub fn instance(&self) -> InstanceRef {
        let (promise, r) = (&self.spec.promise_ref.name, &self.spec.resource_ref);
        // A Promise's dependencies are bound with an empty namespace and name.
        if r.namespace.is_empty() && r.name.is_empty() {
            return InstanceRef::dependencies(promise);
        }
        InstanceRef::request(promise, &r.namespace, &r.name)
    }

    /// The version pinned in the binding, if any (`latest` pins nothing).
    pub fn pinned(&self) -> Option<&str> {
        Some(self.spec.version.as_str()).filter(|v| !v.is_empty() && *v != "latest")
    }
}

/// A binding as read, with the digests of its files as they are in the store now.
#[derive(Clone, Debug)]
pub struct Applied {
    pub binding: Binding,
    /// The digest of the binding record's text.
    pub text_digest: String,
    /// Path → digest of the file in the store now (`None` when the file is missing).
    pub actual: BTreeMap<String, Option<String>>,
}

/// Everything the plan needs from the store.
#[derive(Clone, Debug, Default)]
pub struct StoreState {
    pub root: PathBuf,
    pub applied: BTreeMap<InstanceRef, Applied>,
    /// A digest of every record and file read: a plan is stale when it changes.
    pub digest: String,
    pub findings: Vec<Finding>,
    /// Instances whose record names a path the store's wall refuses (V403): they are held back
    /// at plan time, so that apply is not stopped by them and the rest of the fleet goes on.
    pub refused: BTreeMap<InstanceRef, Vec<Finding>>,
}

/// The kind of store, resolved from the workspace's `store:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreKind {
    Folder,
    /// `branch` not given: the remote's default branch. `author` not given: the git config's
    /// identity, else the default.
    Git {
        url: String,
        branch: Option<String>,
        author: Option<git::CommitAuthor>,
    },
}

/// Opens a store of this kind whose files are in `dir` (a folder store's folder, or a git
/// store's checkout). Call `refresh` before reading a git store's checkout.
pub fn open(kind: &StoreKind, dir: &Path) -> Result<Box<dyn Store>> {
    Ok(match kind {
        StoreKind::Folder => Box::new(folder::FolderStore::open(dir)),
        StoreKind::Git {
            url,
            branch: Some(branch),
            author,
        } => Box::new(git::GitStore::open(url, branch, dir)?.with_author(author.clone())),
        StoreKind::Git {
            url,
            branch: None,
            author,
        } => Box::new(git::GitStore::open_default(url, dir)?.with_author(author.clone())),
    })
}

/// A binding's path under the store's root.
pub fn binding_path(root: &Path, id: &InstanceRef) -> PathBuf {
    layout::absolute(root, &layout::binding(id))
}

/// How much of the store a read looks at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Depth {
    /// The bindings and the digest of every file they name: what plan, apply and rollback need
    /// (drift, staleness).
    #[default]
    Digests,
    /// The bindings only: the files they name are neither read nor hashed (`Applied::actual`
    /// stays empty and `StoreState::digest` covers the records alone). For readers that use no
    /// digest (`vow fleet`, `vow catalog`): on a 100k store that is 600k files not read.
    BindingsOnly,
    /// As `BindingsOnly`, and each binding keeps neither its applied spec nor its file list once
    /// read (`status.appliedSpec`, `status.files` left empty): for a reader that judges no rule
    /// and reads no stored output (`vow fleet --no-compliance`). About a third of a binding's
    /// memory, 100k times.
    Summary,
}

/// Reads the bindings and the digests of the files they record. A missing store is an empty one.
pub fn read(root: &Path, workspace: &Path) -> StoreState {
    read_to(root, workspace, Depth::Digests)
}

/// Reads the bindings, and the digests of their files when `depth` asks for them.
pub fn read_to(root: &Path, workspace: &Path, depth: Depth) -> StoreState {
    let dir = layout::absolute(root, layout::BINDINGS_DIR);
    let mut refused = Vec::new();
    // `.vow/` or `.vow/bindings` made a symlink: the records are not read through it.
    if let Err(e) = path::StorePath::new(layout::BINDINGS_DIR).and_then(|p| p.dir_under(root)) {
        refused.push(unsafe_path(workspace, &root.join(layout::VOW_DIR), &e));
    }
    let files: Vec<PathBuf> = if refused.is_empty() && dir.is_dir() {
        let mut found = Vec::new();
        for entry in walkdir::WalkDir::new(&dir) {
            match entry {
                Ok(e) if e.file_type().is_file() => found.push(e.into_path()),
                // A symlink among the records is not followed: it is named.
                Ok(e) if e.file_type().is_symlink() => {
                    let rel = e
                        .path()
                        .strip_prefix(root)
                        .map(|r| r.to_string_lossy().replace('\\', "/"))
                        .unwrap_or_default();
                    let err = path::PathError {
                        path: rel.clone(),
                        why: format!("`{rel}` is a symlink"),
                    };
                    refused.push(unsafe_path(workspace, e.path(), &err));
                }
                Ok(_) => {}
                Err(e) => refused.push(unreadable(workspace, e.path().unwrap_or(&dir), &e)),
            }
        }
        found.retain(|p| p.extension().is_some_and(|x| x == "yaml"));
        found
    } else {
        Vec::new()
    };
    let read: Vec<Result<(Applied, Vec<Finding>), Finding>> = files
        .par_iter()
        // One set of checked directories per thread: the files share their folders.
        .map_init(path::Checked::default, |checked, p| {
            read_binding(root, workspace, p, checked, depth)
        })
        .collect();
    let mut state = StoreState {
        root: root.to_path_buf(),
        findings: refused,
        ..StoreState::default()
    };
    for r in read {
        match r {
            Ok((applied, mut findings)) => {
                let id = applied.binding.instance();
                if !findings.is_empty() {
                    state.refused.insert(id.clone(), findings.clone());
                }
                state.findings.append(&mut findings);
                state.applied.insert(id, applied);
            }
            Err(f) => state.findings.push(f),
        }
    }
    state.digest = state.compute_digest();
    if let Some(f) = interrupted_apply(root, workspace) {
        state.findings.push(f);
    }
    state
}

/// A folder store's redo log left by an apply that stopped after its commit point (see
/// `folder`): the store is part-way through a wave until the next apply finishes it.
fn interrupted_apply(root: &Path, workspace: &Path) -> Option<Finding> {
    let log = layout::absolute(root, layout::REDO_LOG);
    if !log.is_file() {
        return None;
    }
    let shown = crate::source::display_path(workspace, &log);
    Some(
        Finding::new(
            diag::INTERRUPTED_APPLY,
            format!(
                "{shown}: an apply stopped part-way through a wave; the store is read as it is"
            ),
        )
        .at(Location::new(shown, 1))
        .help("run `vow apply` to finish the interrupted wave, then plan again"),
    )
}

impl StoreState {
    /// The digest of every binding record and the files it names, as they are: apply keeps it
    /// up to date as it writes, so that a resumed apply can tell whether anyone else wrote.
    pub fn compute_digest(&self) -> String {
        /// Bytes hashed at a time: the entries' small pieces are gathered first, as one
        /// `update` per piece cost more in copying than the hashing itself.
        const GATHERED: usize = 64 << 10;
        let mut h = Sha256::new();
        // The same bytes as formatting each entry, without a string per entry (this runs once
        // per wave over the whole store).
        let mut buf = String::with_capacity(GATHERED + 4096);
        for (id, applied) in &self.applied {
            let _ = std::fmt::Write::write_fmt(&mut buf, format_args!("{id}"));
            for part in ["\0", &applied.text_digest, "\0"] {
                buf.push_str(part);
            }
            for (path, d) in &applied.actual {
                let d = d.as_deref().unwrap_or("-");
                for part in [path.as_str(), "\0", d, "\0"] {
                    buf.push_str(part);
                }
            }
            if buf.len() >= GATHERED {
                h.update(buf.as_bytes());
                buf.clear();
            }
        }
        h.update(buf.as_bytes());
        format!("sha256:{:x}", h.finalize())
    }
}

fn read_binding(
    root: &Path,
    workspace: &Path,
    path: &Path,
    checked: &mut path::Checked,
    depth: Depth,
) -> Result<(Applied, Vec<Finding>), Finding> {
    let shown = crate::source::display_path(workspace, path);
    let bad = |msg: String| {
        Finding::new(diag::STORE, format!("{shown}: {msg}"))
            .at(Location::new(shown.clone(), 1))
            .help("repair the record or remove it; the instance is treated as not applied")
    };
    let text = read_record(root, path, checked).map_err(bad)?;
    // A record as apply wrote it is read without the YAML parser (same result, see `record`).
    let binding: Binding = match record::parse(&text) {
        Some(b) => b,
        None => serde_yaml::from_str(&text).map_err(|e| bad(e.to_string()))?,
    };
    let mut findings = Vec::new();
    let actual = match depth {
        Depth::Digests => binding
            .status
            .files
            .iter()
            .map(|f| {
                (
                    f.path.clone(),
                    file_digest(root, &f.path, &shown, &mut findings, checked),
                )
            })
            .collect(),
        Depth::BindingsOnly | Depth::Summary => {
            // No file is opened; a path the wall refuses on its face is still named.
            for f in &binding.status.files {
                if let Err(e) = path::StorePath::new(&f.path) {
                    findings.push(refused_file(&shown, &f.path, &e.into()));
                }
            }
            BTreeMap::new()
        }
    };
    // Point each finding at the line of the record that names the refused path.
    for f in &mut findings {
        let line = binding
            .status
            .files
            .iter()
            .find(|r| f.message.contains(&format!("`{}`", r.path.escape_debug())))
            .and_then(|r| text.lines().position(|l| l.contains(r.path.as_str())));
        if let (Some(n), Some(loc)) = (line, f.location.as_mut()) {
            loc.line = u32::try_from(n + 1).unwrap_or(1);
        }
    }
    let text_digest = digest(text.as_bytes());
    let mut binding = binding;
    if depth == Depth::Summary {
        binding.status.applied_spec = None;
        binding.status.files = Vec::new();
    }
    Ok((
        Applied {
            binding,
            text_digest,
            actual,
        },
        findings,
    ))
}

/// A binding record's text, bounded like every input file and read through the store's wall
/// (one `openat2` from the root on Linux, see `path`); a name the wall's rules do not cover
/// (found by the walk, so under the root) is read bounded as it is.
fn read_record(root: &Path, path: &Path, checked: &mut path::Checked) -> Result<String, String> {
    let rel = path
        .strip_prefix(root)
        .ok()
        .and_then(Path::to_str)
        .and_then(|r| path::StorePath::new(r).ok());
    let bytes = match rel {
        Some(sp) => sp
            .read_in(root, checked)
            .map_err(|e| e.to_string())?
            .ok_or("the record was removed while it was read")?,
        None => crate::source::read_bounded(path).map_err(|e| e.to_string())?,
    };
    // The message std's `read_to_string` gives, which the findings have always carried.
    String::from_utf8(bytes).map_err(|_| "stream did not contain valid UTF-8".to_string())
}

/// The digest of a file a binding names, as it is now; never read through a symlink nor outside
/// the store (a refused path is a finding naming the binding, and reads as missing).
fn file_digest(
    root: &Path,
    rel: &str,
    record: &std::sync::Arc<str>,
    findings: &mut Vec<Finding>,
    checked: &mut path::Checked,
) -> Option<String> {
    let read = path::StorePath::new(rel)
        .map_err(crate::error::Error::from)
        .and_then(|p| p.read_in(root, checked));
    match read {
        Ok(bytes) => bytes.map(|b| digest(&b)),
        Err(e) => {
            findings.push(refused_file(record, rel, &e));
            None
        }
    }
}

/// The finding for a file a binding names that the wall refuses or that cannot be read.
fn refused_file(record: &std::sync::Arc<str>, rel: &str, e: &crate::error::Error) -> Finding {
    // The wall refuses a path as `Store`; a file that cannot be read is `Io`.
    let refused = matches!(e, crate::error::Error::Store(_));
    let (code, help) = if refused {
        (
            diag::UNSAFE_STORE_PATH,
            "repair the record's status.files (paths inside the store) or replace the \
             symlink with a real file; apply refuses to touch this path",
        )
    } else {
        (
            diag::UNREADABLE_STORE_FILE,
            "fix the file's permissions or remove it, then plan again",
        )
    };
    Finding::new(
        code,
        format!("{record}: status.files names `{}`: {e}", rel.escape_debug()),
    )
    .at(Location::new(record.clone(), 1))
    .help(help)
}

/// A finding for a store folder or file that cannot be read.
fn unreadable(workspace: &Path, at: &Path, e: &dyn std::fmt::Display) -> Finding {
    let shown = crate::source::display_path(workspace, at);
    Finding::new(
        diag::UNREADABLE_STORE_FILE,
        format!("{shown}: cannot be read: {e}"),
    )
    .at(Location::new(shown, 1))
    .help("fix the file's permissions or remove it, then plan again")
}

/// A finding for a store folder or file that is refused (a symlink, a path outside).
pub fn unsafe_path(workspace: &Path, at: &Path, e: &path::PathError) -> Finding {
    let shown = crate::source::display_path(workspace, at);
    Finding::new(diag::UNSAFE_STORE_PATH, format!("{shown}: {e}"))
        .at(Location::new(shown, 1))
        .help("replace the symlink with a real folder or file (or remove it); vow never follows a symlink in the store")
}
