//! `vow show PLAN`: a saved plan file printed again, in the formats of `vow plan` and by the
//! same writers, without a workspace; inside one, it also says on stderr whether the plan is
//! stale (planning its recorded `--now` and `--promise` now gives other waves).

use super::plan::PlanFormat;
use super::Sink;
use crate::error::{exit, Error, Result};
use crate::evaluate;
use crate::plan::{self, Plan, PlanKind};
use crate::report;
use crate::workspace::{StoreKind, Workspace};
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};

/// How many differences a stale plan's message lists.
const SHOWN: usize = 10;

/// What to show and where the workspace is.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub plan: PathBuf,
    pub format: PlanFormat,
    pub max_bytes: usize,
    /// The workspace (`-C`) and its configuration file (`--config`).
    pub dir: PathBuf,
    pub config: Option<PathBuf>,
}

/// Prints the plan; then, inside a workspace, whether it is stale.
pub(crate) fn show(opts: &Options, clock: DateTime<Utc>, sink: &mut Sink) -> Result<i32> {
    let saved = plan::read_verified(&opts.plan)?;
    match opts.format {
        // The plan file keeps no file contents: there are no diffs to show.
        PlanFormat::Human => sink.out(&report::human::plan(&saved, &[]))?,
        PlanFormat::Json => sink.out_with(|w| plan::write_json(&saved, w))?,
        PlanFormat::Markdown => {
            sink.out(&report::plan_markdown::render(&saved, &[], opts.max_bytes))?
        }
    }
    let in_workspace = opts.config.is_some() || opts.dir.join("vow.yaml").is_file();
    if in_workspace {
        let verdict = staleness(&saved, &opts.plan, &opts.dir, opts.config.as_deref(), clock)?;
        sink.say(&verdict);
    }
    Ok(exit::OK)
}

/// The plan is planned again from the workspace as it is now and its waves compared.
fn staleness(
    saved: &Plan,
    path: &Path,
    dir: &Path,
    config: Option<&Path>,
    clock: DateTime<Utc>,
) -> Result<String> {
    let shown = path.display();
    if let PlanKind::Rollback { of } = &saved.kind {
        return Ok(format!(
            "vow show: {shown} rolls back run {of}; `vow apply` checks it against that run's journal (not checked here)\n"
        ));
    }
    let now = match &saved.now {
        Some(t) => Some(crate::duration::parse_time(t).map_err(Error::EditedPlan)?),
        None => None,
    };
    let ws = Workspace::open(dir, config)?;
    // A git store's checkout is brought to the remote branch first, as planning does.
    if ws.store_kind != StoreKind::Folder {
        ws.open_store()?.refresh()?;
    }
    let (inputs, requests) = crate::load::inputs::load(ws, now.unwrap_or(clock));
    if let Some(p) = &saved.promise {
        if inputs.promise_by_name(p).is_none() {
            return Ok(format!(
                "vow show: {shown} is stale: it plans Promise {p}, which the workspace no longer has\n"
            ));
        }
    }
    let eval_opts = evaluate::Options::new(evaluate::Detail::Digests).with_dependencies();
    let evaluated = evaluate::run(&inputs, evaluate::Requests::Owned(requests), &eval_opts);
    let opts = plan::PlanOptions {
        promise: saved.promise.clone(),
        now,
    };
    let derived = plan::build(&inputs, &evaluated, &opts);
    let diffs = plan::wave_differences(&saved.waves, &derived.waves);
    let at = saved
        .now
        .as_deref()
        .map_or(String::new(), |t| format!(" at --now {t}"));
    if diffs.is_empty() {
        return Ok(format!(
            "vow show: {shown} is current: planning the workspace{at} gives the same waves\n"
        ));
    }
    let more = diffs.len().saturating_sub(SHOWN);
    let listed: Vec<String> = diffs.into_iter().take(SHOWN).collect();
    Ok(format!(
        "vow show: {shown} is stale: planning the workspace{at} gives other waves; `vow apply` would refuse it. Differences (the plan file, then now):\n  - {}{}\nMake a new plan (`vow plan --out plan.json`).\n",
        listed.join("\n  - "),
        if more > 0 {
            format!("\n  - ... and {more} more")
        } else {
            String::new()
        }
    ))
}
