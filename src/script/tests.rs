//! Tests of the script engine: the effect functions, the standard library, the sandbox, error
//! locations and the limits that keep a hostile script from hanging or crashing a run.

use super::*;
use serde_json::json;

const FILE: &str = "promises/postgres/steps/render.rhai";
const SCOPE: &[&str] = &["request", "spec", "metadata", "promise", "previous"];

fn compiled(src: &str) -> Script {
    compile(src, FILE.into(), 0, SCOPE).unwrap_or_else(|f| panic!("does not compile: {f:?}"))
}

/// Runs a script on a thread with the stack vow's workers have (`STACK_BYTES`): Rhai measures
/// and drops nested values recursively, and the test harness's threads have 2 MiB.
fn exec(src: &str) -> (Effects, Option<ScriptFailure>) {
    let script = compiled(src);
    std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn(move || run(&script, vec![]))
        .unwrap()
        .join()
        .unwrap()
}

/// Runs a script that must succeed.
fn ok(src: &str) -> Effects {
    let (effects, failure) = exec(src);
    assert_eq!(failure, None, "script failed: {src}");
    effects
}

/// Runs a script that must fail.
fn fails(src: &str) -> ScriptFailure {
    let (_, failure) = exec(src);
    failure.unwrap_or_else(|| panic!("script succeeded: {src}"))
}

/// The value of a Rhai expression, through `status`.
fn value(expr: &str) -> serde_json::Value {
    let effects = ok(&format!("status(#{{ v: {expr} }});"));
    effects.status.expect("status recorded")["v"].clone()
}

/// Runs a hostile script: it must be stopped by a limit (V202). Which limit is asserted, never
/// how long it took.
fn hostile(src: &str) -> (ScriptFailure, ()) {
    (stopped_by(src, diag::SCRIPT_LIMIT), ())
}

/// Runs a script whose every operation does growing work: the operation limit (V202) or the
/// time budget (V207) stops it, whichever comes first on this machine.
fn stopped_by_a_limit(src: &str) -> ScriptFailure {
    let (_, failure) = exec(src);
    let failure = failure.unwrap_or_else(|| panic!("hostile script succeeded: {src}"));
    assert!(
        [diag::SCRIPT_LIMIT, diag::SCRIPT_TIME].contains(&failure.code),
        "{src}: {failure:?}"
    );
    failure
}

/// Runs a hostile script that must be stopped with `code`.
fn stopped_by(src: &str, code: diag::Code) -> ScriptFailure {
    let (_, failure) = exec(src);
    let failure = failure.unwrap_or_else(|| panic!("hostile script succeeded: {src}"));
    assert_eq!(failure.code, code, "{src}: {failure:?}");
    assert_eq!(&*failure.location.file, FILE);
    failure
}

fn said(message: &str, line: u32, column: u32) -> Said {
    Said {
        message: message.into(),
        line,
        column,
        field: None,
    }
}

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
    let labels = |pairs: &[(&str, &str)]| -> crate::model::Labels {
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

// ---- standard library ----

#[test]
fn version_cmp_and_semver_matches() {
    assert_eq!(value(r#"version_cmp("v1.4.0", "1.10.0")"#), json!(-1));
    assert_eq!(value(r#"version_cmp("15.10", "15.7")"#), json!(1));
    assert_eq!(value(r#"version_cmp("16", "16.0.0")"#), json!(0));
    assert_eq!(value(r#"version_cmp("1.0.0-rc.1", "1.0.0")"#), json!(-1));
    assert_eq!(
        value(r#"semver_matches("15.7", ">=15.0, <15.8")"#),
        json!(true)
    );
    assert_eq!(value(r#"semver_matches("v2.1.3", "^1")"#), json!(false));
    let f = fails(r#"semver_matches("latest", ">=1");"#);
    assert_eq!(f.code, diag::SCRIPT_RUNTIME);
    assert!(f.message.contains("latest"), "{}", f.message);
}

#[test]
fn durations_parse_and_format() {
    assert_eq!(value(r#"parse_duration("1h30m")"#), json!(5400));
    assert_eq!(value(r#"parse_duration("2d")"#), json!(172_800));
    assert_eq!(value("format_duration(5400)"), json!("1h30m"));
    assert_eq!(value("format_duration(0)"), json!("0s"));
    assert_eq!(
        value(r#"format_duration(parse_duration("1w2h"))"#),
        json!("7d2h")
    );
    let f = fails(r#"parse_duration("ten minutes");"#);
    assert_eq!(f.code, diag::SCRIPT_RUNTIME);
    assert!(f.message.contains("not a duration"), "{}", f.message);
}

#[test]
fn dates_convert_without_a_clock() {
    assert_eq!(value(r#"date_to_unix("2026-12-01")"#), json!(1_796_083_200));
    assert_eq!(
        value(r#"date_to_unix("2026-12-01T01:00:00+01:00")"#),
        json!(1_796_083_200)
    );
    assert_eq!(value("unix_to_date(0)"), json!("1970-01-01T00:00:00Z"));
    assert_eq!(
        value("unix_to_date(1796083200)"),
        json!("2026-12-01T00:00:00Z")
    );
    assert_eq!(
        value(r#"days_between("2026-01-01", "2026-03-01")"#),
        json!(59)
    );
    assert_eq!(
        value(r#"days_between("2026-03-01", "2026-01-01")"#),
        json!(-59)
    );
    assert_eq!(
        fails(r#"date_to_unix("tomorrow");"#).code,
        diag::SCRIPT_RUNTIME
    );
}

#[test]
fn cidr_contains_and_overlaps() {
    assert_eq!(
        value(r#"cidr_contains("10.0.0.0/8", "10.1.2.3")"#),
        json!(true)
    );
    assert_eq!(
        value(r#"cidr_contains("10.0.0.0/8", "11.0.0.1")"#),
        json!(false)
    );
    assert_eq!(
        value(r#"cidr_contains("10.0.0.0/8", "10.4.0.0/16")"#),
        json!(true)
    );
    assert_eq!(
        value(r#"cidr_overlaps("10.0.0.0/16", "10.0.128.0/17")"#),
        json!(true)
    );
    assert_eq!(
        value(r#"cidr_overlaps("10.0.0.0/16", "10.1.0.0/16")"#),
        json!(false)
    );
    assert_eq!(
        value(r#"cidr_contains("fd00::/8", "fd12::1")"#),
        json!(true)
    );
    let f = fails(r#"cidr_overlaps("10.0.0.0/8", "nope");"#);
    assert_eq!(f.code, diag::SCRIPT_RUNTIME);
    assert!(f.message.contains("nope"), "{}", f.message);
}

#[test]
fn hashes_of_abc_are_the_known_digests() {
    assert_eq!(
        value(r#"sha256("abc")"#),
        json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    );
    assert_eq!(
        value(r#"md5("abc")"#),
        json!("900150983cd24fb0d6963f7d28e17f72")
    );
}

#[test]
fn slug_makes_dns_labels() {
    assert_eq!(
        value(r#"slug("Orders DB__Prod!")"#),
        json!("orders-db-prod")
    );
    assert_eq!(value(r#"slug("--Ünïcode ok--")"#), json!("n-code-ok"));
    let long = value(&format!("slug(\"{}-b\")", "a".repeat(62)));
    assert_eq!(long, json!("a".repeat(62)));
}

#[test]
fn base64_round_trips_and_rejects_invalid_input() {
    assert_eq!(value(r#"base64_encode("hello")"#), json!("aGVsbG8="));
    assert_eq!(value(r#"base64_decode("aGVsbG8=")"#), json!("hello"));
    assert_eq!(
        value(r#"base64_decode(base64_encode("vow ✓"))"#),
        json!("vow ✓")
    );
    let f = fails(r#"base64_decode("not base64!");"#);
    assert_eq!(f.code, diag::SCRIPT_RUNTIME);
    assert!(f.message.starts_with("base64_decode()"), "{}", f.message);
    // Valid base64 of bytes that are not UTF-8.
    let f = fails(r#"base64_decode("//79");"#);
    assert!(f.message.contains("not text"), "{}", f.message);
}

#[test]
fn matches_uses_regular_expressions_and_rejects_invalid_ones() {
    assert_eq!(value(r#"matches("orders-db", "^[a-z]+-db$")"#), json!(true));
    assert_eq!(value(r#"matches("Orders", "^[a-z]+$")"#), json!(false));
    // The second use of a pattern comes from the cache and gives the same answer.
    assert_eq!(
        value(r#"[matches("ab", "^a"), matches("ba", "^a")]"#),
        json!([true, false])
    );
    let f = fails(r#"matches("x", "([a-z");"#);
    assert_eq!(f.code, diag::SCRIPT_RUNTIME);
    assert!(
        f.message.contains("not a regular expression"),
        "{}",
        f.message
    );
}

#[test]
fn to_json_and_to_yaml_serialise_values() {
    let j = value(r#"to_json(#{ name: "db", size: 3, tags: ["a"] })"#);
    let parsed: serde_json::Value = serde_json::from_str(j.as_str().unwrap()).unwrap();
    assert_eq!(parsed, json!({"name": "db", "size": 3, "tags": ["a"]}));
    let y = value(r#"to_yaml(#{ name: "db", size: 3 })"#);
    let parsed: serde_json::Value = serde_yaml::from_str(y.as_str().unwrap()).unwrap();
    assert_eq!(parsed, json!({"name": "db", "size": 3}));
    assert_eq!(value(r#"to_json("a\"b")"#), json!(r#""a\"b""#));
}

// ---- sandbox ----

#[test]
fn print_and_debug_run_without_failing() {
    let e = ok(r#"print("x"); debug("y"); reject("after");"#);
    assert_eq!(e.rejects.len(), 1);
}

#[test]
fn eval_import_and_the_clock_are_unavailable() {
    let f = compile(r#"let x = eval("1");"#, FILE.into(), 0, SCOPE).unwrap_err();
    assert_eq!(f.code, diag::SCRIPT_COMPILE);
    let f = compile("import \"x\" as y;\n", FILE.into(), 0, SCOPE).unwrap_err();
    assert_eq!(f.code, diag::SCRIPT_COMPILE);
    match compile("let t = timestamp();", FILE.into(), 0, SCOPE) {
        Err(f) => assert_eq!(f.code, diag::SCRIPT_COMPILE),
        Ok(s) => {
            let f = run(&s, vec![]).1.expect("timestamp() must not run");
            assert_eq!(f.code, diag::SCRIPT_RUNTIME);
            assert!(f.message.contains("timestamp"), "{}", f.message);
        }
    }
}

#[test]
fn undeclared_variables_are_compile_errors_but_scope_names_compile() {
    let f = compile(
        "let a = spec.size;\nlet b = request.metadata;\nif spce.size > 1 { reject(\"x\") }",
        FILE.into(),
        0,
        SCOPE,
    )
    .unwrap_err();
    assert_eq!(f.code, diag::SCRIPT_COMPILE);
    let loc = f.location.expect("a location");
    assert_eq!((&*loc.file, loc.line), (FILE, 3));
    assert!(f.message.starts_with(FILE), "{}", f.message);
    // Without the scope name, `spec` itself is undeclared.
    assert!(compile("let a = spec;", FILE.into(), 0, &[]).is_err());
}

#[test]
fn scope_variables_reach_the_script() {
    let s = compiled(
        r#"
        if spec.size > 5 { reject(`${metadata.name}: size ${spec.size} is over 5`) }
        output("resources/db.yaml", #{ name: request.metadata.name, size: spec.size });
        "#,
    );
    let request = json!({"metadata": {"name": "orders"}, "spec": {"size": 7}});
    let (e, failure) = run(
        &s,
        vec![
            ("request", to_dynamic(&request)),
            ("spec", to_dynamic(&request["spec"])),
            ("metadata", to_dynamic(&request["metadata"])),
        ],
    );
    assert_eq!(failure, None);
    assert_eq!(e.rejects[0].message, "orders: size 7 is over 5");
    assert_eq!(
        e.outputs,
        vec![(
            "resources/db.yaml".to_string(),
            OutputDoc::Docs(vec![json!({"name": "orders", "size": 7})])
        )]
    );
}

// ---- error locations ----

#[test]
fn runtime_error_location_is_file_line_column() {
    let f = fails("let a = 1;\nlet b = 2;\nlet c = a.nope();\n");
    assert_eq!(f.code, diag::SCRIPT_RUNTIME);
    assert_eq!(&*f.location.file, FILE);
    assert_eq!(f.location.line, 3);
    assert!(f.location.column.is_some());
    assert_eq!(f.location.to_string(), format!("{FILE}:3:11"));
    // The position is in the location, not repeated in the message.
    assert!(!f.message.contains("(line "), "{}", f.message);
    let finding = f.into_finding("step render");
    assert!(finding.message.starts_with("step render: "));
    assert_eq!(finding.location.unwrap().line, 3);
}

#[test]
fn inline_script_locations_add_the_line_offset() {
    let s = compile(
        "let a = 1;\nlet b = 2;\nlet c = a.nope();",
        "promises/postgres.yaml".into(),
        10,
        SCOPE,
    )
    .unwrap();
    let f = run(&s, vec![]).1.expect("fails");
    assert_eq!(f.location.to_string(), "promises/postgres.yaml:13:11");

    let f = compile(
        "let a = 1;\nlet b = ;\n",
        "promises/postgres.yaml".into(),
        10,
        SCOPE,
    )
    .unwrap_err();
    assert_eq!(f.code, diag::SCRIPT_COMPILE);
    let loc = f.location.unwrap();
    assert_eq!((&*loc.file, loc.line), ("promises/postgres.yaml", 12));
}

#[test]
fn compile_error_location_in_a_file_script() {
    let f = compile("let a = 1;\n\nlet b = (1 + ;\n", FILE.into(), 0, SCOPE).unwrap_err();
    assert_eq!(f.code, diag::SCRIPT_COMPILE);
    let loc = f.location.unwrap();
    assert_eq!((&*loc.file, loc.line), (FILE, 3));
    assert!(loc.column.is_some());
}

#[test]
fn failure_inside_a_function_points_inside_the_function() {
    let f = fails("fn check(x) {\n    let y = x + 1;\n    y.no_such_method()\n}\n\ncheck(1);\n");
    assert_eq!(f.code, diag::SCRIPT_RUNTIME);
    assert_eq!(f.location.line, 3, "{f:?}");
    // Two functions deep, with a throw.
    let f = fails("fn inner() {\n  throw \"boom\";\n}\nfn outer() {\n  inner()\n}\nouter();");
    assert_eq!(f.code, diag::SCRIPT_RUNTIME);
    assert_eq!(f.location.line, 2, "{f:?}");
    assert!(f.message.contains("boom"), "{}", f.message);
}

#[test]
fn invalid_output_inside_a_function_keeps_its_code() {
    let f = fails("fn emit() {\n  output(\"../x\", #{});\n}\nemit();");
    assert_eq!(f.code, diag::INVALID_OUTPUT, "{f:?}");
    assert_eq!(f.location.line, 2);
}

// ---- hostile scripts ----

#[test]
fn hostile_endless_loop() {
    let (f, _) = hostile("loop {}");
    assert!(f.message.contains("operations"), "{}", f.message);
}

#[test]
fn hostile_while_true() {
    stopped_by_a_limit("let i = 0;\nwhile true { i += 1; }");
}

#[test]
fn hostile_unbounded_recursion() {
    let (f, _) = hostile("fn f(x) { f(x + 1) }\nf(0)");
    assert!(f.message.contains("call depth"), "{}", f.message);
}

#[test]
fn hostile_string_doubling() {
    let (f, _) = hostile("let s = \"x\";\nloop { s += s; }");
    assert!(f.message.contains("size limit"), "{}", f.message);
}

/// An array grown without end is stopped by the array size limit, as V202.
#[test]
fn hostile_array_growth_is_stopped_by_the_size_limit() {
    for src in [
        "let a = [];\nloop { a.push(1); }",
        "let a = [];\nloop { a += [1, 2, 3]; }",
    ] {
        let f = fails(src);
        assert_eq!(f.code, diag::SCRIPT_LIMIT, "{src}: {f:?}");
        assert!(f.message.contains("array"), "{}", f.message);
        assert_eq!(f.location.to_string(), format!("{FILE}:2:10"));
    }
}

/// A growing array is stopped by the array size limit (Rhai re-measures the whole array after
/// every `push`, so the limit is what keeps the loop short).
#[test]
fn hostile_array_growth_stops_at_the_array_limit() {
    for src in [
        "let a = [];\nloop { a.push(1); }",
        "let a = [];\nloop { a += [1, 2, 3]; }",
    ] {
        let (f, _) = hostile(src);
        assert!(f.message.contains("array"), "{}", f.message);
    }
}

/// A map grown by index assignment (which Rhai does not size-check) is stopped by the operation
/// limit or the time budget, whichever is reached first.
#[test]
fn hostile_map_growth() {
    stopped_by_a_limit("let m = #{};\nlet i = 0;\nloop { m[`k${i}`] = i; i += 1; }");
    stopped_by_a_limit("let m = #{};\nlet i = 0;\nloop { m += #{}; m[`k${i}`] = i; i += 1; }");
}

/// `MAX_MAP_SIZE` must hold for a map grown by index assignment too. Fails today: `m[key] = v`
/// is not size-checked, so `output` and `status` accept a map of 20 000 keys (only the operation
/// limit bounds it, at about 190 000 keys).
#[test]
fn map_size_limit_holds_for_index_assignment() {
    for call in ["output(\"x.yaml\", m);", "status(m);"] {
        let (e, f) = exec(&format!(
            "let m = #{{}};\nfor i in 0..20000 {{ m[`k${{i}}`] = i; }}\n{call}"
        ));
        let f = f.unwrap_or_else(|| panic!("{call} accepted a 20000-key map"));
        assert_eq!(f.code, diag::SCRIPT_LIMIT, "{f:?}");
        assert!(e.outputs.is_empty() && e.status.is_none());
    }
}

#[test]
fn hostile_failures_keep_effects_recorded_before_them() {
    let (e, f) = exec("reject(\"first\");\nloop {}");
    assert_eq!(f.unwrap().code, diag::SCRIPT_LIMIT);
    assert_eq!(e.rejects, vec![said("first", 1, 1)]);
}

// ---- runs are independent ----

#[test]
fn effects_do_not_leak_between_runs() {
    let s = compiled(
        r#"
        if spec.bad { reject("bad"); warn("w"); status(#{ bad: true }); }
        output("x.yaml", #{ n: spec.n });
        schedule(".", #{ env: "prod" });
        "#,
    );
    let (first, f) = run(
        &s,
        vec![("spec", to_dynamic(&json!({"bad": true, "n": 1})))],
    );
    assert_eq!(f, None);
    assert_eq!(first.rejects.len(), 1);
    assert_eq!(first.warnings.len(), 1);
    assert_eq!(first.status, Some(json!({"bad": true})));

    let (second, f) = run(
        &s,
        vec![("spec", to_dynamic(&json!({"bad": false, "n": 2})))],
    );
    assert_eq!(f, None);
    assert!(second.rejects.is_empty() && second.warnings.is_empty());
    assert_eq!(second.status, None);
    assert_eq!(
        second.outputs,
        vec![("x.yaml".to_string(), OutputDoc::Docs(vec![json!({"n": 2})]))]
    );
    assert_eq!(second.schedules.len(), 1);

    // A failed run leaves nothing behind either.
    let (_, f) = exec("reject(\"lost\");\nlet x = 1 / 0;");
    assert!(f.is_some());
    let (third, f) = run(
        &s,
        vec![("spec", to_dynamic(&json!({"bad": false, "n": 3})))],
    );
    assert_eq!(f, None);
    assert!(third.rejects.is_empty());
}

#[test]
fn a_script_is_given_only_the_variables_it_mentions() {
    let s = compiled("let inspected = 1; if spec.size == \"x\" { warn(metadata[\"name\"]) }");
    assert!(s.uses("spec") && s.uses("metadata"));
    // `inspected` contains `spec`, but is another identifier.
    assert!(!s.uses("request") && !s.uses("previous") && !s.uses("promise"));
    let s = compiled("let r = request;\nlet p = previous_value(); fn f(x) { x }");
    assert!(s.uses("request"));
    assert!(!s.uses("previous"), "previous_value is another identifier");
    // An unmentioned variable is passed as (): the script still runs.
    let (effects, failure) = run(
        &compiled("warn(spec.size)"),
        vec![
            ("request", Dynamic::UNIT),
            ("spec", to_dynamic(&json!({"size": "small"}))),
        ],
    );
    assert_eq!(failure, None);
    assert_eq!(effects.warnings[0].message, "small");
}

// ---- data depth, closures, built-ins' work, script size ----

/// A map nested 10,000 deep used to overflow the stack (exit 134). Rhai re-measures the whole
/// value after every step, so building it runs into the time budget here; a machine fast
/// enough to finish would have `output` refuse it as too deep. Either way, a limit, no crash.
#[test]
fn hostile_deep_map_is_stopped_not_a_crash() {
    stopped_by_a_limit(
        "let m = #{};\nfor i in 0..10000 { m = #{ a: m }; }\noutput(\"x.yaml\", m);",
    );
}

#[test]
fn hostile_deep_array_is_stopped_not_a_crash() {
    stopped_by_a_limit(
        "let a = [];\nfor i in 0..100000 { a = [a]; }\noutput(\"x.yaml\", #{ a: a });",
    );
}

/// What leaves a script nested deeper than `MAX_DATA_DEPTH` is refused before it is converted.
#[test]
fn values_nested_too_deep_are_refused_by_every_conversion() {
    for call in [
        "output(\"x.yaml\", m);",
        "status(m);",
        "status(#{ t: to_json(m) });",
        "status(#{ t: to_yaml(m) });",
    ] {
        let (e, f) = exec(&format!(
            "let m = #{{}};\nfor i in 0..150 {{ m = #{{ a: [m] }}; }}\n{call}"
        ));
        let f = f.unwrap_or_else(|| panic!("{call} accepted a value 300 deep"));
        assert_eq!(f.code, diag::SCRIPT_LIMIT, "{call}: {f:?}");
        assert!(f.message.contains("more than 100 deep"), "{}", f.message);
        assert!(e.outputs.is_empty() && e.status.is_none());
    }
    // Up to the limit is fine.
    ok("let m = #{};\nfor i in 0..99 { m = #{ a: m }; }\noutput(\"x.yaml\", m);");
}

#[test]
fn json_nested_too_deep_is_not_converted() {
    let mut v = json!(1);
    for _ in 0..200 {
        v = json!({ "a": v });
    }
    // Deeper than scripts may give back, not deeper than they may be given.
    assert!(limits::json_too_deep(&v, MAX_DATA_DEPTH));
    assert!(to_dynamic(&v).is_map());
    for _ in 0..100 {
        v = json!({ "a": v });
    }
    assert!(to_dynamic(&v).is_unit());
    assert!(!limits::json_too_deep(&json!({"a": [1, {"b": 2}]}), 3));
    assert!(limits::json_too_deep(&json!({"a": [1, {"b": 2}]}), 2));
}

/// Closures cannot capture (so cannot nest values) and `curry` is disabled: 20,000 nested
/// closures used to overflow the stack.
#[test]
fn closures_cannot_nest_values() {
    let captured = "let f = || 1;\nfor i in 0..20000 { let g = f; f = || g.call() + 1; }";
    let e = compile(captured, FILE.into(), 0, SCOPE).unwrap_err();
    assert_eq!(e.code, diag::SCRIPT_COMPILE);
    assert!(
        e.message.contains("closures cannot capture"),
        "{}",
        e.message
    );
    let curried = "let f = Fn(\"x\");\nfor i in 0..40 { f = f.curry(f); }";
    assert_eq!(
        compile(curried, FILE.into(), 0, SCOPE).unwrap_err().code,
        diag::SCRIPT_COMPILE
    );
    let nested = format!("let f = {}1;", "|| ".repeat(20_000));
    let e = compile(&nested, FILE.into(), 0, SCOPE).unwrap_err();
    assert_eq!(e.code, diag::SCRIPT_COMPILE);
    assert!(e.message.contains("at most 64 deep"), "{}", e.message);
    // Anonymous functions without captures still work.
    assert_eq!(value("[1, 2, 3].filter(|x| x > 1).len()"), json!(2));
}

/// vow's built-ins are charged for their input, so an endless loop over one stops at the
/// operation limit, deterministically.
#[test]
fn hostile_sha256_loop_is_charged_for_its_input() {
    let f = hostile("let s = \"x\";\ns.pad(524288, \"y\");\nloop { sha256(s); }").0;
    assert!(f.message.contains("operations"), "{}", f.message);
    let f = hostile("let s = \"x\";\ns.pad(524288, \"y\");\nloop { matches(s, \"z\"); }").0;
    assert!(f.message.contains("operations"), "{}", f.message);
}

/// A run stopped by the time budget keeps nothing it asked for and points at the script's first
/// line: how far it got depends on the machine, and plans must not.
#[test]
fn a_run_out_of_time_keeps_no_effects() {
    let (e, f) =
        exec("let s = \"x\";\ns.pad(524288, \"y\");\nloop { warn(\"w\"); s.contains(\"zz\"); }");
    let f = f.unwrap();
    assert_eq!(f.code, diag::SCRIPT_TIME);
    assert_eq!(e, Effects::default());
    assert_eq!((f.location.line, f.location.column), (1, None));
}

/// Rhai's own built-ins are not charged; the time budget stops them.
#[test]
fn hostile_sort_and_scan_loops_are_stopped_by_the_time_budget() {
    for src in [
        "let a = [];\nfor i in 0..10000 { a.push(10000 - i); }\nloop { let b = a; b.sort(); }",
        "let s = \"x\";\ns.pad(524288, \"y\");\nloop { s.contains(\"zz\"); }",
        "let s = \"x\";\ns.pad(524288, \"y\");\nloop { s.index_of(\"zz\"); }",
    ] {
        let f = stopped_by(src, diag::SCRIPT_TIME);
        assert!(f.message.contains("time budget"), "{}", f.message);
    }
}

#[test]
fn a_script_over_the_size_limit_is_refused_before_compiling() {
    let big = "let x = 1;\n".repeat(300_000);
    let f = compile(&big, FILE.into(), 4, SCOPE).unwrap_err();
    assert_eq!(f.code, diag::SCRIPT_TOO_LARGE);
    assert!(f.message.contains("3300000 bytes"), "{}", f.message);
    assert!(f.message.contains("262144"), "{}", f.message);
    let loc = f.location.unwrap();
    assert_eq!((&*loc.file, loc.line), (FILE, 5));
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
