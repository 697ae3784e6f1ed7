//! Timing the waves: with `--now`, the first wave starts at the earliest allowed time at or after
//! now, and each following wave at the earliest allowed time after the previous wave's start
//! plus its bake. What "allowed" means (maintenance windows, freezes) is the calendar's
//! (`config::calendar`).

use super::file::Wave;
use crate::config::Calendar;
use crate::duration::format_time;
use crate::model::Labels;
use chrono::{DateTime, Utc};

/// Sets each wave's earliest start (`notBefore`) and what it waits for; `bakes` holds each
/// wave's bake in seconds. Without `now`, the waves stay untimed.
pub fn time_waves(
    waves: &mut [Wave],
    bakes: &[i64],
    calendar: &Calendar,
    now: Option<DateTime<Utc>>,
) {
    let Some(mut t) = now else { return };
    for (i, w) in waves.iter_mut().enumerate() {
        let labels: Vec<&Labels> = w.instances.iter().map(|i| &*i.labels).collect();
        let (start, why) = calendar.earliest(t, &labels);
        w.not_before = Some(format_time(start));
        w.waits_for = why;
        let bake = bakes.get(i).copied().unwrap_or(0);
        t = start + chrono::Duration::seconds(bake);
    }
}
