//! `vow test`: runs the test cases beside rules and Promises (src/testcase.rs) and reports them.

use super::Sink;
use crate::error::{exit, Error, Result};
use crate::load::inputs::Catalogue;
use crate::report;
use clap::ValueEnum;

/// The formats of the test report.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestFormat {
    Human,
    Json,
    Junit,
}

/// Runs every test case (the results shown only for those whose name contains `filter`).
pub(crate) fn test(
    inputs: &Catalogue,
    filter: Option<&str>,
    format: TestFormat,
    sink: &mut Sink,
) -> Result<i32> {
    let (mut results, findings) = crate::testcase::run_all(inputs);
    if let Some(f) = filter {
        results.retain(|t| t.test.contains(f) || t.case.contains(f));
    }
    let text = match format {
        TestFormat::Human => report::human::tests(&results, &findings),
        TestFormat::Json => {
            let mut s = serde_json::to_string_pretty(
                &serde_json::json!({"tests": results, "findings": findings}),
            )
            .map_err(|e| Error::Store(e.to_string()))?;
            s.push('\n');
            s
        }
        TestFormat::Junit => report::junit::render(&report::PolicyView {
            command: "test",
            findings: &findings,
            rules: &[],
            checked: &[],
            compliance: None,
            tests: &results,
            now: inputs.now,
            apis: &report::apis_of(&inputs.promises),
            waivers: &[],
        }),
    };
    sink.out(&text)?;
    let failed = results.iter().any(|t| !t.passed) || findings.iter().any(|f| f.blocking);
    Ok(if failed { exit::FINDINGS } else { exit::OK })
}
