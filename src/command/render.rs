//! `vow render`: what one request (or every request of a file) renders to, step by step.

use super::Sink;
use crate::error::{exit, Error, Result};
use crate::evaluate;
use crate::load::inputs::Catalogue;
use crate::model::Request;
use crate::report;

/// Evaluates the requests `what` names with their trace and writes each one's rendering.
pub(crate) fn render(
    inputs: &Catalogue,
    requests: &[Request],
    what: &str,
    sink: &mut Sink,
) -> Result<i32> {
    let chosen = select_requests(inputs, requests, what)?;
    let mut blocked = false;
    for (i, r) in chosen.iter().enumerate() {
        let opts = evaluate::Options::new(evaluate::Detail::Trace);
        let evaluated = evaluate::run(inputs, evaluate::Requests::Borrowed(vec![r]), &opts);
        let Some(ev) = evaluated.first() else {
            continue;
        };
        blocked |= ev.blocked;
        if i > 0 {
            sink.out("\n")?;
        }
        sink.out(&report::human::render(ev))?;
    }
    Ok(if blocked { exit::FINDINGS } else { exit::OK })
}

/// Finds the requests `vow render` was asked about: the requests of a file, or the one request
/// an id, a `<namespace>/<name>` or a name names.
fn select_requests<'a>(
    inputs: &Catalogue,
    requests: &'a [Request],
    what: &str,
) -> Result<Vec<&'a Request>> {
    let path = inputs.ws.root.join(what);
    if path.is_file() {
        let shown = crate::source::display_path(&inputs.ws.root, &path);
        let found: Vec<_> = requests
            .iter()
            .filter(|r| r.location.file == shown)
            .collect();
        if found.is_empty() {
            return Err(Error::Usage(format!(
                "{what} holds no request vow could read (run `vow plan` to see its findings)"
            )));
        }
        return Ok(found);
    }
    let found: Vec<_> = requests
        .iter()
        .filter(|r| {
            let id = &r.id;
            what == id.to_string()
                || what == format!("{}/{}", id.namespace(), id.name())
                || what == id.name()
        })
        .collect();
    match found.len() {
        0 => Err(Error::Usage(format!("no request is called `{what}`; name it as <promise>:<namespace>/<name>, <namespace>/<name>, <name> or a file"))),
        1 => Ok(found),
        _ => {
            let names: Vec<String> = found.iter().map(|r| r.id.to_string()).collect();
            Err(Error::Usage(format!(
                "`{what}` names several requests: {}; say which",
                names.join(", ")
            )))
        }
    }
}
