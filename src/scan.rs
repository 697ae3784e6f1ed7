//! `vow scan`: every rule over the fleet as it is applied now, and compliance figures.
//!
//! The subjects are the instances the store holds: their applied spec and Promise version (from
//! the binding) and the files in the store (for `on: outputs` rules). Their request, when it
//! still exists, gives the labels and the file and line findings point at; an instance whose
//! request is gone points at its binding record.

use crate::diag::{self, Finding, Location};
use crate::load::inputs::Catalogue;
use crate::model::{InstanceRef, Labels};
use crate::policy::{self, CheckOutcome, Subject};
use crate::script::OutputDoc;
use crate::store::{self, Applied};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Checks passed / evaluated, and instances with no unwaived failure / all.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stat {
    pub checks: usize,
    pub passed: usize,
    pub instances: usize,
    pub compliant: usize,
}

impl Stat {
    pub fn check_ratio(&self) -> f64 {
        ratio(self.passed, self.checks)
    }
    pub fn instance_ratio(&self) -> f64 {
        ratio(self.compliant, self.instances)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Compliance {
    pub total: Stat,
    pub by_rule: BTreeMap<String, Stat>,
    pub by_promise: BTreeMap<String, Stat>,
    pub by_team: BTreeMap<String, Stat>,
    pub by_environment: BTreeMap<String, Stat>,
}

/// One instance's checks.
#[derive(Clone, Debug)]
pub struct Checked {
    pub id: InstanceRef,
    pub labels: Labels,
    pub location: Location,
    pub outcomes: Vec<CheckOutcome>,
    pub findings: Vec<Finding>,
}

pub(crate) struct ScanResult {
    pub checked: Vec<Checked>,
    /// Every finding: the workspace's (loading, waivers) and the rules'.
    pub findings: Vec<Finding>,
    pub compliance: Compliance,
}

/// Scans the applied fleet.
pub(crate) fn scan(catalogue: &Catalogue, requests: &[crate::model::Request]) -> ScanResult {
    let requests: BTreeMap<&InstanceRef, &crate::model::Request> =
        requests.iter().map(|r| (&r.id, r)).collect();
    // Rules judge requests; a Promise's own dependencies are not one.
    let applied: Vec<(&InstanceRef, &Applied)> = catalogue
        .store
        .applied
        .iter()
        .filter(|(id, _)| !id.is_dependencies())
        .collect();
    let mut checked: Vec<Checked> = applied
        .par_iter()
        .map(|(id, a)| check_one(catalogue, id, a, requests.get(id).copied()))
        .collect();
    checked.sort_by(|a, b| a.id.cmp(&b.id));
    crate::source::locate::locate_fields(
        &catalogue.ws.root,
        checked
            .iter_mut()
            .flat_map(|c| c.findings.iter_mut())
            .collect(),
    );
    let mut findings = catalogue.findings.clone();
    for c in &checked {
        findings.extend(c.findings.iter().cloned());
    }
    diag::sort_findings(&mut findings);
    let compliance = compliance(catalogue, &checked);
    ScanResult {
        checked,
        findings,
        compliance,
    }
}

fn check_one(
    catalogue: &Catalogue,
    id: &InstanceRef,
    a: &Applied,
    request: Option<&crate::model::Request>,
) -> Checked {
    let b = &a.binding;
    let (labels, location, locatable) = match request {
        Some(r) => (r.labels.clone(), r.location.clone(), r.item.is_none()),
        None => {
            let path = store::binding_path(&catalogue.ws.store, id);
            let shown = crate::source::display_path(&catalogue.ws.root, &path);
            (
                b.status.request_labels.clone(),
                Location::new(shown, 1),
                false,
            )
        }
    };
    let promise = catalogue.promise_by_name(&id.promise);
    let (api_version, kind) = promise
        .and_then(|p| p.api.as_ref())
        .map(|api| (format!("{}/{}", api.group, api.version), api.kind.clone()))
        .unwrap_or_default();
    let request_value = json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": id.name(), "namespace": id.namespace(), "labels": labels},
        "spec": b.status.applied_spec.clone().unwrap_or(Value::Null),
    });
    let outputs = stored_outputs(catalogue, id, a);
    let version = b.status.applied_version.clone().unwrap_or_default();
    let subject = Subject {
        id,
        labels: &labels,
        location: &location,
        locatable,
        request: &request_value,
        promise_version: &version,
        outputs: Some(&outputs),
    };
    let (findings, outcomes) = crate::timings::time(crate::timings::Stage::Rules, || {
        policy::check(&catalogue.policy, &subject, catalogue.now)
    });
    Checked {
        id: id.clone(),
        labels,
        location,
        outcomes,
        findings,
    }
}

/// The documents the store holds for an instance, keyed as the workflow wrote them.
fn stored_outputs(
    catalogue: &Catalogue,
    id: &InstanceRef,
    a: &Applied,
) -> Vec<(String, OutputDoc)> {
    let groups: BTreeMap<String, String> = a
        .binding
        .status
        .destinations
        .keys()
        .map(|dir| (store::layout::id5(dir), dir.clone()))
        .collect();
    let mut out = Vec::new();
    for f in &a.binding.status.files {
        // Through the store's wall: a record naming a path outside, or a symlink, is not read.
        let bytes = crate::store::path::StorePath::new(&f.path)
            .ok()
            .and_then(|p| p.read(&catalogue.ws.store).ok().flatten());
        let Some(text) = bytes.and_then(|b| String::from_utf8(b).ok()) else {
            continue;
        };
        // Keyed by the workload group's directory and the file's name in it, as the workflow
        // wrote them; a file outside the instance's layout keeps its store path.
        let rel = store::layout::output_of(&f.path, id)
            .map(
                |(_, group, file)| match groups.get(group).filter(|d| *d != ".") {
                    Some(dir) => format!("{dir}/{file}"),
                    None => file.to_string(),
                },
            )
            .unwrap_or_else(|| f.path.clone());
        let docs: Vec<Value> = crate::source::split_yaml(&text)
            .into_iter()
            // What apply wrote is read without serde_yaml, which gives the same `Value`.
            .filter_map(|(_, _, t)| {
                store::record::parse_document(&t).or_else(|| serde_yaml::from_str(&t).ok())
            })
            .filter(Value::is_object)
            .collect();
        let doc = if docs.is_empty() {
            OutputDoc::Text(text)
        } else {
            OutputDoc::Docs(docs)
        };
        out.push((rel, doc));
    }
    out
}

fn compliance(catalogue: &Catalogue, checked: &[Checked]) -> Compliance {
    let mut c = Compliance::default();
    let keys = &catalogue.ws.labels;
    for ch in checked {
        let compliant = ch.outcomes.iter().all(|o| o.passed);
        let team = ch
            .labels
            .get(&keys.team)
            .cloned()
            .unwrap_or_else(|| "(none)".into());
        let env = ch
            .labels
            .get(&keys.environment)
            .cloned()
            .unwrap_or_else(|| "(none)".into());
        let passed = ch.outcomes.iter().filter(|o| o.passed).count();
        for stat in [
            &mut c.total,
            c.by_promise.entry(ch.id.promise.clone()).or_default(),
            c.by_team.entry(team).or_default(),
            c.by_environment.entry(env).or_default(),
        ] {
            stat.checks += ch.outcomes.len();
            stat.passed += passed;
            stat.instances += 1;
            stat.compliant += usize::from(compliant);
        }
        for o in &ch.outcomes {
            let s = c.by_rule.entry(o.rule.to_string()).or_default();
            s.checks += 1;
            s.passed += usize::from(o.passed);
            s.instances += 1;
            s.compliant += usize::from(o.passed);
        }
    }
    for r in &catalogue.policy.rules {
        c.by_rule.entry(r.name.to_string()).or_default();
    }
    c
}
