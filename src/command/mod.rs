//! The commands' logic, one module each, between the command line (src/cli.rs: arguments and
//! dispatch) and the library (load, evaluate, plan, scan, apply, report). A command gets plain
//! options, writes its result through the [`Sink`] it is given and returns its exit code; what
//! several commands share (the `--fail-on` threshold, the policy report formats) is here.

pub(crate) mod apply;
pub(crate) mod check;
pub(crate) mod completions;
pub(crate) mod control;
pub(crate) mod explain;
pub(crate) mod fleet;
pub(crate) mod plan;
pub(crate) mod progress;
pub(crate) mod render;
pub(crate) mod rollback;
pub(crate) mod scan;
pub(crate) mod schemas;
pub(crate) mod show;
pub(crate) mod sink;
pub(crate) mod status;
pub(crate) mod test;

pub(crate) use sink::Sink;

use crate::diag::{Finding, Severity};
use crate::report;
use clap::ValueEnum;

/// Formats of policy reports (scan and check).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Human,
    Json,
    Sarif,
    Junit,
    Policyreport,
    /// OpenReports `Report`s per namespace and a `ClusterReport` (docs/reports.md).
    Openreports,
    /// GitLab's Code Quality JSON (docs/reports.md).
    Codequality,
    Github,
    Markdown,
    /// One self-contained page (docs/reports.md).
    Html,
}

/// The lowest severity that fails the command.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    Info,
    Low,
    Medium,
    High,
    Critical,
    /// Fail on any finding that holds an instance back, whatever its severity.
    Blocking,
    /// Never fail on findings.
    Never,
}

impl FailOn {
    fn threshold(self) -> Option<Severity> {
        Some(match self {
            FailOn::Info => Severity::Info,
            FailOn::Low => Severity::Low,
            FailOn::Medium => Severity::Medium,
            FailOn::High => Severity::High,
            FailOn::Critical => Severity::Critical,
            FailOn::Blocking | FailOn::Never => return None,
        })
    }
}

/// Whether any unwaived finding reaches the threshold.
pub(crate) fn fails(findings: &[Finding], fail_on: FailOn) -> bool {
    if fail_on == FailOn::Blocking {
        return findings.iter().any(|f| f.waived.is_none() && f.blocking);
    }
    let Some(t) = fail_on.threshold() else {
        return false;
    };
    findings
        .iter()
        .any(|f| f.waived.is_none() && f.severity >= t)
}

/// A policy report (scan, check) in the format asked for.
/// `labels`: the workspace's team and environment label keys (the HTML page's filters).
pub(crate) fn policy_report(
    v: &report::PolicyView,
    format: ReportFormat,
    labels: &crate::workspace::LabelKeys,
) -> String {
    match format {
        ReportFormat::Human => report::human::policy(v),
        ReportFormat::Json => report::policy_json(v),
        ReportFormat::Sarif => report::sarif::render(v),
        ReportFormat::Junit => report::junit::render(v),
        ReportFormat::Policyreport => report::policyreport::render(v),
        ReportFormat::Openreports => report::openreports::render(v),
        ReportFormat::Codequality => report::codequality::render(v),
        ReportFormat::Github => report::github::render(v),
        ReportFormat::Markdown => report::markdown::render(v),
        ReportFormat::Html => report::html::policy(v, &labels.team, &labels.environment),
    }
}

/// Values a command is done with that are big (a fleet, its evaluations, a plan) and that the
/// process's exit frees at once: dropping them piece by piece took seconds on a large fleet.
/// The command line forgets them all in one place, after the command.
#[derive(Default)]
pub(crate) struct Leftovers(Vec<Box<dyn std::any::Any>>);

impl Leftovers {
    /// Keeps `value` until the end of the process.
    pub(crate) fn keep<T: 'static>(&mut self, value: T) {
        self.0.push(Box::new(value));
    }
}
