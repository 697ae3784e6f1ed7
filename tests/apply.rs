//! Apply against real stores: a folder, and a real git repository (a bare repository reached
//! through file://). Gates, stale plans, the lock, abort and rollback, rejected pushes, and a
//! crash test that kills apply with SIGKILL at random moments and resumes.

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

/// Rewrites the example copy's vow.yaml to use a git store at `url` and no windows or freezes
/// (these tests step time by hand).
fn use_git(ws: &Path, url: &str) {
    let cfg = std::fs::read_to_string(ws.join("vow.yaml")).unwrap();
    let head: String = cfg
        .split("\n# Production changes")
        .next()
        .unwrap()
        .to_string();
    let cfg = head.replace(
        "store: {folder: fixtures/example/state}",
        &format!("store: {{git: {{url: \"{url}\", branch: main}}}}"),
    );
    std::fs::write(ws.join("vow.yaml"), cfg).unwrap();
}

fn no_calendar(ws: &Path) {
    let cfg = std::fs::read_to_string(ws.join("vow.yaml")).unwrap();
    let head: String = cfg
        .split("\n# Production changes")
        .next()
        .unwrap()
        .to_string();
    std::fs::write(ws.join("vow.yaml"), head).unwrap();
}

/// Runs vow in the workspace (so that relative plan files are the workspace's).
fn run(ws: &Path, args: &[&str]) -> (i32, String, String) {
    vow_in(ws, args)
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

/// Applies with a passing gate command, stepping the clock by 5 hours, until the run is done.
fn apply_until_done(ws: &Path, plan: &str) -> usize {
    let mut t = chrono::DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z").unwrap();
    for i in 0..40 {
        let now = t.to_rfc3339();
        let (code, out, err) = run(ws, &["apply", plan, "--now", &now, "--gate-cmd", "true"]);
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(
            out, "",
            "apply has no machine output: all of it is on stderr"
        );
        if err.contains(": done:") {
            return i + 1;
        }
        t += chrono::Duration::hours(5);
    }
    panic!("the run did not finish");
}

#[test]
fn example_plan_to_a_fresh_bare_repository_over_file_url() {
    let ws = example_copy();
    let bare = ws.path().join("remote/state.git");
    git2::Repository::init_bare(&bare).unwrap();
    let url = format!("file://{}", bare.display());
    use_git(ws.path(), &url);
    let plan = plan_out(ws.path(), "2026-12-01T09:00:00Z");
    let waves = plan["waves"].as_array().unwrap().len();
    assert!(waves >= 3);
    assert!(
        plan["summary"]["create"].as_u64().unwrap() > 40,
        "an empty store: everything is created"
    );
    apply_until_done(ws.path(), "plan.json");

    // One commit per wave, with the trailers; then the closing commit.
    let log = git_log(&bare, "main");
    let plan_id = plan["planId"].as_str().unwrap();
    for w in plan["waves"].as_array().unwrap() {
        let trailer = format!("Vow-Wave: {} {}", w["index"], w["name"].as_str().unwrap());
        let n = log
            .iter()
            .filter(|m| m.lines().any(|l| l == trailer))
            .count();
        assert_eq!(n, 1, "{trailer} in {n} commits");
    }
    assert_eq!(
        log.len(),
        waves + 1,
        "one commit per wave and one that closes the run"
    );
    assert!(log
        .iter()
        .all(|m| m.contains(&format!("Vow-Plan: {plan_id}"))));
    assert!(log[0].contains("Vow-Wave: done"));

    // A clone holds exactly the Kratix layout (plus vow's records under .vow/).
    let clone_dir = ws.path().join("clone");
    git2::build::RepoBuilder::new()
        .branch("main")
        .clone(&url, &clone_dir)
        .unwrap();
    let files = snapshot(&clone_dir);
    let layout = regex::Regex::new(
        r"^[a-z0-9./-]+/(resources/[a-z0-9-]+/[a-z0-9-]+/[a-z0-9-]+|dependencies/[a-z0-9-]+)/[a-z0-9-]+/[0-9a-f]{5}/[a-z0-9.-]+$",
    )
    .unwrap();
    let mut expected: Vec<String> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| {
            c["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["path"].as_str().unwrap().to_string())
        })
        .collect();
    expected.sort();
    let outside: Vec<&String> = files.keys().filter(|p| !p.starts_with(".vow/")).collect();
    assert_eq!(outside, expected.iter().collect::<Vec<_>>());
    for p in outside {
        assert!(layout.is_match(p), "{p} is not in Kratix's layout");
    }
    assert!(
        files.keys().any(|p| p.contains("/instance/5058f/")),
        "the root workload group is 5058f"
    );
    assert!(files.keys().any(|p| p.starts_with(".vow/bindings/")));
    assert!(files
        .keys()
        .any(|p| p.starts_with(".vow/revisions/postgresql/v1.4.0/")));

    // Nothing left to do.
    let (code, out, _) = run(ws.path(), &["plan", "--format", "json"]);
    assert_eq!(code, 1, "the blocked requests are still blocked");
    let again: serde_json::Value = serde_json::from_str(&out).unwrap();
    for k in ["create", "update", "delete"] {
        assert_eq!(again["summary"][k], 0, "{k} after apply");
    }
}

#[test]
fn folder_apply_then_nothing_to_do_and_status() {
    let ws = example_copy();
    no_calendar(ws.path());
    plan_out(ws.path(), "2026-12-01T09:00:00Z");
    apply_until_done(ws.path(), "plan.json");
    let (_, out, _) = run(ws.path(), &["plan", "--format", "json"]);
    let again: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(again["summary"]["update"], 0);
    assert_eq!(again["summary"]["delete"], 0);
    let (code, status, _) = run(ws.path(), &["status"]);
    assert_eq!(code, 0);
    assert!(status.contains(": done"), "{status}");
    assert!(
        status.contains("wave 1 canary: applied 2026-12-01T09:00:00Z (6 instances), gate passed"),
        "{status}"
    );
}

#[test]
fn a_pending_bake_exits_0_with_the_time_to_come_back() {
    let ws = example_copy();
    no_calendar(ws.path());
    // This test writes the canaries' records itself, so it starts without the example's.
    std::fs::remove_dir_all(ws.path().join("fixtures/example/health")).unwrap();
    plan_out(ws.path(), "2026-12-01T09:00:00Z");
    let (code, _, out) = run(
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
    assert_eq!(code, 0);
    assert!(
        out.contains("wave 1 canary waits for the bake time, until 2026-12-01T09:30:00Z"),
        "{out}"
    );
    assert!(
        out.contains("Run `vow apply` again after 2026-12-01T09:30:00Z"),
        "{out}"
    );
    // Health records instead of a gate command: none yet, so it waits for them.
    let (code, _, out) = run(
        ws.path(),
        &["apply", "plan.json", "--now", "2026-12-01T10:00:00Z"],
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("health records observed after 2026-12-01T09:00:00Z for 6 instance(s)"),
        "{out}"
    );
    // Records observed after the wave: the gate passes and the next waves go.
    let t = chrono::DateTime::parse_from_rfc3339("2026-12-01T09:10:00Z")
        .unwrap()
        .timestamp();
    let mut records = String::new();
    for r in [
        "bucket:team-data/query-results-staging",
        "bucket:team-payments/invoices-staging",
        "postgresql:team-identity/users-db-prod-euw1",
        "postgresql:team-identity/users-db-prod-use1",
        "redis:team-checkout/rate-limit-prod-euw1",
        "redis:team-identity/sessions-prod-use1",
    ] {
        let (p, rest) = r.split_once(':').unwrap();
        let (ns, name) = rest.split_once('/').unwrap();
        records.push_str(&format!("---\napiVersion: platform.kratix.io/v1alpha1\nkind: HealthRecord\nmetadata: {{name: {name}}}\ndata:\n  promiseRef: {{name: {p}}}\n  resourceRef: {{name: {name}, namespace: {ns}}}\n  state: healthy\n  lastRun: {t}\n"));
    }
    write(ws.path(), "fixtures/example/health/canary.yaml", &records);
    let (code, out, err) = run(
        ws.path(),
        &["apply", "plan.json", "--now", "2026-12-01T10:00:00Z"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("applied wave 2 dev"), "{err}");
    assert!(err.contains("waits for health records"), "{err}");
    assert_eq!(
        out, "",
        "apply has no machine output: all of it is on stderr"
    );
}

#[test]
fn a_stale_plan_is_refused_and_changes_nothing() {
    let ws = example_copy();
    no_calendar(ws.path());
    plan_out(ws.path(), "2026-12-01T09:00:00Z");
    let before = snapshot(&ws.path().join("fixtures/example/state"));
    let f = ws.path().join("fixtures/example/requests/payments.yaml");
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(
        &f,
        text.replacen("retentionDays: 30", "retentionDays: 31", 1),
    )
    .unwrap();
    let (code, _, err) = run(
        ws.path(),
        &["apply", "plan.json", "--now", "2026-12-01T09:00:00Z"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("is stale: the requests changed: postgresql:team-payments/orders-db-prod-euw1 now render(s) differently"), "{err}");
    assert_eq!(
        before,
        snapshot(&ws.path().join("fixtures/example/state")),
        "nothing was written"
    );
    // An edited plan is refused too.
    std::fs::write(&f, text).unwrap();
    let plan = std::fs::read_to_string(ws.path().join("plan.json")).unwrap();
    std::fs::write(
        ws.path().join("plan.json"),
        plan.replacen("\"bake\": \"4h\"", "\"bake\": \"1m\"", 1),
    )
    .unwrap();
    let (code, _, err) = run(ws.path(), &["apply", "plan.json"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("the plan was changed after it was made"),
        "{err}"
    );
}

#[test]
fn a_held_lock_fails_fast_and_can_be_broken_by_id() {
    let ws = example_copy();
    no_calendar(ws.path());
    plan_out(ws.path(), "2026-12-01T09:00:00Z");
    let lock = ws.path().join("fixtures/example/state/.vow/lock");
    write(
        ws.path(),
        "fixtures/example/state/.vow/lock",
        r#"{"id": "ab12cd34", "pid": 4242, "host": "ci-7", "since": "2026-12-01T08:00:00Z", "plan": "0123"}"#,
    );
    // Refused at once, not waited for: the outcome is the exit and the message (the harness's
    // own timeout catches a wait), never a wall-clock bound.
    let (code, _, err) = run(
        ws.path(),
        &["apply", "plan.json", "--now", "2026-12-01T09:00:00Z"],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("locked by another apply: lock ab12cd34 held by pid 4242 on ci-7"),
        "{err}"
    );
    // Who holds it is read from the lock file, not from the message.
    match vow::store::lock::holder(&lock) {
        vow::store::lock::Holder::Held(info) => assert_eq!(info.id, "ab12cd34"),
        other => panic!("{other:?}"),
    }
    let (code, _, err) = run(
        ws.path(),
        &["apply", "plan.json", "--force-unlock", "wrong"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("not broken"), "{err}");
    let (code, _, err) = run(
        ws.path(),
        &[
            "apply",
            "plan.json",
            "--now",
            "2026-12-01T09:00:00Z",
            "--force-unlock",
            "ab12cd34",
            "--gate-cmd",
            "true",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(!lock.exists(), "released after the run");
}

#[test]
fn a_failing_gate_aborts_and_rollback_restores_the_previous_files() {
    let ws = example_copy();
    no_calendar(ws.path());
    let state = ws.path().join("fixtures/example/state");
    let before = snapshot(&state);
    plan_out(ws.path(), "2026-12-01T09:00:00Z");
    let (code, _, _) = run(
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
    assert_eq!(code, 0);
    let (code, _, _) = run(
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
    assert_eq!(code, 0);
    // The staging wave goes bad: over budget, the run is aborted.
    let (code, _, out) = run(
        ws.path(),
        &[
            "apply",
            "plan.json",
            "--now",
            "2026-12-01T12:00:00Z",
            "--gate-cmd",
            "exit 3",
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("aborted") && out.contains("vow rollback"),
        "{out}"
    );
    let (_, status, _) = run(ws.path(), &["status"]);
    assert!(
        status.contains("aborted") && status.contains("gate failed"),
        "{status}"
    );
    // The failed instances' bindings record the version that failed.
    let binding = std::fs::read_to_string(
        state.join(".vow/bindings/redis/team-search/query-cache-staging.yaml"),
    )
    .unwrap();
    assert!(binding.contains("failedVersion: v2.1.0"), "{binding}");
    // Applying again does not continue an aborted run.
    let (code, _, _) = run(
        ws.path(),
        &[
            "apply",
            "plan.json",
            "--now",
            "2026-12-01T13:00:00Z",
            "--gate-cmd",
            "true",
        ],
    );
    assert_eq!(code, 1);
    let run_id = status.split_whitespace().nth(1).unwrap().to_string();
    let (code, out, err) = run(ws.path(), &["rollback", &run_id, "--out", "rollback.json"]);
    assert_eq!(code, 0, "{out}{err}");
    let rb: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path().join("rollback.json")).unwrap())
            .unwrap();
    assert_eq!(rb["kind"], "rollback");
    assert_eq!(rb["waves"][0]["name"], "undo-staging", "reverse wave order");
    let (code, out, err) = run(
        ws.path(),
        &["apply", "rollback.json", "--now", "2026-12-01T14:00:00Z"],
    );
    assert_eq!(code, 0, "{out}{err}");
    let after = snapshot(&state);
    let restored = |m: &std::collections::BTreeMap<String, Vec<u8>>| -> std::collections::BTreeMap<String, Vec<u8>> {
        m.iter()
            .filter(|(k, _)| !k.starts_with(".vow/journal/") && !k.starts_with(".vow/backups/") && !k.starts_with(".vow/revisions/"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    assert!(
        restored(&before) == restored(&after),
        "the rollback restores every file and binding"
    );
}

fn foreign_commit(repo_dir: &Path, url: &str, base: Option<&str>) {
    let repo = git2::Repository::init(repo_dir).unwrap();
    let mut parents = Vec::new();
    if let Some(b) = base {
        repo.remote_anonymous(url)
            .unwrap()
            .fetch(&[&format!("+refs/heads/{b}:refs/heads/{b}")], None, None)
            .unwrap();
        parents.push(
            repo.find_reference(&format!("refs/heads/{b}"))
                .unwrap()
                .peel_to_commit()
                .unwrap(),
        );
    }
    std::fs::write(repo_dir.join("README"), "hand-made").unwrap();
    let mut index = repo.index().unwrap();
    if let Some(p) = parents.first() {
        index.read_tree(&p.tree().unwrap()).unwrap();
    }
    index.add_path(Path::new("README")).unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("someone", "someone@example.com").unwrap();
    let parents: Vec<&git2::Commit> = parents.iter().collect();
    repo.commit(
        Some("refs/heads/main"),
        &sig,
        &sig,
        "manual change",
        &tree,
        &parents,
    )
    .unwrap();
    repo.remote_anonymous(url)
        .unwrap()
        .push(&["+refs/heads/main:refs/heads/main"], None)
        .unwrap();
}

#[test]
fn a_commit_that_touches_no_record_is_built_upon() {
    let ws = example_copy();
    let bare = ws.path().join("remote/state.git");
    git2::Repository::init_bare(&bare).unwrap();
    let url = format!("file://{}", bare.display());
    use_git(ws.path(), &url);
    plan_out(ws.path(), "2026-12-01T09:00:00Z");
    // Someone adds a README after the plan: the store's records are unchanged, so the plan is
    // still good and apply commits on top of it.
    foreign_commit(&ws.path().join("other"), &url, None);
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
    let log = git_log(&bare, "main");
    assert_eq!(log.last().unwrap(), "manual change");
    assert!(git_tree(&bare, "main").contains_key("README"));
}

#[test]
fn a_rejected_push_stops_cleanly() {
    let ws = example_copy();
    let bare = ws.path().join("remote/state.git");
    git2::Repository::init_bare(&bare).unwrap();
    let url = format!("file://{}", bare.display());
    use_git(ws.path(), &url);
    plan_out(ws.path(), "2026-12-01T09:00:00Z");
    let (code, _, err) = run(
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
    assert_eq!(code, 0, "{err}");
    // While the canary bakes, someone else pushes to the branch; the next wave's push is not a
    // fast-forward of what vow built on, and the remote refuses it.
    let before = git_log(&bare, "main").len();
    let other = ws.path().join("other");
    foreign_commit(&other, &url, Some("main"));
    let after_foreign = git_log(&bare, "main");
    assert_eq!(after_foreign.len(), before + 1);
    // vow fetches before it plans a wave: the foreign commit changed no record, so it builds
    // on it. To race, push between vow's fetch and its push: from the gate command.
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
    let log = git_log(&bare, "main");
    assert_eq!(
        log[0].trim(),
        "race",
        "the other writer's commit is on top; vow's wave is not"
    );
    assert!(!log.iter().any(|m| m.contains("Vow-Wave: 1 dev")));
}

#[test]
fn a_push_racing_another_writer_is_rejected_and_leaves_nothing() {
    use vow::store::{git::GitStore, Op, Store};
    let dir = tempfile::tempdir().unwrap();
    let bare = dir.path().join("state.git");
    git2::Repository::init_bare(&bare).unwrap();
    let url = format!("file://{}", bare.display());
    let mut a = GitStore::open(&url, "main", &dir.path().join("a")).unwrap();
    let mut b = GitStore::open(&url, "main", &dir.path().join("b")).unwrap();
    a.refresh().unwrap();
    b.refresh().unwrap();
    let w = |p: &str| {
        vec![Op::Write {
            path: p.into(),
            bytes: b"x".to_vec(),
        }]
    };
    a.commit(&w("one"), "first", &[("Vow-Wave", "0 a".into())])
        .unwrap();
    // b has not seen a's commit: its push is not a fast-forward.
    let err = b.commit(&w("two"), "second", &[]).unwrap_err().to_string();
    assert!(err.contains("someone else moved main"), "{err}");
    assert!(
        !dir.path().join("b/two").exists(),
        "the checkout is back to the remote"
    );
    assert_eq!(git_log(&bare, "main").len(), 1);
    // After syncing, b can write on top.
    b.recover().unwrap();
    b.commit(&w("two"), "second", &[]).unwrap();
    assert_eq!(git_tree(&bare, "main").len(), 2);
}

/// A folder store holding the redo log of an apply stopped after its commit point: planning
/// says so (V402) and reads the store as it is; the next apply finishes the wave first.
#[test]
fn an_interrupted_wave_is_reported_then_finished_by_apply() {
    let ws = scratch_workspace();
    write(ws.path(), "vow.yaml", "store: {folder: state}\n");
    write(ws.path(), "requests/a.yaml", &request("a", 3));
    let log = r#"{"message": "wave 1", "ops": [{"path": "clusters/dev/left-over.yaml", "text": "a: 1\n"}]}"#;
    write(ws.path(), "state/.vow/pending/committed", log);

    let plan = plan_out(ws.path(), "2026-12-01T09:00:00Z");
    let v402: Vec<&serde_json::Value> = plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "V402")
        .collect();
    assert_eq!(v402.len(), 1, "{plan:#}");
    assert_eq!(v402[0]["file"], "state/.vow/pending/committed");
    assert!(!ws.path().join("state/clusters/dev/left-over.yaml").exists());

    let (code, out, err) = run(
        ws.path(),
        &["apply", "plan.json", "--now", "2026-12-01T09:00:00Z"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(ws
        .path()
        .join("state/clusters/dev/left-over.yaml")
        .is_file());
    assert!(!ws.path().join("state/.vow/pending").exists());
    let again = plan_out(ws.path(), "2026-12-01T10:00:00Z");
    assert!(!again["findings"].to_string().contains("V402"), "{again:#}");
}

/// Someone pushes a commit whose `.vow` is a symlink to a folder outside the checkout: apply
/// refuses the wave before it commits (nothing is pushed) and nothing is written through it.
#[test]
fn a_git_store_with_a_symlinked_vow_folder_is_refused() {
    let ws = example_copy();
    let bare = ws.path().join("remote/state.git");
    git2::Repository::init_bare(&bare).unwrap();
    let url = format!("file://{}", bare.display());
    use_git(ws.path(), &url);
    let outside = ws.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let other = ws.path().join("other");
    let repo = git2::Repository::init(&other).unwrap();
    std::os::unix::fs::symlink(&outside, other.join(".vow")).unwrap();
    let mut index = repo.index().unwrap();
    index.add_path(Path::new(".vow")).unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("someone", "someone@example.com").unwrap();
    repo.commit(Some("refs/heads/main"), &sig, &sig, "a symlink", &tree, &[])
        .unwrap();
    repo.remote_anonymous(&url)
        .unwrap()
        .push(&["+refs/heads/main:refs/heads/main"], None)
        .unwrap();

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
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("`.vow` is a symlink"), "{err}");
    assert_eq!(git_log(&bare, "main"), vec!["a symlink".to_string()]);
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
}
