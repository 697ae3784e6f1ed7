//! What a running script asks for: `reject`, `warn`, `output`, `schedule`, `status`, `deny`.
//!
//! The functions are registered once per engine and record into a thread-local [`Effects`] that
//! [`super::run`] resets before and takes after each run.

/// Label names to values, as the model's `Labels` (script sits below the model and cannot name it).
type Labels = std::collections::BTreeMap<String, String>;
use rhai::{Dynamic, Engine, EvalAltResult, ImmutableString, Map, NativeCallContext, Position};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::BTreeMap;

/// One output file: documents (a map, or an array of maps for a multi-document file) or text.
#[derive(Clone, Debug, PartialEq)]
pub enum OutputDoc {
    Docs(Vec<Value>),
    Text(String),
}

/// A message a script gave (`reject`, `warn`, `deny`) and the script line and column of the call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Said {
    pub message: String,
    pub line: u32,
    pub column: u32,
    /// The request field the message is about (`deny(msg, "spec.version")`), when given.
    pub field: Option<String>,
}

/// Everything one script run asked for, in call order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Effects {
    pub rejects: Vec<Said>,
    pub warnings: Vec<Said>,
    /// Rules' `deny(message)`.
    pub denials: Vec<Said>,
    pub outputs: Vec<(String, OutputDoc)>,
    pub schedules: Vec<(String, Labels)>,
    pub status: Option<Value>,
}

thread_local! {
    static CURRENT: RefCell<Effects> = RefCell::new(Effects::default());
    /// This run's output paths, normalised, and how the script spelled them.
    static SPELLED: RefCell<BTreeMap<String, String>> = const { RefCell::new(BTreeMap::new()) };
}

pub(super) fn begin() {
    CURRENT.with(|c| *c.borrow_mut() = Effects::default());
    SPELLED.with(|s| s.borrow_mut().clear());
}

pub(super) fn take() -> Effects {
    CURRENT.with(|c| std::mem::take(&mut *c.borrow_mut()))
}

fn record(f: impl FnOnce(&mut Effects)) {
    CURRENT.with(|c| f(&mut c.borrow_mut()));
}

type Fallible = Result<(), Box<EvalAltResult>>;

pub(super) fn register(engine: &mut Engine) {
    engine.register_fn("reject", |c: NativeCallContext, m: Dynamic| {
        let s = said(c.call_position(), m);
        record(|e| e.rejects.push(s))
    });
    engine.register_fn("warn", |c: NativeCallContext, m: Dynamic| {
        let s = said(c.call_position(), m);
        record(|e| e.warnings.push(s))
    });
    engine.register_fn("deny", |c: NativeCallContext, m: Dynamic| {
        let s = said(c.call_position(), m);
        record(|e| e.denials.push(s))
    });
    // Two-argument forms name the request field the message is about, so reports can point at
    // its line.
    engine.register_fn(
        "deny",
        |c: NativeCallContext, m: Dynamic, field: ImmutableString| {
            let s = Said {
                field: Some(field.to_string()),
                ..said(c.call_position(), m)
            };
            record(|e| e.denials.push(s))
        },
    );
    engine.register_fn(
        "warn",
        |c: NativeCallContext, m: Dynamic, field: ImmutableString| {
            let s = Said {
                field: Some(field.to_string()),
                ..said(c.call_position(), m)
            };
            record(|e| e.warnings.push(s))
        },
    );
    engine.register_fn(
        "reject",
        |c: NativeCallContext, m: Dynamic, field: ImmutableString| {
            let s = Said {
                field: Some(field.to_string()),
                ..said(c.call_position(), m)
            };
            record(|e| e.rejects.push(s))
        },
    );
    engine.register_fn("output", output);
    engine.register_fn("schedule", schedule);
    engine.register_fn("status", status);
}

fn said(pos: Position, m: Dynamic) -> Said {
    let message = m.to_string();
    // What a run records is charged like a built-in's work, so a loop recording large values
    // cannot fill memory before the operation limit stops it.
    super::limits::charge(message.len());
    Said {
        message,
        line: pos.line().unwrap_or(1) as u32,
        column: pos.position().unwrap_or(1) as u32,
        field: None,
    }
}

fn output(path: ImmutableString, doc: Dynamic) -> Fallible {
    let raw = path;
    let path = check_path(&raw).map_err(|m| format!("output(): {m}"))?;
    spelled_once(&path, &raw)?;
    let doc = if doc.is_string() {
        let text = doc.to_string();
        super::limits::charge(text.len());
        OutputDoc::Text(text)
    } else {
        let v = super::from_dynamic(&doc).map_err(|m| format!("output(): {m}"))?;
        check_sizes(&v)?;
        super::limits::charge(weight(&v));
        match v {
            Value::Object(_) => OutputDoc::Docs(vec![v]),
            Value::Array(items) if items.iter().all(Value::is_object) => OutputDoc::Docs(items),
            other => {
                return Err(format!(
                    "output(): `{path}` must be given a map, an array of maps or a string, not {}",
                    crate::schema::show(&other)
                )
                .into())
            }
        }
    };
    record(|e| e.outputs.push((path, doc)));
    Ok(())
}

/// Two spellings of one file in one run (`a//b` and `a/b`) are a mistake; the same spelling
/// twice replaces, as a later step's output does.
fn spelled_once(path: &str, raw: &str) -> Fallible {
    let earlier = SPELLED.with(|s| {
        let mut s = s.borrow_mut();
        match s.get(path) {
            Some(first) if first != raw => Some(first.clone()),
            Some(_) => None,
            None => {
                s.insert(path.to_string(), raw.to_string());
                None
            }
        }
    });
    match earlier {
        Some(first) => Err(format!(
            "output(): `{raw}` and `{first}` both name the file `{path}`; write one of them"
        )
        .into()),
        None => Ok(()),
    }
}

fn schedule(dir: ImmutableString, labels: Map) -> Fallible {
    // `.` (or an empty name) is the root workload group, as in Kratix's destination-selectors.yaml.
    let dir = match dir.trim().trim_end_matches('/') {
        "" | "." => ".".to_string(),
        d => check_path(d).map_err(|m| format!("schedule(): {m}"))?,
    };
    if dir.contains('/') {
        return Err(
            format!("schedule(): `{dir}` must be a top-level directory of the output").into(),
        );
    }
    let mut out = Labels::new();
    for (k, v) in labels {
        if !(v.is_string() || v.is_int() || v.is_bool()) {
            return Err(format!("schedule(): the label `{k}` must be a string").into());
        }
        let v = v.to_string();
        super::limits::charge(k.len() + v.len());
        out.insert(k.to_string(), v);
    }
    record(|e| e.schedules.push((dir, out)));
    Ok(())
}

fn status(map: Map) -> Fallible {
    let v = super::from_dynamic(&Dynamic::from_map(map)).map_err(|m| format!("status(): {m}"))?;
    check_sizes(&v)?;
    super::limits::charge(weight(&v));
    record(|e| match (&mut e.status, v) {
        (Some(Value::Object(old)), Value::Object(new)) => old.extend(new),
        (slot, v) => *slot = Some(v),
    });
    Ok(())
}

/// About how many bytes a value holds: its text and 16 per node (a value from a script, so at
/// most `MAX_DATA_DEPTH` deep).
fn weight(v: &Value) -> usize {
    16 + match v {
        Value::String(s) => s.len(),
        Value::Array(a) => a.iter().map(weight).sum(),
        Value::Object(m) => m.iter().map(|(k, v)| k.len() + weight(v)).sum(),
        _ => 0,
    }
}

/// Rhai checks a map's size only on some operations (`m[k] = v` is not one), so what leaves a
/// script is checked again against the same limits.
fn check_sizes(v: &Value) -> Fallible {
    let too_large = |what: &str| -> Fallible {
        Err(EvalAltResult::ErrorDataTooLarge(what.into(), Position::NONE).into())
    };
    match v {
        Value::Object(m) if m.len() > super::MAX_MAP_SIZE => too_large("Size of object map"),
        Value::Array(a) if a.len() > super::MAX_ARRAY_SIZE => too_large("Size of array"),
        Value::Object(m) => m.values().try_for_each(check_sizes),
        Value::Array(a) => a.iter().try_for_each(check_sizes),
        _ => Ok(()),
    }
}

/// The longest file or directory name the store's file systems hold, in bytes.
pub const MAX_NAME_BYTES: usize = 255;
/// The longest output path, in bytes (Linux's `PATH_MAX`).
pub const MAX_PATH_BYTES: usize = 4096;

/// Output paths stay inside the instance's directory and are names the store can hold:
/// relative, no `..`, no NUL or control characters, no name over 255 bytes nor a path over
/// 4096, nothing under `.vow/` (the store's own records). Empty and `.` segments are dropped:
/// the path is returned normalised.
pub fn check_path(path: &str) -> Result<String, String> {
    let p = path.trim();
    if p.is_empty() {
        return Err("the path is empty".into());
    }
    if let Some(c) = p.chars().find(|c| c.is_control()) {
        return Err(format!(
            "{} contains the control character {c:?}; file names cannot hold it",
            quoted(p)
        ));
    }
    if p.len() > MAX_PATH_BYTES {
        return Err(format!(
            "the path is {} bytes long, over the limit of {MAX_PATH_BYTES}",
            p.len()
        ));
    }
    if p.starts_with('/') || p.starts_with('\\') || p.contains(':') {
        return Err(format!(
            "`{p}` is absolute; paths are relative to the instance's directory"
        ));
    }
    let parts = segments(p)?;
    match parts.first() {
        None => Err(format!("`{p}` names no file")),
        Some(&".vow") => Err(format!(
            "`{p}` is under `.vow/`, where the store keeps its own records"
        )),
        Some(_) => Ok(parts.join("/")),
    }
}

/// The segments of a relative path, without empty and `.` ones.
fn segments(p: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => return Err(format!("`{p}` leaves the instance's directory (`..`)")),
            s if s.contains('\\') => return Err(format!("`{p}` contains a backslash")),
            s if s.len() > MAX_NAME_BYTES => {
                return Err(format!(
                    "`{}…` is a name of {} bytes, over the limit of {MAX_NAME_BYTES}",
                    s.chars().take(40).collect::<String>(),
                    s.len()
                ))
            }
            s => parts.push(s),
        }
    }
    Ok(parts)
}

/// A path for a message, its control characters escaped.
fn quoted(p: &str) -> String {
    format!("{p:?}")
}
