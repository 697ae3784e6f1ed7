//! Reports their readers accept (docs/reports.md): the example fleet's PolicyReport, OpenReports
//! and Code Quality outputs validate against their readers' published schemas (kept in
//! tests/fixtures/schemas/, sources in its README), a mutated output fails them (the validator
//! bites), Code Quality fingerprints are stable, JUnit's `file` is a path, waivers tell, and a
//! step's warn()/reject() points at the request with the script as its source.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::string_slice,
    reason = "a test fails loudly; the library may not"
)]

mod common;
use common::*;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// A named change to a report that its reader must refuse.
type Mutation = (&'static str, fn(&mut Value));

const NOW: &str = "2026-12-01T09:00:00Z";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(repo().join("tests/fixtures/schemas").join(name)).unwrap()
}

/// Every YAML document of a stream, as JSON.
fn yaml_docs(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|d| Value::deserialize(d).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

/// A CRD's one served version, as what the API server checks a document against.
struct Crd {
    api_version: String,
    kind: String,
    namespaced: bool,
    validator: jsonschema::Validator,
}

/// Makes an OpenAPI schema as strict as the API server's pruning: an object schema with
/// declared properties and no `additionalProperties` keeps no other field (the server would
/// drop it in silence, so vow must not write one).
fn pruning(schema: &mut Value) {
    match schema {
        Value::Object(m) => {
            if m.contains_key("properties") && !m.contains_key("additionalProperties") {
                m.insert("additionalProperties".into(), json!(false));
            }
            m.values_mut().for_each(pruning);
        }
        Value::Array(a) => a.iter_mut().for_each(pruning),
        _ => {}
    }
}

fn crd(file: &str) -> Crd {
    let doc = yaml_docs(&fixture(file)).remove(0);
    let spec = &doc["spec"];
    let version = &spec["versions"][0];
    let mut schema = version["schema"]["openAPIV3Schema"].clone();
    pruning(&mut schema);
    Crd {
        api_version: format!(
            "{}/{}",
            spec["group"].as_str().unwrap(),
            version["name"].as_str().unwrap()
        ),
        kind: spec["names"]["kind"].as_str().unwrap().to_string(),
        namespaced: spec["scope"] == "Namespaced",
        validator: jsonschema::validator_for(&schema).unwrap(),
    }
}

impl Crd {
    /// What the API server would refuse in `doc` (empty: it is accepted).
    fn problems(&self, doc: &Value) -> Vec<String> {
        let mut out: Vec<String> = self
            .validator
            .iter_errors(doc)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        if doc["apiVersion"] != self.api_version.as_str() || doc["kind"] != self.kind.as_str() {
            out.push(format!(
                "{}/{} is not {}/{}",
                doc["apiVersion"], doc["kind"], self.api_version, self.kind
            ));
        }
        if doc["metadata"]["namespace"].is_string() != self.namespaced {
            out.push(format!(
                "metadata.namespace does not fit the CRD's scope (namespaced: {})",
                self.namespaced
            ));
        }
        out
    }
}

fn scan(format: &str) -> String {
    let (code, out, err) = vow_example(&["scan", "--now", NOW, "--format", format]);
    assert!(code == 0 || code == 1, "vow scan --format {format}: {err}");
    out
}

fn check(format: &str) -> String {
    let (code, out, err) = vow_example(&["check", "--now", NOW, "--format", format]);
    assert!(code == 0 || code == 1, "vow check --format {format}: {err}");
    out
}

/// The example's Promises' request kinds, by Promise name, read from the Promises themselves.
fn example_kinds() -> Vec<(String, String, String)> {
    let out = scan("json");
    let v: Value = serde_json::from_str(&out).unwrap();
    let promises: BTreeSet<String> = v["compliance"]["byPromise"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let mut kinds = Vec::new();
    for entry in walkdir::WalkDir::new(repo().join("promises")) {
        let path = entry.unwrap().into_path();
        if path.file_name().is_none_or(|n| n != "promise.yaml") {
            continue;
        }
        for d in yaml_docs(&std::fs::read_to_string(&path).unwrap()) {
            let name = d["metadata"]["name"].as_str().unwrap_or("").to_string();
            let api = &d["spec"]["api"]["spec"];
            if promises.contains(&name) && api.is_object() {
                let version = api["versions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|v| v["storage"] == true)
                    .unwrap();
                kinds.push((
                    name,
                    format!(
                        "{}/{}",
                        api["group"].as_str().unwrap(),
                        version["name"].as_str().unwrap()
                    ),
                    api["names"]["kind"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    assert!(
        kinds.len() >= 2,
        "the example has Promises with APIs: {kinds:?}"
    );
    kinds
}

fn assert_resources_name_requests(results: &[Value], what: &str) -> usize {
    let kinds = example_kinds();
    let mut seen = 0;
    for r in results {
        let Some(instance) = r["properties"]["instance"].as_str() else {
            continue;
        };
        let (promise, rest) = instance.split_once(':').unwrap();
        let (namespace, name) = rest.split_once('/').unwrap();
        let (_, api_version, kind) = kinds.iter().find(|k| k.0 == promise).unwrap();
        let res = &r["resources"][0];
        assert_eq!(
            res,
            &json!({"apiVersion": api_version, "kind": kind, "name": name, "namespace": namespace}),
            "{what}: the resource of {instance}"
        );
        seen += 1;
    }
    seen
}

#[test]
fn the_policyreport_validates_against_kyvernos_crd_and_names_requests_by_kind() {
    let crd = crd("wgpolicyk8s.io_clusterpolicyreports.yaml");
    for (command, out) in [
        ("scan", scan("policyreport")),
        ("check", check("policyreport")),
    ] {
        let docs = yaml_docs(&out);
        assert_eq!(docs.len(), 1);
        let problems = crd.problems(&docs[0]);
        assert!(problems.is_empty(), "vow {command}: {problems:#?}");
        let results = docs[0]["results"].as_array().unwrap();
        let named = assert_resources_name_requests(results, command);
        assert!(named > 10, "vow {command}: {named} results name a request");
    }
    // The kind is the request's (`Bucket`), never the Promise's name (`bucket`).
    let out = scan("policyreport");
    assert!(out.contains("kind: Bucket"));
    assert!(!out.contains("kind: bucket"));
}

#[test]
fn openreports_validate_against_their_crds_a_report_per_namespace() {
    let report = crd("openreports.io_reports.yaml");
    let cluster = crd("openreports.io_clusterreports.yaml");
    for (command, out) in [
        ("scan", scan("openreports")),
        ("check", check("openreports")),
    ] {
        let docs = yaml_docs(&out);
        assert_eq!(
            docs[0]["kind"], "ClusterReport",
            "the ClusterReport comes first"
        );
        let mut namespaces = Vec::new();
        for d in &docs {
            let crd = if d["kind"] == "Report" {
                &report
            } else {
                &cluster
            };
            let problems = crd.problems(d);
            assert!(
                problems.is_empty(),
                "vow {command}: {} {problems:#?}",
                d["kind"]
            );
            let results = d["results"].as_array().unwrap();
            // The summary counts the document's own results.
            let fails = results.iter().filter(|r| r["result"] == "fail").count();
            assert_eq!(d["summary"]["fail"], json!(fails));
            if let Some(ns) = d["metadata"]["namespace"].as_str() {
                namespaces.push(ns.to_string());
                for r in results {
                    assert_eq!(
                        r["resources"][0]["namespace"], ns,
                        "a Report holds its namespace's requests"
                    );
                }
                assert_resources_name_requests(results, command);
            } else {
                assert!(results.iter().all(|r| r.get("resources").is_none()));
            }
        }
        let mut sorted = namespaces.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(namespaces, sorted, "one Report per namespace, in order");
        assert!(namespaces.len() >= 3, "vow {command}: {namespaces:?}");
    }
}

/// Mutations of a valid report that its reader refuses: each must fail the schema.
#[test]
fn the_report_schemas_refuse_a_mutated_report() {
    let crd = crd("wgpolicyk8s.io_clusterpolicyreports.yaml");
    let open = crd_of_kind("Report");
    let good = yaml_docs(&scan("policyreport")).remove(0);
    let good_open = yaml_docs(&scan("openreports")).remove(1);
    assert!(crd.problems(&good).is_empty());
    assert!(open.problems(&good_open).is_empty());
    let mutations: [Mutation; 7] = [
        ("an unknown result", |d| {
            d["results"][0]["result"] = json!("failed")
        }),
        ("an unknown severity", |d| {
            d["results"][0]["severity"] = json!("blocker")
        }),
        ("a number as a kind", |d| {
            d["results"][0]["resources"][0]["kind"] = json!(5)
        }),
        ("a field the CRD does not declare", |d| {
            d["results"][0]["resourcez"] = json!([])
        }),
        ("a property that is not a string", |d| {
            d["results"][0]["properties"]["line"] = json!(3)
        }),
        ("a summary count that is text", |d| {
            d["summary"]["pass"] = json!("many")
        }),
        ("a result without its policy", |d| {
            d["results"][0].as_object_mut().unwrap().remove("policy");
        }),
    ];
    for (what, mutate) in mutations {
        for (crd, good) in [(&crd, &good), (&open, &good_open)] {
            let mut bad = good.clone();
            mutate(&mut bad);
            assert!(
                !crd.problems(&bad).is_empty(),
                "{what} was accepted by {}",
                crd.kind
            );
        }
    }
    let mut wrong_kind = good.clone();
    wrong_kind["kind"] = json!("PolicyReport");
    assert!(!crd.problems(&wrong_kind).is_empty());
    let mut cluster_scoped = good_open.clone();
    cluster_scoped["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("namespace");
    assert!(
        !open.problems(&cluster_scoped).is_empty(),
        "a Report is namespaced"
    );
}

fn crd_of_kind(kind: &str) -> Crd {
    match kind {
        "Report" => crd("openreports.io_reports.yaml"),
        _ => crd("openreports.io_clusterreports.yaml"),
    }
}

fn codequality_validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&fixture("gitlab-codequality.json")).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn code_quality_validates_points_at_files_and_refuses_mutations() {
    let v = codequality_validator();
    for (command, out) in [
        ("scan", scan("codequality")),
        ("check", check("codequality")),
    ] {
        let doc: Value = serde_json::from_str(&out).unwrap();
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "vow {command}: {errors:#?}");
        let issues = doc.as_array().unwrap();
        assert!(issues.len() > 10, "vow {command}: {} issues", issues.len());
        for i in issues {
            let path = i["location"]["path"].as_str().unwrap();
            assert!(
                repo().join(path).is_file(),
                "{path} is a file of the workspace"
            );
        }
        let fingerprints: BTreeSet<&str> = issues
            .iter()
            .map(|i| i["fingerprint"].as_str().unwrap())
            .collect();
        assert_eq!(
            fingerprints.len(),
            issues.len(),
            "different findings, different fingerprints"
        );
    }
    let good: Value = serde_json::from_str(&scan("codequality")).unwrap();
    let mutations: [Mutation; 5] = [
        ("vow's own severity", |d| d[0]["severity"] = json!("high")),
        ("no fingerprint", |d| {
            d[0].as_object_mut().unwrap().remove("fingerprint");
        }),
        ("a line as text", |d| {
            d[0]["location"]["lines"]["begin"] = json!("3")
        }),
        ("a path with its line", |d| {
            d[0]["location"]["path"] = json!("fixtures/example/requests/data.yaml:12")
        }),
        ("no line at all", |d| {
            d[0]["location"].as_object_mut().unwrap().remove("lines");
        }),
    ];
    for (what, mutate) in mutations {
        let mut bad = good.clone();
        mutate(&mut bad);
        assert!(!v.is_valid(&bad), "{what} was accepted");
    }
}

#[test]
fn code_quality_fingerprints_are_stable_across_runs_and_threads() {
    let run = |jobs: &str| {
        let (_, out, err) =
            vow_example(&["-j", jobs, "scan", "--now", NOW, "--format", "codequality"]);
        assert!(!out.is_empty(), "{err}");
        out
    };
    let one = run("1");
    assert_eq!(one, run("4"), "-j 1 and -j 4 give the same bytes");
    assert_eq!(one, run("1"), "two runs give the same bytes");
    // A finding keeps its fingerprint when its request moves down its file.
    let ws = example_copy();
    let file = ws.path().join("fixtures/example/requests/checkout.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("# a comment\n# and another\n{text}")).unwrap();
    let (_, moved, err) = vow_in(
        ws.path(),
        &["scan", "--now", NOW, "--format", "codequality"],
    );
    let prints = |out: &str| -> BTreeSet<String> {
        let v: Value = serde_json::from_str(out).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|i| i["fingerprint"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(prints(&one), prints(&moved), "{err}");
    assert_ne!(one, moved, "the lines did move");
}

#[test]
fn junit_file_is_a_path_and_the_line_is_apart() {
    for out in [scan("junit"), check("junit")] {
        let doc = roxmltree_free_parse(&out);
        assert!(doc.len() > 10);
        for (file, line) in doc {
            assert!(!file.contains(':'), "file={file} carries no line");
            assert!(repo().join(&file).is_file(), "{file} is a file");
            assert!(line.parse::<u32>().is_ok_and(|n| n >= 1), "line={line}");
        }
    }
}

/// The (file, line) attributes of every test case, read with quick-xml.
fn roxmltree_free_parse(xml: &str) -> Vec<(String, String)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"testcase" => {
                let attr = |k: &str| {
                    e.attributes()
                        .map(|a| a.unwrap())
                        .find(|a| a.key.as_ref() == k.as_bytes())
                        .map(|a| a.unescape_value().unwrap().into_owned())
                };
                if let Some(file) = attr("file") {
                    out.push((file, attr("line").expect("a case with a file has a line")));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// A workspace whose one step rejects a request about a field, and warns about it.
fn stepping_workspace() -> tempfile::TempDir {
    let ws = scratch_workspace();
    let promise = PROMISE.replace(
        "                script: |\n                  if spec.size > 50 {\n                    reject(`size ${spec.size} needs approval`);\n                  }\n",
        "                file: validate.rhai\n",
    );
    assert_ne!(promise, PROMISE);
    write(ws.path(), "promises/db/promise.yaml", &promise);
    write(
        ws.path(),
        "promises/db/validate.rhai",
        "// The platform's checks.\nif spec.size > 50 {\n    reject(`size ${spec.size} needs approval`, \"spec.size\");\n}\nif spec.size > 20 {\n    warn(\"a large DB\");\n}\n",
    );
    write(
        ws.path(),
        "requests/dbs.yaml",
        &format!("# the team's databases\n{}", request("big", 60)),
    );
    ws
}

#[test]
fn a_steps_reject_and_warn_point_at_the_request_with_the_script_as_source() {
    let ws = stepping_workspace();
    let (code, out, err) = vow_in(ws.path(), &["check", "--format", "json"]);
    assert_eq!(code, 1, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let finding = |code: &str| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == code)
            .unwrap_or_else(|| panic!("no {code} in {out}"))
            .clone()
    };
    let rejected = finding("V203");
    // requests/dbs.yaml: line 2 is the document, line 9 `  size: 60`.
    assert_eq!(
        (rejected["file"].as_str(), rejected["line"].as_u64()),
        (Some("requests/dbs.yaml"), Some(9))
    );
    assert_eq!(
        rejected["related"],
        json!({"file": "promises/db/validate.rhai", "line": 3, "column": 5})
    );
    let warned = finding("V204");
    assert_eq!(
        (warned["file"].as_str(), warned["line"].as_u64()),
        (Some("requests/dbs.yaml"), Some(2))
    );
    assert_eq!(warned["related"]["line"], 6);

    let (_, github, _) = vow_in(ws.path(), &["check", "--format", "github"]);
    let line = github.lines().find(|l| l.contains("V203")).unwrap();
    assert!(
        line.starts_with("::error file=requests/dbs.yaml,line=9,"),
        "{line}"
    );
    assert!(
        line.contains("(from promises/db/validate.rhai:3:5)"),
        "{line}"
    );

    let (_, sarif, _) = vow_in(ws.path(), &["check", "--format", "sarif"]);
    let sarif: Value = serde_json::from_str(&sarif).unwrap();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/fixtures/sarif-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let errors: Vec<String> = jsonschema::validator_for(&schema)
        .unwrap()
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "the SARIF with relatedLocations: {errors:#?}"
    );
    let result = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "V203")
        .unwrap();
    let at = |l: &Value| {
        let p = &l["physicalLocation"];
        (
            p["artifactLocation"]["uri"].clone(),
            p["region"]["startLine"].clone(),
        )
    };
    assert_eq!(
        at(&result["locations"][0]),
        (json!("requests/dbs.yaml"), json!(9))
    );
    assert_eq!(
        at(&result["relatedLocations"][0]),
        (json!("promises/db/validate.rhai"), json!(3))
    );

    let (_, cq, _) = vow_in(ws.path(), &["check", "--format", "codequality"]);
    let cq: Value = serde_json::from_str(&cq).unwrap();
    assert!(codequality_validator().is_valid(&cq));
    let issue = cq
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["check_name"] == "V203")
        .unwrap();
    assert_eq!(
        issue["location"],
        json!({"path": "requests/dbs.yaml", "lines": {"begin": 9}})
    );

    let (_, human, _) = vow_in(ws.path(), &["check"]);
    assert!(
        human.contains("source: promises/db/validate.rhai:3:5"),
        "{human}"
    );
}

/// A waiver case: its `expires` and `match`, the workspace's `waivers.warnDays` (None: the
/// default), and the codes of the waiver findings about it.
struct WaiverCase {
    name: &'static str,
    expires: &'static str,
    names: &'static str,
    warn_days: Option<u32>,
    codes: &'static [&'static str],
    state: &'static str,
}

const CASES: &[WaiverCase] = &[
    WaiverCase {
        name: "unused",
        expires: "2027-06-30",
        names: "[no-such-instance]",
        warn_days: None,
        codes: &["V504"],
        state: "active",
    },
    WaiverCase {
        name: "expiring-soon",
        expires: "2026-12-10",
        names: "[carts-db-staging]",
        warn_days: None,
        codes: &["V505"],
        state: "expiring",
    },
    WaiverCase {
        name: "expiring-today",
        expires: "2026-12-01",
        names: "[carts-db-staging]",
        warn_days: None,
        codes: &["V505"],
        state: "expiring",
    },
    WaiverCase {
        name: "within-a-wider-window",
        expires: "2026-12-25",
        names: "[carts-db-staging]",
        warn_days: Some(30),
        codes: &["V505"],
        state: "expiring",
    },
    WaiverCase {
        name: "past-the-default-window",
        expires: "2026-12-25",
        names: "[carts-db-staging]",
        warn_days: None,
        codes: &[],
        state: "active",
    },
    WaiverCase {
        name: "window-off",
        expires: "2026-12-02",
        names: "[carts-db-staging]",
        warn_days: Some(0),
        codes: &[],
        state: "active",
    },
    WaiverCase {
        name: "expired",
        expires: "2026-11-30",
        names: "[carts-db-staging]",
        warn_days: None,
        codes: &["V501"],
        state: "expired",
    },
    WaiverCase {
        name: "expired-and-unused",
        expires: "2026-11-30",
        names: "[gone]",
        warn_days: None,
        codes: &["V501", "V504"],
        state: "expired",
    },
];

fn waiver_workspace(c: &WaiverCase) -> tempfile::TempDir {
    let ws = example_copy();
    write(
        ws.path(),
        "rules/case-waiver.yaml",
        &format!(
            "apiVersion: vow.dev/v1alpha1\nkind: Waiver\nmetadata:\n  name: case-{}\nspec:\n  rule: encryption-at-rest\n  match:\n    namespace: team-checkout\n    names: {}\n  reason: the case under test\n  owner: case-owner@example.com\n  expires: {}\n",
            c.name, c.names, c.expires
        ),
    );
    if let Some(days) = c.warn_days {
        let config = ws.path().join("vow.yaml");
        let text = std::fs::read_to_string(&config).unwrap();
        std::fs::write(&config, format!("{text}\nwaivers:\n  warnDays: {days}\n")).unwrap();
    }
    ws
}

#[test]
fn waivers_that_match_nothing_or_expire_soon_tell() {
    for c in CASES {
        let ws = waiver_workspace(c);
        let (_, out, err) = vow_in(ws.path(), &["scan", "--now", NOW, "--format", "json"]);
        let v: Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{}: {e}\n{err}", c.name));
        let waiver = format!("case-{}", c.name);
        let mut codes: Vec<&str> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["file"] == "rules/case-waiver.yaml")
            .map(|f| f["code"].as_str().unwrap())
            .collect();
        codes.sort();
        assert_eq!(codes, c.codes, "case {}", c.name);
        for f in v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == "V505")
        {
            assert!(
                f["message"]
                    .as_str()
                    .unwrap()
                    .contains("case-owner@example.com"),
                "V505 names the owner"
            );
        }
        // The list of waivers, by expiry.
        let listed = v["waivers"].as_array().unwrap();
        let expiries: Vec<&str> = listed
            .iter()
            .map(|w| w["expires"].as_str().unwrap())
            .collect();
        let mut sorted = expiries.clone();
        sorted.sort();
        assert_eq!(expiries, sorted, "case {}: by expiry", c.name);
        let mine = listed
            .iter()
            .find(|w| w["name"] == waiver.as_str())
            .unwrap();
        assert_eq!(mine["state"], c.state, "case {}", c.name);
        let unused = c.codes.contains(&"V504");
        assert_eq!(mine["matches"] == 0, unused, "case {}", c.name);
    }
}

#[test]
fn waiver_findings_appear_in_every_format_and_the_scan_lists_waivers() {
    let c = &CASES[0];
    let ws = waiver_workspace(c);
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
        "html",
    ] {
        for command in ["scan", "check"] {
            let (_, out, err) = vow_in(ws.path(), &[command, "--now", NOW, "--format", format]);
            assert!(
                out.contains("case-unused"),
                "vow {command} --format {format} names the unused waiver\n{err}"
            );
            assert!(
                out.contains("V504") || out.contains("waiver-unused"),
                "vow {command} --format {format}: V504"
            );
        }
    }
    for (format, heading) in [
        ("human", "waivers by expiry:"),
        ("markdown", "### Waivers by expiry"),
        ("html", "Waivers by expiry"),
    ] {
        let (_, out, _) = vow_in(ws.path(), &["scan", "--now", NOW, "--format", format]);
        let at = out
            .find(heading)
            .unwrap_or_else(|| panic!("{format}: no list of waivers"));
        let list = &out[at..];
        let first = list.find("carts-db-staging-unencrypted").unwrap();
        let later = list.find("case-unused").unwrap();
        assert!(
            first < later,
            "{format}: the one expiring first comes first"
        );
    }
}

#[test]
fn the_waiver_window_is_in_the_vow_yaml_schema() {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("schemas/vow.json")).unwrap())
            .unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    assert!(v.is_valid(&json!({"waivers": {"warnDays": 30}})));
    assert!(!v.is_valid(&json!({"waivers": {"warnDays": -1}})));
    assert!(!v.is_valid(&json!({"waivers": {"warnDay": 30}})));
    let ws = waiver_workspace(&CASES[0]);
    let config = ws.path().join("vow.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text}\nwaivers:\n  warnDays: soon\n")).unwrap();
    let (code, _, err) = vow_in(ws.path(), &["scan", "--now", NOW]);
    assert_ne!(code, 0);
    assert!(
        err.contains("vow.yaml") && err.contains("warnDays"),
        "{err}"
    );
}
