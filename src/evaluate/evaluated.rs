//! The result of evaluating one request ([`Evaluated`]: what it renders, where, and what was
//! found), and the store binding that records it as applied.

use crate::diag::{Finding, Location};
use crate::model::{InstanceRef, Labels, Request};
use crate::store::{self, FileRecord};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// One rendered file, at its full path in the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutFile {
    /// Shared with the plan's file changes rather than copied into them (see `SharedLabels`).
    pub path: std::sync::Arc<str>,
    /// Not kept in partial plans (`--shard`): planning needs paths and digests only.
    #[serde(skip)]
    pub content: String,
    pub digest: std::sync::Arc<str>,
}

/// What a step did, for `vow render`.
#[derive(Clone, Debug)]
pub struct StepTrace {
    pub pipeline: String,
    pub step: String,
    pub outputs: Vec<String>,
    pub schedules: Vec<(String, Labels)>,
    pub messages: Vec<String>,
}

/// The result of evaluating one request. Serialized (without traces) in partial plans.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evaluated {
    pub id: InstanceRef,
    pub labels: crate::model::SharedLabels,
    pub location: Location,
    /// The Promise version rendered.
    pub version: String,
    pub pinned: bool,
    pub paused: bool,
    pub blocked: bool,
    pub findings: Vec<Finding>,
    /// Sorted by path.
    pub files: Vec<OutFile>,
    /// Workload group directory → destination name.
    /// Sorted by directory, one entry per directory: usually one entry, for which a B-tree map
    /// took half a kilobyte per instance.
    pub destinations: Vec<(String, String)>,
    /// The defaulted spec, which apply records. Dropped at [`Detail::Digests`](super::Detail::Digests): planning needs
    /// only `spec_changed`, and a fleet of a million cannot keep a second copy of every spec.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub spec: Value,
    /// Whether the defaulted spec differs from the one the store last applied (false when the
    /// store applied nothing for this instance): the plan's reason "the request changed".
    #[serde(default)]
    pub spec_changed: bool,
    /// What the steps set with `status()`; not kept at [`Detail::Digests`](super::Detail::Digests) (planning does not
    /// read it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Value>,
    /// What an update changes, in one bounded line (`evaluate::summary`), when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
    /// The change kind of an update (`evaluate::summary::kind`): made whatever the options,
    /// as the canaries are chosen by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_kind: Option<String>,
    /// Container steps vow did not run, as `<pipeline>/<container>`.
    pub external: Vec<String>,
    #[serde(skip)]
    pub trace: Vec<StepTrace>,
}

impl Evaluated {
    pub(super) fn new(r: &Request) -> Evaluated {
        Evaluated::blank(r.id.clone(), r.labels.clone(), r.location.clone())
    }

    pub(super) fn blank(id: InstanceRef, labels: Labels, location: Location) -> Evaluated {
        Evaluated {
            id,
            labels: labels.into(),
            location,
            version: String::new(),
            pinned: false,
            paused: false,
            blocked: false,
            findings: Vec::new(),
            files: Vec::new(),
            destinations: Vec::new(),
            spec: Value::Null,
            spec_changed: false,
            status: None,
            change: None,
            change_kind: None,
            external: Vec::new(),
            trace: Vec::new(),
        }
    }

    /// Drops what [`Detail::Digests`](super::Detail::Digests) does not keep: the spec, the
    /// status and the files' contents (their paths and digests stay).
    pub fn drop_contents(&mut self) {
        self.spec = Value::Null;
        self.status = None;
        for f in &mut self.files {
            f.content = String::new();
        }
    }

    /// The bytes of rendered contents this holds.
    pub fn content_bytes(&self) -> usize {
        self.files.iter().map(|f| f.content.len()).sum()
    }

    pub(super) fn block(&mut self, f: Finding) {
        self.blocked = true;
        self.findings.push(f.instance(self.id.to_string()));
    }

    pub(super) fn note(&mut self, f: Finding) {
        if f.blocking {
            self.blocked = true;
        }
        self.findings.push(f.instance(self.id.to_string()));
    }

    /// Records where workload group `dir` is scheduled (replacing an earlier choice).
    pub(super) fn schedule_group(&mut self, dir: &str, destinations: String) {
        match self
            .destinations
            .binary_search_by(|(d, _)| d.as_str().cmp(dir))
        {
            Ok(i) => {
                if let Some(slot) = self.destinations.get_mut(i) {
                    slot.1 = destinations;
                }
            }
            Err(i) => self.destinations.insert(i, (dir.to_string(), destinations)),
        }
    }

    /// A digest of everything rendered: files and their placement.
    pub fn files_digest(&self) -> String {
        let mut h = Sha256::new();
        for f in &self.files {
            h.update(format!("{}\0{}\0", f.path, f.digest));
        }
        format!("sha256:{:x}", h.finalize())
    }
}

/// The binding that records an evaluated instance as applied, following `desired`.
pub fn applied_binding(ev: &Evaluated, desired: &str) -> store::Binding {
    let mut b = store::Binding::new(&ev.id, desired);
    b.status = store::BindingStatus {
        applied_version: Some(ev.version.clone()),
        failed_version: None,
        request_labels: Labels::clone(&ev.labels),
        applied_spec: Some(ev.spec.clone()),
        destinations: ev.destinations.iter().cloned().collect(),
        files: ev
            .files
            .iter()
            .map(|f| FileRecord {
                path: f.path.to_string(),
                digest: f.digest.to_string(),
            })
            .collect(),
    };
    b
}
