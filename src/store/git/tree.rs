//! A wave's tree, built on its parent's: the new blobs hashed and compressed side by side and
//! written straight into packs, the trees made by libgit2's tree updater in a handle whose
//! object database is only in memory (see [`pack`]).
//!
//! The updater reads the parent's trees along the wave's paths; they are copied into that
//! handle first ([`Base`]), as it sees nothing else. The same walk finds each path's entry in
//! the parent, which says whether an operation leaves its file as it was.

use super::pack;
use super::packfile;
use crate::error::{Error, Result};
use crate::store::backend::Op;
use crate::store::crash;
use git2::{FileMode, ObjectType, Odb, Oid, Repository};
use std::collections::HashMap;

/// Builds the wave's tree on `parent`'s; returns the tree's id and, for each operation,
/// whether it leaves its path as it was (the same bytes written again).
pub(super) fn build(
    repo: &Repository,
    parent: Option<&git2::Commit<'_>>,
    ops: &[Op],
) -> Result<(Oid, Vec<bool>)> {
    let odb = repo.odb()?;
    let ids = blob_ids(ops)?;
    let mut staged = pack::Staged::open(repo)?;
    let mut base = Base::new(repo, &odb, parent.map(git2::Commit::tree_id));
    let mut update = git2::build::TreeUpdateBuilder::new();
    let mut same = Vec::with_capacity(ops.len());
    let mut blobs = Vec::new();
    for (op, id) in ops.iter().zip(&ids) {
        let old = base.entry(&staged, op.path())?;
        match (op, id) {
            (Op::Write { path, bytes }, Some(blob)) => {
                // An unchanged file's blob is the parent's: in the cache already.
                let unchanged = old == Some((*blob, i32::from(FileMode::Blob)));
                if !unchanged {
                    blobs.push((*blob, bytes.as_slice()));
                }
                same.push(unchanged);
                update.upsert(path.as_str(), *blob, FileMode::Blob);
            }
            (Op::Remove { path }, _) => {
                same.push(false);
                update.remove(path.as_str());
            }
            (Op::Write { path, .. }, None) => {
                return Err(Error::Git(format!(
                    "{path}: no blob id was made for it; report this as a bug"
                )))
            }
        }
    }
    staged.blobs(&odb, &blobs)?;
    let root = match base.root(&staged)? {
        Some(id) => staged.repo().find_tree(id)?,
        None => {
            let empty = staged.repo().treebuilder(None)?.write()?;
            staged.repo().find_tree(empty)?
        }
    };
    let tree_id = update.create_updated(staged.repo(), &root)?;
    drop(root);
    // A subtree at a folder no operation touched, or the parent's own there, is not new.
    let old = |folder: &str, id: Oid| base.trees.get(folder).is_none_or(|t| *t == Some(id));
    staged.finish(&odb, tree_id, &old)?;
    crash::point("tree");
    Ok((tree_id, same))
}

/// Each written file's blob id, side by side (`None` for a removal).
fn blob_ids(ops: &[Op]) -> Result<Vec<Option<Oid>>> {
    use rayon::prelude::*;
    ops.par_iter()
        .map(|op| match op {
            Op::Write { bytes, .. } => packfile::blob_id(bytes).map(Some),
            Op::Remove { .. } => Ok(None),
        })
        .collect()
}

/// The parent's trees along the wave's paths, each looked up once and copied into the
/// staged handle as it is first needed.
struct Base<'r> {
    repo: &'r Repository,
    odb: &'r Odb<'r>,
    root: Option<Oid>,
    /// Folder (`a/b`; the root is ``) → the parent's tree there, `None` when it has none.
    trees: HashMap<String, Option<Oid>>,
}

impl<'r> Base<'r> {
    fn new(repo: &'r Repository, odb: &'r Odb<'r>, root: Option<Oid>) -> Base<'r> {
        Base {
            repo,
            odb,
            root,
            trees: HashMap::new(),
        }
    }

    /// The parent's root tree, copied into the staged handle.
    fn root(&mut self, staged: &pack::Staged) -> Result<Option<Oid>> {
        self.tree(staged, "")
    }

    /// The id and mode of `path`'s entry in the parent, its folders copied into the staged
    /// handle on the way.
    fn entry(&mut self, staged: &pack::Staged, path: &str) -> Result<Option<(Oid, i32)>> {
        let (folder, name) = path.rsplit_once('/').unwrap_or(("", path));
        let Some(tree) = self.tree(staged, folder)? else {
            return Ok(None);
        };
        let tree = self.repo.find_tree(tree)?;
        Ok(tree.get_name(name).map(|e| (e.id(), e.filemode())))
    }

    /// The parent's tree at `folder` (and every one above it), copied into the staged handle.
    fn tree(&mut self, staged: &pack::Staged, folder: &str) -> Result<Option<Oid>> {
        if let Some(known) = self.trees.get(folder) {
            return Ok(*known);
        }
        // Down from the root, one name at a time, each folder looked up once.
        let mut at = self.known_or_copied(staged, "", |b| Ok(b.root))?;
        let mut end = 0;
        for name in folder.split('/').filter(|n| !n.is_empty()) {
            end += name.len();
            let here = folder.get(..end).unwrap_or(folder);
            end += 1;
            let parent = at;
            at = self.known_or_copied(staged, here, |b| b.below(parent, name))?;
        }
        Ok(at)
    }

    /// The tree at `folder` as noted, or else as `find` gives it, noted and copied.
    fn known_or_copied(
        &mut self,
        staged: &pack::Staged,
        folder: &str,
        find: impl FnOnce(&Self) -> Result<Option<Oid>>,
    ) -> Result<Option<Oid>> {
        if let Some(known) = self.trees.get(folder) {
            return Ok(*known);
        }
        let tree = find(self)?;
        self.copy(staged, folder, tree)?;
        Ok(tree)
    }

    /// The subtree `name` of the parent's tree `at`, if there is one.
    fn below(&self, at: Option<Oid>, name: &str) -> Result<Option<Oid>> {
        let Some(id) = at else {
            return Ok(None);
        };
        let tree = self.repo.find_tree(id)?;
        let entry = tree.get_name(name);
        Ok(entry.and_then(|e| (e.kind() == Some(ObjectType::Tree)).then(|| e.id())))
    }

    /// Notes the parent's tree at `folder`, copying it into the staged handle.
    fn copy(&mut self, staged: &pack::Staged, folder: &str, tree: Option<Oid>) -> Result<()> {
        if let Some(id) = tree {
            let object = self.odb.read(id)?;
            staged.base_tree(object.data())?;
        }
        self.trees.insert(folder.to_string(), tree);
        Ok(())
    }
}

#[cfg(test)]
#[path = "tree_tests.rs"]
mod tests;
