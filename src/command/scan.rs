//! `vow scan`: the compliance report of the fleet as it is applied now (the scan itself is
//! src/scan.rs).

use super::{fails, policy_report, FailOn, ReportFormat, Sink};
use crate::error::{exit, Result};
use crate::load::inputs::Catalogue;
use crate::model::Request;
use crate::report;
use crate::timings::Stage;
use std::path::Path;

/// Scans the fleet and writes the report in `format` to `out` or stdout.
pub(crate) fn scan(
    inputs: &Catalogue,
    requests: &[Request],
    format: ReportFormat,
    fail_on: FailOn,
    out: Option<&Path>,
    sink: &mut Sink,
) -> Result<i32> {
    let result = crate::timings::time(Stage::Evaluate, || crate::scan::scan(inputs, requests));
    let apis = report::apis_of(&inputs.promises);
    let view = report::PolicyView {
        command: "scan",
        findings: &result.findings,
        rules: &inputs.policy.rules,
        checked: &result.checked,
        compliance: Some(&result.compliance),
        tests: &[],
        now: inputs.now,
        apis: &apis,
        waivers: &inputs.policy.waiver_status,
    };
    if out.is_some() {
        crate::snippet::report_to_file();
    }
    crate::timings::time(Stage::Output, || {
        sink.emit(&policy_report(&view, format, &inputs.ws.labels), out)
    })?;
    Ok(if fails(&result.findings, fail_on) {
        exit::FINDINGS
    } else {
        exit::OK
    })
}
