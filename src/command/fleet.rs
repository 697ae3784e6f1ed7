//! `vow fleet` (the inventory, src/fleet/) and `vow catalog` (the same inventory as Backstage
//! entities, src/report/backstage.rs).

use super::Sink;
use crate::error::{exit, Error, Result};
use crate::fleet::{self, Inventory};
use crate::load::inputs::Catalogue;
use crate::model::Request;
use crate::report;
use crate::timings::Stage;
use clap::ValueEnum;
use std::path::{Path, PathBuf};

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FleetFormat {
    Human,
    Json,
    Markdown,
    Csv,
    /// One self-contained page, in the plan report's style.
    Html,
}

/// What both commands read the fleet with.
#[derive(Clone, Debug, Default)]
pub(crate) struct Query {
    pub options: fleet::Options,
    /// A plan file (`vow plan --format json`) whose blocked list to report.
    pub plan: Option<PathBuf>,
}

/// The inventory of the loaded workspace.
fn inventory(inputs: &Catalogue, requests: &[Request], q: &Query) -> Result<Inventory> {
    let plan = match &q.plan {
        Some(p) => Some(crate::plan::read_verified(p)?),
        None => None,
    };
    Ok(crate::timings::time(Stage::Evaluate, || {
        fleet::inventory(inputs, requests, plan.as_ref(), &q.options)
    }))
}

/// Writes the inventory in `format` to `out` or stdout.
pub(crate) fn fleet(
    inputs: &Catalogue,
    requests: &[Request],
    q: &Query,
    format: FleetFormat,
    out: Option<&Path>,
    sink: &mut Sink,
) -> Result<i32> {
    let inv = inventory(inputs, requests, q)?;
    let text = crate::timings::time(Stage::Output, || match format {
        FleetFormat::Human => report::fleet::human(&inv),
        FleetFormat::Json => report::fleet::json(&inv),
        FleetFormat::Markdown => report::fleet::markdown(&inv),
        FleetFormat::Csv => report::fleet::csv(&inv),
        FleetFormat::Html => report::html::fleet(&inv),
    });
    sink.emit(&text, out)?;
    Ok(exit::OK)
}

/// Writes the Backstage catalog of the inventory into `dir` (created when missing): its
/// `catalog-info.yaml` (a Location) and one file per Promise.
pub(crate) fn catalog(
    inputs: &Catalogue,
    requests: &[Request],
    q: &Query,
    dir: &Path,
    platform_owner: &str,
    sink: &mut Sink,
) -> Result<i32> {
    let inv = inventory(inputs, requests, q)?;
    let files = report::backstage::files(&inv, &report::backstage::Options { platform_owner });
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    for (name, text) in &files {
        sink.emit(text, Some(&dir.join(name)))?;
    }
    sink.say(&format!(
        "wrote {} instances in {} files to {}\n",
        inv.total,
        files.len(),
        dir.display()
    ));
    Ok(exit::OK)
}
