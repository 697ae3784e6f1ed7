//! How a [`Plan`] is written: an apply plan and a rollback plan each in the layout vow has
//! always written (a plan's id is the digest of these bytes, so the layout is part of the
//! contract).

use super::file::{
    Action, Blocked, Change, ExternalSteps, Held, Pinned, Plan, PlanKind, Summary, Wave,
};
use crate::diag::Finding;
use crate::load::inputs::InputDigests;
use crate::model::InstanceRef;
use serde::{Serialize, Serializer};

impl Serialize for Plan {
    /// An apply plan and a rollback plan are laid out as vow has always written them (their
    /// ids are digests of these bytes): the rollback plan with its keys in alphabetical order
    /// and only the parts a rollback has.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.kind {
            PlanKind::Apply => ApplyLayout {
                schema_version: self.schema_version,
                plan_id: &self.plan_id,
                now: self.now.as_deref(),
                promise: self.promise.as_deref(),
                inputs: &self.inputs,
                summary: &self.summary,
                counts: &self.counts,
                waves: &self.waves,
                blocked: &self.blocked,
                pinned: &self.pinned,
                paused: &self.paused,
                held: &self.held,
                external_steps: &self.external_steps,
                changes: &self.changes,
                findings: &self.findings,
            }
            .serialize(s),
            PlanKind::Rollback { of } => RollbackLayout {
                changes: &self.changes,
                inputs: RollbackInputs {
                    store: &self.inputs.store,
                },
                kind: "rollback",
                plan_id: &self.plan_id,
                rollback_of: of,
                schema_version: self.schema_version,
                summary: RollbackSummary {
                    instances: self.waves.iter().map(|w| w.instances.len()).sum(),
                    waves: self.waves.len(),
                },
                waves: self.waves.iter().map(RollbackWave).collect(),
            }
            .serialize(s),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApplyLayout<'a> {
    schema_version: u32,
    plan_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    now: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    promise: Option<&'a str>,
    inputs: &'a InputDigests,
    summary: &'a Summary,
    counts: &'a super::Counts,
    waves: &'a [Wave],
    blocked: &'a [Blocked],
    pinned: &'a [Pinned],
    paused: &'a [InstanceRef],
    #[serde(skip_serializing_if = "<[Held]>::is_empty")]
    held: &'a [Held],
    external_steps: &'a [ExternalSteps],
    changes: &'a [Change],
    findings: &'a [Finding],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RollbackLayout<'a> {
    changes: &'a [Change],
    inputs: RollbackInputs<'a>,
    kind: &'static str,
    plan_id: &'a str,
    rollback_of: &'a str,
    schema_version: u32,
    summary: RollbackSummary,
    waves: Vec<RollbackWave<'a>>,
}

/// A rollback plan is made from the store alone.
#[derive(Serialize)]
struct RollbackInputs<'a> {
    store: &'a str,
}

#[derive(Serialize)]
struct RollbackSummary {
    instances: usize,
    waves: usize,
}

/// A wave of a rollback plan: its gate is written (a rollback does not wait on health).
struct RollbackWave<'a>(&'a Wave);

impl Serialize for RollbackWave<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Layout<'a> {
            canary: bool,
            failure_budget: u64,
            gate: bool,
            index: usize,
            instances: Vec<RollbackInstance<'a>>,
            name: &'a str,
            size: usize,
        }
        let w = self.0;
        Layout {
            canary: w.canary,
            failure_budget: w.failure_budget,
            gate: w.gate,
            index: w.index,
            instances: w
                .instances
                .iter()
                .map(|i| RollbackInstance {
                    action: i.action,
                    from: i.from.as_deref(),
                    placement: &i.placement,
                    reason: &i.reason,
                    instance: &i.instance,
                    source: i.source.as_deref(),
                    to: i.to.as_deref(),
                })
                .collect(),
            name: &w.name,
            size: w.size,
        }
        .serialize(s)
    }
}

/// An instance of a rollback plan: `from` and `to` are written even when absent (`null`).
#[derive(Serialize)]
struct RollbackInstance<'a> {
    action: Action,
    from: Option<&'a str>,
    placement: &'a str,
    reason: &'a str,
    #[serde(rename = "ref")]
    instance: &'a InstanceRef,
    source: Option<&'a str>,
    to: Option<&'a str>,
}
