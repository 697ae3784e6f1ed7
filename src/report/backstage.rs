//! `vow catalog`: the fleet as Backstage catalog entities (docs/fleet.md, "The Backstage
//! catalog").
//!
//! Per Promise, one file `<promise>.yaml`: a System (the Promise's instances are its parts), a
//! Component for the Promise (`spec.type: kratix-promise`), and a Component per instance
//! (`spec.type: kratix-resource`) owned by its team, part of the System, depending on the
//! Promise's Component. `catalog-info.yaml` is a Location listing those files, so one Backstage
//! Location pointing at it picks up the whole fleet.
//!
//! Annotations follow Syntasso's Kratix plugin (`kratix.io/type`, `kratix.io/promise-name`) and
//! carry the request's kind, group, version, name and namespace; exact values (versions,
//! health, compliance, the request's file and line) are annotations, whose values Backstage
//! takes as any string. Labels get the same facts reduced to Backstage's label value rule
//! (`[A-Za-z0-9]` at both ends, `-_.` inside, at most 63), so they can be filtered on. Names
//! come from untrusted requests: every one goes through [`entity_name`].

use crate::fleet::{Entry, Inventory};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Who owns the entities of the Promises themselves (their System and Component).
pub struct Options<'a> {
    pub platform_owner: &'a str,
}

/// The catalog's files: (file name, YAML text), `catalog-info.yaml` first, then one per
/// Promise in name order. Deterministic: the same inventory gives the same bytes.
pub fn files(inv: &Inventory, opts: &Options) -> Vec<(String, String)> {
    let mut by_promise: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for e in &inv.instances {
        by_promise.entry(&e.promise).or_default().push(e);
    }
    let mut out = Vec::new();
    let targets: Vec<String> = by_promise
        .keys()
        .map(|p| format!("./{}.yaml", entity_name(p)))
        .collect();
    out.push(("catalog-info.yaml".to_string(), yaml(&[location(&targets)])));
    for (promise, entries) in by_promise {
        let mut docs = vec![
            system(promise, opts),
            promise_component(promise, entries.first().copied(), opts),
        ];
        docs.extend(entries.iter().map(|e| instance(e)));
        out.push((format!("{}.yaml", entity_name(promise)), yaml(&docs)));
    }
    out
}

/// Documents as one YAML stream, each starting with `---`.
fn yaml(docs: &[Value]) -> String {
    let mut s = String::new();
    for d in docs {
        s.push_str("---\n");
        s.push_str(&serde_yaml::to_string(d).unwrap_or_default());
    }
    s
}

fn location(targets: &[String]) -> Value {
    json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Location",
        "metadata": {
            "name": "vow-fleet",
            "description": "The fleet as vow knows it: one file per Promise (written by `vow catalog`)",
        },
        "spec": {"type": "file", "targets": targets},
    })
}

fn system(promise: &str, opts: &Options) -> Value {
    json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "System",
        "metadata": {
            "name": entity_name(promise),
            "title": format!("{promise} (Promise)"),
            "description": format!("Every instance of the Kratix Promise {promise}"),
            "annotations": {"kratix.io/promise-name": promise},
        },
        "spec": {"owner": owner_ref(opts.platform_owner)},
    })
}

/// The Promise's Component: its name and the API its requests use (from any of its entries).
fn promise_component(promise: &str, any: Option<&Entry>, opts: &Options) -> Value {
    let mut annotations = Map::new();
    annotations.insert("kratix.io/type".into(), "promise".into());
    annotations.insert("kratix.io/promise-name".into(), promise.into());
    if let Some(e) = any {
        api_annotations(&mut annotations, e);
    }
    json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": promise_component_name(promise),
            "title": format!("{promise} Promise"),
            "annotations": annotations,
        },
        "spec": {
            "type": "kratix-promise",
            "lifecycle": "production",
            "owner": owner_ref(opts.platform_owner),
            "system": entity_name(promise),
        },
    })
}

fn api_annotations(a: &mut Map<String, Value>, e: &Entry) {
    let (group, version) = e
        .api_version
        .rsplit_once('/')
        .unwrap_or(("", &e.api_version));
    a.insert("kratix.io/resource-kind".into(), e.kind.clone().into());
    a.insert("kratix.io/resource-group".into(), group.into());
    a.insert("kratix.io/resource-version".into(), version.into());
}

fn promise_component_name(promise: &str) -> String {
    entity_name(&format!("{promise}-promise"))
}

/// One instance as a Component.
fn instance(e: &Entry) -> Value {
    let team = e.team.clone().unwrap_or_else(|| e.namespace.clone());
    let lifecycle = match e.environment.as_deref() {
        Some("prod" | "production") => "production",
        _ => "experimental",
    };
    json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": entity_name(&format!("{}-{}-{}", e.promise, e.namespace, e.name)),
            "title": format!("{} ({} in {})", e.name, e.promise, e.namespace),
            "annotations": instance_annotations(e),
            "labels": instance_labels(e),
        },
        "spec": {
            "type": "kratix-resource",
            "lifecycle": lifecycle,
            "owner": owner_ref(&team),
            "system": entity_name(&e.promise),
            "dependsOn": [format!("component:default/{}", promise_component_name(&e.promise))],
        },
    })
}

/// The plugin's annotations and vow's facts, exact.
fn instance_annotations(e: &Entry) -> Map<String, Value> {
    let mut a = Map::new();
    let mut put = |k: &str, v: String| {
        a.insert(k.to_string(), Value::String(v));
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    put("kratix.io/type", "resource".into());
    put("kratix.io/promise-name", e.promise.clone());
    put("kratix.io/resource-name", e.name.clone());
    put("kratix.io/resource-namespace", e.namespace.clone());
    put("backstage.io/kubernetes-namespace", e.namespace.clone());
    put("vow.dev/instance", e.instance.clone());
    put("vow.dev/applied-version", opt(&e.applied_version));
    put("vow.dev/desired-version", opt(&e.desired_version));
    let reasons: Vec<&str> = e.reasons.iter().map(|r| super::fleet::reason(*r)).collect();
    put("vow.dev/reasons", reasons.join(" "));
    put("vow.dev/destinations", e.destinations.join(" "));
    let health = e.health.as_ref();
    put(
        "vow.dev/health",
        health.map_or_else(|| "no-records".into(), |h| h.state.clone()),
    );
    if let Some(h) = health {
        put("vow.dev/health-last-run", h.last_run.clone());
    }
    put("vow.dev/compliance", super::fleet::compliance(e));
    put("vow.dev/findings-waived", e.compliance.waived.to_string());
    if let Some(r) = &e.request {
        put("vow.dev/request", format!("{}:{}", r.file, r.line));
    }
    api_annotations(&mut a, e);
    a
}

/// The same facts as labels, reduced to Backstage's label value rule, to filter on.
fn instance_labels(e: &Entry) -> Map<String, Value> {
    let compliance = match (e.compliance.evaluated, e.compliance.compliant) {
        (false, _) => "not-evaluated",
        (true, true) => "compliant",
        (true, false) => "noncompliant",
    };
    let health = e.health.as_ref().map_or("no-records", |h| h.state.as_str());
    let applied = e.applied_version.as_deref().unwrap_or("");
    let mut l = Map::new();
    l.insert(
        "vow.dev/applied-version".into(),
        label_value(applied).into(),
    );
    l.insert("vow.dev/health".into(), label_value(health).into());
    l.insert("vow.dev/compliance".into(), compliance.into());
    l.insert("vow.dev/up-to-date".into(), e.up_to_date.to_string().into());
    l
}

/// A team as a Backstage Group reference.
fn owner_ref(team: &str) -> String {
    format!("group:default/{}", entity_name(team))
}

/// A Backstage entity name (`[A-Za-z0-9]` at both ends, `-_.` between, 1 to 63 characters):
/// other characters become `-`; a longer name keeps 54 characters and a digest of the whole,
/// so two long names stay apart.
pub fn entity_name(raw: &str) -> String {
    let cleaned = clean(raw);
    let base = if cleaned.is_empty() {
        "none".to_string()
    } else {
        cleaned
    };
    if base.len() <= 63 {
        return base;
    }
    let digest = format!("{:x}", Sha256::digest(raw.as_bytes()));
    let head: String = base.chars().take(54).collect();
    let head = head.trim_end_matches(['-', '_', '.']);
    format!("{head}-{}", digest.get(..8).unwrap_or(""))
}

/// A label value by the same rule, empty allowed (an empty value is valid).
pub fn label_value(raw: &str) -> String {
    if raw.is_empty() {
        return String::new();
    }
    entity_name(raw)
}

fn clean(raw: &str) -> String {
    let mapped: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    mapped
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_backstage_rules() {
        assert_eq!(entity_name("bucket-team-data-raw"), "bucket-team-data-raw");
        assert_eq!(entity_name("-a b/c-"), "a-b-c");
        assert_eq!(entity_name("---"), "none");
        let long = entity_name(&"x".repeat(100));
        assert!(long.len() <= 63, "{long}");
        assert_ne!(long, entity_name(&"x".repeat(101)));
        assert_eq!(label_value("1.3.0+build"), "1.3.0-build");
    }
}
