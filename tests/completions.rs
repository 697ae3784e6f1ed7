//! `vow completions SHELL` and `vow man`: the bash script is valid bash, names every command
//! and completes one; every shell gets a script; the man page is accepted by groff and names
//! every command and option, and `--out` writes one page per command.

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
use common::*;
use std::process::Command;

/// The commands `vow --help` lists (without `help`).
fn commands() -> Vec<String> {
    let (code, out, _) = vow(&["--help"]);
    assert_eq!(code, 0);
    let list = out
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap();
    let names: Vec<String> = list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(String::from)
        .collect();
    assert!(names.len() >= 11, "{names:?}");
    names
}

/// The long options of a command, from its `--help` (`--out`, `--format`, ...).
fn long_options(command: &[&str]) -> Vec<String> {
    let mut args = command.to_vec();
    args.push("--help");
    let (code, out, err) = vow(&args);
    assert_eq!(code, 0, "{err}");
    let mut options: Vec<String> = out
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('-'))
        .filter_map(|l| l.split([' ', ',', '=', '[']).find(|w| w.starts_with("--")))
        .map(|o| o.trim_end_matches("..."))
        .filter(|o| *o != "--help" && *o != "--version")
        .map(String::from)
        .collect();
    options.dedup();
    options
}

fn tool(name: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").is_err(),
            "CI must have `{name}` (.ci/run installs it)"
        );
        eprintln!("!!! `{name}` not found: this check did not run !!!");
    }
    found
}

#[test]
fn the_bash_script_is_valid_names_every_command_and_completes() {
    let (code, script, err) = vow(&["completions", "bash"]);
    assert_eq!(code, 0, "{err}");
    for c in commands() {
        assert!(
            script.contains(&format!("vow__{c}")) || script.contains(&format!(" {c} ")),
            "no {c}"
        );
    }
    if !tool("bash") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vow.bash");
    std::fs::write(&file, &script).unwrap();
    let syntax = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(
        syntax.status.success(),
        "{}",
        String::from_utf8_lossy(&syntax.stderr)
    );
    // What bash does on `vow pl<TAB>` and `vow plan --fo<TAB>`.
    let complete = |words: &str, cword: usize| {
        let line = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD={cword}; \
             _vow vow \"${{COMP_WORDS[$COMP_CWORD]}}\" \"${{COMP_WORDS[$COMP_CWORD-1]}}\"; \
             echo \"${{COMPREPLY[@]}}\"",
            file.display()
        );
        let out = Command::new("bash").args(["-c", &line]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    assert_eq!(complete("vow pl", 1), "plan");
    assert_eq!(complete("vow plan --fo", 2), "--format");
}

#[test]
fn every_shell_gets_a_script() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let (code, script, err) = vow(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        // fish writes `-l format`, the others `--format`.
        assert!(
            script.contains("plan") && script.contains("format"),
            "{shell}"
        );
    }
    let (code, _, err) = vow(&["completions", "tcsh"]);
    assert_eq!(code, 2);
    assert!(err.contains("possible values"), "{err}");
}

#[test]
fn the_man_page_is_accepted_by_groff_and_names_every_command_and_option() {
    let (code, page, err) = vow(&["man"]);
    assert_eq!(code, 0, "{err}");
    // roff writes a hyphen as `\-`.
    let text = page.replace("\\-", "-");
    for c in commands() {
        assert!(text.contains(&format!(".TH vow-{c} 1")), "no page for {c}");
        for o in long_options(&[&c]) {
            assert!(
                text.contains(&o),
                "the man page does not name `vow {c} {o}`"
            );
        }
    }
    for o in long_options(&[]) {
        assert!(text.contains(&o), "the man page does not name `vow {o}`");
    }
    assert!(
        !text.contains("vow-schemas"),
        "the hidden command has no page"
    );
    if !tool("groff") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vow.1");
    std::fs::write(&file, &page).unwrap();
    let out = Command::new("groff")
        .args(["-man", "-Tutf8", "-z", "-ww"])
        .arg(&file)
        .output()
        .unwrap();
    let warnings = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && warnings.is_empty(),
        "groff: {warnings}"
    );
}

#[test]
fn man_out_writes_one_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = vow(&["man", "--out", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty(), "stdout is for machine output: {out}");
    let mut pages: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    let mut expected: Vec<String> = commands().iter().map(|c| format!("vow-{c}.1")).collect();
    expected.push("vow.1".into());
    expected.sort();
    assert_eq!(pages, expected);
}
