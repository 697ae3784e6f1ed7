//! Run controls on the example fleet, through the real binary: pause, resume, promote, cancel,
//! abort; one run at a time and `--supersede`; a rollback that windows do not hold and freezes
//! do until `--break-freeze`. On a folder store, and on a git store (a bare repository over
//! file://) for the commit a control makes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::string_slice,
    reason = "a test fails loudly; the library may not"
)]

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

/// Runs vow in the workspace as user `ops-bot` (VOW_USER: the default of `--by`).
fn run(ws: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vow"))
        .args(args)
        .current_dir(ws)
        .env("VOW_USER", "ops-bot")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The example's vow.yaml without its windows and freezes (these tests step time by hand).
fn no_calendar(ws: &Path) {
    let cfg = std::fs::read_to_string(ws.join("vow.yaml")).unwrap();
    let head = cfg.split("\n# Production changes").next().unwrap();
    std::fs::write(ws.join("vow.yaml"), head).unwrap();
}

/// `vow plan --now NOW --out FILE`.
fn plan(ws: &Path, now: &str, out: &str) {
    let (code, _, err) = run(
        ws,
        &[
            "plan",
            "--now",
            now,
            "--out",
            out,
            "--format",
            "json",
            "--fail-on",
            "never",
        ],
    );
    assert_eq!(code, 0, "{err}");
}

fn apply(ws: &Path, plan: &str, now: &str, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["apply", plan, "--now", now, "--gate-cmd", "true"];
    args.extend_from_slice(extra);
    let (code, out, err) = run(ws, &args);
    assert_eq!(out, "", "apply has no machine output");
    (code, err)
}

/// The run id of a plan file (its planId's first 12 hex digits).
fn run_id(ws: &Path, plan: &str) -> String {
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.join(plan)).unwrap()).unwrap();
    p["planId"].as_str().unwrap()["sha256:".len()..][..12].to_string()
}

/// A run's journal, as YAML read into JSON values.
fn journal(store: &Path, run: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(store.join(format!(".vow/journal/{run}.yaml"))).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

/// (action, by, reason, wave, run) of each control in a journal.
fn controls(j: &serde_json::Value) -> Vec<(String, String, String, String, String)> {
    let s = |v: &serde_json::Value| match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    j["controls"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    (
                        s(&c["action"]),
                        s(&c["by"]),
                        s(&c["reason"]),
                        s(&c["wave"]),
                        s(&c["run"]),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn c(
    action: &str,
    by: &str,
    reason: &str,
    wave: &str,
    run: &str,
) -> (String, String, String, String, String) {
    (
        action.into(),
        by.into(),
        reason.into(),
        wave.into(),
        run.into(),
    )
}

#[test]
fn pause_resume_promote_cancel_on_a_folder_store() {
    let ws = example_copy();
    let ws = ws.path();
    no_calendar(ws);
    let store = ws.join("fixtures/example/state");
    plan(ws, "2026-12-01T09:00:00Z", "plan.json");
    let id = run_id(ws, "plan.json");
    // Waves 0 and 1 go; the canary bakes 30 minutes.
    let (code, err) = apply(ws, "plan.json", "2026-12-01T09:00:00Z", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("wave 1 canary waits for the bake time"),
        "{err}"
    );

    let (code, out, err) = run(
        ws,
        &[
            "pause",
            &id[..6],
            "--reason",
            "CVE triage",
            "--by",
            "alice",
            "--now",
            "2026-12-01T09:05:00Z",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(&format!("run {id}: paused by alice")), "{err}");
    assert_eq!(
        out, "",
        "a control says what it did on stderr; stdout stays empty"
    );
    let before = snapshot(&store);
    let (code, err) = apply(ws, "plan.json", "2026-12-01T12:00:00Z", &[]);
    assert_eq!(code, 4, "a paused run exits 4: {err}");
    assert!(
        err.contains("paused by alice at 2026-12-01T09:05:00Z: CVE triage; nothing was changed")
            && err.contains(&format!("`vow resume {id}`")),
        "{err}"
    );
    assert!(
        snapshot(&store) == before,
        "apply of a paused run changes no byte of the store"
    );
    let (code, _, err) = run(ws, &["pause", &id]);
    assert_eq!(code, 2);
    assert!(err.contains("it is already paused by alice"), "{err}");

    let (code, _, err) = run(ws, &["resume", &id, "--now", "2026-12-01T09:06:00Z"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(ws, &["resume", &id]);
    assert_eq!(code, 2);
    assert!(err.contains("it is running, not paused"), "{err}");

    // Promote: the canary's bake (until 09:30) is passed at 09:07, so wave 2 goes at 09:08.
    let (code, _, err) = run(
        ws,
        &[
            "promote",
            &id,
            "--reason",
            "canaries look fine",
            "--now",
            "2026-12-01T09:07:00Z",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("promoted wave 1 by ops-bot"), "{err}");
    let (code, err) = apply(ws, "plan.json", "2026-12-01T09:08:00Z", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("applied wave 2 dev"), "{err}");
    let j = journal(&store, &id);
    assert_eq!(j["waves"][1]["gate"], "passed");
    assert_eq!(j["waves"][2]["appliedAt"], "2026-12-01T09:08:00Z");

    let (code, _, err) = run(
        ws,
        &[
            "cancel",
            &id,
            "--reason",
            "wrong CVE",
            "--now",
            "2026-12-01T09:09:00Z",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let before = snapshot(&store);
    let (code, err) = apply(ws, "plan.json", "2026-12-01T15:00:00Z", &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("cancelled by ops-bot: wrong CVE; no further waves"),
        "{err}"
    );
    assert!(
        snapshot(&store) == before,
        "apply of a cancelled run changes nothing"
    );
    for control in ["pause", "resume", "promote", "cancel", "abort"] {
        let (code, _, err) = run(ws, &[control, &id]);
        assert_eq!(code, 2, "{control}");
        assert!(
            err.contains("it is cancelled") && err.contains("nothing was written"),
            "{err}"
        );
    }
    let j = journal(&store, &id);
    assert_eq!(j["status"], "cancelled");
    assert_eq!(
        controls(&j),
        vec![
            c("pause", "alice", "CVE triage", "", ""),
            c("resume", "ops-bot", "", "", ""),
            c("promote", "ops-bot", "canaries look fine", "1", ""),
            c("cancel", "ops-bot", "wrong CVE", "", ""),
        ]
    );
    assert_eq!(j["controls"][0]["at"], "2026-12-01T09:05:00Z");
    // The store stays as it is, and rollback still works.
    let (code, _, err) = run(ws, &["rollback", &id, "--out", "rollback.json"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn abort_by_hand_ends_the_run_like_a_failed_gate() {
    let ws = example_copy();
    let ws = ws.path();
    no_calendar(ws);
    plan(ws, "2026-12-01T09:00:00Z", "plan.json");
    let id = run_id(ws, "plan.json");
    apply(ws, "plan.json", "2026-12-01T09:00:00Z", &[]);
    let (code, _, err) = run(ws, &["promote", "ffffffff"]);
    assert_eq!(code, 2);
    assert!(err.contains("no run `ffffffff`"), "{err}");
    let (code, _, err) = run(ws, &["abort", &id, "--reason", "pager"]);
    assert_eq!(code, 0, "{err}");
    let (code, err) = apply(ws, "plan.json", "2026-12-01T12:00:00Z", &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("aborted by hand by ops-bot: pager") && err.contains("vow rollback"),
        "{err}"
    );
    let j = journal(&ws.join("fixtures/example/state"), &id);
    assert_eq!(j["status"], "aborted");
    assert_eq!(controls(&j), vec![c("abort", "ops-bot", "pager", "", "")]);
}

#[test]
fn a_second_plan_is_refused_while_a_run_is_unfinished_then_supersedes_it() {
    let ws = example_copy();
    let ws = ws.path();
    no_calendar(ws);
    let store = ws.join("fixtures/example/state");
    plan(ws, "2026-12-01T09:00:00Z", "first.json");
    let first = run_id(ws, "first.json");
    apply(ws, "first.json", "2026-12-01T09:00:00Z", &[]);
    run(ws, &["pause", &first, "--by", "alice", "--reason", "hold"]);
    plan(ws, "2026-12-01T10:00:00Z", "second.json");
    let second = run_id(ws, "second.json");
    assert_ne!(first, second);
    let before = snapshot(&store);
    let (code, err) = apply(ws, "second.json", "2026-12-01T10:00:00Z", &[]);
    assert_eq!(code, 2, "{err}");
    for says in [
        format!(
            "run {first} (apply, started 2026-12-01T09:00:00Z) is not over: it is paused by alice"
        ),
        format!("`vow cancel {first}`"),
        format!("`vow abort {first}`"),
        "--supersede".to_string(),
        "nothing was applied".to_string(),
    ] {
        assert!(err.contains(&says), "{says}: {err}");
    }
    assert!(snapshot(&store) == before, "a refused plan writes nothing");

    let (code, err) = apply(
        ws,
        "second.json",
        "2026-12-01T10:00:00Z",
        &["--supersede", "--by", "carol"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("applied wave"), "{err}");
    let old = journal(&store, &first);
    assert_eq!(old["status"], "cancelled");
    assert_eq!(old["reason"], format!("superseded by run {second}"));
    assert_eq!(
        controls(&old).last().unwrap(),
        &c("supersede", "carol", "", "", &second)
    );
    let new = journal(&store, &second);
    assert_eq!(new["status"], "running");
    assert_eq!(
        controls(&new),
        vec![c("supersede", "carol", "", "", &first)]
    );
    let (code, err) = apply(ws, "first.json", "2026-12-01T11:00:00Z", &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("superseded by run {second}")),
        "{err}"
    );
}

/// Applies the example's plan (made on Tuesday 2026-12-01, inside the prod window) up to its
/// canary, which holds prod instances; returns the run id.
fn canary_under_the_calendar(ws: &Path) -> String {
    plan(ws, "2026-12-01T09:00:00Z", "plan.json");
    let (code, err) = apply(ws, "plan.json", "2026-12-01T09:00:00Z", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("applied wave 1 canary"), "{err}");
    run_id(ws, "plan.json")
}

#[test]
fn a_rollback_on_a_friday_is_not_held_by_a_weekday_window() {
    let ws = example_copy();
    let ws = ws.path();
    let store = ws.join("fixtures/example/state");
    let id = canary_under_the_calendar(ws);
    // 2026-12-04 is a Friday: the prod window (Mon-Thu) is closed.
    let (code, _, err) = run(ws, &["rollback", &id, "--out", "rollback.json"]);
    assert_eq!(code, 0, "{err}");
    let rb = run_id(ws, "rollback.json");
    let (code, err) = apply(ws, "rollback.json", "2026-12-04T12:00:00Z", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(": done:"), "applied at once: {err}");
    assert!(!err.contains("window"), "{err}");
    // The run it undoes was unfinished: the rollback ended it.
    let old = journal(&store, &id);
    assert_eq!(old["status"], "cancelled");
    assert_eq!(old["reason"], format!("rolled back by run {rb}"));
    assert_eq!(journal(&store, &rb)["status"], "done");
}

#[test]
fn a_freeze_holds_a_rollback_until_break_freeze() {
    let ws = example_copy();
    let ws = ws.path();
    let store = ws.join("fixtures/example/state");
    let id = canary_under_the_calendar(ws);
    let (code, _, err) = run(ws, &["rollback", &id, "--out", "rollback.json"]);
    assert_eq!(code, 0, "{err}");
    let rb = run_id(ws, "rollback.json");
    // 2026-12-22 (a Tuesday, in working hours) is inside the year-end freeze.
    let before = snapshot(&store);
    let (code, err) = apply(ws, "rollback.json", "2026-12-22T10:00:00Z", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("waits for freeze year-end until 2027-01-04T00:00:00Z"),
        "{err}"
    );
    assert!(snapshot(&store) == before, "held: nothing written");
    // --break-freeze is for rollbacks only.
    let (code, err) = apply(
        ws,
        "plan.json",
        "2026-12-22T10:00:00Z",
        &["--break-freeze", "x"],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("--break-freeze is for rollback plans only"),
        "{err}"
    );
    let (code, err) = apply(
        ws,
        "rollback.json",
        "2026-12-22T10:00:00Z",
        &["--break-freeze", "INC-4711: sessions down", "--by", "dave"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(": done:"), "{err}");
    let j = journal(&store, &rb);
    let got = controls(&j);
    let breaks: Vec<_> = got.iter().filter(|c| c.0 == "break-freeze").collect();
    assert!(!breaks.is_empty(), "{got:?}");
    for b in breaks {
        assert_eq!(b.1, "dave");
        assert_eq!(
            b.2,
            "INC-4711: sessions down (held by freeze year-end until 2027-01-04T00:00:00Z)"
        );
    }
}

#[test]
fn a_control_on_a_git_store_is_one_pushed_commit_with_trailers() {
    let (ws, remote) = git_workspace(None);
    let ws = ws.path();
    plan(ws, "2026-12-01T09:00:00Z", "plan.json");
    let id = run_id(ws, "plan.json");
    let (code, err) = apply(ws, "plan.json", "2026-12-01T09:00:00Z", &[]);
    assert_eq!(code, 0, "{err}");
    let commits = git_log(&remote, "main").len();
    let (code, _, err) = run(
        ws,
        &[
            "pause",
            &id,
            "--reason",
            "change freeze call",
            "--now",
            "2026-12-01T09:05:00Z",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let log = git_log(&remote, "main");
    assert_eq!(log.len(), commits + 1, "one commit, pushed");
    let msg = log.first().unwrap();
    assert!(
        msg.starts_with(&format!("vow: plan {id} pause by ops-bot")),
        "{msg}"
    );
    assert!(
        msg.contains("Vow-Plan: sha256:") && msg.contains("Vow-Control: pause"),
        "{msg}"
    );
    let tree = git_tree(&remote, "main");
    let text = String::from_utf8(tree[&format!(".vow/journal/{id}.yaml")].clone()).unwrap();
    let j: serde_json::Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(j["status"], "paused");
    assert_eq!(
        controls(&j),
        vec![c("pause", "ops-bot", "change freeze call", "", "")]
    );
    let (code, err) = apply(ws, "plan.json", "2026-12-01T12:00:00Z", &[]);
    assert_eq!(code, 4, "{err}");
    assert_eq!(
        git_log(&remote, "main").len(),
        commits + 1,
        "a paused apply commits nothing"
    );
    let (code, _, err) = run(ws, &["resume", &id]);
    assert_eq!(code, 0, "{err}");
    let (code, err) = apply(ws, "plan.json", "2026-12-01T12:00:00Z", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("applied wave 2 dev"), "{err}");
}

#[test]
fn a_waiting_apply_lets_go_of_the_lock_so_a_pause_stops_it() {
    let ws = example_copy();
    let ws = ws.path();
    no_calendar(ws);
    let store = ws.join("fixtures/example/state");
    plan(ws, "2026-12-01T09:00:00Z", "plan.json");
    let id = run_id(ws, "plan.json");
    // On the real clock, with a gate that always says "not yet": apply --wait polls forever.
    let mut child = Command::new(env!("CARGO_BIN_EXE_vow"))
        .args([
            "apply",
            "plan.json",
            "--wait",
            "--poll",
            "1s",
            "--gate-cmd",
            "exit 75",
        ])
        .current_dir(ws)
        .env("VOW_USER", "ops-bot")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let journal_file = store.join(format!(".vow/journal/{id}.yaml"));
    let mut paused = None;
    for _ in 0..3000 {
        if journal_file.exists() {
            let (code, _, err) = run(ws, &["pause", &id, "--reason", "stop the line"]);
            if code == 0 {
                paused = Some(err);
                break;
            }
            assert!(err.contains("locked by another apply"), "{err}");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let paused = paused.unwrap_or_else(|| {
        child.kill().unwrap();
        panic!("the pause never got the lock")
    });
    assert!(paused.contains("paused by ops-bot"), "{paused}");
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains("paused by ops-bot") && err.contains("stop the line"),
        "{err}"
    );
    assert_eq!(journal(&store, &id)["status"], "paused");
}

#[test]
fn a_rollback_of_another_run_waits_for_the_unfinished_one() {
    let ws = example_copy();
    let ws = ws.path();
    no_calendar(ws);
    let store = ws.join("fixtures/example/state");
    plan(ws, "2026-12-01T09:00:00Z", "first.json");
    let first = run_id(ws, "first.json");
    apply(ws, "first.json", "2026-12-01T09:00:00Z", &[]);
    run(ws, &["cancel", &first]);
    plan(ws, "2026-12-01T10:00:00Z", "second.json");
    let second = run_id(ws, "second.json");
    let (code, err) = apply(ws, "second.json", "2026-12-01T10:00:00Z", &[]);
    assert_eq!(code, 0, "a cancelled run is over: {err}");
    // Undoing the first run while the second is unfinished: refused, it is not the run undone.
    let (code, _, err) = run(ws, &["rollback", &first, "--out", "rollback.json"]);
    assert_eq!(code, 0, "{err}");
    let (code, err) = apply(ws, "rollback.json", "2026-12-01T10:30:00Z", &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "run {second} (apply, started 2026-12-01T10:00:00Z) is not over"
        )),
        "{err}"
    );
    assert_eq!(journal(&store, &second)["status"], "running");
}
