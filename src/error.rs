//! The errors that stop a command, as data: each variant carries what a caller (or a test) needs
//! to act on it, prints as the one line (or the findings) a user reads, and maps to the exit code
//! the command gives. Per-document problems are not errors: they are [`Finding`]s, and the rest
//! of the batch goes on. These are the few things after which a command cannot.

use crate::diag::Finding;
use std::fmt;
use std::path::PathBuf;

/// The exit codes of every command (docs/planning.md lists them).
pub mod exit {
    /// Success: nothing blocks.
    pub const OK: i32 = 0;
    /// A finding fails the command (`--fail-on`).
    pub const FINDINGS: i32 = 1;
    /// vow could not do what it was asked: an [`Error`](super::Error).
    pub const ERROR: i32 = 2;
    /// `vow plan --fail-on never` found changes to make.
    pub const CHANGES: i32 = 3;
    /// `vow apply` of a run someone paused (`vow pause`): nothing was changed; `vow resume`.
    pub const PAUSED: i32 = 4;
}

/// A fatal error of a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or folder could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The workspace's configuration is unusable: rendered like every other finding.
    #[error("{}", Findings(.0))]
    Config(Vec<Finding>),
    /// The plan no longer matches the inputs or the store; nothing was applied.
    #[error("{message}")]
    StalePlan {
        message: String,
        reasons: Vec<String>,
    },
    /// Another apply holds the store's lock.
    #[error("{message}")]
    Locked {
        message: String,
        holder: Option<String>,
    },
    /// A plan file (or journal, or backup) was edited or damaged after vow wrote it.
    #[error("{0}")]
    EditedPlan(String),
    /// The git store: a git command failed or the remote refused a push.
    #[error("{0}")]
    Git(String),
    /// The store refused an operation (a path outside it, a symlink, a damaged record).
    #[error("{0}")]
    Store(String),
    /// The command was asked something it cannot do (an unknown request, disagreeing options).
    #[error("{0}")]
    Usage(String),
    /// A run control that means nothing in the run's state (resume a running run, promote with
    /// no pending gate, anything on a run that is over); nothing was written.
    #[error("{message}")]
    Control { run: String, message: String },
    /// Another run on the store is not over: a new run is refused until it ends (or
    /// `--supersede`); nothing was applied.
    #[error("{message}")]
    Unfinished { run: String, message: String },
    /// Whoever read stdout went away (`vow plan | head`): the command stops without a word.
    #[error("the reader of the output went away")]
    ReaderGone,
    /// The system refused what vow needs to run (its worker threads).
    #[error("{0}")]
    System(String),
    /// A git remote refused or could not be reached, with the cause read from git's words.
    #[error("{message}")]
    Remote { cause: RemoteCause, message: String },
}

impl Error {
    /// The exit code this error gives.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::ReaderGone => exit::OK,
            _ => exit::ERROR,
        }
    }

    /// An I/O error with the path it happened on.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Findings, one after the other, as `vow check` prints them.
struct Findings<'a>(&'a [Finding]);

impl fmt::Display for Findings<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, finding) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            f.write_str(&crate::snippet::human(
                finding,
                crate::snippet::Stream::Stderr,
            ))?;
        }
        Ok(())
    }
}

/// Why a git remote refused or could not be reached, read from what git said (the store's
/// transport classifies it; [`Error::Remote`] carries it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemoteCause {
    /// The remote refused the credentials (or there were none to give).
    Authentication,
    /// ssh does not know the remote's host key (strict `known_hosts`).
    HostKeyUnknown,
    /// The remote's ssh host key is not the one `known_hosts` records.
    HostKeyChanged,
    /// The remote's TLS certificate is not trusted.
    Certificate,
    /// The remote cannot be reached (refused, unreachable, unresolved, timed out).
    Network,
    /// There is no repository at that URL (or it is not exported to this user).
    RepositoryMissing,
    /// The repository has no such branch.
    BranchMissing,
    /// The push was refused because the branch moved since vow read it.
    BranchMoved,
    /// The remote (a hook, a protected branch) refused the push.
    PushRefused,
    /// Something else: git's own words say what.
    Other,
}

impl Error {
    /// The same error with `note` appended to what it says (the cause of a remote error kept).
    pub fn with_note(self, note: &str) -> Error {
        match self {
            Error::Remote { cause, message } => Error::Remote {
                cause,
                message: format!("{message}{note}"),
            },
            e => Error::Git(format!("{e:#}{note}")),
        }
    }
}
