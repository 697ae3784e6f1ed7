//! Reading a plan file back for apply, and refusing one that was edited.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanFile {
    pub schema_version: u32,
    pub plan_id: String,
    /// `rollback` for the reverse plans `vow rollback` writes.
    #[serde(default)]
    pub kind: Option<String>,
    /// For rollback plans: the run they undo.
    #[serde(default)]
    pub rollback_of: Option<String>,
    /// The `--now` the plan was made at (absent: the clock), re-used to re-derive it.
    #[serde(default)]
    pub now: Option<String>,
    /// The `--promise` the plan was limited to, re-used to re-derive it.
    #[serde(default)]
    pub promise: Option<String>,
    pub inputs: Inputs,
    pub waves: Vec<Wave>,
    #[serde(default)]
    pub changes: Vec<Change>,
}

#[derive(Debug, Deserialize)]
pub struct Inputs {
    #[serde(default)]
    pub promises: BTreeMap<String, PromiseDigest>,
    #[serde(default)]
    pub rules: String,
    #[serde(default)]
    pub requests: String,
    #[serde(default)]
    pub destinations: String,
    pub store: String,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
pub struct PromiseDigest {
    pub version: String,
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Wave {
    pub index: usize,
    pub name: String,
    #[serde(default)]
    pub canary: bool,
    #[serde(default)]
    pub bake: Option<String>,
    #[serde(default)]
    pub failure_budget: u64,
    #[serde(default = "yes")]
    pub gate: bool,
    #[serde(default)]
    pub not_before: Option<String>,
    #[serde(default)]
    pub batch: Option<Value>,
    pub instances: Vec<WaveInstance>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WaveInstance {
    #[serde(rename = "ref")]
    pub instance: String,
    pub action: String,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    /// Rollback plans: the wave of the undone run whose backup restores this instance.
    #[serde(default)]
    pub source: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Change {
    #[serde(rename = "ref")]
    pub instance: String,
    pub action: String,
    #[serde(default)]
    pub digest: Option<String>,
}

impl PlanFile {
    /// The short id of the run this plan starts (its journal's name).
    pub fn run_id(&self) -> String {
        run_id(&self.plan_id)
    }

    pub fn is_rollback(&self) -> bool {
        self.kind.as_deref() == Some("rollback")
    }
}

/// `sha256:abcd…` → the first twelve hex digits.
pub fn run_id(plan_id: &str) -> String {
    // Characters, not bytes: a journal's planId is untrusted text and may not be ASCII.
    let hex = plan_id.trim_start_matches("sha256:");
    hex.chars().take(12).collect()
}

/// Reads a plan file and checks that its id is the digest of its content.
pub fn read(path: &Path) -> Result<PlanFile> {
    let bytes = crate::load::read_bounded(path)
        .with_context(|| format!("cannot read the plan {}", path.display()))?;
    let text = String::from_utf8(bytes)
        .with_context(|| format!("the plan {} is not UTF-8 text", path.display()))?;
    let value: Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a plan file (vow plan --format json --out FILE writes one)",
            path.display()
        )
    })?;
    let plan: PlanFile = serde_json::from_value(value)
        .with_context(|| format!("{} is not a plan file vow can apply", path.display()))?;
    if plan.schema_version != crate::plan::SCHEMA_VERSION {
        bail!(
            "{}: plan schema version {} is not the {} this vow applies; plan again",
            path.display(),
            plan.schema_version,
            crate::plan::SCHEMA_VERSION
        );
    }
    let expected = crate::plan::content_id(&text);
    if expected != plan.plan_id {
        bail!(
            "{}: the plan was changed after it was made (its content digest is {expected}, its planId says {}); refusing to apply it. Make a new plan with `vow plan --out`.",
            path.display(),
            plan.plan_id
        );
    }
    Ok(plan)
}
