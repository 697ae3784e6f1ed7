//! The `vow` binary: everything is in the library.

/// mimalloc: small-allocation heavy evaluation runs markedly faster than on glibc malloc
/// (BENCHMARKS.md has the numbers).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(vow::run(std::env::args().collect()));
}
