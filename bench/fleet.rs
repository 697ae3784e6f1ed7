//! Generates a large fleet for benchmarks, deterministically from a seed.
//!
//! The requests are the example fleet's (fixtures/example/requests) used as templates: each
//! generated request copies one, gets a unique name, and draws its team, environment, region and
//! tier from fixed distributions, so the fleet is valid against the example Promises and has the
//! same share of violations (PostgreSQL 15.7, rejected by the CVE check). The output is a
//! workspace: vow.yaml, requests in files of 1000 documents, pointing at this repository's
//! Promises and destinations, with an empty store.
//!
//!     cargo run --release --example fleet -- --count 100000 --out /tmp/fleet [--seed 1] [--format yaml|json|ndjson]

use serde_json::Value;
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
const TIERS: &[(&str, u64)] = &[("critical", 30), ("standard", 70)];

struct Args {
    count: usize,
    out: PathBuf,
    seed: u64,
    format: String,
}

fn parse_args() -> Args {
    let mut a = Args {
        count: 100_000,
        out: PathBuf::from("/tmp/vow-fleet"),
        seed: 1,
        format: "yaml".into(),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let v = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--count" => a.count = v.parse().expect("--count N"),
            "--out" => a.out = PathBuf::from(v),
            "--seed" => a.seed = v.parse().expect("--seed N"),
            "--format" => a.format = v,
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

fn templates(repo: &Path) -> Vec<Value> {
    let dir = repo.join("fixtures/example/requests");
    let mut out = Vec::new();
    for f in vow::load::list_files(&dir) {
        let (docs, _) = vow::load::read_file(repo, &f);
        out.extend(docs.into_iter().map(|d| d.value));
    }
    out.retain(|v| {
        v.pointer("/metadata/annotations/kratix.io~1paused")
            .is_none()
    });
    out
}

fn main() {
    let a = parse_args();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let templates = templates(&repo);
    let mut rng = Rng(a.seed);
    let requests = a.out.join("requests");
    let _ = std::fs::remove_dir_all(&a.out);
    std::fs::create_dir_all(&requests).unwrap();
    let config = format!(
        "promises: {}\ndestinations: {}\nrequests: requests\nstore: {{folder: state}}\n",
        repo.join("promises").display(),
        repo.join("fixtures/example/destinations.yaml").display()
    );
    std::fs::write(a.out.join("vow.yaml"), config).unwrap();
    let per_file = 1000;
    for chunk in 0..a.count.div_ceil(per_file) {
        let ext = match a.format.as_str() {
            "json" => "json",
            "ndjson" => "ndjson",
            _ => "yaml",
        };
        let path = requests.join(format!("fleet-{chunk:05}.{ext}"));
        let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
        let n = per_file.min(a.count - chunk * per_file);
        let mut batch = Vec::with_capacity(n);
        for i in 0..n {
            let id = chunk * per_file + i;
            let mut v = templates[(rng.next() % templates.len() as u64) as usize].clone();
            let team = rng.pick(TEAMS);
            let env = rng.pick(ENVS);
            let region = rng.pick(REGIONS);
            let tier = rng.pick(TIERS);
            let base = v["metadata"]["name"].as_str().unwrap_or("svc").to_string();
            let meta = v["metadata"].as_object_mut().unwrap();
            meta.insert("name".into(), format!("{base}-{id}").into());
            meta.insert("namespace".into(), format!("team-{team}").into());
            let labels = meta
                .entry("labels")
                .or_insert_with(|| Value::Object(Default::default()))
                .as_object_mut()
                .unwrap();
            labels.remove("vow.dev/version");
            for (k, val) in [
                ("team", team),
                ("env", env),
                ("region", region),
                ("tier", tier),
            ] {
                labels.insert(k.into(), val.into());
            }
            labels.insert(
                "cost-centre".into(),
                format!("CC-{}", 1000 + rng.next() % 50).into(),
            );
            batch.push(v);
        }
        match a.format.as_str() {
            "json" => serde_json::to_writer(
                &mut w,
                &serde_json::json!({"apiVersion": "v1", "kind": "List", "items": batch}),
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
    }
    eprintln!("wrote {} requests to {}", a.count, a.out.display());
}
