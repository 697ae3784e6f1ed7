//! What the waivers do at `now`: each one's state (active, expiring within the warning window,
//! expired) and how many instances it matches, for `vow scan`'s list of waivers by expiry, and
//! the findings that make a waiver tell: one that matches no instance hides nothing and should
//! be removed (V504), one that expires soon is a warning naming its owner (V505). Expired
//! waivers are V501 (`waiver_findings` in this module's parent).

use super::{Policy, Waiver};
use crate::diag::{self, Finding, Location};
use crate::model::{InstanceRef, Labels};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One waiver at `now`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaiverStatus {
    pub name: String,
    pub rule: String,
    pub owner: String,
    pub reason: String,
    /// The last day it holds, `2026-12-31`.
    pub expires: String,
    /// Days from `now`'s date to `expires`: 0 on its last day, negative once expired.
    pub days_left: i64,
    /// `expired`, `expiring` (within the warning window) or `active`.
    pub state: &'static str,
    /// The instances it matches (of the rule it waives); `None` when not counted (a shard
    /// of a plan sees only part of the fleet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches: Option<usize>,
    #[serde(flatten)]
    pub location: Location,
}

/// Every waiver's status, by expiry (soonest first), then name. `instances` are the fleet's
/// (requests and applied instances, with their labels), or `None` when the fleet is not whole.
pub fn statuses(
    policy: &Policy,
    now: DateTime<Utc>,
    warn_days: u32,
    instances: Option<&[(&InstanceRef, &Labels)]>,
) -> Vec<WaiverStatus> {
    let today = now.date_naive();
    let mut out: Vec<WaiverStatus> = policy
        .waivers
        .iter()
        .map(|w| {
            let days_left = (w.expires - today).num_days();
            let state = if days_left < 0 {
                "expired"
            } else if warn_days > 0 && days_left <= i64::from(warn_days) {
                "expiring"
            } else {
                "active"
            };
            WaiverStatus {
                name: w.name.clone(),
                rule: w.rule.clone(),
                owner: w.owner.clone(),
                reason: w.reason.clone(),
                expires: w.expires.to_string(),
                days_left,
                state,
                matches: instances.map(|all| matching(policy, w, all)),
                location: w.location.clone(),
            }
        })
        .collect();
    out.sort_by(|a, b| (&a.expires, &a.name).cmp(&(&b.expires, &b.name)));
    out
}

/// The instances a waiver could waive a finding of: matched by the waiver and by its rule.
fn matching(policy: &Policy, w: &Waiver, instances: &[(&InstanceRef, &Labels)]) -> usize {
    let rule = policy.rule(&w.rule);
    instances
        .iter()
        .filter(|(id, labels)| {
            w.matcher.matches(id, labels) && rule.is_none_or(|r| r.matcher.matches(id, labels))
        })
        .count()
}

/// The findings of waivers that match nothing or expire soon.
pub fn findings(statuses: &[WaiverStatus]) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in statuses {
        if s.matches == Some(0) {
            out.push(
                Finding::new(
                    diag::WAIVER_UNUSED,
                    format!(
                        "Waiver {} for rule {} matches no instance (owner {}): it hides nothing",
                        s.name, s.rule, s.owner
                    ),
                )
                .at(s.location.clone())
                .help("remove the waiver, or fix its spec.match if it should cover instances"),
            );
        }
        if s.state == "expiring" {
            let when = match s.days_left {
                0 => "today".to_string(),
                1 => "tomorrow".to_string(),
                n => format!("in {n} days"),
            };
            out.push(
                Finding::new(
                    diag::WAIVER_EXPIRING,
                    format!(
                        "Waiver {} for rule {} expires {when}, on {} (owner {})",
                        s.name, s.rule, s.expires, s.owner
                    ),
                )
                .at(s.location.clone())
                .help(format!(
                    "{} renews it (a new expiry and reason) or fixes the instances it waives before then",
                    s.owner
                )),
            );
        }
    }
    out
}
