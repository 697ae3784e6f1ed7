#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "a test fails loudly; the library may not"
)]

use super::*;
use proptest::prelude::*;
use std::path::Path;

/// Every binding record of the example store, as apply wrote them.
fn example_records() -> Vec<(std::path::PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/example/state/.vow/bindings");
    let mut out: Vec<_> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "yaml"))
        .map(|e| {
            let text = std::fs::read_to_string(e.path()).unwrap();
            (e.into_path(), text)
        })
        .collect();
    out.sort();
    out
}

/// What serde_yaml reads, which is what the record reader must give whenever it answers.
fn serde_reads(text: &str) -> Option<Binding> {
    serde_yaml::from_str(text).ok()
}

#[test]
fn every_record_of_the_example_store_is_read_and_is_what_serde_yaml_reads() {
    let records = example_records();
    assert!(records.len() > 50, "{}", records.len());
    for (path, text) in &records {
        let fast = parse(text);
        assert!(fast.is_some(), "{} took the slow path", path.display());
        assert_eq!(fast, serde_reads(text), "{}", path.display());
    }
}

/// Every document of every rendered file of the example store, as apply wrote them.
fn example_documents() -> Vec<(std::path::PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/example/state");
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
    {
        let rel = e.path().to_string_lossy().to_string();
        if !e.file_type().is_file() || rel.contains("/.vow/") || !rel.ends_with(".yaml") {
            continue;
        }
        let text = std::fs::read_to_string(e.path()).unwrap();
        for (_, _, doc) in crate::source::split_yaml(&text) {
            out.push((e.path().to_path_buf(), doc));
        }
    }
    out.sort();
    out
}

#[test]
fn every_rendered_document_of_the_example_store_is_read_as_serde_yaml_reads_it() {
    let docs = example_documents();
    let fast = docs.iter().filter(|(_, t)| parse_document(t).is_some());
    // Most take the fast path (a block scalar or a float leaves a document to serde_yaml).
    assert!(fast.count() * 2 > docs.len(), "{} documents", docs.len());
    for (path, text) in &docs {
        if let Some(v) = parse_document(text) {
            let slow: Value = serde_yaml::from_str(text).unwrap();
            assert_eq!(v, slow, "{}", path.display());
        }
    }
}

#[test]
fn what_apply_writes_is_read_back_the_same() {
    for (_, text) in example_records() {
        let b = serde_reads(&text).unwrap();
        // Quoted strings, numbers that must stay strings, empty maps, integers in the spec.
        let mut b2 = b.clone();
        b2.status
            .request_labels
            .insert("odd".into(), "it's: 007".into());
        b2.status.applied_spec =
            Some(serde_json::json!({"n": 3, "s": "true", "e": {}, "l": [1, "x"]}));
        for each in [b, b2] {
            let written = serde_yaml::to_string(&each).unwrap();
            assert_eq!(parse(&written), Some(each), "{written}");
        }
    }
}

#[test]
fn texts_outside_what_serde_yaml_writes_are_left_to_serde_yaml() {
    let (_, text) = example_records().into_iter().next().unwrap();
    let version = text
        .lines()
        .find(|l| l.contains("appliedVersion:"))
        .unwrap();
    let label = text.lines().find(|l| l.starts_with("    team: ")).unwrap();
    let cases = [
        format!("# a comment\n{text}"),
        format!("---\n{text}"),
        text.replace(version, &format!("{version} # note")),
        // The same version twice: serde_yaml refuses it, the reader must not pick one.
        text.replace(version, &format!("{version}\n{version}")),
        // A label given twice: a map would keep one of them silently.
        text.replace(label, &format!("{label}\n    team: other")),
        text.replace(version, "  appliedVersion: &v v9.9.9"),
        text.replace(version, "  appliedVersion: !!str v9.9.9"),
        text.replace(version, "  appliedVersion: \"v9.9.9\""),
        text.replace(version, "  appliedVersion: |\n    v9.9.9"),
        text.replace(version, "  appliedVersion: ~"),
        text.replace(version, "  appliedVersion: 1.5"),
        text.replace(version, "  appliedVersion: {a: 1}"),
        text.replace("  ", "\t"),
        text.replace('\n', "\r\n"),
        text.trim_end().to_string(),
    ];
    for case in &cases {
        assert_eq!(parse(case), None, "{case}");
    }
}

/// `text` with `cut` bytes at `at` (wrapped to its length) replaced by `with`; `None` when that
/// is not a character boundary.
fn mutate(text: &str, at: usize, cut: usize, with: &str) -> Option<String> {
    let at = at % text.len();
    let end = (at + cut).min(text.len());
    Some(format!("{}{with}{}", text.get(..at)?, text.get(end..)?))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// A damaged or hostile record: the reader answers what serde_yaml reads, or leaves it.
    #[test]
    fn a_mutated_record_is_read_as_serde_yaml_reads_it_or_not_at_all(
        pick in 0usize..64,
        at in 0usize..2000,
        with in prop::sample::select(vec![
            "", " ", "  ", "\n", "- ", ": ", "'", "''", "#", "~", "null", "true", "1", "0x1",
            "-", "{}", "[]", "&a ", "*a", "!!int ", "? ", "\t", "\"", "key: v\n", "  x: 1\n",
        ]),
        cut in 0usize..3,
    ) {
        let records = example_records();
        let (_, text) = &records[pick % records.len()];
        // The records are ASCII: any byte offset is a character boundary.
        let mutated = mutate(text, at, cut, with).unwrap();
        if let Some(b) = parse(&mutated) {
            prop_assert_eq!(Some(b), serde_reads(&mutated), "{}", mutated);
        }
    }

    /// A damaged or hostile output document: read as serde_yaml reads it, or left to it.
    #[test]
    fn a_mutated_document_is_read_as_serde_yaml_reads_it_or_not_at_all(
        pick in 0usize..256,
        at in 0usize..4000,
        with in prop::sample::select(vec![
            "", " ", "\n", "- ", ": ", "'", "#", "~", "1", "1.5", "{}", "&a ", "*a", "!!str ",
            "|\n  x\n", "\"", "k: v\n", "  - x\n",
        ]),
        cut in 0usize..3,
    ) {
        let docs = example_documents();
        let (_, text) = &docs[pick % docs.len()];
        let Some(mutated) = mutate(text, at, cut, with) else {
            return Ok(());
        };
        if let Some(v) = parse_document(&mutated) {
            prop_assert_eq!(Some(v), serde_yaml::from_str::<Value>(&mutated).ok(), "{}", mutated);
        }
    }
}
