//! Named crash points for the crash-safety tests: places in the git store's apply and in taking
//! the lock where a test can have the process kill itself with SIGKILL, so that every point is
//! hit deterministically rather than by luck of timing.
//!
//! `VOW_TEST_CRASH_AT=<point>:<n>` kills the process the n-th time (counting from 1) it reaches
//! `point`; `VOW_TEST_CRASH_TRACE=<file>` appends the name of every point reached to `file`, so a
//! test can list the points of a run and how often each is reached. Without these variables a
//! point does nothing (one cached look-up).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

struct Config {
    at: Option<(String, u64)>,
    trace: Option<PathBuf>,
}

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| Config {
        at: std::env::var("VOW_TEST_CRASH_AT").ok().and_then(|v| {
            let (point, n) = v.rsplit_once(':')?;
            Some((point.to_string(), n.parse().ok()?))
        }),
        trace: std::env::var_os("VOW_TEST_CRASH_TRACE").map(PathBuf::from),
    })
}

/// Reached `name`: records it when tracing, and dies here when told to.
pub fn point(name: &str) {
    static HITS: AtomicU64 = AtomicU64::new(0);
    let cfg = config();
    if let Some(file) = &cfg.trace {
        trace(file, name);
    }
    let Some((at, n)) = &cfg.at else {
        return;
    };
    if at == name && HITS.fetch_add(1, Ordering::SeqCst) + 1 == *n {
        kill_self();
    }
}

fn trace(file: &std::path::Path, name: &str) {
    use std::io::Write;
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
    {
        let _ = writeln!(f, "{name}");
    }
}

/// SIGKILL, like a crash: no destructor runs, no buffer is flushed, the lock file stays.
fn kill_self() {
    // SAFETY: kill(2) and getpid(2) take plain integers and touch no memory of ours.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
}
