//! A commit's operations applied to the store's directory (the folder store's replay, the git
//! store's checkout): every path checked through the wall before the first is written, then
//! the writes spread over the threads.
//!
//! The operations are cut into contiguous parts, each checked and later written by one thread
//! with its own [`Checked`] (a wave's files sit in their instance's folders, so the parts share
//! few folders). Writes go first, in parallel; removals after, in order: a removal then leaves
//! no folder empty that a write of the batch still needs, and no write waits on one. A batch
//! that names a path twice is applied in its order, on one thread, as it must (the last wins).

use super::backend::Op;
use super::path::{self, Checked, PathError, StorePath};
use crate::error::Result;
use rayon::prelude::*;
use std::ops::Range;
use std::path::Path;

/// Operations per part at least: below this, a part costs more to start than it saves.
const MIN_PART: usize = 512;

/// A batch whose every path the wall accepted, ready to be applied.
pub struct Batch {
    parts: Vec<Part>,
    /// Whether the batch names a path twice (then it is applied in order).
    repeats: bool,
}

/// One contiguous part of the batch: its paths, and the folders its check found real.
struct Part {
    range: Range<usize>,
    paths: Vec<StorePath>,
    checked: Checked,
}

/// Checks every path of `ops` under `root`; the first refused path, in the order of `ops`,
/// is the error (whatever the threads).
pub fn check(root: &Path, ops: &[Op]) -> Result<Batch, PathError> {
    let repeats = repeats(ops);
    let ranges = if repeats {
        std::iter::once(0..ops.len()).collect()
    } else {
        ranges(ops.len(), rayon::current_num_threads())
    };
    let parts: Vec<Result<Part, PathError>> = ranges
        .into_par_iter()
        .map(|range| check_part(root, ops, range))
        .collect();
    Ok(Batch {
        parts: parts.into_iter().collect::<Result<_, _>>()?,
        repeats,
    })
}

impl Batch {
    /// Writes and removes what `ops` (the batch checked) say, but for the operations `skip`
    /// marks (`true`: leave as it is); an empty `skip` skips nothing. The first error in the
    /// order of `ops` is returned, after every part has been tried.
    pub fn apply(mut self, root: &Path, ops: &[Op], skip: &[bool]) -> Result<()> {
        let skipped = |i: usize| skip.get(i).copied().unwrap_or(false);
        if self.repeats {
            return self
                .parts
                .iter_mut()
                .try_for_each(|p| p.run(root, ops, &|i| !skipped(i)));
        }
        let writes: Vec<Result<()>> = self
            .parts
            .par_iter_mut()
            .map(|p| p.run(root, ops, &|i| !skipped(i) && is_write(ops, i)))
            .collect();
        writes.into_iter().collect::<Result<()>>()?;
        self.parts
            .iter_mut()
            .try_for_each(|p| p.run(root, ops, &|i| !skipped(i) && !is_write(ops, i)))
    }

    /// The checked paths, in the order of the operations.
    #[cfg(test)]
    pub(crate) fn paths(&self) -> impl Iterator<Item = &StorePath> {
        self.parts.iter().flat_map(|p| p.paths.iter())
    }
}

impl Part {
    /// Applies the part's operations that `chosen` picks (by their index in the batch).
    fn run(&mut self, root: &Path, ops: &[Op], chosen: &dyn Fn(usize) -> bool) -> Result<()> {
        let all = ops.get(self.range.clone()).unwrap_or_default();
        for ((i, op), sp) in self.range.clone().zip(all).zip(&self.paths) {
            if !chosen(i) {
                continue;
            }
            match op {
                Op::Write { bytes, .. } => sp.overwrite_in(root, bytes, &mut self.checked)?,
                Op::Remove { .. } => sp.remove_in(root, &mut self.checked)?,
            }
        }
        Ok(())
    }
}

fn is_write(ops: &[Op], i: usize) -> bool {
    matches!(ops.get(i), Some(Op::Write { .. }))
}

fn check_part(root: &Path, ops: &[Op], range: Range<usize>) -> Result<Part, PathError> {
    let mut checked = Checked::default();
    let all = ops.get(range.clone()).unwrap_or_default();
    let paths = path::check_all_in(root, all.iter().map(Op::path), &mut checked)?;
    Ok(Part {
        range,
        paths,
        checked,
    })
}

/// Whether any path is named twice.
fn repeats(ops: &[Op]) -> bool {
    let mut seen = std::collections::HashSet::with_capacity(ops.len());
    !ops.iter().all(|op| seen.insert(op.path()))
}

/// `len` cut into contiguous ranges: a few per thread (for balance), none under [`MIN_PART`].
fn ranges(len: usize, threads: usize) -> Vec<Range<usize>> {
    let want = (threads * 4).max(1);
    let size = len.div_ceil(want).max(MIN_PART);
    (0..len.div_ceil(size))
        .map(|k| k * size..((k + 1) * size).min(len))
        .collect()
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
