//! The script variables rules and workflow steps share: built the same way for both, so a rule
//! and a step that read `spec` or `promise` see the same values.

use rhai::{Dynamic, Map};

/// A field of a converted document (`spec`, `metadata`), or `()` when it has none.
pub(crate) fn field(d: &Dynamic, name: &str) -> Dynamic {
    d.read_lock::<Map>()
        .and_then(|m| m.get(name).cloned())
        .unwrap_or(Dynamic::UNIT)
}

/// The `promise` variable: the Promise's name and version.
pub(crate) fn promise_variable(name: &str, version: &str) -> Dynamic {
    let mut promise = Map::new();
    promise.insert("name".into(), name.to_string().into());
    promise.insert("version".into(), version.to_string().into());
    Dynamic::from_map(promise)
}
