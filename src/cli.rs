//! The command line: arguments (clap), dispatch and exit codes. Nothing else.
//!
//! Exit codes (README.md, "Command line"): 0 success; 1 findings at or above the failing level;
//! 2 unusable input, usage error or internal error; 3 with `plan --detailed-exitcode` when
//! changes are pending.

use crate::diag::{self, Severity};
use crate::evaluate;
use crate::load::inputs::{self, Inputs};
use crate::plan::{self, PlanOptions};
use crate::report;
use crate::timings::Stage;
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
    /// The time to plan and judge waivers at: RFC 3339 or a date (midnight UTC). Default: now.
    #[arg(long, global = true, value_name = "TIME")]
    pub now: Option<String>,
    /// Print where the time went, by stage (load, schema, steps, render, rules, plan, output),
    /// on stderr.
    #[arg(long, global = true)]
    pub timings: bool,
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
    },
    /// Write the reverse plan of a run: every instance it changed back as it was.
    Rollback {
        /// The run id (or a prefix), as `vow status` shows it.
        run: String,
        /// Write the plan here instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
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
    /// Evaluate only the K-th of N deterministic slices of the fleet (1-based, e.g. 2/8) and
    /// write a partial plan (to --out, or stdout) for `--merge`.
    #[arg(long, value_name = "K/N", conflicts_with_all = ["merge", "diff"])]
    pub shard: Option<crate::plan::Shard>,
    /// Combine the partial plans of every shard into the plan an unsharded run gives.
    #[arg(long, value_name = "PART", num_args = 1.., conflicts_with = "diff")]
    pub merge: Vec<PathBuf>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanFormat {
    Human,
    Json,
    Markdown,
}

/// Formats of policy reports (scan and check).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Human,
    Json,
    Sarif,
    Junit,
    Policyreport,
    Github,
    Markdown,
}

/// The lowest severity that fails the command.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    Info,
    Low,
    Medium,
    High,
    Critical,
    /// Fail on any finding that holds an instance back, whatever its severity.
    Blocking,
    /// Never fail on findings.
    Never,
}

impl FailOn {
    fn threshold(self) -> Option<Severity> {
        Some(match self {
            FailOn::Info => Severity::Info,
            FailOn::Low => Severity::Low,
            FailOn::Medium => Severity::Medium,
            FailOn::High => Severity::High,
            FailOn::Critical => Severity::Critical,
            FailOn::Blocking | FailOn::Never => return None,
        })
    }
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

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestFormat {
    Human,
    Json,
    Junit,
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
    /// A command that judges each wave's gate instead of health records: exit 0 passes, 75 means
    /// not yet, anything else fails. Gets VOW_PLAN, VOW_WAVE, VOW_WAVE_NAME, VOW_INSTANCES and the
    /// instances on stdin.
    #[arg(long, value_name = "CMD")]
    pub gate_cmd: Option<String>,
    /// Break a lock left by a dead apply (its id, as the lock error shows it).
    #[arg(long, value_name = "ID")]
    pub force_unlock: Option<String>,
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
    let started = std::time::Instant::now();
    if cli.global.timings {
        crate::timings::enable();
    }
    let result = run(cli);
    if crate::timings::enabled() {
        say(&crate::timings::report(started.elapsed()));
    }
    match result {
        Ok(code) => code,
        Err(e) if e.is::<ReaderGone>() => EXIT_OK,
        Err(e) => {
            say(&format!("error: {e:#}\n"));
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

/// The most worker threads `-j` starts: more only cost memory and start-up time (`-j 100000`
/// hung starting threads).
pub const MAX_JOBS: usize = 256;

/// `-j N`, capped at [`MAX_JOBS`] with a note (0 or none: one per core).
fn capped_jobs(jobs: Option<usize>) -> usize {
    match jobs {
        Some(n) if n > MAX_JOBS => {
            say(&format!(
                "vow: -j {n} is more than {MAX_JOBS}; using {MAX_JOBS} worker threads\n"
            ));
            MAX_JOBS
        }
        n => n.unwrap_or(0),
    }
}

fn run(cli: Cli) -> Result<i32> {
    let now = match cli.global.now.as_deref() {
        Some(t) => Some(crate::duration::parse_time(t).map_err(anyhow::Error::msg)?),
        None => None,
    };
    // The one place vow reads the clock: the core gets the time as an input.
    let clock = now.unwrap_or_else(chrono::Utc::now);
    let threads = capped_jobs(cli.global.jobs);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(crate::script::STACK_BYTES)
        .build()
        .context("cannot start the worker threads")?;
    pool.install(|| {
        // Built-in codes are explained anywhere, without a workspace.
        if let Command::Explain { code } = &cli.command {
            if let Some(text) = explain_builtin(code.as_deref()) {
                out(&text)?;
                return Ok(EXIT_OK);
            }
        }
        let ws = Workspace::open(&cli.global.dir, cli.global.config.as_deref())?;
        let started = std::time::Instant::now();
        match &cli.command {
            Command::Explain { code } => return explain(ws, code.as_deref()),
            Command::Apply(a) => return apply_cmd(&ws, a, clock, now.is_none()),
            Command::Status { run } => return status_cmd(&ws, run.as_deref()),
            Command::Rollback { run, out } => return rollback_cmd(&ws, run, out.as_ref()),
            _ => {}
        }
        // A git store's checkout is brought to the remote branch before anything reads it.
        if ws.store_kind != crate::workspace::StoreKind::Folder {
            ws.open_store()?.refresh()?;
        }
        // `--merge` plans from the shards' evaluations: the requests are not read again.
        // `--shard` keeps only its own requests from the start.
        let inputs = crate::timings::time(Stage::Load, || match &cli.command {
            Command::Plan(a) if !a.merge.is_empty() => {
                inputs::load_with_request_files(ws, clock, &[])
            }
            Command::Plan(PlanArgs { shard: Some(s), .. }) => {
                inputs::load_shard(ws, clock, (s.index - 1, s.count))
            }
            _ => inputs::load(ws, clock),
        });
        tracing::info!(
            "loaded {} Promises, {} requests, {} destinations in {:?}",
            inputs.promises.len(),
            inputs.requests.len(),
            inputs.destinations.len(),
            started.elapsed()
        );
        let mut inputs = inputs;
        let result = match cli.command {
            Command::Plan(a) if !a.merge.is_empty() => merge_cmd(&mut inputs, a, now),
            Command::Plan(a) if a.shard.is_some() => shard_cmd(&mut inputs, a, now),
            Command::Plan(a) => plan_cmd(&mut inputs, a, now),
            Command::Render(a) => render_cmd(&inputs, a),
            Command::Scan(a) => scan_cmd(&inputs, a),
            Command::Check(a) => check_cmd(&mut inputs, a),
            Command::Test(a) => test_cmd(&inputs, a),
            Command::Explain { .. }
            | Command::Apply(_)
            | Command::Status { .. }
            | Command::Rollback { .. } => Ok(EXIT_OK),
        };
        // The process ends next: freeing a large fleet's memory piece by piece took seconds.
        std::mem::forget(inputs);
        result
    })
}

fn plan_cmd(
    inputs: &mut Inputs,
    a: PlanArgs,
    now: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<i32> {
    check_promise(inputs, a.promise.as_deref())?;
    let started = std::time::Instant::now();
    // Diffs need the rendered contents; markdown shows them collapsed.
    let diff = a.diff || a.format == PlanFormat::Markdown;
    let detail = if diff {
        evaluate::Detail::Contents
    } else {
        evaluate::Detail::Digests
    };
    let evaluated = crate::timings::time(Stage::Evaluate, || {
        evaluate::evaluate_shard(inputs, detail, None)
    });
    tracing::info!(
        "evaluated {} requests in {:?}",
        evaluated.len(),
        started.elapsed()
    );
    let code = emit_plan(inputs, &evaluated, a, now, true);
    std::mem::forget(evaluated); // see `run`
    code
}

/// `vow plan --shard K/N`: evaluates one slice and writes the partial plan.
fn shard_cmd(
    inputs: &mut Inputs,
    a: PlanArgs,
    now: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<i32> {
    let shard = a.shard.context("--shard is required here")?;
    check_promise(inputs, a.promise.as_deref())?;
    let evaluated = crate::timings::time(Stage::Evaluate, || {
        evaluate::evaluate_shard(
            inputs,
            evaluate::Detail::Digests,
            Some((shard.index - 1, shard.count)),
        )
    });
    let count = evaluated.len();
    let partial = plan::Partial::new(
        inputs,
        shard,
        now.map(crate::duration::format_time),
        a.promise.clone(),
        evaluated,
    );
    let mut json = serde_json::to_string(&partial)?;
    json.push('\n');
    match &a.out {
        Some(path) => crate::store::write::atomic_write(path, json.as_bytes())
            .with_context(|| format!("cannot write the partial plan to {}", path.display()))?,
        None => out(&json)?,
    }
    say(&format!(
        "vow plan: shard {}/{}: {count} instances evaluated; combine every shard with `vow plan --merge PARTS...`\n",
        shard.index, shard.count
    ));
    Ok(EXIT_OK)
}

/// `vow plan --merge PARTS...`: the plan of the whole fleet from every shard's partial plan.
fn merge_cmd(
    inputs: &mut Inputs,
    a: PlanArgs,
    now: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<i32> {
    let parts = a
        .merge
        .iter()
        .map(|p| Ok((p.clone(), plan::Partial::read(p)?)))
        .collect::<Result<Vec<_>>>()?;
    let merged = plan::merge(inputs, parts)?;
    let shard_now = match &merged.now {
        Some(t) => Some(crate::duration::parse_time(t).map_err(anyhow::Error::msg)?),
        None => None,
    };
    if now.is_some() && now != shard_now {
        bail!("--now differs from the shards': merge without --now, or plan the shards with the same --now");
    }
    if a.promise.is_some() && a.promise != merged.promise {
        bail!("--promise differs from the shards': merge without --promise");
    }
    let a = PlanArgs {
        promise: merged.promise.clone(),
        ..a
    };
    // Partial plans keep digests, not contents: a merged plan has no file diffs to show.
    let code = emit_plan(
        inputs,
        &merged.evaluated,
        PlanArgs { diff: false, ..a },
        shard_now,
        false,
    );
    std::mem::forget(merged); // see `run`
    code
}

fn check_promise(inputs: &Inputs, promise: Option<&str>) -> Result<()> {
    if let Some(p) = promise {
        if inputs.promise_by_name(p).is_none() {
            let names: Vec<&str> = inputs.promises.iter().map(|p| p.name.as_str()).collect();
            bail!(
                "there is no Promise `{p}`; the Promises are: {}",
                names.join(", ")
            );
        }
    }
    Ok(())
}

/// Builds the plan from evaluated requests, writes it and prints it.
fn emit_plan(
    inputs: &Inputs,
    evaluated: &[evaluate::Evaluated],
    a: PlanArgs,
    now: Option<chrono::DateTime<chrono::Utc>>,
    contents: bool,
) -> Result<i32> {
    let diff = contents && (a.diff || a.format == PlanFormat::Markdown);
    let plan = crate::timings::time(Stage::Plan, || {
        plan::build(
            inputs,
            evaluated,
            &PlanOptions {
                promise: a.promise.clone(),
                now,
            },
        )
    });
    let output_started = std::time::Instant::now();
    // The JSON plan is streamed, never built as one string: at a million requests it is 1.7 GB.
    if let Some(out) = &a.out {
        crate::store::write::atomic_write_with(out, |w| plan::write_json(&plan, w))
            .with_context(|| format!("cannot write the plan to {}", out.display()))?;
    }
    let diffs = if diff {
        plan::unified_diffs(&inputs.ws.store, evaluated, &plan.changes)
    } else {
        Vec::new()
    };
    match a.format {
        PlanFormat::Human => out(&report::human::plan(&plan, &diffs))?,
        PlanFormat::Json => out_with(|w| plan::write_json(&plan, w))?,
        PlanFormat::Markdown => out(&report::plan_markdown::render(&plan, &diffs))?,
    }
    crate::timings::add(Stage::Output, output_started.elapsed());
    crate::timings::note_memory(Stage::Output);
    let changes = plan.summary.create + plan.summary.update + plan.summary.delete;
    let failed = fails(&plan.findings, a.fail_on);
    std::mem::forget(plan); // see `run`
    Ok(if failed {
        EXIT_FINDINGS
    } else if a.detailed_exitcode && changes > 0 {
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
            out("\n")?;
        }
        out(&report::human::render(&ev))?;
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

/// The listing of every code (no code given) or a built-in code's explanation.
fn explain_builtin(code: Option<&str>) -> Option<String> {
    let Some(code) = code else {
        let list = diag::ALL_CODES
            .iter()
            .map(|c| format!("{}  {:<24} {}\n", c.id, c.name, c.severity.as_str()));
        return Some(list.collect());
    };
    let c = diag::find_code(code)?;
    let blocks = if c.blocking {
        ", blocks the instance"
    } else {
        ""
    };
    Some(format!(
        "{} {} ({}{blocks})\n\n{}\n",
        c.id,
        c.name,
        c.severity.as_str(),
        c.explain
    ))
}

/// Explains a rule of the workspace (built-in codes are [`explain_builtin`]'s).
fn explain(ws: Workspace, code: Option<&str>) -> Result<i32> {
    let code = code.unwrap_or_default();
    // Rule names are finding ids too.
    let (policy, _) = crate::policy::load(&ws.root, &ws.rules, &ws.promises);
    let Some(r) = policy.rule(code) else {
        bail!("`{code}` is neither a finding code nor a rule; `vow explain` lists the codes");
    };
    out(&format!(
        "{} (rule, {}, enforcement {}, on {})\n  defined at {}\n\n{}\n",
        r.name,
        r.severity.as_str(),
        r.enforcement.as_str(),
        if r.on == crate::policy::On::Request {
            "request"
        } else {
            "outputs"
        },
        r.location,
        if r.description.is_empty() {
            "(no vow.dev/description annotation)"
        } else {
            &r.description
        }
    ))?;
    Ok(EXIT_OK)
}

/// Writes to stdout. A reader that went away (`vow plan | head`) ends the output quietly
/// instead of panicking, as the conventions of command-line tools have it: the error
/// [`ReaderGone`] travels up to [`main`], which exits 0 without a word.
fn out(text: &str) -> Result<()> {
    out_with(|w| w.write_all(text.as_bytes()))
}

/// Writes to stdout through a buffer with `write`.
fn out_with(write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>) -> Result<()> {
    use std::io::Write;
    let mut stdout = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    match write(&mut stdout).and_then(|_| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(ReaderGone.into()),
        Err(e) => Err(anyhow::Error::new(e).context("cannot write to stdout")),
    }
}

/// The reader of stdout went away (a closed pipe): not an error of vow's.
#[derive(Debug)]
struct ReaderGone;

impl std::fmt::Display for ReaderGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the reader of stdout went away")
    }
}

impl std::error::Error for ReaderGone {}

/// Writes a line for people on stderr. The command line is the one place that talks to the
/// terminal; a stderr that cannot be written has no one to tell.
pub(crate) fn say(text: &str) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Writes a report to `--out` or stdout.
fn emit(text: &str, dest: Option<&PathBuf>) -> Result<()> {
    match dest {
        Some(p) => crate::store::write::atomic_write(p, text.as_bytes())
            .with_context(|| format!("cannot write {}", p.display())),
        None => out(text),
    }
}

fn policy_report(v: &report::PolicyView, format: ReportFormat) -> String {
    match format {
        ReportFormat::Human => report::human::policy(v),
        ReportFormat::Json => report::policy_json(v),
        ReportFormat::Sarif => report::sarif::render(v),
        ReportFormat::Junit => report::junit::render(v),
        ReportFormat::Policyreport => report::policyreport::render(v),
        ReportFormat::Github => report::github::render(v),
        ReportFormat::Markdown => report::markdown::render(v),
    }
}

/// Whether any unwaived finding reaches the threshold.
fn fails(findings: &[diag::Finding], fail_on: FailOn) -> bool {
    if fail_on == FailOn::Blocking {
        return findings.iter().any(|f| f.waived.is_none() && f.blocking);
    }
    let Some(t) = fail_on.threshold() else {
        return false;
    };
    findings
        .iter()
        .any(|f| f.waived.is_none() && f.severity >= t)
}

fn scan_cmd(inputs: &Inputs, a: ScanArgs) -> Result<i32> {
    let result = crate::timings::time(Stage::Evaluate, || crate::scan::scan(inputs));
    let view = report::PolicyView {
        command: "scan",
        findings: &result.findings,
        rules: &inputs.policy.rules,
        checked: &result.checked,
        compliance: Some(&result.compliance),
        tests: &[],
        now: inputs.now,
    };
    crate::timings::time(Stage::Output, || {
        emit(&policy_report(&view, a.format), a.out.as_ref())
    })?;
    Ok(if fails(&result.findings, a.fail_on) {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

fn check_cmd(inputs: &mut Inputs, a: CheckArgs) -> Result<i32> {
    // A path that names nothing would check nothing, and pass.
    if let Some(missing) = a.changed.iter().find(|p| !p.exists()) {
        anyhow::bail!(
            "error[V005]: --changed {}: no such file\n  help: name files that exist in the workspace (a deleted file has no requests left to check)",
            missing.display()
        );
    }
    let changed: Vec<std::sync::Arc<str>> = a
        .changed
        .iter()
        .map(|p| {
            let abs = if p.is_absolute() {
                p.clone()
            } else {
                std::env::current_dir().unwrap_or_default().join(p)
            };
            let abs = abs.canonicalize().unwrap_or(abs);
            crate::load::display_path(&inputs.ws.root, &abs)
        })
        .collect();
    let in_scope = |file: &str| changed.is_empty() || changed.iter().any(|c| &**c == file);
    let mut findings: Vec<diag::Finding> = inputs
        .findings
        .iter()
        .filter(|f| f.instance.is_none() || f.location.as_ref().is_none_or(|l| in_scope(&l.file)))
        .cloned()
        .collect();
    // Moved out and freed as they are evaluated: test cases do not read the fleet's requests.
    let requests: Vec<crate::model::Request> = std::mem::take(&mut inputs.requests)
        .into_iter()
        .filter(|r| in_scope(&r.location.file))
        .collect();
    let evaluated: Vec<evaluate::Evaluated> = crate::timings::time(Stage::Evaluate, || {
        evaluate::evaluate_owned(inputs, requests, evaluate::Detail::Digests)
    });
    for e in &evaluated {
        findings.extend(e.findings.iter().cloned());
    }
    let (tests, test_findings) = crate::testcase::run_all(inputs);
    findings.extend(test_findings);
    diag::sort_findings(&mut findings);
    let view = report::PolicyView {
        command: "check",
        findings: &findings,
        rules: &inputs.policy.rules,
        checked: &[],
        compliance: None,
        tests: &tests,
        now: inputs.now,
    };
    emit(&policy_report(&view, a.format), a.out.as_ref())?;
    let blocked = findings.iter().any(|f| f.blocking);
    let failed_tests = tests.iter().any(|t| !t.passed);
    Ok(if blocked || failed_tests || fails(&findings, a.fail_on) {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

fn test_cmd(inputs: &Inputs, a: TestArgs) -> Result<i32> {
    let (mut results, findings) = crate::testcase::run_all(inputs);
    if let Some(f) = &a.filter {
        results.retain(|t| t.test.contains(f.as_str()) || t.case.contains(f.as_str()));
    }
    let text = match a.format {
        TestFormat::Human => report::human::tests(&results, &findings),
        TestFormat::Json => {
            let mut s = serde_json::to_string_pretty(
                &serde_json::json!({"tests": results, "findings": findings}),
            )?;
            s.push('\n');
            s
        }
        TestFormat::Junit => report::junit::render(&report::PolicyView {
            command: "test",
            findings: &findings,
            rules: &[],
            checked: &[],
            compliance: None,
            tests: &results,
            now: inputs.now,
        }),
    };
    out(&text)?;
    let failed = results.iter().any(|t| !t.passed) || findings.iter().any(|f| f.blocking);
    Ok(if failed { EXIT_FINDINGS } else { EXIT_OK })
}

fn apply_cmd(
    ws: &Workspace,
    a: &ApplyArgs,
    now: chrono::DateTime<chrono::Utc>,
    clock: bool,
) -> Result<i32> {
    let mut st = ws.open_store()?;
    let poll = crate::duration::parse_duration(&a.poll).map_err(anyhow::Error::msg)?;
    let opts = crate::apply::ApplyOptions {
        plan: a.plan.clone(),
        now,
        wait: a.wait,
        poll: std::time::Duration::from_secs(poll.max(0) as u64),
        gate_cmd: a.gate_cmd.clone(),
        force_unlock: a.force_unlock.clone(),
        clock,
        say: |line| say(&format!("{line}\n")),
    };
    use crate::apply::Outcome;
    match crate::apply::apply(ws, st.as_mut(), &opts)? {
        Outcome::Done { run } => {
            out(&format!(
                "run {run}: done: every wave applied and its gate passed ({})\n",
                st.describe()
            ))?;
            Ok(EXIT_OK)
        }
        Outcome::Waiting {
            run,
            wave,
            until,
            why,
        } => {
            let when = until
                .map(|u| format!("after {}", crate::duration::format_time(u)))
                .unwrap_or_else(|| "when they are in".into());
            out(&format!("run {run}: wave {wave} waits for {why}\nRun `vow apply` again {when}, or use --wait.\n"))?;
            Ok(EXIT_OK)
        }
        Outcome::Aborted { run, why } => {
            out(&format!("run {run}: aborted: {why}\n"))?;
            Ok(EXIT_FINDINGS)
        }
    }
}

fn status_cmd(ws: &Workspace, run: Option<&str>) -> Result<i32> {
    let mut st = ws.open_store()?;
    st.refresh()?;
    let scan = crate::apply::journal::scan(st.dir(), &ws.root);
    for f in &scan.findings {
        say(&format!("{f}\n"));
    }
    let runs = match run {
        Some(r) => vec![crate::apply::rollback::find_run(st.as_ref(), r)?],
        None => scan.journals,
    };
    if runs.is_empty() && scan.findings.is_empty() {
        out(&format!("no runs in the store ({})\n", st.describe()))?;
    }
    out(&report::human::status(&runs))?;
    Ok(if scan.findings.is_empty() {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    })
}

fn rollback_cmd(ws: &Workspace, run: &str, dest: Option<&PathBuf>) -> Result<i32> {
    let mut st = ws.open_store()?;
    st.refresh()?;
    let journal = crate::apply::rollback::find_run(st.as_ref(), run)?;
    let state = crate::store::read(st.dir(), &ws.root);
    let plan = crate::apply::rollback::make_plan(st.as_ref(), &state, &journal)?;
    let text = crate::apply::rollback::to_text(&plan);
    emit(&text, dest)?;
    Ok(EXIT_OK)
}
