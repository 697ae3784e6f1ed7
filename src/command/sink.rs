//! Where a command writes: its result (a report, a plan) to stdout, or to the `--out` file, and
//! notes for people to stderr. A reader of stdout that went away (`vow plan | head`) ends the
//! output quietly, as the conventions of command-line tools have it: the write returns
//! [`Error::ReaderGone`], which travels up to the binary, which exits 0 without a word.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// The output of a command.
pub(crate) struct Sink<'a> {
    stdout: &'a mut (dyn Write + Send),
}

impl<'a> Sink<'a> {
    /// A sink whose results go to `stdout` (the process's, or a buffer in a test).
    pub(crate) fn new(stdout: &'a mut (dyn Write + Send)) -> Sink<'a> {
        Sink { stdout }
    }

    /// Writes `text` to stdout.
    pub(crate) fn out(&mut self, text: &str) -> Result<()> {
        self.out_with(|w| w.write_all(text.as_bytes()))
    }

    /// Writes to stdout with `write`, through a buffer: a JSON plan is streamed, never built as
    /// one string.
    pub(crate) fn out_with(
        &mut self,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<()> {
        let mut buffered = std::io::BufWriter::with_capacity(1 << 20, &mut *self.stdout);
        match write(&mut buffered).and_then(|_| buffered.flush()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Error::ReaderGone),
            Err(e) => Err(Error::Io {
                action: "write to",
                path: "stdout".into(),
                source: e,
            }),
        }
    }

    /// Writes a report to `dest` (`--out`) when there is one, or else to stdout.
    pub(crate) fn emit(&mut self, text: &str, dest: Option<&Path>) -> Result<()> {
        match dest {
            Some(p) => crate::store::write::atomic_write(p, text.as_bytes())
                .map_err(|e| Error::Store(format!("cannot write {}: {e:#}", p.display()))),
            None => self.out(text),
        }
    }

    /// Writes a note for people to stderr.
    pub(crate) fn say(&mut self, text: &str) {
        say(text);
    }
}

/// Writes a note for people to stderr. A stderr that cannot be written has no one to tell.
/// A plain function for the callers that take one (`ApplyOptions::say`).
pub(crate) fn say(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// The most worker threads `-j` starts: more only cost memory and start-up time (`-j 100000`
/// hung starting threads).
pub const MAX_JOBS: usize = 256;

/// `-j N`, capped at [`MAX_JOBS`] with a note (0 or none: one per core).
pub(crate) fn capped_jobs(jobs: Option<usize>, sink: &mut Sink) -> usize {
    match jobs {
        Some(n) if n > MAX_JOBS => {
            sink.say(&format!(
                "vow: -j {n} is more than {MAX_JOBS}; using {MAX_JOBS} worker threads\n"
            ));
            MAX_JOBS
        }
        n => n.unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stdout whose reader went away.
    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
    }

    #[test]
    fn writes_to_its_stdout() {
        let mut buffer = Vec::new();
        let mut sink = Sink::new(&mut buffer);
        sink.out("one\n").unwrap();
        sink.out_with(|w| w.write_all(b"two\n")).unwrap();
        assert_eq!(buffer, b"one\ntwo\n");
    }

    #[test]
    fn a_closed_pipe_is_the_reader_gone() {
        let mut closed = Closed;
        let mut sink = Sink::new(&mut closed);
        assert!(matches!(sink.out("lost\n"), Err(Error::ReaderGone)));
        assert_eq!(Error::ReaderGone.exit_code(), crate::error::exit::OK);
    }
}
