//! Findings: what vow reports about its inputs, as data.
//!
//! Every problem vow finds (a YAML error, a schema violation, a rejected request, a script that
//! ran out of operations) becomes a [`Finding`] with a stable code, a severity, a source location
//! and, where there is one, the instance it concerns. `Err` is kept for the few cases where the
//! tool cannot go on at all (no workspace, an unreadable store): one bad file never stops the batch.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// How bad a finding is. Ordered: `Info < Low < ... < Critical`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "info" => Severity::Info,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// Where a finding points: a file relative to the workspace, a 1-based line, optionally a column.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    pub file: Arc<str>,
    pub line: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}

impl Location {
    pub fn new(file: Arc<str>, line: u32) -> Location {
        Location {
            file,
            line,
            column: None,
        }
    }

    pub fn with_column(mut self, column: u32) -> Location {
        self.column = Some(column);
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(c) => write!(f, "{}:{}:{}", self.file, self.line, c),
            None => write!(f, "{}:{}", self.file, self.line),
        }
    }
}

/// A stable finding code with its explanation (`vow explain CODE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code {
    pub id: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    /// Whether a finding with this code keeps its instance out of every wave.
    pub blocking: bool,
    pub explain: &'static str,
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id)
    }
}

/// Codes are read back by id (`vow plan --merge` reads findings from partial plans).
impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Code, D::Error> {
        let id = String::deserialize(d)?;
        ALL_CODES
            .iter()
            .find(|c| c.id == id)
            .copied()
            .ok_or_else(|| serde::de::Error::custom(format!("unknown finding code {id}")))
    }
}

/// The waiver that waives a finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waived {
    pub waiver: String,
    pub reason: String,
    pub owner: String,
    pub expires: String,
}

/// One problem, observation or note about the inputs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub code: Code,
    /// The rule that found it (its stable id), for rule findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<Arc<str>>,
    pub severity: Severity,
    /// True when the finding keeps its instance out of the rollout.
    pub blocking: bool,
    pub message: String,
    /// The instance concerned, `<promise>:<namespace>/<name>`, when there is one.
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The field concerned (`spec.backups.retentionDays`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Where the finding comes from, when that is not where it points: a step's `warn()` or
    /// `reject()` points at the request (its owner fixes it) and names the script's line here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related: Option<Location>,
    /// Set when an active waiver covers the finding: it is reported, and blocks nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waived: Option<Waived>,
    /// The location is the document's and `field`'s line is still to be found: done once per
    /// file for a whole batch (`locate::locate_fields`), not by re-reading a file per finding.
    #[serde(skip)]
    pub unlocated: bool,
}

impl Finding {
    pub fn new(code: Code, message: impl Into<String>) -> Finding {
        Finding {
            code,
            rule: None,
            severity: code.severity,
            blocking: code.blocking,
            message: message.into(),
            instance: None,
            location: None,
            field: None,
            help: None,
            related: None,
            waived: None,
            unlocated: false,
        }
    }

    /// The id reports use: the rule's name for rule findings, else the code.
    pub fn id(&self) -> &str {
        self.rule.as_deref().unwrap_or(self.code.id)
    }

    pub fn at(mut self, location: Location) -> Finding {
        self.location = Some(location);
        self
    }

    pub fn at_opt(mut self, location: Option<Location>) -> Finding {
        if location.is_some() {
            self.location = location;
        }
        self
    }

    pub fn instance(mut self, r: impl Into<String>) -> Finding {
        self.instance = Some(r.into());
        self
    }

    pub fn field(mut self, f: impl Into<String>) -> Finding {
        self.field = Some(f.into());
        self
    }

    pub fn related(mut self, location: Location) -> Finding {
        self.related = Some(location);
        self
    }

    pub fn help(mut self, h: impl Into<String>) -> Finding {
        self.help = Some(h.into());
        self
    }

    /// Orders findings for output: by file, line, id, instance, then message, so reports are
    /// stable.
    pub fn sort_key(&self) -> (Option<&Location>, &str, Option<&str>, &str) {
        (
            self.location.as_ref(),
            self.id(),
            self.instance.as_deref(),
            &self.message,
        )
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = if self.blocking {
            "error"
        } else {
            match self.severity {
                Severity::Info => "note",
                _ => "warning",
            }
        };
        let level = if self.waived.is_some() {
            "waived"
        } else {
            level
        };
        write!(f, "{level}[{}]: {}", self.id(), self.message)?;
        if let Some(loc) = &self.location {
            write!(f, "\n  --> {loc}")?;
        }
        if let Some(r) = &self.instance {
            write!(f, "\n  instance: {r}")?;
        }
        if let Some(r) = &self.related {
            write!(f, "\n  source: {r}")?;
        }
        if let Some(h) = &self.help {
            write!(f, "\n  help: {h}")?;
        }
        if let Some(w) = &self.waived {
            write!(
                f,
                "\n  waived by {} until {} ({}; {})",
                w.waiver, w.expires, w.reason, w.owner
            )?;
        }
        Ok(())
    }
}

/// Sorts findings into their stable output order and drops exact duplicates.
pub fn sort_findings(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup();
}

macro_rules! codes {
    ($($konst:ident = $id:literal, $name:literal, $sev:ident, $blocking:literal, $explain:literal;)*) => {
        $(pub const $konst: Code = Code {
            id: $id, name: $name, severity: Severity::$sev, blocking: $blocking, explain: $explain,
        };)*
        /// Every finding code vow can emit, for `vow explain` and the uniqueness test.
        pub const ALL_CODES: &[Code] = &[$($konst),*];
    };
}

codes! {
    YAML_SYNTAX = "V001", "yaml-syntax", High, true,
        "A file could not be parsed as YAML or JSON. The message gives the line and column the \
         parser stopped at. The documents of the file that did parse are still used; the broken \
         one is skipped. Fix the syntax (indentation, an unclosed quote or bracket, a tab).";
    UNKNOWN_KIND = "V002", "unknown-kind", Low, false,
        "A document's kind is not one vow reads in this place (a Promise in promises/, a \
         Destination in the destinations file, requests of a Promise's API kind in requests/). \
         The document is skipped. Check the kind and apiVersion, or move the file.";
    MISSING_FIELD = "V003", "missing-field", High, true,
        "A document lacks a field every Kubernetes-style document needs (apiVersion, kind, \
         metadata.name). Add the field.";
    DUPLICATE = "V004", "duplicate", High, true,
        "Two documents declare the same instance (same Promise, namespace and name) or the same \
         Promise or Destination. Both places are named; the first one (by file and line) is kept. \
         Rename or remove one of them.";
    READ_ERROR = "V005", "read-error", High, true,
        "A file could not be read (permissions, not UTF-8, vanished during the run).";
    MISSING_SCRIPT = "V006", "missing-script", High, true,
        "A Pipeline's Rhai step names a `file:` that does not exist, or has neither `file:` nor \
         `script:`. Paths are relative to the Promise file. Every request of the Promise is \
         blocked until the step can be compiled.";
    INVALID_PROMISE = "V007", "invalid-promise", High, true,
        "A Promise is malformed: no version label, a CRD without a storage version, a rollout \
         strategy that cannot be read. Its requests are blocked. The message names the field.";
    NO_PROMISE = "V008", "no-promise", High, true,
        "A request's apiVersion and kind match no loaded Promise's API. Check the group, version \
         and kind against the Promise's spec.api, or add the Promise.";
    INVALID_DESTINATION = "V009", "invalid-destination", High, false,
        "A Destination document is malformed and was skipped. The message names the field.";
    INVALID_CONFIG = "V010", "invalid-config", High, true,
        "vow.yaml could not be read. The message names the key.";
    INVALID_NAME = "V011", "invalid-name", High, true,
        "A name breaks the Kubernetes naming rules. Request, Promise, Destination, rule and \
         waiver names are DNS-1123 subdomains (lowercase letters, digits, `-` and `.`, starting \
         and ending with a letter or digit, at most 253 characters); pipeline and step names are \
         DNS-1123 labels (no `.`, at most 63). Names become store paths, so `/`, `..` and \
         capitals are refused. The document (a request, or every request of a Promise) is \
         blocked; rename it as the message says.";
    INVALID_NAMESPACE = "V012", "invalid-namespace", High, true,
        "A request's metadata.namespace is not a DNS-1123 label (lowercase letters, digits and \
         `-`, starting and ending with a letter or digit, at most 63 characters), or is not a \
         string (`namespace: 42`: quote it, `\"42\"`, or use a name). The request is blocked; \
         fix the namespace.";
    INVALID_VERSION_LABEL = "V013", "invalid-version-label", High, true,
        "A Promise's `kratix.io/promise-version` label is not a Kubernetes label value (at most \
         63 letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit) or \
         holds `..` or `/`. The version names a store folder, so every request of the Promise \
         is blocked. Use a version such as `v1.2.0`.";
    INVALID_DESTINATION_PATH = "V014", "invalid-destination-path", High, false,
        "A Destination's spec.path is absolute, has `..`, `.` or empty components, or lies \
         inside `.vow/`, where vow keeps its records. The Destination is skipped. Use a relative \
         path inside the store, such as `clusters/dev`.";
    OUTSIDE_WORKSPACE = "V015", "file-outside-workspace", High, true,
        "A step's or rule's `file:` resolves outside the workspace and outside its Promise's or \
         rule's own folder (an absolute path, `..` that climbs out, a symbolic link pointing \
         out). vow refuses to read it: scripts live in the platform repository. Move the script beside its Promise or rule and name it relatively.";
    DUPLICATE_KEY = "V016", "duplicate-key", High, true,
        "A YAML or JSON map has the same key twice. Parsers disagree on which one wins (most \
         keep the last in silence), so vow refuses the document, as Kubernetes does. The \
         location is the second key; remove or rename one of them.";
    WRONG_TYPE = "V017", "wrong-type", High, true,
        "A field has the wrong type: metadata.name, metadata.namespace, label and annotation \
         values must be strings (`version: 1.10` is the number 1.1: quote it). vow never turns \
         a number into text or drops it in silence. The document is blocked; quote the value.";
    API_KIND_CLAIMED_TWICE = "V018", "api-kind-claimed-twice", High, true,
        "Two Promises offer the same API group and kind, so a request of that kind could belong \
         to either. Both are named. The requests of that kind are refused until one of the \
         Promises changes its spec.api group or kind, or is removed.";
    SKIPPED_FILE = "V019", "skipped-file", High, true,
        "An entry among the input files is not a regular file (a FIFO, socket or device, which \
         could block a read forever), a symbolic link loop, or a folder that cannot be read. It \
         is skipped, and while it is, the plan deletes nothing. Remove or replace the entry.";
    SCHEMA = "V100", "schema-violation", High, true,
        "A request does not satisfy its Promise's API schema after defaults were applied. The \
         message names the field path, the rule broken and the value found. Fix the request.";
    SCHEMA_NOTE = "V101", "schema-keyword-ignored", Info, false,
        "A Promise's schema uses a keyword that is not part of Kubernetes' structural schemas \
         (`regex`, `example`) or that vow does not enforce (`x-kubernetes-validations`, `anyOf`). \
         It is ignored, as the note says.";
    NAME_TOO_LONG = "V102", "name-too-long", High, true,
        "metadata.name is longer than 63 characters; Kratix and Kubernetes label values cannot \
         hold it. Shorten the name.";
    UNKNOWN_FIELD = "V103", "unknown-field", Low, false,
        "A request sets a field its Promise's schema does not declare. Like the Kubernetes API \
         server, vow prunes it before running the workflow. Check the spelling or remove it.";
    SCHEMA_KEYWORD_MISFIT = "V104", "schema-keyword-misfit", Medium, false,
        "A Promise's schema uses a keyword that does not fit the type it is on (`minimum` on a \
         string, `maxLength` on an integer, `items` on an object) or `enum` values of another \
         type than the field's. Such a keyword checks nothing. Move it to a field of the right \
         type, or change the type.";
    INVALID_ROLLOUT = "V105", "invalid-rollout", High, true,
        "A rollout value cannot be read: a bake that is not a duration (`30m`, `4h`, `1d`), a \
         budget or maxSize that is neither a count nor a percentage (`25%`), a percentage over \
         100, a maxSize of 0. It is reported once, at its line; in a Promise every request of \
         the Promise is blocked, in vow.yaml the run stops. Fix the value.";
    SCRIPT_COMPILE = "V200", "script-compile-error", High, true,
        "A Rhai step or rule does not compile. The location is the script's file and line (for \
         inline scripts, the line inside the Promise file). Every request that needs the script \
         is blocked.";
    SCRIPT_RUNTIME = "V201", "script-error", High, true,
        "A Rhai step failed while running for this request (a type error, a missing function, \
         an index out of bounds). The location is the script's line and column.";
    SCRIPT_LIMIT = "V202", "script-limit", High, true,
        "A Rhai step exceeded a limit (operations, with built-ins charged for the size of their \
         input; call depth; string, array or map size; maps and arrays nested more than 100 \
         deep) for this request and was stopped. Scripts must finish quickly and stay small: \
         look for an endless loop, unbounded recursion or a value that keeps growing.";
    REJECTED = "V203", "rejected", High, true,
        "A Promise's validation step called reject(): the request is invalid. The message is the \
         script's; fix the request as it says.";
    STEP_WARNING = "V204", "step-warning", Low, false,
        "A Promise's step called warn(): the request is accepted, with a remark.";
    INVALID_OUTPUT = "V205", "invalid-output", High, true,
        "A step called output(), schedule() or status() with something vow cannot write: a path \
         that is absolute or leaves the instance's directory (`..`), an empty path, a name the \
         store cannot hold (a NUL or control character, a name over 255 bytes, a path over \
         4096, anything under `.vow/`), two spellings of one file in a step (`a//b` and \
         `a/b`), or a document that is not a map, an array of maps or text.";
    SCRIPT_TOO_LARGE = "V206", "script-too-large", High, true,
        "A Rhai step or rule is larger than 256 KiB and was not compiled (compile time grows \
         faster than the size). Every request that needs the script is blocked. Move data into \
         the request or the Promise, or split the step.";
    SCRIPT_TIME = "V207", "script-time-budget", High, true,
        "A Rhai step or rule ran for longer than its time budget (1 s per run) for this request \
         and was stopped: an expensive built-in (sorting, scanning or hashing large values) in a \
         loop, usually. Real steps take microseconds; look for the loop.";
    OUTPUT_CLASH = "V208", "output-clash", High, true,
        "Two outputs of one instance, from any of its steps, cannot both be written: they make \
         one name both a file and a directory (`config` and `config/app.yaml`), and every apply \
         would fail on them. Rename one of them in the step. (Two spellings of one file in a \
         step, `a//b` and `a/b`, are V205.)";
    NO_DESTINATION = "V300", "no-destination", High, true,
        "No Destination matches the selectors of a workload group (the Promise's \
         destinationSelectors and the schedule() labels). Add a Destination with those labels or \
         fix the selectors.";
    NO_WAVE = "V301", "no-wave", High, true,
        "A changed instance matches none of its Promise's rollout waves and there is no catch-all \
         wave (one without a selector). Nothing is silently left out: add a catch-all wave or a \
         selector that matches.";
    EXTERNAL_STEP = "V302", "external-step", Info, false,
        "A Pipeline has container steps. vow does not run containers and never pretends it did: \
         their outputs are not in the plan. Port them to Rhai steps to have vow render them.";
    STORE = "V400", "store-record", High, false,
        "A record in the state store's .vow/ folder could not be read. The instance is treated \
         as not applied; repair or remove the record.";
    MISSING_REVISION = "V401", "missing-revision", High, true,
        "An instance is pinned to a Promise version that is neither the current Promise nor a \
         revision kept in the store. Unpin it or restore the revision.";
    INTERRUPTED_APPLY = "V402", "interrupted-apply", Medium, false,
        "The folder store holds the redo log of an apply that stopped after its commit point \
         (.vow/pending/committed): some files of that wave may not be written yet, so what was \
         read is the store part-way through a wave. Run `vow apply` (it finishes the \
         interrupted wave before anything else), then plan again. A plan made now is refused \
         as stale once the wave is finished, if finishing it changes the store.";
    UNSAFE_STORE_PATH = "V403", "unsafe-store-path", High, false,
        "A path in the state store would leave it: a record (a binding's file list, a backup's \
         `before`, the folder store's redo log) names an absolute path or one with `..`, or a \
         folder or file of the store (a destination folder, `.vow/`, an applied file) is a \
         symlink. vow never follows it: planning does not read through it and apply refuses \
         the wave before anything of it is written. Replace the symlink with a real folder or \
         file, or repair the record, then plan again.";
    INVALID_HEALTH_RECORD = "V404", "invalid-health-record", Medium, false,
        "A HealthRecord cannot be read: `data.state` is not one of ready, healthy, degraded, \
         unhealthy, unknown (lower case), `data.lastRun` is not a number of unix seconds, or \
         `data.promiseRef.name` / `data.resourceRef.name` is missing. It is ignored, so a gate \
         waiting on its instance keeps waiting: fix the record where it is written.";
    DAMAGED_JOURNAL = "V405", "damaged-journal", High, false,
        "A run's journal in the store (.vow/journal/<run>.yaml) cannot be read: it is not YAML, \
         or a field is missing or of the wrong type. `vow status` lists it as damaged and `vow \
         apply` of its plan stops. Restore the journal from the store's history (git) or remove \
         it, knowing the run's progress is then forgotten.";
    UNREADABLE_STORE_FILE = "V406", "unreadable-store-file", High, false,
        "A file of the state store could not be read (permissions, an I/O error, a directory \
         where a file should be). What vow planned from the store may be incomplete: fix the \
         file's permissions or remove it, then plan again.";
    RULE = "V500", "rule-violation", Medium, true,
        "A platform rule (rules/*.yaml) denied the instance. The finding carries the rule's id, \
         severity and enforcement: `block` keeps the instance out of every wave, `warn` reports \
         it. `vow explain <rule>` shows the rule's description; a Waiver can except instances \
         for a time.";
    WAIVER_EXPIRED = "V501", "waiver-expired", Medium, false,
        "A Waiver's `expires` date has passed: it no longer waives anything, and the findings it \
         covered count again. Renew it with a new date and reason, or fix the instances.";
    INVALID_RULE = "V502", "invalid-rule", High, true,
        "A Rule, Waiver or Test document is malformed (a missing script, a misspelt key, an \
         unknown severity or enforcement, a waiver naming a rule that does not exist, an expiry that is not a date). \
         The message names the field.";
    TEST_FAILED = "V503", "test-failed", High, true,
        "A `vow test` case did not produce what it expects: the report shows the expected and \
         actual findings, or a diff of the rendered file.";
    WAIVER_UNUSED = "V504", "waiver-unused", Low, false,
        "A Waiver matches no instance of the fleet (no request and no applied instance is \
         selected by both its spec.match and its rule's match): it hides nothing, and would \
         silently waive whatever matched it later. Remove it, or fix its spec.match.";
    WAIVER_EXPIRING = "V505", "waiver-expiring", Low, false,
        "A Waiver expires within the warning window (vow.yaml `waivers.warnDays`, 14 days by \
         default): after its last day the findings it waives count again and may block. The \
         finding names its owner, who renews it with a new date and reason or fixes the \
         instances.";
}

/// Looks a code up by its id (`V100`) or name (`schema-violation`), case-insensitively.
pub fn find_code(id: &str) -> Option<Code> {
    ALL_CODES
        .iter()
        .copied()
        .find(|c| c.id.eq_ignore_ascii_case(id) || c.name.eq_ignore_ascii_case(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn codes_and_names_are_unique() {
        let ids: BTreeSet<_> = ALL_CODES.iter().map(|c| c.id).collect();
        let names: BTreeSet<_> = ALL_CODES.iter().map(|c| c.name).collect();
        assert_eq!(ids.len(), ALL_CODES.len());
        assert_eq!(names.len(), ALL_CODES.len());
    }

    #[test]
    fn every_code_is_explained() {
        for c in ALL_CODES {
            assert!(c.explain.len() > 40, "{} has a thin explanation", c.id);
            assert_eq!(find_code(c.id), Some(*c));
            assert_eq!(find_code(c.name), Some(*c));
        }
    }

    #[test]
    fn display_names_location_and_help() {
        let f = Finding::new(SCHEMA, "spec.storageGb: 5 is below the minimum 10")
            .at(Location::new("requests/a.yaml".into(), 12).with_column(3))
            .help("raise it");
        let s = f.to_string();
        assert!(s.starts_with("error[V100]: spec.storageGb"));
        assert!(s.contains("--> requests/a.yaml:12:3"));
        assert!(s.contains("help: raise it"));
    }
}
