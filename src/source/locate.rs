//! Finding the line of a field inside a YAML document.
//!
//! The fast parser gives no positions, so documents are parsed without
//! them, and only for the few findings that name a field is the document read again with an
//! event parser that reports marks. The cost is paid per finding, never per request.

use crate::diag::{Finding, Location};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// One step of a field path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// Parses `spec.items[2].name` into segments. A key holding dots or slashes is written in
/// quotes and brackets: `metadata.labels["kratix.io/promise-version"]`.
pub fn parse_path(path: &str) -> Vec<Seg> {
    let mut segs = Vec::new();
    let mut key = String::new();
    let mut chars = path.chars().peekable();
    let flush = |key: &mut String, segs: &mut Vec<Seg>| {
        if !key.is_empty() {
            segs.push(Seg::Key(std::mem::take(key)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '.' => flush(&mut key, &mut segs),
            '[' => {
                flush(&mut key, &mut segs);
                let mut inner = String::new();
                for c in chars.by_ref() {
                    // A `]` inside a quoted key is part of the key.
                    let in_quotes = inner.starts_with('"') && !inner.ends_with('"');
                    if c == ']' && !in_quotes {
                        break;
                    }
                    inner.push(c);
                }
                match inner.strip_prefix('"').and_then(|i| i.strip_suffix('"')) {
                    Some(quoted) => segs.push(Seg::Key(quoted.to_string())),
                    None => {
                        if let Ok(i) = inner.parse() {
                            segs.push(Seg::Index(i));
                        }
                    }
                }
            }
            c => key.push(c),
        }
    }
    flush(&mut key, &mut segs);
    segs
}

/// Where a located field is: its key's line and column, and for a block scalar (`script: |`)
/// the line its content starts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    pub line: u32,
    pub column: u32,
    pub block_content_line: Option<u32>,
}

/// Gives every `unlocated` finding its field's line: each file is read and split once, and only
/// the documents with findings are parsed again, the files in parallel. A field that cannot be
/// found keeps the document's line.
pub fn locate_fields(root: &Path, findings: Vec<&mut Finding>) {
    use rayon::prelude::*;
    let mut by_file: BTreeMap<Arc<str>, Vec<&mut Finding>> = BTreeMap::new();
    for f in findings.into_iter().filter(|f| f.unlocated) {
        f.unlocated = false;
        if let (Some(loc), Some(_)) = (&f.location, &f.field) {
            by_file.entry(loc.file.clone()).or_default().push(f);
        }
    }
    by_file.into_par_iter().for_each(|(file, fs)| {
        let Ok(text) = std::fs::read_to_string(root.join(&*file)) else {
            return;
        };
        let pieces: HashMap<u32, (u32, String)> = super::split_yaml(&text)
            .into_iter()
            .map(|(text_line, first, piece)| (first, (text_line, piece)))
            .collect();
        for f in fs {
            let (Some(loc), Some(field)) = (&f.location, &f.field) else {
                continue;
            };
            let Some((text_line, piece)) = pieces.get(&loc.line) else {
                continue;
            };
            if let Some(found) = find_in_piece(piece, *text_line, field) {
                f.location =
                    Some(Location::new(file.clone(), found.line).with_column(found.column));
            }
        }
    });
}

/// Finds `field` in the document that starts at `doc` (re-reading its file).
pub fn field_location(root: &Path, doc: &Location, field: &str) -> Option<Location> {
    let found = find_in_file(root, doc, field)?;
    Some(Location::new(doc.file.clone(), found.line).with_column(found.column))
}

/// Finds `field` in the document that starts at `doc` and returns the raw marks.
pub fn find_in_file(root: &Path, doc: &Location, field: &str) -> Option<Found> {
    let text = std::fs::read_to_string(root.join(&*doc.file)).ok()?;
    find_in_text(&text, doc.line, field)
}

/// Finds `field` in the document of `text` whose first content line is `doc_line`.
pub fn find_in_text(text: &str, doc_line: u32, field: &str) -> Option<Found> {
    let (text_line, _, piece) = super::split_yaml(text)
        .into_iter()
        .find(|(_, first, _)| *first == doc_line)?;
    find_in_piece(&piece, text_line, field)
}

/// Finds `field` in one document's text, which starts at line `text_line` of its file.
fn find_in_piece(piece: &str, text_line: u32, field: &str) -> Option<Found> {
    let mut recv = Locator {
        target: parse_path(field),
        stack: Vec::new(),
        found: None,
        pending_key: None,
    };
    let mut parser = Parser::new_from_str(piece);
    // A parse error after the field was found does not matter; before it, there is no answer.
    let _ = parser.load(&mut recv, false);
    recv.found.map(|mut f| {
        let offset = text_line - 1;
        f.line += offset;
        f.block_content_line = f.block_content_line.map(|l| l + offset);
        f
    })
}

enum Frame {
    Map { key: Option<Seg> },
    Seq { index: usize },
}

struct Locator {
    target: Vec<Seg>,
    stack: Vec<Frame>,
    found: Option<Found>,
    /// Where the current map key was seen, to report keys rather than values.
    pending_key: Option<Marker>,
}

impl Locator {
    /// The path of the node that the next value event belongs to.
    fn path_matches(&self) -> bool {
        let mut path = self.stack.iter().filter_map(|f| match f {
            Frame::Map { key } => key.clone(),
            Frame::Seq { index } => Some(Seg::Index(*index)),
        });
        let mut n = 0;
        for seg in &self.target {
            if path.next().as_ref() != Some(seg) {
                return false;
            }
            n += 1;
        }
        n == self.target.len() && path.next().is_none() && self.stack.len() == self.target.len()
    }

    /// Called when a value (scalar, alias or collection start) begins at `mark`.
    fn value_at(&mut self, mark: Marker, block: bool) {
        if self.found.is_none() && self.path_matches() {
            let at = self.pending_key.unwrap_or(mark);
            self.found = Some(Found {
                line: at.line() as u32,
                column: at.col() as u32 + 1,
                block_content_line: block.then(|| mark.line() as u32),
            });
        }
    }

    /// Called when a value has ended: the enclosing map waits for a key again, a sequence moves on.
    fn value_done(&mut self) {
        match self.stack.last_mut() {
            Some(Frame::Map { key }) => *key = None,
            Some(Frame::Seq { index }) => *index += 1,
            None => {}
        }
        self.pending_key = None;
    }

    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None }))
    }
}

impl MarkedEventReceiver for Locator {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(s, style, _, _) => {
                if self.expecting_key() {
                    if let Some(Frame::Map { key }) = self.stack.last_mut() {
                        *key = Some(Seg::Key(s));
                    }
                    self.pending_key = Some(mark);
                } else {
                    let block = matches!(style, TScalarStyle::Literal | TScalarStyle::Folded);
                    self.value_at(mark, block);
                    self.value_done();
                }
            }
            Event::Alias(_) => {
                self.value_at(mark, false);
                self.value_done();
            }
            Event::MappingStart(..) => {
                if !self.stack.is_empty() {
                    self.value_at(mark, false);
                }
                self.stack.push(Frame::Map { key: None });
                self.pending_key = None;
            }
            Event::SequenceStart(..) => {
                if !self.stack.is_empty() {
                    self.value_at(mark, false);
                }
                self.stack.push(Frame::Seq { index: 0 });
                self.pending_key = None;
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                self.value_done();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
# comment
---
apiVersion: v1
kind: Thing
metadata:
  name: a
spec:
  backups:
    retentionDays: 3
  items:
    - name: x
    - name: y
      port: 80
  script: |
    let a = 1;
    reject(a);
---
kind: Other
";

    #[test]
    fn parses_paths() {
        assert_eq!(
            parse_path("spec.items[1].port"),
            vec![
                Seg::Key("spec".into()),
                Seg::Key("items".into()),
                Seg::Index(1),
                Seg::Key("port".into())
            ]
        );
    }

    #[test]
    fn finds_nested_keys_and_items() {
        let f = find_in_text(DOC, 3, "spec.backups.retentionDays").unwrap();
        assert_eq!((f.line, f.column), (9, 5));
        let f = find_in_text(DOC, 3, "spec.items[1].port").unwrap();
        assert_eq!(f.line, 13);
        let f = find_in_text(DOC, 3, "metadata.name").unwrap();
        assert_eq!(f.line, 6);
    }

    #[test]
    fn finds_block_scalar_content() {
        let f = find_in_text(DOC, 3, "spec.script").unwrap();
        assert_eq!(f.line, 14);
        assert_eq!(f.block_content_line, Some(15));
    }

    #[test]
    fn second_document_and_missing_fields() {
        assert_eq!(find_in_text(DOC, 18, "kind").unwrap().line, 18);
        assert!(find_in_text(DOC, 3, "spec.nothing").is_none());
        assert!(find_in_text(DOC, 99, "kind").is_none());
    }
}
#[cfg(test)]
mod quoted_tests {
    use super::*;

    #[test]
    fn quoted_keys_hold_dots_and_slashes() {
        assert_eq!(
            parse_path("metadata.labels[\"kratix.io/promise-version\"]"),
            vec![
                Seg::Key("metadata".into()),
                Seg::Key("labels".into()),
                Seg::Key("kratix.io/promise-version".into())
            ]
        );
        let text = "a: 1\nmetadata:\n  labels:\n    kratix.io/promise-version: \"../v\"\n";
        let found = find_in_text(text, 1, "metadata.labels[\"kratix.io/promise-version\"]");
        assert_eq!(found.map(|f| f.line), Some(4));
    }
}
