//! The network half of the git store: every fetch, `ls-remote` and push goes through the `git`
//! command, so the user's credential helpers, ssh agent and `~/.ssh/config`,
//! `GIT_SSH_COMMAND`, `insteadOf` and proxies apply exactly as for their own git (libgit2 here
//! has no TLS or ssh, and its ssh ignores `~/.ssh/config`). Git never prompts
//! (`GIT_TERMINAL_PROMPT=0`, no stdin, ssh in batch mode unless the user chose an ssh command),
//! its output is read bounded, and a command that runs past `VOW_GIT_TIMEOUT` seconds (default
//! 300) is killed. The signing programs ([`super::sign`]) run through the same bounded runner.

use super::cause::remote_error;
use crate::error::{Error, Result};
use git2::Oid;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How much of a git command's stdout and stderr is kept (the rest is read and dropped).
const OUTPUT_LIMIT: u64 = 1 << 20;
const DEFAULT_TIMEOUT_SECS: u64 = 300;

/// What a finished git command printed.
pub(crate) struct Output {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Why a git command gave no [`Output`].
pub(crate) enum RunError {
    /// There is no `git` on the PATH.
    NotInstalled,
    Failed(Error),
}

/// Runs `git -C dir ARGS` without a prompt, bounded in output and time.
pub(crate) fn run(dir: &Path, batch_ssh: bool, args: &[&str]) -> Result<Output, RunError> {
    run_as(dir, batch_ssh, &[], args)
}

/// [`run`] with `config` (`-c name=value` pairs) given to git before the command.
fn run_as(dir: &Path, batch_ssh: bool, config: &[&str], args: &[&str]) -> Result<Output, RunError> {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir);
    // No automatic gc or maintenance in the cache: a detached repack would race with libgit2
    // writing the next wave (and hold locks the crash recovery would take for stale).
    cmd.args(["-c", "gc.auto=0", "-c", "maintenance.auto=false"]);
    if batch_ssh {
        // Never ask about a host key or a password: fail, and say why.
        cmd.args(["-c", "core.sshCommand=ssh -o BatchMode=yes"]);
    }
    cmd.args(config)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE");
    let what = format!("git {}", args.first().copied().unwrap_or(""));
    run_command(cmd, &what, None)
}

/// Runs `cmd` (named `what` in messages) with `input` as its standard input (none: stdin is
/// null, so it cannot wait for a person there), its output read bounded, killed after
/// `VOW_GIT_TIMEOUT` seconds. `NotInstalled`: the program is not on the PATH.
pub(crate) fn run_command(
    mut cmd: Command,
    what: &str,
    input: Option<Vec<u8>>,
) -> Result<Output, RunError> {
    let stdin = match input {
        Some(_) => Stdio::piped(),
        None => Stdio::null(),
    };
    cmd.stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(RunError::NotInstalled),
        Err(e) => {
            return Err(RunError::Failed(Error::Git(format!(
                "cannot run `{what}`: {e}"
            ))))
        }
    };
    // Written on a thread, so a program that prints before it has read everything cannot
    // block on a full pipe while vow blocks on writing; dropping the pipe closes its stdin.
    let feed = match (child.stdin.take(), input) {
        (Some(mut pipe), Some(bytes)) => Some(std::thread::spawn(move || {
            let _ = std::io::Write::write_all(&mut pipe, &bytes);
        })),
        _ => None,
    };
    let out = child.stdout.take().map(reader);
    let err = child.stderr.take().map(reader);
    let deadline = Instant::now() + timeout();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                return Err(RunError::Failed(Error::Git(format!(
                    "cannot wait for `{what}`: {e}"
                ))))
            }
        }
    };
    if let Some(h) = feed {
        let _ = h.join();
    }
    let collect = |h: Option<std::thread::JoinHandle<Vec<u8>>>| {
        h.and_then(|h| h.join().ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    let (stdout, mut stderr) = (collect(out), collect(err));
    let Some(status) = status else {
        stderr.push_str("\nfatal: operation timed out (VOW_GIT_TIMEOUT)\n");
        return Ok(Output {
            success: false,
            stdout,
            stderr,
        });
    };
    Ok(Output {
        success: status.success(),
        stdout,
        stderr,
    })
}

/// Reads a pipe to its end on a thread, keeping the first [`OUTPUT_LIMIT`] bytes.
fn reader<R: Read + Send + 'static>(pipe: R) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut pipe = pipe;
        let mut kept = Vec::new();
        let _ = (&mut pipe).take(OUTPUT_LIMIT).read_to_end(&mut kept);
        let _ = std::io::copy(&mut pipe, &mut std::io::sink());
        kept
    })
}

fn timeout() -> Duration {
    let secs = std::env::var("VOW_GIT_TIMEOUT")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(DEFAULT_TIMEOUT_SECS);
    Duration::from_secs(secs)
}

/// Whether the user chose how git runs ssh (then vow leaves it alone).
pub(crate) fn user_ssh_command(dir: &Path) -> bool {
    if std::env::var_os("GIT_SSH_COMMAND").is_some() || std::env::var_os("GIT_SSH").is_some() {
        return true;
    }
    matches!(
        run(dir, false, &["config", "--get", "core.sshCommand"]),
        Ok(Output { success: true, .. })
    )
}

/// The network operations on the cache clone `dir`, whose `origin` is the remote.
pub(crate) struct Net<'a> {
    pub dir: &'a Path,
    /// The remote's URL as messages show it (redacted).
    pub shown: &'a str,
    pub branch: &'a str,
    pub batch_ssh: bool,
    /// The remote is on this machine (a path or `file://`): a push sends its objects whole.
    pub local: bool,
}

impl Net<'_> {
    fn git(&self, args: &[&str]) -> Result<Output, RunError> {
        run(self.dir, self.batch_ssh, args)
    }

    fn failed(&self, what: String, out: &Output) -> Error {
        let text = format!("{}{}", out.stderr, out.stdout);
        remote_error(&what, &text, self.shown, self.branch)
    }

    /// The remote's branch head, as the remote reports it now (no objects fetched).
    pub(super) fn remote_head(&self) -> Result<Option<Oid>, RunError> {
        let want = format!("refs/heads/{}", self.branch);
        let out = self.git(&["ls-remote", "--refs", "origin", &want])?;
        if !out.success {
            return Err(RunError::Failed(
                self.failed(format!("cannot reach {}", self.shown), &out),
            ));
        }
        for line in out.stdout.lines() {
            if let Some((oid, name)) = line.split_once('\t') {
                if name.trim() == want {
                    return Oid::from_str(oid.trim()).map(Some).map_err(|_| {
                        RunError::Failed(Error::Git(format!(
                            "{} answered a branch head that is no object id",
                            self.shown
                        )))
                    });
                }
            }
        }
        Ok(None)
    }

    /// The branch the remote's `HEAD` names (`None`: an empty remote, or one without `HEAD`).
    pub(super) fn default_branch(&self) -> Result<Option<String>, RunError> {
        let out = self.git(&["ls-remote", "--symref", "origin", "HEAD"])?;
        if !out.success {
            return Err(RunError::Failed(
                self.failed(format!("cannot reach {}", self.shown), &out),
            ));
        }
        for line in out.stdout.lines() {
            let Some(rest) = line.strip_prefix("ref: refs/heads/") else {
                continue;
            };
            let Some((name, "HEAD")) = rest.split_once('\t') else {
                continue;
            };
            // The remote's word is untrusted: only a valid branch name is taken.
            if git2::Reference::is_valid_name(&format!("refs/heads/{name}")) {
                return Ok(Some(name.to_string()));
            }
            return Err(RunError::Failed(Error::Git(format!(
                "{} names a default branch that is not a valid branch name; set `branch` of the store in vow.yaml",
                self.shown
            ))));
        }
        Ok(None)
    }

    /// Fetches the branch into `refs/remotes/origin/<branch>`.
    pub(super) fn fetch(&self) -> Result<(), RunError> {
        let spec = format!("+refs/heads/{0}:refs/remotes/origin/{0}", self.branch);
        let out = self.git(&["fetch", "--quiet", "--no-tags", "origin", &spec])?;
        if !out.success {
            return Err(RunError::Failed(self.failed(
                format!("cannot fetch {} from {}", self.branch, self.shown),
                &out,
            )));
        }
        Ok(())
    }

    /// Pushes the local branch to the remote's, atomically and only if the remote's is still
    /// at `expected` (`None`: it must not exist yet; the first push creates it).
    pub(super) fn push(&self, expected: Option<Oid>) -> Result<(), RunError> {
        let dest = format!("refs/heads/{}", self.branch);
        let lease = format!(
            "--force-with-lease={dest}:{}",
            expected.map(|o| o.to_string()).unwrap_or_default()
        );
        let spec = format!("{dest}:{dest}");
        // Not `--porcelain`: its lines are for programs, and the user reads git's own.
        let push = ["push", "--atomic", lease.as_str(), "origin", spec.as_str()];
        let out = match self.local {
            // To a remote on this machine, bytes cost nothing and CPU is all: no delta search
            // (pack-objects tries ten objects against each of a wave's 30,000; 10 s of CPU for
            // a 10,000-instance upgrade, 2 s without, BENCHMARKS.md "round five"). Over the
            // network the deltas shrink the upload, so git's (and the user's) settings stay.
            true => run_as(self.dir, self.batch_ssh, &["-c", "pack.window=0"], &push)?,
            false => self.git(&push)?,
        };
        if !out.success {
            return Err(RunError::Failed(self.failed(
                format!(
                    "the remote refused the push of {} to {}",
                    self.branch, self.shown
                ),
                &out,
            )));
        }
        Ok(())
    }
}
