//! Schema keywords that check nothing: a keyword on a type it does not apply to (`minimum` on
//! a string), an `enum` value of another type than its field's. Kubernetes accepts them; a
//! Promise author believes they are enforced, so vow says they are not.

use super::{show, type_ok, type_word, Schema, Type};
use serde_json::Value;

/// Keywords that only check values of some types, with those types.
const KEYWORD_TYPES: &[(&str, &[Type])] = &[
    ("minimum", &[Type::Integer, Type::Number]),
    ("maximum", &[Type::Integer, Type::Number]),
    ("exclusiveMinimum", &[Type::Integer, Type::Number]),
    ("exclusiveMaximum", &[Type::Integer, Type::Number]),
    ("multipleOf", &[Type::Integer, Type::Number]),
    ("minLength", &[Type::String]),
    ("maxLength", &[Type::String]),
    ("pattern", &[Type::String]),
    ("items", &[Type::Array]),
    ("minItems", &[Type::Array]),
    ("maxItems", &[Type::Array]),
    ("uniqueItems", &[Type::Array]),
    ("properties", &[Type::Object]),
    ("required", &[Type::Object]),
    ("additionalProperties", &[Type::Object]),
    ("minProperties", &[Type::Object]),
    ("maxProperties", &[Type::Object]),
];

/// The keywords of a schema that check nothing because they do not fit the type they sit on
/// (`minimum` on a string) and `enum` values of another type than the field's, as
/// (schema path, message). The schema is walked as written, below every property and item.
pub fn misfits(v: &Value, path: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    misfits_into(v, path, 0, &mut out);
    out
}

/// Deeper than this, the walk stops: compile reports nothing past it either.
const MISFIT_DEPTH: usize = 64;

fn misfits_into(v: &Value, path: &str, depth: usize, out: &mut Vec<(String, String)>) {
    let Some(obj) = v.as_object() else { return };
    if depth > MISFIT_DEPTH {
        return;
    }
    let ty = obj
        .get("type")
        .and_then(Value::as_str)
        .and_then(Type::parse);
    let int_or_string = obj.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    let fits = |types: &[Type]| match ty {
        _ if int_or_string => types
            .iter()
            .any(|t| matches!(t, Type::Integer | Type::Number | Type::String)),
        Some(t) => types.contains(&t) || (t == Type::Integer && types.contains(&Type::Number)),
        None => true,
    };
    for (k, types) in KEYWORD_TYPES {
        if obj.contains_key(*k) && !fits(types) {
            let on = if int_or_string {
                "an int-or-string"
            } else {
                ty.map(Type::name).unwrap_or("any")
            };
            let wants: Vec<&str> = types.iter().map(|t| t.name()).collect();
            out.push((
                format!("{path}.{k}"),
                format!(
                    "`{k}` checks {} values, but this field is {on}; it checks nothing here",
                    wants.join(" or ")
                ),
            ));
        }
    }
    if let (Some(Value::Array(values)), Some(_)) = (obj.get("enum"), ty) {
        let probe = Schema {
            ty,
            int_or_string,
            ..Schema::default()
        };
        let nullable = obj.get("nullable") == Some(&Value::Bool(true));
        for (i, e) in values.iter().enumerate() {
            if !(type_ok(&probe, e) || (e.is_null() && nullable)) {
                out.push((
                    format!("{path}.enum[{i}]"),
                    format!(
                        "{} is not a {}: no value of this field can equal it",
                        show(e),
                        type_word(&probe)
                    ),
                ));
            }
        }
    }
    if let Some(Value::Object(props)) = obj.get("properties") {
        for (name, sub) in props {
            misfits_into(sub, &format!("{path}.properties.{name}"), depth + 1, out);
        }
    }
    for k in ["items", "additionalProperties"] {
        if let Some(sub) = obj.get(k) {
            misfits_into(sub, &format!("{path}.{k}"), depth + 1, out);
        }
    }
}
