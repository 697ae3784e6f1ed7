//! Destinations: Kratix's `Destination` documents.

use super::Doc;
use crate::diag::{self, Finding};
use crate::model::{Destination, FilepathMode, Labels};
use serde_json::Value;

/// Builds a Destination from its document.
pub fn parse(doc: &Doc) -> Result<Destination, Finding> {
    let v = &doc.value;
    let err = |msg: String| Finding::new(diag::INVALID_DESTINATION, msg).at(doc.location.clone());
    let name = doc
        .name()
        .ok_or_else(|| err("a Destination without metadata.name".into()))?
        .to_string();
    let labels: Labels = match v.pointer("/metadata/labels") {
        None | Some(Value::Null) => Labels::new(),
        Some(l) => serde_json::from_value(l.clone())
            .map_err(|e| err(format!("Destination {name}: metadata.labels: {e}")))?,
    };
    let path = v
        .pointer("/spec/path")
        .and_then(Value::as_str)
        .map(|p| p.trim_matches('/').to_string())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| name.clone());
    if path.split('/').any(|s| s == "..") {
        return Err(err(format!(
            "Destination {name}: spec.path `{path}` must stay inside the store"
        )));
    }
    let strict_match_labels = v
        .pointer("/spec/strictMatchLabels")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mode = match v.pointer("/spec/filepath/mode").and_then(Value::as_str) {
        None | Some("nestedByMetadata") => FilepathMode::NestedByMetadata,
        Some("aggregatedYAML") => FilepathMode::AggregatedYaml,
        Some("none") => FilepathMode::None,
        Some(other) => {
            return Err(err(format!(
                "Destination {name}: spec.filepath.mode `{other}` is not one of nestedByMetadata, aggregatedYAML, none"
            )))
        }
    };
    let filename = v
        .pointer("/spec/filepath/filename")
        .and_then(Value::as_str)
        .map(|f| f.trim_matches('/').to_string())
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| crate::store::AGGREGATED_FILENAME.into());
    if filename.split('/').any(|s| s == "..") {
        return Err(err(format!(
            "Destination {name}: spec.filepath.filename `{filename}` must stay inside the destination"
        )));
    }
    Ok(Destination {
        name,
        labels,
        path,
        strict_match_labels,
        mode,
        filename,
        location: doc.location.clone(),
    })
}
