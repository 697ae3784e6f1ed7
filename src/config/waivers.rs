//! vow.yaml's `waivers:` settings: how early a waiver's coming expiry is reported.

use schemars::JsonSchema;
use serde::Deserialize;

/// `waivers: {warnDays: 14}`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WaiverSettings {
    /// A waiver that expires within this many days (its last valid day included) is a warning
    /// naming its owner (V505), so that it is renewed or its instances fixed before the
    /// findings it hides come back. 0 turns the warning off.
    #[serde(default = "warn_days")]
    pub warn_days: u32,
}

fn warn_days() -> u32 {
    14
}

impl Default for WaiverSettings {
    fn default() -> Self {
        WaiverSettings {
            warn_days: warn_days(),
        }
    }
}
