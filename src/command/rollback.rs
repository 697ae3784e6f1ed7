//! `vow rollback`: writes the reverse plan of a run (every instance it changed, back as it
//! was), for `vow apply` to apply like any plan.

use super::Sink;
use crate::error::{exit, Result};
use crate::workspace::Workspace;
use std::path::Path;

/// Writes the reverse plan of `run` (its id or a prefix) to `dest` or stdout.
pub(crate) fn rollback(
    ws: &Workspace,
    run: &str,
    dest: Option<&Path>,
    sink: &mut Sink,
) -> Result<i32> {
    let mut st = ws.open_store()?;
    st.refresh()?;
    let journal = crate::apply::rollback::find_run(st.as_ref(), run)?;
    let state = crate::store::read(st.dir(), &ws.root);
    let plan = crate::apply::rollback::make_plan(st.as_ref(), &state, &journal)?;
    let text = crate::apply::rollback::to_text(&plan);
    sink.emit(&text, dest)?;
    Ok(exit::OK)
}
