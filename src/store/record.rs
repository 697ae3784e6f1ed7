//! A binding record, or a stored output document, read without the YAML parser, when that is
//! provably the same.
//!
//! apply writes every record with serde_yaml (`write::write_binding`), and parsing 100k of them
//! with serde_yaml was most of `vow fleet`'s time (BENCHMARKS.md, "vow fleet, round three"); the
//! rendered documents it stores are written by `yaml_writer` (serde_yaml's bytes), and parsing
//! them was a quarter of `vow fleet`'s and `vow scan`'s rule evaluation ("vow fleet, round five").
//! This reads the subset of YAML that serde_yaml writes for a binding (block mappings and
//! sequences of one-line scalars) into a tree, writes that tree back by `yaml_writer`'s rules
//! (the bytes serde_yaml writes), and keeps the result only when that gives the record's text
//! byte for byte. So it can only be wrong by answering `None`: a text that is exactly serde_yaml's
//! writing of a tree is read back by serde_yaml as that tree. Anything else (comments, flow
//! collections, anchors, tags, block scalars, floats, a duplicate key, a hand-edited or hostile
//! record) is left to serde_yaml (`store::read_binding`), which answers what it always did.

use super::Binding;
use crate::yaml_writer;
use serde::de;
use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde_json::{Map, Value};

/// The YAML tree in the record's own key order: the check compares text in that order, and
/// serde_json's maps are sorted.
enum Node {
    Map(Vec<(String, Node)>),
    Seq(Vec<Node>),
    Leaf(Value),
}

/// The deepest nesting read here; a deeper record goes to serde_yaml (which bounds its own).
const MAX_LEVEL: usize = 32;

/// The most keys a mapping has here (a binding's have a handful): the check for a key given
/// twice compares each with those before it.
const MAX_KEYS: usize = 256;

/// The binding this record holds, or `None` when only serde_yaml may say (see the header).
pub(super) fn parse(text: &str) -> Option<Binding> {
    parse_as(text)
}

/// One YAML document (a mapping, as the store's rendered files hold) as serde_yaml reads it
/// into a `Value`, or `None` when only serde_yaml may say (see the header).
pub fn parse_document(text: &str) -> Option<Value> {
    parse_as(text)
}

/// The documents of a file as vow writes one (mappings as `yaml_writer` writes them, joined by
/// `---` lines), each read as [`parse_document`] reads it; `None` when any is not.
pub fn parse_documents(text: &str) -> Option<Vec<Value>> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        // Each piece re-emits exactly or is declined, so a `---` line inside a document (which
        // `yaml_writer` never writes at the start of a line) cannot pass as a split.
        let (doc, next) = match rest.find("\n---\n") {
            Some(i) => (rest.get(..=i)?, Some(rest.get(i + 5..)?)),
            None => (rest, None),
        };
        out.push(parse_document(doc)?);
        match next {
            Some(n) => rest = n,
            None => return Some(out),
        }
    }
}

fn parse_as<T: de::DeserializeOwned>(text: &str) -> Option<T> {
    let lines: Vec<&str> = text.strip_suffix('\n')?.split('\n').collect();
    let mut reader = Reader { lines, next: 0 };
    let first = reader.take()?;
    let tree = reader.map(first, 0, 0)?;
    if reader.next != reader.lines.len() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    emit_map(&mut out, &tree, 0, 0)?;
    if out != text {
        return None;
    }
    // Straight from the tree (no `Value` built in between): a third of this reader's time.
    serde::Deserialize::deserialize(Node::Map(tree)).ok()
}

/// The record's lines, read from the top; `next` is the first line not read yet.
struct Reader<'a> {
    lines: Vec<&'a str>,
    next: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<&'a str> {
        self.lines.get(self.next).copied()
    }

    fn take(&mut self) -> Option<&'a str> {
        let line = self.peek()?;
        self.next += 1;
        Some(line)
    }

    /// The line after the ones read, when it is indented by `depth` and starts (or does not
    /// start, `item` false) a sequence item there: its text after the indentation.
    fn at(&self, depth: usize, item: bool) -> Option<&'a str> {
        let line = self.peek()?;
        let rest = line.get(depth..)?;
        let indented = line.bytes().take(depth).all(|b| b == b' ') && !rest.starts_with(' ');
        (indented && rest.starts_with("- ") == item).then_some(rest)
    }

    /// A block mapping whose first entry is `first`, its keys at column `depth`.
    fn map(&mut self, first: &'a str, depth: usize, level: usize) -> Option<Vec<(String, Node)>> {
        if level > MAX_LEVEL {
            return None;
        }
        let mut entries = Vec::new();
        let mut entry = first;
        loop {
            let (key, value) = split_entry(entry)?;
            let node = match value {
                Some(text) => Node::Leaf(leaf(text)?),
                None => {
                    if let Some(sub) = self.at(depth + 2, false) {
                        self.next += 1;
                        Node::Map(self.map(sub, depth + 2, level + 1)?)
                    } else if self.at(depth, true).is_some() {
                        Node::Seq(self.seq(depth, level + 1)?)
                    } else {
                        return None;
                    }
                }
            };
            // A key given twice is left to serde_yaml (a map here would keep one of them).
            if entries.len() >= MAX_KEYS || entries.iter().any(|(k, _)| *k == key) {
                return None;
            }
            entries.push((key, node));
            match self.at(depth, false) {
                Some(next) => {
                    self.next += 1;
                    entry = next;
                }
                None => return Some(entries),
            }
        }
    }

    /// A block sequence whose items (`- `) are at column `depth`.
    fn seq(&mut self, depth: usize, level: usize) -> Option<Vec<Node>> {
        if level > MAX_LEVEL {
            return None;
        }
        let mut items = Vec::new();
        while let Some(line) = self.at(depth, true) {
            self.next += 1;
            let item = line.get(2..)?;
            let node = if split_entry(item).is_some() {
                Node::Map(self.map(item, depth + 2, level + 1)?)
            } else {
                Node::Leaf(leaf(item)?)
            };
            items.push(node);
        }
        Some(items)
    }
}

/// `key: value` (the key and `Some(value)`) or `key:` (the value is on the next lines).
fn split_entry(entry: &str) -> Option<(String, Option<&str>)> {
    let (key, rest) = if entry.starts_with('\'') {
        let end = quoted_end(entry)?;
        (unquote(entry.get(..end)?)?, entry.get(end..)?)
    } else {
        let end = entry
            .find(": ")
            .or_else(|| entry.ends_with(':').then(|| entry.len() - 1))?;
        (entry.get(..end)?.to_string(), entry.get(end..)?)
    };
    match rest {
        ":" => Some((key, None)),
        _ => Some((key, Some(rest.strip_prefix(": ")?))),
    }
}

/// The byte just past the closing quote of the single-quoted scalar `s` starts with.
fn quoted_end(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 1;
    while i < b.len() {
        match (b.get(i), b.get(i + 1)) {
            (Some(b'\''), Some(b'\'')) => i += 2,
            (Some(b'\''), _) => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The text of a single-quoted scalar (`'it''s'` is `it's`).
fn unquote(s: &str) -> Option<String> {
    let inner = s.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace("''", "'"))
}

/// A one-line scalar as serde_yaml reads it, for the texts serde_yaml writes; any other reading
/// of a text is caught when the tree is written back.
fn leaf(text: &str) -> Option<Value> {
    Some(match text {
        "null" => Value::Null,
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "{}" => Value::Object(Map::new()),
        "[]" => Value::Array(Vec::new()),
        _ if text.starts_with('\'') => Value::String(unquote(text)?),
        _ => match (text.parse::<i64>(), text.parse::<u64>()) {
            (Ok(n), _) => Value::from(n),
            (_, Ok(n)) => Value::from(n),
            _ => Value::String(text.to_string()),
        },
    })
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// The tree as `yaml_writer` writes a mapping (the same shape rules, in the tree's order).
fn emit_map(
    out: &mut String,
    entries: &[(String, Node)],
    depth: usize,
    level: usize,
) -> Option<()> {
    if level > MAX_LEVEL || entries.is_empty() {
        return None;
    }
    for (i, (key, node)) in entries.iter().enumerate() {
        if i > 0 {
            indent(out, depth);
        }
        yaml_writer::string(out, key, true)?;
        out.push(':');
        match node {
            Node::Map(sub) => {
                out.push('\n');
                indent(out, depth + 2);
                emit_map(out, sub, depth + 2, level + 1)?;
            }
            // serde_yaml writes a sequence under a key at the key's own indentation.
            Node::Seq(items) => {
                out.push('\n');
                indent(out, depth);
                emit_seq(out, items, depth, level + 1)?;
            }
            Node::Leaf(v) => {
                out.push(' ');
                emit_leaf(out, v)?;
            }
        }
    }
    Some(())
}

fn emit_seq(out: &mut String, items: &[Node], depth: usize, level: usize) -> Option<()> {
    if level > MAX_LEVEL || items.is_empty() {
        return None;
    }
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            indent(out, depth);
        }
        out.push_str("- ");
        match item {
            Node::Map(sub) => emit_map(out, sub, depth + 2, level + 1)?,
            Node::Seq(_) => return None,
            Node::Leaf(v) => emit_leaf(out, v)?,
        }
    }
    Some(())
}

/// A one-line scalar and its line break (a multi-line string is never read here).
fn emit_leaf(out: &mut String, v: &Value) -> Option<()> {
    if v.as_str().is_some_and(|s| s.contains('\n')) {
        return None;
    }
    yaml_writer::scalar(out, v)?;
    out.push('\n');
    Some(())
}

/// The tree read as serde reads a document: mappings, sequences, and scalars as serde_json's.
impl<'de> de::Deserializer<'de> for Node {
    type Error = serde_json::Error;

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Node::Leaf(v) => de::Deserializer::deserialize_any(v, visitor),
            Node::Map(entries) => {
                let mut map = MapDeserializer::new(entries.into_iter());
                let read = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(read)
            }
            Node::Seq(items) => {
                let mut seq = SeqDeserializer::new(items.into_iter());
                let read = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(read)
            }
        }
    }

    fn deserialize_option<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Node::Leaf(Value::Null) => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de> de::IntoDeserializer<'de, serde_json::Error> for Node {
    type Deserializer = Node;

    fn into_deserializer(self) -> Node {
        self
    }
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
