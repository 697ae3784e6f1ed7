//! The gate command's protocol (docs/apply.md, "Gate commands"): the wave it reads on stdin
//! validates against schemas/gate-input.json, its per-instance verdicts count against the
//! failure budget, a passed gate is not asked again, exit codes alone still work, a malformed
//! answer is an error, and `vow status` shows it all in every format.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "a test fails loudly; the library may not"
)]

mod common;
use common::*;
use serde_json::Value;
use std::path::Path;

/// A gate that saves what it read (input-N.json), counts its runs (calls), and fails the
/// instances named in `fail` (one name per line), with a reason; python3 checks the input.
const GATE: &str = r#"#!/bin/sh
n=$(( $(cat calls 2>/dev/null || echo 0) + 1 ))
echo $n > calls
cat > input-$n.json
python3 - input-$n.json <<'PY'
import json, sys
wave = json.load(open(sys.argv[1]))
assert wave["protocol"] == 1 and wave["run"] and wave["appliedAt"], wave
fail = set(open("fail").read().split()) if __import__("os").path.exists("fail") else set()
out = {}
for i in wave["instances"]:
    assert i["ref"] == "%s:%s/%s" % (i["promise"], i["namespace"], i["name"]), i
    assert i["destinations"] == ["dev"] and i["to"] == "v1.0.0", i
    if i["name"] in fail:
        out[i["ref"]] = {"verdict": "fail", "reason": "p99 latency 900ms on " + i["name"]}
    else:
        out[i["ref"]] = {"verdict": "pass"}
print(json.dumps({"instances": out}))
PY
"#;

/// A platform of ten instances in two waves of five (`a*`, then `b*`), each with a failure
/// budget of 2 and the given bake.
fn fleet(bake: &str) -> tempfile::TempDir {
    let ws = scratch_workspace();
    let rollout = format!(
        "  rollout:\n    waves:\n      - name: first\n        selector: {{matchLabels: {{tier: a}}}}\n        failureBudget: 2\n        bake: {bake}\n      - name: second\n        selector: {{matchLabels: {{tier: b}}}}\n        failureBudget: 2\n        bake: {bake}\n"
    );
    write(
        ws.path(),
        "promises/db/promise.yaml",
        &format!("{PROMISE}{rollout}"),
    );
    write(ws.path(), "vow.yaml", "store: {folder: state}\n");
    for tier in ["a", "b"] {
        for n in 1..=5 {
            let name = format!("{tier}{n}");
            let text =
                request(&name, 3).replace("{env: dev}", &format!("{{env: dev, tier: {tier}}}"));
            write(ws.path(), &format!("requests/{name}.yaml"), &text);
        }
    }
    write(ws.path(), "gate.sh", GATE);
    let (code, _, err) = vow_in(
        ws.path(),
        &[
            "plan",
            "--now",
            "2026-12-01T09:00:00Z",
            "--out",
            "plan.json",
            "--fail-on",
            "never",
        ],
    );
    assert_eq!(code, 0, "{err}");
    ws
}

fn apply(ws: &Path, now: &str, gate: &str) -> (i32, String, String) {
    vow_in(
        ws,
        &["apply", "plan.json", "--now", now, "--gate-cmd", gate],
    )
}

fn journal(ws: &Path) -> Value {
    let dir = ws.join("state/.vow/journal");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    serde_yaml::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
}

fn calls(ws: &Path) -> u32 {
    std::fs::read_to_string(ws.join("calls"))
        .map(|c| c.trim().parse().unwrap())
        .unwrap_or(0)
}

fn schema(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo().join("schemas").join(name)).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn valid(v: &jsonschema::Validator, doc: &Value) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{doc:#}");
}

/// `vow status --format json`, validated against schemas/status.json.
fn status_json(ws: &Path) -> Value {
    let (code, out, err) = vow_in(ws, &["status", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    valid(&schema("status.json"), &doc);
    doc
}

fn refs(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|i| i["ref"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn two_failures_within_a_budget_of_two_go_on_and_three_abort() {
    let ws = fleet("0s");
    write(ws.path(), "fail", "a1\na3\nb1\nb2\nb4\n");
    let (code, _, err) = apply(ws.path(), "2026-12-01T09:00:00Z", "sh gate.sh");
    assert_eq!(
        code, 1,
        "the second wave's three failures abort the run: {err}"
    );
    assert!(
        err.contains("3 of 5 instances failed the gate command"),
        "{err}"
    );
    assert!(err.contains("p99 latency 900ms on b1"), "{err}");
    // What the command read is the documented JSON.
    let input = schema("gate-input.json");
    for n in 1..=2 {
        let doc: Value = serde_json::from_str(
            &std::fs::read_to_string(ws.path().join(format!("input-{n}.json"))).unwrap(),
        )
        .unwrap();
        valid(&input, &doc);
        assert_eq!(doc["instances"].as_array().unwrap().len(), 5);
        assert_eq!(doc["failureBudget"], 2);
    }
    // The journal keeps the verdicts and reasons.
    let j = journal(ws.path());
    assert_eq!(j["status"], "aborted");
    let first = &j["waves"][0];
    assert_eq!(first["gate"], "passed");
    assert_eq!(
        first["failed"],
        serde_json::json!(["db:team-a/a1", "db:team-a/a3"])
    );
    let verdicts = first["gateReport"]["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), 5);
    assert!(verdicts.iter().any(|v| v["instance"] == "db:team-a/a3"
        && v["verdict"] == "fail"
        && v["reason"] == "p99 latency 900ms on a3"));
    assert_eq!(j["waves"][1]["gate"], "failed");
    // `vow status --format json` shows the same.
    let s = status_json(ws.path());
    let run = &s["runs"][0];
    assert_eq!(run["status"], "aborted");
    assert_eq!(
        refs(&run["waves"][0]["failed"]),
        ["db:team-a/a1", "db:team-a/a3"]
    );
    assert_eq!(
        run["waves"][0]["failed"][0]["reason"],
        "p99 latency 900ms on a1"
    );
    assert_eq!(run["waves"][0]["gate"]["state"], "passed");
    assert_eq!(run["waves"][1]["gate"]["state"], "failed");
    assert_eq!(
        refs(&run["waves"][1]["failed"]),
        ["db:team-a/b1", "db:team-a/b2", "db:team-a/b4"]
    );
    assert!(run["waves"][1]["gate"]["reason"]
        .as_str()
        .unwrap()
        .contains("over the failure budget of 2"));
    // The failed instances of the aborting wave record the version that failed.
    let binding =
        std::fs::read_to_string(ws.path().join("state/.vow/bindings/db/team-a/b2.yaml")).unwrap();
    assert!(binding.contains("failedVersion: v1.0.0"), "{binding}");
}

#[test]
fn the_command_judges_a_wave_once_after_its_bake() {
    let ws = fleet("1h");
    for now in [
        "2026-12-01T09:00:00Z",
        "2026-12-01T09:20:00Z",
        "2026-12-01T09:40:00Z",
    ] {
        let (code, _, err) = apply(ws.path(), now, "sh gate.sh");
        assert_eq!(code, 0, "{err}");
        assert!(
            err.contains(
                "the bake time, until 2026-12-01T10:00:00Z, before the gate command judges it"
            ),
            "{err}"
        );
    }
    assert_eq!(
        calls(ws.path()),
        0,
        "the bake is waited for without running the command"
    );
    let (code, _, err) = vow_in(
        ws.path(),
        &[
            "apply",
            "plan.json",
            "--now",
            "2026-12-01T10:00:00Z",
            "--wait",
            "--poll",
            "5m",
            "--gate-cmd",
            "sh gate.sh",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("polling again"),
        "the second wave's bake was polled: {err}"
    );
    assert_eq!(
        calls(ws.path()),
        2,
        "one judgement per wave, whatever the polls: {err}"
    );
    let s = status_json(ws.path());
    assert_eq!(s["runs"][0]["status"], "done");
    assert_eq!(
        s["runs"][0]["waves"][1]["gate"]["checkedAt"],
        "2026-12-01T11:00:00Z"
    );
}

#[test]
fn a_wait_verdict_keeps_the_gate_pending_and_status_lists_every_waiting_instance() {
    let ws = fleet("0s");
    let answer = r#"{"instances": {"db:team-a/a1": {"verdict": "pass"}, "db:team-a/a2": {"verdict": "wait", "reason": "replication lag 40s"}}}"#;
    // Instances the answer leaves out follow the exit code: 75, not yet.
    let gate = format!("echo '{answer}'; exit 75");
    let (code, _, err) = apply(ws.path(), "2026-12-01T09:00:00Z", &gate);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("replication lag 40s"), "{err}");
    let s = status_json(ws.path());
    let w = &s["runs"][0]["waves"][0];
    assert_eq!(w["gate"]["state"], "pending");
    assert_eq!(w["gate"]["exit"], 75);
    assert_eq!(
        refs(&w["waiting"]),
        [
            "db:team-a/a2",
            "db:team-a/a3",
            "db:team-a/a4",
            "db:team-a/a5"
        ]
    );
    assert_eq!(w["waiting"][0]["reason"], "replication lag 40s");
    let (_, human, _) = vow_in(ws.path(), &["status"]);
    for n in 2..=5 {
        assert!(
            human.contains(&format!("waiting: db:team-a/a{n}")),
            "{human}"
        );
    }
    assert!(!human.contains("..."), "{human}");
    let (_, md, _) = vow_in(ws.path(), &["status", "--format", "markdown"]);
    assert!(
        md.contains("| 0 first |") && md.contains("- `db:team-a/a5`"),
        "{md}"
    );
}

#[test]
fn exit_codes_alone_keep_their_meaning() {
    let ws = fleet("0s");
    let (code, _, err) = apply(
        ws.path(),
        "2026-12-01T09:00:00Z",
        "echo checking the fleet; exit 0",
    );
    assert_eq!(code, 0, "{err}");
    let s = status_json(ws.path());
    assert_eq!(s["runs"][0]["status"], "done");
    assert_eq!(
        s["runs"][0]["waves"][0]["gate"]["output"],
        "checking the fleet\n"
    );

    let ws = fleet("0s");
    let (code, _, err) = apply(ws.path(), "2026-12-01T09:00:00Z", "exit 3");
    assert_eq!(code, 1, "{err}");
    let j = journal(ws.path());
    assert_eq!(j["status"], "aborted");
    assert_eq!(
        j["waves"][0]["failed"].as_array().unwrap().len(),
        5,
        "a non-zero exit fails every instance"
    );
    assert_eq!(j["waves"][0]["gateReport"]["exit"], 3);
}

#[test]
fn a_malformed_answer_is_an_error_and_the_gate_stays_pending() {
    let ws = fleet("0s");
    for (answer, says) in [
        (
            r#"{"instances": {"db:team-a/a1": {"verdict": "maybe"}}}"#,
            "unknown variant `maybe`",
        ),
        (
            r#"{"instances": {"db:team-a/zz": {"verdict": "pass"}}}"#,
            "`db:team-a/zz` is not an instance of this wave",
        ),
        (
            r#"{"instances": {"db:team-a/a1": {"verdit": "pass"}}}"#,
            "unknown field `verdit`",
        ),
        ("{oops", "line 1, column 2"),
    ] {
        let (code, _, err) = apply(
            ws.path(),
            "2026-12-01T09:00:00Z",
            &format!("echo '{answer}'"),
        );
        assert_eq!(code, 2, "{answer}: {err}");
        assert!(
            err.contains("malformed answer") && err.contains(says),
            "{answer}: {err}"
        );
        assert!(err.contains("schemas/gate-output.json"), "{err}");
        let j = journal(ws.path());
        assert_eq!(j["status"], "running");
        assert_eq!(j["waves"][0]["gate"], "pending", "never a silent pass");
    }
}

#[test]
fn a_gate_command_over_its_time_limit_is_killed_and_fails_the_wave() {
    let ws = fleet("0s");
    let (code, _, err) = vow_in(
        ws.path(),
        &[
            "apply",
            "plan.json",
            "--now",
            "2026-12-01T09:00:00Z",
            "--gate-timeout",
            "1s",
            "--gate-cmd",
            "sleep 30",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("was killed after 1s"), "{err}");
    let s = status_json(ws.path());
    assert!(s["runs"][0]["waves"][0]["gate"]["reason"]
        .as_str()
        .unwrap()
        .contains("killed after 1s"));
}

#[test]
fn a_passed_gate_is_not_asked_again_while_the_next_wave_waits_for_its_window() {
    let ws = fleet("0s");
    // 2026-12-01 is a Tuesday: the second wave waits until Monday.
    write(
        ws.path(),
        "vow.yaml",
        "store: {folder: state}\nwindows:\n  - name: mondays\n    selector: {matchLabels: {tier: b}}\n    days: [Mon]\n    hours: \"09:00-16:00\"\n    timeZone: UTC\n",
    );
    let (code, _, err) = vow_in(
        ws.path(),
        &[
            "plan",
            "--now",
            "2026-12-01T09:00:00Z",
            "--out",
            "plan.json",
            "--fail-on",
            "never",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = apply(ws.path(), "2026-12-01T09:00:00Z", "sh gate.sh");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("mondays"), "{err}");
    let (code, _, err) = vow_in(
        ws.path(),
        &[
            "apply",
            "plan.json",
            "--now",
            "2026-12-01T10:00:00Z",
            "--wait",
            "--poll",
            "1h",
            "--gate-cmd",
            "sh gate.sh",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(": done:"), "{err}");
    assert_eq!(
        calls(ws.path()),
        2,
        "once per wave, not once per poll of the window"
    );
}
