//! Kratix compatibility: real Promises and requests from public Kratix repositories
//! (`../shared/kratix-samples`, Apache-2.0; not copied into the project) load, validate and
//! plan. Where the samples cannot be found the tests say so, and fail under CI=true.

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
use serde_json::Value;
use std::path::{Path, PathBuf};

fn samples() -> Option<PathBuf> {
    let p = repo().join("../shared/kratix-samples");
    if p.is_dir() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").is_err(),
        "CI must have ../shared/kratix-samples beside the checkout"
    );
    eprintln!(
        "!!! ../shared/kratix-samples not found: the Kratix compatibility tests did not run !!!"
    );
    None
}

/// A workspace with the given sample Promises and requests (paths relative to the samples).
fn workspace(s: &Path, promises: &[&str], requests: &[&str]) -> tempfile::TempDir {
    let ws = tempfile::tempdir().unwrap();
    for (i, p) in promises.iter().enumerate() {
        std::fs::create_dir_all(ws.path().join("promises")).unwrap();
        std::fs::copy(s.join(p), ws.path().join(format!("promises/p{i}.yaml"))).unwrap();
    }
    for (i, r) in requests.iter().enumerate() {
        std::fs::create_dir_all(ws.path().join("requests")).unwrap();
        std::fs::copy(s.join(r), ws.path().join(format!("requests/r{i}.yaml"))).unwrap();
    }
    // One destination that takes everything, so that placement never blocks these tests.
    write(ws.path(), "destinations.yaml", "apiVersion: platform.kratix.io/v1alpha1\nkind: Destination\nmetadata:\n  name: worker-1\nspec:\n  path: worker-1\n");
    ws
}

fn plan(ws: &Path) -> Value {
    // Blocked requests are what several tests look for: the plan's exit code is not theirs.
    let (code, out, err) = vow(&[
        "-C",
        ws.to_str().unwrap(),
        "plan",
        "--format",
        "json",
        "--fail-on",
        "never",
    ]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

fn blocking(p: &Value) -> Vec<String> {
    p["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["blocking"] == true)
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect()
}

const MARKETPLACE: &[(&str, &str)] = &[
    (
        "marketplace/ai/promise.yaml",
        "marketplace/ai/resource-request.yaml",
    ),
    (
        "marketplace/app-as-a-service/promise.yaml",
        "marketplace/app-as-a-service/resource-request.yaml",
    ),
    (
        "marketplace/namespace/promise.yaml",
        "marketplace/namespace/resource-request.yaml",
    ),
    (
        "marketplace/redis/promise.yaml",
        "marketplace/redis/resource-request.yaml",
    ),
    (
        "marketplace/runtime/promise.yaml",
        "marketplace/runtime/resource-request.yaml",
    ),
    (
        "marketplace/sql-aws/promise.yaml",
        "marketplace/sql-aws/resource-request.yaml",
    ),
    (
        "marketplace/github-sign-off/example-promise.yaml",
        "marketplace/github-sign-off/example-resource-request.yaml",
    ),
];

#[test]
fn every_marketplace_promise_loads_and_its_request_validates() {
    let Some(s) = samples() else { return };
    for (promise, request) in MARKETPLACE {
        let ws = workspace(&s, &[promise], &[request]);
        let p = plan(ws.path());
        let problems: Vec<String> = blocking(&p)
            .into_iter()
            .filter(|m| !m.contains("requires Promise"))
            .collect();
        assert!(problems.is_empty(), "{promise}: {problems:#?}");
        let created =
            p["summary"]["create"].as_u64().unwrap() + p["summary"]["blocked"].as_u64().unwrap();
        assert!(
            created >= 1,
            "{promise}: its request is planned: {}",
            p["summary"]
        );
        // Container steps are listed, never pretended (for requests that get as far as the
        // workflow: a missing required Promise stops them before).
        if p["summary"]["blocked"] == 0 {
            assert!(
                !p["externalSteps"].as_array().unwrap().is_empty(),
                "{promise}"
            );
        }
    }
}

#[test]
fn dependency_only_promise_and_non_structural_keys() {
    let Some(s) = samples() else { return };
    let ws = workspace(
        &s,
        &[
            "marketplace/cert-manager/promise.yaml",
            "marketplace/app-as-a-service/promise.yaml",
        ],
        &[],
    );
    let p = plan(ws.path());
    assert!(blocking(&p).is_empty(), "{:#?}", blocking(&p));
    let notes: Vec<&str> = p["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "V101")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(notes.iter().any(|n| n.contains("`regex`")), "{notes:?}");
    assert!(notes.iter().any(|n| n.contains("`example`")), "{notes:?}");
}

/// Writes a request for a sample Promise with this spec and returns the plan's findings.
fn findings_for(s: &Path, promise: &str, api: &str, kind: &str, spec: &str) -> Vec<Value> {
    let ws = workspace(s, &[promise], &[]);
    write(
        ws.path(),
        "requests/r.yaml",
        &format!("apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: t\nspec: {spec}\n"),
    );
    plan(ws.path())["findings"].as_array().unwrap().clone()
}

#[test]
fn the_listed_negative_cases_are_rejected_with_the_field_path() {
    let Some(s) = samples() else { return };
    let cases = [
        (
            "marketplace/redis/promise.yaml",
            "marketplace.kratix.io/v1alpha1",
            "redis",
            "{size: medium}",
            "spec.size",
            "pattern",
        ),
        (
            "marketplace/runtime/promise.yaml",
            "marketplace.kratix.io/v1alpha1",
            "Runtime",
            "{lifecycle: dev}",
            "spec.image",
            "required",
        ),
        (
            "marketplace/runtime/promise.yaml",
            "marketplace.kratix.io/v1alpha1",
            "Runtime",
            "{image: x, lifecycle: qa}",
            "spec.lifecycle",
            "enum",
        ),
        (
            "marketplace/app-as-a-service/promise.yaml",
            "marketplace.kratix.io/v1",
            "app",
            "{image: x, name: y, service: {port: abc}}",
            "spec.service.port",
            "integer",
        ),
        (
            "marketplace/ai/promise.yaml",
            "marketplace.kratix.io/v1alpha1",
            "ai",
            "{models: [llama]}",
            "spec.models[0]",
            "enum",
        ),
        (
            "marketplace/sql-aws/promise.yaml",
            "aws.marketplace.kratix.io/v1alpha1",
            "RDS",
            "{engine: oracle}",
            "spec.engine",
            "enum",
        ),
    ];
    for (promise, api, kind, spec, field, rule) in cases {
        let fs = findings_for(&s, promise, api, kind, spec);
        let hit = fs
            .iter()
            .find(|f| f["code"] == "V100" && f["field"] == field);
        let Some(hit) = hit else {
            panic!("{promise} {spec}: no schema violation at {field}: {fs:#?}");
        };
        assert!(hit["message"].as_str().unwrap().contains(rule), "{hit}");
    }
}

#[test]
fn the_listed_defaulting_cases_fill_in() {
    let Some(s) = samples() else { return };
    let cases = [
        (
            "marketplace/redis/promise.yaml",
            "marketplace.kratix.io/v1alpha1",
            "redis",
            "{}",
            vec![("size", "\"small\"")],
        ),
        (
            "marketplace/runtime/promise.yaml",
            "marketplace.kratix.io/v1alpha1",
            "Runtime",
            "{image: x}",
            vec![
                ("lifecycle", "\"dev\""),
                ("replicas", "1"),
                ("servicePort", "80"),
            ],
        ),
    ];
    for (promise, api, kind, spec, expected) in cases {
        let ws = workspace(&s, &[promise], &[]);
        write(
            ws.path(),
            "requests/r.yaml",
            &format!("apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: t\nspec: {spec}\n"),
        );
        let (code, out, err) = vow(&["-C", ws.path().to_str().unwrap(), "render", "t"]);
        assert!(code == 0 || code == 1, "{err}");
        for (k, v) in expected {
            let line = format!("  {k}: {}", v.trim_matches('"'));
            assert!(out.contains(&line), "{promise}: `{line}` not in\n{out}");
        }
    }
    // app-as-a-service without `service`: the nested object's default `{}` is filled, then its
    // own integer default inside it (Kubernetes defaults recursively). The Promise is blocked
    // for its missing requiredPromises, but the defaulted spec is still shown.
    let ws = workspace(&s, &["marketplace/app-as-a-service/promise.yaml"], &[]);
    write(
        ws.path(),
        "requests/r.yaml",
        "apiVersion: marketplace.kratix.io/v1\nkind: app\nmetadata:\n  name: t\nspec: {name: t, image: x}\n",
    );
    let (code, out, err) = vow(&["-C", ws.path().to_str().unwrap(), "render", "t"]);
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("  dbDriver: none\n"), "{out}");
    assert!(out.contains("  service:\n    port: 8080\n"), "{out}");
    {}
}

#[test]
fn required_promises_missing_or_at_another_version_block_requests() {
    let Some(s) = samples() else { return };
    let ws = workspace(
        &s,
        &["marketplace/namespace-claim/promise.yaml"],
        &["marketplace/namespace-claim/resource-request.yaml"],
    );
    let p = plan(ws.path());
    assert!(
        blocking(&p)
            .iter()
            .any(|m| m.contains("requires Promise namespace, which is not loaded")),
        "{:#?}",
        blocking(&p)
    );
    let ws = workspace(
        &s,
        &[
            "marketplace/namespace-claim/promise.yaml",
            "marketplace/namespace/promise.yaml",
        ],
        &["marketplace/namespace-claim/resource-request.yaml"],
    );
    let p = plan(ws.path());
    assert!(
        blocking(&p).is_empty(),
        "namespace v1.0.0 is what namespace-claim requires: {:#?}",
        blocking(&p)
    );
    let other = std::fs::read_to_string(s.join("marketplace/namespace/promise.yaml"))
        .unwrap()
        .replace("v1.0.0", "v2.0.0");
    write(ws.path(), "promises/p1.yaml", &other);
    let p = plan(ws.path());
    assert!(blocking(&p).iter().any(|m| m.contains("requires Promise namespace at v1.0.0, but namespace is at v2.0.0")), "{:#?}", blocking(&p));
}

#[test]
fn promise_version_pairs_plan_an_upgrade() {
    let Some(s) = samples() else { return };
    // Apply the old version, then plan with the new one.
    let ws = workspace(
        &s,
        &["kratix-core/test_system_assets_promise-revision_promise.yaml"],
        &["kratix-core/test_system_assets_promise-revision_resource-request-3.yaml"],
    );
    write(ws.path(), "vow.yaml", "store: {folder: state}\n");
    let (code, _, err) = vow(&[
        "-C",
        ws.path().to_str().unwrap(),
        "plan",
        "--out",
        ws.path().join("p.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = vow(&[
        "-C",
        ws.path().to_str().unwrap(),
        "apply",
        ws.path().join("p.json").to_str().unwrap(),
        "--gate-cmd",
        "true",
        "--now",
        "2026-12-01",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    std::fs::copy(
        s.join("kratix-core/test_system_assets_promise-revision_promise-new-version.yaml"),
        ws.path().join("promises/p0.yaml"),
    )
    .unwrap();
    let p = plan(ws.path());
    let changes = p["changes"].as_array().unwrap();
    assert!(
        changes.iter().any(|c| c["action"] == "update"
            && c["from"] == "v0.1.0-BETA"
            && c["to"] == "v0.2.0-NEXTVERSION"),
        "{changes:#?}"
    );
}

#[test]
fn the_store_layout_matches_kratix() {
    let Some(s) = samples() else { return };
    let ws = workspace(
        &s,
        &["kratix-core/test_system_assets_promise-revision_promise.yaml"],
        &["kratix-core/test_system_assets_promise-revision_resource-request-3.yaml"],
    );
    // The container step ported to a Rhai step (docs/kratix.md), so that vow renders the files.
    let promise = std::fs::read_to_string(ws.path().join("promises/p0.yaml")).unwrap();
    let promise = promise.replacen(
        "          spec:\n            containers:",
        "          spec:\n            rhai:\n              - name: gen-configmap\n                script: |\n                  output(\"configmap.yaml\", #{ apiVersion: \"v1\", kind: \"ConfigMap\", metadata: #{ name: `before-upgrade-${spec.configMapName}`, namespace: \"default\" }, data: #{ key: \"value\" } });\n            containers:",
        1,
    );
    assert!(promise.contains("rhai:"));
    write(ws.path(), "promises/p0.yaml", &promise);
    let p = plan(ws.path());
    let files: Vec<&str> = p["changes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| {
            c["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["path"].as_str().unwrap())
        })
        .collect();
    assert!(files.contains(&"worker-1/resources/default/upgrade/upgrade-rr-three/resource-configure/5058f/configmap.yaml"), "{files:?}");
}

/// Applies the old version of the kratix-core `upgrade` Promise, then brings in the new one.
fn applied_then_upgraded(
    s: &Path,
    extra_requests: &[&str],
    config: &str,
) -> (tempfile::TempDir, Value) {
    let mut requests =
        vec!["kratix-core/test_system_assets_promise-revision_resource-request-3.yaml"];
    requests.extend_from_slice(extra_requests);
    let ws = workspace(
        s,
        &["kratix-core/test_system_assets_promise-revision_promise.yaml"],
        &requests,
    );
    write(ws.path(), "vow.yaml", config);
    let plan_file = ws.path().join("p.json");
    let (code, _, err) = vow(&[
        "-C",
        ws.path().to_str().unwrap(),
        "plan",
        "--out",
        plan_file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = vow(&[
        "-C",
        ws.path().to_str().unwrap(),
        "apply",
        plan_file.to_str().unwrap(),
        "--gate-cmd",
        "true",
        "--now",
        "2026-12-01",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    std::fs::copy(
        s.join("kratix-core/test_system_assets_promise-revision_promise-new-version.yaml"),
        ws.path().join("promises/p0.yaml"),
    )
    .unwrap();
    let p = plan(ws.path());
    (ws, p)
}

#[test]
fn a_resource_binding_pins_its_request() {
    let Some(s) = samples() else { return };
    let (_ws, p) = applied_then_upgraded(
        &s,
        &["kratix-core/test_system_assets_promise-revision_resource-binding-3.yaml"],
        "store: {folder: state}\n",
    );
    let pinned: Vec<&str> = p["pinned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["ref"].as_str().unwrap())
        .collect();
    assert_eq!(pinned, ["upgrade:default/upgrade-rr-three"], "{p:#}");
    assert_eq!(p["pinned"][0]["version"], "v0.1.0-BETA");
    assert!(
        p["changes"].as_array().unwrap().is_empty(),
        "pinned to what is applied: nothing changes"
    );
}

#[test]
fn the_pinned_version_strategy_keeps_new_instances_where_they_started() {
    let Some(s) = samples() else { return };
    let (ws, p) = applied_then_upgraded(
        &s,
        &[],
        "store: {folder: state}\nresourceBindingVersionStrategy: pinned\n",
    );
    let binding = std::fs::read_to_string(
        ws.path()
            .join("state/.vow/bindings/upgrade/default/upgrade-rr-three.yaml"),
    )
    .unwrap();
    assert!(binding.contains("version: v0.1.0-BETA"), "{binding}");
    assert_eq!(p["summary"]["pinned"], 1);
    assert!(p["changes"].as_array().unwrap().is_empty());
    // Floating (the default): the same instance is upgraded.
    let (_ws, p) = applied_then_upgraded(&s, &[], "store: {folder: state}\n");
    assert_eq!(p["summary"]["update"], 1);
}

#[test]
fn destinations_strict_labels_and_filepath_modes() {
    let Some(s) = samples() else { return };
    let ws = workspace(&s, &["marketplace/redis/promise.yaml"], &[]);
    // The sample worker and the aggregatedYAML destination load without a finding.
    let dests = format!(
        "{}\n---\n{}",
        std::fs::read_to_string(s.join("kratix-core/config_samples_platform_v1alpha1_worker.yaml"))
            .unwrap(),
        std::fs::read_to_string(
            s.join("kratix-core/test_system_assets_destination_destination-aggregated-yaml.yaml")
        )
        .unwrap()
    );
    write(ws.path(), "destinations.yaml", &dests);
    let p = plan(ws.path());
    let fs = p["findings"].as_array().unwrap();
    assert!(
        !fs.iter()
            .any(|f| f["message"].as_str().unwrap().contains("Destination")),
        "{fs:#?}"
    );
    // filepath.mode none: the files at the destination's path as they are named.
    let ws = revision_workspace_with_a_rhai_step(&s);
    write(ws.path(), "destinations.yaml", "apiVersion: platform.kratix.io/v1alpha1\nkind: Destination\nmetadata: {name: flat}\nspec:\n  path: flat\n  filepath: {mode: none}\n---\napiVersion: platform.kratix.io/v1alpha1\nkind: Destination\nmetadata: {name: strict, labels: {}}\nspec:\n  path: strict\n  strictMatchLabels: true\n");
    let p = plan(ws.path());
    let files: Vec<&str> = p["changes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| {
            c["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["path"].as_str().unwrap())
        })
        .collect();
    // The Promise has no destinationSelectors: the strict destination takes nothing.
    assert_eq!(files, ["flat/cm.yaml"]);
}

#[test]
fn a_promise_release_is_read_as_a_record() {
    let Some(s) = samples() else { return };
    let ws = workspace(
        &s,
        &[
            "marketplace/redis/promise.yaml",
            "marketplace/redis/promise-release.yaml",
        ],
        &[],
    );
    let p = plan(ws.path());
    assert!(blocking(&p).is_empty());
    assert!(p["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["message"].as_str().unwrap().contains("PromiseRelease")));
}

/// Plans the workspace into a plan file and applies every wave of it.
fn plan_and_apply(ws: &Path) {
    let plan_file = ws.join("p.json");
    let dir = ws.to_str().unwrap();
    let (code, _, err) = vow(&["-C", dir, "plan", "--out", plan_file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = vow(&[
        "-C",
        dir,
        "apply",
        plan_file.to_str().unwrap(),
        "--gate-cmd",
        "true",
        "--wait",
        "--now",
        "2026-12-01",
    ]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn an_aggregated_yaml_destination_holds_one_file_with_every_document() {
    let Some(s) = samples() else { return };
    let ws = revision_workspace_with_a_rhai_step(&s);
    let other = std::fs::read_to_string(ws.path().join("requests/r0.yaml"))
        .unwrap()
        .replace("upgrade-rr-three", "upgrade-rr-four")
        .replace("cherry", "damson");
    write(ws.path(), "requests/r1.yaml", &other);
    let dest = std::fs::read_to_string(
        s.join("kratix-core/test_system_assets_destination_destination-aggregated-yaml.yaml"),
    )
    .unwrap();
    write(ws.path(), "destinations.yaml", &dest);
    write(ws.path(), "vow.yaml", "store: {folder: state}\n");
    let p = plan(ws.path());
    assert!(blocking(&p).is_empty(), "{p:#}");
    assert!(
        !p["findings"].to_string().contains("aggregatedYAML"),
        "aggregatedYAML is written, not reported: {p:#}"
    );
    plan_and_apply(ws.path());
    let state = ws.path().join("state");
    let catalog = std::fs::read_to_string(state.join("aggregated-yaml/catalog.yaml")).unwrap();
    // Kratix's concatenation: the documents joined by `\n---\n`, in a stable order.
    let docs: Vec<&str> = catalog.split("\n---\n").collect();
    assert_eq!(docs.len(), 2, "{catalog}");
    assert!(
        docs[0].contains("name: damson") && docs[1].contains("name: cherry"),
        "{catalog}"
    );
    // Nothing else at the destination's path: the per-instance parts are vow's own records.
    let at_dest: Vec<_> = std::fs::read_dir(state.join("aggregated-yaml"))
        .unwrap()
        .collect();
    assert_eq!(at_dest.len(), 1);
    assert!(state
        .join(".vow/aggregated/aggregated-yaml/resources/default/upgrade/upgrade-rr-three/resource-configure/5058f/cm.yaml")
        .is_file());
    // A second plan has nothing to do.
    assert!(plan(ws.path())["changes"].as_array().unwrap().is_empty());
    // One request gone: its document leaves the file; all gone: the file goes.
    std::fs::remove_file(ws.path().join("requests/r1.yaml")).unwrap();
    plan_and_apply(ws.path());
    let catalog = std::fs::read_to_string(state.join("aggregated-yaml/catalog.yaml")).unwrap();
    assert!(
        !catalog.contains("---") && catalog.contains("name: cherry"),
        "{catalog}"
    );
    std::fs::remove_file(ws.path().join("requests/r0.yaml")).unwrap();
    plan_and_apply(ws.path());
    assert!(!state.join("aggregated-yaml/catalog.yaml").exists());
}

/// Adds a Rhai step before the first pipeline's container steps, so that vow renders a file.
fn with_rhai_step(promise: &str, script: &str) -> String {
    let out = promise.replacen(
        "          spec:\n            containers:",
        &format!("          spec:\n            rhai:\n              - name: gen\n                script: |\n                  {script}\n            containers:"),
        1,
    );
    assert!(out.contains("rhai:"));
    out
}

fn changed_files(p: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = p["changes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["files"].as_array().unwrap().iter())
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["change"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn the_promise_with_workflow_update_pair_moves_and_upgrades_its_request() {
    let Some(s) = samples() else { return };
    let script = r#"output("cm.yaml", #{ apiVersion: "v1", kind: "ConfigMap", metadata: #{ name: request.metadata.name }, data: #{ size: spec.size } });"#;
    let v1 = "kratix-core/internal_controller_assets_promise-with-workflow.yaml";
    let v2 = "kratix-core/internal_controller_assets_promise-with-workflow-updated.yaml";
    let ws = workspace(&s, &[v1], &["marketplace/redis/resource-request.yaml"]);
    let dir = ws.path();
    let promise = |f: &str| with_rhai_step(&std::fs::read_to_string(s.join(f)).unwrap(), script);
    write(dir, "promises/p0.yaml", &promise(v1));
    write(dir, "destinations.yaml", "apiVersion: platform.kratix.io/v1alpha1\nkind: Destination\nmetadata: {name: dev, labels: {environment: dev}}\nspec: {path: dev}\n---\napiVersion: platform.kratix.io/v1alpha1\nkind: Destination\nmetadata: {name: prod, labels: {environment: prod}}\nspec: {path: prod}\n");
    write(dir, "vow.yaml", "store: {folder: state}\n");
    let p = plan(dir);
    assert_eq!(
        changed_files(&p),
        [(
            "dev/resources/default/promise-with-workflow/example/first-pipeline/5058f/cm.yaml"
                .into(),
            "added".into()
        )]
    );
    plan_and_apply(dir);

    // The update stops serving v1alpha1: the request is blocked with the fix, and its instance
    // is held, not deleted, while its request does not load.
    write(dir, "promises/p0.yaml", &promise(v2));
    let p = plan(dir);
    let held = p["blocked"][0]["reasons"][0].as_str().unwrap();
    assert!(held.starts_with("not deleted"), "{p:#}");
    assert_eq!(p["summary"]["delete"], 0);
    let f = p["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "V008")
        .unwrap();
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("serves marketplace.kratix.io/v1alpha2"),
        "{f}"
    );
    assert!(f["help"].as_str().unwrap().contains("v1alpha2"), "{f}");

    // Moved to v1alpha2, the request is upgraded: renamed pipeline, new destination selectors.
    let request = std::fs::read_to_string(dir.join("requests/r0.yaml"))
        .unwrap()
        .replace("v1alpha1", "v1alpha2");
    write(dir, "requests/r0.yaml", &request);
    let p = plan(dir);
    assert!(blocking(&p).is_empty(), "{p:#}");
    assert_eq!(p["summary"]["update"], 1, "{p:#}");
    assert_eq!(p["changes"][0]["from"], "v1.1.0");
    assert_eq!(
        changed_files(&p),
        [
            (
                "dev/resources/default/promise-with-workflow/example/first-pipeline/5058f/cm.yaml"
                    .into(),
                "removed".into()
            ),
            (
                "prod/resources/default/promise-with-workflow/example/instance-configure/5058f/cm.yaml"
                    .into(),
                "added".into()
            ),
        ]
    );
    plan_and_apply(dir);
    assert!(plan(dir)["changes"].as_array().unwrap().is_empty());
}

#[test]
fn paused_promises_and_requests_are_left_alone() {
    let Some(s) = samples() else { return };
    let promise = "kratix-core/test_system_assets_reconciliation_pause-promise.yaml";
    let ws = workspace(&s, &[promise], &[]);
    let dir = ws.path();
    write(dir, "destinations.yaml", "apiVersion: platform.kratix.io/v1alpha1\nkind: Destination\nmetadata: {name: dev, labels: {environment: dev}}\nspec: {path: dev}\n");
    write(dir, "requests/r.yaml", "apiVersion: test.kratix.io/v1alpha1\nkind: PausedTest\nmetadata: {name: running}\nspec: {name: a}\n---\napiVersion: test.kratix.io/v1alpha1\nkind: PausedTest\nmetadata:\n  name: held\n  labels: {kratix.io/paused: \"true\"}\nspec: {name: b}\n");
    let p = plan(dir);
    assert!(blocking(&p).is_empty(), "{p:#}");
    assert_eq!(p["paused"], serde_json::json!(["pausedtest:default/held"]));
    assert_eq!(p["summary"]["create"], 1);
    // The Promise's container steps are listed, never run.
    let steps = p["externalSteps"][0]["steps"].to_string();
    assert!(
        steps.contains("promise.configure promise/do-commands"),
        "{steps}"
    );
    assert!(
        steps.contains("resource.configure resource/do-commands"),
        "{steps}"
    );
    // A paused Promise pauses every request of it.
    let text = std::fs::read_to_string(s.join(promise)).unwrap().replacen(
        "  name: pausedtest\n",
        "  name: pausedtest\n  labels: {kratix.io/paused: \"true\"}\n",
        1,
    );
    write(dir, "promises/p0.yaml", &text);
    let p = plan(dir);
    assert_eq!(p["summary"]["paused"], 2, "{p:#}");
    assert_eq!(p["summary"]["create"], 0);
}

#[test]
fn workflow_control_pipelines_are_listed_in_order_as_external() {
    let Some(s) = samples() else { return };
    let ws = workspace(
        &s,
        &["kratix-core/test_system_assets_workflow-control_promise.yaml"],
        &[],
    );
    write(ws.path(), "requests/r.yaml", "apiVersion: test.kratix.io/v1alpha1\nkind: WorkflowSuspend\nmetadata: {name: one}\nspec: {data: x}\n");
    let p = plan(ws.path());
    assert!(blocking(&p).is_empty(), "{p:#}");
    assert_eq!(p["summary"]["create"], 1);
    let steps: Vec<&str> = p["externalSteps"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().split(" (").next().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "promise.configure pipe-0/complete",
            "promise.configure pipe-1/suspend",
            "promise.configure pipe-2/complete",
            "promise.delete promise-delete-pipe/suspend-if-configmap-exists",
            "resource.configure resource-pipe-0/suspend-unless-configmap-exists",
            "resource.delete resource-delete-pipe/suspend-if-configmap-exists",
        ]
    );
    let (_, human, _) = vow(&["-C", ws.path().to_str().unwrap(), "plan"]);
    assert!(
        human.contains("container steps vow does not run"),
        "{human}"
    );
}

#[test]
fn the_kratix_config_map_sets_the_binding_strategy() {
    let Some(s) = samples() else { return };
    let cfg = |f: &str| {
        format!(
            "store: {{folder: state}}\nkratixConfig: {}\n",
            s.join("kratix-core").join(f).display()
        )
    };
    let (_ws, p) = applied_then_upgraded(
        &s,
        &[],
        &cfg("test_system_assets_resource-binding-default-version_kratix-config-pinned.yaml"),
    );
    assert_eq!(p["summary"]["pinned"], 1, "{p:#}");
    assert!(p["changes"].as_array().unwrap().is_empty());
    // The sample platform config sets no strategy: floating, the instance is upgraded.
    let (_ws, p) = applied_then_upgraded(&s, &[], &cfg("config_samples_kratix-config.yaml"));
    assert_eq!(p["summary"]["update"], 1, "{p:#}");
    // vow.yaml's own key wins over the ConfigMap's.
    let (_ws, p) = applied_then_upgraded(
        &s,
        &[],
        &format!(
            "{}resourceBindingVersionStrategy: floating\n",
            cfg("test_system_assets_resource-binding-default-version_kratix-config-pinned.yaml")
        ),
    );
    assert_eq!(p["summary"]["update"], 1, "{p:#}");
    // Anything but a ConfigMap is refused, naming the file.
    let ws = workspace(&s, &[], &[]);
    write(
        ws.path(),
        "vow.yaml",
        &cfg("config_samples_platform_v1alpha1_worker.yaml"),
    );
    let (code, _, err) = vow(&["-C", ws.path().to_str().unwrap(), "plan"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("config_samples_platform_v1alpha1_worker.yaml")
            && err.contains("not a ConfigMap"),
        "{err}"
    );
}

/// kratix-core's promise-revision Promise and its third request, with a Rhai step before its
/// container that renders a ConfigMap (container steps render nothing in vow).
fn revision_workspace_with_a_rhai_step(s: &Path) -> tempfile::TempDir {
    let ws = workspace(
        s,
        &["kratix-core/test_system_assets_promise-revision_promise.yaml"],
        &["kratix-core/test_system_assets_promise-revision_resource-request-3.yaml"],
    );
    let promise = std::fs::read_to_string(ws.path().join("promises/p0.yaml")).unwrap().replacen(
        "          spec:\n            containers:",
        "          spec:\n            rhai:\n              - name: gen\n                script: |\n                  output(\"cm.yaml\", #{ apiVersion: \"v1\", kind: \"ConfigMap\", metadata: #{ name: spec.configMapName } });\n            containers:",
        1,
    );
    write(ws.path(), "promises/p0.yaml", &promise);
    ws
}
