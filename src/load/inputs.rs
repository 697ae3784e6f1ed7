//! Loading a whole workspace: Promises, revisions, Destinations, requests and the store.

use super::{destination, promise, request};
use crate::diag::{self, Finding};
use crate::model::{Destination, InstanceRef, Promise, Request};
use crate::policy::{self, Policy};
use crate::source::{list_files, read_documents, read_file, Doc};
use crate::store::{self, StoreState};
use crate::workspace::Workspace;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Digests of everything a plan was made from: a plan made from other inputs is stale.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputDigests {
    // Defaulted: a rollback plan records only the store.
    #[serde(default)]
    pub promises: BTreeMap<String, PromiseDigest>,
    #[serde(default)]
    pub rules: String,
    #[serde(default)]
    pub requests: String,
    #[serde(default)]
    pub destinations: String,
    pub store: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromiseDigest {
    pub version: String,
    pub digest: String,
}

/// Everything a run reads besides the requests: Promises and their revisions, Destinations, the
/// policy, the store, the digests of every input and the load's findings. Immutable once loaded;
/// the requests (the fleet) are handed to the stages apart, and they consume them.
pub struct Catalogue {
    pub ws: Workspace,
    pub promises: Vec<Promise>,
    /// Older Promise versions kept in the store, by (name, version).
    pub revisions: BTreeMap<(String, String), Promise>,
    /// Per Promise (same index): why it cannot be used now (unmet `requiredPromises`).
    pub unavailable: Vec<Vec<String>>,
    pub destinations: Vec<Destination>,
    /// Where request documents failed to load (`file:line`). While any did, the planner
    /// deletes nothing: a typo must never read as "this request was removed".
    pub unread_requests: Vec<String>,
    pub store: StoreState,
    pub policy: Policy,
    /// The time waivers are judged at (`--now`, or the clock, read by the CLI).
    pub now: DateTime<Utc>,
    pub findings: Vec<Finding>,
    pub digests: InputDigests,
}

/// The requests of a workspace, in instance order, owned by whoever evaluates them.
pub type Fleet = Vec<Request>;

impl Catalogue {
    /// The Promise an index in `requests` points at.
    pub fn promise_by_name(&self, name: &str) -> Option<&Promise> {
        self.promises.iter().find(|p| p.name == name)
    }
}

/// Loads the workspace. Problems with single files are findings; only an unusable workspace is
/// an error.
pub fn load(ws: Workspace, now: DateTime<Utc>) -> (Catalogue, Fleet) {
    let files = list_files(&ws.requests);
    load_with_request_files(ws, now, &files)
}

/// The request files, and a finding for each entry of the folder that is skipped (a FIFO, a
/// link loop): a skipped entry counts as unread, so the plan deletes nothing.
fn request_listing(ws: &Workspace) -> Vec<Finding> {
    crate::source::list_input_files(&ws.root, &ws.requests).1
}

/// Loads the workspace keeping only the requests of shard `(index, count)` (0-based; see
/// `model::shard_of`): every document is still read, hashed into the inputs' digest and checked
/// for duplicates, but other shards' requests are dropped as they are parsed.
pub fn load_shard(
    ws: Workspace,
    now: DateTime<Utc>,
    (index, count): (u64, u64),
) -> (Catalogue, Fleet) {
    let files = list_files(&ws.requests);
    let mine = move |id: &InstanceRef| crate::model::shard_of(id, count) == index;
    load_filtered(ws, now, &files, &mine, (false, store::Depth::Digests))
}

/// Loads the workspace with the store's bindings only (`store::Depth::BindingsOnly`): for the
/// readers that use no file digest (`vow fleet`, `vow catalog`). `digests.store` then covers the
/// records alone, so nothing loaded this way may be written into a plan.
pub fn load_bindings_only(ws: Workspace, now: DateTime<Utc>) -> (Catalogue, Fleet) {
    let files = list_files(&ws.requests);
    load_filtered(
        ws,
        now,
        &files,
        &|_| true,
        (true, store::Depth::BindingsOnly),
    )
}

/// As [`load_bindings_only`], the bindings without their applied specs and file lists
/// (`store::Depth::Summary`): for `vow fleet --no-compliance` and `vow catalog --no-compliance`,
/// which judge no rule. Nothing loaded this way may be scanned, planned or applied.
pub fn load_summary(ws: Workspace, now: DateTime<Utc>) -> (Catalogue, Fleet) {
    let files = list_files(&ws.requests);
    load_filtered(ws, now, &files, &|_| true, (true, store::Depth::Summary))
}

/// Loads the workspace with the request files given in this order (the result does not depend
/// on it: tests use this to prove so).
pub fn load_with_request_files(
    ws: Workspace,
    now: DateTime<Utc>,
    request_files: &[std::path::PathBuf],
) -> (Catalogue, Fleet) {
    load_filtered(
        ws,
        now,
        request_files,
        &|_| true,
        (true, store::Depth::Digests),
    )
}

fn load_filtered(
    ws: Workspace,
    now: DateTime<Utc>,
    request_files: &[std::path::PathBuf],
    mine: &(dyn Fn(&InstanceRef) -> bool + Sync),
    (whole, depth): (bool, store::Depth),
) -> (Catalogue, Fleet) {
    let mut findings = Vec::new();
    let (promises, tests) = load_promises(&ws, &mut findings);
    let listing = request_listing(&ws);
    let (mut policy, f) = policy::load(&ws.root, &ws.rules, tests);
    findings.extend(f);
    findings.extend(policy::waiver_findings(&policy, now));
    let destinations = load_destinations(&ws, &mut findings);
    // The requests and the store do not depend on each other: read side by side, so that
    // neither's serial parts (listing, sorting, joining) leave a core idle. Each side is the
    // same whatever the other does, so the result does not depend on the schedule.
    let ((requests_digest, requests, read_findings, parse_findings), store) = rayon::join(
        || read_requests(&ws, request_files, &promises, mine),
        || store::read_to(&ws.store, &ws.root, depth),
    );
    let unread_requests = listing
        .iter()
        .chain(&read_findings)
        .chain(&parse_findings)
        .filter(|f| f.blocking)
        .map(|f| match &f.location {
            Some(l) => format!("{}:{}", l.file, l.line),
            None => f.message.clone(),
        })
        .collect();
    findings.extend(listing);
    findings.extend(read_findings);
    findings.extend(parse_findings);
    findings.extend(store.findings.iter().cloned());
    // A shard sees part of the fleet: whether a waiver matches nothing is not its to say.
    // (Without waivers there is nothing to match, and a large fleet is not walked again.)
    let fleet = (whole && !policy.waivers.is_empty()).then(|| fleet_labels(&requests, &store));
    policy.waiver_status =
        policy::waivers::statuses(&policy, now, ws.waiver_warn_days, fleet.as_deref());
    findings.extend(policy::waivers::findings(&policy.waiver_status));
    let revisions = load_revisions(&ws, &promises, &requests, &store, &mut findings);
    let unavailable = promises
        .iter()
        .map(|p| unmet_requirements(p, &promises))
        .collect();
    let digests = InputDigests {
        promises: promises
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    PromiseDigest {
                        version: p.version.clone(),
                        digest: p.digest.clone(),
                    },
                )
            })
            .collect(),
        rules: policy.digest.clone(),
        requests: requests_digest,
        destinations: digest_destinations(&destinations),
        store: store.digest.clone(),
    };
    let catalogue = Catalogue {
        ws,
        promises,
        revisions,
        unavailable,
        destinations,
        unread_requests,
        store,
        policy,
        now,
        findings,
        digests,
    };
    (catalogue, requests)
}

/// The requests of `request_files` that `mine` keeps, parsed: the digest of every document
/// read, the requests, and the findings of reading and of parsing.
fn read_requests(
    ws: &Workspace,
    request_files: &[std::path::PathBuf],
    promises: &[Promise],
    mine: &(dyn Fn(&InstanceRef) -> bool + Sync),
) -> (String, Vec<Request>, Vec<Finding>, Vec<Finding>) {
    let index = request::PromiseIndex::new(promises);
    let (docs, read_findings) = crate::source::read_documents_with(&ws.root, request_files, |d| {
        request::LoadedDoc::new(d, promises, &index).only(mine)
    });
    let requests_digest = digest_docs(&docs);
    let (requests, mut parse_findings) = request::parse_all(docs);
    crate::source::locate::locate_fields(&ws.root, parse_findings.iter_mut().collect());
    (requests_digest, requests, read_findings, parse_findings)
}

/// Every instance of the fleet once, with its labels: its request's, else those its binding
/// recorded (an applied instance whose request is gone). What waivers are matched against.
fn fleet_labels<'a>(
    requests: &'a [Request],
    store: &'a StoreState,
) -> Vec<(&'a InstanceRef, &'a crate::model::Labels)> {
    let mut all: BTreeMap<&InstanceRef, &crate::model::Labels> = store
        .applied
        .iter()
        .filter(|(id, _)| !id.is_dependencies())
        .map(|(id, a)| (id, &a.binding.status.request_labels))
        .collect();
    all.extend(requests.iter().map(|r| (&r.id, &r.labels)));
    all.into_iter().collect()
}

/// The Promises of promises/, and the Test documents beside them (for the policy: this is the
/// one read of promises/).
fn load_promises(ws: &Workspace, findings: &mut Vec<Finding>) -> (Vec<Promise>, Vec<Doc>) {
    let (files, skipped) = crate::source::list_input_files(&ws.root, &ws.promises);
    findings.extend(skipped);
    let (docs, f) = read_documents(&ws.root, &files);
    findings.extend(f);
    let mut promises: Vec<Promise> = Vec::new();
    for doc in docs.iter().filter(|d| d.kind() == "Promise") {
        match promise::parse(&ws.root, doc) {
            Ok((p, f)) => {
                findings.extend(f);
                if let Some(first) = promises.iter().find(|q| q.name == p.name) {
                    findings.push(
                        Finding::new(
                            diag::DUPLICATE,
                            format!(
                                "Promise {} is declared twice: first at {}",
                                p.name, first.location
                            ),
                        )
                        .at(p.location.clone()),
                    );
                } else {
                    promises.push(p);
                }
            }
            Err(f) => findings.push(f),
        }
    }
    for doc in docs
        .iter()
        .filter(|d| !matches!(d.kind(), "Promise" | "Test"))
    {
        findings.push(unknown_kind(doc, "promises/ holds Promise documents"));
    }
    promises.sort_by(|a, b| a.name.cmp(&b.name));
    claim_kinds_once(&ws.root, &mut promises, findings);
    let tests = docs.into_iter().filter(|d| d.kind() == "Test").collect();
    (promises, tests)
}

/// Two Promises offering one API group and kind: a request of that kind could be either's, so
/// both are made unusable, each finding naming the other.
fn claim_kinds_once(root: &std::path::Path, promises: &mut [Promise], findings: &mut Vec<Finding>) {
    let mut by_kind: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, p) in promises.iter().enumerate() {
        if let Some(api) = &p.api {
            by_kind
                .entry((api.group.clone(), api.kind.clone()))
                .or_default()
                .push(i);
        }
    }
    for ((group, kind), claimants) in by_kind.into_iter().filter(|(_, c)| c.len() > 1) {
        let named: Vec<String> = claimants
            .iter()
            .filter_map(|i| promises.get(*i))
            .map(|p| format!("{} ({})", p.name, p.location))
            .collect();
        for i in &claimants {
            let Some(p) = promises.get_mut(*i) else {
                continue;
            };
            let f = Finding::new(
                diag::API_KIND_CLAIMED_TWICE,
                format!("Promise {}: API {group} {kind} is offered by {} Promises: {}", p.name, named.len(), named.join(", ")),
            )
            .at(
                crate::source::locate::field_location(root, &p.location, "spec.api.spec.names.kind")
                    .unwrap_or_else(|| p.location.clone()),
            )
            .help("give one of them another spec.api group or kind, or remove it; until then no request of this kind is planned");
            p.broken.push(f.clone());
            findings.push(f);
        }
    }
}

fn unknown_kind(doc: &Doc, help: &str) -> Finding {
    Finding::new(
        diag::UNKNOWN_KIND,
        format!(
            "{}: a document of kind `{}` is not read here; skipped",
            doc.location.file,
            doc.kind()
        ),
    )
    .at(doc.location.clone())
    .help(help.to_string())
}

fn load_destinations(ws: &Workspace, findings: &mut Vec<Finding>) -> Vec<Destination> {
    if !ws.destinations.exists() {
        return Vec::new();
    }
    let files = if ws.destinations.is_dir() {
        let (files, skipped) = crate::source::list_input_files(&ws.root, &ws.destinations);
        findings.extend(skipped);
        files
    } else if ws.destinations.is_file() {
        vec![ws.destinations.clone()]
    } else {
        // A FIFO or device: reading it could block forever.
        findings.push(crate::source::skipped(
            &ws.root,
            &ws.destinations,
            "it is not a regular file (a FIFO, socket or device)",
        ));
        return Vec::new();
    };
    let (docs, f) = read_documents(&ws.root, &files);
    findings.extend(f);
    let mut out: Vec<Destination> = Vec::new();
    for doc in &docs {
        if doc.kind() != "Destination" {
            findings.push(unknown_kind(
                doc,
                "the destinations file holds Destination documents",
            ));
            continue;
        }
        match destination::parse(&ws.root, doc) {
            Ok(d) if out.iter().any(|o| o.name == d.name) => findings.push(
                Finding::new(
                    diag::DUPLICATE,
                    format!("Destination {} is declared twice", d.name),
                )
                .at(d.location),
            ),
            Ok(d) => out.push(d),
            Err(f) => findings.push(f),
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Loads the revisions that pinned instances need.
fn load_revisions(
    ws: &Workspace,
    promises: &[Promise],
    requests: &[Request],
    store: &StoreState,
    findings: &mut Vec<Finding>,
) -> BTreeMap<(String, String), Promise> {
    let current: BTreeMap<&str, &str> = promises
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    let mut wanted = std::collections::BTreeSet::new();
    for r in requests {
        let pin = r
            .pinned_version()
            .or_else(|| store.applied.get(&r.id).and_then(|a| a.binding.pinned()));
        if let Some(v) = pin {
            if current.get(r.id.promise.as_str()) != Some(&v) {
                wanted.insert((r.id.promise.clone(), v.to_string()));
            }
        }
    }
    let mut out = BTreeMap::new();
    for (name, version) in wanted {
        // Both name a store folder; a bad one was reported where it was loaded.
        if crate::source::names::subdomain(&name).is_err()
            || crate::source::names::label_value(&version).is_err()
        {
            continue;
        }
        // Read through the store's wall: a revision that is a symlink is not followed out.
        let rel = format!(".vow/revisions/{name}/{version}/promise.yaml");
        let file = match store::path::StorePath::new(&rel).and_then(|p| p.under(&ws.store)) {
            Ok(file) if file.is_file() => file,
            Ok(_) => continue,
            Err(e) => {
                findings.push(store::unsafe_path(&ws.root, &ws.store.join(&rel), &e));
                continue;
            }
        };
        let (docs, f) = read_file(&ws.root, &file);
        findings.extend(f);
        if let Some(doc) = docs.iter().find(|d| d.kind() == "Promise") {
            match promise::parse(&ws.root, doc) {
                Ok((p, _notes)) => {
                    out.insert((name, version), p);
                }
                Err(f) => findings.push(f),
            }
        }
    }
    out
}

/// Kratix's `requiredPromises`: each must be loaded, at the version named when one is.
fn unmet_requirements(p: &Promise, all: &[Promise]) -> Vec<String> {
    p.required_promises
        .iter()
        .filter_map(|req| match all.iter().find(|q| q.name == req.name) {
            None => Some(format!(
                "requires Promise {}, which is not loaded",
                req.name
            )),
            Some(q) => match &req.version {
                Some(v) if *v != q.version => Some(format!(
                    "requires Promise {} at {v}, but {} is at {}",
                    req.name, req.name, q.version
                )),
                _ => None,
            },
        })
        .collect()
}

/// The digest of every request document: each document's compact JSON was hashed as it was
/// loaded (in parallel), and the sorted document digests are hashed together, so the same
/// requests in other files or another order give the same digest.
fn digest_docs(docs: &[request::LoadedDoc]) -> String {
    use rayon::prelude::*;
    let mut each: Vec<[u8; 32]> = docs.iter().map(|d| d.digest).collect();
    each.par_sort_unstable();
    let mut h = Sha256::new();
    for d in each {
        h.update(d);
    }
    format!("sha256:{:x}", h.finalize())
}

fn digest_destinations(ds: &[Destination]) -> String {
    let mut h = Sha256::new();
    for d in ds {
        h.update(format!(
            "{}\0{:?}\0{}\0{}\0{:?}\0",
            d.name, d.labels, d.path, d.strict_match_labels, d.mode
        ));
    }
    format!("sha256:{:x}", h.finalize())
}
