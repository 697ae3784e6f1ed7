//! `vow scan` (and `vow check`) as an HTML page: the findings by severity, compliance by rule,
//! Promise, team and environment as bars with their numbers, every instance's result, and the
//! findings; instance and finding rows are filterable.

use super::plan::action_cell;
use super::{bar, esc, filters, page, Facets, Row};
use crate::diag::{Finding, Severity};
use crate::report::{percent, PolicyView};
use crate::scan::Stat;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The report as one self-contained HTML page; `team_key` and `env_key` are the workspace's
/// label keys (`labels:` in vow.yaml). Deterministic: the same inputs give the same bytes.
pub fn policy(v: &PolicyView, team_key: &str, env_key: &str) -> String {
    let facets = Facets::new(
        team_key,
        env_key,
        v.checked.iter().map(|c| (&c.id, &c.labels)),
    );
    let title = format!("vow {}", v.command);
    let mut o = String::new();
    let _ = writeln!(
        o,
        "<header>\n<h1>{}</h1>\n<p>As of <code>{}</code>.</p>\n</header>\n<main>",
        esc(&title),
        esc(&crate::duration::format_time(v.now))
    );
    summary(&mut o, v);
    if let Some(c) = v.compliance {
        let _ = writeln!(
            o,
            "<section aria-labelledby=\"compliance-h\">\n<h2 id=\"compliance-h\">Compliance</h2>"
        );
        for (id, title, rows) in [
            ("rule", "By rule", &c.by_rule),
            ("promise", "By Promise", &c.by_promise),
            ("team", "By team", &c.by_team),
            ("environment", "By environment", &c.by_environment),
        ] {
            stats(&mut o, id, title, rows);
        }
        let _ = writeln!(o, "</section>");
    }
    let rows = rows(v, &facets);
    if !rows.is_empty() {
        filters(&mut o, &rows, "Result");
    }
    instances(&mut o, v, &facets);
    findings(&mut o, v, &facets);
    waivers(&mut o, v);
    let _ = writeln!(o, "</main>");
    page(&title, &o)
}

/// `x/y (z%)`.
fn ratio_text(a: usize, b: usize, r: f64) -> String {
    format!("{a}/{b} ({})", percent(r))
}

fn summary(o: &mut String, v: &PolicyView) {
    let _ = writeln!(o, "<section aria-labelledby=\"summary-h\">\n<h2 id=\"summary-h\">Summary</h2>\n<table id=\"summary\" class=\"compact\">\n<caption class=\"muted\">Unwaived findings by severity</caption>\n<tbody>");
    for (s, n) in v.by_severity() {
        let _ = writeln!(
            o,
            "<tr><th scope=\"row\">{s}</th><td class=\"n\" id=\"count-{s}\">{n}</td></tr>",
            s = s.as_str()
        );
    }
    let _ = writeln!(
        o,
        "<tr><th scope=\"row\">waived</th><td class=\"n\" id=\"count-waived\">{}</td></tr>",
        v.waived()
    );
    if !v.tests.is_empty() {
        let passed = v.tests.iter().filter(|t| t.passed).count();
        let _ = writeln!(o, "<tr><th scope=\"row\">tests passed</th><td class=\"n\" id=\"count-tests-passed\">{passed}</td></tr>\n<tr><th scope=\"row\">tests failed</th><td class=\"n\" id=\"count-tests-failed\">{}</td></tr>", v.tests.len() - passed);
    }
    let _ = writeln!(o, "</tbody>\n</table>");
    if let Some(c) = v.compliance {
        let t = &c.total;
        let _ = writeln!(
            o,
            "<p>Checks passed: {}.</p>\n<p>Instances with no unwaived failure: {}.</p>",
            bar(
                t.check_ratio(),
                &ratio_text(t.passed, t.checks, t.check_ratio())
            ),
            bar(
                t.instance_ratio(),
                &ratio_text(t.compliant, t.instances, t.instance_ratio())
            )
        );
    }
    let _ = writeln!(o, "</section>");
}

/// One compliance table: each key's checks passed and instances compliant, as bars and text.
fn stats(o: &mut String, id: &str, title: &str, rows: &BTreeMap<String, Stat>) {
    let _ = writeln!(
        o,
        "<h3 id=\"by-{id}-h\">{title}</h3>\n<table id=\"by-{id}\" aria-labelledby=\"by-{id}-h\">\n<thead><tr><th scope=\"col\">{id}</th><th scope=\"col\">checks passed</th><th scope=\"col\">instances compliant</th></tr></thead>\n<tbody>"
    );
    for (k, s) in rows {
        let _ = writeln!(
            o,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td></tr>",
            esc(k),
            bar(
                s.check_ratio(),
                &ratio_text(s.passed, s.checks, s.check_ratio())
            ),
            bar(
                s.instance_ratio(),
                &ratio_text(s.compliant, s.instances, s.instance_ratio())
            )
        );
    }
    let _ = writeln!(o, "</tbody>\n</table>");
}

/// A finding's Promise: the part of its instance's name before `:`, `(none)` without one.
fn promise_of(f: &Finding) -> &str {
    f.instance
        .as_deref()
        .and_then(|i| i.split_once(':'))
        .map_or(super::NONE, |(p, _)| p)
}

/// The findings the page lists: above info, or blocking.
fn listed<'a>(v: &'a PolicyView) -> impl Iterator<Item = &'a Finding> {
    v.findings
        .iter()
        .filter(|f| f.severity > Severity::Info || f.blocking)
}

fn result_of(f: &Finding) -> &'static str {
    if f.waived.is_some() {
        "waived"
    } else {
        "failing"
    }
}

/// Every filterable row, in page order.
fn rows<'a>(v: &'a PolicyView, facets: &'a Facets) -> Vec<Row<'a>> {
    let mut out = Vec::new();
    for c in v.checked {
        let (team, environment) = facets.of(&c.id.to_string());
        let compliant = c.outcomes.iter().all(|o| o.passed);
        out.push(Row {
            team,
            environment,
            promise: &c.id.promise,
            action: if compliant { "compliant" } else { "failing" },
        });
    }
    for f in listed(v) {
        let (team, environment) = facets.of(f.instance.as_deref().unwrap_or(""));
        out.push(Row {
            team,
            environment,
            promise: promise_of(f),
            action: result_of(f),
        });
    }
    out
}

/// Each instance's result: compliant (no unwaived failure) or failing, and its checks.
fn instances(o: &mut String, v: &PolicyView, facets: &Facets) {
    if v.checked.is_empty() {
        return;
    }
    let _ = writeln!(o, "<section class=\"group\" id=\"instances\" aria-labelledby=\"instances-h\">\n<h2 id=\"instances-h\">Instances ({}) <span class=\"group-shown muted\"></span></h2>\n<table>\n<thead><tr><th scope=\"col\">instance</th><th scope=\"col\">team</th><th scope=\"col\">environment</th><th scope=\"col\">result</th><th scope=\"col\" class=\"n\">checks passed</th><th scope=\"col\">failed rules</th></tr></thead>\n<tbody>", v.checked.len());
    for c in v.checked {
        let id = c.id.to_string();
        let (team, environment) = facets.of(&id);
        let passed = c.outcomes.iter().filter(|o| o.passed).count();
        let result = if passed == c.outcomes.len() {
            "compliant"
        } else {
            "failing"
        };
        let row = Row {
            team,
            environment,
            promise: &c.id.promise,
            action: result,
        };
        let mut failed: Vec<&str> = c
            .outcomes
            .iter()
            .filter(|o| !o.passed)
            .map(|o| &*o.rule)
            .collect();
        failed.sort_unstable();
        let _ = writeln!(
            o,
            "<tr{}><th scope=\"row\"><code>{}</code></th><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{passed}/{}</td><td>{}</td></tr>",
            row.attrs(),
            esc(&id),
            esc(team),
            esc(environment),
            action_cell(result),
            c.outcomes.len(),
            esc(&failed.join(", "))
        );
    }
    let _ = writeln!(o, "</tbody>\n</table>\n</section>");
}

/// The findings above info (or blocking), waived ones marked.
fn findings(o: &mut String, v: &PolicyView, facets: &Facets) {
    let shown: Vec<&Finding> = listed(v).collect();
    if shown.is_empty() {
        return;
    }
    let _ = writeln!(o, "<section class=\"group\" id=\"findings\" aria-labelledby=\"findings-h\">\n<h2 id=\"findings-h\">Findings ({}) <span class=\"group-shown muted\"></span></h2>\n<table>\n<thead><tr><th scope=\"col\">severity</th><th scope=\"col\">rule</th><th scope=\"col\">instance</th><th scope=\"col\">result</th><th scope=\"col\">location</th><th scope=\"col\">message</th></tr></thead>\n<tbody>", shown.len());
    for f in shown {
        let instance = f.instance.as_deref().unwrap_or("");
        let (team, environment) = facets.of(instance);
        let row = Row {
            team,
            environment,
            promise: promise_of(f),
            action: result_of(f),
        };
        let at = f
            .location
            .as_ref()
            .map(|l| format!("<code>{}</code>", esc(&l.to_string())))
            .unwrap_or_default();
        let mut message = esc(&f.message);
        if let Some(help) = &f.help {
            let _ = write!(message, "<br /><span class=\"muted\">{}</span>", esc(help));
        }
        let _ = writeln!(
            o,
            "<tr{}><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{at}</td><td>{message}</td></tr>",
            row.attrs(),
            f.severity.as_str(),
            esc(f.id()),
            esc(instance),
            action_cell(result_of(f))
        );
    }
    let _ = writeln!(o, "</tbody>\n</table>\n</section>");
}

/// The waivers by expiry, soonest first (not filtered: a waiver has no team of its own).
fn waivers(o: &mut String, v: &PolicyView) {
    if v.waivers.is_empty() {
        return;
    }
    let _ = writeln!(o, "<section aria-labelledby=\"waivers-h\">\n<h2 id=\"waivers-h\">Waivers by expiry ({})</h2>\n<table>\n<thead><tr><th scope=\"col\">expires</th><th scope=\"col\">state</th><th scope=\"col\">waiver</th><th scope=\"col\">rule</th><th scope=\"col\">owner</th><th scope=\"col\">instances</th><th scope=\"col\">location</th></tr></thead>\n<tbody>", v.waivers.len());
    for w in v.waivers {
        let _ = writeln!(
            o,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            esc(&w.expires),
            esc(w.state),
            esc(&w.name),
            esc(&w.rule),
            esc(&w.owner),
            esc(&crate::report::waiver_matches(w)),
            esc(&w.location.to_string())
        );
    }
    let _ = writeln!(o, "</tbody>\n</table>\n</section>");
}
