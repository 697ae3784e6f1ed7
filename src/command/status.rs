//! `vow status`: where the rollouts stand, from the journals in the store.

use super::Sink;
use crate::error::{exit, Result};
use crate::report;
use crate::workspace::Workspace;

/// Writes the state of one run (`run`: its id or a prefix) or of every run, newest first.
pub(crate) fn status(ws: &Workspace, run: Option<&str>, sink: &mut Sink) -> Result<i32> {
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
    if runs.is_empty() && scan.findings.is_empty() {
        sink.out(&format!("no runs in the store ({})\n", st.describe()))?;
    }
    sink.out(&report::human::status(&runs))?;
    Ok(if scan.findings.is_empty() {
        exit::OK
    } else {
        exit::FINDINGS
    })
}
