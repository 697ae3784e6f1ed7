//! Crash test: apply a plan of a few thousand instances, kill the process with SIGKILL at
//! pseudo-random moments over many runs, resume each time; the final store must be identical to
//! an uninterrupted apply, and no wave may be applied twice. For the folder store and for a git
//! store over file://.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const INSTANCES: usize = 2500;
const NOW: &str = "2026-12-01T09:00:00Z";

/// A workspace with the `db` Promise rolled out in many batches, and INSTANCES requests.
fn workspace(store: &str) -> tempfile::TempDir {
    let ws = scratch_workspace();
    let rollout = "  rollout:\n    canary: {count: 5}\n    waves:\n      - {name: dev, selector: {matchLabels: {env: dev}}, maxSize: 20%}\n      - {name: prod, maxSize: 20%}\n";
    write(
        ws.path(),
        "promises/db/promise.yaml",
        &format!("{PROMISE}{rollout}"),
    );
    let mut fleet = String::new();
    for i in 0..INSTANCES {
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
    assert_eq!(v["summary"]["create"], INSTANCES as u64);
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
        let err = String::from_utf8_lossy(&out.stderr);
        if let Some(rest) = err.split("locked by another apply: lock ").nth(1) {
            unlock = rest.split_whitespace().next().map(String::from);
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
    let err = String::from_utf8_lossy(&out.stderr);
    let id = err
        .split("locked by another apply: lock ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("a finished run's apply failed: {err}"));
    let mut args: Vec<&str> = apply_args();
    args.extend(["--force-unlock", id]);
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
