//! The command line: arguments (clap), dispatch and exit codes. Nothing else.
//!
//! Exit codes (DESIGN.md section 8): 0 success; 1 findings at or above the failing level;
//! 2 unusable input, usage error or internal error; 3 with `plan --detailed-exitcode` when
//! changes are pending.

use crate::diag;
use crate::evaluate;
use crate::load::inputs::{self, Inputs};
use crate::plan::{self, PlanOptions};
use crate::report;
use crate::workspace::Workspace;
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

pub const EXIT_OK: i32 = 0;
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_ERROR: i32 = 2;
pub const EXIT_CHANGES: i32 = 3;

#[derive(Parser, Debug)]
#[command(
    name = "vow",
    version,
    about = "Policy and rollout planning for Kratix-style platforms"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// The workspace (platform repository) to work in.
    #[arg(
        short = 'C',
        long = "workspace",
        global = true,
        value_name = "DIR",
        default_value = "."
    )]
    pub dir: PathBuf,
    /// The configuration file (default: vow.yaml in the workspace, when present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Threads to evaluate with (default: one per core).
    #[arg(short = 'j', long = "jobs", global = true, value_name = "N")]
    pub jobs: Option<usize>,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More detail on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Colour on stderr.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Plan the rollout: what changes, in which waves, and what is blocked.
    Plan(PlanArgs),
    /// Show what one request renders to, step by step.
    Render(RenderArgs),
    /// Explain a finding code (V100) or name (schema-violation).
    Explain {
        /// The code or its name; without one, list every code.
        code: Option<String>,
    },
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    /// Write the plan file (JSON) here as well.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The format printed on stdout.
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,
    /// Plan only this Promise's instances.
    #[arg(long, value_name = "NAME")]
    pub promise: Option<String>,
    /// The time the plan is made for: RFC 3339 or a date (midnight UTC).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// Exit 3 when changes are pending, 0 when there are none.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanFormat {
    Human,
    Json,
}

#[derive(Args, Debug)]
pub struct RenderArgs {
    /// The request: `<promise>:<namespace>/<name>`, `<namespace>/<name>`, a name, or a file
    /// (every request in it).
    pub request: String,
}

/// Parses the arguments, runs the command and returns the exit code.
pub fn main(args: Vec<String>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
            let _ = e.print();
            return code;
        }
    };
    init_logging(&cli.global);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            EXIT_ERROR
        }
    }
}

fn init_logging(g: &Global) {
    let level = match (g.quiet, g.verbose) {
        (true, _) => tracing::Level::ERROR,
        (false, 0) => tracing::Level::WARN,
        (false, 1) => tracing::Level::INFO,
        (false, _) => tracing::Level::DEBUG,
    };
    let ansi = match g.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_ansi(ansi)
        .without_time()
        .with_target(false)
        .try_init();
}

fn run(cli: Cli) -> Result<i32> {
    if let Command::Explain { code } = &cli.command {
        return explain(code.as_deref());
    }
    let threads = cli.global.jobs.unwrap_or(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start the worker threads")?;
    pool.install(|| {
        let ws = Workspace::open(&cli.global.dir, cli.global.config.as_deref())?;
        let started = std::time::Instant::now();
        let inputs = inputs::load(ws);
        tracing::info!(
            "loaded {} Promises, {} requests, {} destinations in {:?}",
            inputs.promises.len(),
            inputs.requests.len(),
            inputs.destinations.len(),
            started.elapsed()
        );
        match cli.command {
            Command::Plan(a) => plan_cmd(&inputs, a),
            Command::Render(a) => render_cmd(&inputs, a),
            Command::Explain { .. } => unreachable!("handled above"),
        }
    })
}

fn plan_cmd(inputs: &Inputs, a: PlanArgs) -> Result<i32> {
    let now = a
        .now
        .as_deref()
        .map(crate::duration::parse_time)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    if let Some(p) = &a.promise {
        if inputs.promise_by_name(p).is_none() {
            let names: Vec<&str> = inputs.promises.iter().map(|p| p.name.as_str()).collect();
            bail!(
                "there is no Promise `{p}`; the Promises are: {}",
                names.join(", ")
            );
        }
    }
    let started = std::time::Instant::now();
    let evaluated = evaluate::evaluate_all(inputs, evaluate::Detail::Digests);
    tracing::info!(
        "evaluated {} requests in {:?}",
        evaluated.len(),
        started.elapsed()
    );
    let plan = plan::build(
        inputs,
        &evaluated,
        &PlanOptions {
            promise: a.promise.clone(),
            now,
        },
    );
    let json = report::plan_json(&plan);
    if let Some(out) = &a.out {
        crate::store::write::atomic_write(out, json.as_bytes())
            .with_context(|| format!("cannot write the plan to {}", out.display()))?;
    }
    let text = match a.format {
        PlanFormat::Human => report::human::plan(&plan),
        PlanFormat::Json => json,
    };
    print!("{text}");
    let changes = plan.summary.create + plan.summary.update + plan.summary.delete;
    Ok(if a.detailed_exitcode && changes > 0 {
        EXIT_CHANGES
    } else {
        EXIT_OK
    })
}

fn render_cmd(inputs: &Inputs, a: RenderArgs) -> Result<i32> {
    let chosen = select_requests(inputs, &a.request)?;
    let mut blocked = false;
    for (i, r) in chosen.iter().enumerate() {
        let ev = evaluate::evaluate(inputs, r, evaluate::Detail::Trace);
        blocked |= ev.blocked;
        if i > 0 {
            println!();
        }
        print!("{}", report::human::render(&ev));
    }
    Ok(if blocked { EXIT_FINDINGS } else { EXIT_OK })
}

/// Finds the requests `vow render` was asked about.
fn select_requests<'a>(inputs: &'a Inputs, what: &str) -> Result<Vec<&'a crate::model::Request>> {
    let path = inputs.ws.root.join(what);
    if path.is_file() {
        let shown = crate::load::display_path(&inputs.ws.root, &path);
        let found: Vec<_> = inputs
            .requests
            .iter()
            .filter(|r| r.location.file == shown)
            .collect();
        if found.is_empty() {
            bail!("{what} holds no request vow could read (run `vow plan` to see its findings)");
        }
        return Ok(found);
    }
    let found: Vec<_> = inputs
        .requests
        .iter()
        .filter(|r| {
            let id = &r.id;
            what == id.to_string()
                || what == format!("{}/{}", id.namespace, id.name)
                || what == id.name
        })
        .collect();
    match found.len() {
        0 => bail!("no request is called `{what}`; name it as <promise>:<namespace>/<name>, <namespace>/<name>, <name> or a file"),
        1 => Ok(found),
        _ => {
            let names: Vec<String> = found.iter().map(|r| r.id.to_string()).collect();
            bail!("`{what}` names several requests: {}; say which", names.join(", "))
        }
    }
}

fn explain(code: Option<&str>) -> Result<i32> {
    let Some(code) = code else {
        for c in diag::ALL_CODES {
            println!("{}  {:<24} {}", c.id, c.name, c.severity.as_str());
        }
        return Ok(EXIT_OK);
    };
    let Some(c) = diag::find_code(code) else {
        bail!("`{code}` is not a finding code; `vow explain` lists them all");
    };
    println!(
        "{} {} ({}{})",
        c.id,
        c.name,
        c.severity.as_str(),
        if c.blocking {
            ", blocks the instance"
        } else {
            ""
        }
    );
    println!();
    println!("{}", c.explain);
    Ok(EXIT_OK)
}
