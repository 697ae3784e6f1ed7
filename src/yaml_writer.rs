//! A direct YAML writer for rendered documents: the same bytes serde_yaml writes, without its
//! event emitter (which was the largest single cost of `vow plan`, BENCHMARKS.md).
//!
//! It writes only what it can write exactly as serde_yaml does: block mappings and sequences,
//! integers, booleans, null, one-line printable ASCII strings (plain or single-quoted by
//! serde_yaml's and libyaml's own rules) and simple literal block scalars. For anything else
//! (floats, non-ASCII text, lines long enough to be folded, nested sequences) it answers `None`
//! and the caller uses serde_yaml for the whole document, so output never depends on which path
//! wrote it. Property tests compare the two; and on the 100k-request benchmark fleet every
//! rendered file's digest stayed the same when quoted strings moved to this path (before, 12,601
//! documents per 10k requests went through serde_yaml because of one quoted string).
//!
//! Its recursion is bounded (`MAX_INDENT`); what it gives up on goes to serde_yaml, which the
//! callers only give documents within `script::MAX_DATA_DEPTH` (outputs are checked when a
//! script gives them) or parsed by the loaders, which have their own depth limit.

use serde_json::{Map, Value};

/// The document as serde_yaml would write it, or `None` when it holds something this writer
/// leaves to serde_yaml.
pub(crate) fn to_string(v: &Value) -> Option<String> {
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

/// Indentation past which a document is left to serde_yaml (whose callers bound their depth), so
/// this writer never recurses without bound: every nested map indents by two, and a sequence
/// is either in a map or refused, so the recursion is at most twice this deep.
const MAX_INDENT: usize = 2 * crate::script::MAX_DATA_DEPTH;

/// A block mapping at `depth` spaces; the first key is written where the cursor is.
fn map(out: &mut String, m: &Map<String, Value>, depth: usize) -> Option<()> {
    if depth > MAX_INDENT {
        return None;
    }
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            indent(out, depth);
        }
        string(out, k, true)?;
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

/// One scalar as serde_yaml writes it where the cursor is (`store::record` checks records with it).
pub(crate) fn scalar(out: &mut String, v: &Value) -> Option<()> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) if n.is_i64() || n.is_u64() => out.push_str(&n.to_string()),
        Value::String(s) => string(out, s, false)?,
        Value::Object(m) if m.is_empty() => out.push_str("{}"),
        Value::Array(a) if a.is_empty() => out.push_str("[]"),
        _ => return None,
    }
    Some(())
}

/// libyaml's default line width: a plain or single-quoted scalar is folded at a space past it.
const BEST_WIDTH: usize = 80;

/// A one-line string as serde_yaml writes it: single-quoted when serde_yaml would read it back
/// as something else (null, a bool, a number, digits with a leading zero) or when libyaml does
/// not allow it plain in a block; plain otherwise. `None` for what is left to serde_yaml:
/// anything but printable ASCII, and a line long enough that libyaml might fold it. A mapping
/// key (`key`) is never folded but must be short enough to be a simple key.
pub(crate) fn string(out: &mut String, s: &str, key: bool) -> Option<()> {
    if !s.bytes().all(|b| (0x20..0x7f).contains(&b)) || (key && s.len() > 128) {
        return None;
    }
    let quoted = reads_as_other(s) || !block_plain_allowed(s);
    if !key && s.contains(' ') && may_fold(s, column(out), quoted) {
        return None;
    }
    if quoted {
        out.push('\'');
        out.push_str(&s.replace('\'', "''"));
        out.push('\'');
    } else {
        out.push_str(s);
    }
    Some(())
}

/// Whether libyaml could fold `s` written from column `start`: it breaks the line at a space
/// reached past [`BEST_WIDTH`] (counting the opening quote, and a quote doubled, when `quoted`).
/// Conservative: libyaml does not break at a space next to another or at either end.
fn may_fold(s: &str, start: usize, quoted: bool) -> bool {
    let mut col = start + usize::from(quoted);
    for b in s.bytes() {
        if b == b' ' && col > BEST_WIDTH {
            return true;
        }
        col += if quoted && b == b'\'' { 2 } else { 1 };
    }
    false
}

/// The column the next character is written at.
fn column(out: &str) -> usize {
    out.len() - out.rfind('\n').map_or(0, |i| i + 1)
}

/// Whether serde_yaml would read `s` back as something other than a string, or as digits it
/// keeps a string only because of a leading zero: it single-quotes those. (YAML 1.2 core schema
/// as serde_yaml implements it: `yes`, `on` and `y` are strings.)
fn reads_as_other(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE",
    ];
    WORDS.contains(&s) || leading_zero_digits(s) || integer(s) || float(s)
}

/// `0123`, `-007`: digits with a leading zero, which YAML 1.2 reads as a string.
fn leading_zero_digits(s: &str) -> bool {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    t.strip_prefix('0')
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
}

/// An integer to serde_yaml: decimal with an optional sign, or `0x`, `0o`, `0b` digits with an
/// optional `+` or `-` before them, within 128 bits.
fn integer(s: &str) -> bool {
    let unsigned = s.strip_prefix('+').unwrap_or(s);
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(d) = unsigned.strip_prefix(prefix) {
            if !d.starts_with(['+', '-']) && u128::from_str_radix(d, radix).is_ok() {
                return true;
            }
        }
        if let Some(d) = s.strip_prefix('-').and_then(|r| r.strip_prefix(prefix)) {
            if i128::from_str_radix(&format!("-{d}"), radix).is_ok() {
                return true;
            }
        }
    }
    let decimal = !unsigned.starts_with(['+', '-']) && unsigned.parse::<u128>().is_ok();
    decimal || s.parse::<i128>().is_ok()
}

/// A finite float to serde_yaml (Rust's float syntax after one optional `+`), or `.inf`/`.nan`.
fn float(s: &str) -> bool {
    let unsigned = match s.strip_prefix('+') {
        Some(u) if u.starts_with(['+', '-']) => return false,
        Some(u) => u,
        None => s,
    };
    matches!(unsigned, ".inf" | ".Inf" | ".INF")
        || matches!(s, "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN" | ".NAN")
        || unsigned.parse::<f64>().is_ok_and(f64::is_finite)
}

/// libyaml's analysis of a one-line printable ASCII scalar: whether it may be plain in block
/// context (no leading or trailing space, no document marker, no indicator where it would
/// start a YAML construct).
fn block_plain_allowed(s: &str) -> bool {
    let b = s.as_bytes();
    let blank_or_end = |i: usize| b.get(i).is_none_or(|&c| c == b' ');
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return false;
    };
    if first == b' ' || last == b' ' {
        return false;
    }
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    if b"#,[]{}&*!|>'\"%@`".contains(&first) || (b"?:-".contains(&first) && blank_or_end(1)) {
        return false;
    }
    // Each byte after the first, with the one before it.
    b.windows(2).enumerate().all(|(i, pair)| match pair {
        [_, b':'] => !blank_or_end(i + 2),
        [before, b'#'] => *before != b' ',
        _ => true,
    })
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
        assert_eq!(to_string(&json!({"a": "15"})).unwrap(), "a: '15'\n");
        assert!(to_string(&json!({"k": 1.5})).is_none());
        assert!(to_string(&json!({"k": [[1]]})).is_none());
        assert!(to_string(&json!({"k": "é"})).is_none());
    }

    /// Strings serde_yaml quotes (they would read back as something else, or libyaml does not
    /// allow them plain) and strings it leaves plain, all on the direct path, byte for byte.
    #[test]
    fn quoted_strings_as_serde_yaml_writes_them() {
        let quoted = [
            "",
            "-5",
            "+7",
            "0x1F",
            "-0o17",
            "0b101",
            "1.5",
            "1e5",
            ".inf",
            "-.INF",
            ".NaN",
            "007",
            "null",
            "~",
            "True",
            "FALSE",
            "a: b",
            "trailing:",
            "- item",
            "#x",
            "'x'",
            "\"x\"",
            "*star",
            "&anchor",
            "!tag",
            "%x",
            "@x",
            "`x",
            "|x",
            ">x",
            "{x",
            "[x",
            ",x",
            "---x",
            "...x",
            " lead",
            "trail ",
            "?",
            ":",
            "-",
            "a #b",
        ];
        for s in quoted {
            let mine = to_string(&json!({ "k": s })).unwrap_or_else(|| panic!("{s:?}"));
            assert!(mine.starts_with("k: '"), "{s:?} is quoted: {mine}");
            same_as_serde_yaml(&json!({ "k": s, "l": [s], s: 1 }));
        }
    }

    /// Strings that look like a number, a flag or a key but are plain to serde_yaml.
    #[test]
    fn plain_strings_as_serde_yaml_writes_them() {
        let plain = [
            "yes",
            "No",
            "on",
            "y",
            "256MB",
            "1GB",
            "004e2df7d1dc66d0",
            "1e400x",
            "+-5",
            "redis:7.2.5-alpine",
            "aws:kms",
            "s3://bucket/key",
            "$(REDIS_PASSWORD)",
            "--requirepass",
            "-c",
            "a#b",
            "a:b",
            "x?y",
            "0 3 * * *",
            "it's",
            "redis-cli -a \"$REDIS_PASSWORD\" --no-auth-warning ping",
        ];
        for s in plain {
            let mine = to_string(&json!({ "k": s })).unwrap_or_else(|| panic!("{s:?}"));
            assert_eq!(mine, format!("k: {s}\n"));
            same_as_serde_yaml(&json!({ "k": s, "l": [s], s: 1 }));
        }
    }

    #[test]
    fn long_lines_as_serde_yaml_writes_them() {
        // libyaml folds a long line at a space past column 80: left to serde_yaml. A line that
        // runs past 80 with no space there is not folded, and is written directly.
        let long = "word ".repeat(20);
        assert!(to_string(&json!({ "k": long.trim_end() })).is_none());
        let probe = json!({"spec": {"template": {"spec": {"containers": [{"readinessProbe":
            {"exec": {"command": ["sh", "-c",
                "redis-cli -a \"$REDIS_PASSWORD\" --no-auth-warning ping | grep -q PONG"]}}}]}}}});
        let mine = to_string(&probe).expect("not folded: no space past column 80");
        assert_eq!(mine, serde_yaml::to_string(&probe).unwrap());
        for depth in 0..30 {
            let mut doc = json!(format!("{} it's {}", "x".repeat(40), "y".repeat(30)));
            for _ in 0..depth {
                doc = json!({ "key": doc });
            }
            same_as_serde_yaml(&doc);
        }
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
        for left in ["\nleading", "trailing \n", "two\n\n", "tab\t\n", "é\n"] {
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
            "[-+]?(0[xob])?[0-9a-fA-F._eE+-]{0,8}".prop_map(Value::String),
            "[.]?(inf|Inf|nan|NaN|INF|NAN|infinity)".prop_map(Value::String),
            "[0-9a-f]{1,50}".prop_map(Value::String),
            "[a-z'\"#:-]{1,10}( [a-z'\"#:-]{1,10}){0,12}".prop_map(Value::String),
            "[a-z']{0,70} [a-z' ]{0,30}".prop_map(Value::String),
            Just(json!({})),
            Just(json!([])),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map("[a-zA-Z][a-zA-Z0-9./-]{0,8}|[ -~]{0,10}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn whatever_it_writes_is_what_serde_yaml_writes(v in value()) {
            same_as_serde_yaml(&v);
        }

        /// Every short one-line printable ASCII string, as a key, a value or a sequence item,
        /// takes the direct path (too short to fold) and gives serde_yaml's bytes.
        #[test]
        fn every_short_ascii_string_takes_the_direct_path(
            k in "[ -~]{0,20}",
            v in "[ -~]{0,40}",
            items in prop::collection::vec("[ -~]{0,40}", 1..4),
        ) {
            let doc = json!({ "key": v, "items": items, k: "x" });
            let mine = to_string(&doc);
            prop_assert!(mine.is_some(), "{doc}");
            prop_assert_eq!(mine.unwrap(), serde_yaml::to_string(&doc).unwrap());
        }
    }
}
