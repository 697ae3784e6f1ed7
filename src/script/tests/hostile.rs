//! Tests of the limits: hostile scripts are stopped, runs are independent, and data depth,
//! closures, built-ins' work and script size are bounded.

use super::*;
use serde_json::json;

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
