//! Generates a large fleet for benchmarks, deterministically from a seed.
//!
//! The requests are the example fleet's (fixtures/example/requests) used as templates: each
//! generated request copies one, gets a unique name, and draws its team, environment, region,
//! tier and cost centre from fixed distributions. The output is a workspace: `vow.yaml` (this
//! repository's Promises, rules and destinations), requests in files of 1000 documents, and a
//! folder store in `state/`.
//!
//!     cargo run --release --example fleet -- --count 100000 --out /tmp/fleet [--seed 1]
//!         [--format yaml|json|ndjson] [--violations PERCENT] [--store empty|old] [--rules example|none]
//!
//! Violations. The templates are first made compliant with every blocking rule and with both the
//! current and the previous Promise revisions (15.7 and 16.4 become 15.8, `encryption: false` is
//! dropped, prod databases keep backups 14 days or more, dev instances stay within the dev size
//! caps, payments never runs in ap-south-1, sensitive buckets use aws:kms). Then `--violations`
//! percent of the requests (default 5) get exactly one violation, drawn uniformly among those
//! that apply to the request's Promise:
//!
//! | kind                | rule                      | what is changed                        | enforcement |
//! |---------------------|---------------------------|----------------------------------------|-------------|
//! | cve                 | postgres-cve-2026-4412    | postgresql `spec.version: "15.7"`      | block (and V203 from validate.rhai) |
//! | encryption-pg       | encryption-at-rest        | postgresql `spec.encryption: false`    | block |
//! | encryption-bucket   | encryption-at-rest        | bucket confidential, `encryption: AES256` | block (and V203; never applied, even at the old version) |
//! | backup-retention    | backup-retention-prod     | postgresql in prod, `retentionDays: 7` | block |
//! | allowed-regions     | allowed-regions           | team payments in ap-south-1            | block |
//! | dev-size-caps       | dev-size-caps             | dev postgresql of 200 GiB, dev large Redis | warn |
//! | required-labels     | required-labels           | no `cost-centre` label                 | warn |
//!
//! Two rules fire without injection, as on the example fleet: critical-replicas (warn) on every
//! Redis of tier critical (the Redis Promise renders one replica), and, in `vow scan` of a store
//! at the old versions, deprecated-promise-versions (warn) on every applied postgresql and redis
//! instance. The counts are printed on stderr.
//!
//! Store. `--store empty` (the default) leaves `state/` empty: every request is a create.
//! `--store old` then runs `bench/fleet-store.sh OUT`, which applies every request at the
//! previous Promise revisions (fixtures/example/state/.vow/revisions: postgresql v1.3.0, redis
//! v2.0.3, bucket v1.0.0) with `vow-old.yaml` (written in every case: the old revisions, no
//! rules, the same requests and store), so that `vow plan` plans an upgrade of every instance
//! and `vow scan` sees the old versions applied.
//!
//! `--rules none` leaves the rules out of `vow.yaml` (the workload of the first plan benchmark,
//! whose workspace had no `rules:` and so ran no rule).
//!
//! The requests and `vow.yaml` are the same, byte for byte, for the same arguments.

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

use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

/// splitmix64: a tiny, well-known generator; enough for picking labels reproducibly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick<'a>(&mut self, weighted: &[(&'a str, u64)]) -> &'a str {
        let total: u64 = weighted.iter().map(|w| w.1).sum();
        let mut r = self.next() % total;
        for (v, w) in weighted {
            if r < *w {
                return v;
            }
            r -= w;
        }
        weighted[0].0
    }
}

const TEAMS: &[(&str, u64)] = &[
    ("payments", 20),
    ("checkout", 20),
    ("search", 15),
    ("identity", 15),
    ("data", 20),
    ("ml", 10),
];
const ENVS: &[(&str, u64)] = &[("dev", 40), ("staging", 25), ("prod", 35)];
const REGIONS: &[(&str, u64)] = &[("eu-west-1", 45), ("us-east-1", 40), ("ap-south-1", 15)];
/// Payments (PCI scope) is approved for these regions only (rules/allowed-regions.rhai).
const PAYMENTS_REGIONS: &[(&str, u64)] = &[("eu-west-1", 45), ("us-east-1", 40)];
const TIERS: &[(&str, u64)] = &[("critical", 30), ("standard", 70)];

/// An injected violation: the rule it makes fire and what it changes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Violation {
    Cve,
    EncryptionPg,
    EncryptionBucket,
    BackupRetention,
    AllowedRegions,
    DevSizeCaps,
    RequiredLabels,
}

const ALL: &[Violation] = &[
    Violation::Cve,
    Violation::EncryptionPg,
    Violation::EncryptionBucket,
    Violation::BackupRetention,
    Violation::AllowedRegions,
    Violation::DevSizeCaps,
    Violation::RequiredLabels,
];

impl Violation {
    fn name(self) -> &'static str {
        match self {
            Violation::Cve => "cve (postgres-cve-2026-4412, postgresql 15.7)",
            Violation::EncryptionPg => "encryption-at-rest (postgresql encryption: false)",
            Violation::EncryptionBucket => "encryption-at-rest (confidential bucket, AES256)",
            Violation::BackupRetention => "backup-retention-prod (prod postgresql, 7 days)",
            Violation::AllowedRegions => "allowed-regions (payments in ap-south-1)",
            Violation::DevSizeCaps => "dev-size-caps (dev postgresql 200 GiB / dev large redis)",
            Violation::RequiredLabels => "required-labels (no cost-centre)",
        }
    }

    fn blocks(self) -> bool {
        !matches!(self, Violation::DevSizeCaps | Violation::RequiredLabels)
    }

    /// The violations that can be injected into a request of this Promise kind.
    fn for_kind(kind: &str) -> &'static [Violation] {
        match kind {
            "PostgreSQL" => &[
                Violation::Cve,
                Violation::EncryptionPg,
                Violation::BackupRetention,
                Violation::AllowedRegions,
                Violation::DevSizeCaps,
                Violation::RequiredLabels,
            ],
            "Redis" => &[
                Violation::AllowedRegions,
                Violation::DevSizeCaps,
                Violation::RequiredLabels,
            ],
            "Bucket" => &[
                Violation::EncryptionBucket,
                Violation::AllowedRegions,
                Violation::RequiredLabels,
            ],
            _ => &[Violation::RequiredLabels],
        }
    }
}

struct Args {
    count: usize,
    out: PathBuf,
    seed: u64,
    format: String,
    /// Share of requests with one violation, in hundredths of a percent.
    violations: u64,
    store: String,
    rules: bool,
}

fn usage(why: &str) -> ! {
    eprintln!(
        "fleet: {why}\nusage: fleet --count N --out DIR [--seed S] [--format yaml|json|ndjson] \
         [--violations PERCENT] [--store empty|old] [--rules example|none]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        count: 100_000,
        out: PathBuf::from("/tmp/vow-fleet"),
        seed: 1,
        format: "yaml".into(),
        violations: 500,
        store: "empty".into(),
        rules: true,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let Some(v) = pair.get(1).cloned() else {
            usage(&format!("{} needs a value", pair[0]))
        };
        match pair[0].as_str() {
            "--count" => a.count = v.parse().unwrap_or_else(|_| usage("--count N")),
            "--out" => a.out = PathBuf::from(v),
            "--seed" => a.seed = v.parse().unwrap_or_else(|_| usage("--seed N")),
            "--format" if ["yaml", "json", "ndjson"].contains(&v.as_str()) => a.format = v,
            "--violations" => {
                let p: f64 = v
                    .parse()
                    .ok()
                    .filter(|p| (0.0..=100.0).contains(p))
                    .unwrap_or_else(|| usage("--violations PERCENT (0 to 100)"));
                a.violations = (p * 100.0).round() as u64;
            }
            "--store" if v == "empty" || v == "old" => a.store = v,
            "--rules" if v == "example" || v == "none" => a.rules = v == "example",
            other => usage(&format!("unknown argument {other} {v}")),
        }
    }
    a
}

fn templates(repo: &Path) -> Vec<Value> {
    let dir = repo.join("fixtures/example/requests");
    let mut out = Vec::new();
    for f in vow::source::list_files(&dir) {
        let (docs, _) = vow::source::read_file(repo, &f);
        out.extend(docs.into_iter().map(|d| d.value));
    }
    out.retain(|v| {
        v.pointer("/metadata/annotations/kratix.io~1paused")
            .is_none()
    });
    out
}

/// `spec` as a mutable map (created if missing).
fn obj<'a>(v: &'a mut Value, key: &str) -> &'a mut serde_json::Map<String, Value> {
    let map = v.as_object_mut().expect("an object");
    let e = map
        .entry(key)
        .or_insert_with(|| Value::Object(Default::default()));
    if !e.is_object() {
        *e = Value::Object(Default::default());
    }
    e.as_object_mut().unwrap()
}

/// Makes a PostgreSQL spec compliant with every blocking rule and valid under both v1.3.0 and
/// v1.4.0, then applies `violation`.
fn postgresql(spec: &mut serde_json::Map<String, Value>, env: &str, violation: Option<Violation>) {
    let version = spec.get("version").and_then(|v| v.as_str()).unwrap_or("");
    if version == "15.7" || version == "16.4" || version.is_empty() {
        spec.insert("version".into(), "15.8".into());
    }
    spec.remove("encryption");
    let storage = spec.get("storageGb").and_then(|v| v.as_u64());
    if storage.is_some_and(|s| s < 10) {
        spec.insert("storageGb".into(), 50.into());
    }
    if env == "dev" {
        if storage.is_some_and(|s| s > 100) {
            spec.insert("storageGb".into(), 100.into());
        }
        spec.remove("instances");
    }
    if env == "prod" {
        let backups = obj_in(spec, "backups");
        if backups.get("enabled") == Some(&Value::Bool(false)) {
            backups.remove("enabled");
        }
        let days = backups.get("retentionDays").and_then(|v| v.as_u64());
        if days.is_none_or(|d| d < 14) {
            backups.insert("retentionDays".into(), 14.into());
        }
    }
    match violation {
        Some(Violation::Cve) => {
            spec.insert("version".into(), "15.7".into());
        }
        Some(Violation::EncryptionPg) => {
            spec.insert("encryption".into(), false.into());
        }
        Some(Violation::BackupRetention) => {
            obj_in(spec, "backups").insert("retentionDays".into(), 7.into());
        }
        Some(Violation::DevSizeCaps) => {
            spec.insert("storageGb".into(), 200.into());
        }
        _ => {}
    }
}

fn obj_in<'a>(
    map: &'a mut serde_json::Map<String, Value>,
    key: &str,
) -> &'a mut serde_json::Map<String, Value> {
    let e = map
        .entry(key)
        .or_insert_with(|| Value::Object(Default::default()));
    if !e.is_object() {
        *e = Value::Object(Default::default());
    }
    e.as_object_mut().unwrap()
}

fn redis(spec: &mut serde_json::Map<String, Value>, env: &str, violation: Option<Violation>) {
    if env == "dev" && spec.get("size").and_then(|v| v.as_str()) == Some("large") {
        spec.insert("size".into(), "medium".into());
    }
    if violation == Some(Violation::DevSizeCaps) {
        spec.insert("size".into(), "large".into());
    }
}

fn bucket(spec: &mut serde_json::Map<String, Value>, violation: Option<Violation>) {
    // bucket v1.0.0 has no spec.retention.
    spec.remove("retention");
    let class = spec
        .get("dataClassification")
        .and_then(|v| v.as_str())
        .unwrap_or("internal");
    if class == "confidential" || class == "restricted" {
        spec.insert("encryption".into(), "aws:kms".into());
        spec.remove("corsAllowedOrigins");
    }
    if violation == Some(Violation::EncryptionBucket) {
        spec.insert("dataClassification".into(), "confidential".into());
        spec.insert("encryption".into(), "AES256".into());
        spec.remove("corsAllowedOrigins");
    }
}

fn config(repo: &Path, promises: &Path, rules: Option<&Path>) -> String {
    let rules = rules
        .map(|r| format!("rules: {}\n", r.display()))
        .unwrap_or_default();
    format!(
        "promises: {}\n{rules}destinations: {}\nrequests: requests\nstore: {{folder: state}}\nlabels: {{team: team, environment: env}}\n",
        promises.display(),
        repo.join("fixtures/example/destinations.yaml").display()
    )
}

fn main() {
    let a = parse_args();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let templates = templates(&repo);
    let mut rng = Rng(a.seed);
    let requests = a.out.join("requests");
    let _ = std::fs::remove_dir_all(&a.out);
    std::fs::create_dir_all(&requests).unwrap();
    let rules = repo.join("rules");
    std::fs::write(
        a.out.join("vow.yaml"),
        config(&repo, &repo.join("promises"), a.rules.then_some(&rules)),
    )
    .unwrap();
    // The platform as it was: the previous Promise revisions, before the rules existed.
    std::fs::create_dir_all(a.out.join("no-rules")).unwrap();
    std::fs::write(
        a.out.join("vow-old.yaml"),
        config(
            &repo,
            &repo.join("fixtures/example/state/.vow/revisions"),
            Some(Path::new("no-rules")),
        ),
    )
    .unwrap();
    std::fs::create_dir_all(a.out.join("state")).unwrap();

    let mut injected = vec![0usize; ALL.len()];
    let mut critical_redis = 0usize;
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    let per_file = 1000;
    let ext = a.format.as_str();
    for chunk in 0..a.count.div_ceil(per_file) {
        let path = requests.join(format!("fleet-{chunk:05}.{ext}"));
        let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
        let n = per_file.min(a.count - chunk * per_file);
        let mut batch = Vec::with_capacity(n);
        for i in 0..n {
            let id = chunk * per_file + i;
            let mut v = templates[(rng.next() % templates.len() as u64) as usize].clone();
            let mut team = rng.pick(TEAMS);
            let mut env = rng.pick(ENVS);
            let mut region = rng.pick(REGIONS);
            let tier = rng.pick(TIERS);
            let cost_centre = format!("CC-{}", 1000 + rng.next() % 50);
            let kind = v["kind"].as_str().unwrap_or("").to_string();
            // Drawn for every request, so that the labels of the others do not depend on it.
            let roll = rng.next() % 10_000;
            let pick = rng.next();
            let region_again = rng.pick(PAYMENTS_REGIONS);
            let violation = (roll < a.violations).then(|| {
                let options = Violation::for_kind(&kind);
                options[(pick % options.len() as u64) as usize]
            });
            match violation {
                Some(Violation::AllowedRegions) => {
                    team = "payments";
                    region = "ap-south-1";
                }
                Some(Violation::BackupRetention) => env = "prod",
                Some(Violation::DevSizeCaps) => env = "dev",
                _ => {}
            }
            if team == "payments"
                && region == "ap-south-1"
                && violation != Some(Violation::AllowedRegions)
            {
                region = region_again;
            }
            if let Some(x) = violation {
                injected[ALL.iter().position(|y| *y == x).unwrap()] += 1;
            }
            if kind == "Redis" && tier == "critical" {
                critical_redis += 1;
            }
            *kinds.entry(kind.clone()).or_default() += 1;

            let spec = obj(&mut v, "spec");
            match kind.as_str() {
                "PostgreSQL" => postgresql(spec, env, violation),
                "Redis" => redis(spec, env, violation),
                "Bucket" => bucket(spec, violation),
                _ => {}
            }
            let base = v["metadata"]["name"].as_str().unwrap_or("svc").to_string();
            let meta = obj(&mut v, "metadata");
            meta.insert("name".into(), format!("{base}-{id}").into());
            meta.insert("namespace".into(), format!("team-{team}").into());
            let labels = obj_in(meta, "labels");
            labels.remove("vow.dev/version");
            for (k, val) in [
                ("team", team),
                ("env", env),
                ("region", region),
                ("tier", tier),
            ] {
                labels.insert(k.into(), val.into());
            }
            if violation == Some(Violation::RequiredLabels) {
                labels.remove("cost-centre");
            } else {
                labels.insert("cost-centre".into(), cost_centre.into());
            }
            batch.push(v);
        }
        match ext {
            "json" => serde_json::to_writer(
                &mut w,
                &json!({"apiVersion": "v1", "kind": "List", "items": batch}),
            )
            .unwrap(),
            "ndjson" => {
                for v in batch {
                    serde_json::to_writer(&mut w, &v).unwrap();
                    w.write_all(b"\n").unwrap();
                }
            }
            _ => {
                for v in batch {
                    w.write_all(b"---\n").unwrap();
                    w.write_all(serde_yaml::to_string(&v).unwrap().as_bytes())
                        .unwrap();
                }
            }
        }
        w.flush().unwrap();
    }

    let pct = |n: usize| 100.0 * n as f64 / a.count.max(1) as f64;
    let total: usize = injected.iter().sum();
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    eprintln!(
        "wrote {} requests ({}) to {} (seed {}, {}, rules: {})",
        a.count,
        kinds.join(", "),
        a.out.display(),
        a.seed,
        a.format,
        if a.rules { "example" } else { "none" }
    );
    eprintln!(
        "violations injected: {total} ({:.2} %; asked {:.2} %), one per request:",
        pct(total),
        a.violations as f64 / 100.0
    );
    let mut blocking = 0;
    for (x, n) in ALL.iter().zip(&injected) {
        if x.blocks() {
            blocking += n;
        }
        eprintln!(
            "  {:<58} {:>8}  {:>6.2} %  {}",
            x.name(),
            n,
            pct(*n),
            if x.blocks() { "block" } else { "warn" }
        );
    }
    eprintln!(
        "  blocking: {blocking} ({:.2} %); encryption-bucket requests fail the old revision too (never applied)",
        pct(blocking)
    );
    eprintln!(
        "not injected: critical-replicas (warn) fires on every critical-tier Redis: {critical_redis} ({:.2} %)",
        pct(critical_redis)
    );

    if a.store == "old" {
        let mut cmd = std::process::Command::new("bash");
        cmd.arg(repo.join("bench/fleet-store.sh")).arg(&a.out);
        if std::env::var_os("VOW").is_none() {
            // target/release/examples/fleet -> target/release/vow
            if let Some(dir) = std::env::current_exe()
                .ok()
                .and_then(|e| e.parent()?.parent().map(Path::to_path_buf))
            {
                cmd.env("VOW", dir.join("vow"));
            }
        }
        let status = cmd.status().expect("running bench/fleet-store.sh");
        if !status.success() {
            eprintln!("fleet: bench/fleet-store.sh failed ({status})");
            std::process::exit(1);
        }
    }
}
