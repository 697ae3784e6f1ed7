//! What apply does to the folder store's files (issue 15, item 5): files whose content is
//! unchanged are not written at all, changed ones are rewritten in place (same inode, no
//! temporary file), a wave's backups are one file, and a rollback reads that file as well as
//! the file-per-instance backups older vows wrote.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "a test fails loudly; the library may not"
)]

mod common;
use common::*;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Drops the maintenance windows and freezes of the example (these tests step time by hand).
fn no_calendar(ws: &Path) {
    let cfg = std::fs::read_to_string(ws.join("vow.yaml")).unwrap();
    let head = cfg.split("\n# Production changes").next().unwrap();
    std::fs::write(ws.join("vow.yaml"), head).unwrap();
}

fn plan(ws: &Path, now: &str) {
    let args = [
        "plan",
        "--now",
        now,
        "--out",
        "plan.json",
        "--format",
        "json",
        "--fail-on",
        "never",
    ];
    let (code, _, err) = vow_in(ws, &args);
    assert_eq!(code, 0, "{err}");
}

/// Applies plan.json with a passing gate, stepping the clock by 5 hours, until the run is done.
fn apply_until_done(ws: &Path, from: &str) {
    let mut t = chrono::DateTime::parse_from_rfc3339(from).unwrap();
    for _ in 0..40 {
        let now = t.to_rfc3339();
        let args = ["apply", "plan.json", "--now", &now, "--gate-cmd", "true"];
        let (code, out, err) = vow_in(ws, &args);
        assert_eq!(code, 0, "{out}{err}");
        if err.contains(": done:") {
            return;
        }
        t += chrono::Duration::hours(5);
    }
    panic!("the run did not finish");
}

/// Every file under `dir` (but vow's run records, which every run adds to): its inode, its
/// modification time and its content.
fn files(dir: &Path) -> BTreeMap<String, (u64, i64, i64, Vec<u8>)> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .to_string();
            let m = e.metadata().unwrap();
            let bytes = std::fs::read(e.path()).unwrap();
            (rel, (m.ino(), m.mtime(), m.mtime_nsec(), bytes))
        })
        .filter(|(rel, _)| !rel.starts_with(".vow/journal/") && !rel.starts_with(".vow/backups/"))
        .collect()
}

#[test]
fn unchanged_files_are_not_written_and_changed_ones_are_rewritten_in_place() {
    let ws = example_copy();
    no_calendar(ws.path());
    let state = ws.path().join("fixtures/example/state");
    plan(ws.path(), "2026-12-01T09:00:00Z");
    apply_until_done(ws.path(), "2026-12-01T09:00:00Z");
    let before = files(&state);
    // A new version of one Promise: only its instances' files change.
    let promise = ws.path().join("promises/bucket/promise.yaml");
    let text = std::fs::read_to_string(&promise).unwrap();
    assert!(text.contains("kratix.io/promise-version: v1.1.0"));
    std::fs::write(
        &promise,
        text.replace(
            "kratix.io/promise-version: v1.1.0",
            "kratix.io/promise-version: v1.1.1",
        ),
    )
    .unwrap();
    plan(ws.path(), "2026-12-02T09:00:00Z");
    apply_until_done(ws.path(), "2026-12-02T09:00:00Z");
    let after = files(&state);
    let (mut same, mut changed) = (0, 0);
    for (rel, (ino, secs, nanos, bytes)) in &before {
        let Some((ino2, secs2, nanos2, bytes2)) = after.get(rel) else {
            continue;
        };
        if bytes == bytes2 {
            same += 1;
            assert_eq!(
                (secs, nanos, ino),
                (secs2, nanos2, ino2),
                "{rel}: its content did not change, but it was written"
            );
        } else {
            changed += 1;
            assert_eq!(
                ino, ino2,
                "{rel}: rewritten through a new file, not in place"
            );
        }
    }
    assert!(changed > 0, "the bucket instances' files changed");
    assert!(
        same > changed,
        "the other Promises' files did not ({same} / {changed})"
    );
    assert!(
        !after
            .keys()
            .any(|k| k.ends_with(".vow-tmp") || k.contains(".tmp")),
        "no temporary file is left"
    );
}

/// Applies the example's first waves, then fails the staging wave's gate: the run is aborted.
fn abort_a_run(ws: &Path) -> String {
    plan(ws, "2026-12-01T09:00:00Z");
    for (now, gate, want) in [
        ("2026-12-01T09:00:00Z", "true", 0),
        ("2026-12-01T10:00:00Z", "true", 0),
        ("2026-12-01T12:00:00Z", "exit 3", 1),
    ] {
        let args = ["apply", "plan.json", "--now", now, "--gate-cmd", gate];
        let (code, out, err) = vow_in(ws, &args);
        assert_eq!(code, want, "{out}{err}");
    }
    let (_, status, _) = vow_in(ws, &["status"]);
    assert!(status.contains("aborted"), "{status}");
    status.split_whitespace().nth(1).unwrap().to_string()
}

/// Rewrites a run's backups as vow wrote them before they were one file per wave: a file per
/// instance under `wave-<n>/`.
fn to_file_per_instance(state: &Path, run: &str) -> usize {
    let dir = state.join(".vow/backups").join(run);
    let mut waves = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let n: usize = name
            .strip_prefix("wave-")
            .and_then(|n| n.strip_suffix(".json"))
            .unwrap_or_else(|| panic!("{name}: a backup that is not one file per wave"))
            .parse()
            .unwrap();
        let all: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for (id, backup) in all["instances"].as_object().unwrap() {
            let id: vow::model::InstanceRef = id.parse().unwrap();
            let one = state.join(vow::store::layout::backup(run, n, &id));
            std::fs::create_dir_all(one.parent().unwrap()).unwrap();
            std::fs::write(one, serde_json::to_vec_pretty(backup).unwrap()).unwrap();
        }
        std::fs::remove_file(&path).unwrap();
        waves += 1;
    }
    waves
}

#[test]
fn a_rollback_reads_a_backup_per_wave_and_the_older_backup_per_instance() {
    for older in [false, true] {
        let ws = example_copy();
        no_calendar(ws.path());
        let state = ws.path().join("fixtures/example/state");
        let before = snapshot(&state);
        let run = abort_a_run(ws.path());
        if older {
            assert!(
                to_file_per_instance(&state, &run) >= 2,
                "a file per wave applied"
            );
        }
        let args = ["rollback", &run, "--out", "rollback.json"];
        let (code, out, err) = vow_in(ws.path(), &args);
        assert_eq!(code, 0, "{out}{err}");
        let args = ["apply", "rollback.json", "--now", "2026-12-01T14:00:00Z"];
        let (code, out, err) = vow_in(ws.path(), &args);
        assert_eq!(code, 0, "{out}{err}");
        let kept = |m: &BTreeMap<String, Vec<u8>>| -> BTreeMap<String, Vec<u8>> {
            m.iter()
                .filter(|(k, _)| {
                    !k.starts_with(".vow/journal/")
                        && !k.starts_with(".vow/backups/")
                        && !k.starts_with(".vow/revisions/")
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        assert!(
            kept(&before) == kept(&snapshot(&state)),
            "older backups: {older}: the rollback restores every file and binding"
        );
    }
}
