//! The journal of apply runs: `.vow/journal/<run>.yaml` in the store, written in the same
//! commit as the wave it records, so that the journal and the store never disagree.

use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Waves remain; the next one waits for its gate or has not started.
    Running,
    Aborted,
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GateState {
    Pending,
    Passed,
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WaveRecord {
    pub index: usize,
    pub name: String,
    pub applied_at: String,
    pub instances: Vec<String>,
    pub gate: GateState,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Journal {
    pub plan_id: String,
    pub kind: String,
    pub started: String,
    pub status: RunStatus,
    #[serde(default)]
    pub waves: Vec<WaveRecord>,
    /// The store's digest after the last wave: a resumed apply refuses a store changed since.
    pub store_digest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_of: Option<String>,
}

impl Journal {
    pub fn done(&self, index: usize) -> bool {
        self.waves.iter().any(|w| w.index == index)
    }

    pub fn wave_mut(&mut self, index: usize) -> Option<&mut WaveRecord> {
        self.waves.iter_mut().find(|w| w.index == index)
    }

    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).unwrap_or_default()
    }
}

/// The journal's path in the store, relative to its root.
pub fn path(run: &str) -> String {
    format!(".vow/journal/{run}.yaml")
}

/// Reads a run's journal, if the run has started.
pub fn read(store_dir: &Path, run: &str) -> anyhow::Result<Option<Journal>> {
    let p = store_dir.join(path(run));
    match std::fs::read_to_string(&p) {
        Ok(text) => Ok(Some(serde_yaml::from_str(&text).map_err(|e| {
            anyhow::anyhow!("the journal {} is damaged: {e}", p.display())
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Every journal in the store, newest first.
pub fn all(store_dir: &Path) -> Vec<Journal> {
    let dir = store_dir.join(".vow/journal");
    let mut out: Vec<Journal> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter_map(|t| serde_yaml::from_str(&t).ok())
        .collect();
    out.sort_by(|a: &Journal, b: &Journal| {
        b.started
            .cmp(&a.started)
            .then_with(|| a.plan_id.cmp(&b.plan_id))
    });
    out
}
