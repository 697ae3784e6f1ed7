//! The plan as Markdown, for a pull-request comment: a summary table, the waves, the blocked
//! instances and the diffs, collapsed.

use crate::plan::{Action, FileDiff, Plan, Wave};
use std::fmt::Write;

fn cell(s: &str) -> String {
    s.replace('|', "\\\\|").replace('\n', " ")
}

pub fn render(p: &Plan, diffs: &[FileDiff]) -> String {
    let mut o = String::new();
    summary(&mut o, p);
    waves(&mut o, p);
    blocked(&mut o, p);
    if !p.pinned.is_empty() || !p.paused.is_empty() {
        let _ = writeln!(o);
        for x in &p.pinned {
            let _ = writeln!(o, "- 📌 `{}` pinned to {}", x.instance, x.version);
        }
        for x in &p.paused {
            let _ = writeln!(o, "- ⏸️ `{x}` paused");
        }
    }
    if !diffs.is_empty() {
        let _ = writeln!(o, "\n### Diffs\n");
        for d in diffs {
            let _ = writeln!(o, "<details><summary><code>{}</code> ({})</summary>\n\n```diff\n{}\n```\n\n</details>", d.path, d.change, d.unified.trim_end());
        }
    }
    o
}

/// The summary table, the plan's id and the counts by Promise.
fn summary(o: &mut String, p: &Plan) {
    let s = &p.summary;
    let _ = writeln!(o, "## vow plan\n");
    let _ = writeln!(o, "| requests | create | update | delete | unchanged | blocked | pinned | paused | waves | failure budget |");
    let _ = writeln!(o, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        o,
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        s.requests,
        s.create,
        s.update,
        s.delete,
        s.unchanged,
        s.blocked,
        s.pinned,
        s.paused,
        s.waves,
        s.failure_budget
    );
    let _ = writeln!(o, "Plan `{}`.\n", p.plan_id);
    let _ = writeln!(
        o,
        "| Promise | create | update | delete | blocked |\n|---|---:|---:|---:|---:|"
    );
    for (k, n) in &p.counts.by_promise {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} |",
            cell(k),
            n.create,
            n.update,
            n.delete,
            n.blocked
        );
    }
}

/// The table of waves, then each wave's instances, collapsed.
fn waves(o: &mut String, p: &Plan) {
    if !p.waves.is_empty() {
        let _ = writeln!(o, "\n### Waves\n");
        let _ = writeln!(o, "| # | wave | instances | bake | failure budget | not before |\n|---:|---|---:|---|---:|---|");
        for w in &p.waves {
            let name = match &w.batch {
                Some(b) => format!("{} (batch {}/{})", w.name, b.index, b.of),
                None if w.canary => format!("{} (canary)", w.name),
                None => w.name.clone(),
            };
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} |",
                w.index,
                cell(&name),
                w.size,
                w.bake.as_deref().unwrap_or("-"),
                w.failure_budget,
                w.not_before.as_deref().unwrap_or("-")
            );
        }
        for w in &p.waves {
            wave_details(o, w);
        }
    }
}

/// One wave's instances, what each change does and why it is in this wave.
fn wave_details(o: &mut String, w: &Wave) {
    let _ = writeln!(
        o,
        "\n<details><summary>Wave {} · {} · {} instances</summary>\n",
        w.index,
        cell(&w.name),
        w.size
    );
    for i in &w.instances {
        let sym = match i.action {
            Action::Create => "➕",
            Action::Update => "🔄",
            Action::Delete => "➖",
            Action::Unchanged => "·",
        };
        let versions = match (&i.from, &i.to) {
            (Some(f), Some(t)) if f != t => format!(" {f} → {t}"),
            (None, Some(t)) => format!(" new at {t}"),
            (Some(f), None) => format!(" {f} → removed"),
            _ => String::new(),
        };
        let _ = writeln!(
            o,
            "- {sym} `{}`{versions}: {}; {}",
            i.instance, i.reason, i.placement
        );
    }
    let _ = writeln!(o, "\n</details>");
}

/// The blocked instances and why.
fn blocked(o: &mut String, p: &Plan) {
    if !p.blocked.is_empty() {
        let _ = writeln!(o, "\n### Blocked ({})\n", p.blocked.len());
        let _ = writeln!(o, "| instance | where | why |\n|---|---|---|");
        for b in &p.blocked {
            let at = b
                .location
                .as_ref()
                .map(|l| format!("`{l}`"))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "| `{}` | {at} | {} |",
                b.instance,
                cell(&b.reasons.join("; "))
            );
        }
    }
}
