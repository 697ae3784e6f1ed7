//! The workspace: `vow.yaml` (optional), and where every kind of input lives.
//!
//! Without a `vow.yaml` the defaults apply: `promises/`, `rules/`,
//! `requests/`, `destinations.yaml`, `health/` and a folder store in `state/`.

use crate::config::{Calendar, FreezeSpec, RolloutSpec, WindowSpec};
use crate::diag::{self, Finding, Location};
use crate::error::{Error, Result};
use crate::model::Rollout;
use crate::store::git::{AuthorProblem, CommitAuthor};
use schemars::JsonSchema;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Where the state store is.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(try_from = "RawStore")]
pub enum StoreConfig {
    Path(PathBuf),
    Folder { folder: PathBuf },
    Git { git: GitConfig },
}

/// `store:` as written: a path, or a map naming exactly one of a folder and a git repository
/// (an untagged enum of the two would take `{folder, git}` as whichever it tried first).
/// Also the shape of the JSON Schema of `store:` (schemars follows `try_from`).
#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
enum RawStore {
    Path(PathBuf),
    Keys(StoreKeys),
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("minProperties" = 1, "maxProperties" = 1))]
struct StoreKeys {
    folder: Option<PathBuf>,
    git: Option<GitConfig>,
}

impl TryFrom<RawStore> for StoreConfig {
    type Error = String;

    fn try_from(raw: RawStore) -> Result<StoreConfig, String> {
        match raw {
            RawStore::Path(p) => Ok(StoreConfig::Path(p)),
            RawStore::Keys(StoreKeys { folder: Some(folder), git: None }) => {
                Ok(StoreConfig::Folder { folder })
            }
            RawStore::Keys(StoreKeys { folder: None, git: Some(git) }) => Ok(StoreConfig::Git { git }),
            RawStore::Keys(StoreKeys { folder: Some(_), git: Some(_) }) => Err(
                "store names both a folder and a git repository; keep one of `folder:` and `git:`"
                    .into(),
            ),
            RawStore::Keys(StoreKeys { folder: None, git: None }) => Err(
                "store names no store; write `store: {folder: state}` or `store: {git: {url: ...}}`"
                    .into(),
            ),
        }
    }
}

/// A git store: a repository URL (or path) and a branch.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GitConfig {
    /// `https://host/org/state.git`, `ssh://git@host/org/state.git`, `git@host:org/state.git`,
    /// `git://host/state.git`, `file:///srv/state.git`, or a path to a (bare) repository.
    pub url: String,
    /// The branch; not given: the remote's default branch (`main` for an empty remote).
    #[serde(default)]
    pub branch: Option<String>,
    /// The author and committer of vow's commits; not given: the user's git config, else
    /// `vow <vow@localhost>` (docs/apply.md, "Commits").
    #[serde(default)]
    pub author: Option<AuthorSpec>,
}

/// The author and committer of vow's commits: a name and an email.
// Checked at load (`ConfigLines::author`), so that a missing value is a finding at its line
// rather than serde's word for the whole `store:`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorSpec {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// The kind of store, resolved (the store owns it: `store::open` takes it).
pub use crate::store::StoreKind;

/// Which request labels name a team and an environment, for summaries.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelKeys {
    /// The label naming a request's team (default `team`).
    #[serde(default = "team_key")]
    pub team: String,
    /// The label naming a request's environment (default `env`).
    #[serde(default = "env_key")]
    pub environment: String,
}

fn team_key() -> String {
    "team".into()
}
fn env_key() -> String {
    "env".into()
}

impl Default for LabelKeys {
    fn default() -> Self {
        LabelKeys {
            team: team_key(),
            environment: env_key(),
        }
    }
}

/// `vow.yaml`, as written. Every key is optional; paths are relative to the workspace.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "vow.yaml")]
pub struct ConfigFile {
    /// The folder of Promises (default `promises`).
    pub promises: Option<PathBuf>,
    /// The folder of Rules, Waivers and Tests (default `rules`).
    pub rules: Option<PathBuf>,
    /// The folder of requests (default `requests`).
    pub requests: Option<PathBuf>,
    /// The file of Destinations (default `destinations.yaml`).
    pub destinations: Option<PathBuf>,
    /// The folder of health records that `vow apply` judges gates by (default `health`).
    pub health: Option<PathBuf>,
    /// The state store: a folder path, `{folder: PATH}` or `{git: {url, branch, author}}`
    /// (default the folder `state`).
    pub store: Option<StoreConfig>,
    /// Which request labels name a team and an environment, for summaries.
    #[serde(default)]
    pub labels: LabelKeys,
    /// The rollout strategy for Promises that have none.
    pub rollout: Option<RolloutSpec>,
    /// Maintenance windows: waves of matching instances start only inside them.
    #[serde(default)]
    pub windows: Vec<WindowSpec>,
    /// Freeze periods: no wave of matching instances starts inside them.
    #[serde(default)]
    pub freezes: Vec<FreezeSpec>,
    /// Kratix's `resourceBindingVersionStrategy`: `floating` (default: instances follow the
    /// latest Promise version) or `pinned` (a new instance stays at the version it was created at).
    #[serde(default, rename = "resourceBindingVersionStrategy")]
    pub binding_strategy: Option<BindingStrategy>,
    /// Kratix's own config, the `kratix` ConfigMap: its `resourceBindingVersionStrategy` is used
    /// unless `vow.yaml` sets one.
    #[serde(default, rename = "kratixConfig")]
    pub kratix_config: Option<PathBuf>,
    /// How waivers are reported (docs/policy.md).
    #[serde(default)]
    pub waivers: crate::config::WaiverSettings,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BindingStrategy {
    #[default]
    Floating,
    Pinned,
}

/// A resolved workspace: absolute paths for every input.
#[derive(Clone, Debug)]
pub struct Workspace {
    pub root: PathBuf,
    pub config_file: Option<PathBuf>,
    pub promises: PathBuf,
    pub rules: PathBuf,
    pub requests: PathBuf,
    pub destinations: PathBuf,
    pub health: PathBuf,
    /// The directory the store's files are read from: the folder, or the git store's checkout.
    pub store: PathBuf,
    pub store_kind: StoreKind,
    pub labels: LabelKeys,
    pub default_rollout: Option<Rollout>,
    pub calendar: Calendar,
    pub binding_strategy: BindingStrategy,
    /// A waiver expiring within this many days is a warning (0: never).
    pub waiver_warn_days: u32,
}

impl Workspace {
    /// Opens the workspace at `root`, reading `config` (default `<root>/vow.yaml`) when present.
    pub fn open(root: &Path, config: Option<&Path>) -> Result<Workspace> {
        if !root.is_dir() {
            return Err(Error::Usage(format!(
                "the workspace {} is not a directory; pass the platform repository with -C DIR",
                root.display()
            )));
        }
        let root = root
            .canonicalize()
            .map_err(|e| Error::io("resolve the workspace", root, e))?;
        let config_path = match config {
            Some(c) => Some(root.join(c)),
            None => Some(root.join("vow.yaml")).filter(|p| p.is_file()),
        };
        let file = match &config_path {
            Some(p) => read_config(&root, p)?,
            None => ConfigFile::default(),
        };
        let at = |p: Option<PathBuf>, default: &str| root.join(p.unwrap_or_else(|| default.into()));
        let lines = ConfigLines::new(&root, config_path.as_deref());
        let (store, store_kind) = match file.store {
            Some(StoreConfig::Path(p)) | Some(StoreConfig::Folder { folder: p }) => {
                (root.join(p), StoreKind::Folder)
            }
            None => (root.join("state"), StoreKind::Folder),
            Some(StoreConfig::Git { git }) => {
                // A relative path is relative to the workspace, like every other path; a URL
                // (`https://`, `ssh://`, scp-like `git@host:org/repo`) is kept as written.
                let url = crate::store::remote::Remote::parse(&git.url, &root)
                    .url()
                    .to_string();
                (
                    crate::store::layout::git_cache(
                        &root,
                        &url,
                        git.branch.as_deref().unwrap_or(""),
                    ),
                    StoreKind::Git {
                        url,
                        branch: git.branch,
                        author: git.author.as_ref().map(|a| lines.author(a)).transpose()?,
                    },
                )
            }
        };
        let default_rollout = match &file.rollout {
            Some(spec) => Some(lines.rollout(spec)?),
            None => None,
        };
        let calendar =
            Calendar::compile_at(&file.windows, &file.freezes).map_err(|(field, e)| {
                Error::Config(vec![
                    Finding::new(diag::INVALID_CONFIG, e).at_opt(lines.location(&field))
                ])
            })?;
        let binding_strategy = match (file.binding_strategy, &file.kratix_config) {
            (Some(s), _) => s,
            (None, Some(k)) => kratix_config_strategy(&root, &root.join(k))?,
            (None, None) => BindingStrategy::default(),
        };
        Ok(Workspace {
            waiver_warn_days: file.waivers.warn_days,
            calendar,
            binding_strategy,
            promises: at(file.promises, "promises"),
            rules: at(file.rules, "rules"),
            requests: at(file.requests, "requests"),
            destinations: at(file.destinations, "destinations.yaml"),
            health: at(file.health, "health"),
            store,
            store_kind,
            labels: file.labels,
            default_rollout,
            config_file: config_path,
            root,
        })
    }
}

impl Workspace {
    /// Opens the workspace's store. Call `refresh` before reading a git store's checkout.
    pub fn open_store(&self) -> crate::error::Result<Box<dyn crate::store::Store>> {
        crate::store::open(&self.store_kind, &self.store)
    }
}

/// The `resourceBindingVersionStrategy` of Kratix's config ConfigMap (`data.config` holds the
/// config as YAML text). The rest of it configures Kratix's controller and is not vow's concern.
fn kratix_config_strategy(root: &Path, path: &Path) -> Result<BindingStrategy> {
    let fail = |why: String| {
        Error::Config(vec![Finding::new(diag::INVALID_CONFIG, why)
            .at(Location::new(crate::source::display_path(root, path), 1))
            .help(
                "kratixConfig names Kratix's `kratix` ConfigMap (kind: ConfigMap, data.config)",
            )])
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    let map: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| fail(e.to_string()))?;
    if map.get("kind").and_then(|k| k.as_str()) != Some("ConfigMap") {
        return Err(fail("not a ConfigMap".into()));
    }
    let Some(config) = map.get("data").and_then(|d| d.get("config")) else {
        return Ok(BindingStrategy::default());
    };
    let config: serde_yaml::Value = match config.as_str() {
        Some(text) => serde_yaml::from_str(text).map_err(|e| fail(format!("data.config: {e}")))?,
        None => config.clone(),
    };
    match config.get("resourceBindingVersionStrategy") {
        None => Ok(BindingStrategy::default()),
        Some(v) => serde_yaml::from_value(v.clone()).map_err(|e| {
            fail(format!(
                "data.config.resourceBindingVersionStrategy: {e} (floating or pinned)"
            ))
        }),
    }
}

/// Where in vow.yaml a field is, for the findings about it.
struct ConfigLines {
    root: PathBuf,
    /// vow.yaml as shown (relative to the workspace), when there is one.
    file: Option<std::sync::Arc<str>>,
    /// The first content line of its document: fields are found from there.
    first_line: u32,
}

impl ConfigLines {
    fn new(root: &Path, config: Option<&Path>) -> ConfigLines {
        let first_line = config
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|t| crate::source::split_yaml(&t).first().map(|d| d.1))
            .unwrap_or(1);
        ConfigLines {
            root: root.to_path_buf(),
            file: config.map(|p| crate::source::display_path(root, p)),
            first_line,
        }
    }

    /// The line of `field` (`rollout.waves[0].bake`), else of the document.
    fn location(&self, field: &str) -> Option<Location> {
        let start = Location::new(self.file.clone()?, self.first_line);
        crate::source::locate::field_location(&self.root, &start, field).or(Some(start))
    }

    /// vow.yaml's default rollout, typed; the first value that cannot be read is the error.
    fn rollout(&self, spec: &RolloutSpec) -> Result<Rollout> {
        let (rollout, problems) = spec.compile();
        match problems.into_iter().next() {
            None => Ok(rollout),
            Some((field, msg)) => {
                let field = format!("rollout.{field}");
                let finding = Finding::new(diag::INVALID_ROLLOUT, format!("{field}: {msg}"))
                    .at_opt(self.location(&field))
                    .field(field)
                    .help("durations are like 30m, 4h or 1d; budgets and sizes are counts or percentages like 25%");
                Err(Error::Config(vec![finding]))
            }
        }
    }
}

impl ConfigLines {
    /// `store.git.author`, checked as a commit header needs it; the first bad value is the
    /// error, at its line.
    fn author(&self, spec: &AuthorSpec) -> Result<CommitAuthor> {
        let missing = |field| AuthorProblem {
            field,
            message: "is missing".into(),
        };
        // A missing value is found at `author:`, a wrong one at its own line.
        let (problem, at) = match (&spec.name, &spec.email) {
            (Some(name), Some(email)) => match CommitAuthor::new(name, email) {
                Ok(a) => return Ok(a),
                Err(p) => {
                    let at = format!("store.git.author.{}", p.field);
                    (p, at)
                }
            },
            (None, _) => (missing("name"), "store.git.author".to_string()),
            (Some(_), None) => (missing("email"), "store.git.author".to_string()),
        };
        let field = format!("store.git.author.{}", problem.field);
        let finding = Finding::new(
            diag::INVALID_CONFIG,
            format!("{field}: {}", problem.message),
        )
        .at_opt(self.location(&at))
        .field(field)
        .help("store.git.author is the author and committer of vow's commits, like {name: Ops Team, email: ops@example.com}");
        Err(Error::Config(vec![finding]))
    }
}

fn read_config(root: &Path, path: &Path) -> Result<ConfigFile> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::io("read the configuration", path, e))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    if text.trim().is_empty() {
        return Ok(ConfigFile::default());
    }
    serde_yaml::from_str(text).map_err(|e| {
        let file = crate::source::display_path(root, path);
        let location = e
            .location()
            .map(|l| Location::new(file, l.line() as u32).with_column(l.column() as u32));
        Error::Config(vec![Finding::new(diag::INVALID_CONFIG, e.to_string())
            .at_opt(location)
            .help("vow.yaml keys are promises, rules, requests, destinations, health, store, labels, rollout")])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_without_config() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(dir.path(), None).unwrap();
        assert!(ws.promises.ends_with("promises"));
        assert!(ws.store.ends_with("state"));
        assert_eq!(ws.labels.team, "team");
    }

    #[test]
    fn config_overrides_and_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("vow.yaml"),
            "requests: fleet\nstore: {folder: st}\n",
        )
        .unwrap();
        let ws = Workspace::open(dir.path(), None).unwrap();
        assert!(ws.requests.ends_with("fleet"));
        assert!(ws.store.ends_with("st"));
        std::fs::write(dir.path().join("vow.yaml"), "requests: a\nrequestz: b\n").unwrap();
        let err = Workspace::open(dir.path(), None).unwrap_err().to_string();
        assert!(err.contains("vow.yaml:2"), "{err}");
        assert!(err.contains("requestz"), "{err}");
    }

    #[test]
    fn config_problems_are_findings_at_their_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("vow.yaml"),
            "store: {folder: st}\nrollout:\n  waves:\n    - {name: all, bake: banana}\n",
        )
        .unwrap();
        let Err(Error::Config(findings)) = Workspace::open(dir.path(), None) else {
            panic!("a bad bake is a configuration error");
        };
        let f = &findings[0];
        assert_eq!(f.id(), "V105");
        assert_eq!(f.location.as_ref().unwrap().to_string(), "vow.yaml:4:19");
        assert!(
            f.message.starts_with("rollout.waves[0].bake: bake: "),
            "{}",
            f.message
        );
        assert!(f.help.is_some());
    }

    #[test]
    fn a_bad_git_author_is_a_finding_at_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let open = |yaml: &str| {
            std::fs::write(dir.path().join("vow.yaml"), yaml).unwrap();
            Workspace::open(dir.path(), None)
        };
        let ok = open(
            "store:\n  git:\n    url: r.git\n    author: {name: Ops, email: ops@example.com}\n",
        )
        .unwrap();
        let StoreKind::Git {
            author: Some(a), ..
        } = ok.store_kind
        else {
            panic!("a git store with an author");
        };
        assert_eq!((a.name(), a.email()), ("Ops", "ops@example.com"));
        for (yaml, line, start) in [
            ("store:\n  git:\n    url: r.git\n    author:\n      name: Ops\n      email: ops\n", 6, "store.git.author.email: "),
            ("store:\n  git:\n    url: r.git\n    author:\n      name: \"<a>\"\n      email: a@b\n", 5, "store.git.author.name: "),
            ("store:\n  git:\n    url: r.git\n    author:\n      email: a@b\n", 4, "store.git.author.name: is missing"),
        ] {
            let Err(Error::Config(findings)) = open(yaml) else {
                panic!("{yaml}: a configuration error");
            };
            let f = &findings[0];
            assert_eq!(f.location.as_ref().unwrap().line, line, "{yaml}");
            assert!(f.message.starts_with(start), "{}", f.message);
        }
    }

    #[test]
    fn git_urls_are_kept_and_relative_paths_join_the_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let url_of = |url: &str| {
            std::fs::write(
                dir.path().join("vow.yaml"),
                format!("store: {{git: {{url: \"{url}\"}}}}\n"),
            )
            .unwrap();
            match Workspace::open(dir.path(), None).unwrap().store_kind {
                StoreKind::Git { url, branch, .. } => {
                    assert_eq!(branch, None, "no branch given: the remote's default");
                    url
                }
                StoreKind::Folder => panic!("a git store"),
            }
        };
        for kept in [
            "git@github.com:acme/state.git",
            "https://github.com/acme/state.git",
            "ssh://git@host:2222/state.git",
            "git://127.0.0.1/state.git",
            "file:///srv/state.git",
            "/srv/state.git",
        ] {
            assert_eq!(url_of(kept), kept);
        }
        assert_eq!(
            url_of("remote/state.git"),
            dir.path().join("remote/state.git").display().to_string()
        );
    }
}
