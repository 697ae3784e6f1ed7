//! `vow check`, the pre-merge check: everything loads and compiles, every request (or every
//! request of the changed files) passes, every test case passes.

use super::{fails, policy_report, FailOn, ReportFormat, Sink};
use crate::diag::{self, Finding};
use crate::error::{exit, Error, Result};
use crate::evaluate;
use crate::load::inputs::{Catalogue, Fleet};
use crate::model::Request;
use crate::report;
use crate::timings::Stage;
use std::path::PathBuf;
use std::sync::Arc;

/// What to check and where the report goes.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub format: ReportFormat,
    /// Also fail on a non-blocking finding at least this severe.
    pub fail_on: FailOn,
    /// Report request findings only for requests in these files.
    pub changed: Vec<PathBuf>,
    /// The report file instead of stdout.
    pub out: Option<PathBuf>,
}

/// Checks the workspace and writes the report.
pub(crate) fn check(
    inputs: &Catalogue,
    requests: Fleet,
    opts: &Options,
    sink: &mut Sink,
) -> Result<i32> {
    // A path that names nothing would check nothing, and pass.
    if let Some(missing) = opts.changed.iter().find(|p| !p.exists()) {
        return Err(Error::Usage(format!(
            "error[V005]: --changed {}: no such file\n  help: name files that exist in the workspace (a deleted file has no requests left to check)",
            missing.display()
        )));
    }
    let changed = changed_files(inputs, &opts.changed);
    let in_scope = |file: &str| changed.is_empty() || changed.iter().any(|c| &**c == file);
    let mut findings: Vec<Finding> = inputs
        .findings
        .iter()
        .filter(|f| f.instance.is_none() || f.location.as_ref().is_none_or(|l| in_scope(&l.file)))
        .cloned()
        .collect();
    // Moved out and freed as they are evaluated: test cases do not read the fleet's requests.
    let requests: Vec<Request> = requests
        .into_iter()
        .filter(|r| in_scope(&r.location.file))
        .collect();
    let evaluated: Vec<evaluate::Evaluated> = crate::timings::time(Stage::Evaluate, || {
        let eval_opts = evaluate::Options::new(evaluate::Detail::Digests);
        evaluate::run_with_progress(
            inputs,
            evaluate::Requests::Owned(requests),
            &eval_opts,
            &super::progress::Terminal::new("evaluating"),
        )
    });
    for e in &evaluated {
        findings.extend(e.findings.iter().cloned());
    }
    let (tests, test_findings) = crate::testcase::run_all(inputs);
    findings.extend(test_findings);
    diag::sort_findings(&mut findings);
    let apis = report::apis_of(&inputs.promises);
    let view = report::PolicyView {
        command: "check",
        findings: &findings,
        rules: &inputs.policy.rules,
        checked: &[],
        compliance: None,
        tests: &tests,
        now: inputs.now,
        apis: &apis,
        waivers: &[],
    };
    if opts.out.is_some() {
        crate::snippet::report_to_file();
    }
    sink.emit(
        &policy_report(&view, opts.format, &inputs.ws.labels),
        opts.out.as_deref(),
    )?;
    let blocked = findings.iter().any(|f| f.blocking);
    let failed_tests = tests.iter().any(|t| !t.passed);
    Ok(
        if blocked || failed_tests || fails(&findings, opts.fail_on) {
            exit::FINDINGS
        } else {
            exit::OK
        },
    )
}

/// The `--changed` files as findings and requests name them (relative to the workspace).
fn changed_files(inputs: &Catalogue, changed: &[PathBuf]) -> Vec<Arc<str>> {
    changed
        .iter()
        .map(|p| {
            let abs = if p.is_absolute() {
                p.clone()
            } else {
                std::env::current_dir().unwrap_or_default().join(p)
            };
            let abs = abs.canonicalize().unwrap_or(abs);
            crate::source::display_path(&inputs.ws.root, &abs)
        })
        .collect()
}
