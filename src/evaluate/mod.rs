//! Evaluating requests, each through its stages: validate (the Promise's schema), configure
//! (the Rhai workflow steps), schedule (the Destinations its outputs go to), then the platform's
//! rules. [`run`] is the one entry point.
//!
//! Every request is evaluated on its own (rayon); nothing here looks at another request. The
//! results come back sorted by instance, so everything after is deterministic whatever the
//! thread count.

mod configure;
mod evaluated;
mod layout;
mod schedule;
pub mod summary;
mod validate;
mod yaml_lines;

pub use evaluated::{applied_binding, Evaluated, OutFile, StepTrace};
pub use layout::render_file;

use crate::diag::{self, Finding};
use crate::load::inputs::Catalogue;
use crate::model::{InstanceRef, Labels, Pipeline, Promise, Request};
use crate::policy::RequestVars;
use crate::script::{self, OutputDoc};
use crate::store::Applied;
use crate::timings::{self, Stage};
use chrono::{DateTime, Utc};
use rayon::prelude::*;
use serde_json::Value;

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

/// The requests to evaluate.
pub enum Requests<'a> {
    /// Given up by the caller: each request's document is moved into its evaluation instead of
    /// copied, and the request is freed as soon as it is evaluated, so a large fleet never holds
    /// every parsed request and every result at once.
    Owned(Vec<Request>),
    /// Borrowed: each document is copied out.
    Borrowed(Vec<&'a Request>),
}

/// How to evaluate.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub detail: Detail,
    /// When waivers are judged; `None`: at the catalogue's `now`.
    pub now: Option<DateTime<Utc>>,
    /// Whether the store's history is used (its pins, destinations and refused paths); test
    /// cases render as new instances.
    pub with_store: bool,
    /// Whether the Promises' own dependencies are evaluated too (the whole fleet, or a run's
    /// first shard).
    pub with_dependencies: bool,
    /// Whether each update's change is summarized ([`Evaluated::change`]): the plan's people
    /// read it; apply and check do not need it.
    pub with_summaries: bool,
    /// Whether each update's change kind is found (a read and diff of the store's files): the
    /// planner picks canaries by it; apply's wave renders, checked by their digests against the
    /// check's, do not need it.
    pub with_change_kinds: bool,
}

impl Options {
    /// Keeping `detail`, judged at the catalogue's `now`, with the store, without dependencies.
    pub fn new(detail: Detail) -> Options {
        Options {
            detail,
            now: None,
            with_store: true,
            with_dependencies: false,
            with_summaries: false,
            with_change_kinds: true,
        }
    }

    /// The same, with the Promises' dependencies.
    pub fn with_dependencies(self) -> Options {
        Options {
            with_dependencies: true,
            ..self
        }
    }

    /// The same, without the change kinds (nor summaries): for renders whose files alone are used.
    pub fn without_change_kinds(self) -> Options {
        Options {
            with_change_kinds: false,
            with_summaries: false,
            ..self
        }
    }

    /// The same, with each update's change summarized.
    pub fn with_summaries(self) -> Options {
        Options {
            with_summaries: true,
            ..self
        }
    }
}

/// Evaluates the requests in parallel (and the Promises' dependencies when asked); results are
/// in instance order. Field lines of findings are found once per file for the whole batch.
pub fn run(catalogue: &Catalogue, requests: Requests, opts: &Options) -> Vec<Evaluated> {
    run_with_progress(catalogue, requests, opts, &crate::progress::Silent)
}

/// [`run`], telling `progress` of every request evaluated.
pub fn run_with_progress(
    catalogue: &Catalogue,
    requests: Requests,
    opts: &Options,
    progress: &dyn crate::progress::Progress,
) -> Vec<Evaluated> {
    let now = opts.now.unwrap_or(catalogue.now);
    let one = |r: &Request, value: Value| {
        let evaluated = evaluate_unlocated(catalogue, r, value, opts, now);
        progress.step();
        evaluated
    };
    progress.start(match &requests {
        Requests::Owned(r) => r.len() as u64,
        Requests::Borrowed(r) => r.len() as u64,
    });
    let mut out: Vec<Evaluated> = match requests {
        Requests::Owned(requests) => requests
            .into_par_iter()
            .map(|mut r| {
                let value = r.take_document();
                one(&r, value)
            })
            .collect(),
        Requests::Borrowed(requests) => requests.par_iter().map(|r| one(r, r.document())).collect(),
    };
    progress.done();
    locate_all(catalogue, &mut out);
    if opts.with_dependencies {
        out.extend(
            (0..catalogue.promises.len()).filter_map(|i| evaluate_dependencies(catalogue, i, opts)),
        );
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// Runs a Promise's own workflow (`workflows.promise.configure`): its outputs (operators, CRDs,
/// catalogs) are the Promise's dependencies, written under `dependencies/<promise>/` to every
/// destination its `destinationSelectors` match, as Kratix does. None when it has no Rhai step.
fn evaluate_dependencies(catalogue: &Catalogue, index: usize, opts: &Options) -> Option<Evaluated> {
    let promise = catalogue.promises.get(index)?;
    if promise.paused || promise.promise_configure.iter().all(|p| p.steps.is_empty()) {
        return None;
    }
    let id = InstanceRef::dependencies(&promise.name);
    let applied = catalogue.store.applied.get(&id);
    let mut ev = Evaluated::blank(id, Labels::new(), promise.location.clone());
    ev.version = promise.version.clone();
    if !usable(catalogue, promise, index, &mut ev) {
        return Some(ev);
    }
    for pipeline in &promise.promise_configure {
        configure_and_schedule(
            catalogue,
            promise,
            pipeline,
            &mut RequestVars::new(&Value::Null),
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
    keep(catalogue, &mut ev, applied, opts);
    Some(ev)
}

/// Notes what planning needs of the spec (and, when asked, what the change is, while the
/// contents are at hand), then drops what `opts.detail` does not keep.
fn keep(catalogue: &Catalogue, ev: &mut Evaluated, applied: Option<&Applied>, opts: &Options) {
    ev.spec_changed =
        applied.is_some_and(|a| a.binding.status.applied_spec.as_ref() != Some(&ev.spec));
    // The change kind is planning's (canaries cover every kind), so it is made whatever the
    // options, or a plan re-derived by apply would pick other canaries; the line is kept only
    // when asked for.
    if let Some(a) = applied.filter(|_| opts.with_change_kinds && !ev.blocked && !ev.paused) {
        if let Some(s) = summary::summarize(&catalogue.ws.store, &ev.files, a) {
            ev.change_kind = Some(s.kind);
            ev.change = opts.with_summaries.then_some(s.line);
        }
    }
    if opts.detail == Detail::Digests {
        ev.drop_contents();
    }
}

/// Finds the field lines of every finding, once per file for the whole batch.
fn locate_all(catalogue: &Catalogue, out: &mut [Evaluated]) {
    crate::source::locate::locate_fields(
        &catalogue.ws.root,
        out.iter_mut().flat_map(|e| e.findings.iter_mut()).collect(),
    );
}

/// Evaluates `r` whose document is `value` (`r.value` is not read: the caller may have moved it).
fn evaluate_unlocated(
    catalogue: &Catalogue,
    r: &Request,
    value: Value,
    opts: &Options,
    now: chrono::DateTime<chrono::Utc>,
) -> Evaluated {
    let with_store = opts.with_store;
    let detail = opts.detail;
    let applied = catalogue.store.applied.get(&r.id).filter(|_| with_store);
    // One time budget for all of the request's steps and rules.
    let _budget = script::limits::RequestBudget::start();
    let mut ev = evaluate_full(catalogue, r, value, applied, now, detail == Detail::Trace);
    if with_store {
        hold_refused(catalogue, &mut ev);
    }
    keep(catalogue, &mut ev, applied, opts);
    ev
}

/// An instance whose store record names a path the store refuses (a file replaced by a symlink,
/// a path outside) is held back: applying it would stop its whole wave.
fn hold_refused(catalogue: &Catalogue, ev: &mut Evaluated) {
    let Some(refused) = catalogue.store.refused.get(&ev.id) else {
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
    catalogue: &Catalogue,
    r: &Request,
    value: Value,
    applied: Option<&Applied>,
    now: chrono::DateTime<chrono::Utc>,
    trace: bool,
) -> Evaluated {
    let mut ev = Evaluated::new(r);
    // Loading ties every request to a Promise it loaded.
    let Some(current) = catalogue.promises.get(r.promise) else {
        return ev;
    };
    let Some(promise) = target_promise(catalogue, current, r, applied, &mut ev) else {
        return ev;
    };
    ev.version = promise.version.clone();
    if current.paused || r.paused() {
        ev.paused = true;
        return ev;
    }
    // Every reason at once: an unavailable Promise does not hide a request's schema errors.
    let available = usable(catalogue, promise, r.promise, &mut ev);
    let Some(mut value) = timings::time(Stage::Schema, || {
        validate::validate(promise, r, value, &mut ev)
    }) else {
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
    // The request is converted for scripts once, for all the steps and rules.
    let mut vars = RequestVars::new(&value);
    for pipeline in &promise.configure {
        let outputs = timings::time(Stage::Steps, || {
            configure_and_schedule(
                catalogue, promise, pipeline, &mut vars, applied, trace, &mut ev,
            )
        });
        if ev.blocked {
            break;
        }
        rendered.extend(outputs);
    }
    // A step's findings look for their field's line in the request's file; an item of a list
    // or of an NDJSON file keeps its item's line.
    if r.item.is_some() {
        ev.findings.iter_mut().for_each(|f| f.unlocated = false);
    }
    // Request rules run even when a step rejected, so that every reason is reported at once;
    // output rules need outputs, which a rejected request does not have.
    let outputs = (!ev.blocked).then_some(&rendered[..]);
    timings::time(Stage::Rules, || {
        apply_rules(catalogue, r, promise, &value, vars, outputs, now, &mut ev)
    });
    ev.spec = take_spec(&mut value);
    if ev.blocked {
        ev.files.clear();
    }
    ev.files.sort_by(|a, b| a.path.cmp(&b.path));
    ev
}

/// One pipeline through the configure and schedule stages; returns what its steps output.
fn configure_and_schedule(
    catalogue: &Catalogue,
    promise: &Promise,
    pipeline: &Pipeline,
    vars: &mut RequestVars,
    applied: Option<&Applied>,
    trace: bool,
    ev: &mut Evaluated,
) -> Vec<(String, OutputDoc)> {
    let made = configure::run_pipeline(promise, pipeline, vars, applied, trace, ev);
    if !ev.blocked {
        // Rendering is timed on its own: `Steps` includes it, so it is taken out again.
        let span = timings::start(Stage::Render);
        schedule::schedule(
            catalogue,
            promise,
            pipeline,
            &made.outputs,
            &made.schedules,
            applied,
            ev,
        );
        if let Some(s) = span {
            s.finish();
        }
    }
    made.outputs
}

/// Runs the platform rules over the defaulted request (`value`, whose script variables are
/// `vars`) and what it renders.
#[allow(clippy::too_many_arguments)]
fn apply_rules(
    catalogue: &Catalogue,
    r: &Request,
    promise: &Promise,
    value: &Value,
    vars: RequestVars,
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
    let (findings, _) = crate::policy::check_with(&catalogue.policy, &subject, now, vars);
    for f in findings {
        ev.note(f);
    }
}

/// The Promise revision this instance renders with: the current one, or the pinned revision.
fn target_promise<'a>(
    catalogue: &'a Catalogue,
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
    match catalogue
        .revisions
        .get(&(current.name.clone(), v.to_string()))
    {
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
fn usable(catalogue: &Catalogue, promise: &Promise, index: usize, ev: &mut Evaluated) -> bool {
    for f in &promise.broken {
        let mut f = f.clone();
        f.message = format!("Promise {} is unusable: {}", promise.name, f.message);
        ev.block(f);
    }
    for why in catalogue.unavailable.get(index).into_iter().flatten() {
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
