//! The validated domain types: what loading produces and everything downstream trusts.

use crate::diag::Location;
use crate::schema::Schema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

mod instance;
pub use instance::{shard_of, HashUse, InstanceRef, Scope};

pub type Labels = BTreeMap<String, String>;

/// An instance's labels, shared by its evaluation, its change and its wave entry instead of
/// copied into each (a B-tree of a few labels takes about a kilobyte).
pub type SharedLabels = std::sync::Arc<Labels>;

/// A Kubernetes label selector (`matchLabels` and `matchExpressions`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Selector {
    /// Labels that must have exactly these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: Labels,
    /// Requirements that must all hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<Requirement>,
}

/// One `matchExpressions` requirement: a label key, an operator and (for In, NotIn) values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// The label.
    pub key: String,
    pub operator: Operator,
    /// The values `In` and `NotIn` compare with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// How a requirement's label is compared: `In` and `NotIn` its values, `Exists` and
/// `DoesNotExist` none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl Selector {
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }

    /// Kubernetes semantics: every label and every expression must hold; empty matches all.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| {
                let v = labels.get(&r.key);
                match r.operator {
                    Operator::In => v.is_some_and(|v| r.values.contains(v)),
                    Operator::NotIn => v.is_none_or(|v| !r.values.contains(v)),
                    Operator::Exists => v.is_some(),
                    Operator::DoesNotExist => v.is_none(),
                }
            })
    }
}

/// One compiled Rhai step of a Pipeline.
#[derive(Clone, Debug)]
pub struct Step {
    pub name: String,
    pub script: crate::script::Script,
}

/// A Kratix Pipeline: Rhai steps vow runs, container steps it lists as external.
#[derive(Clone, Debug)]
pub struct Pipeline {
    pub name: String,
    pub steps: Vec<Step>,
    pub containers: Vec<String>,
}

/// The API a Promise offers: the CRD's group, storage version, kind and request schema.
#[derive(Clone, Debug)]
pub struct Api {
    pub group: String,
    pub version: String,
    pub served: Vec<String>,
    pub kind: String,
    pub schema: Option<Arc<Schema>>,
}

/// A Promise at one version, validated and with its scripts compiled.
#[derive(Clone, Debug)]
pub struct Promise {
    pub name: String,
    pub version: String,
    pub location: Location,
    /// The folder of the Promise file: `file:` steps are relative to it.
    pub dir: PathBuf,
    pub api: Option<Api>,
    pub destination_selectors: Vec<Selector>,
    pub required_promises: Vec<RequiredPromise>,
    pub configure: Vec<Pipeline>,
    pub delete: Vec<Pipeline>,
    pub promise_configure: Vec<Pipeline>,
    /// `workflows.promise.delete`: read so the plan can list its container steps; vow has no
    /// Promise deletion of its own.
    pub promise_delete: Vec<Pipeline>,
    pub rollout: Option<Rollout>,
    pub paused: bool,
    /// A digest of the Promise document and its script files: what a revision is.
    pub digest: String,
    /// Why the Promise cannot be used, when it cannot (a script that does not compile...).
    /// Its requests are blocked with these reasons.
    pub broken: Vec<crate::diag::Finding>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequiredPromise {
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
}

/// A Promise's rollout strategy (`spec.rollout`, or the default in vow.yaml), typed: every value
/// was read and checked at load (`config::rollout`), so the planner cannot meet a bad one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rollout {
    /// `from`: only instances now on a matching version are upgraded; the others are held.
    pub from: Option<VersionFilter>,
    pub canary: Option<Canary>,
    pub waves: Vec<RolloutWave>,
    pub failure_budget: Option<Share>,
}

/// Which versions an upgrade moves instances from (`spec.rollout.from`), compiled at load.
/// "The version" is the Promise version an instance was last applied at (its binding's
/// `status.appliedVersion`, the `from` of its change); a leading `v` is ignored on both sides.
#[derive(Clone, Debug)]
pub enum VersionFilter {
    /// These versions exactly.
    Versions(Vec<String>),
    /// A semver range (`>=6.0, <6.1`), as Cargo reads one; the text kept for explanations.
    Semver(String, semver::VersionReq),
    /// A regular expression the whole version must match.
    Regex(String, regex::Regex),
}

impl VersionFilter {
    /// Whether an instance now on `version` may move; when not, why (for the held list).
    pub fn admits(&self, version: &str) -> Result<(), String> {
        let bare = |v: &str| v.trim().trim_start_matches('v').to_string();
        let v = bare(version);
        let ok = match self {
            VersionFilter::Versions(list) => list.iter().any(|l| bare(l) == v),
            VersionFilter::Semver(_, req) => match semver::Version::parse(&v) {
                Ok(parsed) => req.matches(&parsed),
                Err(_) => {
                    return Err(format!(
                        "on {version}, not a semantic version, so outside from: {}",
                        self.describe()
                    ))
                }
            },
            VersionFilter::Regex(_, re) => re.is_match(&v) || re.is_match(version),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("on {version}, outside from: {}", self.describe()))
        }
    }

    /// The filter as written, for people.
    pub fn describe(&self) -> String {
        match self {
            VersionFilter::Versions(list) => format!("[{}]", list.join(", ")),
            VersionFilter::Semver(text, _) => format!("semver {text}"),
            VersionFilter::Regex(text, _) => format!("regex {text}"),
        }
    }
}

impl PartialEq for VersionFilter {
    fn eq(&self, other: &Self) -> bool {
        self.describe() == other.describe()
    }
}

impl Eq for VersionFilter {}

/// The canaries of a rollout: picked first, in a wave of their own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Canary {
    pub count: Option<u64>,
    pub percent: Option<u64>,
    pub selector: Option<Selector>,
    pub spread: Vec<String>,
    /// How long the canaries bake before the first wave.
    pub bake: Option<Bake>,
}

/// One named wave of a rollout (a plan's waves are its batches).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolloutWave {
    pub name: String,
    /// No selector: a catch-all wave.
    pub selector: Option<Selector>,
    pub max_size: Option<Share>,
    pub bake: Option<Bake>,
    pub failure_budget: Option<Share>,
}

/// A count (`25`) or a percentage (`"25%"`, at most 100) of some total.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Share {
    Count(u64),
    Percent(u64),
}

impl Share {
    /// The share of `total`: percentages round down, with at least 1 when the total is not 0.
    pub fn of(self, total: u64) -> u64 {
        match self {
            Share::Count(n) => n,
            Share::Percent(p) => (total * p / 100).max(u64::from(total > 0)),
        }
    }
}

/// A bake time: as written (plans show it so) and in seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bake {
    pub text: String,
    pub seconds: i64,
}

/// How a Destination lays out the files it receives (Kratix's `spec.filepath.mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum FilepathMode {
    NestedByMetadata,
    AggregatedYaml,
    None,
}

/// A place outputs go, with the labels selectors match.
#[derive(Clone, Debug)]
pub struct Destination {
    pub name: String,
    pub labels: Labels,
    pub path: String,
    pub strict_match_labels: bool,
    pub mode: FilepathMode,
    /// The single file an `aggregatedYAML` destination holds (Kratix's `spec.filepath.filename`).
    pub filename: String,
    pub location: Location,
}

impl Destination {
    /// Whether a workload group with these selectors may go here (Kratix's rules: every selector
    /// must match; a strict destination takes no workload that has no selectors at all).
    pub fn accepts(&self, selectors: &Labels) -> bool {
        if self.strict_match_labels && selectors.is_empty() {
            return false;
        }
        selectors.iter().all(|(k, v)| self.labels.get(k) == Some(v))
    }
}

/// A developer's request, tied to its Promise, not yet validated against the schema.
#[derive(Clone, Debug)]
pub struct Request {
    pub id: InstanceRef,
    /// Index of the Promise in the loaded set.
    pub promise: usize,
    pub labels: Labels,
    pub annotations: Labels,
    /// The parsed document; `Null` while it is `packed` (read it with [`Request::document`]).
    pub value: Value,
    /// The whole document as compact JSON, when loading kept it that way (see
    /// `load::request::LoadedDoc`).
    pub packed: Option<Box<str>>,
    pub location: Location,
    /// Which item of a `List` or array the request was, for messages.
    pub item: Option<String>,
    /// The version a Kratix `ResourceBinding` beside the requests pins this instance to.
    pub binding_version: Option<String>,
}

impl Request {
    /// The whole document, parsed again from its packed text or copied.
    pub fn document(&self) -> Value {
        match &self.packed {
            Some(p) => unpack(p),
            None => self.value.clone(),
        }
    }

    /// The whole document, moved out (the request keeps `Null`).
    pub fn take_document(&mut self) -> Value {
        match self.packed.take() {
            Some(p) => unpack(&p),
            None => std::mem::take(&mut self.value),
        }
    }

    pub fn paused(&self) -> bool {
        self.labels.get("kratix.io/paused").map(String::as_str) == Some("true")
            || self.annotations.get("kratix.io/paused").map(String::as_str) == Some("true")
    }

    /// The version the request pins itself to (`vow.dev/version` label or annotation).
    /// The version the request pins itself to: a `vow.dev/version` label or annotation, else a
    /// Kratix `ResourceBinding` for it among the requests.
    pub fn pinned_version(&self) -> Option<&str> {
        self.labels
            .get("vow.dev/version")
            .or_else(|| self.annotations.get("vow.dev/version"))
            .or(self.binding_version.as_ref())
            .map(String::as_str)
            .filter(|v| !v.is_empty() && *v != "latest")
    }
}

/// vow's own JSON text of a document it parsed: it always reads back, to the same value.
#[allow(
    clippy::expect_used,
    reason = "the text is serde_json's own output for a value it parsed, within the same nesting limit"
)]
fn unpack(text: &str) -> Value {
    serde_json::from_str(text).expect("the packed JSON of a parsed document reads back")
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// A packed request reads back to the very document: floats included (serde_json's
        /// `float_roundtrip`), to the last bit.
        #[test]
        fn packed_documents_read_back_exactly(f in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL, i in proptest::prelude::any::<i64>()) {
            let doc = serde_json::json!({"spec": {"f": f, "i": i, "list": [f, -f]}});
            let back = unpack(&serde_json::to_string(&doc).unwrap());
            proptest::prop_assert_eq!(back, doc);
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn selectors_follow_kubernetes() {
        let s: Selector = serde_json::from_value(serde_json::json!({
            "matchLabels": {"env": "prod"},
            "matchExpressions": [
                {"key": "region", "operator": "In", "values": ["eu", "us"]},
                {"key": "legacy", "operator": "DoesNotExist"}
            ]
        }))
        .unwrap();
        assert!(s.matches(&labels(&[("env", "prod"), ("region", "eu")])));
        assert!(!s.matches(&labels(&[("env", "prod"), ("region", "ap")])));
        assert!(!s.matches(&labels(&[
            ("env", "prod"),
            ("region", "eu"),
            ("legacy", "x")
        ])));
        assert!(Selector::default().matches(&labels(&[])));
    }

    #[test]
    fn quantities_round_down_with_at_least_one() {
        let q = Share::Percent(25);
        assert_eq!(q.of(10), 2);
        assert_eq!(q.of(3), 1);
        assert_eq!(q.of(0), 0);
        assert_eq!(Share::Count(4).of(100), 4);
    }

    #[test]
    fn strict_destinations_refuse_unlabelled_work() {
        let mut d = Destination {
            name: "a".into(),
            labels: labels(&[("env", "dev")]),
            path: "a".into(),
            strict_match_labels: true,
            mode: FilepathMode::NestedByMetadata,
            filename: "aggregated.yaml".into(),
            location: Location::new("d.yaml".into(), 1),
        };
        assert!(!d.accepts(&Labels::new()));
        assert!(d.accepts(&labels(&[("env", "dev")])));
        d.strict_match_labels = false;
        assert!(d.accepts(&Labels::new()));
        assert!(!d.accepts(&labels(&[("env", "prod")])));
    }
}
