//! SARIF 2.1.0, as GitHub code scanning ingests it: one rule per rule id (platform rules and
//! finding codes), descriptions and help, `security-severity`, a file and start line on every
//! result, stable `partialFingerprints`, and waived findings as accepted suppressions.

use super::PolicyView;
use crate::diag::{Finding, Location, Severity};
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

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

/// Ends a text with a period, as SARIF's message guidelines ask (borrowed when it does).
fn sentence(s: &str) -> Cow<'_, str> {
    let t = s.trim();
    if t.ends_with(['.', '!', '?']) {
        Cow::Borrowed(t)
    } else {
        Cow::Owned(format!("{t}."))
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
                short: sentence(&short).into_owned(),
                full: sentence(&desc).into_owned(),
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
            short: sentence(&c.name.replace('-', " ")).into_owned(),
            full: sentence(c.explain).into_owned(),
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
    // The first 32 hex digits: the first 16 bytes of the digest.
    let digest = Sha256::digest(key);
    let mut hex = String::with_capacity(32);
    for b in digest.iter().take(16) {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

// The SARIF document as typed values. Every struct's fields are in the byte order of their
// JSON keys, the order the `serde_json::Value` tree this replaced wrote them in (its maps are
// sorted), so the bytes are the same; typed values are built on every thread without a map per
// object, then written in one pass.

#[derive(Serialize)]
struct Doc<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    runs: [Run<'a>; 1],
    version: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    column_kind: &'static str,
    results: Vec<SarifResult<'a>>,
    tool: Tool<'a>,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    information_uri: &'static str,
    name: &'static str,
    rules: Vec<SarifRule<'a>>,
    semantic_version: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifRule<'a> {
    default_configuration: Level,
    full_description: Text<'a>,
    help: Help<'a>,
    id: &'a str,
    name: &'a str,
    properties: RuleProperties,
    short_description: Text<'a>,
}

#[derive(Serialize)]
struct Level {
    level: &'static str,
}

#[derive(Serialize)]
struct Text<'a> {
    text: Cow<'a, str>,
}

#[derive(Serialize)]
struct Help<'a> {
    markdown: &'a str,
    text: &'a str,
}

#[derive(Serialize)]
struct RuleProperties {
    precision: &'static str,
    #[serde(rename = "security-severity", skip_serializing_if = "Option::is_none")]
    security_severity: Option<&'static str>,
    tags: &'static [&'static str],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    level: &'static str,
    locations: [Located<'a>; 1],
    message: Text<'a>,
    partial_fingerprints: Fingerprints,
    properties: ResultProperties<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    related_locations: Option<[Related<'a>; 1]>,
    rule_id: &'a str,
    rule_index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressions: Option<[Suppression; 1]>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Located<'a> {
    physical_location: Physical<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Physical<'a> {
    artifact_location: Artifact<'a>,
    region: Region,
}

#[derive(Serialize)]
struct Artifact<'a> {
    uri: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_column: u32,
    start_line: u32,
}

#[derive(Serialize)]
struct Fingerprints {
    #[serde(rename = "vowFindingHash/v1")]
    v1: String,
}

#[derive(Serialize)]
struct ResultProperties<'a> {
    blocking: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    instance: Option<&'a str>,
    severity: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Related<'a> {
    id: u32,
    message: Text<'a>,
    physical_location: Physical<'a>,
}

#[derive(Serialize)]
struct Suppression {
    justification: String,
    kind: &'static str,
    status: &'static str,
}

fn physical(l: &Location) -> Physical<'_> {
    Physical {
        artifact_location: Artifact { uri: &l.file },
        region: Region {
            start_column: l.column.unwrap_or(1).max(1),
            start_line: l.line.max(1),
        },
    }
}

/// Every result needs a location; workspace-wide findings point at the configuration.
fn primary(f: &Finding) -> Physical<'_> {
    match &f.location {
        Some(l) => physical(l),
        None => Physical {
            artifact_location: Artifact { uri: "vow.yaml" },
            region: Region {
                start_column: 1,
                start_line: 1,
            },
        },
    }
}

fn result(f: &Finding, index: usize) -> SarifResult<'_> {
    SarifResult {
        level: level(f),
        locations: [Located {
            physical_location: primary(f),
        }],
        message: Text {
            text: sentence(&f.message),
        },
        partial_fingerprints: Fingerprints { v1: fingerprint(f) },
        properties: ResultProperties {
            blocking: f.blocking,
            instance: f.instance.as_deref(),
            severity: f.severity.as_str(),
        },
        // The primary location is the request (what its owner fixes); the script that said
        // so is where the message comes from.
        related_locations: f.related.as_ref().map(|rel| {
            [Related {
                id: 1,
                message: Text {
                    text: Cow::Borrowed("The step's call that reported this."),
                },
                physical_location: physical(rel),
            }]
        }),
        rule_id: f.id(),
        rule_index: index,
        suppressions: f.waived.as_ref().map(|w| {
            [Suppression {
                justification: format!(
                    "waived by {} until {} ({}; owner {})",
                    w.waiver, w.expires, w.reason, w.owner
                ),
                kind: "external",
                status: "accepted",
            }]
        }),
    }
}

fn rule(m: &RuleMeta) -> SarifRule<'_> {
    let security = security_severity(m.severity);
    SarifRule {
        default_configuration: Level {
            level: match m.severity {
                Severity::Critical | Severity::High => "error",
                Severity::Medium | Severity::Low => "warning",
                Severity::Info => "note",
            },
        },
        full_description: Text {
            text: Cow::Borrowed(&m.full),
        },
        help: Help {
            markdown: &m.help,
            text: &m.help,
        },
        id: &m.id,
        name: &m.name,
        properties: RuleProperties {
            precision: "very-high",
            security_severity: security,
            tags: if security.is_some() {
                &["kubernetes", "platform-policy", "security"]
            } else {
                &["kubernetes", "platform-policy"]
            },
        },
        short_description: Text {
            text: Cow::Borrowed(&m.short),
        },
    }
}

pub fn render(v: &PolicyView) -> String {
    let metas = rule_metas(v);
    let index: BTreeMap<&str, usize> = metas
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id.as_str(), i))
        .collect();
    // Each result is independent (its fingerprint is a sha256): built on every thread, kept in
    // the findings' order.
    let results: Vec<SarifResult> = v
        .findings
        .par_iter()
        .map(|f| result(f, index.get(f.id()).copied().unwrap_or(0)))
        .collect();
    let doc = Doc {
        schema: SCHEMA_URI,
        runs: [Run {
            column_kind: "unicodeCodePoints",
            results,
            tool: Tool {
                driver: Driver {
                    information_uri: "https://github.com/vow-dev/vow",
                    name: "vow",
                    rules: metas.iter().map(rule).collect(),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                },
            },
        }],
        version: "2.1.0",
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
