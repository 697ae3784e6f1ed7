//! The gate command's protocol (`--gate-cmd`, docs/apply.md "Gate commands"): the wave it reads
//! as JSON on stdin, the per-instance verdicts it may write on stdout, and running it with its
//! output bounded and a time limit.
//!
//! An answer is recognised by its first character: stdout that starts (after blanks) with `{`
//! or `[` must be a valid answer, so a broken one is an error and never a silent pass; any
//! other stdout is a simple script's log, kept, and its exit code decides as it always did.

use super::gate::{self, Decision, GateInput};
use super::journal::{GateReport, InstanceVerdict};
use crate::error::{Error, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// The most of a gate command's stdout that is read as its answer and kept in the journal.
pub const OUTPUT_LIMIT: usize = 64 * 1024;

/// The exit code that means "not yet" (EX_TEMPFAIL) when stdout has no verdicts.
const NOT_YET: i32 = 75;

/// What a gate command reads on stdin: the wave whose gate it judges.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(
    title = "vow gate command input",
    description = "The wave a `--gate-cmd` command judges, written as JSON on its stdin (docs/apply.md, \"Gate commands\")."
)]
pub struct GateWave {
    /// The protocol's version: 1. A change that breaks readers gets a new number.
    pub protocol: u32,
    /// The run id (`vow status` shows it).
    pub run: String,
    /// The plan's id (`sha256:...`).
    pub plan_id: String,
    pub wave: WaveInfo,
    /// When the wave was applied (RFC 3339, UTC).
    pub applied_at: String,
    /// The time the gate is judged at (the clock, or `--now`).
    pub now: String,
    /// How many instances of the wave may fail before the run aborts.
    pub failure_budget: u64,
    /// The instances the gate judges: every instance the wave created or updated (deleted
    /// instances and Promise dependencies have nothing left to check).
    pub instances: Vec<GateInstance>,
}

/// The wave, as the plan names it.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WaveInfo {
    pub index: usize,
    pub name: String,
    /// Whether it is the canary wave.
    pub canary: bool,
    /// Which batch of its rollout wave this is, when the plan split the wave (`maxSize`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<BatchInfo>,
}

/// Batch `index` of `of` (both from 1).
#[derive(Debug, Serialize, JsonSchema)]
pub struct BatchInfo {
    pub index: usize,
    pub of: usize,
}

/// One instance of the wave.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GateInstance {
    /// `<promise>:<namespace>/<name>`: the key of the instance in the answer.
    #[serde(rename = "ref")]
    pub instance: String,
    pub promise: String,
    pub namespace: String,
    pub name: String,
    /// `create` or `update`.
    pub action: String,
    /// The Promise version it was on, when it existed before the wave.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The Promise version the wave applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The destinations its workloads were written for, sorted.
    pub destinations: Vec<String>,
}

/// What a gate command may write on stdout: a verdict per instance.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "vow gate command output",
    description = "A `--gate-cmd` command's answer on stdout: a verdict per instance, keyed by its ref. Instances left out follow the exit code (0 pass, 75 wait, anything else fail) (docs/apply.md, \"Gate commands\")."
)]
pub struct GateAnswer {
    /// Verdicts by instance ref (`<promise>:<namespace>/<name>`, as the input's `ref`).
    pub instances: BTreeMap<String, Answer>,
}

/// The verdict on one instance.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    pub verdict: Verdict,
    /// Why: shown by `vow status` and kept in the journal.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The instance is good.
    Pass,
    /// The instance failed: it counts against the wave's failure budget.
    Fail,
    /// Not decidable yet: the gate stays pending and is asked again at the next poll.
    Wait,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Wait => "wait",
        }
    }
}

/// What running the command gave.
#[derive(Debug, Default)]
pub(super) struct Ran {
    /// None when it was killed (by the time limit or a signal).
    pub exit: Option<i32>,
    pub output: Vec<u8>,
    /// Its stdout was longer than [`OUTPUT_LIMIT`] (the rest was read and dropped).
    pub truncated: bool,
    pub timed_out: bool,
}

/// Runs `cmd` through `sh -c` in a process group of its own (so a timeout kills what it started
/// too), with `input` on stdin and `env` set; stdout is captured (bounded), stderr is the
/// user's. Stdin and stdout are served by threads so that a command that reads neither, or
/// writes before reading, never blocks vow.
pub(super) fn run(
    cmd: &str,
    env: &[(&str, String)],
    input: Vec<u8>,
    limit: Duration,
) -> Result<Ran> {
    use std::os::unix::process::CommandExt;
    let cannot =
        |e: std::io::Error| Error::Usage(format!("cannot run the gate command `{cmd}`: {e}"));
    let mut command = std::process::Command::new("sh");
    command.arg("-c").arg(cmd).process_group(0);
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(cannot)?;
    let stdin = child.stdin.take();
    let writer = std::thread::spawn(move || {
        // A command that exits without reading its stdin is not an error.
        if let Some(mut s) = stdin {
            let _ = s.write_all(&input);
        }
    });
    let stdout = child.stdout.take();
    let reader = std::thread::spawn(move || read_bounded(stdout));
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(2);
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(cannot)? {
            break status;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            kill_group(child.id());
            break child.wait().map_err(cannot)?;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    };
    let _ = writer.join();
    let (output, truncated) = reader.join().unwrap_or_default();
    Ok(Ran {
        exit: if timed_out { None } else { status.code() },
        output,
        truncated,
        timed_out,
    })
}

/// The command's process group (its shell and whatever the shell started).
fn kill_group(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: kill(2) has no memory effects; a group that is already gone is ESRCH.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

/// Reads stdout to its end, keeping the first [`OUTPUT_LIMIT`] bytes.
fn read_bounded(stdout: Option<std::process::ChildStdout>) -> (Vec<u8>, bool) {
    let Some(stdout) = stdout else {
        return (Vec::new(), false);
    };
    let mut kept = Vec::new();
    let mut bounded = stdout.take(OUTPUT_LIMIT as u64 + 1);
    let _ = bounded.read_to_end(&mut kept);
    let truncated = kept.len() > OUTPUT_LIMIT;
    kept.truncate(OUTPUT_LIMIT);
    // Drain the rest so the command is not blocked on a full pipe.
    let _ = std::io::copy(&mut bounded.into_inner(), &mut std::io::sink());
    (kept, truncated)
}

/// A judgement: the decision, the report the journal keeps, the instances failed within budget.
#[derive(Debug)]
pub(super) struct Judged {
    pub decision: Decision,
    pub report: GateReport,
    pub failed: Vec<String>,
}

/// Judges a wave from what its gate command did. `watched`: the instances it was given.
pub(super) fn judge(
    cmd: &str,
    wave: &str,
    ran: &Ran,
    g: &GateInput,
    limit: Duration,
) -> Result<Judged> {
    let text = String::from_utf8_lossy(&ran.output).into_owned();
    let mut report = GateReport {
        at: crate::duration::format_time(g.now),
        exit: ran.exit,
        output: text.clone(),
        ..GateReport::default()
    };
    let exit_says = match (ran.timed_out, ran.exit) {
        (true, _) => Verdict::Fail,
        (false, Some(0)) => Verdict::Pass,
        (false, Some(NOT_YET)) => Verdict::Wait,
        _ => Verdict::Fail,
    };
    let exit_why = if ran.timed_out {
        format!(
            "the gate command `{cmd}` was killed after {}s, its time limit (--gate-timeout)",
            limit.as_secs()
        )
    } else {
        match ran.exit {
            Some(code) => format!("the gate command `{cmd}` exited {code}"),
            None => format!("the gate command `{cmd}` was killed by a signal"),
        }
    };
    let trimmed = text.trim_start();
    if ran.timed_out || !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
        report.summary = exit_why.clone();
        return Ok(by_exit(exit_says, exit_why, report, g));
    }
    let answer = parse(cmd, wave, &text, ran.truncated, g.instances)?;
    report.verdicts = verdicts(&answer, g.instances, exit_says, &exit_why);
    Ok(by_verdicts(cmd, &exit_why, report, g))
}

/// Each instance's verdict: the answer's, or the exit code's for one it leaves out.
fn verdicts(
    answer: &GateAnswer,
    instances: &[String],
    exit_says: Verdict,
    exit_why: &str,
) -> Vec<InstanceVerdict> {
    instances
        .iter()
        .map(|i| match answer.instances.get(i) {
            Some(a) => InstanceVerdict {
                instance: i.clone(),
                verdict: a.verdict.as_str().into(),
                reason: a.reason.clone(),
            },
            None => InstanceVerdict {
                instance: i.clone(),
                verdict: exit_says.as_str().into(),
                reason: (exit_says != Verdict::Pass).then(|| format!("no verdict; {exit_why}")),
            },
        })
        .collect()
}

/// Verdicts: failures over the budget fail the wave, any wait keeps it pending, else it passes
/// (and bakes).
fn by_verdicts(cmd: &str, exit_why: &str, mut report: GateReport, g: &GateInput) -> Judged {
    let of = |v: &str| -> Vec<InstanceVerdict> {
        report
            .verdicts
            .iter()
            .filter(|x| x.verdict == v)
            .cloned()
            .collect()
    };
    let (passed, failed, waiting) = (of("pass"), of("fail"), of("wait"));
    report.summary = format!(
        "{} passed, {} failed, {} waiting (failure budget {}); {exit_why}",
        passed.len(),
        failed.len(),
        waiting.len(),
        g.budget
    );
    let failed_refs: Vec<String> = failed.iter().map(|v| v.instance.clone()).collect();
    let decision = if failed.len() as u64 > g.budget {
        Decision::Fail {
            failed: failed_refs.clone(),
            why: format!(
                "{} of {} instances failed the gate command `{cmd}`, over the failure budget of {}: {}",
                failed.len(),
                g.instances.len(),
                g.budget,
                shown(&failed)
            ),
        }
    } else if !waiting.is_empty() {
        Decision::Wait {
            until: None,
            why: format!(
                "the gate command `{cmd}` for {} instance(s): {}",
                waiting.len(),
                shown(&waiting)
            ),
        }
    } else {
        report.passed = true;
        gate::bake_or_pass(g, Vec::new())
    };
    Judged {
        decision,
        report,
        failed: failed_refs,
    }
}

/// Exit code alone: 0 passes every instance, 75 waits, anything else (or a timeout) fails the
/// wave, whatever its budget (what a single exit code always meant).
fn by_exit(says: Verdict, why: String, mut report: GateReport, g: &GateInput) -> Judged {
    let decision = match says {
        Verdict::Pass => {
            report.passed = true;
            gate::bake_or_pass(g, Vec::new())
        }
        Verdict::Wait => Decision::Wait {
            until: None,
            why: format!("{why}: not yet"),
        },
        Verdict::Fail => Decision::Fail {
            failed: g.instances.to_vec(),
            why,
        },
    };
    Judged {
        decision,
        report,
        failed: Vec::new(),
    }
}

/// The first five instances with their reasons, and how many more (`vow status` lists all).
fn shown(vs: &[InstanceVerdict]) -> String {
    let mut parts: Vec<String> = vs
        .iter()
        .take(5)
        .map(|v| match &v.reason {
            Some(r) => format!("{} ({r})", v.instance),
            None => v.instance.clone(),
        })
        .collect();
    if vs.len() > 5 {
        parts.push(format!(
            "and {} more (`vow status` lists them all)",
            vs.len() - 5
        ));
    }
    parts.join(", ")
}

/// The answer, or an error naming what is wrong and what to write instead.
fn parse(
    cmd: &str,
    wave: &str,
    text: &str,
    truncated: bool,
    instances: &[String],
) -> Result<GateAnswer> {
    let fix = "write {\"instances\": {\"<promise>:<namespace>/<name>\": {\"verdict\": \"pass\"|\"fail\"|\"wait\", \"reason\": \"...\"}}} (schemas/gate-output.json), or no JSON at all and let the exit code decide; nothing was applied and the gate stays pending";
    let bad = |why: String| {
        Error::Usage(format!(
            "the gate command `{cmd}` wrote a malformed answer on stdout for wave {wave}: {why}. Fix the command: {fix}"
        ))
    };
    if truncated {
        return Err(bad(format!(
            "it is longer than {} KiB, the most vow reads (docs/limits.md)",
            OUTPUT_LIMIT / 1024
        )));
    }
    let answer: GateAnswer = serde_json::from_str(text)
        .map_err(|e| bad(format!("line {}, column {}: {e}", e.line(), e.column())))?;
    let known: std::collections::BTreeSet<&str> = instances.iter().map(String::as_str).collect();
    if let Some(unknown) = answer
        .instances
        .keys()
        .find(|k| !known.contains(k.as_str()))
    {
        return Err(bad(format!(
            "`{unknown}` is not an instance of this wave (the refs are the input's `instances[].ref`, e.g. `{}`)",
            instances.first().map_or("<promise>:<namespace>/<name>", String::as_str)
        )));
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(refs: &[String], budget: u64) -> GateInput<'_> {
        let t = crate::duration::parse_time("2026-12-01T10:00:00Z").unwrap();
        GateInput {
            instances: refs,
            applied_at: t,
            bake_seconds: 0,
            budget,
            now: t,
        }
    }

    fn ran(exit: i32, out: &str) -> Ran {
        Ran {
            exit: Some(exit),
            output: out.as_bytes().to_vec(),
            ..Ran::default()
        }
    }

    const ONE_SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn failures_count_against_the_budget_and_the_rest_follow_the_exit_code() {
        let refs: Vec<String> = ["p:n/a", "p:n/b", "p:n/c"].map(String::from).to_vec();
        let out = r#"{"instances": {"p:n/a": {"verdict": "fail", "reason": "down"}}}"#;
        let j = judge("g", "1 w", &ran(0, out), &input(&refs, 1), ONE_SECOND).unwrap();
        assert_eq!(j.decision, Decision::Pass);
        assert_eq!(j.failed, vec!["p:n/a".to_string()]);
        assert!(j.report.passed);
        let j = judge("g", "1 w", &ran(1, out), &input(&refs, 1), ONE_SECOND).unwrap();
        match j.decision {
            Decision::Fail { failed, .. } => assert_eq!(failed.len(), 3, "b and c follow exit 1"),
            d => panic!("{d:?}"),
        }
        let j = judge("g", "1 w", &ran(75, out), &input(&refs, 1), ONE_SECOND).unwrap();
        assert!(matches!(j.decision, Decision::Wait { until: None, .. }));
        assert!(!j.report.passed);
    }

    #[test]
    fn plain_output_is_kept_and_a_broken_answer_is_an_error() {
        let refs = vec!["p:n/a".to_string()];
        let j = judge(
            "g",
            "1 w",
            &ran(0, "all good\n"),
            &input(&refs, 0),
            ONE_SECOND,
        )
        .unwrap();
        assert_eq!(j.decision, Decision::Pass);
        assert_eq!(j.report.output, "all good\n");
        for bad in ["[1]", "{\"instances\": 3}", " {"] {
            let e = judge("g", "1 w", &ran(0, bad), &input(&refs, 0), ONE_SECOND);
            assert!(
                matches!(e, Err(Error::Usage(ref m)) if m.contains("malformed answer")),
                "{bad}: {e:?}"
            );
        }
        let timed_out = Ran {
            timed_out: true,
            ..Ran::default()
        };
        let j = judge("g", "1 w", &timed_out, &input(&refs, 5), ONE_SECOND).unwrap();
        assert!(
            matches!(j.decision, Decision::Fail { ref why, .. } if why.contains("killed after 1s"))
        );
    }
}
