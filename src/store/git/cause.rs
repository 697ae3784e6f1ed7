//! What git's words mean: the output of a failed `git fetch`, `ls-remote` or `push` read into a
//! [`RemoteCause`], and the message a user reads (the cause, what to do, the redacted URL, and
//! git's own lines, bounded: they are untrusted text).

use crate::error::{Error, RemoteCause};
use crate::store::remote::redact_text;

/// How much of what the remote said is shown (it is untrusted text).
const MESSAGE_LINES: usize = 40;
const MESSAGE_LINE_CHARS: usize = 300;

/// The cause git's output (stderr, then stdout) names. The first match
/// in this order wins: a changed host key also says "Host key verification failed".
pub(crate) fn classify(output: &str) -> RemoteCause {
    let text = output.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
    if has(&["remote host identification has changed", "host key for"])
        && has(&["has changed", "differs from the key"])
    {
        RemoteCause::HostKeyChanged
    } else if has(&[
        "host key verification failed",
        "no ed25519 host key is known",
        "host key is known for",
        "authenticity of host",
    ]) {
        RemoteCause::HostKeyUnknown
    } else if has(&[
        "certificate problem",
        "certificate verification failed",
        "server certificate",
        "certificate is not trusted",
        "unable to get local issuer certificate",
    ]) {
        RemoteCause::Certificate
    } else if has(&[
        "authentication failed",
        "permission denied (publickey",
        "permission denied, please try again",
        "could not read username",
        "could not read password",
        "terminal prompts disabled",
        "invalid username or password",
        "returned error: 401",
        "returned error: 403",
        "http basic: access denied",
    ]) {
        RemoteCause::Authentication
    } else if has(&[
        "(stale info)",
        "(fetch first)",
        "(non-fast-forward)",
        "[rejected]",
    ]) {
        RemoteCause::BranchMoved
    } else if has(&["[remote rejected]", "hook declined", "protected branch"]) {
        RemoteCause::PushRefused
    } else if has(&[
        "couldn't find remote ref",
        "could not find remote ref",
        "no such ref was fetched",
    ]) {
        RemoteCause::BranchMissing
    } else if has(&[
        "does not appear to be a git repository",
        "repository not found",
        "not found",
        "not exported",
        "no such repository",
        "returned error: 404",
        "no such file or directory",
    ]) {
        RemoteCause::RepositoryMissing
    } else if has(&[
        "connection refused",
        "couldn't connect to server",
        "could not resolve host",
        "could not resolve hostname",
        "name or service not known",
        "network is unreachable",
        "no route to host",
        "connection timed out",
        "operation timed out",
        "timed out",
        "unable to connect",
        "failed to connect",
        "connection reset",
    ]) {
        RemoteCause::Network
    } else {
        RemoteCause::Other
    }
}

/// What a cause means and what to do about it, for a remote shown as `url` (`None` where the
/// first line and git's words say it all: a hook's refusal, an unknown failure).
pub(crate) fn advice(cause: RemoteCause, url: &str, branch: &str) -> Option<String> {
    Some(match cause {
        RemoteCause::Authentication => format!(
            "authentication to {url} was refused (or no credentials were found): give git the credentials with a credential helper (https: `git config --global credential.helper ...`, a deploy token or app token) or an ssh key (ssh agent, `~/.ssh/config`, GIT_SSH_COMMAND); check with `git ls-remote {url}`"
        ),
        RemoteCause::HostKeyUnknown => format!(
            "the ssh host key of {url} is not known: add it to known_hosts (check its fingerprint first, e.g. `ssh-keyscan HOST >> ~/.ssh/known_hosts`); vow never accepts a host key on its own"
        ),
        RemoteCause::HostKeyChanged => format!(
            "the ssh host key of {url} is not the one known_hosts records: someone may be intercepting the connection, or the host was rebuilt; verify the new key with its owner before replacing the entry"
        ),
        RemoteCause::Certificate => format!(
            "the TLS certificate of {url} is not trusted: install the CA that signed it in the system store, or point git at it with `git config http.sslCAInfo FILE` (never turn verification off)"
        ),
        RemoteCause::Network => format!(
            "{url} cannot be reached (connection refused, unreachable or timed out): check the host, the port, a proxy (`http.proxy`) and the network"
        ),
        RemoteCause::RepositoryMissing => format!(
            "there is no repository at {url} (or it is not shared with these credentials): fix the `url` of the store in vow.yaml, or create it (`git init --bare -b main PATH`)"
        ),
        RemoteCause::BranchMissing => format!(
            "{url} has no branch {branch}: fix `branch` in vow.yaml, or push the branch first"
        ),
        RemoteCause::BranchMoved => format!(
            "the push to {url} was rejected because someone else moved {branch} since vow read it"
        ),
        RemoteCause::PushRefused | RemoteCause::Other => return None,
    })
}

/// The typed error of a failed git command: `what` (e.g. "cannot fetch main from URL"), git's
/// own lines, then what the cause means and what to do.
pub(crate) fn remote_error(what: &str, output: &str, url: &str, branch: &str) -> Error {
    let cause = classify(output);
    let mut message = format!("{what}; it said:\n{}", shown_message(output.as_bytes()));
    if let Some(advice) = advice(cause, url, branch) {
        message.push_str(&format!("\n  {advice}"));
    }
    Error::Remote { cause, message }
}

/// What the remote said, as plain lines, bounded and with URLs redacted.
pub(crate) fn shown_message(bytes: &[u8]) -> String {
    let text = redact_text(&String::from_utf8_lossy(bytes));
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            l.chars()
                .filter(|c| !c.is_control() || *c == '\t')
                .take(MESSAGE_LINE_CHARS)
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .filter(|l| !l.trim().is_empty())
        .take(MESSAGE_LINES)
        .map(|l| format!("    {l}"))
        .collect();
    if lines.is_empty() {
        return "    (nothing)".into();
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use RemoteCause::*;

    /// Real messages of git 2.47 (and OpenSSH, libcurl with GnuTLS or OpenSSL), collected by
    /// running git against bad targets.
    const CASES: &[(&str, RemoteCause)] = &[
        ("fatal: unable to connect to 127.0.0.1:\n127.0.0.1[0: 127.0.0.1]: errno=Connection refused\n", Network),
        ("fatal: unable to access 'https://127.0.0.1:1/x.git/': Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect to server\n", Network),
        ("ssh: connect to host 127.0.0.1 port 1: Connection refused\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n", Network),
        ("ssh: Could not resolve hostname nohost.invalid: Name or service not known\nfatal: Could not read from remote repository.\n", Network),
        ("fatal: unable to access 'https://nohost.invalid/x.git/': Could not resolve host: nohost.invalid\n", Network),
        ("fatal: '/tmp/gm/none.git' does not appear to be a git repository\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n", RepositoryMissing),
        ("fatal: remote error: access denied or repository not exported: /none.git\n", RepositoryMissing),
        ("remote: Repository not found.\nfatal: repository 'https://github.com/acme/none.git/' not found\n", RepositoryMissing),
        ("fatal: remote error: no such repository: /nowhere.git\n", RepositoryMissing),
        ("fatal: couldn't find remote ref refs/heads/main\n", BranchMissing),
        ("To file:///tmp/gm/b.git\n!\tHEAD:refs/heads/main\t[rejected] (stale info)\nDone\nerror: failed to push some refs to 'file:///tmp/gm/b.git'\n", BranchMoved),
        ("To file:///tmp/b.git\n!\trefs/heads/main:refs/heads/main\t[rejected] (fetch first)\nDone\n", BranchMoved),
        ("remote: no\nTo file:///tmp/b.git\n!\trefs/heads/main:refs/heads/main\t[remote rejected] (pre-receive hook declined)\nDone\n", PushRefused),
        ("fatal: could not read Username for 'https://127.0.0.1:8443': terminal prompts disabled\n", Authentication),
        ("remote: Invalid username or password.\nfatal: Authentication failed for 'https://github.com/acme/state.git/'\n", Authentication),
        ("git@127.0.0.1: Permission denied (publickey).\r\nfatal: Could not read from remote repository.\n", Authentication),
        ("fatal: unable to access 'https://127.0.0.1:8443/s.git/': server certificate verification failed. CAfile: none CRLfile: none\n", Certificate),
        ("fatal: unable to access 'https://127.0.0.1:8443/s.git/': SSL certificate problem: self-signed certificate\n", Certificate),
        ("No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\r\nHost key verification failed.\r\nfatal: Could not read from remote repository.\n", HostKeyUnknown),
        ("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\nIT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\r\nHost key for [127.0.0.1]:2222 has changed and you have requested strict checking.\r\nHost key verification failed.\r\n", HostKeyChanged),
        ("fatal: the remote end hung up unexpectedly\n", Other),
    ];

    #[test]
    fn real_git_messages_are_classified() {
        for (text, want) in CASES {
            assert_eq!(classify(text), *want, "{text}");
        }
    }

    #[test]
    fn the_message_is_redacted_and_bounded() {
        let long = format!(
            "fatal: Authentication failed for 'https://u:secret@h/s.git/'\n{}",
            "x\n".repeat(100)
        );
        let e = remote_error(
            "cannot fetch main from https://***@h/s.git",
            &long,
            "https://***@h/s.git",
            "main",
        );
        let text = e.to_string();
        assert!(!text.contains("secret"), "{text}");
        assert!(
            text.contains("authentication to https://***@h/s.git was refused"),
            "{text}"
        );
        assert!(text.lines().count() <= MESSAGE_LINES + 2, "{text}");
        assert!(matches!(
            e,
            Error::Remote {
                cause: Authentication,
                ..
            }
        ));
    }
}
