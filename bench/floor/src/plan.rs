//! `vow-floor plan`: the floor under `vow plan`'s evaluate stage for the example Promises.
//!
//!     vow-floor plan REQUESTS_DIR PROMISES_DIR RULES_DIR
//!
//! For every YAML document in REQUESTS_DIR/*.yaml: parse it, re-serialise it compactly and hash
//! it (the digest vow keeps), fill in the schema defaults of its Promise (found by kind in
//! PROMISES_DIR/*/promise.yaml), convert `spec` and `metadata` to Rhai values once, run the
//! Promise's Rhai steps (compiled once, the same files vow runs) with those values as constants,
//! write every `output()` document as YAML straight from the script's value and hash it, then run
//! the rules of RULES_DIR (their `match` by Promise and labels, `documents` for output rules).
//! Prints `documents= files= rejected= denials=` and, with FLOOR_STAGES=1, the thread CPU of each
//! part (steps, render, rules) summed over requests, in µs per request, on stderr.
//!
//! What it leaves out, so that it stays a floor: the schema's validation (the generated requests
//! are valid), run limits, findings' text and locations, destinations (one fixed layout), the
//! plan itself. Built-ins the example scripts call are written here as vow has them.
use rayon::prelude::*;
use rhai::{Array, Dynamic, Engine, ImmutableString, Map, Scope, AST};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

thread_local! {
    static OUTPUTS: RefCell<Vec<(String, Dynamic)>> = const { RefCell::new(Vec::new()) };
    static SAID: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    static REGEX: RefCell<HashMap<String, regex::Regex>> = RefCell::new(HashMap::new());
}

static CPU: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];

struct Promise {
    name: String,
    kind: String,
    version: Dynamic,
    schema: Value,
    steps: Vec<AST>,
}

struct Rule {
    promises: Option<Vec<String>>,
    labels: Vec<(String, String)>,
    outputs: bool,
    ast: AST,
}

pub fn main(args: &[String]) {
    let [requests, promises, rules] = args else {
        eprintln!("usage: vow-floor plan REQUESTS_DIR PROMISES_DIR RULES_DIR");
        std::process::exit(2);
    };
    let engine = engine();
    let promises = load_promises(&engine, Path::new(promises));
    let rules = load_rules(&engine, Path::new(rules));
    let texts = super::read(Path::new(requests));
    let totals = texts
        .par_iter()
        .map(|(_, text)| one(&engine, &promises, &rules, text))
        .reduce(
            || [0; 4],
            |a, b| [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]],
        );
    let [documents, files, rejected, denials] = totals;
    println!("documents={documents} files={files} rejected={rejected} denials={denials}");
    if std::env::var_os("FLOOR_STAGES").is_some() && documents > 0 {
        let us = |i: usize| CPU[i].load(Ordering::Relaxed) as f64 / 1e3 / documents as f64;
        eprintln!(
            "steps {:.1} µs  render {:.1} µs  rules {:.1} µs per request",
            us(0),
            us(1),
            us(2)
        );
    }
}

fn engine() -> Engine {
    let mut e = Engine::new();
    e.set_max_strings_interned(0);
    let said = |reject: bool| {
        SAID.with(|s| {
            let (r, d) = s.get();
            s.set(if reject { (r + 1, d) } else { (r, d + 1) });
        })
    };
    e.register_fn("reject", move |_: ImmutableString| said(true));
    e.register_fn("reject", move |_: ImmutableString, _: ImmutableString| {
        said(true)
    });
    e.register_fn("deny", move |_: ImmutableString| said(false));
    e.register_fn("deny", move |_: ImmutableString, _: ImmutableString| {
        said(false)
    });
    e.register_fn("warn", |_: ImmutableString| {});
    e.register_fn("warn", |_: ImmutableString, _: ImmutableString| {});
    e.register_fn("output", |path: ImmutableString, doc: Dynamic| {
        OUTPUTS.with(|o| o.borrow_mut().push((path.to_string(), doc)))
    });
    e.register_fn("status", |m: Map| {
        std::hint::black_box(m);
    });
    e.register_fn("schedule", |_: ImmutableString, m: Map| {
        std::hint::black_box(m);
    });
    e.register_fn("sha256", |s: &str| format!("{:x}", Sha256::digest(s)));
    e.register_fn("slug", slug);
    e.register_fn("version_cmp", |a: &str, b: &str| version_cmp(a, b));
    e.register_fn("semver_matches", super::semver_matches);
    e.register_fn("matches", |s: &str, p: &str| {
        REGEX.with(|c| {
            let mut c = c.borrow_mut();
            let re = c
                .entry(p.to_string())
                .or_insert_with(|| regex::Regex::new(p).unwrap());
            re.is_match(s)
        })
    });
    e
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-')
        .chars()
        .take(63)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

fn version_cmp(a: &str, b: &str) -> i64 {
    let parse = |s: &str| semver::Version::parse(s.trim().trim_start_matches('v'));
    match (parse(a), parse(b)) {
        (Ok(x), Ok(y)) => x.cmp(&y) as i64,
        _ => a.cmp(b) as i64,
    }
}

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| super::die(path, e));
    serde_yaml::from_str(&text).unwrap_or_else(|e| super::die(path, e))
}

fn script(engine: &Engine, dir: &Path, spec: &Value) -> AST {
    let text = match (spec["script"].as_str(), spec["file"].as_str()) {
        (Some(s), _) => s.to_string(),
        (None, Some(f)) => {
            std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| super::die(&dir.join(f), e))
        }
        _ => super::die(dir, "a step or rule without script or file"),
    };
    engine.compile(&text).unwrap_or_else(|e| super::die(dir, e))
}

fn load_promises(engine: &Engine, dir: &Path) -> Vec<Promise> {
    let mut dirs: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| super::die(dir, e))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    dirs.sort();
    let mut out = Vec::new();
    for d in dirs.iter().filter(|d| d.join("promise.yaml").is_file()) {
        let p = yaml(&d.join("promise.yaml"));
        let crd = &p["spec"]["api"]["spec"];
        let pipelines = p["spec"]["workflows"]["resource"]["configure"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let steps = pipelines
            .iter()
            .flat_map(|pl| pl["spec"]["rhai"].as_array().cloned().unwrap_or_default())
            .map(|s| script(engine, d, &s))
            .collect();
        out.push(Promise {
            name: p["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            kind: crd["names"]["kind"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            version: p["metadata"]["labels"]["kratix.io/promise-version"]
                .as_str()
                .unwrap_or_default()
                .into(),
            schema: crd["versions"][0]["schema"]["openAPIV3Schema"].clone(),
            steps,
        });
    }
    out
}

fn load_rules(engine: &Engine, dir: &Path) -> Vec<Rule> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| super::die(dir, e))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|x| x == "yaml"))
    {
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| super::die(f, e));
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let doc: Value =
                serde::Deserialize::deserialize(doc).unwrap_or_else(|e| super::die(f, e));
            if doc["kind"] != "Rule" {
                continue;
            }
            let spec = &doc["spec"];
            let m = &spec["match"];
            out.push(Rule {
                promises: m["promises"].as_array().map(|a| {
                    a.iter()
                        .filter_map(|p| p.as_str().map(String::from))
                        .collect()
                }),
                labels: m["selector"]["matchLabels"]
                    .as_object()
                    .map(|l| {
                        l.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                            .collect()
                    })
                    .unwrap_or_default(),
                outputs: spec["on"] == "outputs",
                ast: script(engine, f.parent().unwrap_or(dir), spec),
            });
        }
    }
    out
}

/// The schema's defaults filled in where the request leaves a field out (as vow's defaulting).
fn defaults(schema: &Value, v: &mut Value) {
    let (Some(props), Some(obj)) = (schema["properties"].as_object(), v.as_object_mut()) else {
        return;
    };
    for (k, s) in props {
        if !obj.contains_key(k) {
            if let Some(d) = s.get("default") {
                obj.insert(k.clone(), d.clone());
            }
        }
        if let Some(child) = obj.get_mut(k) {
            defaults(s, child);
        }
    }
}

fn convert(v: &Value) -> Dynamic {
    match v {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => n
            .as_i64()
            .map(Dynamic::from_int)
            .unwrap_or_else(|| n.as_f64().unwrap_or(0.0).into()),
        Value::String(s) => s.as_str().into(),
        Value::Array(a) => Dynamic::from_array(a.iter().map(convert).collect()),
        Value::Object(m) => Dynamic::from_map(
            m.iter()
                .map(|(k, v)| (k.as_str().into(), convert(v)))
                .collect(),
        ),
    }
}

fn thread_cpu() -> u64 {
    let mut t = libc_timespec { s: 0, ns: 0 };
    // SAFETY: a plain clock read into a local timespec.
    unsafe { clock_gettime(3, &mut t) };
    (t.s as u64) * 1_000_000_000 + t.ns as u64
}

#[repr(C)]
struct libc_timespec {
    s: i64,
    ns: i64,
}

extern "C" {
    fn clock_gettime(clock: i32, t: *mut libc_timespec) -> i32;
}

fn timed<R>(i: usize, f: impl FnOnce() -> R) -> R {
    let t = thread_cpu();
    let r = f();
    CPU[i].fetch_add(thread_cpu() - t, Ordering::Relaxed);
    r
}

/// [documents, files, rejected, denials] of one YAML document.
fn one(engine: &Engine, promises: &[Promise], rules: &[Rule], text: &str) -> [u64; 4] {
    let Ok(mut doc) = serde_yaml::from_str::<Value>(text) else {
        return [0; 4];
    };
    if doc.is_null() {
        return [0; 4];
    }
    std::hint::black_box(Sha256::digest(serde_json::to_vec(&doc).unwrap_or_default()));
    let Some(p) = promises.iter().find(|p| doc["kind"] == p.kind.as_str()) else {
        return [1, 0, 0, 0];
    };
    defaults(&p.schema, &mut doc);
    let labels: Vec<(String, String)> = doc["metadata"]["labels"]
        .as_object()
        .map(|l| {
            l.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let mut promise = Map::new();
    promise.insert("name".into(), p.name.as_str().into());
    promise.insert("version".into(), p.version.clone());
    let mut scope = Scope::new();
    scope.push_constant("spec", convert(&doc["spec"]));
    scope.push_constant("metadata", convert(&doc["metadata"]));
    scope.push_constant("promise", promise);
    scope.push_constant("previous", ());
    SAID.with(|s| s.set((0, 0)));
    let mut outputs: Vec<(String, Dynamic)> = Vec::new();
    timed(0, || {
        for step in &p.steps {
            let mut m = Map::new();
            for (k, v) in &outputs {
                m.insert(k.as_str().into(), v.clone());
            }
            let len = scope.len();
            scope.push_constant("outputs", m);
            let _ = engine.run_ast_with_scope(&mut scope, step);
            scope.rewind(len);
            outputs.extend(OUTPUTS.with(|o| std::mem::take(&mut *o.borrow_mut())));
            if SAID.with(Cell::get).0 > 0 {
                break;
            }
        }
    });
    let rejected = SAID.with(Cell::get).0;
    if rejected > 0 {
        outputs.clear();
    }
    let files = timed(1, || render(&outputs));
    timed(2, || {
        let mut documents = Array::new();
        for (_, d) in &outputs {
            match d.clone().try_cast::<Array>() {
                Some(a) => documents.extend(a),
                None => documents.push(d.clone()),
            }
        }
        scope.push_constant("request", ());
        scope.push_constant("documents", documents);
        for r in rules {
            let by_promise = r
                .promises
                .as_ref()
                .is_none_or(|ps| ps.iter().any(|n| *n == p.name));
            let by_labels = r.labels.iter().all(|l| labels.contains(l));
            if by_promise && by_labels && (!r.outputs || rejected == 0) {
                let _ = engine.run_ast_with_scope(&mut scope, &r.ast);
            }
        }
    });
    [1, files, u64::from(rejected > 0), SAID.with(Cell::get).1]
}

/// Every output as YAML (an array is a multi-document file), hashed: the files vow writes.
fn render(outputs: &[(String, Dynamic)]) -> u64 {
    for (path, d) in outputs {
        let mut text = String::new();
        let docs = d
            .clone()
            .try_cast::<Array>()
            .unwrap_or_else(|| vec![d.clone()]);
        for (i, doc) in docs.iter().enumerate() {
            if i > 0 {
                text.push_str("---\n");
            }
            text.push_str(&serde_yaml::to_string(doc).unwrap_or_default());
        }
        std::hint::black_box(Sha256::digest(format!("{path}\n{text}")));
    }
    outputs.len() as u64
}
