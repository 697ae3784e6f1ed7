//! The validated domain types: what loading produces and everything downstream trusts.

use crate::diag::Location;
use crate::schema::Schema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

pub type Labels = BTreeMap<String, String>;

/// An instance's labels, shared by its evaluation, its change and its wave entry instead of
/// copied into each (a B-tree of a few labels takes about a kilobyte).
pub type SharedLabels = std::sync::Arc<Labels>;

/// A Kubernetes label selector (`matchLabels` and `matchExpressions`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Selector {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: Labels,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<Requirement>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub key: String,
    pub operator: Operator,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// A Promise's rollout strategy (`spec.rollout`, or the default in vow.yaml).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rollout {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<Canary>,
    #[serde(default)]
    pub waves: Vec<WaveSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_budget: Option<Quantity>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Canary {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<Selector>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spread: Vec<String>,
    /// How long the canaries bake before the first wave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WaveSpec {
    pub name: String,
    /// No selector: a catch-all wave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<Selector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<Quantity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_budget: Option<Quantity>,
}

impl Rollout {
    /// Every value of the strategy that cannot be read, as (field below the rollout, the
    /// problem): checked once where the strategy is loaded, not once per request planned.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut bake = |field: String, b: &Option<String>| {
            if let Some(b) = b {
                if let Err(e) = crate::duration::parse_duration(b) {
                    out.push((field, format!("bake: {e}")));
                }
            }
        };
        if let Some(c) = &self.canary {
            bake("canary.bake".into(), &c.bake);
        }
        for (i, w) in self.waves.iter().enumerate() {
            bake(format!("waves[{i}].bake"), &w.bake);
        }
        if let Some(p) = self.canary.as_ref().and_then(|c| c.percent) {
            if p > 100 {
                out.push(("canary.percent".into(), format!("{p} is over 100")));
            }
        }
        let mut quantity = |field: String, q: &Option<Quantity>, zero_ok: bool| {
            if let Some(q) = q {
                if let Err(e) = q.check(zero_ok) {
                    out.push((field, e));
                }
            }
        };
        quantity("failureBudget".into(), &self.failure_budget, true);
        for (i, w) in self.waves.iter().enumerate() {
            quantity(format!("waves[{i}].maxSize"), &w.max_size, false);
            quantity(format!("waves[{i}].failureBudget"), &w.failure_budget, true);
        }
        out
    }
}

/// A count (`25`) or a share (`"25%"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Quantity {
    Count(u64),
    Text(String),
}

impl Quantity {
    /// Whether the value can be resolved at all: a count, or a percentage of at most 100;
    /// `zero_ok` false refuses 0 and `0%` (a wave of at most 0 instances never ends).
    pub fn check(&self, zero_ok: bool) -> Result<(), String> {
        let n = match self {
            Quantity::Count(n) => *n,
            Quantity::Text(t) => {
                let t = t.trim();
                if let Some(p) = t.strip_suffix('%') {
                    let p: u64 = p
                        .trim()
                        .parse()
                        .map_err(|_| format!("`{t}` is not a percentage like `25%`"))?;
                    if p > 100 {
                        return Err(format!("`{t}` is over 100%"));
                    }
                    p
                } else {
                    t.parse()
                        .map_err(|_| format!("`{t}` is neither a number nor a percentage"))?
                }
            }
        };
        if n == 0 && !zero_ok {
            return Err("0 would never let an instance through; use at least 1".into());
        }
        Ok(())
    }

    /// Resolves against a total: percentages round down, with at least 1 when the total is not 0.
    pub fn resolve(&self, total: u64) -> Result<u64, String> {
        match self {
            Quantity::Count(n) => Ok(*n),
            Quantity::Text(t) => {
                let t = t.trim();
                if let Some(p) = t.strip_suffix('%') {
                    let p: u64 = p
                        .trim()
                        .parse()
                        .map_err(|_| format!("`{t}` is not a percentage like `25%`"))?;
                    Ok((total * p / 100).max(u64::from(total > 0)))
                } else {
                    t.parse()
                        .map_err(|_| format!("`{t}` is neither a number nor a percentage"))
                }
            }
        }
    }
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

/// The identity of an instance: `<promise>:<namespace>/<name>`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
pub struct InstanceRef {
    pub promise: String,
    pub namespace: String,
    pub name: String,
}

impl InstanceRef {
    /// The Promise-level outputs of a Promise (its `promise.configure` workflow), which Kratix
    /// writes under `dependencies/<promise>/`: `<promise>:dependencies`.
    pub fn dependencies(promise: &str) -> InstanceRef {
        InstanceRef {
            promise: promise.to_string(),
            namespace: String::new(),
            name: String::new(),
        }
    }

    pub fn is_dependencies(&self) -> bool {
        self.namespace.is_empty() && self.name.is_empty()
    }
}

impl std::fmt::Display for InstanceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_dependencies() {
            return write!(f, "{}:dependencies", self.promise);
        }
        write!(f, "{}:{}/{}", self.promise, self.namespace, self.name)
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

    #[test]
    fn rollout_values_are_checked_once_at_load() {
        let r: Rollout = serde_json::from_value(serde_json::json!({
            "canary": {"percent": 150, "bake": "1h"},
            "failureBudget": "150%",
            "waves": [
                {"name": "a", "bake": "banana", "maxSize": 0},
                {"name": "b", "maxSize": "25%", "failureBudget": "x"}
            ]
        }))
        .unwrap();
        let fields: Vec<String> = r.problems().into_iter().map(|p| p.0).collect();
        assert_eq!(
            fields,
            [
                "waves[0].bake",
                "canary.percent",
                "failureBudget",
                "waves[0].maxSize",
                "waves[1].failureBudget"
            ]
        );
        assert!(Rollout::default().problems().is_empty());
    }

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
        let q = Quantity::Text("25%".into());
        assert_eq!(q.resolve(10), Ok(2));
        assert_eq!(q.resolve(3), Ok(1));
        assert_eq!(q.resolve(0), Ok(0));
        assert_eq!(Quantity::Count(4).resolve(100), Ok(4));
        assert!(Quantity::Text("lots".into()).resolve(5).is_err());
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
