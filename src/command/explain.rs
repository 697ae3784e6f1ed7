//! `vow explain`: what a finding code means, or what a rule of the workspace checks. The
//! built-in codes need no workspace; a rule's name is looked up in the workspace's rules.

use crate::diag;
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// The listing of every code (no code given) or a built-in code's explanation; `None` when
/// `code` is not a built-in code (it may name a rule).
pub(crate) fn builtin(code: Option<&str>) -> Option<String> {
    let Some(code) = code else {
        let list = diag::ALL_CODES
            .iter()
            .map(|c| format!("{}  {:<24} {}\n", c.id, c.name, c.severity.as_str()));
        return Some(list.collect());
    };
    let c = diag::find_code(code)?;
    let blocks = if c.blocking {
        ", blocks the instance"
    } else {
        ""
    };
    Some(format!(
        "{} {} ({}{blocks})\n\n{}\n",
        c.id,
        c.name,
        c.severity.as_str(),
        c.explain
    ))
}

/// Explains a rule of the workspace (rule names are finding ids too).
pub(crate) fn rule(ws: Workspace, code: Option<&str>) -> Result<String> {
    let code = code.unwrap_or_default();
    let (policy, _) = crate::policy::load(&ws.root, &ws.rules, Vec::new());
    let Some(r) = policy.rule(code) else {
        return Err(Error::Usage(format!(
            "`{code}` is neither a finding code nor a rule; `vow explain` lists the codes"
        )));
    };
    Ok(format!(
        "{} (rule, {}, enforcement {}, on {})\n  defined at {}\n\n{}\n",
        r.name,
        r.severity.as_str(),
        r.enforcement.as_str(),
        if r.on == crate::policy::On::Request {
            "request"
        } else {
            "outputs"
        },
        r.location,
        if r.description.is_empty() {
            "(no vow.dev/description annotation)"
        } else {
            &r.description
        }
    ))
}
