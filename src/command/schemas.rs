//! `vow schemas --out DIR` (hidden): writes the JSON Schemas of the files people edit, derived
//! from the types vow reads them into (schemars), to the folder shipped as schemas/. The test
//! tests/schemas.rs fails when a shipped file differs from what this writes, so the shipped
//! schemas follow the code. docs/editors.md says which schema goes with which file.

use super::Sink;
use crate::apply::gate_cmd::{GateAnswer, GateWave};
use crate::config::RolloutSpec;
use crate::error::{Error, Result};
use crate::policy::document::{RuleDocument, WaiverDocument};
use crate::report::status::StatusReport;
use crate::testcase::TestDocument;
use crate::workspace::ConfigFile;
use serde_json::Value;
use std::path::Path;

// Any document of rules/: one schema for the whole folder, where editors match files by name
// and a Waiver or Test file is named like a Rule's. Each kind has its own `kind`, so exactly one
// of the three matches a document.
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[schemars(
    title = "vow Rule, Waiver or Test",
    description = "A document of rules/: a Rule, a Waiver or a Test, by its `kind` (docs/policy.md)."
)]
#[allow(dead_code)] // only for the schema
enum PolicyDocument {
    Rule(RuleDocument),
    Waiver(WaiverDocument),
    Test(TestDocument),
}

/// Every schema: its file name under schemas/ and its text (pretty JSON, sorted keys, a final
/// newline: byte-identical on every run).
pub(crate) fn all() -> Vec<(&'static str, String)> {
    [
        ("vow.json", schemars::schema_for!(ConfigFile)),
        ("rule.json", schemars::schema_for!(RuleDocument)),
        ("waiver.json", schemars::schema_for!(WaiverDocument)),
        ("test.json", schemars::schema_for!(TestDocument)),
        ("rollout.json", schemars::schema_for!(RolloutSpec)),
        ("policy.json", schemars::schema_for!(PolicyDocument)),
        ("gate-input.json", schemars::schema_for!(GateWave)),
        ("gate-output.json", schemars::schema_for!(GateAnswer)),
        ("status.json", schemars::schema_for!(StatusReport)),
        // An output, not a file people edit: what `vow fleet --format json` writes.
        ("fleet.json", schemars::schema_for!(crate::fleet::Inventory)),
    ]
    .into_iter()
    .map(|(name, schema)| {
        let mut value = schema.to_value();
        without_null(&mut value);
        let text = serde_json::to_string_pretty(&value).unwrap_or_default();
        (name, text + "\n")
    })
    .collect()
}

/// An optional key is written or left out, never `null`: schemars says `Option<T>` as "T or
/// null" (`anyOf [T, null]`, `type [T, null]`, `default: null`), and under an `anyOf` a
/// validator's error no longer names the misspelt key inside T. So each of those becomes T.
fn without_null(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("default") == Some(&Value::Null) {
                map.remove("default");
            }
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if let [only] = types.as_slice() {
                    let only = only.clone();
                    map.insert("type".into(), only);
                }
            }
            let null = serde_json::json!({"type": "null"});
            let other = match map.get("anyOf") {
                Some(Value::Array(alts)) if alts.len() == 2 && alts.contains(&null) => {
                    alts.iter().find(|a| **a != null).cloned()
                }
                _ => None,
            };
            if let Some(Value::Object(other)) = other {
                map.remove("anyOf");
                map.extend(other);
            }
            map.values_mut().for_each(without_null);
        }
        Value::Array(items) => items.iter_mut().for_each(without_null),
        _ => {}
    }
}

/// Writes every schema into `out` (made when missing) and names each file on stderr.
pub(crate) fn write(out: &Path, sink: &mut Sink) -> Result<i32> {
    std::fs::create_dir_all(out).map_err(|source| Error::Io {
        action: "create",
        path: out.to_path_buf(),
        source,
    })?;
    for (name, text) in all() {
        let path = out.join(name);
        crate::store::write::atomic_write(&path, text.as_bytes())
            .map_err(|e| Error::Store(format!("cannot write {}: {e:#}", path.display())))?;
        sink.say(&format!("vow schemas: wrote {}\n", path.display()));
    }
    Ok(crate::error::exit::OK)
}
