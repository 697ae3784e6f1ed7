//! Running the rules over one instance, and applying waivers.

use super::scope::{promise_variable, RequestVars};
use super::{Enforcement, On, Policy, Rule};
use crate::diag::{self, Finding, Location, Waived};
use crate::model::{InstanceRef, Labels};
use crate::script::{self, OutputDoc};
use chrono::{DateTime, Utc};
use rhai::{Array, Dynamic, Map, Scope};
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
    check_with(policy, s, now, RequestVars::new(s.request))
}

/// [`check`] with the request's script variables as its steps left them: what the steps
/// converted is moved into the rules' scope, not converted again (`s.request` is the value
/// `vars` converts).
pub fn check_with(
    policy: &Policy,
    s: &Subject,
    now: DateTime<Utc>,
    vars: RequestVars,
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
    let output_rules = || rules.iter().filter(|r| r.on == On::Outputs);
    let wanted = Wanted {
        outputs: output_rules().any(|r| r.script.uses("outputs")),
        documents: output_rules().any(|r| r.script.uses("documents")),
        request: rules.iter().any(|r| r.script.uses("request")),
        spec: rules.iter().any(|r| r.script.uses("spec")),
        metadata: rules.iter().any(|r| r.script.uses("metadata")),
    };
    let mut scope = RuleScope::new(s, vars, wanted);
    for rule in rules {
        scope.show_outputs(rule.on == On::Outputs);
        let (effects, failure) = script::run_in(&rule.script, &mut scope.scope);
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

/// Which of `outputs` and `documents` some output rule of the instance reads, and which of the
/// request's variables some rule reads (the others are `()`, never converted).
#[derive(Clone, Copy)]
struct Wanted {
    outputs: bool,
    documents: bool,
    request: bool,
    spec: bool,
    metadata: bool,
}

/// The variables every rule of one instance reads, converted once and shared by all of them as
/// constants (a rule cannot change what the next one sees). Converting the request again for
/// every rule was a third of the rules' time (BENCHMARKS.md). `outputs` and `documents` are
/// unit for request rules, as they always were, and are converted only when an output rule
/// reads them.
struct RuleScope {
    scope: Scope<'static>,
    /// The scope's length without `outputs` and `documents`, which are pushed last.
    base: usize,
    /// The converted `outputs` and `documents` while they are not in the scope.
    outputs: Option<(Dynamic, Dynamic)>,
    showing_outputs: bool,
}

impl RuleScope {
    fn new(s: &Subject, mut vars: RequestVars, wanted: Wanted) -> Self {
        let unit = || Dynamic::UNIT;
        // `request` first: it copies `spec` and `metadata` before they are moved out.
        let request = wanted.request.then(|| vars.take_request());
        let spec = wanted.spec.then(|| vars.take_spec());
        let metadata = wanted.metadata.then(|| vars.take_metadata());
        let (request, spec, metadata) = (
            request.unwrap_or_else(unit),
            spec.unwrap_or_else(unit),
            metadata.unwrap_or_else(unit),
        );
        let mut scope = Scope::with_capacity(6);
        scope.push_constant_dynamic("spec", spec);
        scope.push_constant_dynamic("metadata", metadata);
        scope.push_constant_dynamic("request", request);
        scope.push_constant_dynamic(
            "promise",
            promise_variable(&s.id.promise, s.promise_version),
        );
        let base = scope.len();
        scope.push_constant_dynamic("outputs", Dynamic::UNIT);
        scope.push_constant_dynamic("documents", Dynamic::UNIT);
        let outputs = s
            .outputs
            .filter(|_| wanted.outputs || wanted.documents)
            .map(|outs| outputs_variables(outs, wanted));
        RuleScope {
            scope,
            base,
            outputs,
            showing_outputs: false,
        }
    }

    /// Sets `outputs` and `documents` for the next rule: the converted outputs for an output
    /// rule, unit for a request rule. The values move between the scope and `self.outputs`
    /// rather than being copied.
    fn show_outputs(&mut self, show: bool) {
        if show == self.showing_outputs || (show && self.outputs.is_none()) {
            return;
        }
        let (outputs, documents) = if show {
            self.outputs
                .take()
                .unwrap_or((Dynamic::UNIT, Dynamic::UNIT))
        } else {
            let documents = self.scope.remove::<Dynamic>("documents");
            let outputs = self.scope.remove::<Dynamic>("outputs");
            self.outputs = Some((
                outputs.unwrap_or(Dynamic::UNIT),
                documents.unwrap_or(Dynamic::UNIT),
            ));
            (Dynamic::UNIT, Dynamic::UNIT)
        };
        self.scope.rewind(self.base);
        self.scope.push_constant_dynamic("outputs", outputs);
        self.scope.push_constant_dynamic("documents", documents);
        self.showing_outputs = show;
    }
}

/// `outputs` (path → document, or list of documents) and `documents` (every rendered map), each
/// only when wanted (unit otherwise).
fn outputs_variables(outs: &[(String, OutputDoc)], wanted: Wanted) -> (Dynamic, Dynamic) {
    let mut m = Map::new();
    let mut docs = Array::new();
    for (path, doc) in outs {
        match doc {
            OutputDoc::Text(t) => {
                if wanted.outputs {
                    m.insert(path.as_str().into(), t.clone().into());
                }
            }
            OutputDoc::Docs(ds) => {
                let converted: Array = ds.iter().map(script::to_dynamic).collect();
                if !wanted.outputs {
                    docs.extend(converted);
                    continue;
                }
                if wanted.documents {
                    docs.extend(converted.iter().cloned());
                }
                let v = if converted.len() == 1 {
                    converted.into_iter().next().unwrap_or(Dynamic::UNIT)
                } else {
                    Dynamic::from_array(converted)
                };
                m.insert(path.as_str().into(), v);
            }
        }
    }
    let or_unit = |yes: bool, d: Dynamic| if yes { d } else { Dynamic::UNIT };
    (
        or_unit(wanted.outputs, Dynamic::from_map(m)),
        or_unit(wanted.documents, Dynamic::from_array(docs)),
    )
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
