//! Helpers shared by the integration tests: running the real binary, scratch workspaces.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `vow` binary with `args`; returns (exit code, stdout, stderr).
pub(crate) fn vow(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vow"))
        .args(args)
        .output()
        .expect("the vow binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `vow` with `dir` as the working directory (relative plan files are the workspace's).
pub(crate) fn vow_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vow"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the vow binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `vow` in the repository's own workspace (the example fleet).
pub(crate) fn vow_example(args: &[&str]) -> (i32, String, String) {
    let root = repo();
    let mut all = vec!["-C", root.to_str().unwrap()];
    all.extend_from_slice(args);
    vow(&all)
}

/// A small platform: one Promise with an inline validate step and a render step in a file, one
/// destination, and whatever request files the test adds.
pub(crate) fn scratch_workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "promises/db/promise.yaml", PROMISE);
    write(dir.path(), "promises/db/render.rhai", RENDER);
    write(
        dir.path(),
        "destinations.yaml",
        "apiVersion: platform.kratix.io/v1alpha1\nkind: Destination\nmetadata:\n  name: dev\n  labels: {env: dev}\nspec:\n  path: clusters/dev\n",
    );
    dir
}

pub(crate) fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

pub(crate) const PROMISE: &str = r#"apiVersion: platform.kratix.io/v1alpha1
kind: Promise
metadata:
  name: db
  labels:
    kratix.io/promise-version: v1.0.0
spec:
  api:
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: dbs.example.com
    spec:
      group: example.com
      names: {kind: DB, plural: dbs, singular: db}
      scope: Namespaced
      versions:
        - name: v1
          served: true
          storage: true
          schema:
            openAPIV3Schema:
              type: object
              properties:
                spec:
                  type: object
                  required: [size]
                  properties:
                    size:
                      type: integer
                      minimum: 1
                      maximum: 100
                    backups:
                      type: object
                      default: {}
                      properties:
                        retentionDays: {type: integer, default: 7, minimum: 1}
  destinationSelectors:
    - matchLabels: {env: dev}
  workflows:
    resource:
      configure:
        - apiVersion: platform.kratix.io/v1alpha1
          kind: Pipeline
          metadata:
            name: instance
          spec:
            rhai:
              - name: validate
                script: |
                  if spec.size > 50 {
                    reject(`size ${spec.size} needs approval`);
                  }
              - name: render
                file: render.rhai
"#;

pub(crate) const RENDER: &str = r#"output("db.yaml", #{
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: #{ name: metadata.name, namespace: metadata.namespace },
    data: #{ size: `${spec.size}`, retention: `${spec.backups.retentionDays}` }
});
"#;

pub(crate) fn request(name: &str, size: i64) -> String {
    format!(
        "apiVersion: example.com/v1\nkind: DB\nmetadata:\n  name: {name}\n  namespace: team-a\n  labels: {{env: dev}}\nspec:\n  size: {size}\n"
    )
}

/// Copies the example workspace (Promises, rules, fleet, store, vow.yaml) to a scratch folder.
pub(crate) fn example_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in walkdir::WalkDir::new(repo())
        .into_iter()
        .filter_map(Result::ok)
    {
        let rel = entry.path().strip_prefix(repo()).unwrap();
        let top = rel
            .components()
            .next()
            .map(|c| c.as_os_str().to_string_lossy().to_string());
        if !matches!(
            top.as_deref(),
            Some("promises" | "rules" | "fixtures" | "vow.yaml")
        ) {
            continue;
        }
        let to = dir.path().join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&to).unwrap();
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
    dir
}

/// Every file under `dir` (relative path → content), skipping `.git`.
pub(crate) fn snapshot(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_entry(|e| e.file_name() != ".git")
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

/// The files of a git branch's tree (path → content).
pub(crate) fn git_tree(
    repo_path: &Path,
    branch: &str,
) -> std::collections::BTreeMap<String, Vec<u8>> {
    let repo = git2::Repository::open(repo_path).unwrap();
    let commit = repo
        .find_reference(&format!("refs/heads/{branch}"))
        .unwrap()
        .peel_to_commit()
        .unwrap();
    let mut out = std::collections::BTreeMap::new();
    commit
        .tree()
        .unwrap()
        .walk(git2::TreeWalkMode::PreOrder, |root, entry| {
            if entry.kind() == Some(git2::ObjectType::Blob) {
                let blob = repo.find_blob(entry.id()).unwrap();
                out.insert(
                    format!("{root}{}", entry.name().unwrap()),
                    blob.content().to_vec(),
                );
            }
            git2::TreeWalkResult::Ok
        })
        .unwrap();
    out
}

/// The messages of a branch's commits, newest first.
pub(crate) fn git_log(repo_path: &Path, branch: &str) -> Vec<String> {
    let repo = git2::Repository::open(repo_path).unwrap();
    let mut walk = repo.revwalk().unwrap();
    walk.push_ref(&format!("refs/heads/{branch}")).unwrap();
    walk.map(|oid| {
        repo.find_commit(oid.unwrap())
            .unwrap()
            .message()
            .unwrap()
            .to_string()
    })
    .collect()
}

/// Writes `<ws>/racer.sh`, a gate command that plays another writer: it clones `url`'s `main`
/// into `<ws>/racer`, runs `change` there (shell lines that leave something to commit), commits
/// it as `message` and pushes, so vow's push of the same wave is rejected. Returns the gate command.
pub(crate) fn racer_gate(ws: &Path, url: &str, change: &str, message: &str) -> String {
    let racer = ws.join("racer.sh");
    let script = format!(
        "set -e\nrm -rf {d}\ngit clone -q -b main {url} {d}\ncd {d}\n{change}\ngit -c user.name=r -c user.email=r@example.com commit -qam {message}\ngit push -q origin main\n",
        d = ws.join("racer").display()
    );
    std::fs::write(&racer, script).unwrap();
    format!("sh {}", racer.display())
}

/// A bare `main` repository under the workspace, and vow.yaml pointing at it (with `author`
/// lines added to `store.git` when given).
pub(crate) fn git_workspace(author: Option<&str>) -> (tempfile::TempDir, PathBuf) {
    let ws = example_copy();
    let remote = ws.path().join("served/state.git");
    let ok = Command::new("git")
        .args(["init", "-q", "--bare", "-b", "main"])
        .arg(&remote)
        .status()
        .unwrap()
        .success();
    assert!(ok, "git init --bare");
    let cfg = std::fs::read_to_string(ws.path().join("vow.yaml")).unwrap();
    let head = cfg.split("\n# Production changes").next().unwrap();
    let author = author.map(|a| format!(", author: {a}")).unwrap_or_default();
    let url = format!("file://{}", remote.display());
    let cfg = head.replace(
        "store: {folder: fixtures/example/state}",
        &format!("store: {{git: {{url: \"{url}\", branch: main{author}}}}}"),
    );
    std::fs::write(ws.path().join("vow.yaml"), cfg).unwrap();
    (ws, remote)
}
