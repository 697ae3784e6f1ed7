//! The cache clone's life on disk: whether one is usable, made in a temporary folder and renamed
//! into place, and the temporary siblings an interrupted apply leaves (see `layout`).

use crate::error::{Error, Result};
use crate::store::{crash, layout};
use git2::Repository;
use std::path::{Path, PathBuf};

/// The cache if it opens and is consistent: its origin is `url`, its branch (if any) names a
/// commit whose tree it holds, and its HEAD and index can be read. Anything else is a cache a kill left half-made, or one made for
/// another remote.
pub(super) fn usable(cache: &Path, url: &str, branch: &str) -> Option<Repository> {
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
pub(super) fn create(url: &str, cache: &Path) -> Result<Repository> {
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
pub(super) fn remove_leftover_caches(cache: &Path) -> Result<()> {
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
pub(super) fn remove_path(p: &Path) -> Result<()> {
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
