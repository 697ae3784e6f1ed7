//! Signed commits in the git store, the way git signs them (docs/apply.md, "Commits"): when the
//! user's git config, as `git config` resolves it in the cache clone, has `commit.gpgSign=true`,
//! every commit vow makes is signed by the program git would run: `gpg --status-fd=2 -bsau <key>`
//! for `gpg.format=openpgp` (the default), `ssh-keygen -Y sign -n git -f <key file>` for
//! `gpg.format=ssh`. `gpg.format=x509` (gpgsm) and `gpg.ssh.defaultKeyCommand` are refused with
//! a clear error rather than half supported.
//!
//! libgit2 builds the commit's bytes (`commit_create_buffer`), the program signs them, libgit2
//! writes the signed commit (`commit_signed`), and the branch is moved only if it still names
//! the parent, as an unsigned commit's is. A program that fails is an error before anything is
//! committed, so the wave is not applied. The program never gets a terminal to ask on: its
//! input is the commit (gpg) or nothing (ssh-keygen), `GPG_TTY` is removed, ssh-keygen's
//! passphrase question goes to an askpass that says no, and its output is read bounded.

use super::author::{resolve, CommitAuthor, Identity};
use super::net::{self, run_command, RunError};
use crate::error::{Error, Result};
use git2::{Oid, Repository, Signature};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The most of a signature read back (an armored signature is about a kilobyte).
const SIGNATURE_LIMIT: u64 = 1 << 16;
/// The lines of a failing program's stderr that an error shows (its last ones).
const SHOWN_LINES: usize = 12;
const SHOWN_LINE_CHARS: usize = 300;
/// What a signing error leaves: apply stops before the wave's commit exists.
const NOTHING_DONE: &str = "Nothing was committed or pushed: this wave is not applied, and the journal does not record it.";

/// Who makes the store's commits and how they are signed, resolved once per store.
pub(crate) struct Committing {
    identity: Identity,
    signer: Option<Signer>,
}

impl Committing {
    /// Reads the identity ([`super::author`]) and the signing config of the cache clone `dir`.
    /// Without `git` there is no git config, so no signing either.
    pub(crate) fn resolve(
        configured: Option<&CommitAuthor>,
        dir: &Path,
        cli: bool,
    ) -> Result<Committing> {
        let identity = resolve(configured, dir, cli);
        let signer = match cli {
            true => from_config(
                &|key, kind| lookup(dir, key, kind),
                identity.committer.email(),
            )
            .map_err(|e| {
                Error::Git(format!(
                    "cannot sign the git store's commits: {e}.\n  {NOTHING_DONE}"
                ))
            })?,
            false => None,
        };
        Ok(Committing { identity, signer })
    }
}

/// Makes the commit of `tree` on `parent` with `message` in `repo`, signed when the config asks
/// for it, and moves `refname` to it only if it still names `parent` (`None`: only if it does
/// not exist yet), so a concurrent writer in the same cache makes this fail rather than be
/// overwritten.
pub(crate) fn commit(
    repo: &Repository,
    how: &Committing,
    refname: &str,
    parent: Option<&git2::Commit<'_>>,
    tree: &git2::Tree<'_>,
    message: &str,
) -> Result<Oid> {
    let (author, committer) = (&how.identity.author, &how.identity.committer);
    let author = Signature::now(author.name(), author.email())?;
    let committer = Signature::new(committer.name(), committer.email(), &author.when())?;
    let parents: Vec<&git2::Commit> = parent.into_iter().collect();
    let Some(signer) = &how.signer else {
        return Ok(repo.commit(Some(refname), &author, &committer, message, tree, &parents)?);
    };
    let buffer = repo.commit_create_buffer(&author, &committer, message, tree, &parents)?;
    let Ok(buffer) = buffer.as_str() else {
        return Err(Error::Git(
            "the commit to sign is not UTF-8 text; report this as a bug".into(),
        ));
    };
    let signature = signer.sign(buffer)?;
    let oid = repo.commit_signed(buffer, &signature, None)?;
    let log = format!("commit: {}", message.lines().next().unwrap_or(""));
    match parent {
        Some(p) => repo.reference_matching(refname, oid, true, p.id(), &log)?,
        None => repo.reference(refname, oid, false, &log)?,
    };
    Ok(oid)
}

/// The program that signs, as the git config names it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Signer {
    /// `gpg.format=openpgp`: `program --status-fd=2 -bsau key`, the commit on stdin.
    OpenPgp { program: String, key: String },
    /// `gpg.format=ssh`: `program -Y sign -n git -f key file`, the signature in `file.sig`.
    Ssh { program: String, key: SshKey },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum SshKey {
    /// A key file: a private key, or a public key whose private key the agent holds.
    File(PathBuf),
    /// A public key given in the config (`key::ssh-ed25519 AAAA...`): the agent signs.
    Literal(String),
}

/// How a config value is read: as text, as a boolean, or as a path (`~/` expanded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    Bool,
    Path,
}

/// A config lookup: `Ok(None)` when unset, `Err` when set to what git cannot read.
type Lookup<'a> = &'a dyn Fn(&str, Kind) -> std::result::Result<Option<String>, String>;

/// The signer the config asks for (`None`: signing is off); `email` is the committer's, the key
/// gpg is asked for when `user.signingKey` is unset.
fn from_config(get: Lookup<'_>, email: &str) -> std::result::Result<Option<Signer>, String> {
    let sign = get("commit.gpgsign", Kind::Bool)?;
    if sign.as_deref().map(str::trim) != Some("true") {
        return Ok(None);
    }
    let format = get("gpg.format", Kind::Text)?.unwrap_or_else(|| "openpgp".into());
    // Case matters, as in git (`gpg.format = SSH` is an error there too).
    match format.trim() {
        "openpgp" => {
            let program = match get("gpg.openpgp.program", Kind::Text)? {
                Some(p) => p,
                None => get("gpg.program", Kind::Text)?.unwrap_or_else(|| "gpg".into()),
            };
            let key = get("user.signingkey", Kind::Text)?.unwrap_or_else(|| email.to_string());
            Ok(Some(Signer::OpenPgp { program, key }))
        }
        "ssh" => {
            let program =
                get("gpg.ssh.program", Kind::Text)?.unwrap_or_else(|| "ssh-keygen".into());
            let Some(key) = get("user.signingkey", Kind::Path)? else {
                return Err("gpg.format is ssh but user.signingKey is not set (vow does not run gpg.ssh.defaultKeyCommand): set user.signingKey to the path of your ssh key, or to `key::<public key>` with the key in the ssh agent".into());
            };
            let key = key.trim();
            let key = match key.strip_prefix("key::") {
                Some(literal) => SshKey::Literal(literal.trim().to_string()),
                None if key.starts_with("ssh-") => SshKey::Literal(key.to_string()),
                None => SshKey::File(PathBuf::from(key)),
            };
            Ok(Some(Signer::Ssh { program, key }))
        }
        "x509" => Err("gpg.format is x509 (gpgsm), which vow does not support: use gpg.format openpgp or ssh, or turn signing off for vow (commit.gpgSign=false; docs/apply.md, Commits)".into()),
        other => Err(format!(
            "gpg.format is {other:?}, which git does not know: set it to openpgp or ssh"
        )),
    }
}

/// One value of the git config of the cache clone `dir`, as `git config --get` reads it.
fn lookup(dir: &Path, key: &str, kind: Kind) -> std::result::Result<Option<String>, String> {
    let mut args = vec!["config", "--get"];
    match kind {
        Kind::Text => {}
        Kind::Bool => args.push("--type=bool"),
        Kind::Path => args.push("--type=path"),
    }
    args.push(key);
    match net::run(dir, false, &args) {
        Ok(out) if out.success => {
            let v = out.stdout.trim_end_matches(['\n', '\r']).to_string();
            Ok(Some(v).filter(|v| !v.trim().is_empty()))
        }
        // Unset says nothing; a value git cannot read says why.
        Ok(out) if out.stderr.trim().is_empty() => Ok(None),
        Ok(out) => Err(format!(
            "git cannot read {key} in the git config: {}",
            out.stderr.trim()
        )),
        Err(_) => Ok(None),
    }
}

impl Signer {
    /// The signature of `buffer`.
    fn sign(&self, buffer: &str) -> Result<String> {
        match self {
            Signer::OpenPgp { program, key } => {
                let mut cmd = Command::new(program);
                cmd.args(["--status-fd=2", "-bsau", key])
                    .env_remove("GPG_TTY");
                let shown = format!("{program} --status-fd=2 -bsau {key}");
                let out = run_command(cmd, &shown, Some(buffer.as_bytes().to_vec()))
                    .map_err(|e| self.failed(&shown, Failure::from(e)))?;
                let created = out
                    .stderr
                    .lines()
                    .any(|l| l.starts_with("[GNUPG:] SIG_CREATED "));
                if !out.success || !created || out.stdout.trim().is_empty() {
                    return Err(self.failed(&shown, Failure::Refused(&out.stderr)));
                }
                Ok(out.stdout.replace("\r\n", "\n"))
            }
            Signer::Ssh { program, key } => self.sign_ssh(program, key, buffer),
        }
    }

    /// ssh-keygen signs a file: the commit is written to a temporary folder (the system's, so
    /// that an apply killed here leaves nothing in the cache; the commit and a public key are
    /// no secrets), and the signature read back from `<file>.sig`.
    fn sign_ssh(&self, program: &str, key: &SshKey, buffer: &str) -> Result<String> {
        let io = |what: &'static str, p: &Path| {
            let p = p.to_path_buf();
            move |e| Error::io(what, &p, e)
        };
        let temp = std::env::temp_dir();
        let dir = tempfile::Builder::new()
            .prefix("vow-sign-")
            .tempdir_in(&temp)
            .map_err(io("create", &temp))?;
        let data = dir.path().join("commit");
        std::fs::write(&data, buffer).map_err(io("write", &data))?;
        let mut cmd = Command::new(program);
        cmd.args(["-Y", "sign", "-n", "git", "-f"]);
        let shown_key = match key {
            SshKey::File(path) => {
                cmd.arg(path);
                path.display().to_string()
            }
            SshKey::Literal(public) => {
                let file = dir.path().join("key.pub");
                std::fs::write(&file, format!("{public}\n")).map_err(io("write", &file))?;
                // -U: the private key is in the agent (what git passes for a literal key).
                cmd.arg(&file).arg("-U");
                format!("key::{public}")
            }
        };
        cmd.arg(&data);
        if std::env::var_os("SSH_ASKPASS").is_none() {
            // A key with a passphrase is refused at once rather than asked about on the
            // terminal: ssh-keygen asks the askpass, and `false` answers nothing.
            cmd.env("SSH_ASKPASS", "false")
                .env("SSH_ASKPASS_REQUIRE", "force");
        }
        let shown = format!("{program} -Y sign -n git -f {shown_key}");
        let out =
            run_command(cmd, &shown, None).map_err(|e| self.failed(&shown, Failure::from(e)))?;
        let sig_file = dir.path().join("commit.sig");
        let mut signature = String::new();
        let read = std::fs::File::open(&sig_file)
            .and_then(|f| f.take(SIGNATURE_LIMIT).read_to_string(&mut signature));
        if !out.success || read.is_err() || signature.trim().is_empty() {
            return Err(self.failed(&shown, Failure::Refused(&out.stderr)));
        }
        Ok(signature.replace("\r\n", "\n"))
    }

    /// Why signing failed, and what to do.
    fn failed(&self, shown: &str, why: Failure<'_>) -> Error {
        let (program, setting, package) = match self {
            Signer::OpenPgp { program, .. } => (program, "gpg.program", "gnupg"),
            Signer::Ssh { program, .. } => (program, "gpg.ssh.program", "openssh-client"),
        };
        let off = "or turn signing off for vow (commit.gpgSign=false, e.g. `GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=commit.gpgSign GIT_CONFIG_VALUE_0=false vow apply ...`)";
        let fix = match (self, &why) {
            (_, Failure::CannotRun(e)) => format!("{e}"),
            (_, Failure::Missing) => format!(
                "`{program}` is not installed: install it ({package}) or set {setting} to the signing program, {off}"
            ),
            (Signer::OpenPgp { key, .. }, _) => format!(
                "check that `gpg --list-secret-keys '{key}'` lists the key and that gpg-agent can use it without asking (a key with no passphrase, or one preset in the agent); set user.signingKey to choose the key, {off}"
            ),
            (Signer::Ssh { key, .. }, _) => {
                let key = match key {
                    SshKey::File(p) => p.display().to_string(),
                    SshKey::Literal(k) => format!("key::{k}"),
                };
                format!(
                    "check that {key} is a private key with no passphrase, or that the ssh agent holds its key (`ssh-add -L` lists it and SSH_AUTH_SOCK is set); set user.signingKey to choose the key, {off}"
                )
            }
        };
        Error::Git(format!(
            "cannot sign the git store's commit: `{shown}` failed{}\n  Fix: {fix}.\n  {NOTHING_DONE}",
            match why {
                Failure::Refused(stderr) => said(stderr),
                _ => String::new(),
            }
        ))
    }
}

/// How a signing program failed.
enum Failure<'a> {
    /// It is not on the PATH.
    Missing,
    /// It could not be started or waited for.
    CannotRun(Error),
    /// It ran and gave no signature; what it printed on stderr.
    Refused(&'a str),
}

impl From<RunError> for Failure<'_> {
    fn from(e: RunError) -> Self {
        match e {
            RunError::NotInstalled => Failure::Missing,
            RunError::Failed(e) => Failure::CannotRun(e),
        }
    }
}

/// The last lines a program printed (its status lines left out), bounded, for an error.
fn said(stderr: &str) -> String {
    let lines: Vec<String> = stderr
        .lines()
        .filter(|l| !l.starts_with("[GNUPG:]") && !l.trim().is_empty())
        .map(|l| l.chars().take(SHOWN_LINE_CHARS).collect())
        .collect();
    let skip = lines.len().saturating_sub(SHOWN_LINES);
    let kept: Vec<String> = lines.into_iter().skip(skip).collect();
    match kept.is_empty() {
        true => String::new(),
        false => format!(":\n    {}", kept.join("\n    ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Config keys and values, as `git config --get` gives them.
    type Config = Vec<(&'static str, &'static str)>;

    fn signer(config: &[(&str, &str)]) -> std::result::Result<Option<Signer>, String> {
        let get = |key: &str, _: Kind| {
            Ok(config
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string()))
        };
        from_config(&get, "c@x.io")
    }

    fn pgp(program: &str, key: &str) -> Option<Signer> {
        Some(Signer::OpenPgp {
            program: program.into(),
            key: key.into(),
        })
    }

    fn ssh(program: &str, key: SshKey) -> Option<Signer> {
        Some(Signer::Ssh {
            program: program.into(),
            key,
        })
    }

    #[test]
    fn the_config_names_the_signer_as_git_reads_it() {
        let on = ("commit.gpgsign", "true");
        let cases: Vec<(Config, Option<Signer>)> = vec![
            (vec![], None),
            (
                vec![("commit.gpgsign", "false"), ("gpg.format", "ssh")],
                None,
            ),
            (vec![on], pgp("gpg", "c@x.io")),
            (vec![on, ("user.signingkey", "ABCD")], pgp("gpg", "ABCD")),
            (vec![on, ("gpg.program", "gpg2")], pgp("gpg2", "c@x.io")),
            (
                vec![on, ("gpg.program", "gpg2"), ("gpg.openpgp.program", "g3")],
                pgp("g3", "c@x.io"),
            ),
            (
                vec![on, ("gpg.format", "ssh"), ("user.signingkey", "/k/id")],
                ssh("ssh-keygen", SshKey::File("/k/id".into())),
            ),
            (
                vec![
                    on,
                    ("gpg.format", "ssh"),
                    ("gpg.ssh.program", "/bin/sk"),
                    ("user.signingkey", "key::ssh-ed25519 AAAA c"),
                ],
                ssh("/bin/sk", SshKey::Literal("ssh-ed25519 AAAA c".into())),
            ),
            (
                vec![
                    on,
                    ("gpg.format", "ssh"),
                    ("user.signingkey", "ssh-rsa AAAA"),
                ],
                ssh("ssh-keygen", SshKey::Literal("ssh-rsa AAAA".into())),
            ),
        ];
        for (config, want) in cases {
            assert_eq!(signer(&config), Ok(want), "{config:?}");
        }
    }

    #[test]
    fn what_vow_cannot_sign_with_is_refused_with_the_fix() {
        let on = ("commit.gpgsign", "true");
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[on, ("gpg.format", "x509")], "gpgsm"),
            (&[on, ("gpg.format", "pgp")], "openpgp or ssh"),
            (&[on, ("gpg.format", "SSH")], "openpgp or ssh"),
            (&[on, ("gpg.format", "ssh")], "set user.signingKey"),
        ];
        for (config, says) in cases {
            let e = signer(config).err().unwrap_or_default();
            assert!(e.contains(says), "{config:?}: {e}");
        }
    }

    #[test]
    fn a_failing_program_is_shown_by_its_last_lines() {
        let noise: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let shown = said(&format!("[GNUPG:] KEY_CONSIDERED x\n{noise}"));
        assert!(shown.contains("line 99") && !shown.contains("line 10\n"));
        assert!(!shown.contains("GNUPG"));
        assert_eq!(said(""), "");
    }
}
