//! Tests of structural-schema compilation, defaulting, pruning and validation.

use super::*;
use serde_json::json;

/// Compiles a schema that must compile without any note.
fn compiled(v: Value) -> Schema {
    let mut notes = Vec::new();
    let schema = Schema::compile(&v, "", &mut notes);
    assert!(notes.is_empty(), "unexpected notes for {v}: {notes:?}");
    schema
}

/// Compiles a schema and returns its notes.
fn notes_of(v: Value) -> (Schema, Vec<SchemaNote>) {
    let mut notes = Vec::new();
    let schema = Schema::compile(&v, "", &mut notes);
    (schema, notes)
}

/// Defaults and validates `value` at path `spec`; returns the resulting value and violations.
fn run(schema: Value, value: Value) -> (Value, Vec<Violation>) {
    let schema = compiled(schema);
    let mut value = value;
    let violations = default_and_validate(&schema, &mut value, "spec");
    (value, violations)
}

/// The violations of `value` at path `spec`, which must all be errors, as `(path, message)`.
fn errors(schema: Value, value: Value) -> Vec<(String, String)> {
    let (_, violations) = run(schema, value);
    violations
        .into_iter()
        .map(|v| {
            assert!(v.error, "not an error: {v:?}");
            (v.path, v.message)
        })
        .collect()
}

fn err(path: &str, message: &str) -> (String, String) {
    (path.to_string(), message.to_string())
}

/// Asserts that `value` satisfies `schema` and comes back unchanged.
fn accepted(schema: Value, value: Value) {
    let (out, violations) = run(schema.clone(), value.clone());
    assert!(
        violations.is_empty(),
        "{value} against {schema}: {violations:?}"
    );
    assert_eq!(out, value);
}

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
fn null_in_a_non_nullable_field_gets_the_default() {
    let schema = json!({
        "type": "object",
        "properties": {
            "size": {"type": "integer", "default": 50},
            "tier": {"type": "string", "nullable": true, "default": "gold"}
        }
    });
    let (out, violations) = run(schema, json!({"size": null, "tier": null}));
    assert!(violations.is_empty(), "{violations:?}");
    // A nullable field keeps its explicit null, as the API server does.
    assert_eq!(out, json!({"size": 50, "tier": null}));
}

#[test]
fn defaults_fill_absent_fields_and_never_overwrite_given_values() {
    let schema = json!({
        "type": "object",
        "properties": {
            "storageGb": {"type": "integer", "default": 50},
            "encryption": {"type": "boolean", "default": true},
            "name": {"type": "string", "default": "db"},
            "tags": {"type": "array", "items": {"type": "string"}, "default": ["a"]}
        }
    });
    let (out, violations) = run(schema.clone(), json!({}));
    assert!(violations.is_empty(), "{violations:?}");
    assert_eq!(
        out,
        json!({"storageGb": 50, "encryption": true, "name": "db", "tags": ["a"]})
    );
    // Falsy and empty values are values too.
    let given = json!({"storageGb": 0, "encryption": false, "name": "", "tags": []});
    accepted(schema, given);
}

#[test]
fn empty_object_default_gets_its_childrens_defaults() {
    let schema = json!({
        "type": "object",
        "properties": {
            "backups": {
                "type": "object",
                "default": {},
                "properties": {
                    "retentionDays": {"type": "integer", "default": 7},
                    "schedule": {
                        "type": "object",
                        "default": {},
                        "properties": {"cron": {"type": "string", "default": "0 3 * * *"}}
                    },
                    "target": {
                        "type": "object",
                        "properties": {"bucket": {"type": "string", "default": "b"}}
                    }
                }
            }
        }
    });
    let (out, violations) = run(schema.clone(), json!({}));
    assert!(violations.is_empty(), "{violations:?}");
    // `target` has no default: it stays absent, and so do its children.
    assert_eq!(
        out,
        json!({"backups": {"retentionDays": 7, "schedule": {"cron": "0 3 * * *"}}})
    );
    // A partly given object keeps its values and gets the rest.
    let (out, _) = run(
        schema,
        json!({"backups": {"retentionDays": 30, "target": {}}}),
    );
    assert_eq!(
        out,
        json!({"backups": {
            "retentionDays": 30,
            "schedule": {"cron": "0 3 * * *"},
            "target": {"bucket": "b"}
        }})
    );
}

#[test]
fn defaults_apply_inside_array_items_and_map_values() {
    let schema = json!({
        "type": "object",
        "properties": {
            "ports": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "port": {"type": "integer"},
                        "protocol": {"type": "string", "default": "TCP"}
                    }
                }
            },
            "pools": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": {"size": {"type": "integer", "default": 1}}
                }
            }
        }
    });
    let (out, violations) = run(
        schema,
        json!({
            "ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}],
            "pools": {"a": {}, "b": {"size": 4}}
        }),
    );
    assert!(violations.is_empty(), "{violations:?}");
    assert_eq!(
        out,
        json!({
            "ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
            "pools": {"a": {"size": 1}, "b": {"size": 4}}
        })
    );
}

#[test]
fn defaults_are_validated_after_being_applied() {
    let schema = json!({
        "type": "object",
        "properties": {
            "storageGb": {"type": "integer", "minimum": 10, "default": 5},
            "tier": {"type": "string", "enum": ["gold", "silver"], "default": "bronze"}
        }
    });
    let (out, violations) = run(schema, json!({}));
    assert_eq!(out, json!({"storageGb": 5, "tier": "bronze"}));
    assert_eq!(
        violations
            .into_iter()
            .map(|v| (v.path, v.message, v.error))
            .collect::<Vec<_>>(),
        [
            (
                "spec.storageGb".to_string(),
                "5 is less than the minimum 10".to_string(),
                true
            ),
            (
                "spec.tier".to_string(),
                "\"bronze\" is not one of the allowed values (enum): \"gold\", \"silver\""
                    .to_string(),
                true
            ),
        ]
    );
}

#[test]
fn design_example_schema_is_defaulted_and_validated() {
    // A Promise's `openAPIV3Schema`, validated from the root as `evaluate` does.
    let schema = compiled(json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "required": ["version"],
                "properties": {
                    "version": {"type": "string", "enum": ["14.12", "15.7", "15.8", "16.4"]},
                    "storageGb": {"type": "integer", "minimum": 10, "maximum": 2000, "default": 50},
                    "encryption": {"type": "boolean", "default": true},
                    "backups": {
                        "type": "object",
                        "default": {},
                        "properties": {"retentionDays": {"type": "integer", "default": 7}}
                    }
                }
            }
        }
    }));
    let mut value = json!({"spec": {"version": "15.8"}});
    assert!(default_and_validate(&schema, &mut value, "").is_empty());
    assert_eq!(
        value,
        json!({"spec": {
            "version": "15.8",
            "storageGb": 50,
            "encryption": true,
            "backups": {"retentionDays": 7}
        }})
    );

    let mut value = json!({"spec": {"storageGb": 5000}});
    let violations = default_and_validate(&schema, &mut value, "");
    assert_eq!(
        violations
            .iter()
            .map(|v| format!("{} {}", v.path, v.message))
            .collect::<Vec<_>>(),
        [
            "spec.version is required but missing",
            "spec.storageGb 5000 is greater than the maximum 2000",
        ]
    );
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
fn compile_notes_example_and_regex_without_error() {
    let (schema, notes) = notes_of(json!({
        "type": "object",
        "properties": {
            "name": {"type": "string", "example": "db-1", "regex": "^[a-z]+$"}
        }
    }));
    assert_eq!(
        notes,
        [
            (
                ".properties.name.example".to_string(),
                "`example` is not a structural-schema keyword; ignored".to_string(),
                false
            ),
            (
                ".properties.name.regex".to_string(),
                "`regex` is not a structural-schema keyword; ignored".to_string(),
                false
            ),
        ]
    );
    // `regex` is ignored, not enforced as a pattern.
    let mut value = json!({"name": "DB_1"});
    assert!(default_and_validate(&schema, &mut value, "spec").is_empty());
}

#[test]
fn compile_reports_an_invalid_pattern_as_an_error() {
    let (schema, notes) = notes_of(json!({
        "type": "object",
        "properties": {"name": {"type": "string", "pattern": "^[a-z"}}
    }));
    assert_eq!(notes.len(), 1, "{notes:?}");
    let (path, message, error) = &notes[0];
    assert_eq!(path, ".properties.name.pattern");
    assert!(
        message.starts_with("`pattern` is not a valid regular expression: "),
        "{message}"
    );
    assert!(error);
    assert!(schema.properties["name"].pattern.is_none());
}

#[test]
fn compile_reports_a_wrong_type_and_wrong_shapes_as_errors() {
    let (schema, notes) = notes_of(json!({
        "type": "str",
        "properties": {"a": {"type": ["string", "null"]}, "b": {"minimum": "10"}},
        "required": "a",
        "enum": "x"
    }));
    let expected = [
        (".enum", "`enum` must be a list"),
        (
            ".properties.a.type",
            "`type` must be one of object, array, string, integer, number, boolean",
        ),
        (".properties.b.minimum", "`minimum` must be a number"),
        (".required", "`required` must be a list of field names"),
        (
            ".type",
            "`type` must be one of object, array, string, integer, number, boolean",
        ),
    ];
    assert_eq!(
        notes,
        expected
            .iter()
            .map(|(p, m)| (p.to_string(), m.to_string(), true))
            .collect::<Vec<_>>()
    );
    assert_eq!(schema.ty, None);
    assert_eq!(schema.properties["a"].ty, None);

    let (_, notes) = notes_of(json!("string"));
    assert_eq!(
        notes,
        [(
            "".to_string(),
            "a schema must be an object".to_string(),
            true
        )]
    );
}

#[test]
fn compile_is_silent_on_documentation_and_notes_unknown_keywords() {
    let schema = compiled(json!({
        "type": "object",
        "description": "A database",
        "title": "PostgreSQL",
        "properties": {
            "when": {"type": "string", "format": "date-time", "description": "x"},
            "ports": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "integer"}}
        }
    }));
    assert_eq!(schema.ty, Some(Type::Object));
    assert_eq!(schema.properties["when"].ty, Some(Type::String));
    // `format` is documentation only: not enforced.
    let mut value = json!({"when": "not a date"});
    assert!(default_and_validate(&schema, &mut value, "spec").is_empty());

    let (_, notes) = notes_of(json!({"type": "object", "oneOf": []}));
    assert_eq!(
        notes,
        [(
            ".oneOf".to_string(),
            "`oneOf` is not enforced by vow; ignored".to_string(),
            false
        )]
    );
}

#[test]
fn compile_reads_every_keyword() {
    let schema = compiled(json!({
        "type": "array",
        "minItems": 1,
        "maxItems": 5,
        "nullable": true,
        "items": {
            "type": "string",
            "minLength": 2,
            "maxLength": 9,
            "pattern": "^a",
            "enum": ["ab"],
            "default": "ab"
        }
    }));
    assert_eq!(schema.ty, Some(Type::Array));
    assert_eq!((schema.min_items, schema.max_items), (Some(1), Some(5)));
    assert!(schema.nullable);
    let items = schema.items.as_deref().expect("items");
    assert_eq!((items.min_length, items.max_length), (Some(2), Some(9)));
    assert_eq!(items.pattern.as_ref().map(Regex::as_str), Some("^a"));
    assert_eq!(items.enumeration, Some(vec![json!("ab")]));
    assert_eq!(items.default, Some(json!("ab")));

    let numeric = compiled(json!({
        "minimum": 1.5,
        "maximum": 9,
        "exclusiveMinimum": true,
        "exclusiveMaximum": true,
        "x-kubernetes-int-or-string": true,
        "x-kubernetes-preserve-unknown-fields": true,
        "additionalProperties": {"type": "integer"}
    }));
    assert_eq!((numeric.minimum, numeric.maximum), (Some(1.5), Some(9.0)));
    assert!(numeric.exclusive_minimum && numeric.exclusive_maximum);
    assert!(numeric.int_or_string && numeric.preserve_unknown);
    assert!(matches!(
        &numeric.additional,
        Some(Additional::Schema(s)) if s.ty == Some(Type::Integer)
    ));
    assert!(matches!(
        compiled(json!({"additionalProperties": true})).additional,
        Some(Additional::Any)
    ));
    assert!(compiled(json!({"additionalProperties": false}))
        .additional
        .is_none());
}

#[test]
fn show_truncates_long_values() {
    assert_eq!(show(&json!("abc")), "\"abc\"");
    assert_eq!(show(&json!(42)), "42");
    assert_eq!(show(&json!(null)), "null");
    assert_eq!(show(&json!({"a": 1})), "an object");
    assert_eq!(show(&json!([1, 2])), "an array");

    // 60 characters are shown whole.
    let exact = "a".repeat(58);
    assert_eq!(show(&json!(exact)), format!("\"{exact}\""));

    // Longer ones are cut to 57 characters and an ellipsis.
    let long = "a".repeat(100);
    let shown = show(&json!(long));
    assert_eq!(shown, format!("\"{}…", "a".repeat(56)));
    assert_eq!(shown.chars().count(), 58);

    // Multi-byte characters are never split.
    let wide = "é".repeat(100);
    let shown = show(&json!(wide));
    assert_eq!(shown, format!("\"{}…", "é".repeat(56)));

    // Messages use it: a long rejected value does not flood the report.
    let violations = errors(json!({"type": "integer"}), json!("x".repeat(500)));
    assert_eq!(
        violations,
        [err(
            "spec",
            &format!("\"{}… is not of type integer", "x".repeat(56))
        )]
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

#[test]
fn show_counts_characters_not_bytes() {
    let s = "é".repeat(30);
    assert_eq!(show(&json!(s)), format!("\"{s}\""));
    assert!(show(&json!("é".repeat(80))).ends_with('…'));
}

#[test]
fn badly_typed_keyword_values_are_error_notes() {
    let (_, notes) = notes_of(json!({
        "type": "string", "minLength": "3", "maxLength": -1, "nullable": "true",
        "exclusiveMinimum": 1
    }));
    let mut keys: Vec<&str> = notes.iter().filter(|n| n.2).map(|n| n.0.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [".exclusiveMinimum", ".maxLength", ".minLength", ".nullable"]
    );
}

#[test]
fn keywords_that_do_not_fit_their_type_are_misfits() {
    let v = json!({
        "type": "object",
        "properties": {
            "name": {"type": "string", "minimum": 3, "enum": ["a", 5]},
            "size": {"type": "integer", "maxLength": 2, "minimum": 1},
            "port": {"x-kubernetes-int-or-string": true, "pattern": "^[0-9]+$", "maximum": 9},
            "tags": {"type": "array", "items": {"type": "boolean", "minLength": 1}}
        }
    });
    let paths: Vec<String> = crate::schema::misfits(&v, "")
        .into_iter()
        .map(|m| m.0)
        .collect();
    assert_eq!(
        paths,
        [
            ".properties.name.minimum",
            ".properties.name.enum[1]",
            ".properties.size.maxLength",
            ".properties.tags.items.minLength",
        ]
    );
}
