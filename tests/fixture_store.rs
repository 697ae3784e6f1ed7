//! The example fleet's state store is generated, not hand-written: every request of the example
//! fleet (minus `skip`, plus `extra` from `fixtures/example/seed.yaml`) rendered with the OLD
//! Promise revisions kept in the store. This test regenerates it in a scratch folder and checks
//! that the committed store is exactly that, so the fixture can never drift from what vow
//! renders. `VOW_BLESS=1 cargo test --test fixture_store` rewrites the committed store.

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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vow::evaluate;
use vow::load::{inputs, promise, request};
use vow::source;
use vow::store;
use vow::workspace::Workspace;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir` except the revisions (which are inputs, not outputs), with contents.
fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .ok()?
                .to_string_lossy()
                .replace('\\', "/");
            if rel.starts_with(".vow/revisions/") {
                return None;
            }
            Some((rel, std::fs::read_to_string(e.path()).ok()?))
        })
        .collect()
}

fn generate(out: &Path) {
    let ws = Workspace::open(&root(), None).unwrap();
    let seed_text = std::fs::read_to_string(root().join("fixtures/example/seed.yaml")).unwrap();
    let seed: serde_json::Value = serde_yaml::from_str(&seed_text).unwrap();
    let skip: Vec<String> = serde_json::from_value(seed["skip"].clone()).unwrap();
    let (mut inputs, mut requests) =
        inputs::load(ws.clone(), vow::duration::parse_time("2026-12-01").unwrap());
    // Render with the old revisions, as if the store were empty.
    let revisions = root().join("fixtures/example/state/.vow/revisions");
    let mut old = Vec::new();
    for p in &inputs.promises {
        let dir = std::fs::read_dir(revisions.join(&p.name)).unwrap();
        let version_dir = dir.filter_map(Result::ok).next().unwrap().path();
        let (docs, f) = source::read_file(&ws.root, &version_dir.join("promise.yaml"));
        assert!(f.is_empty(), "{f:?}");
        let (rev, _) = promise::parse(&ws.root, &docs[0]).unwrap();
        assert!(rev.broken.is_empty(), "{:?}", rev.broken);
        old.push(rev);
    }
    old.sort_by(|a, b| a.name.cmp(&b.name));
    inputs.promises = old;
    inputs.store = store::StoreState::default();
    // The store predates today's rules: what was applied then was not checked by them.
    inputs.policy = vow::policy::Policy::default();
    let extra: Vec<source::Doc> = seed["extra"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| source::Doc {
            location: vow::diag::Location::new("fixtures/example/seed.yaml".into(), 1),
            item: None,
            value: v.clone(),
        })
        .collect();
    let index = request::PromiseIndex::new(&inputs.promises);
    let (extra, f) = request::parse_docs(extra, &inputs.promises, &index);
    assert!(f.is_empty(), "{f:?}");
    requests.retain(|r| !skip.contains(&r.id.to_string()));
    requests.extend(extra);
    for r in &mut requests {
        // Paused and pinned since: when the old version was applied, they followed it.
        r.annotations.remove("kratix.io/paused");
        r.labels.remove("vow.dev/version");
    }
    let all = evaluate::Requests::Borrowed(requests.iter().collect());
    let opts = evaluate::Options::new(evaluate::Detail::Contents).with_dependencies();
    for ev in evaluate::run(&inputs, all, &opts) {
        assert!(
            !ev.blocked,
            "{} is blocked under the old revision: {:?}",
            ev.id, ev.findings
        );
        let files: Vec<(&str, &str)> = ev
            .files
            .iter()
            .map(|f| (&*f.path, f.content.as_str()))
            .collect();
        store::write::write_instance(out, &evaluate::applied_binding(&ev, "latest"), &files)
            .unwrap();
    }
}

#[test]
fn example_store_is_what_the_old_revisions_render() {
    let scratch = tempfile::tempdir().unwrap();
    generate(scratch.path());
    let committed = root().join("fixtures/example/state");
    if std::env::var_os("VOW_BLESS").is_some() {
        for (rel, _) in snapshot(&committed) {
            std::fs::remove_file(committed.join(rel)).unwrap();
        }
        for (rel, content) in snapshot(scratch.path()) {
            store::write::atomic_write(&committed.join(rel), content.as_bytes()).unwrap();
        }
    }
    let want = snapshot(scratch.path());
    let have = snapshot(&committed);
    let missing: Vec<_> = want.keys().filter(|k| !have.contains_key(*k)).collect();
    let extra: Vec<_> = have.keys().filter(|k| !want.contains_key(*k)).collect();
    let differ: Vec<_> = want
        .keys()
        .filter(|k| have.get(*k).is_some_and(|h| h != &want[*k]))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && differ.is_empty(),
        "the committed store differs from what the old revisions render (VOW_BLESS=1 regenerates it)\nmissing: {missing:?}\nextra: {extra:?}\ndiffer: {differ:?}"
    );
    assert!(
        want.len() > 100,
        "the example store should hold the whole fleet"
    );
}
