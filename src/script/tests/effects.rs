//! Tests of the effect functions (reject, warn, deny, output, schedule, status) and of the
//! output names the store can hold.

use super::*;
use serde_json::json;

// ---- effect functions ----

#[test]
fn reject_warn_and_deny_record_message_line_and_column() {
    let e = ok(
        "let n = 1;\nreject(\"bad\");\n  warn(`n is ${n}`);\n\n    deny(42);\nreject(\"again\");",
    );
    assert_eq!(e.rejects, vec![said("bad", 2, 1), said("again", 6, 1)]);
    assert_eq!(e.warnings, vec![said("n is 1", 3, 3)]);
    assert_eq!(e.denials, vec![said("42", 5, 5)]);
    assert!(e.outputs.is_empty() && e.schedules.is_empty() && e.status.is_none());
}

#[test]
fn said_location_adds_the_line_offset() {
    let script = compile("\n  reject(\"no\");", FILE.into(), 10, SCOPE).unwrap();
    let (e, failure) = run(&script, vec![]);
    assert_eq!(failure, None);
    let loc = script.location_of(&e.rejects[0]);
    assert_eq!(loc.to_string(), format!("{FILE}:12:3"));
}

#[test]
fn output_map_is_one_document() {
    let e = ok(r#"output("db.yaml", #{ kind: "Database", spec: #{ size: 3 } });"#);
    assert_eq!(
        e.outputs,
        vec![(
            "db.yaml".to_string(),
            OutputDoc::Docs(vec![json!({"kind": "Database", "spec": {"size": 3}})])
        )]
    );
}

#[test]
fn output_array_of_maps_is_several_documents_and_a_string_is_text() {
    let e = ok(r##"
        output("multi.yaml", [#{ a: 1 }, #{ b: "two" }]);
        output("README.md", "# hello\n");
    "##);
    assert_eq!(
        e.outputs,
        vec![
            (
                "multi.yaml".to_string(),
                OutputDoc::Docs(vec![json!({"a": 1}), json!({"b": "two"})])
            ),
            ("README.md".to_string(), OutputDoc::Text("# hello\n".into())),
        ]
    );
}

#[test]
fn output_of_a_value_that_is_no_document_is_invalid_output() {
    for doc in ["42", "[#{ a: 1 }, 2]", "true", "()"] {
        let f = fails(&format!("output(\"x.yaml\", {doc});"));
        assert_eq!(f.code, diag::INVALID_OUTPUT, "{doc}: {f:?}");
        assert!(f.message.contains("x.yaml"), "{doc}: {}", f.message);
        assert_eq!(f.location.line, 1);
    }
}

#[test]
fn output_paths_leaving_the_instance_directory_are_invalid_output() {
    for path in [
        "../x",
        "/etc/passwd",
        "a/../../b",
        "",
        "  ",
        ".",
        "C:/x",
        "a\\\\b",
    ] {
        let (e, f) = exec(&format!("output(\"{path}\", #{{}});"));
        let f = f.unwrap_or_else(|| panic!("`{path}` accepted: {:?}", e.outputs));
        assert_eq!(f.code, diag::INVALID_OUTPUT, "`{path}`: {f:?}");
        assert!(f.message.starts_with("output():"), "{}", f.message);
        assert!(e.outputs.is_empty());
    }
}

#[test]
fn output_paths_are_normalised() {
    let e = ok(r#"output("a//b/./c.yaml", "x"); output("./d.yaml/", "y");"#);
    let paths: Vec<&str> = e.outputs.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["a/b/c.yaml", "d.yaml"]);
    assert_eq!(check_path(" a//b/./c.yaml "), Ok("a/b/c.yaml".to_string()));
}

#[test]
fn schedule_records_a_top_level_directory_and_its_labels() {
    let e = ok(r#"
        schedule("backstage", #{ environment: "backstage" });
        schedule(".", #{ env: "prod", tier: 1, pci: true });
        schedule("", #{});
        schedule("resources/", #{ env: "dev" });
    "#);
    let labels = |pairs: &[(&str, &str)]| -> std::collections::BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(
        e.schedules,
        vec![
            (
                "backstage".to_string(),
                labels(&[("environment", "backstage")])
            ),
            (
                ".".to_string(),
                labels(&[("env", "prod"), ("tier", "1"), ("pci", "true")])
            ),
            (".".to_string(), labels(&[])),
            ("resources".to_string(), labels(&[("env", "dev")])),
        ]
    );
}

#[test]
fn schedule_of_a_nested_or_escaping_directory_is_invalid_output() {
    for dir in ["a/b", "../x", "a/../b"] {
        let (e, f) = exec(&format!("schedule(\"{dir}\", #{{ env: \"prod\" }});"));
        let f = f.unwrap_or_else(|| panic!("`{dir}` accepted: {:?}", e.schedules));
        assert_eq!(f.code, diag::INVALID_OUTPUT, "`{dir}`: {f:?}");
        assert!(f.message.starts_with("schedule():"), "{}", f.message);
        assert!(e.schedules.is_empty());
    }
    let f = fails(r#"schedule("x", #{ env: [1, 2] });"#);
    assert_eq!(f.code, diag::INVALID_OUTPUT);
    assert!(f.message.contains("`env`"), "{}", f.message);
}

#[test]
fn status_merges_maps_across_calls() {
    let e = ok(r#"
        status(#{ phase: "Pending", endpoint: "db:5432" });
        status(#{ phase: "Ready", replicas: 3 });
    "#);
    assert_eq!(
        e.status,
        Some(json!({"phase": "Ready", "endpoint": "db:5432", "replicas": 3}))
    );
}

// ---- output names the store can hold ----

#[test]
fn output_names_the_store_cannot_hold_are_invalid_output() {
    let long_name = "n".repeat(300);
    let long_path = format!("{}/x", "d/".repeat(2100));
    for (path, says) in [
        ("a\\u0000b".to_string(), "control character"),
        ("a\\nb".to_string(), "control character"),
        (long_name, "300 bytes"),
        (long_path, "over the limit of 4096"),
        (".vow/x.yaml".to_string(), ".vow/"),
        ("./.vow/x".to_string(), ".vow/"),
    ] {
        let (e, f) = exec(&format!("output(\"{path}\", #{{}});"));
        let f = f.unwrap_or_else(|| panic!("`{path}` accepted: {:?}", e.outputs));
        assert_eq!(f.code, diag::INVALID_OUTPUT, "`{path}`: {f:?}");
        assert!(f.message.contains(says), "{}", f.message);
    }
    // `.vow` below the top is just a name.
    ok("output(\"a/.vow/x\", #{});");
}

#[test]
fn two_spellings_of_one_output_in_a_run_are_invalid_output() {
    let f = fails("output(\"a/b.yaml\", #{});\noutput(\"a//b.yaml\", #{});");
    assert_eq!(f.code, diag::INVALID_OUTPUT);
    assert!(
        f.message.contains("`a//b.yaml` and `a/b.yaml`"),
        "{}",
        f.message
    );
    assert_eq!(f.location.line, 2);
    // The same spelling again replaces.
    let e = ok("output(\"a.yaml\", \"1\");\noutput(\"a.yaml\", \"2\");");
    assert_eq!(e.outputs.len(), 2);
}

#[test]
fn a_file_and_a_directory_of_one_name_clash() {
    let set = |paths: &[&str]| -> Vec<(String, OutputDoc)> {
        paths
            .iter()
            .map(|p| (p.to_string(), OutputDoc::Text(String::new())))
            .collect()
    };
    let at = Location::new("promises/app/promise.yaml".into(), 1);
    let f = check_output_set("app:a/b", &set(&["a-b", "a.yaml", "a", "a/b/c"]), &at).unwrap();
    assert_eq!(f.location, Some(at.clone()));
    assert_eq!(f.code, diag::OUTPUT_CLASH);
    assert!(f.message.contains("`a` and `a/b/c`"), "{}", f.message);
    assert!(f.message.starts_with("app:a/b: "), "{}", f.message);
    // Case-only differences and shared prefixes are distinct files.
    assert!(check_output_set("x", &set(&["a", "A/b", "a-b/c", "a0/c", "ab"]), &at).is_none());
}

/// What a run records is charged for its size: a loop recording a large value stops at the
/// operation limit long before it fills memory.
#[test]
fn hostile_loops_recording_large_values_are_charged() {
    for call in [
        "warn(s);",
        "reject(s);",
        "output(\"x.txt\", s);",
        "output(\"x.yaml\", #{ s: s });",
        "status(#{ s: s });",
    ] {
        let (e, f) = exec(&format!(
            "let s = \"x\";\ns.pad(524288, \"y\");\nloop {{ {call} }}"
        ));
        let f = f.unwrap();
        assert_eq!(f.code, diag::SCRIPT_LIMIT, "{call}: {f:?}");
        assert!(f.message.contains("operations"), "{}", f.message);
        let recorded = e.warnings.len() + e.rejects.len() + e.outputs.len();
        assert!(recorded <= 62, "{call}: {recorded} records");
    }
}
