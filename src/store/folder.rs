//! The folder store: files in a directory, changed through a redo log.
//!
//! A commit writes every operation, contents included, to one log file under `.vow/pending/`,
//! syncs it and renames it to `committed` (the commit point), then replays it: each file is
//! replaced atomically (a temporary file renamed over it), removals are applied, the filesystem
//! is synced once (syncfs) and the log deleted. A crash before the commit point leaves the store
//! as it was (recovery discards the stage); after it, recovery replays the log, which is
//! idempotent. One fsync of the log and one syncfs per wave, instead of one per file.

use super::backend::{Op, Store};
use super::batch;
use super::layout;
use super::path::StorePath;
use crate::error::{Error, Result};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::{Path, PathBuf};

pub struct FolderStore {
    root: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Log {
    message: String,
    ops: Vec<Logged>,
}

#[derive(Serialize, Deserialize)]
struct Logged {
    path: String,
    /// The new content (text), absent for removals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    /// The new content when it is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    base64: Option<String>,
}

/// A log entry as it is written: borrowing the operation's bytes rather than copying them (a
/// wave's contents would otherwise be held three times: the operations, the entries, the JSON).
#[derive(Serialize)]
struct LoggedRef<'a> {
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    base64: Option<String>,
}

impl<'a> LoggedRef<'a> {
    fn new(op: &'a Op) -> LoggedRef<'a> {
        match op {
            Op::Write { path, bytes } => match std::str::from_utf8(bytes) {
                Ok(t) => LoggedRef {
                    path,
                    text: Some(t),
                    base64: None,
                },
                Err(_) => LoggedRef {
                    path,
                    text: None,
                    base64: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
                },
            },
            Op::Remove { path } => LoggedRef {
                path,
                text: None,
                base64: None,
            },
        }
    }
}

/// The log as it is written (the same JSON as [`Log`] reads).
#[derive(Serialize)]
struct LogRef<'a> {
    message: &'a str,
    ops: Vec<LoggedRef<'a>>,
}

impl Logged {
    /// The operation the entry logs, its text moved rather than copied.
    fn into_op(self) -> Result<Op> {
        let path = self.path;
        Ok(match (self.text, self.base64) {
            (Some(t), _) => Op::Write {
                path,
                bytes: t.into_bytes(),
            },
            (None, Some(b)) => Op::Write {
                path,
                bytes: base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .map_err(|e| Error::Store(e.to_string()))?,
            },
            (None, None) => Op::Remove { path },
        })
    }
}

impl FolderStore {
    pub fn open(root: &Path) -> FolderStore {
        FolderStore {
            root: root.to_path_buf(),
        }
    }

    fn pending(&self) -> PathBuf {
        layout::absolute(&self.root, layout::REDO_DIR)
    }

    /// Applies the log's operations; every path is checked before the first is applied.
    fn replay(&self, log: Log) -> Result<()> {
        let ops = log
            .ops
            .into_iter()
            .map(Logged::into_op)
            .collect::<Result<Vec<Op>>>()?;
        let batch = batch::check(&self.root, &ops).map_err(|e| {
            Error::Store(format!(
                "the redo log .vow/pending/committed names a path outside the store: {e}; \
                 nothing of it was applied. Remove .vow/pending/ if the log is not vow's"
            ))
        })?;
        batch.apply(&self.root, &ops, &[])?;
        self.finish_replay()
    }

    /// Makes the replayed operations durable and deletes the log.
    fn finish_replay(&self) -> Result<()> {
        sync_filesystem(&self.root)?;
        let pending = self.pending();
        std::fs::remove_dir_all(&pending).map_err(|e| Error::io("remove", &pending, e))?;
        Ok(())
    }
}

/// Makes everything written so far on the store's filesystem durable.
fn sync_filesystem(root: &Path) -> Result<()> {
    let f = std::fs::File::open(root).map_err(|e| Error::io("open", root, e))?;
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: syncfs only reads the descriptor, which `f` keeps open for the call.
        if unsafe { libc::syncfs(f.as_raw_fd()) } != 0 {
            return Err(Error::Store(format!(
                "syncfs failed: {}",
                std::io::Error::last_os_error()
            )));
        }
    }
    #[cfg(not(target_os = "linux"))]
    f.sync_all().map_err(|e| Error::io("sync", root, e))?;
    Ok(())
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
        let committed = layout::absolute(&self.root, layout::REDO_LOG);
        // `.vow/` or `.vow/pending` made a symlink is refused, not followed.
        StorePath::new(layout::REDO_LOG)?.under(&self.root)?;
        if committed.is_file() {
            let text = std::fs::read(&committed).map_err(|e| Error::io("read", &committed, e))?;
            let log: Log = serde_json::from_slice(&text).map_err(|e| {
                Error::Store(format!(
                    "the redo log .vow/pending/committed is damaged: {e}; nothing was applied. \
                         vow writes it whole before its commit point, so it is not vow's: remove \
                         .vow/pending/ and check the store against its history"
                ))
            })?;
            tracing::warn!("finishing an interrupted commit: {}", log.message);
            self.replay(log)?;
        } else if pending.exists() {
            // Staged but never committed: as if it never happened.
            std::fs::remove_dir_all(&pending).map_err(|e| Error::io("remove", &pending, e))?;
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
        // A refused path stops the commit before anything of it is written, the log included.
        let batch = batch::check(&self.root, ops)
            .map_err(|e| Error::Store(format!("{e}; nothing of this wave was written")))?;
        let staged = StorePath::new(layout::REDO_STAGED)?.create_parent(&self.root)?;
        let pending = layout::absolute(&self.root, layout::REDO_DIR);
        let log = LogRef {
            message,
            ops: ops.iter().map(LoggedRef::new).collect(),
        };
        // Serialized straight to the file: a wave's log is not built as one string first.
        let write = |f: std::fs::File| -> std::io::Result<()> {
            let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
            serde_json::to_writer(&mut w, &log)?;
            w.flush()?;
            w.into_inner().map_err(|e| e.into_error())?.sync_all()
        };
        std::fs::File::create(&staged)
            .and_then(write)
            .map_err(|e| Error::io("write", &staged, e))?;
        // The commit point.
        let committed = layout::absolute(&self.root, layout::REDO_LOG);
        std::fs::rename(&staged, &committed).map_err(|e| Error::io("commit", &committed, e))?;
        if let Ok(d) = std::fs::File::open(&pending) {
            let _ = d.sync_all();
        }
        // Applied as checked, without reading back what was just logged.
        batch.apply(&self.root, ops, &[])?;
        self.finish_replay()?;
        Ok(super::digest(message.as_bytes()))
    }

    fn lock_path(&self) -> PathBuf {
        layout::absolute(&self.root, layout::FOLDER_LOCK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_with_one_refused_path_writes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("store");
        std::fs::create_dir_all(&root).unwrap();
        let mut st = FolderStore::open(&root);
        for bad in ["../outside", "/abs", "a/../../b", "a//b", ""] {
            let ops = [
                Op::Write {
                    path: "good.yaml".into(),
                    bytes: b"g".to_vec(),
                },
                Op::Write {
                    path: bad.into(),
                    bytes: b"x".to_vec(),
                },
            ];
            assert!(st.commit(&ops, "m", &[]).is_err(), "{bad:?}");
            assert!(
                !root.join("good.yaml").exists(),
                "{bad:?}: the good op was applied"
            );
            assert!(!root.join(".vow/pending").exists());
        }
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_redo_log_naming_a_path_outside_is_not_replayed() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("store");
        let pending = root.join(".vow/pending");
        std::fs::create_dir_all(&pending).unwrap();
        std::fs::write(
            pending.join("committed"),
            r#"{"message":"m","ops":[{"path":"a.yaml","text":"a"},{"path":"../x","text":"x"}]}"#,
        )
        .unwrap();
        let mut st = FolderStore::open(&root);
        let e = st.recover().unwrap_err().to_string();
        assert!(e.contains("redo log") && e.contains("../x"), "{e}");
        assert!(!root.join("a.yaml").exists());
        assert!(!tmp.path().join("x").exists());
    }

    #[test]
    fn a_destination_symlink_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("store");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(root.join("clusters")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("clusters/dev")).unwrap();
        let mut st = FolderStore::open(&root);
        let ops = [Op::Write {
            path: "clusters/dev/resources/a.yaml".into(),
            bytes: b"x".to_vec(),
        }];
        assert!(st.commit(&ops, "m", &[]).is_err());
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    }
}
