//! Checks on the whole set of an instance's outputs, once every step has run: each path was
//! checked on its own by `output()`, but a file and a directory of the same name (`a` and
//! `a/b`) only show together, and would fail every apply of the instance.
//!
//! Names differing only in case are distinct files: the store is written on Linux, and Kratix's
//! destinations are git repositories, where they are distinct too.

use super::OutputDoc;
use crate::diag::{self, Finding, Location};
use std::collections::BTreeSet;

/// The first clash among an instance's output paths (already normalised by `check_path`), as a
/// finding for `who` (the instance) at `at` (the Promise declaring the pipeline, since the two
/// outputs may come from different steps); `None` when the store can hold them all.
pub fn check_output_set(
    who: &str,
    outputs: &[(String, OutputDoc)],
    at: &Location,
) -> Option<Finding> {
    let paths: BTreeSet<&str> = outputs.iter().map(|(p, _)| p.as_str()).collect();
    let (file, inner) = paths
        .iter()
        .find_map(|p| inside(&paths, p).map(|q| (*p, q)))?;
    Some(
        Finding::new(
            diag::OUTPUT_CLASH,
            format!(
                "{who}: the outputs `{file}` and `{inner}` need `{file}` to be both a file and a \
             directory; rename one of them"
            ),
        )
        .at(at.clone()),
    )
}

/// A path of `paths` inside `dir/`, if any (the first, in order).
fn inside<'a>(paths: &BTreeSet<&'a str>, dir: &str) -> Option<&'a str> {
    let prefix = format!("{dir}/");
    paths
        .range::<str, _>((std::ops::Bound::Excluded(dir), std::ops::Bound::Unbounded))
        .take_while(|p| p.starts_with(prefix.as_str()) || p.starts_with(dir))
        .find(|p| p.starts_with(prefix.as_str()))
        .copied()
}
