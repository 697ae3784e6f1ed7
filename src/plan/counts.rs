//! The plan's summary counts per Promise, wave, team and environment.

use super::file::{Blocked, Wave};
use crate::evaluate::Evaluated;
use crate::model::InstanceRef;
use crate::model::Labels;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActionCounts {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub blocked: usize,
}

impl ActionCounts {
    fn add(&mut self, action: super::Action) {
        match action {
            super::Action::Create => self.create += 1,
            super::Action::Update => self.update += 1,
            super::Action::Delete => self.delete += 1,
            super::Action::Unchanged => {}
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Counts {
    pub by_promise: BTreeMap<String, ActionCounts>,
    pub by_wave: BTreeMap<String, ActionCounts>,
    pub by_team: BTreeMap<String, ActionCounts>,
    pub by_environment: BTreeMap<String, ActionCounts>,
}

fn key<'a>(labels: &'a Labels, k: &str) -> &'a str {
    labels.get(k).map_or("(none)", String::as_str)
}

/// The counts keyed by borrowed names while counting: no text is copied per instance.
#[derive(Default)]
struct Tally<'a> {
    by_promise: BTreeMap<&'a str, ActionCounts>,
    by_wave: BTreeMap<&'a str, ActionCounts>,
    by_team: BTreeMap<&'a str, ActionCounts>,
    by_environment: BTreeMap<&'a str, ActionCounts>,
}

impl ActionCounts {
    fn merge(&mut self, o: &ActionCounts) {
        self.create += o.create;
        self.update += o.update;
        self.delete += o.delete;
        self.blocked += o.blocked;
    }
}

fn merge_into<'a>(
    into: &mut BTreeMap<&'a str, ActionCounts>,
    from: BTreeMap<&'a str, ActionCounts>,
) {
    for (k, v) in from {
        into.entry(k).or_default().merge(&v);
    }
}

impl<'a> Tally<'a> {
    /// Sums of two tallies: counting is a sum, so any split over threads gives the same counts.
    fn merge(mut self, o: Tally<'a>) -> Tally<'a> {
        merge_into(&mut self.by_promise, o.by_promise);
        merge_into(&mut self.by_wave, o.by_wave);
        merge_into(&mut self.by_team, o.by_team);
        merge_into(&mut self.by_environment, o.by_environment);
        self
    }

    fn owned(self) -> Counts {
        let own = |m: BTreeMap<&str, ActionCounts>| {
            m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
        };
        Counts {
            by_promise: own(self.by_promise),
            by_wave: own(self.by_wave),
            by_team: own(self.by_team),
            by_environment: own(self.by_environment),
        }
    }
}

pub(super) fn count(
    waves: &[Wave],
    blocked: &[Blocked],
    evaluated: &[&Evaluated],
    team: &str,
    env: &str,
) -> Counts {
    use rayon::prelude::*;
    // Every wave's instances counted on every thread, the partial tallies summed.
    let mut c = waves
        .par_iter()
        .flat_map_iter(|w| w.instances.iter().map(move |i| (w.name.as_str(), i)))
        .fold(Tally::default, |mut t, (wave, i)| {
            t.by_promise
                .entry(&i.instance.promise)
                .or_default()
                .add(i.action);
            t.by_wave.entry(wave).or_default().add(i.action);
            t.by_team
                .entry(key(&i.labels, team))
                .or_default()
                .add(i.action);
            t.by_environment
                .entry(key(&i.labels, env))
                .or_default()
                .add(i.action);
            t
        })
        .reduce(Tally::default, Tally::merge);
    // Only the blocked instances' labels are looked up: the index is built on every thread,
    // and not at all when nothing is blocked.
    let labels: HashMap<&InstanceRef, &Labels> = if blocked.is_empty() {
        HashMap::new()
    } else {
        evaluated.par_iter().map(|e| (&e.id, &*e.labels)).collect()
    };
    let empty = Labels::new();
    for b in blocked {
        c.by_promise.entry(&b.instance.promise).or_default().blocked += 1;
        let l = labels.get(&b.instance).copied().unwrap_or(&empty);
        c.by_team.entry(key(l, team)).or_default().blocked += 1;
        c.by_environment.entry(key(l, env)).or_default().blocked += 1;
    }
    c.owned()
}
