//! Issue 17's whole story on one store, through the real binary: a rollout paused, resumed and
//! promoted; a gate command that fails two of five instances within a budget of two (the run
//! goes on); a second plan refused while the run is unfinished, then superseded; the new run's
//! gate failing three of five (over the budget: it aborts); a third run cancelled by hand. The
//! journals and `vow status --format json` (validated against schemas/status.json) show each
//! step, with who did it and why.

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
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Fails the instances named in the file `fail` (one name per line), with a reason; passes the
/// others. It reads the wave from stdin, as the protocol gives it.
const GATE: &str = r#"#!/bin/sh
python3 -c '
import json, os, sys
wave = json.load(sys.stdin)
fail = set(open("fail").read().split()) if os.path.exists("fail") else set()
out = {}
for i in wave["instances"]:
    if i["name"] in fail:
        out[i["ref"]] = {"verdict": "fail", "reason": "error rate 7% on " + i["name"]}
    else:
        out[i["ref"]] = {"verdict": "pass"}
print(json.dumps({"instances": out}))
'
"#;

fn vow_as(ws: &Path, user: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vow"))
        .args(args)
        .current_dir(ws)
        .env("VOW_USER", user)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Fifteen instances in three waves of five (`a*`, `b*`, `c*`), each wave with a failure budget
/// of 2 and a bake of one hour, all at `size`.
fn fleet() -> tempfile::TempDir {
    let ws = scratch_workspace();
    let mut rollout = String::from("  rollout:\n    waves:\n");
    for tier in ["a", "b", "c"] {
        rollout.push_str(&format!(
            "      - name: tier-{tier}\n        selector: {{matchLabels: {{tier: {tier}}}}}\n        failureBudget: 2\n        bake: 1h\n"
        ));
    }
    write(
        ws.path(),
        "promises/db/promise.yaml",
        &format!("{PROMISE}{rollout}"),
    );
    write(ws.path(), "vow.yaml", "store: {folder: state}\n");
    write(ws.path(), "gate.sh", GATE);
    sizes(ws.path(), 3);
    ws
}

fn sizes(ws: &Path, size: i64) {
    for tier in ["a", "b", "c"] {
        for n in 1..=5 {
            let name = format!("{tier}{n}");
            let text =
                request(&name, size).replace("{env: dev}", &format!("{{env: dev, tier: {tier}}}"));
            write(ws, &format!("requests/{name}.yaml"), &text);
        }
    }
}

fn plan(ws: &Path, now: &str, out: &str) -> String {
    let (code, _, err) = vow_as(
        ws,
        "ci",
        &["plan", "--now", now, "--out", out, "--fail-on", "never"],
    );
    assert_eq!(code, 0, "{err}");
    let p: Value = serde_json::from_str(&std::fs::read_to_string(ws.join(out)).unwrap()).unwrap();
    p["planId"].as_str().unwrap()["sha256:".len()..][..12].to_string()
}

fn apply(ws: &Path, plan: &str, now: &str, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["apply", plan, "--now", now, "--gate-cmd", "sh gate.sh"];
    args.extend_from_slice(extra);
    let (code, _, err) = vow_as(ws, "deployer", &args);
    (code, err)
}

fn control(ws: &Path, user: &str, action: &str, run: &str, now: &str, reason: &str) {
    let (code, _, err) = vow_as(ws, user, &[action, run, "--now", now, "--reason", reason]);
    assert_eq!(code, 0, "vow {action} {run}: {err}");
}

fn journal(ws: &Path, run: &str) -> Value {
    let text = std::fs::read_to_string(ws.join(format!("state/.vow/journal/{run}.yaml"))).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

fn status(ws: &Path) -> Value {
    let (code, out, err) = vow_as(ws, "ci", &["status", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    let text = std::fs::read_to_string(repo().join("schemas/status.json")).unwrap();
    let schema = jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap();
    let errors: Vec<String> = schema.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    doc
}

fn run_of<'a>(status: &'a Value, run: &str) -> &'a Value {
    status["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["run"] == run)
        .unwrap_or_else(|| panic!("run {run} in {status:#}"))
}

/// (action, by, reason) of each control of a run, in order.
fn controls(run: &Value) -> Vec<(String, String, String)> {
    run["controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (s("action"), s("by"), s("reason"))
        })
        .collect()
}

fn names(list: &Value) -> Vec<String> {
    let mut v: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["ref"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

// long: one story, step by step, each step checked where it happens
#[test]
fn a_rollout_paused_resumed_promoted_judged_superseded_aborted_and_cancelled() {
    let ws = fleet();
    let w = ws.path();
    let run1 = plan(w, "2026-12-01T09:00:00Z", "p1.json");

    // The first wave goes out and bakes for an hour.
    let (code, err) = apply(w, "p1.json", "2026-12-01T09:00:00Z", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("applied wave 0 tier-a"), "{err}");

    // Paused: apply says so and changes nothing.
    control(
        w,
        "alice",
        "pause",
        &run1,
        "2026-12-01T09:05:00Z",
        "pager: db latency",
    );
    let before = snapshot(&w.join("state"));
    let (code, err) = apply(w, "p1.json", "2026-12-01T10:30:00Z", &[]);
    assert_eq!(code, 4, "a paused run exits 4: {err}");
    assert!(err.contains("paused") && err.contains("alice"), "{err}");
    assert!(err.contains(&format!("vow resume {run1}")), "{err}");
    assert_eq!(before, snapshot(&w.join("state")), "a paused apply wrote");

    // Resumed, then promoted: the bake of tier-a is skipped, so the next wave goes at 09:20.
    control(
        w,
        "alice",
        "resume",
        &run1,
        "2026-12-01T09:15:00Z",
        "latency was the backup job",
    );
    control(
        w,
        "bob",
        "promote",
        &run1,
        "2026-12-01T09:20:00Z",
        "canary verified by hand",
    );
    let (code, err) = apply(w, "p1.json", "2026-12-01T09:20:00Z", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("applied wave 1 tier-b"), "{err}");

    // The gate fails two of tier-b's five: within its budget of two, the run goes on.
    write(w, "fail", "b1\nb2\n");
    let (code, err) = apply(w, "p1.json", "2026-12-01T10:30:00Z", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("applied wave 2 tier-c"), "{err}");
    let j1 = journal(w, &run1);
    assert_eq!(j1["status"], "running");
    let tier_b = &j1["waves"][1];
    assert_eq!(tier_b["gate"], "passed");
    let failed: Vec<&str> = tier_b["gateReport"]["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["verdict"] == "fail")
        .map(|v| v["instance"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["db:team-a/b1", "db:team-a/b2"]);

    // A second plan is refused while run 1 is unfinished, naming it and how to end it...
    sizes(w, 4);
    let run2 = plan(w, "2026-12-01T10:40:00Z", "p2.json");
    let before = snapshot(&w.join("state"));
    let (code, err) = apply(w, "p2.json", "2026-12-01T10:45:00Z", &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&run1) && err.contains("--supersede"), "{err}");
    assert!(err.contains(&format!("vow cancel {run1}")), "{err}");
    assert_eq!(before, snapshot(&w.join("state")), "a refused apply wrote");

    // ...then supersedes it.
    let (code, err) = apply(w, "p2.json", "2026-12-01T10:50:00Z", &["--supersede"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(journal(w, &run1)["status"], "cancelled");

    // Run 2's gate fails three of tier-a's five: over the budget, the run aborts.
    write(w, "fail", "a1\na2\na3\n");
    let (code, err) = apply(w, "p2.json", "2026-12-01T12:00:00Z", &[]);
    assert_eq!(code, 1, "{err}");
    let j2 = journal(w, &run2);
    assert_eq!(j2["status"], "aborted");
    assert_eq!(j2["waves"][0]["gate"], "failed");

    // Run 3 is cancelled by hand after its first wave; apply then refuses it.
    std::fs::remove_file(w.join("fail")).unwrap();
    sizes(w, 5);
    let run3 = plan(w, "2026-12-01T12:10:00Z", "p3.json");
    let (code, err) = apply(w, "p3.json", "2026-12-01T12:10:00Z", &[]);
    assert_eq!(code, 0, "{err}");
    control(
        w,
        "carol",
        "cancel",
        &run3,
        "2026-12-01T12:15:00Z",
        "change freeze moved up",
    );
    let before = snapshot(&w.join("state"));
    let (code, err) = apply(w, "p3.json", "2026-12-01T14:00:00Z", &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cancel"), "{err}");
    assert_eq!(
        before,
        snapshot(&w.join("state")),
        "a cancelled run's apply wrote"
    );

    // `vow status --format json` tells the whole story.
    let st = status(w);
    let r1 = run_of(&st, &run1);
    assert_eq!(r1["status"], "cancelled");
    let c1 = controls(r1);
    let actions: Vec<&str> = c1.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(actions, ["pause", "resume", "promote", "supersede"]);
    assert_eq!(c1[0].1, "alice");
    assert_eq!(c1[0].2, "pager: db latency");
    assert_eq!(c1[2].1, "bob");
    assert_eq!(c1[2].2, "canary verified by hand");
    assert_eq!(r1["waves"][1]["gate"]["state"], "passed");
    assert_eq!(
        names(&r1["waves"][1]["failed"]),
        ["db:team-a/b1", "db:team-a/b2"]
    );
    let r2 = run_of(&st, &run2);
    assert_eq!(r2["status"], "aborted");
    assert_eq!(r2["waves"][0]["gate"]["state"], "failed");
    assert_eq!(
        names(&r2["waves"][0]["failed"]),
        ["db:team-a/a1", "db:team-a/a2", "db:team-a/a3"]
    );
    let r2_actions: Vec<String> = controls(r2).into_iter().map(|c| c.0).collect();
    assert_eq!(
        r2_actions,
        ["supersede"],
        "run 2 names the run it superseded"
    );
    let r3 = run_of(&st, &run3);
    assert_eq!(r3["status"], "cancelled");
    assert_eq!(
        controls(r3),
        [(
            "cancel".to_string(),
            "carol".to_string(),
            "change freeze moved up".to_string()
        )]
    );
}
