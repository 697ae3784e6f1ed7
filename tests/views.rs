//! The people's views of a plan: the markdown plan within its size budget (the example fleet,
//! a generated upgrade of 1,000 instances, a tiny budget), and `vow show` of a saved plan
//! (the same bytes as `vow plan`, an edited file refused, a stale plan said so).

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
use vow::plan::*;

const NOW: &str = "2026-12-01T09:00:00Z";

/// Every wave (in the wave table) and every blocked instance's name is in `md`.
fn lists_every_wave_and_blocked(md: &str, plan: &Plan) {
    for w in &plan.waves {
        let row = format!("| {} | {}", w.index, w.name);
        assert!(md.contains(&row), "wave {} is missing:\n{md}", w.index);
    }
    for b in &plan.blocked {
        let name = format!("| `{}` |", b.instance);
        assert!(md.contains(&name), "blocked {} is missing", b.instance);
    }
}

/// The example's plan, as JSON (parsed) and as markdown with `extra` arguments.
fn example_plan(extra: &[&str]) -> (Plan, String) {
    let (_, json, err) = vow_example(&["plan", "--now", NOW, "--format", "json"]);
    let plan: Plan = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {err}"));
    let mut args = vec!["plan", "--now", NOW, "--format", "markdown"];
    args.extend_from_slice(extra);
    let (code, md, err) = vow_example(&args);
    assert_eq!(code, 1, "the example blocks requests: {err}");
    (plan, md)
}

#[test]
fn the_example_markdown_plan_fits_a_pull_request_comment() {
    let (plan, md) = example_plan(&[]);
    assert!(md.len() <= 60_000, "{} bytes", md.len());
    assert!(!plan.blocked.is_empty() && plan.waves.len() > 3);
    lists_every_wave_and_blocked(&md, &plan);
    assert!(md.contains("```diff"), "the smallest diffs fit");
    assert!(md.contains("left out to stay under 60,000 bytes"), "{md}");
    // The updates grouped by what they change.
    assert!(md.contains("\n### What changes ("), "{md}");
    assert!(
        md.contains("| 19 | bucket v1.0.0 → v1.1.0 | 3 files: metadata.labels"),
        "{md}"
    );
}

#[test]
fn each_update_has_a_bounded_change_summary_in_the_plan_file() {
    let (plan, _) = example_plan(&[]);
    let updates: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Update)
        .collect();
    let summarized = updates.iter().filter(|c| c.summary.is_some()).count();
    // The dependencies' and one redis update change no file (the version only).
    assert!(
        summarized + 2 >= updates.len(),
        "{summarized} of {}",
        updates.len()
    );
    for c in &plan.changes {
        if let Some(s) = &c.summary {
            assert!(
                s.chars().count() <= vow::evaluate::summary::MAX_CHARS,
                "{s}"
            );
        }
        if c.action != Action::Update {
            assert!(c.summary.is_none(), "{}", c.id);
        }
    }
}

#[test]
fn a_tiny_budget_still_names_every_wave_and_blocked_instance() {
    for budget in ["1", "3000"] {
        let (plan, md) = example_plan(&["--max-bytes", budget]);
        lists_every_wave_and_blocked(&md, &plan);
        assert!(md.contains("Lists shortened"), "{budget}: {md}");
        assert!(!md.contains("```diff"), "{budget}: no diff fits");
    }
    // Room for the first instances of each wave.
    let (plan, md) = example_plan(&["--max-bytes", "8000"]);
    lists_every_wave_and_blocked(&md, &plan);
    assert!(md.len() <= 8_000, "{}", md.len());
    assert!(md.contains("more in this wave"), "{md}");
}

#[test]
fn the_markdown_plan_is_the_same_bytes_every_time() {
    let (_, a) = example_plan(&["-j", "1"]);
    let (_, b) = example_plan(&["-j", "4"]);
    assert_eq!(a, b);
}

fn instance(i: usize) -> WaveInstance {
    WaveInstance {
        instance: format!("postgresql:team-{}/db-{i:04}", i % 7)
            .parse()
            .unwrap(),
        action: Action::Update,
        from: Some("v1.3.0".into()),
        to: Some("v1.4.0".into()),
        reason: "Promise postgresql v1.3.0 → v1.4.0".into(),
        placement: format!("selector env=prod matched; rank {i} of the wave"),
        source: None,
        labels: Default::default(),
    }
}

/// An upgrade of 1,000 instances in 12 waves, 60 of them blocked with long findings, and a diff
/// of three files of every instance.
fn generated_upgrade() -> (Plan, Vec<FileDiff>) {
    let mut waves = Vec::new();
    let mut next = 0;
    for (index, size) in [1, 10, 100, 150, 150, 150, 150, 100, 100, 50, 30, 9]
        .into_iter()
        .enumerate()
    {
        let instances: Vec<WaveInstance> = (next..next + size).map(instance).collect();
        next += size;
        waves.push(Wave {
            index,
            name: format!("wave-{index}"),
            canary: index == 1,
            batch: None,
            size,
            bake: Some("1h".into()),
            failure_budget: 3,
            gate: true,
            not_before: Some(NOW.into()),
            waits_for: Vec::new(),
            instances,
        });
    }
    assert_eq!(next, 1000);
    let blocked = (0..60)
        .map(|i| Blocked {
            instance: format!("postgresql:team-x/blocked-{i:02}").parse().unwrap(),
            location: Some(vow::diag::Location::new("requests/x.yaml".into(), i + 1)),
            reasons: vec![
                format!(
                    "[postgres-cve-2026-4412] {}",
                    "postgres 15.7 is affected; ".repeat(12)
                ),
                "[V203] validate.rhai rejected the request: version 15.7 is not allowed".into(),
            ],
        })
        .collect();
    let diffs = (0..1000)
        .flat_map(|i| {
            ["statefulset.yaml", "service.yaml", "secret.yaml"].map(|f| FileDiff {
                instance: instance(i).instance.to_string(),
                path: format!("clusters/prod/db-{i:04}/{f}"),
                change: "changed",
                unified: format!("--- a\n+++ b\n@@ -1,3 +1,3 @@\n-  image: postgres:15.7\n+  image: postgres:15.8\n{}", " context\n".repeat(i % 9)),
            })
        })
        .collect();
    // Fifty kinds of change, twenty instances each.
    let changes = (0..1000)
        .map(|i| Change {
            id: instance(i).instance,
            action: Action::Update,
            from: Some("v1.3.0".into()),
            to: Some("v1.4.0".into()),
            reason: String::new(),
            summary: Some(format!(
                "statefulset.yaml: spec.replicas {} → {}; 2 files unchanged",
                i % 50,
                i % 50 + 1
            )),
            kind: None,
            digest: None,
            files: Vec::new(),
            labels: Default::default(),
            location: None,
        })
        .collect();
    let plan = Plan {
        schema_version: SCHEMA_VERSION,
        plan_id: "sha256:0".into(),
        kind: PlanKind::Apply,
        now: Some(NOW.into()),
        promise: None,
        inputs: Default::default(),
        summary: Summary {
            requests: 1060,
            update: 1000,
            blocked: 60,
            waves: 12,
            ..Summary::default()
        },
        counts: Counts::default(),
        waves,
        blocked,
        pinned: Vec::new(),
        paused: Vec::new(),
        held: Vec::new(),
        external_steps: Vec::new(),
        changes,
        findings: Vec::new(),
    };
    (plan, diffs)
}

#[test]
fn a_generated_upgrade_of_a_thousand_instances_fits_and_names_every_wave() {
    let (plan, diffs) = generated_upgrade();
    let render = vow::report::plan_markdown::render;
    let md = render(&plan, &diffs, vow::report::plan_markdown::DEFAULT_MAX_BYTES);
    assert!(md.len() <= 60_000, "{} bytes", md.len());
    lists_every_wave_and_blocked(&md, &plan);
    assert!(md.contains("more in this wave"), "the lists were shortened");
    assert!(md.contains("### What changes (50 kinds)"), "{md}");
    assert!(md.contains("| 20 | postgresql v1.3.0 → v1.4.0 | statefulset.yaml: spec.replicas 0 → 1; 2 files unchanged"));
    assert!(md.contains("of 1,000 instances left out"), "{md}");
    assert_eq!(md, render(&plan, &diffs, 60_000), "deterministic");
    // Without the diffs, the budget is spent on the lists.
    let lists = render(&plan, &[], 60_000);
    assert!(
        lists.len() <= 60_000 && lists.len() > 40_000,
        "{}",
        lists.len()
    );
    // A tiny budget: the names alone, over the budget rather than without a name.
    let tiny = render(&plan, &diffs, 100);
    lists_every_wave_and_blocked(&tiny, &plan);
    assert!(!tiny.contains("```diff"));
}

#[test]
fn diffs_that_fit_are_all_shown_smallest_first() {
    let (mut plan, diffs) = generated_upgrade();
    plan.blocked.clear();
    plan.waves.truncate(2);
    let few: Vec<FileDiff> = diffs.into_iter().take(4).rev().collect();
    let md = vow::report::plan_markdown::render(&plan, &few, 60_000);
    assert!(!md.contains("left out"), "{md}");
    let at = |p: &str| md.find(p).unwrap();
    // db-0001's statefulset has one more context line than db-0000's files.
    assert!(at("db-0000/secret.yaml") < at("db-0001/statefulset.yaml"));
}

/// `vow plan --out plan.json` in a copy of the example; the copy, the plan's path and stdout.
fn saved_plan(format: &str) -> (tempfile::TempDir, std::path::PathBuf, String) {
    let ws = example_copy();
    let path = ws.path().join("plan.json");
    let (code, out, err) = vow(&[
        "-C",
        ws.path().to_str().unwrap(),
        "plan",
        "--now",
        NOW,
        "--format",
        format,
        "--out",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "the example blocks requests: {err}");
    (ws, path, out)
}

#[test]
fn show_prints_a_saved_plan_as_plan_did_without_a_workspace() {
    let elsewhere = tempfile::tempdir().unwrap();
    for format in ["human", "json", "markdown"] {
        let (_ws, path, planned) = saved_plan(format);
        let (code, shown, err) = vow_in(
            elsewhere.path(),
            &["show", path.to_str().unwrap(), "--format", format],
        );
        assert_eq!(code, 0, "{err}");
        assert!(err.is_empty(), "no workspace, nothing said: {err}");
        if format == "markdown" {
            // The plan file keeps no file contents: the same plan, without the diffs.
            let lists = planned.split("\n### Diffs\n").next().unwrap();
            assert_eq!(shown, lists);
        } else if format == "human" {
            // Away from the workspace the findings' files are not there to quote: the same
            // plan and the same findings, without their source lines (docs/cli.md).
            let until_findings = |t: &str| t.split("\nFindings:").next().unwrap().to_string();
            assert_eq!(until_findings(&shown), until_findings(&planned));
            let headers = |t: &str| -> Vec<String> {
                t.lines()
                    .filter(|l| l.starts_with("error[") || l.starts_with("warning["))
                    .map(str::to_string)
                    .collect()
            };
            assert_eq!(headers(&shown), headers(&planned));
            assert!(!shown.contains("\n  |\n"), "{shown}");
        } else {
            assert_eq!(shown, planned, "{format}");
        }
    }
}

#[test]
fn show_refuses_an_edited_plan_file() {
    let (_ws, path, _) = saved_plan("json");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replacen("\"failureBudget\": 3", "\"failureBudget\": 30", 1);
    assert_ne!(text, edited);
    std::fs::write(&path, edited).unwrap();
    let (code, out, err) = vow(&["show", path.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(
        err.contains("plan.json: the plan was changed after it was made"),
        "{err}"
    );
}

#[test]
fn show_inside_the_workspace_says_whether_the_plan_is_stale() {
    let (ws, path, _) = saved_plan("json");
    let dir = ws.path().to_str().unwrap();
    let (code, _, err) = vow(&["-C", dir, "show", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(
            "is current: planning the workspace at --now 2026-12-01T09:00:00Z gives the same waves"
        ),
        "{err}"
    );
    // A team's requests removed: their instances are deleted now, in other waves.
    std::fs::remove_file(ws.path().join("fixtures/example/requests/ml.yaml")).unwrap();
    let (code, out, err) = vow(&["-C", dir, "show", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("vow plan: 70 requests"),
        "the saved plan: {out}"
    );
    assert!(
        err.contains("is stale: planning the workspace at --now"),
        "{err}"
    );
    assert!(
        err.contains("team-ml"),
        "the differences name the instances: {err}"
    );
}
