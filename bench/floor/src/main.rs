//! vow-floor: the floor under `vow check` for bench/shapes.sh.
//!
//!     vow-floor INPUT RULE.yaml...
//!     vow-floor plan REQUESTS_DIR PROMISES_DIR RULES_DIR   (see plan.rs: the floor of `vow plan`)
//!
//! Does what `vow check` must do for the example fleet's requests, with vow's own crates and
//! nothing else: read INPUT (one `.ndjson`/`.jsonl` file, one `.json` file holding an array or a
//! Kubernetes `List`, one multi-document `.yaml` file, or a folder of `.yaml` files), parse every
//! document into a `serde_json::Value`, re-serialise it compactly and hash it with SHA-256 (the
//! digest vow keeps per request), pick its Promise, apply the schema defaults the rules read,
//! convert it to Rhai values once and run the rules' scripts (compiled once) on it, counting
//! `deny` calls. Prints `documents=<n> violations=<n>`, the figures `vow check --format json`
//! gives (bench/shapes.sh checks that they agree).
//!
//! Single files are split before parsing, on all cores: NDJSON at line ends, YAML at lines that
//! are exactly `---`, a JSON array or a List's `items` at its top-level elements (a byte scan
//! that tracks strings and nesting, trusting the input as vow cannot). One Rhai engine serves
//! every thread, with Rhai's string interner off: with the `sync` feature the interner is one
//! lock that every thread takes for every short string, and with it on the floor ran serially.
//!
//! What it leaves out (so that the floor stays a floor): the Promise's schema validation (the
//! generated requests are valid), labels, findings' text and locations, the report. The three
//! Promises and their defaults are written here (as bench/compare/policy.rego does), not read.
use rayon::prelude::*;
use rhai::{Dynamic, Engine, Map, Scope, AST};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::path::{Path, PathBuf};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

thread_local! {
    static DENIED: Cell<u64> = const { Cell::new(0) };
}

struct Rule {
    promises: Option<Vec<String>>,
    ast: AST,
}

mod plan;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "plan") {
        return plan::main(&args[1..]);
    }
    let Some((input, rules)) = args.split_first() else {
        eprintln!("usage: vow-floor INPUT RULE.yaml...");
        std::process::exit(2);
    };
    let engine = engine();
    let rules: Vec<Rule> = rules.iter().map(|r| rule(&engine, Path::new(r))).collect();
    let texts = read(Path::new(input));
    let (documents, violations) = texts
        .par_iter()
        .map(|(kind, text)| check(&engine, &rules, *kind, text))
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    println!("documents={documents} violations={violations}");
}

fn engine() -> Engine {
    // As vow's engine: the standard packages, the default (simple) optimisation; no limits.
    let mut engine = Engine::new();
    if std::env::var_os("FLOOR_INTERN").is_none() {
        engine.set_max_strings_interned(0);
    }
    engine.register_fn("deny", |_: &str, _: &str| {
        DENIED.with(|d| d.set(d.get() + 1));
    });
    engine.register_fn("semver_matches", semver_matches);
    engine
}

fn semver_matches(version: &str, req: &str) -> bool {
    let v = version.trim().trim_start_matches('v');
    let v = if v.split('.').count() == 2 {
        format!("{v}.0")
    } else {
        v.to_string()
    };
    match (semver::Version::parse(&v), semver::VersionReq::parse(req)) {
        (Ok(v), Ok(r)) => r.matches(&v),
        _ => false,
    }
}

fn rule(engine: &Engine, path: &Path) -> Rule {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| die(path, e));
    let doc: Value = serde_yaml::from_str(&text).unwrap_or_else(|e| die(path, e));
    let spec = &doc["spec"];
    let script = match (spec["script"].as_str(), spec["file"].as_str()) {
        (Some(s), _) => s.to_string(),
        (None, Some(f)) => {
            let file = path.with_file_name(f);
            std::fs::read_to_string(&file).unwrap_or_else(|e| die(&file, e))
        }
        _ => die(path, "no spec.script or spec.file"),
    };
    let promises = spec["match"]["promises"].as_array().map(|a| {
        a.iter()
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect()
    });
    let ast = engine.compile(&script).unwrap_or_else(|e| die(path, e));
    Rule { promises, ast }
}

#[derive(Clone, Copy)]
enum Kind {
    Json,
    Yaml,
}

/// The input as texts to parse, each a share of the work: chunks of NDJSON lines or JSON
/// elements, YAML documents.
fn read(path: &Path) -> Vec<(Kind, String)> {
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .unwrap_or_else(|e| die(path, e))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        files.sort();
        let texts: Vec<String> = files
            .par_iter()
            .map(|f| std::fs::read_to_string(f).unwrap_or_else(|e| die(f, e)))
            .collect();
        return texts.iter().flat_map(|t| yaml_documents(t)).collect();
    }
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| die(path, e));
    match path.extension().and_then(|x| x.to_str()) {
        Some("ndjson" | "jsonl") => lines(&text),
        Some("json") => elements(&text),
        _ => yaml_documents(&text),
    }
}

/// The top-level elements of a JSON array, or of the one array inside a top-level object (a
/// List's `items`), in chunks of 1,024 parsed as NDJSON lines are.
fn elements(text: &str) -> Vec<(Kind, String)> {
    let b = text.as_bytes();
    let level = if text.trim_start().starts_with('[') {
        1
    } else {
        2
    };
    let (mut depth, mut in_string, mut escaped, mut start) = (0usize, false, false, None);
    let mut items: Vec<&str> = Vec::new();
    for (i, &c) in b.iter().enumerate() {
        if in_string {
            (escaped, in_string) = match (escaped, c) {
                (true, _) => (false, true),
                (false, b'\\') => (true, true),
                (false, b'"') => (false, false),
                _ => (false, true),
            };
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth == level + 1 && start.is_none() {
                    start = Some(i);
                }
            }
            b']' | b'}' => {
                if depth == level + 1 {
                    items.extend(start.take().map(|s| &text[s..=i]));
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    items
        .chunks(1024)
        .map(|c| (Kind::Json, c.join("\n")))
        .collect()
}

fn lines(text: &str) -> Vec<(Kind, String)> {
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    all.chunks(1024)
        .map(|c| (Kind::Json, c.join("\n")))
        .collect()
}

fn yaml_documents(text: &str) -> Vec<(Kind, String)> {
    let mut docs = Vec::new();
    let mut current = String::new();
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" {
            docs.push((Kind::Yaml, std::mem::take(&mut current)));
        } else {
            current.push_str(line);
        }
    }
    docs.push((Kind::Yaml, current));
    docs
}

/// (documents, violations) of one share of the input.
fn check(engine: &Engine, rules: &[Rule], kind: Kind, text: &str) -> (u64, u64) {
    let docs: Vec<Value> = match kind {
        // A stream of values: NDJSON lines, or JSON elements (pretty-printed ones span lines).
        Kind::Json => serde_json::Deserializer::from_str(text)
            .into_iter::<Value>()
            .map(|v| v.unwrap_or(Value::Null))
            .collect(),
        Kind::Yaml => vec![serde_yaml::from_str(text).unwrap_or(Value::Null)],
    };
    let results: Vec<(u64, u64)> = docs
        .into_par_iter()
        .map(|d| one(engine, rules, d))
        .collect();
    results.iter().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}

fn one(engine: &Engine, rules: &[Rule], mut doc: Value) -> (u64, u64) {
    if doc.is_null() {
        return (0, 0);
    }
    let compact = serde_json::to_vec(&doc).unwrap_or_default();
    std::hint::black_box(Sha256::digest(&compact));
    let Some(promise) = promise(&mut doc) else {
        return (1, 0);
    };
    let mut scope = Scope::new();
    let mut p = Map::new();
    p.insert("name".into(), promise.into());
    scope.push_constant("promise", p);
    for field in ["spec", "metadata"] {
        let value = doc.get_mut(field).map(Value::take).unwrap_or(Value::Null);
        let value: Dynamic = rhai::serde::to_dynamic(value).unwrap_or(Dynamic::UNIT);
        scope.push_constant(field, value);
    }
    let before = DENIED.with(Cell::get);
    for rule in rules {
        let matched = rule
            .promises
            .as_ref()
            .is_none_or(|ps| ps.iter().any(|p| p == promise));
        if matched {
            let _ = engine.run_ast_with_scope(&mut scope, &rule.ast);
        }
    }
    (1, DENIED.with(Cell::get) - before)
}

/// The request's Promise (by apiVersion and kind, as the example Promises' CRDs say) with the
/// schema defaults the three rules read filled in.
fn promise(doc: &mut Value) -> Option<&'static str> {
    if doc["apiVersion"] != "platform.example.com/v1alpha1" {
        return None;
    }
    let (name, default) = match doc["kind"].as_str()? {
        "PostgreSQL" => ("postgresql", Value::Bool(true)),
        "Bucket" => ("bucket", Value::from("AES256")),
        "Redis" => ("redis", Value::Null),
        _ => return None,
    };
    if let Some(spec) = doc.get_mut("spec").and_then(Value::as_object_mut) {
        if !default.is_null() && !spec.contains_key("encryption") {
            spec.insert("encryption".into(), default);
        }
    }
    Some(name)
}

fn die(path: &Path, e: impl std::fmt::Display) -> ! {
    eprintln!("vow-floor: {}: {e}", path.display());
    std::process::exit(2);
}
