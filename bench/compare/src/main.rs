//! regorus-count: the regorus side of bench/compare.sh.
//!
//!     regorus-count [-j THREADS] [--query data.vowbench.violations] POLICY.rego DIR
//!
//! Reads every request file under DIR (recursively: `.yaml`/`.yml` multi-document YAML, `.json`
//! an object, an array or a Kubernetes `List`, `.ndjson`/`.jsonl` one document a line: the files
//! vow reads), parses every document, and evaluates the policy once per document with that
//! document as `input` (as conftest does), with one compiled engine cloned into each worker
//! thread. The query must give a set (or an array) of violations, or be undefined for none.
//! Prints one line: `documents=<n> violations=<n>`, the total size of those sets.

use anyhow::{bail, Context, Result};
use regorus::{Engine, Value};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Clone, Copy, Default)]
struct Counts {
    documents: u64,
    violations: u64,
}

impl Counts {
    fn add(&mut self, o: Counts) {
        self.documents += o.documents;
        self.violations += o.violations;
    }
}

#[derive(Clone, Copy)]
enum Format {
    Yaml,
    Json,
    NdJson,
}

fn format_of(path: &Path) -> Option<Format> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("yaml" | "yml") => Some(Format::Yaml),
        Some("json") => Some(Format::Json),
        Some("ndjson" | "jsonl") => Some(Format::NdJson),
        _ => None,
    }
}

fn list_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            list_files(&path, out)?;
        } else if format_of(&path).is_some() {
            out.push(path);
        }
    }
    Ok(())
}

/// A parsed value as documents, as vow expands them: `null` (an empty document) gives nothing,
/// a JSON array or a Kubernetes `List` gives its items.
fn expand(value: Value, out: &mut Vec<Value>) {
    match &value {
        Value::Null => {}
        Value::Array(items) => out.extend(items.iter().cloned()),
        Value::Object(_) if value["kind"] == Value::from("List") => match &value["items"] {
            Value::Array(items) => out.extend(items.iter().cloned()),
            _ => out.push(value),
        },
        _ => out.push(value),
    }
}

fn read_documents(path: &Path) -> Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut docs = Vec::new();
    match format_of(path).unwrap_or(Format::Yaml) {
        Format::Yaml => {
            for de in serde_yaml::Deserializer::from_str(&text) {
                let v = Value::deserialize(de)
                    .with_context(|| format!("parsing a document of {}", path.display()))?;
                expand(v, &mut docs);
            }
        }
        Format::Json => expand(
            Value::from_json_str(&text).with_context(|| format!("parsing {}", path.display()))?,
            &mut docs,
        ),
        Format::NdJson => {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                expand(
                    Value::from_json_str(line)
                        .with_context(|| format!("parsing a line of {}", path.display()))?,
                    &mut docs,
                );
            }
        }
    }
    Ok(docs)
}

/// One worker: takes files from the shared queue until it is empty.
fn work(mut engine: Engine, query: &str, files: &[PathBuf], next: &AtomicUsize) -> Result<Counts> {
    let mut c = Counts::default();
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(path) = files.get(i) else {
            return Ok(c);
        };
        for doc in read_documents(path)? {
            engine.set_input(doc);
            let r = engine.eval_rule(query.to_string()).with_context(|| {
                format!("evaluating {query} on a document of {}", path.display())
            })?;
            c.documents += 1;
            c.violations += match &r {
                Value::Undefined => 0,
                Value::Set(s) => s.len() as u64,
                Value::Array(a) => a.len() as u64,
                other => bail!("{query} is not a set: {other}"),
            };
        }
    }
}

fn main() -> Result<()> {
    let mut threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut query = "data.vowbench.violations".to_string();
    let mut positional = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-j" => threads = args.next().context("-j N")?.parse().context("-j N")?,
            "--query" => query = args.next().context("--query RULE")?,
            _ => positional.push(a),
        }
    }
    let [policy, dir] = &positional[..] else {
        bail!("usage: regorus-count [-j THREADS] [--query RULE] POLICY.rego DIR");
    };
    let mut engine = Engine::new();
    engine.add_policy_from_file(policy)?;
    let mut files = Vec::new();
    list_files(Path::new(dir), &mut files)?;
    files.sort();
    // Compile once (an evaluation prepares the engine); the workers clone the prepared engine.
    engine.set_input(Value::new_object());
    engine.eval_rule(query.clone())?;
    let next = AtomicUsize::new(0);
    let threads = threads.clamp(1, files.len().max(1));
    let mut total = Counts::default();
    std::thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let engine = engine.clone();
                let (query, files, next) = (&query, &files, &next);
                s.spawn(move || work(engine, query, files, next))
            })
            .collect();
        for h in handles {
            total.add(h.join().expect("a worker panicked")?);
        }
        Ok(())
    })?;
    println!(
        "documents={} violations={}",
        total.documents, total.violations
    );
    Ok(())
}
