//! Every output format. Reports are written to a `String` and printed by the CLI; nothing here
//! reads inputs or touches the store.

pub mod backstage;
pub mod changes;
pub mod codequality;
pub mod fleet;
pub mod github;
pub mod html;
pub mod human;
pub mod junit;
pub mod markdown;
pub mod openreports;
pub mod plan_markdown;
pub mod policyreport;
pub mod sarif;
pub mod status;

use crate::diag::{Finding, Severity};
use crate::plan::Plan;
use crate::policy::Rule;
use crate::scan::{Checked, Compliance};
use crate::testcase::CaseResult;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// The plan as the JSON plan file (`crate::plan::file`), pretty-printed, ending in a newline.
pub fn plan_json(plan: &Plan) -> String {
    crate::plan::to_json(plan)
}

/// What `vow scan` and `vow check` report, in every format.
pub struct PolicyView<'a> {
    /// `scan` or `check`.
    pub command: &'a str,
    pub findings: &'a [Finding],
    pub rules: &'a [Rule],
    /// Each instance's checks (scan; empty for check).
    pub checked: &'a [Checked],
    pub compliance: Option<&'a Compliance>,
    pub tests: &'a [CaseResult],
    pub now: DateTime<Utc>,
    /// Each Promise's request API (by Promise name), so that reports name a request by its
    /// `apiVersion` and `kind` as Kubernetes does (`Bucket`, not the Promise `bucket`).
    pub apis: &'a Apis,
    /// The waivers by expiry (scan; empty for check).
    pub waivers: &'a [crate::policy::waivers::WaiverStatus],
}

/// A request API: `apiVersion` (`group/version`, the Promise's storage version) and `kind`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiRef {
    pub api_version: String,
    pub kind: String,
}

/// Promise name → its request API.
pub type Apis = std::collections::BTreeMap<String, ApiRef>;

/// An instance as a Kubernetes object reference: the parts of a finding's `ref`
/// (`<promise>:<namespace>/<name>`), with the API of its Promise.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectRef {
    pub promise: String,
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectRef {
    /// The Kubernetes `ObjectReference` fields, as the report CRDs' `resources[]` hold them.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "namespace": self.namespace,
        })
    }
}

/// The object reference of `promise:namespace/name`; `None` for a ref that names no request
/// (a Promise's dependencies, a malformed ref).
pub fn object_ref(apis: &Apis, instance: &str) -> Option<ObjectRef> {
    let (promise, rest) = instance.split_once(':')?;
    let (namespace, name) = rest.split_once('/')?;
    // A Promise without an API (or one that failed to load) still names the object: its kind
    // is unknown, so the Promise's name stands in, as before.
    let api = apis.get(promise).cloned().unwrap_or_else(|| ApiRef {
        api_version: String::new(),
        kind: promise.to_string(),
    });
    Some(ObjectRef {
        promise: promise.to_string(),
        api_version: api.api_version,
        kind: api.kind,
        namespace: namespace.to_string(),
        name: name.to_string(),
    })
}

/// The APIs of a set of Promises.
pub fn apis_of(promises: &[crate::model::Promise]) -> Apis {
    promises
        .iter()
        .filter_map(|p| {
            let api = p.api.as_ref()?;
            Some((
                p.name.clone(),
                ApiRef {
                    api_version: format!("{}/{}", api.group, api.version),
                    kind: api.kind.clone(),
                },
            ))
        })
        .collect()
}

impl PolicyView<'_> {
    /// Findings that count: not waived, above info.
    pub fn open(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.waived.is_none() && f.severity > Severity::Info)
    }

    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| &*r.name == name)
    }

    /// Counts of unwaived findings by severity, highest first.
    pub fn by_severity(&self) -> Vec<(Severity, usize)> {
        let order = [
            Severity::Critical,
            Severity::High,
            Severity::Medium,
            Severity::Low,
            Severity::Info,
        ];
        order
            .iter()
            .map(|s| {
                (
                    *s,
                    self.findings
                        .iter()
                        .filter(|f| f.waived.is_none() && f.severity == *s)
                        .count(),
                )
            })
            .collect()
    }

    pub fn waived(&self) -> usize {
        self.findings.iter().filter(|f| f.waived.is_some()).count()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonReport<'a> {
    schema_version: u32,
    command: &'a str,
    now: String,
    summary: JsonSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    compliance: Option<&'a Compliance>,
    findings: &'a [Finding],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    tests: &'a [CaseResult],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    waivers: &'a [crate::policy::waivers::WaiverStatus],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonSummary {
    findings: usize,
    waived: usize,
    critical: usize,
    high: usize,
    medium: usize,
    low: usize,
    info: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    tests_passed: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tests_failed: Option<usize>,
}

/// The machine-readable report of a scan or check.
pub fn policy_json(v: &PolicyView) -> String {
    let sev = v.by_severity();
    let count = |s: Severity| sev.iter().find(|x| x.0 == s).map(|x| x.1).unwrap_or(0);
    let passed = v.tests.iter().filter(|t| t.passed).count();
    let report = JsonReport {
        schema_version: 1,
        command: v.command,
        now: crate::duration::format_time(v.now),
        summary: JsonSummary {
            findings: v.findings.len(),
            waived: v.waived(),
            critical: count(Severity::Critical),
            high: count(Severity::High),
            medium: count(Severity::Medium),
            low: count(Severity::Low),
            info: count(Severity::Info),
            tests_passed: (!v.tests.is_empty()).then_some(passed),
            tests_failed: (!v.tests.is_empty()).then_some(v.tests.len() - passed),
        },
        compliance: v.compliance,
        findings: v.findings,
        tests: v.tests,
        waivers: v.waivers,
    };
    let mut s = serde_json::to_string_pretty(&report).unwrap_or_default();
    s.push('\n');
    s
}

/// How many instances a waiver matches, for people (`unused` when none).
pub fn waiver_matches(w: &crate::policy::waivers::WaiverStatus) -> String {
    match w.matches {
        Some(0) => "unused: matches no instance".into(),
        Some(1) => "matches 1 instance".into(),
        Some(n) => format!("matches {n} instances"),
        None => "matches not counted".into(),
    }
}

/// A percentage with one decimal, for people.
pub fn percent(r: f64) -> String {
    format!("{:.1}%", r * 100.0)
}
