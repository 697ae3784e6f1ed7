//! The plan as an HTML page: the summary, the waves on a timeline, every instance with its
//! change and placement (diffs folded), the blocked instances with their findings, and the
//! pinned and paused ones; every instance row is filterable.

use super::{esc, filters, page, Facets, Row};
use crate::plan::{Action, FileDiff, Plan, Wave, WaveInstance};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The plan as one self-contained HTML page. `diffs` are folded under their instance; `facets`
/// gives each instance's team and environment (empty for a saved plan: those filters then
/// offer only `(none)`). Deterministic: the same inputs give the same bytes.
pub fn plan(p: &Plan, diffs: &[FileDiff], facets: &Facets) -> String {
    let mut o = String::new();
    let title = if p.is_rollback() {
        "vow rollback plan"
    } else {
        "vow plan"
    };
    let _ = writeln!(o, "<header>\n<h1>{title}</h1>");
    let _ = write!(o, "<p>Plan <code>{}</code>", esc(&p.plan_id));
    if let Some(now) = &p.now {
        let _ = write!(o, ", made with <code>--now {}</code>", esc(now));
    }
    if let Some(promise) = &p.promise {
        let _ = write!(o, ", for Promise <code>{}</code> only", esc(promise));
    }
    let _ = writeln!(o, ".</p>");
    if facets.is_empty() {
        let _ = writeln!(o, "<p class=\"muted\">This page shows a saved plan file, which keeps no labels: every team and environment reads <code>(none)</code>.</p>");
    }
    let _ = writeln!(o, "</header>\n<main>");
    summary(&mut o, p);
    let rows = rows(p, facets);
    filters(&mut o, &rows, "Action");
    timeline(&mut o, &p.waves);
    what_changes(&mut o, p);
    let details = Details::new(p, diffs);
    if !p.waves.is_empty() {
        let _ = writeln!(o, "<h2 id=\"instances-h\">Instances by wave</h2>");
    }
    if details.left_out > 0 {
        let _ = writeln!(o, "<p>The diffs of {} files are left out to keep the page under {} MiB of diffs: <code>vow plan --diff</code> shows every one.</p>", details.left_out, DIFF_BUDGET >> 20);
    }
    for w in &p.waves {
        wave(&mut o, w, facets, &details);
    }
    blocked(&mut o, p, facets);
    held(&mut o, p, facets);
    findings(&mut o, p);
    let _ = writeln!(o, "</main>");
    page(title, &o)
}

/// Every filterable row, in page order (the filter form lists their values).
fn rows<'a>(p: &'a Plan, facets: &'a Facets) -> Vec<Row<'a>> {
    let row = |id: String, promise: &'a str, action: &'a str| {
        let (team, environment) = facets.of(&id);
        Row {
            team,
            environment,
            promise,
            action,
        }
    };
    let mut out: Vec<Row> = Vec::new();
    for w in &p.waves {
        for i in &w.instances {
            let r = row(
                i.instance.to_string(),
                &i.instance.promise,
                i.action.as_str(),
            );
            out.push(r);
        }
    }
    for b in &p.blocked {
        out.push(row(b.instance.to_string(), &b.instance.promise, "blocked"));
    }
    for x in &p.pinned {
        out.push(row(x.instance.to_string(), &x.instance.promise, "pinned"));
    }
    for x in &p.paused {
        out.push(row(x.to_string(), &x.promise, "paused"));
    }
    out
}

/// The most bytes of diff text a page holds: a fleet-wide upgrade's diffs would make a page no
/// browser opens. The diffs past it (in the plan's order) are counted, not shown.
const DIFF_BUDGET: usize = 8 << 20;

/// Each instance's change summary and diffs, by its name.
struct Details<'a> {
    summaries: BTreeMap<String, &'a str>,
    diffs: BTreeMap<&'a str, Vec<&'a FileDiff>>,
    /// The diffs over [`DIFF_BUDGET`], left out.
    left_out: usize,
}

impl<'a> Details<'a> {
    fn new(p: &'a Plan, diffs: &'a [FileDiff]) -> Details<'a> {
        let summaries = p
            .changes
            .iter()
            .filter_map(|c| Some((c.id.to_string(), c.summary.as_deref()?)))
            .collect();
        let mut by_instance: BTreeMap<&str, Vec<&FileDiff>> = BTreeMap::new();
        let mut used = 0usize;
        let mut left_out = 0;
        for d in diffs {
            used = used.saturating_add(d.unified.len());
            if used > DIFF_BUDGET {
                left_out += 1;
                continue;
            }
            by_instance.entry(d.instance.as_str()).or_default().push(d);
        }
        Details {
            summaries,
            diffs: by_instance,
            left_out,
        }
    }
}

/// The summary's counts (each cell has an id, `count-<name>`, for tests and scripts) and the
/// counts by Promise.
fn summary(o: &mut String, p: &Plan) {
    let s = &p.summary;
    let _ = writeln!(o, "<section aria-labelledby=\"summary-h\">\n<h2 id=\"summary-h\">Summary</h2>\n<table id=\"summary\" class=\"compact\">\n<caption class=\"muted\">What the plan does</caption>\n<tbody>");
    let cells = [
        ("requests", "requests", s.requests),
        ("create", "to create", s.create),
        ("update", "to update", s.update),
        ("delete", "to delete", s.delete),
        ("unchanged", "unchanged", s.unchanged),
        ("blocked", "blocked", s.blocked),
        ("pinned", "pinned", s.pinned),
        ("paused", "paused", s.paused),
        ("waves", "waves", s.waves),
        (
            "failure-budget",
            "failure budget",
            s.failure_budget as usize,
        ),
        ("findings", "findings", s.findings),
    ];
    for (id, label, n) in cells {
        let _ = writeln!(
            o,
            "<tr><th scope=\"row\">{label}</th><td class=\"n\" id=\"count-{id}\">{n}</td></tr>"
        );
    }
    let _ = writeln!(o, "</tbody>\n</table>");
    if !p.counts.by_promise.is_empty() {
        let _ = writeln!(o, "<table id=\"by-promise\" class=\"compact\">\n<caption class=\"muted\">By Promise</caption>\n<thead><tr><th scope=\"col\">Promise</th><th scope=\"col\" class=\"n\">create</th><th scope=\"col\" class=\"n\">update</th><th scope=\"col\" class=\"n\">delete</th><th scope=\"col\" class=\"n\">blocked</th></tr></thead>\n<tbody>");
        for (k, n) in &p.counts.by_promise {
            let _ = writeln!(
                o,
                "<tr><th scope=\"row\">{}</th><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(k),
                n.create,
                n.update,
                n.delete,
                n.blocked
            );
        }
        let _ = writeln!(o, "</tbody>\n</table>");
    }
    let _ = writeln!(o, "</section>");
}

/// A wave's name with its batch or canary mark.
fn wave_name(w: &Wave) -> String {
    match &w.batch {
        Some(b) => format!("{} (batch {}/{})", w.name, b.index, b.of),
        None if w.canary => format!("{} (canary)", w.name),
        None => w.name.clone(),
    }
}

/// Where each wave's bake sits between the first start and the last bake's end, in percent.
struct Slots {
    /// Each wave's left edge and width.
    bars: Vec<(f64, f64)>,
    /// The first start and the last bake's end, in seconds since the epoch.
    from: i64,
    to: i64,
}

/// The waves' slots; `None` when the plan has no times (made without `--now`) or a time does
/// not parse.
fn slots(waves: &[Wave]) -> Option<Slots> {
    let spans: Vec<(i64, i64)> = waves
        .iter()
        .map(|w| {
            let start = crate::duration::parse_time(w.not_before.as_deref()?).ok()?;
            let bake = match &w.bake {
                Some(b) => crate::duration::parse_duration(b).ok()?,
                None => 0,
            };
            Some((start.timestamp(), bake.max(0)))
        })
        .collect::<Option<_>>()?;
    let first = spans.iter().map(|s| s.0).min()?;
    let last = spans.iter().map(|s| s.0.saturating_add(s.1)).max()?;
    let width = (last.saturating_sub(first)).max(1) as f64;
    let bars = spans
        .iter()
        .map(|(start, bake)| {
            let left = (start.saturating_sub(first)) as f64 / width * 100.0;
            (left, *bake as f64 / width * 100.0)
        })
        .collect();
    Some(Slots {
        bars,
        from: first,
        to: last,
    })
}

/// Seconds since the epoch as the plan writes times.
fn time(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(crate::duration::format_time)
        .unwrap_or_default()
}

/// The waves as a table and a timeline: each wave's earliest start, its bake as a bar, and
/// what it waits for (windows, freezes) as text.
fn timeline(o: &mut String, waves: &[Wave]) {
    let _ = writeln!(
        o,
        "<section aria-labelledby=\"waves-h\">\n<h2 id=\"waves-h\">Waves</h2>"
    );
    if waves.is_empty() {
        let _ = writeln!(o, "<p>No waves: nothing to roll out.</p>\n</section>");
        return;
    }
    let slots = slots(waves);
    match &slots {
        None => {
            let _ = writeln!(o, "<p class=\"muted\">The plan was made without <code>--now</code>: the waves have no times.</p>");
        }
        Some(s) => {
            let _ = writeln!(o, "<p>The timeline runs from <code>{}</code> (the first start) to <code>{}</code> (the last bake's end); each bar is a wave's bake, amber when the wave waits for a window or a freeze.</p>", time(s.from), time(s.to));
        }
    }
    let _ = writeln!(o, "<table id=\"waves\">\n<thead><tr><th scope=\"col\" class=\"n\">#</th><th scope=\"col\">wave</th><th scope=\"col\" class=\"n\">instances</th><th scope=\"col\">earliest start</th><th scope=\"col\">bake</th><th scope=\"col\" class=\"n\">failure budget</th><th scope=\"col\">waits for</th><th scope=\"col\">timeline</th></tr></thead>\n<tbody>");
    for (k, w) in waves.iter().enumerate() {
        let bar = match slots.as_ref().and_then(|s| s.bars.get(k)) {
            Some((left, width)) => format!(
                "<span class=\"track\" aria-hidden=\"true\"><span class=\"slot{}\" style=\"left:{left:.2}%;width:{width:.2}%\"></span></span>",
                if w.waits_for.is_empty() { "" } else { " wait" }
            ),
            None => "-".to_string(),
        };
        let waits = if w.waits_for.is_empty() {
            "-".to_string()
        } else {
            esc(&w.waits_for.join("; "))
        };
        let _ = writeln!(
            o,
            "<tr><td class=\"n\">{}</td><th scope=\"row\"><a href=\"#wave-{}\">{}</a></th><td class=\"n\">{}</td><td class=\"time\">{}</td><td>{}</td><td class=\"n\">{}</td><td>{waits}</td><td>{bar}</td></tr>",
            w.index,
            w.index,
            esc(&wave_name(w)),
            w.size,
            esc(w.not_before.as_deref().unwrap_or("-")),
            esc(w.bake.as_deref().unwrap_or("-")),
            w.failure_budget
        );
    }
    let _ = writeln!(o, "</tbody>\n</table>\n</section>");
}

/// The updates grouped by what they change, the largest group first.
fn what_changes(o: &mut String, p: &Plan) {
    let groups = crate::report::changes::change_groups(p);
    if groups.is_empty() {
        return;
    }
    let _ = writeln!(o, "<section aria-labelledby=\"changes-h\">\n<h2 id=\"changes-h\">What changes ({} kinds)</h2>\n<table id=\"change-groups\">\n<thead><tr><th scope=\"col\" class=\"n\">instances</th><th scope=\"col\">Promise</th><th scope=\"col\">change</th></tr></thead>\n<tbody>", groups.len());
    for g in &groups {
        let names = crate::report::changes::some_names(&g.instances, 3, "");
        let _ = writeln!(
            o,
            "<tr><td class=\"n\">{}</td><td>{}</td><td>{}<br /><span class=\"muted\">{}</span></td></tr>",
            g.instances.len(),
            esc(&g.what()),
            esc(g.summary),
            esc(&names)
        );
    }
    let _ = writeln!(o, "</tbody>\n</table>\n</section>");
}

/// An action as a symbol and a word, never a colour alone.
pub(super) fn action_cell(action: &str) -> String {
    let sym = match action {
        "create" => "+",
        "update" => "~",
        "delete" => "−",
        "blocked" | "failing" => "✗",
        "pinned" => "📌",
        "paused" => "⏸",
        "compliant" => "✓",
        _ => "=",
    };
    format!(
        "<span class=\"act act-{a}\"><span aria-hidden=\"true\">{sym}</span> {a}</span>",
        a = esc(action)
    )
}

fn versions(i: &WaveInstance) -> String {
    match (&i.from, &i.to) {
        (Some(f), Some(t)) if f != t => format!("{f} → {t}"),
        (Some(f), Some(_)) => f.clone(),
        (None, Some(t)) => format!("new at {t}"),
        (Some(f), None) => format!("{f} → removed"),
        (None, None) => String::new(),
    }
}

const INSTANCE_HEAD: &str = "<thead><tr><th scope=\"col\">instance</th><th scope=\"col\">team</th><th scope=\"col\">environment</th><th scope=\"col\">action</th><th scope=\"col\">versions</th><th scope=\"col\">change</th><th scope=\"col\">why here</th></tr></thead>";

/// One wave's instances: what each change does and why the instance is in this wave.
fn wave(o: &mut String, w: &Wave, facets: &Facets, details: &Details) {
    let _ = writeln!(
        o,
        "<section class=\"group\" id=\"wave-{}\" aria-labelledby=\"wave-{}-h\">\n<h3 id=\"wave-{}-h\">Wave {} · {} · {} instance{} <span class=\"group-shown muted\"></span></h3>\n<table>\n{INSTANCE_HEAD}\n<tbody>",
        w.index,
        w.index,
        w.index,
        w.index,
        esc(&wave_name(w)),
        w.size,
        if w.size == 1 { "" } else { "s" }
    );
    for i in &w.instances {
        let id = i.instance.to_string();
        let (team, environment) = facets.of(&id);
        let row = Row {
            team,
            environment,
            promise: &i.instance.promise,
            action: i.action.as_str(),
        };
        let summary = details.summaries.get(&id).copied();
        let mut change = esc(summary.unwrap_or(&i.reason));
        let files = details
            .diffs
            .get(id.as_str())
            .map_or(&[][..], |v| v.as_slice());
        diff_list(&mut change, files);
        let why = if i.action == Action::Unchanged {
            esc(&i.placement)
        } else {
            format!("{}; {}", esc(&i.reason), esc(&i.placement))
        };
        let _ = writeln!(
            o,
            "<tr{}><th scope=\"row\"><code>{}</code></th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{change}</td><td>{why}</td></tr>",
            row.attrs(),
            esc(&id),
            esc(team),
            esc(environment),
            action_cell(i.action.as_str()),
            esc(&versions(i))
        );
    }
    let _ = writeln!(o, "</tbody>\n</table>\n</section>");
}

/// An instance's diffs, folded twice: the list of files, then each file's diff.
fn diff_list(o: &mut String, files: &[&FileDiff]) {
    if files.is_empty() {
        return;
    }
    let _ = write!(
        o,
        "<details class=\"diffs\"><summary>Diffs of {} file{}</summary>",
        files.len(),
        if files.len() == 1 { "" } else { "s" }
    );
    for d in files {
        let _ = write!(
            o,
            "<details><summary><code>{}</code> ({})</summary><pre>{}</pre></details>",
            esc(&d.path),
            esc(d.change),
            esc(d.unified.trim_end())
        );
    }
    o.push_str("</details>");
}

/// The blocked instances with every finding that blocks them.
fn blocked(o: &mut String, p: &Plan, facets: &Facets) {
    if p.blocked.is_empty() {
        return;
    }
    let _ = writeln!(o, "<section class=\"group\" id=\"blocked\" aria-labelledby=\"blocked-h\">\n<h2 id=\"blocked-h\">Blocked ({}) <span class=\"group-shown muted\"></span></h2>\n<table>\n<thead><tr><th scope=\"col\">instance</th><th scope=\"col\">team</th><th scope=\"col\">environment</th><th scope=\"col\">action</th><th scope=\"col\">where</th><th scope=\"col\">findings</th></tr></thead>\n<tbody>", p.blocked.len());
    for b in &p.blocked {
        let id = b.instance.to_string();
        let (team, environment) = facets.of(&id);
        let row = Row {
            team,
            environment,
            promise: &b.instance.promise,
            action: "blocked",
        };
        let at = b
            .location
            .as_ref()
            .map(|l| format!("<code>{}</code>", esc(&l.to_string())))
            .unwrap_or_default();
        let mut findings = String::from("<ul class=\"findings\">");
        for r in &b.reasons {
            let _ = write!(findings, "<li>{}</li>", esc(r));
        }
        findings.push_str("</ul>");
        let _ = writeln!(
            o,
            "<tr{}><th scope=\"row\"><code>{}</code></th><td>{}</td><td>{}</td><td>{}</td><td>{at}</td><td>{findings}</td></tr>",
            row.attrs(),
            esc(&id),
            esc(team),
            esc(environment),
            action_cell("blocked")
        );
    }
    let _ = writeln!(o, "</tbody>\n</table>\n</section>");
}

/// The pinned and paused instances.
fn held(o: &mut String, p: &Plan, facets: &Facets) {
    if p.pinned.is_empty() && p.paused.is_empty() {
        return;
    }
    let _ = writeln!(o, "<section class=\"group\" id=\"held\" aria-labelledby=\"held-h\">\n<h2 id=\"held-h\">Pinned and paused <span class=\"group-shown muted\"></span></h2>\n<table>\n<thead><tr><th scope=\"col\">instance</th><th scope=\"col\">team</th><th scope=\"col\">environment</th><th scope=\"col\">action</th><th scope=\"col\">detail</th></tr></thead>\n<tbody>");
    let held = p
        .pinned
        .iter()
        .map(|x| (&x.instance, "pinned", format!("pinned to {}", x.version)))
        .chain(p.paused.iter().map(|x| (x, "paused", "paused".to_string())));
    for (instance, action, detail) in held {
        let id = instance.to_string();
        let (team, environment) = facets.of(&id);
        let row = Row {
            team,
            environment,
            promise: &instance.promise,
            action,
        };
        let _ = writeln!(
            o,
            "<tr{}><th scope=\"row\"><code>{}</code></th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            row.attrs(),
            esc(&id),
            esc(team),
            esc(environment),
            action_cell(action),
            esc(&detail)
        );
    }
    let _ = writeln!(o, "</tbody>\n</table>\n</section>");
}

/// Every finding of the plan (blocking or not), folded: the blocked instances above show the
/// ones that block.
fn findings(o: &mut String, p: &Plan) {
    if p.findings.is_empty() {
        return;
    }
    let _ = writeln!(o, "<section aria-labelledby=\"findings-h\">\n<h2 id=\"findings-h\">Findings ({})</h2>\n<details>\n<summary>Every finding of the plan</summary>\n<table id=\"findings\">\n<thead><tr><th scope=\"col\">severity</th><th scope=\"col\">rule</th><th scope=\"col\">instance</th><th scope=\"col\">blocks</th><th scope=\"col\">location</th><th scope=\"col\">message</th></tr></thead>\n<tbody>", p.findings.len());
    for f in &p.findings {
        let at = f
            .location
            .as_ref()
            .map(|l| format!("<code>{}</code>", esc(&l.to_string())))
            .unwrap_or_default();
        let blocks = match (f.blocking, f.waived.is_some()) {
            (_, true) => "waived",
            (true, false) => "✗ blocks",
            (false, false) => "-",
        };
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td>{blocks}</td><td>{at}</td><td>{}</td></tr>",
            f.severity.as_str(),
            esc(f.id()),
            esc(f.instance.as_deref().unwrap_or("")),
            esc(&f.message)
        );
    }
    let _ = writeln!(o, "</tbody>\n</table>\n</details>\n</section>");
}

#[cfg(test)]
mod tests {
    use crate::plan::FileDiff;

    #[test]
    fn a_hostile_diff_stays_text() {
        let d = FileDiff {
            instance: "db:team-a/<b>".into(),
            path: "x/\"><script>alert(1)</script>.yaml".into(),
            change: "changed",
            unified: "-a: </pre></details><script>alert(2)</script>\n+a: & 'b'\n".into(),
        };
        let mut o = String::new();
        super::diff_list(&mut o, &[&d]);
        assert!(!o.contains("<script"), "{o}");
        assert_eq!(o.matches("</pre>").count(), 1, "{o}");
        assert!(o.contains("&lt;/pre&gt;&lt;/details&gt;&lt;script&gt;alert(2)"));
        assert_eq!(o.matches("<details").count(), 2);
        assert_eq!(o.matches("</details>").count(), 2);
    }
}
