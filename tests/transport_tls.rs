//! The git store over smart HTTP with TLS and basic authentication (tests/servers/https_git.py):
//! git alone proves the server; vow runs a full round with credentials from a credential helper;
//! no credentials, a wrong password and an untrusted certificate each stop vow with exit 2 and
//! the cause in words, with nothing pushed.

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

use servers::tls::{Client, Https, PASSWORD};

#[test]
fn git_alone_clones_and_pushes_over_https_with_a_credential_helper() {
    let Some(server) = Https::start() else { return };
    servers::plain_git_round(&server.env(Client::Good), &server.url());
}

#[test]
fn git_alone_is_refused_without_the_right_credentials_or_a_trusted_certificate() {
    let Some(server) = Https::start() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for (client, words) in [
        (Client::NoCredentials, "could not read Username"),
        (Client::WrongPassword, "Authentication failed"),
        (Client::UntrustedCertificate, "certificate"),
    ] {
        let env = server.env(client);
        let (ok, _, err) = env.git(tmp.path(), &["ls-remote", &server.url()]);
        assert!(!ok && err.contains(words), "{client:?}: {err}");
    }
}

#[test]
fn vow_plans_and_applies_over_https_with_credentials_from_a_helper() {
    let Some(server) = Https::start() else { return };
    servers::vow_round(&server.env(Client::Good), &server.url());
}

#[test]
fn vow_without_credentials_exits_2_and_pushes_nothing() {
    let Some(server) = Https::start() else { return };
    let (good, bad) = (server.env(Client::Good), server.env(Client::NoCredentials));
    servers::assert_refused(
        &good,
        &bad,
        &server.url(),
        &["authentication to", "was refused"],
        PASSWORD,
    );
}

#[test]
fn vow_with_a_wrong_password_exits_2_and_pushes_nothing() {
    let Some(server) = Https::start() else { return };
    let (good, bad) = (server.env(Client::Good), server.env(Client::WrongPassword));
    servers::assert_refused(
        &good,
        &bad,
        &server.url(),
        &["authentication"],
        "not-the-password",
    );
}

#[test]
fn vow_with_an_untrusted_certificate_exits_2_and_pushes_nothing() {
    let Some(server) = Https::start() else { return };
    let (good, bad) = (
        server.env(Client::Good),
        server.env(Client::UntrustedCertificate),
    );
    servers::assert_refused(
        &good,
        &bad,
        &server.url(),
        &["TLS certificate", "is not trusted"],
        PASSWORD,
    );
}
