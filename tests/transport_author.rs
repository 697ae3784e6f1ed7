//! Who the git store's commits name as author and committer (docs/apply.md, "Commits"):
//! `store.git.author` of vow.yaml, else the user's git config as `git config` resolves it in the
//! cache clone (a temporary `GIT_CONFIG_GLOBAL`, with a conditional include), else the default
//! `vow <vow@localhost>` (signing and the `GIT_AUTHOR_*` variables: tests/transport_sign.rs).
//! The remote is a `file://` bare repository, reached through the `git` command.

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
use std::path::Path;
use std::process::Command;

/// Runs vow with only `global` as the user's git config (no system config, no `~/.gitconfig`).
fn run(ws: &Path, global: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vow"))
        .args(args)
        .current_dir(ws)
        .env("VOW_GIT_TIMEOUT", "60")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_GLOBAL", global)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", ws)
        .env("XDG_CONFIG_HOME", ws.join("xdg"))
        .env_remove("GIT_AUTHOR_NAME")
        .env_remove("GIT_AUTHOR_EMAIL")
        .env_remove("GIT_COMMITTER_NAME")
        .env_remove("GIT_COMMITTER_EMAIL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Plans and applies the first wave; returns apply's stderr.
fn plan_and_apply(ws: &Path, global: &Path) -> String {
    let now = "2026-12-01T09:00:00Z";
    let (code, _, err) = run(
        ws,
        global,
        &[
            "plan",
            "--now",
            now,
            "--out",
            "plan.json",
            "--fail-on",
            "never",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(
        ws,
        global,
        &["apply", "plan.json", "--now", now, "--gate-cmd", "true"],
    );
    assert_eq!(code, 0, "{out}{err}");
    err
}

/// Author and committer (`name <email>`) of every commit of the remote's `main`, and whether
/// any of them carries a signature.
fn identities(remote: &Path) -> (Vec<(String, String)>, bool) {
    let repo = git2::Repository::open(remote).unwrap();
    let mut walk = repo.revwalk().unwrap();
    walk.push_ref("refs/heads/main").unwrap();
    let mut signed = false;
    let who =
        |s: git2::Signature| format!("{} <{}>", s.name().unwrap_or("?"), s.email().unwrap_or("?"));
    let ids = walk
        .map(|oid| {
            let oid = oid.unwrap();
            signed |= repo.extract_signature(&oid, None).is_ok();
            let c = repo.find_commit(oid).unwrap();
            assert!(
                c.message().unwrap().contains("Vow-Plan: "),
                "the trailers stay: {:?}",
                c.message()
            );
            (who(c.author()), who(c.committer()))
        })
        .collect::<Vec<_>>();
    assert!(!ids.is_empty(), "apply made commits");
    (ids, signed)
}

fn assert_all(remote: &Path, want: &str) {
    let (ids, _) = identities(remote);
    for (author, committer) in ids {
        assert_eq!(author, want);
        assert_eq!(committer, want);
    }
}

#[test]
fn the_author_of_vow_yaml_wins_over_the_git_config() {
    let (ws, remote) = git_workspace(Some("{name: Platform Team, email: platform@example.com}"));
    let global = ws.path().join("gitconfig");
    std::fs::write(
        &global,
        "[user]\n\tname = Someone Else\n\temail = else@example.com\n",
    )
    .unwrap();
    plan_and_apply(ws.path(), &global);
    assert_all(&remote, "Platform Team <platform@example.com>");
}

#[test]
fn without_one_the_git_config_of_the_cache_clone_names_the_author() {
    let (ws, remote) = git_workspace(None);
    // A conditional include for the cache clone: only `git config` run there sees it.
    let work = ws.path().join("work.inc");
    std::fs::write(&work, "[user]\n\temail = release@example.com\n").unwrap();
    let global = ws.path().join("gitconfig");
    std::fs::write(
        &global,
        format!(
            "[user]\n\tname = Release Bot\n\temail = home@example.com\n[includeIf \"gitdir:**/.vow/cache/**\"]\n\tpath = {}\n",
            work.display()
        ),
    )
    .unwrap();
    plan_and_apply(ws.path(), &global);
    assert_all(&remote, "Release Bot <release@example.com>");
}

#[test]
fn without_either_the_default_names_vow() {
    let (ws, remote) = git_workspace(None);
    let global = ws.path().join("gitconfig");
    std::fs::write(&global, "").unwrap();
    plan_and_apply(ws.path(), &global);
    assert_all(&remote, "vow <vow@localhost>");
}
