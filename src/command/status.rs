//! `vow status`: where the rollouts stand, from the journals in the store, for people
//! (`human`, `markdown`) or machines (`json`, schemas/status.json).

use super::Sink;
use crate::apply::journal::{Journal, WaveRecord};
use crate::error::{exit, Result};
use crate::model::InstanceRef;
use crate::report::{self, status::StatusReport};
use crate::store::layout;
use crate::workspace::Workspace;
use clap::ValueEnum;
use std::path::Path;

/// The formats of `vow status`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFormat {
    Human,
    /// The stable shape of schemas/status.json.
    Json,
    Markdown,
}

/// Writes the state of one run (`run`: its id or a prefix) or of every run, newest first.
pub(crate) fn status(
    ws: &Workspace,
    run: Option<&str>,
    format: StatusFormat,
    sink: &mut Sink,
) -> Result<i32> {
    let mut st = ws.open_store()?;
    st.refresh()?;
    let scan = crate::apply::journal::scan(st.dir(), &ws.root);
    for f in &scan.findings {
        sink.say(&format!(
            "{}\n",
            crate::snippet::human(f, crate::snippet::Stream::Stderr)
        ));
    }
    let runs = match run {
        Some(r) => {
            vec![crate::apply::rollback::find_run(st.as_ref(), r)?]
        }
        None => scan.journals,
    };
    if runs.is_empty() && scan.findings.is_empty() && format == StatusFormat::Human {
        sink.out(&format!("no runs in the store ({})\n", st.describe()))?;
    }
    let view = view(ws, st.dir(), &runs);
    sink.out(&match format {
        StatusFormat::Human => report::status::human(&view),
        StatusFormat::Json => report::status::json(&view),
        StatusFormat::Markdown => report::status::markdown(&view),
    })?;
    Ok(if scan.findings.is_empty() {
        exit::OK
    } else {
        exit::FINDINGS
    })
}

/// The report, with the instances a health gate still waits for read from the health records
/// (the journal keeps a gate command's verdicts, not the records).
fn view(ws: &Workspace, store: &Path, runs: &[Journal]) -> StatusReport {
    let pending = runs
        .iter()
        .flat_map(|j| &j.waves)
        .any(|w| w.gate == crate::apply::journal::GateState::Pending && w.gate_report.is_none());
    let records = if pending {
        let store_health = layout::absolute(store, layout::HEALTH_DIR);
        crate::apply::health_records(&[&ws.health, &store_health], &ws.root)
    } else {
        Default::default()
    };
    // Deleted instances (no binding left) and dependencies are not waited for.
    let judged = |r: &str| {
        r.parse::<InstanceRef>().is_ok_and(|id| {
            // Looked at through the store's confinement: never through a symlink.
            !id.is_dependencies()
                && crate::store::path::StorePath::new(&layout::binding(&id))
                    .and_then(|p| p.under(store))
                    .is_ok_and(|p| p.symlink_metadata().is_ok_and(|m| m.is_file()))
        })
    };
    let health = |_: &Journal, w: &WaveRecord| crate::apply::health_waiting(&records, w, &judged);
    report::status::build(runs, &health)
}
