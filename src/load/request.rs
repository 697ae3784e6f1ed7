//! Requests: documents of a Promise's API kind, tied to their Promise.

use crate::diag::{self, Finding, Location};
use crate::model::{InstanceRef, Labels, Promise, Request, Scope};
use crate::source::names;
use crate::source::Doc;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// Looks up a request's Promise by API group and kind.
pub struct PromiseIndex {
    by_kind: HashMap<(String, String), usize>,
}

impl PromiseIndex {
    pub fn new(promises: &[Promise]) -> PromiseIndex {
        let mut by_kind = HashMap::new();
        for (i, p) in promises.iter().enumerate() {
            if let Some(api) = &p.api {
                by_kind
                    .entry((api.group.clone(), api.kind.clone()))
                    .or_insert(i);
            }
        }
        PromiseIndex { by_kind }
    }
}

/// A request file's document as loading keeps it, made by [`LoadedDoc::new`] on the thread
/// that parsed the document, as soon as it is parsed.
pub enum Loaded {
    /// A Kratix `ResourceBinding`, kept whole: loading reads its spec.
    Binding(Doc),
    /// A request, its document packed (see [`LoadedDoc::new`]).
    Request(Request),
    /// A document that is no request of any Promise.
    Rejected(Finding),
    /// A request of another shard (`vow plan --shard`): only what finding duplicates needs.
    Elsewhere(InstanceRef, crate::diag::Location),
}

pub struct LoadedDoc {
    pub loaded: Loaded,
    /// sha256 of the document's compact JSON, for the digest of every request.
    pub digest: [u8; 32],
}

impl LoadedDoc {
    /// Ties a parsed document to its Promise and keeps the request as its compact JSON text
    /// (`Request::packed`): a parsed document takes about ten times the memory of its text
    /// (every small map is a B-tree node), so a fleet of a million held parsed was 4 GiB before
    /// evaluation started. The worker that evaluates the request parses the text again, as
    /// JSON, several times faster than YAML.
    pub fn new(doc: Doc, promises: &[Promise], index: &PromiseIndex) -> LoadedDoc {
        // A `Value` always serializes.
        let json = serde_json::to_string(&doc.value).unwrap_or_default();
        let digest = Sha256::digest(json.as_bytes()).into();
        let whole = doc.item.is_none();
        let loaded = if is_binding(&doc) {
            Loaded::Binding(doc)
        } else {
            match parse(doc, promises, index).map_err(|mut f| {
                // The field's line is found later, once per file (`locate::locate_fields`).
                f.unlocated = whole && f.field.is_some();
                f
            }) {
                Ok(mut r) => {
                    r.value = Value::Null;
                    r.packed = Some(json.into_boxed_str());
                    Loaded::Request(r)
                }
                Err(f) => Loaded::Rejected(f),
            }
        };
        LoadedDoc { loaded, digest }
    }

    /// Keeps only the requests `mine` says belong here; the others shrink to their id.
    pub fn only(mut self, mine: impl Fn(&InstanceRef) -> bool) -> LoadedDoc {
        if let Loaded::Request(r) = &self.loaded {
            if !mine(&r.id) {
                self.loaded = Loaded::Elsewhere(r.id.clone(), r.location.clone());
            }
        }
        self
    }
}

/// A request being linked: one of ours, or another shard's (see [`Loaded::Elsewhere`]).
enum Entry {
    Here(Request),
    Elsewhere(InstanceRef, crate::diag::Location),
}

impl Entry {
    fn id(&self) -> &InstanceRef {
        match self {
            Entry::Here(r) => &r.id,
            Entry::Elsewhere(id, _) => id,
        }
    }

    fn location(&self) -> &crate::diag::Location {
        match self {
            Entry::Here(r) => &r.location,
            Entry::Elsewhere(_, l) => l,
        }
    }
}

fn is_binding(doc: &Doc) -> bool {
    doc.kind() == "ResourceBinding" && doc.api_version().starts_with("platform.kratix.io/")
}

/// [`parse_all`] of documents parsed elsewhere (test cases, fixtures).
pub fn parse_docs(
    docs: Vec<Doc>,
    promises: &[Promise],
    index: &PromiseIndex,
) -> (Vec<Request>, Vec<Finding>) {
    let loaded = docs
        .into_iter()
        .map(|d| LoadedDoc::new(d, promises, index))
        .collect();
    parse_all(loaded)
}

/// Namespace Kratix gives a request that names none.
pub const DEFAULT_NAMESPACE: &str = "default";

/// Links the loaded documents: Kratix `ResourceBinding`s pin their instances, documents that
/// are not requests of any Promise and duplicates become findings; the first of a duplicate
/// pair (by file and line) is kept.
pub fn parse_all(docs: Vec<LoadedDoc>) -> (Vec<Request>, Vec<Finding>) {
    let mut findings = Vec::new();
    let mut requests = Vec::with_capacity(docs.len());
    let mut bindings = BTreeMap::new();
    for loaded in docs {
        match loaded.loaded {
            Loaded::Request(r) => requests.push(Entry::Here(r)),
            Loaded::Elsewhere(id, at) => requests.push(Entry::Elsewhere(id, at)),
            Loaded::Rejected(f) => findings.push(f),
            Loaded::Binding(doc) => match resource_binding(&doc) {
                Some((id, version)) => {
                    bindings.insert(id, version);
                }
                None => findings.push(
                    Finding::new(diag::MISSING_FIELD, format!("{}: a ResourceBinding without spec.promiseRef.name or spec.resourceRef.name", doc.location.file))
                        .at(doc.location.clone()),
                ),
            },
        }
    }
    for r in &mut requests {
        if let Entry::Here(r) = r {
            r.binding_version = bindings.get(&r.id).cloned();
        }
    }
    // Duplicates are found among every shard's requests, so that each shard reports the same.
    requests.sort_by(|a, b| {
        a.id()
            .cmp(b.id())
            .then_with(|| a.location().cmp(b.location()))
    });
    let mut duplicate = vec![false; requests.len()];
    let mut first = 0;
    for i in 1..requests.len() {
        let (Some(prev), Some(r)) = (requests.get(first), requests.get(i)) else {
            continue;
        };
        if prev.id() != r.id() {
            first = i;
            continue;
        }
        if let Some(d) = duplicate.get_mut(i) {
            *d = true;
        }
        findings.push(
            Finding::new(
                diag::DUPLICATE,
                format!("{} is declared twice: first at {}", r.id(), prev.location()),
            )
            // No instance: the one kept is planned, and a report lists a blocking finding of a
            // planned instance only under that instance's block, where it would not show.
            .at(r.location().clone())
            .help("rename or remove one of the two requests; the first is kept"),
        );
    }
    let kept = requests
        .into_iter()
        .zip(duplicate)
        .filter_map(|(e, dup)| match e {
            Entry::Here(r) if !dup => Some(r),
            _ => None,
        })
        .collect();
    (kept, findings)
}

fn parse(doc: Doc, promises: &[Promise], index: &PromiseIndex) -> Result<Request, Finding> {
    let api_version = doc.api_version().to_string();
    let kind = doc.kind().to_string();
    let at = doc.location.clone();
    let what = match &doc.item {
        Some(i) => format!("{} {i}", at.file),
        None => at.file.to_string(),
    };
    if api_version.is_empty() || kind.is_empty() {
        return Err(Finding::new(diag::MISSING_FIELD, format!("{what}: a document without apiVersion or kind"))
            .at(at)
            .help("every request needs apiVersion (<group>/<version>) and kind, as its Promise's API says"));
    }
    let (group, version) = api_version.split_once('/').unwrap_or(("", &api_version));
    let Some(&pi) = index.by_kind.get(&(group.to_string(), kind.clone())) else {
        return Err(no_promise(&doc, &what, &api_version, &kind, promises));
    };
    let Some(promise) = promises.get(pi) else {
        return Err(no_promise(&doc, &what, &api_version, &kind, promises));
    };
    let Some(api) = promise.api.as_ref() else {
        return Err(no_promise(&doc, &what, &api_version, &kind, promises));
    };
    if !api.served.iter().any(|v| v == version) {
        return Err(Finding::new(
            diag::NO_PROMISE,
            format!(
                "{what}: {api_version} is not a served version of {kind} (Promise {} serves {})",
                promise.name,
                api.served
                    .iter()
                    .map(|v| format!("{group}/{v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .at(at)
        .help(format!(
            "set the request's apiVersion to {group}/{} (and its spec to that version's schema)",
            api.version
        )));
    }
    let (namespace, name) = request_names(&doc, &what, &at)?;
    let id = InstanceRef {
        promise: promise.name.clone(),
        scope: Scope::Request { namespace, name },
    };
    let labels = string_map(&doc, "labels", &at, &id)?;
    let annotations = string_map(&doc, "annotations", &at, &id)?;
    if let Some(pin) = labels.get(PIN_LABEL).or_else(|| annotations.get(PIN_LABEL)) {
        names::label_value(pin).map_err(|rule| {
            Finding::new(
                diag::INVALID_VERSION_LABEL,
                format!("{what}: label {PIN_LABEL} `{pin}`: {rule}"),
            )
            .at(at.clone())
            .field(format!("metadata.labels[\"{PIN_LABEL}\"]"))
            .help("pin a version the Promise has had, such as `v1.2.0`")
        })?;
    }
    Ok(Request {
        labels,
        annotations,
        id,
        promise: pi,
        value: doc.value,
        location: doc.location,
        item: doc.item,
        binding_version: None,
        packed: None,
    })
}

/// A Kratix `ResourceBinding` (`platform.kratix.io`): the version an instance is bound to.
fn resource_binding(doc: &Doc) -> Option<(InstanceRef, String)> {
    let v = &doc.value;
    let s = |p: &str| v.pointer(p).and_then(Value::as_str);
    let id = InstanceRef::request(
        s("/spec/promiseRef/name")?,
        s("/spec/resourceRef/namespace").unwrap_or(DEFAULT_NAMESPACE),
        s("/spec/resourceRef/name")?,
    );
    Some((id, s("/spec/version").unwrap_or("latest").to_string()))
}

fn no_promise(
    doc: &Doc,
    what: &str,
    api_version: &str,
    kind: &str,
    promises: &[Promise],
) -> Finding {
    let group = api_version.split('/').next().unwrap_or("");
    if group == "platform.kratix.io" || group == "vow.dev" {
        return Finding::new(
            diag::UNKNOWN_KIND,
            format!("{what}: a {kind} is not read among requests; skipped"),
        )
        .at(doc.location.clone())
        .help("move it where vow reads it (promises/, rules/, the destinations file)");
    }
    let known: BTreeMap<&str, String> = promises
        .iter()
        .filter_map(|p| {
            p.api.as_ref().map(|a| {
                (
                    p.name.as_str(),
                    format!("{}/{} {}", a.group, a.version, a.kind),
                )
            })
        })
        .collect();
    let list = known
        .iter()
        .map(|(p, k)| format!("{k} ({p})"))
        .collect::<Vec<_>>()
        .join(", ");
    Finding::new(
        diag::NO_PROMISE,
        format!("{what}: no Promise offers {api_version} {kind}"),
    )
    .at(doc.location.clone())
    .help(if list.is_empty() {
        "no Promise offers any API: check the findings on promises/ (a Promise that does not load offers nothing)".to_string()
    } else {
        format!("the Promises offer: {list}")
    })
}

/// The label that pins a request to a Promise version; it names a store folder.
const PIN_LABEL: &str = "vow.dev/version";

/// A request's namespace and name, checked as Kubernetes checks them: both strings, the name a
/// DNS-1123 subdomain of at most 63 characters (Kratix puts it in labels), the namespace a
/// DNS-1123 label.
fn request_names(doc: &Doc, what: &str, at: &Location) -> Result<(String, String), Finding> {
    let kind = doc.kind();
    let name = match doc.value.pointer("/metadata/name") {
        Some(Value::String(n)) => n.clone(),
        None | Some(Value::Null) => {
            return Err(Finding::new(
                diag::MISSING_FIELD,
                format!("{what}: a {kind} without metadata.name"),
            )
            .at(at.clone())
            .help("give the request a name"))
        }
        Some(other) => return Err(wrong_type(what, "metadata.name", other, at)),
    };
    let namespace = match doc.value.pointer("/metadata/namespace") {
        None | Some(Value::Null) => DEFAULT_NAMESPACE.to_string(),
        Some(Value::String(n)) => n.clone(),
        Some(other) => return Err(wrong_type(what, "metadata.namespace", other, at)),
    };
    if let Err(rule) = names::label(&namespace) {
        return Err(Finding::new(
            diag::INVALID_NAMESPACE,
            format!("{what}: metadata.namespace `{namespace}`: {rule}"),
        )
        .at(at.clone())
        .field("metadata.namespace")
        .help("use a namespace such as `team-a`"));
    }
    if let Err(rule) = names::subdomain(&name) {
        return Err(Finding::new(
            diag::INVALID_NAME,
            format!("{what}: metadata.name `{name}`: {rule}"),
        )
        .at(at.clone())
        .field("metadata.name")
        .help("rename the request, e.g. `my-app`"));
    }
    if name.len() > names::LABEL_MAX {
        return Err(Finding::new(
            diag::NAME_TOO_LONG,
            format!(
                "{what}: metadata.name `{name}` has {} characters; at most 63 are allowed",
                name.len()
            ),
        )
        .at(at.clone())
        .field("metadata.name")
        .help("shorten the name to at most 63 characters: Kratix puts it in label values"));
    }
    Ok((namespace, name))
}

fn wrong_type(what: &str, field: &str, found: &Value, at: &Location) -> Finding {
    Finding::new(
        diag::WRONG_TYPE,
        format!(
            "{what}: {field} must be a string, not {}",
            crate::schema::show(found)
        ),
    )
    .at(at.clone())
    .field(field)
    .help(format!(
        "quote the value of {field} (a number is never turned into a name)"
    ))
}

/// `metadata.labels` or `metadata.annotations`: a map of strings, as Kubernetes requires (an
/// unquoted `true` or `1.10` is an error, not text).
fn string_map(doc: &Doc, which: &str, at: &Location, id: &InstanceRef) -> Result<Labels, Finding> {
    let m = match doc.value.pointer(&format!("/metadata/{which}")) {
        None | Some(Value::Null) => return Ok(Labels::new()),
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(Finding::new(
                diag::WRONG_TYPE,
                format!(
                    "{id}: metadata.{which} must be a map of strings, not {}",
                    crate::schema::show(other)
                ),
            )
            .at(at.clone())
            .field(format!("metadata.{which}")))
        }
    };
    m.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            other => Err(Finding::new(
                diag::WRONG_TYPE,
                format!(
                    "{id}: metadata.{which}.{k} must be a string, not {}",
                    crate::schema::show(other)
                ),
            )
            .at(at.clone())
            .field(format!("metadata.{which}[{k:?}]"))
            .help(format!("quote the value: {k}: \"{}\"", other))),
        })
        .collect()
}
