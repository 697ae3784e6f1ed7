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
//! libgit2 (through git2, vendored, without network features) reads and writes the cache and
//! builds each wave's commit; the network half (ls-remote, fetch, push) is the `git` command
//! ([`net`]), so that https and ssh work with the user's own credentials and config, and the
//! remote's hooks run. Without git on the machine, a remote on this machine is still reached
//! through libgit2 ([`fallback`]); any other remote needs git. Who the commits name as author
//! and committer is [`author`]'s job, and signing them [`sign`]'s.

mod author;
mod cache;
mod cause;
mod fallback;
mod net;
mod pack;
mod packfile;
mod sign;
mod tree;

use super::backend::{Op, Store};
use super::batch;
use super::crash;
use super::layout;
use super::remote::{Remote, Transport};
use crate::error::{Error, Result};
pub use author::{AuthorProblem, CommitAuthor};
use cache::{create, remove_leftover_caches, remove_path, usable};
use git2::{build::CheckoutBuilder, Oid, Repository};
use net::{Net, RunError};
use std::path::{Path, PathBuf};

pub struct GitStore {
    /// The URL git is given (it may hold a password: never shown).
    remote: Remote,
    /// The URL as messages show it.
    shown: String,
    branch: String,
    dir: PathBuf,
    repo: Repository,
    /// `git` is installed (otherwise only a remote on this machine can be reached).
    cli: bool,
    /// Run ssh in batch mode (no prompt), as the user chose no ssh command of their own.
    batch_ssh: bool,
    /// `store.git.author` of vow.yaml, when given.
    author: Option<CommitAuthor>,
    /// The author, committer and signer of the commits, resolved at the first commit.
    identity: std::sync::OnceLock<sign::Committing>,
}

impl GitStore {
    /// Opens the cache at `cache`, creating it (or making it again, when a crash left it
    /// half-made) first. Call `refresh` (or `recover` under the lock) to bring it to the remote
    /// branch.
    pub fn open(url: &str, branch: &str, cache: &Path) -> Result<GitStore> {
        bound_pack_maps();
        // The workspace resolved a relative path already; parse only to classify.
        let remote = Remote::parse(url, Path::new(""));
        let shown = remote.shown();
        if remote.has_secret() {
            tracing::warn!(
                "the git store's URL {shown} has a password or token in it: give it to git with a credential helper instead (docs/apply.md)"
            );
        }
        let repo = match usable(cache, url, branch) {
            Some(r) => r,
            None => create(url, cache).map_err(|e| {
                Error::Git(format!(
                    "cannot create the git cache {}: {e}",
                    cache.display()
                ))
            })?,
        };
        let cli = !matches!(
            net::run(cache, false, &["--version"]),
            Err(RunError::NotInstalled)
        );
        let ssh = matches!(remote.transport(), Transport::Ssh | Transport::Scp);
        let batch_ssh = cli && ssh && !net::user_ssh_command(cache);
        if !cli && remote.local_path().is_none() {
            return Err(Error::Git(format!(
                "git is not installed: vow reaches the remote {shown} with the `git` command; install git"
            )));
        }
        Ok(GitStore {
            remote,
            shown,
            branch: branch.to_string(),
            dir: cache.to_path_buf(),
            repo,
            cli,
            batch_ssh,
            author: None,
            identity: std::sync::OnceLock::new(),
        })
    }

    /// Makes the commits with `author` (vow.yaml's `store.git.author`) as author and
    /// committer; `None`: the git config's identity, else the default (see [`author`]).
    pub fn with_author(mut self, author: Option<CommitAuthor>) -> GitStore {
        self.author = author;
        self
    }

    /// Who makes the commits and how they are signed ([`author`], [`sign`]), resolved once per
    /// store, so a run asks git's config only once.
    fn committing(&self) -> Result<&sign::Committing> {
        if let Some(c) = self.identity.get() {
            return Ok(c);
        }
        let c = sign::Committing::resolve(self.author.as_ref(), &self.dir, self.cli)?;
        Ok(self.identity.get_or_init(|| c))
    }

    /// Opens the cache for the remote's default branch (what `HEAD` names there; `main` for an
    /// empty remote, whose first push creates it). This asks the remote, so it can fail as
    /// any fetch does.
    pub fn open_default(url: &str, cache: &Path) -> Result<GitStore> {
        let mut store = GitStore::open(url, "", cache)?;
        store.check_remote()?;
        let branch = match store.cli {
            true => store.net().default_branch().map_err(not_run)?,
            false => None,
        };
        store.branch = branch.unwrap_or_else(|| "main".into());
        Ok(store)
    }

    fn net(&self) -> Net<'_> {
        Net {
            dir: &self.dir,
            shown: &self.shown,
            branch: &self.branch,
            batch_ssh: self.batch_ssh,
            local: self.remote.local_path().is_some(),
        }
    }

    fn local_ref(&self) -> String {
        format!("refs/heads/{}", self.branch)
    }

    fn remote_ref(&self) -> String {
        format!("refs/remotes/origin/{}", self.branch)
    }

    /// Brings `refs/remotes/origin/<branch>` to the remote's branch (removing it when the
    /// remote has none) and returns it.
    fn fetch(&self) -> Result<Option<Oid>> {
        self.check_remote()?;
        if !self.cli {
            return fallback::fetch(&self.repo, &self.branch, &self.shown);
        }
        let head = self.net().remote_head().map_err(not_run)?;
        let have = self.repo.refname_to_id(&self.remote_ref()).ok();
        match head {
            None => {
                if let Ok(mut r) = self.repo.find_reference(&self.remote_ref()) {
                    r.delete()?;
                }
            }
            Some(oid) if have == Some(oid) => {}
            Some(_) => self.net().fetch().map_err(not_run)?,
        }
        Ok(self.repo.refname_to_id(&self.remote_ref()).ok())
    }

    /// The remote's path, when it is on this machine (a path or a `file://` URL).
    fn local_remote(&self) -> Option<&Path> {
        self.remote.local_path()
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
        if !self.checkout_is_clean() {
            self.checkout()?;
        }
        crash::point("sync-checkout");
        Ok(())
    }

    /// Whether the checkout is the branch's tree as vow left it: its marker names the head.
    /// Checking a 60,000-file checkout out again costs seconds (every file is looked at, and
    /// those the index has no stat data for are hashed), and a plan or an apply opens the
    /// store every time while the branch moved only when someone else pushed.
    fn checkout_is_clean(&self) -> bool {
        let marker = layout::git_clean_marker(&self.dir);
        std::fs::read_to_string(marker).is_ok_and(|m| m.trim() == self.head_text())
    }

    /// The head as the marker writes it (`none` for an empty branch).
    fn head_text(&self) -> String {
        self.head().map_or("none".into(), |o| o.to_string())
    }

    /// Removes the marker before the checkout is changed, so that a kill part-way leaves none.
    fn unmark_clean(&self) -> Result<()> {
        let marker = layout::git_clean_marker(&self.dir);
        match std::fs::remove_file(&marker) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::io("remove", &marker, e))
            }
            _ => Ok(()),
        }
    }

    /// Removes the cache's index (see `commit`): a stale one must not tell a later checkout
    /// that a file it left half-written is up to date.
    fn drop_index(&self) -> Result<()> {
        let path = self.repo.path().join("index");
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::io("remove", &path, e))
            }
            _ => Ok(()),
        }
    }

    /// Marks the checkout as exactly the head's tree (after it was written whole).
    fn mark_clean(&self) -> Result<()> {
        let marker = layout::git_clean_marker(&self.dir);
        std::fs::write(&marker, self.head_text()).map_err(|e| Error::io("write", &marker, e))
    }

    /// Pushes the commit an interrupted apply made but did not push. When the remote refuses
    /// it, it is dropped, so that the cache again holds only what the remote has (the wave is
    /// not journaled in the remote, so the next apply makes it again).
    fn push_leftover(&self, remote: Option<Oid>) -> Result<()> {
        tracing::warn!("pushing a commit an interrupted apply made but did not push");
        if let Err(e) = self.push(remote) {
            self.reset_branch(remote)?;
            self.checkout()?;
            return Err(e.with_note(&format!(
                "\n  The commit an interrupted apply left in {} was not pushed: it is dropped, and the next `vow apply` makes that wave again.",
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
        self.unmark_clean()?;
        self.force_checkout()?;
        self.mark_clean()
    }

    fn force_checkout(&self) -> Result<()> {
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

    /// Pushes the local branch if the remote's is still at `expected`, and takes it as pushed
    /// only when the remote's branch shows it.
    fn push(&self, expected: Option<Oid>) -> Result<()> {
        if self.cli {
            self.net().push(expected).map_err(not_run)?;
        } else {
            fallback::push(
                &self.repo,
                self.local_remote(),
                &self.local_ref(),
                &self.shown,
            )?;
        }
        crash::point("push");
        let want = self.head();
        let have = self.remote_head()?;
        if have != want {
            return Err(Error::Git(format!(
                "the push of {} to {} did not take: the remote's branch is at {}, not {}",
                self.branch,
                self.shown,
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
        if self.cli {
            return self.net().remote_head().map_err(not_run);
        }
        fallback::remote_head(
            &self.repo,
            self.remote.url(),
            &self.local_ref(),
            &self.shown,
        )
    }
}

impl Store for GitStore {
    fn dir(&self) -> &Path {
        &self.dir
    }

    fn describe(&self) -> String {
        format!("git {}#{}", self.shown, self.branch)
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
        self.sync()?;
        // After the cache is back in step with the remote. A repack that fails costs only
        // speed: it is said, and the apply goes on with the packs as they are.
        match self
            .cli
            .then(|| cache::join_packs(&self.dir, cache::MAX_PACKS))
        {
            Some(Ok(true)) => {
                // The packs this handle knew are gone.
                self.repo = git2::Repository::open(&self.dir)?;
            }
            Some(Err(e)) => tracing::warn!("{e}"),
            Some(Ok(false)) | None => {}
        }
        Ok(())
    }

    fn commit(&mut self, ops: &[Op], message: &str, trailers: &[(&str, String)]) -> Result<String> {
        // Confined paths: every one checked before anything is committed, pushed or written
        // (see `store::path`).
        let batch = batch::check(&self.dir, ops).map_err(|e| {
            Error::Store(format!(
                "{e}; nothing of this commit ({}) was written",
                message.trim_end()
            ))
        })?;
        let parent = self.head().map(|o| self.repo.find_commit(o)).transpose()?;
        let (tree_id, same) = tree::build(&self.repo, parent.as_ref(), ops)?;
        let tree = self.repo.find_tree(tree_id)?;
        let mut text = message.trim_end().to_string();
        text.push_str("\n\n");
        for (k, v) in trailers {
            text.push_str(&format!("{k}: {v}\n"));
        }
        // Signed when the git config asks for it; the branch is updated with the parent as the
        // expected old value: a concurrent writer in the same cache makes this fail rather
        // than be overwritten. A signer that fails leaves nothing committed.
        let how = self.committing()?;
        let oid = sign::commit(
            &self.repo,
            how,
            &self.local_ref(),
            parent.as_ref(),
            &tree,
            &text,
        )?;
        crash::point("commit");
        let expected = parent.as_ref().map(|p| p.id());
        if let Err(e) = self.push(expected) {
            // Leave nothing behind: the branch goes back to what the remote has.
            self.reset_branch(expected)?;
            self.checkout()?;
            return Err(e.with_note(&format!(
                "\n  Nothing was written: nothing of this wave is in the store, and the journal does not record it. If the remote's hook refused the push, resolve what it says and run `vow apply` again; if someone else moved {} on {} since this apply started, run `vow plan` again and review the new plan.",
                self.branch,
                self.shown
            )));
        }
        crash::point("checkout");
        self.unmark_clean()?;
        // The checkout is the parent's tree: the operations that leave a file as it was
        // (`same`) are skipped, those bytes are there already.
        batch.apply(&self.dir, ops, &same)?;
        crash::point("index");
        // The index is not rewritten per wave (60,000 entries read from the tree and written
        // again cost more than the wave's own objects); it is removed, as it no longer
        // describes the checkout. Nothing reads it but a whole checkout after a crash or a
        // foreign push, which with `force` writes every file that differs from the branch.
        self.drop_index()?;
        crash::point("index-written");
        self.mark_clean()?;
        Ok(oid.to_string())
    }

    fn lock_path(&self) -> PathBuf {
        layout::git_lock(&self.dir)
    }
}

/// libgit2 maps the packs it reads into memory up to 8 GiB by default, and caches the trees it
/// reads up to 256 MiB: a large store's packs and trees then count as the process's memory.
/// 64 MiB of maps (in 8 MiB windows) and a 16 MiB cache are enough for a wave's lookups.
/// Its cache keeps no tree over 4 KiB by default, and a store's Promise folders hold a tree
/// entry per instance (tens of KiB): every path a wave looked up had those trees inflated and
/// parsed again, a third of a 10k apply's CPU in libgit2. Trees up to 1 MiB are kept.
///
/// Two checks of libgit2's are turned off here, as git itself does not make them either:
/// "strict object creation" (a tree may name only objects the writing handle can see), because
/// a wave's blobs are packed by vow, not through libgit2 (see [`pack`]), and every one is in a
/// pack written before the tree that names it; and "strict hash verification" (every object
/// read is hashed again with the collision-detecting SHA-1), which was some 6 % of a 10k
/// apply's CPU (the wave's tree lookups of objects vow itself wrote; BENCHMARKS.md, "round
/// six"). `git fsck` still checks the store, and a push still has git check what it sends.
fn bound_pack_maps() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        git2::opts::strict_object_creation(false);
        git2::opts::strict_hash_verification(false);
        // SAFETY: libgit2's global options are set once, before this process's first
        // repository is opened (`Once`), so no other libgit2 call runs at the same time.
        let set = unsafe {
            git2::opts::set_mwindow_size(8 << 20)
                .and_then(|()| git2::opts::set_mwindow_mapped_limit(64 << 20))
                .and_then(|()| git2::opts::set_cache_max_size(16 << 20))
                .and_then(|()| git2::opts::set_cache_object_limit(git2::ObjectType::Tree, 1 << 20))
        };
        if let Err(e) = set {
            tracing::debug!("cannot bound libgit2's pack maps: {e}");
        }
    });
}

/// A libgit2 failure, as libgit2 words it.
impl From<git2::Error> for Error {
    fn from(e: git2::Error) -> Error {
        Error::Git(e.to_string())
    }
}

/// A git command that could not run, as an error (git's absence is checked at open).
fn not_run(e: RunError) -> Error {
    match e {
        RunError::NotInstalled => Error::Git("git is not installed: install git".into()),
        RunError::Failed(e) => e,
    }
}
