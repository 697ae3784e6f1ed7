//! Tests of defaulting: absent fields get their defaults, which are then validated.

use super::*;
use serde_json::json;

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
