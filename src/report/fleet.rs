//! `vow fleet` as text for people, JSON (schemas/fleet.json), markdown and CSV; the HTML page
//! is `html/fleet.rs`. Every format lists the same instances in the same (instance) order.

use crate::fleet::{Entry, Inventory, Reason};
use std::fmt::Write;

/// The inventory as pretty JSON, ending in a newline: what [`write_json`] writes.
pub fn json(inv: &Inventory) -> String {
    let mut buf = Vec::new();
    match write_json(inv, &mut buf) {
        Ok(()) => String::from_utf8(buf).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Writes the inventory's JSON to `w` as it is serialized: a 100k fleet's 100 MB is never one
/// string in memory. The one definition of the JSON form; [`json`] collects it.
pub fn write_json(inv: &Inventory, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, inv)?;
    w.write_all(b"\n")
}

/// A reason as written in every format.
pub fn reason(r: Reason) -> &'static str {
    match r {
        Reason::Pinned => "pinned",
        Reason::Paused => "paused",
        Reason::Blocked => "blocked",
        Reason::HeldByFrom => "held-by-from",
        Reason::Pending => "pending",
        Reason::NotApplied => "not-applied",
        Reason::Removed => "removed",
        Reason::AwaitingRollout => "awaiting-rollout",
    }
}

/// The cells every tabular format shows, in this order.
pub const COLUMNS: [&str; 13] = [
    "instance",
    "promise",
    "applied",
    "desired",
    "reasons",
    "destinations",
    "health",
    "healthAgeSeconds",
    "compliance",
    "waived",
    "team",
    "environment",
    "request",
];

/// One entry's cells, as [`COLUMNS`] names them.
pub fn cells(e: &Entry) -> [String; 13] {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        e.instance.clone(),
        e.promise.clone(),
        opt(&e.applied_version),
        opt(&e.desired_version),
        e.reasons
            .iter()
            .map(|r| reason(*r))
            .collect::<Vec<_>>()
            .join(" "),
        e.destinations.join(" "),
        e.health
            .as_ref()
            .map(|h| h.state.clone())
            .unwrap_or_default(),
        e.health
            .as_ref()
            .map(|h| h.age_seconds.to_string())
            .unwrap_or_default(),
        compliance(e),
        e.compliance.waived.to_string(),
        opt(&e.team),
        opt(&e.environment),
        e.request
            .as_ref()
            .map(|r| format!("{}:{}", r.file, r.line))
            .unwrap_or_default(),
    ]
}

/// `compliant`, `not evaluated`, or the unwaived findings by severity (`1 high, 2 low`).
pub fn compliance(e: &Entry) -> String {
    let c = &e.compliance;
    if !c.evaluated {
        return "not evaluated".into();
    }
    if c.unwaived.is_empty() {
        return "compliant".into();
    }
    let mut parts = Vec::new();
    for s in ["critical", "high", "medium", "low", "info"] {
        if let Some(n) = c.unwaived.get(s) {
            parts.push(format!("{n} {s}"));
        }
    }
    parts.join(", ")
}

/// An age in seconds as people read it: `45s`, `12m`, `3h`, `2d`.
pub fn age(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// Text for people: one line per instance, then the counts.
pub fn human(inv: &Inventory) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{} instances (as of {})", inv.total, inv.now);
    for e in &inv.instances {
        let version = match (&e.applied_version, &e.desired_version) {
            (Some(a), Some(d)) if a == d => a.clone(),
            (a, d) => format!(
                "{} → {}",
                a.as_deref().unwrap_or("-"),
                d.as_deref().unwrap_or("-")
            ),
        };
        let mut line = format!("  {}  {version}", e.instance);
        if !e.reasons.is_empty() {
            let rs: Vec<&str> = e.reasons.iter().map(|r| reason(*r)).collect();
            let _ = write!(line, " ({})", rs.join(", "));
        }
        if !e.destinations.is_empty() {
            let _ = write!(line, "  in {}", e.destinations.join(", "));
        }
        if let Some(h) = &e.health {
            let _ = write!(line, "  {} {} ago", h.state, age(h.age_seconds));
        }
        let _ = write!(line, "  {}", compliance(e));
        if e.compliance.waived > 0 {
            let _ = write!(line, " ({} waived)", e.compliance.waived);
        }
        if let Some(r) = &e.request {
            let _ = write!(line, "  {}:{}", r.file, r.line);
        }
        let _ = writeln!(o, "{line}");
    }
    let _ = writeln!(o, "\nBy Promise, applied version and destination:");
    for c in &inv.counts {
        let _ = writeln!(
            o,
            "  {:>6}  {} {} in {}",
            c.instances, c.promise, c.version, c.destination
        );
    }
    o
}

/// A markdown cell: pipes escaped, newlines flattened, so a hostile name keeps the table whole.
fn md(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
        .replace('<', "&lt;")
}

/// Markdown (a pull request comment, a job summary): the counts, then one row per instance.
pub fn markdown(inv: &Inventory) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "## vow fleet\n\n{} instances, as of `{}`.\n",
        inv.total, inv.now
    );
    let _ = writeln!(o, "### By Promise, applied version and destination\n\n| Promise | Version | Destination | Instances |\n|---|---|---|---:|");
    for c in &inv.counts {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            md(&c.promise),
            md(&c.version),
            md(&c.destination),
            c.instances
        );
    }
    let _ = writeln!(o, "\n### Instances\n\n| {} |", COLUMNS.join(" | "));
    let _ = writeln!(o, "|{}", "---|".repeat(COLUMNS.len()));
    for e in &inv.instances {
        let row: Vec<String> = cells(e).iter().map(|c| md(c)).collect();
        let _ = writeln!(o, "| {} |", row.join(" | "));
    }
    o
}

/// CSV (RFC 4180, a header row): one row per instance, the columns of [`COLUMNS`].
pub fn csv(inv: &Inventory) -> String {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(COLUMNS);
    for e in &inv.instances {
        let _ = w.write_record(cells(e));
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}
