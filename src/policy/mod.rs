//! Platform policy: Rules, Waivers and their loading.
//!
//! A Rule is a Rhai script run over each matching instance, either over its defaulted request
//! (`on: request`) or over the documents it renders (`on: outputs`); `deny()` makes a finding
//! with the rule's severity and enforcement. A Waiver excepts matching instances from one rule
//! until it expires; a waived finding is still reported, as waived. See docs/policy.md.

mod check;
pub(crate) mod document;
pub(crate) mod scope;
pub mod waivers;

pub use check::{check, check_with, CheckOutcome, Subject};
pub use scope::RequestVars;

use crate::diag::{self, Finding, Location, Severity};
use crate::model::Selector;
use crate::script::Script;
use crate::source::{self, locate, Doc};
use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

/// The variables a rule script finds in its scope.
pub const RULE_SCOPE: &[&str] = &[
    "request",
    "spec",
    "metadata",
    "promise",
    "outputs",
    "documents",
];

/// `spec.enforcement`: `block` keeps a failing instance out of every wave; `warn` only reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Enforcement {
    Block,
    Warn,
}

impl Enforcement {
    pub fn as_str(self) -> &'static str {
        match self {
            Enforcement::Block => "block",
            Enforcement::Warn => "warn",
        }
    }
}

/// `spec.on`: what a rule's script looks at: the defaulted `request`, or the rendered `outputs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum On {
    Request,
    Outputs,
}

/// Which instances a rule or waiver applies to. Empty lists match everything.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Match {
    /// Only instances of these Promises.
    #[serde(default)]
    pub promises: Vec<String>,
    /// Only instances in these namespaces.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// A waiver's single namespace (`namespace: team-payments`).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Instance names (waivers).
    #[serde(default)]
    pub names: Vec<String>,
    /// Only instances whose request labels match.
    #[serde(default)]
    pub selector: Option<Selector>,
}

impl Match {
    pub fn matches(&self, id: &crate::model::InstanceRef, labels: &crate::model::Labels) -> bool {
        (self.promises.is_empty() || self.promises.contains(&id.promise))
            && (self.namespaces.is_empty() || self.namespaces.iter().any(|n| n == id.namespace()))
            && self.namespace.as_ref().is_none_or(|n| n == id.namespace())
            && (self.names.is_empty() || self.names.iter().any(|n| n == id.name()))
            && self.selector.as_ref().is_none_or(|s| s.matches(labels))
    }
}

/// A compiled platform rule.
#[derive(Clone, Debug)]
pub struct Rule {
    pub name: Arc<str>,
    pub description: String,
    pub severity: Severity,
    pub enforcement: Enforcement,
    pub on: On,
    pub matcher: Match,
    pub script: Script,
    pub location: Location,
}

/// An exception to one rule for matching instances, until a date.
#[derive(Clone, Debug)]
pub struct Waiver {
    pub name: String,
    pub rule: String,
    pub matcher: Match,
    pub reason: String,
    pub owner: String,
    /// The last day the waiver is valid (inclusive, UTC).
    pub expires: NaiveDate,
    pub location: Location,
}

impl Waiver {
    pub fn active(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        now.date_naive() <= self.expires
    }
}

/// A test document (`kind: Test`), kept raw until `vow test` runs it.
#[derive(Clone, Debug)]
pub struct TestDoc {
    pub doc: Doc,
}

/// Everything under rules/ (and the tests beside Promises).
#[derive(Clone, Debug, Default)]
pub struct Policy {
    pub rules: Vec<Rule>,
    pub waivers: Vec<Waiver>,
    pub tests: Vec<TestDoc>,
    pub digest: String,
    /// Each waiver's state at load, by expiry (`waivers::statuses`).
    pub waiver_status: Vec<waivers::WaiverStatus>,
}

impl Policy {
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| &*r.name == name)
    }
}

/// Reads Rules, Waivers and Tests from `rules_dir`; `promise_tests` are the Test documents
/// beside the Promises (found by the loader's read of promises/).
pub fn load(root: &Path, rules_dir: &Path, promise_tests: Vec<Doc>) -> (Policy, Vec<Finding>) {
    let (files, skipped) = source::list_input_files(root, rules_dir);
    let (docs, mut findings) = source::read_documents(root, &files);
    findings.extend(skipped);
    let mut policy = Policy::default();
    let mut h = sha2::Sha256::default();
    for doc in &docs {
        sha2::Digest::update(&mut h, doc.value.to_string());
        match doc.kind() {
            "Rule" => match parse_rule(root, doc) {
                Ok(r) if policy.rule(&r.name).is_some() => findings.push(
                    Finding::new(
                        diag::DUPLICATE,
                        format!("Rule {} is declared twice", r.name),
                    )
                    .at(r.location),
                ),
                Ok(r) => policy.rules.push(r),
                Err(f) => findings.push(f),
            },
            "Waiver" => match parse_waiver(root, doc) {
                Ok(w) => policy.waivers.push(w),
                Err(f) => findings.push(f),
            },
            "Test" => policy.tests.push(TestDoc { doc: doc.clone() }),
            other => findings.push(
                Finding::new(
                    diag::UNKNOWN_KIND,
                    format!(
                        "{}: a document of kind `{other}` is not read in rules/; skipped",
                        doc.location.file
                    ),
                )
                .at(doc.location.clone())
                .help("rules/ holds Rule, Waiver and Test documents"),
            ),
        }
    }
    policy
        .tests
        .extend(promise_tests.into_iter().map(|doc| TestDoc { doc }));
    for w in &policy.waivers {
        if policy.rule(&w.rule).is_none() {
            findings.push(
                Finding::new(
                    diag::INVALID_RULE,
                    format!(
                        "Waiver {} names rule `{}`, which does not exist",
                        w.name, w.rule
                    ),
                )
                .at(w.location.clone())
                .help("fix spec.rule, or remove the waiver if the rule was retired"),
            );
        }
    }
    policy.rules.sort_by(|a, b| a.name.cmp(&b.name));
    policy.waivers.sort_by(|a, b| a.name.cmp(&b.name));
    policy.digest = format!("sha256:{:x}", sha2::Digest::finalize(h));
    (policy, findings)
}

fn invalid(doc: &Doc, root: &Path, field: &str, msg: String) -> Finding {
    Finding::new(diag::INVALID_RULE, msg)
        .at(doc.field_location(root, field))
        .field(field)
}

/// Rule and Waiver names are Kubernetes object names (DNS-1123 subdomains): findings and
/// reports carry them as ids.
fn check_name(root: &Path, doc: &Doc, kind: &str, name: &str) -> Result<(), Finding> {
    source::names::subdomain(name).map_err(|rule| {
        Finding::new(
            diag::INVALID_NAME,
            format!("{kind} `{name}`: metadata.name: {rule}"),
        )
        .at(doc.field_location(root, "metadata.name"))
        .field("metadata.name")
        .help(format!("rename the {kind}, e.g. `require-owner-label`"))
    })
}

/// The keys of a Rule's and a Waiver's `spec` (their schemas, `document.rs`, say the same).
const RULE_KEYS: &[&str] = &["severity", "enforcement", "match", "on", "script", "file"];
const WAIVER_KEYS: &[&str] = &["rule", "match", "reason", "owner", "expires"];

/// A misspelt key of `spec` is an error at its line: read as absent, `severty: low` would give
/// the rule the default severity without a word.
fn known_keys(root: &Path, doc: &Doc, what: &str, keys: &[&str]) -> Result<(), Finding> {
    let Some(spec) = doc.value.get("spec").and_then(Value::as_object) else {
        return Ok(());
    };
    match spec.keys().find(|k| !keys.contains(&k.as_str())) {
        None => Ok(()),
        Some(key) => Err(invalid(
            doc,
            root,
            &format!("spec.{key}"),
            format!(
                "{what}: spec.{key} is not a key of its spec ({}); check its spelling",
                keys.join(", ")
            ),
        )),
    }
}

fn str_field<'a>(doc: &'a Doc, pointer: &str) -> Option<&'a str> {
    doc.value.pointer(pointer).and_then(Value::as_str)
}

fn parse_rule(root: &Path, doc: &Doc) -> Result<Rule, Finding> {
    let name = doc
        .name()
        .ok_or_else(|| invalid(doc, root, "metadata", "a Rule without metadata.name".into()))?;
    check_name(root, doc, "Rule", name)?;
    known_keys(root, doc, &format!("Rule {name}"), RULE_KEYS)?;
    let what = |f: &str| format!("Rule {name}: {f}");
    let severity = str_field(doc, "/spec/severity").unwrap_or("medium");
    let severity = Severity::parse(severity).ok_or_else(|| {
        invalid(
            doc,
            root,
            "spec.severity",
            what(&format!(
                "severity `{severity}` is not one of info, low, medium, high, critical"
            )),
        )
    })?;
    let enforcement = match str_field(doc, "/spec/enforcement").unwrap_or("block") {
        "block" => Enforcement::Block,
        "warn" => Enforcement::Warn,
        other => {
            return Err(invalid(
                doc,
                root,
                "spec.enforcement",
                what(&format!("enforcement `{other}` is not block or warn")),
            ))
        }
    };
    let on = match str_field(doc, "/spec/on").unwrap_or("request") {
        "request" => On::Request,
        "outputs" => On::Outputs,
        other => {
            return Err(invalid(
                doc,
                root,
                "spec.on",
                what(&format!("`on: {other}` is not request or outputs")),
            ))
        }
    };
    let matcher = match doc.value.pointer("/spec/match") {
        None | Some(Value::Null) => Match::default(),
        Some(m) => serde_json::from_value(m.clone())
            .map_err(|e| invalid(doc, root, "spec.match", what(&e.to_string())))?,
    };
    let script = rule_script(root, doc, name)?;
    Ok(Rule {
        name: Arc::from(name),
        description: str_field(doc, "/metadata/annotations/vow.dev~1description")
            .unwrap_or("")
            .to_string(),
        severity,
        enforcement,
        on,
        matcher,
        script,
        location: doc.location.clone(),
    })
}

fn rule_script(root: &Path, doc: &Doc, name: &str) -> Result<Script, Finding> {
    let (text, file, offset) = if let Some(rel) = str_field(doc, "/spec/file") {
        let dir = root.join(&*doc.location.file);
        let path = source::names::workspace_file(root, dir.parent().unwrap_or(root), rel).map_err(
            |why| {
                Finding::new(
                    diag::OUTSIDE_WORKSPACE,
                    format!("Rule {name}: spec.file: {why}; not read"),
                )
                .at(doc.field_location(root, "spec.file"))
                .field("spec.file")
                .help(
                    "keep the script inside the workspace, beside the rule, and name it relatively",
                )
            },
        )?;
        let text = std::fs::read_to_string(&path).map_err(|e| {
            invalid(
                doc,
                root,
                "spec.file",
                format!("Rule {name}: cannot read `{rel}`: {e}"),
            )
        })?;
        (text, source::display_path(root, &path), 0)
    } else if let Some(text) = str_field(doc, "/spec/script") {
        let found = locate::find_in_file(root, &doc.location, "spec.script");
        let offset = found
            .map(|f| f.block_content_line.unwrap_or(f.line) - 1)
            .unwrap_or(doc.location.line - 1);
        (text.to_string(), doc.location.file.clone(), offset)
    } else {
        return Err(invalid(
            doc,
            root,
            "spec",
            format!("Rule {name} has neither spec.script nor spec.file"),
        ));
    };
    crate::script::compile(&text, file, offset, RULE_SCOPE).map_err(|f| Finding {
        message: format!("Rule {name}: {}", f.message),
        ..f
    })
}

fn parse_waiver(root: &Path, doc: &Doc) -> Result<Waiver, Finding> {
    let name = doc.name().ok_or_else(|| {
        invalid(
            doc,
            root,
            "metadata",
            "a Waiver without metadata.name".into(),
        )
    })?;
    check_name(root, doc, "Waiver", name)?;
    known_keys(root, doc, &format!("Waiver {name}"), WAIVER_KEYS)?;
    let need = |field: &str| -> Result<String, Finding> {
        str_field(doc, &format!("/spec/{field}"))
            .filter(|s| !s.trim().is_empty())
            .map(String::from)
            .ok_or_else(|| invalid(doc, root, &format!("spec.{field}"), format!("Waiver {name} needs spec.{field}: waivers are named, reasoned, owned and expiring")))
    };
    let rule = need("rule")?;
    let reason = need("reason")?;
    let owner = need("owner")?;
    let expires_text = match doc.value.pointer("/spec/expires") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(invalid(doc, root, "spec.expires", format!("Waiver {name} needs spec.expires (a date, 2026-12-31): waivers that never expire are not allowed"))),
    };
    let expires = NaiveDate::parse_from_str(expires_text.trim(), "%Y-%m-%d").map_err(|_| {
        invalid(
            doc,
            root,
            "spec.expires",
            format!("Waiver {name}: spec.expires `{expires_text}` is not a date like 2026-12-31"),
        )
    })?;
    let matcher = match doc.value.pointer("/spec/match") {
        None | Some(Value::Null) => Match::default(),
        Some(m) => serde_json::from_value(m.clone())
            .map_err(|e| invalid(doc, root, "spec.match", format!("Waiver {name}: {e}")))?,
    };
    Ok(Waiver {
        name: name.to_string(),
        rule,
        matcher,
        reason,
        owner,
        expires,
        location: doc.location.clone(),
    })
}

/// Findings about waivers at `now`: each expired waiver is reported once.
pub fn waiver_findings(policy: &Policy, now: chrono::DateTime<chrono::Utc>) -> Vec<Finding> {
    policy
        .waivers
        .iter()
        .filter(|w| !w.active(now))
        .map(|w| {
            Finding::new(
                diag::WAIVER_EXPIRED,
                format!(
                    "Waiver {} for rule {} expired on {} (owner {}): it no longer waives anything",
                    w.name, w.rule, w.expires, w.owner
                ),
            )
            .at(w.location.clone())
            .help("renew it with a new expiry and reason, or fix the instances it covered")
        })
        .collect()
}
