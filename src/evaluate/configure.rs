//! The second stage: a Promise's workflow (`workflows.resource.configure`, or the Promise's own
//! `workflows.promise.configure`) run step by step, each Rhai step with its scope, collecting the
//! outputs, the `schedule()` calls, the status and what was rejected.

use super::{Evaluated, StepTrace};
use crate::diag::{self, Finding};
use crate::load::promise::STEP_SCOPE;
use crate::model::{Labels, Pipeline, Promise, Step};
use crate::policy::scope::{promise_variable, RequestVars};
use crate::script::{self, OutputDoc};
use crate::store::Applied;
use rhai::{Dynamic, Map, Scope};

/// What a pipeline's steps made: its outputs (path → document), and the labels each `schedule()`
/// call gave a workload group.
pub(super) struct Configured {
    pub outputs: Vec<(String, OutputDoc)>,
    pub schedules: Vec<(String, Labels)>,
}

/// Runs a pipeline's Rhai steps in order, until one blocks the instance; container steps are
/// noted as not run. The output set is checked once every step ran.
pub(super) fn run_pipeline(
    promise: &Promise,
    pipeline: &Pipeline,
    vars: &mut RequestVars,
    applied: Option<&Applied>,
    trace: bool,
    ev: &mut Evaluated,
) -> Configured {
    for c in &pipeline.containers {
        ev.external.push(format!("{}/{c}", pipeline.name));
    }
    let promise_d = promise_variable(&promise.name, &promise.version);
    let previous = previous_dynamic(applied);
    let mut made = Configured {
        outputs: Vec::new(),
        schedules: Vec::new(),
    };
    for step in &pipeline.steps {
        let (effects, failure) = run_step(step, vars, &promise_d, &previous, &made.outputs);
        if trace {
            ev.trace.push(step_trace(pipeline, step, &effects));
        }
        let what = format!("{} step `{}/{}`", promise.name, pipeline.name, step.name);
        record(&what, step, effects, failure, &mut made, ev);
        if ev.blocked {
            return made;
        }
    }
    if let Some(f) = script::check_output_set(
        &format!("{}: {} pipeline `{}`", ev.id, promise.name, pipeline.name),
        &made.outputs,
        &promise.location,
    ) {
        ev.block(f);
    }
    made
}

/// Runs one step. The request's variables it reads are moved into its scope as constants and
/// moved back afterwards: a step cannot change them (assigning to one is a script error), so
/// the next step and the rules see the request as it was, and nothing is copied per step
/// (copying `spec` and `metadata` for every step was a tenth of the steps' time, BENCHMARKS.md).
/// The variables it does not read are `()`.
fn run_step(
    step: &Step,
    vars: &mut RequestVars,
    promise: &Dynamic,
    previous: &Dynamic,
    outputs: &[(String, OutputDoc)],
) -> (script::Effects, Option<script::ScriptFailure>) {
    let uses = |name: &str| step.script.uses(name);
    // `request` first: it is made from `spec` and `metadata`, which must still be there.
    let lent: [(&'static str, Dynamic); 3] =
        ["request", "spec", "metadata"].map(|name| (name, pass(uses(name), || vars.lend(name))));
    let mut scope = Scope::with_capacity(STEP_SCOPE.len());
    for (name, value) in lent {
        scope.push_constant_dynamic(name, value);
    }
    scope.push_constant_dynamic("promise", pass(uses("promise"), || promise.clone()));
    scope.push_constant_dynamic("previous", pass(uses("previous"), || previous.clone()));
    scope.push_constant_dynamic(
        "outputs",
        pass(uses("outputs"), || outputs_dynamic(outputs)),
    );
    debug_assert_eq!(scope.len(), STEP_SCOPE.len());
    let ran = script::run_in(&step.script, &mut scope);
    for name in ["request", "spec", "metadata"]
        .into_iter()
        .filter(|n| uses(n))
    {
        if let Some(value) = scope.remove::<Dynamic>(name) {
            vars.give_back(name, value);
        }
    }
    ran
}

/// Records what one step (`what`) did: its rejections and warnings as findings, its outputs (a
/// later write of a path replaces an earlier one), its `schedule()` calls and its status.
fn record(
    what: &str,
    step: &Step,
    effects: script::Effects,
    failure: Option<script::ScriptFailure>,
    made: &mut Configured,
    ev: &mut Evaluated,
) {
    for s in &effects.rejects {
        let f = Finding::new(
            diag::REJECTED,
            format!("{}: rejected by {what}: {}", ev.id, s.message),
        );
        ev.block(about_request(f, step, s, &ev.location));
    }
    for s in &effects.warnings {
        let f = Finding::new(
            diag::STEP_WARNING,
            format!("{}: {what}: {}", ev.id, s.message),
        );
        ev.note(about_request(f, step, s, &ev.location));
    }
    if let Some(fail) = failure {
        ev.block(fail.into_finding(&format!("{}: {what}", ev.id)));
    }
    for (path, doc) in effects.outputs {
        made.outputs.retain(|(p, _)| *p != path);
        made.outputs.push((path, doc));
    }
    made.schedules.extend(effects.schedules);
    if let Some(s) = effects.status {
        ev.status = Some(s);
    }
}

/// A step's message about the request points at the request (at the field it names, when it
/// names one), so that annotations land on the file its owner edits; the script's line is the
/// finding's `related` location, its source. The field's line is found later, for the batch
/// (`locate::locate_fields`; the caller clears `unlocated` for an item of a list).
fn about_request(
    f: Finding,
    step: &Step,
    s: &script::Said,
    request: &crate::diag::Location,
) -> Finding {
    let mut f = f.at(request.clone()).related(step.script.location_of(s));
    if let Some(field) = &s.field {
        f = f.field(field.clone());
        f.unlocated = true;
    }
    f
}

/// A scope variable's value, or `()` for a script that never mentions it.
fn pass(used: bool, value: impl FnOnce() -> Dynamic) -> Dynamic {
    if used {
        value()
    } else {
        Dynamic::UNIT
    }
}

fn step_trace(pipeline: &Pipeline, step: &Step, e: &script::Effects) -> StepTrace {
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
