//! Signed commits in the git store (docs/apply.md, "Commits"): with `commit.gpgSign=true` in
//! the user's git config (a temporary `GIT_CONFIG_GLOBAL`), every commit vow pushes is signed
//! by `ssh-keygen -Y sign` (`gpg.format=ssh`) or by gpg (a throwaway `GNUPGHOME`), and `git
//! verify-commit` accepts each one; a signing program that fails leaves the remote and the
//! journal without the wave; and the `GIT_AUTHOR_*` / `GIT_COMMITTER_*` variables name the
//! author and committer, below vow.yaml's `store.git.author`. The remote is a `file://` bare
//! repository, reached through the `git` command. A missing `ssh-keygen` or `gpg` skips its
//! test loudly, and fails it under `CI=true`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::exit,
    reason = "a test (or the bench fleet generator) fails loudly; the library may not"
)]

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const NOW: &str = "2026-12-01T09:00:00Z";

/// `cmd` with only `global` as the user's git config and `env` added; no identity variables
/// but those in `env`.
fn isolated(mut cmd: Command, ws: &Path, global: &Path, env: &[(&str, &str)]) -> Command {
    cmd.current_dir(ws)
        .env("VOW_GIT_TIMEOUT", "60")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_GLOBAL", global)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", ws)
        .env("XDG_CONFIG_HOME", ws.join("xdg"))
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("GIT_AUTHOR_NAME")
        .env_remove("GIT_AUTHOR_EMAIL")
        .env_remove("GIT_COMMITTER_NAME")
        .env_remove("GIT_COMMITTER_EMAIL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn run(ws: &Path, global: &Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String) {
    let mut cmd = isolated(Command::new(env!("CARGO_BIN_EXE_vow")), ws, global, env);
    let out = cmd.args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// Plans, then applies; returns apply's exit code and output.
fn plan_and_apply(ws: &Path, global: &Path, env: &[(&str, &str)]) -> (i32, String) {
    let plan = [
        "plan",
        "--now",
        NOW,
        "--out",
        "plan.json",
        "--fail-on",
        "never",
    ];
    let (code, out) = run(ws, global, env, &plan);
    assert_eq!(code, 0, "{out}");
    let apply = ["apply", "plan.json", "--now", NOW, "--gate-cmd", "true"];
    run(ws, global, env, &apply)
}

/// The commits of the remote's `main`, newest first (none when it has no branch).
fn commits(remote: &Path) -> Vec<git2::Oid> {
    let repo = git2::Repository::open(remote).unwrap();
    if repo.find_reference("refs/heads/main").is_err() {
        return Vec::new();
    }
    let mut walk = repo.revwalk().unwrap();
    walk.push_ref("refs/heads/main").unwrap();
    walk.map(Result::unwrap).collect()
}

/// Whether `program` runs here; otherwise says so (the test is skipped), and fails under CI.
fn have(program: &str, what: &str) -> bool {
    let ok = Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success() || !o.stderr.is_empty());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{program} must be installed under CI (see .ci/run)"
        );
        eprintln!("SKIPPED: {program} is not installed; {what} is not tested");
    }
    ok
}

/// Checks that every commit of the remote's `main` is signed and that `git verify-commit`
/// (run with `global` and `env`) accepts it.
fn assert_all_verified(ws: &Path, remote: &Path, global: &Path, env: &[(&str, &str)]) {
    let all = commits(remote);
    assert!(all.len() >= 2, "a wave and the closing commit: {all:?}");
    let repo = git2::Repository::open(remote).unwrap();
    for oid in all {
        assert!(
            repo.extract_signature(&oid, None).is_ok(),
            "{oid} is signed"
        );
        let mut cmd = isolated(Command::new("git"), ws, global, env);
        let out = cmd
            .arg("-C")
            .arg(remote)
            .args(["verify-commit", "-v", &oid.to_string()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git verify-commit {oid}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let c = repo.find_commit(oid).unwrap();
        assert!(c.message().unwrap().contains("Vow-Plan: "), "trailers stay");
    }
}

/// An ed25519 key at `path` (`passphrase` empty: none); returns its public key line.
fn ssh_key(path: &Path, passphrase: &str) -> String {
    let made = Command::new("ssh-keygen")
        .args([
            "-q", "-t", "ed25519", "-N", passphrase, "-C", "signer", "-f",
        ])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(made, "ssh-keygen makes a key");
    std::fs::read_to_string(path.with_extension("pub")).unwrap()
}

/// The git config of an ssh signer with `key` as `user.signingKey`, trusting `public`.
fn ssh_config(ws: &Path, key: &str, public: &str) -> PathBuf {
    let allowed = ws.join("allowed_signers");
    std::fs::write(&allowed, format!("signer@example.com {public}")).unwrap();
    let global = ws.join("gitconfig");
    std::fs::write(
        &global,
        format!(
            "[user]\n\tname = Signer\n\temail = signer@example.com\n\tsigningkey = {key}\n[gpg]\n\tformat = ssh\n[gpg \"ssh\"]\n\tallowedSignersFile = {}\n[commit]\n\tgpgsign = true\n",
            allowed.display()
        ),
    )
    .unwrap();
    global
}

#[test]
fn ssh_signed_commits_verify_with_git() {
    if !have("ssh-keygen", "ssh signing") {
        return;
    }
    let (ws, remote) = git_workspace(None);
    let key = ws.path().join("signing");
    let public = ssh_key(&key, "");
    let global = ssh_config(ws.path(), &key.display().to_string(), &public);
    let (code, out) = plan_and_apply(ws.path(), &global, &[]);
    assert_eq!(code, 0, "{out}");
    assert_all_verified(ws.path(), &remote, &global, &[]);
    // A plan against the signed history sees the applied wave.
    let (code, out) = run(
        ws.path(),
        &global,
        &[],
        &["plan", "--now", NOW, "--fail-on", "never"],
    );
    assert_eq!(code, 0, "{out}");
}

/// An `ssh-agent` in the foreground on a socket of its own; killed when dropped.
struct SshAgent(std::process::Child);

impl Drop for SshAgent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_literal_ssh_key_signs_through_the_agent() {
    if !have("ssh-keygen", "ssh signing") || !have("ssh-add", "ssh signing with the agent") {
        return;
    }
    let (ws, remote) = git_workspace(None);
    let key = ws.path().join("agent-key");
    let public = ssh_key(&key, "");
    let sock = ws.path().join("agent.sock");
    let agent = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _agent = SshAgent(agent);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !sock.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let added = Command::new("ssh-add")
        .arg("-q")
        .arg(&key)
        .env("SSH_AUTH_SOCK", &sock)
        .status()
        .unwrap()
        .success();
    assert!(added, "ssh-add");
    // Only the agent holds the private key now.
    std::fs::remove_file(&key).unwrap();
    let literal = format!("key::{}", public.trim());
    let global = ssh_config(ws.path(), &literal, &public);
    let env = [("SSH_AUTH_SOCK", sock.to_str().unwrap())];
    let (code, out) = plan_and_apply(ws.path(), &global, &env);
    assert_eq!(code, 0, "{out}");
    assert_all_verified(ws.path(), &remote, &global, &[]);
}

#[test]
fn an_ssh_key_with_a_passphrase_and_no_agent_is_refused_with_the_fix() {
    if !have("ssh-keygen", "ssh signing") {
        return;
    }
    let (ws, remote) = git_workspace(None);
    let key = ws.path().join("locked");
    let public = ssh_key(&key, "a passphrase");
    let global = ssh_config(ws.path(), &key.display().to_string(), &public);
    let (code, out) = plan_and_apply(ws.path(), &global, &[]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("cannot sign the git store's commit"), "{out}");
    assert!(
        out.contains(&format!("-f {}", key.display())),
        "names the key: {out}"
    );
    assert!(out.contains("ssh-add -L"), "says the fix: {out}");
    assert!(commits(&remote).is_empty(), "nothing pushed");
}

/// Kills the throwaway GNUPGHOME's agent when the test ends, however it ends.
struct Agent(PathBuf);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .args(["--kill", "gpg-agent"])
            .env("GNUPGHOME", &self.0)
            .status();
    }
}

#[test]
fn openpgp_signed_commits_verify_with_git() {
    if !have("gpg", "openpgp signing") {
        return;
    }
    let (ws, remote) = git_workspace(None);
    // Short: the agent's socket path must fit in a socket address.
    let home = tempfile::Builder::new().prefix("g").tempdir().unwrap();
    let gnupg = home.path().to_path_buf();
    let _agent = Agent(gnupg.clone());
    let made = Command::new("gpg")
        .args(["--batch", "--passphrase", "", "--quick-gen-key"])
        .args(["Signer <signer@example.com>", "ed25519", "sign", "never"])
        .env("GNUPGHOME", &gnupg)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "gpg makes a key: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let global = ws.path().join("gitconfig");
    std::fs::write(
        &global,
        "[user]\n\tname = Signer\n\temail = signer@example.com\n[commit]\n\tgpgSign = true\n",
    )
    .unwrap();
    let env = [("GNUPGHOME", gnupg.to_str().unwrap())];
    let (code, out) = plan_and_apply(ws.path(), &global, &env);
    assert_eq!(code, 0, "{out}");
    assert_all_verified(ws.path(), &remote, &global, &env);
}

#[test]
fn a_failing_signer_leaves_the_remote_and_the_journal_without_the_wave() {
    let (ws, remote) = git_workspace(None);
    let signer = ws.path().join("no-key.sh");
    std::fs::write(
        &signer,
        "#!/bin/sh\ncat >/dev/null\necho 'gpg: signing failed: No secret key' >&2\nexit 1\n",
    )
    .unwrap();
    let mut mode = std::fs::metadata(&signer).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut mode, 0o755);
    std::fs::set_permissions(&signer, mode).unwrap();
    let global = ws.path().join("gitconfig");
    let config = format!(
        "[user]\n\tname = Signer\n\temail = signer@example.com\n\tsigningKey = ABC123\n[gpg]\n\tprogram = {}\n[commit]\n\tgpgSign = true\n",
        signer.display()
    );
    std::fs::write(&global, &config).unwrap();
    let (code, out) = plan_and_apply(ws.path(), &global, &[]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("cannot sign the git store's commit"), "{out}");
    assert!(
        out.contains(&signer.display().to_string()),
        "names the program: {out}"
    );
    assert!(out.contains("ABC123"), "names the key: {out}");
    assert!(
        out.contains("No secret key"),
        "says what the program said: {out}"
    );
    assert!(out.contains("commit.gpgSign=false"), "says the fix: {out}");
    assert!(commits(&remote).is_empty(), "nothing pushed");
    // The journal is part of the wave's commit: with none pushed, the wave is not recorded,
    // and the cache's branch was not moved either.
    let cache = git2::Repository::open(ws.path().join(".vow/cache"));
    if let Ok(cache) = cache {
        assert!(
            cache.find_reference("refs/heads/main").is_err(),
            "no local commit"
        );
    }
    // A missing program says to install it.
    let missing = ws.path().join("no-such-gpg");
    std::fs::write(
        &global,
        config.replace(
            &signer.display().to_string(),
            &missing.display().to_string(),
        ),
    )
    .unwrap();
    let (code, out) = plan_and_apply(ws.path(), &global, &[]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("is not installed"), "{out}");
    assert!(commits(&remote).is_empty(), "nothing pushed");
    // Signing turned off for vow alone (the documented way), the same plan applies.
    let off = [
        ("GIT_CONFIG_COUNT", "1"),
        ("GIT_CONFIG_KEY_0", "commit.gpgSign"),
        ("GIT_CONFIG_VALUE_0", "false"),
    ];
    let (code, out) = plan_and_apply(ws.path(), &global, &off);
    assert_eq!(code, 0, "{out}");
    assert!(!commits(&remote).is_empty(), "applied unsigned");
}

/// `name <email>` of the author and the committer of every commit of the remote's `main`.
fn identities(remote: &Path) -> Vec<(String, String)> {
    let repo = git2::Repository::open(remote).unwrap();
    let who =
        |s: git2::Signature| format!("{} <{}>", s.name().unwrap_or("?"), s.email().unwrap_or("?"));
    let all = commits(remote);
    assert!(!all.is_empty(), "apply made commits");
    all.into_iter()
        .map(|oid| {
            let c = repo.find_commit(oid).unwrap();
            (who(c.author()), who(c.committer()))
        })
        .collect()
}

#[test]
fn the_environment_names_author_and_committer_below_vow_yaml() {
    let env = [
        ("GIT_AUTHOR_NAME", "Env Author"),
        ("GIT_AUTHOR_EMAIL", "author@example.com"),
        ("GIT_COMMITTER_NAME", "Env Committer"),
    ];
    let config = "[user]\n\tname = Config User\n\temail = config@example.com\n";
    let cases: &[(Option<&str>, &str, &str)] = &[
        (
            None,
            "Env Author <author@example.com>",
            // The committer's email is not in the environment: the git config's.
            "Env Committer <config@example.com>",
        ),
        (
            Some("{name: Platform Team, email: platform@example.com}"),
            "Platform Team <platform@example.com>",
            "Platform Team <platform@example.com>",
        ),
    ];
    for (author, want_author, want_committer) in cases {
        let (ws, remote) = git_workspace(*author);
        let global = ws.path().join("gitconfig");
        std::fs::write(&global, config).unwrap();
        let (code, out) = plan_and_apply(ws.path(), &global, &env);
        assert_eq!(code, 0, "{out}");
        for (a, c) in identities(&remote) {
            assert_eq!(&a, want_author);
            assert_eq!(&c, want_committer);
        }
    }
}

#[test]
fn a_signing_config_vow_cannot_follow_stops_apply_before_the_commit() {
    // (the git config's signing lines, what the error says)
    let cases = [
        (
            "[commit]\n\tgpgSign = maybe\n",
            "git cannot read commit.gpgsign",
        ),
        (
            "[commit]\n\tgpgSign = true\n[gpg]\n\tformat = x509\n",
            "x509 (gpgsm), which vow does not support",
        ),
        (
            "[commit]\n\tgpgSign = true\n[gpg]\n\tformat = ssh\n",
            "user.signingKey is not set",
        ),
    ];
    for (signing, says) in cases {
        let (ws, remote) = git_workspace(None);
        let global = ws.path().join("gitconfig");
        let user = "[user]\n\tname = Signer\n\temail = signer@example.com\n";
        std::fs::write(&global, format!("{user}{signing}")).unwrap();
        let (code, out) = plan_and_apply(ws.path(), &global, &[]);
        assert_ne!(code, 0, "{signing}: {out}");
        assert!(out.contains(says), "{signing}: {out}");
        assert!(out.contains("Nothing was committed or pushed"), "{out}");
        assert!(commits(&remote).is_empty(), "nothing pushed");
    }
}
