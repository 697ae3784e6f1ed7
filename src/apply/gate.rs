//! Gates between waves: health records observed after the wave was applied, the failure
//! budget, and the bake time; or a gate command.
//!
//! A HealthRecord (Kratix's shape: top-level `data` with `promiseRef`, `resourceRef`, `state`,
//! `lastRun` in unix seconds) counts for a wave only when `lastRun` is at or after the wave was
//! applied. Several records of one instance fold to the worst state
//! (`unhealthy` < `degraded` < `unknown` < `healthy` < `ready`).

use crate::diag::{self, Finding};
use crate::source::{self, Doc};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Health {
    Unhealthy,
    Degraded,
    Unknown,
    Healthy,
    Ready,
}

impl Health {
    /// Kratix's states, in lower case; anything else is not a state (`Healthy` included).
    fn parse(s: &str) -> Option<Health> {
        Some(match s {
            "ready" => Health::Ready,
            "healthy" => Health::Healthy,
            "degraded" => Health::Degraded,
            "unhealthy" => Health::Unhealthy,
            "unknown" => Health::Unknown,
            _ => return None,
        })
    }

    /// The state's name as Kratix writes it (what [`Health::parse`] reads).
    pub fn name(self) -> &'static str {
        match self {
            Health::Ready => "ready",
            Health::Healthy => "healthy",
            Health::Degraded => "degraded",
            Health::Unhealthy => "unhealthy",
            Health::Unknown => "unknown",
        }
    }
}

/// Health records by instance (`<promise>:<namespace>/<name>`): (state, lastRun).
pub(super) type Records = BTreeMap<String, Vec<(Health, i64)>>;

/// Records that could not be read: by instance when the record names one, else unplaced.
#[derive(Clone, Debug, Default)]
pub(super) struct Invalid {
    pub by_instance: BTreeMap<String, Vec<Finding>>,
    pub other: Vec<Finding>,
}

/// Reads HealthRecords from the workspace's health folder and the store's `.vow/health/`.
pub fn records(dirs: &[&Path], root: &Path) -> Records {
    records_checked(dirs, root).0
}

/// Reads HealthRecords, with a finding (naming the file and line) for each one that is invalid
/// and for each health file that cannot be read.
pub(super) fn records_checked(dirs: &[&Path], root: &Path) -> (Records, Invalid) {
    let mut out = Records::new();
    let mut invalid = Invalid::default();
    for dir in dirs {
        let (docs, findings) = source::read_documents(root, &source::list_files(dir));
        invalid.other.extend(findings);
        for d in docs.iter().filter(|d| d.kind() == "HealthRecord") {
            match record(root, d) {
                Ok((r, h)) => out.entry(r).or_default().push(h),
                Err((Some(r), f)) => invalid.by_instance.entry(r).or_default().push(f),
                Err((None, f)) => invalid.other.push(f),
            }
        }
    }
    (out, invalid)
}

type Bad = (Option<String>, Finding);

fn record(root: &Path, d: &Doc) -> Result<(String, (Health, i64)), Bad> {
    // The field's own line when it is there (found only for invalid records: rare), else the
    // document's.
    let bad = |r: Option<String>, why: String, field: &str| -> Bad {
        let at = source::locate::field_location(root, &d.location, field)
            .unwrap_or_else(|| d.location.clone());
        let f = Finding::new(
            diag::INVALID_HEALTH_RECORD,
            format!("{at}: HealthRecord: {why}"),
        )
        .at(at)
        .help("fix the record where it is written: data.state is one of ready, healthy, degraded, unhealthy, unknown; data.lastRun is unix seconds (a number)");
        (r, f)
    };
    let Some(data) = d.value.get("data") else {
        return Err(bad(None, "it has no `data`".into(), "data"));
    };
    let s = |p: &str| data.pointer(p).and_then(Value::as_str);
    let Some(promise) = s("/promiseRef/name") else {
        return Err(bad(
            None,
            "`data.promiseRef.name` is missing or not a string".into(),
            "data",
        ));
    };
    let Some(name) = s("/resourceRef/name") else {
        return Err(bad(
            None,
            "`data.resourceRef.name` is missing or not a string".into(),
            "data",
        ));
    };
    let ns = s("/resourceRef/namespace").unwrap_or("default");
    let id = format!("{promise}:{ns}/{name}");
    let state = match data.get("state") {
        None => return Err(bad(Some(id), "`data.state` is missing".into(), "data")),
        Some(v) => match v.as_str().and_then(Health::parse) {
            Some(h) => h,
            None => {
                return Err(bad(
                    Some(id),
                    format!("`data.state` is {v}, not one of ready, healthy, degraded, unhealthy, unknown (lower case)"),
                    "data.state",
                ))
            }
        },
    };
    let last = match data.get("lastRun") {
        None => return Err(bad(Some(id), "`data.lastRun` is missing".into(), "data")),
        Some(v) => match v.as_i64() {
            Some(t) => t,
            None => {
                return Err(bad(
                    Some(id),
                    format!("`data.lastRun` is {v}, not a number of unix seconds"),
                    "data.lastRun",
                ))
            }
        },
    };
    Ok((id, (state, last)))
}

/// The instances of an applied wave that its health gate still waits for, with why (for
/// `vow status`, which lists them all). `judged`: whether the gate judges the instance (it
/// still has a binding, and is not a Promise's dependencies).
pub fn waiting(
    records: &Records,
    wave: &super::journal::WaveRecord,
    judged: &dyn Fn(&str) -> bool,
) -> Vec<(String, String)> {
    let since = crate::duration::parse_time(&wave.applied_at)
        .map(|t| t.timestamp())
        .unwrap_or(i64::MAX);
    wave.instances
        .iter()
        .filter(|i| judged(i))
        .filter_map(|i| {
            let worst = records
                .get(i)
                .into_iter()
                .flatten()
                .filter(|(_, t)| *t >= since)
                .map(|(h, _)| *h)
                .min();
            let why = match worst {
                None => format!("no health record observed after {}", wave.applied_at),
                Some(Health::Unknown) => "its health record says `unknown`".to_string(),
                Some(_) => return None,
            };
            Some((i.clone(), why))
        })
        .collect()
}

/// What a gate decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Pass,
    /// Not decidable yet: come back at `until` (bake) or when records arrive.
    Wait {
        until: Option<DateTime<Utc>>,
        why: String,
    },
    /// Over budget: these instances failed.
    Fail {
        failed: Vec<String>,
        why: String,
    },
}

pub(super) struct GateInput<'a> {
    pub instances: &'a [String],
    pub applied_at: DateTime<Utc>,
    pub bake_seconds: i64,
    pub budget: u64,
    pub now: DateTime<Utc>,
}

/// Judges a wave from health records.
#[cfg(test)]
pub(super) fn judge(g: &GateInput, records: &Records) -> Decision {
    judge_with(g, records, &Invalid::default())
}

/// Judges a wave from health records; a wave that waits names, for each instance it waits
/// for, whether its record is missing or invalid (and where), and any health file unread.
pub(super) fn judge_with(g: &GateInput, records: &Records, invalid: &Invalid) -> Decision {
    let decision = judge_pending(g, records, &|i: &str| match invalid.by_instance.get(i) {
        Some(fs) => {
            let why: Vec<String> = fs.iter().map(|f| f.message.clone()).collect();
            format!("{i} (invalid record: {})", why.join("; "))
        }
        None => i.to_string(),
    });
    match decision {
        Decision::Wait { until: None, why } if !invalid.other.is_empty() => {
            let other: Vec<String> = invalid
                .other
                .iter()
                .take(5)
                .map(|f| f.message.clone())
                .collect();
            Decision::Wait {
                until: None,
                why: format!(
                    "{why}; health records that cannot be read: {}",
                    other.join("; ")
                ),
            }
        }
        d => d,
    }
}

fn judge_pending(g: &GateInput, records: &Records, shown: &dyn Fn(&str) -> String) -> Decision {
    let since = g.applied_at.timestamp();
    let mut failed = Vec::new();
    let mut pending = Vec::new();
    for i in g.instances {
        let worst = records
            .get(i)
            .into_iter()
            .flatten()
            .filter(|(_, t)| *t >= since)
            .map(|(h, _)| *h)
            .min();
        match worst {
            Some(Health::Healthy | Health::Ready) => {}
            Some(Health::Degraded | Health::Unhealthy) => failed.push(i.clone()),
            Some(Health::Unknown) | None => pending.push(shown(i)),
        }
    }
    if failed.len() as u64 > g.budget {
        let why = format!(
            "{} of {} instances failed their health check, over the failure budget of {}",
            failed.len(),
            g.instances.len(),
            g.budget
        );
        return Decision::Fail { failed, why };
    }
    bake_or_pass(g, pending)
}

/// After health: the bake time, then pass.
pub(super) fn bake_or_pass(g: &GateInput, pending: Vec<String>) -> Decision {
    if !pending.is_empty() {
        let shown: Vec<&str> = pending.iter().take(5).map(String::as_str).collect();
        return Decision::Wait {
            until: None,
            why: format!(
                "health records observed after {} for {} instance(s): {}{}",
                crate::duration::format_time(g.applied_at),
                pending.len(),
                shown.join(", "),
                if pending.len() > 5 { ", ..." } else { "" }
            ),
        };
    }
    let until = g.applied_at + chrono::Duration::seconds(g.bake_seconds);
    if g.now < until {
        return Decision::Wait {
            until: Some(until),
            why: format!(
                "the bake time, until {}",
                crate::duration::format_time(until)
            ),
        };
    }
    Decision::Pass
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        crate::duration::parse_time(s).unwrap()
    }

    #[test]
    fn records_count_only_after_the_wave_and_fold_to_the_worst() {
        let applied = t("2026-12-01T10:00:00Z");
        let mut r = Records::new();
        r.insert(
            "p:n/a".into(),
            vec![
                (Health::Healthy, applied.timestamp() + 60),
                (Health::Degraded, applied.timestamp() + 120),
            ],
        );
        r.insert(
            "p:n/b".into(),
            vec![(Health::Healthy, applied.timestamp() - 60)],
        );
        let inst = vec!["p:n/a".to_string(), "p:n/b".to_string()];
        let g = GateInput {
            instances: &inst,
            applied_at: applied,
            bake_seconds: 3600,
            budget: 0,
            now: t("2026-12-01T12:00:00Z"),
        };
        assert!(
            matches!(judge(&g, &r), Decision::Fail { ref failed, .. } if failed == &vec!["p:n/a".to_string()])
        );
        let g = GateInput { budget: 1, ..g };
        assert!(
            matches!(judge(&g, &r), Decision::Wait { until: None, .. }),
            "b's record is from before the wave"
        );
        r.insert(
            "p:n/b".into(),
            vec![(Health::Ready, applied.timestamp() + 5)],
        );
        assert_eq!(judge(&g, &r), Decision::Pass);
        let early = GateInput {
            now: t("2026-12-01T10:30:00Z"),
            ..g
        };
        assert_eq!(
            judge(&early, &r),
            Decision::Wait {
                until: Some(t("2026-12-01T11:00:00Z")),
                why: "the bake time, until 2026-12-01T11:00:00Z".into()
            }
        );
    }

    fn doc(yaml: &str) -> Doc {
        Doc {
            location: crate::diag::Location::new("health/x.yaml".into(), 3),
            item: None,
            value: serde_yaml::from_str(yaml).unwrap(),
        }
    }

    #[test]
    fn invalid_records_are_findings_naming_the_instance() {
        let base = "data: {promiseRef: {name: p}, resourceRef: {name: a, namespace: n}";
        let ok = record(
            Path::new("/nonexistent"),
            &doc(&format!("{base}, state: healthy, lastRun: 5}}")),
        )
        .unwrap();
        assert_eq!(ok, ("p:n/a".to_string(), (Health::Healthy, 5)));
        for bad in [
            format!("{base}, state: Healthy, lastRun: 5}}"),
            format!("{base}, state: healthy, lastRun: '5'}}"),
            format!("{base}, lastRun: 5}}"),
            format!("{base}, state: healthy}}"),
        ] {
            let (id, f) = record(Path::new("/nonexistent"), &doc(&bad)).unwrap_err();
            assert_eq!(id.as_deref(), Some("p:n/a"), "{bad}");
            assert_eq!(f.code.id, "V404");
            assert!(f.message.starts_with("health/x.yaml:3: "), "{}", f.message);
        }
        let (id, _) = record(
            Path::new("/nonexistent"),
            &doc("data: {promiseRef: {name: p}, state: healthy}"),
        )
        .unwrap_err();
        assert_eq!(id, None);
    }

    #[test]
    fn a_waiting_gate_names_invalid_records() {
        let inst = vec!["p:n/a".to_string()];
        let g = GateInput {
            instances: &inst,
            applied_at: t("2026-12-01T10:00:00Z"),
            bake_seconds: 0,
            budget: 0,
            now: t("2026-12-01T12:00:00Z"),
        };
        let mut invalid = Invalid::default();
        invalid.by_instance.insert(
            "p:n/a".into(),
            vec![Finding::new(
                diag::INVALID_HEALTH_RECORD,
                "health/x.yaml:3: bad state",
            )],
        );
        match judge_with(&g, &Records::new(), &invalid) {
            Decision::Wait { why, .. } => assert!(
                why.contains("p:n/a (invalid record: health/x.yaml:3: bad state)"),
                "{why}"
            ),
            d => panic!("{d:?}"),
        }
    }
}
