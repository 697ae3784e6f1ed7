//! What holds a wave at apply time: the maintenance windows and freezes that apply to its
//! instances. A rollback is an emergency: windows never hold it (a rollback started on a
//! Friday does not wait for Monday's window); freezes still do, unless the operator breaks
//! them with `vow apply --break-freeze REASON`, which the journal records.

use crate::config::calendar::Calendar;
use crate::load::inputs::Catalogue;
use crate::model::{InstanceRef, Labels, Request};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// Whether a wave may start now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Hold {
    /// It may; `broke` names the freezes `--break-freeze` let it through (empty: none held it).
    Go { broke: String },
    /// It waits until then, for these windows and freezes.
    Wait(DateTime<Utc>, String),
}

/// How a plan meets the calendar.
#[derive(Clone, Copy, Debug)]
pub(super) struct Rules {
    /// A rollback plan: windows do not hold it.
    pub rollback: bool,
    /// `--break-freeze` (rollback plans only): freezes do not hold it either.
    pub break_freeze: bool,
}

/// Maintenance windows and freezes hold at apply time too: a wave starts only when allowed.
pub(super) fn wave(
    inputs: &Catalogue,
    requests: &[Request],
    wave: &crate::plan::Wave,
    now: DateTime<Utc>,
    rules: Rules,
) -> Hold {
    let labels = labels(inputs, requests, wave);
    let calendar = if rules.rollback {
        Calendar {
            windows: Vec::new(),
            freezes: inputs.ws.calendar.freezes.clone(),
        }
    } else {
        inputs.ws.calendar.clone()
    };
    let (start, why) = calendar.earliest(now, &labels);
    match (start > now, rules.break_freeze) {
        (false, _) => Hold::Go {
            broke: String::new(),
        },
        (true, true) => Hold::Go {
            broke: why.join("; "),
        },
        (true, false) => Hold::Wait(start, why.join("; ")),
    }
}

/// The labels of a wave's instances: the request's, or the store's record of a deleted one.
fn labels<'a>(
    inputs: &'a Catalogue,
    requests: &'a [Request],
    wave: &crate::plan::Wave,
) -> Vec<&'a Labels> {
    let requests: HashMap<&InstanceRef, &Labels> =
        requests.iter().map(|r| (&r.id, &r.labels)).collect();
    let stored: HashMap<&InstanceRef, &Labels> = inputs
        .store
        .applied
        .iter()
        .map(|(id, a)| (id, &a.binding.status.request_labels))
        .collect();
    wave.instances
        .iter()
        .filter_map(|i| {
            requests
                .get(&i.instance)
                .or_else(|| stored.get(&i.instance))
                .copied()
        })
        .collect()
}
