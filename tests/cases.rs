//! Test cases as data: one folder per case under `tests/cases/<group>/<case>/`, each a small
//! workspace, one `vow` command to run in it and the expected output snapshotted beside it.
//! `planner/` holds the rollout strategy cases (the specification of the planner's placement),
//! `errors/` the rendered findings and fatal errors of one bad input each. How to add a case:
//! tests/cases/README.md. Adding a case is adding a folder, not code.

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

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// What the case is about (the first line of a failure).
    about: String,
    /// `base` (default): a copy of `_base/` with the case's `files/` laid over it;
    /// `example`: the repository's own workspace, the example fleet, read in place.
    #[serde(default)]
    workspace: Workspace,
    /// Paths of `_base/` the case deletes before it runs.
    #[serde(default)]
    remove: Vec<String>,
    /// The arguments after `vow -C <workspace>`.
    args: Vec<String>,
    /// The exit code the command must end with.
    exit: i32,
    /// Which stream is snapshotted.
    #[serde(default)]
    output: Stream,
    /// Only this many first lines are snapshotted.
    head: Option<usize>,
    /// Texts the whole stream must hold: the point of the case, said where it is read.
    #[serde(default)]
    contains: Vec<String>,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Workspace {
    #[default]
    Base,
    Example,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Stream {
    #[default]
    Stdout,
    Stderr,
}

fn cases() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases")
}

#[test]
fn cases_as_data() {
    insta::glob!("cases/*/*/case.yaml", |path| {
        let dir = path.parent().expect("a case folder");
        let out = run_case(dir);
        insta::with_settings!({
            snapshot_path => dir,
            prepend_module_to_snapshot => false,
            omit_expression => true,
            snapshot_suffix => "",
        }, {
            insta::assert_snapshot!("expected", out);
        });
    });
}

/// Runs one case and returns the text its snapshot holds.
fn run_case(dir: &Path) -> String {
    let name = dir
        .strip_prefix(cases())
        .unwrap_or(dir)
        .display()
        .to_string();
    let text = std::fs::read_to_string(dir.join("case.yaml")).expect("case.yaml");
    let case: Case =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{name}/case.yaml: {e}"));
    let scratch = tempfile::tempdir().expect("a scratch folder");
    let ws = match case.workspace {
        Workspace::Example => {
            assert!(
                !dir.join("files").exists() && case.remove.is_empty(),
                "{name}: the example workspace is read in place; it takes no files/ or remove"
            );
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        }
        Workspace::Base => {
            copy_tree(&cases().join("_base"), scratch.path());
            for rel in &case.remove {
                std::fs::remove_file(scratch.path().join(rel))
                    .unwrap_or_else(|e| panic!("{name}: remove {rel}: {e}"));
            }
            if dir.join("files").is_dir() {
                copy_tree(&dir.join("files"), scratch.path());
            }
            scratch.path().to_path_buf()
        }
    };
    let out = Command::new(env!("CARGO_BIN_EXE_vow"))
        .arg("-C")
        .arg(&ws)
        .args(&case.args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .expect("the vow binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let context = format!(
        "{name}: {}\n--- stderr\n{stderr}--- stdout\n{stdout}",
        case.about
    );
    assert_eq!(out.status.code(), Some(case.exit), "{context}");
    let shown = match case.output {
        Stream::Stdout => &stdout,
        Stream::Stderr => &stderr,
    };
    for want in &case.contains {
        assert!(shown.contains(want.as_str()), "no {want:?} in {context}");
    }
    shown_text(shown, &ws, case.head)
}

/// The snapshot's text: the workspace's path as `<ws>`, without the plan id (a digest of inputs
/// that include the scratch folder's contents: the cases are about what is planned), cut to
/// `head` lines.
fn shown_text(stream: &str, ws: &Path, head: Option<usize>) -> String {
    let stream = stream.replace(&*ws.to_string_lossy(), "<ws>");
    stream
        .lines()
        .filter(|l| !l.starts_with("plan sha256:") && !l.starts_with("Plan `sha256:"))
        .take(head.unwrap_or(usize::MAX))
        .collect::<Vec<_>>()
        .join("\n")
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from).min_depth(1) {
        let entry = entry.expect("a readable case file");
        let rel = entry.path().strip_prefix(from).expect("inside the case");
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).expect("a folder");
        } else {
            std::fs::copy(entry.path(), &dest).expect("a copy");
        }
    }
}
