//! Rollout strategies as written (`spec.rollout` of a Promise, `rollout:` of vow.yaml) and their
//! compilation into the typed [`Rollout`] the planner consumes: bakes become durations, budgets
//! and sizes counts or percentages, each checked once, where the strategy is loaded.

use crate::duration::parse_duration;
use crate::model::{Bake, Canary, Rollout, RolloutWave, Selector, Share, VersionFilter};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A rollout strategy as written: a Promise's `spec.rollout`, or `rollout:` in vow.yaml for
/// Promises without one (docs/planning.md).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "vow rollout")]
pub struct RolloutSpec {
    /// Only instances now on these versions are upgraded (a list of versions, `{semver: RANGE}`
    /// or `{regex: RE}`); the others are held, with the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<FromSpec>,
    /// The canaries: the first instances changed, alone, before any wave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanarySpec>,
    /// The waves, in order; an instance goes to the first whose selector matches it.
    #[serde(default)]
    pub waves: Vec<WaveSpec>,
    /// How many instances of a wave may fail before the run halts (a count or a share like
    /// `5%`), for every wave that sets none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_budget: Option<Quantity>,
}

/// `from` as written: versions (`["6.0.14", "6.0.15"]`), a semver range (`{semver: ">=6.0,
/// <6.1"}`) or a regular expression the whole version matches (`{regex: "^v1\\.1\\."}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum FromSpec {
    Versions(Vec<String>),
    Semver(SemverFrom),
    Regex(RegexFrom),
}

/// `{semver: ">=6.0, <6.1"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SemverFrom {
    /// A semver range as Cargo writes one (`>=6.0, <6.1`, `~1.1`, `1.1.*`).
    pub semver: String,
}

/// `{regex: "^v1\\.1\\."}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegexFrom {
    /// A regular expression (Rust's dialect) the whole version must match.
    pub regex: String,
}

impl FromSpec {
    /// The typed filter, or what is wrong with it.
    pub fn compile(&self) -> Result<VersionFilter, String> {
        match self {
            FromSpec::Versions(list) if list.is_empty() => {
                Err("an empty list would hold every instance; list versions or drop `from`".into())
            }
            FromSpec::Versions(list) => Ok(VersionFilter::Versions(list.clone())),
            FromSpec::Semver(s) => semver::VersionReq::parse(&s.semver)
                .map(|r| VersionFilter::Semver(s.semver.clone(), r))
                .map_err(|e| {
                    format!(
                        "`{}` is not a semver range like `>=6.0, <6.1`: {e}",
                        s.semver
                    )
                }),
            FromSpec::Regex(r) => regex::Regex::new(&format!("^(?:{})$", r.regex))
                .map(|re| VersionFilter::Regex(r.regex.clone(), re))
                .map_err(|e| {
                    // The regex crate's message draws the pattern over several lines; its
                    // last line says what is wrong.
                    let text = e.to_string();
                    let why = text
                        .lines()
                        .last()
                        .unwrap_or("")
                        .trim_start_matches("error: ");
                    format!("`{}` is not a regular expression ({why})", r.regex)
                }),
        }
    }
}

/// The canaries: how many, from which instances, spread over which labels, and their bake.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CanarySpec {
    /// How many canaries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// How many canaries, as a percentage of the instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u64>,
    /// Only instances matching this may be canaries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<Selector>,
    /// Labels whose values the canaries should cover (one canary per region, say).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spread: Vec<String>,
    /// How long the canaries bake before the first wave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake: Option<String>,
}

/// A wave: its name, the instances it takes, its batch size, bake and failure budget.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WaveSpec {
    /// The wave's name, shown in plans (`dev`, `prod`).
    pub name: String,
    /// No selector: a catch-all wave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<Selector>,
    /// The most instances in one batch of the wave (a count or a share like `25%`); a larger
    /// wave is split into batches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<Quantity>,
    /// How long the wave bakes before the next one starts (`30m`, `4h`, `1d`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake: Option<String>,
    /// How many instances of the wave may fail before the run halts (a count or a share).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_budget: Option<Quantity>,
}

/// A count (`25`) or a share (`"25%"`) as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Quantity {
    Count(u64),
    Text(String),
}

impl Quantity {
    /// The typed value: a count, or a percentage of at most 100; `zero_ok` false refuses 0 and
    /// `0%` (a wave of at most 0 instances never ends).
    pub fn share(&self, zero_ok: bool) -> Result<Share, String> {
        let share = match self {
            Quantity::Count(n) => Share::Count(*n),
            Quantity::Text(t) => {
                let t = t.trim();
                if let Some(p) = t.strip_suffix('%') {
                    let p: u64 = p
                        .trim()
                        .parse()
                        .map_err(|_| format!("`{t}` is not a percentage like `25%`"))?;
                    if p > 100 {
                        return Err(format!("`{t}` is over 100%"));
                    }
                    Share::Percent(p)
                } else {
                    Share::Count(
                        t.parse()
                            .map_err(|_| format!("`{t}` is neither a number nor a percentage"))?,
                    )
                }
            }
        };
        if matches!(share, Share::Count(0) | Share::Percent(0)) && !zero_ok {
            return Err("0 would never let an instance through; use at least 1".into());
        }
        Ok(share)
    }
}

/// Every value of a strategy that cannot be read, as (field below the rollout, the problem).
pub type Problems = Vec<(String, String)>;

impl RolloutSpec {
    /// The typed strategy, and the values that cannot be read (left out of it, as if not
    /// written; a Promise with any is broken, and vow.yaml with any is refused).
    pub fn compile(&self) -> (Rollout, Problems) {
        let mut problems = Vec::new();
        let mut bake = |field: String, b: &Option<String>| {
            let text = b.as_ref()?;
            match parse_duration(text) {
                Ok(seconds) => Some(Bake {
                    text: text.clone(),
                    seconds,
                }),
                Err(e) => {
                    problems.push((field, format!("bake: {e}")));
                    None
                }
            }
        };
        let canary_bake = self
            .canary
            .as_ref()
            .and_then(|c| bake("canary.bake".into(), &c.bake));
        let wave_bakes: Vec<Option<Bake>> = (self.waves.iter().enumerate())
            .map(|(i, w)| bake(format!("waves[{i}].bake"), &w.bake))
            .collect();
        if let Some(p) = self.canary.as_ref().and_then(|c| c.percent) {
            if p > 100 {
                problems.push(("canary.percent".into(), format!("{p} is over 100")));
            }
        }
        let mut share = |field: String, q: &Option<Quantity>, zero_ok: bool| {
            q.as_ref()?
                .share(zero_ok)
                .map_err(|e| problems.push((field, e)))
                .ok()
        };
        let failure_budget = share("failureBudget".into(), &self.failure_budget, true);
        let mut waves = Vec::new();
        for ((i, w), bake) in self.waves.iter().enumerate().zip(wave_bakes) {
            waves.push(RolloutWave {
                name: w.name.clone(),
                selector: w.selector.clone(),
                max_size: share(format!("waves[{i}].maxSize"), &w.max_size, false),
                bake,
                failure_budget: share(format!("waves[{i}].failureBudget"), &w.failure_budget, true),
            });
        }
        let canary = self.canary.as_ref().map(|c| Canary {
            count: c.count,
            percent: c.percent,
            selector: c.selector.clone(),
            spread: c.spread.clone(),
            bake: canary_bake,
        });
        let from = self.from.as_ref().and_then(|f| {
            f.compile()
                .map_err(|e| problems.push(("from".into(), e)))
                .ok()
        });
        let rollout = Rollout {
            from,
            canary,
            waves,
            failure_budget,
        };
        (rollout, problems)
    }
}

/// The strategy of Promises without one, when vow.yaml has none either: one catch-all wave.
pub fn default_rollout() -> Rollout {
    Rollout {
        from: None,
        canary: None,
        waves: vec![RolloutWave {
            name: "all".into(),
            selector: None,
            max_size: None,
            bake: None,
            failure_budget: None,
        }],
        failure_budget: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollout_values_are_checked_once_at_load() {
        let r: RolloutSpec = serde_json::from_value(serde_json::json!({
            "canary": {"percent": 150, "bake": "1h"},
            "failureBudget": "150%",
            "waves": [
                {"name": "a", "bake": "banana", "maxSize": 0},
                {"name": "b", "maxSize": "25%", "failureBudget": "x"}
            ]
        }))
        .unwrap();
        let (typed, problems) = r.compile();
        let fields: Vec<String> = problems.into_iter().map(|p| p.0).collect();
        assert_eq!(
            fields,
            [
                "waves[0].bake",
                "canary.percent",
                "failureBudget",
                "waves[0].maxSize",
                "waves[1].failureBudget"
            ]
        );
        assert_eq!(typed.waves[1].max_size, Some(Share::Percent(25)));
        assert_eq!(typed.canary.unwrap().bake.unwrap().seconds, 3600);
        assert!(RolloutSpec::default().compile().1.is_empty());
    }

    #[test]
    fn from_takes_versions_a_semver_range_or_a_regex() {
        let typed = |v: serde_json::Value| {
            let r: RolloutSpec = serde_json::from_value(serde_json::json!({ "from": v })).unwrap();
            r.compile()
        };
        let (r, p) = typed(serde_json::json!(["6.0.14"]));
        assert!(p.is_empty());
        let f = r.from.unwrap();
        assert!(f.admits("v6.0.14").is_ok());
        assert!(f.admits("6.0.15").is_err());
        let (r, _) = typed(serde_json::json!({"semver": ">=1.1, <1.2"}));
        let f = r.from.unwrap();
        assert!(f.admits("v1.1.7").is_ok());
        assert_eq!(
            f.admits("v1.2.0").unwrap_err(),
            "on v1.2.0, outside from: semver >=1.1, <1.2"
        );
        assert!(f
            .admits("latest")
            .unwrap_err()
            .contains("not a semantic version"));
        let (r, _) = typed(serde_json::json!({"regex": "v?1\\.1\\..*"}));
        let f = r.from.unwrap();
        assert!(f.admits("v1.1.3").is_ok());
        assert!(f.admits("v11.1.3").is_err());
        for bad in [
            serde_json::json!({"semver": ">=banana"}),
            serde_json::json!({"regex": "("}),
            serde_json::json!([]),
        ] {
            let (r, p) = typed(bad);
            assert!(r.from.is_none());
            assert_eq!(p.len(), 1);
            assert_eq!(p[0].0, "from");
        }
        assert!(serde_json::from_value::<RolloutSpec>(
            serde_json::json!({"from": {"glob": "1.*"}})
        )
        .is_err());
    }

    #[test]
    fn shares_resolve_like_before() {
        assert_eq!(Share::Percent(25).of(10), 2);
        assert_eq!(Share::Percent(1).of(10), 1);
        assert_eq!(Share::Percent(50).of(0), 0);
        assert_eq!(
            Quantity::Text(" 7 ".into()).share(false),
            Ok(Share::Count(7))
        );
        assert!(Quantity::Text("lots".into()).share(true).is_err());
    }
}
