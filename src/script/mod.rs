//! The Rhai engine: a sandbox, a small standard library, compile once and run many.
//!
//! Each rayon thread has its own `Engine` (DESIGN.md section 11: one shared engine scales
//! negatively because of its string interner); compiled `AST`s are shared. Scripts have no file,
//! network, clock or environment access, `print` and `debug` never reach stdout, and every run is
//! bounded by operation, call-depth and size limits, so a hostile script is a finding for one
//! request, never a hang. What a script asks for (`reject`, `output`, ...) is collected in
//! [`Effects`] through a thread-local, since a run is synchronous on its thread.

mod effects;
pub mod stdlib;

pub use effects::{check_path, Effects, OutputDoc, Said};

use crate::diag::{self, Code, Finding, Location};
use rhai::{Dynamic, Engine, EvalAltResult, Position, Scope, AST};
use std::sync::Arc;

/// Bounds on every script run. Generous for real platform scripts (a render step takes a few
/// thousand operations), small enough that an endless loop stops in well under a second.
pub const MAX_OPERATIONS: u64 = 2_000_000;
pub const MAX_CALL_LEVELS: usize = 32;
pub const MAX_STRING_SIZE: usize = 1 << 20;
// Rhai re-measures an array after each push, so growing one to n costs n²/2: 10,000 keeps a
// runaway `push` loop well under a second (100,000 took 2.4 s).
pub const MAX_ARRAY_SIZE: usize = 10_000;
pub const MAX_MAP_SIZE: usize = 10_000;

/// A compiled script and where its text came from.
#[derive(Clone, Debug)]
pub struct Script {
    pub ast: Arc<AST>,
    pub file: Arc<str>,
    /// Lines before the script's first line in `file` (0 for a script file; for an inline script,
    /// the line of the Promise file its text starts on, minus one).
    pub line_offset: u32,
    /// The scope variables the source mentions. The others are passed as `()`: converting and
    /// cloning a request's maps for a script that never reads them was most of a rule's cost.
    pub used: Vec<String>,
}

impl Script {
    /// Whether the script may read the scope variable `name` (a conservative textual test: any
    /// identifier-like mention counts).
    pub fn uses(&self, name: &str) -> bool {
        self.used.iter().any(|u| u == name)
    }

    /// Where a message said at script line/column is, in the file the script came from.
    pub fn location_of(&self, said: &Said) -> Location {
        Location::new(self.file.clone(), said.line + self.line_offset).with_column(said.column)
    }

    fn location(&self, pos: Position) -> Location {
        let line = pos.line().unwrap_or(1) as u32 + self.line_offset;
        let loc = Location::new(self.file.clone(), line);
        match pos.position() {
            Some(c) => loc.with_column(c as u32),
            None => loc,
        }
    }
}

fn build_engine() -> Engine {
    let mut engine = Engine::new();
    engine
        .set_max_operations(MAX_OPERATIONS)
        .set_max_call_levels(MAX_CALL_LEVELS)
        .set_max_expr_depths(64, 32)
        .set_max_string_size(MAX_STRING_SIZE)
        .set_max_array_size(MAX_ARRAY_SIZE)
        .set_max_map_size(MAX_MAP_SIZE)
        .set_max_functions(256)
        .set_max_variables(1024)
        .set_strict_variables(true);
    // print/debug would write to stdout and corrupt a plan written there.
    engine.on_print(|s| tracing::debug!(target: "vow::script", "{s}"));
    engine.on_debug(|s, _, _| tracing::debug!(target: "vow::script", "{s}"));
    // `eval` would compile text at run time, outside the compile-once contract.
    engine.disable_symbol("eval");
    effects::register(&mut engine);
    stdlib::register(&mut engine);
    engine
}

thread_local! {
    static ENGINE: Engine = build_engine();
}

/// Runs `f` with this thread's engine.
pub fn with_engine<R>(f: impl FnOnce(&Engine) -> R) -> R {
    ENGINE.with(f)
}

/// Compiles a script. `scope_names` are the variables the caller will provide (strict variables:
/// any other undeclared name is a compile error, which catches typos before any request runs).
pub fn compile(
    source: &str,
    file: Arc<str>,
    line_offset: u32,
    scope_names: &[&str],
) -> Result<Script, Finding> {
    let mut scope = Scope::new();
    for n in scope_names {
        scope.push_dynamic(*n, Dynamic::UNIT);
    }
    let script = Script {
        ast: Arc::new(AST::empty()),
        file,
        line_offset,
        used: scope_names
            .iter()
            .filter(|n| mentions(source, n))
            .map(|n| n.to_string())
            .collect(),
    };
    match with_engine(|e| e.compile_with_scope(&scope, source)) {
        Ok(ast) => Ok(Script {
            ast: Arc::new(ast),
            ..script
        }),
        Err(e) => {
            let loc = script.location(e.position());
            Err(Finding::new(
                diag::SCRIPT_COMPILE,
                format!("{}: {}", loc.file, e.err_type()),
            )
            .at(loc))
        }
    }
}

/// A script that stopped: why and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptFailure {
    pub code: Code,
    pub message: String,
    pub location: Location,
}

impl ScriptFailure {
    pub fn into_finding(self, what: &str) -> Finding {
        Finding::new(self.code, format!("{what}: {}", self.message)).at(self.location)
    }
}

/// Whether `name` occurs in `source` as a whole identifier.
fn mentions(source: &str, name: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    source.match_indices(name).any(|(i, _)| {
        let before = source[..i].chars().next_back();
        let after = source[i + name.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// Runs a compiled script with the given variables; returns what it asked for.
pub fn run(
    script: &Script,
    vars: Vec<(&'static str, Dynamic)>,
) -> (Effects, Option<ScriptFailure>) {
    let mut scope = Scope::with_capacity(vars.len());
    for (name, value) in vars {
        scope.push_dynamic(name, value);
    }
    run_in(script, &mut scope)
}

/// Runs a compiled script in `scope` and leaves the scope as it found it: what the script
/// declares is dropped afterwards, so one scope serves a series of scripts. Variables the
/// scripts must not change are pushed as constants (changing one is a script error).
pub fn run_in(script: &Script, scope: &mut Scope<'static>) -> (Effects, Option<ScriptFailure>) {
    let len = scope.len();
    effects::begin();
    let result = with_engine(|e| e.run_ast_with_scope(scope, &script.ast));
    scope.rewind(len);
    let effects = effects::take();
    let failure = result.err().map(|e| failure(script, &e));
    (effects, failure)
}

fn failure(script: &Script, err: &EvalAltResult) -> ScriptFailure {
    let location = script.location(innermost_position(err));
    let (code, message) = match err.unwrap_inner() {
        EvalAltResult::ErrorTooManyOperations(_) => (
            diag::SCRIPT_LIMIT,
            format!("stopped after {MAX_OPERATIONS} operations (an endless loop?)"),
        ),
        EvalAltResult::ErrorStackOverflow(_) => (
            diag::SCRIPT_LIMIT,
            format!("call depth over {MAX_CALL_LEVELS} (unbounded recursion?)"),
        ),
        EvalAltResult::ErrorDataTooLarge(what, _) => (
            diag::SCRIPT_LIMIT,
            format!("{what} over its size limit (string {MAX_STRING_SIZE} bytes, array {MAX_ARRAY_SIZE}, map {MAX_MAP_SIZE})"),
        ),
        EvalAltResult::ErrorTooManyVariables(_) | EvalAltResult::ErrorTooManyModules(_) => {
            (diag::SCRIPT_LIMIT, err.unwrap_inner().to_string())
        }
        EvalAltResult::ErrorRuntime(v, _) => {
            let text = v.to_string();
            if text.starts_with("output()") || text.starts_with("schedule()") || text.starts_with("status()") {
                (diag::INVALID_OUTPUT, text)
            } else {
                (diag::SCRIPT_RUNTIME, text)
            }
        }
        other => (diag::SCRIPT_RUNTIME, strip_position(&other.to_string())),
    };
    ScriptFailure {
        code,
        message,
        location,
    }
}

/// The position of the innermost error: inside a function, where the failing statement is.
fn innermost_position(err: &EvalAltResult) -> Position {
    let mut e = err;
    while let EvalAltResult::ErrorInFunctionCall(_, _, inner, _) = e {
        if inner.position().is_none() {
            break;
        }
        e = inner;
    }
    e.position()
}

/// Rhai appends ` (line 3, position 7)` to messages; the location carries that already.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" (line ") {
        Some(i) if msg.ends_with(')') => msg[..i].to_string(),
        _ => msg.to_string(),
    }
}

/// Converts a JSON value for a script.
pub fn to_dynamic(v: &serde_json::Value) -> Dynamic {
    rhai::serde::to_dynamic(v).unwrap_or(Dynamic::UNIT)
}

/// Converts a script's value back to JSON; non-finite floats have no JSON form.
pub fn from_dynamic(d: &Dynamic) -> Result<serde_json::Value, String> {
    serde_json::to_value(d).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;
