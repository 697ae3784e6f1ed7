//! A workflow step gets the request's variables as constants, moved into its scope rather than
//! copied (BENCHMARKS.md, round three): a step cannot change them, so the next step and the
//! rules see the request as it was; a step that copies a variable first changes its copy only.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "a test fails loudly; the library may not"
)]

mod common;
use common::*;

/// The scratch workspace with its validate step replaced by `validate`, one request of size 3,
/// and a rule that reports the size it sees.
fn workspace_with_validate(validate: &str) -> tempfile::TempDir {
    let ws = scratch_workspace();
    let promise = PROMISE.replace(
        "                  if spec.size > 50 {\n                    reject(`size ${spec.size} needs approval`);\n                  }\n",
        &validate
            .lines()
            .map(|l| format!("                  {l}\n"))
            .collect::<String>(),
    );
    assert_ne!(promise, PROMISE, "the validate step was replaced");
    write(ws.path(), "promises/db/promise.yaml", &promise);
    write(ws.path(), "requests/a.yaml", &request("a", 3));
    write(
        ws.path(),
        "rules/size-seen.yaml",
        "apiVersion: vow.dev/v1alpha1\nkind: Rule\nmetadata:\n  name: size-seen\nspec:\n  enforcement: warn\n  script: |\n    deny(`the rules see size ${spec.size}`);\n",
    );
    ws
}

fn render(ws: &tempfile::TempDir) -> (i32, String, String) {
    let root = ws.path().to_str().unwrap();
    vow(&["-C", root, "render", "team-a/a"])
}

#[test]
fn a_step_that_changes_spec_is_an_error_naming_the_fix() {
    let ws = workspace_with_validate("spec.size = 99;");
    let (code, out, err) = render(&ws);
    let all = format!("{out}{err}");
    assert_ne!(code, 0, "{all}");
    assert!(
        all.contains("`spec` cannot be changed") && all.contains("let s = spec;"),
        "{all}"
    );
    // Nothing was rendered from a changed spec.
    assert!(!all.contains("size: '99'"), "{all}");
}

#[test]
fn a_step_that_changes_a_nested_field_of_metadata_is_an_error_too() {
    let ws = workspace_with_validate("metadata.labels.env = \"prod\";");
    let (code, out, err) = render(&ws);
    let all = format!("{out}{err}");
    assert_ne!(code, 0, "{all}");
    assert!(all.contains("`metadata` cannot be changed"), "{all}");
}

#[test]
fn a_step_changes_its_copy_and_the_next_step_and_the_rules_see_the_request() {
    let ws = workspace_with_validate(
        "let s = spec;\ns.size = 99;\noutput(\"copy.yaml\", #{ apiVersion: \"v1\", kind: \"ConfigMap\", data: #{ size: `${s.size}` } });",
    );
    let (code, out, err) = render(&ws);
    assert_eq!(code, 0, "{out}{err}");
    // The copy, then the request as it was in the render step and in the rule.
    assert!(out.contains("size: '99'"), "{out}");
    assert!(out.contains("size: '3'"), "{out}");
    let root = ws.path().to_str().unwrap();
    let (_, plan, _) = vow(&["-C", root, "plan", "--format", "json"]);
    assert!(plan.contains("the rules see size 3"), "{plan}");
}
