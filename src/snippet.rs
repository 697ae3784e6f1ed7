//! Findings for people, rustc-style: the finding's header, then the offending line of its file
//! with a caret under the field, then its instance, help and waiver as notes.
//!
//! The line is read again at print time, and only for the findings printed: findings carry a
//! file and a line, never the text (a 100,000-request plan keeps no copies of its inputs). A file
//! that cannot be read, or a line that is not there any more, prints the finding as
//! [`Finding`]'s `Display` does. Machine formats never come here.
//!
//! The command line sets the workspace folder and whether each stream gets colour once per
//! process ([`configure`]); until it does, nothing is read and nothing is coloured.

use crate::diag::{Finding, Severity};
use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use std::io::{BufRead, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

/// A line longer than this many characters is cut, with an ellipsis.
const MAX_LINE_CHARS: usize = 200;
/// At most this many bytes of a file are read looking for a line (a line past them is not shown).
const MAX_READ_BYTES: u64 = 64 << 20;

/// Where findings' files are and which streams are coloured.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// The workspace folder, that findings' files are relative to.
    pub root: PathBuf,
    /// Colour findings written to stdout (reports).
    pub color_stdout: bool,
    /// Colour findings written to stderr (configuration errors, notes).
    pub color_stderr: bool,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Set when the report goes to a file (`--out`) instead of stdout: a file gets no colour.
static STDOUT_TO_FILE: AtomicBool = AtomicBool::new(false);

/// The report goes to a file (`--out`), not to stdout: no colour in it whatever stdout is.
pub fn report_to_file() {
    STDOUT_TO_FILE.store(true, Ordering::Relaxed);
}

/// Sets where findings' files are and the colours, once for the process (the first call wins).
pub fn configure(settings: Settings) {
    let _ = SETTINGS.set(settings);
}

/// The stream a finding is printed on, for its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// `finding` for people on `stream`: with its source line when it can be read.
pub fn human(finding: &Finding, stream: Stream) -> String {
    let Some(settings) = SETTINGS.get() else {
        return finding.to_string();
    };
    let color = match stream {
        Stream::Stdout => settings.color_stdout && !STDOUT_TO_FILE.load(Ordering::Relaxed),
        Stream::Stderr => settings.color_stderr,
    };
    render(finding, settings, color).unwrap_or_else(|| finding.to_string())
}

/// The finding with its snippet, or `None` when its line cannot be shown.
fn render(finding: &Finding, settings: &Settings, color: bool) -> Option<String> {
    let loc = finding.location.as_ref()?;
    let line = read_line(&settings.root.join(&*loc.file), loc.line)?;
    let (text, span) = cut(&line, finding.field.as_deref(), loc.column);
    let level = level(finding);
    let title = level.clone().primary_title(finding.message.as_str());
    let title = title.id(finding.id());
    let snippet = Snippet::source(text.as_str())
        .line_start(usize::try_from(loc.line).ok()?)
        .path(&*loc.file)
        .annotation(AnnotationKind::Primary.span(span));
    let mut group = Group::with_title(title).element(snippet);
    if let Some(r) = &finding.instance {
        group = group.element(Level::NOTE.message(format!("instance: {r}")));
    }
    if let Some(r) = &finding.related {
        group = group.element(Level::NOTE.message(format!("source: {r}")));
    }
    if let Some(h) = &finding.help {
        group = group.element(Level::HELP.message(h.as_str()));
    }
    if let Some(w) = &finding.waived {
        group = group.element(Level::NOTE.message(format!(
            "waived by {} until {} ({}; {})",
            w.waiver, w.expires, w.reason, w.owner
        )));
    }
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    Some(renderer.render(&[group]))
}

/// The finding's level, named as `Display` names it.
fn level(f: &Finding) -> Level<'static> {
    if f.waived.is_some() {
        return Level::NOTE.with_name("waived");
    }
    if f.blocking {
        return Level::ERROR;
    }
    match f.severity {
        Severity::Info => Level::NOTE,
        _ => Level::WARNING,
    }
}

/// Where the last line read starts: findings come sorted by file and line, so the next line
/// asked for is mostly further down the same file, and each file is read through once however
/// many findings it has (not once per finding).
struct Cursor {
    path: PathBuf,
    line: u32,
    offset: u64,
}

static CURSOR: Mutex<Option<Cursor>> = Mutex::new(None);

/// Line `n` (1-based) of the file at `path`, without its line ending; `None` when the file
/// cannot be read or is shorter.
fn read_line(path: &std::path::Path, n: u32) -> Option<String> {
    // Only a regular file: opening a FIFO would wait for a writer forever. Non-blocking, so that
    // one swapped in since cannot either.
    if n == 0 || !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let mut file = open_nonblocking(path)?;
    let mut cursor = CURSOR.lock().ok()?;
    let (mut line, mut offset) = match cursor.as_ref() {
        Some(c) if c.path == path && c.line <= n => (c.line, c.offset),
        _ => (1, 0),
    };
    file.seek(SeekFrom::Start(offset)).ok()?;
    let mut reader = std::io::BufReader::new(file.take(MAX_READ_BYTES.saturating_sub(offset)));
    while line < n {
        let skipped = reader.skip_until(b'\n').ok()?;
        if skipped == 0 {
            return None;
        }
        offset += skipped as u64;
        line += 1;
    }
    *cursor = Some(Cursor {
        path: path.to_path_buf(),
        line,
        offset,
    });
    drop(cursor);
    // The wanted line itself is read to at most a little more than is shown.
    let mut buf = Vec::new();
    let limit = (MAX_LINE_CHARS * 4 + 4) as u64;
    let read = (&mut reader).take(limit).read_until(b'\n', &mut buf).ok()?;
    if read == 0 {
        return None;
    }
    let text = String::from_utf8_lossy(&buf);
    Some(text.trim_end_matches(['\n', '\r']).to_string())
}

#[cfg(unix)]
fn open_nonblocking(path: &std::path::Path) -> Option<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    file.metadata().ok()?.is_file().then_some(file)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &std::path::Path) -> Option<std::fs::File> {
    std::fs::File::open(path).ok()
}

/// The line as shown (cut to [`MAX_LINE_CHARS`] with an ellipsis, tabs as spaces) and the byte
/// range to underline: the field's last key when the line holds it, else the word at the column,
/// else the line's first word (a document's first key).
fn cut(line: &str, field: Option<&str>, column: Option<u32>) -> (String, std::ops::Range<usize>) {
    let mut text: String = line
        .chars()
        .take(MAX_LINE_CHARS)
        .map(|c| if c == '\t' { ' ' } else { c })
        .collect();
    if line.chars().count() > MAX_LINE_CHARS {
        text.push('…');
    }
    let start_of_text = text.len() - text.trim_start().len();
    let whole = start_of_text..text.trim_end().len().max(start_of_text);
    let key = field
        .and_then(|f| f.rsplit('.').next())
        .map(|k| k.split('[').next().unwrap_or(k))
        .filter(|k| !k.is_empty());
    if let Some(k) = key {
        if let Some(at) = find_key(&text, k) {
            return (text, at..at + k.len());
        }
    }
    let column = column
        .and_then(|c| usize::try_from(c).ok())
        .and_then(|c| text.char_indices().nth(c.saturating_sub(1)))
        // A script's column counts from the script's own margin, not the file's: a column that
        // lands on blanks is no help.
        .filter(|(_, c)| !c.is_whitespace())
        .map(|(i, _)| i);
    let at = column.unwrap_or(start_of_text);
    let rest = text.get(at..).unwrap_or("");
    let len = rest
        .find(|ch: char| ch.is_whitespace() || matches!(ch, ':' | ',' | '('))
        .unwrap_or(rest.len())
        .max(rest.chars().next().map_or(0, char::len_utf8));
    if rest.is_empty() {
        return (text, whole);
    }
    (text, at..at + len)
}

/// Where `key` stands as a YAML or JSON key on the line (`key:`, `"key":`, `- key:`).
fn find_key(text: &str, key: &str) -> Option<usize> {
    let trimmed = text.trim_start().trim_start_matches("- ").trim_start();
    let offset = text.len() - trimmed.len();
    let unquoted = trimmed.trim_start_matches(['"', '\'']);
    let quote = trimmed.len() - unquoted.len();
    if unquoted.starts_with(key) {
        let after = unquoted.get(key.len()..).unwrap_or("");
        let after = after.trim_start_matches(['"', '\'']);
        if after.starts_with(':') {
            return Some(offset + quote);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_is_underlined() {
        let cases = [
            ("  storageGb: 5", Some("spec.storageGb"), None, 2..11),
            ("  - name: a", Some("spec.items[0].name"), None, 4..8),
            ("  \"size\": 3", Some("spec.size"), None, 3..7),
            ("  other: 3", Some("spec.size"), Some(10), 9..10),
            ("  other: 3", None, None, 2..7),
            ("{\"a\":1}", None, None, 0..4),
            ("      reject(`no`);", None, Some(3), 6..12),
            ("", None, None, 0..0),
        ];
        for (line, field, column, span) in cases {
            assert_eq!(cut(line, field, column).1, span, "{line:?}");
        }
    }

    #[test]
    fn a_long_line_is_cut_with_an_ellipsis() {
        let line = format!("key: {}", "é".repeat(500));
        let (text, span) = cut(&line, Some("key"), None);
        assert_eq!(text.chars().count(), MAX_LINE_CHARS + 1);
        assert!(text.ends_with('…'));
        assert_eq!(span, 0..3);
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.yaml");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        assert_eq!(read_line(&fifo, 1), None);
        assert_eq!(read_line(&dir.path().join("missing"), 1), None);
    }

    #[test]
    fn lines_are_read_in_any_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.yaml");
        std::fs::write(&file, "one\ntwo\r\n\nfour").unwrap();
        let other = dir.path().join("b.yaml");
        std::fs::write(&other, "b1\nb2\n").unwrap();
        let cases = [
            (&file, 2, Some("two")),
            (&file, 4, Some("four")),
            (&file, 1, Some("one")),
            (&other, 2, Some("b2")),
            (&file, 3, Some("")),
            (&file, 5, None),
            (&file, 0, None),
            (&other, 3, None),
            (&file, 4, Some("four")),
        ];
        for (path, n, want) in cases {
            assert_eq!(
                read_line(path, n).as_deref(),
                want,
                "{} {n}",
                path.display()
            );
        }
    }

    #[test]
    fn a_column_past_the_line_underlines_the_line() {
        assert_eq!(cut("  a: b", None, Some(99)).1, 2..3);
    }
}
