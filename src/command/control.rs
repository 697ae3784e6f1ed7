//! `vow pause|resume|promote|cancel|abort RUN`: the hands on a run (src/apply/control.rs does
//! the work), and the options `vow apply` takes for them (`--supersede`, `--break-freeze`,
//! `--by`). Like apply, every line they say is for people, on stderr; stdout stays empty.

use super::Sink;
use crate::apply::control::{self, Hand};
use crate::apply::journal::ControlAction;
use crate::error::{exit, Error, Result};
use crate::workspace::Workspace;
use chrono::{DateTime, Utc};
use std::path::Path;

/// The run controls, as subcommands of `vow`.
#[derive(clap::Subcommand, Debug)]
pub enum ControlCommand {
    /// Pause a run: `vow apply` changes nothing until `vow resume`.
    Pause(ControlArgs),
    /// Resume a paused run.
    Resume(ControlArgs),
    /// Pass the gate (bake time, health, gate command) of the wave applied last, now.
    Promote(ControlArgs),
    /// Cancel a run: no further waves; the store stays as it is; `vow rollback` still works.
    Cancel(ControlArgs),
    /// Abort a run by hand, as a failed gate does; roll it back with `vow rollback`.
    Abort(ControlArgs),
}

/// What every run control takes.
#[derive(clap::Args, Debug)]
pub struct ControlArgs {
    /// The run id (or a unique prefix), as `vow status` shows it.
    pub run: String,
    /// Why, kept in the journal with the control.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Who (default: VOW_USER, else git's user.name, else USER).
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
}

/// `vow apply`'s options for the run controls.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ApplyControlArgs {
    /// Cancel the store's unfinished run (recorded in both journals) and start this plan.
    #[arg(long)]
    pub supersede: bool,
    /// Apply a rollback plan through the freezes that hold it (recorded with the reason).
    #[arg(long, value_name = "REASON")]
    pub break_freeze: Option<String>,
    /// Who applies, for the controls apply records (default: as the run controls' `--by`).
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
}

/// Applies one control at `now` and says what it did.
pub(crate) fn run(
    ws: &Workspace,
    command: ControlCommand,
    now: DateTime<Utc>,
    sink: &mut Sink,
) -> Result<i32> {
    let (action, args) = match command {
        ControlCommand::Pause(a) => (ControlAction::Pause, a),
        ControlCommand::Resume(a) => (ControlAction::Resume, a),
        ControlCommand::Promote(a) => (ControlAction::Promote, a),
        ControlCommand::Cancel(a) => (ControlAction::Cancel, a),
        ControlCommand::Abort(a) => (ControlAction::Abort, a),
    };
    let hand = Hand {
        by: user(args.by.as_deref(), &ws.root)?,
        reason: reason(args.reason)?,
        at: now,
    };
    let mut st = ws.open_store()?;
    let j = control::record(st.as_mut(), &args.run, action, &hand)?;
    let id = crate::plan::run_id(&j.plan_id);
    let next = match action {
        ControlAction::Pause => format!("`vow resume {id}` continues it"),
        ControlAction::Promote => "the next `vow apply` goes on to the next wave".into(),
        ControlAction::Cancel | ControlAction::Abort => format!("`vow rollback {id}` undoes it"),
        _ => "`vow apply` goes on".into(),
    };
    let wave = j
        .controls
        .last()
        .and_then(|c| c.wave)
        .map(|w| format!(" wave {w}"))
        .unwrap_or_default();
    let done = match action {
        ControlAction::Pause => "paused",
        ControlAction::Resume => "resumed",
        ControlAction::Promote => "promoted",
        ControlAction::Cancel => "cancelled",
        _ => "aborted",
    };
    sink.say(&format!(
        "run {id}: {done}{wave} by {} at {}; {next} ({})\n",
        hand.by,
        crate::duration::format_time(now),
        st.describe()
    ));
    Ok(exit::OK)
}

/// Who acts: `--by`, else `VOW_USER`, else git's `user.name` (as `git config` reads it in the
/// workspace), else `USER`, else `unknown`. A name is one line of at most 256 characters (it
/// goes into commit messages): `--by` otherwise is refused; a value from the environment that
/// is not one is passed over for the next source.
pub(crate) fn user(by: Option<&str>, root: &Path) -> Result<String> {
    if let Some(b) = by {
        return recordable(b).ok_or_else(|| {
            Error::Usage(format!(
                "--by `{}` cannot be recorded: give a name of one line, 1 to 256 characters",
                b.escape_debug()
            ))
        });
    }
    let from_env = |k: &str| std::env::var(k).ok().as_deref().and_then(recordable);
    Ok(from_env("VOW_USER")
        .or_else(|| git_user(root).as_deref().and_then(recordable))
        .or_else(|| from_env("USER"))
        .unwrap_or_else(|| "unknown".into()))
}

/// The name, trimmed, if it is one line of 1 to 256 characters.
fn recordable(name: &str) -> Option<String> {
    let name = name.trim();
    let ok = !name.is_empty() && name.chars().count() <= 256 && !name.chars().any(char::is_control);
    ok.then(|| name.to_string())
}

/// git's `user.name`, when git is there and has one.
fn git_user(root: &Path) -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["config", "--get", "user.name"])
        .current_dir(root)
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    let name = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !name.is_empty()).then_some(name)
}

/// `--reason`, at most 4096 characters (it is kept in the journal).
fn reason(reason: Option<String>) -> Result<Option<String>> {
    match reason {
        Some(r) if r.chars().count() > 4096 => Err(Error::Usage(
            "--reason is longer than 4096 characters: say it shorter, and link to the rest".into(),
        )),
        Some(r) if r.trim().is_empty() => Ok(None),
        r => Ok(r),
    }
}

/// Checks `--break-freeze`'s reason like `--reason`.
pub(crate) fn break_freeze(reason: Option<String>) -> Result<Option<String>> {
    match reason {
        Some(r) if r.trim().is_empty() => Err(Error::Usage(
            "--break-freeze needs a reason (it is recorded in the journal)".into(),
        )),
        r => self::reason(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_one_line_of_at_most_256_characters() {
        let here = Path::new(".");
        assert_eq!(user(Some("  alice "), here).unwrap(), "alice");
        for bad in ["", "   ", "a\nVow-Plan: forged", &"x".repeat(257)] {
            let e = user(Some(bad), here).unwrap_err();
            assert!(e.to_string().contains("cannot be recorded"), "{e}");
        }
        assert_eq!(recordable("bob\t"), Some("bob".into()));
        assert_eq!(recordable("b\u{7}ob"), None);
    }

    #[test]
    fn a_reason_is_optional_and_bounded() {
        assert_eq!(reason(Some(" ".into())).unwrap(), None);
        assert!(reason(Some("y".repeat(4097))).is_err());
        assert!(break_freeze(Some(String::new())).is_err());
        assert_eq!(
            break_freeze(Some("INC-1".into())).unwrap().as_deref(),
            Some("INC-1")
        );
    }
}
