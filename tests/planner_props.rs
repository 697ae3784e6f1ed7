//! Property tests of the wave planner over random fleets and strategies (docs/planning.md).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::exit,
    reason = "a test (or the bench fleet generator) fails loudly; the library may not"
)]

use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use vow::model::{Canary, InstanceRef, Labels, Rollout, RolloutWave, Selector, Share};
use vow::plan::waves::{self, Assigned, Strategy as Placement};
use vow::plan::{Action, Change};

const ENVS: [&str; 3] = ["dev", "staging", "prod"];
const REGIONS: [&str; 4] = ["eu", "us", "ap", "sa"];

#[derive(Clone, Debug)]
struct Inst {
    promise: usize,
    name: u32,
    env: usize,
    region: usize,
}

fn change(i: &Inst) -> Change {
    let promise = format!("p{}", i.promise);
    let id = InstanceRef::request(&promise, "ns", &format!("i{}", i.name));
    let mut labels = Labels::new();
    labels.insert("env".into(), ENVS[i.env].into());
    labels.insert("region".into(), REGIONS[i.region].into());
    Change {
        id,
        action: Action::Update,
        from: Some("v1".into()),
        to: Some("v2".into()),
        reason: "test".into(),
        summary: None,
        kind: None,
        digest: None,
        files: Vec::new(),
        labels: labels.into(),
        location: None,
    }
}

/// The change kinds of the kinded fleets: four, the first only metadata.
const KINDS: [&str; 4] = [
    "v1 → v2: metadata only",
    "v1 → v2: spec.version 6.0.14 → 6.0.15",
    "v1 → v2: spec.version 7.0.8 → 7.0.9",
    "new at v2",
];

/// A change whose kind is one of [`KINDS`], chosen by `kind`.
fn kinded(i: &Inst, kind: usize) -> Change {
    let mut c = change(i);
    let k = KINDS[kind % KINDS.len()];
    c.kind = Some(k.to_string());
    if k.starts_with("new") {
        c.action = Action::Create;
        c.from = None;
    }
    c
}

fn is_metadata_only(kind: &str) -> bool {
    kind.ends_with(": metadata only")
}

fn fleet() -> impl Strategy<Value = Vec<Inst>> {
    prop::collection::btree_map(0u32..400, (0usize..2, 0usize..3, 0usize..4), 0..80).prop_map(|m| {
        m.into_iter()
            .map(|(name, (promise, env, region))| Inst {
                promise,
                name,
                env,
                region,
            })
            .collect()
    })
}

fn env_selector(env: &str) -> Selector {
    let mut s = Selector::default();
    s.match_labels.insert("env".into(), env.into());
    s
}

#[derive(Clone, Debug)]
struct Plan {
    canary: Option<Canary>,
    waves: Vec<RolloutWave>,
}

fn quantity() -> impl Strategy<Value = Option<Share>> {
    prop_oneof![
        Just(None),
        (1u64..8).prop_map(|n| Some(Share::Count(n))),
        (1u64..101).prop_map(|p| Some(Share::Percent(p))),
    ]
}

fn rollout() -> impl Strategy<Value = Plan> {
    let canary = prop_oneof![
        Just(None),
        (0u64..6, any::<bool>()).prop_map(|(n, spread)| Some(Canary {
            count: Some(n),
            percent: None,
            selector: None,
            spread: if spread {
                vec!["region".into()]
            } else {
                vec![]
            },
            bake: None
        })),
        (0u64..80, any::<bool>()).prop_map(|(p, spread)| Some(Canary {
            count: None,
            percent: Some(p),
            selector: None,
            spread: if spread {
                vec!["region".into()]
            } else {
                vec![]
            },
            bake: None
        })),
    ];
    let waves = (
        prop::sample::subsequence(ENVS.to_vec(), 0..=3),
        any::<bool>(),
        quantity(),
        quantity(),
    )
        .prop_map(|(envs, catch_all, size_a, size_b)| {
            let mut w: Vec<RolloutWave> = envs
                .iter()
                .map(|e| RolloutWave {
                    name: e.to_string(),
                    selector: Some(env_selector(e)),
                    max_size: size_a,
                    bake: None,
                    failure_budget: None,
                })
                .collect();
            if catch_all {
                w.push(RolloutWave {
                    name: "rest".into(),
                    selector: None,
                    max_size: size_b,
                    bake: None,
                    failure_budget: None,
                });
            }
            w
        });
    (canary, waves).prop_map(|(canary, waves)| Plan { canary, waves })
}

fn run(plan: &Plan, insts: &[Inst]) -> (Assigned, Vec<Change>) {
    run_changes(plan, insts.iter().map(change).collect())
}

/// Runs the planner over the given changes (with their kinds as given).
fn run_changes(plan: &Plan, changes: Vec<Change>) -> (Assigned, Vec<Change>) {
    run_from(plan, changes, None)
}

/// Runs the planner with a `from` filter.
fn run_from(
    plan: &Plan,
    changes: Vec<Change>,
    from: Option<vow::model::VersionFilter>,
) -> (Assigned, Vec<Change>) {
    let rollout = Rollout {
        from,
        canary: plan.canary.clone(),
        waves: plan.waves.clone(),
        failure_budget: None,
    };
    let rollout_of = |_: &str| Some(&rollout);
    let facts_of = |_: &InstanceRef| waves::Facts::default();
    let s = Placement {
        rollout_of: &rollout_of,
        fallback: vow::config::default_rollout(),
        facts_of: &facts_of,
    };
    // Rollout lives on this stack frame: return owned results only.
    let placed = waves::assign(&s, &changes);
    (placed, changes)
}

fn placement(p: &Assigned) -> BTreeMap<String, (usize, bool)> {
    let mut m = BTreeMap::new();
    for w in &p.waves {
        for i in &w.instances {
            assert!(
                m.insert(i.instance.to_string(), (w.index, w.canary))
                    .is_none(),
                "{} is in two waves",
                i.instance
            );
        }
    }
    m
}

fn canaries(p: &Assigned) -> BTreeSet<String> {
    p.waves
        .iter()
        .filter(|w| w.canary)
        .flat_map(|w| w.instances.iter().map(|i| i.instance.to_string()))
        .collect()
}

fn asked(c: &Canary, n: usize) -> usize {
    match (c.count, c.percent) {
        (Some(k), _) => (k as usize).min(n),
        (None, Some(p)) => ((n as u64 * p / 100).max(u64::from(n > 0)) as usize).min(n),
        _ => 0,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn every_instance_in_exactly_one_wave_or_reported(plan in rollout(), insts in fleet()) {
        let (placed, changes) = run(&plan, &insts);
        let placed_at = placement(&placed);
        let unplaced: BTreeSet<String> = placed.unassigned.iter().map(|b| b.instance.to_string()).collect();
        for c in &changes {
            let in_wave = placed_at.contains_key(&c.id.to_string());
            prop_assert!(in_wave != unplaced.contains(&c.id.to_string()), "{} placed {in_wave} unplaced {}", c.id.to_string(), unplaced.contains(&c.id.to_string()));
            if !in_wave {
                // Only when no wave could take it.
                prop_assert!(!plan.waves.iter().any(|w| w.selector.as_ref().is_none_or(|s| s.matches(&c.labels))));
            }
        }
        prop_assert_eq!(placed.findings.len(), unplaced.len());
    }

    #[test]
    fn canary_wave_first_with_the_asked_size_and_spread(plan in rollout(), insts in fleet()) {
        let (placed, changes) = run(&plan, &insts);
        let Some(c) = &plan.canary else { return Ok(()); };
        let mut expected = 0;
        for p in 0..2 {
            let n = changes.iter().filter(|x| x.id.promise == format!("p{p}")).count();
            expected += asked(c, n);
        }
        if expected == 0 {
            prop_assert!(placed.waves.iter().all(|w| !w.canary));
            return Ok(());
        }
        prop_assert!(placed.waves[0].canary, "the canary wave comes first");
        prop_assert_eq!(placed.waves[0].size, expected);
        prop_assert!(placed.waves.iter().skip(1).all(|w| !w.canary));
        if !c.spread.is_empty() {
            for p in 0..2 {
                let promise = format!("p{p}");
                let mine: Vec<&Change> = changes.iter().filter(|x| x.id.promise == promise).collect();
                let regions: BTreeSet<&str> = mine.iter().map(|x| x.labels["region"].as_str()).collect();
                let chosen: Vec<&str> = placed.waves[0].instances.iter().filter(|i| i.instance.to_string().starts_with(&format!("{promise}:"))).map(|i| i.labels["region"].as_str()).collect();
                let covered: BTreeSet<&str> = chosen.iter().copied().collect();
                let k = asked(c, mine.len());
                // One per distinct value first: as many values covered as the size allows.
                prop_assert_eq!(covered.len(), k.min(regions.len()));
            }
        }
    }

    #[test]
    fn no_batch_exceeds_its_max_size(plan in rollout(), insts in fleet()) {
        let (placed, changes) = run(&plan, &insts);
        let placed_at = placement(&placed);
        for spec in &plan.waves {
            let Some(q) = &spec.max_size else { continue };
            for p in 0..2 {
                let promise = format!("p{p}:");
                let total = changes.iter().filter(|c| c.id.to_string().starts_with(&promise) && placed_at.get(&c.id.to_string()).is_some_and(|(i, canary)| !canary && placed.waves[*i].name == spec.name)).count();
                let limit = q.of(total as u64) as usize;
                for w in placed.waves.iter().filter(|w| w.name == spec.name) {
                    let n = w.instances.iter().filter(|i| i.instance.to_string().starts_with(&promise)).count();
                    prop_assert!(n <= limit.max(1), "wave {} batch has {n} of {promise}, limit {limit}", w.name);
                }
            }
        }
    }

    #[test]
    fn input_order_does_not_matter(plan in rollout(), insts in fleet(), seed in any::<u64>()) {
        let (a, _) = run(&plan, &insts);
        let mut shuffled = insts.clone();
        let n = shuffled.len();
        for i in 0..n {
            let j = (seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64) % n as u64) as usize;
            shuffled.swap(i, j);
        }
        let (b, _) = run(&plan, &shuffled);
        prop_assert_eq!(serde_json::to_string(&a.waves).unwrap(), serde_json::to_string(&b.waves).unwrap());
    }

    #[test]
    fn ranks_do_not_depend_on_the_rest_of_the_fleet(insts in fleet(), extra in fleet()) {
        let order = |set: &[Inst]| -> Vec<String> {
            let mut cs: Vec<Change> = set.iter().map(change).collect();
            cs.sort_by_key(|c| (waves::rank_key(c), c.id.clone()));
            cs.into_iter().map(|c| c.id.to_string()).collect()
        };
        let names: BTreeSet<u32> = insts.iter().map(|i| i.name).collect();
        let mut bigger = insts.clone();
        bigger.extend(extra.into_iter().filter(|e| !names.contains(&e.name)).map(|mut e| { e.promise = insts.first().map(|i| i.promise).unwrap_or(0); e }));
        let small = order(&insts);
        let big: Vec<String> = order(&bigger).into_iter().filter(|i| small.contains(i)).collect();
        prop_assert_eq!(small, big);
    }

    #[test]
    fn a_fixed_count_canary_changes_only_where_a_newcomer_outranks(insts in fleet(), newcomer in (400u32..500, 0usize..3, 0usize..4), count in 1u64..5, spread in any::<bool>()) {
        let c = Canary { count: Some(count), percent: None, selector: None, spread: if spread { vec!["region".into()] } else { vec![] }, bake: None };
        let plan = Plan { canary: Some(c), waves: vec![RolloutWave { name: "all".into(), selector: None, max_size: None, bake: None, failure_budget: None }] };
        let insts: Vec<Inst> = insts.into_iter().map(|mut i| { i.promise = 0; i }).collect();
        let (before, _) = run(&plan, &insts);
        let x = Inst { promise: 0, name: newcomer.0, env: newcomer.1, region: newcomer.2 };
        let mut more = insts.clone();
        more.push(x.clone());
        let (after, _) = run(&plan, &more);
        let (b, a) = (canaries(&before), canaries(&after));
        let xname = change(&x).id.to_string();
        let removed: Vec<&String> = b.difference(&a).collect();
        let added: Vec<&String> = a.difference(&b).collect();
        if !added.is_empty() || !removed.is_empty() {
            prop_assert_eq!(added, vec![&xname], "only the newcomer can join");
            prop_assert!(removed.len() <= 1);
            if let Some(r) = removed.first() {
                let rank = |name: &str| waves::rank_key(&change(more.iter().find(|i| change(i).id.to_string() == name).unwrap()));
                if !spread {
                    prop_assert!(rank(&xname) < rank(r), "the newcomer outranks the one it replaces");
                }
            }
        }
    }

    #[test]
    fn raising_a_percentage_only_adds_canaries(insts in fleet(), p1 in 0u64..90, dp in 0u64..10, spread in any::<bool>()) {
        let mk = |p| Plan { canary: Some(Canary { count: None, percent: Some(p), selector: None, spread: if spread { vec!["region".into()] } else { vec![] }, bake: None }), waves: vec![RolloutWave { name: "all".into(), selector: None, max_size: None, bake: None, failure_budget: None }] };
        let (lo, _) = run(&mk(p1), &insts);
        let (hi, _) = run(&mk(p1 + dp), &insts);
        prop_assert!(canaries(&lo).is_subset(&canaries(&hi)));
    }

    #[test]
    fn every_change_kind_has_a_canary_of_its_own_when_count_allows(insts in fleet(), kinds in prop::collection::vec(0usize..4, 80), count in 0u64..6, spread in any::<bool>()) {
        let c = Canary { count: Some(count), percent: None, selector: None, spread: if spread { vec!["region".into()] } else { vec![] }, bake: None };
        let plan = Plan { canary: Some(c), waves: vec![RolloutWave { name: "all".into(), selector: None, max_size: None, bake: None, failure_budget: None }] };
        let changes: Vec<Change> = insts.iter().enumerate().map(|(n, i)| kinded(i, kinds[n % kinds.len()])).collect();
        let (placed, changes) = run_changes(&plan, changes);
        let kind_of: BTreeMap<String, String> = changes.iter().map(|c| (c.id.to_string(), c.kind.clone().unwrap())).collect();
        let chosen = canaries(&placed);
        for p in 0..2 {
            let promise = format!("p{p}:");
            let mine = |name: &&String| name.starts_with(&promise);
            let real: BTreeSet<&String> = kind_of.iter().filter(|(n, _)| mine(n)).map(|(_, k)| k).filter(|k| !is_metadata_only(k)).collect();
            let covered: BTreeSet<&String> = chosen.iter().filter(mine).map(|n| &kind_of[n]).collect();
            if count as usize >= real.len() {
                // Every kind that does more than metadata has a canary whose change is that kind.
                prop_assert!(real.iter().all(|k| covered.contains(k)), "{real:?} not all in {covered:?}");
            } else {
                // Too few canaries: every one of them covers a different real kind.
                let n = chosen.iter().filter(mine).count();
                prop_assert_eq!(covered.len(), n);
                prop_assert!(covered.iter().all(|k| !is_metadata_only(k)), "a metadata-only canary took a kind's place");
            }
        }
    }

    #[test]
    fn balanced_batches_are_the_fewest_with_sizes_within_one(total in 0usize..400, cap in 1usize..60) {
        let sizes = waves::batch_sizes(total, cap);
        prop_assert_eq!(sizes.iter().sum::<usize>(), total);
        prop_assert_eq!(sizes.len(), total.div_ceil(cap));
        prop_assert!(sizes.iter().all(|n| *n <= cap && *n > 0));
        if let (Some(lo), Some(hi)) = (sizes.iter().min(), sizes.iter().max()) {
            prop_assert!(hi - lo <= 1);
        }
        prop_assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "the larger batches first");
    }

    #[test]
    fn growing_a_max_size_percentage_only_adds_instances_to_the_first_batches(insts in fleet(), p1 in 1u64..100, dp in 0u64..30) {
        let mk = |p: u64| Plan { canary: None, waves: vec![RolloutWave { name: "all".into(), selector: None, max_size: Some(Share::Percent(p.min(100))), bake: None, failure_budget: None }] };
        let (lo, _) = run(&mk(p1), &insts);
        let (hi, _) = run(&mk(p1 + dp), &insts);
        // The instances of the first k batches, for every k.
        let first = |a: &Assigned, k: usize| -> BTreeSet<String> {
            a.waves.iter().take(k).flat_map(|w| w.instances.iter().map(|i| i.instance.to_string())).collect()
        };
        for k in 1..=lo.waves.len() {
            prop_assert!(first(&lo, k).is_subset(&first(&hi, k)), "batch {k}");
        }
    }

    #[test]
    fn from_holds_exactly_the_upgrades_from_other_versions(plan in rollout(), insts in fleet(), on in prop::collection::vec(0usize..3, 80)) {
        let versions = ["v1", "v1.5", "v2"];
        let changes: Vec<Change> = insts.iter().enumerate().map(|(n, i)| {
            let mut c = change(i);
            c.from = Some(versions[on[n % on.len()]].to_string());
            c
        }).collect();
        let from = vow::model::VersionFilter::Versions(vec!["1".into()]);
        let (placed, changes) = run_from(&plan, changes, Some(from));
        let placed_at = placement(&placed);
        let held: BTreeSet<String> = placed.held.iter().map(|h| h.instance.to_string()).collect();
        for c in &changes {
            let id = c.id.to_string();
            // v2 → v2 is no upgrade; v1 matches `1` (a leading v is ignored); v1.5 does not.
            let moves = c.from.as_deref() != Some("v1.5");
            prop_assert_eq!(held.contains(&id), !moves, "{}", id);
            if !moves {
                prop_assert!(!placed_at.contains_key(&id), "{id} is held and in a wave");
            }
        }
        for h in &placed.held {
            prop_assert_eq!(h.reason.as_str(), "on v1.5, outside from: [1]");
        }
    }
}
