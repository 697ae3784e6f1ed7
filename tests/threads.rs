//! Output does not depend on the thread count: the plan (ranks, canaries, waves, counts, its
//! id) and the SARIF report are built on every thread, and must be the same bytes on one.

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

use std::process::Command;

/// Runs `vow -C <example> ARGS` on `threads` rayon threads; returns (exit code, stdout).
fn vow_on(threads: &str, args: &[&str]) -> (i32, Vec<u8>) {
    let root = common::repo();
    let out = Command::new(env!("CARGO_BIN_EXE_vow"))
        .env("RAYON_NUM_THREADS", threads)
        .arg("-C")
        .arg(&root)
        .args(args)
        .output()
        .expect("the vow binary runs");
    (out.status.code().unwrap_or(-1), out.stdout)
}

#[test]
fn the_plan_is_the_same_bytes_on_one_thread_and_on_four() {
    let args = ["--now", "2026-03-02T10:00:00Z", "plan", "--format", "json"];
    let (code1, one) = vow_on("1", &args);
    let (code4, four) = vow_on("4", &args);
    assert_eq!(code1, code4);
    let plan: serde_json::Value = serde_json::from_slice(&one).expect("a JSON plan");
    let waves = plan["waves"].as_array().expect("waves");
    assert!(!waves.is_empty(), "the example fleet plans waves");
    assert!(plan["planId"]
        .as_str()
        .is_some_and(|id| id.starts_with("sha256:")));
    assert!(one == four, "the plan differs between 1 and 4 threads");
}

#[test]
fn the_sarif_report_is_the_same_bytes_on_one_thread_and_on_four() {
    let args = [
        "--now",
        "2026-03-02T10:00:00Z",
        "check",
        "--format",
        "sarif",
    ];
    let (code1, one) = vow_on("1", &args);
    let (code4, four) = vow_on("4", &args);
    assert_eq!(code1, code4);
    let sarif: serde_json::Value = serde_json::from_slice(&one).expect("a SARIF report");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert!(!results.is_empty(), "the example fleet has findings");
    assert!(
        one == four,
        "the SARIF report differs between 1 and 4 threads"
    );
}
