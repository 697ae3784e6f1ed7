//! A large JSON array or `List` split into its elements reads as the whole file does.

use super::*;

/// A JSON file large enough to be split, in `dir`, and what reading it gives.
type Read = (Vec<(Option<String>, u32, Value)>, Vec<String>);

fn read_json(dir: &Path, text: &str) -> Read {
    let path = dir.join("big.json");
    std::fs::write(&path, text).unwrap();
    let (docs, findings) = read_file(dir, &path);
    let docs = docs
        .into_iter()
        .map(|d| (d.item, d.location.line, d.value))
        .collect();
    (docs, findings.iter().map(|f| format!("{f:?}")).collect())
}

fn items(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{{\"kind\": \"Thing\", \"metadata\": {{\"name\": \"t-{i}\", \"note\": \"a, ]}} \\\" b\"}}}}"))
        .collect()
}

#[test]
fn a_split_array_or_list_reads_as_the_whole_file_does() {
    let dir = tempfile::tempdir().unwrap();
    let body = items(3000).join(",\n  ");
    for text in [
        format!("[\n  {body}\n]\n"),
        format!("{{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n  {body}\n], \"metadata\": {{\"resourceVersion\": \"\"}}}}"),
    ] {
        assert!(text.len() >= split_json::SPLIT_JSON_BYTES);
        let (docs, findings) = read_json(dir.path(), &text);
        let whole: Value = serde_json::from_str(&text).unwrap();
        let expected = expand(Location::new("big.json".into(), 1), whole);
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(docs.len(), 3000);
        let expected: Vec<_> = expected
            .into_iter()
            .map(|d| (d.item, d.location.line, d.value))
            .collect();
        assert_eq!(docs, expected);
    }
}

#[test]
fn a_bad_element_gives_the_whole_files_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = items(3000);
    // A duplicate key and a syntax error, deep in the file: the whole parse meets the first.
    all[1700] = "{\"kind\": \"Thing\", \"kind\": \"Other\"}".to_string();
    all[2500] = "{\"kind\": }".to_string();
    let text = format!("[\n{}\n]\n", all.join(",\n"));
    let (docs, findings) = read_json(dir.path(), &text);
    assert!(docs.is_empty());
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].contains("duplicate"), "{findings:?}");
    assert!(findings[0].contains("line: 1702"), "{findings:?}");
}
