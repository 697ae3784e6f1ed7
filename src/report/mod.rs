//! Every output format. Reports are written to a `String` and printed by the CLI; nothing here
//! reads inputs or touches the store.

pub mod human;

use crate::plan::Plan;

/// The plan as the JSON plan file (DESIGN.md section 9), pretty-printed, ending in a newline.
pub fn plan_json(plan: &Plan) -> String {
    let mut s =
        serde_json::to_string_pretty(plan).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
