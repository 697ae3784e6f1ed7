//! Choosing a Promise's canaries so that they exercise the change: one instance of every change
//! kind first (the kinds whose change is more than metadata before those whose change is only
//! labels or annotations), then one per value of the `spread` labels, then by rank.
//!
//! The candidates are put in one order that depends only on them, and the first `count` (or
//! `percent`) are taken: a larger share only adds canaries, and rerunning picks the same ones.

use super::file::{Action, Change};
use crate::evaluate::summary::METADATA_ONLY;
use crate::model::{Canary, InstanceRef};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// The longest change kind quoted in a canary's explanation, in characters.
const KIND_CHARS: usize = 120;

/// What an instance's change is, as the canaries are chosen by it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChangeKind {
    /// The version transition and the change kind's text (`v1.3.0 → v1.4.0: spec.version
    /// 6.0.14 → 6.0.15`), the same for every instance whose change is the same.
    pub text: String,
    /// Only labels or annotations change (or nothing rendered does): such an instance tests
    /// nothing of the upgrade, so it is never the only canary of a kind that does more.
    pub metadata_only: bool,
}

/// What an update's change kind says when no rendered output changes (only the version
/// record moves).
pub const OUTPUTS_UNCHANGED: &str = "outputs unchanged";

/// The change kind's text of a change (see [`Change::kind`]): `None` for deletes, which are no
/// canary's test (nothing of the change runs after them). `content` is evaluation's kind of
/// an update (`evaluate::summary`), `None` when no output changes.
pub fn kind_text(
    action: Action,
    from: Option<&str>,
    to: Option<&str>,
    content: Option<&str>,
) -> Option<String> {
    let versions = match (from, to) {
        (Some(f), Some(t)) if f != t => format!("{f} → {t}"),
        (_, Some(t)) => t.to_string(),
        _ => String::new(),
    };
    match action {
        Action::Create => Some(format!("new at {versions}")),
        Action::Update => Some(format!(
            "{versions}: {}",
            content.unwrap_or(OUTPUTS_UNCHANGED)
        )),
        Action::Delete | Action::Unchanged => None,
    }
}

/// The change kind of a change, as the canaries are chosen by it.
pub fn kind_of(c: &Change) -> Option<ChangeKind> {
    let text = c.kind.clone()?;
    // Ends in `: {m}`, tested without building that text for every candidate.
    let metadata_only = c.action == Action::Update
        && [METADATA_ONLY, OUTPUTS_UNCHANGED].iter().any(|m| {
            text.strip_suffix(m)
                .is_some_and(|head| head.ends_with(": "))
        });
    Some(ChangeKind {
        text,
        metadata_only,
    })
}

/// One candidate for the canary wave.
struct Candidate<'a> {
    change: &'a Change,
    kind: Option<ChangeKind>,
    stratum: String,
}

/// Picks the canaries among `ranked` (rank order): returns id → why it was picked.
pub fn choose(c: &Canary, ranked: &[(usize, &Change)]) -> BTreeMap<InstanceRef, String> {
    // Each candidate's kind and stratum on every thread, in rank order.
    let candidates: Vec<Candidate> = ranked
        .par_iter()
        .filter(|(_, ch)| c.selector.as_ref().is_none_or(|s| s.matches(&ch.labels)))
        .map(|(_, ch)| Candidate {
            change: ch,
            kind: kind_of(ch),
            stratum: stratum(c, ch),
        })
        .collect();
    let n = candidates.len() as u64;
    let want = match (c.count, c.percent) {
        (Some(k), _) => k.min(n),
        (None, Some(p)) => ((n * p) / 100).max(u64::from(n > 0)).min(n),
        (None, None) => 0,
    } as usize;
    let mut out = BTreeMap::new();
    for (i, why) in order(c, &candidates) {
        if out.len() >= want {
            break;
        }
        if let Some(cand) = candidates.get(i) {
            out.entry(cand.change.id.clone()).or_insert(why);
        }
    }
    out
}

/// Every candidate once, in the order canaries are taken, each with why: first one of each
/// change kind (more than metadata, then metadata only), then one per spread stratum not yet
/// covered, then the rest by rank.
fn order(c: &Canary, cands: &[Candidate]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut taken = BTreeSet::new();
    let mut strata = BTreeSet::new();
    for (members, kind) in kinds_in_order(cands) {
        // Of the kind's candidates (in rank order), the best-ranked in a stratum not yet
        // covered, so that the kinds also spread over the labels when they can.
        let fresh = |j: &&usize| cands.get(**j).is_some_and(|x| !strata.contains(&x.stratum));
        let Some(&pick) = members.iter().find(fresh).or(members.first()) else {
            continue;
        };
        let Some(cand) = cands.get(pick) else {
            continue;
        };
        strata.insert(cand.stratum.clone());
        taken.insert(pick);
        let on = if c.spread.is_empty() {
            String::new()
        } else {
            format!(", {}", cand.stratum)
        };
        out.push((pick, format!("canary: covers {}{on}", clip(&kind.text))));
    }
    if !c.spread.is_empty() {
        for (i, cand) in cands.iter().enumerate() {
            if !taken.contains(&i) && strata.insert(cand.stratum.clone()) {
                taken.insert(i);
                out.push((i, format!("canary ({})", cand.stratum)));
            }
        }
    }
    for (i, cand) in cands.iter().enumerate() {
        if taken.insert(i) {
            out.push((i, format!("canary ({})", cand.stratum)));
        }
    }
    out
}

/// Each change kind of the candidates once, with its candidates in rank order: the kinds that
/// do more than metadata first, each group by how many candidates are of the kind (most
/// first), then by its best rank.
fn kinds_in_order(cands: &[Candidate]) -> Vec<(Vec<usize>, ChangeKind)> {
    let mut members: BTreeMap<&ChangeKind, Vec<usize>> = BTreeMap::new();
    for (i, cand) in cands.iter().enumerate() {
        if let Some(k) = &cand.kind {
            members.entry(k).or_default().push(i);
        }
    }
    let mut kinds: Vec<(Vec<usize>, ChangeKind)> =
        members.into_iter().map(|(k, m)| (m, k.clone())).collect();
    kinds.sort_by_key(|(m, k)| {
        let best = m.first().copied().unwrap_or(usize::MAX);
        (k.metadata_only, std::cmp::Reverse(m.len()), best)
    });
    kinds
}

/// The values of the spread labels (`region=eu-west-1`), or `by rank` without them.
pub fn stratum(c: &Canary, ch: &Change) -> String {
    if c.spread.is_empty() {
        return "by rank".into();
    }
    c.spread
        .iter()
        .map(|k| {
            format!(
                "{k}={}",
                ch.labels.get(k).map(String::as_str).unwrap_or("<none>")
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn clip(s: &str) -> String {
    if s.chars().count() <= KIND_CHARS {
        return s.to_string();
    }
    let mut out: String = s.chars().take(KIND_CHARS - 1).collect();
    out.push('…');
    out
}
