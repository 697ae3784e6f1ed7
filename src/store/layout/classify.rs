//! The inverse of the layout: what a store-relative path is (see the table in `layout`).

use super::{instance_dir, DEPENDENCIES, FOLDER_LOCK, REDO_LOG, REDO_STAGED};
use crate::model::InstanceRef;

/// What a store-relative path is, by the layout above: the inverse of the functions that build
/// them. Anything not under `.vow/` that has no instance's layout is [`Entry::Other`] (a file
/// of a `filepath.mode: none` or `aggregatedYAML` destination, or anything else).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// A file of an instance's outputs (`aggregated`: one of an `aggregatedYAML` destination's
    /// parts). `file` may hold folders.
    Output {
        aggregated: bool,
        dest: String,
        id: InstanceRef,
        pipeline: String,
        id5: String,
        file: String,
    },
    Binding(InstanceRef),
    Revision {
        promise: String,
        version: String,
        file: String,
    },
    Journal {
        run: String,
    },
    Backup {
        run: String,
        wave: usize,
        id: InstanceRef,
    },
    Health {
        file: String,
    },
    /// The folder store's redo log, staged or committed.
    RedoLog {
        committed: bool,
    },
    Lock,
    /// Another file of vow's under `.vow/` (one this version does not write).
    OtherRecord,
    Other,
}

/// Classifies a store-relative path. An output path is read from its first `resources/` or
/// `dependencies/` component followed by the rest of the layout (an `<id5>` where it belongs);
/// a destination path or an output's name that mimics the layout can still be read the wrong
/// way, so a reader that knows the instance uses [`output_of`].
pub fn classify(rel: &str) -> Entry {
    let parts: Vec<&str> = rel.split('/').collect();
    match parts.as_slice() {
        [".vow", "aggregated", rest @ ..] => output(rest, true).unwrap_or(Entry::OtherRecord),
        [".vow", rest @ ..] => record(rest, rel),
        _ => output(&parts, false).unwrap_or(Entry::Other),
    }
}

/// A path under `.vow/`, without the `.vow`.
fn record(parts: &[&str], rel: &str) -> Entry {
    let id = InstanceRef::request;
    match parts {
        ["bindings", p, file] if file.strip_suffix(".yaml") == Some(DEPENDENCIES) => {
            Entry::Binding(InstanceRef::dependencies(p))
        }
        ["bindings", p, ns, file] => match file.strip_suffix(".yaml") {
            Some(name) => Entry::Binding(id(p, ns, name)),
            None => Entry::OtherRecord,
        },
        ["revisions", p, v, file @ ..] if !file.is_empty() => Entry::Revision {
            promise: p.to_string(),
            version: v.to_string(),
            file: file.join("/"),
        },
        ["journal", file] => match file.strip_suffix(".yaml") {
            Some(run) => Entry::Journal { run: run.into() },
            None => Entry::OtherRecord,
        },
        ["backups", run, wave, rest @ ..] => {
            let Some(wave) = wave.strip_prefix("wave-").and_then(|w| w.parse().ok()) else {
                return Entry::OtherRecord;
            };
            let instance = match rest {
                [p, file] if file.strip_suffix(".json") == Some(DEPENDENCIES) => {
                    Some(InstanceRef::dependencies(p))
                }
                [p, ns, file] => file.strip_suffix(".json").map(|name| id(p, ns, name)),
                _ => None,
            };
            match instance {
                Some(id) => Entry::Backup {
                    run: run.to_string(),
                    wave,
                    id,
                },
                None => Entry::OtherRecord,
            }
        }
        ["health", file @ ..] if !file.is_empty() => Entry::Health {
            file: file.join("/"),
        },
        _ if rel == REDO_STAGED => Entry::RedoLog { committed: false },
        _ if rel == REDO_LOG => Entry::RedoLog { committed: true },
        _ if rel == FOLDER_LOCK => Entry::Lock,
        _ => Entry::OtherRecord,
    }
}

/// An instance's output file, from the first component that starts its layout.
fn output(parts: &[&str], aggregated: bool) -> Option<Entry> {
    (1..parts.len()).find_map(|at| {
        let dest = parts.get(..at)?.join("/");
        let entry = |id: InstanceRef, rest: &[&str]| match rest {
            [pipeline, id5, file @ ..] if !file.is_empty() && is_id5(id5) => Some(Entry::Output {
                aggregated,
                dest: dest.clone(),
                id,
                pipeline: pipeline.to_string(),
                id5: id5.to_string(),
                file: file.join("/"),
            }),
            _ => None,
        };
        match parts.get(at..)? {
            ["resources", ns, p, name, rest @ ..] => entry(InstanceRef::request(p, ns, name), rest),
            [DEPENDENCIES, p, rest @ ..] => entry(InstanceRef::dependencies(p), rest),
            _ => None,
        }
    })
}

/// Whether a component can be an `<id5>`: five lower-case hex digits.
fn is_id5(c: &str) -> bool {
    c.len() == 5 && c.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The path of one of an instance's output files below its `<pipeline>/<id5>/` folder, found
/// by the instance (a destination path may itself hold a `resources` folder): `(pipeline,
/// id5, file)`.
pub fn output_of<'a>(rel: &'a str, id: &InstanceRef) -> Option<(&'a str, &'a str, &'a str)> {
    let marker = format!("{}/", instance_dir("", id));
    let (_, rest) = rel.split_once(&marker)?;
    let mut parts = rest.splitn(3, '/');
    Some((parts.next()?, parts.next()?, parts.next()?))
}
