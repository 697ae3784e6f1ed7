//! Sharded planning, for fleets too large for one machine. `vow plan --shard K/N` loads the whole
//! workspace (so duplicates, bindings and load findings are judged over all of it, the same in
//! every shard), evaluates only the requests whose id hashes to shard K, and writes a partial
//! result. `vow plan --merge PARTS...` checks the partials belong together and to this workspace,
//! and plans from their evaluations: the plan an unsharded run gives, byte for byte.

use crate::diag::Finding;
use crate::error::{Error, Result};
use crate::evaluate::Evaluated;
use crate::load::inputs::{Catalogue, InputDigests};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The format version of partial plans.
/// 2: evaluations carry `specChanged` instead of the defaulted spec.
/// 3: an evaluation's `id` is its instance's text (`promise:namespace/name`), not an object.
const PARTIAL_VERSION: u32 = 3;

/// `K/N`: the K-th of N shards, 1-based (as CI matrices count; a Kubernetes Indexed Job passes
/// `$((JOB_COMPLETION_INDEX + 1))/N`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("`{s}` is not K/N with 1 <= K <= N (for example 2/8)");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u64, u64) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// What one shard writes: its evaluations, plus (first shard only) what the whole load found.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Partial {
    pub vow_partial: u32,
    pub shard: u64,
    pub of: u64,
    /// `--now` of the run: plans merged from shards planned at other times would differ.
    pub now: Option<String>,
    /// The time waivers were judged at.
    pub judged_at: String,
    pub promise: Option<String>,
    pub inputs: InputDigests,
    /// The load's findings and unreadable request documents (first shard only; the same in all).
    pub findings: Vec<Finding>,
    pub unread_requests: Vec<String>,
    pub evaluated: Vec<Evaluated>,
}

impl Partial {
    pub fn new(
        inputs: &Catalogue,
        shard: Shard,
        now: Option<String>,
        promise: Option<String>,
        evaluated: Vec<Evaluated>,
    ) -> Partial {
        let first = shard.index == 1;
        Partial {
            vow_partial: PARTIAL_VERSION,
            shard: shard.index,
            of: shard.count,
            now,
            judged_at: crate::duration::format_time(inputs.now),
            promise,
            inputs: inputs.digests.clone(),
            findings: if first {
                inputs.findings.clone()
            } else {
                Vec::new()
            },
            unread_requests: if first {
                inputs.unread_requests.clone()
            } else {
                Vec::new()
            },
            evaluated,
        }
    }

    pub fn read(path: &PathBuf) -> Result<Partial> {
        let text = std::fs::read(path).map_err(|e| {
            Error::Usage(format!(
                "cannot read the partial plan {}: {e}",
                path.display()
            ))
        })?;
        let p: Partial = serde_json::from_slice(&text).map_err(|e| {
            Error::EditedPlan(format!(
                "{} is not a partial plan written by `vow plan --shard K/N --out FILE`: {e}",
                path.display()
            ))
        })?;
        if p.vow_partial != PARTIAL_VERSION {
            return Err(Error::EditedPlan(format!(
                "{} is a partial plan of format {}; this vow reads format {PARTIAL_VERSION}",
                path.display(),
                p.vow_partial
            )));
        }
        Ok(p)
    }
}

/// What `--merge` plans from: every shard's evaluations in the order an unsharded run has them,
/// the catalogue the shards read, and `--now` and `--promise` of the shards.
pub struct Merged {
    /// This workspace's catalogue (checked to be the shards'), with what only the shards saw:
    /// the requests' digest and load findings, and the time waivers were judged at.
    pub catalogue: Catalogue,
    pub evaluated: Vec<Evaluated>,
    pub now: Option<String>,
    pub promise: Option<String>,
}

/// Checks that `parts` are all the shards of one run over this workspace, and combines them.
/// `here` is the workspace loaded without requests.
pub fn merge(here: Catalogue, parts: Vec<(PathBuf, Partial)>) -> Result<Merged> {
    let Some((_, first)) = parts.iter().find(|(_, p)| p.shard == 1) else {
        return Err(Error::Usage(
            "the first shard (1/N) is missing; pass every partial plan to --merge".into(),
        ));
    };
    let of = first.of;
    // A set, not a vector of `of` flags: `of` comes from a file and may be any number.
    let mut seen = std::collections::BTreeSet::new();
    for (path, p) in &parts {
        let at = path.display();
        if p.of != of || p.shard == 0 || p.shard > of {
            return Err(Error::Usage(format!(
                "{at} is shard {}/{}, not one of {of} shards",
                p.shard, p.of
            )));
        }
        if !seen.insert(p.shard) {
            return Err(Error::Usage(format!(
                "{at}: shard {}/{of} is given twice",
                p.shard
            )));
        }
        if p.inputs != first.inputs {
            return Err(Error::Usage(format!("{at} was planned from other inputs than shard 1/{of}: plan every shard from the same commit")));
        }
        if p.now != first.now || p.promise != first.promise {
            return Err(Error::Usage(format!(
                "{at} was planned with another --now or --promise than shard 1/{of}"
            )));
        }
    }
    if let Some(missing) = (1..=of).find(|s| !seen.contains(s)) {
        return Err(Error::Usage(format!("shard {missing}/{of} is missing")));
    }
    check_workspace(&here, &first.inputs)?;
    let catalogue = Catalogue {
        findings: first.findings.clone(),
        unread_requests: first.unread_requests.clone(),
        digests: first.inputs.clone(),
        now: crate::duration::parse_time(&first.judged_at).map_err(Error::EditedPlan)?,
        ..here
    };
    let (now, promise) = (first.now.clone(), first.promise.clone());
    let mut evaluated: Vec<Evaluated> = parts.into_iter().flat_map(|(_, p)| p.evaluated).collect();
    evaluated.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Merged {
        catalogue,
        evaluated,
        now,
        promise,
    })
}

/// The workspace `--merge` runs in must be the one the shards read (requests aside: they are
/// not read again).
fn check_workspace(inputs: &Catalogue, shards: &InputDigests) -> Result<()> {
    let here = &inputs.digests;
    let changed: Vec<&str> = [
        ("Promises", here.promises != shards.promises),
        ("rules", here.rules != shards.rules),
        ("destinations", here.destinations != shards.destinations),
        ("the store", here.store != shards.store),
    ]
    .iter()
    .filter(|(_, c)| *c)
    .map(|(w, _)| *w)
    .collect();
    if !changed.is_empty() {
        return Err(Error::Usage(format!(
            "the shards were planned from other {} than this workspace has: merge in the checkout the shards planned",
            changed.join(", ")
        )));
    }
    Ok(())
}
