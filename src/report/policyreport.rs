//! A `wgpolicyk8s.io/v1alpha2` ClusterPolicyReport (the Kubernetes Policy WG's format, read by
//! Policy Reporter and Kyverno's UI): one result per (rule, instance) check, plus one `error`
//! result per finding no check covers, and a summary that counts the results.

use super::PolicyView;
use crate::diag::{Finding, Severity};
use crate::policy::CheckOutcome;
use crate::scan::Checked;
use serde_json::{json, Value};

fn resource(id: &crate::model::InstanceRef) -> Value {
    json!({"kind": id.promise, "name": id.name(), "namespace": id.namespace()})
}

pub fn render(v: &PolicyView) -> String {
    let ts = json!({"seconds": v.now.timestamp(), "nanos": 0});
    let mut results: Vec<Value> = Vec::new();
    for c in v.checked {
        for o in &c.outcomes {
            results.push(check_result(v, c, o, &ts));
        }
    }
    let covered = !v.checked.is_empty();
    for f in v
        .findings
        .iter()
        .filter(|f| (f.severity > Severity::Info || f.blocking) && !(covered && f.rule.is_some()))
    {
        results.push(finding_result(f, &ts));
    }
    let count = |k: &str| results.iter().filter(|r| r["result"] == k).count();
    let report = json!({
        "apiVersion": "wgpolicyk8s.io/v1alpha2",
        "kind": "ClusterPolicyReport",
        "metadata": {"name": format!("vow-{}", v.command), "labels": {"app.kubernetes.io/managed-by": "vow"}},
        "scope": {"kind": "Platform", "name": "vow"},
        "summary": {"pass": count("pass"), "fail": count("fail"), "warn": count("warn"), "error": count("error"), "skip": count("skip")},
        "results": results
    });
    serde_yaml::to_string(&report).unwrap_or_default()
}

/// The result of one rule's check of one instance.
fn check_result(v: &PolicyView, c: &Checked, o: &CheckOutcome, ts: &Value) -> Value {
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
        "resources": [resource(&c.id)],
        "timestamp": ts,
        "properties": {"instance": c.id.to_string(), "file": c.location.file.to_string(), "line": c.location.line.to_string()}
    })
}

/// The `error` (or, waived, `skip`) result of a finding no check covers.
fn finding_result(f: &Finding, ts: &Value) -> Value {
    let mut r = json!({
        "policy": f.id(),
        "rule": f.code.name,
        "result": if f.waived.is_some() { "skip" } else { "error" },
        "severity": f.severity.as_str(),
        "category": "vow",
        "source": "vow",
        "scored": true,
        "message": f.message,
        "timestamp": ts,
        "properties": {}
    });
    if let Some(l) = &f.location {
        if let Some(o) = r.as_object_mut() {
            let p = json!({"file": l.file.to_string(), "line": l.line.to_string()});
            o.insert("properties".into(), p);
        }
    }
    r
}
