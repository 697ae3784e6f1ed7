//! Promises: Kratix's format read as Kratix reads it, plus vow's Rhai steps and rollout.
//!
//! A Promise that cannot be used (a step that does not compile, a missing script file) is still
//! loaded, with its problems in `broken`, so that its requests are reported as blocked with the
//! reason rather than vanishing.

use crate::config::RolloutSpec;
use crate::diag::{self, Finding, Location};
use crate::model::{Api, Pipeline, Promise, RequiredPromise, Rollout, Selector, Step};
use crate::schema::Schema;
use crate::source::names;
use crate::source::{locate, Doc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;

/// The variables a workflow step finds in its scope.
pub const STEP_SCOPE: &[&str] = &[
    "request", "spec", "metadata", "promise", "previous", "outputs",
];

/// The label Kratix keeps a Promise's version in.
pub const VERSION_LABEL: &str = "kratix.io/promise-version";

/// Builds a Promise from its document. `root` is the workspace root, against which `doc`'s file
/// is relative. Returns the Promise and the notes and problems found (also kept in `broken`
/// when they make the Promise unusable).
pub fn parse(root: &Path, doc: &Doc) -> Result<(Promise, Vec<Finding>), Finding> {
    let v = &doc.value;
    let name = match v.pointer("/metadata/name") {
        Some(Value::String(name)) => name.as_str(),
        None | Some(Value::Null) => {
            return Err(
                Finding::new(diag::MISSING_FIELD, "a Promise without metadata.name")
                    .at(doc.location.clone())
                    .help("give the Promise a name"),
            )
        }
        Some(other) => {
            return Err(Finding::new(
                diag::WRONG_TYPE,
                format!(
                    "a Promise's metadata.name must be a string, not {}",
                    crate::schema::show(other)
                ),
            )
            .at(doc.field_location(root, "metadata.name"))
            .help("quote the name"))
        }
    };
    let file_path = root.join(&*doc.location.file);
    let dir = file_path.parent().unwrap_or(root).to_path_buf();
    let mut p = PromiseBuilder {
        root,
        doc,
        name,
        dir: &dir,
        findings: Vec::new(),
        broken: Vec::new(),
        script_texts: Vec::new(),
    };
    p.check_name();
    p.check_string_maps();
    let version = p.version();
    let api = p.api();
    let destination_selectors = p.de_list::<Selector>("spec.destinationSelectors");
    let required_promises = p.de_list::<RequiredPromise>("spec.requiredPromises");
    let configure = p.pipelines("spec.workflows.resource.configure");
    let delete = p.pipelines("spec.workflows.resource.delete");
    let promise_configure = p.pipelines("spec.workflows.promise.configure");
    let promise_delete = p.pipelines("spec.workflows.promise.delete");
    let rollout = p.rollout();
    let paused = str_at(v, "/metadata/labels/kratix.io~1paused") == Some("true")
        || str_at(v, "/metadata/annotations/kratix.io~1paused") == Some("true");
    let digest = p.digest();
    let location = doc.location.clone();
    let PromiseBuilder {
        findings, broken, ..
    } = p;
    let promise = Promise {
        name: name.to_string(),
        version,
        location,
        dir,
        api,
        destination_selectors,
        required_promises,
        configure,
        delete,
        promise_configure,
        promise_delete,
        rollout,
        paused,
        digest,
        broken,
    };
    Ok((promise, findings))
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// Turns `spec.workflows.resource.configure` into a JSON pointer.
fn pointer(field: &str) -> String {
    let mut out = String::new();
    for seg in locate::parse_path(field) {
        out.push('/');
        match seg {
            locate::Seg::Key(k) => out.push_str(&k.replace('~', "~0").replace('/', "~1")),
            locate::Seg::Index(i) => out.push_str(&i.to_string()),
        }
    }
    out
}

struct PromiseBuilder<'a> {
    root: &'a Path,
    doc: &'a Doc,
    name: &'a str,
    dir: &'a Path,
    findings: Vec<Finding>,
    broken: Vec<Finding>,
    script_texts: Vec<String>,
}

impl PromiseBuilder<'_> {
    fn at(&self, field: &str) -> Location {
        self.doc.field_location(self.root, field)
    }

    fn problem(&mut self, f: Finding) {
        if f.blocking {
            self.broken.push(f.clone());
        }
        self.findings.push(f);
    }

    fn invalid(&mut self, field: &str, msg: String) {
        let f = Finding::new(
            diag::INVALID_PROMISE,
            format!("Promise {}: {field}: {msg}", self.name),
        )
        .at(self.at(field))
        .field(field);
        self.problem(f);
    }

    /// A Promise's name is a Kubernetes object name: a DNS-1123 subdomain.
    fn check_name(&mut self) {
        if let Err(rule) = names::subdomain(self.name) {
            let f = Finding::new(
                diag::INVALID_NAME,
                format!("Promise `{}`: metadata.name: {rule}", self.name),
            )
            .at(self.at("metadata.name"))
            .field("metadata.name")
            .help("rename the Promise, e.g. `my-service`");
            self.problem(f);
        }
    }

    /// Label and annotation values are strings: an unquoted `kratix.io/paused: true` is a
    /// boolean, which would otherwise read as "not paused".
    fn check_string_maps(&mut self) {
        for which in ["labels", "annotations"] {
            let Some(Value::Object(m)) = self.doc.value.pointer(&format!("/metadata/{which}"))
            else {
                continue;
            };
            let wrong: Vec<(String, String)> = m
                .iter()
                .filter(|(_, v)| !v.is_string())
                .map(|(k, v)| (k.clone(), crate::schema::show(v)))
                .collect();
            for (k, shown) in wrong {
                if k == VERSION_LABEL {
                    continue; // reported by `version`, with its own advice
                }
                let field = format!("metadata.{which}[{k:?}]");
                let f = Finding::new(
                    diag::WRONG_TYPE,
                    format!(
                        "Promise {}: metadata.{which}.{k} must be a string, not {shown}",
                        self.name
                    ),
                )
                .at(self.at(&field))
                .field(field)
                .help(format!("quote the value: {k}: \"{shown}\""));
                self.problem(f);
            }
        }
    }

    /// The `kratix.io/promise-version` label, which must be a label value: it names a store
    /// folder of revisions.
    fn version(&mut self) -> String {
        let field = "metadata.labels[\"kratix.io/promise-version\"]";
        let raw = self
            .doc
            .value
            .pointer("/metadata/labels/kratix.io~1promise-version");
        let problem = match raw {
            None | Some(Value::Null) => return "unversioned".into(),
            Some(Value::String(v)) => match names::label_value(v) {
                Ok(()) => return v.clone(),
                Err(rule) => (diag::INVALID_VERSION_LABEL, format!("`{v}`: {rule}")),
            },
            Some(other) => (
                diag::WRONG_TYPE,
                format!(
                    "{} is not a string (a number such as 1.10 reads as 1.1)",
                    crate::schema::show(other)
                ),
            ),
        };
        let f = Finding::new(
            problem.0,
            format!("Promise {}: {VERSION_LABEL}: {}", self.name, problem.1),
        )
        .at(self.at(field))
        .field(field)
        .help("use a version such as `v1.2.0`, quoted");
        self.problem(f);
        "invalid".into()
    }

    /// A pipeline's or step's name is a DNS-1123 label, as a Kubernetes container's is.
    fn check_label_name(&mut self, what: &str, name: &str, field: &str) {
        if let Err(rule) = names::label(name) {
            let rule = rule.replace("a namespace", "a name");
            let f = Finding::new(
                diag::INVALID_NAME,
                format!("Promise {}: {what} `{name}`: {rule}", self.name),
            )
            .at(self.at(field))
            .field(field)
            .help(format!("rename the {what}, e.g. `render`"));
            self.problem(f);
        }
    }

    fn de_list<T: serde::de::DeserializeOwned>(&mut self, field: &str) -> Vec<T> {
        match self.doc.value.pointer(&pointer(field)) {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => match serde_json::from_value::<Vec<T>>(v.clone()) {
                Ok(list) => list,
                Err(e) => {
                    self.invalid(field, e.to_string());
                    Vec::new()
                }
            },
        }
    }

    fn rollout(&mut self) -> Option<Rollout> {
        let v = self.doc.value.pointer("/spec/rollout")?;
        match serde_json::from_value::<RolloutSpec>(v.clone()) {
            Ok(spec) => {
                let (r, problems) = spec.compile();
                for (field, msg) in problems {
                    let field = format!("spec.rollout.{field}");
                    let f = Finding::new(
                        diag::INVALID_ROLLOUT,
                        format!("Promise {}: {field}: {msg}", self.name),
                    )
                    .at(self.at(&field))
                    .help(if field == "spec.rollout.from" {
                        "from takes versions ([v1.1.0, v1.1.1]), a semver range ({semver: \">=1.1, <1.2\"}) or a regex ({regex: \"v1\\\\.1\\\\..*\"})"
                    } else {
                        "durations are like 30m, 4h or 1d; budgets and sizes are counts or percentages like 25%"
                    })
                    .field(field);
                    self.problem(f);
                }
                Some(r)
            }
            Err(e) => {
                self.invalid("spec.rollout", e.to_string());
                None
            }
        }
    }

    fn api(&mut self) -> Option<Api> {
        let crd = self.doc.value.pointer("/spec/api")?;
        if crd.as_object().is_none_or(|m| m.is_empty()) {
            return None;
        }
        let group = str_at(crd, "/spec/group").unwrap_or("").to_string();
        let kind = str_at(crd, "/spec/names/kind").unwrap_or("").to_string();
        if group.is_empty() || kind.is_empty() {
            self.invalid(
                "spec.api.spec",
                "the CRD needs spec.group and spec.names.kind".into(),
            );
            return None;
        }
        let versions = crd
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let served: Vec<String> = versions
            .iter()
            .filter(|v| v.get("served").and_then(Value::as_bool) != Some(false))
            .filter_map(|v| v.get("name").and_then(Value::as_str).map(String::from))
            .collect();
        let storage_index = versions
            .iter()
            .position(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
            .or(if versions.len() == 1 { Some(0) } else { None });
        let Some(si) = storage_index else {
            self.invalid(
                "spec.api.spec.versions",
                "no version is marked `storage: true`".into(),
            );
            return None;
        };
        let storage = versions.get(si)?;
        let version = str_at(storage, "/name").unwrap_or("").to_string();
        let field = format!("spec.api.spec.versions[{si}].schema.openAPIV3Schema");
        let schema_value = storage
            .pointer("/schema/openAPIV3Schema")
            .or_else(|| crd.pointer("/spec/validation/openAPIV3Schema"));
        let schema = schema_value.map(|sv| Arc::new(self.schema(sv, &field)));
        Some(Api {
            group,
            version,
            served,
            kind,
            schema,
        })
    }

    fn schema(&mut self, v: &Value, field: &str) -> Schema {
        let mut notes = Vec::new();
        let schema = Schema::compile(v, "", &mut notes);
        for (path, msg) in crate::schema::misfits(v, "") {
            let full = format!("{field}{path}");
            let f = Finding::new(
                diag::SCHEMA_KEYWORD_MISFIT,
                format!("Promise {}: {full}: {msg}", self.name),
            )
            .at(self.at(&full))
            .field(full)
            .help("move the keyword to a field of the type it checks, or fix the field's type");
            self.problem(f);
        }
        for (path, msg, error) in notes {
            let full = format!("{field}{path}");
            let code = if error {
                diag::INVALID_PROMISE
            } else {
                diag::SCHEMA_NOTE
            };
            let f = Finding::new(code, format!("Promise {}: {full}: {msg}", self.name))
                .at(self.at(&full))
                .field(full);
            self.problem(f);
        }
        schema
    }

    fn pipelines(&mut self, field: &str) -> Vec<Pipeline> {
        let Some(list) = self.doc.value.pointer(&pointer(field)).cloned() else {
            return Vec::new();
        };
        let Some(items) = list.as_array() else {
            self.invalid(field, "must be a list of Pipelines".into());
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| self.pipeline(item, &format!("{field}[{i}]")))
            .collect()
    }

    fn pipeline(&mut self, v: &Value, field: &str) -> Pipeline {
        let name = str_at(v, "/metadata/name").unwrap_or("default").to_string();
        self.check_label_name("pipeline", &name, &format!("{field}.metadata.name"));
        let containers: Vec<String> = v
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .map(|cs| {
                cs.iter()
                    .map(|c| {
                        let n = str_at(c, "/name").unwrap_or("container");
                        match str_at(c, "/image") {
                            Some(img) => format!("{n} ({img})"),
                            None => n.to_string(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let steps = match v.pointer("/spec/rhai") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(steps)) => steps
                .iter()
                .enumerate()
                .filter_map(|(i, s)| self.step(s, &format!("{field}.spec.rhai[{i}]")))
                .collect(),
            Some(_) => {
                self.invalid(
                    &format!("{field}.spec.rhai"),
                    "must be a list of steps".into(),
                );
                Vec::new()
            }
        };
        Pipeline {
            name,
            steps,
            containers,
        }
    }

    fn step(&mut self, v: &Value, field: &str) -> Option<Step> {
        let name = str_at(v, "/name").unwrap_or("step").to_string();
        self.check_label_name("step", &name, &format!("{field}.name"));
        let (source, file, offset) = if let Some(rel) = str_at(v, "/file") {
            let path = match names::workspace_file(self.root, self.dir, rel) {
                Ok(path) => path,
                Err(why) => {
                    let f = Finding::new(
                        diag::OUTSIDE_WORKSPACE,
                        format!("Promise {}: step `{name}`: file: {why}; not read", self.name),
                    )
                    .at(self.at(&format!("{field}.file")))
                    .help("keep the script inside the workspace, beside the Promise, and name it relatively");
                    self.problem(f);
                    return None;
                }
            };
            match std::fs::read_to_string(&path) {
                Ok(text) => (text, crate::source::display_path(self.root, &path), 0),
                Err(e) => {
                    let f = Finding::new(
                        diag::MISSING_SCRIPT,
                        format!(
                            "Promise {}: step `{name}`: cannot read `{rel}`: {e}",
                            self.name
                        ),
                    )
                    .at(self.at(&format!("{field}.file")))
                    .help(format!(
                        "create {} or fix the path (relative to the Promise file)",
                        crate::source::display_path(self.root, &path)
                    ));
                    self.problem(f);
                    return None;
                }
            }
        } else if let Some(text) = str_at(v, "/script") {
            let found =
                locate::find_in_file(self.root, &self.doc.location, &format!("{field}.script"));
            let offset = found
                .map(|f| f.block_content_line.unwrap_or(f.line) - 1)
                .unwrap_or(self.doc.location.line - 1);
            (text.to_string(), self.doc.location.file.clone(), offset)
        } else {
            let f = Finding::new(
                diag::MISSING_SCRIPT,
                format!(
                    "Promise {}: step `{name}` has neither `file:` nor `script:`",
                    self.name
                ),
            )
            .at(self.at(field));
            self.problem(f);
            return None;
        };
        self.script_texts.push(source.clone());
        match crate::script::compile(&source, file, offset, STEP_SCOPE) {
            Ok(script) => Some(Step { name, script }),
            Err(f) => {
                let f = Finding {
                    message: format!("Promise {}: step `{name}`: {}", self.name, f.message),
                    ..f
                };
                self.problem(f);
                None
            }
        }
    }

    /// What identifies this revision: the document and every script it runs.
    fn digest(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.doc.value.to_string());
        for t in &self.script_texts {
            h.update([0]);
            h.update(t);
        }
        format!("sha256:{:x}", h.finalize())
    }
}
