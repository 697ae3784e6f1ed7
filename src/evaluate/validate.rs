//! The first stage: the request's defaults applied and checked against its Promise's API schema.

use super::Evaluated;
use crate::diag::{self, Finding};
use crate::model::{Promise, Request};
use crate::schema;
use serde_json::Value;

/// Applies defaults and validates against the schema. Returns the defaulted request.
pub(super) fn validate(
    promise: &Promise,
    r: &Request,
    mut value: Value,
    ev: &mut Evaluated,
) -> Option<Value> {
    let Some(schema) = promise.api.as_ref().and_then(|a| a.schema.as_ref()) else {
        return Some(value);
    };
    let Value::Object(map) = &mut value else {
        ev.block(
            Finding::new(diag::SCHEMA, format!("{} is not an object", r.id)).at(r.location.clone()),
        );
        return None;
    };
    // apiVersion, kind and metadata belong to Kubernetes, not to the Promise's schema.
    // The body is moved out and back after defaulting, not copied.
    let keys: Vec<String> = map
        .keys()
        .filter(|k| !matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "status"))
        .cloned()
        .collect();
    let body: serde_json::Map<String, Value> = keys
        .into_iter()
        .filter_map(|k| map.remove(&k).map(|v| (k, v)))
        .collect();
    let mut body = Value::Object(body);
    let violations = schema::default_and_validate(schema, &mut body, "");
    let invalid = violations.iter().any(|v| v.error);
    for v in violations {
        let code = if v.error {
            diag::SCHEMA
        } else {
            diag::UNKNOWN_FIELD
        };
        let help = if v.error {
            "fix the request so that it satisfies the Promise's API schema"
        } else {
            "remove the field or check its spelling"
        };
        let mut f = Finding::new(code, format!("{}: {} {}", r.id, v.path, v.message))
            .at(r.location.clone())
            .field(v.path)
            .help(help);
        f.unlocated = r.item.is_none();
        ev.note(f);
    }
    if invalid {
        return None;
    }
    if let Value::Object(b) = body {
        map.extend(b);
    }
    Some(value)
}
