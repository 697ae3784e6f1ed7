//! The git store: the state store is a branch of a git repository that GitOps agents (Flux,
//! Argo CD) sync to clusters. vow works in a clone kept under the workspace's `.vow/cache/`:
//! every commit is built straight from the operations (no index scan), is one commit per wave
//! with `Vow-Plan:` and `Vow-Wave:` trailers, and is pushed to the remote branch right away. A
//! push the remote rejects (someone else moved the branch) leaves nothing behind and says so.
//!
//! libgit2 (through git2, vendored, without network features): local paths and `file://`
//! remotes need no more, and a vendored build does not depend on the machine's libgit2.

use super::backend::{Op, Store};
use anyhow::{anyhow, bail, Context, Result};
use git2::{
    build::CheckoutBuilder, FetchOptions, Oid, PushOptions, RemoteCallbacks, Repository, Signature,
};
use std::path::{Path, PathBuf};

pub struct GitStore {
    url: String,
    branch: String,
    dir: PathBuf,
    repo: Repository,
}

impl GitStore {
    /// Opens (or creates) the cache at `cache`. Call `refresh` (or `recover` under the lock) to
    /// bring it to the remote branch.
    pub fn open(url: &str, branch: &str, cache: &Path) -> Result<GitStore> {
        let repo = match Repository::open(cache) {
            Ok(r) => r,
            Err(_) => {
                std::fs::create_dir_all(cache)?;
                let r = Repository::init(cache)
                    .with_context(|| format!("cannot create the git cache {}", cache.display()))?;
                r.remote("origin", url)?;
                r
            }
        };
        Ok(GitStore {
            url: url.to_string(),
            branch: branch.to_string(),
            dir: cache.to_path_buf(),
            repo,
        })
    }

    fn local_ref(&self) -> String {
        format!("refs/heads/{}", self.branch)
    }

    fn remote_ref(&self) -> String {
        format!("refs/remotes/origin/{}", self.branch)
    }

    fn fetch(&self) -> Result<Option<Oid>> {
        let mut remote = self.repo.find_remote("origin")?;
        let spec = format!("+{}:{}", self.local_ref(), self.remote_ref());
        remote
            .fetch(&[&spec], Some(&mut FetchOptions::new()), None)
            .with_context(|| format!("cannot fetch {} from {}", self.branch, self.url))?;
        Ok(self.repo.refname_to_id(&self.remote_ref()).ok())
    }

    fn head(&self) -> Option<Oid> {
        self.repo.refname_to_id(&self.local_ref()).ok()
    }

    /// Brings the local branch and the checkout to the remote branch; pushes a commit a crash
    /// left unpushed.
    fn sync(&mut self) -> Result<()> {
        let remote = self.fetch()?;
        let local = self.head();
        match (local, remote) {
            (None, None) => {}
            (None, Some(r)) => self.set_head(r)?,
            (Some(l), Some(r)) if l == r => {}
            (Some(l), Some(r)) if self.repo.graph_descendant_of(l, r)? => {
                tracing::warn!("pushing a commit an interrupted apply made but did not push");
                self.push()?;
            }
            (Some(l), Some(r)) if self.repo.graph_descendant_of(r, l)? => self.set_head(r)?,
            (Some(_), None) => {
                tracing::warn!("pushing the branch, which the remote does not have yet");
                self.push()?;
            }
            (Some(l), Some(r)) => bail!(
                "the git store's branch {} has diverged: the cache has {l}, the remote {r}; remove {} to start from the remote",
                self.branch,
                self.dir.display()
            ),
        }
        self.repo.set_head(&self.local_ref())?;
        self.checkout()
    }

    fn set_head(&self, oid: Oid) -> Result<()> {
        self.repo
            .reference(&self.local_ref(), oid, true, "vow: sync with the remote")?;
        Ok(())
    }

    /// Makes the checkout exactly the branch's tree.
    fn checkout(&self) -> Result<()> {
        let mut co = CheckoutBuilder::new();
        co.force().remove_untracked(true);
        if self.head().is_some() {
            self.repo.checkout_head(Some(&mut co))?;
        } else {
            // An empty branch: an empty checkout (keeping .git).
            for entry in std::fs::read_dir(&self.dir)? {
                let entry = entry?;
                if entry.file_name() != ".git" {
                    let p = entry.path();
                    if p.is_dir() {
                        std::fs::remove_dir_all(p)?;
                    } else {
                        std::fs::remove_file(p)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn push(&self) -> Result<()> {
        let mut remote = self.repo.find_remote("origin")?;
        let mut rejected: Option<String> = None;
        {
            let mut callbacks = RemoteCallbacks::new();
            callbacks.push_update_reference(|name, status| {
                if let Some(s) = status {
                    rejected = Some(format!("{name}: {s}"));
                }
                Ok(())
            });
            let mut opts = PushOptions::new();
            opts.remote_callbacks(callbacks);
            let spec = format!("{}:{}", self.local_ref(), self.local_ref());
            remote
                .push(&[&spec], Some(&mut opts))
                .map_err(|e| anyhow!("{e}"))?;
        }
        if let Some(r) = rejected {
            bail!("the remote refused the push ({r})");
        }
        Ok(())
    }

    fn write_checkout(&self, ops: &[Op]) -> Result<()> {
        // Confined paths: every one checked before the first is written (see `store::path`).
        let paths = super::path::check_all(&self.dir, ops.iter().map(Op::path))?;
        for (op, sp) in ops.iter().zip(&paths) {
            match op {
                Op::Write { bytes, .. } => sp.replace(&self.dir, bytes)?,
                Op::Remove { .. } => sp.remove(&self.dir)?,
            }
        }
        Ok(())
    }
}

impl Store for GitStore {
    fn dir(&self) -> &Path {
        &self.dir
    }

    fn describe(&self) -> String {
        format!("git {}#{}", self.url, self.branch)
    }

    fn refresh(&mut self) -> Result<()> {
        self.sync()
    }

    fn recover(&mut self) -> Result<()> {
        // A process killed while libgit2 wrote leaves its lock files; with vow's lock held no
        // one else is writing this cache.
        let git = self.dir.join(".git");
        for stale in [
            git.join("index.lock"),
            git.join("HEAD.lock"),
            git.join(format!("{}.lock", self.local_ref())),
            git.join(format!("{}.lock", self.remote_ref())),
        ] {
            if stale.exists() {
                tracing::warn!("removing {} left by an interrupted apply", stale.display());
                std::fs::remove_file(&stale)?;
            }
        }
        self.sync()
    }

    fn commit(&mut self, ops: &[Op], message: &str, trailers: &[(&str, String)]) -> Result<String> {
        let parent = self.head().map(|o| self.repo.find_commit(o)).transpose()?;
        let base = match &parent {
            Some(c) => c.tree()?,
            None => {
                let empty = self.repo.treebuilder(None)?.write()?;
                self.repo.find_tree(empty)?
            }
        };
        let mut update = git2::build::TreeUpdateBuilder::new();
        for op in ops {
            match op {
                Op::Write { path, bytes } => {
                    let blob = self.repo.blob(bytes)?;
                    update.upsert(path.as_str(), blob, git2::FileMode::Blob);
                }
                Op::Remove { path } => {
                    update.remove(path.as_str());
                }
            }
        }
        let tree_id = update.create_updated(&self.repo, &base)?;
        let tree = self.repo.find_tree(tree_id)?;
        let mut text = message.trim_end().to_string();
        text.push_str("\n\n");
        for (k, v) in trailers {
            text.push_str(&format!("{k}: {v}\n"));
        }
        let sig = Signature::now("vow", "vow@localhost")?;
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        // Updating the branch with the parent as the expected old value: a concurrent writer
        // in the same cache makes this fail rather than be overwritten.
        let oid = self
            .repo
            .commit(Some(&self.local_ref()), &sig, &sig, &text, &tree, &parents)?;
        if let Err(e) = self.push() {
            // Leave nothing behind: the branch goes back to what the remote has.
            match parent.as_ref() {
                Some(p) => self.set_head(p.id())?,
                None => {
                    self.repo.find_reference(&self.local_ref())?.delete()?;
                }
            }
            self.checkout()?;
            bail!(
                "{e}: someone else moved {} on {} since this apply started. Nothing was written; run `vow plan` again and review the new plan.",
                self.branch,
                self.url
            );
        }
        self.write_checkout(ops)?;
        let mut index = self.repo.index()?;
        index.read_tree(&tree)?;
        index.write()?;
        Ok(oid.to_string())
    }

    fn lock_path(&self) -> PathBuf {
        self.dir.join(".git").join("vow.lock")
    }
}
