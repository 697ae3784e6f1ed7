//! The plan as Markdown, for a pull-request comment, within a size budget (GitHub refuses
//! comments over 65,536 characters): the summary, the waves and the blocked instances first,
//! then each wave's instances, then the diffs, collapsed, smallest first, while they fit.
//! When even the lists overflow, they are shortened with counts; a wave or a blocked
//! instance's name is never left out.

use crate::plan::{Action, FileDiff, Plan, Wave, WaveInstance};
use std::fmt::Write;

/// The default of `--max-bytes`: under GitHub's 65,536 characters, with room for a header.
pub const DEFAULT_MAX_BYTES: usize = 60_000;

fn cell(s: &str) -> String {
    s.replace('|', "\\\\|").replace('\n', " ")
}

/// How much of the lists a rendering shows, from everything down to the names alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shape {
    /// Instances listed per wave (and pinned or paused ones); `None`: all.
    lines: Option<usize>,
    /// Each instance's reason and placement.
    why: bool,
    /// Reasons shown per blocked instance, and the characters of each.
    reasons: usize,
    reason_chars: usize,
}

const FULL: Shape = Shape {
    lines: None,
    why: true,
    reasons: usize::MAX,
    reason_chars: usize::MAX,
};
const SHORT: Shape = Shape {
    lines: None,
    why: false,
    reasons: 3,
    reason_chars: 200,
};
const BARE: Shape = Shape {
    lines: Some(0),
    why: false,
    reasons: 0,
    reason_chars: 0,
};

fn first(k: usize) -> Shape {
    Shape {
        lines: Some(k),
        why: false,
        reasons: 1,
        reason_chars: 100,
    }
}

/// The plan as Markdown in at most `max_bytes` bytes (more only when the names of the waves
/// and of the blocked instances alone take more). Deterministic: the same plan and diffs give
/// the same bytes.
pub fn render(p: &Plan, diffs: &[FileDiff], max_bytes: usize) -> String {
    // Room for the count of diffs left out, at its longest.
    let reserve = if diffs.is_empty() {
        0
    } else {
        left_out_note(diffs.len(), diffs.len(), max_bytes).len()
    };
    let (mut o, shape) = fitted(p, max_bytes.saturating_sub(reserve));
    if shape != FULL {
        let _ = writeln!(
            o,
            "\n_Lists shortened to stay under {} bytes: the plan file (`vow plan --out plan.json`, `vow show plan.json`) has every instance and finding._",
            thousands(max_bytes)
        );
    }
    append_diffs(&mut o, diffs, max_bytes);
    o
}

/// The lists in the first shape that fits: everything, without reasons, the first `k` of each
/// wave (the largest `k` that fits), or the names alone.
fn fitted(p: &Plan, max_bytes: usize) -> (String, Shape) {
    // Room for the note that lists were shortened.
    let room = max_bytes.saturating_sub(200);
    for shape in [FULL, SHORT] {
        let o = lists(p, shape);
        if o.len() <= room || shape == FULL && o.len() <= max_bytes {
            return (o, shape);
        }
    }
    let widest = p.waves.iter().map(|w| w.instances.len()).max().unwrap_or(0);
    let widest = widest.max(p.pinned.len()).max(p.paused.len());
    // The largest k whose rendering fits: the length grows with k.
    let (mut lo, mut hi) = (0, widest);
    let mut best = None;
    while lo <= hi {
        let k = lo + (hi - lo) / 2;
        let o = lists(p, first(k));
        if o.len() <= room {
            best = Some((o, first(k)));
            lo = k + 1;
        } else if k == 0 {
            break;
        } else {
            hi = k - 1;
        }
    }
    best.unwrap_or_else(|| (lists(p, BARE), BARE))
}

/// Everything but the diffs, in `shape`.
fn lists(p: &Plan, shape: Shape) -> String {
    let mut o = String::new();
    summary(&mut o, p);
    wave_table(&mut o, p);
    blocked(&mut o, p, shape);
    what_changes(&mut o, p, shape);
    for w in &p.waves {
        wave_details(&mut o, w, shape);
    }
    held(&mut o, p, shape);
    o
}

/// The diffs that fit, smallest first (so that most fit), each collapsed; then the count of
/// those left out.
fn append_diffs(o: &mut String, diffs: &[FileDiff], max_bytes: usize) {
    if diffs.is_empty() {
        return;
    }
    let mut blocks: Vec<(&FileDiff, String)> = diffs
        .iter()
        .map(|d| {
            let body = d.unified.trim_end();
            let fence = fence(body);
            let block = format!(
                "<details><summary><code>{}</code> ({})</summary>\n\n{fence}diff\n{body}\n{fence}\n\n</details>\n",
                html(&d.path),
                d.change,
            );
            (d, block)
        })
        .collect();
    // Ties in the order the plan lists them (the sort is stable).
    blocks.sort_by_key(|(_, b)| b.len());
    let heading = "\n### Diffs\n\n";
    let reserve = left_out_note(diffs.len(), diffs.len(), max_bytes).len();
    let mut used = o.len() + heading.len() + reserve;
    let mut shown = 0;
    for (_, b) in &blocks {
        if used + b.len() > max_bytes {
            break;
        }
        used += b.len();
        shown += 1;
    }
    if shown > 0 {
        o.push_str(heading);
    }
    for (_, b) in blocks.iter().take(shown) {
        o.push_str(b);
    }
    let left: Vec<&FileDiff> = blocks.iter().skip(shown).map(|(d, _)| *d).collect();
    if !left.is_empty() {
        let instances: std::collections::BTreeSet<&str> =
            left.iter().map(|d| d.instance.as_str()).collect();
        o.push_str(&left_out_note(left.len(), instances.len(), max_bytes));
    }
}

/// A code fence longer than any run of backticks in `body` (the files are untrusted: one
/// holding ``` must not close the block early).
fn fence(body: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    "`".repeat(longest.max(2) + 1)
}

fn left_out_note(files: usize, instances: usize, max_bytes: usize) -> String {
    format!(
        "\n_Diffs of {} file{} of {} instance{} left out to stay under {} bytes: see the plan file or `vow plan --diff`._\n",
        thousands(files),
        if files == 1 { "" } else { "s" },
        thousands(instances),
        if instances == 1 { "" } else { "s" },
        thousands(max_bytes)
    )
}

/// `1203` → `1,203`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
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

/// The table of waves: every wave, whatever the budget.
fn wave_table(o: &mut String, p: &Plan) {
    if p.waves.is_empty() {
        return;
    }
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
}

/// The updates grouped by what they change, the largest group first; the summaries quote
/// rendered values (untrusted), so they are escaped for a table cell and for HTML.
fn what_changes(o: &mut String, p: &Plan, shape: Shape) {
    let groups = super::changes::change_groups(p);
    if groups.is_empty() {
        return;
    }
    let _ = writeln!(o, "\n### What changes ({} kinds)\n", groups.len());
    let shown = shape.lines.unwrap_or(usize::MAX);
    if shown > 0 {
        let _ = writeln!(o, "| instances | Promise | change |\n|---:|---|---|");
    }
    for g in groups.iter().take(shown) {
        let mut change = html(&cell(g.summary));
        if shape.why {
            let names = super::changes::some_names(&g.instances, 3, "`");
            let _ = write!(change, "<br>{names}");
        }
        let _ = writeln!(
            o,
            "| {} | {} | {change} |",
            g.instances.len(),
            cell(&g.what())
        );
    }
    if groups.len() > shown {
        let _ = writeln!(
            o,
            "\n{} more kinds of change (the plan file has each instance's summary).",
            thousands(groups.len() - shown)
        );
    }
}

/// `<` and `>` as entities: a value must not open or close an HTML element of the comment.
fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One wave's instances, what each change does and why it is in this wave; collapsed.
fn wave_details(o: &mut String, w: &Wave, shape: Shape) {
    if shape.lines == Some(0) {
        return;
    }
    let _ = writeln!(
        o,
        "\n<details><summary>Wave {} · {} · {} instances</summary>\n",
        w.index,
        cell(&w.name),
        w.size
    );
    let shown = shape.lines.unwrap_or(usize::MAX);
    for i in w.instances.iter().take(shown) {
        instance_line(o, i, shape.why);
    }
    more(o, w.instances.len(), shown, "in this wave");
    let _ = writeln!(o, "\n</details>");
}

fn instance_line(o: &mut String, i: &WaveInstance, why: bool) {
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
    if why {
        let _ = writeln!(
            o,
            "- {sym} `{}`{versions}: {}; {}",
            i.instance, i.reason, i.placement
        );
    } else {
        let _ = writeln!(o, "- {sym} `{}`{versions}", i.instance);
    }
}

/// `- … and N more <where>` when `shown` of `total` were listed.
fn more(o: &mut String, total: usize, shown: usize, place: &str) {
    if total > shown {
        let _ = writeln!(
            o,
            "- … and {} more {place} (the plan file lists them)",
            thousands(total - shown)
        );
    }
}

/// The pinned and paused instances.
fn held(o: &mut String, p: &Plan, shape: Shape) {
    if p.pinned.is_empty() && p.paused.is_empty() && p.held.is_empty() {
        return;
    }
    let shown = shape.lines.unwrap_or(usize::MAX);
    let _ = writeln!(o);
    if shown == 0 {
        let _ = writeln!(
            o,
            "- 📌 {} pinned, ⏸️ {} paused (the plan file lists them)",
            thousands(p.pinned.len()),
            thousands(p.paused.len())
        );
        return;
    }
    for x in p.pinned.iter().take(shown) {
        let _ = writeln!(o, "- 📌 `{}` pinned to {}", x.instance, x.version);
    }
    more(o, p.pinned.len(), shown, "pinned");
    for x in p.paused.iter().take(shown) {
        let _ = writeln!(o, "- ⏸️ `{x}` paused");
    }
    more(o, p.paused.len(), shown, "paused");
    for x in p.held.iter().take(shown) {
        let _ = writeln!(o, "- ⏭️ `{}` held: {}", x.instance, x.reason);
    }
    more(o, p.held.len(), shown, "held");
}

/// The blocked instances and why: every name, and as many of the reasons as the shape allows.
fn blocked(o: &mut String, p: &Plan, shape: Shape) {
    if p.blocked.is_empty() {
        return;
    }
    let _ = writeln!(o, "\n### Blocked ({})\n", p.blocked.len());
    let _ = writeln!(o, "| instance | where | why |\n|---|---|---|");
    for b in &p.blocked {
        let at = b
            .location
            .as_ref()
            .map(|l| format!("`{l}`"))
            .unwrap_or_default();
        let mut why: Vec<String> = b
            .reasons
            .iter()
            .take(shape.reasons)
            .map(|r| clipped(r, shape.reason_chars))
            .collect();
        let left = b.reasons.len().saturating_sub(shape.reasons);
        if left > 0 {
            why.push(format!(
                "{}{left} finding{}",
                if why.is_empty() { "" } else { "+" },
                if left == 1 { "" } else { "s" }
            ));
        }
        let _ = writeln!(o, "| `{}` | {at} | {} |", b.instance, cell(&why.join("; ")));
    }
}

/// `s` cut to `n` characters (not bytes: reasons quote untrusted text), marked when cut.
fn clipped(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut out: String = s.chars().take(n).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn a_fence_is_longer_than_the_backticks_it_holds() {
        assert_eq!(super::fence("a"), "```");
        assert_eq!(super::fence("a ``` b ```` c"), "`````");
    }

    #[test]
    fn thousands_are_separated() {
        for (n, s) in [(0, "0"), (999, "999"), (1000, "1,000"), (1203, "1,203")] {
            assert_eq!(thousands(n), s);
        }
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
