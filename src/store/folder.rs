//! The folder store: files in a directory, changed through a redo log.
//!
//! A commit stages every new file under `.vow/pending/`, then writes the manifest (the commit
//! point, by an atomic rename), then moves the staged files into place and removes what goes,
//! then deletes the pending folder. A crash before the manifest leaves the store as it was (the
//! stage is discarded on recovery); a crash after it is finished on recovery by replaying the
//! manifest, which is idempotent.

use super::backend::{Op, Store};
use super::write::{atomic_write, remove_file};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub struct FolderStore {
    root: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    message: String,
    ops: Vec<Staged>,
}

#[derive(Serialize, Deserialize)]
struct Staged {
    path: String,
    /// The staged file's name in the pending folder; absent for removals.
    staged: Option<String>,
}

impl FolderStore {
    pub fn open(root: &Path) -> FolderStore {
        FolderStore {
            root: root.to_path_buf(),
        }
    }

    fn pending(&self) -> PathBuf {
        self.root.join(".vow").join("pending")
    }

    fn replay(&self, manifest: &Manifest) -> Result<()> {
        let pending = self.pending();
        for op in &manifest.ops {
            let target = self.root.join(&op.path);
            match &op.staged {
                Some(name) => {
                    let staged = pending.join(name);
                    if staged.exists() {
                        if let Some(dir) = target.parent() {
                            std::fs::create_dir_all(dir)?;
                        }
                        std::fs::rename(&staged, &target)
                            .with_context(|| format!("cannot move {} into place", op.path))?;
                    }
                    // A staged file already gone was moved before a crash.
                }
                None => remove_file(&self.root, &op.path)?,
            }
        }
        sync_dir(&self.root);
        std::fs::remove_dir_all(&pending)
            .with_context(|| format!("cannot remove {}", pending.display()))?;
        Ok(())
    }
}

fn sync_dir(dir: &Path) {
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

impl Store for FolderStore {
    fn dir(&self) -> &Path {
        &self.root
    }

    fn describe(&self) -> String {
        format!("folder {}", self.root.display())
    }

    fn refresh(&mut self) -> Result<()> {
        Ok(())
    }

    fn recover(&mut self) -> Result<()> {
        let pending = self.pending();
        let manifest = pending.join("manifest.json");
        if manifest.is_file() {
            let m: Manifest = serde_json::from_str(&std::fs::read_to_string(&manifest)?)
                .with_context(|| format!("the redo log {} is damaged", manifest.display()))?;
            tracing::warn!("finishing an interrupted commit: {}", m.message);
            self.replay(&m)?;
        } else if pending.exists() {
            // Staged but never committed: as if it never happened.
            std::fs::remove_dir_all(&pending)?;
        }
        Ok(())
    }

    fn commit(
        &mut self,
        ops: &[Op],
        message: &str,
        _trailers: &[(&str, String)],
    ) -> Result<String> {
        self.recover()?;
        let pending = self.pending();
        std::fs::create_dir_all(&pending)?;
        let mut staged = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            match op {
                Op::Write { path, bytes } => {
                    let name = format!("{i:08}");
                    let mut f = std::fs::File::create(pending.join(&name))?;
                    std::io::Write::write_all(&mut f, bytes)?;
                    f.sync_all()?;
                    staged.push(Staged {
                        path: path.clone(),
                        staged: Some(name),
                    });
                }
                Op::Remove { path } => staged.push(Staged {
                    path: path.clone(),
                    staged: None,
                }),
            }
        }
        let manifest = Manifest {
            message: message.to_string(),
            ops: staged,
        };
        // The commit point.
        atomic_write(
            &pending.join("manifest.json"),
            serde_json::to_string(&manifest)?.as_bytes(),
        )?;
        self.replay(&manifest)?;
        Ok(super::digest(message.as_bytes()))
    }

    fn lock_path(&self) -> PathBuf {
        self.root.join(".vow").join("lock")
    }
}
