//! Freshness: a plan is applied only to the inputs and the store it was made from; a stale plan
//! is refused with what changed (which Promises, which requests render differently).

use super::journal::Journal;
use crate::error::{Error, Result};
use crate::evaluate::{self, Detail, Options};
use crate::load::inputs::Catalogue;
use crate::model::{InstanceRef, Request};
use crate::plan::{Action, Plan};
use crate::store;
use std::collections::HashMap;

/// Refuses a plan whose inputs or store changed since it was made, saying what changed.
pub(super) fn check(
    inputs: &Catalogue,
    requests: &[Request],
    current: &store::StoreState,
    plan: &Plan,
    journal: Option<&Journal>,
) -> Result<()> {
    let mut changed = Vec::new();
    if !plan.is_rollback() {
        let d = &inputs.digests;
        for (name, p) in &plan.inputs.promises {
            match d.promises.get(name) {
                Some(now) if now.digest == p.digest => {}
                Some(now) => changed.push(format!(
                    "Promise {name} changed ({} → {})",
                    p.version, now.version
                )),
                None => changed.push(format!("Promise {name} is gone")),
            }
        }
        for name in d
            .promises
            .keys()
            .filter(|n| !plan.inputs.promises.contains_key(*n))
        {
            changed.push(format!("Promise {name} is new"));
        }
        if d.rules != plan.inputs.rules {
            changed.push("the rules or waivers changed".into());
        }
        if d.requests != plan.inputs.requests {
            changed.push(format!(
                "the requests changed{}",
                changed_requests(inputs, requests, plan)
            ));
        }
        if d.destinations != plan.inputs.destinations {
            changed.push("the destinations changed".into());
        }
    }
    let expected_store = journal
        .map(|j| j.store_digest.as_str())
        .unwrap_or(&plan.inputs.store);
    if current.digest != expected_store {
        changed.push(format!(
            "the store changed since {} (someone else applied, or files were edited by hand)",
            if journal.is_some() {
                "the last wave of this run"
            } else {
                "the plan was made"
            }
        ));
    }
    if changed.is_empty() {
        return Ok(());
    }
    Err(Error::StalePlan {
        message: format!(
            "the plan {} is stale: {}.\n  Nothing was applied. Make a new plan (`vow plan --out plan.json`), review it, and apply that.",
            plan.run_id(),
            changed.join("; ")
        ),
        reasons: changed,
    })
}

/// Which planned instances render differently now.
fn changed_requests(inputs: &Catalogue, requests: &[Request], plan: &Plan) -> String {
    let all = evaluate::Requests::Borrowed(requests.iter().collect());
    let evaluated = evaluate::run(
        inputs,
        all,
        &Options::new(Detail::Digests).with_dependencies(),
    );
    let now: HashMap<&InstanceRef, String> = evaluated
        .iter()
        .map(|e| (&e.id, e.files_digest()))
        .collect();
    let mut names: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::Delete)
        .filter(|c| c.digest.as_ref() != now.get(&c.id))
        .map(|c| c.id.to_string())
        .collect();
    names.truncate(10);
    if names.is_empty() {
        // The documents differ but no planned instance renders differently: a request outside
        // the plan (blocked, unchanged, another Promise), or a plan made by a vow whose digest
        // of the requests differs (the definition changed once, in 0.1).
        ": no planned instance renders differently (a request the plan leaves alone changed, or \
         the plan was made by another version of vow)"
            .to_string()
    } else {
        format!(": {} now render(s) differently", names.join(", "))
    }
}
