//! The command line as users run it: exit codes, formats, loading errors with file and line.

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

#[test]
fn plan_of_the_example_fleet() {
    let (code, out, err) = vow_example(&["plan"]);
    assert_eq!(
        code, 1,
        "the example holds 14 requests back on purpose: {err}"
    );
    assert!(out.starts_with("vow plan: 70 requests"), "{out}");
    assert!(out.contains("54 to update"), "{out}");
    assert!(out.contains("Wave 0 · dependencies"), "{out}");
    assert!(out.contains("Wave 1 · canary"), "{out}");
    assert!(out.contains("Blocked (14)"), "{out}");
    assert!(err.is_empty(), "stderr should be empty without -v: {err}");
}

#[test]
fn detailed_exitcode_says_changes_are_pending() {
    let (code, _, _) = vow_example(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 1, "blocked instances come first");
    let (code, _, _) = vow_example(&["plan", "--detailed-exitcode", "--fail-on", "never"]);
    assert_eq!(code, 3);
    let ws = scratch_workspace();
    let root = ws.path().to_str().unwrap();
    std::fs::create_dir_all(ws.path().join("requests")).unwrap();
    let (code, out, _) = vow(&["-C", root, "plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "no requests, no changes: {out}");
}

#[test]
fn json_plan_is_parseable_and_clean() {
    let (code, out, _) = vow_example(&["plan", "--format", "json"]);
    assert_eq!(code, 1, "blocked instances exit 1");
    let v: serde_json::Value = serde_json::from_str(&out).expect("stdout is only the plan");
    assert_eq!(v["schemaVersion"], 1);
    assert_eq!(v["summary"]["requests"], 70);
    assert_eq!(v["summary"]["update"], 54);
    assert_eq!(v["summary"]["create"], 1);
    assert_eq!(v["summary"]["delete"], 1);
    assert_eq!(v["summary"]["blocked"], 14);
    assert!(v["planId"].as_str().unwrap().starts_with("sha256:"));
}

#[test]
fn global_flags_go_before_or_after_the_command() {
    let root = repo();
    let root = root.to_str().unwrap();
    let a = vow(&["-C", root, "plan", "--format", "json"]);
    let b = vow(&["plan", "-C", root, "--format", "json"]);
    assert_eq!(a.1, b.1);
}

#[test]
fn out_writes_the_plan_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.json");
    let (code, out, _) =
        vow_example(&["plan", "--out", file.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 1, "written all the same when instances are blocked");
    assert_eq!(std::fs::read_to_string(file).unwrap(), out);
}

#[test]
fn promise_filter_and_unknown_promise() {
    let (code, out, _) = vow_example(&["plan", "--promise", "redis", "--format", "json"]);
    assert_eq!(code, 1, "a redis request is blocked");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for w in v["waves"].as_array().unwrap() {
        for i in w["instances"].as_array().unwrap() {
            assert!(i["ref"].as_str().unwrap().starts_with("redis:"), "{i}");
        }
    }
    // An unknown Promise: tests/cases/errors/unknown_promise.
}

#[test]
fn now_sets_earliest_starts() {
    let (code, out, _) = vow_example(&["plan", "--format", "json", "--now", "2026-12-01"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    // The Promise's dependencies go at once; the canaries include prod instances: they wait for
    // the prod working-hours window (09:00 in Dublin, UTC+0 in December).
    assert_eq!(v["waves"][0]["notBefore"], "2026-12-01T00:00:00Z");
    assert_eq!(v["waves"][1]["notBefore"], "2026-12-01T09:00:00Z");
    assert_eq!(
        v["waves"][1]["waitsFor"][0],
        "window prod-working-hours (Mon,Tue,Wed,Thu 09:00-16:00 Europe/Dublin)"
    );
    // A `--now` that is not a time: tests/cases/errors/now_that_is_not_a_time.
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(vow(&["plan", "--format", "xml"]).0, 2);
    assert_eq!(vow(&["frobnicate"]).0, 2);
    assert_eq!(vow(&["-C", "/nonexistent/dir", "plan"]).0, 2);
    assert_eq!(vow(&["--help"]).0, 0);
}

#[test]
fn explain_codes() {
    let (code, out, _) = vow(&["explain", "V100"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("V100 schema-violation"), "{out}");
    let (code, out, _) = vow(&["explain", "script-limit"]);
    assert_eq!(code, 0);
    assert!(out.contains("V202"));
    let (code, out, _) = vow(&["explain"]);
    assert_eq!(code, 0);
    assert!(out.lines().count() >= 20);
    assert_eq!(vow(&["explain", "V999"]).0, 2);
}

#[test]
fn render_shows_steps_and_files() {
    let (code, out, err) = vow_example(&["render", "team-payments/orders-db-prod-euw1"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("# postgresql:team-payments/orders-db-prod-euw1"),
        "{out}"
    );
    assert!(out.contains("## step instance/validate"), "{out}");
    assert!(out.contains("## step instance/render"), "{out}");
    assert!(
        out.contains("/resources/team-payments/postgresql/orders-db-prod-euw1/instance/5058f/"),
        "{out}"
    );
    assert!(out.contains("kind: Cluster"), "{out}");
}

#[test]
fn render_by_file() {
    let (code, out, _) = vow_example(&[
        "render",
        "fixtures/example/requests/checkout-rate-limits.ndjson",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        out.matches("\n# ").count() + usize::from(out.starts_with("# ")),
        3,
        "{out}"
    );
    // An unknown name: tests/cases/errors/render_of_an_unknown_request.
}

// The rendered findings and fatal errors of one bad input each are data: tests/cases/errors/,
// run by tests/cases.rs.

#[test]
fn timings_name_every_stage_on_stderr() {
    let (code, out, err) = vow_example(&["plan", "--format", "json", "--timings"]);
    assert_eq!(code, 1, "{err}");
    assert!(out.starts_with('{'), "stdout holds the plan only");
    for stage in [
        "load", "evaluate", "schema", "steps", "render", "rules", "plan", "output", "total",
    ] {
        assert!(err.contains(stage), "no `{stage}` in\n{err}");
    }
}

/// The last line of stderr under `--timings=json`: the timings object.
fn timings_json(args: &[&str]) -> serde_json::Value {
    let (_, out, err) = vow_example(args);
    assert!(out.starts_with('{'), "stdout holds the plan only");
    let last = err.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("not JSON ({e}): {last}\n{err}"))
}

/// Seconds of a field: a number at or above 0.
fn seconds(v: &serde_json::Value, field: &str) -> f64 {
    let s = v[field]
        .as_f64()
        .unwrap_or_else(|| panic!("no number {field} in {v}"));
    assert!(s >= 0.0, "{field} below 0 in {v}");
    s
}

#[test]
fn timings_json_has_wall_cpu_and_serial_per_stage() {
    let t = timings_json(&["plan", "--format", "json", "--timings=json"]);
    assert_eq!(t["timings"], 1, "{t}");
    assert!(t["threads"].as_u64().unwrap() >= 1, "{t}");
    let stages = t["stages"].as_array().unwrap();
    let names: Vec<&str> = stages
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["load", "evaluate", "schema", "steps", "render", "rules", "plan", "output"]
    );
    for s in stages {
        seconds(s, "cpu_s");
        if ["schema", "steps", "render", "rules"].contains(&s["stage"].as_str().unwrap()) {
            // Per-request stages run inside evaluate on every worker: CPU only.
            assert!(s["wall_s"].is_null() && s["serial_s"].is_null(), "{s}");
        } else {
            let (wall, serial) = (seconds(s, "wall_s"), seconds(s, "serial_s"));
            assert!(serial <= wall, "serial part above the wall time: {s}");
            assert!(s["rss_mib_after"].as_u64().is_some(), "{s}");
        }
    }
    seconds(&t["total"], "wall_s");
    seconds(&t["total"], "cpu_s");
}

#[test]
fn one_thread_makes_every_wall_stage_serial() {
    let t = timings_json(&["-j", "1", "plan", "--format", "json", "--timings=json"]);
    assert_eq!(t["threads"], 1, "{t}");
    for s in t["stages"].as_array().unwrap() {
        if !s["wall_s"].is_null() {
            assert_eq!(s["serial_s"], s["wall_s"], "{s}");
        }
    }
}

#[test]
fn timings_table_has_wall_cpu_and_serial_columns() {
    let (_, _, err) = vow_example(&["plan", "--format", "json", "--timings"]);
    let header = err.lines().find(|l| l.starts_with("timings:")).unwrap();
    for column in ["wall", "cpu", "serial", "memory after"] {
        assert!(header.contains(column), "no `{column}` in {header}");
    }
    assert!(err.contains("total (process)"), "{err}");
}
