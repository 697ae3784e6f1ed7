//! `vow fleet` on the example fleet: one entry per instance (every request and every binding),
//! with every field, valid against schemas/fleet.json; the filters; the same instances in the
//! same order in every format; byte-identical output whatever the thread count.

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
use std::collections::BTreeSet;

const NOW: &str = "2026-12-01T09:30:00Z";

fn fleet(args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["fleet", "--now", NOW];
    all.extend_from_slice(args);
    vow_example(&all)
}

fn json(args: &[&str]) -> Value {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = fleet(&all);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

fn entry<'a>(inv: &'a Value, id: &str) -> &'a Value {
    inv["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["instance"] == id)
        .unwrap_or_else(|| panic!("no entry {id}"))
}

/// The instances the example has: its requests (by `vow check`'s listing is not needed: the
/// binding files and the request documents themselves) — here, every binding of the store.
fn bound_instances() -> BTreeSet<String> {
    let root = repo().join("fixtures/example/state/.vow/bindings");
    walkdir::WalkDir::new(&root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.file_name() != "dependencies.yaml")
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .to_string();
            let parts: Vec<&str> = rel.trim_end_matches(".yaml").split('/').collect();
            format!("{}:{}/{}", parts[0], parts[1], parts[2])
        })
        .collect()
}

#[test]
fn json_has_one_entry_per_instance_with_every_field_and_validates() {
    let inv = json(&[]);
    let entries = inv["instances"].as_array().unwrap();
    assert_eq!(inv["total"], entries.len());
    let ids: Vec<&str> = entries
        .iter()
        .map(|e| e["instance"].as_str().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(ids, sorted, "sorted by instance, no duplicates");
    let listed: BTreeSet<String> = ids.iter().map(|s| s.to_string()).collect();
    for b in bound_instances() {
        assert!(listed.contains(&b), "binding {b} missing from the fleet");
    }
    // Every always-present field on every entry.
    for e in entries {
        for k in [
            "instance",
            "promise",
            "namespace",
            "name",
            "apiVersion",
            "kind",
            "upToDate",
            "reasons",
            "destinations",
            "compliance",
            "labels",
        ] {
            assert!(e.get(k).is_some(), "{} lacks {k}", e["instance"]);
        }
    }
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("schemas/fleet.json")).unwrap())
            .unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = v
        .iter_errors(&inv)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn each_field_says_what_the_store_and_workspace_say() {
    let inv = json(&[]);
    // Applied at the old revision, held back by a critical CVE rule: blocked, with the reason.
    let e = entry(&inv, "postgresql:team-checkout/carts-db-prod-aps1");
    assert_eq!(e["appliedVersion"], "v1.3.0");
    assert_eq!(e["desiredVersion"], "v1.4.0");
    assert_eq!(e["upToDate"], false);
    assert!(e["reasons"].as_array().unwrap().contains(&"blocked".into()));
    assert!(
        e["blockedBy"]
            .to_string()
            .contains("postgres-cve-2026-4412"),
        "{e}"
    );
    assert_eq!(e["kind"], "PostgreSQL");
    assert_eq!(e["apiVersion"], "platform.example.com/v1alpha1");
    assert_eq!(e["team"], "checkout");
    assert_eq!(e["environment"], "prod");
    assert_eq!(e["destinations"], serde_json::json!(["prod-ap-south-1"]));
    assert_eq!(e["compliance"]["unwaived"]["critical"], 1);
    // The request's file and line: the line its document starts on.
    let file = e["request"]["file"].as_str().unwrap();
    let line = e["request"]["line"].as_u64().unwrap() as usize;
    let text = std::fs::read_to_string(repo().join(file)).unwrap();
    let doc: String = text
        .lines()
        .skip(line - 1)
        .take(5)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        doc.contains("name: carts-db-prod-aps1"),
        "{file}:{line}:\n{doc}"
    );
    // Pinned with vow.dev/version: desired is the pin, up to date, and says why.
    let p = entry(&inv, "postgresql:team-data/warehouse-meta-db-staging");
    assert_eq!(p["desiredVersion"], "v1.3.0");
    assert_eq!(p["upToDate"], true);
    assert_eq!(p["reasons"], serde_json::json!(["pinned"]));
    // A request the store has no binding for.
    let n = entry(&inv, "postgresql:team-ml/experiments-db-dev");
    assert!(n.get("appliedVersion").is_none());
    assert_eq!(n["reasons"], serde_json::json!(["not-applied"]));
    // A waived finding is counted apart from the unwaived ones.
    let w = entry(&inv, "postgresql:team-data/warehouse-meta-db-prod-euw1");
    assert_eq!(w["compliance"]["waived"], 1);
    assert_eq!(w["reasons"], serde_json::json!(["awaiting-rollout"]));
    // Health: fixtures/example/health/canary.yaml, lastRun 09:10, 20 minutes before --now.
    let h = entry(&inv, "bucket:team-data/query-results-staging");
    assert_eq!(h["health"]["state"], "healthy");
    assert_eq!(h["health"]["lastRun"], "2026-12-01T09:10:00Z");
    assert_eq!(h["health"]["ageSeconds"], 1200);
    // Counts by Promise × version × destination add up to the placements.
    let placed: u64 = inv["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["destinations"].as_array().unwrap().len().max(1) as u64)
        .sum();
    let counted: u64 = inv["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["instances"].as_u64().unwrap())
        .sum();
    assert_eq!(placed, counted);
}

#[test]
fn filters_keep_only_what_they_name() {
    let all = json(&[]);
    let team = json(&["--team", "checkout"]);
    assert!(team["total"].as_u64().unwrap() > 0);
    assert!(team["instances"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["team"] == "checkout"));
    let prod_pg = json(&["--env", "prod", "--promise", "postgresql"]);
    for e in prod_pg["instances"].as_array().unwrap() {
        assert_eq!(e["environment"], "prod");
        assert_eq!(e["promise"], "postgresql");
    }
    let sel = json(&[
        "--selector",
        "env=prod,tier in (critical),team notin (checkout)",
    ]);
    let kept = sel["instances"].as_array().unwrap();
    assert!(!kept.is_empty());
    for e in kept {
        assert_eq!(e["labels"]["env"], "prod");
        assert_eq!(e["labels"]["tier"], "critical");
        assert_ne!(e["team"], "checkout");
    }
    let expected = all["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["labels"]["env"] == "prod"
                && e["labels"]["tier"] == "critical"
                && e["team"] != "checkout"
        })
        .count();
    assert_eq!(kept.len(), expected);
}

#[test]
fn a_bad_selector_is_a_usage_error_that_says_what_to_write() {
    let (code, _, err) = fleet(&["--selector", "env in prod"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("key in (a,b)"), "{err}");
}

#[test]
fn every_format_lists_the_same_instances_in_the_same_order() {
    let inv = json(&[]);
    let ids: Vec<String> = inv["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["instance"].as_str().unwrap().to_string())
        .collect();
    let (code, out, err) = fleet(&["--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    let mut r = csv::Reader::from_reader(out.as_bytes());
    assert_eq!(r.headers().unwrap().get(0), Some("instance"));
    let rows: Vec<String> = r
        .records()
        .map(|x| x.unwrap().get(0).unwrap().to_string())
        .collect();
    assert_eq!(rows, ids);
    let (_, md, _) = fleet(&["--format", "markdown"]);
    let md_ids: Vec<&str> = md
        .lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(" | ").next())
        .filter(|c| c.contains(':'))
        .collect();
    assert_eq!(md_ids, ids);
    let (_, human, _) = fleet(&[]);
    let human_ids: Vec<&str> = human
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(human_ids, ids);
    let (_, html, _) = fleet(&["--format", "html"]);
    // Well-formed (polyglot markup) once the inline style and script (code) are left out, as
    // tests/html.rs checks the other pages; one row per instance.
    let mut markup = String::new();
    let mut rest = html.as_str();
    for (open, close) in [("<style>", "</style>"), ("<script>", "</script>")] {
        let a = rest.find(open).unwrap() + open.len();
        let b = rest.find(close).unwrap();
        markup.push_str(&rest[..a]);
        rest = &rest[b..];
    }
    markup.push_str(rest);
    let mut reader = quick_xml::Reader::from_str(&markup);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("the page is not well-formed: {e}"),
        }
    }
    for id in &ids {
        assert!(
            html.contains(&format!("<code>{id}</code>")),
            "{id} missing from the page"
        );
    }
}

#[test]
fn the_output_does_not_depend_on_the_thread_count() {
    let one = fleet(&["-j", "1", "--format", "json"]).1;
    let two = fleet(&["-j", "2", "--format", "json"]).1;
    assert!(!one.is_empty());
    assert!(one == two, "fleet JSON differs between -j 1 and -j 2");
}

#[test]
fn no_compliance_skips_the_rules_and_says_so() {
    let inv = json(&["--no-compliance"]);
    for e in inv["instances"].as_array().unwrap() {
        assert_eq!(e["compliance"]["evaluated"], false);
        assert_eq!(e["compliance"]["compliant"], false);
    }
}

#[test]
fn a_plan_file_gives_the_blocked_list() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let (code, _, err) = vow_example(&[
        "plan",
        "--now",
        NOW,
        "--format",
        "json",
        "--out",
        plan.to_str().unwrap(),
    ]);
    assert!(code == 0 || code == 1, "{err}");
    let p: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let blocked: BTreeSet<String> = p["blocked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["ref"].as_str().unwrap().to_string())
        .collect();
    assert!(!blocked.is_empty());
    let inv = json(&["--plan", plan.to_str().unwrap()]);
    for e in inv["instances"].as_array().unwrap() {
        let id = e["instance"].as_str().unwrap();
        let is_blocked = e["reasons"].as_array().unwrap().contains(&"blocked".into());
        assert_eq!(is_blocked, blocked.contains(id), "{id}");
    }
}

#[test]
fn an_unreadable_request_file_is_named_and_its_instances_show_as_removed() {
    let ws = example_copy();
    write(
        ws.path(),
        "fixtures/example/requests/search.yaml",
        "apiVersion: [\n",
    );
    let (code, out, err) = vow(&[
        "-C",
        ws.path().to_str().unwrap(),
        "fleet",
        "--now",
        NOW,
        "--format",
        "json",
        "--team",
        "search",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("search.yaml"),
        "stderr does not name the file: {err}"
    );
    let inv: Value = serde_json::from_str(&out).unwrap();
    let entries = inv["instances"].as_array().unwrap();
    assert!(!entries.is_empty());
    for e in entries {
        assert!(
            e["reasons"].as_array().unwrap().contains(&"removed".into()),
            "{e}"
        );
        assert!(e.get("request").is_none());
    }
}
