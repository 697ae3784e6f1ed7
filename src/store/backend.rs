//! The store trait: the one way anything is written to a state store.
//!
//! A store holds files in a directory (the folder itself, or a git store's checkout) that
//! planning reads; apply changes it only through [`Store::commit`], which applies a set of
//! operations as one unit: after a crash at any point, either all of them are in the store or
//! none are (the folder store replays a redo log; the git store makes one commit).

use crate::error::Result;
use std::path::Path;

/// One change to a file of the store (paths are relative to the store's root, `/`-separated).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Write { path: String, bytes: Vec<u8> },
    Remove { path: String },
}

impl Op {
    pub fn path(&self) -> &str {
        match self {
            Op::Write { path, .. } | Op::Remove { path } => path,
        }
    }
}

#[cfg(test)]
impl Op {
    /// A write of `text` to `path`.
    pub(crate) fn write(path: &str, text: &str) -> Op {
        Op::Write {
            path: path.into(),
            bytes: text.as_bytes().to_vec(),
        }
    }

    /// A removal of `path`.
    pub(crate) fn remove(path: &str) -> Op {
        Op::Remove { path: path.into() }
    }
}

/// Who holds a store's lock.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LockInfo {
    pub id: String,
    pub pid: u32,
    pub host: String,
    pub since: String,
    pub plan: String,
}

pub trait Store {
    /// The directory holding the store's files, as planning reads them.
    fn dir(&self) -> &Path;
    /// What the store is, for messages (`folder fixtures/state`, `git file:///...#main`).
    fn describe(&self) -> String;
    /// Brings the files planning reads up to date (git: fetch and check out the branch).
    fn refresh(&mut self) -> Result<()>;
    /// Finishes whatever an interrupted commit left (folder: replays a committed redo log,
    /// drops an uncommitted one; git: clears a killed process's lock files, pushes a commit made
    /// but not pushed). Only called with the store's lock held.
    fn recover(&mut self) -> Result<()>;
    /// Applies `ops` as one unit. `trailers` name the plan and wave (git commit trailers).
    /// Every path is checked through the store's wall ([`super::batch::check`]) before
    /// anything is written: one refused path, and nothing of the commit is.
    fn commit(&mut self, ops: &[Op], message: &str, trailers: &[(&str, String)]) -> Result<String>;
    /// Where the lock file lives.
    fn lock_path(&self) -> std::path::PathBuf;
}
