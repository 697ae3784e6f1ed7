//! The store lock: one apply at a time. A lock file created exclusively; a second apply fails
//! fast and names the holder. A lock left by a dead process is broken with
//! `--force-unlock ID`, which checks the id so that a live lock is not broken by mistake.

use super::backend::LockInfo;
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    pub info: LockInfo,
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

pub fn read(path: &Path) -> Option<LockInfo> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Takes the lock or says who holds it.
pub fn acquire(path: &Path, info: LockInfo) -> Result<Lock> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    match std::fs::OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(mut f) => {
            f.write_all(serde_json::to_string_pretty(&info)?.as_bytes())?;
            f.sync_all()?;
            Ok(Lock {
                path: path.to_path_buf(),
                info,
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match read(path) {
            Some(h) => bail!(
                "the store is locked by another apply: lock {} held by pid {} on {} since {} (plan {}).\n  If that process is gone, break the lock with `vow apply PLAN --force-unlock {}`.",
                h.id, h.pid, h.host, h.since, h.plan, h.id
            ),
            None => bail!("the store is locked ({} exists but cannot be read); remove it if no apply is running", path.display()),
        },
        Err(e) => Err(e).with_context(|| format!("cannot create the lock {}", path.display())),
    }
}

/// Breaks a lock, only if it has this id.
pub fn force_unlock(path: &Path, id: &str) -> Result<()> {
    match read(path) {
        None => bail!("there is no lock to break at {}", path.display()),
        Some(h) if h.id == id => {
            std::fs::remove_file(path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
            Ok(())
        }
        Some(h) => bail!("the lock is {}, not {id}: not broken", h.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str) -> LockInfo {
        LockInfo {
            id: id.into(),
            pid: 1,
            host: "h".into(),
            since: "2026-12-01T00:00:00Z".into(),
            plan: "p".into(),
        }
    }

    #[test]
    fn second_acquire_names_the_holder_and_force_unlock_checks_the_id() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lock");
        let held = acquire(&p, info("a1")).unwrap();
        let err = acquire(&p, info("b2")).unwrap_err().to_string();
        assert!(err.contains("lock a1 held by pid 1 on h"), "{err}");
        assert!(force_unlock(&p, "zz").is_err());
        std::mem::forget(held);
        force_unlock(&p, "a1").unwrap();
        let _again = acquire(&p, info("c3")).unwrap();
    }
}
