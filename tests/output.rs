//! The command line's output rules (docs/cli.md): machine output on stdout, everything for
//! people on stderr, for every command; findings with their source line; colour by `--color`,
//! `NO_COLOR` and the terminal; progress only on a terminal.
//!
//! Snapshots: `INSTA_UPDATE=always cargo test -q --test output`. The terminal tests run `vow`
//! under a pseudo-terminal with `script` (bsdutils on Debian, util-linux); without it they skip loudly, and fail
//! under `CI=true`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::exit,
    reason = "a test fails loudly; the library may not"
)]

mod common;
use common::{request, scratch_workspace, vow_in, write};
use std::path::Path;
use std::process::Command;

const NOW: &str = "2026-12-01T10:00:00Z";

/// A workspace with one good request and one whose size breaks the schema's maximum.
fn workspace() -> tempfile::TempDir {
    let ws = scratch_workspace();
    write(ws.path(), "requests/good.yaml", &request("good", 5));
    write(ws.path(), "requests/big.yaml", &request("big", 500));
    ws
}

fn vow(ws: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["--now", NOW];
    all.extend_from_slice(args);
    vow_in(ws, &all)
}

/// Whether a text holds what progress draws: carriage returns and terminal escapes.
fn has_progress(text: &str) -> bool {
    text.contains('\r') || text.contains('\u{1b}') || text.contains("evaluating ")
}

#[test]
fn findings_show_their_line_with_a_caret_under_the_field() {
    let ws = workspace();
    let (code, stdout, stderr) = vow(ws.path(), &["check", "--color", "never"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.contains("  size: 500"), "{stdout}");
    assert!(!stdout.contains('\u{1b}'), "{stdout}");
    insta::assert_snapshot!("check_human_with_snippets", stdout);
    let (_, plan, _) = vow(ws.path(), &["plan", "--color", "never"]);
    insta::assert_snapshot!("plan_human_with_snippets", plan);
}

#[test]
fn a_vow_yaml_finding_shows_its_line() {
    let ws = workspace();
    write(
        ws.path(),
        "vow.yaml",
        "store: {folder: state}\nrollout:\n  bake: forever\n",
    );
    let (code, stdout, stderr) = vow(ws.path(), &["plan", "--color", "never"]);
    assert_ne!(code, 0, "{stdout}");
    insta::assert_snapshot!("vow_yaml_finding", stderr);
}

#[test]
fn machine_formats_have_no_snippets() {
    let ws = workspace();
    for format in ["json", "sarif", "junit", "markdown"] {
        let (_, stdout, _) = vow(
            ws.path(),
            &["scan", "--format", format, "--color", "always"],
        );
        assert!(!stdout.contains("  size: 500"), "{format}: {stdout}");
        assert!(!stdout.contains('\u{1b}'), "{format}: {stdout}");
    }
}

#[test]
fn color_always_colours_findings() {
    let ws = workspace();
    let (_, stdout, _) = vow(ws.path(), &["check", "--color", "always"]);
    assert!(stdout.contains("\u{1b}["), "{stdout}");
    assert!(stdout.contains("size: 500"), "{stdout}");
    // A report written to a file has no colour, whatever stdout is.
    let (_, stdout, _) = vow(ws.path(), &["check", "--color", "always", "--out", "r.txt"]);
    assert_eq!(stdout, "");
    let file = std::fs::read_to_string(ws.path().join("r.txt")).unwrap();
    assert!(
        file.contains("size: 500") && !file.contains('\u{1b}'),
        "{file}"
    );
}

/// Runs `vow --now NOW ARGS` in `ws` under a pseudo-terminal (stdout and stderr both the
/// terminal), with `env`; the terminal's bytes, or `None` when `script` is missing.
fn on_a_terminal(ws: &Path, args: &str, env: &[(&str, &str)]) -> Option<String> {
    terminal(ws, &format!("--now {NOW} {args}"), env)
}

/// Runs `vow ARGS` in `ws` under a pseudo-terminal, with `env`.
fn terminal(ws: &Path, args: &str, env: &[(&str, &str)]) -> Option<String> {
    let vow = env!("CARGO_BIN_EXE_vow");
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &format!("{vow} {args}"), "/dev/null"])
        .current_dir(ws)
        // indicatif draws nothing on a terminal it cannot name (CI has no TERM).
        .env("TERM", "xterm")
        .env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    match cmd.output() {
        Ok(out) => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        Err(e) => {
            eprintln!("SKIPPED: `script` (bsdutils on Debian, util-linux) cannot run: {e}");
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI must have `script` (bsdutils)"
            );
            None
        }
    }
}

#[test]
fn no_color_turns_colour_off_under_auto_on_a_terminal() {
    let ws = workspace();
    let Some(coloured) = on_a_terminal(ws.path(), "check --color auto", &[]) else {
        return;
    };
    assert!(
        coloured.contains("\u{1b}[1m") || coloured.contains("\u{1b}[9"),
        "{coloured:?}"
    );
    let plain = on_a_terminal(ws.path(), "check --color auto -q", &[("NO_COLOR", "1")]).unwrap();
    assert!(plain.contains("size: 500"), "{plain:?}");
    assert!(!plain.contains('\u{1b}'), "{plain:?}");
}

#[test]
fn progress_is_drawn_on_a_terminal_only() {
    let ws = workspace();
    let Some(screen) = on_a_terminal(ws.path(), "plan --format json > plan.json", &[]) else {
        return;
    };
    assert!(screen.contains("loading the workspace"), "{screen:?}");
    assert!(screen.contains("evaluating"), "{screen:?}");
    assert!(screen.contains("requests"), "{screen:?}");
    let quiet = on_a_terminal(ws.path(), "-q plan --format json > plan.json", &[]).unwrap();
    assert!(!quiet.contains("evaluating"), "{quiet:?}");
    // Not a terminal: nothing of it on stderr.
    let (_, _, stderr) = vow(ws.path(), &["plan", "--format", "json"]);
    assert!(!has_progress(&stderr), "{stderr:?}");
}

/// A check of one command's stdout.
type Stdout = fn(&str) -> bool;

fn json(s: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(s).is_ok()
}

fn xml(s: &str) -> bool {
    s.starts_with("<?xml")
}

fn human(s: &str) -> bool {
    !s.is_empty() && !has_progress(s)
}

fn empty(s: &str) -> bool {
    s.is_empty()
}

#[test]
fn every_command_writes_machine_output_to_stdout_and_the_rest_to_stderr() {
    let ws = workspace();
    // Only the good request, so that apply has a plan to apply.
    std::fs::remove_file(ws.path().join("requests/big.yaml")).unwrap();
    let (code, _, stderr) = vow(
        ws.path(),
        &["plan", "--format", "json", "--out", "plan.json"],
    );
    assert_eq!(code, 0, "{stderr}");
    // (arguments, what stdout must be, what stderr must hold)
    let cases: &[(&[&str], Stdout, &str)] = &[
        (&["plan"], human, ""),
        (&["plan", "--format", "json"], json, ""),
        (&["plan", "--format", "markdown"], human, ""),
        (&["scan", "--format", "json"], json, ""),
        (&["scan", "--format", "sarif"], json, ""),
        (&["scan", "--format", "junit"], xml, ""),
        (&["scan"], human, ""),
        (&["check"], human, ""),
        (&["check", "--format", "json"], json, ""),
        (&["test"], human, ""),
        (&["render", "db:team-a/good"], human, ""),
        (&["show", "plan.json", "--format", "json"], json, ""),
        (&["explain", "V100"], human, ""),
        (&["completions", "bash"], human, ""),
        (&["apply", "plan.json"], empty, "run "),
        (&["status"], human, ""),
    ];
    for (args, stdout_ok, stderr_holds) in cases {
        let (code, stdout, stderr) = vow(ws.path(), args);
        assert!(code == 0 || code == 1, "{args:?}: exit {code}: {stderr}");
        assert!(
            stdout_ok(&stdout),
            "{args:?}: stdout:\n{stdout}\nstderr:\n{stderr}"
        );
        assert!(stderr.contains(stderr_holds), "{args:?}: stderr:\n{stderr}");
        assert!(
            !has_progress(&stderr),
            "{args:?}: progress on a pipe: {stderr:?}"
        );
    }
}

#[test]
fn apply_spins_while_a_gate_waits_on_a_terminal() {
    let ws = workspace();
    std::fs::remove_file(ws.path().join("requests/big.yaml")).unwrap();
    // The clock, not --now: only a real wait sleeps, and the spinner is drawn while it does.
    let (code, _, err) = vow_in(
        ws.path(),
        &["plan", "--format", "json", "--out", "plan.json"],
    );
    assert_eq!(code, 0, "{err}");
    // The gate says "not yet" (75) once, then passes.
    let gate = "'test -f ok || { touch ok; exit 75; }'";
    let apply = format!("apply plan.json --wait --poll 1s --gate-cmd {gate}");
    let Some(screen) = terminal(ws.path(), &apply, &[]) else {
        return;
    };
    assert!(screen.contains("applied wave 0 all"), "{screen:?}");
    assert!(screen.contains("waiting for the wave's gate"), "{screen:?}");
    assert!(screen.contains(": done:"), "{screen:?}");
}
