//! The Rhai engine: a sandbox, a small standard library, compile once and run many.
//!
//! Each rayon thread has its own `Engine` (one shared engine scales
//! negatively because of its string interner); compiled `AST`s are shared. Scripts have no file,
//! network, clock or environment access, `print` and `debug` never reach stdout, and every run is
//! bounded by operation, call-depth, size, depth and time limits (see [`limits`]), so a hostile
//! script is a finding for one request, never a hang or a crash. What a script asks for (`reject`, `output`, ...) is collected in
//! [`Effects`] through a thread-local, since a run is synchronous on its thread.

mod effects;
pub mod limits;
mod outputs;
pub mod stdlib;

pub use effects::{check_path, Effects, OutputDoc, Said, MAX_NAME_BYTES, MAX_PATH_BYTES};
pub use limits::{
    MAX_ARRAY_SIZE, MAX_CALL_LEVELS, MAX_DATA_DEPTH, MAX_MAP_SIZE, MAX_OPERATIONS,
    MAX_SCRIPT_BYTES, MAX_STRING_SIZE, STACK_BYTES, TIME_BUDGET,
};
pub use outputs::check_output_set;

use crate::diag::{self, Code, Finding, Location};
use rhai::{Dynamic, Engine, EvalAltResult, Position, Scope, AST};
use std::sync::Arc;

/// A compiled script and where its text came from.
#[derive(Clone, Debug)]
pub struct Script {
    pub ast: Arc<AST>,
    pub file: Arc<str>,
    /// Lines before the script's first line in `file` (0 for a script file; for an inline script,
    /// the line of the Promise file its text starts on, minus one).
    pub line_offset: u32,
    /// The scope variables the script reads ([`variables_read`]). The others are passed as `()`:
    /// converting and cloning a request's maps for a script that never reads them was most of a
    /// rule's cost.
    pub used: Vec<String>,
}

impl Script {
    /// Whether the script reads the scope variable `name`.
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
        .set_max_expr_depths(limits::MAX_EXPR_DEPTH, limits::MAX_FN_EXPR_DEPTH)
        .set_max_string_size(MAX_STRING_SIZE)
        .set_max_array_size(MAX_ARRAY_SIZE)
        .set_max_map_size(MAX_MAP_SIZE)
        .set_max_functions(limits::MAX_FUNCTIONS)
        .set_max_variables(1024)
        .set_strict_variables(true)
        // The interner hashes every string a script makes (each `let` of a string, each
        // interpolation) and, once full, rescans its table for one to evict: 2.7 % of a plan's
        // time for strings that are almost all new (names, paths). Strings are shared through
        // their reference count without it.
        .set_max_strings_interned(0)
        .on_progress(limits::progress);
    // print/debug would write to stdout and corrupt a plan written there.
    engine.on_print(|s| tracing::debug!(target: "vow::script", "{s}"));
    engine.on_debug(|s, _, _| tracing::debug!(target: "vow::script", "{s}"));
    // `eval` would compile text at run time, outside the compile-once contract.
    engine.disable_symbol("eval");
    // A curried function pointer holds values Rhai's size limits do not see: `f = f.curry(f)`
    // doubles in size each time. (Closures cannot capture, see Cargo.toml, for the same reason.)
    engine.disable_symbol("curry");
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
    if source.len() > MAX_SCRIPT_BYTES {
        return Err(too_large(source, file, line_offset));
    }
    let mut scope = Scope::new();
    for n in scope_names {
        scope.push_dynamic(*n, Dynamic::UNIT);
    }
    let script = Script {
        ast: Arc::new(AST::empty()),
        file,
        line_offset,
        used: Vec::new(),
    };
    match with_engine(|e| e.compile_with_scope(&scope, source)) {
        Ok(ast) => Ok(Script {
            used: variables_read(&ast, scope_names),
            ast: Arc::new(ast),
            ..script
        }),
        Err(e) => {
            let loc = script.location(e.position());
            Err(Finding::new(
                diag::SCRIPT_COMPILE,
                format!(
                    "{}: {}{}",
                    loc.file,
                    e.err_type(),
                    hint(source, e.err_type())
                ),
            )
            .at(loc))
        }
    }
}

/// What a compile error means where vow's engine differs from Rhai's defaults.
fn hint(source: &str, err: &rhai::ParseErrorType) -> String {
    use rhai::ParseErrorType as E;
    match err {
        E::VariableUndefined(name) if source.contains(&format!("let {name}")) => {
            format!(" (closures cannot capture variables in vow: pass `{name}` as an argument)")
        }
        E::PropertyExpected if mentions(source, "curry") => {
            " (`curry` is not available in vow scripts)".into()
        }
        E::ExprTooDeep => format!(
            " (expressions nest at most {} deep, {} inside functions)",
            limits::MAX_EXPR_DEPTH,
            limits::MAX_FN_EXPR_DEPTH
        ),
        _ => String::new(),
    }
}

/// A script over [`MAX_SCRIPT_BYTES`]: refused before compiling, since compile time grows
/// faster than the size.
fn too_large(source: &str, file: Arc<str>, line_offset: u32) -> Finding {
    let loc = Location::new(file, line_offset + 1);
    Finding::new(
        diag::SCRIPT_TOO_LARGE,
        format!(
            "{}: the script is {} bytes, over the limit of {MAX_SCRIPT_BYTES}; move data into the \
             request or the Promise, or split the step",
            loc.file,
            source.len()
        ),
    )
    .at(loc)
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

/// The names of `scope_names` that the script reads as variables, anywhere in it (its functions
/// included). Found in the compiled script rather than its text, so that a word in a message or
/// a comment (`deny("the request has no label")`) does not count: with strict variables and
/// without `eval` or closures, a variable node is the only way a script reads its scope.
fn variables_read(ast: &AST, scope_names: &[&str]) -> Vec<String> {
    let mut read = vec![false; scope_names.len()];
    ast.walk(&mut |path: &[rhai::ASTNode]| {
        if let Some(rhai::ASTNode::Expr(rhai::Expr::Variable(v, ..))) = path.last() {
            let name = v.1.as_str();
            if let Some(i) = scope_names.iter().position(|n| *n == name) {
                if let Some(r) = read.get_mut(i) {
                    *r = true;
                }
            }
        }
        true
    });
    scope_names
        .iter()
        .zip(read)
        .filter(|(_, r)| *r)
        .map(|(n, _)| n.to_string())
        .collect()
}

/// Whether `name` occurs in `source` as a whole identifier.
fn mentions(source: &str, name: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    source.match_indices(name).any(|(i, _)| {
        let before = source.get(..i).and_then(|s| s.chars().next_back());
        let after = source.get(i + name.len()..).and_then(|s| s.chars().next());
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
    limits::start();
    let result = with_engine(|e| e.run_ast_with_scope(scope, &script.ast));
    scope.rewind(len);
    let effects = effects::take();
    match result.err().map(|e| failure(script, &e)) {
        Some(f) if f.code == diag::SCRIPT_TIME => {
            (Effects::default(), Some(out_of_time(script, f)))
        }
        failure => (effects, failure),
    }
}

/// How far a run got before its time was up depends on the machine: what it asked for so far
/// and the statement it was at are dropped, so the plan is the same on every machine. The
/// failure points at the script's first line.
fn out_of_time(script: &Script, f: ScriptFailure) -> ScriptFailure {
    ScriptFailure {
        location: Location::new(script.file.clone(), script.line_offset + 1),
        ..f
    }
}

fn failure(script: &Script, err: &EvalAltResult) -> ScriptFailure {
    let location = script.location(innermost_position(err));
    let (code, message) = match err.unwrap_inner() {
        EvalAltResult::ErrorTooManyOperations(_) => (diag::SCRIPT_LIMIT, over_operations()),
        EvalAltResult::ErrorTerminated(token, _) if token.to_string() == limits::OVER_TIME => (
            diag::SCRIPT_TIME,
            format!(
                "stopped: over the time budget of {} s (one run, or all of a request's steps and \
                 rules), at a point that varies from run to run (a loop over an expensive \
                 built-in, or a value rebuilt ever larger?)",
                limits::TIME_BUDGET.as_secs()
            ),
        ),
        EvalAltResult::ErrorTerminated(..) => (diag::SCRIPT_LIMIT, over_operations()),
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
            if text.contains(limits::TOO_DEEP) {
                (diag::SCRIPT_LIMIT, text)
            } else if ["output()", "schedule()", "status()"].iter().any(|p| text.starts_with(p)) {
                (diag::INVALID_OUTPUT, text)
            } else {
                (diag::SCRIPT_RUNTIME, text)
            }
        }
        EvalAltResult::ErrorAssignmentToConstant(name, _) => (
            diag::SCRIPT_RUNTIME,
            format!(
                "`{name}` cannot be changed: the request's variables are the same for every \
                 step and rule; copy what you change (`let s = {name}; s.size = ...`)"
            ),
        ),
        EvalAltResult::ErrorNonPureMethodCallOnConstant(..) => (
            diag::SCRIPT_RUNTIME,
            format!(
                "{} (the request's variables are the same for every step and rule: copy what \
                 you change into a `let` variable first)",
                strip_position(&err.unwrap_inner().to_string())
            ),
        ),
        other => (diag::SCRIPT_RUNTIME, strip_position(&other.to_string())),
    };
    ScriptFailure {
        code,
        message,
        location,
    }
}

fn over_operations() -> String {
    format!(
        "stopped after {MAX_OPERATIONS} operations, built-ins counting one per {} bytes of their \
         input (an endless loop?)",
        limits::BYTES_PER_OPERATION
    )
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
    match msg.rfind(" (line ").and_then(|i| msg.get(..i)) {
        Some(head) if msg.ends_with(')') => head.to_string(),
        _ => msg.to_string(),
    }
}

/// Converts a JSON value for a script. A value nested deeper than `limits::MAX_INPUT_DEPTH`
/// (which the loaders never let through) is passed as `()` rather than converted recursively.
pub fn to_dynamic(v: &serde_json::Value) -> Dynamic {
    to_dynamic_at(v, 0)
}

/// [`to_dynamic`] of a value found `depth` levels down in a larger one, the limit counting from
/// the top of that one.
pub fn to_dynamic_at(v: &serde_json::Value, depth: usize) -> Dynamic {
    convert(v, depth).unwrap_or(Dynamic::UNIT)
}

/// The conversion itself, written out rather than through `rhai::serde` (whose serializer
/// boxes every value on the way; this was twice as slow, BENCHMARKS.md) and checking the depth
/// as it goes rather than in a walk of its own: `None` when a map or array sits at `limit`
/// or deeper, as [`limits::json_too_deep`] counts it. Numbers become what `rhai::serde`
/// makes of them: an integer when it fits an `i64`, a float otherwise.
fn convert(v: &serde_json::Value, depth: usize) -> Option<Dynamic> {
    use serde_json::Value;
    let container = matches!(v, Value::Array(_) | Value::Object(_));
    if container && depth >= limits::MAX_INPUT_DEPTH {
        return None;
    }
    Some(match v {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Dynamic::from_int(i),
            (None, Some(f)) => Dynamic::from_float(f),
            (None, None) => Dynamic::UNIT,
        },
        Value::String(s) => s.as_str().into(),
        Value::Array(items) => {
            let mut a = rhai::Array::with_capacity(items.len());
            for item in items {
                a.push(convert(item, depth + 1)?);
            }
            Dynamic::from_array(a)
        }
        Value::Object(fields) => {
            let mut m = rhai::Map::new();
            for (k, item) in fields {
                m.insert(k.as_str().into(), convert(item, depth + 1)?);
            }
            Dynamic::from_map(m)
        }
    })
}

/// Converts a script's value back to JSON; non-finite floats have no JSON form, and a value
/// nested deeper than [`MAX_DATA_DEPTH`] is refused before converting.
pub fn from_dynamic(d: &Dynamic) -> Result<serde_json::Value, String> {
    if limits::dynamic_too_deep(d) {
        return Err(limits::too_deep_message());
    }
    to_json(d).map_err(|e| e.to_string())
}

/// A script's value as JSON, written out for the values scripts make (unit, booleans, integers,
/// strings, arrays and maps): through `serde_json::to_value`, Rhai's `Serialize` went through a
/// serializer per value and was 6 % of a plan (BENCHMARKS.md, round three). Anything else
/// (floats, characters, blobs, function pointers) still goes through serde, so the result is
/// what serde gives, value for value (a test compares the two).
fn to_json(d: &Dynamic) -> Result<serde_json::Value, serde_json::Error> {
    use serde_json::Value;
    if d.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(b) = d.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = d.as_int() {
        return Ok(Value::from(i));
    }
    if let Some(s) = d.read_lock::<rhai::ImmutableString>() {
        return Ok(Value::String(s.as_str().to_owned()));
    }
    if let Ok(items) = d.as_array_ref() {
        return items
            .iter()
            .map(to_json)
            .collect::<Result<_, _>>()
            .map(Value::Array);
    }
    if let Ok(fields) = d.as_map_ref() {
        let mut m = serde_json::Map::new();
        for (k, v) in fields.iter() {
            m.insert(k.to_string(), to_json(v)?);
        }
        return Ok(Value::Object(m));
    }
    serde_json::to_value(d)
}

#[cfg(test)]
mod tests;
