//! JUnit XML, as GitLab and most CI systems read it: a test suite per rule, a test case per
//! (rule, instance) check with a unique name, failures with the file and line, waived checks as
//! skipped; workspace findings and `vow test` cases in suites of their own.

use super::PolicyView;
use crate::diag::{Finding, Location};
use crate::policy::CheckOutcome;
use quick_xml::events::{BytesCData, BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use std::collections::{BTreeMap, BTreeSet};

enum Outcome {
    Pass,
    Fail {
        message: String,
        kind: String,
        text: String,
    },
    Skip(String),
}

struct Case {
    name: String,
    classname: String,
    /// Where the case points: `file` is the path alone (GitLab reads it as one), the line
    /// goes into a `line` attribute and the failure's text.
    location: Option<Location>,
    outcome: Outcome,
}

fn failure_text(fs: &[&Finding]) -> String {
    fs.iter()
        .map(|f| f.to_string())
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn cases(v: &PolicyView) -> BTreeMap<String, Vec<Case>> {
    let mut suites: BTreeMap<String, Vec<Case>> = BTreeMap::new();
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut unique = |name: String| {
        let mut n = name.clone();
        let mut i = 2;
        while !names.insert(n.clone()) {
            n = format!("{name} #{i}");
            i += 1;
        }
        n
    };
    for c in v.checked {
        for o in &c.outcomes {
            suites.entry(o.rule.to_string()).or_default().push(Case {
                name: unique(format!("{} {}", o.rule, c.id)),
                classname: format!("vow.{}", o.rule),
                location: Some(c.location.clone()),
                outcome: check_outcome(&c.findings, o),
            });
        }
    }
    // Findings no check covers: loading errors, and everything when there are no checks (check).
    let covered = !v.checked.is_empty();
    for f in v.findings.iter().filter(|f| {
        (f.severity > crate::diag::Severity::Info || f.blocking) && !(covered && f.rule.is_some())
    }) {
        let subject = f
            .instance
            .clone()
            .or_else(|| f.location.as_ref().map(|l| l.to_string()))
            .unwrap_or_else(|| "workspace".into());
        suites
            .entry(format!("vow {}", v.command))
            .or_default()
            .push(Case {
                name: unique(format!("{} {subject}", f.id())),
                classname: format!("vow.{}", f.id()),
                location: f.location.clone(),
                outcome: finding_outcome(f),
            });
    }
    for t in v.tests {
        let outcome = if t.passed {
            Outcome::Pass
        } else {
            Outcome::Fail {
                message: format!("{} / {} failed", t.test, t.case),
                kind: "test".into(),
                text: t.detail.clone(),
            }
        };
        suites.entry("vow test".into()).or_default().push(Case {
            name: unique(format!("{} / {}", t.test, t.case)),
            classname: format!("vow.test.{}", t.test),
            location: Some(t.location.clone()),
            outcome,
        });
    }
    suites
}

/// How one rule's check of an instance went, from the instance's findings of that rule.
fn check_outcome(findings: &[Finding], o: &CheckOutcome) -> Outcome {
    let mine: Vec<&Finding> = findings
        .iter()
        .filter(|f| {
            f.rule.as_deref() == Some(&*o.rule) && (f.blocking || f.waived.is_some() || !o.passed)
        })
        .collect();
    if o.waived {
        let w = mine.iter().find_map(|f| f.waived.as_ref());
        Outcome::Skip(
            w.map(|w| format!("waived by {} until {}: {}", w.waiver, w.expires, w.reason))
                .unwrap_or_default(),
        )
    } else if o.passed {
        Outcome::Pass
    } else {
        let first = mine.first().map(|f| f.message.clone()).unwrap_or_default();
        let kind = mine
            .first()
            .map(|f| f.severity.as_str())
            .unwrap_or("error")
            .to_string();
        Outcome::Fail {
            message: first,
            kind,
            text: failure_text(&mine),
        }
    }
}

/// A finding no check covers: skipped when waived, failed otherwise.
fn finding_outcome(f: &Finding) -> Outcome {
    match &f.waived {
        Some(w) => Outcome::Skip(format!(
            "waived by {} until {}: {}",
            w.waiver, w.expires, w.reason
        )),
        None => Outcome::Fail {
            message: f.message.clone(),
            kind: f.severity.as_str().into(),
            text: f.to_string(),
        },
    }
}

fn counts(cases: &[Case]) -> (usize, usize, usize) {
    let failures = cases
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Fail { .. }))
        .count();
    let skipped = cases
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Skip(_)))
        .count();
    (cases.len(), failures, skipped)
}

pub fn render(v: &PolicyView) -> String {
    let suites = cases(v);
    let all: Vec<&Case> = suites.values().flatten().collect();
    let failures = all
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Fail { .. }))
        .count();
    let skipped = all
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Skip(_)))
        .count();
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let mut root = BytesStart::new("testsuites");
    let total = all.len().to_string();
    let (f, s) = (failures.to_string(), skipped.to_string());
    let name = format!("vow {}", v.command);
    root.push_attribute(("name", name.as_str()));
    root.push_attribute(("tests", total.as_str()));
    root.push_attribute(("failures", f.as_str()));
    root.push_attribute(("errors", "0"));
    root.push_attribute(("skipped", s.as_str()));
    let _ = w.write_event(Event::Start(root));
    for (suite, cases) in &suites {
        let (t, f, s) = counts(cases);
        let (t, f, s) = (t.to_string(), f.to_string(), s.to_string());
        let mut e = BytesStart::new("testsuite");
        e.push_attribute(("name", suite.as_str()));
        e.push_attribute(("tests", t.as_str()));
        e.push_attribute(("failures", f.as_str()));
        e.push_attribute(("errors", "0"));
        e.push_attribute(("skipped", s.as_str()));
        let _ = w.write_event(Event::Start(e));
        for c in cases {
            write_case(&mut w, c);
        }
        let _ = w.write_event(Event::End(BytesEnd::new("testsuite")));
    }
    let _ = w.write_event(Event::End(BytesEnd::new("testsuites")));
    let mut s = String::from_utf8(w.into_inner()).unwrap_or_default();
    s.push('\n');
    s
}

fn write_case(w: &mut Writer<Vec<u8>>, c: &Case) {
    let mut e = BytesStart::new("testcase");
    e.push_attribute(("name", c.name.as_str()));
    e.push_attribute(("classname", c.classname.as_str()));
    let line = c.location.as_ref().map(|l| l.line.to_string());
    if let (Some(l), Some(n)) = (&c.location, &line) {
        e.push_attribute(("file", &*l.file));
        e.push_attribute(("line", n.as_str()));
    }
    match &c.outcome {
        Outcome::Pass => {
            let _ = w.write_event(Event::Empty(e));
        }
        Outcome::Skip(why) => {
            let _ = w.write_event(Event::Start(e));
            let mut s = BytesStart::new("skipped");
            s.push_attribute(("message", why.as_str()));
            let _ = w.write_event(Event::Empty(s));
            let _ = w.write_event(Event::End(BytesEnd::new("testcase")));
        }
        Outcome::Fail {
            message,
            kind,
            text,
        } => {
            let _ = w.write_event(Event::Start(e));
            let mut f = BytesStart::new("failure");
            // The line is in the message too: most readers show the message, few the attributes.
            let message = match &c.location {
                Some(l) => format!("{message} ({l})"),
                None => message.clone(),
            };
            f.push_attribute(("message", message.as_str()));
            f.push_attribute(("type", kind.as_str()));
            let _ = w.write_event(Event::Start(f));
            if text.contains("]]>") {
                let _ = w.write_event(Event::Text(BytesText::new(text)));
            } else {
                let _ = w.write_event(Event::CData(BytesCData::new(text.as_str())));
            }
            let _ = w.write_event(Event::End(BytesEnd::new("failure")));
            let _ = w.write_event(Event::End(BytesEnd::new("testcase")));
        }
    }
}
