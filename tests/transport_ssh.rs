//! The git store over ssh (sshd on 127.0.0.1, tests/servers/ssh.rs): git alone proves the
//! server; vow runs a full round to `git@127.0.0.1:<path>.git` with the key from the ssh config;
//! an unknown host key and a wrong client key each stop vow with exit 2 and the cause in words,
//! with nothing pushed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a test fails loudly; the library may not"
)]

mod common;
mod servers;

use servers::ssh::{Client, Sshd};

#[test]
fn git_alone_clones_and_pushes_over_ssh_with_strict_known_hosts() {
    let Some(server) = Sshd::start() else { return };
    let env = server.env(Client::Good);
    servers::plain_git_round(&env, &server.url());
    let tmp = tempfile::tempdir().unwrap();
    let (ok, refs, err) = env.git(tmp.path(), &["ls-remote", &server.alias_url()]);
    assert!(
        ok && refs.contains("refs/heads/main"),
        "through the Host alias: {err}"
    );
}

#[test]
fn git_alone_is_refused_an_unknown_host_key_or_a_wrong_client_key() {
    let Some(server) = Sshd::start() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for (client, words) in [
        (Client::UnknownHostKey, "Host key verification failed"),
        (Client::WrongKey, "Permission denied (publickey)"),
    ] {
        let env = server.env(client);
        let (ok, _, err) = env.git(tmp.path(), &["ls-remote", &server.url()]);
        assert!(!ok && err.contains(words), "{client:?}: {err}");
    }
}

#[test]
fn vow_plans_and_applies_over_ssh_to_a_scp_like_url() {
    let Some(server) = Sshd::start() else { return };
    servers::vow_round(&server.env(Client::Good), &server.url());
}

#[test]
fn vow_with_an_unknown_host_key_exits_2_and_pushes_nothing() {
    let Some(server) = Sshd::start() else { return };
    let (good, bad) = (server.env(Client::Good), server.env(Client::UnknownHostKey));
    servers::assert_refused(
        &good,
        &bad,
        &server.url(),
        &["ssh host key of", "is not known"],
        "PRIVATE KEY",
    );
}

#[test]
fn vow_with_a_wrong_client_key_exits_2_and_pushes_nothing() {
    let Some(server) = Sshd::start() else { return };
    let (good, bad) = (server.env(Client::Good), server.env(Client::WrongKey));
    servers::assert_refused(
        &good,
        &bad,
        &server.url(),
        &["authentication"],
        "PRIVATE KEY",
    );
}

#[test]
fn vow_with_a_changed_host_key_exits_2_and_pushes_nothing() {
    let Some(server) = Sshd::start() else { return };
    let (good, bad) = (server.env(Client::Good), server.env(Client::ChangedHostKey));
    let words = ["is not the one known_hosts records"];
    servers::assert_refused(&good, &bad, &server.url(), &words, "PRIVATE KEY");
}

#[test]
fn vow_applies_through_the_ssh_config_host_alias() {
    let Some(server) = Sshd::start() else { return };
    let (env, url) = (server.env(Client::Good), server.alias_url());
    let ws = servers::example_on(&url);
    let plan = servers::plan_out(&env, ws.path(), "2026-12-01T09:00:00Z");
    servers::apply_until_done(&env, ws.path(), "2026-12-01T09:00:00Z");
    let (log, files) = servers::pushed(&env, &url);
    assert_eq!(log.len(), plan["waves"].as_array().unwrap().len() + 1);
    servers::check_run_commits(&log, &plan);
    servers::check_layout(&files);
}
