//! Fuzzing on the stable toolchain: proptest over random inputs and mutated real files, for the
//! readers of untrusted input (the YAML/JSON/NDJSON loaders, Promises and their schemas, schema
//! validation and defaulting, plan files, bindings, journals).
//!
//! Every target asserts that nothing panics and, where it can tell, that invalid input comes back
//! as a finding or an error rather than silence. The normal test run is short (a few hundred
//! cases a target, seconds); `VOW_FUZZ_CASES=N` runs N cases a target and keeps going past a
//! failure, saving each failing input under `target/fuzz-findings/` (docs/fuzzing.md):
//!
//! `VOW_FUZZ_CASES=2000000 cargo test --release --test fuzz -- --nocapture`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::exit,
    reason = "a test (or the bench fleet generator) fails loudly; the library may not"
)]

#[path = "fuzz/mutate.rs"]
mod mutate;

use mutate::{input, NUMBERS};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::Value;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;
use vow::apply::journal;
use vow::schema::{self, Schema};

/// A failure whose message starts with this is a known one, reported to its owner: it is
/// counted and its first input kept, but it does not fail the run (docs/fuzzing.md).
const KNOWN: &str = "known";
/// The loader splits YAML documents at `\n` and a lone CR (src/load/mod.rs): a comment line ended
/// by NEL, U+2028 or U+2029 (line breaks to YAML 1.1's parser) hides the rest of the document.
const KNOWN_LINE_BREAKS: &str = "known (line breaks other than LF)";

/// Cases a target runs in the normal test suite.
const SHORT: u32 = 400;
/// Failing inputs a long run keeps (the first ones; the count is always reported).
const KEPT: usize = 20;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The cases of a long run: `VOW_FUZZ_CASES_<TARGET>` (`VOW_FUZZ_CASES_LOADERS`), else
/// `VOW_FUZZ_CASES`; none in the normal test run.
fn long_run(target: &str) -> Option<u32> {
    let own = format!("VOW_FUZZ_CASES_{}", target.to_uppercase());
    std::env::var(own)
        .or_else(|_| std::env::var("VOW_FUZZ_CASES"))
        .ok()?
        .parse()
        .ok()
}

/// A long run's time limit a target (`VOW_FUZZ_SECONDS`): past it, the remaining cases are
/// skipped, and only the cases run are counted.
fn seconds(target: &str) -> Option<u64> {
    let own = format!("VOW_FUZZ_SECONDS_{}", target.to_uppercase());
    std::env::var(own)
        .or_else(|_| std::env::var("VOW_FUZZ_SECONDS"))
        .ok()?
        .parse()
        .ok()
}

/// A fixed seed by default, so that the short run is the same on every machine.
fn rng(target: &str) -> TestRng {
    let base: u64 = std::env::var("VOW_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(13);
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&base.to_le_bytes());
    for (i, b) in target.bytes().enumerate() {
        seed[8 + i % 24] ^= b;
    }
    TestRng::from_seed(RngAlgorithm::ChaCha, &seed)
}

/// Runs `body` over `strategy`. In the short run a failure (a panic or an `Err`) fails the test
/// with proptest's shrunk input; in a long run it is saved and counted, and the run goes on.
fn fuzz<S>(target: &str, strategy: S, body: impl Fn(&S::Value) -> Result<(), String>)
where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let long = long_run(target);
    let config = Config {
        cases: long.unwrap_or(SHORT),
        failure_persistence: None,
        max_shrink_iters: 4000,
        ..Config::default()
    };
    let executions = AtomicU64::new(0);
    let known = AtomicU64::new(0);
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let started = Instant::now();
    let budget = seconds(target);
    let mut runner = TestRunner::new_with_rng(config, rng(target));
    let result = runner.run(&strategy, |value| {
        if budget.is_some_and(|b| started.elapsed().as_secs() >= b) {
            return Ok(());
        }
        executions.fetch_add(1, Ordering::Relaxed);
        let outcome = catch_unwind(AssertUnwindSafe(|| body(&value)))
            .unwrap_or_else(|p| Err(format!("panic: {}", panic_text(&p))));
        match outcome {
            Ok(()) => Ok(()),
            Err(msg) if msg.starts_with(KNOWN) => {
                known.fetch_add(1, Ordering::Relaxed);
                if known.load(Ordering::Relaxed) == 1 {
                    save(&format!("{target}-known"), &msg, &value);
                }
                Ok(())
            }
            Err(msg) if long.is_some() => {
                keep(target, &failures, &msg, &value);
                Ok(())
            }
            Err(msg) => Err(TestCaseError::fail(msg)),
        }
    });
    let secs = started.elapsed().as_secs_f64();
    let n = executions.load(Ordering::Relaxed);
    let failures = failures.into_inner().unwrap();
    eprintln!(
        "fuzz {target}: {n} executions in {secs:.1} s ({:.0}/s), {} failing, {} known",
        n as f64 / secs.max(1e-9),
        failures.len(),
        known.load(Ordering::Relaxed)
    );
    if let Err(e) = result {
        panic!("fuzz {target}: {e}");
    }
    assert!(failures.is_empty(), "fuzz {target}: {failures:#?}");
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

fn keep<V: std::fmt::Debug>(target: &str, failures: &Mutex<Vec<String>>, msg: &str, v: &V) {
    let mut f = failures.lock().unwrap();
    if f.len() < KEPT {
        let path = save(&format!("{target}-{}", f.len()), msg, v);
        f.push(format!("{msg} (input in {})", path.display()));
    } else {
        f.push(msg.chars().take(200).collect());
    }
}

/// Writes a failing input under `target/fuzz-findings/`.
fn save<V: std::fmt::Debug>(name: &str, msg: &str, v: &V) -> PathBuf {
    let dir = repo().join("target/fuzz-findings");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{name}.txt"));
    let _ = std::fs::write(&path, format!("{msg}\n\n{v:#?}\n"));
    path
}

/// The input's bytes as a short, printable excerpt for a failure message.
fn shown(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    format!("{:?}", s.chars().take(600).collect::<String>())
}

fn files_under(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|x| exts.iter().any(|e| x == *e)))
        .collect();
    out.sort();
    out
}

/// The real Kratix samples, when the shared folder is there.
fn kratix_samples() -> Vec<PathBuf> {
    files_under(&repo().join("../shared/kratix-samples"), &["yaml", "yml"])
}

fn read_all(paths: &[PathBuf]) -> Vec<Vec<u8>> {
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

// ---------------------------------------------------------------------------------------------
// The loaders: YAML (split into documents), JSON, NDJSON, `List` expansion.

fn loader_seeds() -> Vec<PathBuf> {
    let r = repo();
    let mut seeds = files_under(
        &r.join("fixtures/example/requests"),
        &["yaml", "json", "ndjson"],
    );
    seeds.extend(files_under(&r.join("promises"), &["yaml"]));
    seeds.extend(files_under(&r.join("tests/bad-inputs/_base"), &["yaml"]));
    seeds.extend(kratix_samples());
    seeds
}

const EXTS: &[&str] = &["yaml", "json", "ndjson"];

#[test]
fn loaders() {
    let paths = loader_seeds();
    let seeds = read_all(&paths);
    let dir = tempfile::tempdir().unwrap();
    let strategy = (input(seeds.len()), 0usize..6);
    fuzz("loaders", strategy, |(inp, ext)| {
        // Half the cases keep the seed's own format, the others read it as another.
        let own = inp.seed().and_then(|s| paths[s].extension()?.to_str());
        let ext = EXTS.get(*ext).copied().or(own).unwrap_or("yaml");
        let bytes = inp.bytes(&seeds);
        let path = dir.path().join(format!("in.{ext}"));
        std::fs::write(&path, &bytes).unwrap();
        let (docs, findings) = vow::source::read_documents(dir.path(), std::slice::from_ref(&path));
        // YAML also breaks lines at a lone CR, NEL, U+2028 and U+2029: count them all, as an upper bound.
        let lines = bytes.iter().filter(|&&b| b == b'\n' || b == b'\r').count()
            + String::from_utf8_lossy(&bytes)
                .matches(['\u{85}', '\u{2028}', '\u{2029}'])
                .count();
        let lines = lines as u32 + 2;
        for f in &findings {
            let line = f.location.as_ref().map_or(1, |l| l.line);
            if line == 0 || line > lines {
                return Err(format!("finding at line {line} of {lines}: {}", f.message));
            }
        }
        for d in &docs {
            if d.location.line == 0 || d.location.line > lines {
                return Err(format!("document at line {} of {lines}", d.location.line));
            }
        }
        if findings.is_empty() {
            if let Some(why) = invalid(ext, &bytes) {
                // A known failure's message starts with its name (see `fuzz`).
                let (known, why) = why
                    .split_once(": ")
                    .filter(|_| why.starts_with(KNOWN))
                    .map_or(("", why.as_str()), |(k, w)| (k, w));
                let known = if known.is_empty() {
                    String::new()
                } else {
                    format!("{known}: ")
                };
                return Err(format!(
                    "{known}silence on invalid input ({why}): {}",
                    shown(&bytes)
                ));
            }
        }
        Ok(())
    });
}

/// Why these bytes are not a valid input file of this format, when an independent reading can
/// tell (YAML only when the file is one document without merge keys, as the loader splits it).
fn invalid(ext: &str, bytes: &[u8]) -> Option<String> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Some("not UTF-8".into());
    };
    match ext {
        "json" => serde_json::from_str::<Value>(text)
            .err()
            .map(|e| e.to_string()),
        "ndjson" => text.lines().filter(|l| !l.trim().is_empty()).find_map(|l| {
            serde_json::from_str::<Value>(l)
                .err()
                .map(|e| e.to_string())
        }),
        _ => {
            let markers = text.lines().any(|l| {
                l.starts_with("---") || l.starts_with("...") || l.trim_start().starts_with('%')
            });
            // A file of comments has no document: the loader rightly reads nothing from it,
            // even when the parser would refuse a control character in a comment.
            let content = text
                .lines()
                .any(|l| !l.trim().is_empty() && !l.trim().starts_with('#'));
            if markers || !content || text.contains("<<") {
                return None;
            }
            let err = serde_yaml::from_str::<Value>(text).err()?;
            // The YAML parser also breaks lines at a lone CR, NEL, U+2028 and U+2029, which the
            // loader's document splitter does not: text after a `#` on such a line is dropped.
            let breaks = ['\u{85}', '\u{2028}', '\u{2029}'];
            if text.contains(breaks) {
                return Some(format!("{KNOWN_LINE_BREAKS}: {err}"));
            }
            Some(err.to_string())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Promises: parsing, schema compilation, then defaulting and validation of real requests.

/// The request bodies (all but apiVersion, kind, metadata) of the example fleet.
fn request_bodies() -> Vec<Value> {
    let r = repo();
    let files = files_under(
        &r.join("fixtures/example/requests"),
        &["yaml", "json", "ndjson"],
    );
    let (docs, _) = vow::source::read_documents(&r, &files);
    docs.into_iter()
        .filter_map(|d| {
            let mut m = d.value.as_object()?.clone();
            for k in ["apiVersion", "kind", "metadata", "status"] {
                m.remove(k);
            }
            Some(Value::Object(m))
        })
        .collect()
}

#[test]
fn promises() {
    let r = repo();
    let mut paths = files_under(&r.join("promises"), &["yaml"]);
    paths.push(r.join("tests/bad-inputs/_base/promises/app/promise.yaml"));
    paths.extend(
        kratix_samples()
            .into_iter()
            .filter(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains("kind: Promise"))),
    );
    let seeds = read_all(&paths);
    // Each seed is read in a copy of its folder, so that its `file:` steps are found.
    let work = tempfile::tempdir().unwrap();
    let dirs: Vec<PathBuf> = paths
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let d = work.path().join(i.to_string());
            std::fs::create_dir_all(&d).unwrap();
            for f in files_under(p.parent().unwrap(), &["rhai"]) {
                std::fs::copy(&f, d.join(f.file_name().unwrap())).unwrap();
            }
            d
        })
        .collect();
    let bodies = request_bodies();
    fuzz("promises", input(seeds.len()), |inp| {
        let dir = &dirs[inp.seed().unwrap_or(0)];
        let path = dir.join("promise.yaml");
        std::fs::write(&path, inp.bytes(&seeds)).unwrap();
        let (docs, _) = vow::source::read_documents(work.path(), &[path]);
        for doc in docs.iter().filter(|d| d.kind() == "Promise") {
            let Ok((promise, _)) = vow::load::promise::parse(work.path(), doc) else {
                continue;
            };
            if let Some(s) = promise.api.as_ref().and_then(|a| a.schema.as_ref()) {
                for body in &bodies {
                    defaults_are_stable(s, body)?;
                }
            }
        }
        Ok(())
    });
}

/// Defaulting and validating `value` gives a value that defaulting leaves as it is.
fn defaults_are_stable(s: &Schema, value: &Value) -> Result<(), String> {
    let mut once = value.clone();
    schema::default_and_validate(s, &mut once, "");
    let mut twice = once.clone();
    schema::apply_defaults(s, &mut twice);
    if once != twice {
        return Err(format!("defaulting is not stable: {once} then {twice}"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Schemas: random schemas (from the keywords) against random values, in memory.

const KEYS: &[&str] = &[
    "type",
    "properties",
    "required",
    "items",
    "default",
    "enum",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "nullable",
    "additionalProperties",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-int-or-string",
    "oneOf",
    "anyOf",
    "allOf",
    "not",
    "format",
    "minItems",
    "maxItems",
    "uniqueItems",
    "multipleOf",
    "minProperties",
    "maxProperties",
    "description",
    "spec",
    "replicas",
    "image",
    "name",
    "a",
    "b",
];

const WORDS: &[&str] = &[
    "object",
    "array",
    "string",
    "integer",
    "number",
    "boolean",
    "null",
    "^[a-z]+$",
    "(",
    "a*",
    "",
    "spec",
    "replicas",
    "a",
    "b",
    "date-time",
    "\u{0}",
    "é",
];

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        select(NUMBERS).prop_map(|n| serde_json::from_str(n).unwrap_or(Value::Null)),
        select(WORDS).prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 80, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(select(KEYS), inner, 0..6).prop_map(|m| {
                Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

#[test]
fn schemas() {
    fuzz("schemas", (json(), json()), |(schema_value, value)| {
        let mut notes = Vec::new();
        let s = Schema::compile(schema_value, "", &mut notes);
        let ty = schema_value.get("type");
        let known = ty.and_then(Value::as_str).is_some_and(|t| {
            ["object", "array", "string", "integer", "number", "boolean"].contains(&t)
        });
        if ty.is_some() && !known && !notes.iter().any(|n| n.2) {
            return Err(format!("type {ty:?} compiled without an error note"));
        }
        defaults_are_stable(&s, value)?;
        let mut v = value.clone();
        let violations = schema::default_and_validate(&s, &mut v, "");
        let plain_object = ty == Some(&Value::from("object")) && notes.is_empty();
        let wrong = matches!(value, Value::String(_) | Value::Bool(_) | Value::Array(_));
        if plain_object && wrong && !violations.iter().any(|x| x.error) {
            return Err(format!("{value} passed a schema of type object"));
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// Plan files: a real plan, mutated, with its id left as it was or recomputed.

/// A plan of the catalogue's base workspace, made by the real binary.
fn made_plan(dir: &Path) -> Vec<u8> {
    let ws = dir.join("ws");
    copy_tree(&repo().join("tests/bad-inputs/_base"), &ws);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vow"))
        .args([
            "-C",
            ws.to_str().unwrap(),
            "plan",
            "--format",
            "json",
            "--out",
            "plan.json",
        ])
        .args(["--now", "2026-12-01T10:00:00Z"])
        .current_dir(&ws)
        .output()
        .unwrap();
    let plan = std::fs::read(ws.join("plan.json"));
    assert!(
        plan.is_ok(),
        "vow plan: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    plan.unwrap()
}

fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from)
        .into_iter()
        .filter_map(Result::ok)
    {
        let target = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Sets the plan's id to the digest of its content, as someone editing a plan would.
fn recompute_id(bytes: &[u8]) -> Vec<u8> {
    const KEY: &str = "\"planId\": \"";
    let Ok(text) = std::str::from_utf8(bytes) else {
        return bytes.to_vec();
    };
    let Some(at) = text.find(KEY).map(|a| a + KEY.len()) else {
        return bytes.to_vec();
    };
    let end = text[at..].find('"').map_or(text.len(), |n| at + n);
    let id = vow::plan::content_id(text);
    format!("{}{id}{}", &text[..at], &text[end..]).into_bytes()
}

#[test]
fn plan_files() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = vec![made_plan(dir.path())];
    let path = dir.path().join("plan.json");
    fuzz("plan_files", (input(1), any::<bool>()), |(inp, fix)| {
        let mut bytes = inp.bytes(&seeds);
        if *fix {
            bytes = recompute_id(&bytes);
        }
        std::fs::write(&path, &bytes).unwrap();
        let read = vow::plan::read_verified(&path);
        if let Ok(plan) = &read {
            let _ = plan.run_id();
            if !*fix && bytes != seeds[0] {
                return Err(format!("an edited plan was read: {}", shown(&bytes)));
            }
        }
        if read.is_ok() && serde_json::from_slice::<Value>(&bytes).is_err() {
            return Err(format!(
                "a plan that is not JSON was read: {}",
                shown(&bytes)
            ));
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// Bindings: a store folder with one mutated binding beside a good one.

#[test]
fn bindings() {
    let r = repo();
    let paths = files_under(&r.join("fixtures/example/state/.vow/bindings"), &["yaml"]);
    let seeds = read_all(&paths);
    let ws = tempfile::tempdir().unwrap();
    let store = ws.path().join("state");
    let good = store.join(".vow/bindings/zz-good/team/good.yaml");
    std::fs::create_dir_all(good.parent().unwrap()).unwrap();
    std::fs::copy(&paths[0], &good).unwrap();
    let bad = store.join(".vow/bindings/aa-fuzz/team/bad.yaml");
    std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
    let good_binding: vow::store::Binding = serde_yaml::from_slice(&seeds[0]).unwrap();
    fuzz("bindings", input(seeds.len()), |inp| {
        let bytes = inp.bytes(&seeds);
        std::fs::write(&bad, &bytes).unwrap();
        let state = vow::store::read(&store, ws.path());
        if !state.applied.contains_key(&good_binding.instance()) {
            return Err("the good binding beside a bad one was not read".into());
        }
        let parses = std::str::from_utf8(&bytes)
            .is_ok_and(|t| serde_yaml::from_str::<vow::store::Binding>(t).is_ok());
        if !parses && state.findings.is_empty() {
            return Err(format!("silence on a damaged binding: {}", shown(&bytes)));
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// Journals: a run's record, mutated; read as `vow apply` and `vow status` read them.

fn journal_seeds() -> Vec<Vec<u8>> {
    let done: journal::Journal = serde_yaml::from_str(
        "planId: sha256:3f1c9e2b7a5d4c6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6\n\
         kind: apply\nstarted: 2026-12-01T10:00:00Z\nstatus: running\n\
         waves:\n- index: 0\n  name: canary\n  appliedAt: 2026-12-01T10:00:05Z\n  \
         instances: [app:team-a/web]\n  gate: passed\n\
         - index: 1\n  name: all\n  appliedAt: 2026-12-01T11:00:00Z\n  \
         instances: [app:team-b/api, app:team-c/db]\n  gate: failed\n  failed: [app:team-c/db]\n\
         storeDigest: sha256:00aa\nreason: the gate of wave all failed\n",
    )
    .unwrap();
    let rollback = journal::Journal {
        kind: "rollback".into(),
        rollback_of: Some("3f1c9e2b7a5d".into()),
        status: journal::RunStatus::Done,
        reason: None,
        ..done.clone()
    };
    vec![done.to_yaml().into_bytes(), rollback.to_yaml().into_bytes()]
}

#[test]
fn journals() {
    let seeds = journal_seeds();
    let store = tempfile::tempdir().unwrap();
    let run = "3f1c9e2b7a5d";
    let path = store.path().join(journal::path(run));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    fuzz("journals", input(seeds.len()), |inp| {
        let bytes = inp.bytes(&seeds);
        std::fs::write(&path, &bytes).unwrap();
        let read = journal::read(store.path(), run);
        let parses = std::str::from_utf8(&bytes)
            .is_ok_and(|t| serde_yaml::from_str::<journal::Journal>(t).is_ok());
        if !parses && read.is_ok() {
            return Err(format!("silence on a damaged journal: {}", shown(&bytes)));
        }
        // `vow status` and `vow rollback` name each run by the short form of its plan id.
        // The run id `status` and `rollback` derive: any planId gives one, without a panic.
        for j in journal::all(store.path()) {
            let _ = vow::plan::run_id(&j.plan_id);
        }
        Ok(())
    });
}
