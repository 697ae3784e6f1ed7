//! Snapshot tests of plans for rollout strategy cases: each case is a small platform (one or two
//! Promises, twelve requests across environments and regions) with one strategy, planned at a
//! fixed `--now`. The snapshots are the specification of the planner's output.

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

fn fleet_yaml(kind: &str, group: &str, extra_labels: &dyn Fn(usize) -> String) -> String {
    let envs = ["dev", "staging", "prod"];
    let regions = ["eu", "us", "ap", "eu"];
    (0..12)
        .map(|i| {
            format!(
                "---\napiVersion: {group}/v1\nkind: {kind}\nmetadata:\n  name: r{i:02}\n  namespace: team-{}\n  labels: {{env: {}, region: {}{}}}\nspec:\n  size: {}\n",
                i % 3,
                envs[i % 3],
                regions[i % 4],
                extra_labels(i),
                i + 1
            )
        })
        .collect()
}

/// A workspace with the `db` Promise and the given rollout (YAML under `spec.rollout`).
fn case(rollout: &str) -> tempfile::TempDir {
    let ws = scratch_workspace();
    let promise = format!("{PROMISE}  rollout:\n{}", indent(rollout, 4));
    write(ws.path(), "promises/db/promise.yaml", &promise);
    write(
        ws.path(),
        "requests/fleet.yaml",
        &fleet_yaml("DB", "example.com", &|_| String::new()),
    );
    ws
}

fn indent(s: &str, n: usize) -> String {
    s.lines()
        .map(|l| format!("{}{l}\n", " ".repeat(n)))
        .collect()
}

fn plan(ws: &tempfile::TempDir) -> String {
    // The cases are about placement; exit codes are tests/cli.rs's.
    let (code, out, err) = vow(&[
        "-C",
        ws.path().to_str().unwrap(),
        "plan",
        "--now",
        NOW,
        "--fail-on",
        "never",
    ]);
    assert_eq!(code, 0, "{err}");
    // The plan id is a digest of inputs that include the scratch path's contents: keep the
    // snapshot about placement.
    out.lines()
        .filter(|l| !l.starts_with("plan sha256:"))
        .collect::<Vec<_>>()
        .join("\n")
}

const WAVES: &str = "waves:\n  - {name: dev, selector: {matchLabels: {env: dev}}}\n  - {name: staging, selector: {matchLabels: {env: staging}}, bake: 1h}\n  - {name: prod, selector: {matchLabels: {env: prod}}, bake: 4h}\n";

#[test]
fn count_canary() {
    let ws = case(&format!(
        "canary: {{count: 3, bake: 30m}}\n{WAVES}failureBudget: 1\n"
    ));
    insta::assert_snapshot!(plan(&ws));
}

#[test]
fn percent_canary() {
    let ws = case(&format!("canary: {{percent: 25}}\n{WAVES}"));
    let out = plan(&ws);
    assert!(
        out.contains("Wave 0 · canary · 3 instances"),
        "25% of 12 is 3: {out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn spread_over_region() {
    let ws = case(&format!("canary: {{count: 3, spread: [region]}}\n{WAVES}"));
    let out = plan(&ws);
    for r in ["region=eu", "region=us", "region=ap"] {
        assert!(
            out.contains(&format!("canary ({r})")),
            "one canary per region: {out}"
        );
    }
    insta::assert_snapshot!(out);
}

#[test]
fn percentage_batches_round_down() {
    // 12 instances, maxSize 30% = 3.6, rounded down to 3: four batches of 3.
    let ws = case("waves:\n  - {name: all, maxSize: 30%, bake: 2h, failureBudget: 50%}\n");
    let out = plan(&ws);
    assert_eq!(out.matches("instances · bake 2h").count(), 4, "{out}");
    assert!(out.contains("(batch 4/4) · 3 instances"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn catch_all_wave() {
    let ws = case("waves:\n  - {name: dev, selector: {matchLabels: {env: dev}}}\n  - {name: everything-else}\n");
    insta::assert_snapshot!(plan(&ws));
}

#[test]
fn missing_catch_all_is_an_error_listing_the_instances() {
    let ws = case("waves:\n  - {name: dev, selector: {matchLabels: {env: dev}}}\n");
    let out = plan(&ws);
    assert!(out.contains("Blocked (8)"), "{out}");
    assert!(out.contains("[V301]"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn pinned_and_paused() {
    let ws = case(WAVES);
    let fleet = fleet_yaml("DB", "example.com", &|i| match i {
        1 => ", vow.dev/version: v1.0.0".into(),
        2 => "}\n  annotations: {kratix.io/paused: \"true\"".into(),
        _ => String::new(),
    });
    write(ws.path(), "requests/fleet.yaml", &fleet);
    let out = plan(&ws);
    assert!(
        out.contains("Pinned (1)") && out.contains("Paused (1)"),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn two_promises_at_once() {
    let ws = case(&format!("canary: {{count: 1}}\n{WAVES}"));
    let cache = PROMISE
        .replace("name: db\n", "name: cache\n")
        .replace("dbs.example.com", "caches.example.com")
        .replace(
            "{kind: DB, plural: dbs, singular: db}",
            "{kind: Cache, plural: caches, singular: cache}",
        );
    let cache = format!(
        "{cache}  rollout:\n    waves:\n      - {{name: dev, selector: {{matchLabels: {{env: dev}}}}, bake: 15m}}\n      - {{name: canary-region, selector: {{matchLabels: {{region: eu}}}}}}\n      - {{name: prod, selector: {{matchLabels: {{env: prod}}}}, bake: 8h}}\n      - {{name: rest}}\n"
    );
    write(ws.path(), "promises/cache/promise.yaml", &cache);
    write(ws.path(), "promises/cache/render.rhai", RENDER);
    write(
        ws.path(),
        "requests/caches.yaml",
        &fleet_yaml("Cache", "example.com", &|_| String::new()),
    );
    let out = plan(&ws);
    // Every instance of both Promises in exactly one wave.
    let lines = out.lines().filter(|l| l.starts_with("  + ")).count();
    assert_eq!(lines, 24, "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn freeze_and_maintenance_window() {
    let ws = case(WAVES);
    write(
        ws.path(),
        "vow.yaml",
        "windows:\n  - {name: prod-hours, selector: {matchLabels: {env: prod}}, days: [Mon, Tue, Wed, Thu], hours: \"10:00-16:00\", timeZone: America/New_York}\nfreezes:\n  - {name: launch, from: \"2026-12-01T09:30:00Z\", to: \"2026-12-01T12:00:00Z\"}\n",
    );
    let out = plan(&ws);
    assert!(
        out.contains("waits for: freeze launch until 2026-12-01T12:00:00Z; window prod-hours"),
        "{out}"
    );
    // 10:00 in New York is 15:00 UTC in December.
    assert!(out.contains("Wave 2 · prod · 4 instances · bake 4h · failure budget 0 · not before 2026-12-01T15:00:00Z"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn a_bad_window_is_a_config_error() {
    let ws = case(WAVES);
    write(
        ws.path(),
        "vow.yaml",
        "windows:\n  - {name: w, hours: \"9-5\"}\n",
    );
    let (code, _, err) = vow(&["-C", ws.path().to_str().unwrap(), "plan"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("hours `9-5` must look like 09:00-17:00"),
        "{err}"
    );
}

#[test]
fn diff_and_markdown() {
    let (code, out, _) = vow_example(&["plan", "--diff", "--now", NOW]);
    assert_eq!(code, 1, "the example blocks requests");
    assert!(
        out.contains("-    platform.example.com/revision: postgresql-v1.3.0"),
        "the unified diff of a changed document"
    );
    assert!(out.contains("+    platform.example.com/promise-version: v1.4.0"));
    let (code, md, _) = vow_example(&["plan", "--format", "markdown", "--now", NOW]);
    assert_eq!(code, 1);
    assert!(md.starts_with("## vow plan\n"));
    assert!(md.contains("<details><summary>Wave 1 · canary"));
    assert!(md.contains("```diff"));
    assert!(md.contains("### Blocked (14)"));
    insta::assert_snapshot!(
        "example_plan_markdown_head",
        md.lines().take(40).collect::<Vec<_>>().join("\n")
    );
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
