//! The example fleet's plan: snapshots (the spec), and determinism across thread counts and
//! input order.

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
use vow::{evaluate, load, plan, report, workspace::Workspace};

#[test]
fn example_plan_json_snapshot() {
    let (code, out, err) =
        vow_example(&["plan", "--format", "json", "--now", "2026-12-01T09:00:00Z"]);
    assert_eq!(code, 1, "the example blocks 14 requests on purpose: {err}");
    insta::assert_snapshot!("example_plan_json", out);
}

#[test]
fn example_plan_human_snapshot() {
    let (code, out, err) = vow_example(&["plan", "--now", "2026-12-01T09:00:00Z"]);
    assert_eq!(code, 1, "the example blocks 14 requests on purpose: {err}");
    insta::assert_snapshot!("example_plan_human", out);
}

#[test]
fn same_plan_with_one_or_two_threads() {
    let one = vow_example(&["-j", "1", "plan", "--format", "json"]);
    let two = vow_example(&["-j", "2", "plan", "--format", "json"]);
    let four = vow_example(&["-j", "4", "plan", "--format", "json"]);
    assert_eq!(one.0, 1);
    assert_eq!(one.1, two.1, "-j 1 and -j 2 differ");
    assert_eq!(one.1, four.1, "-j 1 and -j 4 differ");
}

fn plan_with_files(files: &[std::path::PathBuf]) -> String {
    let ws = Workspace::open(&repo(), None).unwrap();
    let (inputs, requests) = load::inputs::load_with_request_files(
        ws,
        vow::duration::parse_time("2026-12-01").unwrap(),
        files,
    );
    let all = evaluate::Requests::Borrowed(requests.iter().collect());
    let opts = evaluate::Options::new(evaluate::Detail::Digests).with_dependencies();
    let evaluated = evaluate::run(&inputs, all, &opts);
    report::plan_json(&plan::build(
        &inputs,
        &evaluated,
        &plan::PlanOptions::default(),
    ))
}

#[test]
fn same_plan_whatever_the_order_of_input_files() {
    let ws = Workspace::open(&repo(), None).unwrap();
    let mut files = vow::source::list_files(&ws.requests);
    assert!(files.len() >= 8);
    let sorted = plan_with_files(&files);
    files.reverse();
    assert_eq!(sorted, plan_with_files(&files), "reversed order differs");
    files.rotate_left(3);
    assert_eq!(sorted, plan_with_files(&files), "rotated order differs");
}

#[test]
fn the_example_fleet_shows_a_real_upgrade() {
    let (_, out, _) = vow_example(&["plan", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let s = &v["summary"];
    assert!(s["requests"].as_u64().unwrap() >= 60);
    assert!(s["update"].as_u64().unwrap() > 0);
    assert!(s["waves"].as_u64().unwrap() >= 3);
    let waves = v["waves"].as_array().unwrap();
    // The Promise's own dependencies first, then the canaries.
    assert_eq!(waves[0]["name"], "dependencies");
    assert_eq!(waves[0]["instances"][0]["ref"], "postgresql:dependencies");
    assert_eq!(waves[1]["name"], "canary");
    assert_eq!(waves[1]["canary"], true);
    // Every changed, unblocked instance is in exactly one wave.
    let mut seen = std::collections::BTreeSet::new();
    for w in waves {
        for i in w["instances"].as_array().unwrap() {
            assert!(
                seen.insert(i["ref"].as_str().unwrap().to_string()),
                "{i} twice"
            );
        }
    }
    let changes = v["changes"].as_array().unwrap();
    assert_eq!(seen.len(), changes.len());
    // The pinned instance renders with its pinned revision and stays unchanged.
    assert_eq!(v["pinned"][0]["version"], "v1.3.0");
    assert!(!seen.contains(v["pinned"][0]["ref"].as_str().unwrap()));
    // The deleted request's files are removed.
    let delete = changes.iter().find(|c| c["action"] == "delete").unwrap();
    assert!(delete["files"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["change"] == "removed"));
}
