//! Who the git store's commits say made them, so that the history of the state store can be
//! audited: the author and committer come from `vow.yaml` (`store.git.author`), else from the
//! user's git config (`user.name` and `user.email`, as `git config` resolves them in the cache
//! clone, so includes and conditional includes apply), else the default `vow <vow@localhost>`.
//!
//! Signing is not supported yet: when the git config asks for it (`commit.gpgSign=true`), the
//! commit is written unsigned and vow says so once (docs/apply.md, "Commits").

use super::net::{run, Output};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// The identity used when neither vow.yaml nor the git config gives one (what vow always used
/// before `store.git.author`).
pub(crate) const DEFAULT_NAME: &str = "vow";
pub(crate) const DEFAULT_EMAIL: &str = "vow@localhost";

/// The longest name or email accepted: an identity is one line of a commit header, not a file.
const MAX_LEN: usize = 256;

/// The author and committer of the git store's commits: a checked name and email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitAuthor {
    name: String,
    email: String,
}

/// Which of the two values is wrong, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorProblem {
    /// `name` or `email`.
    pub field: &'static str,
    pub message: String,
}

impl CommitAuthor {
    /// Checks a name and an email as git would write them into a commit header: not empty, one
    /// line, no `<` or `>` (they delimit the email), and an email with an `@` and no spaces.
    pub fn new(name: &str, email: &str) -> Result<CommitAuthor, AuthorProblem> {
        let name = name.trim();
        let email = email.trim();
        check_value("name", name)?;
        check_value("email", email)?;
        if email.contains(char::is_whitespace) || !email.contains('@') {
            return Err(AuthorProblem {
                field: "email",
                message: format!("{email:?} is not an email address (like ops@example.com)"),
            });
        }
        Ok(CommitAuthor {
            name: name.to_string(),
            email: email.to_string(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn email(&self) -> &str {
        &self.email
    }

    fn default_identity() -> CommitAuthor {
        CommitAuthor {
            name: DEFAULT_NAME.into(),
            email: DEFAULT_EMAIL.into(),
        }
    }
}

fn check_value(field: &'static str, value: &str) -> Result<(), AuthorProblem> {
    let why = if value.is_empty() {
        Some("is empty".to_string())
    } else if value.chars().count() > MAX_LEN {
        Some(format!("is longer than {MAX_LEN} characters"))
    } else if value.contains(['<', '>']) {
        Some(format!("{value:?} has a `<` or `>` in it"))
    } else if value.contains(char::is_control) {
        Some(format!(
            "{value:?} has a line break or control character in it"
        ))
    } else {
        None
    };
    match why {
        None => Ok(()),
        Some(message) => Err(AuthorProblem { field, message }),
    }
}

/// The identity of the commits made in the cache clone `dir`: `configured` (vow.yaml) if
/// given, else the git config's when `git` is installed and sets both values, else the default.
pub(crate) fn resolve(configured: Option<&CommitAuthor>, dir: &Path, cli: bool) -> CommitAuthor {
    if cli {
        warn_if_signing_asked(dir);
    }
    if let Some(a) = configured {
        return a.clone();
    }
    if !cli {
        return CommitAuthor::default_identity();
    }
    let (Some(name), Some(email)) = (git_config(dir, "user.name"), git_config(dir, "user.email"))
    else {
        return CommitAuthor::default_identity();
    };
    match CommitAuthor::new(&name, &email) {
        Ok(a) => a,
        Err(p) => {
            tracing::warn!(
                "the git config's user.{} cannot name a commit's author ({}): the git store's commits use {DEFAULT_NAME} <{DEFAULT_EMAIL}>; set store.git.author in vow.yaml",
                p.field,
                p.message
            );
            CommitAuthor::default_identity()
        }
    }
}

/// Said at most once per process: every wave's commit would say the same.
static SIGNING_WARNED: AtomicBool = AtomicBool::new(false);

fn warn_if_signing_asked(dir: &Path) {
    let asked = git_config(dir, "commit.gpgsign")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "yes" | "on" | "1"));
    if asked && !SIGNING_WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "the git config asks for signed commits (commit.gpgSign=true), but vow does not sign its commits yet: the git store's commits are unsigned (docs/apply.md, Commits)"
        );
    }
}

/// One value of the git config as `git config --get` resolves it in `dir`; `None` when unset,
/// empty, or git cannot say.
fn git_config(dir: &Path, key: &str) -> Option<String> {
    match run(dir, false, &["config", "--get", key]) {
        Ok(Output {
            success: true,
            stdout,
            ..
        }) => {
            let v = stdout.trim_end_matches(['\n', '\r']).to_string();
            Some(v).filter(|v| !v.trim().is_empty())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_a_commit_header_cannot_hold_are_refused() {
        assert!(CommitAuthor::new("Ops Team", "ops@example.com").is_ok());
        let field = |n: &str, e: &str| CommitAuthor::new(n, e).err().map(|p| p.field);
        assert_eq!(field("", "ops@example.com"), Some("name"));
        assert_eq!(field("a <b>", "ops@example.com"), Some("name"));
        assert_eq!(field("a\nb", "ops@example.com"), Some("name"));
        assert_eq!(field(&"x".repeat(300), "ops@example.com"), Some("name"));
        assert_eq!(field("Ops", "ops"), Some("email"));
        assert_eq!(field("Ops", "ops @example.com"), Some("email"));
        assert_eq!(field("Ops", "<ops@example.com>"), Some("email"));
        assert_eq!(field("Ops", " "), Some("email"));
    }
}
