//! Confined store paths: the one way a path inside a state store is built.
//!
//! Every path the stores write, read, copy or remove comes from untrusted text: request outputs,
//! destination paths and instance names, and the store's own records (bindings' file lists,
//! backups, the folder store's redo log, journals), which anyone who can push to the store may
//! edit. [`StorePath::new`] refuses what could leave the store (absolute paths, `..`, empty or
//! NUL components, names over 255 bytes), and every method that touches the file system checks
//! each component under the root with `symlink_metadata`, so no symlink in the store (a
//! destination folder, `.vow/`, an applied file) is ever followed. Files are opened with
//! `O_NOFOLLOW` as well, which closes the gap between the check and the open for the last
//! component. std and libc are enough for this; no `openat` crate is needed.

use crate::error::Error;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The longest file name most file systems hold (ext4, xfs, btrfs, APFS: 255 bytes).
pub const MAX_COMPONENT: usize = 255;

/// A path relative to a store's root, checked to stay inside it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct StorePath {
    rel: String,
}

/// Why a store path was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathError {
    pub path: String,
    pub why: String,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the store path `{}` is refused: {}",
            self.path.escape_debug(),
            self.why
        )
    }
}

impl std::error::Error for PathError {}

/// A refused path stops what was asked of the store, with its reason.
impl From<PathError> for Error {
    fn from(e: PathError) -> Error {
        Error::Store(e.to_string())
    }
}

fn refuse(path: &str, why: impl Into<String>) -> PathError {
    PathError {
        path: path.to_string(),
        why: why.into(),
    }
}

impl StorePath {
    /// Checks a `/`-separated relative path: no absolute path, no `..` or `.`, no empty or NUL
    /// component, no backslash (a separator elsewhere), no component over 255 bytes.
    pub fn new(rel: &str) -> Result<StorePath, PathError> {
        if rel.is_empty() {
            return Err(refuse(rel, "it is empty"));
        }
        if rel.starts_with('/') {
            return Err(refuse(rel, "it is absolute"));
        }
        if rel.contains('\0') {
            return Err(refuse(rel, "it holds a NUL byte"));
        }
        if rel.contains('\\') {
            return Err(refuse(rel, "it holds a backslash"));
        }
        for c in rel.split('/') {
            match c {
                "" => {
                    return Err(refuse(
                        rel,
                        "it has an empty component (`//` or a trailing `/`)",
                    ))
                }
                "." | ".." => return Err(refuse(rel, format!("it has a `{c}` component"))),
                _ if c.len() > MAX_COMPONENT => {
                    return Err(refuse(
                        rel,
                        format!("a component is {} bytes, over {MAX_COMPONENT}", c.len()),
                    ))
                }
                _ => {}
            }
        }
        Ok(StorePath {
            rel: rel.to_string(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.rel
    }

    /// The path under `root`, after checking that no component that exists is a symlink, that
    /// every directory component is a directory, and that the last one is not a directory.
    pub fn under(&self, root: &Path) -> Result<PathBuf, PathError> {
        self.under_in(root, &mut Checked::default())
    }

    /// As [`StorePath::under`], for one of a batch of paths: a directory `checked` holds was
    /// found to be a real directory by an earlier path of the batch and is not looked at again
    /// (a wave's 60,000 paths share a few thousand directories; checking each component of each
    /// path cost 2.9 million `statx` calls for a 10,000-instance apply).
    pub fn under_in(&self, root: &Path, checked: &mut Checked) -> Result<PathBuf, PathError> {
        #[cfg(target_os = "linux")]
        self.check_folder_beneath(root, checked);
        let mut at = root.to_path_buf();
        let parts: Vec<&str> = self.rel.split('/').collect();
        let last = parts.len().saturating_sub(1);
        for (i, c) in parts.iter().enumerate() {
            at.push(c);
            if i < last && checked.dirs.contains(&at) {
                continue;
            }
            let Ok(meta) = std::fs::symlink_metadata(&at) else {
                // Nothing there (or not readable): nothing further down exists to follow.
                return Ok(root.join(&self.rel));
            };
            let shown = parts.get(..=i).map(|p| p.join("/")).unwrap_or_default();
            if meta.file_type().is_symlink() {
                return Err(refuse(&self.rel, format!("`{shown}` is a symlink")));
            }
            if i < last && !meta.is_dir() {
                return Err(refuse(&self.rel, format!("`{shown}` is not a directory")));
            }
            if i == last && meta.is_dir() {
                return Err(refuse(&self.rel, "it is a directory"));
            }
            if i < last {
                checked.dirs.insert(at.clone());
            }
        }
        Ok(at)
    }

    /// Checks the file's folder in one `openat2(2)` call (see [`StorePath::read_in`]): when the
    /// kernel opens it with no symlink on the way and nothing outside `root`, every folder on
    /// the way is a real one and is marked checked. Otherwise nothing is marked, and the
    /// component checks of [`StorePath::under_in`] look (and name what they refuse).
    #[cfg(target_os = "linux")]
    fn check_folder_beneath(&self, root: &Path, checked: &mut Checked) {
        use rustix::fs::OFlags;
        let Some((folder, _)) = self.rel.rsplit_once('/') else {
            return;
        };
        if checked.dirs.contains(&root.join(folder)) {
            return;
        }
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        if checked
            .open_beneath(root, folder, flags)
            .is_some_and(|o| o.is_ok())
        {
            let mut at = root.to_path_buf();
            for c in folder.split('/') {
                at.push(c);
                checked.dirs.insert(at.clone());
            }
        }
    }

    /// The path under `root` of a folder: every component that exists is a real directory.
    pub fn dir_under(&self, root: &Path) -> Result<PathBuf, PathError> {
        let mut at = root.to_path_buf();
        for (i, c) in self.rel.split('/').enumerate() {
            at.push(c);
            let Ok(meta) = std::fs::symlink_metadata(&at) else {
                return Ok(root.join(&self.rel));
            };
            let shown = self
                .rel
                .split('/')
                .take(i + 1)
                .collect::<Vec<_>>()
                .join("/");
            if meta.file_type().is_symlink() {
                return Err(refuse(&self.rel, format!("`{shown}` is a symlink")));
            }
            if !meta.is_dir() {
                return Err(refuse(&self.rel, format!("`{shown}` is not a directory")));
            }
        }
        Ok(at)
    }

    /// Reads the file, `None` when it does not exist.
    pub fn read(&self, root: &Path) -> crate::error::Result<Option<Vec<u8>>> {
        self.read_in(root, &mut Checked::default())
    }

    /// As [`StorePath::read`], for one of a batch of reads (see [`StorePath::under_in`]).
    pub fn read_in(
        &self,
        root: &Path,
        checked: &mut Checked,
    ) -> crate::error::Result<Option<Vec<u8>>> {
        #[cfg(target_os = "linux")]
        if let Some(read) = self.read_beneath(root, checked) {
            return read;
        }
        let path = self.under_in(root, checked)?;
        let file = match open_nofollow(&path, false) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(e, "read the store file")),
        };
        let size = file.metadata().map_or(0, |m| m.len());
        let bytes =
            crate::source::read_sized(file, size).map_err(|e| self.io(e, "read the store file"))?;
        Ok(Some(bytes))
    }

    /// The read of [`StorePath::read_in`] in one `openat2(2)` call that the kernel confines: no
    /// symlink anywhere in the path, nothing outside `root`. Checking each component with
    /// `statx` first cost a path walk per component (a 10,000-instance apply spent a sixth of
    /// its time there). `None` when it cannot say (an old kernel, a seccomp filter, a symlink or
    /// a file where a folder should be, a folder where the file should be): the component
    /// checks then answer, and name the part that is refused.
    #[cfg(target_os = "linux")]
    fn read_beneath(
        &self,
        root: &Path,
        checked: &mut Checked,
    ) -> Option<crate::error::Result<Option<Vec<u8>>>> {
        use rustix::fs::OFlags;
        // Non-blocking: a FIFO planted in the store is refused, not waited on.
        let oflags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
        let fd = match checked.open_beneath(root, &self.rel, oflags)? {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => return Some(Ok(None)),
            Err(_) => return None,
        };
        let stat = rustix::fs::fstat(&fd).ok()?;
        let kind = rustix::fs::FileType::from_raw_mode(stat.st_mode);
        match kind {
            rustix::fs::FileType::RegularFile => {}
            rustix::fs::FileType::Directory => return None,
            _ => return Some(Err(refuse(&self.rel, "it is not a regular file").into())),
        }
        Some(
            crate::source::read_sized(std::fs::File::from(fd), stat.st_size.max(0) as u64)
                .map(Some)
                .map_err(|e| self.io(e, "read the store file")),
        )
    }

    /// Creates the directories above the file, one at a time, refusing a symlink among them.
    pub fn create_parent(&self, root: &Path) -> crate::error::Result<PathBuf> {
        self.create_parent_in(root, &mut Checked::default())
    }

    /// As [`StorePath::create_parent`], for one of a batch of writes: a directory `checked`
    /// holds (made or found by an earlier path of the batch) is neither looked at nor made
    /// again. This saves a mkdir per component per file (43,249 mkdir calls for a
    /// 1,000-instance apply, 11,127 with it).
    pub fn create_parent_in(
        &self,
        root: &Path,
        checked: &mut Checked,
    ) -> crate::error::Result<PathBuf> {
        // The folder was checked (or made) earlier in the batch: the file itself is left to the
        // writer, which neither follows a symlink there nor writes into a directory.
        let path = root.join(&self.rel);
        if path.parent().is_some_and(|p| checked.dirs.contains(p)) {
            return Ok(path);
        }
        let path = self.under_in(root, checked)?;
        if path.parent().is_some_and(|p| p == root) {
            return Ok(path);
        }
        let mut at = root.to_path_buf();
        let mut parts = self.rel.split('/').peekable();
        while let Some(c) = parts.next() {
            if parts.peek().is_none() {
                break;
            }
            at.push(c);
            if checked.dirs.contains(&at) {
                continue;
            }
            match std::fs::create_dir(&at) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(self.io(e, "create the directory of the store file")),
            }
        }
        // A directory made a symlink between the check and the creation is seen here (the
        // directories just made are not in `checked` yet, so they are looked at).
        self.under_in(root, checked)?;
        Ok(path)
    }

    /// Replaces the file atomically (a temporary file beside it, renamed over it; a rename
    /// replaces a symlink rather than following it), without syncing: callers sync once.
    pub fn replace(&self, root: &Path, bytes: &[u8]) -> crate::error::Result<()> {
        self.replace_in(root, bytes, &mut Checked::default())
    }

    /// As [`StorePath::replace`], for one of a batch of writes (see `create_parent_in`).
    pub fn replace_in(
        &self,
        root: &Path,
        bytes: &[u8],
        checked: &mut Checked,
    ) -> crate::error::Result<()> {
        let path = self.create_parent_in(root, checked)?;
        let mut tmp = path.clone().into_os_string();
        tmp.push(super::layout::TMP_SUFFIX);
        let tmp = PathBuf::from(tmp);
        // A temporary file left by a crash is ours to replace; a symlink there is removed, not
        // followed (remove_file removes the link itself). Created exclusively, so only then.
        let mut f = match open_nofollow(&tmp, true) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                std::fs::remove_file(&tmp).map_err(|e| self.io(e, "replace the store file"))?;
                open_nofollow(&tmp, true)
            }
            other => other,
        }
        .map_err(|e| self.io(e, "write the store file"))?;
        f.write_all(bytes)
            .map_err(|e| self.io(e, "write the store file"))?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(|e| self.io(e, "write the store file"))?;
        Ok(())
    }

    /// Rewrites the file in place (opened without following a symlink, written over, cut to the
    /// new length), creating it when absent; without syncing. No new inode is made: on ext4
    /// that is 40-70 us a file against 150-1,700 us for a temporary file renamed over it
    /// (`bench/fs-floor.sh`). A reader or a crash can see the file half-written, so only a
    /// caller that can write it again after a crash uses this: the folder store's replay (its
    /// redo log holds the contents) and the git store's checkout (its marker, see
    /// docs/crash-safety.md). A file with other hard links is replaced instead, so that a
    /// link to a file outside the store never has that file written through it.
    pub fn overwrite_in(
        &self,
        root: &Path,
        bytes: &[u8],
        checked: &mut Checked,
    ) -> crate::error::Result<()> {
        let path = self.create_parent_in(root, checked)?;
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // Not blocking on a FIFO someone left there: it is then replaced, as below.
            o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        }
        let mut f = o
            .open(&path)
            .map_err(|e| self.io(e, "write the store file"))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let meta = f
                .metadata()
                .map_err(|e| self.io(e, "write the store file"))?;
            if meta.nlink() > 1 || !meta.is_file() {
                drop(f);
                return self.replace_in(root, bytes, checked);
            }
        }
        f.write_all(bytes)
            .and_then(|()| f.set_len(u64::try_from(bytes.len()).unwrap_or(u64::MAX)))
            .map_err(|e| self.io(e, "write the store file"))?;
        Ok(())
    }

    /// Removes the file (nothing when it is absent) and the directories it leaves empty, up to
    /// the root.
    pub fn remove(&self, root: &Path) -> crate::error::Result<()> {
        self.remove_in(root, &mut Checked::default())
    }

    /// As [`StorePath::remove`], for one of a batch: the directories it removes are forgotten
    /// by `checked`.
    pub fn remove_in(&self, root: &Path, checked: &mut Checked) -> crate::error::Result<()> {
        let path = self.under_in(root, checked)?;
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(self.io(e, "remove the store file")),
        }
        let mut dir = path.parent();
        while let Some(d) = dir {
            if d == root || !d.starts_with(root) || std::fs::remove_dir(d).is_err() {
                break;
            }
            checked.dirs.remove(d);
            dir = d.parent();
        }
        Ok(())
    }

    /// `what` reads on: "cannot read the store file <path>: <why>".
    fn io(&self, e: std::io::Error, what: &'static str) -> Error {
        Error::io(what, &self.rel, e)
    }
}

impl fmt::Display for StorePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rel)
    }
}

/// Opens a file without following a symlink as its last component.
fn open_nofollow(path: &Path, create: bool) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    if create {
        o.write(true).create_new(true);
    } else {
        o.read(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW);
    }
    o.open(path)
}

/// The directories of a batch of paths (a wave's reads, checks or writes) found to be real
/// directories, or made, by an earlier path of the batch: see [`StorePath::under_in`]. A batch
/// runs under the store's lock, so no other vow changes them meanwhile.
#[derive(Default)]
pub struct Checked {
    dirs: std::collections::HashSet<PathBuf>,
    /// The store's root, open, for the batch's confined reads (`StorePath::read_beneath`).
    #[cfg(target_os = "linux")]
    root: Option<(PathBuf, rustix::fd::OwnedFd)>,
}

impl Checked {
    /// The root as an open directory, opened once per batch (`None` if it cannot be opened).
    #[cfg(target_os = "linux")]
    fn root_fd(&mut self, root: &Path) -> Option<rustix::fd::BorrowedFd<'_>> {
        use rustix::fd::AsFd;
        use rustix::fs::{Mode, OFlags};
        if self.root.as_ref().is_none_or(|(at, _)| at != root) {
            let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
            let fd = rustix::fs::open(root, flags, Mode::empty()).ok()?;
            self.root = Some((root.to_path_buf(), fd));
        }
        self.root.as_ref().map(|(_, fd)| fd.as_fd())
    }

    /// Opens `rel` from the root as the kernel confines it: no symlink on the way, nothing
    /// outside the root. `None` when the root cannot be opened.
    #[cfg(target_os = "linux")]
    fn open_beneath(
        &mut self,
        root: &Path,
        rel: &str,
        flags: rustix::fs::OFlags,
    ) -> Option<rustix::io::Result<rustix::fd::OwnedFd>> {
        use rustix::fs::{Mode, ResolveFlags};
        let resolve =
            ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
        let dir = self.root_fd(root)?;
        Some(rustix::fs::openat2(dir, rel, flags, Mode::empty(), resolve))
    }
}

/// Checks every operation's path before any is applied: a refused path stops the whole commit.
pub fn check_all<'a>(
    root: &Path,
    paths: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<StorePath>, PathError> {
    check_all_in(root, paths, &mut Checked::default())
}

/// As [`check_all`], keeping the directories it checked for the batch's writes that follow.
pub fn check_all_in<'a>(
    root: &Path,
    paths: impl IntoIterator<Item = &'a str>,
    checked: &mut Checked,
) -> Result<Vec<StorePath>, PathError> {
    paths
        .into_iter()
        .map(|p| {
            let sp = StorePath::new(p)?;
            sp.under_in(root, checked)?;
            Ok(sp)
        })
        .collect()
}

#[cfg(test)]
#[path = "path_tests.rs"]
mod tests;
