//! Assigning changed instances to waves: who moves (`from`), ranking, canaries (`canary.rs`),
//! first-matching wave, balanced batches by `maxSize`, bakes and failure budgets. (When the
//! waves may start is `timing`'s job.)
//!
//! Ranks come from a hash of (Promise, target version, namespace/name) alone, so they do not
//! depend on the rest of the fleet: rerunning the plan picks the same canaries, and growing a
//! percentage only adds instances.

use super::file::{Action, Batch, Blocked, Change, Held, Wave, WaveInstance};
use crate::diag::{self, Finding};
use crate::model::{Bake, InstanceRef, Rollout, RolloutWave, Selector, Share};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// The result of assigning changes to waves.
pub struct Assigned {
    pub waves: Vec<Wave>,
    /// Each wave's bake in seconds (0 without one), for timing the waves.
    pub bakes: Vec<i64>,
    /// Changed instances that matched no wave (an error: nothing is left out silently).
    pub unassigned: Vec<Blocked>,
    /// Updates their rollout's `from` does not take: not moved, listed with the reason.
    pub held: Vec<Held>,
    pub findings: Vec<Finding>,
    /// How many instances of the whole run may fail their gates before the run halts.
    pub run_budget: u64,
}

/// What the planner knows of a change besides the change itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct Facts<'a> {
    /// The version the store records this instance failed at (its binding's
    /// `status.failedVersion`, set by apply when its gate fails).
    pub failed_version: Option<&'a str>,
}

/// Everything that decides the waves besides the changes themselves.
pub struct Strategy<'a> {
    /// The rollout strategy of a Promise, when it has one.
    pub rollout_of: &'a (dyn Fn(&str) -> Option<&'a Rollout> + Sync),
    /// For Promises without one (vow.yaml's `rollout`, else one catch-all wave).
    pub fallback: Rollout,
    /// The facts of each change (an earlier failure).
    pub facts_of: &'a (dyn Fn(&InstanceRef) -> Facts<'a> + Sync),
}

/// The stable rank key of an instance.
pub fn rank_key(c: &Change) -> u64 {
    let version = c.to.as_deref().or(c.from.as_deref()).unwrap_or("");
    c.id.stable_hash(crate::model::HashUse::Rank { version })
}

/// An instance on its way into a wave.
struct Slot<'a> {
    change: &'a Change,
    rank: usize,
    placement: String,
}

/// One Promise's part of a named wave.
struct Portion<'a> {
    spec: &'a RolloutWave,
    budget_default: Option<Share>,
    slots: Vec<Slot<'a>>,
}

/// Assigns the changed instances to waves (see the module header). The waves are not timed.
pub fn assign(strategy: &Strategy, changes: &[Change]) -> Assigned {
    let fallback = &strategy.fallback;
    let mut by_promise: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
    // A Promise's own dependencies (operators, CRDs) go first, in a wave of their own: the
    // instances that need them come after.
    let mut dependencies: Vec<Slot> = Vec::new();
    for c in changes.iter().filter(|c| c.action != Action::Unchanged) {
        if c.id.is_dependencies() {
            dependencies.push(Slot {
                change: c,
                rank: 0,
                placement: "the Promise's dependencies go first".into(),
            });
            continue;
        }
        by_promise.entry(c.id.promise.as_str()).or_default().push(c);
    }
    let mut sorted = Sorted::default();
    for (promise, list) in by_promise {
        let rollout = (strategy.rollout_of)(promise).unwrap_or(fallback);
        let list = sorted.hold(rollout, list);
        sorted.add_promise(promise, rollout, list, strategy.facts_of);
    }
    let Sorted {
        canaries,
        named,
        unassigned,
        held,
        findings,
        run_budget,
    } = sorted;
    let mut waves = Vec::new();
    if !dependencies.is_empty() {
        waves.push(make_wave(
            0,
            "dependencies",
            false,
            None,
            None,
            0,
            dependencies,
        ));
    }
    if !canaries.is_empty() {
        let bake = max_bake(canaries.iter().map(|s| {
            (strategy.rollout_of)(&s.change.id.promise)
                .unwrap_or(fallback)
                .canary
                .as_ref()
                .and_then(|c| c.bake.as_ref())
        }));
        waves.push(make_wave(
            waves.len(),
            "canary",
            true,
            None,
            bake,
            0,
            canaries,
        ));
    }
    for (name, portions) in named {
        push_batches(&mut waves, &name, portions);
    }
    let (waves, bakes) = waves.into_iter().unzip();
    Assigned {
        waves,
        bakes,
        unassigned,
        held,
        findings,
        run_budget,
    }
}

/// The changes of every Promise sorted into canaries and named waves, in rank order, before the
/// waves are cut into batches.
#[derive(Default)]
struct Sorted<'a> {
    canaries: Vec<Slot<'a>>,
    /// The named waves in their global order, each with every Promise's part of it.
    named: Vec<(String, Vec<Portion<'a>>)>,
    unassigned: Vec<Blocked>,
    held: Vec<Held>,
    findings: Vec<Finding>,
    run_budget: u64,
}

impl<'a> Sorted<'a> {
    /// Holds the upgrades the rollout's `from` does not take (an update to another version
    /// from a version outside it); returns the changes that go on. Creates, deletes and
    /// updates that stay on their version are not upgrades and always go on.
    fn hold(&mut self, rollout: &Rollout, list: Vec<&'a Change>) -> Vec<&'a Change> {
        let Some(filter) = &rollout.from else {
            return list;
        };
        let mut kept = Vec::with_capacity(list.len());
        for c in list {
            let why = match (c.action, c.from.as_deref(), c.to.as_deref()) {
                (Action::Update, Some(from), Some(to)) if from != to => filter.admits(from).err(),
                _ => None,
            };
            match why {
                Some(reason) => self.held.push(Held {
                    instance: c.id.clone(),
                    version: c.from.clone().unwrap_or_default(),
                    reason,
                }),
                None => kept.push(c),
            }
        }
        kept
    }

    /// Ranks one Promise's changes, picks its canaries and gives each other change the first
    /// wave whose selector matches it.
    fn add_promise<'f>(
        &mut self,
        promise: &str,
        rollout: &'a Rollout,
        list: Vec<&'a Change>,
        facts_of: &(dyn Fn(&InstanceRef) -> Facts<'f> + Sync),
    ) {
        // The keys are hashed and sorted on every thread; the sort is stable, as the serial
        // one was, so the order is the same whatever the thread count.
        let mut keyed: Vec<(u64, &'a Change)> =
            list.into_par_iter().map(|c| (rank_key(c), c)).collect();
        keyed.par_sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
        let of = keyed.len();
        self.run_budget += rollout.failure_budget.map_or(0, |q| q.of(of as u64));
        let ranked: Vec<(usize, &Change)> = keyed
            .into_iter()
            .enumerate()
            .map(|(i, (_, c))| (i + 1, c))
            .collect();
        let chosen = rollout
            .canary
            .as_ref()
            .map(|c| super::canary::choose(c, &ranked))
            .unwrap_or_default();
        let mut portions: Vec<Portion> = rollout
            .waves
            .iter()
            .map(|spec| Portion {
                spec,
                budget_default: rollout.failure_budget,
                slots: Vec::new(),
            })
            .collect();
        // Where each change goes, decided on every thread (selectors, placement texts), then
        // handed out in rank order.
        let places: Vec<Place> = ranked
            .par_iter()
            .map(|&(rank, c)| place(rank, of, c, &chosen, &portions, facts_of))
            .collect();
        for ((rank, c), at) in ranked.into_iter().zip(places) {
            match at {
                Place::Canary(placement) => self.canaries.push(Slot {
                    change: c,
                    rank,
                    placement,
                }),
                Place::Wave(i, placement) => {
                    if let Some(p) = portions.get_mut(i) {
                        p.slots.push(Slot {
                            change: c,
                            rank,
                            placement,
                        });
                    }
                }
                Place::None => self.no_wave(promise, rollout, c),
            }
        }
        merge_names(&mut self.named, portions);
    }

    /// A change that matches none of its Promise's waves: reported, and left out of the rollout.
    fn no_wave(&mut self, promise: &str, rollout: &Rollout, c: &Change) {
        let names: Vec<&str> = rollout.waves.iter().map(|w| w.name.as_str()).collect();
        let f = Finding::new(
            diag::NO_WAVE,
            format!("{}: matches none of the waves of Promise {promise} ({})", c.id, names.join(", ")),
        )
        .instance(c.id.to_string())
        .help("add a catch-all wave (a wave without a selector) or a selector that matches its labels");
        let f = f.at_opt(c.location.clone());
        self.unassigned.push(Blocked::from_findings(
            &c.id,
            c.location.as_ref(),
            std::slice::from_ref(&f),
        ));
        self.findings.push(f);
    }
}

/// Where one ranked change goes.
enum Place {
    Canary(String),
    /// The index of the Promise's first wave whose selector matches.
    Wave(usize, String),
    None,
}

fn place<'f>(
    rank: usize,
    of: usize,
    c: &Change,
    chosen: &BTreeMap<InstanceRef, String>,
    portions: &[Portion],
    facts_of: &(dyn Fn(&InstanceRef) -> Facts<'f> + Sync),
) -> Place {
    let failed = failed_note(c, &facts_of(&c.id));
    if let Some(why) = chosen.get(&c.id) {
        return Place::Canary(format!("{why}, rank {rank}/{of}{failed}"));
    }
    let found = portions.iter().position(|p| {
        p.spec
            .selector
            .as_ref()
            .is_none_or(|s| s.matches(&c.labels))
    });
    let Some((i, p)) = found.and_then(|i| portions.get(i).map(|p| (i, p))) else {
        return Place::None;
    };
    let why = match &p.spec.selector {
        None => format!("catch-all wave {}", p.spec.name),
        Some(s) => format!("wave {}: {} matched", p.spec.name, describe(s)),
    };
    Place::Wave(i, format!("{why}, rank {rank}/{of}{failed}"))
}

/// `; failed v1.4.0 in an earlier run` when the store records that this instance failed the
/// version it is planned to move to (its binding's `status.failedVersion`).
fn failed_note(c: &Change, facts: &Facts) -> String {
    match (facts.failed_version, c.to.as_deref()) {
        (Some(f), Some(to)) if f == to => format!("; failed {to} in an earlier run"),
        _ => String::new(),
    }
}

fn describe(s: &Selector) -> String {
    let mut parts: Vec<String> = s
        .match_labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for r in &s.match_expressions {
        parts.push(format!("{} {:?} {:?}", r.key, r.operator, r.values));
    }
    if parts.is_empty() {
        "{} (everything)".into()
    } else {
        parts.join(",")
    }
}

/// Merges one Promise's waves into the global order: a wave name seen before keeps its place,
/// a new one goes right after the previous wave of the same Promise.
fn merge_names<'a>(named: &mut Vec<(String, Vec<Portion<'a>>)>, portions: Vec<Portion<'a>>) {
    let mut after: Option<usize> = None;
    for p in portions {
        let name = p.spec.name.clone();
        let at = match named.iter().position(|(n, _)| *n == name) {
            Some(i) => i,
            None => {
                let i = after.map(|a| a + 1).unwrap_or(named.len());
                named.insert(i, (name, Vec::new()));
                i
            }
        };
        if let Some((_, wave)) = named.get_mut(at) {
            wave.push(p);
        }
        after = Some(at);
    }
}

/// How a part of `total` instances is cut by a `maxSize` of `cap`: the fewest batches that
/// respect it, their sizes differing by at most one, the larger first (51 at 10: 9, 9, 9, 8,
/// 8, 8). Growing the cap never shrinks the first k batches taken together (property-tested).
pub fn batch_sizes(total: usize, cap: usize) -> Vec<usize> {
    if total == 0 {
        return Vec::new();
    }
    let n = total.div_ceil(cap.max(1));
    let (q, r) = (total / n, total % n);
    (0..n).map(|i| q + usize::from(i < r)).collect()
}

/// One Promise's slice of one batch, with its failure budget.
type Part<'a> = (Vec<Slot<'a>>, u64);

/// Splits a named wave into batches: each Promise's part by its own resolved `maxSize`
/// ([`batch_sizes`]), batch k holding the k-th slice of every part.
fn push_batches(waves: &mut Vec<(Wave, i64)>, name: &str, portions: Vec<Portion>) {
    let mut chunks: Vec<(Vec<Part>, Option<Bake>)> = Vec::new();
    for mut p in portions {
        if p.slots.is_empty() {
            continue;
        }
        // Ranks are unique within a Promise.
        p.slots.par_sort_unstable_by_key(|s| s.rank);
        let total = p.slots.len() as u64;
        let size = p
            .spec
            .max_size
            .map(|q| q.of(total))
            .filter(|n| *n > 0)
            .unwrap_or(total) as usize;
        let budget = p.spec.failure_budget.or(p.budget_default);
        let mut parts = Vec::new();
        let mut slots = p.slots.into_iter();
        for n in batch_sizes(total as usize, size) {
            // Each batch's budget is resolved against its own size.
            let b = budget.map_or(0, |q| q.of(n as u64));
            parts.push((slots.by_ref().take(n).collect(), b));
        }
        chunks.push((parts, p.spec.bake.clone()));
    }
    let of = chunks.iter().map(|c| c.0.len()).max().unwrap_or(0);
    for k in 0..of {
        let mut slots = Vec::new();
        let mut bakes = Vec::new();
        let mut budget = 0;
        for (parts, bake) in chunks.iter_mut() {
            if let Some((part, b)) = parts.get_mut(k) {
                slots.append(part);
                bakes.push(bake.clone());
                budget += *b;
            }
        }
        let bake = max_bake(bakes.iter().map(Option::as_ref));
        let batch = (of > 1).then_some(Batch { index: k + 1, of });
        waves.push(make_wave(
            waves.len(),
            name,
            false,
            batch,
            bake,
            budget,
            slots,
        ));
    }
}

/// The longest of some bakes (the last of equals, as written).
fn max_bake<'a>(bakes: impl Iterator<Item = Option<&'a Bake>>) -> Option<Bake> {
    bakes.flatten().max_by_key(|b| b.seconds).cloned()
}

fn make_wave(
    index: usize,
    name: &str,
    canary: bool,
    batch: Option<Batch>,
    bake: Option<Bake>,
    budget: u64,
    mut slots: Vec<Slot>,
) -> (Wave, i64) {
    // Stable, as the serial sort was: the same order whatever the thread count.
    slots.par_sort_by(|a, b| a.change.id.cmp(&b.change.id));
    let seconds = bake.as_ref().map_or(0, |b| b.seconds);
    let wave = Wave {
        index,
        name: name.to_string(),
        canary,
        batch,
        size: slots.len(),
        bake: bake.map(|b| b.text),
        failure_budget: budget,
        not_before: None,
        waits_for: Vec::new(),
        gate: true,
        instances: slots
            .into_par_iter()
            .map(|s| WaveInstance {
                instance: s.change.id.clone(),
                action: s.change.action,
                from: s.change.from.clone(),
                to: s.change.to.clone(),
                reason: s.change.reason.clone(),
                placement: s.placement,
                source: None,
                labels: s.change.labels.clone(),
            })
            .collect(),
    };
    (wave, seconds)
}
