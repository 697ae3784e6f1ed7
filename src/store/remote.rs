//! A git store's remote URL, classified the way git itself reads it: `https://`, `http://`,
//! `ssh://` (and `git+ssh://`), scp-like `[user@]host:path`, `git://`, `file://`, another
//! `scheme://` (a remote helper), or a path on this machine. One classifier, so that the
//! workspace (which resolves relative paths), the store (which knows which remotes are local)
//! and every message (which must never show a password or token) agree on what a URL is.

use std::path::Path;

/// How a remote is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Https,
    Http,
    /// `ssh://[user@]host[:port]/path` (also `git+ssh://`, `ssh+git://`).
    Ssh,
    /// scp-like `[user@]host:path`: ssh as well, written the short way.
    Scp,
    /// `git://host/path`, git's own unauthenticated protocol.
    Git,
    /// `file:///path`.
    File,
    /// A path on this machine (resolved against the workspace when relative).
    Local,
    /// Another `scheme://`: left to git (a remote helper may know it).
    Other,
}

/// A remote URL as written (relative paths resolved), with its transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remote {
    url: String,
    transport: Transport,
}

impl Remote {
    /// Classifies `url` by git's rules; a relative local path is joined to `root`.
    pub fn parse(url: &str, root: &Path) -> Remote {
        let transport = transport_of(url);
        let url = if transport == Transport::Local && !Path::new(url).is_absolute() {
            root.join(url).display().to_string()
        } else {
            url.to_string()
        };
        Remote { url, transport }
    }

    /// The URL to give git (resolved, never shown: it may hold a password).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The path of a remote on this machine (a path or a `file://` URL).
    pub fn local_path(&self) -> Option<&Path> {
        match self.transport {
            Transport::Local => Some(Path::new(&self.url)),
            Transport::File => self.url.strip_prefix("file://").map(Path::new),
            _ => None,
        }
    }

    /// The URL as messages and logs show it: userinfo that may be a secret is `***`.
    pub fn shown(&self) -> String {
        redact(&self.url)
    }

    /// Whether the URL carries a password or token (which belongs in a credential helper).
    pub fn has_secret(&self) -> bool {
        match userinfo(&self.url) {
            Some(info) => info.contains(':') || self.transport_is_http(),
            None => false,
        }
    }

    fn transport_is_http(&self) -> bool {
        matches!(self.transport, Transport::Https | Transport::Http)
    }
}

/// git's reading of a URL (connect.c, `url_is_local_not_ssh`, and transport.c): `scheme://` is
/// a URL; otherwise a colon with no slash before it makes an scp-like ssh address
/// (`host:path`, `[host]:path`); anything else is a local path.
fn transport_of(url: &str) -> Transport {
    if let Some((scheme, _)) = url.split_once("://") {
        if is_scheme(scheme) {
            return match scheme.to_ascii_lowercase().as_str() {
                "https" => Transport::Https,
                "http" => Transport::Http,
                "ssh" | "git+ssh" | "ssh+git" => Transport::Ssh,
                "git" => Transport::Git,
                "file" => Transport::File,
                _ => Transport::Other,
            };
        }
    }
    let Some(colon) = url.find(':') else {
        return Transport::Local;
    };
    let slash_first = url.find('/').is_some_and(|slash| slash < colon);
    if slash_first || colon == 0 {
        Transport::Local
    } else {
        Transport::Scp
    }
}

/// A URL scheme as git accepts one: letters, digits, `+`, `-`, `.`, not empty.
fn is_scheme(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// The userinfo of a `scheme://userinfo@host/...` URL.
fn userinfo(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let (info, _) = authority.rsplit_once('@')?;
    Some(info)
}

/// `url` with the userinfo of a `scheme://` URL replaced by `***` when it has a password (or is
/// http(s), where a bare user name is often a token). An ssh user name (`ssh://git@host`,
/// `git@host:org/repo`) is no secret and is kept.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(authority) = rest.get(..authority_end) else {
        return url.to_string();
    };
    let Some((info, host)) = authority.rsplit_once('@') else {
        return url.to_string();
    };
    let http = matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https");
    if !info.contains(':') && !http {
        return url.to_string();
    }
    let path = rest.get(authority_end..).unwrap_or("");
    format!("{scheme}://***@{host}{path}")
}

/// Every URL-looking word of `text` (git's messages quote the URL) redacted.
pub fn redact_text(text: &str) -> String {
    text.split_inclusive(|c: char| c.is_whitespace() || c == '\'' || c == '"')
        .map(|word| {
            let trimmed =
                word.trim_end_matches(|c: char| c.is_whitespace() || c == '\'' || c == '"');
            let tail = word.get(trimmed.len()..).unwrap_or("");
            if trimmed.contains("://") {
                format!("{}{tail}", redact(trimmed))
            } else {
                word.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;

    fn kind(url: &str) -> Transport {
        Remote::parse(url, Path::new("/ws")).transport()
    }

    #[test]
    fn every_form_git_users_write() {
        assert_eq!(kind("https://github.com/acme/state.git"), Transport::Https);
        assert_eq!(kind("HTTPS://github.com/acme/state.git"), Transport::Https);
        assert_eq!(kind("http://127.0.0.1:8080/state.git"), Transport::Http);
        assert_eq!(kind("ssh://git@github.com/acme/state.git"), Transport::Ssh);
        assert_eq!(kind("ssh://git@[::1]:2222/state.git"), Transport::Ssh);
        assert_eq!(kind("git+ssh://host/state.git"), Transport::Ssh);
        assert_eq!(kind("git@github.com:acme/state.git"), Transport::Scp);
        assert_eq!(kind("github.com:acme/state.git"), Transport::Scp);
        assert_eq!(kind("[::1]:state.git"), Transport::Scp);
        assert_eq!(kind("git@127.0.0.1:/srv/state.git"), Transport::Scp);
        assert_eq!(kind("git://127.0.0.1:9418/state.git"), Transport::Git);
        assert_eq!(kind("file:///srv/state.git"), Transport::File);
        assert_eq!(kind("/srv/state.git"), Transport::Local);
        assert_eq!(kind("../state.git"), Transport::Local);
        assert_eq!(kind("state.git"), Transport::Local);
        // A slash before the first colon: a path, as git reads it.
        assert_eq!(kind("./a:b/state.git"), Transport::Local);
        assert_eq!(kind("remote/with:colon.git"), Transport::Local);
        assert_eq!(kind("foo://x/y"), Transport::Other);
        assert_eq!(kind(""), Transport::Local);
        assert_eq!(kind(":x"), Transport::Local);
    }

    #[test]
    fn local_paths_resolve_against_the_workspace() {
        let r = Remote::parse("../state.git", Path::new("/ws"));
        assert_eq!(r.url(), "/ws/../state.git");
        assert_eq!(r.local_path(), Some(Path::new("/ws/../state.git")));
        let f = Remote::parse("file:///srv/s.git", Path::new("/ws"));
        assert_eq!(f.url(), "file:///srv/s.git");
        assert_eq!(f.local_path(), Some(Path::new("/srv/s.git")));
        let s = Remote::parse("git@host:acme/s.git", Path::new("/ws"));
        assert_eq!(s.url(), "git@host:acme/s.git");
        assert_eq!(s.local_path(), None);
    }

    #[test]
    fn userinfo_is_redacted() {
        let r = Remote::parse("https://user:tok3n@github.com/a/s.git", Path::new("/"));
        assert_eq!(r.shown(), "https://***@github.com/a/s.git");
        assert!(r.has_secret());
        assert_eq!(
            redact("https://ghp_token@github.com/a/s.git"),
            "https://***@github.com/a/s.git"
        );
        assert_eq!(
            redact("ssh://git:pw@host:22/s.git"),
            "ssh://***@host:22/s.git"
        );
        // User names that are no secret stay.
        assert_eq!(redact("ssh://git@host/s.git"), "ssh://git@host/s.git");
        assert_eq!(redact("git@host:a/s.git"), "git@host:a/s.git");
        assert_eq!(redact("https://host/a@b.git"), "https://host/a@b.git");
        assert!(!Remote::parse("ssh://git@host/s", Path::new("/")).has_secret());
        assert!(!Remote::parse("https://host/s", Path::new("/")).has_secret());
        assert_eq!(
            redact_text("fatal: Authentication failed for 'https://u:p@h/s.git/'\n"),
            "fatal: Authentication failed for 'https://***@h/s.git/'\n"
        );
    }
}
