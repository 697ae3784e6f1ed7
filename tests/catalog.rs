//! `vow catalog`: the Backstage entities of the example fleet pass Backstage's own validators
//! (`@backstage/catalog-model`: its entity policies and kind validators, run by
//! tests/backstage/validate.js), and the validators bite: an entity with a bad name, label,
//! owner or dependency is rejected.
//!
//! Needs node and the package installed (`npm ci` in tests/backstage; .ci/run does it). Without
//! node the tests say so loudly and pass, except under `CI=true`, where they fail.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::exit,
    reason = "a test fails loudly; the library may not"
)]

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const NOW: &str = "2026-12-01T09:30:00Z";

/// The validator script, ready to run; `None` (after saying why) when node or the package is
/// missing outside CI.
fn validator() -> Option<PathBuf> {
    let dir = repo().join("tests/backstage");
    let script = dir.join("validate.js");
    let missing = |why: &str| {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("tests/catalog.rs: {why} (CI=true: Backstage's validators must run)");
        }
        eprintln!(
            "\n*** SKIPPED: {why}; install nodejs and npm, then `npm ci` in tests/backstage ***\n"
        );
        None
    };
    if Command::new("node").arg("--version").output().is_err() {
        return missing("node is not installed");
    }
    if !dir.join("node_modules/@backstage/catalog-model").is_dir() {
        let ok = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return missing("@backstage/catalog-model is not installed and `npm ci` failed");
        }
    }
    Some(script)
}

/// Runs the validator over `paths`: (exit code, its JSON summary).
fn validate(script: &Path, paths: &[&Path]) -> (i32, Value) {
    let out = Command::new("node")
        .arg(script)
        .args(paths)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let summary = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "validator output is not JSON ({e}): {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), summary)
}

fn catalog(ws: &Path, out: &Path) {
    let (code, _, err) = vow(&[
        "-C",
        ws.to_str().unwrap(),
        "catalog",
        "--now",
        NOW,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
}

fn docs(file: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(file).unwrap();
    text.split("\n---\n")
        .map(|d| d.trim_start_matches("---\n"))
        .filter(|d| !d.trim().is_empty())
        .map(|d| serde_yaml::from_str(d).unwrap())
        .collect()
}

#[test]
fn the_example_catalog_passes_backstages_validators() {
    let Some(script) = validator() else { return };
    let out = tempfile::tempdir().unwrap();
    catalog(&repo(), out.path());
    let (code, summary) = validate(&script, &[out.path()]);
    assert_eq!(code, 0, "{summary:#}");
    // The Location, a System and a Promise Component per Promise, a Component per instance.
    let (_, fleet, _) = vow_example(&["fleet", "--now", NOW, "--format", "json"]);
    let inv: Value = serde_json::from_str(&fleet).unwrap();
    let instances = inv["total"].as_u64().unwrap();
    assert_eq!(
        summary["valid"].as_u64().unwrap(),
        1 + 3 * 2 + instances,
        "{summary:#}"
    );
    // Each instance: owned by its team, part of its Promise's System, depending on its Promise,
    // with the plugin's annotations and vow's facts.
    let bucket = docs(&out.path().join("bucket.yaml"));
    let e = bucket
        .iter()
        .find(|d| {
            d["metadata"]["annotations"]["kratix.io/resource-name"] == "query-results-staging"
        })
        .unwrap();
    assert_eq!(e["kind"], "Component");
    assert_eq!(e["spec"]["owner"], "group:default/data");
    assert_eq!(e["spec"]["system"], "bucket");
    assert_eq!(
        e["spec"]["dependsOn"][0],
        "component:default/bucket-promise"
    );
    let a = &e["metadata"]["annotations"];
    assert_eq!(a["kratix.io/type"], "resource");
    assert_eq!(a["kratix.io/promise-name"], "bucket");
    assert_eq!(a["kratix.io/resource-kind"], "Bucket");
    assert_eq!(a["kratix.io/resource-group"], "platform.example.com");
    assert_eq!(a["kratix.io/resource-version"], "v1alpha1");
    assert_eq!(a["kratix.io/resource-namespace"], "team-data");
    assert_eq!(a["vow.dev/applied-version"], "v1.0.0");
    assert_eq!(a["vow.dev/health"], "healthy");
    assert_eq!(e["metadata"]["labels"]["vow.dev/compliance"], "compliant");
    let listed = docs(&out.path().join("catalog-info.yaml"));
    assert_eq!(listed[0]["kind"], "Location");
    assert_eq!(
        listed[0]["spec"]["targets"],
        serde_json::json!(["./bucket.yaml", "./postgresql.yaml", "./redis.yaml"])
    );
}

#[test]
fn long_and_odd_request_names_still_make_valid_entities() {
    let Some(script) = validator() else { return };
    let ws = example_copy();
    let long = format!("a{}", "-very-long-name".repeat(4)); // 61: a request name is a DNS label
    write(
        ws.path(),
        "fixtures/example/requests/odd.yaml",
        &format!("apiVersion: platform.example.com/v1alpha1\nkind: Bucket\nmetadata:\n  name: {long}\n  namespace: team-odd\n  labels:\n    env: dev\n    team: Odd.Team_1\nspec:\n  dataClassification: public\n  versioning: false\n"),
    );
    let out = tempfile::tempdir().unwrap();
    catalog(ws.path(), out.path());
    let (code, summary) = validate(&script, &[out.path()]);
    assert_eq!(code, 0, "{summary:#}");
    let bucket = docs(&out.path().join("bucket.yaml"));
    let e = bucket
        .iter()
        .find(|d| d["metadata"]["annotations"]["kratix.io/resource-name"] == long.as_str())
        .unwrap();
    assert!(e["metadata"]["name"].as_str().unwrap().len() <= 63);
}

/// What a negative case does to a valid entity.
type Break = Box<dyn Fn(&mut Value)>;

/// Takes a valid generated entity, breaks one field, and expects the validator to reject it.
#[test]
fn the_validators_reject_a_bad_name_label_owner_or_dependency() {
    let Some(script) = validator() else { return };
    let out = tempfile::tempdir().unwrap();
    catalog(&repo(), out.path());
    let bucket = docs(&out.path().join("bucket.yaml"));
    let good = bucket
        .iter()
        .find(|d| d["spec"]["type"] == "kratix-resource")
        .unwrap()
        .clone();
    let promise_docs: Vec<Value> = bucket
        .iter()
        .filter(|d| d["spec"]["type"] != "kratix-resource")
        .cloned()
        .collect();
    let cases: Vec<(&str, Break, &str)> = vec![
        (
            "name",
            Box::new(|e| e["metadata"]["name"] = "bad name!".into()),
            "metadata.name",
        ),
        (
            "long name",
            Box::new(|e| e["metadata"]["name"] = "x".repeat(64).into()),
            "metadata.name",
        ),
        (
            "label value",
            Box::new(|e| {
                e["metadata"]["labels"]["vow.dev/applied-version"] = "v1.0.0+build".into()
            }),
            "labels",
        ),
        (
            "label key",
            Box::new(|e| e["metadata"]["labels"]["bad key"] = "x".into()),
            "labels",
        ),
        (
            "owner",
            Box::new(|e| e["spec"]["owner"] = serde_json::json!(7)),
            "owner",
        ),
        (
            "owner ref",
            Box::new(|e| e["spec"]["owner"] = "group:".into()),
            "owner",
        ),
        (
            "dependsOn",
            Box::new(|e| {
                e["spec"]["dependsOn"] = serde_json::json!(["component:default/no-such-promise"])
            }),
            "dependsOn",
        ),
        (
            "lifecycle",
            Box::new(|e| {
                e["spec"].as_object_mut().unwrap().remove("lifecycle");
            }),
            "lifecycle",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (what, breaks, expect) in cases {
        let mut bad = good.clone();
        breaks(&mut bad);
        let mut text = String::new();
        for d in promise_docs.iter().chain([&bad]) {
            text.push_str("---\n");
            text.push_str(&serde_yaml::to_string(d).unwrap());
        }
        let file = dir.path().join(format!("{}.yaml", what.replace(' ', "-")));
        std::fs::write(&file, text).unwrap();
        let (code, summary) = validate(&script, &[&file]);
        assert_eq!(
            code, 1,
            "a bad {what} passed Backstage's validators: {summary:#}"
        );
        let errors = summary["errors"].to_string();
        assert!(
            errors.contains(expect),
            "a bad {what}: the error does not name {expect}: {errors}"
        );
    }
    // The unbroken entity, with the same Promise entities, passes: the cases fail for their break.
    let mut text = String::new();
    for d in promise_docs.iter().chain([&good]) {
        text.push_str("---\n");
        text.push_str(&serde_yaml::to_string(d).unwrap());
    }
    let file = dir.path().join("good.yaml");
    std::fs::write(&file, text).unwrap();
    assert_eq!(validate(&script, &[&file]).0, 0);
}
