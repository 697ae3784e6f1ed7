//! The store lock: one apply at a time. A lock file created exclusively; a second apply fails
//! fast and names the holder. A lock left by a dead process is broken with
//! `--force-unlock ID`, which checks the id so that a live lock is not broken by mistake. A lock
//! that cannot be read (a kill between creating the file and writing it leaves it empty) has no
//! id: it is broken with `--force-unlock unreadable`, which breaks only a lock that cannot be read.

use super::backend::LockInfo;
use super::crash;
use crate::error::{Error, Result};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The id `--force-unlock` takes to break a lock that cannot be read.
pub const UNREADABLE: &str = "unreadable";

/// A lock file is a few hundred bytes; anything much larger is not one of vow's.
const MAX_LOCK_BYTES: u64 = 64 * 1024;

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

/// What is at a lock's path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Holder {
    /// No lock: the store is free.
    Nothing,
    /// A lock file that is not a lock record (why): broken with `--force-unlock unreadable`.
    Unreadable(String),
    /// A lock, and who holds it: broken with `--force-unlock <its id>`.
    Held(LockInfo),
}

/// Who holds the lock at `path`, as the lock file says.
pub fn holder(path: &Path) -> Holder {
    if std::fs::symlink_metadata(path).is_err() {
        return Holder::Nothing;
    }
    let mut text = String::new();
    let read =
        std::fs::File::open(path).and_then(|f| f.take(MAX_LOCK_BYTES).read_to_string(&mut text));
    if let Err(e) = read {
        return Holder::Unreadable(e.to_string());
    }
    if text.trim().is_empty() {
        return Holder::Unreadable("it is empty".into());
    }
    match serde_json::from_str(&text) {
        Ok(info) => Holder::Held(info),
        Err(e) => Holder::Unreadable(format!("it is not a lock record: {e}")),
    }
}

pub fn read(path: &Path) -> Option<LockInfo> {
    match holder(path) {
        Holder::Held(info) => Some(info),
        _ => None,
    }
}

/// Takes the lock or says who holds it.
pub fn acquire(path: &Path, info: LockInfo) -> Result<Lock> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(mut f) => {
            crash::point("lock-created");
            let text =
                serde_json::to_string_pretty(&info).map_err(|e| Error::Store(e.to_string()))?;
            f.write_all(text.as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(|e| Error::io("write the lock", path, e))?;
            Ok(Lock {
                path: path.to_path_buf(),
                info,
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(held(path)),
        Err(e) => Err(Error::io("create the lock", path, e)),
    }
}

/// Why a lock that exists could not be taken.
fn held(path: &Path) -> Error {
    match holder(path) {
        Holder::Held(h) => Error::Locked {
            message: format!(
                "the store is locked by another apply: lock {} held by pid {} on {} since {} (plan {}).\n  If that process is gone, break the lock with `vow apply PLAN --force-unlock {}`.",
                h.id, h.pid, h.host, h.since, h.plan, h.id
            ),
            holder: Some(h.id),
        },
        Holder::Unreadable(why) => Error::Locked {
            message: format!(
                "the store is locked, but the lock {} cannot be read ({why}): an apply killed while taking the lock leaves it so.\n  If no apply is running, break the lock with `vow apply PLAN --force-unlock {UNREADABLE}`.",
                path.display()
            ),
            holder: None,
        },
        // Released between the two looks: the next apply takes it.
        Holder::Nothing => Error::Locked {
            message: format!(
                "the store's lock {} was released while this apply tried to take it; run `vow apply` again",
                path.display()
            ),
            holder: None,
        },
    }
}

/// Breaks a lock, only if it has this id (or, with `unreadable`, only if it cannot be read).
pub fn force_unlock(path: &Path, id: &str) -> Result<()> {
    match holder(path) {
        Holder::Nothing => Err(Error::Usage(format!(
            "there is no lock to break at {}",
            path.display()
        ))),
        Holder::Held(h) if h.id == id => remove(path),
        Holder::Unreadable(_) if id == UNREADABLE => remove(path),
        Holder::Held(h) => Err(Error::Locked {
            message: format!(
                "the lock is {} (pid {} on {} since {}), not {id}: not broken",
                h.id, h.pid, h.host, h.since
            ),
            holder: Some(h.id),
        }),
        Holder::Unreadable(why) => Err(Error::Locked {
            message: format!(
                "the lock {} cannot be read ({why}), so it has no id to match {id}: not broken; break it with `--force-unlock {UNREADABLE}`",
                path.display()
            ),
            holder: None,
        }),
    }
}

fn remove(path: &Path) -> Result<()> {
    std::fs::remove_file(path).map_err(|e| Error::io("remove", path, e))
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
        let err = acquire(&p, info("b2")).unwrap_err();
        assert!(
            matches!(&err, Error::Locked { holder: Some(id), .. } if id == "a1"),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("lock a1 held by pid 1 on h"),
            "{err}"
        );
        assert_eq!(holder(&p), Holder::Held(info("a1")));
        assert!(matches!(
            force_unlock(&p, "zz"),
            Err(Error::Locked { holder: Some(id), .. }) if id == "a1"
        ));
        std::mem::forget(held);
        force_unlock(&p, "a1").unwrap();
        let _again = acquire(&p, info("c3")).unwrap();
    }

    #[test]
    fn an_empty_or_damaged_lock_is_broken_only_with_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lock");
        for text in ["", "{\"id\": tru"] {
            std::fs::write(&p, text).unwrap();
            assert!(matches!(holder(&p), Holder::Unreadable(_)));
            let err = acquire(&p, info("a1")).unwrap_err();
            assert!(matches!(err, Error::Locked { holder: None, .. }), "{err:?}");
            let err = err.to_string();
            assert!(err.contains("--force-unlock unreadable"), "{err}");
            let err = force_unlock(&p, "a1").unwrap_err().to_string();
            assert!(err.contains("--force-unlock unreadable"), "{err}");
            force_unlock(&p, UNREADABLE).unwrap();
            let held = acquire(&p, info("a1")).unwrap();
            // A readable lock is not broken by `unreadable`.
            assert!(force_unlock(&p, UNREADABLE).is_err());
            drop(held);
            assert_eq!(holder(&p), Holder::Nothing);
        }
    }
}
