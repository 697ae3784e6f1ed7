//! Kubernetes structural-schema validation and defaulting of requests.
//!
//! The subset a CRD's `openAPIV3Schema` may use: types, properties,
//! required, enum, pattern, numeric and length bounds, items, additionalProperties, nullable,
//! defaults applied recursively as the API server applies them, preserve-unknown-fields and
//! int-or-string. Unknown fields are pruned with a warning, as the API server does.

use regex::Regex;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    Object,
    Array,
    String,
    Integer,
    Number,
    Boolean,
}

impl Type {
    fn parse(s: &str) -> Option<Type> {
        Some(match s {
            "object" => Type::Object,
            "array" => Type::Array,
            "string" => Type::String,
            "integer" => Type::Integer,
            "number" => Type::Number,
            "boolean" => Type::Boolean,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Type::Object => "object",
            Type::Array => "array",
            Type::String => "string",
            Type::Integer => "integer",
            Type::Number => "number",
            Type::Boolean => "boolean",
        }
    }
}

/// `additionalProperties`: absent, a boolean, or a schema for every value of a map.
#[derive(Clone, Debug)]
pub enum Additional {
    Any,
    Schema(Box<Schema>),
}

/// A compiled structural schema node.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    pub ty: Option<Type>,
    pub properties: BTreeMap<String, Schema>,
    pub required: Vec<String>,
    pub enumeration: Option<Vec<Value>>,
    pub pattern: Option<Regex>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub exclusive_minimum: bool,
    pub exclusive_maximum: bool,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub items: Option<Box<Schema>>,
    pub additional: Option<Additional>,
    pub nullable: bool,
    pub default: Option<Value>,
    pub preserve_unknown: bool,
    pub int_or_string: bool,
}

/// A problem found while compiling a schema: `(schema path, message, is_error)`.
pub type SchemaNote = (String, String, bool);

/// Keywords that are documentation or that Kubernetes itself does not enforce on values.
const SILENT: &[&str] = &[
    "description",
    "title",
    "format",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-embedded-resource",
    "externalDocs",
];

impl Schema {
    /// Compiles an `openAPIV3Schema`. Unknown keywords become notes, never errors; a keyword
    /// with a value of the wrong shape (an invalid `pattern`) is an error note.
    pub fn compile(v: &Value, path: &str, notes: &mut Vec<SchemaNote>) -> Schema {
        let mut s = Schema::default();
        let Some(obj) = v.as_object() else {
            notes.push((path.into(), "a schema must be an object".into(), true));
            return s;
        };
        for (k, val) in obj {
            s.keyword(k, val, path, notes);
        }
        s
    }

    fn keyword(&mut self, k: &str, val: &Value, path: &str, notes: &mut Vec<SchemaNote>) {
        let bad = |notes: &mut Vec<SchemaNote>, what: &str| {
            notes.push((format!("{path}.{k}"), format!("`{k}` {what}"), true));
        };
        match k {
            "type" => match val.as_str().and_then(Type::parse) {
                Some(t) => self.ty = Some(t),
                None => bad(
                    notes,
                    "must be one of object, array, string, integer, number, boolean",
                ),
            },
            "properties" | "items" | "additionalProperties" => self.nested(k, val, path, notes),
            "required" => match val.as_array() {
                Some(a) => {
                    self.required = a
                        .iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                }
                None => bad(notes, "must be a list of field names"),
            },
            "enum" => match val.as_array() {
                Some(a) => self.enumeration = Some(a.clone()),
                None => bad(notes, "must be a list"),
            },
            "pattern" => match val.as_str().map(Regex::new) {
                Some(Ok(r)) => self.pattern = Some(r),
                Some(Err(e)) => bad(notes, &format!("is not a valid regular expression: {e}")),
                None => bad(notes, "must be a string"),
            },
            "minimum" => self.minimum = number(val, k, path, notes),
            "maximum" => self.maximum = number(val, k, path, notes),
            "exclusiveMinimum" => self.exclusive_minimum = flag(val, k, path, notes),
            "exclusiveMaximum" => self.exclusive_maximum = flag(val, k, path, notes),
            "minLength" => self.min_length = count(val, k, path, notes),
            "maxLength" => self.max_length = count(val, k, path, notes),
            "minItems" => self.min_items = count(val, k, path, notes),
            "maxItems" => self.max_items = count(val, k, path, notes),
            "nullable" => self.nullable = flag(val, k, path, notes),
            "default" => self.default = Some(val.clone()),
            "x-kubernetes-preserve-unknown-fields" => {
                self.preserve_unknown = flag(val, k, path, notes)
            }
            "x-kubernetes-int-or-string" => self.int_or_string = flag(val, k, path, notes),
            k if SILENT.contains(&k) => {}
            "example" | "regex" => notes.push((
                format!("{path}.{k}"),
                format!("`{k}` is not a structural-schema keyword; ignored"),
                false,
            )),
            _ => notes.push((
                format!("{path}.{k}"),
                format!("`{k}` is not enforced by vow; ignored"),
                false,
            )),
        }
    }

    /// The keywords that hold schemas of their own: compiled in turn, at their own paths.
    fn nested(&mut self, k: &str, val: &Value, path: &str, notes: &mut Vec<SchemaNote>) {
        match k {
            "properties" => match val.as_object() {
                Some(props) => {
                    for (name, sub) in props {
                        let p = format!("{path}.properties.{name}");
                        self.properties
                            .insert(name.clone(), Schema::compile(sub, &p, notes));
                    }
                }
                None => notes.push((
                    format!("{path}.{k}"),
                    format!("`{k}` must be a map of schemas"),
                    true,
                )),
            },
            "items" => {
                self.items = Some(Box::new(Schema::compile(
                    val,
                    &format!("{path}.items"),
                    notes,
                )))
            }
            "additionalProperties" => {
                self.additional = match val {
                    Value::Bool(false) => None,
                    Value::Bool(true) => Some(Additional::Any),
                    other => Some(Additional::Schema(Box::new(Schema::compile(
                        other,
                        &format!("{path}.additionalProperties"),
                        notes,
                    )))),
                }
            }
            _ => {}
        }
    }
}

fn flag(val: &Value, k: &str, path: &str, notes: &mut Vec<SchemaNote>) -> bool {
    let b = val.as_bool();
    if b.is_none() {
        notes.push((
            format!("{path}.{k}"),
            format!("`{k}` must be true or false"),
            true,
        ));
    }
    b.unwrap_or(false)
}

fn count(val: &Value, k: &str, path: &str, notes: &mut Vec<SchemaNote>) -> Option<u64> {
    let n = val.as_u64();
    if n.is_none() {
        notes.push((
            format!("{path}.{k}"),
            format!("`{k}` must be a non-negative integer"),
            true,
        ));
    }
    n
}

fn number(val: &Value, k: &str, path: &str, notes: &mut Vec<SchemaNote>) -> Option<f64> {
    let n = val.as_f64();
    if n.is_none() {
        notes.push((
            format!("{path}.{k}"),
            format!("`{k}` must be a number"),
            true,
        ));
    }
    n
}

/// A schema violation or a pruned field, with the field's path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub message: String,
    /// `false` for pruned unknown fields: reported, not blocking.
    pub error: bool,
}

/// Applies defaults (recursively) to `value`, prunes unknown fields, then validates it.
pub fn default_and_validate(schema: &Schema, value: &mut Value, path: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    apply_defaults(schema, value);
    check(schema, value, path, &mut out);
    out
}

/// Fills absent fields from their `default`, descending into the result: a `default: {}` object
/// gets its children's defaults too, as the Kubernetes API server does. A `null` in a field that
/// is not nullable is treated as absent.
pub fn apply_defaults(schema: &Schema, value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (name, sub) in &schema.properties {
                let absent = match map.get(name) {
                    None => true,
                    Some(Value::Null) => !sub.nullable,
                    Some(_) => false,
                };
                if absent {
                    if let Some(d) = &sub.default {
                        map.insert(name.clone(), d.clone());
                    }
                }
                if let Some(child) = map.get_mut(name) {
                    apply_defaults(sub, child);
                }
            }
            if let Some(Additional::Schema(sub)) = &schema.additional {
                for child in map.values_mut() {
                    apply_defaults(sub, child);
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = &schema.items {
                for child in items {
                    apply_defaults(sub, child);
                }
            }
        }
        _ => {}
    }
}

fn check(schema: &Schema, value: &mut Value, path: &str, out: &mut Vec<Violation>) {
    let mut err = |message: String| {
        out.push(Violation {
            path: path.to_string(),
            message,
            error: true,
        })
    };
    if value.is_null() {
        if !schema.nullable && (schema.ty.is_some() || schema.int_or_string) {
            err(format!(
                "null is not allowed here (expected {})",
                type_word(schema)
            ));
        }
        return;
    }
    if !type_ok(schema, value) {
        err(format!(
            "{} is not of type {}",
            show(value),
            type_word(schema)
        ));
        return;
    }
    if let Some(allowed) = &schema.enumeration {
        if !allowed.iter().any(|a| same_value(a, value)) {
            let list: Vec<String> = allowed.iter().map(show).collect();
            err(format!(
                "{} is not one of the allowed values (enum): {}",
                show(value),
                list.join(", ")
            ));
        }
    }
    match value {
        Value::String(s) => check_string(schema, s, &mut err),
        Value::Number(n) => check_number(
            schema,
            n.as_f64().unwrap_or(0.0),
            value_text(value),
            &mut err,
        ),
        _ => {}
    }
    match value {
        Value::Object(map) => check_object(schema, map, path, out),
        Value::Array(items) => check_array(schema, items, path, out),
        _ => {}
    }
}

fn check_string(schema: &Schema, s: &str, err: &mut impl FnMut(String)) {
    let len = s.chars().count() as u64;
    if let Some(min) = schema.min_length {
        if len < min {
            err(format!("{s:?} is shorter than minLength {min}"));
        }
    }
    if let Some(max) = schema.max_length {
        if len > max {
            err(format!("{s:?} is longer than maxLength {max}"));
        }
    }
    if let Some(re) = &schema.pattern {
        if !re.is_match(s) {
            err(format!("{s:?} does not match the pattern {}", re.as_str()));
        }
    }
}

fn check_number(schema: &Schema, n: f64, text: String, err: &mut impl FnMut(String)) {
    if let Some(min) = schema.minimum {
        if n < min || (schema.exclusive_minimum && n == min) {
            let rule = if schema.exclusive_minimum {
                "exclusive minimum"
            } else {
                "minimum"
            };
            err(format!("{text} is less than the {rule} {}", fmt_num(min)));
        }
    }
    if let Some(max) = schema.maximum {
        if n > max || (schema.exclusive_maximum && n == max) {
            let rule = if schema.exclusive_maximum {
                "exclusive maximum"
            } else {
                "maximum"
            };
            err(format!(
                "{text} is greater than the {rule} {}",
                fmt_num(max)
            ));
        }
    }
}

fn check_object(
    schema: &Schema,
    map: &mut Map<String, Value>,
    path: &str,
    out: &mut Vec<Violation>,
) {
    for name in &schema.required {
        if !map.contains_key(name) {
            out.push(Violation {
                path: join(path, name),
                message: "is required but missing".into(),
                error: true,
            });
        }
    }
    let mut unknown = Vec::new();
    for (name, child) in map.iter_mut() {
        let p = join(path, name);
        if let Some(sub) = schema.properties.get(name) {
            check(sub, child, &p, out);
        } else {
            match &schema.additional {
                Some(Additional::Schema(sub)) => check(sub, child, &p, out),
                Some(Additional::Any) => {}
                None if schema.preserve_unknown => {}
                // Objects declared without properties keep what they hold (free-form maps).
                None if schema.properties.is_empty() && schema.ty != Some(Type::Object) => {}
                None => unknown.push(name.clone()),
            }
        }
    }
    for name in unknown {
        map.remove(&name);
        out.push(Violation {
            path: join(path, &name),
            message: "is not declared in the schema; pruned, as the Kubernetes API server does"
                .into(),
            error: false,
        });
    }
}

fn check_array(schema: &Schema, items: &mut [Value], path: &str, out: &mut Vec<Violation>) {
    let n = items.len() as u64;
    if let Some(min) = schema.min_items {
        if n < min {
            out.push(Violation {
                path: path.into(),
                message: format!("has {n} items, fewer than minItems {min}"),
                error: true,
            });
        }
    }
    if let Some(max) = schema.max_items {
        if n > max {
            out.push(Violation {
                path: path.into(),
                message: format!("has {n} items, more than maxItems {max}"),
                error: true,
            });
        }
    }
    if let Some(sub) = &schema.items {
        for (i, child) in items.iter_mut().enumerate() {
            check(sub, child, &format!("{path}[{i}]"), out);
        }
    }
}

/// Equality for `enum`: numbers by value (`2.0` is `2`), everything else structurally.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn type_ok(schema: &Schema, value: &Value) -> bool {
    if schema.int_or_string {
        return value.is_string() || is_integer(value);
    }
    match schema.ty {
        None => true,
        Some(Type::Object) => value.is_object(),
        Some(Type::Array) => value.is_array(),
        Some(Type::String) => value.is_string(),
        Some(Type::Integer) => is_integer(value),
        Some(Type::Number) => value.is_number(),
        Some(Type::Boolean) => value.is_boolean(),
    }
}

fn is_integer(v: &Value) -> bool {
    match v {
        Value::Number(n) => {
            n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => false,
    }
}

fn type_word(schema: &Schema) -> &'static str {
    if schema.int_or_string {
        "integer or string"
    } else {
        schema.ty.map(Type::name).unwrap_or("any")
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// A value as messages show it: strings quoted, short, one line.
pub fn show(v: &Value) -> String {
    let s = match v {
        Value::Object(_) => "an object".to_string(),
        Value::Array(_) => "an array".to_string(),
        other => other.to_string(),
    };
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(57).collect::<String>())
    } else {
        s
    }
}

fn value_text(v: &Value) -> String {
    v.to_string()
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

mod misfits;
pub use misfits::misfits;

#[cfg(test)]
mod tests;
