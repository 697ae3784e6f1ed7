//! One request through validate → configure → schedule, and the parallel driver.
//!
//! Every request is evaluated on its own (rayon); nothing here looks at another request. The
//! results come back sorted by instance, so everything after is deterministic whatever the
//! thread count.

use crate::diag::{self, Finding, Location};
use crate::load::inputs::Inputs;
use crate::load::promise::STEP_SCOPE;
use crate::model::{Destination, FilepathMode, InstanceRef, Labels, Pipeline, Promise, Request};
use crate::schema;
use crate::script::{self, OutputDoc};
use crate::store::{self, Applied, FileRecord};
use crate::timings::{self, Stage};
use rayon::prelude::*;
use rhai::{Dynamic, Map};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// One rendered file, at its full path in the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutFile {
    /// Shared with the plan's file changes rather than copied into them (see `SharedLabels`).
    pub path: std::sync::Arc<str>,
    /// Not kept in partial plans (`--shard`): planning needs paths and digests only.
    #[serde(skip)]
    pub content: String,
    pub digest: std::sync::Arc<str>,
}

/// What a step did, for `vow render`.
#[derive(Clone, Debug)]
pub struct StepTrace {
    pub pipeline: String,
    pub step: String,
    pub outputs: Vec<String>,
    pub schedules: Vec<(String, Labels)>,
    pub messages: Vec<String>,
}

/// The result of evaluating one request. Serialized (without traces) in partial plans.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evaluated {
    pub id: InstanceRef,
    pub labels: crate::model::SharedLabels,
    pub location: Location,
    /// The Promise version rendered.
    pub version: String,
    pub pinned: bool,
    pub paused: bool,
    pub blocked: bool,
    pub findings: Vec<Finding>,
    /// Sorted by path.
    pub files: Vec<OutFile>,
    /// Workload group directory → destination name.
    /// Sorted by directory, one entry per directory: usually one entry, for which a B-tree map
    /// took half a kilobyte per instance.
    pub destinations: Vec<(String, String)>,
    /// The defaulted spec, which apply records. Dropped at [`Detail::Digests`]: planning needs
    /// only `spec_changed`, and a fleet of a million cannot keep a second copy of every spec.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub spec: Value,
    /// Whether the defaulted spec differs from the one the store last applied (false when the
    /// store applied nothing for this instance): the plan's reason "the request changed".
    #[serde(default)]
    pub spec_changed: bool,
    /// What the steps set with `status()`; not kept at [`Detail::Digests`] (planning does not
    /// read it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Value>,
    /// Container steps vow did not run, as `<pipeline>/<container>`.
    pub external: Vec<String>,
    #[serde(skip)]
    pub trace: Vec<StepTrace>,
}

impl Evaluated {
    fn new(r: &Request) -> Evaluated {
        Evaluated::blank(r.id.clone(), r.labels.clone(), r.location.clone())
    }

    fn blank(id: InstanceRef, labels: Labels, location: Location) -> Evaluated {
        Evaluated {
            id,
            labels: labels.into(),
            location,
            version: String::new(),
            pinned: false,
            paused: false,
            blocked: false,
            findings: Vec::new(),
            files: Vec::new(),
            destinations: Vec::new(),
            spec: Value::Null,
            spec_changed: false,
            status: None,
            external: Vec::new(),
            trace: Vec::new(),
        }
    }

    fn block(&mut self, f: Finding) {
        self.blocked = true;
        self.findings.push(f.instance(self.id.to_string()));
    }

    fn note(&mut self, f: Finding) {
        if f.blocking {
            self.blocked = true;
        }
        self.findings.push(f.instance(self.id.to_string()));
    }

    /// Records where workload group `dir` goes (replacing an earlier placement of it).
    fn place_group(&mut self, dir: &str, destinations: String) {
        match self
            .destinations
            .binary_search_by(|(d, _)| d.as_str().cmp(dir))
        {
            Ok(i) => {
                if let Some(slot) = self.destinations.get_mut(i) {
                    slot.1 = destinations;
                }
            }
            Err(i) => self.destinations.insert(i, (dir.to_string(), destinations)),
        }
    }

    /// A digest of everything rendered: files and their placement.
    pub fn files_digest(&self) -> String {
        let mut h = Sha256::new();
        for f in &self.files {
            h.update(format!("{}\0{}\0", f.path, f.digest));
        }
        format!("sha256:{:x}", h.finalize())
    }
}

/// How much of a rendering to keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Detail {
    /// Paths and digests only: what planning needs, and all a fleet of a million can afford.
    Digests,
    /// The files' contents too (apply, diffs).
    Contents,
    /// Contents, and what each step did (`vow render`).
    Trace,
}

/// Evaluates every request in parallel; results are in instance order.
pub fn evaluate_all(inputs: &Inputs, detail: Detail) -> Vec<Evaluated> {
    let requests: Vec<&Request> = inputs.requests.iter().collect();
    let out = evaluate_many(inputs, &requests, detail);
    with_dependencies(inputs, out, detail, true)
}

/// Evaluates the requests of one shard (`(index, count)`, 0-based; `None`: every request), sorted
/// by id. The Promises' dependencies belong to the first shard. The requests are moved out of
/// `inputs` and freed as they are evaluated (see [`evaluate_owned`]): nothing after planning
/// reads them, and at a million requests they are gigabytes.
pub fn evaluate_shard(
    inputs: &mut Inputs,
    detail: Detail,
    shard: Option<(u64, u64)>,
) -> Vec<Evaluated> {
    let mine = |id: &InstanceRef| shard.is_none_or(|(k, n)| crate::model::shard_of(id, n) == k);
    let requests: Vec<Request> = std::mem::take(&mut inputs.requests)
        .into_iter()
        .filter(|r| mine(&r.id))
        .collect();
    let out = evaluate_owned(inputs, requests, detail);
    with_dependencies(inputs, out, detail, shard.is_none_or(|(k, _)| k == 0))
}

/// Adds the Promises' dependencies (when `first`) and sorts by instance.
fn with_dependencies(
    inputs: &Inputs,
    mut out: Vec<Evaluated>,
    detail: Detail,
    first: bool,
) -> Vec<Evaluated> {
    if first {
        out.extend(
            (0..inputs.promises.len()).filter_map(|i| evaluate_dependencies(inputs, i, detail)),
        );
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// Runs a Promise's own workflow (`workflows.promise.configure`): its outputs (operators, CRDs,
/// catalogs) are the Promise's dependencies, written under `dependencies/<promise>/` to every
/// destination its `destinationSelectors` match, as Kratix does. None when it has no Rhai step.
pub fn evaluate_dependencies(inputs: &Inputs, index: usize, detail: Detail) -> Option<Evaluated> {
    let promise = inputs.promises.get(index)?;
    if promise.paused || promise.promise_configure.iter().all(|p| p.steps.is_empty()) {
        return None;
    }
    let id = InstanceRef::dependencies(&promise.name);
    let applied = inputs.store.applied.get(&id);
    let mut ev = Evaluated::blank(id, Labels::new(), promise.location.clone());
    ev.version = promise.version.clone();
    if !usable(inputs, promise, index, &mut ev) {
        return Some(ev);
    }
    for pipeline in &promise.promise_configure {
        run_pipeline(
            inputs,
            promise,
            pipeline,
            &Value::Null,
            applied,
            false,
            &mut ev,
        );
        if ev.blocked {
            ev.files.clear();
            return Some(ev);
        }
    }
    ev.files.sort_by(|a, b| a.path.cmp(&b.path));
    keep(&mut ev, applied, detail);
    Some(ev)
}

/// Notes what planning needs of the spec, then drops what `detail` does not keep.
fn keep(ev: &mut Evaluated, applied: Option<&Applied>, detail: Detail) {
    ev.spec_changed =
        applied.is_some_and(|a| a.binding.status.applied_spec.as_ref() != Some(&ev.spec));
    if detail == Detail::Digests {
        ev.spec = Value::Null;
        ev.status = None;
        for f in &mut ev.files {
            f.content = String::new();
        }
    }
}

/// Evaluates requests in parallel, in the given order; field lines of findings are found
/// once per file for the whole batch.
pub fn evaluate_many(inputs: &Inputs, requests: &[&Request], detail: Detail) -> Vec<Evaluated> {
    let mut out: Vec<Evaluated> = requests
        .par_iter()
        .map(|r| evaluate_unlocated(inputs, r, r.document(), detail, inputs.now, true))
        .collect();
    locate_all(inputs, &mut out);
    out
}

/// Evaluates requests the caller gives up, in parallel, in the given order. Each request's
/// document is moved into its evaluation instead of copied, and the request is freed as soon as
/// it is evaluated: a large fleet never holds every parsed request and every result at once.
pub fn evaluate_owned(inputs: &Inputs, requests: Vec<Request>, detail: Detail) -> Vec<Evaluated> {
    let mut out: Vec<Evaluated> = requests
        .into_par_iter()
        .map(|mut r| {
            let value = r.take_document();
            evaluate_unlocated(inputs, &r, value, detail, inputs.now, true)
        })
        .collect();
    locate_all(inputs, &mut out);
    out
}

/// Finds the field lines of every finding, once per file for the whole batch.
fn locate_all(inputs: &Inputs, out: &mut [Evaluated]) {
    crate::load::locate::locate_fields(
        &inputs.ws.root,
        out.iter_mut().flat_map(|e| e.findings.iter_mut()).collect(),
    );
}

/// Evaluates one request, keeping as much as `detail` asks for.
pub fn evaluate(inputs: &Inputs, r: &Request, detail: Detail) -> Evaluated {
    evaluate_with(inputs, r, detail, inputs.now, true)
}

/// Evaluates one request with waivers judged at `now`, and without the store's history when
/// `with_store` is false (test cases).
pub fn evaluate_with(
    inputs: &Inputs,
    r: &Request,
    detail: Detail,
    now: chrono::DateTime<chrono::Utc>,
    with_store: bool,
) -> Evaluated {
    let mut ev = evaluate_unlocated(inputs, r, r.document(), detail, now, with_store);
    crate::load::locate::locate_fields(&inputs.ws.root, ev.findings.iter_mut().collect());
    ev
}

/// Evaluates `r` whose document is `value` (`r.value` is not read: the caller may have moved it).
fn evaluate_unlocated(
    inputs: &Inputs,
    r: &Request,
    value: Value,
    detail: Detail,
    now: chrono::DateTime<chrono::Utc>,
    with_store: bool,
) -> Evaluated {
    let applied = inputs.store.applied.get(&r.id).filter(|_| with_store);
    // One time budget for all of the request's steps and rules.
    let _budget = script::limits::RequestBudget::start();
    let mut ev = evaluate_full(inputs, r, value, applied, now, detail == Detail::Trace);
    if with_store {
        hold_refused(inputs, &mut ev);
    }
    keep(&mut ev, applied, detail);
    ev
}

/// An instance whose store record names a path the store refuses (a file replaced by a symlink,
/// a path outside) is held back: applying it would stop its whole wave.
fn hold_refused(inputs: &Inputs, ev: &mut Evaluated) {
    let Some(refused) = inputs.store.refused.get(&ev.id) else {
        return;
    };
    for f in refused {
        let mut held = f.clone().instance(ev.id.to_string()).help(
            "repair the store (replace the symlink with the real file, or fix the record); the \
             instance is held back until then, and the rest of the fleet is applied",
        );
        held.blocking = true;
        ev.findings.push(held);
    }
    ev.blocked = true;
}

fn evaluate_full(
    inputs: &Inputs,
    r: &Request,
    value: Value,
    applied: Option<&Applied>,
    now: chrono::DateTime<chrono::Utc>,
    trace: bool,
) -> Evaluated {
    let mut ev = Evaluated::new(r);
    // Loading ties every request to a Promise it loaded.
    let Some(current) = inputs.promises.get(r.promise) else {
        return ev;
    };
    let Some(promise) = target_promise(inputs, current, r, applied, &mut ev) else {
        return ev;
    };
    ev.version = promise.version.clone();
    if current.paused || r.paused() {
        ev.paused = true;
        return ev;
    }
    // Every reason at once: an unavailable Promise does not hide a request's schema errors.
    let available = usable(inputs, promise, r.promise, &mut ev);
    let Some(mut value) = timings::time(Stage::Schema, || validate(promise, r, value, &mut ev))
    else {
        return ev;
    };
    // The defaulted spec is kept (apply records it); it is moved out once nothing reads the
    // request any more, not copied.
    let take_spec = |value: &mut Value| {
        value
            .get_mut("spec")
            .map(Value::take)
            .unwrap_or(Value::Null)
    };
    if !available {
        ev.spec = take_spec(&mut value);
        return ev;
    }
    let mut rendered = Vec::new();
    for pipeline in &promise.configure {
        let outputs = timings::time(Stage::Steps, || {
            run_pipeline(inputs, promise, pipeline, &value, applied, trace, &mut ev)
        });
        if ev.blocked {
            break;
        }
        rendered.extend(outputs);
    }
    // Request rules run even when a step rejected, so that every reason is reported at once;
    // output rules need outputs, which a rejected request does not have.
    let outputs = (!ev.blocked).then_some(&rendered[..]);
    timings::time(Stage::Rules, || {
        apply_rules(inputs, r, promise, &value, outputs, now, &mut ev)
    });
    ev.spec = take_spec(&mut value);
    if ev.blocked {
        ev.files.clear();
    }
    ev.files.sort_by(|a, b| a.path.cmp(&b.path));
    ev
}

/// Runs the platform rules over the defaulted request and what it renders.
fn apply_rules(
    inputs: &Inputs,
    r: &Request,
    promise: &Promise,
    value: &Value,
    rendered: Option<&[(String, OutputDoc)]>,
    now: chrono::DateTime<chrono::Utc>,
    ev: &mut Evaluated,
) {
    let subject = crate::policy::Subject {
        id: &r.id,
        labels: &r.labels,
        location: &r.location,
        locatable: r.item.is_none(),
        request: value,
        promise_version: &promise.version,
        outputs: rendered,
    };
    let (findings, _) = crate::policy::check(&inputs.policy, &subject, now);
    for f in findings {
        ev.note(f);
    }
}

/// The Promise revision this instance renders with: the current one, or the pinned revision.
fn target_promise<'a>(
    inputs: &'a Inputs,
    current: &'a Promise,
    r: &Request,
    applied: Option<&Applied>,
    ev: &mut Evaluated,
) -> Option<&'a Promise> {
    let pin = r
        .pinned_version()
        .or_else(|| applied.and_then(|a| a.binding.pinned()));
    let Some(v) = pin else {
        return Some(current);
    };
    ev.pinned = true;
    if v == current.version {
        return Some(current);
    }
    match inputs.revisions.get(&(current.name.clone(), v.to_string())) {
        Some(p) => Some(p),
        None => {
            ev.version = v.to_string();
            ev.block(
                Finding::new(
                    diag::MISSING_REVISION,
                    format!(
                        "{} is pinned to {} {v}, which is neither the current version ({}) nor a revision in the store",
                        r.id, current.name, current.version
                    ),
                )
                .at(r.location.clone())
                .help("pin it to a version the store keeps, or remove the vow.dev/version pin"),
            );
            None
        }
    }
}

/// Whether the Promise can be used at all; blocks the instance with the reasons when not.
fn usable(inputs: &Inputs, promise: &Promise, index: usize, ev: &mut Evaluated) -> bool {
    for f in &promise.broken {
        let mut f = f.clone();
        f.message = format!("Promise {} is unusable: {}", promise.name, f.message);
        ev.block(f);
    }
    for why in inputs.unavailable.get(index).into_iter().flatten() {
        ev.block(
            Finding::new(
                diag::INVALID_PROMISE,
                format!("Promise {} is unavailable: it {why}", promise.name),
            )
            .at(promise.location.clone())
            .help("install the required Promise at the required version"),
        );
    }
    !ev.blocked
}

/// Applies defaults and validates against the schema. Returns the defaulted request.
fn validate(promise: &Promise, r: &Request, mut value: Value, ev: &mut Evaluated) -> Option<Value> {
    let Some(schema) = promise.api.as_ref().and_then(|a| a.schema.as_ref()) else {
        return Some(value);
    };
    let Value::Object(map) = &mut value else {
        ev.block(
            Finding::new(diag::SCHEMA, format!("{} is not an object", r.id)).at(r.location.clone()),
        );
        return None;
    };
    // apiVersion, kind and metadata belong to Kubernetes, not to the Promise's schema.
    // The body is moved out and back after defaulting, not copied.
    let keys: Vec<String> = map
        .keys()
        .filter(|k| !matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "status"))
        .cloned()
        .collect();
    let body: serde_json::Map<String, Value> = keys
        .into_iter()
        .filter_map(|k| map.remove(&k).map(|v| (k, v)))
        .collect();
    let mut body = Value::Object(body);
    let violations = schema::default_and_validate(schema, &mut body, "");
    let invalid = violations.iter().any(|v| v.error);
    for v in violations {
        let code = if v.error {
            diag::SCHEMA
        } else {
            diag::UNKNOWN_FIELD
        };
        let help = if v.error {
            "fix the request so that it satisfies the Promise's API schema"
        } else {
            "remove the field or check its spelling"
        };
        let mut f = Finding::new(code, format!("{}: {} {}", r.id, v.path, v.message))
            .at(r.location.clone())
            .field(v.path)
            .help(help);
        f.unlocated = r.item.is_none();
        ev.note(f);
    }
    if invalid {
        return None;
    }
    if let Value::Object(b) = body {
        map.extend(b);
    }
    Some(value)
}

fn run_pipeline(
    inputs: &Inputs,
    promise: &Promise,
    pipeline: &Pipeline,
    request: &Value,
    applied: Option<&Applied>,
    trace: bool,
    ev: &mut Evaluated,
) -> Vec<(String, OutputDoc)> {
    for c in &pipeline.containers {
        ev.external.push(format!("{}/{c}", pipeline.name));
    }
    let request_d = script::to_dynamic(request);
    let mut promise_d = Map::new();
    promise_d.insert("name".into(), promise.name.clone().into());
    promise_d.insert("version".into(), promise.version.clone().into());
    let previous = previous_dynamic(applied);
    let mut outputs: Vec<(String, OutputDoc)> = Vec::new();
    let mut schedules: Vec<(String, Labels)> = Vec::new();
    for step in &pipeline.steps {
        // Only what the step mentions is copied into its scope.
        let uses = |name: &str| step.script.uses(name);
        let vars = vec![
            ("request", pass(uses("request"), || request_d.clone())),
            ("spec", pass(uses("spec"), || field(&request_d, "spec"))),
            (
                "metadata",
                pass(uses("metadata"), || field(&request_d, "metadata")),
            ),
            (
                "promise",
                pass(uses("promise"), || Dynamic::from_map(promise_d.clone())),
            ),
            ("previous", pass(uses("previous"), || previous.clone())),
            (
                "outputs",
                pass(uses("outputs"), || outputs_dynamic(&outputs)),
            ),
        ];
        debug_assert_eq!(vars.len(), STEP_SCOPE.len());
        let (effects, failure) = script::run(&step.script, vars);
        let what = format!("{} step `{}/{}`", promise.name, pipeline.name, step.name);
        for s in &effects.rejects {
            ev.block(
                Finding::new(
                    diag::REJECTED,
                    format!("{}: rejected by {what}: {}", ev.id, s.message),
                )
                .at(step.script.location_of(s)),
            );
        }
        for s in &effects.warnings {
            ev.note(
                Finding::new(
                    diag::STEP_WARNING,
                    format!("{}: {what}: {}", ev.id, s.message),
                )
                .at(step.script.location_of(s)),
            );
        }
        if let Some(fail) = failure {
            ev.block(fail.into_finding(&format!("{}: {what}", ev.id)));
        }
        if trace {
            ev.trace.push(step_trace(pipeline, step, &effects));
        }
        for (path, doc) in effects.outputs {
            outputs.retain(|(p, _)| *p != path);
            outputs.push((path, doc));
        }
        schedules.extend(effects.schedules);
        if let Some(s) = effects.status {
            ev.status = Some(s);
        }
        if ev.blocked {
            return outputs;
        }
    }
    if let Some(f) = script::check_output_set(
        &format!("{}: {} pipeline `{}`", ev.id, promise.name, pipeline.name),
        &outputs,
        &promise.location,
    ) {
        ev.block(f);
        return outputs;
    }
    // Rendering is timed on its own: `Steps` includes it, so it is taken out again.
    let started = timings::enabled().then(std::time::Instant::now);
    place(inputs, promise, pipeline, &outputs, &schedules, applied, ev);
    if let Some(s) = started {
        timings::add(Stage::Render, s.elapsed());
    }
    outputs
}

/// A scope variable's value, or `()` for a script that never mentions it.
fn pass(used: bool, value: impl FnOnce() -> Dynamic) -> Dynamic {
    if used {
        value()
    } else {
        Dynamic::UNIT
    }
}

fn step_trace(pipeline: &Pipeline, step: &crate::model::Step, e: &script::Effects) -> StepTrace {
    let mut messages = Vec::new();
    messages.extend(e.rejects.iter().map(|s| format!("reject: {}", s.message)));
    messages.extend(e.warnings.iter().map(|s| format!("warn: {}", s.message)));
    if let Some(s) = &e.status {
        messages.push(format!("status: {s}"));
    }
    StepTrace {
        pipeline: pipeline.name.clone(),
        step: step.name.clone(),
        outputs: e.outputs.iter().map(|(p, _)| p.clone()).collect(),
        schedules: e.schedules.clone(),
        messages,
    }
}

fn field(d: &Dynamic, name: &str) -> Dynamic {
    d.read_lock::<Map>()
        .and_then(|m| m.get(name).cloned())
        .unwrap_or(Dynamic::UNIT)
}

fn previous_dynamic(applied: Option<&Applied>) -> Dynamic {
    let Some(a) = applied else {
        return Dynamic::UNIT;
    };
    let mut m = Map::new();
    let version = a.binding.status.applied_version.clone().unwrap_or_default();
    m.insert("version".into(), version.into());
    let spec = a
        .binding
        .status
        .applied_spec
        .as_ref()
        .map(script::to_dynamic);
    m.insert("spec".into(), spec.unwrap_or(Dynamic::UNIT));
    Dynamic::from_map(m)
}

fn outputs_dynamic(outputs: &[(String, OutputDoc)]) -> Dynamic {
    let mut m = Map::new();
    for (path, doc) in outputs {
        let d = match doc {
            OutputDoc::Text(t) => t.clone().into(),
            OutputDoc::Docs(docs) => match docs.as_slice() {
                [one] => script::to_dynamic(one),
                _ => Dynamic::from_array(docs.iter().map(script::to_dynamic).collect()),
            },
        };
        m.insert(path.as_str().into(), d);
    }
    Dynamic::from_map(m)
}

/// Splits a pipeline's outputs into workload groups, picks each group's destination and lays
/// the files out as Kratix does.
fn place(
    inputs: &Inputs,
    promise: &Promise,
    pipeline: &Pipeline,
    outputs: &[(String, OutputDoc)],
    schedules: &[(String, Labels)],
    applied: Option<&Applied>,
    ev: &mut Evaluated,
) {
    let mut groups: std::collections::BTreeMap<String, Vec<(String, &OutputDoc)>> =
        Default::default();
    for (path, doc) in outputs {
        let group = schedules
            .iter()
            .find(|(dir, _)| dir != "." && path.starts_with(&format!("{dir}/")))
            .map(|(dir, _)| dir.clone())
            .unwrap_or_else(|| ".".to_string());
        let rel = if group == "." {
            path.clone()
        } else {
            let prefix = format!("{group}/");
            path.strip_prefix(&prefix).unwrap_or(path).to_string()
        };
        groups.entry(group).or_default().push((rel, doc));
    }
    for (dir, files) in groups {
        let selectors = group_selectors(promise, &dir, schedules);
        // A Promise's dependencies go to every matching destination; a request's outputs to one.
        let dests: Vec<&Destination> = if ev.id.is_dependencies() {
            inputs
                .destinations
                .iter()
                .filter(|d| d.accepts(&selectors))
                .collect()
        } else {
            choose_destination(&inputs.destinations, &selectors, &dir, applied, ev)
                .into_iter()
                .collect()
        };
        if dests.is_empty() {
            let wanted = selectors
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",");
            ev.block(
                Finding::new(
                    diag::NO_DESTINATION,
                    format!("{}: no Destination matches the workload group `{dir}` (selectors: {wanted})", ev.id),
                )
                .at(promise.location.clone())
                .help("add a Destination with these labels, or change the Promise's destinationSelectors"),
            );
            continue;
        }
        let names: Vec<&str> = dests.iter().map(|d| d.name.as_str()).collect();
        ev.place_group(&dir, names.join(","));
        for dest in dests {
            write_group(ev, dest, pipeline, &dir, &files);
        }
    }
}

/// Lays a workload group's files out in a destination, as Kratix does:
/// `<destination>/<resources/ns/promise/name | dependencies/promise>/<pipeline>/<id5>/<file>`.
fn write_group(
    ev: &mut Evaluated,
    dest: &Destination,
    pipeline: &Pipeline,
    dir: &str,
    files: &[(String, &OutputDoc)],
) {
    // `filepath.mode: none`: the files go to the destination's path as they are named.
    let root = match dest.mode {
        FilepathMode::None => None,
        FilepathMode::NestedByMetadata => Some(dest.path.clone()),
        FilepathMode::AggregatedYaml => Some(store::aggregated_parts(&dest.path)),
    };
    let base = match root {
        None => dest.path.clone(),
        Some(root) => format!(
            "{}/{}/{}",
            store::instance_dir(&root, &ev.id),
            pipeline.name,
            store::id5(dir)
        ),
    };
    for (rel, doc) in files {
        let content = render_file(doc);
        let digest = store::digest(content.as_bytes());
        ev.files.push(OutFile {
            path: format!("{base}/{rel}").into(),
            content,
            digest: digest.into(),
        });
    }
}

/// The labels a workload group's destination must carry. For the root group, the Promise's
/// `destinationSelectors` are merged over the workflow's, the Promise winning on conflicts;
/// other groups use the labels their `schedule()` gave.
fn group_selectors(promise: &Promise, dir: &str, schedules: &[(String, Labels)]) -> Labels {
    let mut labels = Labels::new();
    for (d, l) in schedules {
        if d == dir {
            labels.extend(l.clone());
        }
    }
    if dir == "." {
        for s in &promise.destination_selectors {
            labels.extend(s.match_labels.clone());
        }
    }
    labels
}

/// Kratix picks a matching destination at random; vow keeps an instance where it is and places
/// a new one by a stable hash of its identity, so the same inputs always give the same plan.
fn choose_destination<'a>(
    all: &'a [Destination],
    selectors: &Labels,
    dir: &str,
    applied: Option<&Applied>,
    ev: &Evaluated,
) -> Option<&'a Destination> {
    let candidates: Vec<&Destination> = all.iter().filter(|d| d.accepts(selectors)).collect();
    if candidates.is_empty() {
        return None;
    }
    if let Some(current) = applied.and_then(|a| a.binding.status.destinations.get(dir)) {
        if let Some(d) = candidates.iter().find(|d| &d.name == current) {
            return Some(d);
        }
    }
    let n = ev
        .id
        .stable_hash(crate::model::HashUse::Destination { dir });
    candidates
        .get((n % candidates.len() as u64) as usize)
        .copied()
}

/// A file's content: documents as multi-document YAML, or the text as given.
pub fn render_file(doc: &OutputDoc) -> String {
    match doc {
        OutputDoc::Text(t) => t.clone(),
        OutputDoc::Docs(docs) => {
            let mut out = String::new();
            for (i, d) in docs.iter().enumerate() {
                if i > 0 {
                    out.push_str("---\n");
                }
                match crate::yaml_writer::to_string(d) {
                    Some(text) => out.push_str(&text),
                    None => out.push_str(&serde_yaml::to_string(d).unwrap_or_default()),
                }
            }
            out
        }
    }
}

/// The binding that records an evaluated instance as applied, following `desired`.
pub fn applied_binding(ev: &Evaluated, desired: &str) -> store::Binding {
    let mut b = store::Binding::new(&ev.id, desired);
    b.status = store::BindingStatus {
        applied_version: Some(ev.version.clone()),
        failed_version: None,
        request_labels: Labels::clone(&ev.labels),
        applied_spec: Some(ev.spec.clone()),
        destinations: ev.destinations.iter().cloned().collect(),
        files: ev
            .files
            .iter()
            .map(|f| FileRecord {
                path: f.path.to_string(),
                digest: f.digest.to_string(),
            })
            .collect(),
    };
    b
}
