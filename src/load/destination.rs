//! Destinations: Kratix's `Destination` documents.

use crate::diag::{self, Finding};
use crate::model::{Destination, FilepathMode, Labels};
use crate::source::names;
use crate::source::Doc;
use serde_json::Value;

/// Builds a Destination from its document.
/// Builds a Destination from its document; `root` is the workspace root, for finding lines.
pub fn parse(root: &std::path::Path, doc: &Doc) -> Result<Destination, Finding> {
    let v = &doc.value;
    let err = |msg: String| Finding::new(diag::INVALID_DESTINATION, msg).at(doc.location.clone());
    let name = name(root, doc)?;
    let labels: Labels = match v.pointer("/metadata/labels") {
        None | Some(Value::Null) => Labels::new(),
        Some(l) => serde_json::from_value(l.clone())
            .map_err(|e| err(format!("Destination {name}: metadata.labels: {e}")))?,
    };
    let path = path(root, doc, &name)?;
    let strict_match_labels = v
        .pointer("/spec/strictMatchLabels")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let (mode, filename) = filepath(root, doc, &name)?;
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

/// `metadata.name`: a string that is a DNS subdomain.
fn name(root: &std::path::Path, doc: &Doc) -> Result<String, Finding> {
    let name = match doc.value.pointer("/metadata/name") {
        Some(Value::String(n)) => n.clone(),
        None | Some(Value::Null) => {
            return Err(Finding::new(
                diag::INVALID_DESTINATION,
                "a Destination without metadata.name",
            )
            .at(doc.location.clone()))
        }
        Some(other) => {
            return Err(Finding::new(
                diag::WRONG_TYPE,
                format!(
                    "a Destination's metadata.name must be a string, not {}",
                    crate::schema::show(other)
                ),
            )
            .at(doc.location.clone())
            .help("quote the name"))
        }
    };
    names::subdomain(&name).map_err(|rule| {
        Finding::new(
            diag::INVALID_NAME,
            format!("Destination `{name}`: metadata.name: {rule}; skipped"),
        )
        .at(doc.field_location(root, "metadata.name"))
        .help("rename the Destination, e.g. `dev-eu`")
    })?;
    Ok(name)
}

/// `spec.path`: the folder in the store, the name by default.
fn path(root: &std::path::Path, doc: &Doc, name: &str) -> Result<String, Finding> {
    let path = match doc.value.pointer("/spec/path") {
        None | Some(Value::Null) => name.to_string(),
        // A trailing `/` is a folder's usual spelling; the rest must already be clean.
        Some(Value::String(p)) => p.strip_suffix('/').unwrap_or(p).to_string(),
        Some(other) => {
            return Err(Finding::new(
                diag::INVALID_DESTINATION,
                format!(
                    "Destination {name}: spec.path must be a string, not {}",
                    crate::schema::show(other)
                ),
            )
            .at(doc.location.clone()))
        }
    };
    names::store_path(&path).map_err(|rule| {
        Finding::new(
            diag::INVALID_DESTINATION_PATH,
            format!("Destination {name}: spec.path `{path}`: {rule}; skipped"),
        )
        .at(doc.field_location(root, "spec.path"))
        .help("use a relative path inside the store, such as `clusters/dev`")
    })?;
    Ok(path)
}

/// `spec.filepath`: how files are laid out, and the file of an aggregated destination.
fn filepath(
    root: &std::path::Path,
    doc: &Doc,
    name: &str,
) -> Result<(FilepathMode, String), Finding> {
    let v = &doc.value;
    let mode = match v.pointer("/spec/filepath/mode").and_then(Value::as_str) {
        None | Some("nestedByMetadata") => FilepathMode::NestedByMetadata,
        Some("aggregatedYAML") => FilepathMode::AggregatedYaml,
        Some("none") => FilepathMode::None,
        Some(other) => {
            return Err(Finding::new(
                diag::INVALID_DESTINATION,
                format!(
                    "Destination {name}: spec.filepath.mode `{other}` is not one of \
                     nestedByMetadata, aggregatedYAML, none"
                ),
            )
            .at(doc.location.clone()))
        }
    };
    let filename = v
        .pointer("/spec/filepath/filename")
        .and_then(Value::as_str)
        .map(|f| f.trim_matches('/').to_string())
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| crate::store::layout::AGGREGATED_FILENAME.into());
    if let Err(rule) = names::store_path(&filename) {
        return Err(Finding::new(
            diag::INVALID_DESTINATION_PATH,
            format!("Destination {name}: spec.filepath.filename `{filename}`: {rule}; skipped"),
        )
        .at(doc.field_location(root, "spec.filepath.filename"))
        .help("name a file inside the destination, such as `aggregated.yaml`"));
    }
    Ok((mode, filename))
}
