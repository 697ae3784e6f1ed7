//! The command line: the arguments (clap) and the one dispatch to the command modules
//! (src/command/), which do the work. Exit codes are `crate::error::exit`'s (README.md,
//! "Command line"): 0 success; 1 findings at or above the failing level; 2 unusable input,
//! usage error or internal error; 3 with `plan --detailed-exitcode` when changes are pending.

use crate::command::fleet::{self, CatalogArgs, FleetArgs};
use crate::command::plan::{self, PlanFormat};
use crate::command::test::{self, TestFormat};
use crate::command::{
    apply, check, completions, explain, render, rollback, scan, schemas, show, status, FailOn,
    Leftovers, ReportFormat, Sink,
};
use crate::error::{exit, Error, Result};
use crate::load::inputs::{self, Catalogue, Fleet};
use crate::timings::Stage;
use crate::workspace::{StoreKind, Workspace};
use chrono::{DateTime, Utc};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

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
    /// Colour (findings, logs): auto is on a terminal without NO_COLOR.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// The time to plan and judge waivers at: RFC 3339 or a date (midnight UTC). Default: now.
    #[arg(long, global = true, value_name = "TIME")]
    pub now: Option<String>,
    /// Print where the time went, by stage (load, schema, steps, render, rules, plan, output),
    /// on stderr: wall, thread CPU and serial time; `--timings=json` for one JSON object.
    #[arg(long, global = true, value_enum, num_args = 0..=1, require_equals = true,
          default_missing_value = "human", value_name = "FORMAT")]
    pub timings: Option<crate::timings::Format>,
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
    /// Compliance scan: every rule over the fleet as it is applied now.
    Scan(ScanArgs),
    /// The inventory: every instance, its versions, destinations, health and compliance.
    Fleet(FleetArgs),
    /// The fleet as Backstage catalog entities (catalog-info.yaml and one file per Promise).
    Catalog(CatalogArgs),
    /// Pre-merge check: everything loads and compiles, every request passes, every test passes.
    Check(CheckArgs),
    /// Run the test cases beside rules and Promises.
    Test(TestArgs),
    /// Apply a plan to the store, wave by wave, behind its gates; run it again to continue.
    Apply(ApplyArgs),
    /// Where the rollouts stand: waves done, waiting, failed, aborted.
    Status {
        /// A run id (or a prefix); default: every run, newest first.
        run: Option<String>,
        /// human, json (schemas/status.json) or markdown.
        #[arg(long, value_enum, default_value_t = status::StatusFormat::Human)]
        format: status::StatusFormat,
    },
    #[command(flatten)]
    Control(crate::command::control::ControlCommand),
    /// Write the reverse plan of a run: every instance it changed back as it was.
    Rollback {
        /// The run id (or a prefix), as `vow status` shows it.
        run: String,
        /// Write the plan here instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Print a saved plan file again (no workspace needed); inside a workspace, also say on
    /// stderr whether the plan is stale.
    Show(ShowArgs),
    /// Explain a finding code (V100) or name (schema-violation).
    Explain {
        /// The code or its name; without one, list every code.
        code: Option<String>,
    },
    /// Print the shell completion script for vow (README.md says where to put it).
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print vow's man pages (roff), or write one page per command into a folder.
    Man {
        /// Write `vow.1`, `vow-plan.1`, ... into this folder instead of printing.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Write the JSON Schemas of vow.yaml, Rules, Waivers, Tests and rollouts (schemas/).
    #[command(hide = true)]
    Schemas {
        /// The folder to write them into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
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
    /// Exit 3 when changes are pending, 0 when there are none.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Exit 1 when an unwaived finding reaches this level (`blocking`: one that holds an
    /// instance back); the plan is made and written all the same.
    #[arg(long, value_enum, default_value_t = FailOn::Blocking)]
    pub fail_on: FailOn,
    /// Show a unified diff of every changed file (human and markdown formats).
    #[arg(long)]
    pub diff: bool,
    /// The markdown format's size budget: diffs are left out (and counted), then lists
    /// shortened, to stay under it (GitHub refuses comments over 65,536 characters).
    #[arg(long, value_name = "BYTES", default_value_t = plan::DEFAULT_MAX_BYTES)]
    pub max_bytes: usize,
    /// Evaluate only the K-th of N deterministic slices of the fleet (1-based, e.g. 2/8) and
    /// write a partial plan (to --out, or stdout) for `--merge`.
    #[arg(long, value_name = "K/N", conflicts_with_all = ["merge", "diff"])]
    pub shard: Option<crate::plan::Shard>,
    /// Combine the partial plans of every shard into the plan an unsharded run gives.
    #[arg(long, value_name = "PART", num_args = 1.., conflicts_with = "diff")]
    pub merge: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// The plan file (`vow plan --out plan.json`).
    pub plan: PathBuf,
    /// The format printed on stdout.
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,
    /// The markdown format's size budget (as `vow plan --max-bytes`).
    #[arg(long, value_name = "BYTES", default_value_t = plan::DEFAULT_MAX_BYTES)]
    pub max_bytes: usize,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,
    /// Exit 1 when an unwaived finding is at least this severe.
    #[arg(long, value_enum, default_value_t = FailOn::High)]
    pub fail_on: FailOn,
    /// Write the report here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,
    /// Also exit 1 when a non-blocking finding is at least this severe.
    #[arg(long, value_enum, default_value_t = FailOn::Never)]
    pub fail_on: FailOn,
    /// Report request findings only for requests in these files (everything is still loaded).
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub changed: Vec<PathBuf>,
    /// Write the report here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct TestArgs {
    /// Only tests whose name contains this.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    #[arg(long, value_enum, default_value_t = TestFormat::Human)]
    pub format: TestFormat,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// The plan file (`vow plan --out plan.json`).
    pub plan: PathBuf,
    /// Poll until the rollout is done or aborted instead of exiting when a gate must wait.
    #[arg(long)]
    pub wait: bool,
    /// How often `--wait` polls (a duration: 30s, 5m).
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub poll: String,
    /// A command that judges each wave's gate instead of health records: it reads the wave as
    /// JSON on stdin (schemas/gate-input.json) and may answer per instance on stdout
    /// (schemas/gate-output.json); else exit 0 passes, 75 means not yet, anything else fails.
    #[arg(long, value_name = "CMD")]
    pub gate_cmd: Option<String>,
    /// How long the gate command may run before it is killed and the wave fails.
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub gate_timeout: String,
    /// Break a lock left by a dead apply (its id, as the lock error shows it).
    #[arg(long, value_name = "ID")]
    pub force_unlock: Option<String>,
    #[command(flatten)]
    pub control: crate::command::control::ApplyControlArgs,
}

#[derive(Args, Debug)]
pub struct RenderArgs {
    /// The request: `<promise>:<namespace>/<name>`, `<namespace>/<name>`, a name, or a file
    /// (every request in it).
    pub request: String,
}

/// Parses the arguments and runs the command: its exit code, or the error that stopped it
/// (the binary prints it).
pub fn main(args: Vec<String>) -> Result<i32> {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            // clap prints what is wrong with the arguments (or the help) itself.
            let code = if e.use_stderr() {
                exit::ERROR
            } else {
                exit::OK
            };
            let _ = e.print();
            return Ok(code);
        }
    };
    init_logging(&cli.global);
    crate::command::progress::set_quiet(cli.global.quiet);
    crate::snippet::configure(crate::snippet::Settings {
        root: cli.global.dir.clone(),
        color_stdout: colour(cli.global.color, &std::io::stdout()),
        color_stderr: colour(cli.global.color, &std::io::stderr()),
    });
    let started = std::time::Instant::now();
    let timings = cli.global.timings;
    if timings.is_some() {
        crate::timings::enable();
    }
    let mut stdout = std::io::stdout();
    let mut sink = Sink::new(&mut stdout);
    let result = run(cli, &mut sink);
    if let Some(format) = timings {
        sink.say(&crate::timings::render(format, started.elapsed()));
    }
    result
}

fn init_logging(g: &Global) {
    let level = match (g.quiet, g.verbose) {
        (true, _) => tracing::Level::ERROR,
        (false, 0) => tracing::Level::WARN,
        (false, 1) => tracing::Level::INFO,
        (false, _) => tracing::Level::DEBUG,
    };
    let ansi = colour(g.color, &std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_ansi(ansi)
        .without_time()
        .with_target(false)
        .try_init();
}

/// Whether to colour `stream`: `--color`, and under `auto` a terminal without `NO_COLOR` set
/// to a non-empty value (no-color.org).
fn colour(choice: Color, stream: &impl std::io::IsTerminal) -> bool {
    match choice {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && stream.is_terminal()
        }
    }
}

use crate::command::sink::capped_jobs;
pub use crate::command::sink::MAX_JOBS;

/// The time a command works at.
#[derive(Clone, Copy)]
struct When {
    /// `--now`, when given.
    now: Option<DateTime<Utc>>,
    /// `--now`, or else the clock's time.
    clock: DateTime<Utc>,
}

/// Reads the global options and runs the command on the worker threads.
fn run(cli: Cli, sink: &mut Sink) -> Result<i32> {
    let Cli { global, command } = cli;
    let now = match global.now.as_deref() {
        Some(t) => Some(crate::duration::parse_time(t).map_err(Error::Usage)?),
        None => None,
    };
    // The one place vow reads the clock: the core gets the time as an input.
    let when = When {
        now,
        clock: now.unwrap_or_else(Utc::now),
    };
    let threads = capped_jobs(global.jobs, sink);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(crate::script::STACK_BYTES)
        // Each worker's CPU clock, so that `--timings` can sum what the threads really used.
        .start_handler(crate::timings::register_worker)
        .build()
        .map_err(|e| Error::System(format!("cannot start the worker threads: {e}")))?;
    pool.install(|| {
        let mut leftovers = Leftovers::default();
        let result = dispatch(command, &global, when, sink, &mut leftovers);
        // The process ends next: freeing a large fleet's memory piece by piece took seconds.
        std::mem::forget(leftovers);
        result
    })
}

/// Runs the command: the one dispatch.
// long: one arm per command, each a line or two; splitting the match would hide the one place
// that maps commands to their code.
fn dispatch(
    command: Command,
    g: &Global,
    when: When,
    sink: &mut Sink,
    leftovers: &mut Leftovers,
) -> Result<i32> {
    match command {
        // Built-in codes are explained anywhere, without a workspace.
        Command::Explain { code } => {
            let text = match explain::builtin(code.as_deref()) {
                Some(text) => text,
                None => explain::rule(open(g)?, code.as_deref())?,
            };
            sink.out(&text)?;
            Ok(exit::OK)
        }
        Command::Apply(a) => {
            let opts = a.options();
            apply::apply(&open(g)?, &opts, when.clock, when.now.is_none(), sink)
        }
        Command::Completions { shell } => completions::completions(Cli::command(), shell, sink),
        Command::Man { out } => completions::man(Cli::command(), out.as_deref(), sink),
        Command::Schemas { out } => schemas::write(&out, sink),
        Command::Status { run, format } => status::status(&open(g)?, run.as_deref(), format, sink),
        Command::Control(c) => crate::command::control::run(&open(g)?, c, when.clock, sink),
        Command::Rollback { run, out } => rollback::rollback(&open(g)?, &run, out.as_deref(), sink),
        Command::Plan(a) => dispatch_plan(a, g, when, sink, leftovers),
        Command::Show(a) => show::show(
            &show::Options {
                plan: a.plan,
                format: a.format,
                max_bytes: a.max_bytes,
                dir: g.dir.clone(),
                config: g.config.clone(),
            },
            when.clock,
            sink,
        ),
        Command::Render(a) => with_inputs(
            g,
            when,
            Load::Everything,
            leftovers,
            |inputs, fleet, kept| {
                let code = render::render(&inputs, &fleet, &a.request, sink);
                kept.keep((inputs, fleet));
                code
            },
        ),
        Command::Scan(a) => with_inputs(
            g,
            when,
            Load::Everything,
            leftovers,
            |inputs, fleet, kept| {
                let code = scan::scan(&inputs, &fleet, a.format, a.fail_on, a.out.as_deref(), sink);
                kept.keep((inputs, fleet));
                code
            },
        ),
        Command::Fleet(a) => {
            let q = a.query.query()?;
            let load = Load::BindingsOnly(q.options.no_compliance);
            with_inputs(g, when, load, leftovers, |i, f, kept| {
                fleet::fleet(i, f, kept, &q, a.format, a.out.as_deref(), sink)
            })
        }
        Command::Catalog(a) => {
            let q = a.query.query()?;
            let load = Load::BindingsOnly(q.options.no_compliance);
            with_inputs(g, when, load, leftovers, |i, f, kept| {
                fleet::catalog(i, f, kept, &q, &a.out, &a.platform_owner, sink)
            })
        }
        Command::Check(a) => {
            let opts = a.options();
            with_inputs(
                g,
                when,
                Load::Everything,
                leftovers,
                |inputs, fleet, kept| {
                    let code = check::check(&inputs, fleet, &opts, sink);
                    kept.keep(inputs);
                    code
                },
            )
        }
        Command::Test(a) => with_inputs(g, when, Load::Everything, leftovers, |inputs, _, kept| {
            let code = test::test(&inputs, a.filter.as_deref(), a.format, sink);
            kept.keep(inputs);
            code
        }),
    }
}

/// `vow plan`, whole, by shard or merging the shards' evaluations.
fn dispatch_plan(
    a: PlanArgs,
    g: &Global,
    when: When,
    sink: &mut Sink,
    leftovers: &mut Leftovers,
) -> Result<i32> {
    // `--merge` plans from the shards' evaluations: the requests are not read again.
    if !a.merge.is_empty() {
        let opts = a.options();
        return with_inputs(
            g,
            when,
            Load::WithoutRequests,
            leftovers,
            |inputs, _, kept| plan::merge(inputs, &a.merge, opts, when.now, sink, kept),
        );
    }
    // `--shard` keeps only its own requests from the start.
    match a.shard {
        Some(shard) => with_inputs(
            g,
            when,
            Load::Shard(shard),
            leftovers,
            |inputs, fleet, kept| {
                let code = plan::shard(&inputs, fleet, shard, a.options(), when.now, sink);
                kept.keep(inputs);
                code
            },
        ),
        None => with_inputs(
            g,
            when,
            Load::Everything,
            leftovers,
            |inputs, fleet, kept| {
                let code = plan::plan(&inputs, fleet, a.options(), when.now, sink, kept);
                kept.keep(inputs);
                code
            },
        ),
    }
}

impl ApplyArgs {
    fn options(self) -> apply::Options {
        apply::Options {
            plan: self.plan,
            wait: self.wait,
            poll: self.poll,
            gate_cmd: self.gate_cmd,
            gate_timeout: self.gate_timeout,
            force_unlock: self.force_unlock,
            control: self.control,
        }
    }
}

impl CheckArgs {
    fn options(self) -> check::Options {
        check::Options {
            format: self.format,
            fail_on: self.fail_on,
            changed: self.changed,
            out: self.out,
        }
    }
}

impl PlanArgs {
    /// The options of the plan that is written (`--shard` and `--merge` choose what is read).
    fn options(&self) -> plan::Options {
        plan::Options {
            out: self.out.clone(),
            format: self.format,
            promise: self.promise.clone(),
            detailed_exitcode: self.detailed_exitcode,
            fail_on: self.fail_on,
            diff: self.diff,
            max_bytes: self.max_bytes,
        }
    }
}

/// Opens the workspace (`-C`, `--config`).
fn open(g: &Global) -> Result<Workspace> {
    Workspace::open(&g.dir, g.config.as_deref())
}

/// Which of the workspace's inputs a command reads.
enum Load {
    /// Everything.
    Everything,
    /// Everything but the requests of other shards.
    Shard(crate::plan::Shard),
    /// Everything but the requests.
    WithoutRequests,
    /// Everything, but of the store only the bindings (no file digests): `vow fleet`, `vow catalog`;
    /// `true` (`--no-compliance`): the bindings without their applied specs and file lists.
    BindingsOnly(bool),
}

/// Opens the workspace, reads its inputs and runs `command` on them; the inputs are left over
/// for the process's exit to free.
fn with_inputs(
    g: &Global,
    when: When,
    load: Load,
    leftovers: &mut Leftovers,
    command: impl FnOnce(Catalogue, Fleet, &mut Leftovers) -> Result<i32>,
) -> Result<i32> {
    let ws = open(g)?;
    let started = std::time::Instant::now();
    // A git store's checkout is brought to the remote branch before anything reads it.
    if ws.store_kind != StoreKind::Folder {
        ws.open_store()?.refresh()?;
    }
    let loading = crate::command::progress::Terminal::new("loading");
    loading.spin("loading the workspace");
    let (inputs, requests) = crate::timings::time(Stage::Load, || match load {
        Load::Everything => inputs::load(ws, when.clock),
        Load::Shard(s) => inputs::load_shard(ws, when.clock, (s.index - 1, s.count)),
        Load::WithoutRequests => inputs::load_with_request_files(ws, when.clock, &[]),
        Load::BindingsOnly(false) => inputs::load_bindings_only(ws, when.clock),
        Load::BindingsOnly(true) => inputs::load_summary(ws, when.clock),
    });
    crate::progress::Progress::done(&loading);
    tracing::info!(
        "loaded {} Promises, {} requests, {} destinations in {:?}",
        inputs.promises.len(),
        requests.len(),
        inputs.destinations.len(),
        started.elapsed()
    );
    command(inputs, requests, leftovers)
}
