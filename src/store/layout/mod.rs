//! Where everything lives in a state store: the one place a store path is built, and the one
//! place a store path is taken apart again ([`classify`]).
//!
//! Paths are relative to the store's root and `/`-separated (what [`super::Op`] and the binding
//! records hold); [`absolute`] joins one to a root, and the lock and the git cache, which may lie
//! outside the store's folder, are built absolute ([`lock_path`], [`git_cache`]). Names in them
//! come from untrusted text (requests, destinations, records): whoever reads or writes one goes
//! through [`super::path::StorePath`], which confines it to the store. Building a path here
//! checks nothing.
//!
//! | What | Path |
//! |---|---|
//! | a request's outputs (`nestedByMetadata`) | `<dest>/resources/<namespace>/<promise>/<name>/<pipeline>/<id5>/<file>` |
//! | a Promise's dependencies | `<dest>/dependencies/<promise>/<pipeline>/<id5>/<file>` |
//! | outputs in a `filepath.mode: none` destination | `<dest>/<file>` |
//! | an `aggregatedYAML` destination's file | `<dest>/<filename>` (default `aggregated.yaml`) |
//! | the parts it is built from | `.vow/aggregated/<dest>/` + the `nestedByMetadata` layout |
//! | a request's binding | `.vow/bindings/<promise>/<namespace>/<name>.yaml` |
//! | a Promise's dependencies' binding | `.vow/bindings/<promise>/dependencies.yaml` |
//! | a Promise version ever applied | `.vow/revisions/<promise>/<version>/<file>` |
//! | a run's journal | `.vow/journal/<run>.yaml` |
//! | what a wave changed (for rollback) | `.vow/backups/<run>/wave-<n>.json` (every instance of the wave) |
//! | the same, as older vows wrote it | `.vow/backups/<run>/wave-<n>/<promise>/<namespace>/<name>.json` |
//! | the same for dependencies (older) | `.vow/backups/<run>/wave-<n>/<promise>/dependencies.json` |
//! | health records kept in the store | `.vow/health/` |
//! | the folder store's redo log | `.vow/pending/log` (staged), `.vow/pending/committed` (the commit point) |
//! | the folder store's lock | `.vow/lock` |
//! | a git store's checkout (in the workspace) | `.vow/cache/git-<12 hex of sha256(url#branch)>/` (branch empty when vow.yaml names none) |
//! | a git store's lock (beside its checkout) | `.vow/cache/git-<...>.lock` |
//! | a git checkout being made or set aside | `.vow/cache/.git-<...>.new-<pid>`, `.old-<pid>` |
//! | what libgit2 leaves when killed | `<checkout>/.git/*.lock` (see [`git_lock_files`]) |
//! | a file being replaced | `<file>.vow-tmp` |
//!
//! `<id5>` is the first five hex digits of the md5 of the workload group's directory (`5058f`
//! for the root, `.`), as Kratix names it.

use super::StoreKind;
use crate::model::{FilepathMode, InstanceRef};
use md5::{Digest, Md5};
use std::path::{Path, PathBuf};

/// The folder of vow's own records in a store (and of its caches in a workspace).
pub const VOW_DIR: &str = ".vow";
/// Kratix's default `spec.filepath.filename` for `aggregatedYAML` destinations.
pub const AGGREGATED_FILENAME: &str = "aggregated.yaml";
/// The bindings, one per instance.
pub const BINDINGS_DIR: &str = ".vow/bindings";
/// The journals, one per run.
pub const JOURNAL_DIR: &str = ".vow/journal";
/// Health records written into the store.
pub const HEALTH_DIR: &str = ".vow/health";
/// The folder store's redo log folder.
pub const REDO_DIR: &str = ".vow/pending";
/// The redo log while it is written (before the commit point).
pub const REDO_STAGED: &str = ".vow/pending/log";
/// The redo log once committed: replayed by the next apply if this one stops.
pub const REDO_LOG: &str = ".vow/pending/committed";
/// The folder store's lock.
pub const FOLDER_LOCK: &str = ".vow/lock";
/// What a file being replaced is first written as, beside it.
pub const TMP_SUFFIX: &str = ".vow-tmp";

const AGGREGATED_DIR: &str = ".vow/aggregated";
const REVISIONS_DIR: &str = ".vow/revisions";
const BACKUPS_DIR: &str = ".vow/backups";
const CACHE_DIR: &str = ".vow/cache";
/// The file name of a Promise's dependencies' binding and backup.
const DEPENDENCIES: &str = "dependencies";

/// The `<id5>` directory name of a workload group directory (`.` for the root).
pub fn id5(group_dir: &str) -> String {
    format!("{:x}", Md5::digest(group_dir))
        .chars()
        .take(5)
        .collect()
}

/// Where vow keeps the per-instance parts an `aggregatedYAML` destination's file is built from:
/// laid out as nestedByMetadata under `.vow/aggregated/<destination path>/`, so each instance's
/// files diff, apply, back up and roll back like any other, and the one file Kratix would write
/// is rebuilt from them (see `apply::aggregate`).
pub fn aggregated_parts(dest_path: &str) -> String {
    format!("{AGGREGATED_DIR}/{dest_path}")
}

/// The one file an `aggregatedYAML` destination holds.
pub fn aggregated_file(dest_path: &str, filename: &str) -> String {
    format!("{dest_path}/{filename}")
}

/// The directory of an instance's outputs under `root` (a destination's path, or its
/// [`aggregated_parts`]).
pub fn instance_dir(root: &str, id: &InstanceRef) -> String {
    if id.is_dependencies() {
        return format!("{root}/{DEPENDENCIES}/{}", id.promise);
    }
    format!(
        "{root}/resources/{}/{}/{}",
        id.namespace(),
        id.promise,
        id.name()
    )
}

/// The folder a workload group's files go to in a destination, by its `filepath.mode`; each
/// file is `<folder>/<its name>`.
pub fn output_dir(
    mode: FilepathMode,
    dest_path: &str,
    id: &InstanceRef,
    pipeline: &str,
    group_dir: &str,
) -> String {
    let root = match mode {
        // The files go to the destination's path as they are named.
        FilepathMode::None => return dest_path.to_string(),
        FilepathMode::NestedByMetadata => dest_path.to_string(),
        FilepathMode::AggregatedYaml => aggregated_parts(dest_path),
    };
    format!("{}/{pipeline}/{}", instance_dir(&root, id), id5(group_dir))
}

/// A binding's path.
pub fn binding(id: &InstanceRef) -> String {
    if id.is_dependencies() {
        return format!("{BINDINGS_DIR}/{}/{DEPENDENCIES}.yaml", id.promise);
    }
    format!(
        "{BINDINGS_DIR}/{}/{}/{}.yaml",
        id.promise,
        id.namespace(),
        id.name()
    )
}

/// The folder of a Promise version's revision.
pub fn revision_dir(promise: &str, version: &str) -> String {
    format!("{REVISIONS_DIR}/{promise}/{version}")
}

/// A file of a Promise version's revision (`promise.yaml`, or a script beside it).
pub fn revision_file(promise: &str, version: &str, file: &str) -> String {
    format!("{}/{file}", revision_dir(promise, version))
}

/// A run's journal.
pub fn journal(run: &str) -> String {
    format!("{JOURNAL_DIR}/{run}.yaml")
}

/// The backup of every instance a wave of a run changed, as it was before: one file per wave.
pub fn wave_backup(run: &str, wave: usize) -> String {
    format!("{BACKUPS_DIR}/{run}/wave-{wave}.json")
}

/// The backup of an instance as it was before a wave of a run changed it, as vow wrote it
/// before backups were one file per wave (still read by rollback).
pub fn backup(run: &str, wave: usize, id: &InstanceRef) -> String {
    if id.is_dependencies() {
        return format!(
            "{BACKUPS_DIR}/{run}/wave-{wave}/{}/{DEPENDENCIES}.json",
            id.promise
        );
    }
    format!(
        "{BACKUPS_DIR}/{run}/wave-{wave}/{}/{}/{}.json",
        id.promise,
        id.namespace(),
        id.name()
    )
}

/// A store-relative path joined to a store's root (nothing checked: see `StorePath::under`).
pub fn absolute(root: &Path, rel: &str) -> PathBuf {
    root.join(rel)
}

/// The lock of a store whose files are in `dir`. A git store's lock is beside its checkout, not
/// in it: a checkout a crash left half-made is made again, and the lock must outlive that.
pub fn lock_path(kind: &StoreKind, dir: &Path) -> PathBuf {
    match kind {
        StoreKind::Folder => absolute(dir, FOLDER_LOCK),
        StoreKind::Git { .. } => git_lock(dir),
    }
}

/// A git store's lock, beside its checkout `cache`.
pub fn git_lock(cache: &Path) -> PathBuf {
    let mut name = cache.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    cache.with_file_name(name)
}

/// Where a workspace keeps the checkout of a git store (one per remote and branch; `branch` is
/// empty for "the remote's default branch", which is only known once the remote is asked).
pub fn git_cache(workspace: &Path, url: &str, branch: &str) -> PathBuf {
    let key = super::digest(format!("{url}#{branch}").as_bytes());
    workspace
        .join(CACHE_DIR)
        .join(format!("git-{}", key.get(7..19).unwrap_or(&key)))
}

/// The marker a git store's checkout holds while it is exactly a commit's tree: that commit's
/// id. Removed before vow changes the checkout and written after, so a checkout an apply was
/// killed in the middle of writing has none and is checked out again (see `git::GitStore`).
pub fn git_clean_marker(cache: &Path) -> PathBuf {
    cache.join(".git").join("vow-checkout")
}

/// A git checkout's temporary sibling while it is made (`new`) or set aside (`old`):
/// `.<cache>.<what>-<pid>`; `None` when `cache` has no file name.
pub fn git_cache_sibling(cache: &Path, what: GitCacheSibling, pid: u32) -> Option<PathBuf> {
    let name = cache.file_name()?.to_string_lossy();
    Some(cache.with_file_name(format!(".{name}.{}-{pid}", what.word())))
}

/// The two temporary siblings of a git checkout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GitCacheSibling {
    New,
    Old,
}

impl GitCacheSibling {
    fn word(self) -> &'static str {
        match self {
            GitCacheSibling::New => "new",
            GitCacheSibling::Old => "old",
        }
    }
}

/// Whether `file` (a name beside the checkout `cache`) is a temporary sibling of it that a
/// killed process left.
pub fn is_git_cache_sibling(cache: &Path, file: &str) -> bool {
    let Some(name) = cache.file_name() else {
        return false;
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    file.strip_prefix(&prefix).is_some_and(|rest| {
        [GitCacheSibling::New, GitCacheSibling::Old]
            .iter()
            .any(|s| rest.starts_with(&format!("{}-", s.word())))
    })
}

/// The lock files libgit2 leaves in a git checkout when it is killed while writing (the
/// branch's local and remote-tracking refs among them).
pub fn git_lock_files(cache: &Path, branch: &str) -> Vec<PathBuf> {
    let git = cache.join(".git");
    let mut files: Vec<PathBuf> = ["index", "HEAD", "config", "packed-refs"]
        .iter()
        .map(|f| git.join(format!("{f}.lock")))
        .collect();
    for r in [
        format!("refs/heads/{branch}"),
        format!("refs/remotes/origin/{branch}"),
    ] {
        files.push(git.join(format!("{r}.lock")));
    }
    files
}

mod classify;
pub use classify::{classify, output_of, Entry};

#[cfg(test)]
mod tests;
