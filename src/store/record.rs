//! Parsing a binding record fast. A record is mostly its `status.files` list (five or more
//! paths and digests of ~200 bytes each, the last field vow writes): on a 100k store the YAML
//! scanner spent most of the load on it. So the list, when it has exactly the shape vow writes
//! (`  - path: P` / `    digest: sha256:HEX`, plain scalars of safe characters, to the end of the
//! text), is read line by line and the rest of the record by serde; anything else (quoted
//! scalars, comments, other fields after it, a hand-edited record) is parsed whole by serde, so
//! the result is the same either way (tests below and tests/fleet_read.rs).

use super::{Binding, FileRecord};

/// The record's binding, as `serde_yaml::from_str` would give it.
pub(super) fn parse(text: &str) -> Result<Binding, serde_yaml::Error> {
    if let Some((head, files)) = split(text) {
        // A head that does not parse is parsed whole again, so that its error is serde's own.
        if let Ok(mut binding) = serde_yaml::from_str::<Binding>(head) {
            binding.status.files = files;
            return Ok(binding);
        }
    }
    serde_yaml::from_str(text)
}

/// The text before the last `  files:` line, and the list after it, when every line after it is
/// one of the list's in vow's shape.
fn split(text: &str) -> Option<(&str, Vec<FileRecord>)> {
    const KEY: &str = "\n  files:\n";
    let at = text.rfind(KEY)?;
    let (head, tail) = (text.get(..=at)?, text.get(at + KEY.len()..)?);
    // The list is `status.files` only when `status:` is the last top-level key before it, and
    // the only `files:` of it (a second one is serde's duplicate-key error, not ours to hide).
    let last_key = head.lines().rev().find(|l| !l.starts_with(' '));
    if last_key != Some("status:") || head.contains(KEY) {
        return None;
    }
    let mut files = Vec::new();
    let mut lines = tail.lines();
    while let Some(line) = lines.next() {
        let path = line.strip_prefix("  - path: ").filter(|p| plain_path(p))?;
        let digest = lines
            .next()?
            .strip_prefix("    digest: sha256:")
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_hexdigit()))?;
        files.push(FileRecord {
            path: path.to_string(),
            digest: format!("sha256:{digest}"),
        });
    }
    // `lines()` also ends at a lone `\r`-less last line: the text must end with the list.
    (!files.is_empty() && tail.ends_with('\n')).then_some((head, files))
}

/// A path YAML reads as this very string when written plain: a letter or digit first, a `/`
/// in it (never a number, a boolean or null), and only characters that mean nothing to YAML.
fn plain_path(p: &str) -> bool {
    p.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && p.contains('/')
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
    use super::*;

    fn serde(text: &str) -> Binding {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn every_record_of_the_example_parses_the_same_both_ways() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/example/state/.vow/bindings"
        );
        let mut fast = 0;
        for e in walkdir::WalkDir::new(dir)
            .into_iter()
            .filter_map(Result::ok)
        {
            if e.path().extension().is_some_and(|x| x == "yaml") {
                let text = std::fs::read_to_string(e.path()).unwrap();
                assert_eq!(
                    parse(&text).unwrap(),
                    serde(&text),
                    "{}",
                    e.path().display()
                );
                fast += usize::from(split(&text).is_some());
            }
        }
        assert!(
            fast > 50,
            "the example's records take the fast path ({fast})"
        );
    }

    #[test]
    fn a_record_not_in_vows_shape_is_parsed_whole() {
        let base = "apiVersion: v\nkind: ResourceBinding\nmetadata:\n  name: a\n  namespace: n\nspec:\n  promiseRef:\n    name: p\n  resourceRef:\n    name: a\n    namespace: n\n  version: latest\nstatus:\n  files:\n";
        let cases = [
            "  - path: 'a/b.yaml'\n    digest: sha256:ab\n",
            "  - path: a/b.yaml # note\n    digest: sha256:ab\n",
            "  - path: a/b.yaml\n    digest: sha256:ab\n  appliedVersion: v1\n",
            "  - path: a/b.yaml\n    digest: sha256:ab\n    extra: 1\n",
            "  - path: a/b.yaml\n    digest: sha256:ab",
            "  - path: a/b.yaml\n    digest: sha256:ab\nstatus:\n  files:\n  - path: a/c.yaml\n    digest: sha256:ab\n",
            "  - path: a/b.yaml\n    digest: sha256:ab\n",
        ];
        for (i, tail) in cases.iter().enumerate() {
            let text = format!("{base}{tail}");
            let (a, b) = (parse(&text), serde_yaml::from_str::<Binding>(&text));
            assert_eq!(a.is_ok(), b.is_ok(), "{tail}");
            if let (Ok(a), Ok(b)) = (a, b) {
                assert_eq!(a, b, "{tail}");
            }
            assert_eq!(split(&text).is_some(), i == cases.len() - 1, "{tail}");
        }
    }
}
