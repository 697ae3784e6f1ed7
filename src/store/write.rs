//! Writing the folder store: atomic file replacement, bindings and revisions.
//!
//! Only apply (and the fixture generator) calls this. A file is written to a temporary file in
//! its directory, synced and renamed over the old one, so a reader or a crash sees the old or
//! the new content, never a mix.

use super::layout;
use super::path::StorePath;
use super::Binding;
use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Replaces `path` with `bytes` atomically, creating its directory.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    atomic_write_with(path, |w| w.write_all(bytes))
}

/// Replaces `path` atomically with what `write` writes (buffered): a large plan goes to disk as
/// it is serialized, without first being built as one string in memory.
pub fn atomic_write_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| Error::Store(format!("{} has no parent directory", path.display())))?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| Error::io("create a temporary file in", dir, e))?;
    let mut buffered = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
    write(&mut buffered)
        .and_then(|()| buffered.flush())
        .map_err(|e| Error::io("write", path, e))?;
    drop(buffered);
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io("write", path, e))?;
    tmp.persist(path)
        .map_err(|e| Error::io("replace", path, e.error))?;
    Ok(())
}

/// Writes an instance's binding.
pub fn write_binding(root: &Path, binding: &Binding) -> Result<()> {
    let text = serde_yaml::to_string(binding).map_err(|e| Error::Store(e.to_string()))?;
    let path = StorePath::new(&layout::binding(&binding.instance()))?.create_parent(root)?;
    atomic_write(&path, text.as_bytes())
}

/// Removes a file and the directories it leaves empty, up to the store root; a path that would
/// leave the store, or pass through a symlink, is refused.
pub fn remove_file(root: &Path, rel: &str) -> Result<()> {
    StorePath::new(rel)?.remove(root)
}

/// Writes an instance's files and then its binding (the binding last: a binding never names a
/// file that is not there yet).
pub fn write_instance(root: &Path, binding: &Binding, files: &[(&str, &str)]) -> Result<()> {
    for (path, content) in files {
        let path = StorePath::new(path)?.create_parent(root)?;
        atomic_write(&path, content.as_bytes())?;
    }
    write_binding(root, binding)
}
