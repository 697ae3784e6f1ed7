//! docs/limits.md agrees with the code: every row naming a constant gives that constant's value,
//! every limit constant has a row, and every catalogue case a row names exists.

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

use std::collections::BTreeMap;
use std::path::Path;

/// The limit constants, by the name the page gives them, as numbers.
fn constants() -> BTreeMap<&'static str, u128> {
    use vow::script as s;
    BTreeMap::from([
        (
            "vow::source::MAX_FILE_BYTES",
            u128::from(vow::source::MAX_FILE_BYTES),
        ),
        (
            "vow::source::names::SUBDOMAIN_MAX",
            vow::source::names::SUBDOMAIN_MAX as u128,
        ),
        (
            "vow::source::names::LABEL_MAX",
            vow::source::names::LABEL_MAX as u128,
        ),
        ("vow::script::MAX_NAME_BYTES", s::MAX_NAME_BYTES as u128),
        ("vow::script::MAX_PATH_BYTES", s::MAX_PATH_BYTES as u128),
        ("vow::script::MAX_SCRIPT_BYTES", s::MAX_SCRIPT_BYTES as u128),
        ("vow::script::MAX_OPERATIONS", u128::from(s::MAX_OPERATIONS)),
        (
            "vow::script::TIME_BUDGET",
            u128::from(s::TIME_BUDGET.as_secs()),
        ),
        ("vow::script::MAX_CALL_LEVELS", s::MAX_CALL_LEVELS as u128),
        ("vow::script::MAX_STRING_SIZE", s::MAX_STRING_SIZE as u128),
        ("vow::script::MAX_ARRAY_SIZE", s::MAX_ARRAY_SIZE as u128),
        ("vow::script::MAX_MAP_SIZE", s::MAX_MAP_SIZE as u128),
        ("vow::script::MAX_DATA_DEPTH", s::MAX_DATA_DEPTH as u128),
        (
            "vow::script::limits::MAX_EXPR_DEPTH",
            s::limits::MAX_EXPR_DEPTH as u128,
        ),
        (
            "vow::script::limits::MAX_FUNCTIONS",
            s::limits::MAX_FUNCTIONS as u128,
        ),
        ("vow::script::STACK_BYTES", s::STACK_BYTES as u128),
        ("vow::cli::MAX_JOBS", vow::cli::MAX_JOBS as u128),
        (
            "vow::apply::gate_cmd::OUTPUT_LIMIT",
            vow::apply::gate_cmd::OUTPUT_LIMIT as u128,
        ),
    ])
}

/// The table rows of the page: (value, constant, catalogue cases) of each.
fn rows() -> Vec<(String, String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let page = std::fs::read_to_string(root.join("docs/limits.md")).unwrap();
    page.lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| limit"))
        .map(|l| {
            let cells: Vec<&str> = l.split(" | ").collect();
            assert!(cells.len() >= 5, "a row of five cells: {l}");
            let cell = |i: usize| cells[i].trim_matches(|c| c == '|' || c == ' ').to_string();
            (cell(1), cell(2), cell(4))
        })
        .collect()
}

#[test]
fn every_limit_on_the_page_is_the_codes() {
    let constants = constants();
    let mut seen = Vec::new();
    for (value, constant, _) in rows() {
        let Some(name) = constant.strip_prefix('`').and_then(|c| c.split('`').next()) else {
            continue;
        };
        let Some(actual) = constants.get(name) else {
            panic!("docs/limits.md names `{name}`, which this test does not know: add it");
        };
        let stated: u128 = value
            .split(|c: char| !c.is_ascii_digit())
            .find(|n| !n.is_empty())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no number in `{value}` for {name}"));
        assert_eq!(stated, *actual, "docs/limits.md says {value} for {name}");
        seen.push(name.to_string());
    }
    for name in constants.keys() {
        assert!(
            seen.iter().any(|s| s == name),
            "{name} has no row in docs/limits.md"
        );
    }
}

#[test]
fn every_case_the_page_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-inputs");
    for (_, _, cases) in rows() {
        for case in cases.split('`').skip(1).step_by(2) {
            assert!(
                root.join(case).join("case.yaml").is_file(),
                "docs/limits.md names the catalogue case `{case}`, which does not exist"
            );
        }
    }
}
