//! Whether two plans' waves do the same: a saved plan against the one planning its recorded
//! `--now` and `--promise` gives now (`vow show` says a plan is stale when they differ). What is
//! compared is what applying does: each wave's place, name, gate, bake, budget, start and batch,
//! and each instance's action and versions; reasons and placements are for people.

use super::file::{Wave, WaveInstance};
use std::collections::BTreeMap;

/// Every difference between the `planned` waves and the `derived` ones, in wave order, as
/// lines for people (the plan file's value, then the one planning gives now).
pub fn wave_differences(planned: &[Wave], derived: &[Wave]) -> Vec<String> {
    let mut out = Vec::new();
    if planned.len() != derived.len() {
        out.push(format!(
            "{} wave(s), but planning gives {}",
            planned.len(),
            derived.len()
        ));
    }
    for (p, d) in planned.iter().zip(derived) {
        one_wave(p, d, &mut out);
    }
    for p in planned.iter().skip(derived.len()) {
        out.push(format!(
            "wave {} {} ({} instances) is not in the plan planning gives",
            p.index,
            p.name,
            p.instances.len()
        ));
    }
    for d in derived.iter().skip(planned.len()) {
        out.push(format!(
            "wave {} {} ({} instances) is missing from the plan",
            d.index,
            d.name,
            d.instances.len()
        ));
    }
    out
}

fn one_wave(p: &Wave, d: &Wave, out: &mut Vec<String>) {
    let at = format!("wave {} {}", d.index, d.name);
    let shown = |o: &Option<String>| o.clone().unwrap_or_else(|| "none".into());
    let batch = |w: &Wave| {
        w.batch
            .as_ref()
            .map_or("none".into(), |b| format!("{}/{}", b.index, b.of))
    };
    let fields = [
        ("index", p.index.to_string(), d.index.to_string()),
        ("name", p.name.clone(), d.name.clone()),
        ("canary", p.canary.to_string(), d.canary.to_string()),
        ("bake", shown(&p.bake), shown(&d.bake)),
        (
            "failureBudget",
            p.failure_budget.to_string(),
            d.failure_budget.to_string(),
        ),
        ("gate", p.gate.to_string(), d.gate.to_string()),
        ("notBefore", shown(&p.not_before), shown(&d.not_before)),
        ("batch", batch(p), batch(d)),
    ];
    for (name, a, b) in fields {
        if a != b {
            out.push(format!("{at}: {name} {a}, but {b}"));
        }
    }
    let keyed = |w: &Wave| -> BTreeMap<String, String> {
        w.instances
            .iter()
            .map(|i| (i.instance.to_string(), does(i)))
            .collect()
    };
    let (planned, derived) = (keyed(p), keyed(d));
    if planned.len() != p.instances.len() {
        out.push(format!("{at}: an instance is listed twice"));
    }
    for (r, a) in &planned {
        match derived.get(r) {
            None => out.push(format!("{at}: {r} ({a}) is not in this wave now")),
            Some(b) if a != b => out.push(format!("{at}: {r} is {a}, but {b}")),
            Some(_) => {}
        }
    }
    for (r, b) in derived.iter().filter(|(r, _)| !planned.contains_key(*r)) {
        out.push(format!("{at}: {r} ({b}) is missing from the plan"));
    }
}

/// What applying does with an instance.
fn does(i: &WaveInstance) -> String {
    let v = |o: &Option<String>| o.clone().unwrap_or_else(|| "none".into());
    let mut s = format!("{} {} → {}", i.action, v(&i.from), v(&i.to));
    if let Some(src) = &i.source {
        s.push_str(&format!(" from {src}"));
    }
    s
}
