//! The bad-input catalogue: one folder per case under `tests/bad-inputs/`, each a small
//! workspace and the commands to run in it, with the expected output snapshotted beside it.
//!
//! A case folder holds:
//! - `case.yaml`: `about` (what the case is), `steps` (each a list of `vow` arguments, or
//!   `{sh: "..."}`, a shell command run in the workspace with `$VOW` naming the binary and
//!   `$CATALOGUE` this folder, whose `_tools/` holds helpers cases share), and
//!   optionally `base: false` (start from an empty workspace instead of `_base/`) and
//!   `now: false` (do not pass `--now`);
//! - `files/`: laid over a copy of `_base/` (a Promise `app`, two good requests, a folder store);
//! - `expected.snap`: what every step printed and how it exited (insta; `cargo insta review`).
//!
//! Every case must also keep the promises every input gets: no step exits 101 or on a signal,
//! none hangs, and nothing outside the workspace is written, copied or deleted. The workspace
//! sits five folders deep in a scratch folder whose whole content is compared before and after,
//! so a `../../..` that escapes is seen. Adding a case is adding a folder, not code.

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
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The fixed clock every case runs at, so snapshots do not move with the date.
const NOW: &str = "2026-12-01T10:00:00Z";
/// A step still running after this long is a hang (a guard, not a speed assertion).
const HANG: Duration = Duration::from_secs(300);
/// Output past this many bytes is cut in the snapshot (a case is about its error, not a plan).
const SHOWN: usize = 6000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    about: String,
    #[serde(default = "yes")]
    base: bool,
    #[serde(default = "yes")]
    now: bool,
    steps: Vec<Step>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Step {
    Vow(Vec<String>),
    Sh { sh: String },
}

fn catalogue() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-inputs")
}

#[test]
fn catalogue_cases() {
    let broken = std::sync::Mutex::new(Vec::new());
    insta::glob!("bad-inputs/*/case.yaml", |path| {
        let dir = path.parent().expect("a case folder");
        let (out, mut promises) = run_case(dir);
        broken.lock().expect("the list").append(&mut promises);
        insta::with_settings!({
            snapshot_path => dir,
            prepend_module_to_snapshot => false,
            omit_expression => true,
            snapshot_suffix => "",
        }, {
            insta::assert_snapshot!("expected", out);
        });
    });
    let broken = broken.into_inner().expect("the list");
    assert!(broken.is_empty(), "promises broken:\n{}", broken.join("\n"));
}

#[test]
fn the_catalogue_is_large_enough() {
    let cases = std::fs::read_dir(catalogue())
        .expect("tests/bad-inputs")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("case.yaml").is_file())
        .count();
    assert!(
        cases >= 80,
        "the catalogue has {cases} cases; it promises at least 80"
    );
}

/// Runs one case in a fresh scratch folder and returns its transcript and the promises it broke.
fn run_case(dir: &Path) -> (String, Vec<String>) {
    let name = dir.file_name().unwrap_or_default().to_string_lossy();
    let text = std::fs::read_to_string(dir.join("case.yaml")).expect("case.yaml");
    let case: Case =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{name}/case.yaml: {e}"));
    let scratch = tempfile::tempdir().expect("a scratch folder");
    let ws = scratch.path().join("o1/o2/o3/o4/o5/ws");
    std::fs::create_dir_all(&ws).expect("the workspace folder");
    if case.base {
        copy_tree(&catalogue().join("_base"), &ws);
    }
    if dir.join("files").is_dir() {
        copy_tree(&dir.join("files"), &ws);
    }
    let before = outside(scratch.path(), &ws);
    let mut out = format!("# {}\n", case.about.trim());
    let mut broken = Vec::new();
    for step in &case.steps {
        out.push_str(&run_step(step, &ws, case.now, &name, &mut broken));
    }
    let after = outside(scratch.path(), &ws);
    let changed: Vec<_> = before
        .keys()
        .chain(after.keys())
        .filter(|p| before.get(*p) != after.get(*p))
        .collect();
    if !changed.is_empty() {
        broken.push(format!(
            "{name}: outside the workspace, these were written, copied or deleted: {changed:?}"
        ));
    }
    let out = out
        .replace(&*ws.to_string_lossy(), "<ws>")
        .replace(&*scratch.path().to_string_lossy(), "<scratch>");
    (out, broken)
}

fn run_step(step: &Step, ws: &Path, now: bool, name: &str, broken: &mut Vec<String>) -> String {
    let bin = env!("CARGO_BIN_EXE_vow");
    let (shown, mut cmd) = match step {
        Step::Vow(args) => {
            let mut c = Command::new(bin);
            if now {
                c.args(["--now", NOW]);
            }
            c.args(args);
            (format!("vow {}", args.join(" ")), c)
        }
        Step::Sh { sh } => {
            let mut c = Command::new("sh");
            c.arg("-c").arg(sh);
            (sh.clone(), c)
        }
    };
    cmd.current_dir(ws)
        .env("VOW", bin)
        .env("CATALOGUE", catalogue())
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the step starts");
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("the step can be waited for") {
            break s;
        }
        if started.elapsed() > HANG {
            let _ = child.kill();
            broken.push(format!("{name}: `{shown}` hung"));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let code = status.code();
    if matches!(step, Step::Vow(_)) && !matches!(code, Some(0..=3)) {
        broken.push(format!(
            "{name}: `{shown}` exited with {status} (never 101 or a signal)"
        ));
    }
    let code = code.map_or_else(|| format!("{status}"), |c| c.to_string());
    format!(
        "\n$ {shown}\nexit: {code}\n--- stderr\n{}--- stdout\n{}",
        cut(&stderr),
        cut(&stdout)
    )
}

fn drain<R: Read + Send + 'static>(r: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut r) = r {
            let _ = r.read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

fn cut(s: &str) -> String {
    let mut s = if s.len() > SHOWN {
        let mut end = SHOWN;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}\n[... {} more bytes]", &s[..end], s.len() - end)
    } else {
        s.to_string()
    };
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// Copies a tree, keeping symbolic links as links (cases may ship them).
fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from).min_depth(1) {
        let entry = entry.expect("a readable case file");
        let rel = entry.path().strip_prefix(from).expect("inside the case");
        let dest = to.join(rel);
        let ft = entry.file_type();
        if ft.is_dir() {
            std::fs::create_dir_all(&dest).expect("a folder");
        } else if ft.is_symlink() {
            let target = std::fs::read_link(entry.path()).expect("a link");
            let _ = std::fs::remove_file(&dest);
            std::os::unix::fs::symlink(target, &dest).expect("a link");
        } else if rel.file_name().is_some_and(|n| n == ".keep") {
            // Placeholders that keep empty folders in git.
        } else {
            std::fs::copy(entry.path(), &dest).expect("a copy");
        }
    }
}

/// Everything under `scratch` but outside `ws`: path → (kind, content or link target).
fn outside(scratch: &Path, ws: &Path) -> BTreeMap<PathBuf, String> {
    walkdir::WalkDir::new(scratch)
        .into_iter()
        .filter_entry(|e| e.path() != ws)
        .filter_map(Result::ok)
        .map(|e| {
            let what = if e.file_type().is_symlink() {
                format!("link {:?}", std::fs::read_link(e.path()).ok())
            } else if e.file_type().is_file() {
                let bytes = std::fs::read(e.path()).unwrap_or_default();
                format!("file {}", vow::store::digest(&bytes))
            } else {
                "dir".to_string()
            };
            (e.path().to_path_buf(), what)
        })
        .collect()
}
