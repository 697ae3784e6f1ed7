//! Writing a wave's new objects (blobs, trees) into one packfile instead of one loose object
//! each: a wave of 10,000 instances makes some 30,000 new objects, and as loose objects each is
//! a file created, compressed on its own and renamed, and the push then has to read them all
//! back to pack them again. Here they are made in memory (a mempack backend on a second handle
//! of the cache's repository), then written as one pack with its index ([`super::packfile`]),
//! whose compressed objects the push sends as they are;
//! a large wave writes a pack per 16 MiB of blobs ([`CHUNK_BYTES`]), so that memory holds one
//! chunk of its files rather than all of them.
//!
//! Crash safety: nothing is on disk until the pack and its index are written whole (each to a
//! temporary file renamed into place, the pack first); the commit that names the tree
//! is made only after that. A kill before leaves at most an unused pack, which is harmless.

use super::packfile;
use crate::error::Result;
use git2::{ObjectType, Oid, Repository, Tree};
use std::cell::RefCell;
use std::collections::HashSet;
use std::path::Path;

/// Whether the cache holds the object, without libgit2 rescanning its pack folder on a miss
/// (most of a wave's objects are new, and every rescan reads the folder).
fn known(odb: &git2::Odb<'_>, oid: Oid) -> bool {
    odb.exists_ext(oid, git2::OdbLookupFlags::NO_REFRESH)
}

/// A second handle on the cache whose writes go to memory until [`Staged::write_pack`].
pub(super) struct Staged {
    repo: Repository,
    /// The new objects so far, in the order made, and the set of them (a cell: the trees and
    /// blobs borrowed from `repo` stay alive while objects are noted).
    new: RefCell<(Vec<Oid>, HashSet<Oid>)>,
    /// The bytes of the blobs made so far.
    held: usize,
}

/// How many bytes of blobs a pack holds before the next one is begun: a 10,000-instance
/// wave's files are some 40 MiB, held three times while packed (the blobs in memory, the
/// copies read out for the pack, the pack), so a chunk bounds that memory.
pub(super) const CHUNK_BYTES: usize = 16 << 20;

impl Staged {
    pub(super) fn open(dir: &Path) -> Result<Staged> {
        let repo = Repository::open(dir)?;
        {
            // Above the loose (1) and pack (2) backends: every write goes to memory.
            let odb = repo.odb()?;
            // The backend is owned by the odb from here on; its handle is not needed.
            odb.add_new_mempack_backend(1000)?;
        }
        Ok(Staged {
            repo,
            new: RefCell::default(),
            held: 0,
        })
    }

    pub(super) fn repo(&self) -> &Repository {
        &self.repo
    }

    /// Makes a blob in memory and returns its id.
    pub(super) fn blob(&mut self, bytes: &[u8]) -> Result<Oid> {
        let oid = self.repo.blob(bytes)?;
        self.note(oid);
        self.held += bytes.len();
        Ok(oid)
    }

    /// The bytes of blobs made since this handle was opened.
    pub(super) fn held(&self) -> usize {
        self.held
    }

    fn note(&self, oid: Oid) {
        let mut new = self.new.borrow_mut();
        if new.1.insert(oid) {
            new.0.push(oid);
        }
    }

    /// Notes the trees of `tree` that the cache does not hold yet: the tree itself and, under
    /// it, only the subtrees that are new (an unchanged subtree is in the cache already, and so
    /// is everything under it).
    pub(super) fn note_new_trees(&self, main: &Repository, tree: &Tree<'_>) -> Result<()> {
        let odb = main.odb()?;
        if known(&odb, tree.id()) {
            return Ok(());
        }
        let mut todo = vec![tree.id()];
        while let Some(id) = todo.pop() {
            self.note(id);
            let t = self.repo.find_tree(id)?;
            for entry in t.iter() {
                if entry.kind() == Some(ObjectType::Tree) && !known(&odb, entry.id()) {
                    todo.push(entry.id());
                }
            }
        }
        Ok(())
    }

    /// Writes the new objects that the cache does not hold into one pack (and its index) in
    /// the cache's object store ([`super::packfile`]). Nothing is written when there is
    /// nothing new.
    pub(super) fn write_pack(&self, main: &Repository) -> Result<()> {
        let odb = main.odb()?;
        let staged = self.repo.odb()?;
        let mut held = Vec::new();
        for oid in &self.new.borrow().0 {
            if !known(&odb, *oid) {
                held.push((*oid, staged.read(*oid)?));
            }
        }
        let objects: Vec<packfile::Object<'_>> = held
            .iter()
            .map(|(id, o)| packfile::Object {
                id: *id,
                kind: o.kind(),
                data: o.data(),
            })
            .collect();
        let dir = main.path().join("objects").join("pack");
        if packfile::write(&dir, &objects)?.is_some() {
            // The cache's handle looks packs up again on a miss; refreshing now is cheaper
            // than the first miss of every reader.
            odb.refresh()?;
        }
        Ok(())
    }
}
