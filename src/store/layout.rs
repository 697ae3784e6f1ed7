//! Where everything lives in a state store: the one place a store path is built, and the one
//! place a store path is taken apart again ([`classify`]).
//!
//! Paths are relative to the store's root and `/`-separated (what [`super::Op`] and the binding
//! records hold); [`absolute`] joins one to a root, and the lock and the git cache, which may lie
//! outside the store's folder, are built absolute ([`lock_path`], [`git_cache`]). Names in them
//! come from untrusted text (requests, destinations, records): whoever reads or writes one goes
//! through [`super::path::StorePath`], which confines it to the store. Building a path here
//! checks nothing.
//!
//! | What | Path |
//! |---|---|
//! | a request's outputs (`nestedByMetadata`) | `<dest>/resources/<namespace>/<promise>/<name>/<pipeline>/<id5>/<file>` |
//! | a Promise's dependencies | `<dest>/dependencies/<promise>/<pipeline>/<id5>/<file>` |
//! | outputs in a `filepath.mode: none` destination | `<dest>/<file>` |
//! | an `aggregatedYAML` destination's file | `<dest>/<filename>` (default `aggregated.yaml`) |
//! | the parts it is built from | `.vow/aggregated/<dest>/` + the `nestedByMetadata` layout |
//! | a request's binding | `.vow/bindings/<promise>/<namespace>/<name>.yaml` |
//! | a Promise's dependencies' binding | `.vow/bindings/<promise>/dependencies.yaml` |
//! | a Promise version ever applied | `.vow/revisions/<promise>/<version>/<file>` |
//! | a run's journal | `.vow/journal/<run>.yaml` |
//! | what a wave changed (for rollback) | `.vow/backups/<run>/wave-<n>/<promise>/<namespace>/<name>.json` |
//! | the same for dependencies | `.vow/backups/<run>/wave-<n>/<promise>/dependencies.json` |
//! | health records kept in the store | `.vow/health/` |
//! | the folder store's redo log | `.vow/pending/log` (staged), `.vow/pending/committed` (the commit point) |
//! | the folder store's lock | `.vow/lock` |
//! | a git store's checkout (in the workspace) | `.vow/cache/git-<12 hex of sha256(url#branch)>/` |
//! | a git store's lock (beside its checkout) | `.vow/cache/git-<...>.lock` |
//! | a file being replaced | `<file>.vow-tmp` |
//!
//! `<id5>` is the first five hex digits of the md5 of the workload group's directory (`5058f`
//! for the root, `.`), as Kratix names it.

use super::StoreKind;
use crate::model::{FilepathMode, InstanceRef};
use md5::{Digest, Md5};
use std::path::{Path, PathBuf};

/// The folder of vow's own records in a store (and of its caches in a workspace).
pub const VOW_DIR: &str = ".vow";
/// Kratix's default `spec.filepath.filename` for `aggregatedYAML` destinations.
pub const AGGREGATED_FILENAME: &str = "aggregated.yaml";
/// The bindings, one per instance.
pub const BINDINGS_DIR: &str = ".vow/bindings";
/// The journals, one per run.
pub const JOURNAL_DIR: &str = ".vow/journal";
/// Health records written into the store.
pub const HEALTH_DIR: &str = ".vow/health";
/// The folder store's redo log folder.
pub const REDO_DIR: &str = ".vow/pending";
/// The redo log while it is written (before the commit point).
pub const REDO_STAGED: &str = ".vow/pending/log";
/// The redo log once committed: replayed by the next apply if this one stops.
pub const REDO_LOG: &str = ".vow/pending/committed";
/// The folder store's lock.
pub const FOLDER_LOCK: &str = ".vow/lock";
/// What a file being replaced is first written as, beside it.
pub const TMP_SUFFIX: &str = ".vow-tmp";

const AGGREGATED_DIR: &str = ".vow/aggregated";
const REVISIONS_DIR: &str = ".vow/revisions";
const BACKUPS_DIR: &str = ".vow/backups";
const CACHE_DIR: &str = ".vow/cache";
/// The file name of a Promise's dependencies' binding and backup.
const DEPENDENCIES: &str = "dependencies";

/// The `<id5>` directory name of a workload group directory (`.` for the root).
pub fn id5(group_dir: &str) -> String {
    format!("{:x}", Md5::digest(group_dir))
        .chars()
        .take(5)
        .collect()
}

/// Where vow keeps the per-instance parts an `aggregatedYAML` destination's file is built from:
/// laid out as nestedByMetadata under `.vow/aggregated/<destination path>/`, so each instance's
/// files diff, apply, back up and roll back like any other, and the one file Kratix would write
/// is rebuilt from them (see `apply::aggregate`).
pub fn aggregated_parts(dest_path: &str) -> String {
    format!("{AGGREGATED_DIR}/{dest_path}")
}

/// The one file an `aggregatedYAML` destination holds.
pub fn aggregated_file(dest_path: &str, filename: &str) -> String {
    format!("{dest_path}/{filename}")
}

/// The directory of an instance's outputs under `root` (a destination's path, or its
/// [`aggregated_parts`]).
pub fn instance_dir(root: &str, id: &InstanceRef) -> String {
    if id.is_dependencies() {
        return format!("{root}/{DEPENDENCIES}/{}", id.promise);
    }
    format!(
        "{root}/resources/{}/{}/{}",
        id.namespace, id.promise, id.name
    )
}

/// The folder a workload group's files go to in a destination, by its `filepath.mode`; each
/// file is `<folder>/<its name>`.
pub fn output_dir(
    mode: FilepathMode,
    dest_path: &str,
    id: &InstanceRef,
    pipeline: &str,
    group_dir: &str,
) -> String {
    let root = match mode {
        // The files go to the destination's path as they are named.
        FilepathMode::None => return dest_path.to_string(),
        FilepathMode::NestedByMetadata => dest_path.to_string(),
        FilepathMode::AggregatedYaml => aggregated_parts(dest_path),
    };
    format!("{}/{pipeline}/{}", instance_dir(&root, id), id5(group_dir))
}

/// A binding's path.
pub fn binding(id: &InstanceRef) -> String {
    if id.is_dependencies() {
        return format!("{BINDINGS_DIR}/{}/{DEPENDENCIES}.yaml", id.promise);
    }
    format!(
        "{BINDINGS_DIR}/{}/{}/{}.yaml",
        id.promise, id.namespace, id.name
    )
}

/// The folder of a Promise version's revision.
pub fn revision_dir(promise: &str, version: &str) -> String {
    format!("{REVISIONS_DIR}/{promise}/{version}")
}

/// A file of a Promise version's revision (`promise.yaml`, or a script beside it).
pub fn revision_file(promise: &str, version: &str, file: &str) -> String {
    format!("{}/{file}", revision_dir(promise, version))
}

/// A run's journal.
pub fn journal(run: &str) -> String {
    format!("{JOURNAL_DIR}/{run}.yaml")
}

/// The backup of an instance as it was before a wave of a run changed it.
pub fn backup(run: &str, wave: usize, id: &InstanceRef) -> String {
    if id.is_dependencies() {
        return format!(
            "{BACKUPS_DIR}/{run}/wave-{wave}/{}/{DEPENDENCIES}.json",
            id.promise
        );
    }
    format!(
        "{BACKUPS_DIR}/{run}/wave-{wave}/{}/{}/{}.json",
        id.promise, id.namespace, id.name
    )
}

/// A store-relative path joined to a store's root (nothing checked: see `StorePath::under`).
pub fn absolute(root: &Path, rel: &str) -> PathBuf {
    root.join(rel)
}

/// The lock of a store whose files are in `dir`. A git store's lock is beside its checkout, not
/// in it: a checkout a crash left half-made is made again, and the lock must outlive that.
pub fn lock_path(kind: &StoreKind, dir: &Path) -> PathBuf {
    match kind {
        StoreKind::Folder => absolute(dir, FOLDER_LOCK),
        StoreKind::Git { .. } => git_lock(dir),
    }
}

/// A git store's lock, beside its checkout `cache`.
pub fn git_lock(cache: &Path) -> PathBuf {
    let mut name = cache.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    cache.with_file_name(name)
}

/// Where a workspace keeps the checkout of a git store (one per remote and branch).
pub fn git_cache(workspace: &Path, url: &str, branch: &str) -> PathBuf {
    let key = super::digest(format!("{url}#{branch}").as_bytes());
    workspace
        .join(CACHE_DIR)
        .join(format!("git-{}", key.get(7..19).unwrap_or(&key)))
}

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
    let id = |promise: &str, namespace: &str, name: &str| InstanceRef {
        promise: promise.into(),
        namespace: namespace.into(),
        name: name.into(),
    };
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
            ["resources", ns, p, name, rest @ ..] => entry(
                InstanceRef {
                    promise: p.to_string(),
                    namespace: ns.to_string(),
                    name: name.to_string(),
                },
                rest,
            ),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> InstanceRef {
        InstanceRef {
            promise: "db".into(),
            namespace: "team-a".into(),
            name: "orders".into(),
        }
    }

    #[test]
    fn id5_matches_kratix() {
        // Kratix names the root workload group's directory 5058f (md5 of ".").
        assert_eq!(id5("."), "5058f");
    }

    #[test]
    fn outputs_are_laid_out_by_filepath_mode() {
        let id = request();
        assert_eq!(
            output_dir(
                FilepathMode::NestedByMetadata,
                "clusters/dev",
                &id,
                "main",
                "."
            ),
            "clusters/dev/resources/team-a/db/orders/main/5058f"
        );
        assert_eq!(
            output_dir(
                FilepathMode::AggregatedYaml,
                "clusters/dev",
                &id,
                "main",
                "."
            ),
            ".vow/aggregated/clusters/dev/resources/team-a/db/orders/main/5058f"
        );
        assert_eq!(
            output_dir(FilepathMode::None, "clusters/dev", &id, "main", "."),
            "clusters/dev"
        );
        let deps = InstanceRef::dependencies("db");
        assert_eq!(
            output_dir(FilepathMode::NestedByMetadata, "c", &deps, "p", "."),
            "c/dependencies/db/p/5058f"
        );
    }

    #[test]
    fn every_path_kind_round_trips_through_classify() {
        let id = request();
        let deps = InstanceRef::dependencies("db");
        for (i, aggregated) in [(id.clone(), false), (deps.clone(), true)]
            .into_iter()
            .flat_map(|(i, a)| [(i.clone(), a), (i, !a)])
        {
            let mode = if aggregated {
                FilepathMode::AggregatedYaml
            } else {
                FilepathMode::NestedByMetadata
            };
            let dir = output_dir(mode, "clusters/a/resources", &i, "main", "sub");
            assert_eq!(
                classify(&format!("{dir}/x/y.yaml")),
                Entry::Output {
                    aggregated,
                    dest: "clusters/a/resources".into(),
                    id: i.clone(),
                    pipeline: "main".into(),
                    id5: id5("sub"),
                    file: "x/y.yaml".into(),
                },
                "{dir}"
            );
        }
        for i in [&id, &deps] {
            assert_eq!(classify(&binding(i)), Entry::Binding(i.clone()));
            assert_eq!(
                classify(&backup("r1", 3, i)),
                Entry::Backup {
                    run: "r1".into(),
                    wave: 3,
                    id: i.clone()
                }
            );
        }
        assert_eq!(
            classify(&revision_file("db", "1.2.0", "scripts/a.rhai")),
            Entry::Revision {
                promise: "db".into(),
                version: "1.2.0".into(),
                file: "scripts/a.rhai".into()
            }
        );
        assert_eq!(
            classify(&journal("ab12")),
            Entry::Journal { run: "ab12".into() }
        );
        assert_eq!(
            classify(&format!("{HEALTH_DIR}/h.yaml")),
            Entry::Health {
                file: "h.yaml".into()
            }
        );
        assert_eq!(classify(REDO_STAGED), Entry::RedoLog { committed: false });
        assert_eq!(classify(REDO_LOG), Entry::RedoLog { committed: true });
        assert_eq!(classify(FOLDER_LOCK), Entry::Lock);
        assert_eq!(
            classify(&aggregated_file("clusters/a", AGGREGATED_FILENAME)),
            Entry::Other
        );
        assert_eq!(classify(".vow/unknown"), Entry::OtherRecord);
        assert_eq!(classify("resources/a/b/c/d/e/f"), Entry::Other);
    }

    #[test]
    fn output_of_finds_the_instance_past_a_resources_folder_in_the_destination() {
        let id = request();
        let path = format!(
            "{}/x.yaml",
            output_dir(
                FilepathMode::NestedByMetadata,
                "a/resources/b",
                &id,
                "p",
                "."
            )
        );
        assert_eq!(output_of(&path, &id), Some(("p", "5058f", "x.yaml")));
        assert_eq!(output_of("a/x.yaml", &id), None);
    }

    #[test]
    fn locks_and_caches() {
        let dir = Path::new("/s/state");
        assert_eq!(
            lock_path(&StoreKind::Folder, dir),
            Path::new("/s/state/.vow/lock")
        );
        let git = StoreKind::Git {
            url: "u".into(),
            branch: "main".into(),
        };
        let cache = git_cache(Path::new("/w"), "file:///r.git", "main");
        assert!(cache.starts_with("/w/.vow/cache"));
        let name = cache.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("git-") && name.len() == 16, "{name}");
        assert_eq!(
            lock_path(&git, &cache),
            cache.with_file_name(format!("{name}.lock"))
        );
    }

    #[test]
    fn paths_from_untrusted_names_are_still_refused_by_the_wall() {
        // Building a path checks nothing; StorePath confines it when it is used.
        let hostile = InstanceRef {
            promise: "..".into(),
            namespace: "ns".into(),
            name: "x".into(),
        };
        for rel in [binding(&hostile), backup("r", 0, &hostile), journal("../x")] {
            assert!(super::super::path::StorePath::new(&rel).is_err(), "{rel}");
        }
    }
}
