//! Running the rules over one instance, and applying waivers.

use super::{Enforcement, On, Policy, Rule};
use crate::diag::{self, Finding, Location, Waived};
use crate::model::{InstanceRef, Labels};
use crate::script::{self, OutputDoc};
use chrono::{DateTime, Utc};
use rhai::{Array, Dynamic, Map};
use serde_json::Value;
use std::sync::Arc;

/// What the rules look at for one instance.
pub struct Subject<'a> {
    pub id: &'a InstanceRef,
    pub labels: &'a Labels,
    /// Where the request is (findings point here, or at a field of it).
    pub location: &'a Location,
    /// Whether field lines can be looked up in `location`'s file (not for `List` items).
    pub locatable: bool,
    /// The defaulted request.
    pub request: &'a Value,
    pub promise_version: &'a str,
    /// What the instance renders to, when known (`on: outputs` rules need it).
    pub outputs: Option<&'a [(String, OutputDoc)]>,
}

/// One (rule, instance) check, for compliance figures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckOutcome {
    pub rule: Arc<str>,
    /// No unwaived denial.
    pub passed: bool,
    /// Denied, but every denial was waived.
    pub waived: bool,
}

/// Runs every matching rule over the subject. Returns the findings and one outcome per rule run.
pub fn check(
    policy: &Policy,
    s: &Subject,
    now: DateTime<Utc>,
) -> (Vec<Finding>, Vec<CheckOutcome>) {
    let mut findings = Vec::new();
    let mut outcomes = Vec::new();
    let rules: Vec<&Rule> = policy
        .rules
        .iter()
        .filter(|r| r.matcher.matches(s.id, s.labels))
        .filter(|r| r.on == On::Request || s.outputs.is_some())
        .collect();
    if rules.is_empty() {
        return (findings, outcomes);
    }
    let vars = variables(s);
    for rule in rules {
        let needs_outputs = rule.on == On::Outputs;
        let vars: Vec<(&'static str, Dynamic)> = vars
            .iter()
            .map(|(n, v)| {
                let keep = (needs_outputs || !matches!(*n, "outputs" | "documents"))
                    && rule.script.uses(n);
                (*n, if keep { v.clone() } else { Dynamic::UNIT })
            })
            .collect();
        let (effects, failure) = script::run(&rule.script, vars);
        let before = findings.len();
        let mut denied = false;
        let mut all_waived = true;
        for said in &effects.denials {
            denied = true;
            let f = rule_finding(policy, rule, s, now, said, true);
            all_waived &= f.waived.is_some();
            findings.push(f);
        }
        for said in &effects.warnings {
            findings.push(rule_finding(policy, rule, s, now, said, false));
        }
        if let Some(fail) = failure {
            denied = true;
            all_waived = false;
            let mut f = fail.into_finding(&format!("{}: rule {}", s.id, rule.name));
            f.blocking = rule.enforcement == Enforcement::Block;
            f.rule = Some(rule.name.clone());
            findings.push(f.instance(s.id.to_string()));
        }
        debug_assert!(findings.len() >= before);
        outcomes.push(CheckOutcome {
            rule: rule.name.clone(),
            passed: !denied || all_waived,
            waived: denied && all_waived,
        });
    }
    (findings, outcomes)
}

fn variables(s: &Subject) -> Vec<(&'static str, Dynamic)> {
    let request = script::to_dynamic(s.request);
    let field = |name: &str| {
        request
            .read_lock::<Map>()
            .and_then(|m| m.get(name).cloned())
            .unwrap_or(Dynamic::UNIT)
    };
    let mut promise = Map::new();
    promise.insert("name".into(), s.id.promise.clone().into());
    promise.insert("version".into(), s.promise_version.to_string().into());
    let (outputs, documents) = match s.outputs {
        None => (Dynamic::UNIT, Dynamic::UNIT),
        Some(outs) => {
            let mut m = Map::new();
            let mut docs = Array::new();
            for (path, doc) in outs {
                match doc {
                    OutputDoc::Text(t) => {
                        m.insert(path.as_str().into(), t.clone().into());
                    }
                    OutputDoc::Docs(ds) => {
                        let converted: Array = ds.iter().map(script::to_dynamic).collect();
                        docs.extend(converted.iter().cloned());
                        let v = if converted.len() == 1 {
                            converted[0].clone()
                        } else {
                            Dynamic::from_array(converted)
                        };
                        m.insert(path.as_str().into(), v);
                    }
                }
            }
            (Dynamic::from_map(m), Dynamic::from_array(docs))
        }
    };
    vec![
        ("spec", field("spec")),
        ("metadata", field("metadata")),
        ("request", request),
        ("promise", Dynamic::from_map(promise)),
        ("outputs", outputs),
        ("documents", documents),
    ]
}

fn rule_finding(
    policy: &Policy,
    rule: &Rule,
    s: &Subject,
    now: DateTime<Utc>,
    said: &script::Said,
    deny: bool,
) -> Finding {
    let mut f =
        Finding::new(diag::RULE, format!("{}: {}", s.id, said.message)).at(s.location.clone());
    f.unlocated = s.locatable && said.field.is_some();
    f.rule = Some(rule.name.clone());
    f.severity = rule.severity;
    f.blocking = deny && rule.enforcement == Enforcement::Block;
    f.field = said.field.clone();
    if !rule.description.is_empty() {
        f.help = Some(rule.description.clone());
    }
    if deny {
        let waivers = policy
            .waivers
            .iter()
            .filter(|w| *w.rule == *rule.name && w.matcher.matches(s.id, s.labels));
        let (active, expired): (Vec<_>, Vec<_>) = waivers.partition(|w| w.active(now));
        if let Some(w) = active.first() {
            f.blocking = false;
            f.waived = Some(Waived {
                waiver: w.name.clone(),
                reason: w.reason.clone(),
                owner: w.owner.clone(),
                expires: w.expires.to_string(),
            });
        } else if let Some(w) = expired.first() {
            f.message = format!("{} (waiver {} expired on {})", f.message, w.name, w.expires);
        }
    }
    f.instance(s.id.to_string())
}
