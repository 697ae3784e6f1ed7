//! The `vow` binary: everything is in the library.

fn main() {
    std::process::exit(vow::run(std::env::args().collect()));
}
