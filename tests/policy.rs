//! Policy: scan, check and test on the example platform; every report format checked against
//! its specification; waivers, --fail-on and exit codes.

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

const NOW: &str = "2026-12-01T00:00:00Z";

fn scan(format: &str) -> (i32, String) {
    let (code, out, err) = vow_example(&["scan", "--now", NOW, "--format", format]);
    assert!(code == 0 || code == 1, "{err}");
    (code, out)
}

#[test]
fn scan_snapshots_every_format() {
    for format in [
        "human",
        "json",
        "sarif",
        "junit",
        "policyreport",
        "openreports",
        "codequality",
        "github",
        "markdown",
    ] {
        let (_, out) = scan(format);
        insta::assert_snapshot!(format!("scan_{format}"), out);
    }
}

#[test]
fn scan_finds_violations_and_compliance() {
    let (code, out) = scan("json");
    assert_eq!(code, 1, "critical findings fail the default --fail-on high");
    let v: Value = serde_json::from_str(&out).unwrap();
    let rules: std::collections::BTreeSet<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    for r in [
        "postgres-cve-2026-4412",
        "backup-retention-prod",
        "encryption-at-rest",
        "critical-replicas",
        "deprecated-promise-versions",
        "required-labels",
    ] {
        assert!(rules.contains(r), "no finding of {r}");
    }
    let c = &v["compliance"];
    assert!(c["total"]["checks"].as_u64().unwrap() > 300);
    assert!(c["total"]["passed"].as_u64().unwrap() < c["total"]["checks"].as_u64().unwrap());
    assert!(c["byTeam"]["payments"]["instances"].as_u64().unwrap() > 0);
    assert!(c["byEnvironment"]["prod"]["checks"].as_u64().unwrap() > 0);
    assert!(c["byPromise"]["redis"]["checks"].as_u64().unwrap() > 0);
    assert_eq!(
        c["byRule"].as_object().unwrap().len(),
        9,
        "every rule has a row"
    );
}

#[test]
fn every_finding_has_a_file_and_line() {
    let (_, out) = scan("json");
    let v: Value = serde_json::from_str(&out).unwrap();
    for f in v["findings"].as_array().unwrap() {
        assert!(
            f["file"].is_string() && f["line"].as_u64().unwrap() >= 1,
            "{f}"
        );
    }
    // Field lines, not only document lines: the CVE finding points at spec.version.
    let cve = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["rule"] == "postgres-cve-2026-4412"
                && f["ref"] == "postgresql:team-payments/ledger-db-prod-euw1"
        })
        .unwrap();
    assert_eq!(cve["field"], "spec.version");
    let text = std::fs::read_to_string(repo().join(cve["file"].as_str().unwrap())).unwrap();
    let line = text
        .lines()
        .nth(cve["line"].as_u64().unwrap() as usize - 1)
        .unwrap();
    assert!(line.trim_start().starts_with("version:"), "{line}");
}

#[test]
fn sarif_matches_the_schema_and_githubs_rules() {
    let (_, out) = scan("sarif");
    let sarif: Value = serde_json::from_str(&out).unwrap();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/fixtures/sarif-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: std::collections::BTreeSet<&str> =
        rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), rules.len(), "one rule per id");
    assert!(ids.contains("postgres-cve-2026-4412") && ids.contains("encryption-at-rest"));
    for r in rules {
        assert!(
            r["shortDescription"]["text"].as_str().unwrap().len() > 10,
            "{r}"
        );
        assert!(r["help"]["text"].as_str().unwrap().len() > 10, "{r}");
        assert_ne!(r["name"], r["id"]);
    }
    let cve = rules
        .iter()
        .find(|r| r["id"] == "postgres-cve-2026-4412")
        .unwrap();
    assert_eq!(cve["properties"]["security-severity"], "9.5");
    let results = run["results"].as_array().unwrap();
    let mut fingerprints = std::collections::BTreeSet::new();
    let mut lines = std::collections::BTreeSet::new();
    for r in results {
        assert!(ids.contains(r["ruleId"].as_str().unwrap()));
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"]);
        let loc = &r["locations"][0]["physicalLocation"];
        assert!(loc["artifactLocation"]["uri"].as_str().unwrap().len() > 3);
        let line = loc["region"]["startLine"].as_u64().unwrap();
        lines.insert(line);
        assert!(
            fingerprints.insert(
                r["partialFingerprints"]["vowFindingHash/v1"]
                    .as_str()
                    .unwrap()
                    .to_string()
            ),
            "fingerprints are unique: {r}"
        );
    }
    assert!(lines.len() > 10, "results are not all pinned to one line");
    assert!(
        results
            .iter()
            .any(|r| r["suppressions"][0]["status"] == "accepted"),
        "waived findings are suppressions"
    );
    // Stable across runs.
    assert_eq!(scan("sarif").1, out);
}

/// The official validator (`Sarif.Multitool validate --rule-kind Gh;Sarif`), when CI installed
/// it (VOW_SARIF_MULTITOOL points at the binary): no errors.
#[test]
fn sarif_passes_the_official_validator() {
    let Some(tool) = std::env::var_os("VOW_SARIF_MULTITOOL") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must install the SARIF multitool (see .ci/run)"
        );
        eprintln!("VOW_SARIF_MULTITOOL is not set: skipping the official SARIF validator");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scan.sarif");
    std::fs::write(&file, scan("sarif").1).unwrap();
    let out = std::process::Command::new(tool)
        .args([
            "validate",
            file.to_str().unwrap(),
            "--rule-kind",
            "Gh;Sarif",
            "-o",
        ])
        .arg(dir.path().join("validation.sarif"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    let errors: Vec<&str> = text.lines().filter(|l| l.contains(": error ")).collect();
    assert!(errors.is_empty(), "{text}");
}

#[test]
fn junit_parses_with_unique_names() {
    use quick_xml::events::Event;
    let (_, out) = scan("junit");
    let mut reader = quick_xml::Reader::from_str(&out);
    let mut names = std::collections::BTreeSet::new();
    let (mut cases, mut failures, mut skipped) = (0, 0, 0);
    let mut declared = (0, 0, 0);
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => {
                let attr = |k: &str| {
                    e.attributes()
                        .filter_map(Result::ok)
                        .find(|a| a.key.as_ref() == k.as_bytes())
                        .map(|a| a.unescape_value().unwrap().to_string())
                };
                match e.name().as_ref() {
                    b"testsuites" => {
                        let n = |k: &str| attr(k).unwrap().parse::<usize>().unwrap();
                        declared = (n("tests"), n("failures"), n("skipped"));
                    }
                    b"testcase" => {
                        cases += 1;
                        let key = (attr("classname").unwrap(), attr("name").unwrap());
                        assert!(names.insert(key.clone()), "duplicate test case {key:?}");
                    }
                    b"failure" => failures += 1,
                    b"skipped" => skipped += 1,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    assert_eq!(declared, (cases, failures, skipped));
    assert!(failures > 10 && skipped >= 1 && cases > 300);
}

#[test]
fn policyreport_summary_counts_its_results() {
    let (_, out) = scan("policyreport");
    let v: Value = serde_yaml::from_str(&out).unwrap();
    assert_eq!(v["apiVersion"], "wgpolicyk8s.io/v1alpha2");
    assert_eq!(v["kind"], "ClusterPolicyReport");
    let results = v["results"].as_array().unwrap();
    for k in ["pass", "fail", "warn", "error", "skip"] {
        let n = results.iter().filter(|r| r["result"] == k).count();
        assert_eq!(v["summary"][k].as_u64().unwrap() as usize, n, "{k}");
    }
    for r in results {
        let sev = r["severity"].as_str().unwrap();
        assert!(["critical", "high", "medium", "low", "info"].contains(&sev));
        assert!(r["policy"].is_string() && r["source"] == "vow");
    }
}

#[test]
fn github_annotations_carry_real_lines_and_are_escaped() {
    let (_, out) = scan("github");
    let annotations: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("::error ") || l.starts_with("::warning "))
        .collect();
    assert!(annotations.len() > 10);
    let lines: std::collections::BTreeSet<&str> = annotations
        .iter()
        .filter_map(|a| a.split(',').find(|p| p.starts_with("line=")))
        .collect();
    assert!(lines.len() > 5, "annotations are not all on one line");
    assert!(out.contains("::group::vow scan: all "));
    assert!(annotations.iter().all(|a| !a.contains('\n')));
    assert_eq!(
        vow::report::github::escape_data("50%\nnext\r"),
        "50%25%0Anext%0D"
    );
    assert_eq!(vow::report::github::escape_property("a:b,c"), "a%3Ab%2Cc");
}

#[test]
fn fail_on_levels() {
    let code = |level: &str| vow_example(&["scan", "--now", NOW, "--fail-on", level]).0;
    assert_eq!(code("critical"), 1);
    assert_eq!(code("never"), 0);
    let ws = scratch_workspace();
    write(ws.path(), "rules/r.yaml", RULE_LOW);
    write(ws.path(), "requests/a.yaml", &request("a", 1));
    // Scan looks at the applied fleet: an empty store has nothing to check.
    let root = ws.path().to_str().unwrap();
    assert_eq!(vow(&["-C", root, "scan", "--fail-on", "info"]).0, 0);
    // Check looks at the requests: a warn rule fails only when --fail-on reaches it.
    assert_eq!(vow(&["-C", root, "check"]).0, 0);
    assert_eq!(vow(&["-C", root, "check", "--fail-on", "low"]).0, 1);
    assert_eq!(vow(&["-C", root, "check", "--fail-on", "medium"]).0, 0);
}

const RULE_LOW: &str = r#"apiVersion: vow.dev/v1alpha1
kind: Rule
metadata:
  name: small-sizes
spec:
  severity: low
  enforcement: warn
  script: |
    if spec.size < 10 { deny("tiny", "spec.size"); }
"#;

#[test]
fn waivers_active_expired_and_wrong_rule() {
    let finding = |now: &str| -> Value {
        let (_, out, _) = vow_example(&[
            "scan",
            "--now",
            now,
            "--format",
            "json",
            "--fail-on",
            "never",
        ]);
        let v: Value = serde_json::from_str(&out).unwrap();
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "encryption-at-rest")
            .cloned()
            .unwrap()
    };
    let before = finding("2026-10-15");
    assert_eq!(before["waived"]["waiver"], "carts-db-staging-unencrypted");
    assert_eq!(before["blocking"], false);
    let after = finding("2026-11-01");
    assert!(after.get("waived").is_none());
    assert_eq!(after["blocking"], true);
    assert!(after["message"]
        .as_str()
        .unwrap()
        .contains("expired on 2026-10-31"));
    let (_, out, _) = vow_example(&[
        "scan",
        "--now",
        "2026-11-01",
        "--format",
        "json",
        "--fail-on",
        "never",
    ]);
    assert!(out.contains("\"code\": \"V501\""));

    let ws = scratch_workspace();
    write(ws.path(), "rules/r.yaml", RULE_LOW);
    write(ws.path(), "rules/w.yaml", "apiVersion: vow.dev/v1alpha1\nkind: Waiver\nmetadata:\n  name: w\nspec:\n  rule: no-such-rule\n  reason: r\n  owner: o\n  expires: 2030-01-01\n");
    write(ws.path(), "rules/forever.yaml", "apiVersion: vow.dev/v1alpha1\nkind: Waiver\nmetadata:\n  name: forever\nspec:\n  rule: small-sizes\n  reason: r\n  owner: o\n");
    let (code, out, _) = vow(&[
        "-C",
        ws.path().to_str().unwrap(),
        "check",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    assert!(
        out.contains("names rule `no-such-rule`, which does not exist"),
        "{out}"
    );
    assert!(
        out.contains("waivers that never expire are not allowed"),
        "{out}"
    );
}

#[test]
fn check_changed_limits_request_findings() {
    let (code, out, _) = vow_example(&[
        "check",
        "--format",
        "json",
        "--changed",
        "fixtures/example/requests/search.yaml",
    ]);
    assert_eq!(code, 1, "search.yaml has blocked requests");
    let v: Value = serde_json::from_str(&out).unwrap();
    let files: std::collections::BTreeSet<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["ref"].is_string() && f["rule"].is_string())
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        files.into_iter().collect::<Vec<_>>(),
        ["fixtures/example/requests/search.yaml"]
    );
    assert!(v["summary"]["testsPassed"].as_u64().unwrap() > 0);
    // A file with only clean requests passes.
    let ws = scratch_workspace();
    write(ws.path(), "requests/good.yaml", &request("good", 1));
    write(ws.path(), "requests/bad.yaml", &request("bad", 0));
    let root = ws.path().to_str().unwrap();
    assert_eq!(
        vow(&[
            "-C",
            root,
            "check",
            "--changed",
            &format!("{root}/requests/good.yaml")
        ])
        .0,
        0
    );
    assert_eq!(
        vow(&[
            "-C",
            root,
            "check",
            "--changed",
            &format!("{root}/requests/bad.yaml")
        ])
        .0,
        1
    );
    assert_eq!(vow(&["-C", root, "check"]).0, 1);
}

#[test]
fn example_tests_pass() {
    let (code, out, _) = vow_example(&["test"]);
    assert_eq!(code, 0, "{out}");
    let last = out.lines().last().unwrap();
    assert!(last.ends_with("passed, 0 failed"), "{last}");
    let passed: usize = last.split(' ').next().unwrap().parse().unwrap();
    assert!(passed >= 16, "at least two cases per rule");
}

#[test]
fn failing_tests_show_what_differs() {
    let ws = scratch_workspace();
    write(ws.path(), "rules/r.yaml", RULE_LOW);
    write(
        ws.path(),
        "rules/tests/r.yaml",
        r#"apiVersion: vow.dev/v1alpha1
kind: Test
metadata:
  name: small-sizes
spec:
  cases:
    - name: wrong expectation
      promise: db
      labels: {env: dev}
      spec: {size: 3}
      expect:
        findings: [{rule: small-sizes, severity: high}]
        blocked: true
    - name: wrong file
      promise: db
      labels: {env: dev}
      spec: {size: 20}
      expect:
        files:
          db.yaml: |
            apiVersion: v1
            data:
              retention: '7'
              size: '21'
            kind: ConfigMap
            metadata:
              name: wrong-file
              namespace: test
"#,
    );
    let (code, out, _) = vow(&["-C", ws.path().to_str().unwrap(), "test"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL rules/tests/r.yaml:7  small-sizes / wrong expectation"),
        "{out}"
    );
    assert!(out.contains("expected: small-sizes high"), "{out}");
    assert!(out.contains("actual:   small-sizes low"), "{out}");
    assert!(
        out.contains("expected the request to be blocked, but it is not blocked"),
        "{out}"
    );
    assert!(out.contains("-  size: '21'"), "{out}");
    assert!(out.contains("+  size: '20'"), "{out}");
    assert!(!out.contains("No newline"), "{out}");
    assert!(out.trim_end().ends_with("0 passed, 2 failed"), "{out}");
}

#[test]
fn explain_rules_by_name() {
    let (code, out, _) = vow_example(&["explain", "postgres-cve-2026-4412"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("critical")
            && out.contains("CVE-2026-4412")
            && out.contains("rules/postgres-cve-2026-4412.yaml"),
        "{out}"
    );
}

#[test]
fn check_with_fail_on_never_still_exits_1_on_the_example() {
    // Speed is measured in the benchmarks (BENCHMARKS.md), not asserted here.
    let (code, _, _) = vow_example(&["check", "--fail-on", "never"]);
    assert_eq!(code, 1);
}

/// Every rule of an instance reads the same converted request: what one rule declares is gone
/// before the next runs, and a rule that tries to change the request fails instead of changing
/// what the others see.
#[test]
fn rules_cannot_change_what_the_next_rule_sees() {
    let rule = |name: &str, script: &str| {
        format!("apiVersion: vow.dev/v1alpha1\nkind: Rule\nmetadata:\n  name: {name}\nspec:\n  severity: low\n  enforcement: warn\n  script: |\n    {script}\n")
    };
    let ws = scratch_workspace();
    write(ws.path(), "requests/a.yaml", &request("a", 1));
    write(
        ws.path(),
        "rules/a.yaml",
        &rule("a-changes", "let leaked = 1; spec.size = 500;"),
    );
    write(ws.path(), "rules/b.yaml", &rule("b-reads", "if spec.size == 500 { deny(\"saw a change\"); } if is_def_var(\"leaked\") { deny(\"saw a variable\"); } deny(`size ${spec.size}`);"));
    write(
        ws.path(),
        "rules/c.yaml",
        &rule(
            "c-copies",
            "let s = spec; s.size = 7; if s.size != 7 { deny(\"copy not changed\"); }",
        ),
    );
    let root = ws.path().to_str().unwrap();
    let (_, out, _) = vow(&["-C", root, "check", "--format", "json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let messages = |rule: &str| -> Vec<String> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == rule)
            .map(|f| f["message"].as_str().unwrap().to_string())
            .collect()
    };
    let changes = messages("a-changes");
    assert!(
        changes.len() == 1 && changes[0].contains("cannot be changed"),
        "{changes:?}"
    );
    assert_eq!(messages("b-reads"), vec!["db:team-a/a: size 1".to_string()]);
    assert!(
        messages("c-copies").is_empty(),
        "{:?}",
        messages("c-copies")
    );
}
