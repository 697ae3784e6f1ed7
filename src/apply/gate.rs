//! Gates between waves: health records observed after the wave was applied, the failure
//! budget, and the bake time; or a gate command.
//!
//! A HealthRecord (Kratix's shape: top-level `data` with `promiseRef`, `resourceRef`, `state`,
//! `lastRun` in unix seconds) counts for a wave only when `lastRun` is at or after the wave was
//! applied. Several records of one instance fold to the worst state
//! (`unhealthy` < `degraded` < `unknown` < `healthy` < `ready`).

use crate::load::{self, Doc};
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
    fn parse(s: &str) -> Health {
        match s {
            "ready" => Health::Ready,
            "healthy" => Health::Healthy,
            "degraded" => Health::Degraded,
            "unhealthy" => Health::Unhealthy,
            _ => Health::Unknown,
        }
    }
}

/// Health records by instance (`<promise>:<namespace>/<name>`): (state, lastRun).
pub type Records = BTreeMap<String, Vec<(Health, i64)>>;

/// Reads HealthRecords from the workspace's health folder and the store's `.vow/health/`.
pub fn records(dirs: &[&Path], root: &Path) -> Records {
    let mut out = Records::new();
    for dir in dirs {
        let (docs, _) = load::read_documents(root, &load::list_files(dir));
        for d in docs.iter().filter(|d| d.kind() == "HealthRecord") {
            if let Some((r, h)) = record(d) {
                out.entry(r).or_default().push(h);
            }
        }
    }
    out
}

fn record(d: &Doc) -> Option<(String, (Health, i64))> {
    let data = d.value.get("data")?;
    let s = |p: &str| data.pointer(p).and_then(Value::as_str);
    let promise = s("/promiseRef/name")?;
    let name = s("/resourceRef/name")?;
    let ns = s("/resourceRef/namespace").unwrap_or("default");
    let state = Health::parse(s("/state").unwrap_or("unknown"));
    let last = data
        .get("lastRun")
        .and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|t| t.parse().ok()))
        })
        .unwrap_or(0);
    Some((format!("{promise}:{ns}/{name}"), (state, last)))
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

pub struct GateInput<'a> {
    pub instances: &'a [String],
    pub applied_at: DateTime<Utc>,
    pub bake_seconds: i64,
    pub budget: u64,
    pub now: DateTime<Utc>,
}

/// Judges a wave from health records.
pub fn judge(g: &GateInput, records: &Records) -> Decision {
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
            Some(Health::Unknown) | None => pending.push(i.clone()),
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
pub fn bake_or_pass(g: &GateInput, pending: Vec<String>) -> Decision {
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

/// Runs a gate command with the wave's instances on stdin (one per line) and, when the list
/// fits in an environment variable, in `VOW_INSTANCES`; `VOW_INSTANCE_COUNT` always. Exit 0
/// passes, 75 (EX_TEMPFAIL) means not yet, anything else fails the wave.
pub fn command(
    cmd: &str,
    plan: &str,
    wave: usize,
    name: &str,
    instances: &[String],
) -> anyhow::Result<Option<bool>> {
    use std::io::Write;
    let mut command = std::process::Command::new("sh");
    command
        .arg("-c")
        .arg(cmd)
        .env("VOW_PLAN", plan)
        .env("VOW_WAVE", wave.to_string())
        .env("VOW_WAVE_NAME", name)
        .env("VOW_INSTANCE_COUNT", instances.len().to_string());
    // Large waves would overflow the kernel's limit on the environment: stdin has them all.
    let list = instances.join(" ");
    if list.len() < 32 * 1024 {
        command.env("VOW_INSTANCES", list);
    }
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::inherit())
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot run the gate command `{cmd}`: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(instances.join("\n").as_bytes());
    }
    let status = child.wait()?;
    Ok(match status.code() {
        Some(0) => Some(true),
        Some(75) => None,
        _ => Some(false),
    })
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
}
