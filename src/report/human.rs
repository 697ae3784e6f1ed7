//! The human forms: a plan summary people read in a terminal, and `vow render`'s walk-through.

use crate::diag::Finding;
use crate::evaluate::Evaluated;
use crate::plan::{Action, Plan, Wave};
use crate::snippet::{self, Stream};
use std::fmt::Write;

fn symbol(a: Action) -> char {
    match a {
        Action::Create => '+',
        Action::Update => '~',
        Action::Delete => '-',
        Action::Unchanged => '=',
    }
}

/// The plan as people read it; with `diffs`, the unified diff of every changed file.
pub fn plan(p: &Plan, diffs: &[crate::plan::FileDiff]) -> String {
    let mut o = String::new();
    let s = &p.summary;
    let _ = writeln!(
        o,
        "vow plan: {} requests: {} to create, {} to update, {} to delete, {} unchanged; {} blocked, {} pinned, {} paused",
        s.requests, s.create, s.update, s.delete, s.unchanged, s.blocked, s.pinned, s.paused
    );
    let _ = writeln!(o, "plan {}", p.plan_id);
    if let Some(promise) = &p.promise {
        let _ = writeln!(o, "only Promise {promise}");
    }
    let _ = writeln!(
        o,
        "failure budget of the run: {} (each wave's below)",
        p.summary.failure_budget
    );
    counts(&mut o, &p.counts);
    if p.waves.is_empty() {
        let _ = writeln!(o, "\nNo changes: the store is up to date.");
    }
    for w in &p.waves {
        wave(&mut o, w);
    }
    what_changes(&mut o, p);
    blocked(&mut o, p);
    if !p.pinned.is_empty() {
        let _ = writeln!(
            o,
            "\nPinned ({}), rendered with their pinned revision:",
            p.pinned.len()
        );
        for x in &p.pinned {
            let _ = writeln!(o, "  @ {}  {}", x.instance, x.version);
        }
    }
    if !p.paused.is_empty() {
        let _ = writeln!(
            o,
            "\nPaused ({}), left alone (kratix.io/paused):",
            p.paused.len()
        );
        for x in &p.paused {
            let _ = writeln!(o, "  | {x}");
        }
    }
    if !p.held.is_empty() {
        let _ = writeln!(
            o,
            "\nHeld ({}), not upgraded (spec.rollout.from):",
            p.held.len()
        );
        for x in &p.held {
            let _ = writeln!(o, "  = {}  {}", x.instance, x.reason);
        }
    }
    for e in &p.external_steps {
        let _ = writeln!(
            o,
            "\nPromise {} has container steps vow does not run (their outputs are not in this plan): {}",
            e.promise,
            e.steps.join(", ")
        );
    }
    let blocked: Vec<String> = p.blocked.iter().map(|b| b.instance.to_string()).collect();
    let listed: std::collections::BTreeSet<&str> = blocked.iter().map(String::as_str).collect();
    findings_summary(&mut o, &p.findings, &listed);
    for d in diffs {
        let _ = writeln!(
            o,
            "\n{} ({}, {})\n{}",
            d.path,
            d.instance,
            d.change,
            d.unified.trim_end()
        );
    }
    o
}

/// The blocked instances, each with its reasons.
fn blocked(o: &mut String, p: &Plan) {
    if p.blocked.is_empty() {
        return;
    }
    let _ = writeln!(o, "\nBlocked ({}), in no wave:", p.blocked.len());
    for b in &p.blocked {
        match &b.location {
            Some(l) => writeln!(o, "  x {}  ({l})", b.instance),
            None => writeln!(o, "  x {}", b.instance),
        }
        .ok();
        for r in &b.reasons {
            let _ = writeln!(o, "      {r}");
        }
    }
}

/// The updates grouped by what they change: one line per kind of change, with a count.
fn what_changes(o: &mut String, p: &Plan) {
    let groups = super::changes::change_groups(p);
    if groups.is_empty() {
        return;
    }
    let n: usize = groups.iter().map(|g| g.instances.len()).sum();
    let _ = writeln!(
        o,
        "\nWhat changes ({n} update{}, {} kind{} of change):",
        if n == 1 { "" } else { "s" },
        groups.len(),
        if groups.len() == 1 { "" } else { "s" }
    );
    for g in &groups {
        let _ = writeln!(o, "  {} × {}: {}", g.instances.len(), g.what(), g.summary);
        let _ = writeln!(
            o,
            "      {}",
            super::changes::some_names(&g.instances, 3, "")
        );
    }
}

fn counts(o: &mut String, c: &crate::plan::Counts) {
    let rows = [
        ("promise", &c.by_promise),
        ("wave", &c.by_wave),
        ("team", &c.by_team),
        ("environment", &c.by_environment),
    ];
    for (title, map) in rows {
        let parts: Vec<String> = map
            .iter()
            .map(|(k, n)| {
                let mut s = format!("{k} +{} ~{} -{}", n.create, n.update, n.delete);
                if n.blocked > 0 {
                    s.push_str(&format!(" x{}", n.blocked));
                }
                s
            })
            .collect();
        if !parts.is_empty() {
            let _ = writeln!(o, "by {title}: {}", parts.join(" · "));
        }
    }
}

fn wave(o: &mut String, w: &Wave) {
    let mut title = format!("\nWave {} · {}", w.index, w.name);
    if let Some(b) = &w.batch {
        let _ = write!(title, " (batch {}/{})", b.index, b.of);
    }
    let _ = write!(
        title,
        " · {} instance{}",
        w.size,
        if w.size == 1 { "" } else { "s" }
    );
    if let Some(b) = &w.bake {
        let _ = write!(title, " · bake {b}");
    }
    let _ = write!(title, " · failure budget {}", w.failure_budget);
    if let Some(t) = &w.not_before {
        let _ = write!(title, " · not before {t}");
    }
    let _ = writeln!(o, "{title}");
    if !w.waits_for.is_empty() {
        let _ = writeln!(o, "  waits for: {}", w.waits_for.join("; "));
    }
    for i in &w.instances {
        let versions = match (&i.from, &i.to) {
            (Some(f), Some(t)) if f != t => format!("{f} → {t}"),
            (Some(f), None) => format!("{f} → removed"),
            (None, Some(t)) => format!("new at {t}"),
            (Some(f), Some(_)) => f.clone(),
            (None, None) => String::new(),
        };
        let _ = writeln!(
            o,
            "  {} {}  {versions}  ({}; {})",
            symbol(i.action),
            i.instance,
            i.reason,
            i.placement
        );
    }
}

/// The count of findings, then every one the sections above did not show: a blocking finding
/// is shown under its instance in "Blocked", and here when it has no instance there (a
/// duplicate's second copy, a request refused before it became an instance).
fn findings_summary(
    o: &mut String,
    findings: &[Finding],
    listed: &std::collections::BTreeSet<&str>,
) {
    let errors = findings.iter().filter(|f| f.blocking).count();
    let others: Vec<&Finding> = findings
        .iter()
        .filter(|f| !f.blocking && f.severity > crate::diag::Severity::Info)
        .collect();
    let notes = findings.len() - errors - others.len();
    let _ = writeln!(
        o,
        "\nFindings: {errors} blocking, {} warnings, {notes} notes",
        others.len()
    );
    let unbound: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.blocking && f.instance.as_deref().is_none_or(|i| !listed.contains(i)))
        .collect();
    // A blank line before each: a finding with its source line takes several lines.
    for f in unbound.iter().chain(others.iter()) {
        let _ = writeln!(o, "\n{}", human(f));
    }
}

/// `vow render`: the request, each step and what it did, the findings and the files.
pub fn render(ev: &Evaluated) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# {}  ({})", ev.id, ev.location);
    let _ = writeln!(
        o,
        "Promise version: {}{}",
        ev.version,
        if ev.pinned { " (pinned)" } else { "" }
    );
    if ev.paused {
        let _ = writeln!(o, "paused (kratix.io/paused): not rendered");
        return o;
    }
    if !ev.spec.is_null() {
        let _ = writeln!(
            o,
            "\n## spec after defaults\n{}",
            indent(&serde_yaml::to_string(&ev.spec).unwrap_or_default())
        );
    }
    for t in &ev.trace {
        let _ = writeln!(o, "## step {}/{}", t.pipeline, t.step);
        if t.outputs.is_empty() && t.schedules.is_empty() && t.messages.is_empty() {
            let _ = writeln!(o, "  (no output)");
        }
        for p in &t.outputs {
            let _ = writeln!(o, "  output {p}");
        }
        for (dir, labels) in &t.schedules {
            let l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(o, "  schedule {dir} → {}", l.join(","));
        }
        for m in &t.messages {
            let _ = writeln!(o, "  {m}");
        }
    }
    for e in &ev.external {
        let _ = writeln!(o, "## container step {e}: not run by vow");
    }
    if !ev.findings.is_empty() {
        let _ = writeln!(o, "\n## findings");
        for (i, f) in ev.findings.iter().enumerate() {
            // A blank line between findings: one with its source line takes several lines.
            let gap = if i == 0 { "" } else { "\n" };
            let _ = writeln!(o, "{gap}{}", human(f));
        }
    }
    if ev.blocked {
        let _ = writeln!(o, "\nblocked: this request would not be rolled out");
    }
    if !ev.destinations.is_empty() {
        let _ = writeln!(o, "\n## placement");
        for (dir, d) in &ev.destinations {
            let _ = writeln!(o, "  {dir} → {d}");
        }
    }
    for f in &ev.files {
        let _ = writeln!(
            o,
            "\n## file {}  ({})\n{}",
            f.path,
            f.digest,
            f.content.trim_end()
        );
    }
    o
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `vow scan` / `vow check` for people: findings with locations, then compliance.
pub fn policy(v: &super::PolicyView) -> String {
    let mut o = String::new();
    for f in v
        .findings
        .iter()
        .filter(|f| f.severity > crate::diag::Severity::Info || f.blocking)
    {
        let _ = writeln!(o, "{}\n", human(f));
    }
    for t in v.tests.iter().filter(|t| !t.passed) {
        let _ = writeln!(
            o,
            "FAIL {}  {} / {}\n{}",
            t.location, t.test, t.case, t.detail
        );
    }
    let sev = v.by_severity();
    let counts: Vec<String> = sev
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    let _ = writeln!(
        o,
        "vow {}: {} findings ({}), {} waived",
        v.command,
        v.open().count(),
        if counts.is_empty() {
            "none".to_string()
        } else {
            counts.join(", ")
        },
        v.waived()
    );
    if !v.tests.is_empty() {
        let passed = v.tests.iter().filter(|t| t.passed).count();
        let _ = writeln!(
            o,
            "tests: {passed} passed, {} failed",
            v.tests.len() - passed
        );
    }
    if let Some(c) = v.compliance {
        compliance(&mut o, c);
    }
    waivers(&mut o, v.waivers);
    o
}

/// The waivers by expiry, soonest first.
fn waivers(o: &mut String, ws: &[crate::policy::waivers::WaiverStatus]) {
    if ws.is_empty() {
        return;
    }
    let _ = writeln!(o, "waivers by expiry:");
    for w in ws {
        let _ = writeln!(
            o,
            "  {}  {:<8}  {}  rule {}, owner {}, {}  ({})",
            w.expires,
            w.state,
            w.name,
            w.rule,
            w.owner,
            super::waiver_matches(w),
            w.location
        );
    }
}

fn compliance(o: &mut String, c: &crate::scan::Compliance) {
    use super::percent;
    let t = &c.total;
    let _ = writeln!(
        o,
        "compliance: checks {}/{} passed ({}), instances {}/{} compliant ({})",
        t.passed,
        t.checks,
        percent(t.check_ratio()),
        t.compliant,
        t.instances,
        percent(t.instance_ratio())
    );
    for (title, map) in [
        ("rule", &c.by_rule),
        ("promise", &c.by_promise),
        ("team", &c.by_team),
        ("environment", &c.by_environment),
    ] {
        let _ = writeln!(o, "\nby {title}:");
        for (k, s) in map {
            let _ = writeln!(
                o,
                "  {k:<32} checks {:>5}/{:<5} {:>7}   instances {:>5}/{:<5} {:>7}",
                s.passed,
                s.checks,
                percent(s.check_ratio()),
                s.compliant,
                s.instances,
                percent(s.instance_ratio())
            );
        }
    }
}

/// `vow test` for people: one line per case, failures with their details, then a count.
pub fn tests(results: &[crate::testcase::CaseResult], findings: &[Finding]) -> String {
    let mut o = String::new();
    for f in findings {
        let _ = writeln!(o, "{}\n", human(f));
    }
    for t in results {
        let mark = if t.passed { "PASS" } else { "FAIL" };
        let _ = writeln!(o, "{mark} {}  {} / {}", t.location, t.test, t.case);
        if !t.passed {
            for l in t.detail.lines() {
                let _ = writeln!(o, "    {l}");
            }
        }
    }
    let passed = results.iter().filter(|t| t.passed).count();
    let _ = writeln!(o, "{passed} passed, {} failed", results.len() - passed);
    o
}

/// A finding for people on stdout, with its source line (src/snippet.rs).
fn human(f: &Finding) -> String {
    snippet::human(f, Stream::Stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocking_finding_is_shown_once_whether_or_not_its_instance_is_listed() {
        let listed_one =
            Finding::new(crate::diag::SCHEMA, "listed under Blocked").instance("p:n/a");
        let unlisted = Finding::new(crate::diag::DUPLICATE, "a second copy").instance("p:n/b");
        let listed = std::collections::BTreeSet::from(["p:n/a"]);
        let mut o = String::new();
        findings_summary(&mut o, &[listed_one, unlisted], &listed);
        assert!(o.contains("Findings: 2 blocking"), "{o}");
        assert!(o.contains("a second copy"), "{o}");
        assert!(!o.contains("listed under Blocked"), "{o}");
    }
}
