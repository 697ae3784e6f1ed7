//! The JSON Schemas shipped under schemas/ (docs/editors.md): they are what the code generates
//! now (`vow schemas --out schemas`), every YAML file of the example platform validates against
//! them with a real validator (the `jsonschema` crate), and they refuse the usual mistakes.

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

mod common;
use common::*;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const NAMES: [&str; 10] = [
    "fleet.json",
    "vow.json",
    "gate-input.json",
    "gate-output.json",
    "status.json",
    "policy.json",
    "rule.json",
    "waiver.json",
    "test.json",
    "rollout.json",
];

fn validator(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo().join("schemas").join(name)).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("schemas/{name}: {e}"))
}

fn problems(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// Every YAML document of a file, as JSON values (YAML 1.2: `2026-12-01` and `on` are strings).
fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .filter(|v| !v.is_null())
        .collect()
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_shipped_schemas_are_what_the_code_generates() {
    let out = tempfile::tempdir().unwrap();
    let (code, _, err) = vow(&["schemas", "--out", out.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let mut written: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut expected: Vec<String> = NAMES.iter().map(|n| n.to_string()).collect();
    expected.sort();
    assert_eq!(written, expected);
    for name in NAMES {
        let generated = std::fs::read_to_string(out.path().join(name)).unwrap();
        let shipped =
            std::fs::read_to_string(repo().join("schemas").join(name)).unwrap_or_default();
        assert!(
            generated == shipped,
            "schemas/{name} is not what the code generates now; regenerate the schemas with\n    \
             cargo run -- schemas --out schemas\nand commit them"
        );
    }
}

/// What was validated, by schema, so that a test that finds nothing fails.
#[derive(Default)]
struct Tally(BTreeMap<&'static str, usize>);

impl Tally {
    fn check(&mut self, schema: &'static str, v: &jsonschema::Validator, doc: &Value, what: &str) {
        let errors = problems(v, doc);
        assert!(
            errors.is_empty(),
            "{what} does not validate against schemas/{schema}: {errors:#?}"
        );
        *self.0.entry(schema).or_default() += 1;
    }
}

#[test]
fn every_yaml_file_of_the_example_platform_validates() {
    let config = validator("vow.json");
    let rule = validator("rule.json");
    let waiver = validator("waiver.json");
    let test = validator("test.json");
    let rollout = validator("rollout.json");
    let policy = validator("policy.json");
    let mut tally = Tally::default();
    // vow.yaml, and those of the planner cases (valid workspaces, with windows and freezes).
    let mut configs = vec![repo().join("vow.yaml")];
    configs.extend(
        yaml_files(&repo().join("tests/cases/planner"))
            .into_iter()
            .filter(|p| p.ends_with("vow.yaml")),
    );
    for path in &configs {
        for doc in documents(path) {
            tally.check("vow.json", &config, &doc, &path.display().to_string());
        }
    }
    // Rules, Waivers and Tests, beside the rules and beside the Promises.
    for dir in ["rules", "promises"] {
        for path in yaml_files(&repo().join(dir)) {
            for (i, doc) in documents(&path).into_iter().enumerate() {
                let what = format!("{} (document {})", path.display(), i + 1);
                if doc["kind"] != "Promise" {
                    tally.check("policy.json", &policy, &doc, &what);
                }
                match doc["kind"].as_str() {
                    Some("Rule") => tally.check("rule.json", &rule, &doc, &what),
                    Some("Waiver") => tally.check("waiver.json", &waiver, &doc, &what),
                    Some("Test") => tally.check("test.json", &test, &doc, &what),
                    Some("Promise") => {}
                    other => panic!("{what}: unexpected kind {other:?}"),
                }
            }
        }
    }
    // Every Promise's spec.rollout: the example's, and the revisions in its store.
    for dir in ["promises", "fixtures/example/state/.vow/revisions"] {
        for path in yaml_files(&repo().join(dir)) {
            for doc in documents(&path) {
                if let Some(r) = doc.pointer("/spec/rollout") {
                    let what = format!("{}: spec.rollout", path.display());
                    tally.check("rollout.json", &rollout, r, &what);
                }
            }
        }
    }
    assert_eq!(tally.0.get("vow.json"), Some(&configs.len()));
    for (schema, at_least) in [
        ("rule.json", 9),
        ("waiver.json", 2),
        ("test.json", 8),
        ("rollout.json", 6),
    ] {
        let n = tally.0.get(schema).copied().unwrap_or(0);
        assert!(
            n >= at_least,
            "only {n} documents checked against schemas/{schema}"
        );
    }
}

/// Real Kratix Promises (../shared/kratix-samples): any with a `spec.rollout` validates; none
/// of them has one today (it is vow's), so this only counts them.
#[test]
fn kratix_sample_promises_with_a_rollout_validate() {
    let samples = repo().join("../shared/kratix-samples");
    if !samples.is_dir() {
        assert!(
            std::env::var("CI").is_err(),
            "CI must have ../shared/kratix-samples beside the checkout"
        );
        eprintln!(
            "!!! ../shared/kratix-samples not found: the Kratix rollout check did not run !!!"
        );
        return;
    }
    let rollout = validator("rollout.json");
    let mut promises = 0;
    let mut rollouts = 0;
    for path in yaml_files(&samples) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if !text.contains("kind: Promise") {
            continue;
        }
        // Some samples are templates that are not YAML; those are not Promises to check.
        let docs: Vec<Value> = serde_yaml::Deserializer::from_str(&text)
            .map_while(|d| Value::deserialize(d).ok())
            .collect();
        for doc in docs.iter().filter(|d| d["kind"] == "Promise") {
            promises += 1;
            if let Some(r) = doc.pointer("/spec/rollout") {
                rollouts += 1;
                let errors = problems(&rollout, r);
                assert!(
                    errors.is_empty(),
                    "{}: spec.rollout: {errors:#?}",
                    path.display()
                );
            }
        }
    }
    assert!(promises > 0, "no Promise found in {}", samples.display());
    eprintln!("kratix samples: {promises} Promises, {rollouts} with a spec.rollout");
}

/// Mistakes the schemas refuse: (schema, the document in YAML, a word of the error).
const MISTAKES: &[(&str, &str, &str)] = &[
    ("vow.json", "promise: promises\n", "promise"),
    ("vow.json", "windows: {name: w}\n", "array"),
    ("vow.json", "store: {folder: a, git: {url: b}}\n", "anyOf"),
    ("vow.json", "store: {git: {url: b, brnach: main}}\n", "brnach"),
    ("vow.json", "freezes: [{name: f, from: 2026-12-21}]\n", "to"),
    ("vow.json", "resourceBindingVersionStrategy: sticky\n", "sticky"),
    (
        "rule.json",
        "apiVersion: vow.dev/v1alpha1\nkind: Rule\nmetadata: {name: r}\nspec: {severty: low, script: x}\n",
        "severty",
    ),
    (
        "rule.json",
        "apiVersion: vow.dev/v1alpha1\nkind: Rule\nmetadata: {name: r}\nspec: {severity: urgent, script: x}\n",
        "urgent",
    ),
    (
        "rule.json",
        "apiVersion: vow.dev/v1alpha1\nkind: Rule\nmetadata: {name: r}\nspec: {severity: low}\n",
        "oneOf",
    ),
    (
        "rule.json",
        "apiVersion: vow.dev/v1alpha1\nkind: Rule\nmetadata: {name: Bad_Name}\nspec: {script: x}\n",
        "Bad_Name",
    ),
    (
        "rule.json",
        "apiVersion: vow.dev/v1alpha1\nkind: Rule\nmetadata: {name: r}\nspec: {script: x, match: {promises: postgresql}}\n",
        "array",
    ),
    (
        "waiver.json",
        "apiVersion: vow.dev/v1alpha1\nkind: Waiver\nmetadata: {name: w}\nspec: {rule: r, reason: why, owner: me}\n",
        "expires",
    ),
    (
        "waiver.json",
        "apiVersion: vow.dev/v1alpha1\nkind: Waiver\nmetadata: {name: w}\nspec: {rule: r, reason: why, owner: me, expires: next week}\n",
        "next week",
    ),
    (
        "test.json",
        "apiVersion: vow.dev/v1alpha1\nkind: Test\nmetadata: {name: t}\nspec: {cases: [{name: c, expects: {}}]}\n",
        "expects",
    ),
    (
        "test.json",
        "apiVersion: vow.dev/v1alpha1\nkind: Test\nmetadata: {name: t}\nspec: {cases: [{name: c, expect: {blocked: yes}}]}\n",
        "boolean",
    ),
    (
        "policy.json",
        "apiVersion: vow.dev/v1alpha1\nkind: Rule\nmetadata: {name: r}\nspec: {severty: low, script: x}\n",
        "anyOf",
    ),
    (
        "policy.json",
        "apiVersion: vow.dev/v1alpha1\nkind: Policy\nmetadata: {name: r}\nspec: {}\n",
        "anyOf",
    ),
    (
        "test.json",
        "apiVersion: vow.dev/v1alpha1\nkind: Test\nmetadata: {name: t}\nspec: {cases: [{name: c, promise: p, spec: 15.8}]}\n",
        "object",
    ),
    ("rollout.json", "waves: [{name: dev, maxSize: true}]\n", "true"),
    ("rollout.json", "waves: [{selector: {matchLabels: {env: dev}}}]\n", "name"),
    ("rollout.json", "canary: {count: -1}\n", "-1"),
    (
        "rollout.json",
        "waves: [{name: prod, selector: {matchExpressions: [{key: env, operator: Equals}]}}]\n",
        "Equals",
    ),
];

#[test]
fn the_schemas_refuse_misspelt_keys_and_wrong_types() {
    let validators: BTreeMap<&str, jsonschema::Validator> =
        NAMES.iter().map(|n| (*n, validator(n))).collect();
    for (schema, yaml, word) in MISTAKES {
        let doc: Value = serde_yaml::from_str(yaml).unwrap();
        let errors = problems(&validators[schema], &doc);
        assert!(!errors.is_empty(), "schemas/{schema} accepts {yaml:?}");
        assert!(
            errors.iter().any(|e| e.contains(word)),
            "schemas/{schema} refuses {yaml:?}, but no error names `{word}`: {errors:#?}"
        );
    }
}

/// The YAML blocks of a Markdown file, with the line each starts at.
fn yaml_blocks(text: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let fence = line.trim_start();
        match current.as_mut() {
            None if fence == "```yaml" || fence == "```yml" => {
                current = Some((i + 2, String::new()))
            }
            Some(_) if fence == "```" => blocks.extend(current.take()),
            Some((_, block)) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// The YAML examples of the docs are true: each block that is a Rule, Waiver or Test, a
/// Promise's `spec.rollout`, or a piece of `vow.yaml` validates. A block of one-line
/// alternatives (`store: ...` several times) is read line by line.
#[test]
fn the_docs_yaml_examples_validate() {
    let config = validator("vow.json");
    let policy = validator("policy.json");
    let rollout = validator("rollout.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("schemas/vow.json")).unwrap())
            .unwrap();
    let config_keys: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
    let mut checked = 0;
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.push(repo().join("README.md"));
    docs.sort();
    for path in docs {
        let text = std::fs::read_to_string(&path).unwrap();
        for (line, block) in yaml_blocks(&text) {
            let block = unindent(&block);
            let lines: Vec<&str> = block
                .lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                .collect();
            let values: Vec<Value> = if lines.len() > 1 && lines.iter().all(|l| !l.starts_with(' '))
            {
                lines
                    .iter()
                    .map(|l| serde_yaml::from_str(l).unwrap())
                    .collect()
            } else {
                // Up to the first error: after one, the deserializer repeats it without end.
                serde_yaml::Deserializer::from_str(&block)
                    .map_while(|d| Value::deserialize(d).ok())
                    .collect()
            };
            for doc in values {
                let what = format!("{}:{line}", path.display());
                let kind = doc["kind"].as_str().unwrap_or("");
                let errors = if ["Rule", "Waiver", "Test"].contains(&kind) {
                    problems(&policy, &doc)
                } else if let Some(r) = doc.pointer("/spec/rollout") {
                    problems(&rollout, r)
                } else if doc
                    .as_object()
                    .is_some_and(|m| !m.is_empty() && m.keys().all(|k| config_keys.contains(&k)))
                {
                    problems(&config, &doc)
                } else {
                    continue;
                };
                assert!(
                    errors.is_empty(),
                    "the example at {what} does not validate: {errors:#?}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} examples checked");
}

/// A block taken from inside a list item, moved to column 0.
fn unindent(block: &str) -> String {
    let indent = block
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    block
        .lines()
        .map(|l| l.get(indent..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}
