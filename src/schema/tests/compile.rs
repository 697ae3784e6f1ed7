//! Tests of compiling a schema: the notes on its keywords, and how values are shown.

use super::*;
use serde_json::json;

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
