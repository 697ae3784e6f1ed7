//! The identity of an instance (`promise:namespace/name`, `promise:dependencies`): its one
//! parser, its text form, and the stable hashes that place it in shards, waves and destinations.

use serde::{Deserialize, Serialize};

/// The identity of an instance: `<promise>:<namespace>/<name>`, or `<promise>:dependencies` for
/// a Promise's own outputs. Written and read (in plan files, journals, partial plans) as that
/// string; [`FromStr`](std::str::FromStr) is the one parser of it.
///
/// The derived order (Promise, then its dependencies, then requests by namespace and name) is
/// the order instances are planned in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstanceRef {
    pub promise: String,
    pub scope: Scope,
}

/// What of a Promise an [`InstanceRef`] names.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// The Promise-level outputs of a Promise (its `promise.configure` workflow), which Kratix
    /// writes under `dependencies/<promise>/`.
    Dependencies,
    /// One request of the Promise.
    Request { namespace: String, name: String },
}

/// What a stable hash of an instance is for. Each use keeps the bytes it has always hashed, so
/// ranks, shards and destinations stay where earlier versions of vow put them.
#[derive(Clone, Copy, Debug)]
pub enum HashUse<'a> {
    /// Which shard of `vow plan --shard` evaluates the instance.
    Shard,
    /// The instance's rank within its waves, for the version it moves to.
    Rank { version: &'a str },
    /// The destination a new instance's workload group `dir` is placed on.
    Destination { dir: &'a str },
}

impl InstanceRef {
    pub fn request(promise: &str, namespace: &str, name: &str) -> InstanceRef {
        InstanceRef {
            promise: promise.to_string(),
            scope: Scope::Request {
                namespace: namespace.to_string(),
                name: name.to_string(),
            },
        }
    }

    /// The Promise-level outputs of a Promise: `<promise>:dependencies`.
    pub fn dependencies(promise: &str) -> InstanceRef {
        InstanceRef {
            promise: promise.to_string(),
            scope: Scope::Dependencies,
        }
    }

    pub fn is_dependencies(&self) -> bool {
        self.scope == Scope::Dependencies
    }

    /// The request's namespace; empty for a Promise's dependencies.
    pub fn namespace(&self) -> &str {
        match &self.scope {
            Scope::Dependencies => "",
            Scope::Request { namespace, .. } => namespace,
        }
    }

    /// The request's name; empty for a Promise's dependencies.
    pub fn name(&self) -> &str {
        match &self.scope {
            Scope::Dependencies => "",
            Scope::Request { name, .. } => name,
        }
    }

    /// A stable hash of the instance for `what`: the first eight bytes, big-endian, of a
    /// SHA-256, the same on every machine and in every run.
    pub fn stable_hash(&self, what: HashUse<'_>) -> u64 {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        match what {
            HashUse::Shard => {
                h.update(self.promise.as_bytes());
                h.update([0]);
                h.update(self.namespace().as_bytes());
                h.update([0]);
                h.update(self.name().as_bytes());
            }
            HashUse::Rank { version } => h.update(format!(
                "{}\0{version}\0{}/{}",
                self.promise,
                self.namespace(),
                self.name()
            )),
            HashUse::Destination { dir } => h.update(format!("{self}\0{dir}")),
        }
        u64::from_be_bytes(h.finalize().first_chunk().copied().unwrap_or_default())
    }
}

/// The 0-based shard an instance belongs to among `count`: a stable hash of its identity, so
/// the slices are the same on every machine and balanced whatever the file layout.
pub fn shard_of(id: &InstanceRef, count: u64) -> u64 {
    id.stable_hash(HashUse::Shard) % count.max(1)
}

impl std::fmt::Display for InstanceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.scope {
            Scope::Dependencies => write!(f, "{}:dependencies", self.promise),
            Scope::Request { namespace, name } => {
                write!(f, "{}:{namespace}/{name}", self.promise)
            }
        }
    }
}

impl std::str::FromStr for InstanceRef {
    type Err = String;

    /// `promise:namespace/name` or `promise:dependencies`; every part non-empty.
    fn from_str(s: &str) -> Result<InstanceRef, String> {
        let bad = || {
            format!(
                "`{}` is not an instance (PROMISE:NAMESPACE/NAME or PROMISE:dependencies)",
                s.escape_debug()
            )
        };
        let colon = s.find(':').ok_or_else(bad)?;
        let promise = s.get(..colon).unwrap_or("");
        let rest = s.get(colon + 1..).unwrap_or("");
        if promise.is_empty() {
            return Err(bad());
        }
        if rest == "dependencies" {
            return Ok(InstanceRef::dependencies(promise));
        }
        let slash = rest.find('/').ok_or_else(bad)?;
        let namespace = rest.get(..slash).unwrap_or("");
        let name = rest.get(slash + 1..).unwrap_or("");
        if namespace.is_empty() || name.is_empty() || rest.contains(':') {
            return Err(bad());
        }
        Ok(InstanceRef::request(promise, namespace, name))
    }
}

impl Serialize for InstanceRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for InstanceRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<InstanceRef, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_refs_read_back_as_written() {
        for text in [
            "app:team-a/web",
            "app:dependencies",
            "db:default/dependencies",
        ] {
            let id: InstanceRef = text.parse().unwrap();
            assert_eq!(id.to_string(), text);
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<InstanceRef>(&json).unwrap(), id);
        }
        let deps: InstanceRef = "app:dependencies".parse().unwrap();
        assert!(deps.is_dependencies());
        assert_eq!((deps.namespace(), deps.name()), ("", ""));
        let web: InstanceRef = "app:team-a/web".parse().unwrap();
        assert_eq!(web, InstanceRef::request("app", "team-a", "web"));
    }

    #[test]
    fn malformed_instance_refs_are_refused() {
        for text in [
            "",
            "app",
            ":ns/a",
            "app:",
            "app:ns",
            "app:/a",
            "app:ns/",
            "app:ns/a:b",
        ] {
            let err = text.parse::<InstanceRef>().unwrap_err();
            assert!(err.contains("is not an instance"), "{text}: {err}");
        }
        assert!(serde_json::from_str::<InstanceRef>("\"app\"").is_err());
    }

    #[test]
    fn dependencies_come_before_the_requests_of_their_promise() {
        let mut ids = [
            InstanceRef::request("app", "a", "x"),
            InstanceRef::dependencies("app"),
            InstanceRef::dependencies("api"),
        ];
        ids.sort();
        let shown: Vec<String> = ids.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["api:dependencies", "app:dependencies", "app:a/x"]);
    }

    #[test]
    fn stable_hashes_keep_their_historic_bytes() {
        use sha2::{Digest, Sha256};
        let first8 =
            |b: &[u8]| u64::from_be_bytes(Sha256::digest(b).first_chunk().copied().unwrap());
        let id = InstanceRef::request("app", "team-a", "web");
        assert_eq!(id.stable_hash(HashUse::Shard), first8(b"app\0team-a\0web"));
        assert_eq!(
            id.stable_hash(HashUse::Rank { version: "v1" }),
            first8(b"app\0v1\0team-a/web")
        );
        assert_eq!(
            id.stable_hash(HashUse::Destination { dir: "d" }),
            first8(b"app:team-a/web\0d")
        );
    }
}
