//! A `wgpolicyk8s.io/v1alpha2` ClusterPolicyReport (the Kubernetes Policy WG's format, read by
//! Policy Reporter and Kyverno's UI): one result per (rule, instance) check, plus one `error`
//! result per finding no check covers, and a summary that counts the results. The results are
//! shared with the OpenReports format (`openreports.rs`), whose results have the same shape.
//!
//! A result's `resources[]` names the request as Kubernetes does: the request's `apiVersion`
//! (its Promise's API group and storage version), `kind` (`Bucket`), `name` and `namespace`.

use super::{object_ref, ObjectRef, PolicyView};
use crate::diag::{Finding, Severity};
use crate::policy::CheckOutcome;
use crate::scan::Checked;
use serde_json::{json, Value};

/// One report result and the request it is about, when it is about one.
pub struct Entry {
    pub object: Option<ObjectRef>,
    pub result: Value,
}

/// Every result of the report, in the report's order: the checks, then the other findings.
pub fn entries(v: &PolicyView) -> Vec<Entry> {
    let ts = json!({"seconds": v.now.timestamp(), "nanos": 0});
    let mut out: Vec<Entry> = Vec::new();
    for c in v.checked {
        let object = object_ref(v.apis, &c.id.to_string());
        for o in &c.outcomes {
            out.push(Entry {
                result: check_result(v, c, o, object.as_ref(), &ts),
                object: object.clone(),
            });
        }
    }
    let covered = !v.checked.is_empty();
    for f in v
        .findings
        .iter()
        .filter(|f| (f.severity > Severity::Info || f.blocking) && !(covered && f.rule.is_some()))
    {
        let object = f.instance.as_deref().and_then(|i| object_ref(v.apis, i));
        out.push(Entry {
            result: finding_result(f, object.as_ref(), &ts),
            object,
        });
    }
    out
}

/// The report's `summary`: its results counted by outcome.
pub fn summary(results: &[&Value]) -> Value {
    let count = |k: &str| results.iter().filter(|r| r["result"] == k).count();
    json!({"pass": count("pass"), "fail": count("fail"), "warn": count("warn"), "error": count("error"), "skip": count("skip")})
}

pub fn render(v: &PolicyView) -> String {
    let results: Vec<Value> = entries(v).into_iter().map(|e| e.result).collect();
    let report = json!({
        "apiVersion": "wgpolicyk8s.io/v1alpha2",
        "kind": "ClusterPolicyReport",
        "metadata": {"name": format!("vow-{}", v.command), "labels": {"app.kubernetes.io/managed-by": "vow"}},
        "scope": {"kind": "Platform", "name": "vow"},
        "summary": summary(&results.iter().collect::<Vec<_>>()),
        "results": results
    });
    serde_yaml::to_string(&report).unwrap_or_default()
}

fn resources(object: Option<&ObjectRef>) -> Value {
    Value::Array(object.map(ObjectRef::to_json).into_iter().collect())
}

/// The result of one rule's check of one instance.
fn check_result(
    v: &PolicyView,
    c: &Checked,
    o: &CheckOutcome,
    object: Option<&ObjectRef>,
    ts: &Value,
) -> Value {
    let rule = v.rule(&o.rule);
    let mine: Vec<_> = c
        .findings
        .iter()
        .filter(|f| f.rule.as_deref() == Some(&*o.rule))
        .collect();
    let warn_only = rule.is_some_and(|r| r.enforcement == crate::policy::Enforcement::Warn);
    let (result, message) = if o.waived {
        let w = mine.iter().find_map(|f| f.waived.as_ref());
        (
            "skip",
            w.map(|w| format!("waived by {} until {}: {}", w.waiver, w.expires, w.reason))
                .unwrap_or_default(),
        )
    } else if o.passed {
        ("pass", "passed".to_string())
    } else {
        let m = mine
            .iter()
            .map(|f| f.message.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        (if warn_only { "warn" } else { "fail" }, m)
    };
    let severity = rule.map(|r| r.severity).unwrap_or(Severity::Medium);
    json!({
        "policy": &*o.rule,
        "rule": &*o.rule,
        "result": result,
        "severity": severity.as_str(),
        "category": "vow",
        "source": "vow",
        "scored": true,
        "message": message,
        "resources": resources(object),
        "timestamp": ts,
        "properties": {"instance": c.id.to_string(), "file": c.location.file.to_string(), "line": c.location.line.to_string()}
    })
}

/// A finding no check covers: `skip` when waived, `fail` when it blocks, `warn` otherwise.
fn finding_outcome(f: &Finding) -> &'static str {
    if f.waived.is_some() {
        "skip"
    } else if f.blocking {
        "fail"
    } else {
        "warn"
    }
}

/// The result of a finding no check covers.
fn finding_result(f: &Finding, object: Option<&ObjectRef>, ts: &Value) -> Value {
    let mut properties = serde_json::Map::new();
    if let Some(l) = &f.location {
        properties.insert("file".into(), l.file.to_string().into());
        properties.insert("line".into(), l.line.to_string().into());
    }
    if let Some(i) = &f.instance {
        properties.insert("instance".into(), i.clone().into());
    }
    let mut r = json!({
        "policy": f.id(),
        "rule": f.code.name,
        "result": finding_outcome(f),
        "severity": f.severity.as_str(),
        "category": "vow",
        "source": "vow",
        "scored": true,
        "message": f.message,
        "timestamp": ts,
        "properties": properties,
    });
    if let (Some(o), Some(map)) = (object, r.as_object_mut()) {
        map.insert("resources".into(), json!([o.to_json()]));
    }
    r
}
