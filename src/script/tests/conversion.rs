//! The request's conversion for scripts: the hand-written [`to_dynamic`] gives what
//! `rhai::serde` gave (the reference it replaced), and a script's variables are the ones it reads,
//! not the words in its text.

use super::*;
use serde_json::json;

/// The same Rhai value: same type and the same text (Rhai's debug form shows every nested type).
fn same(a: &Dynamic, b: &Dynamic) -> bool {
    a.type_name() == b.type_name() && format!("{a:?}") == format!("{b:?}")
}

#[test]
fn the_conversion_gives_what_rhai_serde_gives() {
    let values = [
        json!(null),
        json!(true),
        json!(0),
        json!(-7),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(9_223_372_036_854_775_808u64),
        json!(1.5),
        json!(-0.0),
        json!(1e300),
        json!("héllo \"quoted\" \n ✓"),
        json!([]),
        json!({}),
        json!([1, "a", null, [true, {"k": 2.25}]]),
        json!({"apiVersion": "platform.example.com/v1alpha1", "kind": "PostgreSQL",
               "metadata": {"name": "orders", "labels": {"env": "prod", "region": "eu-west-1"}},
               "spec": {"version": "15.8", "instances": 3, "backups": {"enabled": true},
                        "databases": ["a", "b"], "ratio": 0.25, "none": null}}),
    ];
    for v in &values {
        let ours = to_dynamic(v);
        let reference = rhai::serde::to_dynamic(v).unwrap();
        assert!(same(&ours, &reference), "{v}: {ours:?} vs {reference:?}");
        // And back: the JSON a script's value turns into is the JSON it came from (but for an
        // integer over i64, which scripts see as a float, as they did).
        if v.as_u64().is_none_or(|n| i64::try_from(n).is_ok()) {
            assert_eq!(&from_dynamic(&ours).unwrap(), v);
        }
    }
}

#[test]
fn a_value_nested_too_deep_is_unit_below_the_limit_converted() {
    let mut v = json!("leaf");
    for _ in 0..limits::MAX_INPUT_DEPTH {
        v = json!([v]);
    }
    // MAX_INPUT_DEPTH arrays: the innermost sits at depth MAX_INPUT_DEPTH - 1.
    assert!(to_dynamic(&v).is_array());
    assert!(!limits::json_too_deep(&v, limits::MAX_INPUT_DEPTH));
    // One level found deeper in a larger value is one too many, as the walk counts it.
    assert!(to_dynamic_at(&v, 1).is_unit());
    let v = json!({ "a": v });
    assert!(limits::json_too_deep(&v, limits::MAX_INPUT_DEPTH));
    assert!(to_dynamic(&v).is_unit());
}

#[test]
fn a_script_uses_the_variables_it_reads_not_the_words_it_says() {
    let uses = |src: &str| compiled(src).used;
    assert_eq!(
        uses("// the request, the spec\ndeny(\"the request has no `metadata` label\");"),
        Vec::<String>::new()
    );
    assert_eq!(uses("let x = `request: ${spec.size}`; deny(x);"), ["spec"]);
    assert_eq!(
        uses("if metadata.labels?.team in [\"a\"] { deny(request.kind) }"),
        ["request", "metadata"]
    );
    assert_eq!(
        uses("let m = #{}; deny(m[promise.name] ?? \"x\");"),
        ["promise"]
    );
    assert_eq!(
        uses("fn f(x) { x.len() } deny(`${f(previous)}`);"),
        ["previous"]
    );
    // A variable only assigned to is still one the script touches.
    assert_eq!(uses("spec.size = 1;"), ["spec"]);
}

/// The hand-written script-to-JSON conversion gives what `serde_json::to_value` gives (the
/// reference it replaced) for values scripts make, exotic ones included (characters, floats,
/// not-a-number, blobs, function pointers, timestamps-free), nested in maps and arrays.
#[test]
fn script_values_become_the_json_serde_made_of_them() {
    let script = r#"
        [(), true, false, 0, -7, 9223372036854775807, 1.5, -0.0, 1e300, 2.0, "héllo \"q\" \n ✓",
         'c', [], #{}, [1, "a", (), [true, #{k: 2.25, "a b": 'x'}]],
         #{ apiVersion: "v1", kind: "ConfigMap", metadata: #{ name: "n", labels: #{ "x/y": "z" } },
            data: #{ "redis.conf": "port 6379\n", n: 3 }, list: [#{}, [], ()] },
         blob(3, 7), Fn("f"), 0.0 / 0.0, #{ nan: 0.0 / 0.0 }]
    "#;
    let values: rhai::Array = with_engine(|e| e.eval(script)).unwrap();
    assert_eq!(values.len(), 20);
    for d in &values {
        let reference = serde_json::to_value(d).map_err(|e| e.to_string());
        assert_eq!(
            to_json(d).map_err(|e| e.to_string()),
            reference,
            "for {d:?}"
        );
    }
}
