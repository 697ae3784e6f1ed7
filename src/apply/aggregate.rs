//! `aggregatedYAML` destinations: Kratix writes every document placed on such a destination into
//! one file, `<path>/<filename>`. vow keeps each instance's files as parts under
//! `.vow/aggregated/<path>/` (so they diff, back up and roll back per instance) and, in the same
//! commit as any wave that touches a part, rebuilds the one file from all of them.

use crate::model::{Destination, FilepathMode};
use crate::store::path::StorePath;
use crate::store::{layout, Op, Store};
use std::collections::BTreeMap;

/// The operations that rebuild the aggregated file of every destination whose parts `ops` touch.
/// Parts are joined in path order with Kratix's separator (`\n---\n`); a destination left with
/// no parts loses its file.
pub(super) fn ops(dests: &[Destination], st: &dyn Store, ops: &[Op]) -> Vec<Op> {
    let mut out = Vec::new();
    for d in dests
        .iter()
        .filter(|d| d.mode == FilepathMode::AggregatedYaml)
    {
        let prefix = format!("{}/", layout::aggregated_parts(&d.path));
        if !ops.iter().any(|op| op.path().starts_with(&prefix)) {
            continue;
        }
        let parts = parts_after(st, &prefix, ops);
        let path = layout::aggregated_file(&d.path, &d.filename);
        if parts.is_empty() {
            if st.dir().join(&path).exists() {
                out.push(Op::Remove { path });
            }
            continue;
        }
        let joined: Vec<&[u8]> = parts.values().map(Vec::as_slice).collect();
        out.push(Op::Write {
            path,
            bytes: joined.join(&b"\n---\n"[..]),
        });
    }
    out
}

/// The parts under `prefix` as the store will hold them once `ops` are applied.
fn parts_after(st: &dyn Store, prefix: &str, ops: &[Op]) -> BTreeMap<String, Vec<u8>> {
    let mut parts = BTreeMap::new();
    let root = st.dir().join(prefix);
    // A parts folder that is (or passes) a symlink is not walked; the commit refuses it.
    let confined = StorePath::new(prefix.trim_end_matches('/')).and_then(|p| p.dir_under(st.dir()));
    let walk = if confined.is_ok() { Some(root) } else { None };
    for entry in walk
        .iter()
        .flat_map(walkdir::WalkDir::new)
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
    {
        let Ok(rel) = entry.path().strip_prefix(st.dir()) else {
            continue;
        };
        let rel = rel.to_string_lossy().replace('\\', "/");
        // A temporary file of an interrupted folder commit is not a part.
        if rel.ends_with(layout::TMP_SUFFIX) {
            continue;
        }
        let bytes = StorePath::new(&rel)
            .ok()
            .and_then(|p| p.read(st.dir()).ok().flatten());
        if let Some(bytes) = bytes {
            parts.insert(rel, bytes);
        }
    }
    for op in ops {
        match op {
            Op::Write { path, bytes } if path.starts_with(prefix) => {
                parts.insert(path.clone(), bytes.clone());
            }
            Op::Remove { path } if path.starts_with(prefix) => {
                parts.remove(path);
            }
            _ => {}
        }
    }
    parts
}
