//! Who the git store's commits say made them, so that the history of the state store can be
//! audited (docs/apply.md, "Commits"). Both the author and the committer are `store.git.author`
//! of vow.yaml when it is given; otherwise each value is the first of git's own sources: the
//! environment (`GIT_AUTHOR_NAME`, `GIT_AUTHOR_EMAIL`, `GIT_COMMITTER_NAME`,
//! `GIT_COMMITTER_EMAIL`), then the git config as `git config` resolves it in the cache clone (so
//! includes and conditional includes apply: `author.name` / `committer.name`, then `user.name`,
//! and the same for the email), else the default `vow <vow@localhost>`. Author and committer may
//! differ, as in git. Signing the commits is [`super::sign`]'s job.

use super::net::{run, Output};
use std::path::Path;

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
        Ok(CommitAuthor {
            name: check_name(name)?,
            email: check_email(email)?,
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

/// A name as a commit header can hold it (trimmed).
fn check_name(name: &str) -> Result<String, AuthorProblem> {
    let name = name.trim();
    check_value("name", name)?;
    Ok(name.to_string())
}

/// An email as a commit header can hold it (trimmed): one with an `@` and no spaces.
fn check_email(email: &str) -> Result<String, AuthorProblem> {
    let email = email.trim();
    check_value("email", email)?;
    if email.contains(char::is_whitespace) || !email.contains('@') {
        return Err(AuthorProblem {
            field: "email",
            message: format!("{email:?} is not an email address (like ops@example.com)"),
        });
    }
    Ok(email.to_string())
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

/// The author and the committer of a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) author: CommitAuthor,
    pub(crate) committer: CommitAuthor,
}

/// The identity of the commits made in the cache clone `dir`: `configured` (vow.yaml) if
/// given, else git's sources (the environment, then the git config when `git` is installed),
/// else the default.
pub(crate) fn resolve(configured: Option<&CommitAuthor>, dir: &Path, cli: bool) -> Identity {
    if let Some(a) = configured {
        return Identity {
            author: a.clone(),
            committer: a.clone(),
        };
    }
    let env = |key: &str| std::env::var(key).ok();
    let config = |key: &str| if cli { git_config(dir, key) } else { None };
    Identity {
        author: role("author", &env, &config),
        committer: role("committer", &env, &config),
    }
}

/// The `role` (`author` or `committer`) as git resolves it: each of the name and the email is
/// the first valid one of `GIT_<ROLE>_<FIELD>`, `<role>.<field>` and `user.<field>`; a value a
/// commit cannot hold is warned about and skipped. Without both, the default identity.
fn role(
    role: &str,
    env: &dyn Fn(&str) -> Option<String>,
    config: &dyn Fn(&str) -> Option<String>,
) -> CommitAuthor {
    let pick = |field: &str, check: fn(&str) -> Result<String, AuthorProblem>| {
        let var = format!(
            "GIT_{}_{}",
            role.to_ascii_uppercase(),
            field.to_ascii_uppercase()
        );
        let sources = [
            (format!("the environment's {var}"), var, env),
            (
                format!("the git config's {role}.{field}"),
                format!("{role}.{field}"),
                config,
            ),
            (
                format!("the git config's user.{field}"),
                format!("user.{field}"),
                config,
            ),
        ];
        for (said, key, lookup) in sources {
            let Some(value) = lookup(&key).filter(|v| !v.trim().is_empty()) else {
                continue;
            };
            match check(&value) {
                Ok(v) => return Some(v),
                Err(p) => tracing::warn!(
                    "{said} cannot name a commit's {role} ({}): it is skipped; set store.git.author in vow.yaml to choose who the git store's commits name",
                    p.message
                ),
            }
        }
        None
    };
    match (pick("name", check_name), pick("email", check_email)) {
        (Some(name), Some(email)) => CommitAuthor { name, email },
        _ => CommitAuthor::default_identity(),
    }
}

/// One value of the git config as `git config --get` resolves it in `dir`; `None` when unset,
/// empty, or git cannot say.
pub(super) fn git_config(dir: &Path, key: &str) -> Option<String> {
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

    /// Variables or config keys, and their values.
    type Values = &'static [(&'static str, &'static str)];

    /// (environment, git config, author wanted, committer wanted) as `name <email>`.
    const ROLES: &[(Values, Values, &str, &str)] = &[
        (&[], &[], "vow <vow@localhost>", "vow <vow@localhost>"),
        (
            &[],
            &[("user.name", "U"), ("user.email", "u@x.io")],
            "U <u@x.io>",
            "U <u@x.io>",
        ),
        (
            &[("GIT_AUTHOR_NAME", "A"), ("GIT_COMMITTER_EMAIL", "c@x.io")],
            &[("user.name", "U"), ("user.email", "u@x.io")],
            "A <u@x.io>",
            "U <c@x.io>",
        ),
        (
            &[("GIT_AUTHOR_EMAIL", "not an email")],
            &[("user.name", "U"), ("user.email", "u@x.io")],
            "U <u@x.io>",
            "U <u@x.io>",
        ),
        (
            &[],
            &[
                ("author.name", "Au"),
                ("committer.email", "co@x.io"),
                ("user.name", "U"),
                ("user.email", "u@x.io"),
            ],
            "Au <u@x.io>",
            "U <co@x.io>",
        ),
        (
            &[("GIT_AUTHOR_NAME", "A")],
            &[],
            "vow <vow@localhost>",
            "vow <vow@localhost>",
        ),
    ];

    #[test]
    fn each_value_is_the_first_valid_of_the_environment_and_the_git_config() {
        for (env, config, author, committer) in ROLES {
            let find = |table: &[(&str, &str)], key: &str| {
                table
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v.to_string())
            };
            let env = |key: &str| find(env, key);
            let config = |key: &str| find(config, key);
            let show = |a: CommitAuthor| format!("{} <{}>", a.name(), a.email());
            assert_eq!(show(role("author", &env, &config)), *author);
            assert_eq!(show(role("committer", &env, &config)), *committer);
        }
    }
}
