//! The HTML reports (`vow plan|show|scan --format html`): one self-contained page each, with
//! its CSS and its one script inline (no network, fonts or images), to open offline from a CI
//! artifact. Every value on a page is escaped by [`esc`] (names, findings and diffs come from
//! untrusted requests); the page is deterministic (sorted, no clock but the plan's `--now`) and
//! readable without its script, which only filters rows (`filter.js`).
//!
//! Pages are written as polyglot markup (every element closed, every attribute quoted) so
//! that tests/html.rs can check them with an XML parser and a browser alike.

mod fleet;
mod plan;
mod scan;

pub use fleet::fleet;
pub use plan::plan;
pub use scan::policy;

use crate::model::{InstanceRef, Labels};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The page's style: inline, so that the file stands alone.
const STYLE: &str = include_str!("style.css");
/// The page's one script: filters rows by the form's choices and the URL's fragment.
const SCRIPT: &str = include_str!("filter.js");

/// `s` with every character that could open markup or end an attribute written as an entity.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in HTML text; a request may hold them.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Each instance's team and environment (the values of the workspace's label keys), for the
/// filters. Empty for a saved plan shown again: the plan file keeps no labels.
#[derive(Clone, Debug, Default)]
pub struct Facets(BTreeMap<String, (String, String)>);

impl Facets {
    /// The facets of `instances`, read from the labels `team_key` and `env_key`.
    pub fn new<'a>(
        team_key: &str,
        env_key: &str,
        instances: impl IntoIterator<Item = (&'a InstanceRef, &'a Labels)>,
    ) -> Facets {
        let value = |l: &Labels, k: &str| l.get(k).cloned().unwrap_or_else(|| NONE.to_string());
        Facets(
            instances
                .into_iter()
                .map(|(id, l)| (id.to_string(), (value(l, team_key), value(l, env_key))))
                .collect(),
        )
    }

    /// `(team, environment)` of an instance, `(none)` when unknown.
    fn of(&self, instance: &str) -> (&str, &str) {
        self.0
            .get(instance)
            .map_or((NONE, NONE), |(t, e)| (t.as_str(), e.as_str()))
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What a label that an instance lacks is shown as (as the plan's counts do).
const NONE: &str = "(none)";

/// One filterable row's values, written as its `data-` attributes.
struct Row<'a> {
    team: &'a str,
    environment: &'a str,
    promise: &'a str,
    /// The plan's action (`create`, `blocked`, ...) or the scan's result.
    action: &'a str,
}

impl Row<'_> {
    /// The value of facet `key`.
    fn get(&self, key: &str) -> &str {
        match key {
            "team" => self.team,
            "environment" => self.environment,
            "promise" => self.promise,
            _ => self.action,
        }
    }

    fn attrs(&self) -> String {
        format!(
            " class=\"row\" data-team=\"{}\" data-environment=\"{}\" data-promise=\"{}\" data-action=\"{}\"",
            esc(self.team),
            esc(self.environment),
            esc(self.promise),
            esc(self.action)
        )
    }
}

/// The filter form: one labelled `<select>` per facet with every value the rows have, sorted.
/// Hidden until the script shows it: without the script every row is shown and the form
/// would do nothing.
fn filters(o: &mut String, rows: &[Row], action_label: &str) {
    let facets = [
        ("team", "Team"),
        ("environment", "Environment"),
        ("promise", "Promise"),
        ("action", action_label),
    ];
    let _ = writeln!(
        o,
        "<section id=\"filters\" aria-labelledby=\"filters-h\" hidden=\"hidden\">\n<h2 id=\"filters-h\">Filters</h2>\n<form id=\"filter-form\">"
    );
    for (key, label) in facets {
        let values: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.get(key)).collect();
        let _ = writeln!(
            o,
            "<label for=\"f-{key}\">{label}</label>\n<select id=\"f-{key}\" name=\"{key}\">\n<option value=\"\">all</option>"
        );
        for v in values {
            let v = esc(v);
            let _ = writeln!(o, "<option value=\"{v}\">{v}</option>");
        }
        let _ = writeln!(o, "</select>");
    }
    let _ = writeln!(
        o,
        "<button type=\"reset\">Show all</button>\n</form>\n<p id=\"shown\" role=\"status\" aria-live=\"polite\">Showing <span id=\"shown-count\">{n}</span> of <span id=\"row-count\">{n}</span> rows.</p>\n</section>",
        n = rows.len()
    );
}

/// The page around `body`: the head with the inline style, and the inline script last. Its
/// Content-Security-Policy lets nothing load and no script run but the page's own (allowed by
/// its hash): should a value ever get past [`esc`], it still could not run or fetch anything.
fn page(title: &str, body: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let script = format!("\n{SCRIPT}");
    let hash =
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(script.as_bytes()));
    let mut o = String::with_capacity(body.len() + STYLE.len() + SCRIPT.len() + 768);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{hash}'; base-uri 'none'; form-action 'none'\" />\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" />\n<title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n{body}<script>{script}</script>\n</body>\n</html>\n",
        esc(title)
    );
    o
}

/// A bar of `ratio` (0 to 1) as a CSS width, with the numbers as text beside it.
fn bar(ratio: f64, text: &str) -> String {
    let pct = (ratio.clamp(0.0, 1.0) * 1000.0).round() / 10.0;
    format!(
        "<span class=\"meter\" aria-hidden=\"true\"><span style=\"width:{pct:.1}%\"></span></span> {}",
        esc(text)
    )
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn hostile_text_is_escaped() {
        let cases = [
            (
                "<script>alert(1)</script>",
                "&lt;script&gt;alert(1)&lt;/script&gt;",
            ),
            ("a\"b'c", "a&quot;b&#39;c"),
            ("&amp;", "&amp;amp;"),
            ("x\u{0}y", "x\u{FFFD}y"),
            ("plain – ünïcode", "plain – ünïcode"),
        ];
        for (raw, escaped) in cases {
            assert_eq!(esc(raw), escaped, "{raw:?}");
        }
    }
}
