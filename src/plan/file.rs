//! The plan file: what `vow plan --format json` writes and apply reads.

use super::diff::Change;
use crate::diag::{Finding, Location};
use crate::load::inputs::InputDigests;
use serde::Serialize;

/// Bumped when the plan file changes incompatibly.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub schema_version: u32,
    pub plan_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub now: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promise: Option<String>,
    pub inputs: InputDigests,
    pub summary: Summary,
    /// The changes per Promise, wave, team and environment.
    pub counts: super::Counts,
    pub waves: Vec<Wave>,
    pub blocked: Vec<Blocked>,
    pub pinned: Vec<Pinned>,
    pub paused: Vec<String>,
    pub external_steps: Vec<ExternalSteps>,
    pub changes: Vec<Change>,
    pub findings: Vec<Finding>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub requests: usize,
    pub unchanged: usize,
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub blocked: usize,
    pub pinned: usize,
    pub paused: usize,
    pub waves: usize,
    /// Instances of the whole run that may fail their gates before the run halts.
    pub failure_budget: u64,
    pub findings: usize,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Wave {
    pub index: usize,
    pub name: String,
    pub canary: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<Batch>,
    pub size: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bake: Option<String>,
    pub failure_budget: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    /// Why the wave starts later than the previous one's bake allows (windows, freezes).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waits_for: Vec<String>,
    pub instances: Vec<WaveInstance>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Batch {
    pub index: usize,
    pub of: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct WaveInstance {
    #[serde(rename = "ref")]
    pub instance: String,
    pub action: super::Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    pub reason: String,
    /// Why the instance is in this wave: the selector that matched, its rank, its canary stratum.
    pub placement: String,
    #[serde(skip)]
    pub labels: crate::model::SharedLabels,
}

#[derive(Clone, Debug, Serialize)]
pub struct Blocked {
    #[serde(rename = "ref")]
    pub instance: String,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    pub reasons: Vec<String>,
}

impl Blocked {
    pub fn from_findings(
        instance: &str,
        location: Option<&Location>,
        findings: &[Finding],
    ) -> Blocked {
        Blocked {
            instance: instance.to_string(),
            location: location.cloned(),
            reasons: findings
                .iter()
                .filter(|f| f.blocking)
                .map(|f| format!("[{}] {}", f.id(), f.message))
                .collect(),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Pinned {
    #[serde(rename = "ref")]
    pub instance: String,
    pub version: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ExternalSteps {
    pub promise: String,
    pub steps: Vec<String>,
}
