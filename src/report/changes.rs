//! The plan's updates grouped by what they change (Promise, versions and change summary), so
//! that 132 identical upgrades read as one line with a count; the human and markdown plans
//! list the groups.

use crate::model::InstanceRef;
use crate::plan::Plan;
use std::collections::{BTreeMap, HashSet};

/// Instances whose change is the same.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeGroup<'a> {
    pub promise: &'a str,
    /// `v1.0.0 → v1.1.0`, or empty when the version stays.
    pub versions: String,
    pub summary: &'a str,
    /// In the plan's order of changes.
    pub instances: Vec<&'a InstanceRef>,
}

impl ChangeGroup<'_> {
    /// `redis v2.0.3 → v2.1.0`, or `redis` when the version stays.
    pub fn what(&self) -> String {
        if self.versions.is_empty() {
            self.promise.to_string()
        } else {
            format!("{} {}", self.promise, self.versions)
        }
    }
}

/// The planned updates (those in a wave) with a change summary, grouped; the largest group
/// first, then by Promise, versions and summary (deterministic).
pub fn change_groups(p: &Plan) -> Vec<ChangeGroup<'_>> {
    let in_waves: HashSet<&InstanceRef> = p
        .waves
        .iter()
        .flat_map(|w| w.instances.iter().map(|i| &i.instance))
        .collect();
    let mut groups: BTreeMap<(&str, String, &str), Vec<&InstanceRef>> = BTreeMap::new();
    for c in &p.changes {
        let Some(summary) = c.summary.as_deref() else {
            continue;
        };
        if !in_waves.contains(&c.id) {
            continue;
        }
        let versions = match (&c.from, &c.to) {
            (Some(f), Some(t)) if f != t => format!("{f} → {t}"),
            _ => String::new(),
        };
        groups
            .entry((c.id.promise.as_str(), versions, summary))
            .or_default()
            .push(&c.id);
    }
    let mut out: Vec<ChangeGroup> = groups
        .into_iter()
        .map(|((promise, versions, summary), instances)| ChangeGroup {
            promise,
            versions,
            summary,
            instances,
        })
        .collect();
    // Stable: equal sizes keep the map's order.
    out.sort_by_key(|g| std::cmp::Reverse(g.instances.len()));
    out
}

/// The first `n` names, and how many more there are: `a, b, c and 15 more`.
pub fn some_names(instances: &[&InstanceRef], n: usize, quote: &str) -> String {
    let shown: Vec<String> = instances
        .iter()
        .take(n)
        .map(|i| format!("{quote}{i}{quote}"))
        .collect();
    let mut s = shown.join(", ");
    if instances.len() > shown.len() {
        s.push_str(&format!(" and {} more", instances.len() - shown.len()));
    }
    s
}
