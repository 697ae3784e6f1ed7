//! `vow fleet` and `vow catalog` read the store's bindings only (`store::Depth::BindingsOnly`):
//! no file a binding names is read or hashed. This shows that the inventory is the same, byte for
//! byte, as the one made from the full read (every digest), on the example fleet, with and
//! without compliance, and that the fast read still names a record's path the wall refuses.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "a test fails loudly; the library may not"
)]

mod common;

use common::*;
use std::path::Path;
use vow::load::inputs::{self, Catalogue, Fleet};
use vow::workspace::Workspace;

const NOW: &str = "2026-12-01T09:30:00Z";

fn now() -> chrono::DateTime<chrono::Utc> {
    NOW.parse().unwrap()
}

fn full(root: &Path) -> (Catalogue, Fleet) {
    inputs::load(Workspace::open(root, None).unwrap(), now())
}

fn fast(root: &Path) -> (Catalogue, Fleet) {
    inputs::load_bindings_only(Workspace::open(root, None).unwrap(), now())
}

fn summary(root: &Path) -> (Catalogue, Fleet) {
    inputs::load_summary(Workspace::open(root, None).unwrap(), now())
}

fn fleet_json(loaded: &(Catalogue, Fleet), no_compliance: bool) -> String {
    let opts = vow::fleet::Options {
        no_compliance,
        ..Default::default()
    };
    vow::report::fleet::json(&vow::fleet::inventory(&loaded.0, &loaded.1, None, &opts))
}

#[test]
fn the_fast_read_gives_the_same_inventory_as_the_full_read() {
    let root = repo();
    let (full, fast) = (full(&root), fast(&root));
    // The fast read did skip the files: the full one has a digest per file, the fast one none.
    let files = |c: &Catalogue| {
        c.store
            .applied
            .values()
            .map(|a| a.actual.len())
            .sum::<usize>()
    };
    assert!(files(&full.0) > 100, "the example store records its files");
    assert_eq!(files(&fast.0), 0);
    assert_eq!(
        full.0.store.applied.keys().collect::<Vec<_>>(),
        fast.0.store.applied.keys().collect::<Vec<_>>()
    );
    assert_eq!(full.0.findings, fast.0.findings);
    for no_compliance in [false, true] {
        let (a, b) = (
            fleet_json(&full, no_compliance),
            fleet_json(&fast, no_compliance),
        );
        assert!(a.contains("\"instances\""));
        assert_eq!(a, b, "no_compliance={no_compliance}");
    }
}

#[test]
fn vow_fleet_prints_what_the_full_read_gives() {
    let root = repo();
    let (code, out, err) = vow_example(&["fleet", "--now", NOW, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, fleet_json(&full(&root), false));
}

#[test]
fn the_catalog_is_the_same_from_either_read() {
    let root = repo();
    let opts = vow::fleet::Options::default();
    let backstage = |l: &(Catalogue, Fleet)| {
        let inv = vow::fleet::inventory(&l.0, &l.1, None, &opts);
        let o = vow::report::backstage::Options {
            platform_owner: "platform",
        };
        vow::report::backstage::files(&inv, &o)
    };
    let a = backstage(&full(&root));
    assert!(!a.is_empty());
    assert_eq!(a, backstage(&fast(&root)));
}

#[test]
fn the_fast_read_still_names_a_path_outside_the_store() {
    let ws = example_copy();
    let bindings = ws.path().join("fixtures/example/state/.vow/bindings");
    let record = walkdir::WalkDir::new(&bindings)
        .into_iter()
        .filter_map(Result::ok)
        .find(|e| e.path().extension().is_some_and(|x| x == "yaml"))
        .unwrap()
        .into_path();
    let text = std::fs::read_to_string(&record).unwrap();
    let mut doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    doc["status"]["files"][0]["path"] = "../../outside.yaml".into();
    std::fs::write(&record, serde_yaml::to_string(&doc).unwrap()).unwrap();
    let codes = |c: &Catalogue| {
        c.findings
            .iter()
            .filter(|f| f.message.contains("outside.yaml"))
            .map(|f| f.id().to_string())
            .collect::<Vec<_>>()
    };
    let (full, fast) = (full(ws.path()), fast(ws.path()));
    assert_eq!(codes(&full.0), ["V403"]);
    assert_eq!(codes(&full.0), codes(&fast.0));
    assert_eq!(fleet_json(&full, true), fleet_json(&fast, true));
}

/// The binding records are read without the YAML parser when that is the same (src/store/
/// record.rs). A comment line on top of each record sends it to serde_yaml instead (serde_yaml
/// reads the same binding): the inventory must be the same bytes either way.
#[test]
fn the_records_read_without_the_yaml_parser_give_the_same_inventory_as_serde_yaml() {
    let ws = example_copy();
    let before = (full(ws.path()), fast(ws.path()));
    let bindings = ws.path().join("fixtures/example/state/.vow/bindings");
    let mut n = 0;
    for e in walkdir::WalkDir::new(&bindings)
        .into_iter()
        .filter_map(Result::ok)
    {
        if e.path().extension().is_some_and(|x| x == "yaml") {
            let text = std::fs::read_to_string(e.path()).unwrap();
            std::fs::write(e.path(), format!("# kept by serde_yaml\n{text}")).unwrap();
            n += 1;
        }
    }
    assert!(n > 50, "{n} records");
    let after = (full(ws.path()), fast(ws.path()));
    for no_compliance in [false, true] {
        let json = fleet_json(&before.0, no_compliance);
        assert!(json.contains("\"appliedVersion\""));
        assert_eq!(json, fleet_json(&after.0, no_compliance));
        assert_eq!(json, fleet_json(&before.1, no_compliance));
        assert_eq!(json, fleet_json(&after.1, no_compliance));
    }
    let bindings = |c: &Catalogue| {
        c.store
            .applied
            .values()
            .map(|a| a.binding.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(bindings(&before.0 .0), bindings(&after.0 .0));
    assert_eq!(before.0 .0.findings, after.0 .0.findings);
}

/// `vow fleet --no-compliance` keeps neither the bindings' applied specs nor their file lists
/// (`store::Depth::Summary`): its inventory is the same bytes as from the full read.
#[test]
fn the_summary_read_gives_the_same_inventory_without_compliance() {
    let root = repo();
    let (full, summary) = (full(&root), summary(&root));
    let kept = |c: &Catalogue| {
        c.store
            .applied
            .values()
            .filter(|a| {
                a.binding.status.applied_spec.is_some() || !a.binding.status.files.is_empty()
            })
            .count()
    };
    assert!(kept(&full.0) > 50);
    assert_eq!(
        kept(&summary.0),
        0,
        "the summary read drops specs and file lists"
    );
    assert_eq!(full.0.findings, summary.0.findings);
    let json = fleet_json(&full, true);
    assert!(json.contains("\"destinations\""));
    assert_eq!(json, fleet_json(&summary, true));
    let (code, out, err) =
        vow_example(&["fleet", "--now", NOW, "--format", "json", "--no-compliance"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, json);
}

/// `vow fleet --format json --out FILE` streams the inventory into its file as it is serialized
/// (never one string in memory), and builds the entries in parallel: the file is the same bytes
/// as the report made from the full read, with one thread or four, with or without compliance.
#[test]
fn the_streamed_json_file_is_the_same_bytes_as_the_full_read_at_any_thread_count() {
    let root = repo();
    let full = full(&root);
    let dir = tempfile::tempdir().unwrap();
    for no_compliance in [false, true] {
        let want = fleet_json(&full, no_compliance);
        assert!(want.contains("\"instances\""));
        for jobs in ["1", "4"] {
            let out = dir
                .path()
                .join(format!("fleet-{jobs}-{no_compliance}.json"));
            let mut args = vec!["-j", jobs, "fleet", "--now", NOW, "--format", "json"];
            args.extend(["--out", out.to_str().unwrap()]);
            if no_compliance {
                args.push("--no-compliance");
            }
            let (code, stdout, err) = vow_example(&args);
            assert_eq!(code, 0, "{err}");
            assert_eq!(stdout, "", "the report went to the file");
            let written = std::fs::read_to_string(&out).unwrap();
            assert_eq!(written, want, "-j {jobs}, no_compliance={no_compliance}");
        }
    }
}
