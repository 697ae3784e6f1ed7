//! `vow fleet` (the inventory, src/fleet/) and `vow catalog` (the same inventory as Backstage
//! entities, src/report/backstage.rs).

use super::{Leftovers, Sink};
use crate::error::{exit, Error, Result};
use crate::fleet::{self, Inventory};
use crate::load::inputs::{Catalogue, Fleet};
use crate::model::Request;
use crate::report;
use crate::timings::Stage;
use clap::{Args, ValueEnum};
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

/// Which instances `vow fleet` and `vow catalog` list, and how they judge them.
#[derive(Args, Debug)]
pub struct FleetQuery {
    /// Only these teams (the workspace's team label; repeat or comma-separate).
    #[arg(long, value_name = "TEAM", value_delimiter = ',')]
    pub team: Vec<String>,
    /// Only these environments (the workspace's environment label).
    #[arg(long = "env", value_name = "ENV", value_delimiter = ',')]
    pub env: Vec<String>,
    /// Only these Promises.
    #[arg(long, value_name = "PROMISE", value_delimiter = ',')]
    pub promise: Vec<String>,
    /// A label selector, kubectl's syntax: `env=prod,tier!=dev,region in (eu-west-1),!paused`.
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Take "blocked" from this plan file (`vow plan --format json --out`) instead of judging it.
    #[arg(long, value_name = "PLAN")]
    pub plan: Option<PathBuf>,
    /// Skip the rules: compliance is "not evaluated", and a large fleet is listed faster.
    #[arg(long)]
    pub no_compliance: bool,
}

#[derive(Args, Debug)]
pub struct FleetArgs {
    #[command(flatten)]
    pub query: FleetQuery,
    #[arg(long, value_enum, default_value_t = FleetFormat::Human)]
    pub format: FleetFormat,
    /// Write the report here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CatalogArgs {
    #[command(flatten)]
    pub query: FleetQuery,
    /// The folder to write catalog-info.yaml and the Promises' files into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The Backstage group that owns the Promises' System and Component entities.
    #[arg(long, value_name = "GROUP", default_value = "platform")]
    pub platform_owner: String,
}

impl FleetQuery {
    pub(crate) fn query(&self) -> Result<Query> {
        Query::new(
            &self.team,
            &self.env,
            &self.promise,
            self.selector.as_deref(),
            self.plan.clone(),
            self.no_compliance,
        )
    }
}

/// What both commands read the fleet with.
#[derive(Clone, Debug, Default)]
pub(crate) struct Query {
    pub options: fleet::Options,
    /// A plan file (`vow plan --format json`) whose blocked list to report.
    pub plan: Option<PathBuf>,
}

impl Query {
    /// From the command line's filters; a selector that does not parse is a usage error.
    pub(crate) fn new(
        teams: &[String],
        environments: &[String],
        promises: &[String],
        selector: Option<&str>,
        plan: Option<PathBuf>,
        no_compliance: bool,
    ) -> Result<Query> {
        let selector = match selector {
            Some(s) => fleet::filter::parse_selector(s).map_err(Error::Usage)?,
            None => crate::model::Selector::default(),
        };
        Ok(Query {
            options: fleet::Options {
                filter: fleet::Filter {
                    teams: teams.to_vec(),
                    environments: environments.to_vec(),
                    promises: promises.to_vec(),
                    selector,
                },
                no_compliance,
            },
            plan,
        })
    }
}

/// The inventory of the loaded workspace. The workspace's own findings (a request file that
/// does not parse, a damaged record) go to stderr first: a request that could not be read is
/// listed as `removed`, and this says why.
fn inventory(
    inputs: &Catalogue,
    requests: &[Request],
    q: &Query,
    sink: &mut Sink,
) -> Result<Inventory> {
    for f in inputs.findings.iter().filter(|f| f.blocking) {
        sink.say(&format!(
            "{}\n",
            crate::snippet::human(f, crate::snippet::Stream::Stderr)
        ));
    }
    let plan = match &q.plan {
        Some(p) => Some(crate::plan::read_verified(p)?),
        None => None,
    };
    Ok(crate::timings::time(Stage::Evaluate, || {
        fleet::inventory(inputs, requests, plan.as_ref(), &q.options)
    }))
}

/// Writes the inventory in `format` to `out` or stdout; the inputs are left over.
pub(crate) fn fleet(
    inputs: Catalogue,
    requests: Fleet,
    kept: &mut Leftovers,
    q: &Query,
    format: FleetFormat,
    out: Option<&Path>,
    sink: &mut Sink,
) -> Result<i32> {
    let inv = inventory(&inputs, &requests, q, sink);
    kept.keep((inputs, requests));
    let inv = inv?;
    if format == FleetFormat::Json {
        return crate::timings::time(Stage::Output, || stream_json(&inv, out, sink));
    }
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

/// The JSON inventory written as it is serialized, to `out` (atomically) or stdout.
fn stream_json(inv: &Inventory, out: Option<&Path>, sink: &mut Sink) -> Result<i32> {
    match out {
        Some(p) => crate::store::write::atomic_write_with(p, |w| report::fleet::write_json(inv, w))
            .map_err(|e| Error::Store(format!("cannot write {}: {e:#}", p.display())))?,
        None => sink.out_with(|w| report::fleet::write_json(inv, w))?,
    }
    Ok(exit::OK)
}

/// Writes the Backstage catalog of the inventory into `dir` (created when missing): its
/// `catalog-info.yaml` (a Location) and one file per Promise.
pub(crate) fn catalog(
    inputs: Catalogue,
    requests: Fleet,
    kept: &mut Leftovers,
    q: &Query,
    dir: &Path,
    platform_owner: &str,
    sink: &mut Sink,
) -> Result<i32> {
    let inv = inventory(&inputs, &requests, q, sink);
    kept.keep((inputs, requests));
    let inv = inv?;
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
