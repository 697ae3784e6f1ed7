//! A direct YAML writer for rendered documents: the same bytes serde_yaml writes, without its
//! event emitter (which was the largest single cost of `vow plan`, BENCHMARKS.md).
//!
//! It writes only what it can write exactly as serde_yaml does: block mappings and sequences,
//! integers, booleans, null, and strings that are plain scalars beyond doubt. For anything else
//! (floats, strings that need quotes or a block scalar, nested sequences) it answers `None` and
//! the caller uses serde_yaml for the whole document, so output never depends on which path
//! wrote it (a property test compares the two).

use serde_json::{Map, Value};

/// The document as serde_yaml would write it, or `None` when it holds something this writer
/// leaves to serde_yaml.
pub fn to_string(v: &Value) -> Option<String> {
    let mut out = String::with_capacity(512);
    match v {
        Value::Object(m) if !m.is_empty() => map(&mut out, m, 0)?,
        Value::Array(a) if !a.is_empty() => seq(&mut out, a, 0)?,
        other => {
            scalar(&mut out, other)?;
            out.push('\n');
        }
    }
    Some(out)
}

fn indent(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

/// A block mapping at `depth` spaces; the first key is written where the cursor is.
fn map(out: &mut String, m: &Map<String, Value>, depth: usize) -> Option<()> {
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            indent(out, depth);
        }
        if !plain(k) {
            return None;
        }
        out.push_str(k);
        out.push(':');
        match v {
            Value::Object(sub) if !sub.is_empty() => {
                out.push('\n');
                indent(out, depth + 2);
                map(out, sub, depth + 2)?;
            }
            // serde_yaml writes a sequence under a key at the key's own indentation.
            Value::Array(items) if !items.is_empty() => {
                out.push('\n');
                indent(out, depth);
                seq(out, items, depth)?;
            }
            Value::String(text) if text.contains('\n') => {
                out.push(' ');
                literal(out, text, depth + 2)?;
            }
            other => {
                out.push(' ');
                scalar(out, other)?;
                out.push('\n');
            }
        }
    }
    Some(())
}

/// A block sequence at `depth` spaces; the first `- ` is written where the cursor is.
fn seq(out: &mut String, items: &[Value], depth: usize) -> Option<()> {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            indent(out, depth);
        }
        out.push_str("- ");
        match item {
            Value::Object(sub) if !sub.is_empty() => map(out, sub, depth + 2)?,
            Value::Array(a) if !a.is_empty() => return None,
            Value::String(text) if text.contains('\n') => literal(out, text, depth + 2)?,
            other => {
                scalar(out, other)?;
                out.push('\n');
            }
        }
    }
    Some(())
}

/// A multi-line string as the literal block scalar serde_yaml writes (`|`, or `|-` without a
/// final line break), its lines `depth` spaces in and empty lines left empty. Strings libyaml
/// would quote or give an indentation or `+` indicator (leading spaces or breaks, trailing
/// spaces, several final breaks, anything but printable ASCII) are left to serde_yaml.
fn literal(out: &mut String, s: &str, depth: usize) -> Option<()> {
    let bytes = s.as_bytes();
    let printable = bytes
        .iter()
        .all(|&b| b == b'\n' || (0x20..0x7f).contains(&b));
    let leading = bytes.first().is_some_and(|&b| b == b' ' || b == b'\n');
    if !printable || leading || s.ends_with(' ') || s.ends_with("\n\n") || s.contains(" \n") {
        return None;
    }
    out.push_str(if s.ends_with('\n') { "|\n" } else { "|-\n" });
    for line in s.strip_suffix('\n').unwrap_or(s).split('\n') {
        if !line.is_empty() {
            indent(out, depth);
            out.push_str(line);
        }
        out.push('\n');
    }
    Some(())
}

fn scalar(out: &mut String, v: &Value) -> Option<()> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) if n.is_i64() || n.is_u64() => out.push_str(&n.to_string()),
        Value::String(s) if plain(s) => out.push_str(s),
        // A string of digits would read as a number: serde_yaml single-quotes it.
        Value::String(s)
            if (1..=18).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            out.push('\'');
            out.push_str(s);
            out.push('\'');
        }
        Value::Object(m) if m.is_empty() => out.push_str("{}"),
        Value::Array(a) if a.is_empty() => out.push_str("[]"),
        _ => return None,
    }
    Some(())
}

/// Whether `s` is written as a plain scalar beyond doubt: it holds only letters, digits,
/// `-_./@+=:$()*` and single inner spaces; starts with a letter, `/`, `$`, `--` or `-` and a
/// letter, or with a digit when a letter
/// follows and nothing in it could make a number, a date or a time of it (`10Gi`, `500m`); has
/// no `: ` or ` #`; does not end with `:`; is never folded (no space, or short); and is no word
/// YAML reads as a bool or null.
fn plain(s: &str) -> bool {
    let bytes = s.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    let ok_byte = |b: u8| b.is_ascii_alphanumeric() || b"-_./@+=: $()*".contains(&b);
    if !bytes.iter().all(|&b| ok_byte(b)) {
        return false;
    }
    // `--flag` and `-x` are plain; `-5` is a number and `- x` a sequence entry.
    let alpha_at = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_alphabetic);
    let dash_word = first == b'-' && (alpha_at(1) || (bytes.get(1) == Some(&b'-') && alpha_at(2)));
    // A digit first is fine when a letter follows as in a quantity, or when a space makes a
    // number of it impossible (a cron schedule such as `0 3 * * *`).
    let digit_words = first.is_ascii_digit() && s.contains(' ');
    let starts_ok = first.is_ascii_alphabetic()
        || b"/$".contains(&first)
        || dash_word
        || quantity(bytes)
        || digit_words;
    if !starts_ok || (s.contains(' ') && s.len() > 60) {
        return false;
    }
    if s.ends_with(':') || s.ends_with(' ') || s.contains(": ") || s.contains("  ") {
        return false;
    }
    !is_special_word(s)
}

/// A Kubernetes quantity or duration such as `10Gi`, `500m`, `30s`: digits then letters only,
/// with none of the letters that could make a number of it (exponents, radix prefixes).
fn quantity(bytes: &[u8]) -> bool {
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    let rest = &bytes[digits..];
    digits > 0
        && !rest.is_empty()
        && rest
            .iter()
            .all(|b| b.is_ascii_alphabetic() && !b"eExXoObB".contains(b))
}

fn is_special_word(s: &str) -> bool {
    const WORDS: &[&str] = &["y", "n", "yes", "no", "true", "false", "on", "off", "null"];
    s.len() <= 5 && WORDS.iter().any(|w| s.eq_ignore_ascii_case(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn same_as_serde_yaml(v: &Value) {
        if let Some(mine) = to_string(v) {
            let theirs = serde_yaml::to_string(v).unwrap();
            assert_eq!(mine, theirs, "for {v}");
        }
    }

    #[test]
    fn kubernetes_documents_are_written_as_serde_yaml_writes_them() {
        let doc = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "redis"}, "annotations": {}},
            "spec": {"replicas": 3, "paused": false, "selector": null, "template": {"spec": {
                "containers": [{"name": "redis", "image": "redis:7.2.4-alpine",
                    "args": ["/etc/redis/redis.conf", "requirepass"],
                    "ports": [{"containerPort": 6379}], "env": []}],
                "tolerations": [{}]}}}
        });
        let mine = to_string(&doc).expect("all plain");
        assert_eq!(mine, serde_yaml::to_string(&doc).unwrap());
        assert!(to_string(&json!({"a": "-5"})).is_none());
        assert_eq!(to_string(&json!({"a": "15"})).unwrap(), "a: '15'\n");
        for word in ["yes", "No", "on", "null", "True", "y"] {
            assert!(to_string(&json!({ "k": word })).is_none(), "{word}");
        }
        assert!(to_string(&json!({"k": 1.5})).is_none());
        assert!(to_string(&json!({"k": "a: b"})).is_none());
        assert!(to_string(&json!({"k": [[1]]})).is_none());
    }

    #[test]
    fn multi_line_strings_are_literal_blocks_as_serde_yaml_writes_them() {
        let docs = [
            json!({"data": {"redis.conf": "bind 0.0.0.0\nport 6379\n\nsave \"\"\n"}}),
            json!({"a": "no final break\n  indented line"}),
            json!({"args": ["one\ntwo\n", "x"], "k": [{"script": "set -e\nrun\n"}]}),
            json!({"schedule": "0 0 3 * * *", "at": "12 30"}),
        ];
        for doc in docs {
            let mine = to_string(&doc).unwrap_or_else(|| panic!("direct: {doc}"));
            assert_eq!(mine, serde_yaml::to_string(&doc).unwrap());
        }
        for left in [
            "\nleading",
            " leading",
            "trailing \n",
            "two\n\n",
            "tab\t\n",
            "é\n",
        ] {
            assert!(to_string(&json!({ "k": left })).is_none(), "{left:?}");
        }
    }

    /// The example store's files were written by serde_yaml: most of their documents must take
    /// the direct path, and give the same bytes.
    #[test]
    fn most_example_documents_take_the_direct_path() {
        let root = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/example/state/clusters"
        );
        let (mut direct, mut all) = (0, 0);
        for e in walkdir::WalkDir::new(root)
            .into_iter()
            .filter_map(Result::ok)
        {
            if e.path().extension().is_none_or(|x| x != "yaml") {
                continue;
            }
            let text = std::fs::read_to_string(e.path()).unwrap();
            if text.contains("\n---\n") {
                continue;
            }
            let v: Value = serde_yaml::from_str(&text).unwrap();
            all += 1;
            if let Some(mine) = to_string(&v) {
                assert_eq!(mine, text, "{}", e.path().display());
                direct += 1;
            }
        }
        assert!(
            all > 100 && direct * 10 >= all * 6,
            "{direct} of {all} direct"
        );
    }

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| json!(i)),
            "[a-zA-Z/][a-zA-Z0-9 ./:@+=_#-]{0,12}".prop_map(Value::String),
            "[ -~]{0,8}".prop_map(Value::String),
            "[-$/*(][-a-zA-Z0-9$()*: ]{0,8}".prop_map(Value::String),
            "[0-9]{1,20}".prop_map(Value::String),
            "[0-9]{1,4}[a-zA-Z.:_ -]{0,4}".prop_map(Value::String),
            "[a-z]{1,4}( [a-z]{1,30}){0,4}".prop_map(Value::String),
            "[0-9][0-9 *./:#-]{0,10}".prop_map(Value::String),
            "[a-z ]{0,3}(\n[ a-z:#]{0,6}){1,4}\n{0,3}".prop_map(Value::String),
            "[ -~\n\t]{0,12}".prop_map(Value::String),
            Just(json!({})),
            Just(json!([])),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map("[a-zA-Z][a-zA-Z0-9./-]{0,8}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn whatever_it_writes_is_what_serde_yaml_writes(v in value()) {
            same_as_serde_yaml(&v);
        }
    }
}
