//! A plan is a claim, not an authority: before a run's first wave, apply re-derives the plan
//! from the inputs and the store as they are now (with the `--now` and `--promise` the plan
//! records; a rollback plan from the journal and backups of the run it undoes) and refuses the
//! plan file when any wave differs: its instances, actions, versions, budgets, gates or bakes.
//! The plan id only proves that a file is self-consistent; this proves it is what vow plans.

use super::journal::{self, Journal};
use super::rollback;
use crate::error::{Error, Result};
use crate::evaluate::{self, Detail, Evaluated, Options};
use crate::load::inputs::Catalogue;
use crate::model::{InstanceRef, Request};
use crate::plan::{Plan, PlanKind, Wave};
use crate::store::{self, Store};
use std::collections::{HashMap, HashSet};

/// How many differences a refusal lists.
const SHOWN: usize = 10;

/// How many bytes of rendered contents the check keeps for the waves (a 10k fleet renders
/// about 40 MB): within it the fleet is rendered once per process, past it the rest is
/// rendered again, wave by wave, so a large fleet's memory stays bounded.
const KEPT_BYTES: usize = 64 << 20;

/// How many requests the check renders at a time: its contents are kept or dropped per chunk,
/// so the check never holds more than the budget and one chunk's contents.
const CHUNK: usize = 2048;

/// What one process of apply keeps between waves: the workspace's requests, and whether the
/// plan was re-derived and found to be what planning gives, with each instance's rendering as
/// that check saw it (its files' digest, and its contents within [`KEPT_BYTES`]).
pub(super) struct Memo {
    requests: Vec<Request>,
    verified: bool,
    seen: HashMap<InstanceRef, String>,
    kept: HashMap<InstanceRef, Evaluated>,
    /// The bytes of contents the check may keep ([`KEPT_BYTES`]).
    budget: usize,
}

impl Memo {
    pub(super) fn new(requests: Vec<Request>) -> Memo {
        Memo {
            requests,
            verified: false,
            seen: HashMap::new(),
            kept: HashMap::new(),
            budget: KEPT_BYTES,
        }
    }

    pub(super) fn requests(&self) -> &[Request] {
        &self.requests
    }

    /// `wave`'s instances with their contents: those the check kept, handed over (freed after
    /// the wave's commit), and the others rendered now. An instance that renders otherwise than
    /// the check saw makes the plan stale.
    pub(super) fn take_wave(&mut self, inputs: &Catalogue, wave: &Wave) -> Result<Vec<Evaluated>> {
        let ids: HashSet<&InstanceRef> = wave.instances.iter().map(|i| &i.instance).collect();
        let mut out = Vec::with_capacity(ids.len());
        let mut missing = HashSet::new();
        for id in &ids {
            match self.kept.remove(*id) {
                Some(e) => out.push(e),
                None => {
                    missing.insert(*id);
                }
            }
        }
        let mine: Vec<&Request> = self
            .requests
            .iter()
            .filter(|r| missing.contains(&r.id))
            .collect();
        let dependencies = missing.iter().any(|i| i.is_dependencies());
        if !missing.is_empty() {
            out.extend(self.render(inputs, mine, dependencies, &missing)?);
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// Renders `mine` (and the dependencies) with their contents, checked against the check's
    /// digests.
    fn render(
        &self,
        inputs: &Catalogue,
        mine: Vec<&Request>,
        dependencies: bool,
        missing: &HashSet<&InstanceRef>,
    ) -> Result<Vec<Evaluated>> {
        // The change kinds are the planner's (the check found them); a wave's render needs
        // only its files, and finding them reads and diffs the instance's stored files again.
        let mut opts = Options::new(Detail::Contents).without_change_kinds();
        if dependencies {
            opts = opts.with_dependencies();
        }
        let mut out = evaluate::run(inputs, evaluate::Requests::Borrowed(mine), &opts);
        // Only those not kept: the dependencies are rendered together, and some may be kept.
        out.retain(|e| missing.contains(&e.id));
        if let Some(moved) = out
            .iter()
            .find(|e| self.verified && self.seen.get(&e.id) != Some(&e.files_digest()))
        {
            let message = format!(
                "{} renders otherwise than when the plan was checked: its inputs changed while \
                 apply ran; nothing of this wave was written. Plan again",
                moved.id
            );
            return Err(Error::StalePlan {
                reasons: vec![message.clone()],
                message,
            });
        }
        Ok(out)
    }

    /// Renders every request for the check, noting each one's digest and keeping the contents
    /// of the first renders within [`KEPT_BYTES`] (in request order, so which are kept does not
    /// depend on the threads; what is written does not depend on it at all).
    fn render_all(&mut self, inputs: &Catalogue) -> (Vec<Evaluated>, HashSet<InstanceRef>) {
        let mut budget = self.budget;
        let mut dropped = HashSet::new();
        let mut out = Vec::with_capacity(self.requests.len());
        // One chunk at least, for the dependencies of a workspace without requests.
        let none: &[Request] = &[];
        let chunks = self.requests.chunks(CHUNK);
        let chunks = chunks.chain(self.requests.is_empty().then_some(none));
        for (i, chunk) in chunks.enumerate() {
            let mut opts = Options::new(Detail::Contents);
            if i == 0 {
                opts = opts.with_dependencies();
            }
            let all = evaluate::Requests::Borrowed(chunk.iter().collect());
            let mut part = evaluate::run(inputs, all, &opts);
            for e in &mut part {
                match budget.checked_sub(e.content_bytes()) {
                    Some(left) => {
                        budget = left;
                        // Kept for a while: without the slack the writer grew them with.
                        for f in &mut e.files {
                            f.content.shrink_to_fit();
                        }
                    }
                    None => {
                        budget = 0;
                        e.drop_contents();
                        dropped.insert(e.id.clone());
                    }
                }
            }
            out.append(&mut part);
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        self.seen = out
            .iter()
            .map(|e| (e.id.clone(), e.files_digest()))
            .collect();
        (out, dropped)
    }

    /// Keeps the check's renders that still hold their contents for their waves: only those of
    /// instances some wave applies (an upgrade of part of a fleet keeps only its part).
    fn keep(&mut self, rendered: Vec<Evaluated>, dropped: &HashSet<InstanceRef>, waves: &[Wave]) {
        let applied: HashSet<&InstanceRef> = waves
            .iter()
            .flat_map(|w| w.instances.iter().map(|i| &i.instance))
            .collect();
        self.kept = rendered
            .into_iter()
            .filter(|e| !dropped.contains(&e.id) && applied.contains(&e.id))
            .map(|e| (e.id.clone(), e))
            .collect();
    }
}

/// Before a run's first wave: the plan must be what planning its recorded inputs against the
/// store gives now. Once a run has started, its journal must be this plan's.
pub(super) fn verify_plan(
    st: &dyn Store,
    plan: &Plan,
    inputs: &Catalogue,
    current: &store::StoreState,
    journal: Option<&Journal>,
    memo: &mut Memo,
) -> Result<()> {
    if let Some(j) = journal {
        let kind = plan.kind.name();
        if j.plan_id != plan.plan_id || j.kind != kind {
            return Err(Error::EditedPlan(format!(
                "the journal {} belongs to plan {} ({}), not to this plan {} ({kind}); nothing was \
                 applied. Restore the journal from the store's history, or apply the plan it names",
                journal::path(&plan.run_id()),
                j.plan_id.escape_debug(),
                j.kind.escape_debug(),
                plan.plan_id
            )));
        }
        return Ok(());
    }
    if memo.verified {
        return Ok(());
    }
    let derived = match &plan.kind {
        PlanKind::Rollback { of } => {
            let undone =
                journal::read(st.dir(), of).map_err(|e| Error::EditedPlan(format!("{e:#}")))?;
            let Some(undone) = undone else {
                return Err(Error::EditedPlan(format!(
                    "the plan rolls back run {of}, which has no journal in the store; nothing was applied"
                )));
            };
            rollback::make_plan(st, current, &undone)?.waves
        }
        PlanKind::Apply => {
            let (rendered, dropped) = memo.render_all(inputs);
            let derived = derive(inputs, &rendered, plan)?;
            memo.keep(rendered, &dropped, &derived);
            derived
        }
    };
    check(plan, &derived)?;
    memo.verified = true;
    Ok(())
}

/// The waves planning gives now.
pub(super) fn derive(
    inputs: &Catalogue,
    evaluated: &[Evaluated],
    plan: &Plan,
) -> Result<Vec<Wave>> {
    let now = match &plan.now {
        Some(t) => Some(crate::duration::parse_time(t).map_err(Error::EditedPlan)?),
        None => None,
    };
    let opts = crate::plan::PlanOptions {
        promise: plan.promise.clone(),
        now,
    };
    Ok(crate::plan::build_unsealed(inputs, evaluated, &opts).waves)
}

/// Refuses the plan when its waves are not `derived`, listing the first differences.
pub(super) fn check(plan: &Plan, derived: &[Wave]) -> Result<()> {
    let diffs = differences(&plan.waves, derived);
    if diffs.is_empty() {
        return Ok(());
    }
    let more = diffs.len().saturating_sub(SHOWN);
    let shown: Vec<String> = diffs.into_iter().take(SHOWN).collect();
    let message = format!(
        "the plan {} is not what planning its inputs against the store gives now, so it was \
         edited or made by another vow; nothing was applied. Differences (the plan file, then \
         now):\n  - {}{}\n  {}",
        plan.run_id(),
        shown.join("\n  - "),
        if more > 0 {
            format!("\n  - ... and {more} more")
        } else {
            String::new()
        },
        if plan.is_rollback() {
            "Write the rollback plan again (`vow rollback RUN --out plan.json`), review it, and apply that."
        } else {
            "Make a new plan (`vow plan --out plan.json`), review it, and apply that."
        }
    );
    Err(Error::EditedPlan(message))
}

/// Every difference between the plan's waves and the derived ones, in wave order (the same
/// comparison `vow show` makes).
pub(super) fn differences(planned: &[Wave], derived: &[Wave]) -> Vec<String> {
    crate::plan::wave_differences(planned, derived)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example workspace's check renders with `budget`, and every wave's instances as
    /// apply takes them, in plan order.
    fn rendered_with(budget: usize) -> (usize, Vec<Vec<Evaluated>>) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let ws = crate::workspace::Workspace::open(root, None).unwrap();
        let now = chrono::Utc::now();
        let (inputs, requests) = crate::load::inputs::load(ws, now);
        let mut memo = Memo::new(requests);
        memo.budget = budget;
        let (rendered, dropped) = memo.render_all(&inputs);
        let plan = crate::plan::build_unsealed(&inputs, &rendered, &Default::default());
        memo.keep(rendered, &dropped, &plan.waves);
        memo.verified = true;
        let kept = memo.kept.values().filter(|e| !e.files.is_empty()).count();
        let waves = plan
            .waves
            .iter()
            .map(|w| memo.take_wave(&inputs, w).unwrap());
        (kept, waves.collect())
    }

    fn files(waves: &[Vec<Evaluated>]) -> Vec<(String, String, String)> {
        let all = waves.iter().flatten().flat_map(|e| &e.files);
        all.map(|f| (f.path.to_string(), f.digest.to_string(), f.content.clone()))
            .collect()
    }

    #[test]
    fn the_waves_render_the_same_whatever_the_check_kept() {
        let (all, everything) = rendered_with(usize::MAX);
        let (none, nothing) = rendered_with(0);
        let (some, part) = rendered_with(4096);
        assert_eq!(none, 0, "a budget of 0 keeps no rendering with files");
        assert!(some > 0 && some < all, "4 KiB keeps some: {some} of {all}");
        assert!(files(&everything).iter().all(|f| !f.2.is_empty()));
        assert_eq!(files(&everything), files(&nothing));
        assert_eq!(files(&everything), files(&part));
        let specs = |w: &[Vec<Evaluated>]| -> Vec<serde_json::Value> {
            w.iter().flatten().map(|e| e.spec.clone()).collect()
        };
        assert_eq!(specs(&everything), specs(&nothing));
    }

    fn wave(instances: serde_json::Value) -> Wave {
        serde_json::from_value(serde_json::json!({
            "index": 0, "name": "all", "canary": false, "failureBudget": 0,
            "instances": instances,
        }))
        .unwrap()
    }

    #[test]
    fn identical_waves_have_no_differences() {
        let w = wave(serde_json::json!([{"ref": "p:n/a", "action": "create", "to": "v1"}]));
        assert!(differences(std::slice::from_ref(&w), std::slice::from_ref(&w)).is_empty());
    }

    #[test]
    fn every_kind_of_edit_is_named() {
        let derived = wave(serde_json::json!([
            {"ref": "p:n/a", "action": "update", "from": "v1", "to": "v2"},
            {"ref": "p:n/b", "action": "create", "to": "v2"},
        ]));
        let mut edited = wave(serde_json::json!([
            {"ref": "p:n/a", "action": "delete", "from": "v1"},
            {"ref": "p:n/z", "action": "create", "to": "v2"},
        ]));
        edited.failure_budget = 9;
        edited.gate = false;
        edited.bake = Some("0s".into());
        let d = differences(&[edited], &[derived]);
        let text = d.join("\n");
        for needle in [
            "bake 0s, but none",
            "failureBudget 9, but 0",
            "gate false, but true",
            "p:n/a is delete v1 → none, but update v1 → v2",
            "p:n/z (create none → v2) is not in this wave now",
            "p:n/b (create none → v2) is missing from the plan",
        ] {
            assert!(text.contains(needle), "{needle} not in:\n{text}");
        }
        assert_eq!(d.len(), 6);
    }

    #[test]
    fn a_missing_or_extra_wave_is_named() {
        let w = wave(serde_json::json!([]));
        assert_eq!(differences(&[], std::slice::from_ref(&w)).len(), 2);
        assert_eq!(differences(&[w.clone(), w], &[]).len(), 3);
    }
}
