//! Finding the top-level elements of a large JSON file, so that they are parsed on all cores: a
//! JSON array's elements, or a Kubernetes `List`'s `items` (`kubectl get -o json`).
//!
//! The scan only finds where elements start and end (it tracks strings and nesting); each
//! element is then parsed by serde_json on its own, which validates it. What lies between the
//! elements (brackets, commas, the `List`'s other fields) is checked here. Whenever a split is
//! not provably what the whole-file parse would give (a syntax error anywhere, a duplicate key,
//! deep nesting near serde_json's recursion limit, an object that is not a `List`), the scan
//! returns `None` and the file is parsed whole, serially, as before: the same documents, and
//! for bad input the same error at the same line.

use super::{Piece, Split, Text};
use serde_json::Value;
use std::ops::Range;
use std::sync::Arc;

/// How an element is named in findings: `[3]` in an array, `items[3]` in a `List`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shape {
    Array,
    List,
}

/// serde_json refuses nesting deeper than 128; a file whose nesting comes near it is parsed
/// whole, so that the limit is met exactly where the whole-file parse meets it.
const MAX_DEPTH: usize = 100;

/// The byte ranges of the top-level elements of `text`, or `None` when the file is to be parsed
/// whole.
pub(super) fn elements(text: &str) -> Option<(Shape, Vec<Range<usize>>)> {
    let b = text.as_bytes();
    let start = skip_ws(b, 0);
    let (shape, items, end) = match b.get(start)? {
        b'[' => {
            let (items, end) = array(b, start)?;
            (Shape::Array, items, end)
        }
        b'{' => {
            let (items, end) = list(text, start)?;
            (Shape::List, items, end)
        }
        _ => return None,
    };
    (skip_ws(b, end) == b.len()).then_some((shape, items))
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The end of the string starting at `i` (its opening quote): the index after its closing quote.
fn string_end(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        match b.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// The end of the value starting at `i`: the index of the first `,`, `]` or `}` outside it.
/// Its text is validated later, by the element's own parse.
fn value_end(b: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    loop {
        match b.get(i)? {
            b'"' => {
                i = string_end(b, i)?;
                continue;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return None;
                }
            }
            b']' | b'}' if depth == 0 => return Some(i),
            b']' | b'}' => depth -= 1,
            b',' if depth == 0 => return Some(i),
            _ => {}
        }
        i += 1;
    }
}

/// The trimmed range of the value starting at or after `i`, and the index of its separator.
fn next_value(b: &[u8], i: usize) -> Option<(Range<usize>, usize)> {
    let start = skip_ws(b, i);
    let sep = value_end(b, start)?;
    let mut end = sep;
    while end > start && matches!(b.get(end - 1), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        end -= 1;
    }
    // An empty element (`[1,,2]`, `[1,]`) is a syntax error: the whole parse reports it.
    (end > start).then_some((start..end, sep))
}

/// The elements of the array whose `[` is at `open`, and the index after its `]`.
fn array(b: &[u8], open: usize) -> Option<(Vec<Range<usize>>, usize)> {
    let mut items = Vec::new();
    let first = skip_ws(b, open + 1);
    if b.get(first) == Some(&b']') {
        return Some((items, first + 1));
    }
    let mut i = open + 1;
    loop {
        let (range, sep) = next_value(b, i)?;
        items.push(range);
        match b.get(sep)? {
            b',' => i = sep + 1,
            b']' => return Some((items, sep + 1)),
            _ => return None,
        }
    }
}

/// The `items` of a Kubernetes `List` whose `{` is at `open`, and the index after its `}`. The
/// other fields are parsed (strictly, as the whole parse would) and then dropped, as the whole
/// parse drops them; a duplicate key, a `kind` other than `List` or `items` that is no array
/// gives `None`.
fn list(text: &str, open: usize) -> Option<(Vec<Range<usize>>, usize)> {
    let b = text.as_bytes();
    let mut keys: Vec<String> = Vec::new();
    let mut items = None;
    let mut is_list = false;
    let mut i = skip_ws(b, open + 1);
    if b.get(i) == Some(&b'}') {
        return None;
    }
    loop {
        i = skip_ws(b, i);
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = string_end(b, i)?;
        let key: String = serde_json::from_str(text.get(i..key_end)?).ok()?;
        let colon = skip_ws(b, key_end);
        if b.get(colon) != Some(&b':') || keys.contains(&key) {
            return None;
        }
        let (range, sep) = next_value(b, colon + 1)?;
        let value = text.get(range.clone())?;
        match key.as_str() {
            "items" if b.get(range.start) == Some(&b'[') => {
                let (found, end) = array(b, range.start)?;
                (end == range.end).then_some(())?;
                items = Some(found);
            }
            "items" => return None,
            _ => {
                let v = serde_json::from_str::<super::strict::Strict>(value).ok()?.0;
                is_list |= key == "kind" && v == Value::String("List".to_string());
            }
        }
        keys.push(key);
        match b.get(sep)? {
            b',' => i = sep + 1,
            b'}' if is_list => return items.map(|items| (items, sep + 1)),
            _ => return None,
        }
    }
}

/// The smallest JSON file split into its elements: below it, one parse is as quick.
pub(super) const SPLIT_JSON_BYTES: usize = 64 << 10;

/// A JSON file's pieces: its elements when it is a large array or `List` that splits safely
/// (see this module's header), else the whole file.
pub(super) fn split_file(
    text: String,
    piece: impl Fn(u32, u32, Text, Option<String>) -> Piece,
) -> Split {
    let found = (text.len() >= SPLIT_JSON_BYTES)
        .then(|| elements(&text))
        .flatten();
    let text = Arc::new(text);
    let len = text.len();
    let whole = piece(1, 1, Text::Shared(text.clone(), 0..len), None);
    let Some((shape, ranges)) = found else {
        return Split {
            pieces: vec![whole],
            whole: None,
        };
    };
    let prefix = match shape {
        Shape::Array => "",
        Shape::List => "items",
    };
    let pieces = ranges
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            piece(
                1,
                1,
                Text::Shared(text.clone(), r),
                Some(format!("{prefix}[{i}]")),
            )
        })
        .collect();
    Split {
        pieces,
        whole: Some(whole),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(text: &str) -> Option<(Shape, Vec<&str>)> {
        elements(text).map(|(s, r)| (s, r.into_iter().filter_map(|r| text.get(r)).collect()))
    }

    #[test]
    fn splits_an_array_at_its_top_level_commas() {
        let text = " [ {\"a\": \"x,]}\\\"\"}, [1, [2]] ,3\n]\n";
        assert_eq!(
            parts(text),
            Some((Shape::Array, vec!["{\"a\": \"x,]}\\\"\"}", "[1, [2]]", "3"]))
        );
        assert_eq!(parts("[]"), Some((Shape::Array, vec![])));
    }

    #[test]
    fn splits_a_list_at_its_items() {
        let text = r#"{"apiVersion": "v1", "items": [{"a": 1}, {"b": 2}], "kind": "List", "metadata": {}}"#;
        assert_eq!(
            parts(text),
            Some((Shape::List, vec![r#"{"a": 1}"#, r#"{"b": 2}"#]))
        );
    }

    #[test]
    fn anything_doubtful_is_parsed_whole() {
        for text in [
            "[1,,2]",
            "[1,]",
            "[1] x",
            "[1",
            "{\"kind\": \"List\", \"items\": [1], \"kind\": \"List\"}",
            "{\"kind\": \"Thing\", \"items\": [1]}",
            "{\"kind\": \"List\", \"items\": {}}",
            "{\"kind\": \"List\", \"items\": [1], \"m\": {\"a\": 1, \"a\": 2}}",
            "{\"kind\": \"List\"}",
            "\"text\"",
        ] {
            assert_eq!(elements(text), None, "{text}");
        }
        let deep = format!("[{}{}]", "[".repeat(120), "]".repeat(120));
        assert_eq!(elements(&deep), None);
    }
}
