//! Waves: ranking, canaries, first-matching wave, batches by `maxSize`, bake and start times.
//!
//! Ranks come from a hash of (Promise, target version, namespace/name) alone, so they do not
//! depend on the rest of the fleet: rerunning the plan picks the same canaries, and growing a
//! percentage only adds instances.

use super::file::{Action, Batch, Blocked, Change, Wave, WaveInstance};
use super::timing::Calendar;
use crate::diag::{self, Finding};
use crate::duration::{format_time, parse_duration};
use crate::model::{Canary, Rollout, Selector, WaveSpec};
use chrono::{DateTime, Utc};

use std::collections::BTreeMap;

/// The result of placing changes into waves.
pub struct Placed {
    pub waves: Vec<Wave>,
    /// Changed instances that matched no wave (an error: nothing is left out silently).
    pub unplaced: Vec<Blocked>,
    pub findings: Vec<Finding>,
    /// How many instances of the whole run may fail their gates before the run halts.
    pub run_budget: u64,
}

/// Everything that decides placement besides the changes themselves.
pub struct Strategy<'a> {
    /// The rollout strategy of a Promise, when it has one.
    pub rollout_of: &'a dyn Fn(&str) -> Option<&'a Rollout>,
    /// For Promises without one (vow.yaml's `rollout`, else one catch-all wave).
    pub fallback: Rollout,
    pub calendar: &'a Calendar,
    pub now: Option<DateTime<Utc>>,
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
    spec: &'a WaveSpec,
    budget_default: Option<&'a crate::model::Quantity>,
    slots: Vec<Slot<'a>>,
}

pub fn default_rollout() -> Rollout {
    Rollout {
        canary: None,
        waves: vec![WaveSpec {
            name: "all".into(),
            selector: None,
            max_size: None,
            bake: None,
            failure_budget: None,
        }],
        failure_budget: None,
    }
}

/// Places the changed instances into waves (see the module header).
pub fn place(strategy: &Strategy, changes: &[Change]) -> Placed {
    let fallback = &strategy.fallback;
    let mut run_budget = 0;
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
    let mut canaries: Vec<Slot> = Vec::new();
    let mut named: Vec<(String, Vec<Portion>)> = Vec::new();
    let mut unplaced = Vec::new();
    let mut findings = Vec::new();
    for (promise, mut list) in by_promise {
        let rollout = (strategy.rollout_of)(promise).unwrap_or(fallback);
        list.sort_by_cached_key(|c| (rank_key(c), c.id.clone()));
        let of = list.len();
        run_budget += rollout
            .failure_budget
            .as_ref()
            .and_then(|q| q.resolve(of as u64).ok())
            .unwrap_or(0);
        let ranked: Vec<(usize, &Change)> = list
            .into_iter()
            .enumerate()
            .map(|(i, c)| (i + 1, c))
            .collect();
        let chosen = rollout
            .canary
            .as_ref()
            .map(|c| choose_canaries(c, &ranked))
            .unwrap_or_default();
        let mut portions: Vec<Portion> = rollout
            .waves
            .iter()
            .map(|spec| Portion {
                spec,
                budget_default: rollout.failure_budget.as_ref(),
                slots: Vec::new(),
            })
            .collect();
        for (rank, c) in &ranked {
            if let Some(stratum) = chosen.get(&c.id) {
                canaries.push(Slot {
                    change: c,
                    rank: *rank,
                    placement: format!("canary ({stratum}), rank {rank}/{of}"),
                });
                continue;
            }
            match portions.iter_mut().find(|p| {
                p.spec
                    .selector
                    .as_ref()
                    .is_none_or(|s| s.matches(&c.labels))
            }) {
                Some(p) => {
                    let why = match &p.spec.selector {
                        None => format!("catch-all wave {}", p.spec.name),
                        Some(s) => format!("wave {}: {} matched", p.spec.name, describe(s)),
                    };
                    p.slots.push(Slot {
                        change: c,
                        rank: *rank,
                        placement: format!("{why}, rank {rank}/{of}"),
                    })
                }
                None => {
                    let names: Vec<&str> = rollout.waves.iter().map(|w| w.name.as_str()).collect();
                    let f = Finding::new(
                        diag::NO_WAVE,
                        format!("{}: matches none of the waves of Promise {promise} ({})", c.id, names.join(", ")),
                    )
                    .instance(c.id.to_string())
                    .help("add a catch-all wave (a wave without a selector) or a selector that matches its labels");
                    let f = f.at_opt(c.location.clone());
                    unplaced.push(Blocked::from_findings(
                        &c.id,
                        c.location.as_ref(),
                        std::slice::from_ref(&f),
                    ));
                    findings.push(f);
                }
            }
        }
        merge_names(&mut named, portions);
    }
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
                .and_then(|c| c.bake.as_deref())
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
    schedule(&mut waves, strategy.calendar, strategy.now);
    Placed {
        waves,
        unplaced,
        findings,
        run_budget,
    }
}

/// Picks canaries: `count` or `percent` of the candidates (those matching the canary selector),
/// one per distinct value of the `spread` keys first, then by rank. Returns id → stratum.
fn choose_canaries(
    c: &Canary,
    ranked: &[(usize, &Change)],
) -> BTreeMap<crate::model::InstanceRef, String> {
    let candidates: Vec<&(usize, &Change)> = ranked
        .iter()
        .filter(|(_, ch)| c.selector.as_ref().is_none_or(|s| s.matches(&ch.labels)))
        .collect();
    let n = candidates.len() as u64;
    let want = match (c.count, c.percent) {
        (Some(k), _) => k.min(n),
        (None, Some(p)) => ((n * p) / 100).max(u64::from(n > 0)).min(n),
        (None, None) => 0,
    } as usize;
    let stratum = |ch: &Change| -> String {
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
    };
    let mut out = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    if !c.spread.is_empty() {
        for (_, ch) in &candidates {
            if out.len() >= want {
                break;
            }
            let s = stratum(ch);
            if seen.insert(s.clone()) {
                out.insert(ch.id.clone(), s);
            }
        }
    }
    for (_, ch) in &candidates {
        if out.len() >= want {
            break;
        }
        out.entry(ch.id.clone()).or_insert_with(|| stratum(ch));
    }
    out
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

/// Splits a named wave into batches: each Promise's part by its own resolved `maxSize`, batch k
/// holding the k-th slice of every part.
fn push_batches(waves: &mut Vec<Wave>, name: &str, portions: Vec<Portion>) {
    let mut chunks: Vec<(Vec<Vec<Slot>>, Option<String>, u64)> = Vec::new();
    for mut p in portions {
        if p.slots.is_empty() {
            continue;
        }
        p.slots.sort_by_key(|s| s.rank);
        let total = p.slots.len() as u64;
        let size = p
            .spec
            .max_size
            .as_ref()
            .and_then(|q| q.resolve(total).ok())
            .filter(|n| *n > 0)
            .unwrap_or(total) as usize;
        let budget = p
            .spec
            .failure_budget
            .as_ref()
            .or(p.budget_default)
            .and_then(|q| q.resolve(size as u64).ok())
            .unwrap_or(0);
        let mut parts = Vec::new();
        let mut slots = p.slots.into_iter().peekable();
        while slots.peek().is_some() {
            parts.push(slots.by_ref().take(size).collect());
        }
        chunks.push((parts, p.spec.bake.clone(), budget));
    }
    let of = chunks.iter().map(|c| c.0.len()).max().unwrap_or(0);
    for k in 0..of {
        let mut slots = Vec::new();
        let mut bakes = Vec::new();
        let mut budget = 0;
        for (parts, bake, b) in chunks.iter_mut() {
            if let Some(part) = parts.get_mut(k) {
                slots.append(part);
                bakes.push(bake.clone());
                budget += *b;
            }
        }
        let bake = bakes
            .into_iter()
            .flatten()
            .max_by_key(|b| parse_duration(b).unwrap_or(0));
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

fn max_bake<'a>(bakes: impl Iterator<Item = Option<&'a str>>) -> Option<String> {
    bakes
        .flatten()
        .max_by_key(|b| parse_duration(b).unwrap_or(0))
        .map(String::from)
}

fn make_wave(
    index: usize,
    name: &str,
    canary: bool,
    batch: Option<Batch>,
    bake: Option<String>,
    budget: u64,
    mut slots: Vec<Slot>,
) -> Wave {
    slots.sort_by(|a, b| a.change.id.cmp(&b.change.id));
    Wave {
        index,
        name: name.to_string(),
        canary,
        batch,
        size: slots.len(),
        bake,
        failure_budget: budget,
        not_before: None,
        waits_for: Vec::new(),
        gate: true,
        instances: slots
            .into_iter()
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
    }
}

/// With `--now`, each wave's earliest start: the previous wave's start plus its bake, moved
/// out of freezes and into the maintenance windows that apply to its instances.
fn schedule(waves: &mut [Wave], calendar: &Calendar, now: Option<DateTime<Utc>>) {
    let Some(mut t) = now else { return };
    for w in waves {
        let labels: Vec<&crate::model::Labels> = w.instances.iter().map(|i| &*i.labels).collect();
        let (start, why) = calendar.earliest(t, &labels);
        w.not_before = Some(format_time(start));
        w.waits_for = why;
        let bake = w
            .bake
            .as_deref()
            .and_then(|b| parse_duration(b).ok())
            .unwrap_or(0);
        t = start + chrono::Duration::seconds(bake);
    }
}
