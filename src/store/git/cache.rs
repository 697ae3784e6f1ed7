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

/// How many packs the cache may hold before apply joins them into one. Each wave's commit adds a
/// pack or two, and every object lookup searches each pack's index: a cache never repacked
/// would make each apply slower than the last, and hold a file per pack open.
pub(super) const MAX_PACKS: usize = 64;

/// Joins the cache's packs into one (`git repack -a -d`, no delta search) when it holds more
/// than `max`; whether it did. Called with vow's lock held, so nothing else writes the cache;
/// git writes the new pack whole before it deletes the old ones, so a kill leaves the old packs,
/// or both, never fewer objects. What a ref or a reflog reaches is kept.
pub(super) fn join_packs(cache: &Path, max: usize) -> Result<bool> {
    let dir = cache.join(".git").join("objects").join("pack");
    let packs = std::fs::read_dir(&dir).map_or(0, |d| {
        d.filter_map(std::result::Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "pack"))
            .count()
    });
    if packs <= max {
        return Ok(false);
    }
    tracing::info!("joining the git cache's {packs} packs into one");
    let args = ["-c", "pack.window=0", "repack", "-a", "-d", "-q"];
    let out = super::net::run(cache, false, &args).map_err(super::not_run)?;
    if !out.success {
        return Err(Error::Git(format!(
            "`git repack` of the cache {} failed: {}; the apply goes on with its packs as they \
             are (remove the cache to have vow make it again)",
            cache.display(),
            out.stderr.trim()
        )));
    }
    Ok(true)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn packs(cache: &Path) -> usize {
        std::fs::read_dir(cache.join(".git/objects/pack"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "pack")
            })
            .count()
    }

    #[test]
    fn a_cache_with_too_many_packs_is_joined_into_one_and_keeps_every_commit() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = tmp.path();
        git(cache, &["init", "-q", "-b", "main"]);
        for i in 0..5 {
            std::fs::write(cache.join(format!("f{i}")), format!("{i}\n")).unwrap();
            git(cache, &["add", "."]);
            git(cache, &["commit", "-q", "-m", &format!("c{i}")]);
            // One pack of the new objects per commit, as each wave writes.
            git(cache, &["repack", "-q"]);
        }
        assert_eq!(packs(cache), 5);
        assert!(!join_packs(cache, 5).unwrap(), "at the limit: left alone");
        assert_eq!(packs(cache), 5);
        assert!(join_packs(cache, 3).unwrap());
        assert_eq!(packs(cache), 1);
        git(cache, &["fsck", "--strict", "--no-dangling"]);
        assert_eq!(git(cache, &["rev-list", "--count", "main"]).trim(), "5");
        assert!(Repository::open(cache)
            .unwrap()
            .revparse_single("main:f4")
            .is_ok());
    }
}
