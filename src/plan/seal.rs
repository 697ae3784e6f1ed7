//! The plan file written once: serialised a single time into a temporary file with a
//! fixed-width placeholder where the id goes, the id hashed from the bytes as they stream out
//! (the same bytes [`content_id`](super::content_id) hashes), then patched in place, synced and
//! renamed. Before, the plan was serialised once to hash its id and again to write it (at 100k
//! requests each pass is a 179 MB serialisation).

use super::file::Plan;
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

/// What precedes the id in a plan's text (as in `content_id`).
const KEY: &[u8] = b"\"planId\": \"";

/// Stands in for the id while the plan is written: as wide as every id (`sha256:` and 64 hex
/// digits) so patching it changes no other byte, and without a quote, so `content_id` skips it
/// as it skips the real id.
const PLACEHOLDER: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// How far into the text the id may start: an apply plan's layout puts it within the first
/// hundred bytes. (A rollback plan's keys are alphabetical, its `changes` before the id, so a
/// large one would not fit; rollback plans are written by `apply::rollback` the two-pass way.)
const HEAD_LIMIT: usize = 64 * 1024;

/// Writes `plan` to `path` once, sealed with its id (the temporary file lives next to `path`,
/// so the rename is atomic), and returns the written file, rewound, for a copy to stdout.
pub fn write_sealed(plan: &mut Plan, path: &Path) -> Result<File> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| Error::io("create a temporary file in", dir, e))?;
    seal_into(plan, tmp.as_file_mut()).map_err(|e| Error::io("write", path, e))?;
    let mut file = tmp
        .persist(path)
        .map_err(|e| Error::io("replace", path, e.error))?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io("read back", path, e))?;
    Ok(file)
}

/// Writes `plan` once into an unnamed temporary file (for stdout, which cannot be patched
/// after the fact) and returns it rewound; `None` when no temporary file can be made, and the
/// caller hashes and writes in two passes instead.
pub fn write_sealed_temporary(plan: &mut Plan) -> Option<File> {
    let mut file = tempfile::tempfile().ok()?;
    match seal_into(plan, &mut file).and_then(|()| file.seek(SeekFrom::Start(0))) {
        Ok(_) => Some(file),
        Err(e) => {
            tracing::debug!("the plan could not be written to a temporary file: {e}");
            plan.plan_id.clear();
            None
        }
    }
}

/// Serialises the plan into `file` with the placeholder, hashing as it goes, then writes the
/// id over the placeholder and syncs. Leaves `plan.plan_id` set to the id.
fn seal_into(plan: &mut Plan, file: &mut File) -> std::io::Result<()> {
    plan.plan_id = PLACEHOLDER.to_string();
    let mut hashing = Hashing::new(std::io::BufWriter::with_capacity(1 << 20, &mut *file));
    super::write_json(plan, &mut hashing)?;
    let (id, at) = hashing.finish()?;
    file.seek(SeekFrom::Start(at))?;
    file.write_all(id.as_bytes())?;
    file.sync_all()?;
    plan.plan_id = id;
    Ok(())
}

/// A writer that passes bytes through and hashes them as `content_id` does: everything but the
/// placeholder after the first `"planId": "`.
struct Hashing<W: Write> {
    inner: W,
    hasher: Sha256,
    /// The bytes before the placeholder has been seen (a few dozen: it is near the top).
    head: Vec<u8>,
    /// Where the placeholder starts in the output, once seen.
    at: Option<u64>,
}

impl<W: Write> Hashing<W> {
    fn new(inner: W) -> Hashing<W> {
        Hashing {
            inner,
            hasher: Sha256::new(),
            head: Vec::new(),
            at: None,
        }
    }

    /// Looks for the placeholder in the head; once it is whole, hashes the head without it.
    fn scan(&mut self) -> std::io::Result<()> {
        let Some(k) = self.head.windows(KEY.len()).position(|w| w == KEY) else {
            return self.check_head_size();
        };
        let start = k + KEY.len();
        let end = start + PLACEHOLDER.len();
        let Some(value) = self.head.get(start..end) else {
            return self.check_head_size();
        };
        if value != PLACEHOLDER.as_bytes() {
            return Err(invalid("the plan's first planId is not the placeholder"));
        }
        self.hasher
            .update(self.head.get(..start).unwrap_or_default());
        self.hasher.update(self.head.get(end..).unwrap_or_default());
        self.at = Some(start as u64);
        self.head = Vec::new();
        Ok(())
    }

    fn check_head_size(&self) -> std::io::Result<()> {
        if self.head.len() > HEAD_LIMIT {
            return Err(invalid("no planId near the top of the plan"));
        }
        Ok(())
    }

    /// Flushes and returns the id and where its placeholder sits.
    fn finish(mut self) -> std::io::Result<(String, u64)> {
        self.inner.flush()?;
        let at = self.at.ok_or_else(|| invalid("the plan has no planId"))?;
        Ok((format!("sha256:{:x}", self.hasher.finalize()), at))
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        let written = buf.get(..n).unwrap_or_default();
        if self.at.is_some() {
            self.hasher.update(written);
        } else {
            self.head.extend_from_slice(written);
            self.scan()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placeholder_is_as_wide_as_an_id() {
        let id = format!("sha256:{:x}", Sha256::digest(b"x"));
        assert_eq!(PLACEHOLDER.len(), id.len());
        assert!(!PLACEHOLDER.contains('"'));
    }

    #[test]
    fn the_hashing_writer_hashes_what_content_id_hashes_in_any_chunking() {
        let text = format!(
            "{{\n  \"schemaVersion\": 1,\n  \"planId\": \"{PLACEHOLDER}\",\n  \"waves\": [\"planId\": \"x\"]\n}}\n"
        );
        let want = super::super::content_id(&text);
        for chunk in [1, 3, 7, 40, 4096] {
            let mut out = Vec::new();
            let mut w = Hashing::new(&mut out);
            for piece in text.as_bytes().chunks(chunk) {
                w.write_all(piece).unwrap();
            }
            let (id, at) = w.finish().unwrap();
            assert_eq!(id, want, "chunks of {chunk}");
            let at = at as usize;
            assert_eq!(text.get(at..at + PLACEHOLDER.len()), Some(PLACEHOLDER));
            assert_eq!(out, text.as_bytes());
        }
    }

    #[test]
    fn a_stream_without_an_id_is_an_error() {
        let mut out = Vec::new();
        let mut w = Hashing::new(&mut out);
        w.write_all(b"{\"waves\": []}\n").unwrap();
        assert!(w.finish().is_err());
    }
}
