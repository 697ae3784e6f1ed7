//! The third stage: scheduling, that is choosing the Destinations a request's outputs go to.
//! A pipeline's outputs are split into workload groups (`schedule()` in a step names a group's
//! labels), and each group is scheduled to a Destination whose labels match.

use super::{layout, Evaluated};
use crate::diag::{self, Finding};
use crate::load::inputs::Catalogue;
use crate::model::{Destination, Labels, Pipeline, Promise};
use crate::script::OutputDoc;
use crate::store::Applied;

/// Splits a pipeline's outputs into workload groups, schedules each group to its destination
/// and lays the files out there as Kratix does.
pub(super) fn schedule(
    catalogue: &Catalogue,
    promise: &Promise,
    pipeline: &Pipeline,
    outputs: &[(String, OutputDoc)],
    schedules: &[(String, Labels)],
    applied: Option<&Applied>,
    ev: &mut Evaluated,
) {
    let mut groups: std::collections::BTreeMap<String, Vec<(String, &OutputDoc)>> =
        Default::default();
    for (path, doc) in outputs {
        let group = schedules
            .iter()
            .find(|(dir, _)| dir != "." && path.starts_with(&format!("{dir}/")))
            .map(|(dir, _)| dir.clone())
            .unwrap_or_else(|| ".".to_string());
        let rel = if group == "." {
            path.clone()
        } else {
            let prefix = format!("{group}/");
            path.strip_prefix(&prefix).unwrap_or(path).to_string()
        };
        groups.entry(group).or_default().push((rel, doc));
    }
    for (dir, files) in groups {
        let selectors = group_selectors(promise, &dir, schedules);
        // A Promise's dependencies go to every matching destination; a request's outputs to one.
        let dests: Vec<&Destination> = if ev.id.is_dependencies() {
            catalogue
                .destinations
                .iter()
                .filter(|d| d.accepts(&selectors))
                .collect()
        } else {
            choose_destination(&catalogue.destinations, &selectors, &dir, applied, ev)
                .into_iter()
                .collect()
        };
        if dests.is_empty() {
            let wanted = selectors
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",");
            ev.block(
                Finding::new(
                    diag::NO_DESTINATION,
                    format!("{}: no Destination matches the workload group `{dir}` (selectors: {wanted})", ev.id),
                )
                .at(promise.location.clone())
                .help("add a Destination with these labels, or change the Promise's destinationSelectors"),
            );
            continue;
        }
        let names: Vec<&str> = dests.iter().map(|d| d.name.as_str()).collect();
        ev.schedule_group(&dir, names.join(","));
        for dest in dests {
            layout::write_group(ev, dest, pipeline, &dir, &files);
        }
    }
}

/// The labels a workload group's destination must carry. For the root group, the Promise's
/// `destinationSelectors` are merged over the workflow's, the Promise winning on conflicts;
/// other groups use the labels their `schedule()` gave.
fn group_selectors(promise: &Promise, dir: &str, schedules: &[(String, Labels)]) -> Labels {
    let mut labels = Labels::new();
    for (d, l) in schedules {
        if d == dir {
            labels.extend(l.clone());
        }
    }
    if dir == "." {
        for s in &promise.destination_selectors {
            labels.extend(s.match_labels.clone());
        }
    }
    labels
}

/// Kratix picks a matching destination at random; vow keeps an instance where it is and places
/// a new one by a stable hash of its identity, so the same inputs always give the same plan.
fn choose_destination<'a>(
    all: &'a [Destination],
    selectors: &Labels,
    dir: &str,
    applied: Option<&Applied>,
    ev: &Evaluated,
) -> Option<&'a Destination> {
    let candidates: Vec<&Destination> = all.iter().filter(|d| d.accepts(selectors)).collect();
    if candidates.is_empty() {
        return None;
    }
    if let Some(current) = applied.and_then(|a| a.binding.status.destinations.get(dir)) {
        if let Some(d) = candidates.iter().find(|d| &d.name == current) {
            return Some(d);
        }
    }
    let n = ev
        .id
        .stable_hash(crate::model::HashUse::Destination { dir });
    candidates
        .get((n % candidates.len() as u64) as usize)
        .copied()
}
