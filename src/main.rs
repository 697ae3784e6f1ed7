//! The `vow` binary: everything is in the library; here an error that stopped the command is
//! printed and becomes the exit code.

use std::io::Write;
use vow::error::Error;

/// mimalloc: small-allocation heavy evaluation runs markedly faster than on glibc malloc
/// (BENCHMARKS.md has the numbers).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let code = match vow::run(std::env::args().collect()) {
        Ok(code) => code,
        Err(e) => {
            // A reader that went away (`vow plan | head`) is told nothing.
            // Configuration errors are findings, printed as every finding is.
            let text = match &e {
                Error::ReaderGone => String::new(),
                Error::Config(_) => format!("{e}\n"),
                _ => format!("error: {e}\n"),
            };
            // A stderr that cannot be written has no one to tell.
            let _ = std::io::stderr().lock().write_all(text.as_bytes());
            e.exit_code()
        }
    };
    // Exit codes are 0 to 3 (src/error.rs); anything else would be a bug, reported as 2.
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(2))
}
