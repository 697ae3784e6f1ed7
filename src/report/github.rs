//! GitHub Actions workflow commands: an annotation per finding at its real file and line, then
//! the full list in a collapsed group (GitHub shows only ten annotations of each kind per step).

use super::PolicyView;
use crate::diag::{Finding, Severity};
use std::fmt::Write;

/// Escapes a command's message (GitHub's toolkit: `%`, CR and LF).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command property: as data, plus `:` and `,`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn command(f: &Finding) -> &'static str {
    if f.waived.is_some() {
        return "notice";
    }
    match f.severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium | Severity::Low => "warning",
        Severity::Info => "notice",
    }
}

fn annotation(f: &Finding) -> String {
    let mut props = Vec::new();
    if let Some(l) = &f.location {
        props.push(format!("file={}", escape_property(&l.file)));
        props.push(format!("line={}", l.line));
        if let Some(c) = l.column {
            props.push(format!("col={c}"));
        }
    }
    let title = match &f.waived {
        Some(w) => format!(
            "{} ({}, waived by {})",
            f.id(),
            f.severity.as_str(),
            w.waiver
        ),
        None => format!("{} ({})", f.id(), f.severity.as_str()),
    };
    props.push(format!("title={}", escape_property(&title)));
    let mut msg = f.message.clone();
    if let Some(r) = &f.related {
        msg.push_str(&format!(" (from {r})"));
    }
    if let Some(h) = &f.help {
        msg.push('\n');
        msg.push_str(h);
    }
    format!(
        "::{} {}::{}",
        command(f),
        props.join(","),
        escape_data(&msg)
    )
}

pub fn render(v: &PolicyView) -> String {
    let mut o = String::new();
    let shown: Vec<&Finding> = v
        .findings
        .iter()
        .filter(|f| f.severity > Severity::Info || f.blocking)
        .collect();
    for f in &shown {
        let _ = writeln!(o, "{}", annotation(f));
    }
    let _ = writeln!(
        o,
        "::group::vow {}: all {} findings",
        v.command,
        shown.len()
    );
    for f in &shown {
        let loc = f
            .location
            .as_ref()
            .map(|l| l.to_string())
            .unwrap_or_else(|| "-".into());
        let waived = if f.waived.is_some() { " (waived)" } else { "" };
        let _ = writeln!(
            o,
            "{loc}  {} {}{waived}  {}",
            f.severity.as_str(),
            f.id(),
            escape_data(&f.message)
        );
    }
    let _ = writeln!(o, "::endgroup::");
    for t in v.tests.iter().filter(|t| !t.passed) {
        let _ = writeln!(
            o,
            "::error file={},line={},title={}::{}",
            escape_property(&t.location.file),
            t.location.line,
            escape_property(&format!("test {} / {}", t.test, t.case)),
            escape_data(&t.detail)
        );
    }
    let _ = writeln!(
        o,
        "vow {}: {} findings, {} waived",
        v.command,
        v.open().count(),
        v.waived()
    );
    o
}
