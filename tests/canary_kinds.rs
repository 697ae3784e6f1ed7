//! The canary wave covers every change kind (docs/planning.md, "Canaries that exercise the
//! change"): on the example fleet, and on a generated upgrade where only some instances change
//! version and the rest only get a new label.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "a test fails loudly; the library may not"
)]

mod common;

use common::{scratch_workspace, vow_example, vow_in, write, PROMISE};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const NOW: &str = "2026-12-01T09:00:00Z";

/// Whether a change kind is only labels and annotations (or no output at all).
fn metadata_only(kind: &str) -> bool {
    kind.ends_with(": metadata only") || kind.ends_with(": outputs unchanged")
}

/// Per Promise: the change kinds its changes carry (that do more than metadata), and the kinds
/// of its canaries.
fn kinds(plan: &Value) -> BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> {
    let kind_of: BTreeMap<&str, &str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| Some((c["ref"].as_str()?, c["kind"].as_str()?)))
        .collect();
    let mut out: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    for w in plan["waves"].as_array().unwrap() {
        for i in w["instances"].as_array().unwrap() {
            let r = i["ref"].as_str().unwrap();
            let promise = r.split(':').next().unwrap().to_string();
            if r.ends_with(":dependencies") {
                continue;
            }
            let Some(kind) = kind_of.get(r) else { continue };
            let entry = out.entry(promise).or_default();
            if w["canary"].as_bool().unwrap() {
                entry.1.insert(kind.to_string());
            } else if !metadata_only(kind) {
                entry.0.insert(kind.to_string());
            }
        }
    }
    out
}

/// Every change kind later waves carry has a canary of that very kind.
fn assert_covered(plan: &Value) {
    let all = kinds(plan);
    assert!(!all.is_empty());
    for (promise, (carried, canaries)) in &all {
        assert!(!canaries.is_empty(), "{promise} has no canary");
        for k in carried {
            assert!(
                canaries.contains(k),
                "{promise}: no canary covers {k}; canaries: {canaries:?}"
            );
        }
    }
}

#[test]
fn the_example_fleets_canaries_cover_every_change_kind() {
    let (_, out, err) = vow_example(&["plan", "--now", NOW, "--format", "json"]);
    let plan: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {err}"));
    assert_covered(&plan);
    // postgresql has two kinds besides a label-only one: the pgbouncer image, and its one new
    // instance (a canary itself, so no later wave carries that kind).
    let (carried, canaries) = &kinds(&plan)["postgresql"];
    assert_eq!(carried.len(), 1, "{carried:?}");
    assert!(canaries.contains("new at v1.4.0"), "{canaries:?}");
    let canary = &plan["waves"][1];
    assert!(canary["canary"].as_bool().unwrap());
    let says: Vec<&str> = canary["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["placement"].as_str().unwrap())
        .collect();
    assert!(
        says.iter().any(|s| s.starts_with(
            "canary: covers v2.0.3 → v2.1.0: spec.template.spec.containers[0].image redis:7.2.4-alpine → 7.2.5-alpine, region="
        )),
        "{says:#?}"
    );
}

/// The Promise at `version`, with a canary of three spread over regions.
fn promise(version: &str) -> String {
    PROMISE
        .replace("v1.0.0", version)
        .replace(
            "  destinationSelectors:",
            "  rollout:\n    canary: {count: 3, spread: [region]}\n    waves:\n      - {name: all}\n  destinationSelectors:",
        )
}

/// Renders a MongoDB whose `spec.version` is chosen by the request's size: v1.0.0 runs 6.0.14
/// (size 1), 7.0.8 (size 2) or 6.0.15 (size 3); v1.1.0 moves 6.0.14 to 6.0.15 and 7.0.8 to
/// 7.0.9, so size 3 only gets the new version label.
fn render(version: &str) -> String {
    let versions = if version == "v1.0.0" {
        r#"if spec.size == 2 { "7.0.8" } else if spec.size == 3 { "6.0.15" } else { "6.0.14" }"#
    } else {
        r#"if spec.size == 2 { "7.0.9" } else { "6.0.15" }"#
    };
    format!(
        r#"let v = {versions};
output("mongodb.yaml", #{{
    apiVersion: "example.com/v1",
    kind: "MongoDB",
    metadata: #{{ name: metadata.name, namespace: metadata.namespace, labels: #{{ "example.com/promise-version": "{version}" }} }},
    spec: #{{ version: v }}
}});
"#
    )
}

/// Forty instances: thirty whose upgrade is only a label (size 3), five on 6.0.14, five on
/// 7.0.8, over three regions.
fn fleet() -> String {
    let regions = ["eu", "us", "ap"];
    (0..40)
        .map(|i| {
            let size = if i < 5 { 1 } else if i < 10 { 2 } else { 3 };
            format!(
                "---\napiVersion: example.com/v1\nkind: DB\nmetadata:\n  name: m{i:02}\n  namespace: team-{}\n  labels: {{env: dev, region: {}}}\nspec:\n  size: {size}\n",
                i % 4,
                regions[i % 3]
            )
        })
        .collect()
}

#[test]
fn a_generated_upgrade_where_only_some_instances_change_version_has_a_canary_per_kind() {
    let ws = scratch_workspace();
    let root = ws.path();
    write(root, "promises/db/promise.yaml", &promise("v1.0.0"));
    write(root, "promises/db/render.rhai", &render("v1.0.0"));
    write(root, "requests/fleet.yaml", &fleet());
    let (code, _, err) = vow_in(root, &["plan", "--now", NOW, "--out", "plan.json"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = vow_in(
        root,
        &["apply", "plan.json", "--now", NOW, "--gate-cmd", "true"],
    );
    assert_eq!(code, 0, "{out}{err}");

    // The upgrade; one instance on 6.0.14 failed v1.1.0 once before.
    write(root, "promises/db/promise.yaml", &promise("v1.1.0"));
    write(root, "promises/db/render.rhai", &render("v1.1.0"));
    let binding = walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .find(|e| e.path().ends_with(".vow/bindings/db/team-0/m00.yaml"))
        .expect("m00's binding")
        .into_path();
    let text = std::fs::read_to_string(&binding).unwrap();
    let text = text.replace("status:\n", "status:\n  failedVersion: v1.1.0\n");
    std::fs::write(&binding, text).unwrap();

    let (code, out, err) = vow_in(root, &["plan", "--now", NOW, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let plan: Value = serde_json::from_str(&out).unwrap();
    assert_covered(&plan);
    let (carried, canaries) = &kinds(&plan)["db"];
    let want: BTreeSet<String> = [
        "v1.0.0 → v1.1.0: spec.version 6.0.14 → 6.0.15",
        "v1.0.0 → v1.1.0: spec.version 7.0.8 → 7.0.9",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(carried, &want);
    // The third canary goes to a region not yet covered; whatever it is, the two real kinds
    // each have their own canary, and a label-only instance is never one of them.
    assert!(want.is_subset(canaries), "{canaries:?}");
    let placements: Vec<String> = plan["waves"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| w["instances"].as_array().unwrap().clone())
        .map(|i| format!("{} {}", i["ref"], i["placement"]))
        .collect();
    assert!(
        placements
            .iter()
            .any(|p| p
                .contains("canary: covers v1.0.0 → v1.1.0: spec.version 6.0.14 → 6.0.15, region=")),
        "{placements:#?}"
    );
    let m00 = placements
        .iter()
        .find(|p| p.starts_with("\"db:team-0/m00\""))
        .unwrap();
    assert!(
        m00.ends_with("; failed v1.1.0 in an earlier run\""),
        "{m00}"
    );
    // The human plan explains the canaries the same way.
    let (_, human, _) = vow_in(root, &["plan", "--now", NOW]);
    assert!(
        human.contains("canary: covers v1.0.0 → v1.1.0: spec.version 7.0.8 → 7.0.9, region="),
        "{human}"
    );
}
