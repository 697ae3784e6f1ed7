//! OpenReports (`openreports.io/v1alpha1`), the successor of the Policy WG's reports that
//! Kyverno and Policy Reporter read now: a multi-document YAML stream of a `ClusterReport`
//! holding the results about no request (workspace findings: loading errors, waivers) and one
//! namespaced `Report` per request namespace holding the results about that namespace's
//! requests, each with its own summary. The results are the PolicyReport's (`policyreport.rs`).

use super::policyreport::{entries, summary};
use super::PolicyView;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub fn render(v: &PolicyView) -> String {
    let mut cluster: Vec<Value> = Vec::new();
    let mut by_namespace: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for e in entries(v) {
        match e.object {
            Some(o) => by_namespace.entry(o.namespace).or_default().push(e.result),
            None => cluster.push(e.result),
        }
    }
    let name = format!("vow-{}", v.command);
    let labels = json!({"app.kubernetes.io/managed-by": "vow"});
    let mut docs = vec![json!({
        "apiVersion": "openreports.io/v1alpha1",
        "kind": "ClusterReport",
        "metadata": {"name": name, "labels": labels},
        "source": "vow",
        "summary": summary(&cluster.iter().collect::<Vec<_>>()),
        "results": cluster,
    })];
    for (namespace, results) in by_namespace {
        docs.push(json!({
            "apiVersion": "openreports.io/v1alpha1",
            "kind": "Report",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "source": "vow",
            "summary": summary(&results.iter().collect::<Vec<_>>()),
            "results": results,
        }));
    }
    let mut out = String::new();
    for d in docs {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&d).unwrap_or_default());
    }
    out
}
