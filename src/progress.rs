//! Progress of long runs, as the library reports it: how many requests are evaluated, when
//! apply waits for a gate. The library never prints; the command line passes a [`Progress`]
//! that draws on stderr while it is a terminal (src/command/progress.rs), and [`Silent`]
//! everywhere else.

/// What a long run reports. Every method is cheap and may be called from many threads.
pub trait Progress: Sync {
    /// `total` pieces of work start (requests to evaluate).
    fn start(&self, _total: u64) {}
    /// One piece is done.
    fn step(&self) {}
    /// A wait starts (a gate polled again later): `why` says for what.
    fn waiting(&self, _why: &str) {}
    /// The work or the wait is over: what was drawn is cleared.
    fn done(&self) {}
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {}
