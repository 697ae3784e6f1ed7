//! `vow fleet --format html`: the inventory as one self-contained page in the plan report's
//! style: the counts by Promise × version × destination, then every instance, filterable by
//! team, environment, Promise and state (the rows' `data-` facets, as the plan page's).

use super::{esc, filters, page, Row, NONE};
use crate::fleet::{Entry, Inventory};
use crate::report::fleet::{age, compliance, reason};
use std::fmt::Write;

/// The page. Deterministic: the same inventory gives the same bytes.
pub fn fleet(inv: &Inventory) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "<header>\n<h1>vow fleet</h1>\n<p>{} instances, as of <code>{}</code>.</p>\n</header>\n<main>",
        inv.total,
        esc(&inv.now)
    );
    counts(&mut o, inv);
    let rows: Vec<Row> = inv.instances.iter().map(row).collect();
    if !rows.is_empty() {
        filters(&mut o, &rows, "State");
    }
    instances(&mut o, inv);
    let _ = writeln!(o, "</main>");
    page("vow fleet", &o)
}

fn counts(o: &mut String, inv: &Inventory) {
    let _ = writeln!(o, "<section aria-labelledby=\"counts-h\">\n<h2 id=\"counts-h\">By Promise, applied version and destination</h2>\n<table id=\"counts\" class=\"compact\">\n<thead><tr><th scope=\"col\">Promise</th><th scope=\"col\">version</th><th scope=\"col\">destination</th><th scope=\"col\" class=\"n\">instances</th></tr></thead>\n<tbody>");
    for c in &inv.counts {
        let _ = writeln!(
            o,
            "<tr><th scope=\"row\">{}</th><td><code>{}</code></td><td>{}</td><td class=\"n\">{}</td></tr>",
            esc(&c.promise),
            esc(&c.version),
            esc(&c.destination),
            c.instances
        );
    }
    let _ = writeln!(o, "</tbody>\n</table>\n</section>");
}

/// An instance's state for the filter: up to date, or its first reason, else outdated.
fn state(e: &Entry) -> &'static str {
    match e.reasons.first() {
        _ if e.up_to_date && e.reasons.is_empty() => "up-to-date",
        Some(r) => reason(*r),
        None => "outdated",
    }
}

fn row(e: &Entry) -> Row<'_> {
    Row {
        team: e.team.as_deref().unwrap_or(NONE),
        environment: e.environment.as_deref().unwrap_or(NONE),
        promise: &e.promise,
        action: state(e),
    }
}

fn instances(o: &mut String, inv: &Inventory) {
    let _ = writeln!(o, "<section class=\"group\" id=\"instances\" aria-labelledby=\"instances-h\">\n<h2 id=\"instances-h\">Instances ({}) <span class=\"group-shown muted\"></span></h2>\n<table>\n<thead><tr><th scope=\"col\">instance</th><th scope=\"col\">applied</th><th scope=\"col\">desired</th><th scope=\"col\">why</th><th scope=\"col\">destinations</th><th scope=\"col\">health</th><th scope=\"col\">compliance</th><th scope=\"col\">team</th><th scope=\"col\">environment</th><th scope=\"col\">request</th></tr></thead>\n<tbody>", inv.instances.len());
    for e in &inv.instances {
        let r = row(e);
        let why: Vec<&str> = e.reasons.iter().map(|x| reason(*x)).collect();
        let health = e
            .health
            .as_ref()
            .map(|h| format!("{} ({} ago)", h.state, age(h.age_seconds)))
            .unwrap_or_default();
        let mut comp = compliance(e);
        if e.compliance.waived > 0 {
            let _ = write!(comp, " ({} waived)", e.compliance.waived);
        }
        let request = e
            .request
            .as_ref()
            .map(|q| format!("{}:{}", q.file, q.line))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "<tr{}><th scope=\"row\"><code>{}</code></th><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            r.attrs(),
            esc(&e.instance),
            esc(e.applied_version.as_deref().unwrap_or("")),
            esc(e.desired_version.as_deref().unwrap_or("")),
            esc(&why.join(", ")),
            esc(&e.destinations.join(", ")),
            esc(&health),
            esc(&comp),
            esc(r.team),
            esc(r.environment),
            esc(&request)
        );
    }
    let _ = writeln!(o, "</tbody>\n</table>\n</section>");
}
