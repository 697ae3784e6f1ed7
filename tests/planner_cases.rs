//! The planner on the example fleet, asserted in code: the unified diff of a changed document,
//! and a pin written in a ResourceBinding file. The snapshot cases of rollout strategies (a small
//! platform, one strategy, a fixed `--now`) are data: tests/cases/planner/, run by tests/cases.rs.

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

const NOW: &str = "2026-12-01T09:00:00Z";

#[test]
fn diff_of_a_changed_document() {
    // The markdown form of the same plan is a case: tests/cases/planner/example_plan_markdown_head.
    let (code, out, _) = vow_example(&["plan", "--diff", "--now", NOW]);
    assert_eq!(code, 1, "the example blocks requests");
    assert!(
        out.contains("-    platform.example.com/revision: postgresql-v1.3.0"),
        "the unified diff of a changed document"
    );
    assert!(out.contains("+    platform.example.com/promise-version: v1.4.0"));
}

#[test]
fn pinning_in_the_binding_file() {
    let ws = example_copy();
    let binding = ws.path().join(
        "fixtures/example/state/.vow/bindings/redis/team-payments/idempotency-cache-dev.yaml",
    );
    let text = std::fs::read_to_string(&binding).unwrap();
    assert!(text.contains("version: latest"));
    std::fs::write(&binding, text.replace("version: latest", "version: v2.0.3")).unwrap();
    let (code, out, err) = vow(&[
        "-C",
        ws.path().to_str().unwrap(),
        "plan",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "the example blocks requests: {err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let pinned: Vec<&str> = v["pinned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["ref"].as_str().unwrap())
        .collect();
    assert!(
        pinned.contains(&"redis:team-payments/idempotency-cache-dev"),
        "{pinned:?}"
    );
    // Pinned to the version applied: rendered with the stored revision, nothing changes.
    let in_waves = v["waves"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| w["instances"].as_array().unwrap())
        .any(|i| i["ref"] == "redis:team-payments/idempotency-cache-dev");
    assert!(!in_waves);
    assert_eq!(v["summary"]["unchanged"], 2);
}
