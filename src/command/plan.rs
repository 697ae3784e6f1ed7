//! `vow plan`: evaluates the fleet, builds the plan and writes it (the plan file, stdout); with
//! `--shard K/N` one slice's partial plan, with `--merge` the plan of every shard's partials.

use super::{fails, FailOn, Leftovers, Sink};
use crate::error::{exit, Error, Result};
use crate::evaluate;
use crate::load::inputs::{Catalogue, Fleet};
use crate::plan::{self, PlanOptions, Shard};
use crate::report;
use crate::timings::Stage;
use chrono::{DateTime, Utc};
use clap::ValueEnum;
use std::path::PathBuf;

/// The markdown plan's default size budget (`--max-bytes`).
pub(crate) const DEFAULT_MAX_BYTES: usize = report::plan_markdown::DEFAULT_MAX_BYTES;

/// The formats of the plan on stdout.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanFormat {
    Human,
    Json,
    Markdown,
    /// One self-contained page (docs/reports.md).
    Html,
}

/// What to plan and how to write it (`vow plan`'s options but `--shard` and `--merge`).
#[derive(Clone, Debug)]
pub(crate) struct Options {
    /// The plan file (JSON), written as well as stdout.
    pub out: Option<PathBuf>,
    pub format: PlanFormat,
    /// Only this Promise's instances.
    pub promise: Option<String>,
    /// Exit 3 when changes are pending.
    pub detailed_exitcode: bool,
    pub fail_on: FailOn,
    /// A unified diff of every changed file.
    pub diff: bool,
    /// The markdown plan's size budget, in bytes.
    pub max_bytes: usize,
}

/// `vow plan`: evaluates every request and writes the plan.
pub(crate) fn plan(
    inputs: &Catalogue,
    requests: Fleet,
    opts: Options,
    now: Option<DateTime<Utc>>,
    sink: &mut Sink,
    leftovers: &mut Leftovers,
) -> Result<i32> {
    check_promise(inputs, opts.promise.as_deref())?;
    let started = std::time::Instant::now();
    // Diffs need the rendered contents; markdown and HTML show them collapsed.
    let diff = opts.diff || folds_diffs(opts.format);
    let detail = if diff {
        evaluate::Detail::Contents
    } else {
        evaluate::Detail::Digests
    };
    let requests = evaluate::Requests::Owned(requests);
    let eval_opts = evaluate::Options::new(detail)
        .with_dependencies()
        .with_summaries();
    let evaluated = crate::timings::time(Stage::Evaluate, || {
        evaluate::run_with_progress(
            inputs,
            requests,
            &eval_opts,
            &super::progress::Terminal::new("evaluating"),
        )
    });
    tracing::info!(
        "evaluated {} requests in {:?}",
        evaluated.len(),
        started.elapsed()
    );
    let code = emit_plan(inputs, &evaluated, opts, now, true, sink, leftovers);
    leftovers.keep(evaluated);
    code
}

/// `vow plan --shard K/N`: evaluates one slice and writes the partial plan.
pub(crate) fn shard(
    inputs: &Catalogue,
    requests: Fleet,
    shard: Shard,
    opts: Options,
    now: Option<DateTime<Utc>>,
    sink: &mut Sink,
) -> Result<i32> {
    check_promise(inputs, opts.promise.as_deref())?;
    // The Promises' dependencies belong to the first shard.
    let mut eval_opts = evaluate::Options::new(evaluate::Detail::Digests).with_summaries();
    eval_opts.with_dependencies = shard.index == 1;
    let requests = requests
        .into_iter()
        .filter(|r| crate::model::shard_of(&r.id, shard.count) == shard.index - 1)
        .collect();
    let evaluated = crate::timings::time(Stage::Evaluate, || {
        evaluate::run_with_progress(
            inputs,
            evaluate::Requests::Owned(requests),
            &eval_opts,
            &super::progress::Terminal::new("evaluating"),
        )
    });
    let count = evaluated.len();
    let partial = plan::Partial::new(
        inputs,
        shard,
        now.map(crate::duration::format_time),
        opts.promise.clone(),
        evaluated,
    );
    let mut json = serde_json::to_string(&partial).map_err(|e| Error::Store(e.to_string()))?;
    json.push('\n');
    match &opts.out {
        Some(path) => crate::store::write::atomic_write(path, json.as_bytes()).map_err(|e| {
            Error::Store(format!(
                "cannot write the partial plan to {}: {e:#}",
                path.display()
            ))
        })?,
        None => sink.out(&json)?,
    }
    sink.say(&format!(
        "vow plan: shard {}/{}: {count} instances evaluated; combine every shard with `vow plan --merge PARTS...`\n",
        shard.index, shard.count
    ));
    Ok(exit::OK)
}

/// `vow plan --merge PARTS...`: the plan of the whole fleet from every shard's partial plan.
pub(crate) fn merge(
    inputs: Catalogue,
    parts: &[PathBuf],
    opts: Options,
    now: Option<DateTime<Utc>>,
    sink: &mut Sink,
    leftovers: &mut Leftovers,
) -> Result<i32> {
    let parts = parts
        .iter()
        .map(|p| {
            let part = plan::Partial::read(p)?;
            Ok((p.clone(), part))
        })
        .collect::<Result<Vec<_>>>()?;
    let merged = plan::merge(inputs, parts)?;
    let shard_now = match &merged.now {
        Some(t) => Some(crate::duration::parse_time(t).map_err(Error::EditedPlan)?),
        None => None,
    };
    if now.is_some() && now != shard_now {
        return Err(Error::Usage("--now differs from the shards': merge without --now, or plan the shards with the same --now".into()));
    }
    if opts.promise.is_some() && opts.promise != merged.promise {
        return Err(Error::Usage(
            "--promise differs from the shards': merge without --promise".into(),
        ));
    }
    // Partial plans keep digests, not contents: a merged plan has no file diffs to show.
    let opts = Options {
        promise: merged.promise.clone(),
        diff: false,
        ..opts
    };
    let code = emit_plan(
        &merged.catalogue,
        &merged.evaluated,
        opts,
        shard_now,
        false,
        sink,
        leftovers,
    );
    leftovers.keep(merged);
    code
}

/// The formats that show every diff, folded, without `--diff`.
fn folds_diffs(format: PlanFormat) -> bool {
    matches!(format, PlanFormat::Markdown | PlanFormat::Html)
}

/// Refuses a `--promise` that names no Promise of the workspace.
fn check_promise(inputs: &Catalogue, promise: Option<&str>) -> Result<()> {
    if let Some(p) = promise {
        if inputs.promise_by_name(p).is_none() {
            let names: Vec<&str> = inputs.promises.iter().map(|p| p.name.as_str()).collect();
            return Err(Error::Usage(format!(
                "there is no Promise `{p}`; the Promises are: {}",
                names.join(", ")
            )));
        }
    }
    Ok(())
}

/// Builds the plan from evaluated requests, writes it and prints it. `contents`: the
/// evaluations hold the rendered files (not only their digests), so diffs can be shown.
fn emit_plan(
    inputs: &Catalogue,
    evaluated: &[evaluate::Evaluated],
    opts: Options,
    now: Option<DateTime<Utc>>,
    contents: bool,
    sink: &mut Sink,
    leftovers: &mut Leftovers,
) -> Result<i32> {
    let diff = contents && (opts.diff || folds_diffs(opts.format));
    let mut plan = crate::timings::time(Stage::Plan, || {
        plan::build_unsealed(
            inputs,
            evaluated,
            &PlanOptions {
                promise: opts.promise.clone(),
                now,
            },
        )
    });
    let output_span = crate::timings::start(Stage::Output);
    let json = write_plan(&mut plan, opts.out.as_deref(), opts.format)?;
    let diffs = if diff {
        plan::unified_diffs(&inputs.ws.store, evaluated, &plan.changes)
    } else {
        Vec::new()
    };
    match opts.format {
        PlanFormat::Human => sink.out(&report::human::plan(&plan, &diffs))?,
        PlanFormat::Json => match json {
            Some(mut file) => sink.out_with(|w| std::io::copy(&mut file, w).map(|_| ()))?,
            None => sink.out_with(|w| plan::write_json(&plan, w))?,
        },
        PlanFormat::Markdown => sink.out(&report::plan_markdown::render(
            &plan,
            &diffs,
            opts.max_bytes,
        ))?,
        PlanFormat::Html => {
            let keys = &inputs.ws.labels;
            let facets = report::html::Facets::new(
                &keys.team,
                &keys.environment,
                evaluated.iter().map(|e| (&e.id, &*e.labels)),
            );
            sink.out(&report::html::plan(&plan, &diffs, &facets))?
        }
    }
    if let Some(span) = output_span {
        span.finish();
    }
    let changes = plan.summary.create + plan.summary.update + plan.summary.delete;
    let failed = fails(&plan.findings, opts.fail_on);
    leftovers.keep(plan);
    Ok(if failed {
        exit::FINDINGS
    } else if opts.detailed_exitcode && changes > 0 {
        exit::CHANGES
    } else {
        exit::OK
    })
}

/// Gives the plan its id, writing it once: to `--out` when there is one, or else, for a JSON
/// stdout, to a temporary file (stdout cannot be patched once written); the written file comes
/// back for the copy to stdout. Other formats, or no temporary file, hash it in a pass of its
/// own. The JSON plan is streamed, never built as one string: at a million requests it is 1.7 GB.
fn write_plan(
    plan: &mut plan::Plan,
    out: Option<&std::path::Path>,
    format: PlanFormat,
) -> Result<Option<std::fs::File>> {
    let file = match out {
        Some(path) => Some(plan::write_sealed(plan, path).map_err(|e| {
            Error::Store(format!(
                "cannot write the plan to {}: {e:#}",
                path.display()
            ))
        })?),
        None if format == PlanFormat::Json => plan::write_sealed_temporary(plan),
        None => None,
    };
    if plan.plan_id.is_empty() {
        plan::seal(plan);
    }
    Ok(file.filter(|_| format == PlanFormat::Json))
}
