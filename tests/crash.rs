//! Crash test: apply a plan of a few thousand instances, kill the process with SIGKILL at
//! pseudo-random moments over many runs, resume each time; the final store must be identical to
//! an uninterrupted apply, and no wave may be applied twice. For the folder store and for a git
//! store over file://. For the git store, also a kill at every named crash point of its apply
//! (`VOW_TEST_CRASH_AT`, see `vow::store::crash`), and a push the remote's hook refuses.

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
use std::time::Duration;

const INSTANCES: usize = 2500;
const NOW: &str = "2026-12-01T09:00:00Z";

/// A workspace with the `db` Promise rolled out in many batches, and INSTANCES requests.
fn workspace(store: &str) -> tempfile::TempDir {
    workspace_of(store, INSTANCES)
}

/// The same with `instances` requests.
fn workspace_of(store: &str, instances: usize) -> tempfile::TempDir {
    let ws = scratch_workspace();
    let rollout = "  rollout:\n    canary: {count: 5}\n    waves:\n      - {name: dev, selector: {matchLabels: {env: dev}}, maxSize: 20%}\n      - {name: prod, maxSize: 20%}\n";
    write(
        ws.path(),
        "promises/db/promise.yaml",
        &format!("{PROMISE}{rollout}"),
    );
    let mut fleet = String::new();
    for i in 0..instances {
        let env = if i % 3 == 0 { "dev" } else { "prod" };
        fleet.push_str(&format!(
            "---\napiVersion: example.com/v1\nkind: DB\nmetadata:\n  name: db-{i:05}\n  namespace: team-{}\n  labels: {{env: {env}}}\nspec:\n  size: {}\n",
            i % 7,
            1 + i % 50
        ));
    }
    write(ws.path(), "requests/fleet.yaml", &fleet);
    write(ws.path(), "vow.yaml", store);
    ws
}

fn vow_in(ws: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vow"))
        .args(args)
        .current_dir(ws)
        .output()
        .unwrap()
}

fn apply_args() -> Vec<&'static str> {
    vec!["apply", "plan.json", "--now", NOW, "--gate-cmd", "true"]
}

fn plan(ws: &Path) -> usize {
    plan_of(ws, INSTANCES)
}

fn plan_of(ws: &Path, instances: usize) -> usize {
    let out = vow_in(
        ws,
        &[
            "plan",
            "--now",
            NOW,
            "--out",
            "plan.json",
            "--format",
            "json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["create"], instances as u64);
    v["waves"].as_array().unwrap().len()
}

fn done(ws: &Path) -> bool {
    String::from_utf8_lossy(&vow_in(ws, &["status"]).stdout).contains(": done")
}

/// Kills apply at pseudo-random moments until the run is done. Returns how many runs were killed.
fn apply_with_crashes(ws: &Path) -> usize {
    let mut seed: u64 = 0x5eed_1234;
    let mut killed = 0;
    let mut unlock: Option<String> = None;
    for round in 0..200 {
        if done(ws) {
            break_stale_lock(ws);
            return killed;
        }
        let mut args = apply_args();
        let id;
        if let Some(u) = unlock.take() {
            id = u;
            args.extend(["--force-unlock", id.as_str()]);
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_vow"))
            .args(&args)
            .current_dir(ws)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        // Early rounds die young; later ones live longer, so the run always gets through.
        let max = 150 + 40 * round as u64;
        let delay = 20 + (seed >> 33) % max;
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed += 1;
        }
        let out = child.wait_with_output().unwrap();
        // Refused (not killed): a lock a killed run left is broken by the id it holds.
        if !out.status.success() && !self::killed(&out) {
            unlock = lock_holder(ws);
        }
    }
    panic!("the run did not finish in 200 rounds");
}

/// A run killed after it finished but before it let go of the lock leaves the lock behind, as
/// any crashed apply does: the next apply refuses, names the lock, and breaking it lets that
/// apply through (with nothing left to do).
fn break_stale_lock(ws: &Path) {
    let out = vow_in(ws, &apply_args());
    if out.status.success() {
        return;
    }
    let id = lock_holder(ws).unwrap_or_else(|| {
        panic!(
            "a finished run's apply failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let mut args: Vec<&str> = apply_args();
    args.extend(["--force-unlock", &id]);
    let out = vow_in(ws, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn wave_indexes(ws_store: &Path) -> Vec<usize> {
    let dir = ws_store.join(".vow/journal");
    let entry = std::fs::read_dir(dir).unwrap().next().unwrap().unwrap();
    let j: serde_json::Value =
        serde_yaml::from_str(&std::fs::read_to_string(entry.path()).unwrap()).unwrap();
    j["waves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["index"].as_u64().unwrap() as usize)
        .collect()
}

#[test]
fn folder_store_survives_sigkill() {
    let store = "store: {folder: state}\n";
    let reference = workspace(store);
    let waves = plan(reference.path());
    assert!(waves >= 8, "a rollout in many waves: {waves}");
    let out = vow_in(reference.path(), &apply_args());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(done(reference.path()));

    let crashed = workspace(store);
    plan(crashed.path());
    let killed = apply_with_crashes(crashed.path());
    assert!(
        killed >= 3,
        "the test must actually kill apply mid-run ({killed} kills)"
    );
    let want = snapshot(&reference.path().join("state"));
    let have = snapshot(&crashed.path().join("state"));
    let differ: Vec<&String> = want
        .keys()
        .filter(|k| have.get(*k) != want.get(*k))
        .collect();
    let extra: Vec<&String> = have.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(
        differ.is_empty() && extra.is_empty(),
        "differ: {differ:?}\nextra: {extra:?}"
    );
    let indexes = wave_indexes(&crashed.path().join("state"));
    assert_eq!(
        indexes,
        (0..waves).collect::<Vec<_>>(),
        "every wave once, in order"
    );
}

#[test]
fn git_store_survives_sigkill() {
    let remote_dir = tempfile::tempdir().unwrap();
    let mk = |name: &str| {
        let bare = remote_dir.path().join(name);
        git2::Repository::init_bare(&bare).unwrap();
        (
            format!(
                "store: {{git: {{url: \"file://{}\", branch: main}}}}\n",
                bare.display()
            ),
            bare,
        )
    };
    let (cfg_a, bare_a) = mk("reference.git");
    let reference = workspace(&cfg_a);
    let waves = plan(reference.path());
    let out = vow_in(reference.path(), &apply_args());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (cfg_b, bare_b) = mk("crashed.git");
    let crashed = workspace(&cfg_b);
    plan(crashed.path());
    let killed = apply_with_crashes(crashed.path());
    assert!(
        killed >= 3,
        "the test must actually kill apply mid-run ({killed} kills)"
    );
    assert!(
        git_tree(&bare_a, "main") == git_tree(&bare_b, "main"),
        "the final trees differ"
    );
    // The history shows every wave exactly once.
    let log = git_log(&bare_b, "main");
    for i in 0..waves {
        let n = log
            .iter()
            .filter(|m| m.lines().any(|l| l.starts_with(&format!("Vow-Wave: {i} "))))
            .count();
        assert_eq!(n, 1, "wave {i} committed {n} times");
    }
    assert_eq!(log.len(), waves + 1);
}

/// A fleet small enough to apply dozens of times, in several waves.
const SMALL: usize = 40;

fn git_config(bare: &Path) -> String {
    format!(
        "store: {{git: {{url: \"file://{}\", branch: main}}}}\n",
        bare.display()
    )
}

fn bare_remote(dir: &Path, name: &str) -> std::path::PathBuf {
    let bare = dir.join(name);
    git2::Repository::init_bare(&bare).unwrap();
    bare
}

/// Runs apply with extra arguments and environment.
fn apply_env(ws: &Path, extra: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut args = apply_args();
    args.extend(extra);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vow"));
    cmd.args(&args).current_dir(ws);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn killed(out: &std::process::Output) -> bool {
    use std::os::unix::process::ExitStatusExt;
    out.status.signal() == Some(9)
}

/// Applies once, breaking the lock a killed apply left first (by the id in the lock file).
fn apply_past_lock(ws: &Path, env: &[(&str, &str)]) -> std::process::Output {
    let out = apply_env(ws, &[], env);
    if out.status.success() || killed(&out) {
        return out;
    }
    match lock_holder(ws) {
        Some(id) => apply_env(ws, &["--force-unlock", &id], env),
        None => out,
    }
}

/// The id `--force-unlock` takes to break the store's lock, read from the lock file through the
/// library (`unreadable` for a lock that is not a lock record); `None` when nothing holds it. A
/// run that failed released its own lock, so a lock found after it is one a killed run left.
fn lock_holder(ws: &Path) -> Option<String> {
    use vow::store::lock::{self, Holder};
    let w = vow::workspace::Workspace::open(ws, None).unwrap();
    let path = vow::store::layout::lock_path(&w.store_kind, &w.store);
    match lock::holder(&path) {
        Holder::Nothing => None,
        Holder::Unreadable(_) => Some(lock::UNREADABLE.to_string()),
        Holder::Held(info) => Some(info.id),
    }
}

/// Applies until the run is done, breaking the lock a killed apply left (by the id in its
/// lock file). Panics on any other failure.
fn finish(ws: &Path) {
    let mut extra: Vec<String> = Vec::new();
    for _ in 0..6 {
        let args: Vec<&str> = extra.iter().map(String::as_str).collect();
        let out = apply_env(ws, &args, &[]);
        extra.clear();
        let err = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            if done(ws) {
                return;
            }
            continue;
        }
        match lock_holder(ws) {
            Some(id) if !killed(&out) => extra = vec!["--force-unlock".into(), id],
            _ => panic!("a resumed apply failed: {err}"),
        }
    }
    panic!("the run did not finish in 6 applies");
}

/// The remote's branch has the reference's tree and every wave exactly once.
fn assert_same_remote(reference: &Path, bare: &Path, waves: usize, case: &str) {
    assert!(
        git_tree(reference, "main") == git_tree(bare, "main"),
        "{case}: the final trees differ"
    );
    let log = git_log(bare, "main");
    for i in 0..waves {
        let n = log
            .iter()
            .filter(|m| m.lines().any(|l| l.starts_with(&format!("Vow-Wave: {i} "))))
            .count();
        assert_eq!(n, 1, "{case}: wave {i} committed {n} times");
    }
    assert_eq!(
        log.len(),
        waves + 1,
        "{case}: one commit per wave, and done"
    );
}

/// Every point of the git apply a crash can stop at, as `VOW_TEST_CRASH_TRACE` lists them.
const POINTS: [&str; 13] = [
    "cache-init",
    "cache-remote",
    "cache-rename",
    "lock-created",
    "sync-head",
    "sync-checkout",
    "blob",
    "tree",
    "commit",
    "push",
    "checkout",
    "index",
    "index-written",
];

/// Points only a resumed apply reaches (a cache made again, a branch moved to the remote's).
const RESUME_POINTS: [&str; 4] = ["sync-head", "ref", "sync-checkout", "cache-set-aside"];

#[test]
fn git_store_resumes_from_every_kill_point() {
    let remotes = tempfile::tempdir().unwrap();
    let bare_ref = bare_remote(remotes.path(), "reference.git");
    let reference = workspace_of(&git_config(&bare_ref), SMALL);
    let waves = plan_of(reference.path(), SMALL);
    assert!(waves >= 4, "a rollout in several waves: {waves}");
    // `vow plan` made the cache; the apply starts without one, to reach the cache's making.
    std::fs::remove_dir_all(reference.path().join(".vow/cache")).unwrap();
    let trace = remotes.path().join("trace");
    let out = apply_env(
        reference.path(),
        &[],
        &[("VOW_TEST_CRASH_TRACE", trace.to_str().unwrap())],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut hits: std::collections::BTreeMap<String, usize> = Default::default();
    for line in std::fs::read_to_string(&trace).unwrap().lines() {
        *hits.entry(line.to_string()).or_default() += 1;
    }
    for p in POINTS {
        assert!(hits.contains_key(p), "an apply reaches {p}: {hits:?}");
    }
    // Each point at its first and its last hit.
    let mut cases: Vec<(String, usize)> = Vec::new();
    for (p, &n) in &hits {
        for k in [1, n] {
            if !cases.contains(&(p.clone(), k)) {
                cases.push((p.clone(), k));
            }
        }
    }
    let mut resumed_at: std::collections::BTreeSet<&str> = Default::default();
    for (i, (point, n)) in cases.iter().enumerate() {
        let case = format!("{point}:{n}");
        let bare = bare_remote(remotes.path(), &format!("case-{i}.git"));
        let ws = workspace_of(&git_config(&bare), SMALL);
        plan_of(ws.path(), SMALL);
        std::fs::remove_dir_all(ws.path().join(".vow/cache")).unwrap();
        let out = apply_env(ws.path(), &[], &[("VOW_TEST_CRASH_AT", &case)]);
        assert!(
            killed(&out),
            "{case}: not reached: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The resume is killed too, at a point only a resume reaches (when it does reach it).
        let second = RESUME_POINTS[i % RESUME_POINTS.len()];
        let at = format!("{second}:1");
        let out = apply_past_lock(ws.path(), &[("VOW_TEST_CRASH_AT", &at)]);
        if killed(&out) {
            resumed_at.insert(second);
        }
        finish(ws.path());
        assert_same_remote(&bare_ref, &bare, waves, &case);
    }
    assert!(
        resumed_at.contains("sync-head") && resumed_at.contains("sync-checkout"),
        "resumes were killed too: {resumed_at:?}"
    );
}

#[test]
fn a_damaged_cache_is_made_again_from_the_remote() {
    let remotes = tempfile::tempdir().unwrap();
    let bare_ref = bare_remote(remotes.path(), "reference.git");
    let reference = workspace_of(&git_config(&bare_ref), SMALL);
    let waves = plan_of(reference.path(), SMALL);
    assert!(apply_env(reference.path(), &[], &[]).status.success());
    let bare = bare_remote(remotes.path(), "damaged.git");
    let ws = workspace_of(&git_config(&bare), SMALL);
    plan_of(ws.path(), SMALL);
    // Killed with a commit made and not pushed; then the cache's HEAD and objects are damaged.
    assert!(killed(&apply_env(
        ws.path(),
        &[],
        &[("VOW_TEST_CRASH_AT", "commit:3")]
    )));
    let cache = std::fs::read_dir(ws.path().join(".vow/cache"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    std::fs::write(cache.join(".git/HEAD"), "").unwrap();
    finish(ws.path());
    assert_same_remote(&bare_ref, &bare, waves, "damaged cache");
}

/// A pre-receive hook that refuses every push while `<remote>/refuse` exists.
fn refusing_hook(bare: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let hook = bare.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\nif [ -e \"$GIT_DIR/refuse\" ]; then echo 'policy: no pushes today' >&2; exit 1; fi\n",
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_push_the_remote_refuses_is_an_error_and_a_later_apply_recovers() {
    if Command::new("git").arg("--version").output().is_err() {
        eprintln!("git is not installed: the remote's hooks cannot run");
        return;
    }
    let remotes = tempfile::tempdir().unwrap();
    let bare_ref = bare_remote(remotes.path(), "reference.git");
    let reference = workspace_of(&git_config(&bare_ref), SMALL);
    let waves = plan_of(reference.path(), SMALL);
    assert!(apply_env(reference.path(), &[], &[]).status.success());

    let bare = bare_remote(remotes.path(), "hooked.git");
    refusing_hook(&bare);
    let ws = workspace_of(&git_config(&bare), SMALL);
    plan_of(ws.path(), SMALL);
    let refuse = bare.join("refuse");
    // Refused from the first wave: exit 2, the remote's words, nothing in the remote.
    std::fs::write(&refuse, "").unwrap();
    let out = apply_env(ws.path(), &[], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("policy: no pushes today"), "{err}");
    assert!(err.contains("pre-receive hook declined"), "{err}");
    assert!(err.contains("Nothing was written"), "{err}");
    assert!(git2::Repository::open(&bare)
        .unwrap()
        .find_reference("refs/heads/main")
        .is_err());
    // Allowed for two waves, killed with the third committed and not pushed, then refused: the
    // leftover commit is dropped, and the error says so.
    std::fs::remove_file(&refuse).unwrap();
    assert!(killed(&apply_env(
        ws.path(),
        &[],
        &[("VOW_TEST_CRASH_AT", "commit:3")]
    )));
    std::fs::write(&refuse, "").unwrap();
    let out = apply_past_lock(ws.path(), &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("policy: no pushes today"), "{err}");
    assert!(err.contains("is dropped"), "{err}");
    assert!(!done(ws.path()));
    assert_eq!(git_log(&bare, "main").len(), 2, "two waves pushed, no more");
    // The hook is lifted: a later apply finishes to the same remote as an uninterrupted one.
    std::fs::remove_file(&refuse).unwrap();
    finish(ws.path());
    assert_same_remote(&bare_ref, &bare, waves, "refused push");
}
