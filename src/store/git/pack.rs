//! Writing a wave's new objects (blobs, trees) into packfiles instead of one loose object
//! each: a wave of 10,000 instances makes some 30,000 new objects, and as loose objects each is
//! a file created, compressed on its own and renamed, and the push then has to read them all
//! back to pack them again.
//!
//! Blobs never pass through libgit2: each is hashed with plain SHA-1 ([`packfile::blob_id`])
//! and compressed (on every thread, [`BATCH`] at a time) into the pack being built
//! ([`packfile::Writer`]), so memory holds the compressed pack rather than the wave's files,
//! and a large wave writes a pack each [`CHUNK_BYTES`] of it. Only the trees are made by
//! libgit2 (its tree updater, on a second handle whose only object database is a mempack,
//! see `super::tree`), then copied into the last pack. The tree
//! updater names blobs it cannot see in that handle, which libgit2 allows only with its
//! "strict object creation" check off; vow turns it off once per process (see
//! `super::bound_pack_maps`): every blob a tree names is in a pack written before the tree's.
//!
//! Crash safety: nothing is on disk until a pack and its index are written whole (each to a
//! temporary file renamed into place, the pack first); the commit that names the tree
//! is made only after the last pack. A kill before leaves at most unused packs, which are
//! harmless.

use super::packfile;
use crate::error::Result;
use crate::store::crash;
use git2::{ObjectType, Odb, Oid, Repository};
use std::collections::HashSet;

/// A wave's objects on their way into the cache's packs.
pub(super) struct Staged {
    /// A second handle on the cache whose writes (the trees) go to memory.
    repo: Repository,
    /// The pack being filled.
    pack: packfile::Writer,
    /// The objects put into this wave's packs so far (a blob written twice goes in once).
    added: HashSet<Oid>,
    /// Where the packs go.
    pack_dir: std::path::PathBuf,
}

/// How many compressed bytes a pack holds before it is written and the next one begun, so
/// that memory holds one chunk of a large wave rather than all of it.
pub(super) const CHUNK_BYTES: usize = 16 << 20;

/// How many blobs are compressed side by side at a time: their compressed bytes are held
/// until they are appended in order, so a batch is bounded.
const BATCH: usize = 1024;

impl Staged {
    /// A handle whose object database is only in memory: the trees of the parent that the tree
    /// updater reads are copied in ([`Staged::base_tree`]), and the trees it makes stay there.
    /// With the cache's own backends in it, libgit2 rescanned the pack folder before writing
    /// each new tree (to see whether it had appeared): a readdir per tree, 30,000 a wave.
    pub(super) fn open(main: &Repository) -> Result<Staged> {
        let odb = git2::Odb::new()?;
        // The backend is owned by the odb from here on; its handle is not needed.
        odb.add_new_mempack_backend(1)?;
        let repo = Repository::from_odb(odb)?;
        Ok(Staged {
            repo,
            pack: packfile::Writer::new(),
            added: HashSet::new(),
            pack_dir: main.path().join("objects").join("pack"),
        })
    }

    pub(super) fn repo(&self) -> &Repository {
        &self.repo
    }

    /// Copies a tree of the parent (as its raw bytes) into the handle, for the tree updater.
    pub(super) fn base_tree(&self, data: &[u8]) -> Result<()> {
        self.repo.odb()?.write(ObjectType::Tree, data)?;
        Ok(())
    }

    /// Compresses the blobs (their ids, [`packfile::blob_id`], and bytes) into the packs, each
    /// once; side by side, appended in order.
    pub(super) fn blobs(&mut self, odb: &Odb<'_>, blobs: &[(Oid, &[u8])]) -> Result<()> {
        use rayon::prelude::*;
        // Only this wave's own duplicates are left out: a blob the cache holds already (a
        // rollback's old contents) goes into the pack again, which git allows, rather than be
        // looked up in every pack index and as a loose file for each of the wave's blobs.
        let mut new = Vec::with_capacity(blobs.len());
        for &(oid, bytes) in blobs {
            if self.added.insert(oid) {
                new.push((oid, bytes));
            }
        }
        for batch in new.chunks(BATCH) {
            let compressed: Vec<Result<packfile::Compressed>> = batch
                .par_iter()
                .map(|&(oid, bytes)| packfile::compress(oid, ObjectType::Blob, bytes))
                .collect();
            for c in compressed {
                self.pack.append(c?);
                crash::point("blob");
                if self.pack.len() >= CHUNK_BYTES {
                    self.flush(odb)?;
                }
            }
        }
        Ok(())
    }

    /// Writes the pack filled so far (if any) and begins the next.
    fn flush(&mut self, odb: &Odb<'_>) -> Result<()> {
        let pack = std::mem::replace(&mut self.pack, packfile::Writer::new());
        if pack.finish(&self.pack_dir)?.is_some() {
            // The cache's handle looks packs up again on a miss; refreshing now is cheaper
            // than the first miss of every reader.
            odb.refresh()?;
        }
        Ok(())
    }

    /// Adds the new trees of `tree` (the tree itself and, under it, only the subtrees that
    /// are new: `old` says, from a subtree's folder and id, that the parent has it there, and
    /// so everything under it is in the cache already), then writes the last pack. Asking the
    /// cache instead cost a look-up in every pack index and a `stat` per tree.
    pub(super) fn finish(
        &mut self,
        odb: &Odb<'_>,
        tree: Oid,
        old: &dyn Fn(&str, Oid) -> bool,
    ) -> Result<()> {
        {
            let staged = self.repo.odb()?;
            let mut todo = vec![(String::new(), tree)];
            while let Some((folder, id)) = todo.pop() {
                if old(&folder, id) || !self.added.insert(id) {
                    continue;
                }
                let object = staged.read(id)?;
                self.pack.add(id, ObjectType::Tree, object.data())?;
                let t = self.repo.find_tree(id)?;
                for entry in t.iter() {
                    if entry.kind() == Some(ObjectType::Tree) {
                        let name = String::from_utf8_lossy(entry.name_bytes());
                        let below = match folder.as_str() {
                            "" => name.into_owned(),
                            f => format!("{f}/{name}"),
                        };
                        todo.push((below, entry.id()));
                    }
                }
            }
        }
        self.flush(odb)
    }
}
