//! Markdown for a pull request comment or a GitHub job summary: totals, compliance tables and
//! the findings, collapsed when there are many.

use super::{percent, PolicyView};
use crate::diag::Severity;
use crate::scan::Stat;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Escapes a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn table(o: &mut String, title: &str, rows: &BTreeMap<String, Stat>) {
    let _ = writeln!(
        o,
        "\n#### By {title}\n\n| {title} | checks passed | instances compliant |\n|---|---:|---:|"
    );
    for (k, s) in rows {
        let _ = writeln!(
            o,
            "| {} | {}/{} ({}) | {}/{} ({}) |",
            cell(k),
            s.passed,
            s.checks,
            percent(s.check_ratio()),
            s.compliant,
            s.instances,
            percent(s.instance_ratio())
        );
    }
}

pub fn render(v: &PolicyView) -> String {
    let mut o = String::new();
    let open = v.open().count();
    let _ = writeln!(
        o,
        "## vow {}: {open} findings, {} waived\n",
        v.command,
        v.waived()
    );
    let _ = writeln!(o, "| severity | findings |\n|---|---:|");
    for (s, n) in v.by_severity() {
        if s > Severity::Info {
            let _ = writeln!(o, "| {} | {n} |", s.as_str());
        }
    }
    if !v.tests.is_empty() {
        let passed = v.tests.iter().filter(|t| t.passed).count();
        let _ = writeln!(
            o,
            "\n**tests:** {passed} passed, {} failed",
            v.tests.len() - passed
        );
    }
    if let Some(c) = v.compliance {
        let t = &c.total;
        let _ = writeln!(
            o,
            "\n### Compliance\n\nChecks passed: **{}/{} ({})**. Instances with no unwaived failure: **{}/{} ({})**.",
            t.passed, t.checks, percent(t.check_ratio()), t.compliant, t.instances, percent(t.instance_ratio())
        );
        table(&mut o, "rule", &c.by_rule);
        table(&mut o, "promise", &c.by_promise);
        table(&mut o, "team", &c.by_team);
        table(&mut o, "environment", &c.by_environment);
    }
    findings(&mut o, v);
    waivers(&mut o, v);
    for t in v.tests.iter().filter(|t| !t.passed) {
        let _ = writeln!(
            o,
            "\n**FAIL** `{}` {} / {}\n\n```\n{}\n```",
            t.location,
            t.test,
            t.case,
            t.detail.trim_end()
        );
    }
    o
}

/// The findings worth showing, as a table: collapsed when there are more than ten.
fn findings(o: &mut String, v: &PolicyView) {
    let shown: Vec<_> = v
        .findings
        .iter()
        .filter(|f| f.severity > Severity::Info || f.blocking)
        .collect();
    if !shown.is_empty() {
        let _ = writeln!(o, "\n### Findings\n");
        let collapse = shown.len() > 10;
        if collapse {
            let _ = writeln!(o, "<details><summary>{} findings</summary>\n", shown.len());
        }
        let _ = writeln!(
            o,
            "| severity | rule | instance | location | message |\n|---|---|---|---|---|"
        );
        for f in shown {
            let sev = if f.waived.is_some() {
                format!("{} (waived)", f.severity.as_str())
            } else {
                f.severity.as_str().to_string()
            };
            let loc = f
                .location
                .as_ref()
                .map(|l| format!("`{l}`"))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "| {sev} | `{}` | {} | {loc} | {} |",
                f.id(),
                cell(f.instance.as_deref().unwrap_or("")),
                cell(&f.message)
            );
        }
        if collapse {
            let _ = writeln!(o, "\n</details>");
        }
    }
}

/// The waivers by expiry, soonest first.
fn waivers(o: &mut String, v: &PolicyView) {
    if v.waivers.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "\n### Waivers by expiry\n\n| expires | state | waiver | rule | owner | instances | location |\n|---|---|---|---|---|---|---|"
    );
    for w in v.waivers {
        let _ = writeln!(
            o,
            "| {} | {} | `{}` | `{}` | {} | {} | `{}` |",
            w.expires,
            w.state,
            w.name,
            w.rule,
            cell(&w.owner),
            cell(&super::waiver_matches(w)),
            w.location
        );
    }
}
