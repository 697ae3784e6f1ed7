//! The README's examples are true: every ```console and ```sh block of README.md is run, in
//! order, in one copy of the example workspace, with the built `vow` on PATH; and the
//! HealthRecord example of docs/apply.md is one of the records that walk-through reads.
//!
//! The conventions (README.md says them where a reader meets them):
//! - A ```console block is a transcript: a line starting with `$ ` is a command, the lines after
//!   it (up to the next `$ `) are what it prints, stdout and stderr together. Every shown line
//!   must appear in the output, in the order shown; `...` or `…` inside a line stands for any
//!   text, and a line that is only `...` for any lines.
//! - A ```sh block is commands only, one a line (`#` lines are comments).
//! - A command exits 0, unless its comment says `exits N`, within 5 minutes.
//! - A block right after a line `<!-- not run: REASON -->` is not run (it installs things,
//!   writes outside the workspace, ...); every other block is.
//! - `cargo run --release -- ARGS` runs as `vow ARGS` (what it runs after the build), and the
//!   commands of [`NOT_RUN`] are not run.
//! - The example is as of its date: `vow` runs with `--now 2026-12-01T09:00:00Z` unless the
//!   command gives its own `--now` (the waivers' expiry dates and the windows are the example's).
//! - A run id (12 hex digits) stands for the id of the run of the workspace's `plan.json`: it is
//!   the start of the plan's digest, which changes with any change of the plan's output.

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
use std::process::{Command, Stdio};

/// The example's date: the clock of every command that does not set `--now`.
const NOW: &str = "2026-12-01T09:00:00Z";

/// The longest a README command may run (`timeout`'s syntax); it exits 124 after that.
const TIMEOUT: &str = "300s";

/// Commands of the README that are not run, and why.
const NOT_RUN: &[(&str, &str)] = &[("cargo test", "it is the suite this test is part of")];

/// What a README command is run as: (the start as written, what runs instead).
const REWRITES: &[(&str, &str)] = &[("cargo run --release -- ", "vow ")];

/// One command of the README: where it is, what runs, what it must exit with and print.
#[derive(Debug)]
struct Example {
    line: usize,
    command: String,
    code: i32,
    shown: Vec<String>,
}

/// The README's fenced blocks that are run, as examples; and the number of blocks not run.
fn examples(readme: &str) -> (Vec<Example>, usize) {
    let mut out = Vec::new();
    let mut skipped = 0;
    let mut previous = "";
    let mut block: Option<(&str, bool)> = None;
    for (i, line) in readme.lines().enumerate() {
        let number = i + 1;
        let fence = line.trim();
        match block {
            None => {
                if let Some(lang) = fence.strip_prefix("```") {
                    if lang == "console" || lang == "sh" {
                        let run = !previous.trim().starts_with("<!-- not run:");
                        skipped += usize::from(!run);
                        block = Some((if lang == "sh" { "sh" } else { "console" }, run));
                    } else {
                        block = Some(("other", false));
                    }
                }
            }
            Some(_) if fence == "```" => block = None,
            Some(("console", true)) => {
                if let Some(command) = line.strip_prefix("$ ") {
                    out.push(example(number, command));
                } else if let Some(last) = out.last_mut() {
                    last.shown.push(line.to_string());
                } else {
                    panic!("README.md:{number}: output before the block's first `$ ` command");
                }
            }
            Some(("sh", true)) if !fence.is_empty() && !fence.starts_with('#') => {
                out.push(example(number, line));
            }
            Some(_) => {}
        }
        if !line.trim().is_empty() {
            previous = line;
        }
    }
    (out, skipped)
}

fn example(line: usize, written: &str) -> Example {
    let comment = written.split_once(" #").map_or("", |(_, c)| c);
    let code = comment
        .split_once("exits ")
        .and_then(|(_, rest)| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let mut command = written.trim().to_string();
    for (from, to) in REWRITES {
        if let Some(rest) = command.strip_prefix(from) {
            command = format!("{to}{rest}");
        }
    }
    Example {
        line,
        command,
        code,
        shown: Vec::new(),
    }
}

/// A `vow` on PATH that is the built one, with the example's clock unless `--now` is given.
fn vow_on_path(bin: &Path) {
    std::fs::create_dir_all(bin).unwrap();
    let script = format!(
        "#!/bin/sh\nfor a in \"$@\"; do case $a in --now|--now=*) exec '{vow}' \"$@\";; esac; done\n\
         exec '{vow}' --now {NOW} \"$@\"\n",
        vow = env!("CARGO_BIN_EXE_vow")
    );
    let path = bin.join("vow");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The run id of the workspace's plan.json, if there is one.
fn run_id(ws: &Path) -> Option<String> {
    let text = std::fs::read_to_string(ws.join("plan.json")).ok()?;
    let plan: serde_json::Value = serde_json::from_str(&text).ok()?;
    let id = plan["planId"].as_str()?.strip_prefix("sha256:")?;
    Some(id.chars().take(12).collect())
}

/// `text` with each run id (a word of 12 hex digits) replaced by `id`.
fn with_run_id(text: &str, id: Option<&str>) -> String {
    let Some(id) = id else {
        return text.to_string();
    };
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let is_id = word.len() == 12 && word.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'));
        out.push_str(if is_id { id } else { word });
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Runs a command through `sh -c` in `ws`, for at most [`TIMEOUT`]; (exit code, stdout and
/// stderr as one text).
fn run(ws: &Path, bin: &Path, command: &str) -> (i32, String) {
    let log = ws.join(".readme-output");
    let file = std::fs::File::create(&log).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // coreutils' `timeout`: a command that waits for ever (`--wait` on records that never come)
    // fails the test instead of hanging it.
    let status = Command::new("timeout")
        .args([TIMEOUT, "sh", "-c", command])
        .current_dir(ws)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .status()
        .unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::remove_file(&log).unwrap();
    (status.code().unwrap_or(-1), text)
}

/// Whether an output line shows a shown line: the shown line's pieces between `...`/`…`, in
/// order.
fn shows(actual: &str, shown: &str) -> bool {
    let mut rest = actual;
    for piece in shown.split("...").flat_map(|p| p.split('…')) {
        let piece = piece.trim();
        if piece.is_empty() {
            continue;
        }
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

/// The first shown line that is not in the output, in order: (its README line, the line).
fn missing(output: &str, shown: &[String], first_line: usize) -> Option<(usize, String)> {
    let lines: Vec<&str> = output.lines().collect();
    let mut at = 0;
    for (i, s) in shown.iter().enumerate() {
        let s = s.trim_end();
        if matches!(s.trim(), "" | "..." | "…") {
            continue;
        }
        match lines[at..].iter().position(|l| shows(l, s)) {
            Some(k) => at += k + 1,
            None => return Some((first_line + 1 + i, s.to_string())),
        }
    }
    None
}

#[test]
fn every_command_of_the_readme_does_what_the_readme_says() {
    let readme = std::fs::read_to_string(common::repo().join("README.md")).unwrap();
    let (examples, skipped) = examples(&readme);
    assert!(
        examples.len() >= 15,
        "only {} README commands found",
        examples.len()
    );
    assert!(skipped <= 2, "{skipped} README blocks are marked not run");
    let ws = common::example_copy();
    let bin = tempfile::tempdir().unwrap();
    vow_on_path(bin.path());
    let mut failures = Vec::new();
    for e in &examples {
        if let Some((_, why)) = NOT_RUN.iter().find(|(c, _)| e.command.starts_with(c)) {
            eprintln!("README.md:{}: not run ({why}): {}", e.line, e.command);
            continue;
        }
        let id = run_id(ws.path());
        let command = with_run_id(&e.command, id.as_deref());
        let (code, output) = run(ws.path(), bin.path(), &command);
        let shown: Vec<String> = e
            .shown
            .iter()
            .map(|s| with_run_id(s, id.as_deref()))
            .collect();
        if code != e.code {
            failures.push(format!(
                "README.md:{}: `{command}` exited {code}{}, the README says {} (a comment \
                 `# exits N` gives another code):\n{output}",
                e.line,
                if code == 124 {
                    format!(" (killed after {TIMEOUT})")
                } else {
                    String::new()
                },
                e.code
            ));
        } else if let Some((line, s)) = missing(&output, &shown, e.line) {
            failures.push(format!(
                "README.md:{line}: `{command}` does not print (in this order) the line\n    \
                 {s}\nit printed:\n{output}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The conventions on small READMEs, as cases: (README text, the commands, their exit codes).
#[test]
fn the_conventions_read_commands_codes_and_output() {
    let text = "```sh\n# a comment\ncargo run --release -- plan   # exits 1: blocked\n```\n\
                <!-- not run: installs -->\n```sh\nvow completions bash > ~/x\n```\n\
                ```console\n$ vow test\n...\n28 passed, 0 failed\n$ vow status\n```\n\
                ```\n$ not a command\n```\n";
    let (found, skipped) = examples(text);
    assert_eq!(skipped, 1);
    let got: Vec<(&str, i32, usize)> = found
        .iter()
        .map(|e| (e.command.as_str(), e.code, e.shown.len()))
        .collect();
    assert_eq!(
        got,
        [
            ("vow plan   # exits 1: blocked", 1, 0),
            ("vow test", 0, 2),
            ("vow status", 0, 0)
        ]
    );
    assert!(shows(
        "run 1: wave 1 canary waits for x",
        "wave 1 ... waits for"
    ));
    assert!(!shows("wave 1 canary", "canary ... wave 1"));
    let shown = vec!["a".to_string(), "...".to_string(), "c".to_string()];
    assert_eq!(missing("a\nb\nc\n", &shown, 0), None);
    assert_eq!(missing("c\na\n", &shown, 0), Some((3, "c".to_string())));
    assert_eq!(
        with_run_id("vow rollback 0123456789ab --out x", Some("ffffffffffff")),
        "vow rollback ffffffffffff --out x"
    );
}

/// The YAML documents of a text (a file, or a Markdown block), as JSON values.
fn yaml_documents(text: &str) -> Vec<serde_json::Value> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(text)
        .map(|d| serde_json::Value::deserialize(d).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

/// The HealthRecord example of docs/apply.md is one of the example's records (which the apply
/// walk-through above reads), so the documented format is one vow reads.
#[test]
fn the_documented_health_record_is_one_of_the_example() {
    let doc = std::fs::read_to_string(common::repo().join("docs/apply.md")).unwrap();
    let blocks: Vec<&str> = doc
        .split("```yaml\n")
        .skip(1)
        .filter_map(|b| b.split_once("```").map(|(block, _)| block))
        .filter(|b| b.contains("kind: HealthRecord"))
        .collect();
    assert_eq!(blocks.len(), 1, "docs/apply.md: one HealthRecord example");
    let shown = yaml_documents(blocks[0]);
    let health = common::repo().join("fixtures/example/health");
    let mut records = Vec::new();
    for entry in std::fs::read_dir(&health).unwrap() {
        records.extend(yaml_documents(
            &std::fs::read_to_string(entry.unwrap().path()).unwrap(),
        ));
    }
    assert!(records.len() >= 29, "{} records", records.len());
    assert!(
        records.contains(&shown[0]),
        "docs/apply.md's HealthRecord is not one of fixtures/example/health/: {:#?}",
        shown[0]
    );
}
