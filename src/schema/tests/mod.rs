//! Tests of structural-schema compilation, defaulting, pruning and validation: the helpers they
//! share here, the tests by topic beside.

use super::*;

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

mod compile;
mod defaults;
mod validate;
