//! Tests of the script engine: the helpers they share here; the effect functions, the standard
//! library (with the sandbox and error locations) and the limits that keep a hostile script from
//! hanging or crashing a run (hostile.rs) beside.

use super::*;

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

mod conversion;
mod effects;
mod hostile;
mod stdlib;
