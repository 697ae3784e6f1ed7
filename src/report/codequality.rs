//! GitLab's Code Quality report (`artifacts:reports:codequality`), a subset of the Code Climate
//! issue format: a JSON array of issues with `description`, `check_name`, `fingerprint`,
//! `severity` and `location.path` / `location.lines.begin`. GitLab shows them in the merge
//! request's widget and diff, at the file and line.
//!
//! The fingerprint is how GitLab tells a new finding from one already on the target branch, so
//! it is a hash of what the finding is (its id, instance, file, field and message), not of its
//! line: moving a request down a file does not make its findings new. Findings that would
//! still share one (the same message twice in a file) are told apart by their rank.

use super::PolicyView;
use crate::diag::{Finding, Severity};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// Code Climate's severities, from vow's.
fn severity(f: &Finding) -> &'static str {
    if f.waived.is_some() {
        return "info";
    }
    match f.severity {
        Severity::Info => "info",
        Severity::Low => "minor",
        Severity::Medium => "major",
        Severity::High => "critical",
        Severity::Critical => "blocker",
    }
}

fn fingerprint(f: &Finding, rank: usize) -> String {
    let mut h = Sha256::new();
    for part in [
        f.id(),
        f.instance.as_deref().unwrap_or(""),
        f.location.as_ref().map(|l| &*l.file).unwrap_or(""),
        f.field.as_deref().unwrap_or(""),
        &f.message,
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.update(rank.to_le_bytes());
    let hex = format!("{:x}", h.finalize());
    hex.get(..32).unwrap_or(&hex).to_string()
}

fn description(f: &Finding) -> String {
    let mut d = format!("[{}] {}", f.id(), f.message);
    if let Some(r) = &f.related {
        d.push_str(&format!(" (from {r})"));
    }
    if let Some(w) = &f.waived {
        d.push_str(&format!(
            " (waived by {} until {}: {}; owner {})",
            w.waiver, w.expires, w.reason, w.owner
        ));
    }
    d
}

fn issue(f: &Finding, fingerprint: String) -> Value {
    // A finding with no file (rare: a problem with the workspace as a whole) points at the
    // workspace's configuration, the file that would fix it.
    let (path, line) = f
        .location
        .as_ref()
        .map(|l| (l.file.to_string(), l.line.max(1)))
        .unwrap_or_else(|| ("vow.yaml".into(), 1));
    let mut issue = json!({
        "type": "issue",
        "description": description(f),
        "check_name": f.id(),
        "categories": ["Bug Risk"],
        "fingerprint": fingerprint,
        "severity": severity(f),
        "location": {"path": path, "lines": {"begin": line}},
    });
    // What to do about it goes where Code Climate keeps an issue's longer text.
    if let (Some(h), Some(map)) = (&f.help, issue.as_object_mut()) {
        map.insert("content".into(), json!({"body": h}));
    }
    issue
}

pub fn render(v: &PolicyView) -> String {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let issues: Vec<Value> = v
        .findings
        .iter()
        .filter(|f| f.severity > Severity::Info || f.blocking || f.waived.is_some())
        .map(|f| {
            let mut rank = 0;
            let mut fp = fingerprint(f, rank);
            while !seen.insert(fp.clone()) {
                rank += 1;
                fp = fingerprint(f, rank);
            }
            issue(f, fp)
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&issues).unwrap_or_default();
    s.push('\n');
    s
}
