//! The `vow` binary: everything is in the library.

/// mimalloc: small-allocation heavy evaluation runs markedly faster than on glibc malloc
/// (BENCHMARKS.md has the numbers).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // Exit codes are 0 to 3 (src/cli.rs); anything else would be a bug, reported as 2.
    let code = u8::try_from(vow::run(std::env::args().collect())).unwrap_or(2);
    std::process::ExitCode::from(code)
}
