//! The script variables rules and workflow steps share: built the same way for both, so a rule
//! and a step that read `spec` or `promise` see the same values, and built once per request, so
//! that its steps and its rules do not each convert the request again.

use crate::script;
use rhai::{Dynamic, Map};
use serde_json::Value;

/// A request's variables for scripts, each converted the first time a script reads it and then
/// kept: `spec` and `metadata` on their own, the whole `request` only for a script that reads
/// it (most read `spec` alone, and the request map holds both again).
pub struct RequestVars<'a> {
    value: &'a Value,
    spec: Option<Dynamic>,
    metadata: Option<Dynamic>,
    request: Option<Dynamic>,
}

impl<'a> RequestVars<'a> {
    pub fn new(value: &'a Value) -> RequestVars<'a> {
        RequestVars {
            value,
            spec: None,
            metadata: None,
            request: None,
        }
    }

    /// `spec`: the request's `spec`, or `()`.
    pub fn spec(&mut self) -> &Dynamic {
        let value = self.value;
        self.spec.get_or_insert_with(|| top_field(value, "spec"))
    }

    /// `metadata`: the request's `metadata`, or `()`.
    pub fn metadata(&mut self) -> &Dynamic {
        let value = self.value;
        self.metadata
            .get_or_insert_with(|| top_field(value, "metadata"))
    }

    /// `request`: the whole request, its `spec` and `metadata` copied from those already made.
    pub fn request(&mut self) -> &Dynamic {
        if self.request.is_none() {
            let made = self.make_request();
            self.request = Some(made);
        }
        self.request.as_ref().unwrap_or(&Dynamic::UNIT)
    }

    fn make_request(&mut self) -> Dynamic {
        let Some(fields) = self.value.as_object() else {
            return script::to_dynamic(self.value);
        };
        let mut m = Map::new();
        for (k, v) in fields {
            let d = match k.as_str() {
                "spec" => self.spec().clone(),
                "metadata" => self.metadata().clone(),
                _ => script::to_dynamic_at(v, 1),
            };
            m.insert(k.as_str().into(), d);
        }
        Dynamic::from_map(m)
    }

    /// Takes `spec` out for its last reader (the rules), converting it if no step did.
    pub fn take_spec(&mut self) -> Dynamic {
        self.spec();
        self.spec.take().unwrap_or(Dynamic::UNIT)
    }

    /// Takes `metadata` out for its last reader.
    pub fn take_metadata(&mut self) -> Dynamic {
        self.metadata();
        self.metadata.take().unwrap_or(Dynamic::UNIT)
    }

    /// Takes `request` out for its last reader.
    pub fn take_request(&mut self) -> Dynamic {
        self.request();
        self.request.take().unwrap_or(Dynamic::UNIT)
    }

    /// Moves the variable `name` (`request`, `spec` or `metadata`) out, converted if no script
    /// read it yet, for a script that gets it as a constant; [`RequestVars::give_back`] puts it
    /// back after the run. Lend `request` before the other two: it is made from them.
    pub fn lend(&mut self, name: &str) -> Dynamic {
        match name {
            "request" => self.take_request(),
            "spec" => self.take_spec(),
            "metadata" => self.take_metadata(),
            _ => Dynamic::UNIT,
        }
    }

    /// Puts back what [`RequestVars::lend`] moved out.
    pub fn give_back(&mut self, name: &str, value: Dynamic) {
        let slot = match name {
            "request" => &mut self.request,
            "spec" => &mut self.spec,
            "metadata" => &mut self.metadata,
            _ => return,
        };
        *slot = Some(value);
    }
}

/// A top-level field of the request, converted at the depth it has in the request; `()` when
/// absent or when the request is not a map. A field nested too deep is `()` on its own (the
/// request converted whole was `()` in all; the loaders let no such request through, serde
/// stops at 128 levels, so the two never differ on a loaded request).
fn top_field(value: &Value, name: &str) -> Dynamic {
    value
        .get(name)
        .map_or(Dynamic::UNIT, |v| script::to_dynamic_at(v, 1))
}

/// The `promise` variable: the Promise's name and version.
pub(crate) fn promise_variable(name: &str, version: &str) -> Dynamic {
    let mut promise = Map::new();
    promise.insert("name".into(), name.to_string().into());
    promise.insert("version".into(), version.to_string().into());
    Dynamic::from_map(promise)
}
