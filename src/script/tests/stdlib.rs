//! Tests of the standard library, the sandbox (what a script cannot reach) and error locations.

use super::*;
use serde_json::json;

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
