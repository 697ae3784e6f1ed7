//! Smart HTTP over TLS with basic authentication: `https_git.py` (git http-backend behind
//! python's HTTPS server) with a self-signed certificate made by openssl for 127.0.0.1.

use super::{cannot_start, runs, wait_for, GitEnv};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The user and password the server accepts.
pub(crate) const USER: &str = "vow";
pub(crate) const PASSWORD: &str = "s3cret-Pa55";

/// A running HTTPS git server; stopped when dropped.
pub(crate) struct Https {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Child,
}

/// What the client side is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Client {
    /// A credential helper with the right password, and the test CA trusted.
    Good,
    /// No credential helper (and no terminal to ask on).
    NoCredentials,
    /// A credential helper with a wrong password.
    WrongPassword,
    /// The right credentials, but the test certificate is not trusted.
    UntrustedCertificate,
}

impl Https {
    /// Starts the server with one empty bare repository, `state.git` (branch main); None (after
    /// saying why) when it cannot start.
    pub(crate) fn start() -> Option<Https> {
        match Self::try_start() {
            Ok(server) => Some(server),
            Err(reason) => {
                cannot_start(&reason);
                None
            }
        }
    }

    fn try_start() -> Result<Https, String> {
        for (tool, args) in [("openssl", &["version"][..]), ("python3", &["--version"])] {
            if !runs(tool, args) {
                return Err(format!("`{tool}` is not installed (.ci/run installs it)"));
            }
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let d = dir.path();
        let made = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args([
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            .arg("-keyout")
            .arg(d.join("key.pem"))
            .arg("-out")
            .arg(d.join("cert.pem"))
            .output()
            .map_err(|e| format!("openssl: {e}"))?;
        if !made.status.success() {
            let err = String::from_utf8_lossy(&made.stderr);
            return Err(format!("openssl could not make the certificate: {err}"));
        }
        init_bare(&d.join("root/state.git"))?;
        let script = crate::common::repo().join("tests/servers/https_git.py");
        let log = std::fs::File::create(d.join("server.log")).map_err(|e| e.to_string())?;
        let ready = d.join("port");
        let mut child = Command::new("python3")
            .arg(script)
            .args([d.join("root"), d.join("cert.pem"), d.join("key.pem")])
            .args([USER, PASSWORD])
            .arg(&ready)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("python3: {e}"))?;
        let up = wait_for(|| ready.exists() || matches!(child.try_wait(), Ok(Some(_))));
        let port = std::fs::read_to_string(&ready)
            .ok()
            .and_then(|p| p.trim().parse().ok());
        match port {
            Some(port) if up => Ok(Https { dir, port, child }),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                let log = std::fs::read_to_string(d.join("server.log")).unwrap_or_default();
                Err(format!("the https server did not listen: {log}"))
            }
        }
    }

    /// The repository's URL: no credentials in it, they come from the helper.
    pub(crate) fn url(&self) -> String {
        format!("https://127.0.0.1:{}/state.git", self.port)
    }

    /// The bare repository on the server side.
    pub(crate) fn bare(&self) -> PathBuf {
        self.dir.path().join("root/state.git")
    }

    /// An environment for `client`: a global git config with (or without) a credential helper
    /// and the test CA, in a home of its own under the server's folder.
    pub(crate) fn env(&self, client: Client) -> GitEnv {
        let home = self.dir.path().join(format!("home-{client:?}"));
        std::fs::create_dir_all(&home).unwrap();
        let mut config = String::new();
        let password = match client {
            Client::NoCredentials => None,
            Client::WrongPassword => Some("not-the-password"),
            Client::Good | Client::UntrustedCertificate => Some(PASSWORD),
        };
        if let Some(password) = password {
            let helper = home.join("credential-helper");
            let script = format!(
                "#!/bin/sh\n# A test credential helper: answers `get`, ignores store and erase.\n[ \"$1\" = get ] || exit 0\nprintf 'username={USER}\\npassword={password}\\n'\n"
            );
            write_executable(&helper, &script);
            config.push_str(&format!("[credential]\n\thelper = {}\n", helper.display()));
        }
        if client != Client::UntrustedCertificate {
            let ca = self.dir.path().join("cert.pem");
            config.push_str(&format!("[http]\n\tsslCAInfo = {}\n", ca.display()));
        }
        // A stalled transfer fails instead of hanging the test (curl has no timeout of its own).
        config.push_str("[http]\n\tlowSpeedLimit = 1\n\tlowSpeedTime = 60\n");
        let global = home.join("gitconfig");
        std::fs::write(&global, config).unwrap();
        GitEnv {
            home,
            global,
            ssh_command: None,
        }
    }
}

impl Drop for Https {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `git init --bare -b main` at `path` (the way the docs tell users to make a new store).
pub(crate) fn init_bare(path: &Path) -> Result<(), String> {
    let out = Command::new("git")
        .args(["init", "-q", "--bare", "-b", "main"])
        .arg(path)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .map_err(|e| format!("git: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "git init --bare: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
