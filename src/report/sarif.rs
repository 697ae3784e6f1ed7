//! SARIF 2.1.0, as GitHub code scanning ingests it: one rule per rule id (platform rules and
//! finding codes), descriptions and help, `security-severity`, a file and start line on every
//! result, stable `partialFingerprints`, and waived findings as accepted suppressions.

use super::PolicyView;
use crate::diag::{Finding, Severity};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// GitHub's bands: critical > 9.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9.
fn security_severity(s: Severity) -> Option<&'static str> {
    match s {
        Severity::Critical => Some("9.5"),
        Severity::High => Some("8.0"),
        Severity::Medium => Some("5.5"),
        Severity::Low => Some("3.0"),
        Severity::Info => None,
    }
}

fn level(f: &Finding) -> &'static str {
    match f.severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium | Severity::Low => "warning",
        Severity::Info => "note",
    }
}

/// `postgres-cve-2026-4412` → `PostgresCve20264412`: SARIF's friendly rule name.
fn pascal(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Ends a text with a period, as SARIF's message guidelines ask.
fn sentence(s: &str) -> String {
    let t = s.trim();
    if t.ends_with(['.', '!', '?']) {
        t.to_string()
    } else {
        format!("{t}.")
    }
}

struct RuleMeta {
    id: String,
    /// A friendly name, different from the id (SARIF1001).
    name: String,
    short: String,
    full: String,
    help: String,
    severity: Severity,
}

fn rule_metas(v: &PolicyView) -> Vec<RuleMeta> {
    let mut metas: BTreeMap<String, RuleMeta> = BTreeMap::new();
    for r in v.rules {
        let desc = if r.description.is_empty() {
            format!("Platform rule {}", r.name)
        } else {
            r.description.clone()
        };
        let short = desc.split(". ").next().unwrap_or(&desc).to_string();
        metas.insert(
            r.name.to_string(),
            RuleMeta {
                id: r.name.to_string(),
                name: pascal(&r.name),
                short: sentence(&short),
                full: sentence(&desc),
                help: format!(
                    "{} Severity {}, enforcement {}. Waive a finding with a Waiver naming rule `{}`; run `vow explain {}` for details.",
                    sentence(&desc),
                    r.severity.as_str(),
                    r.enforcement.as_str(),
                    r.name,
                    r.name
                ),
                severity: r.severity,
            },
        );
    }
    for f in v.findings.iter().filter(|f| f.rule.is_none()) {
        let c = f.code;
        metas.entry(c.id.to_string()).or_insert_with(|| RuleMeta {
            id: c.id.to_string(),
            name: pascal(c.name),
            short: sentence(&c.name.replace('-', " ")),
            full: sentence(c.explain),
            help: format!(
                "{} Run `vow explain {}` for details.",
                sentence(c.explain),
                c.id
            ),
            severity: c.severity,
        });
    }
    metas.into_values().collect()
}

/// A fingerprint that survives edits that move lines: the finding's id, instance, field and
/// message, not its position.
fn fingerprint(f: &Finding) -> String {
    let key = format!(
        "{}\0{}\0{}\0{}",
        f.id(),
        f.instance.as_deref().unwrap_or(""),
        f.field.as_deref().unwrap_or(""),
        f.message
    );
    format!("{:x}", Sha256::digest(key))
        .chars()
        .take(32)
        .collect()
}

fn result(f: &Finding, index: usize) -> Value {
    let (file, line, column) = match &f.location {
        Some(l) => (
            l.file.to_string(),
            l.line.max(1),
            l.column.unwrap_or(1).max(1),
        ),
        // Every result needs a location; workspace-wide findings point at the configuration.
        None => ("vow.yaml".to_string(), 1, 1),
    };
    let mut r = json!({
        "ruleId": f.id(),
        "ruleIndex": index,
        "level": level(f),
        "message": {"text": sentence(&f.message)},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": file},
                "region": {"startLine": line, "startColumn": column}
            }
        }],
        "partialFingerprints": {"vowFindingHash/v1": fingerprint(f)},
        "properties": {"severity": f.severity.as_str(), "blocking": f.blocking}
    });
    if let (Some(rel), Some(o)) = (&f.related, r.as_object_mut()) {
        // The primary location is the request (what its owner fixes); the script that said
        // so is where the message comes from.
        o.insert(
            "relatedLocations".into(),
            json!([{
                "id": 1,
                "physicalLocation": {
                    "artifactLocation": {"uri": &*rel.file},
                    "region": {"startLine": rel.line.max(1), "startColumn": rel.column.unwrap_or(1).max(1)}
                },
                "message": {"text": "The step's call that reported this."}
            }]),
        );
    }
    if let Some(i) = &f.instance {
        if let Some(p) = r.get_mut("properties").and_then(Value::as_object_mut) {
            p.insert("instance".into(), json!(i));
        }
    }
    if let (Some(w), Some(o)) = (&f.waived, r.as_object_mut()) {
        let suppressions = json!([{
            "kind": "external",
            "status": "accepted",
            "justification": format!("waived by {} until {} ({}; owner {})", w.waiver, w.expires, w.reason, w.owner)
        }]);
        o.insert("suppressions".into(), suppressions);
    }
    r
}

pub fn render(v: &PolicyView) -> String {
    let metas = rule_metas(v);
    let index: BTreeMap<&str, usize> = metas
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id.as_str(), i))
        .collect();
    let rules: Vec<Value> = metas
        .iter()
        .map(|m| {
            let mut props =
                json!({"tags": ["kubernetes", "platform-policy"], "precision": "very-high"});
            if let Some(s) = security_severity(m.severity) {
                if let Some(p) = props.as_object_mut() {
                    p.insert("security-severity".into(), json!(s));
                    let tags = json!(["kubernetes", "platform-policy", "security"]);
                    p.insert("tags".into(), tags);
                }
            }
            json!({
                "id": m.id,
                "name": m.name,
                "shortDescription": {"text": m.short},
                "fullDescription": {"text": m.full},
                "help": {"text": m.help, "markdown": m.help},
                "defaultConfiguration": {"level": match m.severity {
                    Severity::Critical | Severity::High => "error",
                    Severity::Medium | Severity::Low => "warning",
                    Severity::Info => "note",
                }},
                "properties": props
            })
        })
        .collect();
    let results: Vec<Value> = v
        .findings
        .iter()
        .map(|f| result(f, index.get(f.id()).copied().unwrap_or(0)))
        .collect();
    let doc = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "vow",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/vow-dev/vow",
                "rules": rules
            }},
            "columnKind": "unicodeCodePoints",
            "results": results
        }]
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
