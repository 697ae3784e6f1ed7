//! The second stage: a Promise's workflow (`workflows.resource.configure`, or the Promise's own
//! `workflows.promise.configure`) run step by step, each Rhai step with its scope, collecting the
//! outputs, the `schedule()` calls, the status and what was rejected.

use super::{schedule, Evaluated, StepTrace};
use crate::diag::{self, Finding};
use crate::load::inputs::Catalogue;
use crate::load::promise::STEP_SCOPE;
use crate::model::{Labels, Pipeline, Promise};
use crate::policy::scope::{field, promise_variable};
use crate::script::{self, OutputDoc};
use crate::store::Applied;
use crate::timings::{self, Stage};
use rhai::{Dynamic, Map};
use serde_json::Value;

pub(super) fn run_pipeline(
    inputs: &Catalogue,
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
    let promise_d = promise_variable(&promise.name, &promise.version);
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
            ("promise", pass(uses("promise"), || promise_d.clone())),
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
    schedule::schedule(inputs, promise, pipeline, &outputs, &schedules, applied, ev);
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
