//! ssh: `sshd` on 127.0.0.1 on a free port with its own config, a generated host key and one
//! authorized client key; the client side through an ssh config given by `GIT_SSH_COMMAND`,
//! with strict `known_hosts`.
//!
//! The issue asks for `git@127.0.0.1:…`: as root, the tests use (and make, once, when missing)
//! a `git` user whose shell is git-shell; as anyone else, sshd can only log its own user in, so
//! the URL names the current user.

use super::{cannot_start, free_port, wait_for, GitEnv};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The ssh config's name for the test server (the other URL form the tests use).
pub(crate) const ALIAS: &str = "vowtest";

/// A running sshd; stopped when dropped.
pub(crate) struct Sshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub user: String,
    child: Child,
}

/// What the client side is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Client {
    /// The authorized key and the server's host key in known_hosts.
    Good,
    /// The authorized key, but an empty known_hosts (strict checking refuses the server).
    UnknownHostKey,
    /// A key the server does not know.
    WrongKey,
    /// known_hosts records another key for the server (a rebuilt host, or someone in between).
    ChangedHostKey,
}

impl Sshd {
    /// Starts sshd with one empty bare repository, `state.git` (branch main); None (after saying
    /// why) when it cannot start.
    pub(crate) fn start() -> Option<Sshd> {
        match Self::try_start() {
            Ok(server) => Some(server),
            Err(reason) => {
                cannot_start(&reason);
                None
            }
        }
    }

    fn try_start() -> Result<Sshd, String> {
        let sshd = ["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
            .ok_or("sshd is not installed (.ci/run installs openssh-server)")?;
        let user = login_user()?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let d = dir.path();
        // The git user walks into this folder to reach the repository and authorized_keys.
        set_mode(d, 0o755)?;
        for key in ["host_key", "client_key", "wrong_key"] {
            keygen(&d.join(key))?;
        }
        let authorized = d.join("authorized_keys");
        std::fs::copy(d.join("client_key.pub"), &authorized).map_err(|e| e.to_string())?;
        set_mode(&authorized, 0o644)?;
        std::fs::create_dir_all(d.join("repos")).map_err(|e| e.to_string())?;
        super::tls::init_bare(&d.join("repos/state.git"))?;
        if is_root() {
            chown_tree(&d.join("repos"), &user)?;
            // sshd's privilege separation folder (a fresh machine may not have it yet).
            std::fs::create_dir_all("/run/sshd").map_err(|e| format!("/run/sshd: {e}"))?;
        }
        let port = free_port().map_err(|e| e.to_string())?;
        std::fs::write(d.join("sshd_config"), sshd_config(d, port, &user))
            .map_err(|e| e.to_string())?;
        let log = std::fs::File::create(d.join("sshd.log")).map_err(|e| e.to_string())?;
        let mut child = Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("{sshd}: {e}"))?;
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let listening = || {
            std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(1)).is_ok()
        };
        let up = wait_for(|| listening() || matches!(child.try_wait(), Ok(Some(_))));
        if up && matches!(child.try_wait(), Ok(None)) {
            return Ok(Sshd {
                dir,
                port,
                user,
                child,
            });
        }
        let _ = child.kill();
        let _ = child.wait();
        let log = std::fs::read_to_string(d.join("sshd.log")).unwrap_or_default();
        Err(format!("sshd did not listen on 127.0.0.1:{port}: {log}"))
    }

    /// The bare repository on the server side.
    pub(crate) fn bare(&self) -> PathBuf {
        self.dir.path().join("repos/state.git")
    }

    /// The scp-like URL `<user>@127.0.0.1:<abs path>.git`.
    pub(crate) fn url(&self) -> String {
        format!("{}@127.0.0.1:{}", self.user, self.bare().display())
    }

    /// The scp-like URL through the ssh config's Host alias.
    pub(crate) fn alias_url(&self) -> String {
        format!("{ALIAS}:{}", self.bare().display())
    }

    /// An environment for `client`: its own home, known_hosts and ssh config, reached through
    /// `GIT_SSH_COMMAND="ssh -F <config>"`; an empty global git config.
    pub(crate) fn env(&self, client: Client) -> GitEnv {
        let d = self.dir.path();
        let home = d.join(format!("home-{client:?}"));
        std::fs::create_dir_all(&home).unwrap();
        let known = home.join("known_hosts");
        let recorded = match client {
            Client::ChangedHostKey => "wrong_key.pub",
            _ => "host_key.pub",
        };
        let host_key = std::fs::read_to_string(d.join(recorded)).unwrap();
        let host_key: Vec<&str> = host_key.split_whitespace().take(2).collect();
        let line = match client {
            Client::UnknownHostKey => String::new(),
            _ => format!("vowtest-sshd {}\n", host_key.join(" ")),
        };
        std::fs::write(&known, line).unwrap();
        let key = match client {
            Client::WrongKey => d.join("wrong_key"),
            _ => d.join("client_key"),
        };
        let config = home.join("ssh_config");
        std::fs::write(&config, ssh_config(self.port, &self.user, &key, &known)).unwrap();
        let global = home.join("gitconfig");
        std::fs::write(&global, "").unwrap();
        GitEnv {
            home,
            global,
            ssh_command: Some(format!("ssh -F {}", config.display())),
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sshd_config(d: &Path, port: u16, user: &str) -> String {
    format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nAuthorizedKeysFile {auth}\n\
         StrictModes no\nUsePAM no\nPidFile {pid}\nPasswordAuthentication no\n\
         KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nAllowUsers {user}\n\
         AllowTcpForwarding no\nX11Forwarding no\nPrintMotd no\nLogLevel VERBOSE\n",
        host = d.join("host_key").display(),
        auth = d.join("authorized_keys").display(),
        pid = d.join("sshd.pid").display(),
    )
}

fn ssh_config(port: u16, user: &str, key: &Path, known: &Path) -> String {
    // HostKeyAlias: one known_hosts line serves both the alias and 127.0.0.1 on this port.
    format!(
        "Host {ALIAS} 127.0.0.1\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n  \
         IdentityFile {key}\n  IdentitiesOnly yes\n  IdentityAgent none\n  \
         HostKeyAlias vowtest-sshd\n  UserKnownHostsFile {known}\n  \
         GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  BatchMode yes\n  \
         ConnectTimeout 20\n  ServerAliveInterval 10\n  ServerAliveCountMax 3\n  LogLevel ERROR\n",
        key = key.display(),
        known = known.display(),
    )
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The user the URL names: `git` as root (made once when missing), else the current user.
fn login_user() -> Result<String, String> {
    if !is_root() {
        let (ok, name) = run_text(Command::new("id").arg("-un"));
        return if ok {
            Ok(name.trim().to_string())
        } else {
            Err(format!("id -un: {name}"))
        };
    }
    static MADE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = MADE.lock().unwrap_or_else(|e| e.into_inner());
    if run_text(Command::new("id").arg("git")).0 {
        return Ok("git".to_string());
    }
    let shell = git_shell();
    let (ok, out) = run_text(Command::new("useradd").args(["-m", "-s", &shell, "git"]));
    if !ok {
        return Err(format!("useradd git: {out}"));
    }
    // A new account's password is locked ("!"), and sshd without PAM refuses locked accounts
    // even for keys; "*" means "no password" without locking.
    let (ok, out) = run_text(Command::new("usermod").args(["-p", "*", "git"]));
    if !ok {
        return Err(format!("usermod git: {out}"));
    }
    Ok("git".to_string())
}

/// git-shell (only git's own commands over ssh) when it is there, else /bin/sh.
fn git_shell() -> String {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("git-shell"))
        .find(|p| p.is_file())
        .map_or("/bin/sh".to_string(), |p| p.display().to_string())
}

fn chown_tree(root: &Path, user: &str) -> Result<(), String> {
    let id = |flag: &str| -> Result<u32, String> {
        let (ok, out) = run_text(Command::new("id").args([flag, user]));
        let n = out.trim().parse().ok().filter(|_| ok);
        n.ok_or(format!("id {flag} {user}: {out}"))
    };
    let (uid, gid) = (id("-u")?, id("-g")?);
    for entry in walkdir::WalkDir::new(root) {
        let entry = entry.map_err(|e| e.to_string())?;
        std::os::unix::fs::lchown(entry.path(), Some(uid), Some(gid))
            .map_err(|e| format!("chown {}: {e}", entry.path().display()))?;
    }
    Ok(())
}

fn keygen(path: &Path) -> Result<(), String> {
    let (ok, out) = run_text(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "vow-test", "-f"])
            .arg(path),
    );
    if ok {
        Ok(())
    } else {
        Err(format!("ssh-keygen (openssh-client): {out}"))
    }
}

fn set_mode(path: &Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("chmod {}: {e}", path.display()))
}

/// Runs `cmd`; (success, stdout and stderr).
fn run_text(cmd: &mut Command) -> (bool, String) {
    match cmd.output() {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            (out.status.success(), text)
        }
        Err(e) => (false, e.to_string()),
    }
}
