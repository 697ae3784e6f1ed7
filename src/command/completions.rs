//! `vow completions SHELL`: the shell's completion script for vow, on stdout (clap_complete),
//! and `vow man`: the roff man pages (clap_mangen), on stdout or one file per command.
//! README.md, "Shell completions and the man page", says how to install them.

use super::Sink;
use crate::error::{exit, Error, Result};
use clap_complete::Shell;
use std::path::Path;

/// Prints the completion script of `shell` for the command line `cmd`.
pub(crate) fn completions(mut cmd: clap::Command, shell: Shell, sink: &mut Sink) -> Result<i32> {
    let name = cmd.get_name().to_string();
    // Into memory first: clap_complete panics when a write fails (`vow completions bash | head`).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut script);
    sink.out_with(|w| w.write_all(&script))?;
    Ok(exit::OK)
}

/// Prints the man page of `cmd` followed by each subcommand's (`man -l` shows them in turn), or
/// with `out`, writes each page to its own file there (`vow.1`, `vow-plan.1`, ...).
pub(crate) fn man(cmd: clap::Command, out: Option<&Path>, sink: &mut Sink) -> Result<i32> {
    // Built, a subcommand knows its full name (`vow-plan`) for its page's title.
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    if let Some(dir) = out {
        let io = |source| Error::Io {
            action: "write man pages to",
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        clap_mangen::generate_to(cmd, dir).map_err(io)?;
        sink.say(&format!(
            "vow man: wrote the man pages to {}\n",
            dir.display()
        ));
        return Ok(exit::OK);
    }
    let mut pages = vec![cmd.clone()];
    pages.extend(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    sink.out_with(|w| {
        pages
            .into_iter()
            .try_for_each(|page| clap_mangen::Man::new(page).render(w))
    })?;
    Ok(exit::OK)
}
