//! Health per instance: the HealthRecords of the workspace's health folder and of the store's
//! `.vow/health/` (read as apply's gates read them), folded to the worst state, with the age of
//! the newest record against `--now`.

use crate::load::inputs::Catalogue;
use crate::store::layout;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

/// An instance's folded health.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthView {
    /// The worst state of its records: unhealthy, degraded, unknown, healthy or ready.
    pub state: String,
    /// The newest record's `lastRun` (RFC 3339).
    pub last_run: String,
    /// Seconds from that `lastRun` to `--now`.
    pub age_seconds: i64,
    /// How many records were folded.
    pub records: usize,
}

/// The records, folded, by instance id.
pub(super) struct Health(BTreeMap<String, (String, i64, usize)>);

impl Health {
    pub(super) fn read(catalogue: &Catalogue) -> Health {
        let store_health = layout::absolute(&catalogue.ws.store, layout::HEALTH_DIR);
        let records = crate::apply::health_records(
            &[&catalogue.ws.health, &store_health],
            &catalogue.ws.root,
        );
        Health(
            records
                .into_iter()
                .filter_map(|(id, rs)| {
                    // Worst state first: the order of apply's `Health` (unhealthy < ... < ready).
                    let worst = rs.iter().map(|(h, _)| *h).min()?;
                    let newest = rs.iter().map(|(_, t)| *t).max()?;
                    Some((id, (worst.name().to_string(), newest, rs.len())))
                })
                .collect(),
        )
    }

    pub(super) fn view(&self, id: &str, now: DateTime<Utc>) -> Option<HealthView> {
        let (state, last, n) = self.0.get(id)?;
        let last_run = DateTime::<Utc>::from_timestamp(*last, 0)
            .map(crate::duration::format_time)
            .unwrap_or_default();
        Some(HealthView {
            state: state.clone(),
            last_run,
            age_seconds: super::age_seconds(now, *last),
            records: *n,
        })
    }
}
