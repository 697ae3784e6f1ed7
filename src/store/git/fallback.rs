//! Without git on the machine: libgit2's own transport, for a remote on this machine only (a
//! path or `file://`; libgit2 here has no TLS or ssh). It writes straight into the remote and
//! runs none of its hooks, so a remote with a hook that could refuse is not pushed to at all.

use crate::error::{Error, Result};
use git2::{FetchOptions, Oid, PushOptions, RemoteCallbacks, Repository};
use std::path::Path;

/// The remote's hooks that can refuse a push; only git's own receive-pack runs them.
const REFUSING_HOOKS: [&str; 4] = [
    "pre-receive",
    "update",
    "proc-receive",
    "reference-transaction",
];

/// Fetches `branch` from `origin` into `refs/remotes/origin/<branch>`.
pub(super) fn fetch(repo: &Repository, branch: &str, shown: &str) -> Result<Option<Oid>> {
    let mut remote = repo.find_remote("origin")?;
    let tracking = format!("refs/remotes/origin/{branch}");
    let spec = format!("+refs/heads/{branch}:{tracking}");
    remote
        .fetch(&[&spec], Some(&mut FetchOptions::new()), None)
        .map_err(|e| Error::Git(format!("cannot fetch {branch} from {shown}: {e}")))?;
    Ok(repo.refname_to_id(&tracking).ok())
}

/// The remote's `refname` as the remote reports it now (no objects fetched).
pub(super) fn remote_head(
    repo: &Repository,
    url: &str,
    refname: &str,
    shown: &str,
) -> Result<Option<Oid>> {
    let mut remote = repo.remote_anonymous(url)?;
    remote
        .connect(git2::Direction::Fetch)
        .map_err(|e| Error::Git(format!("cannot reach {shown}: {e}")))?;
    let found = remote
        .list()?
        .iter()
        .find(|h| h.name() == refname)
        .map(|h| h.oid());
    Ok(found)
}

/// Pushes `refname` to `origin` with libgit2, refusing a remote with a hook that could refuse.
pub(super) fn push(
    repo: &Repository,
    local: Option<&Path>,
    refname: &str,
    shown: &str,
) -> Result<()> {
    if let Some(hook) = local.and_then(remote_hook) {
        return Err(Error::Git(format!(
            "the remote {shown} has a {hook} hook, which only git's own push runs, and git is not installed: install git so that the remote judges the push"
        )));
    }
    let spec = format!("{refname}:{refname}");
    let mut remote = repo.find_remote("origin")?;
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
            .push(&[spec.as_str()], Some(&mut opts))
            .map_err(|e| Error::Git(format!("the remote refused the push: {e}")))?;
    }
    if let Some(r) = rejected {
        return Err(Error::Git(format!("the remote refused the push ({r})")));
    }
    Ok(())
}

/// The first hook of the (local) remote that could refuse a push.
fn remote_hook(path: &Path) -> Option<&'static str> {
    let repo = Repository::open(path).ok()?;
    let hooks = match repo.config().ok()?.get_path("core.hooksPath") {
        Ok(p) => p,
        Err(_) => repo.path().join("hooks"),
    };
    REFUSING_HOOKS.into_iter().find(|h| hooks.join(h).is_file())
}
