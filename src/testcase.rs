//! `vow test`: test cases beside rules and Promises, like `kyverno test` and `opa test`.
//!
//! A `Test` document lists cases; each gives a request (whole, or a Promise plus labels and a
//! spec) and what it must produce: the findings by rule or code and severity, whether it is
//! blocked, and rendered files. See docs/policy.md for the format.

use crate::diag::{self, Finding, Location};
use crate::evaluate::{self, Detail, Evaluated};
use crate::load::inputs::Catalogue;
use crate::load::request;
use crate::policy::TestDoc;
use crate::source::Doc;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

// A Test document whole, for its JSON Schema (schemas/test.json): the loader keeps the document
// raw and `vow test` reads its `spec` as `TestSpec`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(
    title = "vow Test",
    description = "Test cases beside rules and Promises, run by `vow test`: requests and the findings, blocking and rendered files they must give (docs/policy.md)."
)]
#[allow(dead_code)] // only for the schema: `run_test` reads `spec` alone
pub(crate) struct TestDocument {
    api_version: crate::policy::document::ApiVersion,
    kind: TestKind,
    metadata: crate::policy::document::Metadata,
    spec: TestSpec,
}

#[derive(Deserialize, JsonSchema)]
enum TestKind {
    Test,
}

/// Test cases for rules or Promises, run by `vow test` (docs/policy.md).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TestSpec {
    /// Only these rules' findings are compared (default: every finding above info).
    #[serde(default)]
    rules: Vec<String>,
    /// The time waivers are judged at, for this test: RFC 3339 or a date (midnight UTC).
    #[serde(default)]
    now: Option<String>,
    cases: Vec<Case>,
}

/// One case: a request (whole, or a Promise with a namespace, labels and a spec) and what it
/// must produce.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Case {
    /// What the case shows; reports name it.
    name: String,
    /// The whole request (apiVersion, kind, metadata, spec).
    #[serde(default)]
    #[schemars(with = "Option<BTreeMap<String, Value>>")]
    request: Option<Value>,
    /// The Promise to build a request of, without `request`.
    #[serde(default)]
    promise: Option<String>,
    /// The built request's namespace.
    #[serde(default)]
    namespace: Option<String>,
    /// The built request's labels.
    #[serde(default)]
    labels: BTreeMap<String, String>,
    /// The built request's spec.
    #[serde(default)]
    #[schemars(with = "Option<BTreeMap<String, Value>>")]
    spec: Option<Value>,
    /// What the request must produce.
    #[serde(default)]
    expect: Expect,
}

/// What a case must produce; what is left out is not compared.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Expect {
    /// The findings, exactly (`[]`: none).
    #[serde(default)]
    findings: Option<Vec<Expected>>,
    /// Whether the instance is held back.
    #[serde(default)]
    blocked: Option<bool>,
    /// Rendered files by path, compared exactly.
    #[serde(default)]
    files: BTreeMap<String, String>,
}

/// An expected finding, by rule name or finding code.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Expected {
    /// The name of the Rule that makes the finding.
    #[serde(default)]
    rule: Option<String>,
    /// A finding code, like `V100`.
    #[serde(default)]
    code: Option<String>,
    /// The finding's severity.
    #[serde(default)]
    #[schemars(with = "Option<crate::diag::Severity>")]
    severity: Option<String>,
    /// Whether a Waiver excepts the finding.
    #[serde(default)]
    waived: Option<bool>,
}

/// The result of one case.
#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    pub test: String,
    pub case: String,
    #[serde(flatten)]
    pub location: Location,
    pub passed: bool,
    /// Why it failed: expected against actual, and diffs.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// Runs every test case of the workspace. Malformed tests are findings.
pub(crate) fn run_all(catalogue: &Catalogue) -> (Vec<CaseResult>, Vec<Finding>) {
    let mut results = Vec::new();
    let mut findings = Vec::new();
    for t in &catalogue.policy.tests {
        match run_test(catalogue, t) {
            Ok(r) => results.extend(r),
            Err(f) => findings.push(f),
        }
    }
    (results, findings)
}

fn run_test(catalogue: &Catalogue, t: &TestDoc) -> Result<Vec<CaseResult>, Finding> {
    let name = t.doc.name().unwrap_or("test").to_string();
    let root = &catalogue.ws.root;
    let spec: TestSpec = serde_json::from_value(
        t.doc.value.get("spec").cloned().unwrap_or(Value::Null),
    )
    .map_err(|e| {
        Finding::new(diag::INVALID_RULE, format!("Test {name}: {e}"))
            .at(t.doc.field_location(root, "spec"))
    })?;
    let now = match &spec.now {
        Some(n) => crate::duration::parse_time(n).map_err(|e| {
            Finding::new(diag::INVALID_RULE, format!("Test {name}: spec.now: {e}"))
                .at(t.doc.field_location(root, "spec.now"))
        })?,
        None => catalogue.now,
    };
    let mut out = Vec::new();
    for (i, case) in spec.cases.iter().enumerate() {
        let at = t.doc.field_location(root, &format!("spec.cases[{i}]"));
        let location = Location::new(at.file, at.line);
        let (passed, detail) = match run_case(catalogue, now, &spec, case, &location) {
            Ok(ev) => compare(&spec, case, &ev),
            Err(why) => (false, why),
        };
        out.push(CaseResult {
            test: name.clone(),
            case: case.name.clone(),
            location,
            passed,
            detail,
        });
    }
    Ok(out)
}

/// The request a case describes.
fn case_request(catalogue: &Catalogue, case: &Case) -> Result<Value, String> {
    if let Some(r) = &case.request {
        return Ok(r.clone());
    }
    let promise = case
        .promise
        .as_deref()
        .ok_or("a case needs `request`, or `promise` and `spec`")?;
    let p = catalogue
        .promise_by_name(promise)
        .ok_or_else(|| format!("there is no Promise `{promise}`"))?;
    let api = p
        .api
        .as_ref()
        .ok_or_else(|| format!("Promise {promise} offers no API"))?;
    Ok(json!({
        "apiVersion": format!("{}/{}", api.group, api.version),
        "kind": api.kind,
        "metadata": {
            // Short enough for any Promise's own name limits.
            "name": short_name(&case.name),
            "namespace": case.namespace.clone().unwrap_or_else(|| "test".into()),
            "labels": case.labels,
        },
        "spec": case.spec.clone().unwrap_or(json!({})),
    }))
}

fn run_case(
    catalogue: &Catalogue,
    now: chrono::DateTime<chrono::Utc>,
    _spec: &TestSpec,
    case: &Case,
    at: &Location,
) -> Result<Evaluated, String> {
    let value = case_request(catalogue, case)?;
    let doc = Doc {
        location: at.clone(),
        item: Some("(test case)".into()),
        value,
    };
    let index = request::PromiseIndex::new(&catalogue.promises);
    let (mut reqs, findings) = request::parse_docs(vec![doc], &catalogue.promises, &index);
    let Some(r) = reqs.pop() else {
        let why: Vec<String> = findings.iter().map(|f| f.message.clone()).collect();
        return Err(format!(
            "the case's request cannot be read: {}",
            why.join("; ")
        ));
    };
    // Cases judge waivers at their own time; the store plays no part (a case has no history).
    let opts = evaluate::Options {
        now: Some(now),
        with_store: false,
        ..evaluate::Options::new(Detail::Contents)
    };
    let mut evaluated = evaluate::run(catalogue, evaluate::Requests::Borrowed(vec![&r]), &opts);
    evaluated
        .pop()
        .ok_or_else(|| "the case's request was not evaluated".to_string())
}

fn short_name(case: &str) -> String {
    let slug = crate::script::stdlib::slug(case);
    // At most 40 bytes, cut at a character boundary.
    let end = slug
        .char_indices()
        .map(|(i, c)| i + c.len_utf8())
        .take_while(|&end| end <= 40)
        .last()
        .unwrap_or(0);
    let cut = slug.get(..end).unwrap_or_default();
    let name = cut.trim_end_matches('-');
    if name.is_empty() {
        "test".to_string()
    } else {
        name.to_string()
    }
}

fn key(f: &Finding) -> String {
    let waived = if f.waived.is_some() { " (waived)" } else { "" };
    format!("{} {}{waived}", f.id(), f.severity.as_str())
}

fn compare(spec: &TestSpec, case: &Case, ev: &Evaluated) -> (bool, String) {
    let mut detail = String::new();
    if let Some(expected) = &case.expect.findings {
        compare_findings(&mut detail, spec, expected, ev);
    }
    compare_blocked(&mut detail, case, ev);
    compare_files(&mut detail, case, ev);
    (detail.is_empty(), detail)
}

/// The findings of the test's rules (or, with none named, every finding above info), each as its
/// id and severity; an expected finding without a severity takes the actual one's.
fn compare_findings(detail: &mut String, spec: &TestSpec, expected: &[Expected], ev: &Evaluated) {
    let mut actual: Vec<String> = ev
        .findings
        .iter()
        .filter(|f| {
            if spec.rules.is_empty() {
                f.severity > diag::Severity::Info
            } else {
                f.rule
                    .as_deref()
                    .is_some_and(|r| spec.rules.iter().any(|x| x == r))
            }
        })
        .map(key)
        .collect();
    actual.sort();
    let mut want: Vec<String> = expected
        .iter()
        .map(|e| {
            let id = e.rule.clone().or(e.code.clone()).unwrap_or_default();
            let sev = e.severity.clone().or_else(|| {
                actual
                    .iter()
                    .find(|a| a.split(' ').next() == Some(id.as_str()))
                    .and_then(|a| a.split(' ').nth(1).map(String::from))
            });
            let waived = if e.waived == Some(true) {
                " (waived)"
            } else {
                ""
            };
            format!("{id} {}{waived}", sev.unwrap_or_default())
        })
        .collect();
    want.sort();
    if want != actual {
        detail.push_str("findings differ\n");
        detail.push_str(&format!("  expected: {}\n", list(&want)));
        detail.push_str(&format!("  actual:   {}\n", list(&actual)));
        for f in &ev.findings {
            detail.push_str(&format!("    {}\n", f.message));
        }
    }
}

fn compare_blocked(detail: &mut String, case: &Case, ev: &Evaluated) {
    if let Some(b) = case.expect.blocked {
        if b != ev.blocked {
            detail.push_str(&format!(
                "expected the request to be {}, but it is {}\n",
                blocked_word(b),
                blocked_word(ev.blocked)
            ));
            for f in ev.findings.iter().filter(|f| f.blocking) {
                detail.push_str(&format!("  because [{}] {}\n", f.id(), f.message));
            }
        }
    }
}

/// Each expected file against the rendered file whose path ends with it, as a diff.
fn compare_files(detail: &mut String, case: &Case, ev: &Evaluated) {
    for (path, want) in &case.expect.files {
        let suffix = format!("/{path}");
        match ev.files.iter().find(|f| f.path.ends_with(&suffix)) {
            None => detail.push_str(&format!(
                "no rendered file `{path}` (rendered: {})\n",
                ev.files
                    .iter()
                    .map(|f| f.path.rsplit('/').next().unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Some(f) if f.content.trim_end() != want.trim_end() => {
                let (want, have) = (
                    format!("{}\n", want.trim_end()),
                    format!("{}\n", f.content.trim_end()),
                );
                let diff = similar::TextDiff::from_lines(&want, &have);
                detail.push_str(&format!("`{path}` differs (- expected, + rendered):\n"));
                detail.push_str(
                    &diff
                        .unified_diff()
                        .context_radius(3)
                        .header("expected", "rendered")
                        .to_string(),
                );
            }
            Some(_) => {}
        }
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(", ")
    }
}

fn blocked_word(b: bool) -> &'static str {
    if b {
        "blocked"
    } else {
        "not blocked"
    }
}
