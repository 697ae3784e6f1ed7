//! The example fleet's outputs, byte for byte: the plan (JSON, human, markdown), the scan in
//! every format, `check`, and the store after applying the plan. `tests/golden/example/` was
//! written by the commit before the architecture work (0793e2f) with `tests/golden/produce.sh`,
//! so a refactoring that changes any output fails here. When a change of output is intended,
//! regenerate with `VOW_GOLDEN_UPDATE=1 cargo test --test golden` and review the diff.

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
use std::path::Path;
use std::process::Command;

fn produce(out: &Path) {
    let script = common::repo().join("tests/golden/produce.sh");
    let status = Command::new("bash")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_vow"))
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success(), "tests/golden/produce.sh failed");
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn the_example_fleet_produces_the_same_bytes() {
    let expected = common::repo().join("tests/golden/example");
    let got = tempfile::tempdir().unwrap();
    produce(got.path());
    if std::env::var_os("VOW_GOLDEN_UPDATE").is_some() {
        std::fs::remove_dir_all(&expected).unwrap();
        std::fs::create_dir_all(&expected).unwrap();
        for name in files(got.path()) {
            std::fs::copy(got.path().join(&name), expected.join(&name)).unwrap();
        }
        return;
    }
    assert_eq!(
        files(got.path()),
        files(&expected),
        "the set of outputs changed"
    );
    let mut changed = Vec::new();
    for name in files(&expected) {
        let want = std::fs::read_to_string(expected.join(&name)).unwrap();
        let have = std::fs::read_to_string(got.path().join(&name)).unwrap();
        if want != have {
            let diff = similar::TextDiff::from_lines(&want, &have);
            let shown = diff.unified_diff().header(&name, "now").to_string();
            let head: String = shown.lines().take(40).collect::<Vec<_>>().join("\n");
            changed.push(format!("{name}:\n{head}"));
        }
    }
    assert!(
        changed.is_empty(),
        "outputs differ from tests/golden/example:\n{}",
        changed.join("\n\n")
    );
}
