//! `vow plan --shard K/N` and `--merge`: sharded-then-merged plans are the unsharded plan, byte
//! for byte, and merging refuses partials that do not belong together.

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

const NOW: &str = "2026-12-01T09:00:00Z";

/// Plans every shard of `n` into `dir` and returns the partial plans' paths.
fn shards(ws: &Path, dir: &Path, n: usize) -> Vec<String> {
    (1..=n)
        .map(|k| {
            let part = dir.join(format!("part-{k}.json")).display().to_string();
            let shard = format!("{k}/{n}");
            let (code, _, err) = vow_in(
                ws,
                &["plan", "--now", NOW, "--shard", &shard, "--out", &part],
            );
            assert_eq!(code, 0, "{err}");
            part
        })
        .collect()
}

fn merge(ws: &Path, parts: &[String], format: &str) -> (i32, String, String) {
    let mut args = vec!["plan", "--format", format, "--merge"];
    args.extend(parts.iter().map(String::as_str));
    vow_in(ws, &args)
}

#[test]
fn sharded_then_merged_plans_equal_the_unsharded_plan() {
    // The example fleet has creates, updates, a delete, blocked, pinned and paused instances,
    // Promise dependencies and load findings: every part of a plan.
    let ws = example_copy();
    let parts_dir = tempfile::tempdir().unwrap();
    for format in ["json", "human"] {
        let (code, whole, err) = vow_in(ws.path(), &["plan", "--now", NOW, "--format", format]);
        assert_eq!(code, 1, "the example blocks requests: {err}");
        for n in [1, 2, 3, 7] {
            let parts = shards(ws.path(), parts_dir.path(), n);
            let (code, merged, err) = merge(ws.path(), &parts, format);
            assert_eq!(code, 1, "the merged plan exits as the whole one: {err}");
            assert!(
                merged == whole,
                "{n} shards, {format}: the merged plan differs"
            );
            // The order partials are given in does not matter.
            let reversed: Vec<String> = parts.iter().rev().cloned().collect();
            assert_eq!(merge(ws.path(), &reversed, format).1, whole);
        }
    }
}

#[test]
fn shards_split_the_fleet_without_overlap() {
    let ws = example_copy();
    let dir = tempfile::tempdir().unwrap();
    let parts = shards(ws.path(), dir.path(), 3);
    let mut ids: Vec<String> = Vec::new();
    for p in &parts {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        let here: Vec<String> = v["evaluated"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].to_string())
            .collect();
        assert!(!here.is_empty(), "every shard of 3 has work on 70 requests");
        ids.extend(here);
    }
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "an instance evaluated in two shards");
    // 70 requests plus the postgresql Promise's dependencies.
    assert_eq!(n, 71);
}

#[test]
fn merge_refuses_partials_that_do_not_belong_together() {
    let ws = example_copy();
    let dir = tempfile::tempdir().unwrap();
    let parts = shards(ws.path(), dir.path(), 3);
    let (code, _, err) = merge(ws.path(), &parts[..2], "json");
    assert_eq!(code, 2);
    assert!(err.contains("shard 3/3 is missing"), "{err}");
    let twice = vec![parts[0].clone(), parts[1].clone(), parts[1].clone()];
    let (code, _, err) = merge(ws.path(), &twice, "json");
    assert_eq!(code, 2);
    assert!(err.contains("given twice"), "{err}");
    let other = tempfile::tempdir().unwrap();
    let two = shards(ws.path(), other.path(), 2);
    let mixed = vec![parts[0].clone(), two[1].clone()];
    let (code, _, err) = merge(ws.path(), &mixed, "json");
    assert_eq!(code, 2);
    assert!(err.contains("not one of 3 shards"), "{err}");
    // A rule changed after the shards were planned: the merge is refused.
    let rule = ws.path().join("rules/dev-size-caps.yaml");
    let text = std::fs::read_to_string(&rule).unwrap();
    std::fs::write(&rule, text.replace("severity: low", "severity: medium")).unwrap();
    let (code, _, err) = merge(ws.path(), &parts, "json");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("other rules"), "{err}");
    // Not a partial plan at all.
    let (code, _, err) = merge(ws.path(), &[rule.display().to_string()], "json");
    assert_eq!(code, 2);
    assert!(err.contains("is not a partial plan"), "{err}");
    let (code, _, err) = vow_in(ws.path(), &["plan", "--shard", "4/3"]);
    assert_eq!(code, 2);
    assert!(err.contains("K/N"), "{err}");
}

/// Whether a request changed is judged during evaluation (the spec itself is not kept for
/// planning): the reason must be the same whole and sharded, and a request that spells out its
/// defaults is the same request.
#[test]
fn a_changed_request_is_named_whole_and_sharded() {
    let ws = scratch_workspace();
    write(ws.path(), "requests/a.yaml", &request("a", 3));
    write(ws.path(), "requests/b.yaml", &request("b", 5));
    let (code, _, err) = vow_in(ws.path(), &["plan", "--now", NOW, "--out", "plan.json"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = vow_in(ws.path(), &["apply", "plan.json", "--now", NOW]);
    assert_eq!(code, 0, "{out}{err}");
    // a: a new size (outputs change too); b: its default retention written out (no change).
    write(ws.path(), "requests/a.yaml", &request("a", 4));
    let b = request("b", 5) + "  backups: {retentionDays: 7}\n";
    write(ws.path(), "requests/b.yaml", &b);

    let (code, whole, err) = vow_in(ws.path(), &["plan", "--now", NOW, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let plan: serde_json::Value = serde_json::from_str(&whole).unwrap();
    let changes = plan["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{whole}");
    assert_eq!(changes[0]["ref"], "db:team-a/a");
    assert_eq!(changes[0]["reason"], "the request changed");
    assert_eq!(plan["summary"]["unchanged"], 1);

    let dir = tempfile::tempdir().unwrap();
    let parts = shards(ws.path(), dir.path(), 2);
    let (code, merged, err) = merge(ws.path(), &parts, "json");
    assert_eq!(code, 0, "{err}");
    assert!(merged == whole, "the merged plan differs:\n{merged}");
}

/// Each shard keeps only its own requests from loading on, but still sees every document: a
/// request declared twice is reported the same, whichever shard it falls in.
#[test]
fn duplicates_are_found_across_shards() {
    let ws = scratch_workspace();
    for (i, size) in (1..=12).enumerate() {
        write(
            ws.path(),
            &format!("requests/r{i}.yaml"),
            &request(&format!("db-{i}"), size),
        );
    }
    write(ws.path(), "requests/again.yaml", &request("db-3", 9));
    let (code, whole, err) = vow_in(ws.path(), &["plan", "--now", NOW, "--format", "json"]);
    assert_eq!(code, 1, "a duplicate is blocking: {err}");
    assert!(whole.contains("is declared twice"), "{whole}");
    let dir = tempfile::tempdir().unwrap();
    for n in [2, 5] {
        let parts = shards(ws.path(), dir.path(), n);
        let (code, merged, err) = merge(ws.path(), &parts, "json");
        assert_eq!(code, 1, "as the whole plan: {err}");
        assert!(
            merged == whole,
            "{n} shards: the merged plan differs:\n{merged}"
        );
    }
}
