//! Progress on stderr while it is a terminal (indicatif): a spinner while the workspace loads, a
//! bar over the requests evaluated and a spinner while apply waits for a gate. Nothing is drawn when stderr is not a terminal or
//! with `-q`, so pipes, files and CI logs never hold progress characters; stdout is never
//! touched. The library counts (an atomic add per request); the bar reads the count when it
//! redraws.

use crate::progress::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Whether `-q` was given: set once by the command line.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Turns progress off for the process (`-q`).
pub(crate) fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Requests are counted one by one; the bar is moved every this many.
const BATCH: u64 = 64;

/// Progress drawn on stderr, or nothing when stderr is not a terminal.
pub(crate) struct Terminal {
    /// What the bar says it counts.
    what: &'static str,
    bar: Mutex<Option<ProgressBar>>,
    count: AtomicU64,
}

impl Terminal {
    /// Progress for `what` (`evaluating`), drawn only on a terminal and without `-q`.
    pub(crate) fn new(what: &'static str) -> Terminal {
        Terminal {
            what,
            bar: Mutex::new(None),
            count: AtomicU64::new(0),
        }
    }

    /// A spinner saying `what` until [`Progress::done`] (loading a workspace, a gate's wait).
    pub(crate) fn spin(&self, what: &str) {
        if !Self::shown() {
            return;
        }
        let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
            spinner.set_style(style.tick_chars("|/-\\ "));
        }
        spinner.set_message(what.to_string());
        spinner.tick();
        spinner.enable_steady_tick(Duration::from_millis(100));
        self.replace(Some(spinner));
    }

    fn shown() -> bool {
        !QUIET.load(Ordering::Relaxed) && std::io::stderr().is_terminal()
    }

    fn replace(&self, bar: Option<ProgressBar>) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(old) = std::mem::replace(&mut *slot, bar) {
                old.finish_and_clear();
            }
        }
    }
}

impl Progress for Terminal {
    fn start(&self, total: u64) {
        if !Self::shown() {
            return;
        }
        self.count.store(0, Ordering::Relaxed);
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let template = format!("{} {{bar:40}} {{pos}}/{{len}} requests", self.what);
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style.progress_chars("=> "));
        }
        // Drawn at once (a small fleet is done before the first tick), and before the steady
        // tick starts: with it, `tick` does nothing.
        bar.tick();
        bar.enable_steady_tick(Duration::from_millis(100));
        self.replace(Some(bar));
    }

    fn step(&self) {
        let n = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(BATCH) {
            if let Ok(slot) = self.bar.try_lock() {
                if let Some(bar) = slot.as_ref() {
                    bar.set_position(n);
                }
            }
        }
    }

    fn waiting(&self, why: &str) {
        self.spin(why);
    }

    fn done(&self) {
        self.replace(None);
    }
}
