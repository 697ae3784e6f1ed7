//! The git store over a real network transport: `git daemon` on 127.0.0.1 (`git://`), started
//! by the test. A full round (plan → apply until done → plan again: nothing → change a request
//! → apply), with the pushed history checked, and a second writer that pushes first so vow's
//! push is rejected and recovered from. Without a daemon the tests skip loudly (and fail under
//! `CI=true`).

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
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `git daemon` serving the bare repositories under `base`; killed when dropped.
struct Daemon {
    child: Child,
    port: u16,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    fn url(&self, repo: &str) -> String {
        format!("git://127.0.0.1:{}/{repo}", self.port)
    }
}

/// Starts `git daemon` on a free port of 127.0.0.1; `None` (after saying why) when it cannot
/// start, and a failure under CI, where it must.
fn daemon(base: &Path) -> Option<Daemon> {
    match start_daemon(base) {
        Ok(d) => Some(d),
        Err(why) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("git daemon cannot start under CI: {why}")
        }
        Err(why) => {
            eprintln!(
                "SKIPPED: git daemon cannot start here ({why}); the git:// transport is not tested"
            );
            None
        }
    }
}

fn start_daemon(base: &Path) -> Result<Daemon, String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    // The daemon itself, not `git daemon`: git runs it as a child of its own, which killing
    // `git` would leave running (a listener per test, for as long as the machine is up).
    let exec_path = Command::new("git")
        .arg("--exec-path")
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    let exec_path = String::from_utf8_lossy(&exec_path.stdout)
        .trim()
        .to_string();
    let child = Command::new(Path::new(&exec_path).join("git-daemon"))
        .arg("--reuseaddr")
        .arg("--export-all")
        .arg("--enable=receive-pack")
        .arg("--informative-errors")
        .arg(format!("--base-path={}", base.display()))
        .arg("--listen=127.0.0.1")
        .arg(format!("--port={port}"))
        .arg(base)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run git daemon: {e}"))?;
    let mut d = Daemon { child, port };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = d.child.try_wait() {
            return Err(format!("git daemon exited: {status}"));
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(d);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = d.child.kill();
    Err("git daemon did not listen within 10 s".into())
}

/// `git init --bare -b main` under `base`, as docs/apply.md tells a new store to be made.
fn bare(base: &Path, name: &str) -> PathBuf {
    let path = base.join(name);
    let ok = Command::new("git")
        .args(["init", "-q", "--bare", "-b", "main"])
        .arg(&path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "git init --bare");
    path
}

/// Points the example copy at a git store at `url` without windows or freezes.
fn use_git(ws: &Path, url: &str) {
    let cfg = std::fs::read_to_string(ws.join("vow.yaml")).unwrap();
    let head = cfg.split("\n# Production changes").next().unwrap();
    let cfg = head.replace(
        "store: {folder: fixtures/example/state}",
        &format!("store: {{git: {{url: \"{url}\", branch: main}}}}"),
    );
    std::fs::write(ws.join("vow.yaml"), cfg).unwrap();
}

/// Runs vow in the workspace with a bounded git (no test hangs on the network).
fn run(ws: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vow"))
        .args(args)
        .current_dir(ws)
        .env("VOW_GIT_TIMEOUT", "60")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn plan_out(ws: &Path, now: &str) -> serde_json::Value {
    let (code, _, err) = run(
        ws,
        &[
            "plan",
            "--now",
            now,
            "--out",
            "plan.json",
            "--format",
            "json",
            "--fail-on",
            "never",
        ],
    );
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&std::fs::read_to_string(ws.join("plan.json")).unwrap()).unwrap()
}

/// Applies with a passing gate, stepping the clock by 5 hours from `start`, until done.
fn apply_until_done(ws: &Path, start: &str) {
    let mut t = chrono::DateTime::parse_from_rfc3339(start).unwrap();
    for _ in 0..40 {
        let now = t.to_rfc3339();
        let (code, out, err) = run(
            ws,
            &["apply", "plan.json", "--now", &now, "--gate-cmd", "true"],
        );
        assert_eq!(code, 0, "{out}{err}");
        // Apply's lines are all on stderr (docs/cli.md).
        if err.contains(": done:") {
            return;
        }
        t += chrono::Duration::hours(5);
    }
    panic!("the run did not finish");
}

/// Checks the commits of one run on top of the branch: one per wave and a closing one, each
/// with the plan's trailers.
fn check_run_history(log: &[String], plan: &serde_json::Value) {
    let plan_id = plan["planId"].as_str().unwrap();
    let waves = plan["waves"].as_array().unwrap();
    let run: Vec<&String> = log
        .iter()
        .filter(|m| m.contains(&format!("Vow-Plan: {plan_id}")))
        .collect();
    assert_eq!(
        run.len(),
        waves.len() + 1,
        "one commit per wave, one closing"
    );
    for w in waves {
        let trailer = format!("Vow-Wave: {} {}", w["index"], w["name"].as_str().unwrap());
        let n = run
            .iter()
            .filter(|m| m.lines().any(|l| l == trailer))
            .count();
        assert_eq!(n, 1, "{trailer} in {n} commits");
    }
    assert!(log[0].contains("Vow-Wave: done"), "{}", log[0]);
}

fn no_changes(ws: &Path) {
    let (_, out, err) = run(ws, &["plan", "--format", "json"]);
    let again: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{err}"));
    for k in ["create", "update", "delete"] {
        assert_eq!(again["summary"][k], 0, "{k} after apply");
    }
}

#[test]
fn a_full_round_over_git_daemon() {
    let ws = example_copy();
    let base = ws.path().join("served");
    std::fs::create_dir_all(&base).unwrap();
    let remote = bare(&base, "state.git");
    let Some(d) = daemon(&base) else { return };
    use_git(ws.path(), &d.url("state.git"));

    let plan = plan_out(ws.path(), "2026-12-01T09:00:00Z");
    assert!(plan["waves"].as_array().unwrap().len() >= 3);
    apply_until_done(ws.path(), "2026-12-01T09:00:00Z");
    let log = git_log(&remote, "main");
    check_run_history(&log, &plan);
    assert_eq!(log.len(), plan["waves"].as_array().unwrap().len() + 1);

    // The pushed tree is Kratix's layout plus vow's records.
    let layout = regex::Regex::new(
        r"^[a-z0-9./-]+/(resources/[a-z0-9-]+/[a-z0-9-]+/[a-z0-9-]+|dependencies/[a-z0-9-]+)/[a-z0-9-]+/[0-9a-f]{5}/[a-z0-9.-]+$",
    )
    .unwrap();
    let tree = git_tree(&remote, "main");
    for p in tree.keys().filter(|p| !p.starts_with(".vow/")) {
        assert!(layout.is_match(p), "{p} is not in Kratix's layout");
    }
    assert!(tree.keys().any(|p| p.starts_with(".vow/bindings/")));
    no_changes(ws.path());

    // Change a request: a second run, on top of the first.
    let req = ws.path().join("fixtures/example/requests/identity.yaml");
    let text = std::fs::read_to_string(&req).unwrap();
    std::fs::write(&req, text.replacen("storageGb: 300", "storageGb: 400", 1)).unwrap();
    let second = plan_out(ws.path(), "2026-12-10T09:00:00Z");
    assert!(
        second["summary"]["update"].as_u64().unwrap() >= 1,
        "{}",
        second["summary"]
    );
    apply_until_done(ws.path(), "2026-12-10T09:00:00Z");
    let after = git_log(&remote, "main");
    check_run_history(&after, &second);
    assert_eq!(
        after.len(),
        log.len() + second["waves"].as_array().unwrap().len() + 1
    );
    no_changes(ws.path());
}

#[test]
fn a_push_rejected_over_git_daemon_loses_nothing_and_the_next_apply_goes_on() {
    let ws = example_copy();
    let base = ws.path().join("served");
    std::fs::create_dir_all(&base).unwrap();
    let remote = bare(&base, "state.git");
    let Some(d) = daemon(&base) else { return };
    let url = d.url("state.git");
    use_git(ws.path(), &url);
    plan_out(ws.path(), "2026-12-01T09:00:00Z");
    let (code, out, err) = run(
        ws.path(),
        &[
            "apply",
            "plan.json",
            "--now",
            "2026-12-01T09:00:00Z",
            "--gate-cmd",
            "true",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let before = git_log(&remote, "main");

    // A second clone pushes between vow's fetch and its push (from the gate command).
    let gate = racer_gate(ws.path(), &url, "echo more > RACE\ngit add RACE", "race");
    let (code, out, err) = run(
        ws.path(),
        &[
            "apply",
            "plan.json",
            "--now",
            "2026-12-01T10:00:00Z",
            "--gate-cmd",
            &gate,
        ],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("someone else moved main"), "{err}");
    assert!(err.contains("Nothing was written"), "{err}");
    assert!(err.contains(&url), "the message names the remote: {err}");
    let log = git_log(&remote, "main");
    assert_eq!(log.len(), before.len() + 1);
    assert_eq!(log[0].trim(), "race", "the other writer's commit is on top");

    // The next apply fetches the new head, re-checks the plan against it (the other commit
    // touched no record of vow's) and goes on, building on it.
    let (code, out, err) = run(
        ws.path(),
        &[
            "apply",
            "plan.json",
            "--now",
            "2026-12-01T10:00:00Z",
            "--gate-cmd",
            "true",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("applied wave"), "{out}{err}");
    let log = git_log(&remote, "main");
    assert!(log.len() > before.len() + 1, "vow's waves are on top");
    assert!(log[0].contains("Vow-Wave: "), "{}", log[0]);
    assert!(log.iter().any(|m| m.trim() == "race"));
    assert!(git_tree(&remote, "main").contains_key("RACE"));
    // Each wave is in the history once: the rejected one was not journaled, then made again.
    let mut trailers: Vec<&str> = log
        .iter()
        .flat_map(|m| m.lines().filter(|l| l.starts_with("Vow-Wave: ")))
        .collect();
    let all = trailers.len();
    trailers.sort();
    trailers.dedup();
    assert_eq!(trailers.len(), all, "a wave twice in {log:?}");
}

#[test]
fn a_missing_repository_and_a_closed_port_say_which() {
    let ws = example_copy();
    let base = ws.path().join("served");
    std::fs::create_dir_all(&base).unwrap();
    let Some(d) = daemon(&base) else { return };
    use_git(ws.path(), &d.url("nowhere.git"));
    let (code, _, err) = run(ws.path(), &["plan", "--fail-on", "never"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("there is no repository at git://127.0.0.1"),
        "{err}"
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = std::fs::read_to_string(ws.path().join("vow.yaml")).unwrap();
    let cfg = cfg.replace(
        &d.url("nowhere.git"),
        &format!("git://127.0.0.1:{closed}/state.git"),
    );
    std::fs::write(ws.path().join("vow.yaml"), cfg).unwrap();
    let (code, _, err) = run(ws.path(), &["plan", "--fail-on", "never"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot be reached"), "{err}");
}

/// `store.git` without `branch`: the remote's default branch, `main` for an empty remote.
fn use_git_default_branch(ws: &Path, url: &str) {
    use_git(ws, url);
    let cfg = std::fs::read_to_string(ws.join("vow.yaml")).unwrap();
    std::fs::write(ws.join("vow.yaml"), cfg.replace(", branch: main}", "}")).unwrap();
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

#[test]
fn without_a_branch_the_remote_default_is_used_and_main_for_an_empty_remote() {
    let ws = example_copy();
    let base = ws.path().join("served");
    std::fs::create_dir_all(&base).unwrap();
    let Some(d) = daemon(&base) else { return };
    let now = "2026-12-01T09:00:00Z";
    let apply = ["apply", "plan.json", "--now", now, "--gate-cmd", "true"];

    // An empty remote: the first push creates main.
    let empty = bare(&base, "empty.git");
    use_git_default_branch(ws.path(), &d.url("empty.git"));
    plan_out(ws.path(), now);
    let (code, out, err) = run(ws.path(), &apply);
    assert_eq!(code, 0, "{out}{err}");
    let log = git_log(&empty, "main");
    assert!(log.iter().any(|m| m.contains("Vow-Wave: 0 ")), "{log:?}");

    // A remote whose HEAD is trunk, with a commit on it: vow builds on trunk.
    let trunk = base.join("trunk.git");
    git(&base, &["init", "-q", "--bare", "-b", "trunk", "trunk.git"]);
    let seed = ws.path().join("seed");
    git(ws.path(), &["init", "-q", "-b", "trunk", "seed"]);
    git(&seed, &["remote", "add", "origin", &d.url("trunk.git")]);
    std::fs::write(seed.join("README"), "state\n").unwrap();
    git(&seed, &["add", "README"]);
    git(
        &seed,
        &[
            "-c",
            "user.name=s",
            "-c",
            "user.email=s@example.com",
            "commit",
            "-qm",
            "seed",
        ],
    );
    git(&seed, &["push", "-q", "origin", "trunk"]);
    let cfg = std::fs::read_to_string(ws.path().join("vow.yaml")).unwrap();
    std::fs::write(
        ws.path().join("vow.yaml"),
        cfg.replace(&d.url("empty.git"), &d.url("trunk.git")),
    )
    .unwrap();
    plan_out(ws.path(), now);
    let (code, out, err) = run(ws.path(), &apply);
    assert_eq!(code, 0, "{out}{err}");
    let log = git_log(&trunk, "trunk");
    assert!(log.iter().any(|m| m.contains("Vow-Wave: 0 ")), "{log:?}");
    assert_eq!(log.last().unwrap().trim(), "seed");
    let (_, out, _) = run(ws.path(), &["status"]);
    assert!(
        out.contains("trunk.git#trunk") || out.contains("running"),
        "{out}"
    );
}

#[test]
fn a_push_rejected_by_a_writer_that_changed_a_record_leaves_the_plan_stale() {
    let ws = example_copy();
    let base = ws.path().join("served");
    std::fs::create_dir_all(&base).unwrap();
    let remote = bare(&base, "state.git");
    let Some(d) = daemon(&base) else { return };
    let url = d.url("state.git");
    use_git(ws.path(), &url);
    plan_out(ws.path(), "2026-12-01T09:00:00Z");
    let first = [
        "apply",
        "plan.json",
        "--now",
        "2026-12-01T09:00:00Z",
        "--gate-cmd",
        "true",
    ];
    let (code, out, err) = run(ws.path(), &first);
    assert_eq!(code, 0, "{out}{err}");
    // The other writer edits one of vow's binding records.
    let gate = racer_gate(
        ws.path(),
        &url,
        "f=$(git ls-files .vow/bindings | head -n 1)\necho '# edited' >> \"$f\"",
        "edit",
    );
    let racing = [
        "apply",
        "plan.json",
        "--now",
        "2026-12-01T10:00:00Z",
        "--gate-cmd",
        &gate,
    ];
    let (code, out, err) = run(ws.path(), &racing);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("someone else moved main"), "{err}");
    let edited = git_log(&remote, "main");
    assert_eq!(edited[0].trim(), "edit");
    // The next apply sees the edited store and refuses the plan; nothing is pushed.
    let again = [
        "apply",
        "plan.json",
        "--now",
        "2026-12-01T10:00:00Z",
        "--gate-cmd",
        "true",
    ];
    let (code, out, err) = run(ws.path(), &again);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("is stale") || err.contains("not what planning"),
        "{err}"
    );
    assert_eq!(git_log(&remote, "main"), edited);
}
