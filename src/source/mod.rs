//! Source documents: input files read with a size bound, split into documents that remember
//! their file and line, and the location of a field inside them. Every stage that reads a file
//! (load, policy, the store's records, the workspace's `vow.yaml`) reads it through here.
//!
//! Multi-document YAML is split at document starts and the pieces are parsed in parallel
//! (YAML parsing is the floor of a plan's time). JSON, NDJSON and Kubernetes `List`s are
//! accepted too. Every document keeps its file and first line; a document that does not parse
//! becomes a finding and the other documents of the file are still used.

mod bounded;
pub mod locate;
pub mod names;
mod split_json;
pub mod strict;

use crate::diag::{self, Finding, Location};
pub use bounded::{read_all_bounded, read_bounded, read_sized, MAX_FILE_BYTES};
use rayon::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One parsed document and where it starts.
#[derive(Clone, Debug)]
pub struct Doc {
    pub location: Location,
    /// For documents inside a `List` or a JSON array: which item (`items[3]`).
    pub item: Option<String>,
    pub value: Value,
}

impl Doc {
    pub fn kind(&self) -> &str {
        self.value.get("kind").and_then(Value::as_str).unwrap_or("")
    }

    pub fn api_version(&self) -> &str {
        self.value
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn name(&self) -> Option<&str> {
        self.value.pointer("/metadata/name").and_then(Value::as_str)
    }

    /// The line of a field of this document (`spec.storageGb`), falling back to the document's
    /// first line when the field cannot be found (flow style, JSON, a defaulted field).
    pub fn field_location(&self, root: &Path, field: &str) -> Location {
        if self.item.is_some() {
            return self.location.clone();
        }
        locate::field_location(root, &self.location, field).unwrap_or_else(|| self.location.clone())
    }
}

/// The format a file is read in, from its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Yaml,
    Json,
    NdJson,
}

fn format_of(path: &Path) -> Option<Format> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("yaml" | "yml") => Some(Format::Yaml),
        Some("json") => Some(Format::Json),
        Some("ndjson" | "jsonl") => Some(Format::NdJson),
        _ => None,
    }
}

/// A piece of a file still to be parsed: one YAML document, one NDJSON line, one element of a
/// large JSON array or `List`, or a whole file.
struct Piece {
    file: Arc<str>,
    /// The file line of the piece's first text line (parser errors are relative to it).
    text_line: u32,
    /// The file line of the document's first content line (where findings point).
    first_line: u32,
    text: Text,
    format: Format,
    /// For an element split out of a JSON array or `List`: its name (`[3]`, `items[3]`). Such
    /// a piece is one document as it is (never expanded); if it does not parse, the whole file
    /// is parsed instead (see [`split_json`]).
    item: Option<String>,
}

/// A piece's text: its own (a YAML document, cut out of its file with its markers), or a range
/// of the file's text, which the file's pieces share (NDJSON lines, JSON elements are never
/// copied).
enum Text {
    Owned(String),
    Shared(Arc<String>, std::ops::Range<usize>),
}

impl Text {
    fn as_str(&self) -> &str {
        match self {
            Text::Owned(s) => s,
            Text::Shared(s, r) => s.get(r.clone()).unwrap_or_default(),
        }
    }
}

/// A piece's documents, or its finding (`None`: a split element that did not parse).
type Parsed<T> = Result<Vec<T>, Option<Finding>>;

/// A file's pieces, and its whole text when they are elements split out of it: what is parsed
/// instead if one of them does not parse.
struct Split {
    pieces: Vec<Piece>,
    whole: Option<Piece>,
}

/// The input files under `dir` (recursively) that vow reads, in a stable order. What cannot be
/// walked is left out; [`list_input_files`] says what was.
pub fn list_files(dir: &Path) -> Vec<PathBuf> {
    list_input_files(dir, dir).0
}

/// The input files under `dir`, and a finding for each entry that was skipped: a FIFO, socket
/// or device with an input's extension (reading one could block forever), a symbolic link loop,
/// a folder that cannot be read. Paths in findings are relative to `root`.
pub fn list_input_files(root: &Path, dir: &Path) -> (Vec<PathBuf>, Vec<Finding>) {
    let mut files = Vec::new();
    let mut findings = Vec::new();
    // A folder that is not there holds no inputs (a workspace without rules/).
    if !dir.exists() {
        return (files, findings);
    }
    for entry in walkdir::WalkDir::new(dir).follow_links(true) {
        match entry {
            Ok(e) if e.file_type().is_file() => {
                if format_of(e.path()).is_some() {
                    files.push(e.into_path());
                }
            }
            Ok(e) if e.file_type().is_dir() || format_of(e.path()).is_none() => {}
            Ok(e) => findings.push(skipped(
                root,
                e.path(),
                "it is not a regular file (a FIFO, socket or device)",
            )),
            Err(e) => {
                let path = e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| dir.to_path_buf());
                let why = if e.loop_ancestor().is_some() {
                    "it is a symbolic link loop".to_string()
                } else {
                    format!(
                        "it cannot be read: {}",
                        e.io_error()
                            .map_or_else(|| e.to_string(), ToString::to_string)
                    )
                };
                findings.push(skipped(root, &path, &why));
            }
        }
    }
    files.sort();
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    (files, findings)
}

pub(crate) fn skipped(root: &Path, path: &Path, why: &str) -> Finding {
    let file = display_path(root, path);
    Finding::new(diag::SKIPPED_FILE, format!("{file}: skipped: {why}"))
        .at(Location::new(file, 1))
        .help("inputs are regular files or links to them; remove or replace this entry")
}

/// The path of `path` relative to the workspace root, as findings show it.
pub fn display_path(root: &Path, path: &Path) -> Arc<str> {
    let rel = path.strip_prefix(root).unwrap_or(path);
    Arc::from(rel.to_string_lossy().replace('\\', "/"))
}

/// Reads and parses every document of the given files. Documents come back in file order, then
/// in order within each file, whatever the thread count.
pub fn read_documents(root: &Path, files: &[PathBuf]) -> (Vec<Doc>, Vec<Finding>) {
    read_documents_with(root, files, |d| d)
}

/// Reads documents as [`read_documents`] does, passing each through `each` on the thread that
/// parsed it, as soon as it is parsed: a fleet's documents are never all held in full at once.
pub fn read_documents_with<T: Send>(
    root: &Path,
    files: &[PathBuf],
    each: impl Fn(Doc) -> T + Sync,
) -> (Vec<T>, Vec<Finding>) {
    let split: Vec<Result<Split, Finding>> = files
        .par_iter()
        .map(|path| split_file(root, path))
        .collect();
    let mut findings = Vec::new();
    let mut pieces = Vec::new();
    let mut wholes = std::collections::BTreeMap::new();
    for (n, r) in split.into_iter().enumerate() {
        match r {
            Ok(s) => {
                pieces.extend(s.pieces.into_iter().map(|p| (n, p)));
                if let Some(w) = s.whole {
                    wholes.insert(n, w);
                }
            }
            Err(f) => findings.push(f),
        }
    }
    // Each piece's text is freed once it is parsed (a shared file text with its last piece).
    let parsed: Vec<(usize, Parsed<T>)> = pieces
        .into_par_iter()
        .map(|(n, p)| {
            let r = match parse_piece(&p) {
                Ok(docs) => Ok(docs.into_iter().map(&each).collect()),
                // A split element that does not parse: its file is parsed whole below.
                Err(_) if p.item.is_some() => Err(None),
                Err(f) => Err(Some(f)),
            };
            (n, r)
        })
        .collect();
    let failed: std::collections::BTreeSet<usize> = parsed
        .iter()
        .filter(|(_, r)| matches!(r, Err(None)))
        .map(|(n, _)| *n)
        .collect();
    let mut docs = Vec::with_capacity(parsed.len());
    for (n, r) in parsed {
        if failed.contains(&n) {
            // Rare (bad input): the whole-file parse gives the error the file always gave, in
            // the file's place (its first piece's).
            match wholes.remove(&n).map(|w| parse_piece(&w)) {
                Some(Ok(d)) => docs.extend(d.into_iter().map(&each)),
                Some(Err(f)) => findings.push(f),
                None => {}
            }
            continue;
        }
        match r {
            Ok(d) => docs.extend(d),
            Err(f) => findings.extend(f),
        }
    }
    (docs, findings)
}

/// Reads one file's documents (for single files such as destinations.yaml).
pub fn read_file(root: &Path, path: &Path) -> (Vec<Doc>, Vec<Finding>) {
    read_documents(root, &[path.to_path_buf()])
}

fn split_file(root: &Path, path: &Path) -> Result<Split, Finding> {
    let file = display_path(root, path);
    let bytes = read_bounded(path).map_err(|e| {
        Finding::new(diag::READ_ERROR, format!("cannot read {file}: {e}"))
            .at(Location::new(file.clone(), 1))
            .help(format!(
                "input files are at most {} MiB: split a larger fleet into several files",
                MAX_FILE_BYTES >> 20
            ))
    })?;
    let text = String::from_utf8(bytes).map_err(|e| not_utf8(&file, &e))?;
    // Editors on Windows start files with a byte-order mark; it is no part of the document.
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    };
    let format = format_of(path).unwrap_or(Format::Yaml);
    // YAML counts a lone carriage return (old Mac line ends) as a line break; the splitter
    // would see one long line, and a first comment line would hide the whole document.
    let text = if format == Format::Yaml && text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text
    };
    let piece = |text_line: u32, first_line: u32, text: Text, item: Option<String>| Piece {
        file: file.clone(),
        text_line,
        first_line,
        text,
        format,
        item,
    };
    let pieces = match format {
        Format::Yaml => split_yaml(&text)
            .into_iter()
            .map(|(text_line, first_line, t)| piece(text_line, first_line, Text::Owned(t), None))
            .collect(),
        Format::NdJson => {
            let text = Arc::new(text);
            let base = text.as_ptr() as usize;
            text.lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
                .map(|(i, l)| {
                    let start = l.as_ptr() as usize - base;
                    let range = start..start + l.len();
                    let line = i as u32 + 1;
                    piece(line, line, Text::Shared(text.clone(), range), None)
                })
                .collect()
        }
        Format::Json => return Ok(split_json::split_file(text, piece)),
    };
    Ok(Split {
        pieces,
        whole: None,
    })
}

/// Adds `offset` to every `line N` of a parser's message.
fn shift_lines(msg: &str, offset: u32) -> String {
    if offset == 0 {
        return msg.to_string();
    }
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(i) = rest.find("line ") {
        let (head, tail) = rest.split_at(i + "line ".len());
        out.push_str(head);
        let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
        match digits.parse::<u32>() {
            Ok(n) => out.push_str(&(n + offset).to_string()),
            Err(_) => out.push_str(&digits),
        }
        rest = tail.get(digits.len()..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// The finding for a file that is not UTF-8, at the line of its first bad byte.
fn not_utf8(file: &Arc<str>, e: &std::string::FromUtf8Error) -> Finding {
    let good = e
        .as_bytes()
        .get(..e.utf8_error().valid_up_to())
        .unwrap_or_default();
    let line = good.iter().filter(|b| **b == b'\n').count() as u32 + 1;
    Finding::new(
        diag::READ_ERROR,
        format!(
            "cannot read {file}: it is not UTF-8 text (byte {} is not)",
            good.len()
        ),
    )
    .at(Location::new(file.clone(), line))
    .help("save the file as UTF-8")
}

/// Splits a multi-document YAML text at its document markers. Returns each non-empty document
/// as (file line of its text's first line, file line of its first content line, text).
pub fn split_yaml(text: &str) -> Vec<(u32, u32, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start: u32 = 1;
    let mut first_content: Option<u32> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i as u32 + 1;
        if is_document_start(line) || line == "..." {
            flush(&mut out, &mut current, start, first_content.take());
            start = n + 1;
            // A document may begin on the marker's line (`--- {a: 1}`): keep what follows it.
            let rest = line.strip_prefix("---").map(str::trim).unwrap_or("");
            if !rest.is_empty() && !rest.starts_with('#') {
                start = n;
                first_content = Some(n);
                current.push_str(rest);
                current.push('\n');
            }
            continue;
        }
        let t = line.trim();
        if first_content.is_none() && !t.is_empty() && !t.starts_with('#') && !t.starts_with('%') {
            first_content = Some(n);
        }
        if !t.starts_with('%') {
            current.push_str(line);
        }
        current.push('\n');
    }
    flush(&mut out, &mut current, start, first_content);
    out
}

fn is_document_start(line: &str) -> bool {
    line == "---" || line.starts_with("--- ") || line.starts_with("---\t")
}

fn flush(out: &mut Vec<(u32, u32, String)>, current: &mut String, start: u32, first: Option<u32>) {
    let text = std::mem::take(current);
    if let Some(first) = first {
        out.push((start, first, text));
    }
}

fn parse_piece(piece: &Piece) -> Result<Vec<Doc>, Finding> {
    let value = match piece.format {
        Format::Yaml => parse_yaml(piece.text.as_str()),
        Format::Json | Format::NdJson => parse_json(piece.text.as_str()),
    }
    .map_err(|(line, col, msg)| {
        let line = if piece.format == Format::NdJson {
            piece.first_line
        } else {
            piece.text_line + line.saturating_sub(1)
        };
        // The parser counts lines from the piece's start; the message should count the file's.
        let msg = shift_lines(&msg, piece.text_line.saturating_sub(1));
        if msg.contains("duplicate key `") || msg.contains("duplicate entry with key") {
            return Finding::new(diag::DUPLICATE_KEY, format!("{}: {msg}", piece.file))
                .at(Location::new(piece.file.clone(), line).with_column(col))
                .help("remove or rename one of the two keys; the other documents of the file are still read");
        }
        Finding::new(diag::YAML_SYNTAX, format!("{}: {msg}", piece.file))
            .at(Location::new(piece.file.clone(), line).with_column(col))
            .help("fix the syntax at this line; the other documents of the file are still read")
    })?;
    let location = Location::new(piece.file.clone(), piece.first_line);
    Ok(match &piece.item {
        // An element is one document whatever it holds, as `expand` makes it.
        Some(item) => vec![Doc {
            location,
            item: Some(item.clone()),
            value,
        }],
        None => expand(location, value),
    })
}

/// Parses one YAML document. YAML merge keys (`<<: *anchor`) need serde_yaml's own `Value` to be
/// resolved, so only documents that contain `<<` take that slower path.
fn parse_yaml(text: &str) -> Result<Value, (u32, u32, String)> {
    let err = |e: serde_yaml::Error| {
        let (l, c) = e
            .location()
            .map(|l| (l.line() as u32, l.column() as u32))
            .unwrap_or((1, 1));
        (l, c, e.to_string())
    };
    if text.contains("<<") {
        let mut v: serde_yaml::Value = serde_yaml::from_str(text).map_err(err)?;
        v.apply_merge().map_err(err)?;
        serde_json::to_value(v).map_err(|e| (1, 1, e.to_string()))
    } else {
        serde_yaml::from_str::<strict::Strict>(text)
            .map(|s| s.0)
            .map_err(err)
    }
}

fn parse_json(text: &str) -> Result<Value, (u32, u32, String)> {
    serde_json::from_str::<strict::Strict>(text)
        .map(|s| s.0)
        .map_err(|e| (e.line() as u32, e.column() as u32, e.to_string()))
}

/// Turns one parsed value into documents: a Kubernetes `List` or a JSON array gives its items,
/// `null` (an empty document) gives nothing.
fn expand(location: Location, value: Value) -> Vec<Doc> {
    match value {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| Doc {
                location: location.clone(),
                item: Some(format!("[{i}]")),
                value: v,
            })
            .collect(),
        Value::Object(mut m)
            if m.get("kind").and_then(Value::as_str) == Some("List")
                && m.get("items").is_some_and(Value::is_array) =>
        {
            let Some(Value::Array(items)) = m.remove("items") else {
                return Vec::new();
            };
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| Doc {
                    location: location.clone(),
                    item: Some(format!("items[{i}]")),
                    value: v,
                })
                .collect()
        }
        value => vec![Doc {
            location,
            item: None,
            value,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_documents_and_keeps_lines() {
        let text = "# header\n---\na: 1\n---\n\n# c\nb: 2\n---\n";
        let pieces = split_yaml(text);
        assert_eq!(pieces.len(), 2);
        assert_eq!((pieces[0].0, pieces[0].1), (3, 3));
        assert_eq!((pieces[1].0, pieces[1].1), (5, 7));
        let v: Value = serde_yaml::from_str(&pieces[1].2).unwrap();
        assert_eq!(v["b"], 2);
    }

    #[test]
    fn yaml_error_lines_are_file_lines() {
        let text = "a: 1\n---\nb: [1, 2\nc: 3\n";
        let pieces = split_yaml(text);
        let err = parse_yaml(&pieces[1].2).unwrap_err();
        let file_line = pieces[1].0 + err.0 - 1;
        assert!(
            (3..=4).contains(&file_line),
            "line {file_line} should be in the second document"
        );
    }

    #[test]
    fn messages_count_file_lines() {
        assert_eq!(
            shift_lines(
                "bad at line 2 column 1, while parsing at line 1 column 3",
                5
            ),
            "bad at line 7 column 1, while parsing at line 6 column 3"
        );
        assert_eq!(shift_lines("no lines here", 3), "no lines here");
    }

    #[test]
    fn merge_keys_are_resolved() {
        let v = parse_yaml("base: &b {x: 1}\nthing:\n  <<: *b\n  y: 2\n").unwrap();
        assert_eq!(v["thing"]["x"], 1);
        assert_eq!(v["thing"]["y"], 2);
    }

    #[test]
    fn lists_expand_to_items() {
        let loc = Location::new("f.json".into(), 1);
        let v =
            serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [{"a": 1}, {"b": 2}]});
        let docs = expand(loc, v);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].item.as_deref(), Some("items[1]"));
    }
}

#[cfg(test)]
mod split_tests;
