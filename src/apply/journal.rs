//! The journal of apply runs: `.vow/journal/<run>.yaml` in the store, written in the same
//! commit as the wave it records, so that the journal and the store never disagree.

use crate::diag::{self, Finding, Location};
use crate::error::{Error, Result};
use crate::store::layout;
use crate::store::path::StorePath;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Waves remain; the next one waits for its gate or has not started.
    Running,
    /// Stopped by `vow pause`: apply changes nothing until `vow resume`.
    Paused,
    /// Ended by `vow cancel` (or superseded): no further waves; the store stays as it is.
    Cancelled,
    Aborted,
    Done,
}

/// A hand on the run: `vow pause|resume|promote|cancel|abort`, `--supersede`, `--break-freeze`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ControlAction {
    Pause,
    Resume,
    Promote,
    Cancel,
    Abort,
    Supersede,
    BreakFreeze,
}

/// One control, as the journal keeps it: what, when, by whom and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Control {
    pub action: ControlAction,
    pub at: String,
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The wave it acted on (promote: the wave whose gate it passed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave: Option<usize>,
    /// The other run it names (supersede: the run it cancelled, or the run that replaced this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
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
    /// The wave's batch of its rollout wave (`batch k/n`), when the plan split it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<crate::plan::Batch>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
    /// What the gate command said about this wave, kept so `vow status` can show it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate_report: Option<GateReport>,
}

/// The last judgement of a wave's gate command: its exit code, its bounded output, and the
/// verdicts it gave per instance (empty when it answered by exit code alone).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GateReport {
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<i32>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verdicts: Vec<InstanceVerdict>,
    /// The command passed the wave (only its bake may remain): it is never run for it again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub passed: bool,
    /// Why the command judged the wave as it did (a timeout, an exit code, the counts).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
}

/// A gate command's answer for one instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceVerdict {
    pub instance: String,
    /// `pass`, `fail` or `wait`.
    pub verdict: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
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
    /// The controls applied to the run by hand, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<Control>,
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
    layout::journal(run)
}

/// Reads a run's journal, if the run has started.
pub fn read(store_dir: &Path, run: &str) -> Result<Option<Journal>> {
    let rel = layout::journal(run);
    let Some(bytes) = StorePath::new(&rel)?.read(store_dir)? else {
        return Ok(None);
    };
    let mut last = LAST
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, journal)) = last.as_ref().filter(|(text, _)| *text == bytes) {
        return Ok(Some(journal.clone()));
    }
    let journal = parse(bytes.clone()).map_err(|(_, why)| {
        Error::EditedPlan(format!(
            "the journal {rel} is damaged (V405): {why}. Nothing was applied; restore it \
             from the store's history, or remove it to start the run again"
        ))
    })?;
    *last = Some((bytes, journal.clone()));
    Ok(Some(journal))
}

/// The journal [`read`] parsed last, with its bytes: apply reads its run's journal at every
/// pass (each wave, each poll of a gate), and parsing it again each time (it lists every
/// instance applied) was a tenth of a 10,000-instance apply's serial time. The same bytes
/// give the same journal, so a journal changed by anyone is parsed again.
static LAST: std::sync::Mutex<Option<(Vec<u8>, Journal)>> = std::sync::Mutex::new(None);

/// Every journal in the store, newest first (damaged ones left out: see [`scan`]).
pub fn all(store_dir: &Path) -> Vec<Journal> {
    scan(store_dir, store_dir).journals
}

/// The journals of a store, and a finding for each one that cannot be read.
#[derive(Debug, Default)]
pub struct Scan {
    pub journals: Vec<Journal>,
    pub findings: Vec<Finding>,
}

/// Reads every journal in the store, newest first; a damaged or unreadable one (or a journal
/// folder that is a symlink) is a finding naming the file, never silence.
pub fn scan(store_dir: &Path, workspace: &Path) -> Scan {
    let mut out = Scan::default();
    let dir = layout::absolute(store_dir, layout::JOURNAL_DIR);
    if let Err(e) = StorePath::new(layout::JOURNAL_DIR).and_then(|p| p.dir_under(store_dir)) {
        out.findings
            .push(crate::store::unsafe_path(workspace, &dir, &e));
        return out;
    }
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    for name in names {
        let run = name.strip_suffix(".yaml").unwrap_or(&name);
        let rel = layout::journal(run);
        let shown = crate::source::display_path(workspace, &store_dir.join(&rel));
        match read_one(store_dir, &rel) {
            Ok(j) => out.journals.push(j),
            Err((line, why)) => out.findings.push(
                Finding::new(diag::DAMAGED_JOURNAL, format!("{shown}: the journal is damaged: {why}"))
                    .at(Location::new(shown.clone(), line))
                    .help("restore the journal from the store's history, or remove it (the run's progress is then forgotten)"),
            ),
        }
    }
    out.journals.sort_by(|a: &Journal, b: &Journal| {
        b.started
            .cmp(&a.started)
            .then_with(|| a.plan_id.cmp(&b.plan_id))
    });
    out
}

/// One journal, or the line and reason it cannot be read.
fn read_one(store_dir: &Path, rel: &str) -> Result<Journal, (u32, String)> {
    let bytes = StorePath::new(rel)
        .map_err(Error::from)
        .and_then(|p| p.read(store_dir))
        .map_err(|e| (1, e.to_string()))?
        .ok_or((1, "it is gone".to_string()))?;
    parse(bytes)
}

/// A journal's text, or the line and reason it is damaged.
fn parse(bytes: Vec<u8>) -> Result<Journal, (u32, String)> {
    let text = String::from_utf8(bytes).map_err(|_| (1, "it is not UTF-8".to_string()))?;
    serde_yaml::from_str(&text).map_err(|e| {
        let line = e
            .location()
            .map_or(1, |l| u32::try_from(l.line()).unwrap_or(1));
        (line, e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_journal_is_a_finding_with_its_file_and_line() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(".vow/journal");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.yaml"), "planId: x\nkind: apply\nstatus: [\n").unwrap();
        let s = scan(tmp.path(), tmp.path());
        assert!(s.journals.is_empty());
        let f = s.findings.first().unwrap();
        assert_eq!(f.code.id, "V405");
        assert!(
            f.message.starts_with(".vow/journal/a.yaml: "),
            "{}",
            f.message
        );
    }

    #[test]
    fn a_non_ascii_plan_id_gives_a_run_id_without_panicking() {
        assert_eq!(crate::plan::run_id("sha256:éééééééééééééé"), "éééééééééééé");
        assert_eq!(crate::plan::run_id("sha256:ab"), "ab");
    }
}
