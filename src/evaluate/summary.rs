//! What an update changes, in one short line for people: the rendered documents against the
//! store's files, compared as YAML (the changed leaf paths, old → new for short scalars, an
//! image's new tag without its name), e.g.
//! `statefulset.yaml: spec.template.spec.containers[0].image postgres:15.7 → 15.8;
//! 2 files unchanged`. Made while the contents are at hand and kept as a bounded string, so a
//! large fleet keeps no file contents for it.

use super::evaluated::OutFile;
use crate::store::path::{Checked, StorePath};
use crate::store::Applied;
use serde::Deserialize;
use serde_json::Value;
use std::fmt::Write;
use std::path::Path;

/// The longest summary kept, in characters.
pub const MAX_CHARS: usize = 240;
/// Changed leaves shown per file; the rest are counted.
const LEAVES: usize = 3;
/// Changed leaves kept per file (to find those every file shares); the rest are counted.
const KEPT: usize = 16;
/// A scalar longer than this is named, not quoted.
const SCALAR_CHARS: usize = 40;
/// Files larger than this are said to change, not compared.
const COMPARED_BYTES: usize = 1 << 20;

/// What an update changes: the line for people, and its change kind for the planner.
pub(super) struct Summary {
    /// The bounded line (`statefulset.yaml: spec.replicas 1 → 3; 2 files unchanged`).
    pub line: String,
    /// The change kind: what the change does apart from metadata, the same text for every
    /// instance whose change is the same ([`kind`]).
    pub kind: String,
}

/// The summary of what `files` change against what the store holds for the instance, or
/// `None` when nothing changes (or the instance is new). A change every changed file shares
/// (a label on every document) is said once, for all of them.
pub(super) fn summarize(
    store_root: &Path,
    files: &[OutFile],
    applied: &Applied,
) -> Option<Summary> {
    let mut changed_files: Vec<(&str, Leaves)> = Vec::new();
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    let mut unchanged = 0;
    // One batch of reads per instance: its files share its folders, which are checked once.
    let mut checked = Checked::default();
    for f in files {
        match applied.actual.get(&*f.path) {
            Some(Some(d)) if **d == *f.digest => unchanged += 1,
            Some(Some(_)) => {
                let old = read(store_root, &f.path, &mut checked);
                changed_files.push((name(&f.path), changed(old.as_deref(), &f.content)));
            }
            _ => added.push(name(&f.path)),
        }
    }
    let rendered: std::collections::HashSet<&str> = files.iter().map(|f| &*f.path).collect();
    for (path, d) in &applied.actual {
        if d.is_some() && !rendered.contains(path.as_str()) {
            removed.push(name(path));
        }
    }
    let kind = kind(&changed_files, &added, &removed);
    let mut parts = shared_and_own(&changed_files);
    for (list, what) in [(added, "added"), (removed, "removed")] {
        if !list.is_empty() {
            parts.push(format!("{} {what}", names(&list)));
        }
    }
    if parts.is_empty() {
        return None;
    }
    if unchanged > 0 {
        let s = if unchanged == 1 { "" } else { "s" };
        parts.push(format!("{unchanged} file{s} unchanged"));
    }
    Some(Summary {
        line: clip(&parts.join("; "), MAX_CHARS),
        kind,
    })
}

/// What a change kind says when only labels and annotations change.
pub const METADATA_ONLY: &str = "metadata only";

/// The change kind of an update: its changed leaves outside labels and annotations (with
/// old → new, without file names or document numbers, sorted, each once), the files it adds
/// or removes, and the files whose leaves cannot be listed; [`METADATA_ONLY`] when nothing
/// else changes. Leaves past the [`KEPT`] of a file are counted, so two large changes that
/// differ only there are one kind (the kind is for choosing canaries, not a proof).
fn kind(files: &[(&str, Leaves)], added: &[&str], removed: &[&str]) -> String {
    let mut parts = std::collections::BTreeSet::new();
    let mut more = 0;
    for (name, leaves) in files {
        if let Some(note) = &leaves.note {
            // Only the layout changed: the same data, nothing to exercise.
            if !note.starts_with("layout") {
                parts.insert(format!("{name} {note}"));
            }
            continue;
        }
        for (_, leaf) in &leaves.named {
            if !is_metadata(leaf) {
                parts.insert(leaf.clone());
            }
        }
        more += leaves.count - leaves.named.len();
    }
    for f in added {
        parts.insert(format!("{f} added"));
    }
    for f in removed {
        parts.insert(format!("{f} removed"));
    }
    if parts.is_empty() && more == 0 {
        return METADATA_ONLY.into();
    }
    let mut text = parts.into_iter().collect::<Vec<_>>().join(", ");
    if more > 0 {
        let _ = write!(text, " (and {more} more leaves)");
    }
    text
}

/// Whether a leaf (`path old → new`) is a label or an annotation of some object, at any depth
/// (`metadata.labels[...]`, `spec.template.metadata.annotations`).
fn is_metadata(leaf: &str) -> bool {
    ["metadata.labels", "metadata.annotations"].iter().any(|m| {
        leaf.match_indices(m).any(|(at, _)| {
            let before = leaf
                .get(..at)
                .is_none_or(|b| b.is_empty() || b.ends_with('.'));
            let after = leaf.get(at + m.len()..).and_then(|a| a.chars().next());
            before && matches!(after, None | Some('[' | '.' | ' '))
        })
    })
}

/// The leaves every changed file shares, said once (`3 files: …`), then each file's own.
fn shared_and_own(files: &[(&str, Leaves)]) -> Vec<String> {
    // The leaf's text, whatever document of its file it is in.
    let has = |f: &Leaves, leaf: &str| f.named.iter().any(|(_, l)| l == leaf);
    let mut shared: Vec<&String> = match files {
        [(_, first), _, ..] => first
            .named
            .iter()
            .map(|(_, l)| l)
            .filter(|l| files.iter().all(|(_, f)| has(f, l)))
            .collect(),
        _ => Vec::new(),
    };
    shared.dedup();
    let mut parts = Vec::new();
    if !shared.is_empty() {
        let listed: Vec<String> = shared.iter().map(|l| l.to_string()).collect();
        parts.push(format!(
            "{} files: {}",
            files.len(),
            listing(&listed, listed.len())
        ));
    }
    for (name, leaves) in files {
        let own: Vec<String> = leaves
            .named
            .iter()
            .filter(|(_, l)| !shared.contains(&l))
            .map(|(doc, l)| format!("{doc}{l}"))
            .collect();
        let count = leaves.count - (leaves.named.len() - own.len());
        if let Some(note) = &leaves.note {
            parts.push(format!("{name}: {note}"));
        } else if count > 0 {
            parts.push(format!("{name}: {}", listing(&own, count)));
        }
    }
    parts
}

/// The first few of `named`, and how many more of `count` there are.
fn listing(named: &[String], count: usize) -> String {
    let shown: Vec<&str> = named.iter().take(LEAVES).map(String::as_str).collect();
    let mut s = shown.join(", ");
    if count > shown.len() {
        let _ = write!(s, " and {} more", count - shown.len());
    }
    s
}

/// `a.yaml`, `a.yaml, b.yaml`, or `a.yaml and 4 more files`.
fn names(list: &[&str]) -> String {
    match list {
        [a] => a.to_string(),
        [a, b] => format!("{a}, {b}"),
        [a, rest @ ..] => format!("{a} and {} more files", rest.len()),
        [] => String::new(),
    }
}

/// The store's text of a file, through the store's wall (a symlink is not followed out).
fn read(root: &Path, path: &str, checked: &mut Checked) -> Option<String> {
    let bytes = StorePath::new(path).ok()?.read_in(root, checked).ok()??;
    String::from_utf8(bytes).ok()
}

/// The file's name without its directories (the instance's folder is the same for all).
fn name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The changed leaves of a file, or a note on why they are not listed.
fn changed(old: Option<&str>, new: &str) -> Leaves {
    let mut leaves = Leaves::default();
    let Some(old) = old.filter(|o| o.len() <= COMPARED_BYTES && new.len() <= COMPARED_BYTES) else {
        leaves.note = Some("changed".into());
        return leaves;
    };
    // The line diff first: most files are what vow writes, and parsing is the cost.
    if let Some(found) = super::yaml_lines::changed_leaves(old, new) {
        for l in &found {
            leaves.push(|| leaf_text(l));
        }
        if leaves.count == 0 {
            leaves.note = Some("layout only (the same data)".into());
        }
        return leaves;
    }
    parsed(old, new)
}

/// The changed leaves of two texts parsed as YAML documents.
fn parsed(old: &str, new: &str) -> Leaves {
    let mut leaves = Leaves::default();
    let (Some(a), Some(b)) = (documents(old), documents(new)) else {
        leaves.note = Some("changed (not YAML)".into());
        return leaves;
    };
    let many = a.len().max(b.len()) > 1;
    for i in 0..a.len().max(b.len()) {
        leaves.doc = if many {
            format!("#{} ", i + 1)
        } else {
            String::new()
        };
        compare(a.get(i), b.get(i), "", &mut leaves);
    }
    if leaves.count == 0 {
        leaves.note = Some("layout only (the same data)".into());
    }
    leaves
}

/// A leaf the line diff found, as [`compare`] says it.
fn leaf_text(l: &super::yaml_lines::Leaf) -> String {
    use super::yaml_lines::Held::Scalar;
    let short = |s: &str| (s.chars().count() <= SCALAR_CHARS).then(|| s.to_string());
    let path = &l.path;
    match (&l.old, &l.new) {
        (Some(Scalar(x)), Some(Scalar(y))) => match (short(x), short(y)) {
            (Some(x), Some(y)) => format!("{path} {x} → {}", after_tag(&x, &y)),
            _ => format!("{path} changed"),
        },
        (None, Some(Scalar(y))) => match short(y) {
            Some(y) => format!("{path} added ({y})"),
            None => format!("{path} added"),
        },
        (None, Some(_)) => format!("{path} added"),
        (Some(_), None) => format!("{path} removed"),
        _ => format!("{path} changed"),
    }
}

/// The YAML documents of a text, or `None` when it is not YAML.
fn documents(text: &str) -> Option<Vec<Value>> {
    // A file vow wrote is read without serde_yaml: parsing both sides of every changed file of
    // several documents was a third of the cost of an apply's check.
    crate::store::record::parse_documents(text).or_else(|| parsed_documents(text))
}

/// The YAML documents of a text as serde_yaml reads them, or `None` when it is not YAML.
fn parsed_documents(text: &str) -> Option<Vec<Value>> {
    serde_yaml::Deserializer::from_str(text)
        .map(|d| Value::deserialize(d).ok())
        .filter(|v| v.as_ref().is_none_or(|v| !v.is_null()))
        .collect()
}

/// A file's changed leaves: the first few named, all counted.
#[derive(Default)]
struct Leaves {
    /// Each leaf with its document (`#2 `, in a file of several).
    named: Vec<(String, String)>,
    count: usize,
    /// Why no leaves are listed (not YAML, too large, only the layout changed).
    note: Option<String>,
    /// `#2 ` in a file of several documents: the document the leaves are in.
    doc: String,
}

impl Leaves {
    fn push(&mut self, text: impl FnOnce() -> String) {
        self.count += 1;
        if self.named.len() < KEPT {
            self.named.push((self.doc.clone(), text()));
        }
    }
}

/// Walks two values side by side, noting every leaf that differs.
fn compare(a: Option<&Value>, b: Option<&Value>, path: &str, out: &mut Leaves) {
    // Equal subtrees are skipped whole: most of a document is, and paths cost allocations.
    if a == b {
        return;
    }
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                compare(x.get(k), y.get(k), &field(path, k), out);
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            for i in 0..x.len().max(y.len()) {
                compare(x.get(i), y.get(i), &format!("{path}[{i}]"), out);
            }
        }
        (Some(x), Some(y)) => out.push(|| match (scalar(x), scalar(y)) {
            (Some(x), Some(y)) => format!("{path} {x} → {}", after_tag(&x, &y)),
            _ => format!("{path} changed"),
        }),
        (None, Some(y)) => out.push(|| match scalar(y) {
            Some(y) => format!("{path} added ({y})"),
            None => format!("{path} added"),
        }),
        (Some(_), None) => out.push(|| format!("{path} removed")),
        // Equal, or both absent: returned above.
        (None, None) => {}
    }
}

/// `path.key`, or `path["a.b/c"]` for a key that is not a plain word.
pub(super) fn field(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (plain, path.is_empty()) {
        (true, true) => key.to_string(),
        (true, false) => format!("{path}.{key}"),
        (false, _) => format!("{path}[{}]", Value::String(key.into())),
    }
}

/// `new` without the image (or other `name:`) both values share: `postgres:15.7 → 15.8`.
fn after_tag(old: &str, new: &str) -> String {
    let common = old
        .chars()
        .zip(new.chars())
        .take_while(|(a, b)| a == b)
        .count();
    let shared = old.chars().take(common).collect::<Vec<char>>();
    let at = shared.iter().rposition(|c| *c == ':');
    // A name (letters, no spaces) before the colon, and a tag after it: not a time of day.
    let named = |at: usize| {
        let name = shared.iter().take(at);
        name.clone().any(|c| c.is_alphabetic()) && !name.clone().any(|c| c.is_whitespace())
    };
    match at {
        Some(at) if named(at) && new.chars().count() > at + 1 => new.chars().skip(at + 1).collect(),
        _ => new.to_string(),
    }
}

/// A short scalar as people read it; `None` for a mapping, a list or a long value.
fn scalar(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Object(_) | Value::Array(_) => return None,
        other => other.to_string(),
    };
    (s.chars().count() <= SCALAR_CHARS && !s.contains('\n')).then_some(s)
}

/// `s` cut to `n` characters (not bytes), marked when cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::parsed_documents;
    use super::{changed, is_metadata, kind, listing, METADATA_ONLY};
    use crate::store::record::parse_documents as written_documents;

    #[test]
    fn written_files_read_as_serde_yaml_reads_them() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/example/state");
        let (mut fast, mut several) = (0, 0);
        for e in walkdir::WalkDir::new(root)
            .into_iter()
            .filter_map(Result::ok)
        {
            if !e.file_type().is_file() || e.path().to_string_lossy().contains("/.vow/") {
                continue;
            }
            let text = std::fs::read_to_string(e.path()).unwrap();
            if let Some(docs) = written_documents(&text) {
                assert_eq!(
                    Some(&docs),
                    parsed_documents(&text).as_ref(),
                    "{:?}",
                    e.path()
                );
                fast += 1;
                several += usize::from(docs.len() > 1);
            }
        }
        assert!(
            fast > 100 && several > 0,
            "{fast} files read fast, {several} of several"
        );
        for (text, why) in [
            ("a: 1\n---\n", "an empty document"),
            ("a: 1\n---\nb: 2", "no final newline"),
            ("a: |\n  x\n---\n  y\n", "a split inside a block"),
            ("---\na: 1\n", "a leading marker"),
            ("a: 1\n...\n", "an end marker"),
        ] {
            assert_eq!(written_documents(text), None, "{why}");
        }
        let two = written_documents("a: 1\n---\nb: x\n").unwrap();
        assert_eq!(Some(two), parsed_documents("a: 1\n---\nb: x\n"));
    }

    #[test]
    fn a_kind_is_what_changes_outside_labels_and_annotations() {
        assert!(is_metadata("metadata.labels[\"a/b\"] v1 → v2"));
        assert!(is_metadata(
            "spec.template.metadata.annotations.x added (1)"
        ));
        assert!(is_metadata("metadata.labels added"));
        assert!(!is_metadata("spec.metadata.labelsx 1 → 2"));
        assert!(!is_metadata("spec.version 6.0.14 → 6.0.15"));
        let labels = changed(
            Some("metadata:\n  labels:\n    a: x\n"),
            "metadata:\n  labels:\n    a: y\n",
        );
        assert_eq!(kind(&[("a.yaml", labels)], &[], &[]), METADATA_ONLY);
        let version = changed(
            Some("metadata:\n  labels:\n    a: x\nspec:\n  version: 6.0.14\n"),
            "metadata:\n  labels:\n    a: y\nspec:\n  version: 6.0.15\n",
        );
        assert_eq!(
            kind(&[("a.yaml", version)], &["b.yaml"], &[]),
            "b.yaml added, spec.version 6.0.14 → 6.0.15"
        );
    }

    fn text(old: &str, new: &str) -> String {
        let l = changed(Some(old), new);
        let named: Vec<String> = l.named.iter().map(|(d, x)| format!("{d}{x}")).collect();
        l.note.unwrap_or_else(|| listing(&named, l.count))
    }

    /// The line diff reads what vow writes as parsing does: the same leaves, in the same order.
    #[test]
    fn the_line_diff_finds_what_parsing_finds() {
        let base = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  labels:\n    app: x\n    app.kubernetes.io/version: v1\n  name: x\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n      - image: postgres:15.7\n        name: db\n      - image: busybox\n        name: side\n      volumes:\n      - a\n      - b\ndata:\n  conf: |\n    line one\n    line two\n";
        let edits = [
            ("replicas: 1", "replicas: 3"),
            ("postgres:15.7", "postgres:15.8"),
            ("    app: x\n", "    app: x\n    tier: gold\n"),
            ("    app: x\n", ""),
            ("      - image: busybox\n        name: side\n", ""),
            ("      - b\n", "      - b\n      - c\n"),
            ("line two", "line 2"),
            ("  name: x\n", "  name: x\n  namespace: y\n"),
            (
                "spec:\n  replicas: 1\n",
                "spec:\n  paused: 'true'\n  replicas: 1\n",
            ),
            ("    app: x\n", "    app: 'x y'\n"),
        ];
        for (from, to) in edits {
            let new = base.replacen(from, to, 1);
            let fast = super::super::yaml_lines::changed_leaves(base, &new)
                .unwrap_or_else(|| panic!("read by lines: {from:?}"));
            let fast: Vec<String> = fast.iter().map(super::leaf_text).collect();
            let slow = super::parsed(base, &new);
            let slow: Vec<String> = slow.named.iter().map(|(_, l)| l.clone()).collect();
            assert_eq!(fast, slow, "{from:?} → {to:?}");
            assert!(!fast.is_empty(), "{from:?}");
        }
    }

    /// Store files are untrusted: odd texts give some answer, never a panic.
    #[test]
    fn odd_texts_are_answered() {
        let odd = [
            "",
            "-",
            "- - a",
            ":",
            ": x",
            "a:\n\tb: 1",
            "'open",
            "a: |\n",
            "  - x\n- y",
            "a:\n  - b: c\n    - d",
            "a: 'x'' y'",
            "---\n---",
            "a: &x 1\nb: *x",
            "é: ü\n  ö",
            "a:\n    b: 1\n  c: 2",
            "- a: 1\n  - b",
            "a: b: c",
            "[1, 2",
            "a: |-\n  x\n b: 1",
        ];
        for old in odd {
            for new in odd {
                let _ = changed(Some(old), new);
            }
        }
    }

    #[test]
    fn the_changed_leaves_of_a_document() {
        let cases = [
            (
                "spec:\n  template:\n    spec:\n      containers:\n      - image: postgres:15.7\n",
                "spec:\n  template:\n    spec:\n      containers:\n      - image: postgres:15.8\n",
                "spec.template.spec.containers[0].image postgres:15.7 → 15.8",
            ),
            (
                "spec: {replicas: 1}\n",
                "spec: {replicas: 3}\n",
                "spec.replicas 1 → 3",
            ),
            (
                "metadata:\n  labels: {a: x}\n",
                "metadata:\n  labels: {a: x, app.kubernetes.io/version: v2}\n",
                "metadata.labels[\"app.kubernetes.io/version\"] added (v2)",
            ),
            ("a: 1\nb: 2\n", "b: 2\n", "a removed"),
            ("a: 1\n", "a:   1\n", "layout only (the same data)"),
            ("a: 1\n---\nb: 1\n", "a: 1\n---\nb: 2\n", "#2 b 1 → 2"),
            (
                "{a: 1, b: 1, c: 1, d: 1, e: 1}\n",
                "{a: 2, b: 2, c: 2, d: 2, e: 2}\n",
                "a 1 → 2, b 1 → 2, c 1 → 2 and 2 more",
            ),
            ("a: [1\n", "a: 1\n", "changed (not YAML)"),
        ];
        for (old, new, want) in cases {
            assert_eq!(text(old, new), want, "{old:?} → {new:?}");
        }
    }
}
