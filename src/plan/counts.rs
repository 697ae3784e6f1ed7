//! The plan's summary counts per Promise, wave, team and environment.

use super::file::{Blocked, Wave};
use crate::evaluate::Evaluated;
use crate::model::InstanceRef;
use crate::model::Labels;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

fn key(labels: &Labels, k: &str) -> String {
    labels.get(k).cloned().unwrap_or_else(|| "(none)".into())
}

pub(super) fn count(
    waves: &[Wave],
    blocked: &[Blocked],
    evaluated: &[&Evaluated],
    team: &str,
    env: &str,
) -> Counts {
    let mut c = Counts::default();
    for w in waves {
        for i in &w.instances {
            let promise = i.instance.promise.clone();
            c.by_promise.entry(promise).or_default().add(i.action);
            c.by_wave.entry(w.name.clone()).or_default().add(i.action);
            c.by_team
                .entry(key(&i.labels, team))
                .or_default()
                .add(i.action);
            c.by_environment
                .entry(key(&i.labels, env))
                .or_default()
                .add(i.action);
        }
    }
    let labels: BTreeMap<&InstanceRef, &Labels> =
        evaluated.iter().map(|e| (&e.id, &*e.labels)).collect();
    for b in blocked {
        let promise = b.instance.promise.clone();
        c.by_promise.entry(promise).or_default().blocked += 1;
        let empty = Labels::new();
        let l = labels.get(&b.instance).copied().unwrap_or(&empty);
        c.by_team.entry(key(l, team)).or_default().blocked += 1;
        c.by_environment.entry(key(l, env)).or_default().blocked += 1;
    }
    c
}
