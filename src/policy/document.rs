//! Rule and Waiver documents as typed descriptions, for their JSON Schemas (`vow schemas`,
//! schemas/rule.json and schemas/waiver.json; docs/editors.md).
//!
//! The loader (`parse_rule`, `parse_waiver` in this module's parent) reads these documents by
//! hand, field by field, so that each bad value is its own finding at its own line with its own
//! fix; serde would stop at the first problem with one message for the whole document. These
//! types say the same shape in serde's terms, so that schemars can derive the schema from them;
//! the tests below check that the parser and the schema derived from these types agree, case by
//! case. The schema is the stricter of the two where editors are helped by it: `spec` needs
//! exactly one of `script` and `file`, and `metadata` takes only a name, labels and annotations.

// The fields are never read: the types exist for the schema and for the tests' deserialising.
#![allow(dead_code)]

use super::{Enforcement, Match, On};
use crate::diag::Severity;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The API version of vow's own documents.
#[derive(Deserialize, JsonSchema)]
pub(crate) enum ApiVersion {
    #[serde(rename = "vow.dev/v1alpha1")]
    V1alpha1,
}

/// A document's metadata: its name and, optionally, labels and annotations.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Metadata {
    /// The document's name, the stable id every report uses: a DNS-1123 subdomain (lower-case
    /// letters, digits, `-` and `.`, at most 253 characters), e.g. `require-owner-label`.
    #[schemars(
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"),
        length(max = 253)
    )]
    name: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    /// `vow.dev/description` on a Rule: what it is for, shown with its findings.
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize, JsonSchema)]
enum RuleKind {
    Rule,
}

/// A platform Rule: a Rhai script run over every matching instance; `deny()` makes a finding
/// (docs/policy.md).
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "vow Rule")]
pub(crate) struct RuleDocument {
    api_version: ApiVersion,
    kind: RuleKind,
    metadata: Metadata,
    spec: RuleSpec,
}

/// What a Rule checks, where, and how bad a failure is.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [{"required": ["script"]}, {"required": ["file"]}]))]
struct RuleSpec {
    /// How bad a finding of this rule is (default `medium`).
    #[serde(default)]
    severity: Option<Severity>,
    /// `block` (default): a failing instance is in no wave; `warn`: it is only reported.
    #[serde(default)]
    enforcement: Option<Enforcement>,
    /// Which instances the rule applies to; every key narrows, and none means every instance.
    #[serde(default, rename = "match")]
    matcher: Option<Match>,
    /// `request` (default): the script sees the defaulted request; `outputs`: the documents it
    /// renders.
    #[serde(default)]
    on: Option<On>,
    /// The Rhai script, inline.
    #[serde(default)]
    script: Option<String>,
    /// The Rhai script in a file, relative to the Rule's file and inside the workspace.
    #[serde(default)]
    file: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
enum WaiverKind {
    Waiver,
}

/// An exception to one rule for matching instances, until a date: named, reasoned, owned and
/// expiring. A waived finding is still reported, as waived (docs/policy.md).
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "vow Waiver")]
pub(crate) struct WaiverDocument {
    api_version: ApiVersion,
    kind: WaiverKind,
    metadata: Metadata,
    spec: WaiverSpec,
}

/// Which rule is waived, for which instances, why, by whom and until when.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct WaiverSpec {
    /// The name of the Rule waived.
    #[schemars(regex(pattern = r"\S"))]
    rule: String,
    /// Which instances are excepted; none: every instance the rule matches.
    #[serde(default, rename = "match")]
    matcher: Option<Match>,
    /// Why the exception is allowed (a ticket, a plan to end it).
    #[schemars(regex(pattern = r"\S"))]
    reason: String,
    /// Who answers for it (a team's address).
    #[schemars(regex(pattern = r"\S"))]
    owner: String,
    /// The last day the waiver holds (inclusive, UTC), as `2026-12-31`.
    #[schemars(regex(pattern = r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*$"), extend("format" = "date"))]
    expires: String,
}

#[cfg(test)]
mod tests {
    use super::{RuleDocument, WaiverDocument};
    use crate::source::Doc;
    use serde_json::{json, Value};
    use std::path::Path;

    fn doc(value: Value) -> Doc {
        Doc {
            value,
            item: None,
            location: crate::diag::Location::new("rules/x.yaml".into(), 1),
        }
    }

    fn rule(spec: Value) -> Value {
        json!({"apiVersion": "vow.dev/v1alpha1", "kind": "Rule",
               "metadata": {"name": "a-rule"}, "spec": spec})
    }

    fn waiver(spec: Value) -> Value {
        json!({"apiVersion": "vow.dev/v1alpha1", "kind": "Waiver",
               "metadata": {"name": "a-waiver"}, "spec": spec})
    }

    fn schema_accepts<T: schemars::JsonSchema>(value: &Value) -> bool {
        let schema = serde_json::to_value(schemars::schema_for!(T)).unwrap();
        jsonschema::validator_for(&schema).unwrap().is_valid(value)
    }

    /// Each case: the document, whether the parser takes it, whether the schema derived from
    /// the typed description takes it. Where they differ, the schema is the stricter, on
    /// purpose.
    #[test]
    fn the_parser_and_the_typed_description_agree() {
        let script = "deny(\"x\")";
        let rules = [
            (rule(json!({"script": script})), true, true),
            (
                rule(
                    json!({"severity": "critical", "enforcement": "warn", "on": "outputs",
                            "match": {"promises": ["p"], "selector": {"matchLabels": {"env": "prod"}}},
                            "script": script}),
                ),
                true,
                true,
            ),
            (
                rule(json!({"severity": "urgent", "script": script})),
                false,
                false,
            ),
            (
                rule(json!({"enforcement": "deny", "script": script})),
                false,
                false,
            ),
            (
                rule(json!({"on": "inputs", "script": script})),
                false,
                false,
            ),
            (
                rule(json!({"match": {"promise": ["p"]}, "script": script})),
                false,
                false,
            ),
            (rule(json!({"severity": "low"})), false, false),
            (
                rule(json!({"severty": "low", "script": script})),
                false,
                false,
            ),
        ];
        let root = Path::new(".");
        for (i, (value, parser, typed)) in rules.into_iter().enumerate() {
            let parsed = super::super::parse_rule(root, &doc(value.clone())).is_ok();
            assert_eq!(parsed, parser, "rule case {i}: the parser");
            let described = schema_accepts::<RuleDocument>(&value);
            assert_eq!(described, typed, "rule case {i}: the schema");
        }
        let ok = json!({"rule": "r", "reason": "why", "owner": "me@example.com",
                        "expires": "2026-12-31", "match": {"namespace": "n", "names": ["a"]}});
        let without = |key: &str| {
            let mut v = ok.clone();
            v.as_object_mut().unwrap().remove(key);
            v
        };
        let with = |key: &str, value: Value| {
            let mut v = ok.clone();
            v.as_object_mut().unwrap().insert(key.into(), value);
            v
        };
        let waivers = [
            (waiver(ok.clone()), true, true),
            (waiver(without("reason")), false, false),
            (waiver(without("owner")), false, false),
            (waiver(without("expires")), false, false),
            (waiver(without("rule")), false, false),
            (waiver(with("expires", json!(20261231))), false, false),
            (waiver(with("match", json!({"name": "a"}))), false, false),
            (waiver(with("expiry", json!("2026-12-31"))), false, false),
            (waiver(with("expires", json!("next week"))), false, false),
            (waiver(with("reason", json!("  "))), false, false),
            // Stricter: the schema checks the form of a date, the parser the date itself.
            (waiver(with("expires", json!("2026-02-30"))), false, true),
        ];
        for (i, (value, parser, typed)) in waivers.into_iter().enumerate() {
            let parsed = super::super::parse_waiver(root, &doc(value.clone())).is_ok();
            assert_eq!(parsed, parser, "waiver case {i}: the parser");
            let described = schema_accepts::<WaiverDocument>(&value);
            assert_eq!(described, typed, "waiver case {i}: the schema");
        }
    }
}
