//! `vow fleet`: the inventory of every instance, joined from the store and the workspace.
//!
//! One [`Entry`] per instance: a request in the workspace, a binding in the store, or both.
//! The store gives the applied version, the destinations and the applied spec the rules judge;
//! the workspace gives the desired version (the Promise's, or a pin), the labels (team,
//! environment), the request's file and line and why the instance does not move (paused,
//! blocked, held by `from`, in a run). Health comes from the HealthRecords (folded to the worst
//! state, aged against `--now`), compliance from the scan's evaluation (`crate::scan`).
//!
//! It sits with `apply` in the layer table: it reads apply's health records and journals.
//! Nothing here renders a request: a fleet of 100k instances is listed in seconds (the plan
//! would take minutes). So "blocked" is what the scan's rules find on the applied spec, an
//! unusable Promise or a pin to a revision the store lacks; `--plan FILE` takes the plan's own
//! blocked list instead (docs/fleet.md).

pub mod filter;
mod health;

pub use filter::Filter;

use crate::diag::Finding;
use crate::load::inputs::Catalogue;
use crate::model::{InstanceRef, Labels, Request};
use crate::plan::Plan;
use chrono::{DateTime, Utc};
use rayon::prelude::*;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Why an instance's applied version is not (or will not stay) its desired one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// Pinned (`vow.dev/version`, or a pinned binding) to a version other than the Promise's.
    Pinned,
    /// The request or its Promise is paused (`kratix.io/paused`).
    Paused,
    /// A blocking finding holds it back.
    Blocked,
    /// Held by the Promise's `spec.rollout.from`: applied at a version it does not admit.
    HeldByFrom,
    /// An unfinished run (running or paused) has it in a wave.
    Pending,
    /// Not applied yet: a request the store has no binding for.
    NotApplied,
    /// Applied, but its request is gone: the next plan deletes it.
    Removed,
    /// Behind its desired version with nothing holding it: the next plan and apply move it.
    AwaitingRollout,
}

/// One instance of the fleet (docs/fleet.md lists every field).
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// `<promise>:<namespace>/<name>`.
    pub instance: String,
    pub promise: String,
    pub namespace: String,
    pub name: String,
    /// The request's `apiVersion` (the Promise API's group and version) and `kind`.
    pub api_version: String,
    pub kind: String,
    /// The Promise version the store says was applied; absent when never applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied_version: Option<String>,
    /// The version the instance should run: its pin, else the Promise's current version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired_version: Option<String>,
    /// Whether the applied version is the desired one.
    pub up_to_date: bool,
    /// Why it differs, or why it does not move (sorted).
    pub reasons: Vec<Reason>,
    /// The messages of the blocking findings (empty unless blocked).
    pub blocked_by: Vec<String>,
    /// The destinations its outputs were placed in (sorted).
    pub destinations: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<health::HealthView>,
    pub compliance: ComplianceView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    pub labels: Labels,
    /// Where the request lives; absent when the request is gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestAt>,
    /// The unfinished run that has it in a wave.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<RunAt>,
}

/// A request's file (relative to the workspace) and line.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct RequestAt {
    pub file: String,
    pub line: u32,
}

/// An unfinished run: its id, its status, the wave that holds the instance and that wave's gate.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct RunAt {
    pub id: String,
    pub status: String,
    pub wave: usize,
    pub gate: String,
}

/// The rules' verdict on the applied instance: unwaived findings by severity, waived ones.
#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComplianceView {
    /// Whether the rules were run (`--no-compliance` skips them).
    pub evaluated: bool,
    /// Evaluated, and no unwaived finding (as `vow scan` counts a compliant instance).
    pub compliant: bool,
    /// Unwaived findings by severity (`critical` .. `info`; only those with findings).
    pub unwaived: BTreeMap<String, usize>,
    pub waived: usize,
    /// The rules (or codes) that found something, unwaived, sorted.
    pub rules: Vec<String>,
}

/// How many instances run a version of a Promise in a destination.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Count {
    pub promise: String,
    /// The applied version (`(none)` when not applied).
    pub version: String,
    /// `(none)` when the instance was placed nowhere (not applied).
    pub destination: String,
    pub instances: usize,
}

/// The whole inventory: the entries in instance order, and the counts.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    /// 1; bumped on an incompatible change of this shape (schemas/fleet.json).
    pub schema_version: u32,
    /// The `--now` the health ages are measured against.
    pub now: String,
    pub total: usize,
    pub counts: Vec<Count>,
    pub instances: Vec<Entry>,
}

/// What `vow fleet` is asked for.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub filter: Filter,
    /// Skip the rules (faster on a large fleet; compliance is then not evaluated).
    pub no_compliance: bool,
}

const NONE: &str = "(none)";

/// Builds the inventory: every instance the store or the workspace knows, filtered, sorted by
/// instance id. `plan`: a plan file whose blocked list replaces the inventory's own judgement.
pub fn inventory(
    catalogue: &Catalogue,
    requests: &[Request],
    plan: Option<&Plan>,
    opts: &Options,
) -> Inventory {
    let by_id: BTreeMap<&InstanceRef, &Request> = requests.iter().map(|r| (&r.id, r)).collect();
    let ids: BTreeSet<&InstanceRef> = by_id
        .keys()
        .copied()
        .chain(
            catalogue
                .store
                .applied
                .keys()
                .filter(|id| !id.is_dependencies()),
        )
        .collect();
    let keys = &catalogue.ws.labels;
    // Borrowed for the filter; cloned once, into the entry that shows them.
    let none = Labels::new();
    let labels_of = |id: &InstanceRef| -> &Labels {
        match by_id.get(id) {
            Some(r) => &r.labels,
            None => catalogue
                .store
                .applied
                .get(id)
                .map_or(&none, |a| &a.binding.status.request_labels),
        }
    };
    let kept: Vec<&InstanceRef> = ids
        .into_iter()
        .filter(|id| {
            opts.filter
                .keeps(id, labels_of(id), &keys.team, &keys.environment)
        })
        .collect();
    let findings = if opts.no_compliance {
        BTreeMap::new()
    } else {
        compliance_findings(catalogue, requests)
    };
    let health = health::Health::read(catalogue);
    let runs = runs(catalogue);
    let blocked_in_plan: Option<BTreeMap<String, Vec<String>>> = plan.map(|p| {
        p.blocked
            .iter()
            .map(|b| (b.instance.to_string(), b.reasons.clone()))
            .collect()
    });
    let ctx = Context {
        catalogue,
        findings: &findings,
        evaluated: !opts.no_compliance,
        health: &health,
        runs: &runs,
        blocked_in_plan: blocked_in_plan.as_ref(),
    };
    // Each entry is built from shared reads only; an indexed parallel collect keeps the
    // instances' order, so the output is the same bytes whatever the thread count.
    let instances: Vec<Entry> = kept
        .into_par_iter()
        .map(|id| ctx.entry(id, by_id.get(id).copied(), labels_of(id).clone()))
        .collect();
    Inventory {
        schema_version: 1,
        now: crate::duration::format_time(catalogue.now),
        total: instances.len(),
        counts: counts(&instances),
        instances,
    }
}

/// The findings of the scan's rules, by instance.
fn compliance_findings(
    catalogue: &Catalogue,
    requests: &[Request],
) -> BTreeMap<String, Vec<Finding>> {
    let result = crate::scan::scan(catalogue, requests);
    result
        .checked
        .into_iter()
        .map(|c| (c.id.to_string(), c.findings))
        .collect()
}

/// Unfinished runs' waves, by instance: the newest run that lists it.
fn runs(catalogue: &Catalogue) -> BTreeMap<String, RunAt> {
    use crate::apply::journal::{self, GateState, RunStatus};
    let scan = journal::scan(&catalogue.ws.store, &catalogue.ws.root);
    let mut out = BTreeMap::new();
    // Newest first: the first run to claim an instance wins.
    for j in scan.journals {
        let status = match j.status {
            RunStatus::Running => "running",
            RunStatus::Paused => "paused",
            _ => continue,
        };
        for w in &j.waves {
            for i in &w.instances {
                out.entry(i.clone()).or_insert_with(|| RunAt {
                    id: crate::plan::run_id(&j.plan_id),
                    status: status.to_string(),
                    wave: w.index,
                    gate: match w.gate {
                        GateState::Pending => "pending",
                        GateState::Passed => "passed",
                        GateState::Failed => "failed",
                    }
                    .to_string(),
                });
            }
        }
    }
    out
}

struct Context<'a> {
    catalogue: &'a Catalogue,
    findings: &'a BTreeMap<String, Vec<Finding>>,
    evaluated: bool,
    health: &'a health::Health,
    runs: &'a BTreeMap<String, RunAt>,
    blocked_in_plan: Option<&'a BTreeMap<String, Vec<String>>>,
}

impl Context<'_> {
    fn entry(&self, id: &InstanceRef, request: Option<&Request>, labels: Labels) -> Entry {
        let c = self.catalogue;
        let key = id.to_string();
        let applied = c.store.applied.get(id);
        let promise = c.promise_by_name(&id.promise);
        let (api_version, kind) = promise
            .and_then(|p| p.api.as_ref())
            .map(|api| (format!("{}/{}", api.group, api.version), api.kind.clone()))
            .unwrap_or_default();
        let applied_version = applied.and_then(|a| a.binding.status.applied_version.clone());
        let pin = request
            .and_then(Request::pinned_version)
            .or_else(|| applied.and_then(|a| a.binding.pinned()))
            .map(str::to_string);
        let desired_version = match request {
            None => None,
            Some(_) => pin.clone().or_else(|| promise.map(|p| p.version.clone())),
        };
        let mut reasons = BTreeSet::new();
        if pin.is_some() && pin.as_deref() != promise.map(|p| p.version.as_str()) {
            reasons.insert(Reason::Pinned);
        }
        if request.is_some_and(Request::paused) || promise.is_some_and(|p| p.paused) {
            reasons.insert(Reason::Paused);
        }
        let findings = self.findings.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        let blocked_by = self.blocked_by(id, request, pin.as_deref(), findings);
        if !blocked_by.is_empty() {
            reasons.insert(Reason::Blocked);
        }
        if held_by_from(
            promise,
            applied_version.as_deref(),
            desired_version.as_deref(),
        ) {
            reasons.insert(Reason::HeldByFrom);
        }
        let run = self.runs.get(&key).cloned();
        if run.is_some() {
            reasons.insert(Reason::Pending);
        }
        match (request, applied) {
            (Some(_), None) => reasons.insert(Reason::NotApplied),
            (None, Some(_)) => reasons.insert(Reason::Removed),
            _ => false,
        };
        let behind = applied_version.is_some() && applied_version != desired_version;
        if behind && desired_version.is_some() && reasons.is_empty() {
            reasons.insert(Reason::AwaitingRollout);
        }
        let destinations: BTreeSet<String> = applied
            .map(|a| a.binding.status.destinations.values().cloned().collect())
            .unwrap_or_default();
        let keys = &c.ws.labels;
        Entry {
            instance: key.clone(),
            promise: id.promise.clone(),
            namespace: id.namespace().to_string(),
            name: id.name().to_string(),
            api_version,
            kind,
            up_to_date: applied_version.is_some() && applied_version == desired_version,
            applied_version,
            desired_version,
            reasons: reasons.into_iter().collect(),
            blocked_by,
            destinations: destinations.into_iter().collect(),
            health: self.health.view(&key, c.now),
            compliance: compliance_view(findings, self.evaluated),
            team: labels.get(&keys.team).cloned(),
            environment: labels.get(&keys.environment).cloned(),
            labels,
            request: request.map(|r| RequestAt {
                file: r.location.file.to_string(),
                line: r.location.line,
            }),
            run,
        }
    }

    /// Why the instance is held back: the plan's reasons when a plan was given, else the
    /// unwaived blocking findings on its applied spec, an unusable Promise, a pin to a version
    /// neither current nor kept in the store.
    fn blocked_by(
        &self,
        id: &InstanceRef,
        request: Option<&Request>,
        pin: Option<&str>,
        findings: &[Finding],
    ) -> Vec<String> {
        if let Some(plan) = self.blocked_in_plan {
            return plan.get(&id.to_string()).cloned().unwrap_or_default();
        }
        let c = self.catalogue;
        let mut out: Vec<String> = findings
            .iter()
            .filter(|f| f.blocking && f.waived.is_none())
            .map(|f| format!("[{}] {}", f.id(), f.message))
            .collect();
        let Some(r) = request else {
            return out;
        };
        let promise = c.promises.get(r.promise);
        for f in promise.map(|p| p.broken.as_slice()).unwrap_or(&[]) {
            out.push(format!(
                "[{}] Promise {} is unusable: {}",
                f.id(),
                id.promise,
                f.message
            ));
        }
        for why in c.unavailable.get(r.promise).into_iter().flatten() {
            out.push(format!("Promise {} is unavailable: it {why}", id.promise));
        }
        if let (Some(v), Some(p)) = (pin, promise) {
            if v != p.version && !c.revisions.contains_key(&(p.name.clone(), v.to_string())) {
                out.push(format!(
                    "pinned to {} {v}, which is neither the current version ({}) nor a revision in the store",
                    p.name, p.version
                ));
            }
        }
        out
    }
}

/// Held by the Promise's `spec.rollout.from`: an upgrade (applied and desired versions differ)
/// of an instance now on a version the filter does not admit, as the planner holds it.
fn held_by_from(
    promise: Option<&crate::model::Promise>,
    applied: Option<&str>,
    desired: Option<&str>,
) -> bool {
    let (Some(p), Some(applied), Some(desired)) = (promise, applied, desired) else {
        return false;
    };
    applied != desired
        && p.rollout
            .as_ref()
            .and_then(|r| r.from.as_ref())
            .is_some_and(|f| f.admits(applied).is_err())
}

fn compliance_view(findings: &[Finding], evaluated: bool) -> ComplianceView {
    let mut v = ComplianceView {
        evaluated,
        ..ComplianceView::default()
    };
    let mut rules = BTreeSet::new();
    for f in findings {
        if f.waived.is_some() {
            v.waived += 1;
            continue;
        }
        *v.unwaived
            .entry(f.severity.as_str().to_string())
            .or_default() += 1;
        rules.insert(f.id().to_string());
    }
    v.compliant = evaluated && v.unwaived.is_empty();
    v.rules = rules.into_iter().collect();
    v
}

/// Instances by Promise × applied version × destination, sorted.
fn counts(entries: &[Entry]) -> Vec<Count> {
    let mut map: BTreeMap<(&str, &str, &str), usize> = BTreeMap::new();
    for e in entries {
        let version = e.applied_version.as_deref().unwrap_or(NONE);
        if e.destinations.is_empty() {
            *map.entry((&e.promise, version, NONE)).or_default() += 1;
        }
        for d in &e.destinations {
            *map.entry((&e.promise, version, d)).or_default() += 1;
        }
    }
    map.into_iter()
        .map(|((promise, version, destination), instances)| Count {
            promise: promise.to_string(),
            version: version.to_string(),
            destination: destination.to_string(),
            instances,
        })
        .collect()
}

/// The age of a point in time against `now`, in whole seconds (never negative).
pub(crate) fn age_seconds(now: DateTime<Utc>, at: i64) -> i64 {
    (now.timestamp() - at).max(0)
}
