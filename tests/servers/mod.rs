//! Real git servers for the transport tests, and the vow round every transport must pass.
//!
//! The servers (`tls`: smart HTTP over TLS; `ssh`: sshd) listen on 127.0.0.1 and live as long as
//! their handle. Every git and vow run here gets an isolated environment: a temporary home and
//! global git config, no system config, no terminal prompts, and none of the machine's own
//! certificate, proxy or ssh settings, so that only what the test configures can authenticate.
//! A server that cannot start skips its test loudly, and fails it under `CI=true`.
#![allow(dead_code)]

pub(crate) mod ssh;
pub(crate) mod tls;

use crate::common::{example_copy, snapshot};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How long a server may take to listen: generous for a loaded 2-core machine, still bounded.
pub(crate) const START_WAIT: Duration = Duration::from_secs(60);

/// Variables that would let git or ssh use the machine's setup instead of the test's.
const FOREIGN_VARS: &[&str] = &[
    "GIT_SSL_CAINFO",
    "GIT_SSL_CAPATH",
    "GIT_SSL_NO_VERIFY",
    "GIT_SSL_CERT",
    "GIT_SSL_KEY",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
    "SSH_AUTH_SOCK",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_SSH_VARIANT",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "XDG_CONFIG_HOME",
    "http_proxy",
    "https_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "all_proxy",
];

/// Skips a test whose server cannot start: says why on stderr, or fails under `CI=true`.
pub(crate) fn cannot_start(reason: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("the test server cannot start (CI=true, so this fails): {reason}");
    }
    // Straight to the process's stderr: the test harness captures `eprintln!` of passing tests,
    // and a skip must be seen.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: the test server cannot start: {reason}"
    );
}

/// Whether `program` runs at all (`program --version`-like probe with the given args).
pub(crate) fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok()
}

/// A free TCP port on 127.0.0.1 (the listener is closed again; the server binds it next).
pub(crate) fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Polls `ready` until it is true or `START_WAIT` has passed.
pub(crate) fn wait_for(mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + START_WAIT;
    while Instant::now() < deadline {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// The environment of every git and vow run in a transport test.
#[derive(Clone, Debug)]
pub(crate) struct GitEnv {
    /// A scratch home (nothing of the machine's ~/.gitconfig or ~/.ssh).
    pub home: PathBuf,
    /// The file `GIT_CONFIG_GLOBAL` names.
    pub global: PathBuf,
    /// `GIT_SSH_COMMAND`, for the ssh tests.
    pub ssh_command: Option<String>,
}

impl GitEnv {
    /// A command for `program` in this environment.
    pub(crate) fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        for var in FOREIGN_VARS {
            cmd.env_remove(var);
        }
        let vars: [(&str, OsString); 6] = [
            ("HOME", self.home.clone().into()),
            ("GIT_CONFIG_GLOBAL", self.global.clone().into()),
            ("GIT_CONFIG_NOSYSTEM", "1".into()),
            ("GIT_TERMINAL_PROMPT", "0".into()),
            ("NO_PROXY", "127.0.0.1,localhost".into()),
            ("no_proxy", "127.0.0.1,localhost".into()),
        ];
        cmd.envs(vars);
        if let Some(ssh) = &self.ssh_command {
            cmd.env("GIT_SSH_COMMAND", ssh);
        }
        cmd
    }

    /// Runs git with `args` in `dir`; returns (success, stdout, stderr).
    pub(crate) fn git(&self, dir: &Path, args: &[&str]) -> (bool, String, String) {
        let out = self
            .command("git")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("git runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs vow with `args` in the workspace `ws`; returns (exit code, stdout, stderr).
    pub(crate) fn vow(&self, ws: &Path, args: &[&str]) -> (i32, String, String) {
        let out = self
            .command(env!("CARGO_BIN_EXE_vow"))
            .args(args)
            .current_dir(ws)
            .output()
            .expect("the vow binary runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// Proves a server with git alone: clone, commit, push, clone again and see the commit.
pub(crate) fn plain_git_round(env: &GitEnv, url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = env.git(dir.path(), &["clone", "-q", url, "one"]);
    assert!(ok, "clone: {err}");
    let one = dir.path().join("one");
    std::fs::write(one.join("README"), "a state store\n").unwrap();
    // Incompressible and over git's smallest http.postBuffer: the https push goes chunked.
    let noise: Vec<u8> = (0u32..200_000)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(one.join("noise.bin"), noise).unwrap();
    for args in [
        &["checkout", "-q", "-B", "main"][..],
        &["add", "README", "noise.bin"],
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-qm",
            "first",
        ],
        &[
            "-c",
            "http.postBuffer=65520",
            "push",
            "-q",
            "origin",
            "main",
        ],
    ] {
        let (ok, _, err) = env.git(&one, args);
        assert!(ok, "git {args:?}: {err}");
    }
    let (ok, _, err) = env.git(dir.path(), &["clone", "-q", "-b", "main", url, "two"]);
    assert!(ok, "second clone: {err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("two/README")).unwrap(),
        "a state store\n"
    );
}

/// The example workspace with a git store at `url` (branch main) and no windows or freezes:
/// the rounds step time by hand.
pub(crate) fn example_on(url: &str) -> tempfile::TempDir {
    let ws = example_copy();
    let cfg = std::fs::read_to_string(ws.path().join("vow.yaml")).unwrap();
    let head = cfg.split("\n# Production changes").next().unwrap();
    let cfg = head.replace(
        "store: {folder: fixtures/example/state}",
        &format!("store: {{git: {{url: \"{url}\", branch: main}}}}"),
    );
    assert!(cfg.contains(url), "the example's vow.yaml names its store");
    std::fs::write(ws.path().join("vow.yaml"), cfg).unwrap();
    ws
}

/// `vow plan --out plan.json` at `now`; the plan as JSON.
pub(crate) fn plan_out(env: &GitEnv, ws: &Path, now: &str) -> serde_json::Value {
    let args = [
        "plan",
        "--now",
        now,
        "--out",
        "plan.json",
        "--format",
        "json",
        "--fail-on",
        "never",
    ];
    let (code, _, err) = env.vow(ws, &args);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&std::fs::read_to_string(ws.join("plan.json")).unwrap()).unwrap()
}

/// Applies plan.json with a passing gate, stepping the clock by 5 hours from `start`, until done.
pub(crate) fn apply_until_done(env: &GitEnv, ws: &Path, start: &str) {
    let mut t = chrono::DateTime::parse_from_rfc3339(start).unwrap();
    for _ in 0..40 {
        let now = t.to_rfc3339();
        let args = ["apply", "plan.json", "--now", &now, "--gate-cmd", "true"];
        let (code, out, err) = env.vow(ws, &args);
        assert_eq!(code, 0, "{out}{err}");
        // Apply's lines are all on stderr (docs/cli.md).
        if err.contains(": done:") {
            return;
        }
        t += chrono::Duration::hours(5);
    }
    panic!("the run did not finish");
}

/// The remote's `main` as a fresh clone over the transport: (commit messages newest first, files).
pub(crate) fn pushed(
    env: &GitEnv,
    url: &str,
) -> (Vec<String>, std::collections::BTreeMap<String, Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = env.git(dir.path(), &["clone", "-q", "-b", "main", url, "c"]);
    assert!(ok, "clone of the pushed store: {err}");
    let clone = dir.path().join("c");
    let (ok, log, err) = env.git(&clone, &["log", "--format=%B%x00", "main"]);
    assert!(ok, "git log: {err}");
    let messages = log
        .split('\0')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .collect();
    (messages, snapshot(&clone))
}

/// The commits one run pushed (the newest `waves + 1` of `log`): one per wave with its trailer,
/// and one that closes the run, all naming the plan.
pub(crate) fn check_run_commits(log: &[String], plan: &serde_json::Value) {
    let waves = plan["waves"].as_array().unwrap();
    let plan_id = plan["planId"].as_str().unwrap();
    assert!(
        log.len() > waves.len(),
        "{} commits for {} waves",
        log.len(),
        waves.len()
    );
    let run = &log[..=waves.len()];
    for w in waves {
        let trailer = format!("Vow-Wave: {} {}", w["index"], w["name"].as_str().unwrap());
        let n = run
            .iter()
            .filter(|m| m.lines().any(|l| l == trailer))
            .count();
        assert_eq!(n, 1, "{trailer} in {n} commits");
    }
    let trailer = format!("Vow-Plan: {plan_id}");
    assert!(
        run.iter().all(|m| m.lines().any(|l| l == trailer)),
        "{run:#?}"
    );
    assert!(run[0].lines().any(|l| l == "Vow-Wave: done"), "{}", run[0]);
}

/// Every file outside vow's records is in Kratix's layout; the records are there.
pub(crate) fn check_layout(files: &std::collections::BTreeMap<String, Vec<u8>>) {
    let layout = regex::Regex::new(
        r"^[a-z0-9./-]+/(resources/[a-z0-9-]+/[a-z0-9-]+/[a-z0-9-]+|dependencies/[a-z0-9-]+)/[a-z0-9-]+/[0-9a-f]{5}/[a-z0-9.-]+$",
    )
    .unwrap();
    let outside: Vec<&String> = files.keys().filter(|p| !p.starts_with(".vow/")).collect();
    assert!(outside.len() > 40, "{} files in the store", outside.len());
    for p in outside {
        assert!(layout.is_match(p), "{p} is not in Kratix's layout");
    }
    assert!(files.keys().any(|p| p.starts_with(".vow/bindings/")));
}

/// The second plan after a finished run changes nothing (the blocked requests stay blocked).
fn assert_nothing_to_do(env: &GitEnv, ws: &Path) {
    let (code, out, err) = env.vow(ws, &["plan", "--format", "json"]);
    assert_eq!(code, 1, "the blocked requests are still blocked: {err}");
    let again: serde_json::Value = serde_json::from_str(&out).unwrap();
    for k in ["create", "update", "delete"] {
        assert_eq!(again["summary"][k], 0, "{k} after apply");
    }
}

/// The full round over one transport: plan → apply until done → the pushed history → a second
/// plan with nothing to do → a change → apply → its history.
pub(crate) fn vow_round(env: &GitEnv, url: &str) {
    let ws = example_on(url);
    let plan = plan_out(env, ws.path(), "2026-12-01T09:00:00Z");
    assert!(
        plan["summary"]["create"].as_u64().unwrap() > 40,
        "an empty store"
    );
    apply_until_done(env, ws.path(), "2026-12-01T09:00:00Z");
    let (log, files) = pushed(env, url);
    assert_eq!(
        log.len(),
        plan["waves"].as_array().unwrap().len() + 1,
        "{log:#?}"
    );
    check_run_commits(&log, &plan);
    check_layout(&files);
    assert_nothing_to_do(env, ws.path());

    // A change: one request's eviction policy.
    let fleet = ws
        .path()
        .join("fixtures/example/requests/checkout-rate-limits.ndjson");
    let text = std::fs::read_to_string(&fleet).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("\"rate-limit-dev\""))
        .unwrap();
    let changed = text.replace(line, &line.replace("volatile-ttl", "allkeys-lru"));
    assert_ne!(text, changed);
    std::fs::write(&fleet, changed).unwrap();
    let second = plan_out(env, ws.path(), "2026-12-10T09:00:00Z");
    assert_eq!(second["summary"]["update"], 1, "{:#}", second["summary"]);
    apply_until_done(env, ws.path(), "2026-12-10T09:00:00Z");
    let (log2, files2) = pushed(env, url);
    let waves2 = second["waves"].as_array().unwrap().len();
    assert_eq!(log2.len(), log.len() + waves2 + 1, "{log2:#?}");
    check_run_commits(&log2, &second);
    check_layout(&files2);
    let policy = files2
        .iter()
        .filter(|(p, _)| p.contains("rate-limit-dev"))
        .any(|(_, c)| String::from_utf8_lossy(c).contains("allkeys-lru"));
    assert!(policy, "the change reached the pushed store");
    assert_nothing_to_do(env, ws.path());
}

/// A refused remote: `vow plan` and `vow apply` (of a plan made with good access) both exit 2
/// with `words` (the cause, case-insensitive) in the message, never show `secret`, and the
/// remote's branch stays absent (nothing pushed, nothing journaled).
pub(crate) fn assert_refused(good: &GitEnv, bad: &GitEnv, url: &str, words: &[&str], secret: &str) {
    let ws = example_on(url);
    plan_out(good, ws.path(), "2026-12-01T09:00:00Z");
    let tries: [&[&str]; 2] = [
        &["plan", "--format", "json"],
        &[
            "apply",
            "plan.json",
            "--now",
            "2026-12-01T09:00:00Z",
            "--gate-cmd",
            "true",
        ],
    ];
    for args in tries {
        let (code, out, err) = bad.vow(ws.path(), args);
        assert_eq!(code, 2, "vow {args:?} exits 2: {out}{err}");
        eprintln!("vow {} refused: {}", args[0], err.trim_end());
        let lower = err.to_lowercase();
        for w in words {
            assert!(
                lower.contains(&w.to_lowercase()),
                "vow {args:?}: {w:?} in {err}"
            );
        }
        assert!(
            !(out.clone() + &err).contains(secret),
            "a secret in the output: {err}"
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let (ok, refs, err) = good.git(tmp.path(), &["ls-remote", url]);
    assert!(ok, "ls-remote: {err}");
    assert!(!refs.contains("refs/heads/main"), "nothing pushed: {refs}");
}
