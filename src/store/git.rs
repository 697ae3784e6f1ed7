//! The git store: the state store is a branch of a git repository that GitOps agents (Flux,
//! Argo CD) sync to clusters. vow works in a clone kept under the workspace's `.vow/cache/`:
//! every commit is built straight from the operations (no index scan), is one commit per wave
//! with `Vow-Plan:` and `Vow-Wave:` trailers, and is pushed to the remote branch right away. A
//! push the remote refuses (someone else moved the branch, or a hook said no) is an error that
//! leaves nothing behind, and a push is only taken as done once the remote's branch shows it.
//!
//! Crash safety: the cache is created in a temporary folder and renamed into place, and one that
//! cannot be opened or does not hold what its branch names is made again from the remote (it
//! holds nothing the remote lacks, but for a commit made and not pushed, which is kept and
//! pushed by the next apply). Every step after that is idempotent, so an apply killed anywhere
//! is finished by the next one. `super::crash` names the points the crash tests kill at.
//!
//! libgit2 (through git2, vendored, without network features) reads and writes the cache; pushes
//! go through `git push` when git is installed, since libgit2's local transport writes straight
//! into the remote repository and runs none of its hooks (pre-receive, update).

use super::backend::{Op, Store};
use super::crash;
use super::layout;
use crate::error::{Error, Result};
use git2::{
    build::CheckoutBuilder, FetchOptions, Oid, PushOptions, RemoteCallbacks, Repository, Signature,
};
use std::path::{Path, PathBuf};

/// The remote's hooks that can refuse a push; only git's own receive-pack runs them.
const REFUSING_HOOKS: [&str; 4] = [
    "pre-receive",
    "update",
    "proc-receive",
    "reference-transaction",
];

/// How much of what the remote said is shown (it is untrusted text).
const MESSAGE_LINES: usize = 40;
const MESSAGE_LINE_CHARS: usize = 300;

pub struct GitStore {
    url: String,
    branch: String,
    dir: PathBuf,
    repo: Repository,
}

impl GitStore {
    /// Opens the cache at `cache`, creating it (or making it again, when a crash left it
    /// half-made) first. Call `refresh` (or `recover` under the lock) to bring it to the remote
    /// branch.
    pub fn open(url: &str, branch: &str, cache: &Path) -> Result<GitStore> {
        let repo = match usable(cache, url, branch) {
            Some(r) => r,
            None => create(url, cache).map_err(|e| {
                Error::Git(format!(
                    "cannot create the git cache {}: {e}",
                    cache.display()
                ))
            })?,
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
        self.check_remote()?;
        let mut remote = self.repo.find_remote("origin")?;
        let spec = format!("+{}:{}", self.local_ref(), self.remote_ref());
        remote
            .fetch(&[&spec], Some(&mut FetchOptions::new()), None)
            .map_err(|e| {
                Error::Git(format!(
                    "cannot fetch {} from {}: {e}",
                    self.branch, self.url
                ))
            })?;
        Ok(self.repo.refname_to_id(&self.remote_ref()).ok())
    }

    /// The remote's path, when it is on this machine (a path or a `file://` URL).
    fn local_remote(&self) -> Option<&Path> {
        match self.url.strip_prefix("file://") {
            Some(p) => Some(Path::new(p)),
            None if !self.url.contains("://") => Some(Path::new(&self.url)),
            None => None,
        }
    }

    /// A local remote that is missing or is not a repository says so, rather than libgit2's
    /// "unsupported URL protocol".
    fn check_remote(&self) -> Result<()> {
        let Some(path) = self.local_remote() else {
            return Ok(());
        };
        let fix = format!(
            "create it with `git init --bare {}`, or fix the `url` of the store in vow.yaml",
            path.display()
        );
        if std::fs::symlink_metadata(path).is_err() {
            return Err(Error::Git(format!(
                "the git store's remote {} does not exist: {fix}",
                path.display()
            )));
        }
        if Repository::open(path).is_err() {
            return Err(Error::Git(format!(
                "the git store's remote {} is not a git repository: {fix}",
                path.display()
            )));
        }
        Ok(())
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
                self.push_leftover(Some(r))?
            }
            (Some(l), Some(r)) if self.repo.graph_descendant_of(r, l)? => self.set_head(r)?,
            (Some(_), None) => self.push_leftover(None)?,
            (Some(l), Some(r)) => {
                return Err(Error::Git(format!(
                    "the git store's branch {} has diverged: the cache has {l}, the remote {r}; remove {} to start from the remote",
                    self.branch,
                    self.dir.display()
                )))
            }
        }
        self.repo.set_head(&self.local_ref())?;
        crash::point("sync-head");
        self.checkout()?;
        crash::point("sync-checkout");
        Ok(())
    }

    /// Pushes the commit an interrupted apply made but did not push. When the remote refuses
    /// it, it is dropped, so that the cache again holds only what the remote has (the wave is
    /// not journaled in the remote, so the next apply makes it again).
    fn push_leftover(&self, remote: Option<Oid>) -> Result<()> {
        tracing::warn!("pushing a commit an interrupted apply made but did not push");
        if let Err(e) = self.push() {
            self.reset_branch(remote)?;
            self.checkout()?;
            return Err(Error::Git(format!(
                "{e:#}\n  The commit an interrupted apply left in {} was not pushed: it is dropped, and the next `vow apply` makes that wave again.",
                self.dir.display()
            )));
        }
        Ok(())
    }

    fn set_head(&self, oid: Oid) -> Result<()> {
        self.repo
            .reference(&self.local_ref(), oid, true, "vow: sync with the remote")?;
        crash::point("ref");
        Ok(())
    }

    /// Puts the local branch back at `to` (`None`: the branch does not exist).
    fn reset_branch(&self, to: Option<Oid>) -> Result<()> {
        match to {
            Some(oid) => self.set_head(oid),
            None => {
                if let Ok(mut r) = self.repo.find_reference(&self.local_ref()) {
                    r.delete()?;
                }
                Ok(())
            }
        }
    }

    /// Makes the checkout exactly the branch's tree.
    fn checkout(&self) -> Result<()> {
        let mut co = CheckoutBuilder::new();
        co.force().remove_untracked(true);
        if self.head().is_some() {
            self.repo.checkout_head(Some(&mut co))?;
        } else {
            // An empty branch: an empty checkout (keeping .git).
            let io = |e| Error::io("read", &self.dir, e);
            for entry in std::fs::read_dir(&self.dir).map_err(io)? {
                let entry = entry.map_err(io)?;
                if entry.file_name() != ".git" {
                    remove_path(&entry.path())?;
                }
            }
        }
        Ok(())
    }

    /// Pushes the local branch, and takes it as pushed only when the remote's branch shows it.
    fn push(&self) -> Result<()> {
        let spec = format!("{0}:{0}", self.local_ref());
        match self.push_with_git(&spec) {
            Some(pushed) => pushed?,
            None => self.push_with_libgit2(&spec)?,
        }
        crash::point("push");
        let want = self.head();
        let have = self.remote_head()?;
        if have != want {
            return Err(Error::Git(format!(
                "the push of {} to {} did not take: the remote's branch is at {}, not {}",
                self.branch,
                self.url,
                have.map(|o| o.to_string())
                    .unwrap_or_else(|| "nothing".into()),
                want.map(|o| o.to_string())
                    .unwrap_or_else(|| "nothing".into())
            )));
        }
        Ok(())
    }

    /// The remote's branch as the remote reports it now (no objects fetched).
    fn remote_head(&self) -> Result<Option<Oid>> {
        let mut remote = self.repo.remote_anonymous(&self.url)?;
        remote
            .connect(git2::Direction::Fetch)
            .map_err(|e| Error::Git(format!("cannot reach {}: {e}", self.url)))?;
        let want = self.local_ref();
        let found = remote
            .list()?
            .iter()
            .find(|h| h.name() == want)
            .map(|h| h.oid());
        Ok(found)
    }

    /// Pushes with git's own `git push`, so that the remote's receive hooks run and can refuse.
    /// `None` when git is not installed.
    fn push_with_git(&self, spec: &str) -> Option<Result<()>> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(&self.dir)
            .args(["push", "origin", spec])
            .env("GIT_TERMINAL_PROMPT", "0")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .stdin(std::process::Stdio::null())
            .output();
        let out = match out {
            Ok(o) => o,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => return Some(Err(Error::Git(format!("cannot run `git push`: {e}")))),
        };
        if out.status.success() {
            return Some(Ok(()));
        }
        Some(Err(Error::Git(format!(
            "the remote refused the push of {} to {}; it said:\n{}",
            self.branch,
            self.url,
            shown_message(&out.stderr)
        ))))
    }

    /// Without git: libgit2's push, which runs no hook, so a remote with a hook that could
    /// refuse is not pushed to at all.
    fn push_with_libgit2(&self, spec: &str) -> Result<()> {
        if let Some(hook) = self.remote_hook() {
            return Err(Error::Git(format!(
                "the remote {} has a {hook} hook, which only git's own push runs, and git is not installed: install git so that the remote judges the push",
                self.url
            )));
        }
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
            remote
                .push(&[spec], Some(&mut opts))
                .map_err(|e| Error::Git(format!("the remote refused the push: {e}")))?;
        }
        if let Some(r) = rejected {
            return Err(Error::Git(format!("the remote refused the push ({r})")));
        }
        Ok(())
    }

    /// The first hook of the (local) remote that could refuse a push.
    fn remote_hook(&self) -> Option<&'static str> {
        let repo = Repository::open(self.local_remote()?).ok()?;
        let hooks = match repo.config().ok()?.get_path("core.hooksPath") {
            Ok(p) => p,
            Err(_) => repo.path().join("hooks"),
        };
        REFUSING_HOOKS.into_iter().find(|h| hooks.join(h).is_file())
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
        for stale in layout::git_lock_files(&self.dir, &self.branch) {
            if stale.exists() {
                tracing::warn!("removing {} left by an interrupted apply", stale.display());
                std::fs::remove_file(&stale).map_err(|e| Error::io("remove", &stale, e))?;
            }
        }
        remove_leftover_caches(&self.dir)?;
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
                    crash::point("blob");
                    update.upsert(path.as_str(), blob, git2::FileMode::Blob);
                }
                Op::Remove { path } => {
                    update.remove(path.as_str());
                }
            }
        }
        let tree_id = update.create_updated(&self.repo, &base)?;
        crash::point("tree");
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
        crash::point("commit");
        if let Err(e) = self.push() {
            // Leave nothing behind: the branch goes back to what the remote has.
            self.reset_branch(parent.as_ref().map(|p| p.id()))?;
            self.checkout()?;
            return Err(Error::Git(format!(
                "{e:#}\n  Nothing was written: nothing of this wave is in the store, and the journal does not record it. If the remote's hook refused the push, resolve what it says and run `vow apply` again; if someone else moved {} on {} since this apply started, run `vow plan` again and review the new plan.",
                self.branch,
                self.url
            )));
        }
        crash::point("checkout");
        self.write_checkout(ops)?;
        crash::point("index");
        let mut index = self.repo.index()?;
        index.read_tree(&tree)?;
        index.write()?;
        crash::point("index-written");
        Ok(oid.to_string())
    }

    fn lock_path(&self) -> PathBuf {
        layout::git_lock(&self.dir)
    }
}

/// The cache if it opens and is consistent: its origin is `url`, its branch (if any) names a
/// commit whose tree it holds, and its HEAD and index can be read. Anything else is a cache a kill left half-made, or one made for
/// another remote.
fn usable(cache: &Path, url: &str, branch: &str) -> Option<Repository> {
    let repo = Repository::open(cache).ok()?;
    if repo.is_bare() || repo.find_remote("origin").ok()?.url().ok() != Some(url) {
        return None;
    }
    if let Ok(oid) = repo.refname_to_id(&format!("refs/heads/{branch}")) {
        repo.find_commit(oid).ok()?.tree().ok()?;
    }
    match repo.head() {
        Err(e) if e.code() != git2::ErrorCode::UnbornBranch => return None,
        _ => {}
    }
    repo.index().ok()?;
    Some(repo)
}

/// The path of a cache's temporary sibling (see `layout`).
fn sibling(cache: &Path, what: layout::GitCacheSibling) -> Result<PathBuf> {
    layout::git_cache_sibling(cache, what, std::process::id())
        .ok_or_else(|| Error::Store(format!("{} has no file name", cache.display())))
}

/// Makes the cache in a temporary folder and renames it into place, setting aside (then
/// removing) whatever half-made cache was there: a kill at any point leaves either no cache, the
/// old one, or a whole one.
fn create(url: &str, cache: &Path) -> Result<Repository> {
    if let Some(parent) = cache.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
    }
    let tmp = sibling(cache, layout::GitCacheSibling::New)?;
    remove_path(&tmp)?;
    let repo = Repository::init(&tmp)?;
    crash::point("cache-init");
    repo.remote("origin", url)?;
    drop(repo);
    crash::point("cache-remote");
    if std::fs::symlink_metadata(cache).is_ok() {
        tracing::warn!(
            "the git cache {} cannot be used (an interrupted apply left it half-made?): making it again from the remote",
            cache.display()
        );
        let old = sibling(cache, layout::GitCacheSibling::Old)?;
        remove_path(&old)?;
        std::fs::rename(cache, &old).map_err(|e| Error::io("set aside", cache, e))?;
        crash::point("cache-set-aside");
        remove_path(&old)?;
    }
    std::fs::rename(&tmp, cache).map_err(|e| Error::io("create", cache, e))?;
    crash::point("cache-rename");
    Ok(Repository::open(cache)?)
}

/// Removes the temporary caches killed processes left beside `cache` (called with the lock held).
fn remove_leftover_caches(cache: &Path) -> Result<()> {
    let (Some(parent), Some(_)) = (cache.parent(), cache.file_name()) else {
        return Ok(());
    };
    let io = |e| Error::io("read", parent, e);
    for entry in std::fs::read_dir(parent).map_err(io)? {
        let entry = entry.map_err(io)?;
        let file = entry.file_name().to_string_lossy().into_owned();
        if layout::is_git_cache_sibling(cache, &file) {
            remove_path(&entry.path())?;
        }
    }
    Ok(())
}

/// Removes a file, a symlink or a folder; nothing there is fine.
fn remove_path(p: &Path) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(p) else {
        return Ok(());
    };
    if meta.is_dir() {
        std::fs::remove_dir_all(p)
    } else {
        std::fs::remove_file(p)
    }
    .map_err(|e| Error::io("remove", p, e))
}

/// A libgit2 failure, as libgit2 words it.
impl From<git2::Error> for Error {
    fn from(e: git2::Error) -> Error {
        Error::Git(e.to_string())
    }
}

/// What the remote said, as plain lines, bounded: it is shown to the user and is untrusted.
fn shown_message(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            l.chars()
                .filter(|c| !c.is_control() || *c == '\t')
                .take(MESSAGE_LINE_CHARS)
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .filter(|l| !l.trim().is_empty())
        .take(MESSAGE_LINES)
        .map(|l| format!("    {l}"))
        .collect();
    if lines.is_empty() {
        return "    (nothing)".into();
    }
    lines.join("\n")
}
