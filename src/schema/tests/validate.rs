//! Tests of validation: types, bounds, patterns, enums, items, nullability and pruning.

use super::*;
use serde_json::json;

#[test]
fn type_object_array_string_and_boolean() {
    accepted(json!({"type": "object"}), json!({}));
    accepted(json!({"type": "array"}), json!([1, "a"]));
    accepted(json!({"type": "string"}), json!(""));
    accepted(json!({"type": "boolean"}), json!(false));
    assert_eq!(
        errors(json!({"type": "object"}), json!([1])),
        [err("spec", "an array is not of type object")]
    );
    assert_eq!(
        errors(json!({"type": "array"}), json!({"a": 1})),
        [err("spec", "an object is not of type array")]
    );
    assert_eq!(
        errors(json!({"type": "string"}), json!(5)),
        [err("spec", "5 is not of type string")]
    );
    assert_eq!(
        errors(json!({"type": "boolean"}), json!("true")),
        [err("spec", "\"true\" is not of type boolean")]
    );
}

#[test]
fn type_integer_accepts_integral_floats_only() {
    let schema = json!({"type": "integer"});
    for ok in [json!(3), json!(-2), json!(0), json!(3.0), json!(u64::MAX)] {
        accepted(schema.clone(), ok);
    }
    assert_eq!(
        errors(schema.clone(), json!(1.5)),
        [err("spec", "1.5 is not of type integer")]
    );
    assert_eq!(
        errors(schema.clone(), json!("3")),
        [err("spec", "\"3\" is not of type integer")]
    );
    assert_eq!(
        errors(schema, json!(true)),
        [err("spec", "true is not of type integer")]
    );
}

#[test]
fn type_number_accepts_integers_and_floats() {
    let schema = json!({"type": "number"});
    accepted(schema.clone(), json!(1.5));
    accepted(schema.clone(), json!(2));
    accepted(schema.clone(), json!(-7));
    assert_eq!(
        errors(schema, json!("1.5")),
        [err("spec", "\"1.5\" is not of type number")]
    );
}

#[test]
fn properties_are_checked_at_their_nested_path() {
    let schema = json!({
        "type": "object",
        "properties": {
            "db": {
                "type": "object",
                "properties": {"replicas": {"type": "integer"}, "name": {"type": "string"}}
            }
        }
    });
    accepted(schema.clone(), json!({"db": {"replicas": 3, "name": "a"}}));
    assert_eq!(
        errors(schema, json!({"db": {"replicas": "three", "name": 1}})),
        [
            err("spec.db.name", "1 is not of type string"),
            err("spec.db.replicas", "\"three\" is not of type integer"),
        ]
    );
}

#[test]
fn required_names_the_missing_field() {
    let schema = json!({
        "type": "object",
        "required": ["version", "db"],
        "properties": {
            "version": {"type": "string"},
            "db": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}}
            }
        }
    });
    assert_eq!(
        errors(schema.clone(), json!({})),
        [
            err("spec.version", "is required but missing"),
            err("spec.db", "is required but missing"),
        ]
    );
    assert_eq!(
        errors(schema.clone(), json!({"version": "1", "db": {}})),
        [err("spec.db.name", "is required but missing")]
    );
    accepted(schema, json!({"version": "1", "db": {"name": "x"}}));

    // At the root (the path `evaluate` uses) the field name stands alone.
    let root = compiled(json!({"type": "object", "required": ["spec"]}));
    let mut value = json!({});
    assert_eq!(
        default_and_validate(&root, &mut value, ""),
        [Violation {
            path: "spec".into(),
            message: "is required but missing".into(),
            error: true
        }]
    );
}

#[test]
fn enum_of_strings_lists_the_allowed_values() {
    let schema = json!({"type": "string", "enum": ["14.12", "15.7", "15.8"]});
    accepted(schema.clone(), json!("15.8"));
    assert_eq!(
        errors(schema.clone(), json!("15.9")),
        [err(
            "spec",
            "\"15.9\" is not one of the allowed values (enum): \"14.12\", \"15.7\", \"15.8\""
        )]
    );
    // Comparison is exact: no trimming, no case folding, no number/string coercion.
    assert_eq!(errors(schema.clone(), json!("15.8 ")).len(), 1);
    assert_eq!(
        errors(json!({"enum": ["1"]}), json!(1)),
        [err(
            "spec",
            "1 is not one of the allowed values (enum): \"1\""
        )]
    );
}

#[test]
fn enum_of_numbers() {
    let schema = json!({"type": "integer", "enum": [1, 2, 3]});
    accepted(schema.clone(), json!(2));
    assert_eq!(
        errors(schema, json!(4)),
        [err(
            "spec",
            "4 is not one of the allowed values (enum): 1, 2, 3"
        )]
    );
    let schema = json!({"type": "number", "enum": [0.5, 1.5]});
    accepted(schema.clone(), json!(1.5));
    assert_eq!(
        errors(schema, json!(2.5)),
        [err(
            "spec",
            "2.5 is not one of the allowed values (enum): 0.5, 1.5"
        )]
    );
}

#[test]
fn pattern_is_a_search_unless_anchored() {
    let anchored = json!({"type": "string", "pattern": "^[a-z][a-z0-9-]*$"});
    accepted(anchored.clone(), json!("db-1"));
    assert_eq!(
        errors(anchored, json!("Db_1")),
        [err(
            "spec",
            "\"Db_1\" does not match the pattern ^[a-z][a-z0-9-]*$"
        )]
    );
    // Like Kubernetes (ECMA-262 semantics), an unanchored pattern matches anywhere.
    let unanchored = json!({"type": "string", "pattern": "[0-9]"});
    accepted(unanchored.clone(), json!("a1b"));
    assert_eq!(
        errors(unanchored, json!("abc")),
        [err("spec", "\"abc\" does not match the pattern [0-9]")]
    );
}

#[test]
fn minimum_and_maximum_include_their_bounds() {
    let schema = json!({"type": "integer", "minimum": 10, "maximum": 2000});
    accepted(schema.clone(), json!(10));
    accepted(schema.clone(), json!(2000));
    assert_eq!(
        errors(schema.clone(), json!(9)),
        [err("spec", "9 is less than the minimum 10")]
    );
    assert_eq!(
        errors(schema, json!(2001)),
        [err("spec", "2001 is greater than the maximum 2000")]
    );
    let fractional = json!({"type": "number", "minimum": 0.5, "maximum": 1.5});
    accepted(fractional.clone(), json!(0.5));
    accepted(fractional.clone(), json!(1.5));
    assert_eq!(
        errors(fractional.clone(), json!(0.49)),
        [err("spec", "0.49 is less than the minimum 0.5")]
    );
    assert_eq!(
        errors(fractional, json!(2)),
        [err("spec", "2 is greater than the maximum 1.5")]
    );
    assert_eq!(
        errors(json!({"type": "number", "minimum": -5}), json!(-5.5)),
        [err("spec", "-5.5 is less than the minimum -5")]
    );
}

#[test]
fn exclusive_minimum_and_maximum_exclude_their_bounds() {
    let schema = json!({
        "type": "integer",
        "minimum": 10,
        "exclusiveMinimum": true,
        "maximum": 20,
        "exclusiveMaximum": true
    });
    accepted(schema.clone(), json!(11));
    accepted(schema.clone(), json!(19));
    assert_eq!(
        errors(schema.clone(), json!(10)),
        [err("spec", "10 is less than the exclusive minimum 10")]
    );
    assert_eq!(
        errors(schema.clone(), json!(20)),
        [err("spec", "20 is greater than the exclusive maximum 20")]
    );
    assert_eq!(
        errors(schema, json!(9)),
        [err("spec", "9 is less than the exclusive minimum 10")]
    );
    // `exclusiveMinimum: false` is the inclusive form.
    accepted(
        json!({"type": "integer", "minimum": 10, "exclusiveMinimum": false}),
        json!(10),
    );
}

#[test]
fn string_lengths_count_characters_not_bytes() {
    let schema = json!({"type": "string", "minLength": 2, "maxLength": 3});
    // Three characters, nine bytes.
    accepted(schema.clone(), json!("日本語"));
    accepted(schema.clone(), json!("éé"));
    assert_eq!(
        errors(schema.clone(), json!("日本語x")),
        [err("spec", "\"日本語x\" is longer than maxLength 3")]
    );
    // One character, two bytes.
    assert_eq!(
        errors(schema.clone(), json!("é")),
        [err("spec", "\"é\" is shorter than minLength 2")]
    );
    assert_eq!(
        errors(schema, json!("")),
        [err("spec", "\"\" is shorter than minLength 2")]
    );
}

#[test]
fn item_counts_are_bounded() {
    let schema = json!({"type": "array", "minItems": 1, "maxItems": 2});
    accepted(schema.clone(), json!([1]));
    accepted(schema.clone(), json!([1, 2]));
    assert_eq!(
        errors(schema.clone(), json!([])),
        [err("spec", "has 0 items, fewer than minItems 1")]
    );
    assert_eq!(
        errors(schema, json!([1, 2, 3])),
        [err("spec", "has 3 items, more than maxItems 2")]
    );
}

#[test]
fn items_are_checked_with_their_index_in_the_path() {
    let schema = json!({
        "type": "object",
        "properties": {
            "ports": {"type": "array", "items": {"type": "integer", "minimum": 1}},
            "volumes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": {"type": "string"}, "size": {"type": "integer"}}
                }
            }
        }
    });
    assert_eq!(
        errors(
            schema.clone(),
            json!({"ports": [80, "x", 0], "volumes": [{"name": "a"}, {"size": "big"}]})
        ),
        [
            err("spec.ports[1]", "\"x\" is not of type integer"),
            err("spec.ports[2]", "0 is less than the minimum 1"),
            err("spec.volumes[1].name", "is required but missing"),
            err("spec.volumes[1].size", "\"big\" is not of type integer"),
        ]
    );
    accepted(schema, json!({"ports": [80, 443], "volumes": []}));
}

#[test]
fn additional_properties_false_prunes_and_true_keeps() {
    let closed = json!({
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "additionalProperties": false
    });
    let (out, violations) = run(closed, json!({"a": "x", "b": 1}));
    assert_eq!(out, json!({"a": "x"}));
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].path, "spec.b");
    assert!(!violations[0].error);

    let open = json!({"type": "object", "additionalProperties": true});
    accepted(open, json!({"anything": {"nested": [1, 2]}, "b": null}));
}

#[test]
fn additional_properties_schema_applies_to_every_value() {
    let schema = json!({
        "type": "object",
        "properties": {
            "labels": {
                "type": "object",
                "additionalProperties": {"type": "string", "maxLength": 3}
            }
        }
    });
    accepted(
        schema.clone(),
        json!({"labels": {"env": "dev", "app": "db"}}),
    );
    assert_eq!(
        errors(schema, json!({"labels": {"a": "ok", "b": 5, "c": "long"}})),
        [
            err("spec.labels.b", "5 is not of type string"),
            err("spec.labels.c", "\"long\" is longer than maxLength 3"),
        ]
    );
}

#[test]
fn null_is_accepted_only_when_nullable() {
    let schema = json!({
        "type": "object",
        "properties": {
            "maybe": {"type": "string", "nullable": true},
            "never": {"type": "string"},
            "count": {"type": "integer", "nullable": false}
        }
    });
    accepted(schema.clone(), json!({"maybe": null}));
    let (out, violations) = run(schema, json!({"maybe": null, "never": null, "count": null}));
    // Without a default, a null in a non-nullable field stays and is reported.
    assert_eq!(out, json!({"maybe": null, "never": null, "count": null}));
    assert_eq!(
        violations,
        [
            Violation {
                path: "spec.count".into(),
                message: "null is not allowed here (expected integer)".into(),
                error: true
            },
            Violation {
                path: "spec.never".into(),
                message: "null is not allowed here (expected string)".into(),
                error: true
            },
        ]
    );
    // The whole value may be null only if its schema is nullable.
    assert_eq!(
        errors(json!({"type": "object"}), Value::Null),
        [err("spec", "null is not allowed here (expected object)")]
    );
    accepted(json!({"type": "object", "nullable": true}), Value::Null);
}

#[test]
fn int_or_string_accepts_integers_and_strings_only() {
    let schema = json!({"x-kubernetes-int-or-string": true});
    accepted(schema.clone(), json!(8080));
    accepted(schema.clone(), json!("http"));
    accepted(schema.clone(), json!("25%"));
    accepted(schema.clone(), json!(2.0));
    assert_eq!(
        errors(schema.clone(), json!(true)),
        [err("spec", "true is not of type integer or string")]
    );
    assert_eq!(
        errors(schema.clone(), json!(1.5)),
        [err("spec", "1.5 is not of type integer or string")]
    );
    assert_eq!(
        errors(schema, json!({"a": 1})),
        [err("spec", "an object is not of type integer or string")]
    );
}

#[test]
fn preserve_unknown_fields_keeps_them_without_violation() {
    let schema = json!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "properties": {
            "known": {"type": "integer"},
            "strict": {"type": "object", "properties": {"a": {"type": "string"}}}
        }
    });
    let (out, violations) = run(
        schema,
        json!({"known": 1, "extra": {"deep": [1]}, "strict": {"a": "x", "b": 2}}),
    );
    // Preservation is per node: the unknown field under `strict` is still pruned.
    assert_eq!(
        out,
        json!({"known": 1, "extra": {"deep": [1]}, "strict": {"a": "x"}})
    );
    assert_eq!(
        violations,
        [Violation {
            path: "spec.strict.b".into(),
            message: "is not declared in the schema; pruned, as the Kubernetes API server does"
                .into(),
            error: false
        }]
    );
}

#[test]
fn unknown_fields_are_pruned_with_a_warning() {
    let schema = json!({
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "items": {
                "type": "array",
                "items": {"type": "object", "properties": {"id": {"type": "integer"}}}
            }
        }
    });
    let (out, violations) = run(
        schema,
        json!({"name": "a", "nmae": "b", "items": [{"id": 1, "idd": 2}]}),
    );
    assert_eq!(out, json!({"name": "a", "items": [{"id": 1}]}));
    let message = "is not declared in the schema; pruned, as the Kubernetes API server does";
    assert_eq!(
        violations,
        [
            Violation {
                path: "spec.items[0].idd".into(),
                message: message.into(),
                error: false
            },
            Violation {
                path: "spec.nmae".into(),
                message: message.into(),
                error: false
            },
        ]
    );
    // An object with neither properties nor a type keeps its content (a free-form map).
    accepted(
        json!({"type": "object", "properties": {"free": {}}}),
        json!({"free": {"a": 1}}),
    );
}

#[test]
fn int_or_string_refuses_null_unless_nullable() {
    assert_eq!(
        errors(json!({"x-kubernetes-int-or-string": true}), Value::Null),
        [err(
            "spec",
            "null is not allowed here (expected integer or string)"
        )]
    );
    accepted(
        json!({"x-kubernetes-int-or-string": true, "nullable": true}),
        Value::Null,
    );
}

#[test]
fn integral_floats_match_integer_enums() {
    accepted(json!({"type": "integer", "enum": [1, 2]}), json!(2.0));
    assert_eq!(
        errors(json!({"type": "integer", "enum": [1, 2]}), json!(3)).len(),
        1
    );
}
